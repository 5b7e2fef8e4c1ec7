#!/usr/bin/python3
"""`nomid node --config FILE`: a JSON file sets what the flags set (name, fleet, beacon
interval, services, key file, admin address and token...); flags override it and a list
flag replaces the file's list; unknown keys, values of the wrong type or out of range,
malformed JSON and a missing file exit 2 with a message naming the key (or the line);
SIGTERM and SIGINT exit 0 with a goodbye, so the node's services leave resolution at
once.  Each test uses its own fleet name, as in test_discovery.py, so tests running side
by side never meet."""

import atexit
import json
import os
import shutil
import signal
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.dont_write_bytecode = True  # keep the source tree clean

from nmtest import check, eq, free_tcp_port, test, main  # noqa: E402

IVL = '0.1'  # beacon interval for resolve and peers (seconds)

_dir = tempfile.mkdtemp(prefix='nomid-config-')
atexit.register(shutil.rmtree, _dir, True)
_n = 0


def fleet(tag):
    return 'test-%d-%s' % (os.getpid(), tag)


def write(text, name=None):
    """Writes text (str) to a fresh file in the test directory; returns its path."""
    global _n
    _n += 1
    path = os.path.join(_dir, name or 'config%d.json' % _n)
    with open(path, 'w') as f:
        f.write(text)
    return path


def config(**keys):
    """A config file holding keys as JSON; admin is off unless given (no port clashes)."""
    keys.setdefault('admin', 'off')
    return write(json.dumps(keys, indent=2))


def http_status(url, token=None):
    req = urllib.request.Request(url)
    if token is not None:
        req.add_header('Authorization', 'Bearer ' + token)
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def wait_ready(p):
    deadline = time.monotonic() + 10
    while 'ready' not in p.stderr_text():
        check(p.poll() is None, 'nomid node exited early (%s): %s' % (p.poll(), p.stderr_text()))
        check(time.monotonic() < deadline, 'nomid node printed no ready line')
        time.sleep(0.02)
    return p


def node(t, *args):
    return wait_ready(t.nomid('node', *args))


def resolve(t, fl, name, *extra):
    return t.nomid('resolve', name, '--fleet', fl, '--beacon-interval', IVL, *extra)


def resolve_one(t, fl, name, *extra):
    r = resolve(t, fl, name, '--wait', '1', '--timeout', '5', *extra)
    ep = r.line()
    r.expect_exit(0)
    return ep


def peer_names(t, fl, *extra):
    p = t.nomid('peers', '--fleet', fl, '--beacon-interval', IVL, '--timeout', '0.6', *extra)
    p.expect_exit(0)
    return sorted(line.split()[1] for line in p.rest())


def expect_config_error(t, path, *needles, extra=()):
    """nomid node --config path exits 2 and its stderr holds every needle."""
    p = t.nomid('node', '--config', path, *extra)
    p.expect_exit(2)
    err = p.stderr_text()
    for n in needles:
        check(n in err, 'stderr should mention %r: %r' % (n, err))
    check('ready' not in err, 'a bad config must stop the node before it starts: %r' % err)
    if not extra:
        # One message, naming the key: not also the flag whose validator checked it.
        eq(err.count('ERROR'), 1, 'error lines in %r' % err)


@test
def config_file_runs_a_node(t):
    fl = fleet('run')
    write('k' * 40 + '\n', 'fleet.key')
    token = 'config-test-token-0123456789'
    write(token + '\n', 'admin.token')
    admin = '127.0.0.1:%d' % free_tcp_port()
    path = config(name='robot-cfg', fleet=fl, beacon_interval=0.1, beacon_expiry=5,
                  interfaces=['127.0.0.1'], discovery=['beacon'], etcd_prefix='/cfg/',
                  fleet_key_file='fleet.key',  # relative: next to the config file
                  admin=admin, admin_token_file='admin.token',
                  services=['camera.front=pub@tcp://127.0.0.1:7401',
                            {'name': 'imu', 'type': 'push', 'endpoint': 'tcp://*:7402'}])
    n = node(t, '--config', path)
    url = 'http://%s/' % admin
    check('admin ' + url in n.stderr_text(), 'admin URL from the file: %r' % n.stderr_text())
    eq(http_status(url + 'api/v1/node'), 401, 'admin without the token from the file')
    eq(http_status(url + 'api/v1/node', token), 200, 'admin with the token from the file')
    # A resolver with a key ignores unsigned beacons: finding the node proves it signs
    # with the file's key.
    key = ('--fleet-key-file', os.path.join(_dir, 'fleet.key'))
    eq(resolve_one(t, fl, 'camera.front', *key), 'tcp://127.0.0.1:7401', 'string service')
    eq(resolve_one(t, fl, 'imu', *key), 'tcp://127.0.0.1:7402', 'object service (wildcard)')
    eq(peer_names(t, fl, *key), ['robot-cfg'], 'node name from the file')


@test
def flags_override_the_file(t):
    fl = fleet('over')
    path = config(name='from-file', fleet=fl, beacon_interval=0.1,
                  interfaces=['no-such-if0'],  # replaced by --interface, or the start fails
                  services=['old=pub@tcp://127.0.0.1:7501', 'old2=pub@tcp://127.0.0.1:7502'])
    node(t, '--config', path, '--name', 'from-flag', '--interface', '127.0.0.1',
         '--service', 'new=pub@tcp://127.0.0.1:7503')
    eq(resolve_one(t, fl, 'new'), 'tcp://127.0.0.1:7503', 'service from the flag')
    eq(peer_names(t, fl), ['from-flag'], 'name from the flag')
    # --service replaced the file's list: the file's services are not advertised.
    r = resolve(t, fl, 'old', '--timeout', '0.6')
    r.expect_exit(3)
    # A flag given before --config still wins: the file is read first.
    fl2 = fleet('over2')
    node(t, '--fleet', fl2, '--config', config(fleet='other', beacon_interval=0.1,
                                                 services=['x=pub@tcp://127.0.0.1:7504']))
    eq(resolve_one(t, fl2, 'x'), 'tcp://127.0.0.1:7504', 'fleet from the flag')


@test
def unknown_key_exits_2(t):
    expect_config_error(t, config(name='a', beacon_intervall=1), '"beacon_intervall"',
                        'unknown key')
    expect_config_error(t, config(services=[{'name': 'a', 'type': 'pub',
                                             'endpoint': 'tcp://127.0.0.1:1', 'port': 1}]),
                        '"services"[0]', '"port"')


@test
def bad_types_and_values_exit_2(t):
    cases = [
        (dict(beacon_interval='1'), ['"beacon_interval"', 'got a string']),
        (dict(beacon_interval=0.001), ['"beacon_interval"', '0.01']),
        (dict(beacon_interval=-1), ['"beacon_interval"']),
        (dict(beacon_expiry=2.5), ['"beacon_expiry"', 'integer']),
        (dict(beacon_expiry=0), ['"beacon_expiry"', '1 to 1000']),
        (dict(name=7), ['"name"', 'got a number']),
        (dict(name='n' * 65), ['"name"', '64 bytes']),
        (dict(fleet=''), ['"fleet"']),
        (dict(interfaces='lo'), ['"interfaces"', 'array']),
        (dict(interfaces=['lo', 3]), ['"interfaces"[1]', 'got a number']),
        (dict(discovery=['carrier-pigeon']), ['"discovery"[0]', 'carrier-pigeon']),
        (dict(etcd_prefix='nomid'), ['"etcd_prefix"', "'/'"]),
        (dict(admin='localhost'), ['"admin"', 'ADDR:PORT']),
        (dict(admin=True), ['"admin"', 'got a boolean']),
        (dict(fleet_key_file='no-such.key'), ['"fleet_key_file"', 'No such file']),
        (dict(fleet_key_file=write('short\n', 'short.key')), ['"fleet_key_file"', '32 to']),
        (dict(admin_token_file=write('tiny\n', 'tiny.token')), ['"admin_token_file"']),
        (dict(curve_cert='no-such.cert'), ['"curve_cert"', 'No such file']),
        (dict(curve_cert=write('curve\n    public-key = "x"\n', 'bad.cert')), ['"curve_cert"']),
        (dict(curve_allow='.'), ['needs --curve-cert']),
        (dict(services='a=pub@tcp://127.0.0.1:1'), ['"services"', 'array']),
        (dict(services=['nonsense']), ['"services"[0]', 'NAME=TYPE@ENDPOINT']),
        (dict(services=['ok=pub@tcp://127.0.0.1:1', 'a=nosuchtype@tcp://127.0.0.1:1']),
         ['"services"[1]']),
        (dict(services=[{'name': 'a', 'type': 'nosuchtype', 'endpoint': 'tcp://h:1'}]),
         ['"services"[0]', '"type"', 'nosuchtype']),
        (dict(services=[{'name': 'a', 'endpoint': 'tcp://h:1'}]),
         ['"services"[0]', 'missing "type"']),
        (dict(services=[{'name': 'a', 'type': 'pub', 'endpoint': 'nowhere'}]),
         ['"services"[0]']),
        (dict(services=[3]), ['"services"[0]', 'got a number']),
    ]
    for keys, needles in cases:
        expect_config_error(t, config(**keys), *needles)
    # Bad flags are still checked after a good file.
    expect_config_error(t, config(name='a'), "--beacon-interval 'soon'",
                        extra=('--beacon-interval', 'soon'))


@test
def malformed_json_exits_2_with_the_line(t):
    expect_config_error(t, write('{\n  "name": "a",\n  "fleet": ,\n}\n'), 'line 3', 'column')
    expect_config_error(t, write('{"name": "a", "name": "b"}'), 'duplicate')
    expect_config_error(t, write(''), 'malformed JSON')
    expect_config_error(t, write('["name"]'), 'JSON object')


@test
def missing_file_exits_2(t):
    missing = os.path.join(_dir, 'no-such-config.json')
    expect_config_error(t, missing, missing, 'No such file')
    p = t.nomid('node', '--config')
    p.expect_exit(2)
    p = t.nomid('node', '--config', config(name='a'), '--config', config(name='b'))
    p.expect_exit(2)
    check('twice' in p.stderr_text(), 'two --config: %r' % p.stderr_text())
    # Only `nomid node` reads a config file.
    for cmd in (['resolve', 'x'], ['peers'], ['cat', 'pub', '--bind', 'tcp://127.0.0.1:1']):
        p = t.nomid(*(cmd + ['--config', config(name='a')]))
        p.expect_exit(2)


@test
def stop_signals_say_goodbye(t):
    fl = fleet('bye')
    # The watcher's own expiry is 5 s: leaving sooner than that takes a goodbye.
    w = resolve(t, fl, 'lidar', '--watch', '--beacon-expiry', '50')
    a = node(t, '--config', config(fleet=fl, beacon_interval=0.1,
                                   services=['lidar=pub@tcp://127.0.0.1:7601']))
    b = node(t, '--config', config(fleet=fl, beacon_interval=0.1,
                                   services=['lidar=pub@tcp://127.0.0.1:7602']))
    eq(sorted(w.lines(2)), ['+ tcp://127.0.0.1:7601', '+ tcp://127.0.0.1:7602'], 'joined')
    for p, ep, sig in ((a, 'tcp://127.0.0.1:7601', signal.SIGTERM),
                       (b, 'tcp://127.0.0.1:7602', signal.SIGINT)):
        t0 = time.monotonic()
        p.stop_expect(0, sig)
        eq(w.line(timeout=2), '- ' + ep, 'left after %s' % signal.Signals(sig).name)
        took = time.monotonic() - t0
        check(took < 1.5, '%s: left after %.3f s, want a goodbye (expiry is 5 s)'
              % (signal.Signals(sig).name, took))
    w.stop_expect(0)


if __name__ == '__main__':
    main()
