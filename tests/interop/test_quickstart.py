#!/usr/bin/python3
"""The README's first quick-start command (tests/setup-and-run-node.sh, packages already
installed: NOMID_SKIP_APT=1) builds nomid, runs its demo, and leaves a node running whose
admin page and API answer; SIGTERM stops it cleanly."""

import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request

sys.dont_write_bytecode = True  # keep the source tree clean

from nmtest import REPO, check, eq, free_tcp_port, test, main  # noqa: E402


@test(limit=400)
def quick_start_brings_up_a_node_whose_page_works(t):
    env = dict(os.environ, NOMID_SKIP_APT='1', NOMID_DEMO_PORT=str(free_tcp_port()))
    p = subprocess.Popen(['bash', os.path.join(REPO, 'tests', 'setup-and-run-node.sh')],
                         cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         start_new_session=True)
    lines = []
    threading.Thread(target=lambda: [lines.append(l.decode(errors='replace').rstrip())
                                     for l in p.stdout], daemon=True).start()
    try:
        deadline = time.monotonic() + 380
        url = None
        while url is None:
            check(p.poll() is None, 'the script ended: %s' % '\n'.join(lines[-30:]))
            check(time.monotonic() < deadline, 'no admin line: %s' % '\n'.join(lines[-30:]))
            seen = list(lines)
            marks = [i for i, x in enumerate(seen) if '== a node with the default settings' in x]
            for line in seen[marks[0]:] if marks else []:
                m = re.match(r'^admin (http://127\.0\.0\.1:\d+/)$', line)
                if m:
                    url = m.group(1)
            time.sleep(0.2)
        check(any(x == 'reply: hello' for x in lines), 'the demo\'s replies')
        with urllib.request.urlopen(url, timeout=5) as r:
            eq(r.status, 200, 'the page')
            check(b'<html' in r.read().lower(), 'the page is HTML')
        with urllib.request.urlopen(url + 'api/v1/node', timeout=5) as r:
            check(b'"name":"quickstart"' in r.read(), 'the node answers')
        os.killpg(p.pid, signal.SIGTERM)
        eq(p.wait(timeout=10), 0, 'exit code after SIGTERM')
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()



def _dev_packages(text):
    return {w for w in re.findall(r'[\w.+-]+', text) if w.endswith('-dev')}


@test
def quick_start_installs_what_a_node_needs_and_no_test_tools(t):
    """The quick start's packages are the build's: the same -dev packages as the Docker
    image's build stage (which the docker stage of the test command builds on a bare
    Debian 12), and none of the test tools."""
    script = open(os.path.join(REPO, 'tests', 'setup-and-run-node.sh')).read()
    pkgs = re.search(r'^PACKAGES=\((.*?)^\)', script, re.S | re.M)
    check(pkgs is not None, 'a PACKAGES list in setup-and-run-node.sh')
    listed = re.sub(r'#.*', '', pkgs.group(1))
    docker = open(os.path.join(REPO, 'docker', 'Dockerfile')).read().split('\nFROM ')[1]
    docker = re.search(r'apt-get install(.*?)rm -rf', docker, re.S).group(1)
    # build-essential (the quick start's compiler) brings libc6-dev, which the image names.
    eq(sorted(_dev_packages(listed)), sorted(_dev_packages(docker) - {'libc6-dev'}),
       '-dev packages of the quick start vs the Docker build stage')
    for tool in ('cmocka', 'libzmq', 'python3-zmq', 'clang', 'etcd', 'chromium', 'nodejs'):
        check(tool not in listed, 'the quick start installs the test tool %s' % tool)

if __name__ == '__main__':
    main()
