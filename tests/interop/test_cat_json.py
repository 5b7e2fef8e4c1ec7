#!/usr/bin/python3
"""`nomid cat --format json`: every message is one line, a JSON array of frames, a frame
of valid UTF-8 as a string and any other as {"base64": "..."} (README, "Example").  A
pyzmq peer sends frames of every kind (all 256 byte values, empty, NUL, newline, ` | `,
invalid and valid multi-byte UTF-8, random binary) and each line, decoded as documented,
must give the same bytes; `--stdin` sends such lines (and hex lines) back out byte for
byte, so one cat's output replayed by another reaches libzmq unchanged."""

import base64
import json
import random
import signal
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean

import zmq  # noqa: E402

from nmtest import (Fail, check, endpoint, eq, hexline, recv, register, send,  # noqa: E402
                    short, test, main)


# ---------------------------------------------------------------- the documented encoding

def decode_frame(v):
    """One element of the array, as README documents it."""
    if isinstance(v, str):
        return v.encode('utf-8')
    check(isinstance(v, dict) and list(v) == ['base64'] and isinstance(v['base64'], str),
          'frame is neither a string nor {"base64": ...}: %s' % short(v))
    return base64.b64decode(v['base64'], validate=True)


def decode_line(line):
    """A line printed by `nomid cat --format json` back into its frames."""
    raw = line.encode('utf-8', 'surrogateescape')
    try:
        raw.decode('utf-8')
    except UnicodeDecodeError as e:
        raise Fail('json line is not valid UTF-8 (%s): %s' % (e, short(raw)))
    arr = json.loads(line)
    check(isinstance(arr, list), 'json line is not an array: %s' % short(line))
    return [decode_frame(v) for v in arr]


def is_utf8(b):
    try:
        b.decode('utf-8')  # strict: no overlong forms, no surrogates, nothing past U+10FFFF
        return True
    except UnicodeDecodeError:
        return False


def encode_frame(b):
    """The form README promises nomid prints for frame b."""
    if is_utf8(b):
        return b.decode('utf-8')
    return {'base64': base64.b64encode(b).decode('ascii')}


def encode_line(frames):
    return json.dumps([encode_frame(f) for f in frames])


def compare(got, want, what):
    if got == want:
        return
    if len(got) != len(want):
        raise Fail('%s: %d frames, want %d: got %s, want %s' % (
            what, len(got), len(want), short(got), short(want)))
    for i, (g, w) in enumerate(zip(got, want)):
        if g != w:
            raise Fail('%s: frame %d differs: got %s, want %s' % (what, i, short(g), short(w)))


# ---------------------------------------------------------------- the frames

ALL_BYTES = bytes(range(256))
INVALID_UTF8 = [b'\xff', b'\xfe\xff', b'\x80', b'\xc0\x80', b'\xc1\xbf', b'\xe0\x80\x80',
                b'\xed\xa0\x80', b'\xed\xbf\xbf', b'\xf4\x90\x80\x80', b'\xf8\x88\x80\x80\x80',
                b'\xe2\x82', b'a\xe2\x82', b'\xe2\x82\xac\xe2', b'caf\xe9']
VALID_UTF8 = ['é', '€', '\U0001d11e', 'héllo wörld €5 𝄞', '\u2028\u2029', '\ufeff',
              '\ufffd', '\uffff', '\U0010ffff', '日本語のテキスト', 'ascii']
SPECIAL = [b'', b'\x00', b'a\x00b', b'\x00\x00\x00', b'\n', b'line1\nline2\n', b'\r\n',
           b' | ', b'a | b', b'|', b'"', b'\\', b'\\"\\u0000', b'/', b'\x7f', b'\x1b[31m',
           b'\t\x08\x0c', b'[', b']', b'{"base64": "AA=="}', b'["x"]', b' ']


def rand_frame(rng):
    kind = rng.randrange(4)
    n = rng.choice([0, 1, 2, 3, 4, 7, 16, 63, 255, 256, 1000])
    if kind == 0:
        return rng.randbytes(n)
    if kind == 1:  # mostly text with a few bytes of anything
        b = bytearray(''.join(rng.choice('ab | \n\x00é€𝄞"\\') for _ in range(n)).encode())
        for _ in range(rng.randrange(3)):
            if b:
                b[rng.randrange(len(b))] = rng.randrange(256)
        return bytes(b)
    if kind == 2:  # random code points, as UTF-8
        cps = [rng.choice([rng.randrange(0x80), rng.randrange(0x80, 0x800),
                           rng.randrange(0x800, 0xd800), rng.randrange(0xe000, 0x10000),
                           rng.randrange(0x10000, 0x110000)]) for _ in range(n)]
        return ''.join(map(chr, cps)).encode('utf-8')
    return bytes(rng.randrange(256) for _ in range(n))  # like 0, another generator path


def messages():
    """The messages each direction carries: every kind of frame alone and together."""
    msgs = [[ALL_BYTES], [ALL_BYTES[::-1]], [bytes([b]) for b in range(256)],
            [b''], [b'', b'', b''], [b'a | b'], [b'a', b'b'], [b'a ', b' b'],
            INVALID_UTF8, [s.encode('utf-8') for s in VALID_UTF8], SPECIAL]
    msgs += [[f] for f in INVALID_UTF8 + SPECIAL]
    msgs += [[s.encode('utf-8')] for s in VALID_UTF8]
    rng = random.Random(12)
    for _ in range(150):
        msgs.append([rand_frame(rng) for _ in range(rng.randrange(1, 6))])
    # Large frames: one binary (base64), one text; over 64 KiB each.
    msgs.append([rng.randbytes(200000), ('€' * 30000).encode('utf-8')])
    return msgs


# ---------------------------------------------------------------- receiving

@test
def json_lines_decode_to_the_frames_sent(t):
    msgs = messages()
    ep = endpoint('tcp')
    p = t.cat('pull', '--bind', ep, '--format', 'json', '-n', str(len(msgs)))
    p.wait_bound()
    s = t.sock('push')
    s.connect(ep)
    for m in msgs:
        send(s, m)
    for i, m in enumerate(msgs):
        line = p.line()
        compare(decode_line(line), m, 'message %d decoded from %s' % (i, short(line)))
        # The form too: valid UTF-8 frames are strings, the others base64.
        eq(json.loads(line), [encode_frame(f) for f in m], 'json form of message %d' % i)
    p.expect_exit(0)
    p.expect_no_more_output()


@test
def json_multipart_differs_from_text_with_bar(t):
    # In text both print `a | b`; in JSON they cannot be confused.
    p, s = t.link('tcp', True, ['pull', '--format', 'json', '-n', '2'], 'push')
    send(s, [b'a', b'b'])
    send(s, [b'a | b'])
    eq(p.line(), '["a","b"]', 'two frames')
    eq(p.line(), '["a | b"]', 'one frame holding " | "')
    p.expect_exit(0)


@test
def json_xpub_prints_subscriptions(t):
    p = t.cat('xpub', '--bind', 'tcp://127.0.0.1:0', '--format', 'json', '-n', '2')
    ep = p.wait_bound()[0]
    sub = t.sock('sub')
    sub.connect(ep)
    sub.setsockopt(zmq.SUBSCRIBE, b'\xff\x00topic')
    eq(decode_line(p.line()), [b'\x01\xff\x00topic'], 'subscription printed by xpub')
    sub.setsockopt(zmq.UNSUBSCRIBE, b'\xff\x00topic')
    eq(p.line(), '[{"base64":"AP8AdG9waWM="}]', 'cancel printed by xpub')
    p.expect_exit(0)


# ---------------------------------------------------------------- sending (--stdin)

def write_lines(p, lines, close=True):
    data = ''.join(l + '\n' for l in lines).encode('utf-8')
    p.p.stdin.write(data)
    p.p.stdin.flush()
    if close:
        p.p.stdin.close()


@test
def json_stdin_sends_the_frames(t):
    msgs = messages()
    s = t.sock('pull')
    ep = t.bind(s, 'tcp')
    p = t.cat('push', '--connect', ep, '--format', 'json', '--stdin', stdin=True)
    write_lines(p, [encode_line(m) for m in msgs])
    for i, m in enumerate(msgs):
        compare(recv(s, 'message %d' % i), m, 'message %d sent by nomid --stdin' % i)
    p.expect_exit(0)


@test
def json_stdin_accepts_every_spelling(t):
    # Escapes, base64 for text, whitespace, CRLF and a last line without a newline.
    s = t.sock('pull')
    ep = t.bind(s, 'tcp')
    p = t.cat('push', '--connect', ep, '--format', 'json', '--stdin', stdin=True)
    p.p.stdin.write(b'[ "\\u0000\\n\\u00e9\\ud834\\udd1e\\/" , {"base64": "aGk="} ]\r\n'
                    b'["\xe2\x82\xac",{"base64":""}]\n'
                    b'["last"]')
    p.p.stdin.close()
    eq(recv(s), [b'\x00\n\xc3\xa9\xf0\x9d\x84\x9e/', b'hi'], 'escaped string, base64 text')
    eq(recv(s), [b'\xe2\x82\xac', b''], 'raw UTF-8, empty base64')
    eq(recv(s), [b'last'], 'last line without a newline')
    p.expect_exit(0)


@test
def json_round_trip_cat_to_cat(t):
    # libzmq -> cat pull --format json -> (its stdout lines) -> cat push --stdin -> libzmq.
    msgs = messages()
    src = t.sock('push')
    ep_in = t.bind(src, 'ipc')
    dst = t.sock('pull')
    ep_out = t.bind(dst, 'ipc')
    a = t.cat('pull', '--connect', ep_in, '--format', 'json', '-n', str(len(msgs)))
    b = t.cat('push', '--connect', ep_out, '--format', 'json', '--stdin', stdin=True)
    for m in msgs:
        send(src, m)
    for i, m in enumerate(msgs):
        write_lines(b, [a.line()], close=False)
        compare(recv(dst, 'message %d' % i), m, 'message %d after two cats' % i)
    b.p.stdin.close()
    a.expect_exit(0)
    b.expect_exit(0)


@test
def hex_stdin_sends_the_frames(t):
    msgs = [m for m in messages() if sum(len(f) for f in m) < 60000]
    s = t.sock('pull')
    ep = t.bind(s, 'tcp')
    p = t.cat('push', '--connect', ep, '--format', 'hex', '--stdin', stdin=True)
    write_lines(p, [hexline(m) for m in msgs])
    for i, m in enumerate(msgs):
        compare(recv(s, 'message %d' % i), m, 'message %d sent from a hex line' % i)
    p.expect_exit(0)


@test
def json_stdin_req_prints_replies(t):
    rep = t.sock('rep')
    ep = t.bind(rep, 'tcp')
    p = t.cat('req', '--connect', ep, '--format', 'json', '--stdin', stdin=True)
    write_lines(p, ['["q1",{"base64":"/w=="}]', '["q2"]'])
    eq(recv(rep), [b'q1', b'\xff'], 'first request')
    send(rep, [b'r\x001', b'\xc3'])
    eq(p.line(), '["r\\u00001",{"base64":"ww=="}]', 'first reply')
    eq(recv(rep), [b'q2'], 'second request')
    send(rep, [b''])
    eq(p.line(), '[""]', 'second reply')
    p.expect_exit(0)


@test
def json_stdin_router_sends_to_binary_identity(t):
    ident = b'\xff\x00\n id'
    p = t.cat('router', '--bind', 'tcp://127.0.0.1:0', '--format', 'json', '--stdin',
              stdin=True)
    ep = p.wait_bound()[0]
    d = t.sock('dealer', identity=ident)
    d.connect(ep)
    write_lines(p, [encode_line([ident, b'to you'])])
    eq(recv(d), [b'to you'], 'message routed to the binary identity')
    p.expect_exit(0)


@test
def json_stdin_bad_line_names_it_and_exits_2(t):
    s = t.sock('pull')
    ep = t.bind(s, 'tcp')
    p = t.cat('push', '--connect', ep, '--format', 'json', '--stdin', stdin=True)
    write_lines(p, ['["before"]', '["a",{"base64":"not base64!"}]', '["after"]'])
    eq(recv(s), [b'before'], 'the message of the good line before the bad one')
    eq(p.wait(), 2, 'exit code after a bad line')
    err = p.stderr_text()
    check('line 2' in err and 'base64' in err, 'stderr does not name line 2 and why:\n' + err)
    check(s.poll(300) == 0, 'the line after the bad one was sent')


BAD_LINES = [('not_json', '["a"', 'column'), ('not_array', '{"a": "b"}', 'array'),
             ('empty_array', '[]', 'at least one frame'), ('number', '[1]', 'frame 1'),
             ('base64_no_padding', '[{"base64": "QQ"}]', 'base64'),
             ('object_two_keys', '[{"base64": "", "x": 1}]', 'frame 1'),
             ('lone_surrogate', '["\\ud800"]', 'Unicode'), ('empty_line', '', 'line 1'),
             ('two_values', '["a"] ["b"]', 'column')]


def bad_line_case(line, mention):
    def run(t):
        p = t.cat('push', '--connect', endpoint('tcp'), '--format', 'json', '--stdin',
                  '--linger', '0', stdin=True)
        write_lines(p, [line])
        eq(p.wait(), 2, 'exit code for the line %r' % line)
        err = p.stderr_text()
        check('stdin line 1' in err and mention in err,
              'stderr does not name line 1 and %r:\n%s' % (mention, err))
    return run


for _name, _line, _mention in BAD_LINES:
    register('bad_line.' + _name, bad_line_case(_line, _mention), 30)


@test
def stdin_waiting_stops_on_sigterm_and_times_out(t):
    s = t.sock('pull')
    ep = t.bind(s, 'tcp')
    p = t.cat('push', '--connect', ep, '--format', 'json', '--stdin', stdin=True)
    write_lines(p, ['["one"]'], close=False)
    eq(recv(s), [b'one'], 'message before stdin goes quiet')
    time.sleep(0.3)
    eq(p.stop(signal.SIGTERM), 0, 'exit code after SIGTERM while reading stdin')
    t0 = time.monotonic()
    q = t.cat('push', '--connect', ep, '--format', 'json', '--stdin', '--timeout', '0.5',
              stdin=True)
    eq(q.wait(), 3, 'exit code when stdin stays quiet for --timeout')
    check(time.monotonic() - t0 >= 0.45, 'exited before --timeout passed')


@test
def help_documents_json_and_stdin(t):
    p = t.cat('--help')
    eq(p.wait(), 0, 'exit code of nomid cat --help')
    out = '\n'.join(p.rest())
    for want in ('--format text|hex|json', '--stdin', '{"base64":"..."}', 'valid UTF-8'):
        check(want in out, 'nomid cat --help does not mention %r:\n%s' % (want, out))


if __name__ == '__main__':
    main()
