#!/usr/bin/python3
"""The ZMTP handshake at the byte level, and what nomid does with peers it must refuse:
an incompatible socket type (through libzmq and through a raw socket announcing PUB),
garbage instead of a greeting, a frame with reserved flag bits, an absurd frame size, a
mechanism nomid does not speak, and stalled half-handshakes.  Each refused connection
is closed, never delivers anything, and the node keeps serving good peers."""

import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean

import zmq  # noqa: E402
from zmq.utils.monitor import recv_monitor_message  # noqa: E402

from nmtest import (WAIT, Fail, check, command_name, endpoint, eq, recv_exactly,  # noqa: E402
                    recv_until_closed, send, test, main, zmtp_command, zmtp_frame,
                    zmtp_greeting, zmtp_parse, zmtp_props, zmtp_ready)

CLOSE_WAIT = 5.0  # a refused connection must be closed within this


def pull_node(t, *extra):
    """`nomid cat pull --bind tcp://127.0.0.1:PORT -n 1 ...`, once bound."""
    ep = endpoint('tcp')
    p = t.cat('pull', '--bind', ep, '-n', '1', *extra)
    p.wait_bound()
    return p, ep


def good_push_gets_through(t, p, ep, body=b'good'):
    """A well-behaved pyzmq PUSH still reaches the node, and that is all it printed."""
    s = t.sock('push')
    s.connect(ep)
    send(s, [body])
    eq(p.line(), body.decode(), 'first (and only) line printed by nomid pull')
    p.expect_exit(0)
    p.expect_no_more_output()


def read_nomid_handshake(r):
    """Reads nomid's greeting and READY from a raw connection; returns READY's props."""
    g = recv_exactly(r, 64)
    eq(g[0], 0xFF, 'greeting byte 0')
    eq(g[9], 0x7F, 'greeting byte 9')
    eq(g[10], 3, 'greeting major version')
    check(g[11] >= 1, 'greeting minor version %d < 1' % g[11])
    eq(g[12:32], b'NULL'.ljust(20, b'\x00'), 'greeting mechanism')
    hdr = recv_exactly(r, 2)
    check(hdr[0] & 0x04, 'first frame after the greeting is not a command (flags %#x)' % hdr[0])
    size = hdr[1]
    if hdr[0] & 0x02:
        size = int.from_bytes(hdr[1:] + recv_exactly(r, 7), 'big')
    body = recv_exactly(r, size)
    eq(command_name(body), b'READY', 'first command from nomid')
    return zmtp_props(body[6:])


def raw_handshake(t, ep, socket_type=b'PUSH', minor=1):
    r = t.raw_connect(ep)
    r.sendall(zmtp_greeting(minor=minor) + zmtp_ready({b'Socket-Type': socket_type}))
    return r


def expect_closed(r, what):
    """The raw connection is closed by nomid within CLOSE_WAIT, having sent at most a
    greeting, its READY and an ERROR command: never a data frame."""
    data, closed = recv_until_closed(r, CLOSE_WAIT)
    check(closed, '%s: nomid did not close the connection within %gs (it sent %d bytes)'
          % (what, CLOSE_WAIT, len(data)))
    greeting, frames, _ = zmtp_parse(data)
    for flags, body in frames:
        check(flags & 0x04, '%s: nomid sent a data frame %r' % (what, body[:40]))
        name = command_name(body)
        check(name in (b'READY', b'ERROR'),
              '%s: nomid sent an unexpected command %r' % (what, name))
    return frames


# ---------------------------------------------------------------- valid raw peers

@test
def raw_handshake_and_frames(t):
    ep = endpoint('tcp')
    p = t.cat('pull', '--bind', ep, '-n', '3', '--format', 'hex')
    p.wait_bound()
    r = raw_handshake(t, ep)
    props = read_nomid_handshake(r)
    eq(props.get(b'Socket-Type'), b'PULL', 'Socket-Type in nomid READY')
    r.sendall(zmtp_frame(b'raw') + zmtp_frame(b'a', 0x01) + zmtp_frame(b'', 0x01) +
              zmtp_frame(b'b') + zmtp_frame(b'x' * 300))
    eq(p.lines(3), ['726177', '61::62', '78' * 300], 'lines for raw frames')
    p.expect_exit(0)


@test
def raw_greeting_in_pieces(t):
    # libzmq itself sends its greeting in two parts; any split must work.
    p, ep = pull_node(t)
    r = t.raw_connect(ep)
    data = zmtp_greeting() + zmtp_ready({b'Socket-Type': b'PUSH'}) + zmtp_frame(b'slow')
    for piece in (data[:1], data[1:10], data[10:11], data[11:12], data[12:64], data[64:70],
                  data[70:]):
        r.sendall(piece)
        time.sleep(0.05)
    eq(p.line(), 'slow', 'line printed after a greeting in pieces')
    p.expect_exit(0)


@test
def raw_zmtp30_peer(t):
    p, ep = pull_node(t)
    r = raw_handshake(t, ep, minor=0)
    read_nomid_handshake(r)
    r.sendall(zmtp_frame(b'from30'))
    eq(p.line(), 'from30', 'message from a ZMTP 3.0 peer')
    p.expect_exit(0)


@test
def raw_higher_minor_version(t):
    p, ep = pull_node(t)
    r = raw_handshake(t, ep, minor=7)
    read_nomid_handshake(r)
    r.sendall(zmtp_frame(b'from37'))
    eq(p.line(), 'from37', 'message from a ZMTP 3.7 peer')
    p.expect_exit(0)


# ---------------------------------------------------------------- refused peers

@test
def incompatible_zmq_push_to_nomid_rep(t):
    # libzmq refuses the pair too; the point is that nomid never sees the message.
    ep = endpoint('tcp')
    p = t.cat('rep', '--bind', ep, '--echo', '--timeout', '4')
    p.wait_bound()
    s = t.sock('push')
    mon = s.get_monitor_socket()
    mon.setsockopt(zmq.RCVTIMEO, int(WAIT * 1000))
    s.connect(ep)
    s.send(b'must-not-arrive')
    ends = {zmq.EVENT_DISCONNECTED, zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL,
            zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL, zmq.EVENT_HANDSHAKE_FAILED_AUTH}
    deadline = time.monotonic() + WAIT
    seen = []
    while True:
        check(time.monotonic() < deadline, 'libzmq saw no end of the PUSH-REP connection '
              'within %gs (events %s)' % (WAIT, seen))
        try:
            ev = recv_monitor_message(mon)
        except zmq.Again:
            continue
        seen.append(ev['event'])
        check(ev['event'] != zmq.EVENT_HANDSHAKE_SUCCEEDED, 'a PUSH-REP handshake succeeded')
        if ev['event'] in ends:
            break
    eq(p.wait(), 3, 'exit code of nomid rep --timeout 4 that got nothing')
    p.expect_no_more_output()


@test
def incompatible_zmq_sub_to_nomid_push(t):
    # nomid push has no compatible peer, so its send cannot complete: --timeout, exit 3.
    ep = endpoint('tcp')
    p = t.cat('push', '--bind', ep, '-d', 'must-not-arrive', '--timeout', '3')
    p.wait_bound()
    s = t.sock('sub', timeout=1.0)
    s.setsockopt(zmq.SUBSCRIBE, b'')
    s.connect(ep)
    eq(p.wait(), 3, 'exit code of nomid push --timeout 3 with only a SUB connected')
    try:
        msg = s.recv_multipart()
        raise Fail('pyzmq SUB received %r from nomid push' % msg)
    except zmq.Again:
        pass


@test
def raw_peer_announcing_pub_is_refused(t):
    p, ep = pull_node(t)
    r = t.raw_connect(ep)
    r.sendall(zmtp_greeting() + zmtp_ready({b'Socket-Type': b'PUB'}) + zmtp_frame(b'leak'))
    expect_closed(r, 'PUB announced to a PULL')
    good_push_gets_through(t, p, ep)


@test
def raw_peer_without_socket_type_is_refused(t):
    p, ep = pull_node(t)
    r = t.raw_connect(ep)
    r.sendall(zmtp_greeting() + zmtp_ready({b'Identity': b'x'}) + zmtp_frame(b'leak'))
    expect_closed(r, 'READY without Socket-Type')
    good_push_gets_through(t, p, ep)


@test
def garbage_instead_of_greeting(t):
    p, ep = pull_node(t)
    # At least 64 bytes, so even a reader that waits for a whole greeting has one.
    junk = (b'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: nomid-interop-test\r\n'
            b'Accept: */*\r\n\r\n')
    check(len(junk) >= 64, 'junk too short')
    r = t.raw_connect(ep)
    r.sendall(junk)
    expect_closed(r, 'HTTP request instead of a greeting')
    r2 = t.raw_connect(ep)
    r2.sendall(b'\xff' + b'\x00' * 8 + b'\x7f' + b'\x00' * 54)  # major version 0
    data, closed = recv_until_closed(r2, CLOSE_WAIT)
    check(closed, 'greeting with major version 0: connection not closed within %gs'
          % CLOSE_WAIT)
    good_push_gets_through(t, p, ep)


@test
def mechanism_mismatch_is_refused(t):
    p, ep = pull_node(t)
    r = t.raw_connect(ep)
    r.sendall(zmtp_greeting(mechanism=b'CURVE'))
    expect_closed(r, 'CURVE greeting to a NULL node')
    good_push_gets_through(t, p, ep)


@test
def reserved_flag_bits_close_the_connection(t):
    p, ep = pull_node(t)
    for flags in (0x08, 0x10, 0x80, 0x09):
        r = raw_handshake(t, ep)
        read_nomid_handshake(r)
        r.sendall(bytes([flags, 1]) + b'x')
        expect_closed(r, 'frame with flags %#04x' % flags)
    good_push_gets_through(t, p, ep)


@test
def command_with_more_flag_closes_the_connection(t):
    p, ep = pull_node(t)
    r = raw_handshake(t, ep)
    read_nomid_handshake(r)
    r.sendall(bytes([0x05]) + zmtp_command(b'PING', b'\x00\x0a')[1:])
    expect_closed(r, 'command frame with MORE')
    good_push_gets_through(t, p, ep)


@test
def absurd_frame_size_does_not_hurt_the_node(t):
    # A LONG frame announcing 2^63-1 bytes: nomid may close the connection or wait for
    # the bytes, but must neither crash nor deliver anything from it.
    p, ep = pull_node(t)
    r = raw_handshake(t, ep)
    read_nomid_handshake(r)
    r.sendall(b'\x02' + (2 ** 63 - 1).to_bytes(8, 'big') + b'abc')
    time.sleep(0.3)
    check(p.poll() is None, 'nomid exited (%s) after a frame announcing 2^63-1 bytes'
          % p.poll())
    good_push_gets_through(t, p, ep)


@test
def stalled_handshakes_do_not_block_others(t):
    p, ep = pull_node(t)
    half = t.raw_connect(ep)
    half.sendall(zmtp_greeting()[:5])  # and never more
    idle = raw_handshake(t, ep)        # complete handshake, then silence
    read_nomid_handshake(idle)
    silent = t.raw_connect(ep)         # connects and sends nothing at all
    good_push_gets_through(t, p, ep)   # includes nomid exiting 0 with those still open
    del half, silent


@test
def connect_side_refuses_garbage_and_reconnects(t):
    lst = t.raw_listener()
    port = lst.getsockname()[1]
    p = t.cat('pull', '--connect', 'tcp://127.0.0.1:%d' % port, '-n', '1')
    lst.settimeout(WAIT)
    c1, _ = lst.accept()
    t.own(c1)
    c1.sendall(b'\x00garbage' * 16)
    expect_closed(c1, 'garbage from the bound peer')
    c2, _ = lst.accept()  # nomid reconnects
    t.own(c2)
    c2.sendall(zmtp_greeting() + zmtp_ready({b'Socket-Type': b'PUSH'}))
    props = read_nomid_handshake(c2)
    eq(props.get(b'Socket-Type'), b'PULL', 'Socket-Type in nomid READY')
    c2.sendall(zmtp_frame(b'after-reconnect'))
    eq(p.line(), 'after-reconnect', 'line printed by nomid pull')
    p.expect_exit(0)
    p.expect_no_more_output()


if __name__ == '__main__':
    main()
