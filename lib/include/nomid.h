/*
 * nomid.h - the one public header of libnomid, the messaging core.
 *
 * libnomid gives ZeroMQ-style sockets that speak ZMTP 3.1 on the wire, so a libzmq or
 * pyzmq program can be the peer of any nomid socket.  A context owns the I/O thread and
 * the sockets; a socket has a pattern type and any number of bound and connected
 * endpoints; a message is a list of frames sent and received atomically.
 *
 * Ownership rule, kept on every path: a send that succeeds takes the message (the
 * caller's nm_msg_t is left empty); a send that fails leaves it with the caller.
 *
 * Errors: functions return 0 (or a non-negative value) on success and a negative
 * errno-style code on failure (-EAGAIN, -EINVAL, ...); nm_strerror() names it.
 *
 * Threads: a context is thread-safe; a socket is used by one thread at a time.
 * Statistics snapshots may be taken from any thread.
 */
#ifndef NOMID_H
#define NOMID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version: the one source of it (CMakeLists.txt reads these lines); nm_version()
 * tells the library's at run time. */
#define NM_VERSION_MAJOR 0
#define NM_VERSION_MINOR 1
#define NM_VERSION_PATCH 0

/* What libnomid exports (built with -fvisibility=hidden, everything else is internal).
 * Option, type, event and error values are pinned: they are part of the ABI. */
#if defined(__GNUC__)
#define NM_EXPORT __attribute__((visibility("default")))
#else
#define NM_EXPORT
#endif

/* The library's version, "0.1.0", and its parts (each pointer may be NULL): a program
 * built against one header may run on another library. */
NM_EXPORT const char *nm_version(int *major, int *minor, int *patch);

typedef struct nm_ctx nm_ctx_t;
typedef struct nm_sock nm_sock_t;

/* ---- errors ---------------------------------------------------------------------- */

/* Codes beyond errno.h for conditions libzmq names too. */
#define NM_EFSM   (-1000) /* operation not valid in the socket's current state */
#define NM_ETERM  (-1001) /* the socket's context was shut down (nm_ctx_shutdown) */
#define NM_EPROTO (-1002) /* the peer broke the protocol */

NM_EXPORT const char *nm_strerror(int err);

/* ---- context --------------------------------------------------------------------- */

enum nm_log_level { NM_LOG_ERROR = 0, NM_LOG_WARN = 1, NM_LOG_INFO = 2, NM_LOG_DEBUG = 3 };

/* Called from any nomid thread; must be thread-safe and must not call back into nomid. */
typedef void(nm_log_cb)(void *arg, int level, const char *component, const char *message);

NM_EXPORT int nm_ctx_new(nm_ctx_t **ctxp);
/* Ends a context, libzmq's zmq_ctx_shutdown: every call blocked on one of its sockets
 * (send, recv, nm_poll, nm_sock_wait_peers, nm_proxy) returns NM_ETERM at once, and
 * every later call on them fails with NM_ETERM, nm_sock_new on ctx too; only
 * nm_sock_close still works (and must be called: the sockets stay valid until then).
 * Any thread; returns at once; calling it again does nothing.  0, or -EINVAL. */
NM_EXPORT int nm_ctx_shutdown(nm_ctx_t *ctx);
/* Shuts the context down (nm_ctx_shutdown), waits until every socket has been closed,
 * waits up to each socket's LINGER for its queued messages to leave, stops the I/O
 * thread and frees the context.  *ctxp is set to NULL.  A socket is never freed under
 * a thread using it:
 *  - called alone (nomid's usual ending), it first closes, as nm_sock_close would, the
 *    sockets left open that no thread is using, so a program may leave its idle
 *    sockets to it: all of them when no call is under way on any socket of ctx;
 *    otherwise only those the calling thread used last.  A thread blocked in a call
 *    gets NM_ETERM, and destroy waits until that thread has closed its socket (and its
 *    other sockets, which destroy leaves to it).  A thread must not start a call on a
 *    socket after destroy has begun.
 *  - called after nm_ctx_shutdown (libzmq's zmq_ctx_term), it closes nothing itself and
 *    waits for every socket to be closed by its own thread, which learns of the end
 *    from the NM_ETERM of its next call; a socket nobody closes keeps it waiting.
 * In a child process forked after nm_ctx_new, which has none of the context's threads,
 * nm_sock_close, nm_ctx_shutdown and nm_ctx_destroy only let go of the parent's context
 * and sockets (nothing of them is freed or sent), as libzmq lets a child do; nothing
 * else may be called on them there. */
NM_EXPORT void nm_ctx_destroy(nm_ctx_t **ctxp);
/* Context options (int values), libzmq's zmq_ctx_set/zmq_ctx_get:
 *  NM_CTX_IO_THREADS: I/O threads, 1..64, default 1.  Each socket is given one for life,
 *    the least loaded, when it is created; raising the count starts threads at once
 *    (sockets already made stay where they are), lowering it only stops new sockets
 *    from going to the threads beyond it (they run until nm_ctx_destroy).
 *  NM_CTX_MAX_SOCKETS: sockets open at once, 0 = no limit (default); past it
 *    nm_sock_new fails with -EMFILE.
 *  NM_CTX_IPV6: NM_IPV6 of the sockets created after it, 0 (default) or 1.
 * 0, or -EINVAL for an unknown option or a value out of range. */
enum nm_ctx_opt { NM_CTX_IO_THREADS = 1, NM_CTX_MAX_SOCKETS = 2, NM_CTX_IPV6 = 3 };
NM_EXPORT int nm_ctx_set(nm_ctx_t *ctx, int opt, int value);
NM_EXPORT int nm_ctx_get(nm_ctx_t *ctx, int opt, int *value);
/* Messages at or below max_level go to cb.  Default: no logging. */
NM_EXPORT void nm_ctx_set_log(nm_ctx_t *ctx, nm_log_cb *cb, void *arg, int max_level);

/* ---- messages -------------------------------------------------------------------- */

/* A message: an ordered list of frames.  Stack-allocatable; contents are private.
 * Small frames live inline, large frames in refcounted buffers, so copying a message
 * (nm_msg_copy) never copies a large frame's bytes. */
typedef struct nm_msg {
    _Alignas(8) unsigned char opaque_[104];
} nm_msg_t;

/* Frees the user's buffer of a zero-copy frame once nomid no longer needs it. */
typedef void(nm_free_cb)(void *data, void *hint);

NM_EXPORT void nm_msg_init(nm_msg_t *m);  /* an empty message (no frames) */
NM_EXPORT void nm_msg_close(nm_msg_t *m); /* releases the frames; m is left empty */
/* Appends a frame holding a copy of data[0..size). */
NM_EXPORT int nm_msg_add(nm_msg_t *m, const void *data, size_t size);
/* Appends a frame of size bytes, uninitialised, and returns its storage in *datap. */
NM_EXPORT int nm_msg_add_alloc(nm_msg_t *m, size_t size, void **datap);
/* Appends a frame that points at data without copying; ffn(data, hint) runs when the
 * last reference goes (ffn may be NULL for static data). */
NM_EXPORT int nm_msg_add_zc(nm_msg_t *m, void *data, size_t size, nm_free_cb *ffn, void *hint);
/* Inserts a copy of data as a new first frame. */
NM_EXPORT int nm_msg_prepend(nm_msg_t *m, const void *data, size_t size);
/* Removes the first frame (no-op on an empty message). */
NM_EXPORT void nm_msg_pop_front(nm_msg_t *m);
/* Moves frame i of src to the end of dst without copying a large frame's bytes (its
 * buffer reference changes hands); src loses that frame.  0, -EINVAL when i is not a
 * frame of src or dst is src, -ENOMEM (both unchanged). */
NM_EXPORT int nm_msg_move_frame(nm_msg_t *dst, nm_msg_t *src, size_t i);
NM_EXPORT size_t nm_msg_count(const nm_msg_t *m);
/* Frame i's bytes and size; i must be < nm_msg_count(m). */
NM_EXPORT const void *nm_msg_data(const nm_msg_t *m, size_t i);
NM_EXPORT size_t nm_msg_size(const nm_msg_t *m, size_t i);
/* Total payload bytes over all frames. */
NM_EXPORT size_t nm_msg_bytes(const nm_msg_t *m);
/* dst becomes a copy of src (large frames shared, not copied); dst must be empty. */
NM_EXPORT int nm_msg_copy(nm_msg_t *dst, const nm_msg_t *src);
/* dst takes src's frames; src is left empty; dst must be empty. */
NM_EXPORT void nm_msg_move(nm_msg_t *dst, nm_msg_t *src);

/* ---- message properties ---------------------------------------------------------- */

/* The properties of the connection a message came from, libzmq's message metadata.  A
 * message received over tcp or ipc holds a reference to its connection's properties
 * (made once per connection, shared by its messages and their copies, immutable); one
 * made by the application or received over inproc holds none. */
typedef struct nm_props nm_props_t;

/* m's properties, or NULL: borrowed, valid while m holds them (until it is closed, or
 * sent: a send releases them). */
NM_EXPORT const nm_props_t *nm_msg_props(const nm_msg_t *m);
/* A reference of the caller's own, for properties to outlive their message (p may be
 * NULL: returns NULL).  Any thread. */
NM_EXPORT const nm_props_t *nm_props_hold(const nm_props_t *p);
/* Drops a reference taken with nm_props_hold; *pp is set to NULL (may be NULL). */
NM_EXPORT void nm_props_release(const nm_props_t **pp);
/* The value of property `name` (ASCII, case-insensitive), NUL-terminated (it may hold
 * other NULs: its length is in *len, when len is not NULL), or NULL when the connection
 * has no such property (or p is NULL).  The names: every property the peer announced
 * in its handshake ("Socket-Type", "Identity", an application's "X-..."), "Routing-Id"
 * (the same as "Identity"), and "Peer-Address" (tcp: the peer's numeric IP address). */
NM_EXPORT const char *nm_props_get(const nm_props_t *p, const char *name, size_t *len);
/* The connection's descriptor (libzmq's ZMQ_SRCFD), or -1 when p is NULL.  Only a
 * name: it is closed with the connection, and the number may be reused after. */
NM_EXPORT int nm_props_fd(const nm_props_t *p);

/* ---- sockets --------------------------------------------------------------------- */

enum nm_sock_type {
    NM_PAIR = 0,
    NM_PUB = 1,
    NM_SUB = 2,
    NM_REQ = 3,
    NM_REP = 4,
    NM_DEALER = 5,
    NM_ROUTER = 6,
    NM_PULL = 7,
    NM_PUSH = 8,
    NM_XPUB = 9,
    NM_XSUB = 10,
    NM_STREAM = 11,
};

/* "req", "rep", ... (lowercase) <-> type; -EINVAL when unknown or unsupported. */
NM_EXPORT int nm_sock_type_parse(const char *name);
NM_EXPORT const char *nm_sock_type_name(int type);

/* Flags for send and recv. */
#define NM_DONTWAIT 1

NM_EXPORT int nm_sock_new(nm_sock_t **sp, nm_ctx_t *ctx, int type);
/* Never blocks: queued outgoing messages keep leaving in the background for up to
 * LINGER.  *sp is set to NULL. */
NM_EXPORT void nm_sock_close(nm_sock_t **sp);

/* Endpoints: tcp://host:port, tcp://\*:port, tcp://[::1]:port (a bind's port 0 or \*: any
 * free one), to connect also tcp://SRC;host:port (leave from source address SRC, with or
 * without a port), ipc:///path, ipc://\* (bind: a fresh private path), ipc://@name
 * (Linux's abstract namespace), inproc://name (sockets of one context; bind and connect
 * in either order), and
 * svc://name when the context has a resolver (nm_ctx_set_resolver): connect follows
 * every instance of the service as they come and go; bind listens on an ephemeral tcp
 * port of each host the resolver names (nm_resolver_t.bind_hosts; loopback when it names
 * none), never on a wildcard, and advertises each under the name.  bind reports the
 * endpoint it got through NM_LAST_ENDPOINT (for svc://, each endpoint it bound,
 * separated by spaces). */
NM_EXPORT int nm_sock_bind(nm_sock_t *s, const char *endpoint);
NM_EXPORT int nm_sock_connect(nm_sock_t *s, const char *endpoint);
/* Undoes a bind, as libzmq's zmq_unbind: endpoint is what bind got (NM_LAST_ENDPOINT) or
 * what it was given, unless that had a wildcard.  tcp, ipc: the listener closes (an ipc
 * path is removed) and so do the connections it accepted; inproc: the name is free
 * again (links made through it stay).  -ENOENT when the socket has no such binding,
 * -ENOTSUP for svc://. */
NM_EXPORT int nm_sock_unbind(nm_sock_t *s, const char *endpoint);
/* Undoes a connect (tcp, ipc, inproc, svc): its connections close after LINGER, and a
 * reconnecting one stops trying; what they delivered and the application has not read
 * is dropped (tcp, ipc, inproc), as libzmq's zmq_disconnect does.  -ENOENT for a svc://
 * name the socket does not follow or an inproc name it did not connect to. */
NM_EXPORT int nm_sock_disconnect(nm_sock_t *s, const char *endpoint);
/* Advertises every tcp and ipc endpoint the socket has bound under service `name`
 * through the context's resolver; withdrawn when the socket closes.  -ENOTSUP without
 * a resolver, -ENOENT when nothing is bound.  A CURVE server (NM_CURVE_SERVER with its
 * NM_CURVE_SECRETKEY) is advertised with its public key, as a svc:// bind is: the key
 * the socket has at this call (or at the bind), not one set later. */
NM_EXPORT int nm_sock_advertise(nm_sock_t *s, const char *name);
/* Waits until the socket has at least n connected peers (handshakes done), the answer
 * to the slow-joiner problem: a publisher waits for its subscribers, a svc:// client
 * for n instances.  timeout_ms < 0 waits forever.  The count, or -EAGAIN on timeout. */
NM_EXPORT int nm_sock_wait_peers(nm_sock_t *s, int n, int timeout_ms);

/* Sends *m as one message.  On success *m is left empty; on failure it is untouched.
 * Blocks while the destination pipes are full unless NM_DONTWAIT (-EAGAIN) or SNDTIMEO
 * expires (-EAGAIN).  A signal caught while it blocks (a handler without SA_RESTART)
 * ends the wait with -EINTR, as libzmq's EINTR, for send and recv alike. */
NM_EXPORT int nm_sock_send(nm_sock_t *s, nm_msg_t *m, int flags);
/* Receives one message into *m, which must be empty.  -EAGAIN as for send. */
NM_EXPORT int nm_sock_recv(nm_sock_t *s, nm_msg_t *m, int flags);
/* Waits as nm_sock_send would (NM_DONTWAIT, SNDTIMEO) until a message whose first frame
 * is head[0..len) could be sent, and sends nothing: 0, or the error its send would give
 * now (-EAGAIN; NM_EFSM on a REQ awaiting its reply or a REP owing none;
 * -EHOSTUNREACH, or -EAGAIN for a full peer, on a ROUTER with NM_ROUTER_MANDATORY when
 * head names no peer).  For APIs that hand a message over frame by frame (libzmq's
 * drop-in), which report these errors on the first frame. */
NM_EXPORT int nm_sock_send_ready(nm_sock_t *s, const void *head, size_t len, int flags);

/* Convenience: send one single-frame message copied from data. */
NM_EXPORT int nm_sock_send_bytes(nm_sock_t *s, const void *data, size_t size, int flags);

/* Socket options.  Integer options take an int; NM_ROUTING_ID takes bytes (1..255);
 * NM_LAST_ENDPOINT is read-only text (NUL-terminated). Times are in milliseconds. */
enum nm_sockopt {
    NM_SNDHWM = 1,            /* int, messages per pipe, 0 = unlimited; default 1000; applies
                               * to the pipes the socket has too (inproc: + peer's RCVHWM) */
    NM_RCVHWM = 2,            /* int, as SNDHWM */
    NM_SNDTIMEO = 3,          /* int ms, -1 = block forever (default) */
    NM_RCVTIMEO = 4,          /* int ms, -1 = block forever (default) */
    NM_LINGER = 5,            /* int ms, -1 = forever; default 30000 (libzmq: -1) */
    NM_RECONNECT_IVL = 6,     /* int ms, default 100; -1 = never reconnect */
    NM_RECONNECT_IVL_MAX = 7, /* int ms, 0 = no backoff (default); else doubles up to this */
    NM_IMMEDIATE = 8,         /* int bool: queue only to completed connections */
    NM_ROUTING_ID = 9,        /* bytes: identity announced to peers */
    NM_ROUTER_MANDATORY = 10, /* int bool: ROUTER reports unroutable sends */
    NM_REQ_RELAXED = 11,      /* int bool */
    NM_REQ_CORRELATE = 12,    /* int bool */
    NM_MAXMSGSIZE = 13,       /* int64 as int: largest inbound frame, -1 = unlimited */
    NM_LAST_ENDPOINT = 14,    /* read-only text */
    NM_TYPE = 15,             /* read-only int */
    NM_TCP_KEEPALIVE = 16,    /* int: -1 default, 0 off, 1 on */
    NM_SUBSCRIBE = 17,        /* bytes (may be empty = everything): SUB, XSUB; XPUB_MANUAL */
    NM_UNSUBSCRIBE = 18,      /* bytes: cancels one matching NM_SUBSCRIBE */
    NM_XPUB_VERBOSE = 19,     /* int bool: XPUB passes on every subscribe, not just new ones */
    NM_HEARTBEAT_IVL = 20,    /* int ms: send a PING this often, 0 = off (default) */
    NM_HEARTBEAT_TTL = 21,    /* int ms: asks the peer to drop us after this silence (0..6553500) */
    NM_HEARTBEAT_TIMEOUT = 22, /* int ms: drop a peer silent this long after a PING (default IVL) */
    NM_FD = 23,                /* read-only int: readable when NM_EVENTS may have changed */
    NM_EVENTS = 24,            /* read-only int: NM_POLLIN | NM_POLLOUT the socket has now */
    NM_BUSY_POLL = 25,         /* int us: a blocking call spins (yielding) this long before
                                * sleeping (a receive on a socket with one connection spins
                                * reading that connection), while the socket's last wait
                                * ended within it (after a longer one, a paced loop's, the
                                * next sleeps at once); 0 = never.  Default
                                * NM_BUSY_POLL_DEFAULT on REQ and REP (round trips), 0 on the
                                * streaming types */
    /* Limits on what one peer may cost (README "Limits"); a peer past one is dropped,
     * logged and counted (nm_sock_stats_t.peers_dropped).  No limit: 0 for a count,
     * -1 for bytes. */
    NM_HANDSHAKE_IVL = 26,          /* int ms a connection may take to complete its handshake;
                                     * default 30000 (libzmq's), 0 = forever */
    NM_HANDSHAKE_MAX = 27,          /* int: connections in handshake per listener; a new one
                                     * past it drops the oldest; default 256, 0 = no limit */
    NM_MULTIPART_MAXFRAMES = 28,    /* int: frames of one inbound message; default 16384 */
    NM_MULTIPART_MAXBYTES = 29,     /* int: bytes of an inbound message's frames before its
                                     * last (the last is bounded by MAXMSGSIZE); 32 MiB */
    NM_SUBSCRIPTIONS_MAX = 30,      /* int (PUB, XPUB): subscriptions a subscriber may hold,
                                     * each counted; default 65536 */
    NM_SUBSCRIPTIONS_MAXBYTES = 31, /* int (PUB, XPUB): their prefix bytes; default 4 MiB */
    /* Transport tuning, libzmq's options of the same names (tcp unless said). */
    NM_SNDBUF = 32,              /* int bytes: SO_SNDBUF of each connection, -1 = OS (default) */
    NM_RCVBUF = 33,              /* int bytes: SO_RCVBUF, as SNDBUF */
    NM_BACKLOG = 34,             /* int: listen backlog of binds (tcp, ipc), default 1024 */
    NM_TOS = 35,                 /* int: IP type of service of connections, default 0 */
    NM_TCP_KEEPALIVE_CNT = 36,   /* int: TCP_KEEPCNT when TCP_KEEPALIVE is 1; -1 = OS */
    NM_TCP_KEEPALIVE_IDLE = 37,  /* int s: TCP_KEEPIDLE, as CNT */
    NM_TCP_KEEPALIVE_INTVL = 38, /* int s: TCP_KEEPINTVL, as CNT */
    NM_TCP_MAXRT = 39,           /* int ms: drop a connection whose data stays unacknowledged
                                  * this long (TCP_USER_TIMEOUT), 0 = OS (default) */
    NM_CONNECT_TIMEOUT = 40,     /* int ms: give up a connect not done by then and retry,
                                  * 0 = the OS's timeout (default) */
    NM_IPV6 = 41,                /* int bool: tcp://\*: binds IPv6 and IPv4 ([::], dual
                                  * stack) and names may resolve to IPv6; default 0 */
    NM_BINDTODEVICE = 42,        /* text: the interface connections and binds use
                                  * (SO_BINDTODEVICE); "" = any (default) */
    /* Pattern options, libzmq's of the same names. */
    NM_XPUB_VERBOSER = 43,      /* int bool (XPUB): as XPUB_VERBOSE, and every cancel too */
    NM_PROBE_ROUTER = 44,       /* int bool (ROUTER, DEALER, REQ): send an empty message to
                                 * each peer as soon as it is connected */
    NM_STREAM_NOTIFY = 45,      /* int bool (STREAM): an empty message when a peer connects
                                 * or goes; default 1 */
    NM_CONNECT_ROUTING_ID = 46, /* bytes (ROUTER, STREAM): the routing id of the peer the
                                 * next connect reaches, instead of its own (used once) */
    NM_XPUB_WELCOME_MSG = 47,   /* bytes (XPUB), at most 255: sent to every new subscriber;
                                 * empty = none (default) */
    NM_INVERT_MATCHING = 48,    /* int bool (PUB, XPUB, SUB): a message goes to the
                                 * subscribers that do NOT match it (set it on both ends) */
    NM_XPUB_NODROP = 49,        /* int bool (PUB, XPUB): a send to a full subscriber waits
                                 * (SNDTIMEO, -EAGAIN) instead of dropping for it */
    NM_CONFLATE = 50,           /* int bool (PULL, SUB, DEALER): each connection keeps only
                                 * the newest message received, in place of any still unread
                                 * (counted as dropped; no receive HWM then); set before
                                 * connecting or binding.  What the socket sends is not
                                 * conflated (-EINVAL on PUSH and PUB); no effect on the
                                 * other types, as in libzmq */
    NM_ROUTER_HANDOVER = 51,    /* int bool (ROUTER): a peer announcing a routing id in use
                                 * takes it over (the holder's connection is closed) instead
                                 * of being refused; applies at once */
    NM_XPUB_MANUAL = 52,        /* int bool (XPUB): subscriptions do not apply; each subscribe
                                 * and cancel goes to the application, which sets what the
                                 * subscriber of the last one it received gets with
                                 * NM_SUBSCRIBE / NM_UNSUBSCRIBE on the XPUB; a subscriber
                                 * that goes sends a cancel for each of its subscriptions */
    /* Listening and accepting, libzmq's options of the same names. */
    NM_USE_FD = 60,            /* int: the next binds (tcp, ipc) take this descriptor, bound
                                * and listening already, instead of opening one (the
                                * endpoint's address is not used: the bound endpoint is the
                                * descriptor's); the listener closes it, and never removes
                                * an ipc path it names.  -1 = none (default) */
    NM_TCP_ACCEPT_FILTER = 61, /* text, write-only: "ADDR" or "ADDR/BITS" (numeric IPv4 or
                                * IPv6, BITS a prefix length) adds a network that tcp binds
                                * made afterwards accept connections from; with any, every
                                * other peer is closed on accept.  Empty: clears them.  At
                                * most NM_FILTERS_MAX (with the three below) */
    NM_IPC_FILTER_UID = 62,    /* int, write-only: adds a user id that ipc binds made
                                * afterwards accept (the peer's SO_PEERCRED); with any of
                                * the three ipc filters set, a peer matching none is closed
                                * on accept.  A NULL value of length 0 clears this list */
    NM_IPC_FILTER_GID = 63,    /* int, write-only: adds a group id; the peer matches when its
                                * group or one of its user's groups is listed.  As UID */
    NM_IPC_FILTER_PID = 64,    /* int, write-only: adds a process id.  As UID */
    NM_SOCKS_PROXY = 65,       /* text: "HOST:PORT" (or "SRC;HOST:PORT", as a tcp connect)
                                * of a SOCKS5 proxy (RFC 1928, no authentication) that tcp
                                * connects made afterwards go through: the endpoint's host
                                * goes to the proxy as it is (a name is the proxy's to
                                * resolve).  At most 127 bytes; "" = none (default) */
    /* Security, libzmq's options of the same names: PLAIN (RFC 24), CURVE (RFC 25 over RFC
     * 26) and ZAP (RFC 27).  Connections and binds made afterwards take them.  The last
     * option that names a mechanism chooses it (NM_MECHANISM tells which): PLAIN_SERVER 1
     * or PLAIN_USERNAME / PLAIN_PASSWORD (a client) choose PLAIN; CURVE_SERVER 1 or any
     * CURVE key choose CURVE (CURVE_SERVERKEY makes this side the client); PLAIN_SERVER 0,
     * CURVE_SERVER 0 or a NULL username or password of length 0 choose NULL. */
    NM_MECHANISM = 70,          /* read-only int: enum nm_mechanism */
    NM_PLAIN_SERVER = 71,       /* int bool: a PLAIN server (asks ZAP about each client) */
    NM_PLAIN_USERNAME = 72,     /* text, 1..255 bytes: a PLAIN client's user name */
    NM_PLAIN_PASSWORD = 73,     /* text, 1..255 bytes: its password */
    NM_CURVE_SERVER = 74,       /* int bool: a CURVE server (needs CURVE_SECRETKEY) */
    NM_CURVE_PUBLICKEY = 75,    /* 32 bytes or 40 Z85 characters: this side's long-term
                                 * public key (a client's; a server needs only its secret) */
    NM_CURVE_SECRETKEY = 76,    /* 32 bytes or 40 Z85: this side's long-term secret key */
    NM_CURVE_SERVERKEY = 77,    /* 32 bytes or 40 Z85: the server's public key (client) */
    NM_ZAP_DOMAIN = 78,         /* text, 0..255 bytes: the domain ZAP requests name; a NULL
                                 * server with a domain asks ZAP too */
    NM_ZAP_ENFORCE_DOMAIN = 79, /* int bool: without a ZAP handler, refuse clients that
                                 * would have been asked (default 0: accept them) */
};

/* Security mechanisms (NM_MECHANISM), libzmq's numbers. */
enum nm_mechanism { NM_MECH_NULL = 0, NM_MECH_PLAIN = 1, NM_MECH_CURVE = 2 };

/* Z85 (ZeroMQ RFC 32): encodes size bytes (a multiple of 4) as size * 5 / 4 characters
 * and a NUL into dest; decodes text (a multiple of 5 characters) into dest.  NULL on a
 * size or a character that does not fit. */
NM_EXPORT char *nm_z85_encode(char *dest, const uint8_t *data, size_t size);
NM_EXPORT uint8_t *nm_z85_decode(uint8_t *dest, const char *text);
/* A new CURVE key pair, each 32 bytes (libsodium's crypto_box: Curve25519).  0. */
NM_EXPORT int nm_curve_keypair(uint8_t public_key[32], uint8_t secret_key[32]);
/* The public key of a secret key. */
NM_EXPORT int nm_curve_public(uint8_t public_key[32], const uint8_t secret_key[32]);

#define NM_BUSY_POLL_DEFAULT 200 /* us: covers a round trip on loopback */
#define NM_FILTERS_MAX       256 /* accept filters of one socket, all kinds together */

NM_EXPORT int nm_sock_setopt(nm_sock_t *s, int opt, const void *val, size_t len);
NM_EXPORT int nm_sock_getopt(nm_sock_t *s, int opt, void *val, size_t *len);
NM_EXPORT int nm_sock_setopt_int(nm_sock_t *s, int opt, int val);
NM_EXPORT int nm_sock_getopt_int(nm_sock_t *s, int opt, int *val);

/* ---- polling --------------------------------------------------------------------- */

#define NM_POLLIN  1
#define NM_POLLOUT 2
#define NM_POLLERR 4

/* One thing to watch: a nomid socket (sock != NULL) or a plain descriptor (fd). */
typedef struct nm_pollitem {
    nm_sock_t *sock; /* socket, or NULL for fd */
    int fd;          /* descriptor when sock is NULL */
    short events;    /* NM_POLLIN / NM_POLLOUT wanted */
    short revents;   /* what is ready (set by nm_poll) */
} nm_pollitem_t;

/* Waits until at least one item is ready or timeout_ms passes (-1 = forever, 0 = just
 * look), as zmq_poll does.  Returns the number of ready items (0 on timeout). */
NM_EXPORT int nm_poll(nm_pollitem_t *items, int nitems, int timeout_ms);

/* ---- proxy ----------------------------------------------------------------------- */

/* Forwards messages between frontend and backend in both directions until the control
 * socket receives TERMINATE (or, without control, until an error).  Each message is also
 * sent to capture if not NULL.  Control commands (single-frame): PAUSE, RESUME,
 * TERMINATE, STATISTICS (replies with 8 frames of uint64: frontend msgs in, bytes in,
 * msgs out, bytes out, then the same for backend).  Returns 0 after TERMINATE. */
NM_EXPORT int nm_proxy(nm_sock_t *frontend, nm_sock_t *backend, nm_sock_t *capture,
                       nm_sock_t *control);

/* ---- monitor events -------------------------------------------------------------- */

/* Event numbers are libzmq's where libzmq has the event. */
enum nm_event {
    NM_EVENT_CONNECTED = 0x0001,
    NM_EVENT_CONNECT_DELAYED = 0x0002,
    NM_EVENT_CONNECT_RETRIED = 0x0004,
    NM_EVENT_LISTENING = 0x0008,
    NM_EVENT_BIND_FAILED = 0x0010,
    NM_EVENT_ACCEPTED = 0x0020,
    NM_EVENT_ACCEPT_FAILED = 0x0040,
    NM_EVENT_CLOSED = 0x0080,
    NM_EVENT_DISCONNECTED = 0x0200,
    NM_EVENT_MONITOR_STOPPED = 0x0400,
    NM_EVENT_HANDSHAKE_SUCCEEDED = 0x1000,
    NM_EVENT_HANDSHAKE_FAILED_NO_DETAIL = 0x0800, /* a handshake failed (detail: why) */
    NM_EVENT_HANDSHAKE_FAILED = 0x2000,           /* the peer broke ZMTP: value NM_PROTOCOL_ERROR_*,
                                                   * detail the reason (libzmq's ..._PROTOCOL) */
    NM_EVENT_HANDSHAKE_FAILED_AUTH = 0x4000,      /* ZAP refused the peer: value the status
                                                   * code (300, 400, 500) */
    /* nomid's own events, on bits libzmq leaves unused by nomid (0x0100 is libzmq's
     * CLOSE_FAILED, which nomid never raises), so every event fits the uint16 field. */
    NM_EVENT_DROPPED = 0x0100,     /* a message was dropped on a pipe (detail: why) */
    NM_EVENT_HWM_REACHED = 0x8000, /* a pipe became full (value: its HWM) */
    NM_EVENT_ALL = 0xffff,
};

/* Values of NM_EVENT_HANDSHAKE_FAILED: what the peer got wrong (libzmq's numbers). */
enum nm_protocol_error {
    NM_PROTOCOL_ERROR_ZMTP_UNSPECIFIED = 0x10000000,
    NM_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND = 0x10000001,
    NM_PROTOCOL_ERROR_ZMTP_INVALID_SEQUENCE = 0x10000002,
    NM_PROTOCOL_ERROR_ZMTP_KEY_EXCHANGE = 0x10000003,
    NM_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_UNSPECIFIED = 0x10000011,
    NM_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_MESSAGE = 0x10000012,
    NM_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_HELLO = 0x10000013,
    NM_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_INITIATE = 0x10000014,
    NM_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_ERROR = 0x10000015,
    NM_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_READY = 0x10000016,
    NM_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_WELCOME = 0x10000017,
    NM_PROTOCOL_ERROR_ZMTP_INVALID_METADATA = 0x10000018,
    NM_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC = 0x11000001,
    NM_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH = 0x11000002,
    NM_PROTOCOL_ERROR_ZAP_UNSPECIFIED = 0x20000000,
    NM_PROTOCOL_ERROR_ZAP_MALFORMED_REPLY = 0x20000001,
    NM_PROTOCOL_ERROR_ZAP_BAD_REQUEST_ID = 0x20000002,
    NM_PROTOCOL_ERROR_ZAP_BAD_VERSION = 0x20000003,
    NM_PROTOCOL_ERROR_ZAP_INVALID_STATUS_CODE = 0x20000004,
    NM_PROTOCOL_ERROR_ZAP_INVALID_METADATA = 0x20000005,
};

/* Publishes the socket's events (mask `events`) on a PAIR socket bound at endpoint
 * (inproc://...); connect a PAIR to it to read them.  Each event is a message of three
 * frames: 6 bytes (uint16 event, uint32 value, little-endian, as libzmq), the endpoint,
 * and a detail text (may be empty).  Events are never blocking: when the reader is
 * slow they are dropped.  endpoint NULL stops monitoring.  With NM_MONITOR_TWO_FRAMES
 * in events, the detail frame is left off (libzmq 4.3's two-frame format). */
NM_EXPORT int nm_sock_monitor(nm_sock_t *s, const char *endpoint, int events);
#define NM_MONITOR_TWO_FRAMES 0x10000 /* a flag for nm_sock_monitor's events, not an event */

/* Every socket event of a context, for an embedding observer (an admin endpoint). */
typedef struct nm_event_info {
    uint64_t sock;        /* the socket's id (nm_sock_stats_t.id) */
    int type;             /* its type */
    int event;            /* enum nm_event */
    uint32_t value;       /* as in the monitor's first frame */
    const char *endpoint; /* the endpoint concerned */
    const char *detail;   /* the reason, or "" */
} nm_event_info_t;
typedef void(nm_event_cb)(void *arg, const nm_event_info_t *ev);
/* Calls cb for every event of every socket of ctx, on whichever thread raised it: cb
 * must be quick, must not block and must not call into nomid.  NULL removes it; once
 * this returns, no call of the old hook is under way. */
NM_EXPORT void nm_ctx_set_event_hook(nm_ctx_t *ctx, nm_event_cb *cb, void *arg);

/* ---- statistics ------------------------------------------------------------------ */

/* One pipe: the queue between a socket and one peer connection. */
typedef struct nm_pipe_stats {
    uint64_t id;                  /* unique within the context */
    char endpoint[128];           /* endpoint this pipe came from */
    char peer[128];               /* peer address, "" until connected */
    char local[128];              /* our address on that connection, "" until connected */
    bool outgoing;                /* this side connected (rather than accepted) */
    int state;                    /* enum nm_pipe_state */
    uint32_t queued_in;           /* messages received, not yet read by the application */
    uint32_t queued_out;          /* messages sent by the application, not yet written */
    int sndhwm, rcvhwm;           /* this pipe's limits (0 = none) */
    uint64_t msgs_in, msgs_out;   /* messages received / written to the wire */
    uint64_t bytes_in, bytes_out; /* payload bytes received / written */
    uint64_t drops;               /* messages dropped on this pipe */
    uint32_t subscriptions;       /* PUB/XPUB: the subscriber's subscriptions (counted) */
    uint64_t hwm_hits;            /* times the pipe was found full */
    uint64_t blocked_ns;          /* time senders spent blocked on this pipe */
    int mechanism;                /* enum nm_mechanism of its connection (inproc: NULL) */
    char peer_key[41];            /* CURVE: the peer's long-term public key, Z85; else "" */
    char user_id[64];             /* the User-Id ZAP gave the peer (cut to 63 bytes), or "" */
} nm_pipe_stats_t;

enum nm_pipe_state {
    NM_PIPE_CONNECTING = 0, /* waiting for (re)connection */
    NM_PIPE_ACTIVE = 1,     /* handshake done, passing messages */
    NM_PIPE_CLOSED = 2,     /* peer gone; draining what was received */
};

typedef struct nm_sock_stats {
    uint64_t id;            /* unique within the context */
    int type;               /* enum nm_sock_type */
    char endpoints[8][128]; /* first bound/connected endpoints */
    int nendpoints;
    int npipes;
    uint64_t peers_dropped;     /* connections dropped for breaking the protocol or a limit */
    uint64_t handshakes_failed; /* of those, dropped in their handshake (a wrong key or
                                 * password, a ZAP refusal, another mechanism...) */
} nm_sock_stats_t;

/* Calls sock_cb once per socket, then pipe_cb once per pipe of that socket, while
 * holding the context's registry lock: callbacks must be quick and must not call into
 * nomid.  Safe from any thread. */
typedef void(nm_sock_stats_cb)(void *arg, const nm_sock_stats_t *st);
typedef void(nm_pipe_stats_cb)(void *arg, const nm_sock_stats_t *sock, const nm_pipe_stats_t *st);
NM_EXPORT int nm_ctx_stats(nm_ctx_t *ctx, nm_sock_stats_cb *sock_cb, nm_pipe_stats_cb *pipe_cb,
                           void *arg);

/* ---- service names (svc://) ----------------------------------------------------- */

/* The core knows nothing of discovery: a discovery agent plugs in here.  A socket
 * connecting to svc://NAME calls watch; the resolver then reports every instance it
 * knows and every later change with nm_svc_update (nm_svc_update_key for a CURVE
 * server), from any thread, until unwatch returns.  Endpoints are connected and disconnected on the
 * socket's own thread, the next time it sends, receives, polls or waits. */
typedef struct nm_svc_watch nm_svc_watch_t;
#define NM_HOST_MAX 80 /* a host in an endpoint: "[fe80::1%ifname]" fits */
typedef struct nm_resolver {
    /* 0 or -errno; *cookie (NULL before) is handed back to unwatch. */
    int (*watch)(void *arg, const char *name, nm_svc_watch_t *w, void **cookie);
    void (*unwatch)(void *arg, nm_svc_watch_t *w, void *cookie); /* no updates after it */
    /* curve_key: the instance is a CURVE server with this public key (32 bytes; the one
     * of the socket's NM_CURVE_SECRETKEY when the endpoint was bound or advertised, a
     * later change is not seen), or NULL: not a CURVE server. */
    int (*advertise)(void *arg, const char *name, int type, const char *endpoint,
                     const uint8_t *curve_key);
    void (*withdraw)(void *arg, const char *name, const char *endpoint);
    /* The hosts a svc:// bind listens on, those the resolver announces on ("127.0.0.1",
     * "[fe80::1%eth0]"): at most max written to hosts[], the count returned.  Optional:
     * NULL (or 0 hosts) means 127.0.0.1, so a svc:// bind is never reachable from a
     * network nobody named. */
    int (*bind_hosts)(void *arg, char (*hosts)[NM_HOST_MAX], int max);
    void *arg; /* passed to each */
} nm_resolver_t;

/* Attaches a resolver (copied) to the context, or detaches it with NULL.  Attach before
 * sockets use svc:// and detach only after they have closed. */
NM_EXPORT void nm_ctx_set_resolver(nm_ctx_t *ctx, const nm_resolver_t *r);
/* An instance of the watched service (socket type `type`) at endpoint came up, or
 * went (up false).  Instances whose type cannot talk to the socket are ignored. */
NM_EXPORT void nm_svc_update(nm_svc_watch_t *w, const char *endpoint, int type, bool up);
/* The same for an instance that is a CURVE server with public key curve_key (32 bytes;
 * NULL: none, as nm_svc_update): the socket connects to it with CURVE, with this key as
 * the server's and its own NM_CURVE_PUBLICKEY / NM_CURVE_SECRETKEY as its pair (a socket
 * without a secret key gets a pair made for that connection, which a server with an
 * allow list refuses).  The resolver passes only keys it trusts. */
NM_EXPORT void nm_svc_update_key(nm_svc_watch_t *w, const char *endpoint, int type, bool up,
                                 const uint8_t *curve_key);

/* ---- clock ----------------------------------------------------------------------- */

/* Monotonic nanoseconds (for benchmarks and timeouts). */
NM_EXPORT uint64_t nm_clock_ns(void);

#ifdef __cplusplus
}
#endif

#endif /* NOMID_H */
