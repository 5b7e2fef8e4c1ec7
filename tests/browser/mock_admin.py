#!/usr/bin/python3
"""mock_admin.py - a stand-in for a nomid node's admin endpoint, to work on the topology
page (admin/web/) without building nomid.  A development tool, not a ctest.

It serves admin/web/* as the real server does (/, /app.js, /style.css), a canned
GET /api/v1/topology whose queue fills move with time and whose traffic counters grow
at steady rates, and GET /api/v1/events (Server-Sent Events).  Three fleets:
--fleet small (the default): four nodes on two hosts (a publisher "cam" and two
subscribers, one unnamed, on 127.0.0.1, a subscriber on 127.0.0.2, plus a connection
to a peer discovery does not know, full and dropping; the shape of
tests/interop/test_topology_page.py's fleet); --fleet keyed: the same with CURVE keys
(the subscriber on 127.0.0.2 has a certificate but connects without CURVE (NULL), the
connection to the unknown peer uses PLAIN: those two are unencrypted; the other two use
CURVE, so that the fleet still has keys when that subscriber is gone); --fleet big: a robot of 20 processes (two of them unnamed), a laptop of 3
(this node) and a base station, 27 connections.  The small and big fleets have no keys
(every connection NULL).
POST /mock/remove?node=NAME makes a node go silent and then disappear (with a
peer_down event), as a killed node does.  With --token T every /api/ request needs
`Authorization: Bearer T`.

  python3 tests/browser/mock_admin.py [--port 8080] [--fleet keyed|big]  # then open the URL
  python3 tests/browser/mock_admin.py --check [--token T] [--fleet keyed|big]

--check serves on a free port, runs tests/browser/topology.mjs (Chromium through
playwright-core, `npm ci --prefix tests/browser` first) with the hosts and rates the
fleet must show, removes "viewer-2" when the script asks (small fleet), and exits with
the script's status; the screenshots go to --artifacts (default build/artifacts/:
mock-topology.png and mock-topology-after.png, mock-keyed.png and mock-keyed-after.png,
or mock-fleet.png).
"""

import argparse
import hashlib
import http.server
import json
import math
import os
import subprocess
import sys
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, '..', '..'))
WEB = os.path.join(REPO, 'admin', 'web')
ASSETS = {'/': ('index.html', 'text/html; charset=utf-8'),
          '/index.html': ('index.html', 'text/html; charset=utf-8'),
          '/app.js': ('app.js', 'text/javascript; charset=utf-8'),
          '/style.css': ('style.css', 'text/css; charset=utf-8')}


def node_id(name):
    return hashlib.md5(name.encode()).hexdigest()  # 32 hex digits, like a real id


def curve_key(name):
    """40 characters of the Z85 alphabet, like a real CURVE public key."""
    return hashlib.sha1(name.encode()).hexdigest()


def edge_id(frm, k):
    return '%s:%d' % (node_id(frm), 10 + k)


class Fleet:
    """A canned fleet; remove() makes a node silent, then gone, as beacon expiry does.

    Every edge carries traffic at a steady rate (its counters grow with time), so the
    page's msg/s can be checked against RATES; queue fills move slowly."""

    def __init__(self, kind='small'):
        self.kind = kind
        self.lock = threading.Condition()
        self.gone = set()
        self.silent = set()
        self.events = []  # (kind, data) in order; event streams read from their index
        self.t0 = time.monotonic()
        self.fetches = 0
        self.streams = 0

    def remove(self, name):
        with self.lock:
            self.silent.add(name)
        threading.Timer(0.6, self._expire, (name,)).start()

    def _expire(self, name):
        with self.lock:
            self.gone.add(name)
            self.events.append(('peer_down', {'id': node_id(name), 'name': name}))
            self.lock.notify_all()

    def topology(self):
        with self.lock:
            self.fetches += 1
            gone, silent = set(self.gone), set(self.silent)
        t = time.monotonic() - self.t0
        spec = FLEETS[self.kind]
        nodes = []
        for i, (name, host, services) in enumerate(spec['nodes']):
            if name in gone:
                continue
            state = 'self' if name == spec['self'] else 'silent' if name in silent else 'alive'
            nodes.append({'id': node_id(name), 'name': '' if name.startswith('_') else name,
                          'state': state, 'addresses': [host],
                          'admin': 'http://%s:%d/' % (host, 7070 + i),
                          'curve_key': curve_key(name) if name in spec.get('keys', ()) else '',
                          'services': [{'name': n, 'type': ty, 'endpoint': 'tcp://%s:%d' %
                                        (host, 5000 + i)} for n, ty in services],
                          'sockets': [{'id': 1, 'type': ty, 'endpoints': []}
                                      for _, ty in services]})
        edges = []
        for k, (frm, to, typ, peer, rate, size, fill) in enumerate(spec['edges']):
            if frm in gone or to in gone:
                continue
            wave = 0.5 + 0.5 * math.sin(t / 3 + k)  # 0..1, slowly: the page must follow it
            f = min(1.0, fill[0] + fill[1] * wave)
            drops = int(rate * t / 10) if f >= 0.95 else 0
            ep = 'tcp://%s:%d' % (to[1:], 6000) if to.startswith('?') else 'tcp://x:%d' % (5000 + k)
            edges.append({'id': edge_id(frm, k), 'from': node_id(frm),
                          'to': None if to.startswith('?') else node_id(to), 'socket': 1,
                          'type': typ, 'peer_type': peer, 'endpoint': ep, 'state': 'active',
                          'fill': round(f, 3), 'queued': int(f * 1000), 'hwm': 1000,
                          'drops': drops, 'hwm_hits': drops // 3,
                          'msgs': int(rate * t), 'bytes': int(rate * t) * size, 'age': 0.0,
                          'mechanism': spec.get('mechanisms', {}).get(k, 'NULL')})
        return {'self': node_id(spec['self']), 'nodes': nodes, 'edges': edges}


# (name, host address, [(service, type)]); a name starting with _ is sent without one.
# Edges: (from, to or ?ADDRESS for a peer discovery does not know, type, peer type,
# msg/s, bytes per message, (fill at rest, fill swing)).
SMALL = {
    'self': 'cam',
    'nodes': [('cam', '127.0.0.1', [('cam', 'pub')]), ('viewer-1', '127.0.0.1', []),
              ('_viewer', '127.0.0.1', []), ('viewer-2', '127.0.0.2', [])],
    'edges': [('viewer-1', 'cam', 'sub', 'pub', 10, 64, (0.05, 0.3)),
              ('_viewer', 'cam', 'sub', 'pub', 10, 64, (0.0, 0.0)),
              ('viewer-2', 'cam', 'sub', 'pub', 10, 64, (0.55, 0.3)),
              ('cam', '?10.0.0.9', 'push', 'pull', 50, 100, (0.97, 0))],
}

# The small fleet with keys: 'keys' names the nodes with a CURVE certificate,
# 'mechanisms' the connections' (by index) when not NULL.
KEYED = dict(SMALL, keys={'viewer-2'}, mechanisms={0: 'CURVE', 1: 'CURVE', 3: 'PLAIN'})

ROBOT, LAPTOP, BASE = '10.1.0.1', '10.1.0.2', '10.1.0.3'
BIG = {
    'self': 'dashboard',
    'nodes': [(n, ROBOT, s) for n, s in [
        ('lidar', [('lidar', 'pub')]), ('camera-front', [('cam.front', 'pub')]),
        ('camera-rear', [('cam.rear', 'pub')]), ('imu', [('imu', 'pub')]),
        ('gps', [('gps', 'pub')]), ('odometry', [('odom', 'pub')]),
        ('localizer', [('pose', 'pub')]), ('mapper', [('map', 'pub')]),
        ('planner', [('plan', 'pub'), ('goals', 'rep')]), ('controller', [('cmd', 'push')]),
        ('motor-left', []), ('motor-right', []), ('battery', [('battery', 'pub')]),
        ('safety', [('estop', 'pub')]), ('obstacles', [('obstacles', 'pub')]),
        ('logger', []), ('telemetry', [('telemetry', 'xpub')]), ('diag', [('diag', 'pub')]),
        ('_a', []), ('_b', [])]] +
    [('dashboard', LAPTOP, []), ('recorder', LAPTOP, []), ('_c', LAPTOP, []),
     ('base-station', BASE, [('fleet', 'router')])],
    'edges': [
        ('planner', 'lidar', 'sub', 'pub', 20, 12000, (0.02, 0.05)),
        ('planner', 'localizer', 'sub', 'pub', 50, 200, (0.01, 0.02)),
        ('planner', 'obstacles', 'sub', 'pub', 20, 800, (0.02, 0.1)),
        ('controller', 'planner', 'sub', 'pub', 50, 120, (0.01, 0.01)),
        ('motor-left', 'controller', 'pull', 'push', 100, 16, (0.0, 0.02)),
        ('motor-right', 'controller', 'pull', 'push', 100, 16, (0.0, 0.02)),
        ('localizer', 'imu', 'sub', 'pub', 200, 64, (0.0, 0.05)),
        ('localizer', 'gps', 'sub', 'pub', 5, 96, (0.0, 0.0)),
        ('localizer', 'odometry', 'sub', 'pub', 50, 48, (0.0, 0.02)),
        ('mapper', 'lidar', 'sub', 'pub', 20, 12000, (0.4, 0.4)),
        ('mapper', 'localizer', 'sub', 'pub', 50, 200, (0.0, 0.02)),
        ('obstacles', 'lidar', 'sub', 'pub', 20, 12000, (0.05, 0.1)),
        ('obstacles', 'camera-front', 'sub', 'pub', 30, 60000, (0.1, 0.2)),
        ('safety', 'obstacles', 'sub', 'pub', 20, 800, (0.0, 0.02)),
        ('safety', 'battery', 'sub', 'pub', 1, 32, (0.0, 0.0)),
        ('logger', 'diag', 'sub', 'pub', 2, 300, (0.0, 0.0)),
        ('telemetry', 'battery', 'sub', 'pub', 1, 32, (0.0, 0.0)),
        ('telemetry', 'diag', 'sub', 'pub', 2, 300, (0.0, 0.0)),
        ('_a', 'planner', 'req', 'rep', 0, 0, (0.0, 0.0)),
        ('telemetry', '?10.1.0.9', 'push', 'pull', 50, 100, (0.97, 0.0)),
        ('dashboard', 'telemetry', 'sub', 'xpub', 10, 400, (0.0, 0.05)),
        ('dashboard', 'camera-front', 'sub', 'pub', 30, 60000, (0.3, 0.5)),
        ('recorder', 'lidar', 'sub', 'pub', 20, 12000, (0.1, 0.3)),
        ('recorder', 'camera-rear', 'sub', 'pub', 30, 60000, (0.2, 0.2)),
        ('base-station', 'telemetry', 'sub', 'xpub', 10, 400, (0.0, 0.0)),
        ('base-station', 'gps', 'sub', 'pub', 5, 96, (0.0, 0.0)),
        ('_c', 'base-station', 'dealer', 'router', 1, 50, (0.0, 0.0)),
    ],
}


FLEETS = {'small': SMALL, 'keyed': KEYED, 'big': BIG}


class Handler(http.server.BaseHTTPRequestHandler):
    fleet = None  # set by serve()
    token = None

    def log_message(self, fmt, *args):  # quiet: the page polls every 2 s
        pass

    def _send(self, code, body, ctype='text/plain; charset=utf-8', head=False):
        self.send_response(code)
        self.send_header('Content-Type', ctype)
        self.send_header('Content-Length', str(len(body)))
        self.send_header('Cache-Control', 'no-store')
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _authorized(self):
        if self.token is None:
            return True
        return self.headers.get('Authorization') == 'Bearer ' + self.token

    def do_HEAD(self):
        self.do_GET(head=True)

    def do_GET(self, head=False):
        path = urllib.parse.urlsplit(self.path).path
        if path in ASSETS:
            name, ctype = ASSETS[path]
            with open(os.path.join(WEB, name), 'rb') as f:
                return self._send(200, f.read(), ctype, head)
        if path.startswith('/api/') and not self._authorized():
            return self._send(401, b'unauthorized\n', head=head)
        if path == '/api/v1/topology':
            body = json.dumps(self.fleet.topology()).encode()
            return self._send(200, body, 'application/json', head)
        if path == '/api/v1/events':
            return self._events()
        return self._send(404, b'not found\n', head=head)

    def do_POST(self):
        u = urllib.parse.urlsplit(self.path)
        if u.path == '/mock/remove':
            name = urllib.parse.parse_qs(u.query).get('node', [''])[0]
            self.fleet.remove(name)
            return self._send(200, b'removing %s\n' % name.encode())
        return self._send(405, b'read-only\n')

    def _events(self):
        f = self.fleet
        self.send_response(200)
        self.send_header('Content-Type', 'text/event-stream')
        self.send_header('Cache-Control', 'no-store')
        self.end_headers()
        with f.lock:
            f.streams += 1
            seen = len(f.events)
        try:
            while True:
                with f.lock:
                    if len(f.events) == seen:
                        f.lock.wait(15)
                    new, seen = f.events[seen:], len(f.events)
                out = ''.join('event: %s\ndata: %s\n\n' % (k, json.dumps(d)) for k, d in new)
                self.wfile.write((out or ': keep-alive\n\n').encode())
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass


def serve(port, token, kind='small'):
    Handler.fleet = Fleet(kind)
    Handler.token = token
    srv = http.server.ThreadingHTTPServer(('127.0.0.1', port), Handler)
    srv.daemon_threads = True
    return srv


def check_args(kind, artifacts, suffix):
    """topology.mjs's arguments for a fleet: what it must show."""
    if kind == 'big':
        return ['--screenshot', os.path.join(artifacts, 'mock-fleet%s.png' % suffix),
                '--nodes', '24', '--edges', str(len(BIG['edges'])),
                '--hosts', '%s=20,%s=3,%s=1' % (ROBOT, LAPTOP, BASE),
                '--msg-rate', '200', '--history-of', node_id('dashboard'),
                '--unencrypted', 'none']
    # Unencrypted in the keyed fleet: every connection not over CURVE, before and after
    # viewer-2 is removed (then no node has a key: the CURVE connections make it keyed).
    def plain(gone=()):
        return ','.join(edge_id(e[0], k) for k, e in enumerate(KEYED['edges'])
                        if KEYED['mechanisms'].get(k) != 'CURVE' and e[0] not in gone
                        and e[1] not in gone) if kind == 'keyed' else 'none'
    name = 'mock-keyed' if kind == 'keyed' else 'mock-topology'
    return ['--screenshot', os.path.join(artifacts, '%s%s.png' % (name, suffix)),
            '--nodes', '4', '--edges', '3', '--hosts', '127.0.0.1=3,127.0.0.2=1',
            '--msg-rate', '10:3', '--unencrypted', plain(),
            '--after-nodes', '3', '--after-screenshot',
            os.path.join(artifacts, '%s%s-after.png' % (name, suffix)),
            '--after-unencrypted', plain(gone=('viewer-2',))]


def check(srv, token, artifacts, kind='small'):
    """Runs topology.mjs against the mock; returns its exit status."""
    url = 'http://127.0.0.1:%d/' % srv.server_address[1]
    if token:
        url += '#token=' + urllib.parse.quote(token)
    cmd = ['node', os.path.join(HERE, 'topology.mjs'), '--url', url,
           *check_args(kind, artifacts, '-token' if token else '')]
    p = subprocess.Popen(cmd, cwd=HERE, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    for line in p.stdout:
        print('topology.mjs: ' + line.rstrip(), flush=True)
        if line.strip() == 'ready-to-kill':
            Handler.fleet.remove('viewer-2')
            p.stdin.write('killed\n')
            p.stdin.flush()
    rc = p.wait()
    print('mock: %d topology fetches, %d event streams opened; topology.mjs exit %d'
          % (Handler.fleet.fetches, Handler.fleet.streams, rc))
    return rc


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--port', type=int, default=8080)
    ap.add_argument('--token', help='require this bearer token on /api/')
    ap.add_argument('--check', action='store_true', help='run topology.mjs against the mock')
    ap.add_argument('--fleet', choices=sorted(FLEETS), default='small')
    ap.add_argument('--artifacts', default=os.path.join(REPO, 'build', 'artifacts'))
    a = ap.parse_args()
    srv = serve(0 if a.check else a.port, a.token, a.fleet)
    if not a.check:
        print('mock admin on http://127.0.0.1:%d/%s' % (
            srv.server_address[1], '#token=' + a.token if a.token else ''), flush=True)
        try:
            srv.serve_forever()
        except KeyboardInterrupt:
            pass
        return 0
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return check(srv, a.token, a.artifacts, a.fleet)


if __name__ == '__main__':
    sys.exit(main())
