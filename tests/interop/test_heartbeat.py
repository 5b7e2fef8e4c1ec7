#!/usr/bin/python3
"""ZMTP heartbeats (PING/PONG) between nomid and libzmq: a libzmq peer that pings
every 100 ms and drops silent peers keeps its connection to nomid (nomid answers every
PING), whichever side binds and with traffic in both directions; and `nomid cat
--heartbeat SEC` notices a libzmq peer that stops answering (a process stopped with
SIGSTOP, whose kernel still keeps the TCP connection open) and logs it."""

import os
import re
import shutil
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean

import zmq  # noqa: E402
from zmq.utils.monitor import recv_monitor_message  # noqa: E402

from nmtest import (WAIT, Fail, check, endpoint, eq, recv, register, send,  # noqa: E402
                    short, test, main)

ALIVE = 2.0  # how long a pinged connection must stay up (a sleep by design)
HB = {'heartbeat_ivl': 100, 'heartbeat_timeout': 300, 'heartbeat_ttl': 1000}
DROPS = {zmq.EVENT_DISCONNECTED, zmq.EVENT_CLOSED}


def monitor(t, s):
    """A monitor socket on the pyzmq socket s (all events)."""
    m = s.get_monitor_socket()
    m.setsockopt(zmq.RCVTIMEO, int(WAIT * 1000))
    return m


def expect_no_drop(mon, what):
    """No DISCONNECTED/CLOSED event was queued on the monitor."""
    seen = []
    while mon.poll(0):
        seen.append(recv_monitor_message(mon)['event'])
    drops = [e for e in seen if e in DROPS]
    check(not drops, '%s: libzmq dropped the connection (events %s): nomid did not answer '
          'its PINGs?' % (what, short(seen)))


def pull_answers_pings(t, nomid_binds):
    p, push = t.link('tcp', nomid_binds, ['pull', '-n', '2'], 'push', **HB)
    mon = monitor(t, push)
    send(push, [b'first'])
    eq(p.line(), 'first', 'first line')
    time.sleep(ALIVE)
    expect_no_drop(mon, 'pyzmq PUSH with HEARTBEAT_IVL 100 ms')
    send(push, [b'second'])
    eq(p.line(), 'second', 'line after %gs of pings' % ALIVE)
    p.expect_exit(0)


register('nomid_pull_answers_pings.nomid_binds', lambda t: pull_answers_pings(t, True))
register('nomid_pull_answers_pings.zmq_binds', lambda t: pull_answers_pings(t, False))


@test
def router_echo_with_pinging_dealer(t):
    p, dealer = t.link('tcp', True, ['router', '--echo'], 'dealer', **HB)
    mon = monitor(t, dealer)
    send(dealer, [b'one'])
    eq(recv(dealer, 'echo of one'), [b'one'], 'echo through nomid router')
    time.sleep(ALIVE)
    expect_no_drop(mon, 'pyzmq DEALER with HEARTBEAT_IVL 100 ms')
    send(dealer, [b'two', b'parts'])
    eq(recv(dealer, 'echo of two'), [b'two', b'parts'], 'echo after %gs of pings' % ALIVE)
    p.stop_expect(0)


@test
def nomid_pings_zmq_peer_both_ways(t):
    # nomid with --heartbeat against a libzmq peer that pings too: both answer.
    p, rep = t.link('tcp', False, ['dealer', '--heartbeat', '0.1', '-d', '', '-d', 'ping',
                                   '--interval', '0.5'], 'rep', **HB)
    mon = monitor(t, rep)
    for i in range(5):  # about 2 s
        eq(recv(rep, 'request %d' % (i + 1)), [b'ping'], 'request %d' % (i + 1))
        send(rep, [b'pong'])
    expect_no_drop(mon, 'pyzmq REP with HEARTBEAT_IVL 100 ms')
    check(p.poll() is None, 'nomid exited (%s)' % p.poll())
    p.stop_expect(0)


# A libzmq REP (no heartbeat of its own) in a process of its own, so that it can be
# stopped with SIGSTOP: its kernel keeps the connection open, but it answers nothing.
PEER = r'''
import sys, zmq
ctx = zmq.Context()
s = ctx.socket(zmq.REP)
s.bind(sys.argv[1])
print(s.getsockopt(zmq.LAST_ENDPOINT).decode(), flush=True)
while True:
    s.send_multipart(s.recv_multipart())
'''

HB_SEC = 0.3
DETECT = 3 * HB_SEC + 2.0  # a PING, its timeout, and slack for a busy machine
HB_LOG = re.compile(r'heartbeat|timed out', re.I)


def start_peer(ep):
    cmd = ['/usr/bin/python3', '-c', PEER, ep]
    if shutil.which('setpriv'):
        cmd = ['setpriv', '--pdeathsig', 'KILL', '--'] + cmd
    peer = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    line = peer.stdout.readline().decode().strip()
    if not line:
        peer.kill()
        peer.wait()
        raise Fail('the pyzmq REP peer process did not start')
    return peer


@test
def nomid_detects_stopped_peer(t):
    ep = endpoint('tcp')
    peer = start_peer(ep)
    try:
        p = t.cat('req', '--connect', ep, '-d', 'ping', '--interval', '0.2',
                  '--heartbeat', str(HB_SEC), '-v')
        eq(p.lines(2), ['ping', 'ping'], 'replies from the pyzmq REP peer')
        with p.cond:
            before = len(p.err)
        os.kill(peer.pid, signal.SIGSTOP)
        stopped = time.monotonic()
        deadline = stopped + DETECT
        hit = None
        with p.cond:
            while hit is None:
                hit = next((l for l in p.err[before:] if l is not None and HB_LOG.search(l)),
                           None)
                left = deadline - time.monotonic()
                if hit is not None or left <= 0 or (p.err and p.err[-1] is None):
                    break
                p.cond.wait(left)
        check(hit is not None, 'nomid logged no line matching /heartbeat|timed out/ within '
              '%gs of the peer stopping (--heartbeat %g)' % (DETECT, HB_SEC))
        p.stop_expect(0)
    finally:
        try:
            os.kill(peer.pid, signal.SIGCONT)
        except ProcessLookupError:
            pass
        peer.kill()
        peer.wait()


# ---------------------------------------------------------------- --heartbeat usage

def usage_case(value):
    def run(t):
        p = t.cat('pull', '--bind', endpoint('tcp'), '--heartbeat', value)
        eq(p.wait(WAIT), 2, 'exit code of nomid cat --heartbeat %s' % value)
        check('--heartbeat' in p.stderr_text(), 'stderr does not name --heartbeat:\n%s'
              % p.stderr_text())
    return run


for _v in ('0', 'soon', '-1', '99999'):
    register('usage.heartbeat_%s' % _v, usage_case(_v), 30)


if __name__ == '__main__':
    main()
