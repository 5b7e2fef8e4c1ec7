#!/usr/bin/python3
"""An encrypted fleet with no key juggling: three network namespaces (tests/interop/
lan.py), one certificate per host made by `nomid keygen`, one allow directory holding
the three public certificates, one fleet key; nobody sets a server key anywhere.

- A publisher on h1 binds svc://telemetry with --curve-cert and --curve-allow; a
  subscriber on h2 with its own certificate connects to svc://telemetry and receives:
  the server key came in h1's signed beacon.  h1's admin endpoint shows its key and
  the subscriber's pipe: CURVE, h2's key, User-Id h2 (its certificate's name).
- A libzmq program (pyzmq REP on h3, zmq.auth's ThreadAuthenticator on the same allow
  directory, h3's certificate) behind `nomid node --service cmd=rep@... --curve-cert`
  answers h2's `nomid cat req --connect svc://cmd`.
- Refused: a process without a certificate (its pair is made for the connection), one
  with a certificate that is not in the allow directory; h1 logs each refusal.
- Without a fleet key the key in a beacon is not trusted: the subscriber says so and
  gets nothing (its socket has no server key to connect with), until
  --curve-trust-unsigned-keys.
- The bridge's traffic is captured the whole time: none of the payloads is in it,
  while a cleartext control stream (no certificates) is, so the capture really sees
  the payloads' link."""

import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # keep the source tree clean

from lan import Capture, Lan  # noqa: E402
from nmtest import check, eq, test, main, until  # noqa: E402

IVL = 0.2  # beacon interval (seconds)
FLEET = 'fc-%d' % os.getpid()
TAG = os.urandom(6).hex()  # payloads unique to this run
SECRET = 'telemetry-' + TAG
QUESTION = 'question-' + TAG
CLEAR = 'cleartext-' + TAG
NOT_DELIVERED = 3  # nomid cat's exit code for --timeout (NODE_EXIT_TIMEOUT)

REP_PROGRAM = r'''
import sys
import zmq, zmq.auth
from zmq.auth.thread import ThreadAuthenticator
secret_file, allow, host = sys.argv[1:]
ctx = zmq.Context()
auth = ThreadAuthenticator(ctx)
auth.start()
auth.configure_curve(domain='*', location=allow)
public, secret = zmq.auth.load_certificate(secret_file)
s = ctx.socket(zmq.REP)
s.curve_publickey, s.curve_secretkey, s.curve_server = public, secret, True
port = s.bind_to_random_port('tcp://' + host)
print(port, flush=True)
while True:
    s.send(b'answer-to-' + s.recv())
'''


class Fleet:
    """Certificates for h1..h3 and a stranger, the allow directory, the fleet key."""

    def __init__(self, t):
        self.dir = tempfile.mkdtemp(prefix='nomid-fleet-')
        self.allow = os.path.join(self.dir, 'allow')
        os.mkdir(self.allow)
        self.keys = {}
        for name in ('h1', 'h2', 'h3', 'stranger'):
            p = t.nomid('keygen', self.cert(name), '--meta', 'name=' + name)
            self.keys[name] = p.line().split()[1]  # "public-key Z85"
            p.expect_exit(0)
            if name != 'stranger':
                shutil.copy(self.cert(name), self.allow)
        self.key = os.path.join(self.dir, 'fleet.key')
        with open(self.key, 'wb') as f:
            f.write(os.urandom(32).hex().encode())

    def cert(self, name):
        # NAME.key: pyzmq's authenticator reads only *.key files of a directory.
        return os.path.join(self.dir, name + '.key')

    def public(self, name):
        return self.keys[name]

    def secret(self, name):
        return ['--curve-cert', self.cert(name) + '_secret']

    def disc(self, signed=True):
        return ['--interface', 'eth0', '--fleet', FLEET, '--beacon-interval', str(IVL)] + \
            (['--fleet-key-file', self.key] if signed else [])

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def receives(p, want, n=3):
    for _ in range(n):
        eq(p.line(timeout=10), want, 'message received')


def refused(t, host, *args, what):
    """A subscriber on host with args gets nothing; returns its stderr."""
    sub = t.nomid_in(host, 'cat', 'sub', '--connect', 'svc://telemetry', '-n', '1', '--timeout',
                     '3', *args)
    eq(sub.wait(timeout=15), NOT_DELIVERED, '%s: exit code (nothing delivered)' % what)
    got = sub.rest()
    check(got == [], '%s received %r' % (what, got))
    return sub.stderr_text()


@test(limit=120)
def svc_connections_are_encrypted_and_strangers_refused(t):
    fl = Fleet(t)
    lan = Lan(3, 'fc')
    rep = None
    try:
        h1, h2, h3 = lan.hosts
        cap = Capture(os.path.join(fl.dir, 'bridge.pcap'), 'tcp', dev='br0', netns=lan.bridge_ns)

        pub = t.nomid_in(h1, 'cat', 'pub', '--bind', 'svc://telemetry', '-d', SECRET, '--interval',
                         '0.05', *fl.secret('h1'), '--curve-allow', fl.allow, *fl.disc(),
                         '--admin', '127.0.0.1:7070')
        pub.wait_bound()
        sub = t.nomid_in(h2, 'cat', 'sub', '--connect', 'svc://telemetry', *fl.secret('h2'),
                         *fl.disc())
        receives(sub, SECRET)
        # h1's admin endpoint: its key, and the subscriber's pipe over CURVE, named h2.
        summary = json.loads(subprocess.run(
            ['ip', 'netns', 'exec', h1, 'curl', '-sf', 'http://127.0.0.1:7070/api/v1/summary'],
            check=True, capture_output=True, text=True).stdout)
        eq(summary['curve_key'], fl.public('h1'), "h1's curve_key")
        pipes = [p for s in summary['sockets'] for p in s['pipes']
                 if p['peer'] and p['endpoint'].startswith('tcp://')]
        eq([(p['mechanism'], p['peer_key'], p['user_id']) for p in pipes],
           [('CURVE', fl.public('h2'), 'h2')], "h1's pipes: mechanism, peer key, User-Id")

        # Strangers: no certificate, and a certificate the allow directory lacks.
        refusals = lambda: [line for line in pub.err if line and 'refused CURVE client' in line]
        n = len(refusals())
        refused(t, h3, *fl.disc(), what='a process without a certificate')
        until('h1 to log the refusal', lambda: len(refusals()) > n, 5)
        n = len(refusals())
        refused(t, h3, *fl.secret('stranger'), *fl.disc(), what='a stranger')
        until('h1 to log the refusal of the stranger', lambda: len(refusals()) > n, 5)
        receives(sub, SECRET)  # the member is served all along

        # A libzmq program behind a certified node, found by name.
        rep = subprocess.Popen(['ip', 'netns', 'exec', h3, '/usr/bin/python3', '-c', REP_PROGRAM,
                                fl.cert('h3') + '_secret', fl.allow, lan.addr(2)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        port = rep.stdout.readline().strip()
        check(port.isdigit(), 'the pyzmq REP bound: %r %s' % (port, rep.stderr.read()
                                                              if rep.poll() is not None else ''))
        t.nomid_in(h3, 'node', '--service', 'cmd=rep@tcp://%s:%s' % (lan.addr(2), port),
                   *fl.secret('h3'), '--curve-allow', fl.allow, *fl.disc())
        req = t.nomid_in(h2, 'cat', 'req', '--connect', 'svc://cmd', '-d', QUESTION, '--timeout',
                         '10', *fl.secret('h2'), *fl.disc())
        eq(req.line(timeout=15), 'answer-to-' + QUESTION, 'the libzmq server answered')
        req.expect_exit(0)

        # Cleartext control: the capture does see payloads on this link.
        plain = t.nomid_in(h1, 'cat', 'pub', '--bind', 'svc://plain', '-d', CLEAR, '--interval',
                           '0.05', *fl.disc())
        plain.wait_bound()
        ctl = t.nomid_in(h2, 'cat', 'sub', '--connect', 'svc://plain', *fl.disc())
        receives(ctl, CLEAR)

        wire = cap.stop()
        check(CLEAR.encode() in wire, 'the capture holds the cleartext control stream')
        for text in (SECRET, QUESTION, 'answer-to-' + QUESTION):
            check(text.encode() not in wire, '%r crossed the bridge in clear' % text)
        print('capture: %d bytes of tcp on the bridge, no encrypted payload in clear' % len(wire),
              flush=True)
    finally:
        if rep is not None:
            rep.kill()
            rep.wait()
        lan.close()
        fl.close()


@test(limit=90)
def keys_from_unsigned_beacons_are_not_trusted(t):
    fl = Fleet(t)
    lan = Lan(2, 'fu')
    try:
        h1, h2 = lan.hosts
        pub = t.nomid_in(h1, 'cat', 'pub', '--bind', 'svc://telemetry', '-d', SECRET, '--interval',
                         '0.05', *fl.secret('h1'), '--curve-allow', fl.allow,
                         *fl.disc(signed=False))
        pub.wait_bound()
        err = refused(t, h2, *fl.secret('h2'), *fl.disc(signed=False),
                      what='a member trusting no unsigned key')
        check("CURVE key of service 'telemetry' ignored: no fleet key authenticated" in err,
              'the subscriber says why it did not use the key: %s' % err)
        sub = t.nomid_in(h2, 'cat', 'sub', '--connect', 'svc://telemetry', '-n', '2',
                         '--curve-trust-unsigned-keys', *fl.secret('h2'), *fl.disc(signed=False))
        receives(sub, SECRET, n=2)
        sub.expect_exit(0)
    finally:
        lan.close()
        fl.close()


if __name__ == '__main__':
    main()
