#!/usr/bin/python3
"""README's command reference against the program: for every subcommand `nomid --help`
lists, README has a `### nomid X` section whose usage line is the first line of `nomid X
--help`, and whose tables name exactly the options that --help lists (the shared
discovery options through the "discovery options" row).  Also the error messages a
newcomer meets first: an endpoint without a transport, a bad --service; and that `nomid
bench lat` prints the fields README names, with sane figures, and paces with --rate."""

import re
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean

from nmtest import REPO, check, eq, nomid_bin, test, main  # noqa: E402

OPT = re.compile(r'(?<![\w-])(--?[a-zA-Z][\w-]*)')


def help_of(*args):
    p = subprocess.run([nomid_bin(), *args, '--help'], capture_output=True, text=True,
                       timeout=10)
    eq(p.returncode, 0, 'nomid %s --help exit code' % ' '.join(args))
    return p.stdout


def help_options(text):
    """Options in the first column of a help text (lines '  -x, --xxx ARG  what')."""
    opts = set()
    for line in text.splitlines():
        m = re.match(r'^  (-\S.*?)(?:\s{2,}|$)', line)
        if m:
            opts.update(OPT.findall(m.group(1)))
    return opts


def readme_sections():
    """{'cat': text, ...} for each '### nomid X' of README's '## Command reference'."""
    text = open(REPO + '/README.md', encoding='utf-8').read()
    ref = text.split('\n## Command reference\n', 1)
    check(len(ref) == 2, 'README has a "## Command reference" section')
    ref = ref[1].split('\n## ', 1)[0]
    parts = re.split(r'^### (.+)$', ref, flags=re.M)
    return {title.strip(): body for title, body in zip(parts[1::2], parts[2::2])}


def table_options(body):
    """Options named in the first column of a section's tables."""
    opts = set()
    for line in body.splitlines():
        if line.startswith('| `'):
            opts.update(OPT.findall(line.split(' | ')[0]))
    return opts


def commands():
    """The subcommands `nomid --help` lists."""
    names = set()
    for line in help_of().splitlines():
        m = re.match(r'^  ([a-z]+) ', line)
        if m and m.group(1) != 'nomid':
            names.add(m.group(1))
    return names


@test
def every_subcommand_has_a_reference_section(t):
    secs = readme_sections()
    eq(sorted('nomid ' + c for c in commands()),
       sorted(k for k in secs if k.startswith('nomid ')), 'subcommands with a README section')


@test
def usage_lines_and_options_match_each_help(t):
    secs = readme_sections()
    disc = table_options(next(v for k, v in secs.items() if k.startswith('Discovery options')))
    for cmd in sorted(commands()):
        body = secs['nomid ' + cmd]
        text = help_of(cmd)
        usage = re.search(r'```\n(usage: .*?)\n```', body, re.S)
        check(usage is not None, 'a usage block under ### nomid %s' % cmd)
        want = usage.group(1).splitlines()
        eq(text.splitlines()[:len(want)], want, 'usage of nomid %s (README vs --help)' % cmd)
        documented = table_options(body)
        if re.search(r'^\| discovery options \|', body, re.M):
            documented |= disc
        eq(sorted(documented), sorted(help_options(text) - {'--help'}),
           'options of nomid %s (README vs --help)' % cmd)
        if 'discovery options' in body:
            for form in ('broadcast:IF', 'ipv6:IF', 'all'):
                check(form in text, 'nomid %s --help names the --interface form %s' % (cmd, form))


@test
def bench_modes_match(t):
    body = readme_sections()['nomid bench']
    modes = set(re.findall(r'^\| `(\w+)` \|', body, re.M))
    text = help_of('bench')
    used = set()
    for line in text.splitlines():
        m = re.match(r'^(?:usage:|\s+)\s*nomid bench (\S+)', line)
        if m:
            used.update(m.group(1).split('|'))
    eq(sorted(modes), sorted(used), 'bench modes (README vs --help)')
    check('bench idle' in help_of().replace('  ', ' '), 'nomid --help lists bench idle')


def run(*args):
    return subprocess.run([nomid_bin(), *args], capture_output=True, text=True, timeout=20)


LAT_FIELDS = ['one_way_us', 'rtt_p50_us', 'rtt_p99_us', 'rtt_p999_us', 'rtt_max_us',
              'cpu_us_per_rt']


def bench_lat(*args):
    """Runs `nomid bench lat ARGS`; its figures as {name: float}, in the printed order."""
    p = run('bench', 'lat', *args)
    eq(p.returncode, 0, 'exit code of nomid bench lat %s (stderr: %s)' % (' '.join(args),
                                                                         p.stderr))
    lines = p.stdout.splitlines()
    eq(len(lines), 1, 'lines printed by nomid bench lat')
    pairs = [f.split('=', 1) for f in lines[0].split()]
    eq([k for k, _ in pairs], LAT_FIELDS, 'fields of nomid bench lat')
    return {k: float(v) for k, v in pairs}


@test
def bench_lat_reports_round_trips_and_cpu(t):
    readme = readme_sections()['nomid bench']
    for f in LAT_FIELDS:
        check('`%s`' % f in readme, 'README names `%s` under ### nomid bench' % f)
    for ep in ('tcp://127.0.0.1:0', 'inproc://bench-lat'):
        r = bench_lat(ep, '64', '300')
        check(all(v > 0 for v in r.values()), 'positive figures over %s: %r' % (ep, r))
        check(r['rtt_p50_us'] <= r['rtt_p99_us'] <= r['rtt_p999_us'] <= r['rtt_max_us'],
              'ordered percentiles over %s: %r' % (ep, r))
        check(r['one_way_us'] * 2 <= r['rtt_max_us'] + 0.02, 'mean within the slowest: %r' % r)


@test
def bench_lat_rate_paces_the_requester(t):
    start = time.monotonic()
    r = bench_lat('--rate', '200', 'tcp://127.0.0.1:0', '64', '100')
    took = time.monotonic() - start
    # 100 round trips starting 5 ms apart: the last starts 495 ms after the first.
    check(took >= 0.45, 'paced run took %.3f s, expected at least 0.45' % took)
    check(r['rtt_p50_us'] <= r['rtt_p99_us'] <= r['rtt_p999_us'] <= r['rtt_max_us'],
          'ordered percentiles: %r' % r)
    for bad in (['--rate', '0'], ['--rate', 'x'], ['--rate']):
        p = run('bench', 'lat', 'tcp://127.0.0.1:0', '64', '10', *bad)
        eq(p.returncode, 2, 'exit code of nomid bench lat ... %s' % ' '.join(bad))
    p = run('bench', 'thr', '--rate', '10', 'tcp://127.0.0.1:0', '64', '10')
    eq(p.returncode, 2, 'exit code of nomid bench thr --rate')


ROUTER_FIELDS = ['reqs_per_s', 'rtt_p50_us', 'rtt_p99_us', 'rtt_p999_us', 'rtt_max_us',
                 'cpu_us_per_req']


@test
def bench_router_serves_many_clients(t):
    readme = readme_sections()['nomid bench']
    for f in ROUTER_FIELDS:
        check('`%s`' % f in readme, 'README names `%s` under ### nomid bench' % f)
    start = time.monotonic()
    p = run('bench', 'router', 'tcp://127.0.0.1:0', '64', '3000', '30', '3')
    took = time.monotonic() - start
    eq(p.returncode, 0, 'exit code of nomid bench router (stderr: %s)' % p.stderr)
    pairs = [f.split('=', 1) for f in p.stdout.split()]
    eq([k for k, _ in pairs], ROUTER_FIELDS, 'fields of nomid bench router')
    r = {k: float(v) for k, v in pairs}
    check(all(v > 0 for v in r.values()), 'positive figures: %r' % r)
    check(r['rtt_p50_us'] <= r['rtt_p99_us'] <= r['rtt_p999_us'] <= r['rtt_max_us'],
          'ordered percentiles: %r' % r)
    # 3000 requests in the time measured; the whole run took longer than that time.
    check(3000 / r['reqs_per_s'] <= took, 'rate %r within the run\'s %.3f s' % (r, took))
    for bad in (['inproc://x', '64', '10', '2'], ['tcp://127.0.0.1:0', '64', '10', '2', '3'],
                ['tcp://127.0.0.1:0', '64', '10']):
        p = run('bench', 'router', *bad)
        eq(p.returncode, 2, 'exit code of nomid bench router %s' % ' '.join(bad))


@test
def errors_a_newcomer_meets_name_the_fix(t):
    p = run('cat', 'rep', '--echo', '--bind', '127.0.0.1:5596')
    eq(p.returncode, 2, 'exit code of a bind without transport')
    check('did you mean tcp://127.0.0.1:5596?' in p.stderr, p.stderr)
    p = run('cat', 'sub', '--connect', 'tcp://127.0.0.1:99999')
    eq(p.returncode, 2, 'exit code of a port out of range')
    check('the port 99999 is out of range' in p.stderr, p.stderr)
    p = run('cat', 'sub', '--connect', 'udp://127.0.0.1:5')
    check("unknown transport 'udp://'" in p.stderr, p.stderr)
    p = run('node', '--service', 'cam=pub@127.0.0.1:5556')
    eq(p.returncode, 2, 'exit code of a bad --service')
    check('the ENDPOINT names no transport' in p.stderr, p.stderr)
    p = run('node', '--service', 'cam=publisher@tcp://*:5556')
    check('TYPE is not a lowercase socket type' in p.stderr, p.stderr)
    p = run('peers', '--watch')
    eq(p.returncode, 2, 'peers takes no --watch')
    p = run('resolve', 'x', '--name', 'n')
    eq(p.returncode, 2, 'resolve takes no --name (it only listens)')
    for p in (run('cat', 'sub', '--connect', 'nothing'), run('cat', 'rep', '--echo', '--bind',
                                                            'ipc:///nonexistent/dir/x')):
        check(not re.search(r': (Invalid argument|No such file or directory)$', p.stderr, re.M),
              'a bare errno string: %s' % p.stderr)


if __name__ == '__main__':
    main()
