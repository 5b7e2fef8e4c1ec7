#!/usr/bin/python3
"""Publish-subscribe between nomid and libzmq: PUB/SUB and XPUB/XSUB in both roles and
with either side binding (tcp, and ipc for the SUB filter), prefix filtering at the
publisher, subscription messages (\\x01prefix / \\x00prefix) with their counting, and
raw ZMTP peers checking the two wire forms of a subscription: a 3.0 peer's data frame
0x01+prefix and a 3.1 peer's SUBSCRIBE command, both accepted by a nomid PUB, and each
sent by a nomid SUB in the form matching the peer's minor version.

Publishers drop what they send before a subscription arrives (the slow joiner), so
every publisher here sends repeatedly (`--interval 0.02`, or a pyzmq loop every 20 ms)
until the subscriber has what it waits for."""

import select
import socket
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean

import zmq  # noqa: E402

from nmtest import (WAIT, Fail, check, command_name, eq, free_tcp_port, hexs,  # noqa: E402
                    pump_lines, recv, recv_exactly, register, send, short, test, main,
                    zmtp_command, zmtp_frame, zmtp_greeting, zmtp_props, zmtp_ready)

QUIET = 0.5  # how long "nothing arrives" is watched (a sleep by design)


def both_sides(name, fn, transports=('tcp',)):
    """Registers fn(t, transport, nomid_binds) for each transport and bind side."""
    for transport in transports:
        for nomid_binds in (True, False):
            side = 'nomid_binds' if nomid_binds else 'zmq_binds'
            register('%s.%s.%s' % (name, transport, side),
                     lambda t, tr=transport, nb=nomid_binds: fn(t, tr, nb))


def expect_quiet(s, what, quiet=QUIET):
    """The pyzmq socket s receives nothing for `quiet` seconds."""
    if s.poll(int(quiet * 1000)):
        raise Fail('%s: got %s' % (what, short(s.recv_multipart())))


# ---------------------------------------------------------------- nomid SUB

def sub_filters_zmq_pub(t, transport, nomid_binds):
    # Two prefixes: a... and c... arrive, b... never does (the PUB filters).
    p, pub = t.link(transport, nomid_binds,
                    ['sub', '--subscribe', 'a', '--subscribe', 'c', '-n', '9'], 'pub')
    mix = (b'apple', b'banana', b'cherry', b'b-a', b'avocado')
    lines = pump_lines(p, lambda: [pub.send(m) for m in mix], 9)
    bad = [l for l in lines if l[:1] not in ('a', 'c')]
    check(not bad, 'nomid sub --subscribe a --subscribe c printed %s' % short(bad))
    for want in ('apple', 'cherry', 'avocado'):
        check(want in lines, 'nomid sub never printed %r (got %s)' % (want, short(lines)))
    p.expect_exit(0)


both_sides('sub_filters_zmq_pub', sub_filters_zmq_pub, ('tcp', 'ipc'))


@test
def sub_without_subscribe_gets_everything(t):
    p, pub = t.link('tcp', True, ['sub', '-n', '4', '--format', 'hex'], 'pub')
    lines = pump_lines(p, lambda: pub.send_multipart([b'x', b'\x00\xff']), 4)
    eq(set(lines), {hexs(b'x') + ':' + hexs(b'\x00\xff')}, 'lines printed by nomid sub')
    p.expect_exit(0)


# ---------------------------------------------------------------- nomid PUB

def zmq_sub_from_nomid_pub(t, transport, nomid_binds):
    p, sub = t.link(transport, nomid_binds,
                    ['pub', '-d', 'topic-x', '-d', 'body', '--interval', '0.02'], 'sub',
                    subscribe=b'topic')
    other = None
    if nomid_binds:
        other = t.sock('sub', subscribe=b'other')
        other.connect(p.wait_bound()[0])
    for i in range(3):
        eq(recv(sub, 'message %d from nomid pub' % (i + 1)), [b'topic-x', b'body'],
           'message %d from nomid pub' % (i + 1))
    if other is not None:
        expect_quiet(other, 'pyzmq SUB subscribed to "other"')
    p.stop_expect(0)


both_sides('zmq_sub_from_nomid_pub', zmq_sub_from_nomid_pub)


# ---------------------------------------------------------------- nomid XPUB

def nomid_xpub_prints_subscriptions(t, transport, nomid_binds):
    p, sub = t.link(transport, nomid_binds, ['xpub', '-n', '2'], 'sub')
    sub.setsockopt(zmq.SUBSCRIBE, b'news')
    # A bound libzmq SUB sends its subscriptions to a new peer only once the application
    # thread processes the connection (any call but setsockopt): poke it until then.
    eq(pump_lines(p, lambda: sub.getsockopt(zmq.EVENTS), 1), ['\\x01news'],
       'subscription printed by nomid xpub (text format)')
    sub.setsockopt(zmq.UNSUBSCRIBE, b'news')
    eq(pump_lines(p, lambda: sub.getsockopt(zmq.EVENTS), 1), ['\\x00news'],
       'cancel printed by nomid xpub (text format)')
    p.expect_exit(0)


both_sides('nomid_xpub_prints_subscriptions', nomid_xpub_prints_subscriptions)


@test
def nomid_xpub_counts_subscriptions(t):
    # Two SUBs subscribe to 'a': a (non-verbose) XPUB passes on the first only, and the
    # cancel only when the last one goes.  A second topic on the same connection shows
    # when everything before it was processed (one connection keeps its order).
    p = t.cat('xpub', '--bind', 'tcp://127.0.0.1:0', '--format', 'hex', '-n', '4')
    ep = p.wait_bound()[0]
    s1, s2 = t.sock('sub'), t.sock('sub')
    s1.connect(ep)
    s2.connect(ep)
    s1.setsockopt(zmq.SUBSCRIBE, b'a')
    eq(p.line(), hexs(b'\x01a'), 'first subscription to a')
    s2.setsockopt(zmq.SUBSCRIBE, b'a')
    s2.setsockopt(zmq.SUBSCRIBE, b'z')
    eq(p.line(), hexs(b'\x01z'), 'next line after a second subscription to a (not passed on)')
    s1.setsockopt(zmq.UNSUBSCRIBE, b'a')
    s1.setsockopt(zmq.SUBSCRIBE, b'y')
    eq(p.line(), hexs(b'\x01y'), 'next line after one of two subscribers of a cancelled')
    s2.setsockopt(zmq.UNSUBSCRIBE, b'a')
    eq(p.line(), hexs(b'\x00a'), 'cancel once the last subscriber of a cancelled')
    p.expect_exit(0)


def zmq_xsub_from_nomid_xpub(t, transport, nomid_binds):
    p, xsub = t.link(transport, nomid_binds, ['xpub', '-d', 'topic-y', '--interval', '0.02'],
                     'xsub')
    send(xsub, [b'\x01topic'])
    eq(recv(xsub, 'message from nomid xpub'), [b'topic-y'], 'message from nomid xpub')
    send(xsub, [b'\x00topic'])
    # What was already queued may still arrive; then nothing more.
    deadline = time.monotonic() + WAIT
    while xsub.poll(int(QUIET * 1000)):
        check(time.monotonic() < deadline, 'nomid xpub kept sending after the cancel')
        xsub.recv_multipart()
    p.stop_expect(0)


both_sides('zmq_xsub_from_nomid_xpub', zmq_xsub_from_nomid_xpub)


# ---------------------------------------------------------------- nomid XSUB

def nomid_xsub_with_zmq_xpub(t, transport, nomid_binds):
    p, xpub = t.link(transport, nomid_binds, ['xsub', '--subscribe', 'a', '-n', '4'], 'xpub')
    eq(recv(xpub, 'subscription from nomid xsub'), [b'\x01a'], 'subscription from nomid xsub')
    lines = pump_lines(p, lambda: [xpub.send(m) for m in (b'b-1', b'a-1')], 4)
    eq(set(lines), {'a-1'}, 'lines printed by nomid xsub --subscribe a')
    p.expect_exit(0)


both_sides('nomid_xsub_with_zmq_xpub', nomid_xsub_with_zmq_xpub)


def sub_counts_subscriptions(t, verbose):
    # nomid sub subscribes a twice and b once, then cancels one a and the b.  Depending
    # on whether the connection is up before the options are set, the XPUB sees them one
    # by one or as the resulting set; either way a is never cancelled (one subscription
    # is left: subscriptions are counted), b ends cancelled, and only a-... arrives.
    xpub = t.sock('xpub', xpub_verbose=1 if verbose else 0)
    ep = t.bind(xpub, 'tcp')
    p = t.cat('sub', '--connect', ep, '--subscribe', 'a', '--subscribe', 'a', '--subscribe', 'b',
              '--unsubscribe', 'a', '--unsubscribe', 'b', '-n', '3')
    seen = [recv(xpub, 'first subscription from nomid sub')[0]]
    while xpub.poll(int(QUIET * 1000)):
        seen.append(xpub.recv_multipart()[0])
    check(b'\x00a' not in seen, 'nomid sub cancelled a although one subscription is left: %s'
          % short(seen))
    check(b'\x01a' in seen, 'no subscription to a: %s' % short(seen))
    if b'\x01b' in seen:
        check(b'\x00b' in seen[seen.index(b'\x01b'):], 'b subscribed, never cancelled: %s'
              % short(seen))
    check(set(seen) <= {b'\x01a', b'\x01b', b'\x00b'}, 'unexpected messages: %s' % short(seen))
    lines = pump_lines(p, lambda: [xpub.send(m) for m in (b'b-1', b'a-1')], 3)
    eq(set(lines), {'a-1'}, 'lines printed by nomid sub')
    p.expect_exit(0)


register('sub_counts_subscriptions', lambda t: sub_counts_subscriptions(t, False))
register('sub_counts_subscriptions.xpub_verbose', lambda t: sub_counts_subscriptions(t, True))


@test
def sub_repeats_subscriptions_to_verbose_xpub(t):
    # nomid subscribes once its connection is up (the XPUB binds late): an XPUB_VERBOSE
    # then sees a subscription to each prefix, at least once, and no cancel.
    xpub = t.sock('xpub', xpub_verbose=1)
    ep = 'tcp://127.0.0.1:%d' % free_tcp_port()
    p = t.cat('sub', '--connect', ep, '--subscribe', 'k1', '--subscribe', 'k2', '-n', '1')
    time.sleep(QUIET)
    xpub.bind(ep)
    seen = set()
    while seen != {b'\x01k1', b'\x01k2'}:
        m = recv(xpub, 'subscriptions from nomid sub (have %s)' % short(seen))[0]
        check(m in (b'\x01k1', b'\x01k2'), 'unexpected subscription message %r' % m)
        seen.add(m)
    pump_lines(p, lambda: xpub.send(b'k2-x'), 1)
    p.expect_exit(0)


# ---------------------------------------------------------------- raw ZMTP peers

class RawReader:
    """Frames from a raw connection, one at a time."""

    def __init__(self, s):
        self.s = s

    def frame(self, timeout=WAIT):
        hdr = recv_exactly(self.s, 2, timeout)
        size = hdr[1]
        if hdr[0] & 0x02:
            size = int.from_bytes(hdr[1:] + recv_exactly(self.s, 7, timeout), 'big')
        return hdr[0], recv_exactly(self.s, size, timeout)

    def handshake(self, want_type):
        """nomid's greeting and READY; checks the Socket-Type it announces."""
        g = recv_exactly(self.s, 64)
        eq((g[0], g[9], g[10]), (0xFF, 0x7F, 3), 'greeting signature and major version')
        check(g[11] >= 1, 'nomid announced ZMTP 3.%d' % g[11])
        flags, body = self.frame()
        check(flags & 0x04 and command_name(body) == b'READY',
              'first frame from nomid is not READY: %#x %r' % (flags, body[:20]))
        eq(zmtp_props(body[6:]).get(b'Socket-Type'), want_type, 'Socket-Type in nomid READY')

    def quiet(self, secs=QUIET):
        """No data frame arrives for secs seconds (commands may)."""
        deadline = time.monotonic() + secs
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.s], [], [], left)[0]:
                return
            flags, body = self.frame()
            check(flags & 0x04, 'unexpected data frame %r' % body[:40])

    def data(self, timeout=WAIT):
        """The next data frame, skipping commands (PING...)."""
        deadline = time.monotonic() + timeout
        while True:
            flags, body = self.frame(max(0.01, deadline - time.monotonic()))
            if not flags & 0x04:
                return flags, body


def raw_sub_to_nomid_pub(t, minor):
    p = t.cat('pub', '--bind', 'tcp://127.0.0.1:0', '-d', 'topic-1', '--interval', '0.02')
    ep = p.wait_bound()[0]

    def raw_sub(prefix):
        s = t.raw_connect(ep)
        s.sendall(zmtp_greeting(minor=minor) + zmtp_ready({b'Socket-Type': b'SUB'}))
        r = RawReader(s)
        r.handshake(b'PUB')
        if minor == 0:
            s.sendall(zmtp_frame(b'\x01' + prefix))  # ZMTP 3.0: a data frame
        else:
            s.sendall(zmtp_command(b'SUBSCRIBE', prefix))  # ZMTP 3.1: a command
        return r

    match, other = raw_sub(b'topic'), raw_sub(b'other')
    for i in range(3):
        eq(match.data(), (0, b'topic-1'), 'data frame %d to a raw 3.%d SUB' % (i + 1, minor))
    other.quiet()  # subscribed to "other": nothing for it
    p.stop_expect(0)


register('raw_zmtp30_sub_to_nomid_pub', lambda t: raw_sub_to_nomid_pub(t, 0))
register('raw_zmtp31_sub_to_nomid_pub', lambda t: raw_sub_to_nomid_pub(t, 1))


def nomid_sub_to_raw_pub(t, minor):
    lst = t.raw_listener()
    lst.settimeout(WAIT)
    p = t.cat('sub', '--connect', 'tcp://127.0.0.1:%d' % lst.getsockname()[1],
              '--subscribe', 'x', '-n', '1')
    try:
        c, _ = lst.accept()
    except socket.timeout:
        raise Fail('nomid sub did not connect within %gs' % WAIT)
    t.own(c)
    c.sendall(zmtp_greeting(minor=minor) + zmtp_ready({b'Socket-Type': b'PUB'}))
    r = RawReader(c)
    r.handshake(b'SUB')
    flags, body = r.frame()
    if minor == 0:
        eq((flags, body), (0, b'\x01x'), 'subscription to a ZMTP 3.0 peer (a data frame)')
    else:
        eq((flags, body), (0x04, b'\x09SUBSCRIBEx'),
           'subscription to a ZMTP 3.1 peer (a SUBSCRIBE command)')
    c.sendall(zmtp_frame(b'x-data'))
    eq(p.line(), 'x-data', 'line printed by nomid sub')
    p.expect_exit(0)


register('nomid_sub_to_raw_zmtp30_pub', lambda t: nomid_sub_to_raw_pub(t, 0))
register('nomid_sub_to_raw_zmtp31_pub', lambda t: nomid_sub_to_raw_pub(t, 1))


if __name__ == '__main__':
    main()
