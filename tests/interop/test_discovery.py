#!/usr/bin/python3
"""Discovery from the command line, on loopback: `nomid node --service` advertises an
endpoint owned by a libzmq program, `nomid resolve` finds it by name and a pyzmq SUB
connects to what it printed; --watch follows a clean exit (goodbye) and a kill -9
(expiry); fleets and fleet keys keep nodes apart; nodes without --name take the host
name; bad arguments exit 2.  Each test uses
its own fleet name so tests running side by side on the same beacon port never meet."""

import os
import signal
import socket
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # keep the source tree clean

import zmq  # noqa: E402

from nmtest import Fail, check, eq, test, main  # noqa: E402

IVL = '0.1'  # beacon interval for the tests (seconds)


def fleet(tag):
    return 'test-%d-%s' % (os.getpid(), tag)


def node(t, fl, *extra):
    p = t.nomid('node', '--fleet', fl, '--beacon-interval', IVL, *extra)
    deadline = time.monotonic() + 10
    while 'ready' not in p.stderr_text():
        check(p.poll() is None, 'nomid node exited early: %s' % p.stderr_text())
        check(time.monotonic() < deadline, 'nomid node printed no ready line')
        time.sleep(0.02)
    return p


def resolve(t, fl, name, *extra):
    return t.nomid('resolve', name, '--fleet', fl, '--beacon-interval', IVL, *extra)


def key_file(content):
    f = tempfile.NamedTemporaryFile('wb', delete=False, prefix='nomid-key-')
    f.write(content)
    f.close()
    return f.name


@test
def resolve_finds_a_libzmq_publisher(t):
    fl = fleet('pub')
    pub = t.sock('pub')
    pub.bind('tcp://127.0.0.1:*')
    ep = pub.getsockopt(zmq.LAST_ENDPOINT).decode()
    node(t, fl, '--service', 'camera.front=pub@' + ep, '--name', 'robot1')
    r = resolve(t, fl, 'camera.front', '--wait', '1', '--timeout', '5')
    eq(r.line(), ep, 'resolved endpoint')
    r.expect_exit(0)
    sub = t.sock('sub')
    sub.setsockopt(zmq.SUBSCRIBE, b'')
    sub.connect(ep)
    deadline = time.monotonic() + 5
    while True:
        pub.send(b'frame')
        try:
            eq(sub.recv(zmq.NOBLOCK), b'frame', 'message through the resolved endpoint')
            break
        except zmq.Again:
            check(time.monotonic() < deadline, 'nothing through the resolved endpoint')
            time.sleep(0.02)
    peers = t.nomid('peers', '--fleet', fl, '--timeout', '0.5')
    line = peers.line()
    check(' robot1 127.0.0.1 alive' in line, 'peers line: %s' % line)
    peers.expect_exit(0)


@test
def wildcard_endpoint_gets_the_interface_address(t):
    fl = fleet('wild')
    node(t, fl, '--service', 'imu=pub@tcp://*:7001')
    r = resolve(t, fl, 'imu', '--wait', '1', '--timeout', '5')
    eq(r.line(), 'tcp://127.0.0.1:7001', 'wildcard replaced by the interface address')
    r.expect_exit(0)


@test
def watch_follows_goodbye_and_kill(t):
    fl = fleet('watch')
    w = resolve(t, fl, 'lidar', '--watch')
    a = node(t, fl, '--service', 'lidar=pub@tcp://127.0.0.1:7101')
    b = node(t, fl, '--service', 'lidar=pub@tcp://127.0.0.1:7102')
    got = sorted(w.lines(2))
    eq(got, ['+ tcp://127.0.0.1:7101', '+ tcp://127.0.0.1:7102'], 'instances joining')
    t0 = time.monotonic()
    a.stop_expect(0)
    eq(w.line(), '- tcp://127.0.0.1:7101', 'clean exit leaves')
    clean = time.monotonic() - t0
    check(clean < 0.5, 'a clean exit took %.3f s to leave (goodbye)' % clean)
    t0 = time.monotonic()
    b.p.send_signal(signal.SIGKILL)
    eq(w.line(), '- tcp://127.0.0.1:7102', 'killed node leaves')
    killed = time.monotonic() - t0
    check(killed < 3 * 0.1 + 0.5, 'a killed node took %.3f s to leave' % killed)
    print('# goodbye %.0f ms, kill -9 %.0f ms (interval 100 ms, expiry 3)'
          % (clean * 1000, killed * 1000))
    w.stop_expect(0)


@test
def other_fleet_is_invisible(t):
    node(t, fleet('a'), '--service', 'x=pub@tcp://127.0.0.1:7201')
    r = resolve(t, fleet('b'), 'x', '--timeout', '0.6')
    r.expect_exit(3)


@test
def fleet_key_keeps_unsigned_nodes_out(t):
    fl = fleet('key')
    key = key_file(b'k' * 40 + b'\n')
    try:
        node(t, fl, '--fleet-key-file', key, '--service', 's=pub@tcp://127.0.0.1:7301')
        node(t, fl, '--service', 's=pub@tcp://127.0.0.1:7302')
        r = resolve(t, fl, 's', '--fleet-key-file', key, '--timeout', '0.8')
        eq(r.line(), 'tcp://127.0.0.1:7301', 'only the signed node')
        r.expect_exit(0)
        r.expect_no_more_output()
    finally:
        os.unlink(key)


@test
def nodes_without_a_name_take_the_host_name(t):
    # `peers` and the page show a node's name: without --name a node takes the host
    # name and a cat node HOST/cat-PID, never "-" or a bare id.
    fl = fleet('noname')
    host = socket.gethostname()
    node(t, fl)
    cat = t.nomid('cat', 'rep', '--bind', 'svc://noname.echo', '--echo', '--fleet', fl,
                  '--beacon-interval', IVL)
    want = [' %s 127.0.0.1 alive' % host, ' %s/cat-%d 127.0.0.1 alive' % (host, cat.p.pid)]
    deadline = time.monotonic() + 10
    while True:
        peers = t.nomid('peers', '--fleet', fl, '--timeout', '0.5')
        peers.expect_exit(0)
        lines = peers.rest()
        if all(any(w in line for line in lines) for w in want):
            break
        check(time.monotonic() < deadline, 'peers did not show %s: %s' % (want, lines))


@test
def bad_arguments_exit_2(t):
    short = key_file(b'short')
    try:
        for args in (['node', '--service', 'nonsense'],
                     ['node', '--service', 'a=nosuchtype@tcp://127.0.0.1:1'],
                     ['node', '--interface', 'no-such-if0'],
                     ['node', '--fleet-key-file', short],
                     ['node', '--beacon-interval', 'soon'],
                     ['resolve'],
                     ['resolve', 'a', 'b'],
                     ['resolve', 'a', '--wait', '0'],
                     ['peers', '--watch']):
            p = t.nomid(*args)
            rc = p.wait()
            if rc != 2:
                raise Fail('nomid %s exited %s, expected 2' % (' '.join(args), rc))
    finally:
        os.unlink(short)


if __name__ == '__main__':
    main()
