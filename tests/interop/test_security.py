#!/usr/bin/python3
"""PLAIN and CURVE between libzmq and nomid, both ways: pyzmq programs (security_peer.py)
run on Debian's libzmq and on nomid's libzmq.so.5 (the drop-in, NOMID_DROPIN_DIR), one
as server and one as client.  CURVE without ZAP, and with pyzmq's ThreadAuthenticator
holding an allow list of client certificates that `nomid keygen` wrote (read by pyzmq's
own zmq.auth.load_certificates); PLAIN with the authenticator's passwords.  A wrong
server key, a client key not on the list and a wrong password are refused on either
side, and the client sees the refusal as libzmq reports it."""

import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # keep the source tree clean

from nmtest import REPO, Fail, check, eq, free_tcp_port, main, nomid_bin, test  # noqa: E402

PEER = os.path.join(REPO, 'tests/interop/security_peer.py')
DROPIN = os.environ.get('NOMID_DROPIN_DIR')
PY = '/usr/bin/python3'


def sanitizer_runtimes(lib):
    """The sanitizer runtimes a drop-in built with them needs loaded first (Python is
    not built with them)."""
    out = subprocess.run(['ldd', lib], capture_output=True, text=True).stdout
    return re.findall(r'=> (\S*lib(?:asan|ubsan|tsan)\.so\S*)', out)


def peer_env(library):
    env = dict(os.environ)
    env.pop('LD_LIBRARY_PATH', None)
    if library == 'nomid':
        lib = os.path.join(DROPIN or '', 'libzmq.so.5')
        check(DROPIN and os.path.exists(lib), 'NOMID_DROPIN_DIR does not hold libzmq.so.5: %r'
              % DROPIN)
        env['LD_LIBRARY_PATH'] = DROPIN
        runtimes = sanitizer_runtimes(lib)
        if runtimes:
            env['LD_PRELOAD'] = ' '.join(runtimes)
            env['ASAN_OPTIONS'] = 'detect_leaks=0'  # the interpreter's own, not ours
    return env


def first_line(p, want):
    line = p.stdout.readline().strip()
    eq(line, 'library ' + want, 'the library the peer runs on')


def run_pair(server_lib, client_lib, mech, server_args, client_args):
    """Starts the server, runs the client (NULL when client_args is empty); returns the
    client's last line and status."""
    port = free_tcp_port()
    client_mech = mech if client_args else 'null'
    srv = subprocess.Popen([PY, PEER, 'server', mech, str(port)] + server_args,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           env=peer_env(server_lib))
    try:
        first_line(srv, server_lib)
        eq(srv.stdout.readline().strip(), 'ready', 'the server says it is ready')
        cli = subprocess.run([PY, PEER, 'client', client_mech, str(port)] + client_args,
                             capture_output=True, text=True, env=peer_env(client_lib),
                             timeout=30)
        lines = cli.stdout.strip().split('\n')
        eq(lines[0], 'library ' + client_lib, 'the library the client runs on')
        check(cli.returncode in (0, 3), 'client failed (%d): %s %s'
              % (cli.returncode, cli.stdout, cli.stderr[-2000:]))
        return lines[-1], cli.returncode
    finally:
        srv.kill()
        _, err = srv.communicate(timeout=10)
        check('Traceback' not in err or 'KeyboardInterrupt' in err,
              'server (%s) failed: %s' % (server_lib, err[-2000:]))


class Keys:
    """A server pair and two client pairs, from `nomid keygen`; the allow directory
    holds the first client's public certificate only."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix='nomid-security-')
        self.allow = os.path.join(self.dir, 'allow')
        os.mkdir(self.allow)
        self.server = self.make('server')
        self.client = self.make('client')
        self.stranger = self.make('stranger')
        shutil.copy(os.path.join(self.dir, 'client.key'), self.allow)

    def make(self, name):
        path = os.path.join(self.dir, name + '.key')
        out = subprocess.run([nomid_bin(), 'keygen', path], capture_output=True, text=True)
        eq(out.returncode, 0, 'nomid keygen: %s' % out.stderr)
        secret = open(path + '_secret').read()
        pub = re.search(r'public-key = "(.{40})"', secret).group(1)
        sec = re.search(r'secret-key = "(.{40})"', secret).group(1)
        return pub, sec

    def client_args(self, who, server_key=None):
        pub, sec = getattr(self, who)
        # --opt=VALUE: a Z85 key may start with '-'
        return ['--server-key=' + (server_key or self.server[0]), '--public=' + pub,
                '--secret=' + sec]


_keys = None


def keys():
    global _keys
    if _keys is None:
        _keys = Keys()
    return _keys


DIRECTIONS = [('libzmq', 'nomid'), ('nomid', 'libzmq')]


def each_direction(fn):
    for server_lib, client_lib in DIRECTIONS:
        try:
            fn(server_lib, client_lib)
        except Exception as e:
            raise Fail('%s server, %s client: %s' % (server_lib, client_lib, e)) from e


@test
def curve_without_zap(t):
    k = keys()

    def one(server_lib, client_lib):
        line, rc = run_pair(server_lib, client_lib, 'curve', ['--secret=' + k.server[1]],
                            k.client_args('client'))
        eq((rc, line), (0, 'ok -'), 'CURVE round trips (no ZAP: no User-Id)')
    each_direction(one)


@test
def curve_with_allow_list(t):
    k = keys()

    def one(server_lib, client_lib):
        args = ['--secret=' + k.server[1], '--zap', '--allow=' + k.allow]
        line, rc = run_pair(server_lib, client_lib, 'curve', args, k.client_args('client'))
        eq((rc, line), (0, 'ok ' + k.client[0]), 'an allowed key (User-Id: its Z85)')
        line, rc = run_pair(server_lib, client_lib, 'curve', args, k.client_args('stranger'))
        eq(rc, 3, 'a key not on the list is refused: ' + line)
        check('HANDSHAKE_FAILED_AUTH:400' in line,
              'the client hears the ZAP refusal (AUTH 400): ' + line)
    each_direction(one)


@test
def curve_wrong_server_key(t):
    k = keys()

    def one(server_lib, client_lib):
        line, rc = run_pair(server_lib, client_lib, 'curve',
                            ['--secret=' + k.server[1], '--zap', '--allow=any'],
                            k.client_args('client', server_key=k.stranger[0]))
        eq(rc, 3, 'a client with another server key gets nothing: ' + line)
    each_direction(one)


@test
def plain_passwords(t):
    def one(server_lib, client_lib):
        line, rc = run_pair(server_lib, client_lib, 'plain', ['--zap'],
                            ['--user', 'admin', '--password', 'secret'])
        eq((rc, line), (0, 'ok admin'), 'the right password (User-Id: the user)')
        line, rc = run_pair(server_lib, client_lib, 'plain', ['--zap'],
                            ['--user', 'admin', '--password', 'guess'])
        eq(rc, 3, 'a wrong password is refused: ' + line)
        # libzmq 4.3's PLAIN client reads only its own server's misspelled ERROR
        # ("\x5eRROR"): nomid's well-formed one is an unexpected command to it.
        heard = ('HANDSHAKE_FAILED_PROTOCOL:%d' % 0x10000001 if client_lib == 'libzmq'
                 and server_lib == 'nomid' else 'HANDSHAKE_FAILED_AUTH:400')
        check(heard in line, 'the client hears %s: %s' % (heard, line))
    each_direction(one)


@test
def mechanisms_must_match(t):
    k = keys()
    for server_lib, client_lib in DIRECTIONS:  # the client runs NULL
        line, rc = run_pair(server_lib, client_lib, 'curve', ['--secret=' + k.server[1]], [])
        eq(rc, 3, '%s NULL client of a %s CURVE server gets nothing: %s'
           % (client_lib, server_lib, line))


if __name__ == '__main__':
    try:
        main()
    finally:
        if _keys is not None:
            shutil.rmtree(_keys.dir, True)
