#!/usr/bin/python3
"""Service names from the command line, on loopback: `nomid cat --advertise NAME` and
`--bind svc://NAME` advertise, `--connect svc://NAME` connects to every instance and
follows them as they come and go, also to a libzmq program advertised by `nomid node
--service`.  Each test uses its own fleet so tests running side by side never meet."""

import os
import re
import socket
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean

import zmq  # noqa: E402

from nmtest import check, eq, test, main  # noqa: E402

IVL = '0.1'  # beacon interval for the tests (seconds)


def fleet(tag):
    return 'svc-%d-%s' % (os.getpid(), tag)


def cat(t, fl, *args):
    return t.nomid('cat', '--fleet', fl, '--beacon-interval', IVL, *args)


def publisher(t, fl, name, text):
    p = cat(t, fl, 'pub', '--bind', 'tcp://127.0.0.1:0', '--advertise', name, '-d', text,
            '--interval', '0.05')
    p.wait_bound()
    return p


def wait_for_texts(sub, want, timeout=10):
    """Reads lines from sub until every text in want was seen."""
    seen = set()
    deadline = time.monotonic() + timeout
    while not want <= seen:
        check(time.monotonic() < deadline, 'only saw %s of %s' % (sorted(seen), sorted(want)))
        seen.add(sub.line(timeout=deadline - time.monotonic()))
    return seen


@test
def sub_connects_to_every_publisher_by_name(t):
    fl = fleet('fanin')
    publisher(t, fl, 'cam', 'one')
    publisher(t, fl, 'cam', 'two')
    sub = cat(t, fl, 'sub', '--connect', 'svc://cam')
    wait_for_texts(sub, {'one', 'two'})


@test
def sub_follows_publishers_that_come_and_go(t):
    fl = fleet('follow')
    p1 = publisher(t, fl, 'cam', 'one')
    sub = cat(t, fl, 'sub', '--connect', 'svc://cam')
    wait_for_texts(sub, {'one'})
    p2 = publisher(t, fl, 'cam', 'two')
    wait_for_texts(sub, {'two'})
    p1.stop_expect(0)
    p2.stop_expect(0)
    time.sleep(0.3)
    sub.rest(timeout=0.2)  # drain what was in flight
    p3 = publisher(t, fl, 'cam', 'three')
    seen = wait_for_texts(sub, {'three'})
    check('one' not in seen and 'two' not in seen, 'stopped publishers still heard: %s' % seen)
    p3.stop_expect(0)


@test
def req_finds_rep_bound_to_a_service_name(t):
    fl = fleet('echo')
    rep = cat(t, fl, 'rep', '--bind', 'svc://echo', '--echo')
    ep = rep.wait_bound()[0]
    # It listens on what the node announces on (loopback by default), not on 0.0.0.0.
    m = re.search(r'^bound (tcp://127\.0\.0\.1:(\d+)) as svc://echo$', rep.stderr_text(), re.M)
    check(m is not None and m.group(1) == ep, 'the bound line names the endpoint and the name')
    with socket.socket() as probe:
        probe.settimeout(2)
        check(probe.connect_ex(('127.0.0.2', int(m.group(2)))) != 0,
              'a svc:// bind listens on the announced address only')
    req = cat(t, fl, 'req', '--connect', 'svc://echo', '-d', 'ping', '--timeout', '10')
    eq(req.line(), 'ping', 'reply through svc://echo')
    req.expect_exit(0)


@test
def finding_nothing_says_what_was_searched(t):
    fl = fleet('nothing')
    where = "on 127.0.0.1 (beacon), fleet '%s'; heard 0 nodes of this fleet" % fl
    r = t.nomid('resolve', 'nosuch', '--fleet', fl, '--timeout', '0.5')
    r.expect_exit(3)
    check("no instance of 'nosuch' found: listened 0.5 s " + where in r.stderr_text(),
          'resolve says what it searched: %s' % r.stderr_text())
    r = t.nomid('peers', '--fleet', fl, '--timeout', '0.5')
    r.expect_exit(3)
    check('no node found: listened 0.5 s ' + where in r.stderr_text(),
          'peers says what it searched: %s' % r.stderr_text())
    req = cat(t, fl, 'req', '--connect', 'svc://nosuch', '-d', 'x', '--timeout', '1')
    req.expect_exit(3)
    check(re.search(r'svc://nosuch: no instance found: listened \d\.\d s ' + re.escape(where),
                    req.stderr_text()), 'cat says what it searched: %s' % req.stderr_text())


@test
def sub_finds_a_libzmq_publisher_by_name(t):
    fl = fleet('libzmq')
    pub = t.sock('pub')
    pub.bind('tcp://127.0.0.1:*')
    ep = pub.getsockopt(zmq.LAST_ENDPOINT).decode()
    node = t.nomid('node', '--fleet', fl, '--beacon-interval', IVL, '--service', 'imu=pub@' + ep)
    deadline = time.monotonic() + 10
    while 'ready' not in node.stderr_text():
        check(time.monotonic() < deadline, 'nomid node printed no ready line')
        time.sleep(0.02)
    sub = cat(t, fl, 'sub', '--connect', 'svc://imu', '-n', '1')
    deadline = time.monotonic() + 10
    while sub.poll() is None:
        check(time.monotonic() < deadline, 'nothing from the libzmq publisher')
        pub.send(b'from-libzmq')
        time.sleep(0.05)
    eq(sub.line(), 'from-libzmq', 'message from libzmq found by name')
    sub.expect_exit(0)


@test
def libzmq_subscriber_reaches_an_advertised_nomid_publisher(t):
    fl = fleet('resolve')
    publisher(t, fl, 'gps', 'fix')
    r = t.nomid('resolve', 'gps', '--fleet', fl, '--beacon-interval', IVL, '--wait', '1',
                '--timeout', '5')
    ep = r.line()
    r.expect_exit(0)
    sub = t.sock('sub')
    sub.setsockopt(zmq.SUBSCRIBE, b'')
    sub.setsockopt(zmq.RCVTIMEO, 5000)
    sub.connect(ep)
    eq(sub.recv(), b'fix', 'libzmq SUB on the resolved endpoint')


@test
def advertise_needs_a_bind(t):
    p = cat(t, fleet('usage'), 'sub', '--connect', 'tcp://127.0.0.1:1', '--advertise', 'x')
    p.expect_exit(2)
    p = cat(t, fleet('usage'), 'sub', '--connect', 'svc://')
    p.expect_exit(2)


if __name__ == '__main__':
    main()
