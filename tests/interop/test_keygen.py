#!/usr/bin/python3
"""`nomid keygen` against CZMQ's certificates, both directions, with Debian's libczmq
(libczmq-dev, which tests/run.sh installs): czmq_cert.c, built here with cc, loads with
zcert_load the pair nomid wrote (and a store of it with zcertstore) and must see the key
nomid printed, a secret key whose public key is that key, and the metadata; CZMQ's
zcert_save writes pairs that `nomid keygen --print` must read with the same keys and
metadata; a certificate store of both is read alike by zcertstore and `nomid keygen
--print DIR`.  Also: no overwrite without --force, modes, and hostile files refused
with the file and line named."""

import atexit
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # keep the source tree clean

from nmtest import REPO, SANITIZER_RE, check, eq, nomid_bin, test, main  # noqa: E402

_dir = tempfile.mkdtemp(prefix='nomid-keygen-')
atexit.register(shutil.rmtree, _dir, True)
_czmq = None
Z85 = re.compile(r'^[0-9a-zA-Z.\-:+=^!/*?&<>()\[\]{}@%$#]{40}$')


def czmq_bin():
    """czmq_cert built against Debian's libczmq (once)."""
    global _czmq
    if _czmq is None:
        flags = subprocess.run(['pkg-config', '--cflags', '--libs', 'libczmq', 'libzmq'],
                               capture_output=True, text=True)
        check(flags.returncode == 0, 'pkg-config finds no libczmq (apt-get install '
              'libczmq-dev; tests/run.sh does): %s' % flags.stderr.strip())
        out = os.path.join(_dir, 'czmq_cert')
        p = subprocess.run([os.environ.get('CC', 'cc'), '-Wall', '-o', out,
                            os.path.join(REPO, 'tests/interop/czmq_cert.c'),
                            *flags.stdout.split()], capture_output=True, text=True)
        check(p.returncode == 0, 'building czmq_cert.c: %s' % p.stderr)
        _czmq = out
    return _czmq


def run(*args, code=0):
    """Runs a command; its exit code must be code (None: any)."""
    p = subprocess.run(list(args), capture_output=True, text=True, timeout=30)
    if code is not None:
        eq(p.returncode, code, '%s exit code (stderr: %s)' % (' '.join(args),
                                                               p.stderr.strip()))
    check(not SANITIZER_RE.search(p.stderr), 'a sanitizer report: %s' % p.stderr)
    return p


def nomid(*args, code=0):
    return run(nomid_bin(), *args, code=code)


def czmq(*args, code=0):
    return run(czmq_bin(), *args, code=code)


def fields(out):
    """'key value' lines into {key: value} and the meta pairs into {name: value}."""
    d, meta = {}, {}
    for line in out.splitlines():
        key, _, value = line.partition(' ')
        if key == 'meta':
            name, _, v = value.partition(' ')
            meta[name] = v
        else:
            check(key not in d, 'one %s line in %r' % (key, out))
            d[key] = value
    return d, meta


def fresh(name):
    d = os.path.join(_dir, name)
    os.mkdir(d)
    return d


def keygen(path, *meta):
    args = ['keygen', path]
    for m in meta:
        args += ['--meta', m]
    out, _ = fields(nomid(*args).stdout)
    check(Z85.match(out.get('public-key', '')), 'a Z85 public key: %r' % out)
    eq(out.get('public'), path, 'the public path printed')
    eq(out.get('secret'), path + '_secret', 'the secret path printed')
    return out['public-key']


@test
def czmq_reads_what_nomid_writes(t):
    d = fresh('to-czmq')
    path = os.path.join(d, 'camera')
    meta = {'name': 'camera front', 'email': 'ops@example.org', 'note': 'a # is fine'}
    key = keygen(path, *('%s=%s' % kv for kv in meta.items()))
    eq(oct(stat.S_IMODE(os.stat(path + '_secret').st_mode)), '0o600', 'mode of the secret file')

    # zcert_load of NAME reads NAME_secret: both keys, each belonging to the other.
    out, got_meta = fields(czmq('load', path).stdout)
    eq(out['public-key'], key, 'public key CZMQ read (nomid printed it)')
    eq(out['secret-public'], key, 'public key of the secret key CZMQ read')
    with open(path + '_secret') as f:
        secret = re.search(r'secret-key = "(.{40})"', f.read()).group(1)
    eq(out['secret-key'], secret, "secret key CZMQ read (the file's)")
    eq(got_meta, meta, 'metadata CZMQ read')

    # The public file alone: CZMQ sees the public key and no secret one.
    alone = os.path.join(fresh('to-czmq-public'), 'camera')
    shutil.copy(path, alone)
    out, got_meta = fields(czmq('load', alone).stdout)
    eq(out['public-key'], key, 'public key CZMQ read from the public file')
    eq(out['secret-public'], 'none', 'no secret key in the public file')
    eq(got_meta, meta, 'metadata of the public file')

    # A directory of nomid's certificates is a CZMQ certificate store.
    other = keygen(os.path.join(d, 'other'), 'name=other')
    eq(czmq('store', d, key).stdout, 'found camera front\n', 'zcertstore lookup')
    eq(czmq('store', d, other).stdout, 'found other\n', 'zcertstore lookup of a second')
    czmq('store', d, 'x' * 40, code=1)


@test
def nomid_reads_what_czmq_writes(t):
    d = fresh('from-czmq')
    path = os.path.join(d, 'service')
    meta = {'name': 'Pieter', 'email': 'ph@imatix.com', 'motto': 'spaces  and # kept'}
    out, _ = fields(czmq('save', path, *('%s=%s' % kv for kv in meta.items())).stdout)
    key = out['public-key']

    got, got_meta = fields(nomid('keygen', '--print', path).stdout)
    eq(got, {'public-key': key, 'secret-key': 'absent'}, 'nomid reading the public file')
    eq(got_meta, meta, 'metadata nomid read from the public file')
    # nomid checks that the secret key's public key is the file's public key, so the
    # secret key was read right when this passes.
    got, got_meta = fields(nomid('keygen', '--print', path + '_secret').stdout)
    eq(got, {'public-key': key, 'secret-key': 'present'}, 'nomid reading the secret file')
    eq(got_meta, meta, 'metadata nomid read from the secret file')

    # A secret file whose keys are not a pair is refused.
    czmq('save', os.path.join(d, 'b'))
    with open(path + '_secret') as f:
        text = f.read()
    with open(os.path.join(d, 'b_secret')) as f:
        other_secret = re.search(r'secret-key = "(.{40})"', f.read()).group(1)
    bad = os.path.join(d, 'mixed_secret')
    with open(bad, 'w') as f:
        f.write(re.sub(r'secret-key = ".{40}"', 'secret-key = "%s"' % other_secret.replace(
            '\\', '\\\\'), text))
    p = nomid('keygen', '--print', bad, code=2)
    check('secret-key does not belong to public-key' in p.stderr, p.stderr)


@test
def allow_lists_agree_with_zcertstore(t):
    """A store of nomid's and CZMQ's certificates, a subdirectory, a hidden one and a
    stray file: `nomid keygen --print DIR` takes exactly the keys zcertstore finds."""
    d = fresh('store')
    os.mkdir(os.path.join(d, 'team'))
    keys = {keygen(os.path.join(d, 'n1'), 'name=n1'): 'n1',
            keygen(os.path.join(d, 'team', 'n2'), 'name=n2'): 'n2'}
    for rel in ('c1', 'team/c2', '.hidden'):
        out, _ = fields(czmq('save', os.path.join(d, rel), 'name=' + rel).stdout)
        keys[out['public-key']] = rel
    with open(os.path.join(d, 'README'), 'w') as f:
        f.write('the fleet\'s certificates\n')
    found = {k for k in keys if czmq('store', d, k, code=None).returncode == 0}
    eq(sorted(keys[k] for k in found), ['c1', 'n1', 'n2', 'team/c2'], 'what zcertstore finds')
    p = nomid('keygen', '--print', d)
    taken = [line.split()[1] for line in p.stdout.splitlines() if line.startswith('public-key')]
    eq(sorted(keys.get(k, k) for k in taken), sorted(keys[k] for k in found),
       'what nomid takes from the store')
    check('README: line 1:' in p.stderr, 'the stray file named: %s' % p.stderr)
    shutil.rmtree(os.path.join(d, 'team'))
    for name in ('n1', 'n1_secret', 'c1', 'c1_secret', 'README'):
        os.unlink(os.path.join(d, name))
    nomid('keygen', '--print', d, code=3)


@test
def keys_agree_over_many_pairs(t):
    """Z85 edge cases come with particular keys: ten pairs each way."""
    d = fresh('many')
    for i in range(10):
        path = os.path.join(d, 'n%d' % i)
        key = keygen(path)
        out, _ = fields(czmq('load', path).stdout)
        eq((out['public-key'], out['secret-public']), (key, key), 'pair %d read by CZMQ' % i)
        path = os.path.join(d, 'c%d' % i)
        out, _ = fields(czmq('save', path).stdout)
        got, _ = fields(nomid('keygen', '--print', path + '_secret').stdout)
        eq(got['public-key'], out['public-key'], 'pair %d read by nomid' % i)


@test
def no_overwrite_without_force(t):
    d = fresh('force')
    path = os.path.join(d, 'k')
    key = keygen(path)
    with open(path + '_secret') as f:
        before = f.read()
    p = nomid('keygen', path, code=2)
    check('exists (--force replaces it)' in p.stderr, p.stderr)
    with open(path + '_secret') as f:
        eq(f.read(), before, 'the secret file after a refused keygen')
    out, _ = fields(nomid('keygen', path, '--force').stdout)
    check(out['public-key'] != key, 'a new key with --force')
    got, _ = fields(nomid('keygen', '--print', path + '_secret').stdout)
    eq(got['public-key'], out['public-key'], 'the replaced pair')
    eq(sorted(os.listdir(d)), ['k', 'k_secret'], 'files left (no temporary one)')


@test
def hostile_files_and_arguments(t):
    d = fresh('hostile')
    cases = [
        ('indent', 'curve\n  public-key = "x"\n', ':2: indentation of 2 spaces'),
        ('short', 'curve\n    public-key = "abc"\n', ':2: public-key has 3 characters'),
        ('nokey', 'metadata\n    name = "x"\n', ': no public-key in a curve section'),
        ('escape', 'metadata\n    name = "\x1b[2J"\n', ':2: a control character'),
        ('big', '#' * 100 + '\n' + ('#\n' * 40000), ': larger than 65536 bytes'),
    ]
    for name, text, msg in cases:
        path = os.path.join(d, name)
        with open(path, 'w') as f:
            f.write(text)
        p = nomid('keygen', '--print', path, code=2)
        check(path + msg in p.stderr, '%s: %r' % (name, p.stderr))
        eq(p.stdout, '', 'stdout for a refused file')
    nomid('keygen', '--print', os.path.join(d, 'missing'), code=2)
    # The same files as an allow list: each skipped with its reason, none taken.
    p = nomid('keygen', '--print', d, code=3)
    for name, _, msg in cases:
        msg = re.sub(r'^:(\d+):', r': line \1:', msg)
        check('skipping %s/%s%s' % (d, name, msg) in p.stderr, '%s: %r' % (name, p.stderr))
    nomid('keygen', code=2)
    nomid('keygen', 'a', 'b', code=2)
    nomid('keygen', os.path.join(d, 'x'), '--meta', 'no-equals', code=2)
    nomid('keygen', os.path.join(d, 'x'), '--meta', 'bad name=v', code=2)
    nomid('keygen', '--print', os.path.join(d, 'short'), '--force', code=2)
    check(not os.path.exists(os.path.join(d, 'x')), 'nothing written after a usage error')


if __name__ == '__main__':
    main()
