#!/usr/bin/python3
"""mock_admin.py - a stand-in for a nomid node's admin endpoint, to work on the topology
page (admin/web/) without building nomid.  A development tool, not a ctest.

It serves admin/web/* as the real server does (/, /app.js, /style.css), a canned
GET /api/v1/topology of three nodes (a publisher "cam" with two subscribers, plus a
connection to a peer discovery does not know, full and dropping) whose queue fills move
with time, and GET /api/v1/events (Server-Sent Events).  POST /mock/remove?node=NAME
makes a node go silent and then disappear (with a peer_down event), as a killed node
does.  With --token T every /api/ request needs `Authorization: Bearer T`.

  python3 tests/browser/mock_admin.py [--port 8080]          # then open the printed URL
  python3 tests/browser/mock_admin.py --check [--token T]    # run topology.mjs against it

--check serves on a free port, runs tests/browser/topology.mjs (Chromium through
playwright-core, `npm ci --prefix tests/browser` first), removes "viewer-2" when the
script asks, and exits with the script's status; the screenshots go to --artifacts
(default build/artifacts/, mock-topology.png and mock-topology-after.png).
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


class Fleet:
    """The canned fleet; remove() makes a node silent, then gone, as beacon expiry does."""

    def __init__(self):
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
        cam = 'tcp://127.0.0.1:5555'

        def node(name, state, services, sockets, port):
            return {'id': node_id(name), 'name': name, 'state': state,
                    'addresses': ['127.0.0.1'], 'admin': 'http://127.0.0.1:%d/' % port,
                    'services': services, 'sockets': sockets}

        nodes = [node('cam', 'self', [{'name': 'cam', 'type': 'pub', 'endpoint': cam}],
                      [{'id': 1, 'type': 'pub', 'endpoints': [cam]},
                       {'id': 2, 'type': 'push', 'endpoints': ['tcp://10.0.0.9:6000']}], 7070)]
        for i, name in enumerate(('viewer-1', 'viewer-2')):
            if name not in gone:
                nodes.append(node(name, 'silent' if name in silent else 'alive', [],
                                  [{'id': 1, 'type': 'sub', 'endpoints': ['svc://cam']}], 7071 + i))

        def edge(frm, pipe, to, sock, typ, peer, ep, fill, hwm=1000, drops=0, hits=0,
                 state='active'):
            return {'id': '%s:%d' % (node_id(frm), pipe), 'from': node_id(frm),
                    'to': node_id(to) if to else None, 'socket': sock, 'type': typ,
                    'peer_type': peer, 'endpoint': ep, 'state': state, 'fill': round(fill, 3),
                    'queued': int(fill * hwm), 'hwm': hwm, 'drops': drops, 'hwm_hits': hits}

        wave = 0.5 + 0.5 * math.sin(t / 3)  # 0..1, slowly: the page must follow it
        edges = []
        if 'viewer-1' not in gone:
            edges.append(edge('viewer-1', 7, 'cam', 1, 'sub', 'pub', cam, 0.05 + 0.3 * wave))
        if 'viewer-2' not in gone:
            edges.append(edge('viewer-2', 9, 'cam', 1, 'sub', 'pub', cam, 0.55 + 0.3 * wave,
                              hits=3))
        edges.append(edge('cam', 12, None, 2, 'push', 'pull', 'tcp://10.0.0.9:6000', 0.97,
                          drops=42 + int(t), hits=17))
        return {'self': node_id('cam'), 'nodes': nodes, 'edges': edges}


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


def serve(port, token):
    Handler.fleet = Fleet()
    Handler.token = token
    srv = http.server.ThreadingHTTPServer(('127.0.0.1', port), Handler)
    srv.daemon_threads = True
    return srv


def check(srv, token, artifacts):
    """Runs topology.mjs against the mock; returns its exit status."""
    url = 'http://127.0.0.1:%d/' % srv.server_address[1]
    if token:
        url += '#token=' + urllib.parse.quote(token)
    shot = os.path.join(artifacts, 'mock-topology%s.png' % ('-token' if token else ''))
    after = os.path.join(artifacts, 'mock-topology%s-after.png' % ('-token' if token else ''))
    cmd = ['node', os.path.join(HERE, 'topology.mjs'), '--url', url, '--screenshot', shot,
           '--nodes', '3', '--edges', '2', '--after-nodes', '2', '--after-screenshot', after]
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
    ap.add_argument('--artifacts', default=os.path.join(REPO, 'build', 'artifacts'))
    a = ap.parse_args()
    srv = serve(0 if a.check else a.port, a.token)
    if not a.check:
        print('mock admin on http://127.0.0.1:%d/%s' % (
            srv.server_address[1], '#token=' + a.token if a.token else ''), flush=True)
        try:
            srv.serve_forever()
        except KeyboardInterrupt:
            pass
        return 0
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return check(srv, a.token, a.artifacts)


if __name__ == '__main__':
    sys.exit(main())
