#!/usr/bin/python3
"""`nomid exec` in a fleet with certificates: two network namespaces (tests/interop/
lan.py), a certificate per program made by `nomid keygen`, one allow directory, one
fleet key; the programs are the unchanged pyzmq examples, which set no security option.

- On A the camera (examples/camera.py) binds tcp://*:PORT under `nomid exec --advertise
  camera=tcp://*:PORT --curve-cert --curve-allow`: its bind is a CURVE server with the
  certificate, advertised with its key.  On B a planner (examples/planner.py) under
  `nomid exec --curve-cert` connects to svc://camera and receives the frames; A's admin
  endpoint shows the camera's key and the planner's pipe: CURVE, the planner's key and
  User-Id (its certificate's name).
- A planner whose certificate is not in the allow directory receives nothing, and the
  camera logs the refusal with its key.
- The bridge's tcp traffic is captured throughout: the CURVE greetings are in it (the
  capture sees the link), the frames' image bytes and their topic are not.

And on this host: nomid exec refuses bad certificate flags before the program starts,
and passes good ones as absolute file names (never a key) in the environment; a bad
value set by hand stops the program's zmq_ctx_new, naming the variable."""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # keep the source tree clean

from lan import Capture, Lan  # noqa: E402
from nmtest import (CAMERA, DROPIN, PLANNER, PY, check, env_prefix, eq, main,  # noqa: E402
                    nomid_bin, nomid_exec, test, until)

IVL = 0.2  # beacon interval (seconds)
FLEET = 'xc-%d' % os.getpid()
PORT = 5556
ADMIN = '127.0.0.1:7070'  # the camera's admin endpoint, inside A
IMAGE = b'\x80' * 64  # a run of the image bytes each frame carries (--size)
FRAME_RE = re.compile(r'^planner: got frame (\d+)$')


class Certs:
    """Certificates for the camera, the planner and a stranger; the allow directory
    (camera and planner); the fleet key."""

    def __init__(self, t):
        self.dir = tempfile.mkdtemp(prefix='nomid-exec-curve-')
        self.allow = os.path.join(self.dir, 'allow')
        os.mkdir(self.allow)
        self.keys = {}
        for name in ('camera', 'planner', 'stranger'):
            p = t.nomid('keygen', os.path.join(self.dir, name), '--meta', 'name=' + name)
            self.keys[name] = p.line().split()[1]  # "public-key Z85"
            p.expect_exit(0)
            if name != 'stranger':
                shutil.copy(os.path.join(self.dir, name), self.allow)
        self.fleet_key = os.path.join(self.dir, 'fleet.key')
        with open(self.fleet_key, 'wb') as f:
            f.write(os.urandom(32).hex().encode())

    def cert(self, name):
        return ('--curve-cert', os.path.join(self.dir, name + '_secret'))

    def disc(self):
        return ('--interface', 'eth0', '--fleet', FLEET, '--beacon-interval', str(IVL),
                '--fleet-key-file', self.fleet_key)

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def frames(p, n, what):
    for _ in range(n):
        line = p.line(timeout=15, what=what)
        check(FRAME_RE.match(line), '%s printed %r' % (what, line))


@test(limit=60)
def joined_programs_serve_and_connect_with_curve(t):
    started = time.monotonic()
    certs = Certs(t)
    lan = Lan(2, 'xc')
    cap = None
    try:
        a, b = lan.hosts
        cap = Capture(os.path.join(certs.dir, 'bridge.pcap'), 'tcp', dev='br0',
                      netns=lan.bridge_ns)

        camera = nomid_exec(t, '--name', 'camera', *certs.disc(), '--admin', ADMIN,
                            '--advertise', 'camera=tcp://*:%d' % PORT, *certs.cert('camera'),
                            '--curve-allow', certs.allow, '--', PY, CAMERA,
                            '--bind', 'tcp://*:%d' % PORT, '--interval', '0.05',
                            '--size', str(len(IMAGE)), netns=a)
        eq(camera.line(timeout=20), 'camera: publishing on tcp://0.0.0.0:%d' % PORT,
           'the camera bound')
        until('the camera advertising its bind with its key',
              lambda: re.search(r'^INFO member: advertising pub tcp://0\.0\.0\.0:%d as camera '
                                r'\(CURVE\)$' % PORT, camera.stderr_text(), re.M), timeout=10)

        planner = nomid_exec(t, '--name', 'planner', *certs.disc(), *certs.cert('planner'), '--',
                             PY, PLANNER, '--camera', 'svc://camera', netns=b)
        frames(planner, 3, 'the planner')

        # A's admin endpoint: the camera's key, and the planner's pipe over CURVE.
        summary = json.loads(subprocess.run(
            ['ip', 'netns', 'exec', a, 'curl', '-sf', 'http://%s/api/v1/summary' % ADMIN],
            check=True, capture_output=True, text=True, timeout=15).stdout)
        eq(summary['curve_key'], certs.keys['camera'], "the camera's curve_key")
        pipes = [p for s in summary['sockets'] for p in s['pipes']
                 if p['peer'] and p['endpoint'] == 'tcp://0.0.0.0:%d' % PORT]
        eq([(p['mechanism'], p['peer_key'], p['user_id']) for p in pipes],
           [('CURVE', certs.keys['planner'], 'planner')],
           "the camera's pipes: mechanism, peer key, User-Id")

        # A stranger: a certificate the allow directory lacks.
        stranger = nomid_exec(t, '--name', 'stranger', *certs.disc(), *certs.cert('stranger'),
                              '--', PY, PLANNER, '--camera', 'svc://camera', netns=b)
        refusal = 'refused CURVE client %s from ' % certs.keys['stranger']
        until('the camera to refuse the stranger', lambda: refusal in camera.stderr_text(), 10)
        frames(planner, 3, 'the planner, meanwhile')
        got = [line for line in stranger.out_seen] + stranger.rest(timeout=0.5)
        eq(got, [], 'what the stranger received')
        check(stranger.poll() is None, 'the stranger runs on (refused, not failed): %s'
              % stranger.stderr_text())

        wire = cap.stop()
        cap = None
        check(b'CURVE' in wire, 'the capture holds the connections (their CURVE greetings)')
        check(IMAGE not in wire, "the camera's image bytes crossed the bridge in clear")
        check(b'frame' not in wire, "the frames' topic crossed the bridge in clear")
        print('capture: %d bytes of tcp on the bridge, no payload in clear; %.1f s' %
              (len(wire), time.monotonic() - started), flush=True)
    finally:
        if cap is not None:
            cap.p.kill()
            cap.p.wait()
        for p in t.procs:
            p.kill()
        lan.close()
        certs.close()


@test(limit=60)
def flags_are_checked_and_passed_as_file_names(t):
    certs = Certs(t)
    try:
        cert, allow = certs.cert('camera')[1], certs.allow
        for bad, why in (((('--curve-allow', allow),), 'an allow directory without a certificate'),
                         ((('--curve-cert', cert[:-len('_secret')]),), 'a public certificate'),
                         ((('--curve-cert', cert + '.none'),), 'a missing certificate'),
                         ((('--curve-cert', cert), ('--curve-allow', cert)), 'a file as DIR')):
            args = [a for pair in bad for a in pair]
            p = t.nomid('exec', *args, '--', 'true')
            eq(p.wait(), 2, 'nomid exec with %s' % why)
        # Relative names, from the certificates' directory: absolute in the environment.
        r = subprocess.run(env_prefix() + [nomid_bin(), 'exec', '--curve-cert', 'camera_secret',
                                           '--curve-allow', 'allow', '--curve-trust-unsigned-keys',
                                           '--', 'env'],
                           cwd=certs.dir, capture_output=True, text=True, timeout=30)
        eq(r.returncode, 0, 'nomid exec ... -- env: %s' % r.stderr[-400:])
        env = dict(line.split('=', 1) for line in r.stdout.splitlines() if '=' in line)
        eq((env.get('NOMID_CURVE_CERT'), env.get('NOMID_CURVE_ALLOW'),
            env.get('NOMID_CURVE_TRUST_UNSIGNED_KEYS')), (cert, allow, '1'),
           'the certificate variables')
        with open(cert) as f:
            secret = re.search(r'secret-key = "(.{40})"', f.read()).group(1)
        check(secret not in r.stdout and certs.keys['camera'] not in r.stdout,
              'a key in the environment')
        # Set by hand: a bad value stops zmq_ctx_new, naming the variable.
        for var, value in (('NOMID_CURVE_TRUST_UNSIGNED_KEYS', 'yes'),
                           ('NOMID_CURVE_CERT', certs.dir + '/none_secret')):
            pre = env_prefix(NOMID_MEMBER='1', **{var: value}) + ['LD_LIBRARY_PATH=' + DROPIN]
            r = subprocess.run(pre + [PY, '-c', 'import zmq; zmq.Context()'],
                               capture_output=True, text=True, timeout=30)
            check(r.returncode != 0 and var in r.stderr,
                  'a context with %s=%s: exit %d, stderr %s' % (var, value, r.returncode,
                                                                 r.stderr[-400:]))
    finally:
        certs.close()


if __name__ == '__main__':
    main()
