#!/usr/bin/python3
"""The admin endpoint over real HTTP: every route and its fields, drops and HWM hits
produced by a real slow subscriber (a libzmq SUB that never reads), the event stream,
Prometheus text, bearer tokens, the next free port, and hostile requests (unknown
methods, bad parameters, path traversal, oversized headers, a slow client, too many
connections) that get a 4xx or are cut off while messaging goes on."""

import json
import os
import re
import socket
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

sys.dont_write_bytecode = True  # keep the source tree clean

import zmq  # noqa: E402

from nmtest import check, eq, free_tcp_port, test, main, until, wait_admin  # noqa: E402

IVL = '0.2'


def fleet(tag):
    return 'adm-%d-%s' % (os.getpid(), tag)


def get(url, token=None, method='GET', timeout=5):
    """(status, headers, body) of a request."""
    req = urllib.request.Request(url, method=method)
    if token is not None:
        req.add_header('Authorization', 'Bearer ' + token)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def get_json(url, token=None):
    status, headers, body = get(url, token)
    eq(status, 200, 'status of %s' % url)
    check(headers['Content-Type'].startswith('application/json'), 'content type of %s' % url)
    return json.loads(body)



def raw(port, data, timeout=5):
    """Sends raw bytes, returns what came back until the server closed or timeout."""
    s = socket.create_connection(('127.0.0.1', port), timeout=timeout)
    try:
        s.sendall(data)
        out = b''
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            out += chunk
        return out
    finally:
        s.close()


@test(limit=90)
def routes_fields_and_a_slow_subscriber(t):
    fl = fleet('routes')
    # A publisher of 8 KiB messages with SNDHWM 4: a subscriber that never reads makes
    # its queue fill (HWM hits) and then drop.
    pub = t.nomid('cat', 'pub', '--bind', 'tcp://127.0.0.1:0', '--advertise', 'cam', '--sndhwm',
                  '4', '-d', 'x' * 8192, '--interval', '0.001', '--admin',
                  '127.0.0.1:%d' % free_tcp_port(), '--name', 'pubnode', '--fleet', fl,
                  '--beacon-interval', IVL)
    url = wait_admin(pub)
    ep = pub.wait_bound()[0]
    sub = t.sock('sub')
    sub.setsockopt(zmq.RCVHWM, 1)
    sub.setsockopt(zmq.RCVBUF, 4096)
    sub.setsockopt(zmq.SUBSCRIBE, b'')
    sub.connect(ep)  # and never reads
    node = t.nomid('node', '--name', 'plainnode', '--service', 'imu=pub@tcp://*:7123',
                   '--admin', '127.0.0.1:%d' % free_tcp_port(), '--fleet', fl,
                   '--beacon-interval', IVL)
    node_url = wait_admin(node)

    n = get_json(url + 'api/v1/node')
    for k in ('id', 'name', 'fleet', 'version', 'uptime', 'interfaces', 'backends', 'admin'):
        check(k in n, 'node has %s: %s' % (k, n))
    eq((n['name'], n['fleet'], n['backends'], n['admin']), ('pubnode', fl, ['beacon'], url),
       'node fields')
    check(re.fullmatch(r'[0-9a-f]{32}', n['id']) is not None, 'node id %s' % n['id'])

    peers = until('the plain node among the peers',
                  lambda: [p for p in get_json(url + 'api/v1/peers')['peers']
                           if p['name'] == 'plainnode'])
    p = peers[0]
    for k in ('id', 'name', 'addresses', 'state', 'last_seen', 'services', 'admin', 'backend'):
        check(k in p, 'peer has %s: %s' % (k, p))
    eq((p['state'], p['addresses'], p['admin']), ('alive', ['127.0.0.1'], node_url), 'peer')
    eq(p['services'], [{'name': 'imu', 'type': 'pub', 'endpoint': 'tcp://127.0.0.1:7123'}],
       'peer services')
    page = get_json(url + 'api/v1/peers?sort=name&order=desc&limit=1&offset=0')
    eq((page['total'], page['limit'], len(page['peers'])), (1, 1, 1), 'paged peers')

    svcs = get_json(url + 'api/v1/services')['services']
    eq(svcs['imu'][0]['node_name'], 'plainnode', 'service instance node')
    eq((svcs['cam'][0]['backend'], svcs['cam'][0]['type']), ('local', 'pub'), 'own service')

    def drops():
        socks = get_json(url + 'api/v1/sockets?sort=drops&order=desc')['sockets']
        pipes = [pp for s in socks for pp in s['pipes'] if pp['state'] == 'active']
        return pipes if pipes and pipes[0]['drops'] > 0 and pipes[0]['hwm_hits'] > 0 else None
    pipe = until('drops on the slow subscriber\'s pipe', drops, timeout=20)[0]
    for k in ('id', 'endpoint', 'peer', 'local', 'state', 'queued_in', 'queued_out', 'sndhwm',
              'rcvhwm', 'msgs_in', 'msgs_out', 'bytes_in', 'bytes_out', 'drops', 'hwm_hits',
              'blocked'):
        check(k in pipe, 'pipe has %s: %s' % (k, pipe))
    eq(pipe['sndhwm'], 4, 'the pipe\'s HWM')
    check(pipe['queued_out'] <= 4, 'queued within the HWM: %s' % pipe)

    status, headers, body = get(url + 'metrics')
    eq(status, 200, '/metrics')
    check(headers['Content-Type'].startswith('text/plain; version=0.0.4'), 'metrics type')
    text = body.decode()
    m = re.search(r'^nomid_socket_drops_total\{socket="\d+",type="pub"\} (\S+)$', text, re.M)
    check(m is not None and float(m.group(1)) > 0, 'drops in /metrics')
    for fam in re.findall(r'^# TYPE (\S+) counter$', text, re.M):
        check(fam.endswith('_total'), 'counter %s ends in _total' % fam)
    check(all(line.startswith(('#', 'nomid_')) for line in text.splitlines() if line),
          'every sample has the nomid_ prefix')

    eq(get(url + 'healthz')[:3:2], (200, b'ok\n'), '/healthz')
    status, headers, body = get(url)
    eq(status, 200, 'the page')
    check(headers['Content-Type'].startswith('text/html') and b'<' in body, 'the page is HTML')

    # The event stream shows drops, and the plain node leaving.
    events = []
    def read_events():
        r = urllib.request.urlopen(url + 'api/v1/events', timeout=10)
        for raw_line in r:
            events.append(raw_line.decode().rstrip('\n'))
            if len(events) > 1 and events[-2] == 'event: peer_down':
                break
    th = threading.Thread(target=read_events, daemon=True)
    th.start()
    until('a dropped event', lambda: 'event: dropped' in events)
    node.stop_expect(0)
    until('a peer_down event', lambda: len(events) > 1 and 'event: peer_down' in events[:-1])
    i = events.index('event: peer_down')
    check(json.loads(events[i + 1][len('data: '):])['name'] == 'plainnode', 'peer_down data')
    pub.stop_expect(0)


@test(limit=60)
def dropped_peers_and_subscriptions_are_shown(t):
    """A peer past a limit (an Identity over 255 bytes) is counted on its socket in
    /api/v1/sockets and /metrics; a subscriber's subscriptions show on its pipe."""
    pub = t.nomid('cat', 'xpub', '--bind', 'tcp://127.0.0.1:0', '--admin',
                  '127.0.0.1:%d' % free_tcp_port(), '--fleet', fleet('limits'))
    url = wait_admin(pub)
    port = int(pub.wait_bound()[0].rsplit(':', 1)[1])
    sub = t.sock('sub')
    for topic in (b'a', b'b', b'c'):
        sub.setsockopt(zmq.SUBSCRIBE, topic)
    sub.connect('tcp://127.0.0.1:%d' % port)

    def subscribed():
        socks = get_json(url + 'api/v1/sockets')['sockets']
        return [pp for s in socks for pp in s['pipes'] if pp.get('subscriptions') == 3]
    until('three subscriptions on the subscriber\'s pipe', subscribed)

    ident = b'i' * 300
    ready = (b'\x05READY\x0bSocket-Type\x00\x00\x00\x03SUB\x08Identity' +
             len(ident).to_bytes(4, 'big') + ident)
    greeting = b'\xff' + bytes(8) + b'\x7f\x03\x01' + b'NULL'.ljust(20, b'\x00') + bytes(32)
    raw(port, greeting + b'\x06' + len(ready).to_bytes(8, 'big') + ready)

    def dropped():
        socks = get_json(url + 'api/v1/sockets')['sockets']
        return [s for s in socks if s['type'] == 'xpub' and s['peers_dropped'] == 1]
    until('the dropped peer counted on the xpub socket', dropped)
    status, _, body = get(url + 'metrics')
    eq(status, 200, 'metrics status')
    check(re.search(rb'^nomid_socket_peers_dropped_total\{socket="\d+",type="xpub"\} 1$',
                    body, re.M) is not None, 'peers_dropped in /metrics')
    check(b'dropping connection: peer identity longer than 255 bytes' in
          pub.stderr_text().encode(), 'the reason in the log')


@test(limit=60)
def topology_joins_the_fleet(t):
    fl = fleet('topo')
    pub = t.nomid('cat', 'pub', '--bind', 'svc://cam', '-d', 'x', '--interval', '0.05',
                  '--admin', '127.0.0.1:%d' % free_tcp_port(), '--fleet', fl,
                  '--beacon-interval', IVL)
    subs = [t.nomid('cat', 'sub', '--connect', 'svc://cam', '--admin',
                    '127.0.0.1:%d' % free_tcp_port(), '--fleet', fl, '--beacon-interval', IVL)
            for _ in range(2)]
    url = wait_admin(subs[0])
    for p in [pub] + subs:
        wait_admin(p)

    def full():
        topo = get_json(url + 'api/v1/topology')
        joined = [e for e in topo['edges'] if e['to'] is not None and e['from'] is not None]
        return topo if len(topo['nodes']) == 3 and len(joined) == 2 else None
    topo = until('three nodes and two joined edges', full, timeout=20)
    ids = {nd['id']: nd for nd in topo['nodes']}
    eq(ids[topo['self']]['state'], 'self', 'the node itself')
    pub_id = [i for i, nd in ids.items() if any(s['type'] == 'pub' for s in nd['sockets'])][0]
    for e in topo['edges']:
        eq((e['type'], e['peer_type'], e['to'], e['state']), ('sub', 'pub', pub_id, 'active'),
           'edge %s' % e)
        check(0 <= e['fill'] <= 1 and 'drops' in e and 'hwm' in e, 'edge numbers %s' % e)
    subs[1].kill()
    until('the killed subscriber gone from the topology',
          lambda: len(get_json(url + 'api/v1/topology')['nodes']) == 2, timeout=10)


@test(limit=60)
def tokens_ports_and_hostile_requests(t):
    fl = fleet('hostile')
    port = free_tcp_port()
    key = tempfile.NamedTemporaryFile('w', delete=False, prefix='nomid-token-')
    key.write('s3cret-token-0123456789\n')
    key.close()
    try:
        # Beyond loopback without a token: refused (exit 2).
        p = t.nomid('node', '--admin', '0.0.0.0:%d' % port, '--fleet', fl)
        p.expect_exit(2)
        check('token' in p.stderr_text(), 'the refusal names the token')
        # With a token every request needs it.
        p = t.nomid('node', '--admin', '0.0.0.0:%d' % port, '--admin-token-file', key.name,
                    '--fleet', fl, '--beacon-interval', IVL)
        url = 'http://127.0.0.1:%d/' % port
        wait_admin(p)
        eq(get(url + 'api/v1/node')[0], 401, 'no token')
        eq(get(url + 'api/v1/node', token='wrong')[0], 401, 'wrong token')
        eq(get(url + 'api/v1/node', token='s3cret-token-0123456789')[0], 200, 'right token')
        eq(get(url + 'metrics', token='s3cret-token-0123456789x')[0], 401, 'longer token')
        eq(get(url + 'api/v1/events')[0], 401, 'events without a token')
        eq(get(url)[0], 200, 'the page\'s files need no token (they hold no data)')
        eq(get(url + 'healthz')[:3:2], (200, b'ok\n'), '/healthz needs no token (health checks)')
        p.stop_expect(0)
    finally:
        os.unlink(key.name)

    # The passive tools serve admin only when asked.
    w = t.nomid('resolve', 'x', '--watch', '--admin', '127.0.0.1:%d' % free_tcp_port(),
                '--fleet', fl)
    eq(get_json(wait_admin(w) + 'api/v1/node')['fleet'], fl, 'resolve --watch --admin')
    w.stop_expect(0)

    # Two nodes without --admin: the second takes the next free port after 7070's.
    a = t.nomid('node', '--fleet', fl)
    b = t.nomid('node', '--fleet', fl)
    ua, ub = wait_admin(a), wait_admin(b)
    check(ua != ub, 'two nodes, two ports: %s %s' % (ua, ub))

    pub = t.nomid('cat', 'pub', '--bind', 'tcp://127.0.0.1:0', '-d', 'tick', '--interval', '0.02',
                  '--admin', '127.0.0.1:%d' % free_tcp_port(), '--fleet', fl)
    url = wait_admin(pub)
    ep = pub.wait_bound()[0]
    port = int(url.rsplit(':', 1)[1].strip('/'))
    eq(get(url + 'api/v1/node', method='POST')[0], 405, 'POST')
    eq(get(url + 'api/v1/node', method='DELETE')[0], 405, 'DELETE')
    eq(get(url + 'api/v1/sockets?limit=abc')[0], 400, 'bad limit')
    eq(get(url + 'api/v1/peers?sort=password')[0], 400, 'bad sort')
    eq(get(url + 'api/v1/nothing')[0], 404, 'unknown path')
    for path in ('/../../etc/passwd', '/%2e%2e/%2e%2e/etc/passwd', '/app.js/../../x',
                 '//etc/passwd'):
        reply = raw(port, b'GET ' + path.encode() + b' HTTP/1.1\r\nHost: x\r\n'
                    b'Connection: close\r\n\r\n')
        check(reply.startswith(b'HTTP/1.1 4'), '%s: %s' % (path, reply[:60]))
    reply = raw(port, b'GET / HTTP/1.1\r\nHost: x\r\nX-Big: ' + b'a' * 200000 + b'\r\n\r\n')
    check(reply == b'' or reply.startswith(b'HTTP/1.1 4'), 'oversized headers: %s' % reply[:60])
    reply = raw(port, b'BREW /pot HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    check(reply.startswith(b'HTTP/1.1 4'), 'unknown method: %s' % reply[:60])
    reply = raw(port, b'\x16\x03\x01\x02\x00garbage\r\n\r\n')
    check(reply == b'' or reply.startswith(b'HTTP/1.1 4'), 'garbage: %s' % reply[:60])

    # Slow clients and too many connections: held connections are cut off and the
    # endpoint and the messaging go on.
    held = []
    for _ in range(80):
        try:
            s = socket.create_connection(('127.0.0.1', port), timeout=2)
            s.sendall(b'GET / HTTP/1.1\r\nHost: x\r\n')  # never finished
            held.append(s)
        except OSError:
            break
    sub = t.sock('sub')
    sub.setsockopt(zmq.SUBSCRIBE, b'')
    sub.connect(ep)
    eq(sub.recv(), b'tick', 'messaging while admin is flooded')
    deadline = time.monotonic() + 20
    while get_status_quiet(url + 'healthz') != 200:
        check(time.monotonic() < deadline, 'admin never recovered from slow clients')
        time.sleep(0.5)
    for s in held:
        s.close()
    check(pub.poll() is None, 'the node is still running')


def get_status_quiet(url):
    try:
        return get(url, timeout=2)[0]
    except OSError:
        return None


if __name__ == '__main__':
    main()
