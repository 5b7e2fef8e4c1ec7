"""A private LAN of network namespaces for multi-host tests: one namespace holds a
bridge, each "host" namespace is joined to it by a veth pair and gets 10.X.0.N/24 on its
eth0 (X picked per run).  Nothing touches the machine's own interfaces; close() deletes
every namespace (and with them their links), also after a failure.  IPv6 link-local
addresses come up without duplicate address detection, so they are usable at once."""

import os
import signal
import subprocess
import time


def _ip(*args, check=True):
    return subprocess.run(('ip',) + args, check=check, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)


class Lan:
    def __init__(self, nhosts, tag='lan'):
        self.tag = '%s%d' % (tag, os.getpid() % 100000)
        self.subnet = 10 + os.getpid() % 200  # 10.<subnet>.0.0/24
        self.bridge_ns = 'nmbr-' + self.tag
        self.hosts = []  # namespace names, host i is 10.<subnet>.0.<i+1>
        self._made = []
        try:
            self._build(nhosts)
        except Exception:
            self.close()
            raise

    def _netns(self, name):
        _ip('netns', 'add', name)
        self._made.append(name)
        _ip('-n', name, 'link', 'set', 'lo', 'up')

    def _build(self, nhosts):
        self._netns(self.bridge_ns)
        _ip('-n', self.bridge_ns, 'link', 'add', 'br0', 'type', 'bridge')
        # Flood multicast to every port: no IGMP snooping between the test hosts.
        _ip('-n', self.bridge_ns, 'link', 'set', 'br0', 'type', 'bridge', 'mcast_snooping', '0')
        _ip('-n', self.bridge_ns, 'link', 'set', 'br0', 'up')
        for i in range(nhosts):
            ns = 'nmh%d-%s' % (i + 1, self.tag)
            self._netns(ns)
            port = 'p%d' % (i + 1)
            _ip('-n', ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', port,
                'netns', self.bridge_ns)
            _ip('-n', self.bridge_ns, 'link', 'set', port, 'master', 'br0')
            _ip('-n', self.bridge_ns, 'link', 'set', port, 'up')
            # No duplicate address detection: link-local IPv6 is usable at once.
            subprocess.run(('ip', 'netns', 'exec', ns, 'sysctl', '-qw',
                            'net.ipv6.conf.eth0.accept_dad=0'), check=True)
            _ip('-n', ns, 'addr', 'add', self.addr(i) + '/24', 'dev', 'eth0')
            _ip('-n', ns, 'link', 'set', 'eth0', 'multicast', 'on')
            _ip('-n', ns, 'link', 'set', 'eth0', 'up')
            self.hosts.append(ns)

    def addr(self, i):
        return '10.%d.0.%d' % (self.subnet, i + 1)

    def close(self):
        for ns in reversed(self._made):
            _ip('netns', 'del', ns, check=False)
        self._made = []


class Capture:
    """tcpdump on interface dev (in network namespace netns, or here) of the packets
    filter (a pcap expression) selects, written to the file path until stop(), which
    returns the file's bytes."""

    def __init__(self, path, filter, dev='lo', netns=None):
        self.path = path
        prefix = ['ip', 'netns', 'exec', netns] if netns else []
        # --immediate-mode: each packet at once (not a ring block a second later), so
        # what came before stop() is in the file.
        self.p = subprocess.Popen(prefix + ['tcpdump', '-i', dev, '--immediate-mode', '-U', '-s',
                                            '0', '-w', path, filter],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        line = self.p.stderr.readline().decode()  # "listening on DEV, ..." once it captures
        if 'listening on ' + dev not in line:
            self.p.kill()
            raise RuntimeError('tcpdump did not start: %r' % line)

    def stop(self):
        time.sleep(0.5)  # the last packets reach the file (-U writes each at once)
        self.p.send_signal(signal.SIGINT)
        self.p.wait(10)
        with open(self.path, 'rb') as f:
            return f.read()
