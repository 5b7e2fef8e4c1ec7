#!/usr/bin/python3
"""Discovery across hosts: three network namespaces joined by veth pairs and a bridge
(tests/interop/lan.py), every node beaconing on its eth0 only.  A publisher advertised
on two hosts is found by name from the third, whose subscriber receives from both; a
kill -9 publisher leaves resolution within three intervals and a clean exit within half
a second; a node of another fleet is not seen; with a fleet key, an unsigned node is
not seen.  Prints the measured times."""

import os
import re
import signal
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # keep the source tree clean

from lan import Lan  # noqa: E402
from nmtest import check, eq, test, main  # noqa: E402

IVL = 0.2  # beacon interval (seconds)
FLEET = 'mh-%d' % os.getpid()


def disc(*extra):
    return ('--interface', 'eth0', '--fleet', FLEET, '--beacon-interval', str(IVL)) + extra


def publisher(t, host, text, name='cam', *extra):
    p = t.nomid_in(host, 'cat', 'pub', '--bind', 'tcp://*:0', '--advertise', name, '-d', text,
                   '--interval', '0.05', *disc(*extra))
    p.wait_bound()
    return p


def watch_until(w, line, timeout):
    """Reads `+`/`-` lines from a resolve --watch until `line`; returns when it came."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        check(left > 0, 'no "%s" line within %.1f s' % (line, timeout))
        got = w.line(timeout=left)
        if got == line:
            return time.monotonic()


def ready(p):
    deadline = time.monotonic() + 10
    while 'ready' not in p.stderr_text():
        check(p.poll() is None, 'nomid node exited early: %s' % p.stderr_text())
        check(time.monotonic() < deadline, 'nomid node printed no ready line')
        time.sleep(0.02)


def endpoint_of(t, host, name, n, *extra):
    r = t.nomid_in(host, 'resolve', name, '--wait', str(n), '--timeout', '5', *disc(*extra))
    eps = sorted(r.lines(n))
    r.expect_exit(0)
    return eps


@test(limit=90)
def publishers_on_two_hosts_found_from_a_third(t):
    lan = Lan(3, 'mh')
    try:
        h1, h2, h3 = lan.hosts
        p1 = publisher(t, h1, 'from-h1')
        p2 = publisher(t, h2, 'from-h2')
        w = t.nomid_in(h3, 'resolve', 'cam', '--watch', *disc())
        t0 = time.monotonic()
        eps = endpoint_of(t, h3, 'cam', 2)
        check(eps[0].startswith('tcp://%s:' % lan.addr(0)), 'h1 endpoint %s' % eps[0])
        check(eps[1].startswith('tcp://%s:' % lan.addr(1)), 'h2 endpoint %s' % eps[1])
        print('discover: both publishers resolved from h3 in %.0f ms' %
              ((time.monotonic() - t0) * 1000), flush=True)

        sub = t.nomid_in(h3, 'cat', 'sub', '--connect', 'svc://cam', *disc())
        seen = set()
        deadline = time.monotonic() + 10
        while seen != {'from-h1', 'from-h2'}:
            check(time.monotonic() < deadline, 'subscriber on h3 saw only %s' % seen)
            seen.add(sub.line(timeout=deadline - time.monotonic()))

        eq(sorted(w.lines(2)), ['+ ' + ep for ep in eps], 'watch saw both publishers')
        # kill -9: no goodbye, h3 drops it when `expiry` (3) intervals pass in silence.
        os.kill(p1.p.pid, signal.SIGKILL)
        killed = time.monotonic()
        gone = watch_until(w, '- ' + eps[0], 3 * IVL + 2) - killed
        print('kill -9: left resolution after %.0f ms (interval %.0f ms, expiry 3)' %
              (gone * 1000, IVL * 1000), flush=True)
        check(gone <= 3 * IVL + IVL / 2, 'killed publisher left after %.3f s' % gone)

        # Clean exit: a goodbye, gone at once.
        p2.p.send_signal(signal.SIGTERM)
        stopped = time.monotonic()
        gone = watch_until(w, '- ' + eps[1], 2) - stopped
        print('clean exit: left resolution after %.0f ms' % (gone * 1000), flush=True)
        check(gone < 0.5, 'cleanly stopped publisher left after %.3f s' % gone)
        eq(p2.wait(), 0, 'publisher exit code')
    finally:
        lan.close()


@test(limit=60)
def svc_bind_listens_on_the_announced_interface_only(t):
    lan = Lan(2, 'mb')
    try:
        h1, h2 = lan.hosts
        pub = t.nomid_in(h1, 'cat', 'pub', '--bind', 'svc://cam', '-d', 'x', '--interval', '0.05',
                         *disc())
        ep = pub.wait_bound()[0]
        check(re.search(r'^bound tcp://%s:\d+ as svc://cam$' % re.escape(lan.addr(0)),
                        pub.stderr_text(), re.M), 'bound on eth0\'s address: %s' % ep)
        sub = t.nomid_in(h2, 'cat', 'sub', '--connect', 'svc://cam', '-n', '1', *disc())
        eq(sub.line(), 'x', 'h2 reached the svc:// bind on h1')
        sub.expect_exit(0)
        # Loopback inside h1 is not the announced interface: nothing listens there.
        subprocess.run(['ip', '-n', h1, 'link', 'set', 'lo', 'up'], check=True)
        probe = subprocess.run(['ip', 'netns', 'exec', h1, '/usr/bin/python3', '-c',
                                'import socket,sys; s=socket.socket(); s.settimeout(2); '
                                'sys.exit(s.connect_ex(("127.0.0.1", %s)) == 0)'
                                % ep.rsplit(':', 1)[1]])
        eq(probe.returncode, 0, 'nothing on 127.0.0.1 in h1')
        pub.stop_expect(0)
    finally:
        lan.close()


@test(limit=60)
def other_fleets_and_unsigned_nodes_are_not_seen(t):
    lan = Lan(3, 'mf')
    key = tempfile.NamedTemporaryFile('wb', delete=False, prefix='nomid-key-')
    key.write(b'k' * 40 + b'\n')
    key.close()
    key2 = tempfile.NamedTemporaryFile('wb', delete=False, prefix='nomid-key-')
    key2.write(b'j' * 40 + b'\n')
    key2.close()
    try:
        h1, h2, h3 = lan.hosts
        # h1: another fleet; h2: our fleet, unsigned; h3: our fleet, signed.
        nodes = [
            t.nomid_in(h1, 'node', '--service', 'gps=pub@tcp://*:7001', '--interface', 'eth0',
                       '--fleet', FLEET + '-other', '--beacon-interval', str(IVL)),
            t.nomid_in(h2, 'node', '--service', 'gps=pub@tcp://*:7002', *disc()),
            t.nomid_in(h3, 'node', '--service', 'gps=pub@tcp://*:7003',
                       *disc('--fleet-key-file', key.name)),
        ]
        for n in nodes:
            ready(n)
        # Without a key h1 sees both nodes of the fleet (a signed beacon is accepted
        # unchecked) but never its own node of the other fleet.
        r = t.nomid_in(h1, 'resolve', 'gps', '--timeout', str(4 * IVL), *disc())
        eq(sorted(r.rest()), ['tcp://%s:7002' % lan.addr(1), 'tcp://%s:7003' % lan.addr(2)],
           'without a key, signed beacons are accepted (not checked)')
        # With the key: only the signed node; the unsigned one is ignored.
        r = t.nomid_in(h1, 'resolve', 'gps', '--timeout', str(4 * IVL),
                       *disc('--fleet-key-file', key.name))
        eq(r.rest(), ['tcp://%s:7003' % lan.addr(2)], 'keyed view from h1')
        r.expect_exit(0)
        # A node with another key joins on h2: the keyed view still sees only h3, and the
        # log says why each beacon was dropped (once per kind, not once per beacon).
        nodes.append(t.nomid_in(h2, 'node', '--service', 'gps=pub@tcp://*:7004',
                                *disc('--fleet-key-file', key2.name)))
        ready(nodes[-1])
        r = t.nomid_in(h1, 'resolve', 'gps', '--timeout', str(10 * IVL),
                       *disc('--fleet-key-file', key.name))
        eq(r.rest(), ['tcp://%s:7003' % lan.addr(2)], 'keyed view from h1, another key near')
        r.expect_exit(0)
        err = r.stderr_text()
        for why in ["ignored: another fleet ('%s-other'; ours is '%s')" % (FLEET, FLEET),
                    'dropped: unsigned, and this node has a fleet key',
                    'dropped: bad signature (signed with another fleet key']:
            eq(err.count(why), 1, 'one log line saying "%s" in\n%s' % (why, err))
        for n in nodes:
            n.stop_expect(0)
    finally:
        os.unlink(key.name)
        os.unlink(key2.name)
        lan.close()


@test(limit=60)
def ipv6_broadcast_and_all_interfaces(t):
    lan = Lan(3, 'm6')
    try:
        h1, h2, h3 = lan.hosts
        base = ('--fleet', FLEET, '--beacon-interval', str(IVL))
        # IPv6 link-local multicast, and a subscriber connected over IPv6 by name.
        p = t.nomid_in(h1, 'cat', 'pub', '--bind', 'tcp://[::]:0', '--advertise', 'cam6', '-d',
                       'over-ipv6', '--interval', '0.05', '--interface', 'ipv6:eth0', *base)
        port = p.wait_bound()[0].rsplit(':', 1)[1]
        r = t.nomid_in(h3, 'resolve', 'cam6', '--wait', '1', '--timeout', '5', '--interface',
                       'ipv6:eth0', *base)
        ep = r.line()
        r.expect_exit(0)
        check(ep.startswith('tcp://[fe80::') and ep.endswith('%%eth0]:%s' % port),
              'IPv6 endpoint with the receiver\'s zone: %s' % ep)
        sub = t.nomid_in(h3, 'cat', 'sub', '--connect', 'svc://cam6', '-n', '1', '--interface',
                         'ipv6:eth0', *base)
        eq(sub.line(timeout=10), 'over-ipv6', 'message over IPv6 link-local')
        sub.expect_exit(0)
        # IPv4 broadcast between hosts, and "all" interfaces (eth0 here; never lo).
        t.nomid_in(h2, 'node', '--service', 'b=pub@tcp://*:7005', '--interface',
                   'broadcast:eth0', *base)
        t.nomid_in(h1, 'node', '--service', 'c=pub@tcp://*:7006', '--interface', 'all', *base)
        r = t.nomid_in(h3, 'resolve', 'b', '--wait', '1', '--timeout', '5', '--interface',
                       'broadcast:eth0', *base)
        eq(r.line(), 'tcp://%s:7005' % lan.addr(1), 'resolved over broadcast')
        r.expect_exit(0)
        r = t.nomid_in(h3, 'resolve', 'c', '--wait', '1', '--timeout', '5', '--interface',
                       'eth0', *base)
        eq(r.line(), 'tcp://%s:7006' % lan.addr(0), 'resolved from an --interface all node')
        r.expect_exit(0)
    finally:
        lan.close()


if __name__ == '__main__':
    main()
