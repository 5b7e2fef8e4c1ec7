"""nmtest - the harness shared by the interop tests (tests/interop/test_*.py).

Each test file is one ctest.  It registers test functions with @test (or register()),
then calls main(), which runs them one after another and prints, per test,
`ok NAME` or `FAIL NAME: reason` (followed by indented details: the nomid command
lines, their exit codes and the tail of their stderr), and at the end a line
`N passed, M failed`.  The exit status is 0 only when nothing failed.

The nomid side is always `nomid cat ...` run as a subprocess (binary from env
NOMID_BIN); the other side is real libzmq 4.3.4 through Debian's python3-zmq (run with
/usr/bin/python3, never a pip install), or a raw TCP socket speaking ZMTP by hand.

Everything a test starts (nomid processes, pyzmq contexts, raw sockets, temporary ipc
directories) is owned by its T object and cleaned up when the test ends, pass or fail;
nomid processes also die with this interpreter (setpriv --pdeathsig) if ctest kills it.
Run one file by hand with: NOMID_BIN=build-test/nomid /usr/bin/python3 test_x.py [FILTER]
(FILTER: a substring of the test names to run).
"""

import atexit
import binascii
import json
import os
import queue
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.request

import zmq

# Generous timeouts: the tests run on a busy 2-core machine, two ctest files at a time,
# under ASan/UBSan.  Waits return as soon as the awaited thing happens.
WAIT = 10.0          # waiting for a line, a message, a bound endpoint
EXIT_WAIT = 15.0     # waiting for nomid to exit on its own (includes LINGER, 2 s)
TEST_LIMIT = 120     # hard limit per test (SIGALRM), far above what any test needs

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
# Debian's Python (it has pyzmq) and the example programs README's membership section runs.
PY = '/usr/bin/python3'
CAMERA = os.path.join(REPO, 'examples/camera.py')
PLANNER = os.path.join(REPO, 'examples/planner.py')


class Fail(Exception):
    """A check did not hold; the message says what was expected and what was seen."""


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def eq(got, want, what):
    if got != want:
        raise Fail('%s: got %s, want %s' % (what, short(got), short(want)))


def short(v, limit=160):
    r = repr(v)
    return r if len(r) <= limit else r[:limit] + '...(%d chars)' % len(r)


def hexs(b):
    return binascii.hexlify(b).decode()


def hexline(frames):
    """The line `nomid cat --format hex` prints for a message of these frames."""
    return ':'.join(hexs(f) for f in frames)


def randbytes(n, seed=None):
    return random.Random(seed if seed is not None else n).randbytes(n)


# ---------------------------------------------------------------- the nomid binary

def nomid_bin():
    env = os.environ.get('NOMID_BIN')
    if env:
        return env if os.access(env, os.X_OK) else None
    for cand in ('build-test/nomid', 'build/nomid'):
        p = os.path.join(REPO, cand)
        if os.access(p, os.X_OK):
            return p
    return None


_SETPRIV = shutil.which('setpriv')


def _child_env():
    env = dict(os.environ)
    # Huge allocations fail like real malloc instead of aborting the process, so that a
    # hostile frame size is tested for its handling, not for ASan's allocator limit.
    env.setdefault('ASAN_OPTIONS', 'allocator_may_return_null=1:detect_leaks=1')
    env.setdefault('UBSAN_OPTIONS', 'print_stacktrace=1')
    return env


SANITIZER_RE = re.compile(r'ERROR: (Address|Leak|Thread|Memory)Sanitizer|WARNING: ThreadSanitizer|runtime error:|'
                          r'SUMMARY: (Address|Undefined|Leak)')
BOUND_RE = re.compile(r'^bound (\S+)')  # `bound EP` or `bound EP... as svc://NAME`


class Nomid:
    """One running `nomid ...` process with its stdout and stderr read by threads.

    stdout lines (data) arrive in a queue read by line()/lines(); stderr lines are kept
    in err (and `bound EP` lines also in bound_eps) for wait_bound() and diagnostics.
    """

    def __init__(self, args, prefix=(), stdin=False):
        binary = nomid_bin()
        if binary is None:
            raise Fail('nomid binary not found: set NOMID_BIN (or build build-test/nomid)')
        self.argv = [binary] + [str(a) for a in args]
        cmd = list(prefix) + self.argv  # e.g. ip netns exec NS: execs, same pid
        if _SETPRIV:
            cmd = [_SETPRIV, '--pdeathsig', 'KILL', '--'] + cmd
        self.out_q = queue.Queue()
        self.out_seen = []
        self.err = []
        self.bound_eps = []
        self.cond = threading.Condition()
        self.started = time.monotonic()
        # stdin=True: a pipe the test writes to (self.p.stdin); otherwise /dev/null.
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, env=_child_env())
        self.t_out = threading.Thread(target=self._read_out, daemon=True)
        self.t_err = threading.Thread(target=self._read_err, daemon=True)
        self.t_out.start()
        self.t_err.start()

    def _read_out(self):
        for raw in iter(self.p.stdout.readline, b''):
            self.out_q.put(raw.decode('utf-8', 'surrogateescape').rstrip('\n'))
        self.out_q.put(None)

    def _read_err(self):
        for raw in iter(self.p.stderr.readline, b''):
            line = raw.decode('utf-8', 'replace').rstrip('\n')
            with self.cond:
                self.err.append(line)
                m = BOUND_RE.match(line)
                if m:
                    self.bound_eps.append(m.group(1))
                self.cond.notify_all()
        with self.cond:
            self.err.append(None)
            self.cond.notify_all()

    def name(self):
        return ' '.join(self.argv[1:])

    # -- stdout
    def line(self, timeout=WAIT, what='a line on stdout'):
        """The next stdout line (without its newline)."""
        try:
            v = self.out_q.get(timeout=timeout)
        except queue.Empty:
            raise Fail('nomid printed no %s within %gs' % (what, timeout))
        if v is None:
            self.out_q.put(None)
            raise Fail('nomid closed stdout (exit %s) before printing %s' % (self.poll(), what))
        self.out_seen.append(v)
        return v

    def lines(self, n, timeout=WAIT):
        """The next n stdout lines; timeout applies to each one."""
        return [self.line(timeout, 'line %d of %d' % (i + 1, n)) for i in range(n)]

    def rest(self, timeout=WAIT):
        """After exit: every stdout line not read yet."""
        self.t_out.join(timeout)
        out = []
        while True:
            try:
                v = self.out_q.get_nowait()
            except queue.Empty:
                break
            if v is None:
                self.out_q.put(None)
                break
            out.append(v)
        self.out_seen.extend(out)
        return out

    def expect_no_more_output(self):
        extra = self.rest()
        check(not extra, 'nomid printed more than expected on stdout: %s' % short(extra))

    # -- stderr
    def wait_bound(self, n=1, timeout=WAIT):
        """Waits for n `bound EP` lines on stderr; returns the endpoints."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.bound_eps) < n:
                if self.err and self.err[-1] is None:
                    raise Fail('nomid ended stderr (exit %s) without printing %d `bound` '
                               'line(s)' % (self.poll(), n))
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Fail('no `bound ENDPOINT` line on stderr within %gs' % timeout)
                self.cond.wait(left)
            return list(self.bound_eps[:n])

    def stderr_text(self):
        with self.cond:
            return '\n'.join(l for l in self.err if l is not None)

    # -- process
    def poll(self):
        return self.p.poll()

    def wait(self, timeout=EXIT_WAIT):
        """Waits for nomid to exit by itself; returns the exit code."""
        try:
            rc = self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            raise Fail('nomid did not exit within %gs' % timeout)
        # The readers may still hold the last lines: let them reach end of file.
        self.t_err.join(5)
        self.t_out.join(5)
        return rc

    def expect_exit(self, code, timeout=EXIT_WAIT):
        rc = self.wait(timeout)
        eq(rc, code, 'exit code of nomid %s' % self.name())
        return rc

    def stop(self, sig=signal.SIGTERM, timeout=EXIT_WAIT):
        """Sends sig (nomid closes cleanly) and returns the exit code."""
        if self.p.poll() is None:
            try:
                self.p.send_signal(sig)
            except ProcessLookupError:
                pass
        return self.wait(timeout)

    def stop_expect(self, code=0, sig=signal.SIGTERM, timeout=EXIT_WAIT):
        rc = self.stop(sig, timeout)
        eq(rc, code, 'exit code of nomid %s after %s' % (self.name(), signal.Signals(sig).name))
        return rc

    def kill(self):
        """Best effort end: SIGTERM, then SIGKILL after 5 s."""
        if self.p.stdin is not None and not self.p.stdin.closed:
            try:
                self.p.stdin.close()
            except OSError:
                pass
        if self.p.poll() is None:
            try:
                self.p.terminate()
                self.p.wait(5)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(5)
            except ProcessLookupError:
                pass
        self.t_out.join(2)
        self.t_err.join(2)

    def sanitizer_report(self):
        text = self.stderr_text()
        return text if SANITIZER_RE.search(text) else None

    def describe(self, tail=60):
        err = [l for l in self.err if l is not None]
        s = '  $ nomid %s\n  exit: %s\n' % (self.name(), self.p.poll())
        if self.out_seen:
            s += '  stdout (read): %s\n' % short(self.out_seen[-5:], 400)
        if err:
            s += '  stderr (last %d lines):\n' % min(tail, len(err))
            s += ''.join('    %s\n' % l[:300] for l in err[-tail:])
        return s


# ---------------------------------------------------------------- the libzmq drop-in

# The drop-in's directory (lib/compat in the build: ctest sets it), for tests that run
# unchanged ZeroMQ programs on it (`nomid exec`).
DROPIN = os.environ.get('NOMID_DROPIN_DIR')


def sanitizer_runtimes():
    lib = os.path.join(DROPIN or '', 'libzmq.so.5')
    check(DROPIN and os.path.exists(lib), 'NOMID_DROPIN_DIR does not hold libzmq.so.5: %r'
          % DROPIN)
    out = subprocess.run(['ldd', lib], capture_output=True, text=True).stdout
    return re.findall(r'=> (\S*lib(?:asan|ubsan|tsan)\.so\S*)', out)


def env_prefix(dropin=True, **extra):
    """`env VAR=... ` for a program on the drop-in: the sanitizer runtimes first (Python,
    or a C program built against Debian's libzmq, is not built with them; its own
    allocations are not ours to report), and NOMID_DROPIN_DIR for nomid exec unless not
    dropin."""
    runtimes = sanitizer_runtimes()
    pre = ['env', '-u', 'LD_LIBRARY_PATH'] + (['NOMID_DROPIN_DIR=' + DROPIN] if dropin
                                             else ['-u', 'NOMID_DROPIN_DIR'])
    if runtimes:
        pre += ['LD_PRELOAD=' + ' '.join(runtimes), 'ASAN_OPTIONS=detect_leaks=0']
    return pre + ['%s=%s' % kv for kv in extra.items()]


def nomid_exec(t, *args, env=None, netns=None):
    """`nomid exec ARGS` (ARGS ends with -- COMMAND...) on the drop-in, as one of t's
    processes (inside network namespace netns if given); env: more variables."""
    pre = (['ip', 'netns', 'exec', netns] if netns else []) + env_prefix(**(env or {}))
    p = Nomid(('exec',) + args, prefix=pre)
    t.procs.append(p)
    return p


def compile_example(name, out_dir):
    """cc examples/NAME.c against Debian's libzmq (its zmq.h, -lzmq): an unchanged C
    program that knows nothing of nomid."""
    out = os.path.join(out_dir, name)
    r = subprocess.run(['cc', '-Wall', '-Werror', os.path.join(REPO, 'examples', name + '.c'),
                        '-o', out, '-lzmq'], capture_output=True, text=True, timeout=120)
    eq(r.returncode, 0, 'cc examples/%s.c -lzmq: %s' % (name, r.stderr[-400:]))
    return out


def get_json(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.loads(r.read().decode())


# ---------------------------------------------------------------- endpoints

_used_ports = set()


def wait_admin(p, timeout=15):
    """Waits for a nomid process's `admin http://...` (or https) line on stderr; returns
    the URL."""
    deadline = time.monotonic() + timeout
    while True:
        m = re.search(r'^admin (https?://\S+)$', p.stderr_text(), re.M)
        if m:
            return m.group(1)
        check(p.poll() is None, 'nomid %s exited (%s) before printing its admin URL: %s'
              % (p.name(), p.poll(), p.stderr_text()))
        check(time.monotonic() < deadline, 'nomid %s printed no `admin http://...` line '
              'within %gs' % (p.name(), timeout))
        time.sleep(0.02)


def free_tcp_port():
    """A TCP port on 127.0.0.1 that nothing listens on, chosen below the kernel's
    ephemeral range so that outgoing connections of other tests do not take it."""
    for _ in range(500):
        p = random.randrange(20000, 32000)
        if p in _used_ports:
            continue
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind(('127.0.0.1', p))
        except OSError:
            continue
        finally:
            s.close()
        _used_ports.add(p)
        return p
    raise Fail('no free tcp port found')


_tmpdir = None
_ipc_n = 0


def ipc_path():
    global _tmpdir, _ipc_n
    if _tmpdir is None:
        _tmpdir = tempfile.mkdtemp(prefix='nomid-it-')
        atexit.register(shutil.rmtree, _tmpdir, True)
    _ipc_n += 1
    return os.path.join(_tmpdir, 's%d.ipc' % _ipc_n)


def endpoint(transport):
    """A fresh endpoint for nomid to bind: tcp://127.0.0.1:PORT or ipc:///tmp/.../sN.ipc."""
    if transport == 'tcp':
        return 'tcp://127.0.0.1:%d' % free_tcp_port()
    if transport == 'ipc':
        return 'ipc://' + ipc_path()
    raise ValueError(transport)


def port_of(ep):
    m = re.search(r':(\d+)$', ep)
    check(m is not None, 'endpoint %r has no port' % ep)
    return int(m.group(1))


# ---------------------------------------------------------------- raw ZMTP

def zmtp_greeting(major=3, minor=1, mechanism=b'NULL', as_server=0):
    return (b'\xff' + b'\x00' * 8 + b'\x7f' + bytes([major, minor]) +
            mechanism.ljust(20, b'\x00') + bytes([as_server]) + b'\x00' * 31)


def zmtp_frame(body, flags=0):
    """A frame with the given flags; LONG is added when the body needs it."""
    if len(body) > 255:
        return bytes([flags | 0x02]) + struct.pack('>Q', len(body)) + body
    return bytes([flags]) + bytes([len(body)]) + body


def zmtp_command(name, data=b''):
    return zmtp_frame(bytes([len(name)]) + name + data, flags=0x04)


def zmtp_ready(props):
    body = b''
    for k, v in props.items():
        body += bytes([len(k)]) + k + struct.pack('>I', len(v)) + v
    return zmtp_command(b'READY', body)


def zmtp_parse(buf):
    """Splits what a peer sent: (greeting bytes or None, [(flags, body)], leftover)."""
    if len(buf) < 64:
        return None, [], buf
    greeting, rest, frames = buf[:64], buf[64:], []
    while rest:
        flags = rest[0]
        if flags & 0x02:
            if len(rest) < 9:
                break
            size, hdr = struct.unpack('>Q', rest[1:9])[0], 9
        else:
            if len(rest) < 2:
                break
            size, hdr = rest[1], 2
        if len(rest) < hdr + size:
            break
        frames.append((flags, rest[hdr:hdr + size]))
        rest = rest[hdr + size:]
    return greeting, frames, rest


def zmtp_props(body):
    """Properties of a READY body (after the command name)."""
    props, i = {}, 0
    while i < len(body):
        n = body[i]
        k = body[i + 1:i + 1 + n]
        i += 1 + n
        (vl,) = struct.unpack('>I', body[i:i + 4])
        props[k] = body[i + 4:i + 4 + vl]
        i += 4 + vl
    return props


def command_name(body):
    return body[1:1 + body[0]] if body else b''


def recv_until_closed(s, timeout=5.0):
    """Reads until the peer closes; returns (bytes read, closed?)."""
    data = b''
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return data, False
        s.settimeout(left)
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            return data, False
        except (ConnectionResetError, BrokenPipeError):
            return data, True
        if not chunk:
            return data, True
        data += chunk


def recv_exactly(s, n, timeout=WAIT):
    data = b''
    deadline = time.monotonic() + timeout
    while len(data) < n:
        left = deadline - time.monotonic()
        check(left > 0, 'raw peer: got %d of %d bytes within %gs' % (len(data), n, timeout))
        s.settimeout(left)
        try:
            chunk = s.recv(n - len(data))
        except socket.timeout:
            continue
        check(chunk, 'raw peer: connection closed after %d of %d bytes' % (len(data), n))
        data += chunk
    return data


# ---------------------------------------------------------------- per-test state

ZMQ_TYPES = {'req': zmq.REQ, 'rep': zmq.REP, 'dealer': zmq.DEALER, 'router': zmq.ROUTER,
             'push': zmq.PUSH, 'pull': zmq.PULL, 'pair': zmq.PAIR, 'pub': zmq.PUB,
             'sub': zmq.SUB, 'xpub': zmq.XPUB, 'xsub': zmq.XSUB, 'stream': zmq.STREAM}


class T:
    """What one test owns: nomid processes, a pyzmq context, raw sockets."""

    def __init__(self):
        self.procs = []
        self.ctxs = []
        self.raws = []
        self._ctx = None

    # -- nomid
    def nomid(self, *args, stdin=False):
        p = Nomid(args, stdin=stdin)
        self.procs.append(p)
        return p

    def nomid_in(self, netns, *args):
        """`nomid ARGS` inside network namespace netns."""
        p = Nomid(args, prefix=('ip', 'netns', 'exec', netns))
        self.procs.append(p)
        return p

    def cat(self, *args, stdin=False):
        return self.nomid('cat', *args, stdin=stdin)

    # -- pyzmq
    def ctx(self):
        if self._ctx is None:
            self._ctx = self.new_ctx()
        return self._ctx

    def new_ctx(self):
        c = zmq.Context()
        self.ctxs.append(c)
        return c

    def sock(self, kind, identity=None, ctx=None, timeout=WAIT, mandatory=False, **opts):
        """A pyzmq socket with LINGER 0 and RCVTIMEO/SNDTIMEO (seconds)."""
        s = (ctx or self.ctx()).socket(ZMQ_TYPES[kind])
        s.setsockopt(zmq.LINGER, 0)
        s.setsockopt(zmq.RCVTIMEO, int(timeout * 1000))
        s.setsockopt(zmq.SNDTIMEO, int(timeout * 1000))
        if identity is not None:
            s.setsockopt(zmq.IDENTITY, identity)
        if mandatory:
            s.setsockopt(zmq.ROUTER_MANDATORY, 1)
        for k, v in opts.items():
            s.setsockopt(getattr(zmq, k.upper()), v)
        return s

    def bind(self, s, transport):
        """Binds a pyzmq socket to a fresh endpoint; returns the real endpoint."""
        if transport == 'tcp':
            s.bind('tcp://127.0.0.1:*')
        else:
            s.bind('ipc://' + ipc_path())
        return s.getsockopt(zmq.LAST_ENDPOINT).decode()

    # -- raw TCP
    def raw_connect(self, ep, timeout=WAIT):
        host, port = re.match(r'tcp://([^:]+):(\d+)$', ep).groups()
        s = socket.create_connection((host, int(port)), timeout=timeout)
        self.raws.append(s)
        return s

    def raw_listener(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(('127.0.0.1', 0))
        s.listen(8)
        self.raws.append(s)
        return s

    def own(self, s):
        self.raws.append(s)
        return s

    # -- the two ends of a link
    def link(self, transport, nomid_binds, nomid_args, peer_kind, **peer_opts):
        """Starts `nomid cat TYPE --bind|--connect EP REST...` and a pyzmq socket of
        peer_kind at the other end of EP.  The binding side starts first (nomid: until
        its `bound` line).  nomid_args is [TYPE, REST...].  Returns (nomid, pyzmq socket)."""
        kind, rest = nomid_args[0], list(nomid_args[1:])
        if nomid_binds:
            ep = endpoint(transport)
            p = self.cat(kind, '--bind', ep, *rest)
            p.wait_bound()
            s = self.sock(peer_kind, **peer_opts)
            s.connect(ep)
        else:
            s = self.sock(peer_kind, **peer_opts)
            ep = self.bind(s, transport)
            p = self.cat(kind, '--connect', ep, *rest)
        return p, s

    # -- cleanup
    def cleanup(self):
        problems = []
        for s in self.raws:
            try:
                s.close()
            except OSError:
                pass
        for p in self.procs:
            p.kill()
            rep = p.sanitizer_report()
            if rep:
                problems.append('sanitizer report from nomid %s' % p.name())
        for c in self.ctxs:
            try:
                if not c.closed:
                    c.destroy(linger=0)
            except Exception as e:  # never let cleanup hide the test's own result
                problems.append('pyzmq context destroy: %r' % e)
        return problems

    def describe(self):
        return ''.join(p.describe() for p in self.procs)


def router_send(s, frames, timeout=WAIT):
    """Sends on a pyzmq ROUTER with ROUTER_MANDATORY, retrying while the destination
    peer is not connected yet (EHOSTUNREACH)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            s.send_multipart(frames)
            return
        except zmq.ZMQError as e:
            if e.errno != zmq.EHOSTUNREACH:
                raise
            if time.monotonic() > deadline:
                raise Fail('pyzmq ROUTER: peer %r not connected within %gs' % (frames[0], timeout))
            time.sleep(0.02)


def recv(s, what='a message', timeout=None):
    """recv_multipart with a readable failure on timeout."""
    if timeout is not None:
        s.setsockopt(zmq.RCVTIMEO, int(timeout * 1000))
    try:
        return s.recv_multipart()
    except zmq.Again:
        raise Fail('pyzmq %s: no %s within %gs' % (
            socket_kind(s), what, s.getsockopt(zmq.RCVTIMEO) / 1000.0))


def send(s, frames, what='message'):
    try:
        s.send_multipart(frames)
    except zmq.Again:
        raise Fail('pyzmq %s: could not send %s within %gs (no peer?)' % (
            socket_kind(s), what, s.getsockopt(zmq.SNDTIMEO) / 1000.0))


def until(what, fn, timeout=10, period=0.1):
    """fn()'s first true value, asked every period seconds; fails after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        check(time.monotonic() < deadline, 'timed out waiting for %s' % what)
        time.sleep(period)


def pump_lines(p, send_round, n, timeout=WAIT, period=0.02):
    """Calls send_round() every `period` seconds until nomid printed n more lines on
    stdout, and returns them: for publishers, which drop what they send before the
    subscriber's subscription has arrived (the slow joiner)."""
    got = []
    deadline = time.monotonic() + timeout
    while len(got) < n:
        check(time.monotonic() < deadline, 'nomid printed %d of %d lines within %gs (got %s)'
              % (len(got), n, timeout, short(got)))
        send_round()
        try:
            v = p.out_q.get(timeout=period)
        except queue.Empty:
            continue
        if v is None:
            p.out_q.put(None)
            raise Fail('nomid closed stdout (exit %s) after %d of %d lines'
                       % (p.poll(), len(got), n))
        p.out_seen.append(v)
        got.append(v)
    return got


def pump_recv(s, send_round, timeout=WAIT, period=0.02, what='a message'):
    """Calls send_round() every `period` seconds until the pyzmq socket s has a message,
    and returns it (recv_multipart)."""
    deadline = time.monotonic() + timeout
    while True:
        check(time.monotonic() < deadline, 'pyzmq %s: no %s within %gs' % (socket_kind(s), what,
                                                                          timeout))
        send_round()
        if s.poll(int(period * 1000)):
            return s.recv_multipart()


def socket_kind(s):
    t = s.getsockopt(zmq.TYPE)
    for k, v in ZMQ_TYPES.items():
        if v == t:
            return k.upper()
    return str(t)


# ---------------------------------------------------------------- registry and runner

TESTS = []


def register(name, fn, limit=TEST_LIMIT):
    TESTS.append((name, fn, limit))


def test(fn=None, name=None, limit=TEST_LIMIT):
    """Decorator: @test or @test(name='x', limit=60).  The function gets a T."""
    def deco(f):
        register(name or f.__name__, f, limit)
        return f
    return deco(fn) if fn is not None else deco


class _Overtime(Exception):
    pass


def _alarm(signum, frame):
    raise _Overtime()


_live = []


def _kill_leftovers():
    for t in _live:
        for p in t.procs:
            try:
                if p.p.poll() is None:
                    p.p.kill()
            except Exception:
                pass


atexit.register(_kill_leftovers)


def _term(signum, frame):
    _kill_leftovers()
    sys.exit(128 + signum)


def main():
    filt = sys.argv[1] if len(sys.argv) > 1 else None
    signal.signal(signal.SIGALRM, _alarm)
    signal.signal(signal.SIGTERM, _term)
    if nomid_bin() is None:
        print('note: nomid binary not found (NOMID_BIN=%r)' % os.environ.get('NOMID_BIN'),
              flush=True)
    print('libzmq %s, pyzmq %s, nomid %s' % (zmq.zmq_version(), zmq.__version__, nomid_bin()),
          flush=True)
    passed = failed = 0
    t_start = time.monotonic()
    for name, fn, limit in TESTS:
        if filt and filt not in name:
            continue
        t = T()
        _live.append(t)
        reason = None
        t0 = time.monotonic()
        signal.alarm(limit)
        try:
            fn(t)
        except Fail as e:
            reason = str(e)
        except _Overtime:
            reason = 'test took longer than %ds' % limit
        except zmq.Again as e:
            reason = 'pyzmq timed out: %s\n%s' % (e, traceback.format_exc(limit=-2).rstrip())
        except Exception as e:
            reason = 'exception %r\n%s' % (e, traceback.format_exc(limit=-3).rstrip())
        finally:
            signal.alarm(0)
        try:
            problems = t.cleanup()
        except _Overtime:
            problems = ['cleanup overran']
        _live.remove(t)
        if reason is None and problems:
            reason = '; '.join(problems)
        dt = time.monotonic() - t0
        if reason is None:
            passed += 1
            print('ok %s' % name, flush=True)
        else:
            failed += 1
            first, _, more = reason.partition('\n')
            print('FAIL %s: %s' % (name, first), flush=True)
            detail = (more + '\n' if more else '') + '  (after %.1fs)\n' % dt + t.describe()
            sys.stdout.write(''.join('    ' + l + '\n' for l in detail.rstrip('\n').split('\n')))
            sys.stdout.flush()
    print('# %.1fs' % (time.monotonic() - t_start), flush=True)
    print('%d passed, %d failed' % (passed, failed), flush=True)
    sys.exit(0 if failed == 0 else 1)
