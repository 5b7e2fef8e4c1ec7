#!/usr/bin/python3
"""Connections that come and go: nomid connecting before the libzmq peer binds, nomid
reconnecting to a libzmq peer that restarts (receiving and sending side), and a bound
nomid serving one libzmq peer after another.  Over tcp and ipc."""

import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean

import zmq  # noqa: E402

from nmtest import Fail, check, endpoint, eq, recv, send, test, main  # noqa: E402

DOWN = 0.5      # how long a restarted peer stays away (a sleep by design)
BACK = 20.0     # reconnect backoff may have grown while the peer was away


def rebind(s, ep, timeout=5.0):
    """Binds s to ep, retrying while the old listener's address is still held."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            s.bind(ep)
            return
        except zmq.ZMQError as e:
            if e.errno != zmq.EADDRINUSE or time.monotonic() > deadline:
                raise Fail('pyzmq could not bind %s again: %s' % (ep, e))
            time.sleep(0.05)


def stop_peer(s, ctx):
    s.close(0)
    ctx.term()


def pull_follows_restarted_push(t, transport):
    ctx1 = t.new_ctx()
    s1 = t.sock('push', ctx=ctx1)
    ep = t.bind(s1, transport)
    p = t.cat('pull', '--connect', ep, '-n', '3')
    send(s1, [b'a'])
    eq(p.line(), 'a', 'line before the restart')
    stop_peer(s1, ctx1)
    time.sleep(DOWN)
    s2 = t.sock('push', ctx=t.new_ctx(), timeout=BACK)
    rebind(s2, ep)
    send(s2, [b'b'], 'b (after the restart: nomid must reconnect)')
    send(s2, [b'c'])
    eq(p.lines(2, timeout=BACK), ['b', 'c'], 'lines after the restart')
    p.expect_exit(0)
    p.expect_no_more_output()


@test
def pull_reconnects_to_restarted_zmq_push_tcp(t):
    pull_follows_restarted_push(t, 'tcp')


@test
def pull_reconnects_to_restarted_zmq_push_ipc(t):
    pull_follows_restarted_push(t, 'ipc')


def push_follows_restarted_pull(t, transport):
    ctx1 = t.new_ctx()
    s1 = t.sock('pull', ctx=ctx1)
    ep = t.bind(s1, transport)
    p = t.cat('push', '--connect', ep, '-d', 'm', '--interval', '0.05')
    eq(recv(s1, 'message before the restart'), [b'm'], 'message before the restart')
    stop_peer(s1, ctx1)
    time.sleep(DOWN)
    s2 = t.sock('pull', ctx=t.new_ctx(), timeout=BACK)
    rebind(s2, ep)
    for i in range(5):
        eq(recv(s2, 'message %d after the restart' % (i + 1)), [b'm'],
           'message %d after the restart' % (i + 1))
    p.stop_expect(0)


@test
def push_reconnects_to_restarted_zmq_pull_tcp(t):
    push_follows_restarted_pull(t, 'tcp')


@test
def push_reconnects_to_restarted_zmq_pull_ipc(t):
    push_follows_restarted_pull(t, 'ipc')


def connect_before_bind(t, transport):
    ep = endpoint(transport)  # nothing listens there yet
    p = t.cat('pull', '--connect', ep, '-n', '1')
    time.sleep(DOWN)
    # Not in silence: after a few failed attempts it says so, once (rate-limited), with
    # the last error, without -v.
    why = 'Connection refused' if transport == 'tcp' else 'No such file or directory'
    want = '%s: still trying to connect (3 attempts; last error: %s)' % (ep, why)
    deadline = time.monotonic() + 5
    while want not in p.stderr_text():
        check(time.monotonic() < deadline, 'no "%s" line in:\n%s' % (want, p.stderr_text()))
        time.sleep(0.05)
    eq(p.stderr_text().count('still trying'), 1, 'one warning (rate-limited)')
    s = t.sock('push', timeout=BACK)
    rebind(s, ep)
    send(s, [b'late'], 'a message once bound (nomid must keep trying to connect)')
    eq(p.line(timeout=BACK), 'late', 'line printed by nomid pull')
    p.expect_exit(0)


@test
def connect_before_bind_tcp(t):
    connect_before_bind(t, 'tcp')


@test
def connect_before_bind_ipc(t):
    connect_before_bind(t, 'ipc')


def successive_peers(t, transport):
    ep = endpoint(transport)
    p = t.cat('pull', '--bind', ep, '-n', '5')
    p.wait_bound()
    for i in range(5):
        ctx = t.new_ctx()
        s = t.sock('push', ctx=ctx)
        s.connect(ep)
        send(s, [b'peer%d' % i])
        eq(p.line(), 'peer%d' % i, 'line from peer %d' % i)
        stop_peer(s, ctx)
    p.expect_exit(0)


@test
def bound_pull_serves_successive_peers_tcp(t):
    successive_peers(t, 'tcp')


@test
def bound_pull_serves_successive_peers_ipc(t):
    successive_peers(t, 'ipc')


@test
def bound_rep_serves_successive_reqs(t):
    ep = endpoint('tcp')
    p = t.cat('rep', '--bind', ep, '--echo')
    p.wait_bound()
    for i in range(5):
        ctx = t.new_ctx()
        s = t.sock('req', ctx=ctx)
        s.connect(ep)
        send(s, [b'q%d' % i])
        eq(recv(s, 'echo for REQ %d' % i), [b'q%d' % i], 'echo for REQ %d' % i)
        stop_peer(s, ctx)
    p.stop_expect(0)


if __name__ == '__main__':
    main()
