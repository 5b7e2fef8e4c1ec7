#!/usr/bin/python3
"""beacon_rate.py - beacon packets per second leaving a host for N programs joined with
`nomid exec`, without and with a `nomid node` of their fleet on the host (README,
"Existing ZeroMQ programs join the mesh").

For each N: N idle pyzmq programs (Debian's /usr/bin/python3) under `nomid exec` on the
default interface (loopback: nothing leaves the machine), and for the second figure a
node started first, which they join through.  tcpdump on lo for SECONDS counts the UDP
datagrams to the beacon port that carry this run's fleet name.

Usage: tests/bench/beacon_rate.py BUILD_DIR [N ...]   (root, for tcpdump; default N: 1 10 40)
"""
import os
import struct
import subprocess
import sys
import tempfile
import time

SECONDS = 10.0


def count_fleet_datagrams(pcap, fleet):
    """The datagrams of a pcap file that carry fleet's name."""
    with open(pcap, 'rb') as f:
        data = f.read()
    off, count = 24, 0  # after the file header; each record has a 16-byte header
    while off + 16 <= len(data):
        incl = struct.unpack('<I', data[off + 8:off + 12])[0]
        count += fleet.encode() in data[off + 16:off + 16 + incl]
        off += 16 + incl
    return count


def rate(build, n, with_node):
    fleet = 'beacon-rate-%d-%d-%d' % (os.getpid(), n, with_node)
    env = dict(os.environ, NOMID_DROPIN_DIR=os.path.join(build, 'lib/compat'))
    nomid = os.path.join(build, 'nomid')
    procs = []
    try:
        if with_node:
            node = subprocess.Popen([nomid, 'node', '--fleet', fleet, '--admin', 'off'],
                                    stderr=subprocess.PIPE, text=True)
            procs.append(node)
            if node.stderr.readline().strip() != 'ready':
                sys.exit('the node did not start')
        for _ in range(n):
            procs.append(subprocess.Popen(
                [nomid, 'exec', '--fleet', fleet, '--', '/usr/bin/python3', '-c',
                 'import zmq, time; c = zmq.Context(); time.sleep(3600)'],
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        time.sleep(3 + n * 0.05)  # every program started and joined
        with tempfile.TemporaryDirectory() as tmp:
            pcap = os.path.join(tmp, 'beacons.pcap')
            cap = subprocess.Popen(['tcpdump', '-i', 'lo', '-w', pcap, '-U', 'udp port 5670'],
                                   stderr=subprocess.DEVNULL)
            time.sleep(SECONDS)
            cap.terminate()
            cap.wait()
            return count_fleet_datagrams(pcap, fleet) / SECONDS
    finally:
        for p in procs:
            p.kill()
            p.wait()


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    counts = [int(a) for a in sys.argv[2:]] or [1, 10, 40]
    print('| joined processes | beacon packets/s, no node | with a node on the host |')
    print('|---|---|---|')
    for n in counts:
        print('| %d | %.1f | %.1f |' % (n, rate(sys.argv[1], n, False), rate(sys.argv[1], n, True)),
              flush=True)


if __name__ == '__main__':
    main()
