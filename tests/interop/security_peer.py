#!/usr/bin/python3
"""One end of a secured connection for test_security.py, written against pyzmq: run as
it is, it is a libzmq program; run with nomid's libzmq.so.5 first on LD_LIBRARY_PATH, a
program on the drop-in.  Its first line says which library it has.

  security_peer.py server MECH PORT [--secret Z85] [--allow DIR|any] [--zap]
      binds a REP on tcp://127.0.0.1:PORT and answers each request with [b'ok',
      User-Id]; --zap runs pyzmq's ThreadAuthenticator (PLAIN: admin/secret; CURVE: the
      certificates in DIR, read by zmq.auth.load_certificates, or any key).
  security_peer.py client MECH PORT [--server-key Z85 --public Z85 --secret Z85]
                   [--user U --password P]
      sends three requests; prints `ok USER-ID` and exits 0 when all are answered, or
      prints the handshake events its monitor saw and exits 3 when none is.
MECH: null, plain or curve."""

import argparse
import ctypes
import sys

import zmq
import zmq.auth
from zmq.auth.thread import ThreadAuthenticator
from zmq.utils.monitor import recv_monitor_message

WAIT_MS = 2500


def library():
    try:
        ctypes.CDLL('libzmq.so.5').nomid_zmq_version  # noqa: B018
        return 'nomid'
    except AttributeError:
        return 'libzmq'


def server(a, ctx):
    auth = None
    if a.zap:
        auth = ThreadAuthenticator(ctx)
        auth.start()
        if a.mech == 'plain':
            auth.configure_plain(domain='*', passwords={'admin': 'secret'})
        elif a.allow == 'any':
            auth.configure_curve(domain='*', location=zmq.auth.CURVE_ALLOW_ANY)
        else:
            auth.configure_curve(domain='*', location=a.allow)
    s = ctx.socket(zmq.REP)
    if a.mech == 'curve':
        s.curve_secretkey = a.secret.encode()
        s.curve_server = True
    elif a.mech == 'plain':
        s.plain_server = True
    s.bind('tcp://127.0.0.1:%d' % a.port)
    print('ready', flush=True)
    while True:
        m = s.recv(copy=False)
        try:
            user = m.get('User-Id').encode()
        except zmq.ZMQError:  # no ZAP handler: no User-Id
            user = b''
        s.send_multipart([b'ok', user])


def handshake_events(mon):
    """The handshake events the monitor has queued, as NAME:VALUE."""
    seen = []
    while True:
        try:
            e = recv_monitor_message(mon, zmq.NOBLOCK)
        except zmq.Again:
            return seen
        if e['event'] & (zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL | zmq.EVENT_HANDSHAKE_FAILED_AUTH |
                         zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL | zmq.EVENT_HANDSHAKE_SUCCEEDED):
            seen.append('%s:%d' % (zmq.Event(e['event']).name, e['value']))


def client(a, ctx):
    s = ctx.socket(zmq.REQ)
    if a.mech == 'curve':
        s.curve_serverkey = a.server_key.encode()
        s.curve_publickey = a.public.encode()
        s.curve_secretkey = a.secret.encode()
    elif a.mech == 'plain':
        s.plain_username = a.user.encode()
        s.plain_password = a.password.encode()
    mon = s.get_monitor_socket()
    s.rcvtimeo = WAIT_MS
    s.connect('tcp://127.0.0.1:%d' % a.port)
    user = None
    for i in range(3):
        s.send(b'request %d' % i)
        try:
            reply = s.recv_multipart()
        except zmq.Again:
            user = None
            break
        assert reply[0] == b'ok', reply
        user = reply[1].decode()
    # Monitor off before its events are read, and closed before the context ends:
    # libzmq's zmq_ctx_term can wait forever for a socket still being monitored.
    s.disable_monitor()
    events = handshake_events(mon)
    if user is None:
        print('refused', ' '.join(events) or '(no handshake event)', flush=True)
    else:
        print('ok', user or '-', flush=True)
    mon.close(linger=0)
    s.close(linger=0)
    return 0 if user is not None else 3


def main():
    p = argparse.ArgumentParser()
    p.add_argument('role', choices=['server', 'client'])
    p.add_argument('mech', choices=['null', 'plain', 'curve'])
    p.add_argument('port', type=int)
    for opt in ('--secret', '--public', '--server-key', '--allow', '--user', '--password'):
        p.add_argument(opt)
    p.add_argument('--zap', action='store_true')
    a = p.parse_args()
    print('library', library(), flush=True)
    ctx = zmq.Context()
    rc = server(a, ctx) if a.role == 'server' else client(a, ctx)
    ctx.term()
    return rc


if __name__ == '__main__':
    sys.exit(main())
