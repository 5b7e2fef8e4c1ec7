#!/usr/bin/python3
"""`nomid exec` across three hosts: network namespaces A, B and C joined by a bridge
(tests/interop/lan.py), a `nomid node` on each, everything beaconing on eth0 only.  On A
the unchanged pyzmq camera (examples/camera.py) binds a wildcard tcp endpoint and is
told to advertise it; on B and C unchanged pyzmq planners (examples/planner.py) connect
to svc://camera.  Both receive; C's node's /api/v1/topology (fetched inside C) shows the
three processes as nodes and both connections joined end to end, their message counts
moving; a third planner that stops reading makes the camera's pipe to it drop (on the
page's edge and in the camera's own pipe); the camera killed on A and started again on B
is followed by both planners, never restarted.  The programs join through their hosts'
nodes: A's node lists the camera as a member, and A's beacons on the link name its node
only.  Before the nodes start, the same programs run plain on the drop-in (no settings)
talk on A and send nothing on A's link (captured).  Then all of it with the C examples
(examples/camera.c, planner.c, built with `cc ... -lzmq` against Debian's libzmq).
Prints the measured times.

Every joined process serves admin on its host's LAN address (with the fleet's token) so
that C's node can fetch its summary.  All traffic stays inside the namespaces."""

import json
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

from lan import Capture, Lan  # noqa: E402
from nmtest import (CAMERA, DROPIN, PLANNER, PY, check, compile_example,  # noqa: E402
                    env_prefix, eq, main, nomid_exec, test, until)

IVL = 0.2  # beacon interval (seconds)
FLEET = 'xf-%d-%d' % (os.getpid(), int(time.monotonic() * 1000) % 100000)
PORT = 5556  # the camera's port (each namespace has ports of its own)
ADMIN_PORT = 7070
FRAME_RE = re.compile(r'^planner: got frame (\d+)$')


class Fleet:
    def __init__(self, t, lan, token_file, camera, planner):
        self.t, self.lan, self.token_file = t, lan, token_file
        self.camera_argv, self.planner_argv = camera, planner  # the programs' argv[:n]
        with open(token_file) as f:
            self.token = f.read().strip()
        self.a, self.b, self.c = lan.hosts
        self.ports = {}  # the last admin port taken on each host

    def disc(self):
        return ('--interface', 'eth0', '--fleet', FLEET, '--beacon-interval', str(IVL))

    def admin(self, host, port):
        """Admin on the host's LAN address, with the fleet's token."""
        return ('--admin', '%s:%d' % (self.lan.addr(self.lan.hosts.index(host)), port),
                '--admin-token-file', self.token_file)

    def node(self, host, name):
        p = self.t.nomid_in(host, 'node', '--name', name, *self.disc(),
                            *self.admin(host, ADMIN_PORT))
        until('nomid node %s to be ready' % name,
              lambda: 'ready' in p.stderr_text() or p.poll() is not None, timeout=15,
              period=0.05)
        check(p.poll() is None, 'nomid node %s exited: %s' % (name, p.stderr_text()))
        return p

    def joined(self, host, name, *argv):
        """An unchanged program on host under nomid exec, a member named name."""
        self.ports[host] = self.ports.get(host, ADMIN_PORT) + 1  # its own admin port
        return nomid_exec(self.t, '--name', name, *self.disc(),
                          *self.admin(host, self.ports[host]), *argv, netns=host)

    def camera(self, host, name):
        # Fast, with image data and a small send queue: a planner that stops reading
        # fills its connection's buffers in a second or two, and its pipe drops.
        p = self.joined(host, name, '--advertise', 'camera=tcp://*:%d' % PORT, '--',
                        *self.camera_argv, '--bind', 'tcp://*:%d' % PORT, '--interval', '0.01',
                        '--size', '16384', '--hwm', '10')
        eq(p.line(timeout=20), 'camera: publishing on tcp://0.0.0.0:%d' % PORT,
           'the camera on %s bound' % host)
        until('the camera advertising its bind',
              lambda: re.search(r'^INFO member: advertising pub tcp://0\.0\.0\.0:%d as camera$'
                                % PORT, p.stderr_text(), re.M), timeout=15)
        return p

    def planner(self, host, name, *more):
        return self.joined(host, name, '--', *self.planner_argv, '--camera', 'svc://camera',
                           *more)

    def get(self, url):
        """GET url from inside host C, with the fleet's token: the JSON it returned."""
        r = subprocess.run(['ip', 'netns', 'exec', self.c, 'curl', '-sS', '--fail',
                            '--max-time', '5', '-H', 'Authorization: Bearer ' + self.token,
                            url], capture_output=True, text=True, timeout=15)
        check(r.returncode == 0, 'curl %s in %s: exit %d, %s' % (url, self.c, r.returncode,
                                                                r.stderr.strip()))
        return json.loads(r.stdout)

    def topology(self):
        return self.get('http://%s:%d/api/v1/topology' % (self.lan.addr(2), ADMIN_PORT))


def edges_to(topo, camera, planners, ep):
    """{planner name: its edge} for the planners joined end to end to the camera in the
    topology (sub to pub, active, to the camera's bind on its host's LAN address: the
    wildcard bind was announced with eth0's address), or None if one is not."""
    ids = {n['name']: n['id'] for n in topo['nodes']}
    if camera not in ids or not set(planners) <= set(ids):
        return None
    found = {}
    for e in topo['edges']:
        for p in planners:
            if (e['from'] == ids[p] and e['to'] == ids[camera] and e['type'] == 'sub' and
                    e['peer_type'] == 'pub' and e['state'] == 'active' and e['endpoint'] == ep):
                found[p] = e
    return found if len(found) == len(planners) else None


def frame(p, what):
    m = FRAME_RE.match(p.line(timeout=20, what=what))
    check(m, 'the planner printed %s' % p.out_seen[-1:])
    return int(m.group(1))


def last_frame(p):
    """The number of the last frame the planner printed so far (reading every line
    waiting in its queue)."""
    n = None
    while True:
        try:
            v = p.out_q.get_nowait()
        except queue.Empty:
            break
        if v is None:
            p.out_q.put(None)
            break
        p.out_seen.append(v)
        m = FRAME_RE.match(v)
        if m:
            n = int(m.group(1))
    return n


def three_hosts(t, camera, planner):
    lan = Lan(3, 'xf')
    tok = tempfile.NamedTemporaryFile('w', delete=False, prefix='nomid-token-')
    tok.write('fleet-token-%s\n' % os.urandom(12).hex())  # >= 16 bytes, whatever the pid
    tok.close()
    try:
        run(t, Fleet(t, lan, tok.name, camera, planner))
    finally:
        for p in t.procs:  # before their namespaces go
            p.kill()
        lan.close()
        os.unlink(tok.name)


@test(limit=150)
def three_hosts_pyzmq(t):
    three_hosts(t, [PY, CAMERA], [PY, PLANNER])


@test(limit=150)
def three_hosts_c(t):
    """The same with examples/camera.c and planner.c, built against Debian's libzmq."""
    tmp = tempfile.mkdtemp(prefix='nomid-exec-c-')
    try:
        three_hosts(t, [compile_example('camera', tmp)], [compile_example('planner', tmp)])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def capture_on_a(f, what, proto='ip'):
    """tcpdump of the IPv4 (or proto) packets host A sends on its link."""
    path = os.path.join(tempfile.mkdtemp(prefix='nomid-cap-'), what + '.pcap')
    return Capture(path, '%s and src host %s' % (proto, f.lan.addr(0)), dev='eth0', netns=f.a)


def plain_sends_nothing(f):
    """The camera and a planner on the drop-in without the settings talk on A (over A's
    LAN address, which the kernel carries on loopback) and send nothing on A's link."""
    cap = capture_on_a(f, 'plain')
    ep = 'tcp://%s:%d' % (f.lan.addr(0), PORT + 1)
    pre = ['ip', 'netns', 'exec', f.a] + env_prefix(dropin=False) + ['LD_LIBRARY_PATH=' + DROPIN]
    procs = [subprocess.Popen(pre + argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
             for argv in (f.camera_argv + ['--bind', ep, '--interval', '0.01'],
                          f.planner_argv + ['--camera', ep])]
    try:
        timer = threading.Timer(20, procs[1].kill)  # a planner that never receives
        timer.start()
        line = procs[1].stdout.readline()
        timer.cancel()
        check(FRAME_RE.match(line.strip()), 'the plain planner printed %r' % line)
        for p in procs:
            with open('/proc/%d/maps' % p.pid) as m:
                maps = m.read()
            check(os.path.join(DROPIN, 'libzmq.so') in maps and 'libnomid_member' not in maps,
                  'a plain program maps the drop-in and no member library')
        time.sleep(1)
    finally:
        for p in procs:
            p.kill()
            p.wait(10)
    data = cap.stop()
    shutil.rmtree(os.path.dirname(cap.path), ignore_errors=True)
    eq(len(data), 24, 'bytes captured on A\'s link (a pcap header of 24 bytes, no packet)')
    print('plain on the drop-in: talked, nothing on the link', flush=True)


def run(t, f):
    t0 = time.monotonic()
    plain_sends_nothing(f)
    for host, name in ((f.a, 'node-a'), (f.b, 'node-b'), (f.c, 'node-c')):
        f.node(host, name)
    cam = f.camera(f.a, 'camera-a')
    ep_a = 'tcp://%s:%d' % (f.lan.addr(0), PORT)
    plans = {'planner-b': f.planner(f.b, 'planner-b'), 'planner-c': f.planner(f.c, 'planner-c')}
    for name, p in plans.items():
        frame(p, 'a frame on %s' % name)
    print('both planners received %.1f s after the start' % (time.monotonic() - t0), flush=True)

    # Joined through their nodes: A's node has the camera as a member, and A's beacons
    # name node-a only (the camera beacons nothing itself).
    cap = capture_on_a(f, 'beacons', 'udp')
    peers = f.get('http://%s:%d/api/v1/peers' % (f.lan.addr(0), ADMIN_PORT))['peers']
    eq([p['name'] for p in peers if p['backend'] == 'host'], ['camera-a'], 'A\'s node\'s members')
    time.sleep(5 * IVL)
    data = cap.stop()
    shutil.rmtree(os.path.dirname(cap.path), ignore_errors=True)
    check(b'node-a' in data and b'camera-a' not in data,
          'A\'s beacons come from its node alone (%d bytes captured)' % len(data))

    # C's topology: the three processes, both connections joined, their counts moving.
    t1 = time.monotonic()
    first = until('C\'s topology to join planner-b and planner-c to camera-a',
                  lambda: edges_to(f.topology(), 'camera-a', list(plans), ep_a), timeout=30,
                  period=0.3)
    until('the message counts of both edges to grow',
          lambda: all(e['msgs'] > first[p]['msgs'] for p, e in
                      (edges_to(f.topology(), 'camera-a', list(plans), ep_a) or {}).items()),
          timeout=15, period=0.3)
    print('C\'s topology joined both, counts moving, in %.1f s' % (time.monotonic() - t1),
          flush=True)

    # A planner that stops reading (on C): the camera's pipe to it drops.
    t1 = time.monotonic()
    stuck = f.planner(f.c, 'planner-stuck', '--stop-after', '5', '--hwm', '10')
    eq(stuck.lines(6, timeout=20)[-1], 'planner: stopped reading after 5 frames',
       'the stuck planner')

    def dropping():
        e = edges_to(f.topology(), 'camera-a', ['planner-stuck'], ep_a)
        return e and e['planner-stuck']['drops'] > 0 and e['planner-stuck']

    edge = until('drops on the edge planner-stuck -> camera-a', dropping, timeout=30,
                 period=0.3)
    # They are the camera's: its own pipe (its summary, from the admin the page uses).
    topo = f.topology()
    admin = [n['admin'] for n in topo['nodes'] if n['name'] == 'camera-a'][0]
    pipes = [p for s in f.get(admin + 'api/v1/summary')['sockets'] if s['type'] == 'pub'
             for p in s['pipes']]
    check(any(p['drops'] > 0 and p['msgs_out'] > 0 for p in pipes),
          'a pipe of the camera\'s PUB socket drops: %s' % pipes)
    print('drops on the stuck planner\'s edge (%d) after %.1f s' %
          (edge['drops'], time.monotonic() - t1), flush=True)
    stuck.kill()

    # The camera killed on A and started on B: both planners follow, never restarted.
    last = {}
    for name, p in plans.items():
        last[name] = last_frame(p)
        check(last[name] is not None and p.poll() is None, '%s receives and runs' % name)
    os.kill(cam.p.pid, signal.SIGKILL)
    cam.wait()
    t1 = time.monotonic()
    f.camera(f.b, 'camera-b')
    for name, p in plans.items():
        # The new camera counts from 0: a number below the last one came from it.
        deadline = time.monotonic() + 30
        while frame(p, 'a frame from camera-b on %s' % name) >= last[name]:
            check(time.monotonic() < deadline, '%s: no frame from camera-b' % name)
        check(p.poll() is None, '%s runs on' % name)
    print('both planners received from camera-b %.1f s after camera-a was killed' %
          (time.monotonic() - t1), flush=True)
    ep_b = 'tcp://%s:%d' % (f.lan.addr(1), PORT)

    def followed():
        topo = f.topology()
        return ('camera-a' not in [n['name'] for n in topo['nodes']] and
                edges_to(topo, 'camera-b', list(plans), ep_b))

    until('C\'s topology to drop camera-a and join planner-b and planner-c to camera-b',
          followed, timeout=30, period=0.3)
    print('total %.1f s' % (time.monotonic() - t0), flush=True)


if __name__ == '__main__':
    main()
