#!/usr/bin/python3
"""The etcd discovery backend against a real etcd (Debian's etcd-server, on 127.0.0.1
with a temporary data dir, started here and stopped at the end, pass or fail).

A node publishes one key per service under /nomid/<fleet>/, with a JSON value that
etcdctl reads back; `nomid resolve` finds it through etcd; `--watch` sees a clean exit
at once (the lease is revoked) and a kill -9 when the lease expires; garbage written by
another program under the prefix is ignored while a valid foreign value is resolved;
--etcd-prefix and --fleet keep nodes apart; an unreachable server at start is exit 1;
beacons and etcd together report each instance once; a node survives its server being
wiped and restarted (new lease, keys put again).  With a fleet key, a node's values carry
the documented "mac" (recomputed here in Python), and a CURVE server's "curve_key" in a
value signed with the fleet key makes `nomid cat --connect svc://NAME` talk CURVE to a
libzmq CURVE server, while the same value with its MAC tampered, missing, or read
without the fleet key loses its key (the client then connects without CURVE and is
refused).  Each test uses its own fleet."""

import atexit
import hashlib
import hmac
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # keep the source tree clean

import zmq  # noqa: E402
from zmq.utils import z85  # noqa: E402

from nmtest import Fail, check, eq, free_tcp_port, main, test  # noqa: E402

ETCD = shutil.which('etcd') or '/usr/bin/etcd'
ETCDCTL = shutil.which('etcdctl') or '/usr/bin/etcdctl'
SETPRIV = shutil.which('setpriv')
IVL = '0.2'     # beacon interval: with expiry 3, the lease TTL is etcd's minimum, 2 s
EXPIRY = '3'


class Etcd:
    """One etcd member on 127.0.0.1, free ports, data in a temporary directory."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix='nomid-etcd-')
        self.data = os.path.join(self.dir, 'data')
        self.url = 'http://127.0.0.1:%d' % free_tcp_port()
        self.peer = 'http://127.0.0.1:%d' % free_tcp_port()
        self.p = None
        self.log = None

    def start(self, wipe=False):
        if wipe:
            shutil.rmtree(self.data, True)
        cmd = [ETCD, '--name', 'default', '--data-dir', self.data,
               '--listen-client-urls', self.url, '--advertise-client-urls', self.url,
               '--listen-peer-urls', self.peer, '--initial-advertise-peer-urls', self.peer,
               '--initial-cluster', 'default=' + self.peer, '--logger', 'zap',
               '--log-outputs', 'stderr']
        if SETPRIV:
            cmd = [SETPRIV, '--pdeathsig', 'KILL', '--'] + cmd
        self.log = open(os.path.join(self.dir, 'etcd.log'), 'ab')
        self.p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.log,
                                  stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while True:
            check(self.p.poll() is None, 'etcd exited (%s): %s' % (self.p.poll(), self.tail()))
            r = subprocess.run([ETCDCTL, '--endpoints', self.url, '--dial-timeout=1s',
                                '--command-timeout=2s', 'endpoint', 'health'],
                               capture_output=True, env=ctl_env(), timeout=10)
            if r.returncode == 0:
                return self
            check(time.monotonic() < deadline, 'etcd not healthy within 20 s: %s' % self.tail())
            time.sleep(0.1)

    def tail(self):
        try:
            with open(os.path.join(self.dir, 'etcd.log'), 'rb') as f:
                return f.read()[-800:].decode('utf-8', 'replace')
        except OSError:
            return ''

    def kill(self):
        if self.p is not None and self.p.poll() is None:
            self.p.kill()
        if self.p is not None:
            self.p.wait(10)
        if self.log is not None:
            self.log.close()
            self.log = None

    def close(self):
        self.kill()
        shutil.rmtree(self.dir, True)

    def ctl(self, *args, check_rc=True):
        r = subprocess.run([ETCDCTL, '--endpoints', self.url, '--command-timeout=5s'] +
                           list(args), capture_output=True, env=ctl_env(), timeout=15)
        if check_rc and r.returncode != 0:
            raise Fail('etcdctl %s: exit %d: %s' % (' '.join(args), r.returncode,
                                                     r.stderr.decode('utf-8', 'replace')))
        return r.stdout.decode('utf-8', 'replace')

    def get_prefix(self, prefix):
        """{key: value} of every key under prefix."""
        lines = self.ctl('get', '--prefix', prefix).splitlines()
        check(len(lines) % 2 == 0, 'etcdctl get printed an odd number of lines: %r' % lines)
        return dict(zip(lines[0::2], lines[1::2]))


def ctl_env():
    env = dict(os.environ)
    env['ETCDCTL_API'] = '3'
    return env


_server = None


def server():
    """The etcd shared by the tests of this file, started on first use."""
    global _server
    if _server is None:
        _server = Etcd()
        atexit.register(_server.close)
        _server.start()
    return _server


def fleet(tag):
    return 'test-%d-%s' % (os.getpid(), tag)


def wait_ready(p, what='nomid node'):
    deadline = time.monotonic() + 10
    while 'ready' not in p.stderr_text():
        check(p.poll() is None, '%s exited early: %s' % (what, p.stderr_text()))
        check(time.monotonic() < deadline, '%s printed no ready line' % what)
        time.sleep(0.02)
    return p


def node(t, url, fl, *extra):
    return wait_ready(t.nomid('node', '--discovery', 'etcd=' + url, '--fleet', fl,
                              '--beacon-interval', IVL, '--beacon-expiry', EXPIRY, *extra))


def resolve(t, url, fl, name, *extra):
    return t.nomid('resolve', name, '--discovery', 'etcd=' + url, '--fleet', fl, *extra)


def wait_keys(e, prefix, n, timeout=5.0):
    """Waits until exactly n keys are under prefix; returns {key: value}."""
    deadline = time.monotonic() + timeout
    while True:
        kv = e.get_prefix(prefix)
        if len(kv) == n:
            return kv
        check(time.monotonic() < deadline, 'want %d keys under %s, have %r' % (n, prefix, kv))
        time.sleep(0.05)


def wait_line(p, want, timeout=10.0):
    """Reads stdout lines until `want`; returns the seconds it took."""
    t0 = time.monotonic()
    while True:
        left = timeout - (time.monotonic() - t0)
        check(left > 0, 'no line %r within %gs' % (want, timeout))
        if p.line(left, repr(want)) == want:
            return time.monotonic() - t0


@test
def node_publishes_and_resolve_finds(t):
    e = server()
    fl = fleet('pub')
    n = node(t, e.url, fl, '--name', 'robot1', '--service', 'cam=pub@tcp://127.0.0.1:5599',
             '--service', 'imu=sub@tcp://*:7001')
    kv = wait_keys(e, '/nomid/%s/' % fl, 2)
    ids = set()
    for key, value in kv.items():
        m = re.match(r'^/nomid/%s/(cam|imu)/([0-9a-f]{32})/[0-9a-f]{8}$' % re.escape(fl), key)
        check(m is not None, 'key layout: %s' % key)
        v = json.loads(value)
        want = {'cam': {'name': 'cam', 'type': 'pub', 'endpoint': 'tcp://127.0.0.1:5599'},
                'imu': {'name': 'imu', 'type': 'sub', 'endpoint': 'tcp://127.0.0.1:7001'}}
        for f, x in want[m.group(1)].items():
            eq(v.get(f), x, '%s of %s' % (f, key))
        eq(v.get('node'), m.group(2), 'node id in the value and in the key')
        eq(v.get('node_name'), 'robot1', 'node_name')
        eq(v.get('addr'), '127.0.0.1', 'addr')
        ids.add(m.group(2))
    eq(len(ids), 1, 'one node id')
    lease = e.ctl('get', '--write-out=json', list(kv)[0])
    check(int(json.loads(lease)['kvs'][0].get('lease', 0)) != 0, 'the key has a lease')

    r = resolve(t, e.url, fl, 'cam', '--wait', '1', '--timeout', '5')
    eq(r.line(), 'tcp://127.0.0.1:5599', 'resolved endpoint')
    r.expect_exit(0)
    r = resolve(t, e.url, fl, 'cam', '--wait', '1', '--timeout', '5', '--verbose')
    eq(r.line(), 'tcp://127.0.0.1:5599 etcd %s' % ids.pop(), 'verbose line')
    r.expect_exit(0)
    p = t.nomid('peers', '--discovery', 'etcd=' + e.url, '--fleet', fl, '--timeout', '0.3')
    line = p.line()
    check(' robot1 127.0.0.1 alive' in line, 'peers line: %s' % line)
    p.expect_exit(0)

    n.stop_expect(0)
    eq(e.get_prefix('/nomid/%s/' % fl), {}, 'keys left after a clean exit')
    check('etcd' not in n.stderr_text(), 'the node logged: %s' % n.stderr_text())


@test
def watch_follows_clean_exit_and_kill(t):
    e = server()
    fl = fleet('watch')
    w = resolve(t, e.url, fl, 'cam', '--watch')
    a = node(t, e.url, fl, '--service', 'cam=pub@tcp://127.0.0.1:5601')
    b = node(t, e.url, fl, '--service', 'cam=pub@tcp://127.0.0.1:5602')
    eq(sorted(w.lines(2)), ['+ tcp://127.0.0.1:5601', '+ tcp://127.0.0.1:5602'], 'joining')
    t0 = time.monotonic()
    a.stop_expect(0)
    eq(w.line(), '- tcp://127.0.0.1:5601', 'clean exit leaves')
    clean = time.monotonic() - t0
    check(clean < 0.5, 'a clean exit took %.3f s to leave' % clean)
    t0 = time.monotonic()
    b.p.send_signal(signal.SIGKILL)
    eq(w.line(timeout=10), '- tcp://127.0.0.1:5602', 'killed node leaves')
    killed = time.monotonic() - t0
    check(1.0 < killed < 4.0, 'a killed node took %.3f s to leave (lease TTL 2 s)' % killed)
    print('# etcd: clean exit %.0f ms, kill -9 %.0f ms (lease TTL 2 s)'
          % (clean * 1000, killed * 1000), flush=True)
    w.stop_expect(0)


@test
def garbage_ignored_foreign_values_resolved(t):
    e = server()
    fl = fleet('foreign')
    base = '/nomid/%s/cam/' % fl
    e.ctl('put', base + 'garbage', 'not json {')
    e.ctl('put', base + 'badtype', '{"name":"cam","type":"nosuch","endpoint":"tcp://1.2.3.4:1"}')
    e.ctl('put', base + 'missing', '{"name":"cam","type":"pub"}')
    n = node(t, e.url, fl, '--service', 'cam=pub@tcp://127.0.0.1:5611')
    wait_keys(e, base, 4)
    w = resolve(t, e.url, fl, 'cam', '--watch')
    eq(w.line(), '+ tcp://127.0.0.1:5611', 'the node, not the garbage')
    # a program other than nomid writes a valid instance (no lease, no node id)
    e.ctl('put', base + 'foreign', '{"name":"cam","type":"sub","endpoint":"tcp://127.0.0.1:5612"}')
    eq(w.line(), '+ tcp://127.0.0.1:5612', 'foreign instance')
    r = resolve(t, e.url, fl, 'cam', '--wait', '2', '--timeout', '5')
    eq(sorted(r.lines(2)), ['tcp://127.0.0.1:5611', 'tcp://127.0.0.1:5612'], 'both resolved')
    r.expect_exit(0)
    # it turns to garbage, comes back, is deleted
    e.ctl('put', base + 'foreign', '\x01\x02 binary')
    eq(w.line(), '- tcp://127.0.0.1:5612', 'foreign value turned bad')
    e.ctl('put', base + 'foreign', '{"name":"cam","type":"sub","endpoint":"tcp://127.0.0.1:5612"}')
    eq(w.line(), '+ tcp://127.0.0.1:5612', 'foreign value good again')
    e.ctl('del', base + 'foreign')
    eq(w.line(), '- tcp://127.0.0.1:5612', 'foreign key deleted')
    # the garbage is logged once per key, however often it is written
    e.ctl('put', base + 'garbage', 'still not json')
    e.ctl('put', base + 'garbage', '[]')
    time.sleep(0.3)
    check(n.poll() is None, 'the node died: %s' % n.stderr_text())
    err = n.stderr_text()
    eq(err.count('ignoring key %sgarbage' % base), 1, 'log lines about the garbage key')
    check('ignoring key %sbadtype' % base in err and 'ignoring key %smissing' % base in err,
          'bad values logged: %s' % err)
    n.stop_expect(0)
    eq(sorted(e.get_prefix(base)), [base + 'badtype', base + 'garbage', base + 'missing'],
       'only the foreign keys are left')
    e.ctl('del', '--prefix', base)
    w.stop_expect(0)


@test
def prefix_and_fleet_isolate(t):
    e = server()
    fl = fleet('iso')
    node(t, e.url, fl, '--etcd-prefix', '/other/', '--service', 'cam=pub@tcp://127.0.0.1:5621')
    wait_keys(e, '/other/%s/' % fl, 1)
    r = resolve(t, e.url, fl, 'cam', '--etcd-prefix', '/other/', '--wait', '1', '--timeout', '5')
    eq(r.line(), 'tcp://127.0.0.1:5621', 'same prefix')
    r.expect_exit(0)
    r = resolve(t, e.url, fl, 'cam', '--timeout', '0.5')
    r.expect_exit(3)
    r = resolve(t, e.url, fleet('iso-x'), 'cam', '--etcd-prefix', '/other/', '--timeout', '0.5')
    r.expect_exit(3)
    r.expect_no_more_output()


@test
def unreachable_server_at_start(t):
    url = 'http://127.0.0.1:%d' % free_tcp_port()  # nothing listens there
    n = t.nomid('node', '--discovery', 'etcd=' + url, '--service', 'cam=pub@tcp://127.0.0.1:1')
    n.expect_exit(1, timeout=10)
    check(re.search(r'etcd.*%s' % re.escape(url), n.stderr_text()) is not None,
          'no message naming etcd and the URL: %s' % n.stderr_text())
    r = t.nomid('resolve', 'cam', '--discovery', 'etcd=' + url)
    r.expect_exit(1, timeout=10)
    check('etcd' in r.stderr_text(), 'resolve: %s' % r.stderr_text())


@test
def beacons_and_etcd_report_once(t):
    e = server()
    fl = fleet('both')
    n = node(t, e.url, fl, '--discovery', 'beacon', '--service', 'cam=pub@tcp://127.0.0.1:5631')
    args = ('--discovery', 'beacon', '--beacon-interval', IVL)
    p = t.nomid('peers', '--discovery', 'etcd=' + e.url, '--fleet', fl, '--timeout', '1', *args)
    lines = sorted(p.lines(2))
    p.expect_exit(0)
    p.expect_no_more_output()
    eq(lines[0].split()[0], lines[1].split()[0], 'one node id seen by two backends')
    r = resolve(t, e.url, fl, 'cam', '--timeout', '1', *args)
    eq(r.line(), 'tcp://127.0.0.1:5631', 'resolved')
    r.expect_exit(0)
    r.expect_no_more_output()
    w = resolve(t, e.url, fl, 'cam', '--watch', *args)
    eq(w.line(), '+ tcp://127.0.0.1:5631', 'watch')
    n.stop_expect(0)
    eq(w.line(), '- tcp://127.0.0.1:5631', 'leaves once')
    time.sleep(0.5)
    w.stop_expect(0)
    w.expect_no_more_output()


@test
def node_survives_a_wiped_server(t):
    e = Etcd()
    try:
        e.start()
        fl = fleet('restart')
        n = node(t, e.url, fl, '--service', 'cam=pub@tcp://127.0.0.1:5641')
        w = resolve(t, e.url, fl, 'cam', '--watch')
        eq(w.line(), '+ tcp://127.0.0.1:5641', 'before')
        e.kill()
        # the watcher gives the instance up after a few failed attempts
        eq(w.line(timeout=10), '- tcp://127.0.0.1:5641', 'server gone')
        e.start(wipe=True)
        # the node's lease is unknown to the new server: it takes one and puts its key
        eq(w.line(timeout=10), '+ tcp://127.0.0.1:5641', 'after')
        wait_keys(e, '/nomid/%s/' % fl, 1)
        check(n.poll() is None, 'node died')
        check('lost %s' % e.url in n.stderr_text(), 'outage logged: %s' % n.stderr_text())
        n.stop_expect(0)
        eq(w.line(), '- tcp://127.0.0.1:5641', 'clean exit after the restart')
        w.stop_expect(0)
    finally:
        e.close()


TYPES = ['pair', 'pub', 'sub', 'req', 'rep', 'dealer', 'router', 'pull', 'push', 'xpub', 'xsub',
         'stream']


def record_mac(fleet_key, node_hex, name, type_name, endpoint, curve_key=None):
    """BEACON.md, "Signed service records": HMAC-SHA256 under the fleet key over "NMDR",
    version 1, the node id and the entry as a beacon encodes it."""
    t = TYPES.index(type_name) | (0x80 if curve_key is not None else 0)
    entry = (bytes([len(name)]) + name.encode() + bytes([t, len(endpoint)]) + endpoint.encode() +
             (curve_key or b''))
    msg = b'NMDR' + b'\x01' + bytes.fromhex(node_hex) + entry
    return hmac.new(fleet_key, msg, hashlib.sha256).hexdigest()


@test
def values_are_signed_with_the_fleet_key(t):
    e = server()
    fl = fleet('signed')
    kf = os.path.join(e.dir, 'fleet-signed.key')
    key = b'k' * 40
    with open(kf, 'wb') as f:
        f.write(key + b'\n')
    node(t, e.url, fl, '--fleet-key-file', kf, '--service', 'cam=pub@tcp://127.0.0.1:5651')
    (value,) = wait_keys(e, '/nomid/%s/' % fl, 1).values()
    v = json.loads(value)
    check('curve_key' not in v, 'no key for a service that is no CURVE server: %s' % value)
    eq(v.get('mac'), record_mac(key, v['node'], 'cam', 'pub', 'tcp://127.0.0.1:5651'), 'mac')


def keyed_value(key, node_hex, port, public, mac='sign'):
    """A value for service 'api' (a PULL at port, CURVE key public): signed with key, or
    with mac as given (None: no "mac")."""
    ep = 'tcp://127.0.0.1:%d' % port
    v = {'name': 'api', 'type': 'pull', 'endpoint': ep, 'node': node_hex, 'node_name': 'py',
         'addr': '127.0.0.1', 'curve_key': z85.encode(public).decode()}
    if mac == 'sign':
        mac = record_mac(key, node_hex, 'api', 'pull', ep, public)
    if mac is not None:
        v['mac'] = mac
    return json.dumps(v)


def pusher(t, e, fl, *extra):
    return t.nomid('cat', 'push', '--connect', 'svc://api', '--discovery', 'etcd=' + e.url,
                   '--fleet', fl, '-d', 'hello', '--interval', '0.05', *extra)


@test
def curve_key_used_only_when_the_mac_checks(t):
    e = server()
    kf = os.path.join(e.dir, 'fleet-curve.key')
    key = b'f' * 32
    with open(kf, 'wb') as f:
        f.write(key)
    pub_z85, sec_z85 = zmq.curve_keypair()
    public = z85.decode(pub_z85)
    ctx = zmq.Context()
    pull = ctx.socket(zmq.PULL)
    pull.curve_server = True
    pull.curve_secretkey = sec_z85
    pull.linger = 0
    port = pull.bind_to_random_port('tcp://127.0.0.1')
    node_hex = os.urandom(16).hex()
    bad_mac = record_mac(b'x' * 32, node_hex, 'api', 'pull', 'tcp://127.0.0.1:%d' % port, public)
    cases = [  # (tag, mac, the client's fleet key, the key is used)
        ('good', 'sign', True, True),
        ('tampered', bad_mac, True, False),
        ('unsigned', None, True, False),
        ('keyless', 'sign', False, False),
    ]
    try:
        for tag, mac, with_key, used in cases:
            fl = fleet('curve-' + tag)
            e.ctl('put', '/nomid/%s/api/%s/00000001' % (fl, node_hex),
                  keyed_value(key, node_hex, port, public, mac))
            extra = ('--fleet-key-file', kf) if with_key else ()
            r = resolve(t, e.url, fl, 'api', '--wait', '1', '--timeout', '5', *extra)
            eq(r.line(), 'tcp://127.0.0.1:%d' % port, '%s: the instance is kept' % tag)
            r.expect_exit(0)
            c = pusher(t, e, fl, *extra)
            got = pull.poll(5000 if used else 1500)
            if used:
                check(got, '%s: nothing arrived over CURVE: %s' % (tag, c.stderr_text()))
                eq(pull.recv(), b'hello', '%s: message' % tag)
            else:
                check(not got, '%s: a message arrived: the key was used' % tag)
                err = c.stderr_text()
                check("CURVE key of service 'api' ignored" in err,
                      '%s: the dropped key is not logged: %s' % (tag, err))
            c.stop()
            while pull.poll(200):
                pull.recv()
            e.ctl('del', '--prefix', '/nomid/%s/' % fl)
    finally:
        pull.close()
        ctx.term()


if __name__ == '__main__':
    main()
