#!/usr/bin/python3
"""`nomid exec`: unchanged pyzmq programs (examples/camera.py, examples/planner.py) run on
nomid's libzmq.so.5 as members of a fleet, on loopback.  The planner finds the camera by
name (svc://camera) and receives its frames; `nomid resolve` finds the bind the camera
was told to advertise; a `nomid node`'s topology shows both processes and the connection
between them, its messages counted; the camera's goodbye at zmq_ctx_term drops it at
once.  The C examples (examples/camera.c, planner.c), built with `cc ... -lzmq` against
Debian's libzmq, run on the drop-in (their /proc/PID/maps say so) and do the same.
Without NOMID_MEMBER=1 the same drop-in does nothing more than before: no library
loaded, no extra thread, no UDP socket, no beacon heard by a listener.

The drop-in is NOMID_DROPIN_DIR's (ctest sets it: the build's lib/compat); built with
sanitizers, their runtimes are preloaded into the programs (as test_security does).  Each
test uses a fleet of its own, so parallel tests never hear each other."""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # keep the source tree clean

from nmtest import (CAMERA, DROPIN, PLANNER, PY, WAIT, Nomid, check,  # noqa: E402
                    compile_example, env_prefix, eq, free_tcp_port, get_json, main,
                    nomid_exec, short, test, until, wait_admin)

ADVERTISING_RE = r'^INFO member: advertising pub (\S+) as %s$'

# A pyzmq program for the plain-drop-in checks: makes a context and a bound PUB, then
# reports what the process holds: its threads, whether the membership library is
# mapped, and the inodes of its UDP sockets; it stays up until stdin closes.
PROBE = r'''
import os, sys, zmq
def udp_inodes():
    mine = set()
    for fd in os.listdir('/proc/self/fd'):
        try:
            link = os.readlink('/proc/self/fd/' + fd)
        except OSError:
            continue
        if link.startswith('socket:['):
            mine.add(link[8:-1])
    udp = set()
    for f in ('/proc/self/net/udp', '/proc/self/net/udp6'):
        for line in open(f).read().splitlines()[1:]:
            udp.add(line.split()[9])
    return sorted(mine & udp)
ctx = zmq.Context()
pub = ctx.socket(zmq.PUB)
pub.bind(sys.argv[1])
threads = len(os.listdir('/proc/self/task'))
member = 'libnomid_member' in open('/proc/self/maps').read()
print('%d %s %s' % (threads, member, ','.join(udp_inodes()) or '-'), flush=True)
sys.stdin.read()
pub.close(linger=0)
ctx.term()
'''


def fleet(tag):
    return 'exec-%s-%d-%d' % (tag, os.getpid(), int(time.monotonic() * 1000) % 100000)


def stderr_match(p, pattern, what, timeout=WAIT):
    return until('%s in the stderr of %s' % (what, p.name()),
                 lambda: re.search(pattern, p.stderr_text(), re.M), timeout=timeout)


def resolve(t, name, fl, *more):
    r = t.nomid('resolve', name, '--fleet', fl, *more)
    rc = r.wait(20)
    return rc, r.rest()


def camera_and_planner(t, fl, port):
    cam = nomid_exec(t, '--fleet', fl, '--name', 'camera-driver', '--advertise',
                'camera=tcp://*:%d' % port, '--', PY, CAMERA, '--bind', 'tcp://*:%d' % port,
                '--interval', '0.05')
    stderr_match(cam, ADVERTISING_RE % 'camera', 'the camera advertising its bind')
    plan = nomid_exec(t, '--fleet', fl, '--name', 'planner', '--', PY, PLANNER, '--camera',
                 'svc://camera')
    return cam, plan


@test
def planner_finds_camera_by_name(t):
    fl, port = fleet('name'), free_tcp_port()
    cam, plan = camera_and_planner(t, fl, port)
    eq(cam.line(), 'camera: publishing on tcp://0.0.0.0:%d' % port, 'the camera bound')
    check(re.match(r'planner: got frame \d+$', plan.line(timeout=20, what='a frame')),
          'the planner printed %s' % short(plan.out_seen))
    plan.lines(3)
    # The wildcard bind is announced with the interface's address (loopback here).
    rc, eps = resolve(t, 'camera', fl, '--wait', '1', '--timeout', '10')
    eq((rc, eps), (0, ['tcp://127.0.0.1:%d' % port]), 'nomid resolve camera')
    wait_admin(cam)
    wait_admin(plan)


@test
def topology_shows_both_and_their_connection(t):
    fl, port = fleet('topo'), free_tcp_port()
    node = t.nomid('node', '--fleet', fl, '--name', 'watcher', '--admin',
                   '127.0.0.1:%d' % free_tcp_port())
    url = wait_admin(node)
    cam, plan = camera_and_planner(t, fl, port)
    plan.line(timeout=20, what='a frame')

    def joined():
        topo = get_json(url + 'api/v1/topology')
        ids = {n['name']: n['id'] for n in topo['nodes']}
        if 'camera-driver' not in ids or 'planner' not in ids:
            return None
        for e in topo['edges']:
            if (e['from'] == ids['planner'] and e['to'] == ids['camera-driver'] and
                    e['type'] == 'sub' and e['peer_type'] == 'pub' and
                    e['endpoint'] == 'tcp://127.0.0.1:%d' % port and e['state'] == 'active'
                    and e['msgs'] > 0):
                return topo, ids, e
        return None

    topo, ids, edge = until('the topology of %s to join planner -> camera-driver' % url, joined,
                            timeout=30, period=0.3)
    # The counters move: the edge's messages grow while the camera publishes.
    until('the edge\'s message count to grow past %d' % edge['msgs'],
          lambda: any(e['id'] == edge['id'] and e['msgs'] > edge['msgs']
                      for e in get_json(url + 'api/v1/topology')['edges']),
          timeout=15, period=0.3)
    cams = [n for n in topo['nodes'] if n['name'] == 'camera-driver'][0]
    eq([(s['name'], s['type']) for s in cams['services']], [('camera', 'pub')],
       'the camera node\'s services')


@test
def goodbye_at_context_term(t):
    """A camera that ends (zmq_ctx_term) says goodbye: a listener whose own interval
    would take 10 s to miss it drops it at once."""
    fl, port = fleet('bye'), free_tcp_port()
    node = t.nomid('node', '--fleet', fl, '--name', 'watcher', '--beacon-interval', '2',
                   '--beacon-expiry', '5', '--admin', '127.0.0.1:%d' % free_tcp_port())
    url = wait_admin(node)
    cam = nomid_exec(t, '--fleet', fl, '--name', 'camera-driver', '--advertise',
                'camera=tcp://*:%d' % port, '--', PY, CAMERA, '--bind', 'tcp://*:%d' % port,
                '--count', '40', '--interval', '0.1')

    def names():
        return [p['name'] for p in get_json(url + 'api/v1/peers')['peers']]

    until('the node to hear camera-driver', lambda: 'camera-driver' in names(), timeout=15)
    eq(cam.wait(30), 0, 'the camera\'s exit status')
    left = time.monotonic()
    until('the node to drop camera-driver after its exit', lambda: 'camera-driver' not in names(),
          timeout=4, period=0.1)
    check(time.monotonic() - left < 4, 'dropped by its goodbye, not by expiry')


@test
def any_port_and_svc_bind(t):
    """--advertise with port * takes the port the bind got; a bind the specs do not name
    is not advertised; a svc:// bind works in the program itself."""
    fl = fleet('any')
    # Without an admin endpoint the library holds the context's event hook itself.
    cam = nomid_exec(t, '--fleet', fl, '--admin', 'off', '--advertise', 'cam=tcp://127.0.0.1:*',
                '--advertise', 'other=tcp://*:1', '--', PY, CAMERA, '--bind', 'tcp://127.0.0.1:*')
    ep = re.match(r'camera: publishing on (\S+)$', cam.line()).group(1)
    stderr_match(cam, ADVERTISING_RE % 'cam', 'the camera advertising its bind')
    rc, eps = resolve(t, 'cam', fl, '--wait', '1', '--timeout', '10')
    eq((rc, eps), (0, [ep]), 'nomid resolve cam')
    rc, eps = resolve(t, 'other', fl, '--timeout', '2')
    eq((rc, eps), (3, []), 'nomid resolve other (never bound)')
    # The default name: HOST/PROGRAM-PID.
    peers = t.nomid('peers', '--fleet', fl)
    peers.wait(20)
    check(any(re.search(r'/python3-%d\b' % cam.p.pid, l) for l in peers.rest()),
          'nomid peers shows HOST/python3-%d: %s' % (cam.p.pid, short(peers.out_seen)))

    svc = nomid_exec(t, '--fleet', fl, '--', PY, CAMERA, '--bind', 'svc://cam2', '--interval',
                     '0.05')
    plan = nomid_exec(t, '--fleet', fl, '--', PY, PLANNER, '--camera', 'svc://cam2', '--count', '2')
    plan.lines(2, timeout=20)
    eq(plan.wait(15), 0, 'the planner\'s exit status')
    check(svc.poll() is None, 'the svc:// camera runs')


def libzmq_mapped(pid):
    """The libzmq files process pid has mapped."""
    with open('/proc/%d/maps' % pid) as f:
        return sorted(set(w for w in f.read().split() if 'libzmq.so' in w))


@test
def c_program_on_the_dropin(t):
    """examples/camera.c and planner.c, built against Debian's libzmq, run on the drop-in
    under nomid exec: the camera's bind is advertised, a pyzmq planner and the C planner
    find it by name and receive its frames, and the node's topology shows the C
    programs and their connection."""
    tmp = tempfile.mkdtemp(prefix='nomid-exec-c-')
    try:
        c_programs(t, compile_example('camera', tmp), compile_example('planner', tmp))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def c_programs(t, camera, planner):
    plain = subprocess.run(['ldd', camera], capture_output=True, text=True).stdout
    check(re.search(r'libzmq\.so\.5 => /(usr/)?lib/\S+', plain),
          'the camera links Debian\'s libzmq: %s' % plain)
    fl, port = fleet('c'), free_tcp_port()
    node = t.nomid('node', '--fleet', fl, '--name', 'watcher', '--admin',
                   '127.0.0.1:%d' % free_tcp_port())
    url = wait_admin(node)
    cam = nomid_exec(t, '--fleet', fl, '--name', 'camera-c', '--advertise',
                     'camera=tcp://*:%d' % port, '--', camera, '--bind', 'tcp://*:%d' % port,
                     '--interval', '0.05')
    eq(cam.line(), 'camera: publishing on tcp://0.0.0.0:%d' % port, 'the C camera bound')
    # It runs on nomid's libzmq.so.5 from the drop-in's directory, not on Debian's.
    eq([os.path.dirname(m) for m in libzmq_mapped(cam.p.pid)], [os.path.realpath(DROPIN)],
       'where the C camera\'s libzmq comes from (%s)' % libzmq_mapped(cam.p.pid))
    stderr_match(cam, ADVERTISING_RE % 'camera', 'the C camera advertising its bind')
    pyplan = nomid_exec(t, '--fleet', fl, '--name', 'planner-py', '--', PY, PLANNER,
                        '--camera', 'svc://camera')
    cplan = nomid_exec(t, '--fleet', fl, '--name', 'planner-c', '--', planner, '--camera',
                       'svc://camera')
    for p in (pyplan, cplan):
        check(re.match(r'planner: got frame \d+$', p.line(timeout=20, what='a frame')),
              'the planner printed %s' % short(p.out_seen))
        p.lines(3)
    eq([os.path.dirname(m) for m in libzmq_mapped(cplan.p.pid)], [os.path.realpath(DROPIN)],
       'where the C planner\'s libzmq comes from')

    def joined():
        topo = get_json(url + 'api/v1/topology')
        ids = {n['name']: n['id'] for n in topo['nodes']}
        if not {'camera-c', 'planner-c', 'planner-py'} <= set(ids):
            return None
        ends = {(e['from'], e['to']) for e in topo['edges']
                if e['type'] == 'sub' and e['peer_type'] == 'pub' and e['state'] == 'active'
                and e['msgs'] > 0}
        return all((ids[p], ids['camera-c']) in ends for p in ('planner-c', 'planner-py'))

    until('the topology of %s to join both planners to camera-c' % url, joined, timeout=30,
          period=0.3)
    # Ended by a signal, the C camera closes its context: it says goodbye.
    cam.p.terminate()
    eq(cam.wait(), 0, 'the C camera\'s exit status after SIGTERM')


# Binds, says where, unbinds when told (a line on stdin), and waits for stdin to close.
UNBINDER = r'''
import sys, zmq
ctx = zmq.Context()
rep = ctx.socket(zmq.REP)
rep.bind('tcp://127.0.0.1:*')
ep = rep.getsockopt_string(zmq.LAST_ENDPOINT)
print('bound', ep, flush=True)
sys.stdin.readline()
rep.unbind(ep)
print('unbound', flush=True)
sys.stdin.read()
rep.close(linger=0)
ctx.term()
'''


@test
def unbind_withdraws(t):
    fl = fleet('unbind')
    watch = t.nomid('resolve', 'svc', '--fleet', fl, '--watch')
    p = Nomid(('exec', '--fleet', fl, '--advertise', 'svc=tcp://127.0.0.1:*', '--', PY, '-c',
               UNBINDER), prefix=env_prefix(), stdin=True)
    t.procs.append(p)
    ep = p.line().split()[1]
    eq(watch.line(timeout=20, what='the bind advertised'), '+ ' + ep, 'nomid resolve --watch')
    p.p.stdin.write(b'\n')
    p.p.stdin.flush()
    eq(p.line(), 'unbound', 'the program')
    eq(watch.line(timeout=20, what='the bind withdrawn'), '- ' + ep, 'nomid resolve --watch')
    check(p.poll() is None, 'the program runs on')
    stderr_match(p, r'^INFO member: withdrew %s \(svc\)$' % re.escape(ep), 'the withdrawal')


# Three contexts in turn: the first is the member, a second made meanwhile runs plain
# (no svc://), a third made after the first ended is the member again.
CONTEXTS = r'''
import zmq
def svc(ctx):
    s = ctx.socket(zmq.SUB)
    try:
        s.connect('svc://nothing')
        return 'svc ok'
    except zmq.ZMQError as e:
        return 'svc refused'
    finally:
        s.close(linger=0)
a = zmq.Context()
b = zmq.Context()
print('first', svc(a), 'second', svc(b), flush=True)
b.term()
a.term()
c = zmq.Context()
print('third', svc(c), flush=True)
c.term()
'''


@test
def one_member_context_at_a_time(t):
    p = nomid_exec(t, '--fleet', fleet('ctx'), '--', PY, '-c', CONTEXTS)
    eq(p.lines(2), ['first svc ok second svc refused', 'third svc ok'], 'the program')
    eq(p.wait(), 0, 'its exit status')
    err = p.stderr_text()
    eq(len(re.findall(r'^admin http://', err, re.M)), 2, 'admin endpoints started (%s)' % err)
    eq(len(re.findall(r'^WARN member: a second ZeroMQ context', err, re.M)), 1,
       'warnings about the second context (%s)' % err)


def probe(t, fl, member, listener=True, settings=True):
    """Runs PROBE on the drop-in with the fleet's settings in the environment (unless
    not settings), and NOMID_MEMBER=1 when member; returns (threads, library mapped, UDP
    inodes, beacon heard: None without a listener)."""
    env = {}
    if settings:
        env = {'NOMID_FLEET': fl, 'NOMID_NAME': 'probe', 'NOMID_ADVERTISE': 'probe=tcp://*:*'}
    if member:
        env['NOMID_MEMBER'] = '1'
    peers = t.nomid('peers', '--fleet', fl, '--timeout', '3') if listener else None
    pre = env_prefix(**env) + ['LD_LIBRARY_PATH=' + DROPIN]
    p = subprocess.Popen(pre + [PY, '-c', PROBE, 'tcp://127.0.0.1:*'], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = p.stdout.readline().split()
        check(len(line) == 3, 'the probe printed %r; stderr: %s' % (line, p.stderr.read()
                                                                      if p.poll() is not None
                                                                      else ''))
        heard = None
        if peers is not None:
            peers.wait(20)
            heard = any('probe' in l for l in peers.rest())
    finally:
        p.stdin.close()
        p.wait(15)
    err = p.stderr.read()
    check('ERROR' not in err and 'Sanitizer' not in err, 'the probe\'s stderr: %s' % err)
    return int(line[0]), line[1] == 'True', line[2], heard


@test
def plain_without_nomid_member(t):
    fl = fleet('plain')
    plain = probe(t, fl, member=False)
    joined = probe(t, fl, member=True)
    # The same measures see the member: they would see one in a plain run.
    check(joined[1] and joined[2] != '-' and joined[3],
          'a member maps the library, has a UDP socket and is heard: %s' % (joined,))
    eq(plain[1:], (False, '-', False), 'the plain drop-in (library mapped, UDP sockets, '
       'beacon heard)')
    check(joined[0] > plain[0], 'a member has more threads (%d) than the plain drop-in (%d)'
          % (joined[0], plain[0]))
    # Settings without NOMID_MEMBER=1 are as plain as no nomid variable at all.
    baseline = probe(t, fl, member=False, listener=False, settings=False)
    eq(baseline[:3], plain[:3], 'threads, library, UDP sockets: plain against plain')


@test
def bad_settings(t):
    eq(t.nomid('exec', '--fleet', 'x').wait(), 2, 'nomid exec without a COMMAND')
    for spec in ('camera', 'camera=inproc://x', '=tcp://*:1', 'a,b=tcp://*:1',
                 'c=tcp://*:70000', 'c=tcp://*'):
        eq(t.nomid('exec', '--advertise', spec, '--', 'true').wait(), 2,
           'nomid exec --advertise %r' % spec)
    eq(t.nomid('exec', '--beacon-interval', '0', '--', 'true').wait(), 2,
       'nomid exec --beacon-interval 0')
    eq(nomid_exec(t, '--', '/nonexistent/program').wait(), 127, 'nomid exec of a missing program')
    p = nomid_exec(t, '--', 'true', env={'NOMID_DROPIN_DIR': '/nonexistent'})
    eq(p.wait(), 1, 'nomid exec with NOMID_DROPIN_DIR naming no drop-in')
    # Set by hand, a bad value makes zmq_ctx_new fail, saying which variable.
    pre = env_prefix(NOMID_MEMBER='1', NOMID_BEACON_INTERVAL='0') + ['LD_LIBRARY_PATH=' + DROPIN]
    r = subprocess.run(pre + [PY, '-c', 'import zmq; zmq.Context()'], capture_output=True,
                       text=True, timeout=30)
    check(r.returncode != 0 and 'NOMID_BEACON_INTERVAL' in r.stderr,
          'a context with NOMID_BEACON_INTERVAL=0: exit %d, stderr %s' % (r.returncode,
                                                                         r.stderr[-400:]))
    pre = env_prefix(NOMID_MEMBER='yes') + ['LD_LIBRARY_PATH=' + DROPIN]
    r = subprocess.run(pre + [PY, '-c', 'import zmq; zmq.Context()'], capture_output=True,
                       text=True, timeout=30)
    check(r.returncode != 0 and 'NOMID_MEMBER must be 1' in r.stderr,
          'a context with NOMID_MEMBER=yes: exit %d, stderr %s' % (r.returncode, r.stderr[-400:]))


# Prints where the drop-in and the membership library were loaded from.
WHERE = r'''
import zmq
ctx = zmq.Context()
maps = open('/proc/self/maps').read().split()
print(sorted(set(p for p in maps if 'libzmq.so' in p or 'libnomid_member' in p)), flush=True)
ctx.term()
'''


@test
def installed_nomid_finds_its_dropin(t):
    """`cmake --install` puts libzmq.so.5 and libnomid_member.so in LIBDIR/nomid, and the
    installed nomid exec finds them there by itself (no NOMID_DROPIN_DIR)."""
    build = os.path.dirname(os.path.realpath(os.environ.get('NOMID_BIN') or ''))
    check(os.path.exists(os.path.join(build, 'CMakeCache.txt')),
          'NOMID_BIN is not in a build tree: %r' % build)
    tmp = tempfile.mkdtemp(prefix='nomid-exec-')
    try:
        installed_run(build, os.path.join(tmp, 'prefix'))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def installed_run(build, prefix):
    r = subprocess.run(['cmake', '--install', build, '--prefix', prefix], capture_output=True,
                       text=True, timeout=120)
    eq(r.returncode, 0, 'cmake --install: %s' % r.stderr[-300:])
    found = [os.path.join(d, f) for d, _, fs in os.walk(prefix) for f in fs
             if f in ('libzmq.so.5', 'libnomid_member.so')]
    libdir = os.path.dirname(found[0]) if found else None
    eq(sorted(os.path.basename(f) for f in found), ['libnomid_member.so', 'libzmq.so.5'],
       'what was installed')
    eq(os.path.basename(libdir), 'nomid', 'the drop-in\'s directory')
    r = subprocess.run(env_prefix(dropin=False) + [os.path.join(prefix, 'bin/nomid'), 'exec',
                              '--fleet', fleet('inst'), '--admin', 'off', '--', PY, '-c', WHERE],
                       capture_output=True, text=True, timeout=60)
    eq(r.returncode, 0, 'the installed nomid exec: %s' % r.stderr[-300:])
    eq(r.stdout.strip(), str(sorted([os.path.join(libdir, 'libnomid_member.so'),
                                     os.path.join(libdir, 'libzmq.so.5.2.4')])),
       'the libraries the program loaded')


@test
def member_library_uses_the_dropins_core(t):
    """The membership library defines no nm_* or nmi_* function of its own (it would be a
    second core working on the drop-in's objects) and exports its two entry points only."""
    lib = os.path.join(DROPIN or '', 'libnomid_member.so')
    check(os.path.exists(lib), 'no %s' % lib)
    syms = subprocess.run(['nm', lib], capture_output=True, text=True, check=True).stdout
    own = re.findall(r'^\S+ [TtDdBbRr] (nmi?_\w+)$', syms, re.M)
    eq(own, [], 'core functions defined in libnomid_member.so')
    dyn = subprocess.run(['nm', '-D', '--defined-only', lib], capture_output=True, text=True,
                         check=True).stdout
    exported = sorted(l.split()[-1] for l in dyn.splitlines() if l.split()[1] in 'TDB'
                      and not l.split()[-1].startswith('_'))
    eq(exported, ['nomid_member_attach', 'nomid_member_endpoint', 'nomid_member_term'],
       'libnomid_member.so exports')


if __name__ == '__main__':
    main()
