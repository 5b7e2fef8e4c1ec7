#!/usr/bin/python3
"""`nomid proxy` between libzmq peers: pub-sub through xsub/xpub (bound with TYPE@EP,
connected with TYPE>EP, several endpoints on one side), the capture socket, req-rep
through router/dealer, a pipeline steered through --control (rep and pair: STATISTICS,
PAUSE, RESUME, TERMINATE), and the exit codes (0 after SIGTERM/SIGINT or TERMINATE,
1 when a bind fails, 2 for bad arguments)."""

import signal
import socket
import struct
import sys

sys.dont_write_bytecode = True  # keep the source tree clean

from nmtest import (WAIT, Fail, check, endpoint, eq, pump_recv, recv, register,  # noqa: E402
                    send, short, test, main)

QUIET = 0.5  # how long "nothing arrives" is watched (a sleep by design)
ANY = 'tcp://127.0.0.1:0'  # the proxy binds an ephemeral port and prints it


def proxy(t, *args):
    return t.nomid('proxy', *args)


def bound(p, n):
    """The n endpoints the proxy printed as `bound EP`, in command-line order."""
    return p.wait_bound(n)


def expect_quiet(s, what, quiet=QUIET):
    if s.poll(int(quiet * 1000)):
        raise Fail('%s: got %s' % (what, short(s.recv_multipart())))


def flows(pub, sub, body, what):
    """pyzmq PUB sends body every 20 ms until the SUB receives it (the subscription
    crosses the proxy first)."""
    eq(pump_recv(sub, lambda: pub.send(body), what=what), [body], what)


# ---------------------------------------------------------------- pub-sub

@test
def pubsub_through_xsub_xpub(t):
    p = proxy(t, '--frontend', 'xsub@' + ANY, '--backend', 'xpub@' + ANY)
    fe, be = bound(p, 2)
    check(not fe.endswith(':0') and not be.endswith(':0'), 'bound lines without the real '
          'port: %s %s' % (fe, be))
    pub = t.sock('pub')
    pub.connect(fe)
    sub = t.sock('sub', subscribe=b'news')
    sub.connect(be)
    flows(pub, sub, b'news-1', 'news-1 through the proxy')
    pub.send(b'sports-1')  # filtered: the proxy subscribed only to what SUB asked for
    pub.send(b'news-2')
    while True:  # more copies of news-1 may still be on their way
        m = recv(sub, 'news-2')
        check(m in ([b'news-1'], [b'news-2']), 'SUB subscribed to news got %s' % short(m))
        if m == [b'news-2']:
            break
    p.stop_expect(0)


@test
def pubsub_with_capture(t):
    p = proxy(t, '--frontend', 'xsub@' + ANY, '--backend', 'xpub@' + ANY,
              '--capture', 'push@' + ANY)
    fe, be, cap = bound(p, 3)
    pull = t.sock('pull')
    pull.connect(cap)
    pub = t.sock('pub')
    pub.connect(fe)
    sub = t.sock('sub', subscribe=b'')
    sub.connect(be)
    flows(pub, sub, b'captured', 'a message through the proxy')
    # The capture sees both directions: subscriptions (\x01...) and messages.
    seen = []
    while [b'captured'] not in seen:
        seen.append(recv(pull, 'a copy on the capture socket (have %s)' % short(seen)))
    check(all(m == [b'captured'] or m[0][:1] in (b'\x00', b'\x01') for m in seen),
          'unexpected capture: %s' % short(seen))
    p.stop_expect(0, signal.SIGINT)


@test
def proxy_connects_and_binds_several(t):
    # The frontend connects to a PUB that binds ('xsub>EP'); the backend binds two
    # endpoints (tcp and ipc), one SUB on each.
    pub = t.sock('pub')
    up = t.bind(pub, 'tcp')
    ipc = endpoint('ipc')
    p = proxy(t, '--frontend', 'xsub>' + up, '--backend', 'xpub@%s,%s' % (ANY, ipc))
    be_tcp, be_ipc = bound(p, 2)
    eq(be_ipc, ipc, 'second bound endpoint')
    subs = []
    for ep in (be_tcp, be_ipc):
        s = t.sock('sub', subscribe=b'')
        s.connect(ep)
        subs.append(s)
    for i, s in enumerate(subs):
        flows(pub, s, b'both', 'a message on backend endpoint %d' % (i + 1))
    p.stop_expect(0)


@test
def proxy_endpoint_prefix_overrides(t):
    # 'pull@A,>B': binds A, connects to B (a pyzmq PUSH bound there).
    far = t.sock('push')
    far_ep = t.bind(far, 'tcp')
    p = proxy(t, '--frontend', 'pull@%s,>%s' % (ANY, far_ep), '--backend', 'push@' + ANY)
    fe, be = bound(p, 2)
    near = t.sock('push')
    near.connect(fe)
    out = t.sock('pull')
    out.connect(be)
    send(near, [b'near'])
    send(far, [b'far'])
    got = {recv(out, 'message 1')[0], recv(out, 'message 2')[0]}
    eq(got, {b'near', b'far'}, 'messages from the bound and the connected frontend endpoint')
    p.stop_expect(0)


# ---------------------------------------------------------------- req-rep

@test
def reqrep_through_router_dealer(t):
    p = proxy(t, '--frontend', 'router@' + ANY, '--backend', 'dealer@' + ANY)
    fe, be = bound(p, 2)
    rep = t.sock('rep')
    rep.connect(be)
    req = t.sock('req')
    req.connect(fe)
    for i in range(3):
        send(req, [b'q%d' % i])
        eq(recv(rep, 'request %d' % i), [b'q%d' % i], 'request %d at the REP' % i)
        send(rep, [b'a%d' % i])
        eq(recv(req, 'reply %d' % i), [b'a%d' % i], 'reply %d at the REQ' % i)
    p.stop_expect(0)


# ---------------------------------------------------------------- control

def stats(frames):
    eq(len(frames), 8, 'frames in the STATISTICS reply')
    check(all(len(f) == 8 for f in frames), 'STATISTICS frames are not uint64: %s'
          % short(frames))
    return [struct.unpack('=Q', f)[0] for f in frames]


def steered_pipeline(t, kind):
    p = proxy(t, '--frontend', 'pull@' + ANY, '--backend', 'push@' + ANY,
              '--control', '%s@%s' % (kind, ANY))
    fe, be, ctl_ep = bound(p, 3)
    push = t.sock('push')
    push.connect(fe)
    pull = t.sock('pull')
    pull.connect(be)
    ctl = t.sock('req' if kind == 'rep' else 'pair')
    ctl.connect(ctl_ep)

    def command(name):
        send(ctl, [name])
        if kind == 'rep' or name == b'STATISTICS':
            return recv(ctl, 'answer to %s' % name.decode())
        return None

    send(push, [b'm1'])
    eq(recv(pull, 'm1'), [b'm1'], 'message through the proxy')
    st = stats(command(b'STATISTICS'))
    check(st[0] >= 1 and st[1] >= 2, 'frontend msgs/bytes in after one message: %s' % st)
    check(st[6] >= 1, 'backend msgs out after one message: %s' % st)
    eq(command(b'PAUSE'), [b''] if kind == 'rep' else None, 'answer to PAUSE')
    # nm_proxy answers STATISTICS itself, after the PAUSE before it: now it is paused.
    stats(command(b'STATISTICS'))
    send(push, [b'm2'])
    expect_quiet(pull, 'message while the proxy is paused')
    eq(command(b'RESUME'), [b''] if kind == 'rep' else None, 'answer to RESUME')
    eq(recv(pull, 'm2 after RESUME'), [b'm2'], 'message held while paused')
    if kind == 'rep':
        eq(command(b'NONSENSE'), [b''], 'answer to an unknown command')
    eq(command(b'TERMINATE'), [b''] if kind == 'rep' else None, 'answer to TERMINATE')
    p.expect_exit(0)


register('control_rep', lambda t: steered_pipeline(t, 'rep'))
register('control_pair', lambda t: steered_pipeline(t, 'pair'))


# ---------------------------------------------------------------- exit codes

def usage_case(args, mention=None):
    def run(t):
        p = proxy(t, *args)
        eq(p.wait(WAIT), 2, 'exit code of nomid proxy %s' % ' '.join(args))
        err = p.stderr_text()
        check(err.strip() != '', 'no message on stderr for bad arguments')
        if mention:
            check(mention in err, 'stderr does not name %r:\n%s' % (mention, err))
        check(not p.bound_eps, 'nomid proxy bound an endpoint despite bad arguments')
    return run


USAGE = [
    ('no_arguments', [], None),
    ('no_backend', ['--frontend', 'xsub@' + ANY], '--backend'),
    ('unknown_type', ['--frontend', 'frob@' + ANY, '--backend', 'xpub@' + ANY], 'frob'),
    ('missing_at', ['--frontend', 'xsub' + ANY, '--backend', 'xpub@' + ANY], '@'),
    ('empty_endpoint', ['--frontend', 'pull@', '--backend', 'push@' + ANY], 'pull@'),
    ('bad_control_type', ['--frontend', 'pull@' + ANY, '--backend', 'push@' + ANY,
                          '--control', 'push@' + ANY], 'push@'),
    ('unknown_option', ['--frontend', 'pull@' + ANY, '--backend', 'push@' + ANY, '--frob'],
     '--frob'),
]

for _name, _args, _mention in USAGE:
    register('usage.' + _name, usage_case(_args, _mention), 30)


@test
def bind_address_in_use(t):
    holder = t.own(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
    holder.bind(('127.0.0.1', 0))
    holder.listen(1)
    taken = 'tcp://127.0.0.1:%d' % holder.getsockname()[1]
    p = proxy(t, '--frontend', 'pull@' + taken, '--backend', 'push@' + ANY)
    eq(p.wait(WAIT), 1, 'exit code when the frontend port is taken')
    check(p.stderr_text().strip() != '', 'no message on stderr')


if __name__ == '__main__':
    main()
