"""pairs - the socket-pair matrix shared by test_pairs_tcp.py and test_pairs_ipc.py.

For every valid pair of REQ, REP, DEALER, ROUTER, PUSH, PULL, PAIR, nomid (`nomid cat`)
plays each of the two roles against libzmq (pyzmq) playing the other, with nomid binding
and with libzmq binding.  Symmetric pairs (DEALER-DEALER, ROUTER-ROUTER, PAIR-PAIR) have
two roles too: nomid sending first, and nomid receiving (echoing or printing).  Every
case checks data actually crossing, and how nomid exits.
"""

from nmtest import check, eq, hexline, recv, router_send, send


# Each scenario: (name, nomid TYPE and options, pyzmq type and options, check function).
# The check gets (nomid process, pyzmq socket) once both ends exist.

def req_rep(p, s):
    # nomid REQ sends -n 2 requests and prints each reply.
    for i in (1, 2):
        eq(recv(s, 'request %d' % i), [b'ping'], 'request %d seen by pyzmq REP' % i)
        send(s, [b'pong%d' % i])
    eq(p.lines(2), ['pong1', 'pong2'], 'replies printed by nomid REQ')
    p.expect_exit(0)
    p.expect_no_more_output()


def rep_req(p, s):
    # pyzmq REQ against `nomid cat rep --echo`.
    for msg in ([b'hello'], [b'multi', b'', b'part']):
        send(s, msg)
        eq(recv(s, 'echo'), msg, 'echo from nomid REP')
    p.stop_expect(0)


def req_router(p, s):
    # nomid REQ (with --identity) to a pyzmq ROUTER: routing id, empty delimiter, body.
    msg = recv(s, 'request')
    eq(msg, [b'nmreq', b'', b'ping'], 'request seen by pyzmq ROUTER')
    send(s, [b'nmreq', b'', b'pong'])
    eq(p.line(), 'pong', 'reply printed by nomid REQ')
    p.expect_exit(0)
    p.expect_no_more_output()


def router_req(p, s):
    # pyzmq REQ (identity pyreq) to `nomid cat router --echo`: the echo carries the
    # routing id back, so it must come back to this REQ.
    for msg in ([b'hello'], [b'a', b'b']):
        send(s, msg)
        eq(recv(s, 'echo'), msg, 'echo through nomid ROUTER')
    p.stop_expect(0)


def rep_dealer(p, s):
    # pyzmq DEALER adds the empty delimiter REP expects; the echo keeps it.
    for msg in ([b'', b'q'], [b'', b'x', b'y']):
        send(s, msg)
        eq(recv(s, 'echo'), msg, 'echo from nomid REP to pyzmq DEALER')
    p.stop_expect(0)


def dealer_rep(p, s):
    # nomid DEALER sends the delimiter itself (-d ''), the REP sees only the body.
    eq(recv(s, 'request'), [b'ping'], 'request seen by pyzmq REP')
    p.expect_exit(0)


def dealer_router(p, s):
    # pyzmq ROUTER sees nomid's --identity as the routing id.
    eq(recv(s, 'message'), [b'nmdealer', b'hello', b'world'], 'message seen by pyzmq ROUTER')
    p.expect_exit(0)


def router_dealer(p, s):
    # nomid ROUTER sends to routing id `pydealer` (first -d frame), waiting for it.
    eq(recv(s, 'message'), [b'hello'], 'message seen by pyzmq DEALER')
    p.expect_exit(0)


def dealer_dealer_send(p, s):
    for i in range(2):
        eq(recv(s, 'message %d' % (i + 1)), [b'a', b'b'], 'message seen by pyzmq DEALER')
    p.expect_exit(0)


def dealer_dealer_echo(p, s):
    for msg in ([b'x', b'', b'z'], [b'one']):
        send(s, msg)
        eq(recv(s, 'echo'), msg, 'echo from nomid DEALER')
    p.stop_expect(0)


def router_router_send(p, s):
    # Both ROUTERs have identities; nomid's reaches pyzmq as the routing id.
    eq(recv(s, 'message'), [b'nmrouter', b'hello'], 'message seen by pyzmq ROUTER')
    p.expect_exit(0)


def router_router_recv(p, s):
    # pyzmq ROUTER (identity pyrouter) sends to nomid's identity once it is connected;
    # nomid prints the sender's routing id first.  The last frame is empty.
    router_send(s, [b'nmrouter', b'x', b''])
    eq(p.line(), hexline([b'pyrouter', b'x', b'']), 'hex line printed by nomid ROUTER')
    p.expect_exit(0)
    p.expect_no_more_output()


def push_pull(p, s):
    for i in range(3):
        eq(recv(s, 'message %d' % (i + 1)), [b'a', b'b'], 'message seen by pyzmq PULL')
    p.expect_exit(0)


def pull_push(p, s):
    send(s, [b'one'])
    send(s, [b'two'])
    eq(p.lines(2), ['one', 'two'], 'lines printed by nomid PULL')
    p.expect_exit(0)
    p.expect_no_more_output()


def pair_pair_send(p, s):
    for i in range(2):
        eq(recv(s, 'message %d' % (i + 1)), [b'hi'], 'message seen by pyzmq PAIR')
    p.expect_exit(0)


def pair_pair_echo(p, s):
    for msg in ([b'ping'], [b'm', b'', b'n']):
        send(s, msg)
        eq(recv(s, 'echo'), msg, 'echo from nomid PAIR')
    p.stop_expect(0)


SCENARIOS = [
    ('req-rep', ['req', '-d', 'ping', '-n', '2'], ('rep', {}), req_rep),
    ('rep-req', ['rep', '--echo'], ('req', {}), rep_req),
    ('req-router', ['req', '--identity', 'nmreq', '-d', 'ping'], ('router', {}), req_router),
    ('router-req', ['router', '--echo'], ('req', {'identity': b'pyreq'}), router_req),
    ('rep-dealer', ['rep', '--echo'], ('dealer', {}), rep_dealer),
    ('dealer-rep', ['dealer', '-d', '', '-d', 'ping'], ('rep', {}), dealer_rep),
    ('dealer-router', ['dealer', '--identity', 'nmdealer', '-d', 'hello', '-d', 'world'],
     ('router', {}), dealer_router),
    ('router-dealer', ['router', '-d', 'pydealer', '-d', 'hello'],
     ('dealer', {'identity': b'pydealer'}), router_dealer),
    ('dealer-dealer.send', ['dealer', '-d', 'a', '-d', 'b', '-n', '2'], ('dealer', {}),
     dealer_dealer_send),
    ('dealer-dealer.echo', ['dealer', '--echo'], ('dealer', {}), dealer_dealer_echo),
    ('router-router.send', ['router', '--identity', 'nmrouter', '-d', 'pyrouter', '-d', 'hello'],
     ('router', {'identity': b'pyrouter'}), router_router_send),
    ('router-router.recv', ['router', '--identity', 'nmrouter', '-n', '1', '--format', 'hex'],
     ('router', {'identity': b'pyrouter', 'mandatory': True}), router_router_recv),
    ('push-pull', ['push', '-d', 'a', '-d', 'b', '-n', '3'], ('pull', {}), push_pull),
    ('pull-push', ['pull', '-n', '2'], ('push', {}), pull_push),
    ('pair-pair.send', ['pair', '-d', 'hi', '-n', '2'], ('pair', {}), pair_pair_send),
    ('pair-pair.echo', ['pair', '--echo'], ('pair', {}), pair_pair_echo),
]


def register_all(register, transport):
    """Registers one test per scenario and bind side, named
    pair.TRANSPORT.nomid-binds|zmq-binds.NOMIDTYPE-ZMQTYPE[.role]."""
    for name, nomid_args, (peer_kind, peer_opts), fn in SCENARIOS:
        for nomid_binds in (True, False):
            side = 'nomid-binds' if nomid_binds else 'zmq-binds'

            def run(t, nomid_args=nomid_args, peer_kind=peer_kind, peer_opts=peer_opts,
                    fn=fn, nomid_binds=nomid_binds):
                p, s = t.link(transport, nomid_binds, nomid_args, peer_kind, **peer_opts)
                fn(p, s)

            register('pair.%s.%s.%s' % (transport, side, name), run, 60)


def check_coverage():
    """Every valid pair appears with nomid on each side (guards against edits)."""
    want = {('req', 'rep'), ('req', 'router'), ('rep', 'dealer'), ('dealer', 'dealer'),
            ('dealer', 'router'), ('router', 'router'), ('push', 'pull'), ('pair', 'pair')}
    have = {(args[0], peer[0]) for _, args, peer, _ in SCENARIOS}
    for a, b in want:
        check((a, b) in have and (b, a) in have, 'matrix lacks %s-%s' % (a, b))
