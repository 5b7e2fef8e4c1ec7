#!/usr/bin/env python3
"""engine_seeds.py - writes the seed corpus of fuzz_engine (tests/fuzz/corpus/engine/).

Each seed is what engine_harness.h describes: three configuration bytes (nomid's socket
type and role, heartbeats, HWM, MAXMSGSIZE; chunking, application reads, early send,
variant, routing id; a twin connection, heartbeat timeouts), then the bytes a peer
sends.  Names say what a seed is for, and
tests/lib/engine/test_engine_corpus.c holds them to it:
  TYPE-ok-...      the handshake completes (and, for a receiving type, data arrives)
  TYPE-reject-...  the handshake fails: nomid drops the peer
  regress-...      inputs of fixed bugs (regress-identity-4000: a READY whose Identity
                   is 4000 bytes overflowed the pipe's 255-byte routing id)
  anything else    just runs (no expectation).
Run it from anywhere:  python3 tests/fuzz/engine_seeds.py  (rewrites the named seeds;
files the fuzzer added are left alone).
"""
import os

PAIR, PUB, SUB, REQ, REP, DEALER, ROUTER, PULL, PUSH, XPUB, XSUB, STREAM = range(12)
NAMES = ["PAIR", "PUB", "SUB", "REQ", "REP", "DEALER", "ROUTER", "PULL", "PUSH", "XPUB",
         "XSUB", "STREAM"]


def header(t, connect=False, hb=False, small_hwm=False, maxmsg=False, chunks=None, app=False,
           early=False, variant=False, rid=False, twin=False, hb_wait=False, security=0):
    """The three configuration bytes; chunks=None writes the input at once, chunks=k in
    chunks of 1..2^k bytes."""
    b0 = t | (0x10 if connect else 0) | (0x20 if hb else 0) | (0x40 if small_hwm else 0) \
        | (0x80 if maxmsg else 0)
    b1 = (0 if chunks is None else 0x08 | chunks) | (0x10 if app else 0) | (0x20 if early else 0) \
        | (0x40 if variant else 0) | (0x80 if rid else 0)
    b2 = (0x01 if twin else 0) | (0x02 if hb_wait else 0) | (security << 2)
    return bytes([b0, b1, b2])


def greeting(minor=1, mech=b"NULL", major=3, server=0):
    return (b"\xff" + b"\0" * 8 + b"\x7f" + bytes([major, minor]) + mech.ljust(20, b"\0")
            + bytes([server]) + b"\0" * 31)


def frame(body, more=False, cmd=False, force_long=False):
    flags = (1 if more else 0) | (4 if cmd else 0)
    if len(body) > 255 or force_long:
        return bytes([flags | 2]) + len(body).to_bytes(8, "big") + body
    return bytes([flags, len(body)]) + body


def command(name, data=b""):
    return frame(bytes([len(name)]) + name + data, cmd=True)


def prop(name, value):
    return bytes([len(name)]) + name + len(value).to_bytes(4, "big") + value


def ready(t, identity=None, extra=b""):
    body = prop(b"Socket-Type", NAMES[t].encode())
    if identity is not None:
        body += prop(b"Identity", identity)
    return command(b"READY", body + extra)


def msg(*frames):
    out = b""
    for i, f in enumerate(frames):
        out += frame(f, more=i + 1 < len(frames))
    return out


def ping(ttl=0, ctx=b""):
    return command(b"PING", ttl.to_bytes(2, "big") + ctx)


def hello(peer, identity=None, minor=1):
    return greeting(minor) + ready(peer, identity)


SEEDS = {
    # ---- every socket type completes a handshake and passes data ----
    "pair-ok-basic": header(PAIR) + hello(PAIR) + msg(b"hello") + msg(b"a", b"b") + ping(),
    "pair-ok-connect": header(PAIR, connect=True, early=True) + hello(PAIR) + msg(b"hello"),
    "pair-ok-chunked-1": header(PAIR, chunks=0) + hello(PAIR) + msg(b"hi") + msg(b"x" * 300),
    "pub-ok-subscribe": header(PUB) + hello(SUB) + command(b"SUBSCRIBE") + ping(),
    "pub-ok-zmtp30": header(PUB) + hello(SUB, minor=0) + msg(b"\x01a") + msg(b"\x00a"),
    "pub-ok-cancel": header(PUB, connect=True) + hello(SUB) + command(b"SUBSCRIBE", b"a")
    + command(b"SUBSCRIBE", b"a") + command(b"CANCEL", b"a") + command(b"CANCEL", b"b"),
    "sub-ok-basic": header(SUB) + hello(PUB) + msg(b"a-topic", b"body") + msg(b"b"),
    "sub-ok-chunked": header(SUB, chunks=4, variant=True) + hello(XPUB) + msg(b"a", b"1")
    + msg(b"b", b"2") + msg(b"a" * 400),
    "req-ok-reply": header(REQ, connect=True, early=True) + hello(REP) + msg(b"", b"reply"),
    "req-ok-bind": header(REQ, rid=True) + hello(ROUTER, b"router-1") + msg(b"", b"reply"),
    "rep-ok-request": header(REP) + hello(REQ, b"client-1") + msg(b"", b"request"),
    "rep-ok-hops": header(REP, connect=True) + hello(DEALER) + msg(b"hop1", b"hop2", b"",
                                                                   b"request"),
    "dealer-ok-router": header(DEALER, rid=True) + hello(ROUTER) + msg(b"", b"hi"),
    "dealer-ok-dealer": header(DEALER, connect=True) + hello(DEALER, b"d2") + msg(b"one")
    + msg(b"two", b"three"),
    "dealer-ok-heartbeat": header(DEALER, hb=True) + hello(ROUTER) + ping(10, b"ctx")
    + command(b"PONG", b"x") + msg(b"after ping"),
    "router-ok-dealer-identity": header(ROUTER) + hello(DEALER, b"peer-1") + msg(b"hello"),
    "router-ok-req": header(ROUTER, connect=True) + hello(REQ) + msg(b"", b"request"),
    "router-ok-router": header(ROUTER, rid=True, variant=True) + hello(ROUTER, b"r2")
    + msg(b"nomid-id", b"to nomid"),
    "router-ok-app-reads": header(ROUTER, app=True, chunks=2) + hello(DEALER)
    + b"".join(msg(b"m%d" % i) for i in range(8)),
    "pull-ok-push": header(PULL) + hello(PUSH) + msg(b"one") + msg(b"y" * 300)
    + frame(b"long-encoded short frame", force_long=True),
    "pull-ok-small-hwm": header(PULL, small_hwm=True) + hello(PUSH)
    + b"".join(msg(b"m%d" % i) for i in range(20)),
    "pull-ok-big-frame": header(PULL, connect=True, app=True) + hello(PUSH)
    + msg(b"z" * 16500) + msg(b"after"),
    "push-ok-pull": header(PUSH) + hello(PULL) + ping(0, b"0123456789abcdef"),
    "push-ok-heartbeat": header(PUSH, hb=True, connect=True, early=True) + hello(PULL),
    "xpub-ok-sub": header(XPUB) + hello(SUB) + command(b"SUBSCRIBE", b"a")
    + command(b"CANCEL", b"a"),
    "xpub-ok-verbose-zmtp30": header(XPUB, variant=True) + hello(XSUB, minor=0) + msg(b"\x01a")
    + msg(b"\x01a") + msg(b"\x00a"),
    "xsub-ok-pub": header(XSUB) + hello(XPUB) + msg(b"a-topic", b"x"),
    "xsub-ok-connect": header(XSUB, connect=True, variant=True) + hello(PUB) + msg(b"a", b"1"),
    "stream-ok-raw": header(STREAM) + b"GET / HTTP/1.0\r\n\r\n",
    "stream-ok-close": header(STREAM, variant=True, connect=True) + b"hello stream",
    # ---- handshakes nomid must refuse ----
    "push-reject-type": header(PUSH) + hello(PUSH) + msg(b"nope"),
    "pub-reject-type": header(PUB) + hello(PULL),
    "pair-reject-greeting-v2": header(PAIR) + greeting(major=2) + ready(PAIR),
    "pair-reject-curve": header(PAIR) + greeting(mech=b"CURVE") + ready(PAIR),
    "pair-reject-data-first": header(PAIR) + greeting() + msg(b"data before READY"),
    "pair-reject-no-type": header(PAIR) + greeting() + command(b"READY", prop(b"Identity",
                                                                                b"x")),
    "pair-reject-ping-first": header(PAIR) + greeting() + ping(),
    "router-reject-identity-256": header(ROUTER) + hello(DEALER, b"i" * 256),
    "router-reject-identity-zero": header(ROUTER) + hello(DEALER, b"\x00abc"),
    "dealer-error-first": header(DEALER) + greeting() + command(b"ERROR", b"\x04oops"),
    # ---- after the handshake: commands and limits ----
    "pair-ready-twice": header(PAIR) + hello(PAIR) + ready(PAIR),
    "pair-unknown-command": header(PAIR) + hello(PAIR) + command(b"HELLO", b"x")
    + msg(b"still here"),
    "pair-bad-ping": header(PAIR) + hello(PAIR) + command(b"PING", b"\x00"),
    "pair-command-more": header(PAIR) + hello(PAIR) + b"\x05\x05\x04PING",
    "pull-maxmsg": header(PULL, maxmsg=True) + hello(PUSH) + msg(b"small") + msg(b"q" * 100),
    "pair-error-after": header(PAIR) + hello(PAIR) + msg(b"x") + command(b"ERROR", b"\x03bye"),
    "sub-reserved-flags": header(SUB) + hello(PUB) + b"\x08\x01x",
    # ---- two connections (the twin sends the same bytes first), heartbeat timeouts ----
    "pair-reject-twin": header(PAIR, twin=True) + hello(PAIR) + msg(b"second peer"),
    "router-reject-identity-in-use": header(ROUTER, twin=True) + hello(DEALER, b"dup")
    + msg(b"x"),
    "router-ok-twin": header(ROUTER, twin=True) + hello(DEALER) + msg(b"from each"),
    "pull-ok-twin": header(PULL, twin=True, chunks=3) + hello(PUSH) + msg(b"1") + msg(b"2"),
    "dealer-heartbeat-timeout": header(DEALER, hb=True, hb_wait=True) + hello(ROUTER),
    "sub-heartbeat-timeout-connect": header(SUB, hb=True, hb_wait=True, connect=True)
    + hello(PUB) + msg(b"a"),
    # ---- what a peer may cost: claims larger than what arrives, many parts, many subs ----
    "pull-huge-claim": header(PULL) + hello(PUSH) + b"\x02" + (1 << 40).to_bytes(8, "big")
    + b"h" * 100,
    "pull-huge-claim-more": header(PULL, app=True) + hello(PUSH) + msg(b"ok")
    + b"\x03" + (1 << 33).to_bytes(8, "big") + b"m" * 64,
    "pair-command-huge-claim": header(PAIR) + hello(PAIR) + b"\x06" + (1 << 34).to_bytes(8, "big")
    + b"\x04PING\x00\x00",
    "pair-command-1mib-claim": header(PAIR) + hello(PAIR) + b"\x06" + (1 << 20).to_bytes(8, "big")
    + b"\x04PING",
    "pull-many-parts": header(PULL) + hello(PUSH) + b"\x01\x01p" * 2000,
    "pub-many-subscriptions": header(PUB) + hello(SUB)
    + b"".join(command(b"SUBSCRIBE", b"topic-%d" % i) for i in range(400)),
    "xpub-long-prefix-zmtp30": header(XPUB, variant=True) + hello(SUB, minor=0)
    + msg(b"\x01" + b"p" * 1000) + msg(b"\x00" + b"p" * 1000),
    # ---- security mechanisms (header security=: 1 CURVE, 2 PLAIN, 3 NULL with ZAP) ----
    "curve-server-bad-hello": header(DEALER, security=1)
    + greeting(mech=b"CURVE") + command(b"HELLO", b"\x01\x00" + bytes(192)),
    "curve-server-short-hello": header(DEALER, security=1, chunks=2)
    + greeting(mech=b"CURVE") + command(b"HELLO", b"\x01\x00" + bytes(20)),
    "curve-client-bad-welcome": header(DEALER, connect=True, security=1)
    + greeting(mech=b"CURVE", server=1) + command(b"WELCOME", bytes(160)),
    "plain-server-hello": header(REP, security=2)
    + greeting(mech=b"PLAIN") + command(b"HELLO", b"\x05admin\x06secret"),
    "plain-client-error": header(REQ, connect=True, security=2)
    + greeting(mech=b"PLAIN", server=1) + command(b"WELCOME") + b"\x04\x09\x5eRROR\x03400",
    "null-zap-domain": header(PULL, security=3) + hello(PUSH) + msg(b"x"),
    "mechanism-mismatch": header(PAIR, security=1) + hello(PAIR) + msg(b"x"),
    # ---- regression: the pre-authentication overflow of the security report ----
    "regress-identity-4000": header(ROUTER) + hello(ROUTER, b"A" * 4000) + msg(b"x"),
}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = os.path.join(here, "corpus", "engine")
    os.makedirs(out, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    print("wrote %d seeds to %s" % (len(SEEDS), out))


if __name__ == "__main__":
    main()
