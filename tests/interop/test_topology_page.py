#!/usr/bin/python3
"""The live topology page in a real browser.

page_follows_the_fleet: two hosts on a private LAN of network namespaces
(tests/interop/lan.py).  On host 1 a publisher advertising "cam" (10 messages a second)
and two subscribers of svc://cam, one of them without a name; on host 2 one more
subscriber; every process with an admin endpoint on its host's address (behind a
token, as admin wants off loopback).  tests/browser/topology.mjs drives Debian's
headless Chromium (through playwright-core, inside host 1's namespace) over the
publisher's page until it shows 4 nodes and 3 edges, the three processes of host 1 in
one host box and the one of host 2 in another, every node called by a name or its
host's address, each connection at about 10 msg/s on its label, and a history in the
publisher's details, and no connection marked unencrypted (a fleet without CURVE
keys: its nodes report no key and NULL connections); it saves a screenshot, then,
after host 2's subscriber is killed with SIGKILL, waits until the page shows 3 nodes
without being reloaded, and saves a second one.

page_draws_a_big_fleet: the page over tests/browser/mock_admin.py's big fleet (a robot
of 20 processes, a laptop of 3, a base station): 3 host boxes holding 20, 3 and 1
nodes, the rates the mock's counters grow at, a history, and none of its NULL
connections marked (no keys); its screenshot is how the page reads with a fleet of that
size.

page_marks_unencrypted_connections: the page over mock_admin.py's keyed fleet (a node
with a CURVE key, two connections over CURVE, one NULL tcp connection and one PLAIN):
exactly the NULL and the PLAIN connection are marked unencrypted (style, label, details,
legend, status line), the CURVE ones are not; once the node with the key is gone (and
its NULL connection with it), the CURVE connections alone keep the fleet keyed and the
PLAIN one stays marked.

The screenshots go to <build dir>/artifacts/ (topology.png, topology-after.png,
mock-fleet.png, mock-keyed.png, mock-keyed-after.png; the paths are printed).  Needs
/usr/bin/chromium and tests/browser/node_modules (`npm ci --prefix tests/browser`),
which tests/run.sh installs, and root (network namespaces); without them the file says
SKIP and exits 0, unless NOMID_REQUIRE_BROWSER is set (run.sh sets it), when it fails.
"""

import os
import queue
import signal
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True  # keep the source tree clean

from lan import Lan  # noqa: E402
from nmtest import REPO, Fail, check, main, nomid_bin, test, wait_admin  # noqa: E402

BROWSER_DIR = os.path.join(REPO, 'tests', 'browser')
SCRIPT = os.path.join(BROWSER_DIR, 'topology.mjs')
CHROMIUM = '/usr/bin/chromium'
IVL = '0.2'          # beacon interval: a killed node is gone after 3 of them
RATE = 10            # messages a second the publisher sends to each subscriber
START_WAIT = 20.0    # for a node's `admin http://...` line (ASan builds start slowly)
SCRIPT_WAIT = 120.0  # for the browser script to get through one phase


def missing():
    """What the browser side lacks (empty when it can run)."""
    gaps = []
    if not os.access(CHROMIUM, os.X_OK):
        gaps.append('%s (apt-get install chromium)' % CHROMIUM)
    if not os.path.isdir(os.path.join(BROWSER_DIR, 'node_modules', 'playwright-core')):
        gaps.append('tests/browser/node_modules/playwright-core (npm ci --prefix tests/browser)')
    if os.geteuid() != 0:
        gaps.append('root (for network namespaces)')
    return gaps


class Script:
    """topology.mjs running under node, its output (stdout and stderr) read by a thread."""

    def __init__(self, args, prefix=()):
        # Its own process group: Chromium's processes go with it at cleanup.
        self.p = subprocess.Popen([*prefix, 'node', SCRIPT] + args, cwd=BROWSER_DIR,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True, start_new_session=True)
        self.q = queue.Queue()
        self.out = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.p.stdout:
            line = line.rstrip('\n')
            self.out.append(line)
            print('  topology.mjs: ' + line, flush=True)
            self.q.put(line)
        self.q.put(None)

    def output(self):
        return '\n'.join('    ' + l for l in self.out)

    def wait_line(self, want, timeout):
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            try:
                line = self.q.get(timeout=max(left, 0.01))
            except queue.Empty:
                raise Fail('topology.mjs printed no %r within %gs; its output:\n%s'
                           % (want, timeout, self.output()))
            if line is None:
                raise Fail('topology.mjs exited %s before %r; its output:\n%s'
                           % (self.p.wait(), want, self.output()))
            if line == want:
                return

    def tell(self, line):
        self.p.stdin.write(line + '\n')
        self.p.stdin.flush()

    def wait(self, timeout):
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            raise Fail('topology.mjs did not exit within %gs; its output:\n%s'
                       % (timeout, self.output()))

    def kill(self):
        if self.p.poll() is None:
            try:
                os.killpg(self.p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.p.wait(5)


def artifacts_dir():
    d = os.path.join(os.path.dirname(os.path.abspath(nomid_bin())), 'artifacts')
    os.makedirs(d, exist_ok=True)
    return d


def fresh(path):
    """path, with a stale file of an earlier run removed (it must not pass for this one's)."""
    if os.path.exists(path):
        os.unlink(path)
    return path


def check_shots(shots):
    for s in shots:
        check(os.path.getsize(s) > 0 if os.path.exists(s) else False, 'no screenshot %s' % s)
        print('  screenshot: %s' % s, flush=True)


@test(limit=300)
def page_follows_the_fleet(t):
    gaps = missing()
    check(not gaps, 'the browser test needs %s (NOMID_REQUIRE_BROWSER is set)' % ', '.join(gaps))
    lan = Lan(2, tag='tp')
    try:
        run_fleet(t, lan)
    finally:
        lan.close()


def run_fleet(t, lan):
    token = 'page-test-%d-%s' % (os.getpid(), 'x' * 24)
    token_file = os.path.join(artifacts_dir(), 'topology-token')
    with open(token_file, 'w') as f:
        f.write(token + '\n')
    fleet = 'test-%d-topology' % os.getpid()
    ports = iter(range(7071, 7100))

    def cat(host, *args):
        addr = lan.addr(host)
        return t.nomid_in(lan.hosts[host], 'cat', *args, '--interface', addr,
                          '--admin', '%s:%d' % (addr, next(ports)), '--admin-token-file',
                          token_file, '--fleet', fleet, '--beacon-interval', IVL)

    pub = cat(0, 'pub', '--bind', 'tcp://*:0', '--advertise', 'cam', '-d', 'tick',
              '--interval', str(1 / RATE), '--name', 'camera')
    url = wait_admin(pub, START_WAIT)
    subs = [cat(0, 'sub', '--connect', 'svc://cam', '--name', 'viewer-1'),
            cat(0, 'sub', '--connect', 'svc://cam'),  # no --name: named HOST/cat-PID by default
            cat(1, 'sub', '--connect', 'svc://cam', '--name', 'viewer-2')]
    for s in subs:
        wait_admin(s, START_WAIT)

    artifacts = artifacts_dir()
    shots = [fresh(os.path.join(artifacts, 'topology.png')),
             fresh(os.path.join(artifacts, 'topology-after.png'))]
    script = Script(['--url', url + '#token=' + token, '--screenshot', shots[0],
                     '--nodes', '4', '--edges', '3',
                     '--hosts', '%s=3,%s=1' % (lan.addr(0), lan.addr(1)),
                     '--msg-rate', '%d:3' % RATE, '--unencrypted', 'none',
                     '--after-nodes', '3', '--after-screenshot', shots[1], '--timeout', '30'],
                    prefix=('ip', 'netns', 'exec', lan.hosts[0]))
    try:
        script.wait_line('ready-to-kill', SCRIPT_WAIT)
        subs[2].p.kill()  # SIGKILL: no goodbye, the fleet must notice by itself
        subs[2].p.wait(5)
        script.tell('killed')
        rc = script.wait(SCRIPT_WAIT)
        if rc != 0:
            raise Fail('topology.mjs exited %d; its output:\n%s' % (rc, script.output()))
    finally:
        script.kill()
    check_shots(shots)


def run_mock(kind, shots):
    """mock_admin.py --check over fleet `kind`; its screenshots must be `shots`."""
    gaps = missing()
    check(not gaps, 'the browser test needs %s (NOMID_REQUIRE_BROWSER is set)' % ', '.join(gaps))
    for s in shots:
        fresh(s)
    p = subprocess.run([sys.executable, os.path.join(BROWSER_DIR, 'mock_admin.py'), '--check',
                        '--fleet', kind, '--artifacts', artifacts_dir()],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=SCRIPT_WAIT, start_new_session=True)
    for line in p.stdout.splitlines():
        print('  ' + line, flush=True)
    check(p.returncode == 0, 'mock_admin.py --check --fleet %s exited %d' % (kind, p.returncode))
    check_shots(shots)


@test(limit=200)
def page_draws_a_big_fleet(t):
    run_mock('big', [os.path.join(artifacts_dir(), 'mock-fleet.png')])


@test(limit=200)
def page_marks_unencrypted_connections(t):
    run_mock('keyed', [os.path.join(artifacts_dir(), 'mock-keyed%s.png' % s) for s in ('', '-after')])


if __name__ == '__main__':
    gaps = missing()
    if gaps and not os.environ.get('NOMID_REQUIRE_BROWSER'):
        print('SKIP test_topology_page: missing %s; tests/run.sh installs them (and sets '
              'NOMID_REQUIRE_BROWSER=1, which turns this into a failure)' % ', '.join(gaps),
              flush=True)
        sys.exit(0)
    main()
