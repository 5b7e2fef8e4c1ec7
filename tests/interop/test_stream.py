#!/usr/bin/python3
"""STREAM sockets (raw TCP, no ZMTP): a libzmq STREAM and a plain TCP client on the other
end of `nomid cat stream`."""

import socket
import sys

sys.dont_write_bytecode = True  # keep the source tree clean

import zmq  # noqa: E402

from nmtest import eq, hexs, recv, send, test, main  # noqa: E402


@test
def raw_client_to_nomid_stream(t):
    p = t.cat('stream', '--bind', 'tcp://127.0.0.1:0', '--format', 'hex', '-n', '3')
    ep = p.wait_bound()[0]
    r = t.raw_connect(ep)
    r.sendall(b'hello')
    connected = p.line()
    rid = connected.rstrip(':')
    eq(connected, rid + ':', 'connect notification [id, ""]')
    eq(p.line(), rid + ':' + hexs(b'hello'), 'data as [id, bytes]')
    r.shutdown(socket.SHUT_RDWR)
    r.close()
    eq(p.line(), rid + ':', 'disconnect notification [id, ""]')
    p.expect_exit(0)


@test
def nomid_stream_connects_to_zmq_stream(t):
    s = t.sock('stream')
    ep = t.bind(s, 'tcp')
    p = t.cat('stream', '--connect', ep, '--format', 'hex', '-n', '2')
    rid, empty = recv(s, 'libzmq STREAM connect notification')
    eq(empty, b'', 'libzmq saw the connection')
    send(s, [rid, b'raw bytes'])
    first = p.line()
    eq(first.endswith(':'), True, 'nomid connect notification %s' % first)
    eq(p.line(), first + hexs(b'raw bytes'), 'bytes from libzmq STREAM')
    p.expect_exit(0)


if __name__ == '__main__':
    main()
