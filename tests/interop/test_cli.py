#!/usr/bin/python3
"""The `nomid cat` command-line contract: exit codes (0 ok or stopped by SIGINT/SIGTERM,
1 runtime failure such as an address in use, 2 bad arguments with a message naming
the problem, 3 timeout), `bound ENDPOINT` lines with the real port, repeatable and
mixed --bind/--connect, -n with --interval, and stdout flushed line by line into a
pipe."""

import re
import signal
import socket
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean

import zmq  # noqa: E402

from nmtest import (WAIT, check, endpoint, eq, recv, register, send, test,  # noqa: E402
                    main)


# ---------------------------------------------------------------- exit code 2

def usage_case(args, mention=None):
    def run(t):
        ep = endpoint('tcp')
        argv = [a.replace('EP', ep) for a in args]
        p = t.nomid(*argv)
        eq(p.wait(WAIT), 2, 'exit code of nomid %s' % ' '.join(argv))
        p.expect_no_more_output()
        err = p.stderr_text()
        check(err.strip() != '', 'no message on stderr for bad arguments')
        if mention:
            check(mention in err, 'stderr does not name %r:\n%s' % (mention, err))
        check('bound ' not in err, 'nomid bound an endpoint despite bad arguments')
    return run


USAGE = [
    ('unknown_type', ['cat', 'frob', '--bind', 'EP'], 'frob'),
    ('no_type', ['cat'], None),
    ('no_endpoint', ['cat', 'pull'], None),
    ('bad_format', ['cat', 'pull', '--bind', 'EP', '--format', 'xml'], 'xml'),
    ('unknown_option', ['cat', 'pull', '--bind', 'EP', '--frobnicate'], 'frobnicate'),
    ('bad_timeout', ['cat', 'pull', '--bind', 'EP', '--timeout', 'soon'], 'soon'),
    ('bad_count', ['cat', 'pull', '--bind', 'EP', '-n', 'many'], 'many'),
    ('bad_hex_digits', ['cat', 'push', '--bind', 'EP', '--hex-data', 'zz'], 'zz'),
    ('odd_hex_length', ['cat', 'push', '--bind', 'EP', '--hex-data', 'abc'], 'abc'),
    ('echo_on_push', ['cat', 'push', '--bind', 'EP', '-d', 'x', '--echo'], None),
    ('echo_on_pull', ['cat', 'pull', '--bind', 'EP', '--echo'], None),
    ('unknown_transport', ['cat', 'pull', '--bind', 'bogus://x'], 'bogus://x'),
    ('unknown_command', ['frobnicate'], 'frobnicate'),
    ('stdin_text_format', ['cat', 'push', '--bind', 'EP', '--stdin'], '--stdin'),
    ('stdin_and_data', ['cat', 'push', '--bind', 'EP', '--stdin', '--format', 'json', '-d', 'x'],
     '--stdin'),
    ('stdin_on_pull', ['cat', 'pull', '--bind', 'EP', '--stdin', '--format', 'json'], 'pull'),
]

for _name, _args, _mention in USAGE:
    register('usage.' + _name, usage_case(_args, _mention), 30)


# ---------------------------------------------------------------- exit code 1

@test
def bind_address_in_use(t):
    holder = t.own(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
    holder.bind(('127.0.0.1', 0))
    holder.listen(1)
    port = holder.getsockname()[1]
    p = t.cat('pull', '--bind', 'tcp://127.0.0.1:%d' % port)
    eq(p.wait(WAIT), 1, 'exit code when the port is taken')
    check(p.stderr_text().strip() != '', 'no message on stderr')
    p.expect_no_more_output()


@test
def bind_address_in_use_by_zmq(t):
    s = t.sock('push')
    ep = t.bind(s, 'tcp')
    p = t.cat('pull', '--bind', ep)
    eq(p.wait(WAIT), 1, 'exit code when a libzmq socket holds the port')


# ---------------------------------------------------------------- exit code 3

@test
def timeout_when_nothing_arrives(t):
    ep = endpoint('tcp')
    t0 = time.monotonic()
    p = t.cat('pull', '--bind', ep, '--timeout', '0.5')
    rc = p.wait(WAIT)
    dt = time.monotonic() - t0
    eq(rc, 3, 'exit code of --timeout 0.5 with nothing arriving')
    check(dt >= 0.45, 'exited after %.2fs, before --timeout 0.5 passed' % dt)
    p.expect_no_more_output()


@test
def timeout_when_send_cannot_complete(t):
    p = t.cat('push', '--bind', endpoint('tcp'), '-d', 'x', '--timeout', '0.5')
    eq(p.wait(WAIT), 3, 'exit code of push --timeout 0.5 with no peer')


@test
def timeout_counts_from_last_message(t):
    # Messages every 0.5 s for longer than --timeout keep it alive; then silence ends it.
    p, s = t.link('tcp', True, ['pull', '--timeout', '3'], 'push')
    t0 = time.monotonic()
    n = 0
    while time.monotonic() - t0 < 4.5:
        send(s, [b'tick%d' % n])
        eq(p.line(), 'tick%d' % n, 'line %d' % n)
        n += 1
        time.sleep(0.5)
    check(p.poll() is None, 'nomid exited (%s) while messages kept arriving' % p.poll())
    eq(p.wait(WAIT), 3, 'exit code after 3 s of silence')
    p.expect_no_more_output()


# ---------------------------------------------------------------- exit code 0 and signals

def stopped_by(sig):
    def run(t):
        p, s = t.link('tcp', True, ['pull'], 'push')
        send(s, [b'x'])
        eq(p.line(), 'x', 'line before the signal')
        eq(p.stop(sig), 0, 'exit code after %s' % signal.Signals(sig).name)
        p.expect_no_more_output()
    return run


register('sigint_exits_0', stopped_by(signal.SIGINT), 30)
register('sigterm_exits_0', stopped_by(signal.SIGTERM), 30)


@test
def sigterm_during_blocked_send_exits_0(t):
    p = t.cat('push', '--bind', endpoint('tcp'), '-d', 'x')
    p.wait_bound()
    time.sleep(0.3)  # let it block in its send
    eq(p.stop(signal.SIGTERM), 0, 'exit code after SIGTERM while waiting for a peer')


# ---------------------------------------------------------------- bound lines, endpoints

@test
def bound_lines_report_real_endpoints(t):
    ipc = endpoint('ipc')
    p = t.cat('pull', '--bind', 'tcp://127.0.0.1:0', '--bind', ipc, '-n', '2')
    tcp_ep, ipc_ep = p.wait_bound(2)
    m = re.match(r'^tcp://127\.0\.0\.1:(\d+)$', tcp_ep)
    check(m is not None and int(m.group(1)) != 0,
          'bound line for tcp://127.0.0.1:0 shows %r, not the real port' % tcp_ep)
    eq(ipc_ep, ipc, 'bound line for the ipc endpoint')
    a, b = t.sock('push'), t.sock('push')
    a.connect(tcp_ep)
    b.connect(ipc_ep)
    send(a, [b'via-tcp'])
    eq(p.line(), 'via-tcp', 'line from the tcp peer')
    send(b, [b'via-ipc'])
    eq(p.line(), 'via-ipc', 'line from the ipc peer')
    p.expect_exit(0)


@test
def bound_line_for_wildcard_host(t):
    p = t.cat('pull', '--bind', 'tcp://*:0', '-n', '1')
    (ep,) = p.wait_bound()
    m = re.search(r':(\d+)$', ep)
    check(ep.startswith('tcp://') and m is not None and int(m.group(1)) != 0,
          'bound line for tcp://*:0 shows %r, not the real port' % ep)
    s = t.sock('push')
    s.connect('tcp://127.0.0.1:%s' % m.group(1))
    send(s, [b'any'])
    eq(p.line(), 'any', 'line from a peer on 127.0.0.1')
    p.expect_exit(0)


@test
def bind_and_connect_mixed(t):
    bound_peer = t.sock('push')
    peer_ep = t.bind(bound_peer, 'ipc')
    own_ep = endpoint('tcp')
    p = t.cat('pull', '--bind', own_ep, '--connect', peer_ep, '-n', '2')
    p.wait_bound()
    conn_peer = t.sock('push')
    conn_peer.connect(own_ep)
    send(bound_peer, [b'from-bound-peer'])
    eq(p.line(), 'from-bound-peer', 'line from the peer nomid connected to')
    send(conn_peer, [b'from-connecting-peer'])
    eq(p.line(), 'from-connecting-peer', 'line from the peer that connected to nomid')
    p.expect_exit(0)


@test
def two_connects(t):
    a, b = t.sock('pull'), t.sock('pull')
    ea, eb = t.bind(a, 'tcp'), t.bind(b, 'tcp')
    p = t.cat('push', '--connect', ea, '--connect', eb, '-d', 'x', '-n', '4')
    # PUSH round-robins over the connections it has: count what arrives on both.
    got = 0
    deadline = time.monotonic() + WAIT
    while got < 4 and time.monotonic() < deadline:
        for s in (a, b):
            try:
                eq(s.recv_multipart(flags=zmq.NOBLOCK), [b'x'], 'message')
                got += 1
            except zmq.Again:
                pass
        time.sleep(0.01)
    eq(got, 4, 'messages received over two connections')
    p.expect_exit(0)


# ---------------------------------------------------------------- stdout, -n, --interval

@test
def stdout_is_flushed_per_line(t):
    p, s = t.link('tcp', True, ['pull'], 'push')
    for word in (b'first', b'second', b'third'):
        send(s, [word])
        eq(p.line(), word.decode(), 'line seen through the pipe while nomid runs')
        check(p.poll() is None, 'nomid exited early (%s)' % p.poll())
    eq(p.stop(), 0, 'exit code after SIGTERM')


@test
def count_with_interval(t):
    s = t.sock('pull')
    ep = t.bind(s, 'tcp')
    p = t.cat('push', '--connect', ep, '-d', 'x', '-n', '3', '--interval', '0.2')
    t0 = None
    for i in range(3):
        eq(recv(s, 'message %d' % (i + 1)), [b'x'], 'message %d' % (i + 1))
        if t0 is None:
            t0 = time.monotonic()
    dt = time.monotonic() - t0
    check(dt >= 0.3, '3 messages with --interval 0.2 arrived within %.2fs' % dt)
    p.expect_exit(0)


@test
def hwm_and_linger_options_accepted(t):
    p, s = t.link('tcp', True, ['pull', '-n', '3', '--rcvhwm', '5', '--sndhwm', '5',
                                '--linger', '0.5'], 'push')
    for i in range(3):
        send(s, [b'%d' % i])
    eq(p.lines(3), ['0', '1', '2'], 'lines')
    p.expect_exit(0)


@test
def req_prints_each_reply(t):
    s = t.sock('rep')
    ep = t.bind(s, 'ipc')
    p = t.cat('req', '--connect', ep, '-d', 'q', '-n', '3', '--format', 'hex')
    for i in range(3):
        eq(recv(s, 'request %d' % (i + 1)), [b'q'], 'request %d' % (i + 1))
        send(s, [b'r%d' % i, b''])
        eq(p.line(), '72%02x:' % (0x30 + i), 'hex line for reply %d' % (i + 1))
    p.expect_exit(0)
    p.expect_no_more_output()


if __name__ == '__main__':
    main()
