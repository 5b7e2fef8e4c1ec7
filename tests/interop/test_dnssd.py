#!/usr/bin/python3
"""DNS-SD discovery (`--discovery dnssd`) through real avahi-daemons on two simulated hosts.

The file builds two network namespaces, host A and host B, joined by a veth pair with
private addresses (10.213.N.1/24 and .2/24, multicast on) and by a second veth pair
with fixed IPv6 link-local addresses only (fe80::213:1 and :2); each host runs its own
dbus-daemon (a system bus on a socket in a temporary directory) and its own
avahi-daemon (allow-interfaces = its two veth ends, in a private mount namespace so that
its /run/avahi-daemon is its own).  nomid, avahi-browse and avahi-publish run inside a
host's namespace with DBUS_SYSTEM_BUS_ADDRESS pointing at that host's bus.

Cases: a node on A publishes and avahi-browse on B (a client nomid did not write) sees
its TXT record, `txtvers=1` first on the wire; `nomid resolve` on B resolves it with
A's address and names the dnssd backend; --watch follows a clean exit (the time to the
`-` line is printed: avahi keeps a goodbye'd record one more second, RFC 6762 10.1);
an instance published by avahi-publish with valid TXT keys is resolved while garbage
TXT records are ignored without harm; another fleet is not seen; a node publishes
nothing on an interface it was not given; two nodes with the same instance name are
both found (one renamed on collision), as are several instances of one service on one
node (an ipc one with SRV port 0); on the IPv6-only link the endpoint carries the
link-local address and the interface it arrived on; without an avahi-daemon `nomid
node` and `nomid resolve` exit 1 naming avahi; nodes follow an avahi-daemon restart
on either host; and with a fleet key a node's record carries `mac=` (recomputed here in
Python, BEACON.md "Signed service records"), while a record with a CURVE key `ck=` is
resolved either way but its key is used only when its `mac=` checks (a dropped key is
logged).

Everything started here (daemons, nomid processes, namespaces, the temporary
directory) is stopped or removed when the file ends, pass or fail; namespaces left by
a killed earlier run (their pid gone) are removed at start.  Creating namespaces needs
root: without it the file fails, it does not skip.
"""

import hashlib
import hmac
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True  # keep the source tree clean

from zmq.utils import z85  # noqa: E402

import nmtest  # noqa: E402
from nmtest import Fail, check, eq, test  # noqa: E402

PID = os.getpid()
NET = 10 + PID % 240  # third octet of the hosts' /24
SETPRIV = shutil.which('setpriv')
DAEMON_WAIT = 15.0    # for a daemon to come up (busy CI machine, two ctest files at a time)


def sh(*args, check_rc=True):
    """Runs a setup command; a failure is fatal with its stderr."""
    r = subprocess.run([str(a) for a in args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    if check_rc and r.returncode != 0:
        raise Fail('%s: exit %d: %s' % (' '.join(map(str, args)), r.returncode, r.stderr.strip()))
    return r


def unescape(s):
    """avahi-browse -p writes bytes outside [A-Za-z0-9 ...] as \\DDD (decimal)."""
    return re.sub(r'\\(\d{3})', lambda m: chr(int(m.group(1))), s)


class Proc:
    """A helper process (daemon, avahi-browse, avahi-publish) with its output in a queue."""

    def __init__(self, argv, env):
        cmd = ([SETPRIV, '--pdeathsig', 'KILL', '--'] if SETPRIV else []) + argv
        self.argv = argv
        self.lines = queue.Queue()
        self.text = []
        self.p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, env=env, text=True, errors='replace')
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in iter(self.p.stdout.readline, ''):
            self.text.append(line.rstrip('\n'))
            self.lines.put(line.rstrip('\n'))
        self.lines.put(None)

    def wait_line(self, pred, timeout, what):
        """The first output line pred accepts, waiting up to timeout seconds."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Fail('%s: no %s within %gs; output: %s'
                           % (self.argv[0], what, timeout, nmtest.short(self.text[-8:], 600)))
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                self.lines.put(None)
                raise Fail('%s exited (%s) before printing %s; output: %s'
                           % (self.argv[0], self.p.poll(), what,
                              nmtest.short(self.text[-8:], 600)))
            if pred(line):
                return line

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(5)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(5)


class HostNomid(nmtest.Nomid):
    """`nomid ...` inside a host's namespace, on that host's D-Bus (else as nmtest.Nomid:
    the same readers, waits, stop/kill and sanitizer checks)."""

    def __init__(self, host, args):
        binary = nmtest.nomid_bin()
        if binary is None:
            raise Fail('nomid binary not found: set NOMID_BIN')
        self.argv = [binary] + [str(a) for a in args]
        self.out_q = queue.Queue()
        self.out_seen = []
        self.err = []
        self.bound_eps = []
        self.cond = threading.Condition()
        self.started = time.monotonic()
        cmd = (([SETPRIV, '--pdeathsig', 'KILL', '--'] if SETPRIV else []) + host.prefix() +
               self.argv)
        self.p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, env=host.env(nmtest._child_env()))
        self.t_out = threading.Thread(target=self._read_out, daemon=True)
        self.t_err = threading.Thread(target=self._read_err, daemon=True)
        self.t_out.start()
        self.t_err.start()

    def wait_ready(self, timeout=nmtest.WAIT):
        deadline = time.monotonic() + timeout
        while 'ready' not in self.stderr_text().split('\n'):
            check(self.poll() is None, 'nomid %s exited early: %s' % (self.name(),
                                                                    self.stderr_text()))
            check(time.monotonic() < deadline, 'nomid %s printed no ready line' % self.name())
            time.sleep(0.02)
        return self


class Host:
    """One simulated machine: a namespace, one veth end, a dbus-daemon, an avahi-daemon."""

    def __init__(self, tag, addr, tmp):
        self.tag = tag
        self.ns = 'nmdns%s%d' % (tag, PID)
        self.ifname = 'nmv%s%d' % (tag.lower(), PID)  # at most 15 bytes
        self.if6 = 'nm6%s%d' % (tag.lower(), PID)     # the IPv6-only link
        self.addr6 = 'fe80::213:%d' % (ord(tag) - ord('A') + 1)
        self.addr = addr
        self.dir = os.path.join(tmp, tag)
        self.bus = 'unix:path=' + os.path.join(self.dir, 'bus')
        self.dbus = None
        self.avahi = None
        self.helpers = []
        os.mkdir(self.dir)

    def prefix(self):
        return ['ip', 'netns', 'exec', self.ns]

    def env(self, base=None):
        env = dict(base if base is not None else os.environ)
        env['DBUS_SYSTEM_BUS_ADDRESS'] = self.bus
        return env

    def start_dbus(self):
        conf = os.path.join(self.dir, 'dbus.conf')
        with open(conf, 'w') as f:
            f.write('''<!DOCTYPE busconfig PUBLIC
 "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>%s</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
  </policy>
</busconfig>
''' % self.bus)
        self.dbus = Proc(self.prefix() + ['dbus-daemon', '--config-file=' + conf, '--nofork',
                                          '--nopidfile', '--print-address=1'], self.env())
        self.dbus.wait_line(lambda l: l.startswith('unix:'), DAEMON_WAIT, 'bus address')

    def start_avahi(self):
        conf = os.path.join(self.dir, 'avahi-daemon.conf')
        with open(conf, 'w') as f:
            f.write('''[server]
host-name=nmtest%s%d
domain-name=local
use-ipv4=yes
use-ipv6=yes
allow-interfaces=%s,%s
enable-dbus=yes
ratelimit-interval-usec=1000000
ratelimit-burst=1000
[wide-area]
enable-wide-area=no
[publish]
disable-publishing=no
publish-hinfo=no
publish-workstation=no
publish-addresses=yes
[reflector]
enable-reflector=no
[rlimits]
''' % (self.tag.lower(), PID, self.ifname, self.if6))
        # avahi-daemon 0.8 insists on /run/avahi-daemon (pid file, socket): give it a
        # private /run in a mount namespace of its own.
        script = 'mount -t tmpfs nmtest /run && exec avahi-daemon -f %s --no-drop-root ' \
                 '--no-chroot --no-rlimits --no-proc-title' % conf
        self.avahi = Proc(self.prefix() + ['unshare', '-m', '--propagation', 'private',
                                           'sh', '-c', script], self.env())
        self.avahi.wait_line(lambda l: 'Server startup complete' in l, DAEMON_WAIT,
                             '"Server startup complete"')

    def stop_avahi(self):
        if self.avahi is not None:
            self.avahi.stop()
            self.avahi = None

    def helper(self, *argv):
        """avahi-browse / avahi-publish on this host; stopped at the end of the file."""
        p = Proc(self.prefix() + list(argv), self.env())
        self.helpers.append(p)
        return p

    def nomid(self, t, *args):
        p = HostNomid(self, args)
        t.procs.append(p)
        return p

    def stop(self):
        for p in self.helpers:
            p.stop()
        self.stop_avahi()
        if self.dbus is not None:
            self.dbus.stop()
            self.dbus = None


class Net:
    """The two hosts and the link between them."""

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix='nomid-dnssd-%d-' % PID)
        self.a = Host('A', '10.213.%d.1' % NET, self.tmp)
        self.b = Host('B', '10.213.%d.2' % NET, self.tmp)

    def up(self):
        remove_stale_namespaces()
        for h in (self.a, self.b):
            r = sh('ip', 'netns', 'add', h.ns, check_rc=False)
            if r.returncode != 0:
                raise Fail('cannot create network namespace %s (root needed): %s'
                           % (h.ns, r.stderr.strip()))
        sh('ip', 'link', 'add', self.a.ifname, 'netns', self.a.ns, 'type', 'veth',
           'peer', 'name', self.b.ifname, 'netns', self.b.ns)
        # A second link with IPv6 link-local addresses only (fixed ones, no DAD wait).
        sh('ip', 'link', 'add', self.a.if6, 'netns', self.a.ns, 'type', 'veth',
           'peer', 'name', self.b.if6, 'netns', self.b.ns)
        for h in (self.a, self.b):
            sh('ip', '-n', h.ns, 'addr', 'add', h.addr + '/24', 'dev', h.ifname)
            sh('ip', '-n', h.ns, 'link', 'set', h.ifname, 'multicast', 'on', 'up')
            sh('ip', '-n', h.ns, 'link', 'set', h.if6, 'addrgenmode', 'none')
            sh('ip', '-n', h.ns, 'addr', 'add', h.addr6 + '/64', 'dev', h.if6, 'nodad')
            sh('ip', '-n', h.ns, 'link', 'set', h.if6, 'multicast', 'on', 'up')
            sh('ip', '-n', h.ns, 'link', 'set', 'lo', 'up')
        for h in (self.a, self.b):
            h.start_dbus()
            h.start_avahi()

    def down(self):
        for h in (self.a, self.b):
            h.stop()
        for h in (self.a, self.b):
            sh('ip', 'netns', 'del', h.ns, check_rc=False)
        shutil.rmtree(self.tmp, True)


def remove_stale_namespaces():
    """Namespaces and directories of an earlier run killed before it could clean up."""
    r = sh('ip', 'netns', 'list', check_rc=False)
    for line in r.stdout.splitlines():
        m = re.match(r'(nmdns[AB](\d+))\b', line)
        if m and int(m.group(2)) != PID and not os.path.exists('/proc/%s' % m.group(2)):
            sh('ip', 'netns', 'del', m.group(1), check_rc=False)
    tmp = tempfile.gettempdir()
    for name in os.listdir(tmp):
        m = re.match(r'nomid-dnssd-(\d+)-', name)
        if m and int(m.group(1)) != PID and not os.path.exists('/proc/%s' % m.group(1)):
            shutil.rmtree(os.path.join(tmp, name), True)


NET_ = None  # the Net of this run, set in __main__


def hosts():
    return NET_.a, NET_.b


def fleet(tag):
    return 'dnssd-%d-%s' % (PID, tag)


def node(t, host, *args, iface=None):
    return host.nomid(t, 'node', '--discovery', 'dnssd', '--interface', iface or host.ifname,
                      *args).wait_ready()


def resolve(t, host, name, *args):
    return host.nomid(t, 'resolve', name, '--discovery', 'dnssd', '--interface', host.ifname,
                      *args)


def browse_until(host, instance, timeout=10.0, proto='IPv4'):
    """Runs avahi-browse -rp _nomid._tcp on host until instance is resolved over proto;
    returns (address, port, [TXT strings]) from its `=` line."""
    b = host.helper('avahi-browse', '-rp', '_nomid._tcp')
    try:
        line = b.wait_line(lambda l: l.startswith('=;') and l.split(';')[2] == proto and
                           unescape(l.split(';')[3]) == instance, timeout,
                           'resolved instance %r' % instance)
    finally:
        b.stop()
    f = line.split(';', 9)
    txt = [unescape(s) for s in re.findall(r'"((?:[^"\\]|\\.)*)"', f[9])]
    return f[7], int(f[8]), txt


# ---------------------------------------------------------------- the cases

@test
def avahi_browse_sees_the_published_txt_record(t):
    a, b = hosts()
    fl = fleet('browse')
    n = node(t, a, '--fleet', fl, '--name', 'robA', '--service', 'cam=pub@tcp://*:5599')
    addr, port, txt = browse_until(b, 'cam@robA')
    eq(addr, a.addr, 'address avahi-browse on host B resolved')
    eq(port, 5599, 'SRV port')
    kv = dict(s.split('=', 1) for s in txt)
    eq({k: kv.get(k) for k in ('txtvers', 'name', 'type', 'ep', 'fleet', 'nodename')},
       {'txtvers': '1', 'name': 'cam', 'type': 'pub', 'ep': 'tcp://*:5599', 'fleet': fl,
        'nodename': 'robA'}, 'TXT record')
    check(re.fullmatch(r'[0-9a-f]{32}', kv.get('node', '')), 'node=%r' % kv.get('node'))
    check(all(len(s.split('=', 1)[0]) <= 9 and s.split('=', 1)[0].islower() for s in txt),
          'TXT keys lowercase, <= 9 bytes: %s' % txt)
    # The same host's avahi-browse sees it too, and the wire order puts txtvers first.
    eq(browse_until(a, 'cam@robA')[0], a.addr, 'address on host A itself')
    wire = txt_on_the_wire(b, 'cam@robA._nomid._tcp.local')
    eq(wire[0], b'txtvers=1', 'first TXT string on the wire (RFC 6763 6.7)')
    n.stop_expect(0)


def txt_on_the_wire(host, fqdn):
    """Asks host's link for fqdn's TXT record with a one-shot mDNS query (RFC 6762 5.1)
    and returns its strings in wire order."""
    code = r'''
import socket, struct, sys
name, src = sys.argv[1], sys.argv[2]
q = b''.join(bytes([len(l)]) + l for l in (p.encode() for p in name.split('.'))) + b'\0'
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(src))
s.bind((src, 0))
s.settimeout(3)
s.sendto(struct.pack('>6H', 7, 0, 1, 0, 0, 0) + q + struct.pack('>HH', 16, 1),
         ('224.0.0.251', 5353))
d = s.recv(9000)
def skip(i):
    while d[i] and d[i] < 0xc0: i += 1 + d[i]
    return i + (2 if d[i] else 1)
i = 12
for _ in range(struct.unpack('>H', d[4:6])[0]): i = skip(i) + 4
for _ in range(struct.unpack('>H', d[6:8])[0]):
    i = skip(i); t, _, _, n = struct.unpack('>HHIH', d[i:i + 10]); i += 10
    if t == 16:
        j = i
        while j < i + n: print(d[j + 1:j + 1 + d[j]].hex()); j += 1 + d[j]
        break
    i += n
'''
    r = sh(*host.prefix(), sys.executable, '-c', code, fqdn, host.addr, check_rc=False)
    check(r.returncode == 0 and r.stdout.strip(),
          'mDNS TXT query for %s: exit %d %s' % (fqdn, r.returncode, r.stderr.strip()[-300:]))
    return [bytes.fromhex(h) for h in r.stdout.split()]


@test
def resolve_on_the_other_host(t):
    a, b = hosts()
    fl = fleet('resolve')
    node(t, a, '--fleet', fl, '--service', 'imu=sub@tcp://*:5600', iface=a.addr)  # by address
    t0 = time.monotonic()
    r = resolve(t, b, 'imu', '--fleet', fl, '--wait', '1', '--timeout', '10', '--verbose')
    line = r.line(timeout=12)
    took = time.monotonic() - t0
    f = line.split()
    eq(f[:2], ['tcp://%s:5600' % a.addr, 'dnssd'], 'resolved endpoint and backend')
    check(re.fullmatch(r'[0-9a-f]{32}', f[2]), 'node id in %r' % line)
    r.expect_exit(0)
    print('# resolve on host B found the node on host A in %.0f ms' % (took * 1000))


@test
def watch_follows_a_clean_exit(t):
    a, b = hosts()
    fl = fleet('watch')
    w = resolve(t, b, 'lidar', '--fleet', fl, '--watch')
    t0 = time.monotonic()
    n = node(t, a, '--fleet', fl, '--service', 'lidar=pub@tcp://*:5601')
    eq(w.line(timeout=12), '+ tcp://%s:5601' % a.addr, 'instance joining')
    joined = time.monotonic() - t0
    t0 = time.monotonic()
    n.stop_expect(0)
    stopped = time.monotonic() - t0
    eq(w.line(timeout=12), '- tcp://%s:5601' % a.addr, 'clean exit leaves')
    left = time.monotonic() - t0
    check(stopped < 2.0, 'nomid node took %.3f s to stop' % stopped)
    check(left < 3.0, 'a clean exit took %.3f s to leave' % left)
    print('# join %.0f ms (from start), node stop %.0f ms, leave %.0f ms (avahi drops a '
          'goodbye after 1 s, RFC 6762 10.1)' % (joined * 1000, stopped * 1000, left * 1000))
    w.stop_expect(0)


@test
def foreign_publishers_valid_and_garbage(t):
    a, b = hosts()
    fl = fleet('foreign')
    node_id = '00112233445566778899aabbccddeeff'
    good = ['txtvers=1', 'name=ext', 'type=pull', 'ep=tcp://*:6001', 'node=' + node_id,
            'fleet=' + fl]
    garbage = [
        ['txtvers=1', 'name=ext', 'type=nonsense', 'ep=tcp://*:6002', 'node=' + node_id,
         'fleet=' + fl],
        ['name=ext', 'type=pull', 'ep=tcp://*:6003', 'fleet=' + fl],            # no node
        ['name=' + 'x' * 200, 'type=pull', 'ep=tcp://*:6004', 'node=' + node_id,
         'fleet=' + fl],                                                        # overlong
        ['txtvers=9', 'name=ext', 'type=pull', 'ep=tcp://*:6005', 'node=' + node_id,
         'fleet=' + fl],
        ['=', '==', 'name', 'type=', 'ep', 'garbage\x01bytes'],
        [],                                                                     # empty
    ]
    pubs = [a.helper('avahi-publish', '-s', 'ext@foreign', '_nomid._tcp', '6001', *good)]
    for i, txt in enumerate(garbage):
        pubs.append(a.helper('avahi-publish', '-s', 'junk%d@foreign' % i, '_nomid._tcp',
                             str(6002 + i), *txt))
    try:
        for p in pubs:
            p.wait_line(lambda l: l.startswith('Established'), 10, 'Established')
        n = node(t, b, '--fleet', fl, '--name', 'watcher')  # a node sees the garbage too
        r = resolve(t, b, 'ext', '--fleet', fl, '--timeout', '3', '--verbose')
        eq(r.line(timeout=8), 'tcp://%s:6001 dnssd %s' % (a.addr, node_id), 'the valid one')
        r.expect_exit(0)
        r.expect_no_more_output()
        ignored = [l for l in r.stderr_text().split('\n') if 'ignoring' in l]
        check(len(ignored) >= len(garbage), 'resolve logged %d ignored records, want %d: %s'
              % (len(ignored), len(garbage), r.stderr_text()))
        check(n.poll() is None, 'nomid node died among garbage records: %s' % n.stderr_text())
        n.stop_expect(0)
    finally:
        for p in pubs:
            p.stop()


TYPES = ['pair', 'pub', 'sub', 'req', 'rep', 'dealer', 'router', 'pull', 'push', 'xpub', 'xsub',
         'stream']
FLEET_KEY = b'd' * 32


def record_mac(node_hex, name, type_name, endpoint, curve_key=None):
    """HMAC-SHA256 under FLEET_KEY over "NMDR", 1, the node id and the beacon entry."""
    t = TYPES.index(type_name) | (0x80 if curve_key is not None else 0)
    entry = (bytes([len(name)]) + name.encode() + bytes([t, len(endpoint)]) + endpoint.encode() +
             (curve_key or b''))
    return hmac.new(FLEET_KEY, b'NMDR\x01' + bytes.fromhex(node_hex) + entry,
                    hashlib.sha256).hexdigest()


def fleet_key_file():
    path = os.path.join(NET_.tmp, 'fleet.key')
    with open(path, 'wb') as f:
        f.write(FLEET_KEY)
    return path


@test
def records_signed_and_keys_checked(t):
    a, b = hosts()
    fl = fleet('signed')
    kf = fleet_key_file()
    n = node(t, a, '--fleet', fl, '--name', 'robS', '--fleet-key-file', kf, '--service',
             'cam=pub@tcp://*:5603')
    kv = dict(s.split('=', 1) for s in browse_until(b, 'cam@robS')[2])
    check('ck' not in kv, 'a key for a service that is no CURVE server: %s' % kv)
    eq(kv.get('mac'), record_mac(kv.get('node', '0' * 32), 'cam', 'pub', 'tcp://*:5603'), 'mac=')
    n.stop_expect(0)
    # A CURVE server's records, published by avahi-publish: well signed, and tampered.
    # (two nodes: a dropped key is logged once per node)
    ids = ['102132435465768798a9bacbdcedfe0f', '202132435465768798a9bacbdcedfe0f']
    ck = 'rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7'
    key = z85.decode(ck)
    good = record_mac(ids[0], 'sec', 'rep', 'tcp://*:6101', key)
    bad = record_mac(ids[1], 'sec', 'rep', 'tcp://*:6102', bytes(32))
    pubs = []
    for i, mac in enumerate((good, bad)):
        txt = ['txtvers=1', 'name=sec', 'type=rep', 'ep=tcp://*:%d' % (6101 + i),
               'node=' + ids[i], 'fleet=' + fl, 'ck=' + ck, 'mac=' + mac]
        pubs.append(a.helper('avahi-publish', '-s', 'sec%d@foreign' % i, '_nomid._tcp',
                             str(6101 + i), *txt))
    try:
        for p in pubs:
            p.wait_line(lambda l: l.startswith('Established'), 10, 'Established')
        r = resolve(t, b, 'sec', '--fleet', fl, '--fleet-key-file', kf, '--wait', '2',
                    '--timeout', '8')
        eq(sorted(r.lines(2, timeout=10)), ['tcp://%s:%d' % (a.addr, p) for p in (6101, 6102)],
           'both resolved')
        r.expect_exit(0)
        ignored = [l for l in r.stderr_text().split('\n') if "CURVE key of service 'sec'" in l]
        eq(len(ignored), 1, 'keys ignored (the tampered record only): %s' % r.stderr_text())
    finally:
        for p in pubs:
            p.stop()


@test
def another_fleet_is_not_seen(t):
    a, b = hosts()
    node(t, a, '--fleet', fleet('other'), '--name', 'robO', '--service', 'gps=pub@tcp://*:5602')
    browse_until(b, 'gps@robO')  # it is on the link ...
    r = resolve(t, b, 'gps', '--fleet', fleet('mine'), '--timeout', '2')
    r.expect_exit(3)            # ... but not for this fleet
    r = resolve(t, b, 'gps', '--fleet', fleet('other'), '--wait', '1', '--timeout', '10')
    eq(r.line(timeout=12), 'tcp://%s:5602' % a.addr, 'seen by its own fleet')
    r.expect_exit(0)


@test
def only_the_given_interfaces_are_used(t):
    a, b = hosts()
    fl = fleet('iface')
    # No --interface: the default is loopback, where avahi publishes nothing.
    q = a.nomid(t, 'node', '--discovery', 'dnssd', '--fleet', fl, '--name', 'quiet',
                '--service', 'hush=pub@tcp://*:5603').wait_ready()
    node(t, a, '--fleet', fl, '--name', 'loud', '--service', 'hush=pub@tcp://*:5604')
    r = resolve(t, b, 'hush', '--fleet', fl, '--wait', '1', '--timeout', '10')
    eq(r.line(timeout=12), 'tcp://%s:5604' % a.addr, 'the node told to use the veth')
    r.expect_exit(0)
    r = resolve(t, b, 'hush', '--fleet', fl, '--timeout', '1.5')
    eq(r.line(timeout=5), 'tcp://%s:5604' % a.addr, 'still only that one')
    r.expect_exit(0)
    r.expect_no_more_output()
    check('cannot publish' not in q.stderr_text() and q.poll() is None,
          'the loopback node: %s' % q.stderr_text())


@test
def same_instance_name_on_two_hosts(t):
    a, b = hosts()
    fl = fleet('twin')
    na = node(t, a, '--fleet', fl, '--name', 'twin', '--service', 'dup=pub@tcp://*:5605')
    nb = node(t, b, '--fleet', fl, '--name', 'twin', '--service', 'dup=pub@tcp://*:5606')
    r = resolve(t, b, 'dup', '--fleet', fl, '--wait', '2', '--timeout', '12')
    got = sorted(r.lines(2, timeout=14))
    eq(got, sorted(['tcp://%s:5605' % a.addr, 'tcp://%s:5606' % b.addr]), 'both instances')
    r.expect_exit(0)
    renamed = [n for n in (na, nb) if "publishing as 'dup@twin #2'" in n.stderr_text()]
    eq(len(renamed), 1, 'nodes that logged the rename to dup@twin #2')
    browse_until(b, 'dup@twin #2')


@test
def several_instances_on_one_node(t):
    a, b = hosts()
    fl = fleet('several')
    eps = ['tcp://*:5610', 'tcp://*:5611', 'ipc:///tmp/nomid-dnssd-%d.ipc' % PID]
    args = []
    for ep in eps:
        args += ['--service', 'multi=push@' + ep]
    n = node(t, a, '--fleet', fl, '--name', 'robM', *args)
    r = resolve(t, b, 'multi', '--fleet', fl, '--wait', '3', '--timeout', '10')
    got = sorted(r.lines(3, timeout=12))
    eq(got, sorted(['tcp://%s:5610' % a.addr, 'tcp://%s:5611' % a.addr, eps[2]]),
       'every instance, wildcards with host A\'s address')
    r.expect_exit(0)
    # One instance name each: the second and third are renamed, the ipc one has port 0.
    ports = sorted(browse_until(b, name)[1] for name in ('multi@robM', 'multi@robM #2',
                                                          'multi@robM #3'))
    eq(ports, [0, 5610, 5611], 'SRV ports')
    check('cannot publish' not in n.stderr_text() and 'is taken' not in n.stderr_text(),
          'node warnings: %s' % n.stderr_text())


@test
def ipv6_only_link(t):
    a, b = hosts()
    fl = fleet('ipv6')
    node(t, a, '--fleet', fl, '--name', 'rob6', '--service', 'v6=pub@tcp://*:5620', iface=a.if6)
    addr, port, _ = browse_until(b, 'v6@rob6', proto='IPv6')
    eq((addr, port), (a.addr6, 5620), 'avahi-browse on host B, over IPv6')
    r = host_resolve_v6(t, b, 'v6', fl)
    eq(r.line(timeout=12), 'tcp://[%s%%%s]:5620' % (a.addr6, b.if6),
       'link-local address with the interface it arrived on')
    r.expect_exit(0)


def host_resolve_v6(t, host, name, fl):
    return host.nomid(t, 'resolve', name, '--discovery', 'dnssd', '--interface', host.if6,
                      '--fleet', fl, '--wait', '1', '--timeout', '10')


@test
def no_avahi_daemon_exits_1(t):
    a, b = hosts()
    cases = [('no D-Bus', 'unix:path=' + os.path.join(NET_.tmp, 'nobus'))]
    bare = Host('C', '0.0.0.0', NET_.tmp)  # a system bus nobody offers avahi on
    bare.ns = a.ns
    try:
        bare.start_dbus()
        cases.append(('D-Bus without avahi-daemon', bare.bus))
        for what, bus in cases:
            for cmd in (['node', '--discovery', 'dnssd'],
                        ['resolve', 'x', '--discovery', 'dnssd', '--timeout', '1']):
                env = dict(nmtest._child_env(), DBUS_SYSTEM_BUS_ADDRESS=bus)
                t0 = time.monotonic()
                r = subprocess.run([nmtest.nomid_bin()] + cmd, env=env, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   timeout=nmtest.EXIT_WAIT)
                if r.returncode != 1 or 'avahi' not in r.stderr:
                    raise Fail('%s: nomid %s exited %d (want 1) with stderr %r'
                               % (what, ' '.join(cmd), r.returncode, r.stderr))
                check(not nmtest.SANITIZER_RE.search(r.stderr), 'sanitizer: %s' % r.stderr)
                check(time.monotonic() - t0 < 5, '%s: nomid %s took %.1f s to give up'
                      % (what, cmd[0], time.monotonic() - t0))
    finally:
        bare.stop()


@test
def avahi_daemon_restarts_are_followed(t):
    a, b = hosts()
    fl = fleet('restart')
    w = resolve(t, b, 'odo', '--fleet', fl, '--watch')
    n = node(t, a, '--fleet', fl, '--service', 'odo=pub@tcp://*:5607')
    ep = 'tcp://%s:5607' % a.addr
    eq(w.line(timeout=12), '+ ' + ep, 'instance joining')
    # The publisher's daemon restarts: its records go, then the node publishes again.
    a.stop_avahi()
    eq(w.line(timeout=12), '- ' + ep, 'gone with host A\'s avahi-daemon')
    a.start_avahi()
    eq(w.line(timeout=15), '+ ' + ep, 'published again once avahi-daemon is back')
    # The browser's daemon restarts: what it reported is forgotten, then found again.
    b.stop_avahi()
    eq(w.line(timeout=12), '- ' + ep, 'forgotten with host B\'s avahi-daemon')
    b.start_avahi()
    eq(w.line(timeout=15), '+ ' + ep, 'browsed again once avahi-daemon is back')
    check(n.poll() is None and w.poll() is None, 'nomid survived both restarts')
    check('lost avahi-daemon' in n.stderr_text(), 'node logged the loss: %s' % n.stderr_text())
    n.stop_expect(0)
    w.stop_expect(0)


if __name__ == '__main__':
    NET_ = Net()
    try:
        try:
            NET_.up()
        except Fail as e:
            print('FAIL setup: %s' % e, flush=True)
            sys.exit(1)
        nmtest.main()
    finally:
        NET_.down()
