#!/usr/bin/python3
"""Discovery at fleet scale, on loopback: 50 `nomid node` processes (each its own
agent, sockets and beacons) plus a passive observer; the observer must resolve all 50
instances and list all 50 peers, and a clean stop of every node must empty its view.
Prints the convergence time.  (tests/discovery/test_scale.c checks that every one of
50 agents sees all the others; this checks the same numbers as real processes.)"""

import os
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean

from nmtest import check, eq, test, main  # noqa: E402

N = 50
IVL = '0.25'
FLEET = 'scale-%d' % os.getpid()


def disc():
    return ('--fleet', FLEET, '--beacon-interval', IVL)


@test(limit=120)
def fifty_node_processes_converge(t):
    nodes = [t.nomid('node', '--name', 'n%02d' % i, '--service',
                     'scale=push@tcp://127.0.0.1:%d' % (30000 + i), *disc())
             for i in range(N)]
    deadline = time.monotonic() + 60
    for n in nodes:
        while 'ready' not in n.stderr_text():
            check(n.poll() is None, 'a node exited early: %s' % n.stderr_text())
            check(time.monotonic() < deadline, 'a node printed no ready line')
            time.sleep(0.02)
    started = time.monotonic()
    r = t.nomid('resolve', 'scale', '--wait', str(N), '--timeout', '30', *disc())
    eps = r.lines(N, timeout=30)
    r.expect_exit(0)
    took = time.monotonic() - started
    eq(sorted(eps), sorted('tcp://127.0.0.1:%d' % (30000 + i) for i in range(N)),
       'every instance resolved once')
    print('observer resolved %d node processes in %.0f ms after the last was ready '
          '(includes the observer start)' % (N, took * 1000), flush=True)

    p = t.nomid('peers', '--timeout', '1', *disc())
    names = sorted(line.split()[1] for line in p.rest())
    p.expect_exit(0)
    eq(names, ['n%02d' % i for i in range(N)], 'peers lists every node')

    w = t.nomid('resolve', 'scale', '--watch', *disc())
    eq(len(w.lines(N, timeout=10)), N, 'watch lists every instance')
    for n in nodes:
        n.stop_expect(0)
    gone = [w.line(timeout=5) for _ in range(N)]
    check(all(g.startswith('- ') for g in gone), 'every node left: %s' % gone[:3])


if __name__ == '__main__':
    main()
