#!/usr/bin/python3
"""The admin endpoint over HTTPS (--admin-tls-cert/--admin-tls-key, --admin-tls-ca), with
certificates made by openssl for the test in a temporary directory: curl reaches it with
the CA and not without, plain HTTP to the port fails, tokens are checked as over HTTP; a
capture of loopback (tcpdump) holds the bearer token of a plain HTTP request and not that
of an HTTPS one; bad or mismatched files stop the node with a message naming them.
Peers' topology fetches verify the certificate: with the CA (a wrong CA is refused),
with the public key hash from beacons signed with the fleet key (no CA), never with a
hash no fleet key vouched for; a forged beacon signed with the key whose hash is not
the server's key is refused, and one with the right hash is fetched (so the hash is
really compared).  Every refusal shows as the peer's admin_error in the topology and in
the log.  On loopback, each fleet its own name, but for one fleet of two network
namespaces whose link is captured while nodes fetch each other's summaries."""

import base64
import hashlib
import hmac
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading

sys.dont_write_bytecode = True  # keep the source tree clean

from lan import Capture, Lan  # noqa: E402
from nmtest import check, eq, free_tcp_port, test, main, until, wait_admin  # noqa: E402

IVL = '0.2'
TOKEN = 'https-test-token-0123456789'
KEY = b'k' * 40  # the fleet key of the signed fleets


def fleet(tag):
    return 'tls-%d-%s' % (os.getpid(), tag)


def openssl(*args, cwd):
    p = subprocess.run(('openssl',) + args, cwd=cwd, capture_output=True, text=True, timeout=30)
    check(p.returncode == 0, 'openssl %s: %s' % (' '.join(args), p.stderr))


class Certs:
    """A CA (ca.pem), a second unrelated CA (ca2.pem), and two server certificates for
    127.0.0.1 signed by the first, each with its own key (srv1.pem/srv1.key,
    srv2.pem/srv2.key); the token and fleet key files too."""

    def __init__(self, ips=('127.0.0.1',)):
        self.dir = tempfile.mkdtemp(prefix='nomid-tls-')
        d = self.dir
        ec = ('-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes')
        for ca in ('ca', 'ca2'):
            openssl('req', '-x509', *ec, '-keyout', ca + '.key', '-out', ca + '.pem', '-days',
                    '2', '-subj', '/CN=nomid test %s' % ca, cwd=d)
        with open(os.path.join(d, 'ext.cnf'), 'w') as f:
            f.write('subjectAltName=%s\nbasicConstraints=CA:FALSE\n'
                    % ','.join('IP:' + ip for ip in ips))
        for srv in ('srv1', 'srv2'):
            openssl('req', *ec, '-keyout', srv + '.key', '-out', srv + '.csr', '-subj',
                    '/CN=nomid test node', cwd=d)
            openssl('x509', '-req', '-in', srv + '.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key',
                    '-CAcreateserial', '-out', srv + '.pem', '-days', '2', '-extfile', 'ext.cnf',
                    cwd=d)
        self.write('token', TOKEN + '\n')
        self.write('fleet.key', KEY.decode() + '\n')

    def path(self, name):
        return os.path.join(self.dir, name)

    def write(self, name, text):
        with open(self.path(name), 'w') as f:
            f.write(text)
        return self.path(name)

    def pin(self, name):
        """SHA-256 of the certificate's SubjectPublicKeyInfo (DER), as openssl sees it."""
        pub = subprocess.run(['openssl', 'x509', '-in', self.path(name), '-pubkey', '-noout'],
                             capture_output=True, check=True).stdout
        der = subprocess.run(['openssl', 'pkey', '-pubin', '-outform', 'DER'], input=pub,
                             capture_output=True, check=True).stdout
        return hashlib.sha256(der).digest()

    def https(self, srv):
        return ('--admin-tls-cert', self.path(srv + '.pem'), '--admin-tls-key',
                self.path(srv + '.key'))

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def curl(url, *extra, token=None):
    """(exit code of curl, status, body) of a GET."""
    args = ['curl', '-sS', '--max-time', '5', '-o', '-', '-w', '\n%{http_code}', url]
    if token:
        args += ['-H', 'Authorization: Bearer ' + token]
    p = subprocess.run(args + list(extra), capture_output=True, timeout=15)
    body, _, status = p.stdout.rpartition(b'\n')
    return p.returncode, int(status or b'0'), body


def node(t, c, fl, *extra, name='n', admin=None, pub=False):
    """A node (or, with pub, `nomid cat pub` whose summary has a socket) of fleet fl with
    an admin endpoint; returns (process, admin URL)."""
    port = admin or free_tcp_port()
    common = ('--admin', '127.0.0.1:%d' % port, '--fleet', fl, '--beacon-interval', IVL,
              '--name', name) + extra
    if pub:
        p = t.nomid('cat', 'pub', '--bind', 'tcp://127.0.0.1:0', '-d', 'x', '--interval', '0.2',
                    *common)
    else:
        p = t.nomid('node', *common)
    return p, wait_admin(p)


def topology(url, c):
    rc, status, body = curl(url + 'api/v1/topology', '--cacert', c.path('ca.pem'), token=TOKEN)
    eq((rc, status), (0, 200), 'GET %sapi/v1/topology' % url)
    return {n['name']: n for n in json.loads(body)['nodes']}



def peer_state(url, c, name, want_error):
    """Waits until url's topology shows peer `name` fetched (its summary's sockets, no
    admin_error) or, with want_error (a substring), refused with that error; returns the
    node."""
    def look():
        n = topology(url, c).get(name)
        if n is None:
            return None
        if want_error is None:
            return n if n['admin_error'] is None and n['sockets'] else None
        return n if n['admin_error'] and want_error in n['admin_error'] else None
    try:
        return until('%s in the topology of %s %s' % (name, url, 'fetched' if want_error is None
                                                        else 'with error ' + repr(want_error)),
                     look, timeout=20)
    except Exception:
        print('topology of %s: %s' % (url, json.dumps(topology(url, c).get(name))), flush=True)
        raise


@test(limit=90)
def https_with_its_certificate_and_token(t):
    c = Certs()
    try:
        p, url = node(t, c, fleet('serve'), '--admin-token-file', c.path('token'), *c.https('srv1'))
        check(url.startswith('https://127.0.0.1:'), 'the admin line says https: %s' % url)
        logged = until('the key hash in the log',
                       lambda: re.search(r'public key is sha256//(\S+) ', p.stderr_text()),
                       timeout=10).group(1)
        eq(base64.b64decode(logged), c.pin('srv1.pem'), 'the logged hash is openssl\'s')
        ca = ('--cacert', c.path('ca.pem'))
        eq(curl(url + 'healthz', *ca)[:3], (0, 200, b'ok\n'), 'healthz over https with the CA')
        rc, _, _ = curl(url + 'healthz', '--cacert', c.path('ca2.pem'))
        eq(rc, 60, 'curl exit code with another CA (60: certificate not verified)')
        rc, _, _ = curl(url + 'healthz')
        check(rc in (60, 77), 'curl exit code with the system CAs only (60: not verified, 77: '
              'no system CA bundle): %d' % rc)
        rc, _, _ = curl(url.replace('https://', 'http://') + 'healthz')
        check(rc != 0, 'plain HTTP to the HTTPS port must fail (curl exit %d)' % rc)
        # Hostile bytes: a TLS record header with garbage, a handshake that stops
        # half-way; the endpoint goes on serving.
        port = int(url.rsplit(':', 1)[1].strip('/'))
        for junk in (b'\x16\x03\x01\xff\xff' + os.urandom(512), b'\x16\x03\x01\x02\x00\x01',
                     os.urandom(4096)):
            with socket.create_connection(('127.0.0.1', port), timeout=5) as sk:
                sk.sendall(junk)
        eq(curl(url + 'healthz', *ca)[:2], (0, 200), 'healthz after hostile bytes')
        # The token, as over HTTP.
        eq(curl(url + 'api/v1/node', *ca)[1], 401, 'no token over https')
        eq(curl(url + 'api/v1/node', *ca, token='x' * 20)[1], 401, 'a wrong token over https')
        rc, status, body = curl(url + 'api/v1/node', *ca, token=TOKEN)
        eq((rc, status), (0, 200), 'the token over https')
        eq(json.loads(body)['admin'], url, 'node.admin says https')
        # The same key hash, pinned by curl with no CA at all.
        pin = 'sha256//' + logged
        eq(curl(url + 'healthz', '-k', '--pinnedpubkey', pin)[:2], (0, 200), 'pinned')
        p.stop_expect(0)
    finally:
        c.close()


@test(limit=90)
def bad_files_stop_the_node_naming_them(t):
    c = Certs()
    try:
        cases = [
            (('--admin-tls-cert', c.path('srv1.pem')), 'go together'),
            (('--admin-tls-key', c.path('srv1.key')), 'go together'),
            (('--admin-tls-cert', c.path('srv1.pem'), '--admin-tls-key', c.path('srv2.key')),
             'srv2.key does not hold the private key of the certificate in'),
            (('--admin-tls-cert', c.path('nothing.pem'), '--admin-tls-key', c.path('srv1.key')),
             'nothing.pem: No such file'),
            (('--admin-tls-cert', c.path('srv1.key'), '--admin-tls-key', c.path('srv1.key')),
             'not a PEM certificate'),
            (('--admin-tls-ca', c.path('srv1.key')), 'not a PEM file of CA certificates'),
        ]
        big = c.write('big.pem', 'A' * (300 * 1024))
        cases.append((('--admin-tls-ca', big), 'larger than 256 KiB'))
        for args, want in cases:
            p = t.nomid('node', '--admin', '127.0.0.1:%d' % free_tcp_port(), '--fleet',
                        fleet('bad'), *args)
            p.expect_exit(2)
            check(want in p.stderr_text(), '%s: %r not in %s' % (args, want, p.stderr_text()))
        # The config file's keys, relative to its directory, serve HTTPS the same way.
        cfg = c.write('node.json', json.dumps({
            'fleet': fleet('cfg'), 'admin': '127.0.0.1:%d' % free_tcp_port(),
            'admin_tls_cert': 'srv1.pem', 'admin_tls_key': 'srv1.key',
            'admin_tls_ca': 'ca.pem'}))
        p = t.nomid('node', '--config', cfg)
        url = wait_admin(p)
        check(url.startswith('https://'), 'config file: %s' % url)
        eq(curl(url + 'healthz', '--cacert', c.path('ca.pem'))[:2], (0, 200), 'config https')
        p.stop_expect(0)
        bad = c.write('bad.json', json.dumps({'admin_tls_cert': 'srv1.pem'}))
        p = t.nomid('node', '--config', bad, '--admin', '127.0.0.1:%d' % free_tcp_port())
        p.expect_exit(2)
        check('go together' in p.stderr_text(), p.stderr_text())
    finally:
        c.close()


@test(limit=90)
def the_token_is_not_on_the_wire(t):
    check(shutil.which('tcpdump') is not None, 'tcpdump is needed (tests/run.sh installs it)')
    c = Certs()
    try:
        fl = fleet('wire')
        tok = ('--admin-token-file', c.path('token'))
        _, s_url = node(t, c, fl, *tok, *c.https('srv1'), name='s')
        _, p_url = node(t, c, fl + '-plain', *tok, name='p')
        caps = {}
        for what, url, extra in (('https', s_url, ('--cacert', c.path('ca.pem'))),
                                 ('http', p_url, ())):
            port = int(url.rsplit(':', 1)[1].strip('/'))
            cap = Capture(c.path(what + '.pcap'), 'tcp port %d' % port)
            try:
                eq(curl(url + 'api/v1/node', *extra, token=TOKEN)[:2], (0, 200),
                   'an authorized request over %s' % what)
            finally:
                caps[what] = cap.stop()
        check(TOKEN.encode() in caps['http'],
              'the control: the token is in the capture of the plain HTTP request (%d bytes)'
              % len(caps['http']))
        check(len(caps['https']) > 1000 and b'\x16\x03' in caps['https'],
              'the HTTPS capture holds a TLS handshake (%d bytes)' % len(caps['https']))
        check(TOKEN.encode() not in caps['https'],
              'the token is in the capture of the HTTPS request')
        print('captured %d bytes of HTTPS (no token), %d of HTTP (token seen)'
              % (len(caps['https']), len(caps['http'])), flush=True)
    finally:
        c.close()


@test(limit=120)
def fetches_across_a_link_carry_no_token_in_clear(t):
    """Two hosts (network namespaces on a bridge, tests/interop/lan.py), a node on each
    with admin on its LAN address behind the fleet's token: the first node's topology
    fetch of the second's summary crosses the link.  A capture on the second host's
    link holds the token when the fleet's admin is plain HTTP (the control) and not when
    it is HTTPS, where the fetch verifies the certificate, issued for both hosts'
    addresses, with the CA."""
    check(shutil.which('tcpdump') is not None, 'tcpdump is needed (tests/run.sh installs it)')
    lan = Lan(2, 'tls')
    c = Certs(ips=(lan.addr(0), lan.addr(1)))
    try:
        h1, h2 = lan.hosts
        caps = {}
        for mode in ('http', 'https'):
            fl = fleet('link-' + mode)
            tls = (c.https('srv1') + ('--admin-tls-ca', c.path('ca.pem'))
                   if mode == 'https' else ())
            common = ('--interface', 'eth0', '--fleet', fl, '--beacon-interval', IVL,
                      '--admin-token-file', c.path('token')) + tls
            b_port, a_port = free_tcp_port(), free_tcp_port()
            cap = Capture(c.path('link-%s.pcap' % mode), 'tcp port %d' % b_port, dev='eth0',
                          netns=h2)
            try:
                b = t.nomid_in(h2, 'cat', 'pub', '--bind', 'tcp://%s:0' % lan.addr(1), '-d', 'x',
                               '--interval', '0.2', '--name', 'b', '--admin',
                               '%s:%d' % (lan.addr(1), b_port), *common)
                b_url = wait_admin(b)
                a = t.nomid_in(h1, 'node', '--name', 'a', '--admin',
                               '%s:%d' % (lan.addr(0), a_port), *common)
                a_url = wait_admin(a)
                eq((a_url, b_url), ('%s://%s:%d/' % (mode, lan.addr(0), a_port),
                                    '%s://%s:%d/' % (mode, lan.addr(1), b_port)), 'admin URLs')

                def fetched():
                    p = subprocess.run(['ip', 'netns', 'exec', h1, 'curl', '-sS', '--max-time',
                                        '5', '--cacert', c.path('ca.pem'), '-H',
                                        'Authorization: Bearer ' + TOKEN,
                                        a_url + 'api/v1/topology'], capture_output=True,
                                       timeout=15)
                    nodes = {n['name']: n for n in json.loads(p.stdout or b'{}').get('nodes', [])}
                    n = nodes.get('b')
                    return n if n and n['admin_error'] is None and n['sockets'] else None
                n = until('b fetched by a across the link over %s' % mode, fetched, timeout=20)
                eq(n['admin'], b_url, 'b\'s admin URL in a\'s topology')
            finally:
                caps[mode] = cap.stop()
            a.stop_expect(0)
            b.stop_expect(0)
        check(TOKEN.encode() in caps['http'],
              'the control: the token is in the capture of a plain HTTP fetch (%d bytes)'
              % len(caps['http']))
        check(b'\x16\x03' in caps['https'], 'the HTTPS capture holds a TLS handshake')
        check(TOKEN.encode() not in caps['https'],
              'the token is in the capture of an HTTPS fetch across the link')
        print('link capture: %d bytes of HTTPS fetches (no token), %d of HTTP (token seen)'
              % (len(caps['https']), len(caps['http'])), flush=True)
    finally:
        c.close()
        lan.close()


@test(limit=120)
def fetches_verify_with_the_ca(t):
    """No fleet key: a fetcher with the CA gets an HTTPS peer's summary, one with another
    CA is refused, one with neither CA nor an authenticated hash is refused, and a plain
    HTTP peer does not get the token of a node that uses HTTPS."""
    c = Certs()
    try:
        fl = fleet('ca')
        tok = ('--admin-token-file', c.path('token'))
        _, b_url = node(t, c, fl, *tok, *c.https('srv1'), name='b', pub=True)
        _, good = node(t, c, fl, *tok, *c.https('srv2'), '--admin-tls-ca', c.path('ca.pem'),
                       name='good')
        wrong, wrong_url = node(t, c, fl, *tok, *c.https('srv2'), '--admin-tls-ca',
                                c.path('ca2.pem'), name='wrong')
        none, none_url = node(t, c, fl, *tok, *c.https('srv2'), name='none')
        _, plain_url = node(t, c, fl, *tok, name='plain', pub=True)
        b = peer_state(good, c, 'b', None)
        check(b['admin'] == b_url and b['sockets'][0]['type'] == 'pub', 'b as fetched: %s' % b)
        peer_state(good, c, 'plain', 'plain HTTP, and this node sends its token over HTTPS only')
        peer_state(wrong_url, c, 'b', 'certificate')
        peer_state(none_url, c, 'b', 'not authenticated (no fleet key)')
        check(re.search(r'^WARN admin: topology: cannot fetch the summary of b .* at '
                        r'https://127\.0\.0\.1:\d+/api/v1/summary: SSL certificate problem',
                        wrong.stderr_text(), re.M), 'the log says why: %s' % wrong.stderr_text())
        # The plain node itself (HTTP, no CA) still fetches b over verified HTTPS only:
        # without a CA or fleet key it cannot.
        peer_state(plain_url, c, 'b', 'cannot verify its HTTPS certificate')
    finally:
        c.close()


def beacon(fl, name, node_id, seq, admin_port, pin, key):
    """A beacon (discovery/BEACON.md) of a node with no service, admin on admin_port
    over HTTPS with key hash pin, signed with key (or not)."""
    flags = 0x04 | 0x08 | (0x02 if key else 0)
    body = (b'NMDB' + bytes([1, flags]) + node_id + struct.pack('>II', 1, seq) +
            bytes([len(fl)]) + fl.encode() + bytes([len(name)]) + name.encode() +
            struct.pack('>HH', 0, admin_port) + hashlib.blake2b(b'', digest_size=32).digest()[:8] +
            struct.pack('>HB', 0, 0) + pin)
    return body + (hmac.new(key, body, hashlib.sha256).digest() if key else b'')


class Forger:
    """Sends forged beacons to the loopback beacon group every 0.1 s until stopped."""

    def __init__(self, beacons):
        self.beacons = beacons  # [(fleet, name, admin port, pin, key)]
        self.stopped = threading.Event()
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton('127.0.0.1'))
        self.s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
        self.ids = [os.urandom(16) for _ in beacons]
        self.th = threading.Thread(target=self.run, daemon=True)
        self.th.start()

    def run(self):
        seq = 0
        while not self.stopped.wait(0.1):
            seq += 1
            for nid, (fl, name, port, pin, key) in zip(self.ids, self.beacons):
                self.s.sendto(beacon(fl, name, nid, seq, port, pin, key),
                              ('239.255.110.109', 5670))

    def stop(self):
        self.stopped.set()
        self.th.join(5)
        self.s.close()


@test(limit=120)
def fetches_verify_with_the_signed_key_hash(t):
    """A fleet key and no CA: the key hash from the signed beacons is what the certificate
    is checked against.  Forged beacons (signed with the fleet key, as only a member
    could) point at a server whose key is srv2's: with srv1's hash it is refused, with
    srv2's it is fetched.  Without a fleet key the same correct hash is not trusted."""
    c = Certs()
    forger = None
    try:
        fl = fleet('pin')
        tok = ('--admin-token-file', c.path('token'))
        key = ('--fleet-key-file', c.path('fleet.key'))
        _, a_url = node(t, c, fl, *tok, *key, *c.https('srv1'), name='a', pub=True)
        _, b_url = node(t, c, fl, *tok, *key, *c.https('srv2'), name='b', pub=True)
        # The server behind the forged beacons, in a fleet of its own.
        _, x_url = node(t, c, fleet('pin-x'), *tok, *c.https('srv2'), name='x', pub=True)
        _, nokey_url = node(t, c, fleet('pin-nokey'), *tok, *c.https('srv1'), name='nokey')
        x_port = int(x_url.rsplit(':', 1)[1].strip('/'))
        forger = Forger([(fl, 'forged-wrong', x_port, c.pin('srv1.pem'), KEY),
                         (fl, 'forged-right', x_port, c.pin('srv2.pem'), KEY),
                         (fleet('pin-nokey'), 'signed-unchecked', x_port, c.pin('srv2.pem'),
                          b'j' * 40)])
        b = peer_state(a_url, c, 'b', None)
        eq(b['admin'], b_url, 'b\'s admin URL')
        peer_state(b_url, c, 'a', None)
        peer_state(a_url, c, 'forged-wrong', 'public key does not match pinned public key')
        peer_state(a_url, c, 'forged-right', None)
        peer_state(nokey_url, c, 'signed-unchecked', 'not authenticated (no fleet key)')
    finally:
        if forger is not None:
            forger.stop()
        c.close()


if __name__ == '__main__':
    main()
