#!/usr/bin/python3
"""pyzmq_bench.py - the same shapes as `nomid bench thr|lat` for a Python program using
pyzmq, so tests/bench/run.sh can run one unchanged pyzmq program on libzmq and on nomid's
libzmq.so.5 (LD_LIBRARY_PATH) and compare.

  pyzmq_bench.py thr ENDPOINT SIZE COUNT   PULL binds, a child process PUSHes COUNT
      messages of SIZE bytes; timed at the receiver from the first message to the last;
      prints msgs_per_s=N MB_per_s=M (MB = 10^6 bytes)
  pyzmq_bench.py lat ENDPOINT SIZE COUNT   REP binds and echoes, a child REQ makes COUNT
      round trips; prints one_way_us=X (elapsed / round trips / 2)

ENDPOINT tcp://HOST:0 binds any free port.  Also prints zmq=VERSION, the libzmq version
pyzmq reports (nomid's library reports the ABI it implements), so a run says which it
was.  Exit 2 on bad arguments, 1 when the child fails.
"""

import subprocess
import sys
import time

import zmq


def usage():
    sys.stderr.write(__doc__)
    sys.exit(2)


def child(kind, ep, size, count):
    """The connecting side: PUSH sends COUNT messages, or REQ makes COUNT round trips."""
    ctx = zmq.Context()
    s = ctx.socket(zmq.PUSH if kind == 'thr' else zmq.REQ)
    s.connect(ep)
    msg = b'x' * size
    if kind == 'thr':
        for _ in range(count):
            s.send(msg)
    else:
        t0 = time.perf_counter()
        for _ in range(count):
            s.send(msg)
            s.recv()
        elapsed = time.perf_counter() - t0
        print('one_way_us=%.2f' % (elapsed / count / 2 * 1e6), flush=True)
    s.close(linger=-1)
    ctx.term()


def parent(kind, ep, size, count):
    ctx = zmq.Context()
    s = ctx.socket(zmq.PULL if kind == 'thr' else zmq.REP)
    s.bind(ep.replace(':0', ':*') if ep.startswith('tcp://') and ep.endswith(':0') else ep)
    real = s.getsockopt(zmq.LAST_ENDPOINT).decode()
    p = subprocess.Popen([sys.executable, __file__, 'child', kind, real, str(size), str(count)],
                         stdout=subprocess.PIPE if kind == 'lat' else None)
    if kind == 'thr':
        s.recv()
        t0 = time.perf_counter()
        for _ in range(count - 1):
            s.recv()
        elapsed = time.perf_counter() - t0
        rate = (count - 1) / elapsed if elapsed > 0 else 0.0
        print('msgs_per_s=%.0f MB_per_s=%.1f' % (rate, rate * size / 1e6))
    else:
        for _ in range(count):
            s.send(s.recv())
        sys.stdout.write(p.stdout.read().decode())
    rc = p.wait()
    print('zmq=%s' % zmq.zmq_version())
    s.close()
    ctx.term()
    return 1 if rc != 0 else 0


def main(argv):
    if len(argv) == 6 and argv[1] == 'child':
        child(argv[2], argv[3], int(argv[4]), int(argv[5]))
        return 0
    if len(argv) != 5 or argv[1] not in ('thr', 'lat'):
        usage()
    try:
        size, count = int(argv[3]), int(argv[4])
    except ValueError:
        usage()
    if size < 0 or count < 2:
        usage()
    return parent(argv[1], argv[2], size, count)


if __name__ == '__main__':
    sys.exit(main(sys.argv))
