#!/usr/bin/python3
"""admin/API.md against the JSON the admin endpoint really sends.

The document is the specification: this file reads the examples out of it (each
`## GET /api/v1/...` section's ```json block, the event stream's ```text block of
`event:`/`data:` lines, the `## Errors` block) and turns them into shapes: the fields of
every object, each field's JSON types (the union over the examples of an array, so that
a second example can show a null), the values a string `a|b|c` lists, and maps (a key
`"<...>"`).  Then it runs a small fleet (a publisher with a subscriber that never reads,
so that its pipe fills and drops; a node advertising a service; a subscriber node
connected to the publisher and to a libzmq publisher; a libzmq subscriber; a peer that
sends garbage), fetches every documented endpoint from every admin endpoint, reads the
event stream until every documented kind went by, provokes the documented errors, and
compares each response with its shape: a documented field missing, a field of another
type or value, and a field or event kind that is not documented all fail.  Every
documented array and map must be non-empty in some response (otherwise the objects in
it were never checked), and every number with a decimal point must have at most three
decimals in the raw text (times are rounded to milliseconds)."""

import json
import os
import re
import socket
import sys
import threading
import time
import urllib.error
import urllib.request

sys.dont_write_bytecode = True  # keep the source tree clean

import zmq  # noqa: E402

from nmtest import (REPO, Fail, check, eq, free_tcp_port, main, nomid_exec, short,  # noqa: E402
                    test, until, wait_admin)

API_MD = os.path.join(REPO, 'admin', 'API.md')
ROUTE_C = os.path.join(REPO, 'admin', 'route.c')
IVL = '0.2'
ENUM_RE = re.compile(r'^[a-z_]+(\|[a-z_]+)+$')  # "alive|silent"
PLACEHOLDER_RE = re.compile(r'^<[^>]+>$')       # "<name>": any key
SHORT_REAL_RE = re.compile(r'^-?\d+\.\d{1,3}$')  # 0.082, 12.5: never 0.082000000000000003


# ---------------------------------------------------------------- the document

def doc_sections(text):
    """[(heading, [(language, body)])] for each `## ` section of the markdown."""
    sections = []
    for part in re.split(r'^## ', text, flags=re.M)[1:]:
        heading, _, rest = part.partition('\n')
        blocks = re.findall(r'^```(\w*)\n(.*?)^```', rest, flags=re.M | re.S)
        sections.append((heading.strip(), blocks))
    return sections


def jtype(v):
    if v is None:
        return 'null'
    if isinstance(v, bool):
        return 'bool'
    if isinstance(v, int):
        return 'integer'
    if isinstance(v, float):
        return 'real'
    if isinstance(v, str):
        return 'string'
    if isinstance(v, list):
        return 'array'
    return 'object'


def shape_of(v, where):
    """The shape an example documents: {'types', 'where', and as the example is:
    'fields' (object), 'map' (object with a "<...>" key), 'items' (array), 'enum'}."""
    s = {'types': {jtype(v)}, 'where': where}
    if isinstance(v, dict):
        if len(v) == 1 and PLACEHOLDER_RE.match(next(iter(v))):
            k, x = next(iter(v.items()))
            s['map'] = shape_of(x, '%s.%s' % (where, k))
        else:
            s['fields'] = {k: shape_of(x, '%s.%s' % (where, k)) for k, x in v.items()}
    elif isinstance(v, list):
        s['items'] = None  # until an example shows an element (see load_doc)
        for x in v:
            s['items'] = merge(s['items'], shape_of(x, where + '[]'))
    elif isinstance(v, str) and ENUM_RE.match(v):
        s['enum'] = set(v.split('|'))
    return s


def merge(a, b):
    """One shape from two examples of the same thing (the elements of an array)."""
    if a is None or b is None:
        return b if a is None else a
    m = {'types': a['types'] | b['types'], 'where': a['where']}
    if 'fields' in a and 'fields' in b:
        check(a['fields'].keys() == b['fields'].keys(),
              'API.md: the examples of %s differ in their fields: %s / %s'
              % (a['where'], sorted(a['fields']), sorted(b['fields'])))
        m['fields'] = {k: merge(a['fields'][k], b['fields'][k]) for k in a['fields']}
    for key in ('fields', 'map', 'items'):
        if key not in m and (key in a or key in b):
            m[key] = merge(a.get(key), b.get(key))
    # A string example without a list of values makes the field free-form.
    strings = [s for s in (a, b) if 'string' in s['types']]
    if strings and all('enum' in s for s in strings):
        m['enum'] = set().union(*(s['enum'] for s in strings))
    return m


def containers(s, out):
    """Every array and map shape within s."""
    if 'items' in s or 'map' in s:
        out.append(s)
    for sub in list(s.get('fields', {}).values()) + [s[k] for k in ('items', 'map') if s.get(k)]:
        containers(sub, out)
    return out


def load_doc():
    """(shapes of the JSON endpoints by path, shapes of the events by kind, shape of an
    error), all read from API.md."""
    with open(API_MD) as f:
        text = f.read()
    endpoints, events, error = {}, {}, None
    for heading, blocks in doc_sections(text):
        m = re.match(r'GET (/api/v1/\w+)', heading)
        for lang, body in blocks:
            if lang == 'json':
                try:
                    example = json.loads(body)
                except ValueError as e:
                    raise Fail('API.md: the example under "## %s" is not JSON: %s' % (heading, e))
                if heading == 'Errors':
                    error = shape_of(example, 'error')
                else:
                    check(m is not None, 'API.md: a JSON example under "## %s"' % heading)
                    endpoints[m.group(1)] = shape_of(example, m.group(1))
                    empty = [c['where'] for c in containers(endpoints[m.group(1)], [])
                             if c.get('items', c.get('map')) is None]
                    check(not empty, 'API.md: no example shows an element of %s' % empty)
            elif lang == 'text' and m is not None and m.group(1) == '/api/v1/events':
                pairs = re.findall(r'^event: (\w+)\ndata: (.*)$', body, flags=re.M)
                check(pairs, 'API.md: no `event:`/`data:` lines in the events example')
                for kind, data in pairs:
                    events[kind] = shape_of(json.loads(data), 'event ' + kind)
    check(len(endpoints) >= 6 and error is not None and len(events) >= 9,
          'API.md: found examples for %s, %d events, error %s'
          % (sorted(endpoints), len(events), error is not None))
    # Every JSON route the server has is documented.
    with open(ROUTE_C) as f:
        routes = set(re.findall(r'"(/api/v1/\w+)"', f.read()))
    documented = set(endpoints) | {'/api/v1/events'}
    check(routes and routes <= documented,
          'routes in admin/route.c without a JSON example in API.md: %s'
          % sorted(routes - documented))
    return endpoints, events, error


# ---------------------------------------------------------------- comparing

class Checker:
    """Compares responses with shapes; gathers every difference and which arrays and
    maps were seen non-empty."""

    def __init__(self):
        self.problems = []
        self.filled = set()   # ids of array and map shapes seen with an element
        self.reals = 0        # numbers with a decimal point seen
        self.objects = 0      # objects compared field by field

    def value(self, v, s, path):
        t = jtype(v)
        if t not in s['types']:
            self.problems.append('%s: %s %s, documented as %s'
                                 % (path, t, short(v, 60), '|'.join(sorted(s['types']))))
            return
        if t == 'object' and 'map' in s:
            if v:
                self.filled.add(id(s))
            for k, x in v.items():
                self.value(x, s['map'], '%s.%s' % (path, k))
        elif t == 'object':
            self.objects += 1
            fields = s.get('fields', {})
            for k in sorted(fields.keys() - v.keys()):
                self.problems.append('%s: documented field "%s" missing' % (path, k))
            for k in sorted(v.keys() - fields.keys()):
                self.problems.append('%s: field "%s" (%s) is not documented'
                                     % (path, k, short(v[k], 60)))
            for k in sorted(fields.keys() & v.keys()):
                self.value(v[k], fields[k], '%s.%s' % (path, k))
        elif t == 'array':
            if v:
                self.filled.add(id(s))
            for i, x in enumerate(v):
                self.value(x, s['items'], '%s[%d]' % (path, i))
        elif t == 'string' and 'enum' in s and v not in s['enum']:
            self.problems.append('%s: "%s" is not one of the documented %s'
                                 % (path, v, '|'.join(sorted(s['enum']))))

    def text(self, raw, s, path):
        """Parses a JSON text, checks its numbers' decimals, then its shape."""
        literals = []
        try:
            v = json.loads(raw, parse_float=lambda lit: literals.append(lit) or float(lit))
        except ValueError as e:
            self.problems.append('%s: not JSON (%s): %s' % (path, e, short(raw)))
            return None
        for lit in literals:
            if not SHORT_REAL_RE.match(lit):
                self.problems.append('%s: the number %s has more than three decimals (or an '
                                     'exponent)' % (path, lit))
        self.reals += len(literals)
        self.value(v, s, path)
        return v

    def unfilled(self, shapes):
        return [c['where'] for s in shapes for c in containers(s, []) if id(c) not in self.filled]


# ---------------------------------------------------------------- the fleet

def fleet(tag):
    return 'apidoc-%d-%s' % (os.getpid(), tag)


def get(url, method='GET', timeout=5):
    """(status, content type, body)."""
    req = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.headers['Content-Type'], r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers['Content-Type'], e.read()


def get_json(url):
    status, ctype, body = get(url)
    eq(status, 200, 'status of %s' % url)
    check(ctype.startswith('application/json'), 'content type of %s: %s' % (url, ctype))
    return body



class EventReader:
    """Reads an admin endpoint's event stream on a thread: [(kind, data text)]."""

    def __init__(self, url):
        self.events = []
        self.lock = threading.Lock()
        self.r = urllib.request.urlopen(url + 'api/v1/events', timeout=15)
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        kind = None
        try:
            for raw in self.r:
                line = raw.decode().rstrip('\n')
                if line.startswith('event: '):
                    kind = line[len('event: '):]
                elif line.startswith('data: ') and kind is not None:
                    with self.lock:
                        self.events.append((kind, line[len('data: '):]))
                    kind = None
        except Exception:  # noqa: BLE001 - closed under the reader at the end of the test
            pass

    def kinds(self):
        with self.lock:
            return {k for k, _ in self.events}

    def close(self):
        self.r.close()


# The joined program: a subscriber of svc://cam (a pipe in its summary: it polls, since
# a svc:// connection is made when the program next calls into its socket) and a PUB it
# binds and advertises (a service).
MEMBER_PROGRAM = '''
import zmq
c = zmq.Context()
s = c.socket(zmq.SUB)
s.connect("svc://cam")
p = c.socket(zmq.PUB)
p.bind("tcp://127.0.0.1:*")
print("joined", flush=True)
while True:
    s.poll(1000)
'''


@test(limit=150)
def every_documented_field_and_nothing_else(t):
    endpoints, events, error = load_doc()
    fl = fleet('all')
    # The publisher, observed: SNDHWM 4 and 8 KiB messages a millisecond apart, so that
    # a subscriber that never reads makes its pipe fill (HWM events) and drop.
    hub = t.nomid('cat', 'pub', '--bind', 'tcp://127.0.0.1:0', '--advertise', 'cam', '--sndhwm',
                  '4', '-d', 'x' * 8192, '--interval', '0.001', '--admin',
                  '127.0.0.1:%d' % free_tcp_port(), '--name', 'hub', '--fleet', fl,
                  '--beacon-interval', IVL)
    hub_url = wait_admin(hub)
    hub_ep = hub.wait_bound()[0]
    stream = EventReader(hub_url)
    try:
        # Peers, services and their coming and going (peer_up, service_up...).
        node = t.nomid('node', '--name', 'imunode', '--service', 'imu=pub@tcp://*:7123',
                       '--admin', '127.0.0.1:%d' % free_tcp_port(), '--fleet', fl,
                       '--beacon-interval', IVL)
        node_url = wait_admin(node)
        # A libzmq publisher nobody knows, and a subscriber node connected to it and to
        # the hub (edges with a known and an unknown end); its prefix matches nothing
        # the hub sends, so it receives nothing.
        zpub = t.sock('pub')
        zpub_ep = t.bind(zpub, 'tcp')
        subnode = t.nomid('cat', 'sub', '--connect', 'svc://cam', '--connect', zpub_ep,
                          '--subscribe', 'nothing', '--admin', '127.0.0.1:%d' % free_tcp_port(),
                          '--name', 'subnode', '--fleet', fl, '--beacon-interval', IVL)
        sub_url = wait_admin(subnode)
        # A program joined through the node (nomid exec): a pyzmq subscriber of svc://cam,
        # a member in the node's summary and a node "via" it in the topology.
        member = nomid_exec(t, '--name', 'member', '--fleet', fl, '--beacon-interval', IVL,
                            '--advertise', 'mpub=tcp://127.0.0.1:*', '--', '/usr/bin/python3',
                            '-c', MEMBER_PROGRAM)
        eq(member.line(timeout=20), 'joined', 'the program under nomid exec')
        # A libzmq subscriber that never reads.
        zsub = t.sock('sub')
        zsub.setsockopt(zmq.RCVHWM, 1)
        zsub.setsockopt(zmq.RCVBUF, 4096)
        zsub.setsockopt(zmq.SUBSCRIBE, b'')
        zsub.connect(hub_ep)
        # A peer that is not ZMTP (handshake_failed, then disconnected).
        host, port = re.match(r'tcp://([^:]+):(\d+)$', hub_ep).groups()
        junk = t.own(socket.create_connection((host, int(port)), timeout=5))
        junk.sendall(b'GET / HTTP/1.1\r\nHost: x\r\n\r\n' + b'x' * 64)

        def ready():
            topo = json.loads(get_json(hub_url + 'api/v1/topology'))
            edges = topo['edges']
            socks = json.loads(get_json(hub_url + 'api/v1/sockets'))['sockets']
            members = json.loads(get_json(node_url + 'api/v1/summary'))['members']
            return (len(topo['nodes']) == 4 and
                    any(n['via'] for n in topo['nodes']) and
                    any(m['services'] and any(s['pipes'] for s in m['sockets'])
                        for m in members) and
                    any(e['from'] and e['to'] for e in edges) and
                    any(e['from'] is None for e in edges) and
                    any(e['to'] is None for e in edges) and
                    any(p['drops'] > 0 for s in socks for p in s['pipes']))
        until('the topology joined and drops on the hub', ready, timeout=40)

        chk = Checker()
        for url in (hub_url, sub_url, node_url):
            for path, shape in sorted(endpoints.items()):
                chk.text(get_json(url + path[1:]), shape, url + path[1:])
        # The documented errors.
        for path, method, status in (('api/v1/nothing', 'GET', 404),
                                     ('api/v1/sockets?limit=abc', 'GET', 400),
                                     ('api/v1/node', 'POST', 405)):
            got, ctype, body = get(hub_url + path, method=method)
            eq(got, status, '%s %s' % (method, path))
            check(ctype.startswith('application/json'), 'content type of a %d' % status)
            chk.text(body, error, '%d %s %s' % (status, method, path))

        # The stream's remaining kinds: the subscriber node leaves the hub
        # (disconnected), the node leaves the fleet (service_down, peer_down).
        until('connected, hwm_reached, dropped and handshake_failed events',
              lambda: {'connected', 'hwm_reached', 'dropped', 'handshake_failed',
                       'peer_up', 'service_up'} <= stream.kinds(), timeout=20)
        subnode.stop_expect(0)
        node.stop_expect(0)
        deadline = time.monotonic() + 20
        while not set(events) <= stream.kinds():
            check(time.monotonic() < deadline, 'no event of the documented kinds %s'
                  % sorted(set(events) - stream.kinds()))
            time.sleep(0.1)
        with stream.lock:
            seen = list(stream.events)
        for i, (kind, data) in enumerate(seen):
            if kind not in events:
                chk.problems.append('event %d: the kind "%s" is not documented: %s'
                                    % (i, kind, short(data)))
                continue
            chk.text(data, events[kind], 'event %d %s' % (i, kind))
    finally:
        stream.close()

    unfilled = chk.unfilled(list(endpoints.values()) + list(events.values()) + [error])
    check(not unfilled, 'documented arrays or maps empty in every response (their elements '
          'were never checked): %s' % unfilled)
    check(chk.reals >= 3, 'only %d numbers with a decimal point seen' % chk.reals)
    check(not chk.problems, 'responses differ from admin/API.md:\n' + '\n'.join(chk.problems))
    print('checked %d objects of %d endpoints, %d events (%s), %d decimal numbers'
          % (chk.objects, len(endpoints), len(seen), ', '.join(sorted({k for k, _ in seen})),
             chk.reals), flush=True)
    hub.stop_expect(0)


@test(limit=30)
def the_checker_finds_differences(t):
    """The comparison itself: a missing, an extra and a mistyped field, a value not
    listed, a long decimal, and an empty array are all found."""
    shape = shape_of(json.loads('{"a": 1, "b": [{"c": "x|y", "t": 0.5}], "m": {"<k>": [1]}}'),
                     'x')
    chk = Checker()
    chk.text('{"a": 1, "b": [{"c": "x", "t": 0.25}], "m": {"q": [2]}}', shape, 'good')
    eq((chk.problems, chk.unfilled([shape])), ([], []), 'a matching response')
    chk = Checker()
    chk.text('{"a": "1", "b": [{"c": "z", "t": 0.081834694999999999, "u": 1}], "m": {}}',
             shape, 'bad')
    for want in ('bad.a: string', '"z" is not one of', '0.081834694999999999',
                 'field "u" (1) is not documented'):
        check(any(want in p for p in chk.problems), '%r among %s' % (want, chk.problems))
    chk = Checker()
    chk.text('{"b": [], "m": {}}', shape, 'empty')
    check(any('field "a" missing' in p for p in chk.problems), 'missing: %s' % chk.problems)
    eq(sorted(chk.unfilled([shape])), ['x.b', 'x.m', 'x.m.<k>'], 'arrays and maps never filled')


if __name__ == '__main__':
    main()
