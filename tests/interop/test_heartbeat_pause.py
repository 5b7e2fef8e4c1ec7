#!/usr/bin/python3
"""A nomid receiver paused longer than its peer's heartbeat TTL keeps the connection
and loses nothing: a pyzmq PUSH (PINGs every 200 ms asking for a TTL of 1 s) sends 50
numbered messages a second to `nomid cat pull`, which is stopped with SIGSTOP for 3 s
meanwhile.  The peer's PINGs and messages wait in nomid's socket buffer; on SIGCONT
nomid must read them before judging the TTL (libzmq restarts its TTL timer on every
message) instead of dropping the peer with its data unread."""

import os
import signal
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean

from nmtest import check, eq, main, send, test  # noqa: E402

RATE = 50      # messages a second
BEFORE = 1.0   # seconds of traffic before the pause
PAUSE = 3.0    # the pause: three times the TTL asked for
AFTER = 1.5    # seconds of traffic after it
HB = {'heartbeat_ivl': 200, 'heartbeat_ttl': 1000,
      'heartbeat_timeout': 60000}  # the sender itself never gives up on nomid


@test
def pull_paused_past_peer_ttl(t):
    p, push = t.link('tcp', True, ['pull', '-v'], 'push', **HB)
    send(push, [b'hello'])
    eq(p.line(), 'hello', 'first line')
    time.sleep(0.5)  # a PING has come: nomid honours the TTL
    start = time.monotonic()
    stopped = resumed = False
    n = 0
    while True:
        now = time.monotonic() - start
        if not stopped and now >= BEFORE:
            os.kill(p.p.pid, signal.SIGSTOP)
            stopped = True
        if stopped and not resumed and now >= BEFORE + PAUSE:
            os.kill(p.p.pid, signal.SIGCONT)
            resumed = True
        if now >= BEFORE + PAUSE + AFTER:
            break
        send(push, [str(n).encode()])
        n += 1
        time.sleep(1.0 / RATE)
    got = p.lines(n)
    missing = sorted(set(range(n)) - {int(x) for x in got if x.isdigit()})
    check(not missing, '%d of %d messages lost (first %s); nomid said:\n%s'
          % (len(missing), n, missing[:5], p.stderr_text()))
    eq(got, [str(i) for i in range(n)], 'messages in order')
    text = p.stderr_text()
    check('heartbeat timed out' not in text and 'dropping connection' not in text,
          'nomid dropped the peer after the pause:\n%s' % text)
    p.stop_expect(0)


if __name__ == '__main__':
    main()
