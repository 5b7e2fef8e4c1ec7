#!/usr/bin/python3
"""tcp over IPv6 loopback ([::1]) with libzmq on the other end, whichever side binds."""

import sys

sys.dont_write_bytecode = True  # keep the source tree clean

import zmq  # noqa: E402

from nmtest import eq, recv, send, test, main  # noqa: E402


@test
def nomid_pull_binds_ipv6_zmq_push_connects(t):
    p = t.cat('pull', '--bind', 'tcp://[::1]:0', '-n', '1')
    ep = p.wait_bound()[0]
    eq(ep.startswith('tcp://[::1]:'), True, 'bound endpoint %s is [::1]' % ep)
    s = t.sock('push', ipv6=1)
    s.connect(ep)
    send(s, [b'over ipv6'])
    eq(p.line(), 'over ipv6', 'line')
    p.expect_exit(0)


@test
def zmq_rep_binds_ipv6_nomid_req_connects(t):
    s = t.sock('rep', ipv6=1)
    s.bind('tcp://[::1]:*')
    ep = s.getsockopt(zmq.LAST_ENDPOINT).decode()
    p = t.cat('req', '--connect', ep, '-d', 'ping')
    eq(recv(s), [b'ping'], 'request')
    send(s, [b'pong'])
    eq(p.line(), 'pong', 'reply')
    p.expect_exit(0)


if __name__ == '__main__':
    main()
