#!/usr/bin/python3
"""Message shapes between nomid and libzmq: multipart messages with empty frames, frame
sizes around the short/long boundary (255/256 bytes) and over 1 MiB in both
directions, many frames, streams of messages, the text and hex output formats, and how a
ROUTER shows and uses routing ids."""

import sys

sys.dont_write_bytecode = True  # keep the source tree clean

from nmtest import (Fail, check, eq, hexline, hexs, randbytes, recv, send,  # noqa: E402
                    test, main)

MIB = 1 << 20


def pull_from_zmq(t, transport, *args):
    """`nomid cat pull --bind EP ARGS...` fed by a pyzmq PUSH."""
    return t.link(transport, True, ['pull'] + list(args), 'push')


def diff_hex_lines(got, want_frames, what):
    """Compares a hex line with the frames it should show; says which frame differs."""
    want = hexline(want_frames)
    if got == want:
        return
    fields = got.split(':')
    if len(fields) != len(want_frames):
        raise Fail('%s: %d frames printed, want %d (sizes %s)' % (
            what, len(fields), len(want_frames), [len(f) for f in want_frames]))
    for i, (g, w) in enumerate(zip(fields, want_frames)):
        if g != hexs(w):
            raise Fail('%s: frame %d (%d bytes) differs: got %d hex digits starting %r, '
                       'want %r' % (what, i, len(w), len(g), g[:40], hexs(w)[:40]))
    raise Fail('%s: line differs' % what)


@test
def multipart_empty_frame_hex(t):
    p, s = pull_from_zmq(t, 'tcp', '--format', 'hex', '-n', '2')
    send(s, [b'a', b'', b'c'])
    send(s, [b'', b'', b''])
    eq(p.line(), '61::63', 'hex line for [a, "", c]')
    eq(p.line(), '::', 'hex line for three empty frames')
    p.expect_exit(0)
    p.expect_no_more_output()


@test
def multipart_empty_frame_text(t):
    p, s = pull_from_zmq(t, 'tcp', '-n', '1')
    send(s, [b'a', b'', b'c'])
    eq(p.line(), 'a |  | c', 'text line for [a, "", c]')
    p.expect_exit(0)


@test
def multipart_empty_frame_send(t):
    p, s = t.link('tcp', False, ['push', '-d', 'a', '-d', '', '-d', 'c'], 'pull')
    eq(recv(s), [b'a', b'', b'c'], 'message from nomid push -d a -d "" -d c')
    p.expect_exit(0)


@test
def text_format_escapes(t):
    p, s = pull_from_zmq(t, 'tcp', '-n', '1')
    send(s, [b'x\x00y\x7f\xff', b'tab\there', b'~ !'])
    # Printable ASCII as is, anything else as \xNN (compared case-insensitively).
    eq(p.line().lower(), r'x\x00y\x7f\xff | tab\x09here | ~ !', 'text escapes')
    p.expect_exit(0)


SIZES = [0, 1, 255, 256, 65535, 65536, MIB + 7]


def sizes_recv(t, transport):
    msgs = [[randbytes(n)] for n in SIZES]
    msgs.append([b'', randbytes(255, 1), randbytes(256, 2), b''])
    p, s = pull_from_zmq(t, transport, '--format', 'hex', '-n', str(len(msgs)))
    for m in msgs:
        send(s, m)
    for m in msgs:
        diff_hex_lines(p.line(), m, 'hex of a message of frame sizes %s' % [len(f) for f in m])
    p.expect_exit(0)
    p.expect_no_more_output()


@test
def frame_sizes_to_nomid_tcp(t):
    sizes_recv(t, 'tcp')


@test
def frame_sizes_to_nomid_ipc(t):
    sizes_recv(t, 'ipc')


@test
def frame_sizes_from_nomid_hex_data(t):
    f255, f256 = randbytes(255, 3), randbytes(256, 4)
    p, s = t.link('tcp', False, ['push', '--hex-data', hexs(f255), '--hex-data', hexs(f256),
                                 '-d', '', '--hex-data', '00ff', '--hex-data', '',
                                 '-d', 'end'], 'pull')
    got = recv(s)
    eq([len(f) for f in got], [255, 256, 0, 2, 0, 3], 'frame sizes sent by nomid')
    eq(got, [f255, f256, b'', b'\x00\xff', b'', b'end'], 'frames sent by nomid')
    p.expect_exit(0)


@test
def large_message_from_command_line(t):
    # A single argument is limited to 128 KiB by the kernel: many 40000-byte frames.
    frames = [randbytes(40000, i) for i in range(8)]
    args = ['push']
    for f in frames:
        args += ['--hex-data', hexs(f)]
    p, s = t.link('tcp', True, args, 'pull')
    got = recv(s)
    eq([len(f) for f in got], [len(f) for f in frames], 'frame sizes')
    check(got == frames, 'frame contents differ')
    p.expect_exit(0)


def large_echo_dealer(t, transport):
    msg = [randbytes(MIB + MIB // 2, 5), b'', randbytes(256, 6), randbytes(255, 7)]
    p, s = t.link(transport, True, ['dealer', '--echo'], 'dealer')
    send(s, msg)
    got = recv(s, 'echo of a 1.5 MiB message')
    eq([len(f) for f in got], [len(f) for f in msg], 'echoed frame sizes')
    check(got == msg, 'echoed frames differ from those sent')
    p.stop_expect(0)


@test
def large_frame_echo_dealer_tcp(t):
    large_echo_dealer(t, 'tcp')


@test
def large_frame_echo_dealer_ipc(t):
    large_echo_dealer(t, 'ipc')


@test
def large_frame_echo_rep(t):
    body = randbytes(2 * MIB + 1, 8)
    p, s = t.link('tcp', False, ['rep', '--echo'], 'req')
    for i in range(2):
        send(s, [body])
        got = recv(s, 'echo %d of a 2 MiB request' % (i + 1))
        check(got == [body], 'echo %d differs (sizes %s)' % (i + 1, [len(f) for f in got]))
    p.stop_expect(0)


@test
def many_frames_from_nomid(t):
    frames = [b'f%d' % i for i in range(200)]
    args = ['push']
    for f in frames:
        args += ['-d', f.decode()]
    p, s = t.link('tcp', True, args, 'pull')
    eq(recv(s), frames, '200-frame message from nomid')
    p.expect_exit(0)


@test
def many_frames_to_nomid(t):
    frames = [b'' if i % 7 == 0 else randbytes(i, i) for i in range(300)]
    p, s = pull_from_zmq(t, 'ipc', '--format', 'hex', '-n', '1')
    send(s, frames)
    diff_hex_lines(p.line(), frames, '300-frame message')
    p.expect_exit(0)


@test
def stream_of_messages_to_nomid(t):
    n = 2000
    p, s = t.link('tcp', False, ['pull', '-n', str(n)], 'push')
    for i in range(n):
        send(s, [b'm%d' % i])
    for i in range(n):
        got = p.line()
        if got != 'm%d' % i:
            raise Fail('line %d: got %r, want %r (lost or reordered)' % (i, got, 'm%d' % i))
    p.expect_exit(0)
    p.expect_no_more_output()


@test
def stream_of_messages_from_nomid(t):
    n = 2000
    p, s = t.link('tcp', True, ['push', '-d', 'x', '-d', 'yz', '-n', str(n)], 'pull')
    for i in range(n):
        eq(recv(s, 'message %d of %d' % (i + 1, n)), [b'x', b'yz'], 'message %d' % (i + 1))
    p.expect_exit(0)


@test
def router_prints_routing_id_first(t):
    p = t.cat('router', '--bind', 'tcp://127.0.0.1:0', '--format', 'hex', '-n', '3')
    (ep,) = p.wait_bound()
    anon = t.sock('dealer')
    anon.connect(ep)
    send(anon, [b'x'])
    send(anon, [b'x'])
    l1, l2 = p.lines(2)
    f1, f2 = l1.split(':'), l2.split(':')
    eq(len(f1), 2, 'frames printed for a 1-frame message from a DEALER (routing id + body)')
    check(f1[0] != '', 'routing id generated for an anonymous peer is empty')
    eq(f1[1], '78', 'body')
    eq(f2, f1, 'second message from the same peer (same routing id)')
    named = t.sock('dealer', identity=b'pyd')
    named.connect(ep)
    send(named, [b'', b'y'])
    eq(p.line(), hexline([b'pyd', b'', b'y']), 'message from a DEALER with identity pyd')
    p.expect_exit(0)


@test
def router_echo_routes_back_to_each_sender(t):
    p = t.cat('router', '--bind', 'tcp://127.0.0.1:0', '--echo')
    (ep,) = p.wait_bound()
    peers = [t.sock('dealer', identity=b'd1'), t.sock('dealer'), t.sock('req')]
    for s in peers:
        s.connect(ep)
    for rnd in range(3):
        for i, s in enumerate(peers):
            send(s, [b'peer%d' % i, b'round%d' % rnd])
        for i, s in enumerate(peers):
            eq(recv(s, 'echo'), [b'peer%d' % i, b'round%d' % rnd], 'echo to peer %d' % i)
    p.stop_expect(0)


if __name__ == '__main__':
    main()
