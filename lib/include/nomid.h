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

#define NM_VERSION_MAJOR 0
#define NM_VERSION_MINOR 1
#define NM_VERSION_PATCH 0

typedef struct nm_ctx nm_ctx_t;
typedef struct nm_sock nm_sock_t;

/* ---- errors ---------------------------------------------------------------------- */

/* Codes beyond errno.h for conditions libzmq names too. */
#define NM_EFSM   (-1000) /* operation not valid in the socket's current state */
#define NM_ETERM  (-1001) /* the socket's context was shut down (nm_ctx_shutdown) */
#define NM_EPROTO (-1002) /* the peer broke the protocol */

const char *nm_strerror(int err);

/* ---- context --------------------------------------------------------------------- */

enum nm_log_level { NM_LOG_ERROR = 0, NM_LOG_WARN, NM_LOG_INFO, NM_LOG_DEBUG };

/* Called from any nomid thread; must be thread-safe and must not call back into nomid. */
typedef void(nm_log_cb)(void *arg, int level, const char *component, const char *message);

int nm_ctx_new(nm_ctx_t **ctxp);
/* Ends a context, libzmq's zmq_ctx_shutdown: every call blocked on one of its sockets
 * (send, recv, nm_poll, nm_sock_wait_peers, nm_proxy) returns NM_ETERM at once, and
 * every later call on them fails with NM_ETERM, nm_sock_new on ctx too; only
 * nm_sock_close still works (and must be called: the sockets stay valid until then).
 * Any thread; returns at once; calling it again does nothing.  0, or -EINVAL. */
int nm_ctx_shutdown(nm_ctx_t *ctx);
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
 *    from the NM_ETERM of its next call; a socket nobody closes keeps it waiting. */
void nm_ctx_destroy(nm_ctx_t **ctxp);
/* Messages at or below max_level go to cb.  Default: no logging. */
void nm_ctx_set_log(nm_ctx_t *ctx, nm_log_cb *cb, void *arg, int max_level);

/* ---- messages -------------------------------------------------------------------- */

/* A message: an ordered list of frames.  Stack-allocatable; contents are private.
 * Small frames live inline, large frames in refcounted buffers, so copying a message
 * (nm_msg_copy) never copies a large frame's bytes. */
typedef struct nm_msg {
    _Alignas(8) unsigned char opaque_[104];
} nm_msg_t;

/* Frees the user's buffer of a zero-copy frame once nomid no longer needs it. */
typedef void(nm_free_cb)(void *data, void *hint);

void nm_msg_init(nm_msg_t *m);  /* an empty message (no frames) */
void nm_msg_close(nm_msg_t *m); /* releases the frames; m is left empty */
/* Appends a frame holding a copy of data[0..size). */
int nm_msg_add(nm_msg_t *m, const void *data, size_t size);
/* Appends a frame of size bytes, uninitialised, and returns its storage in *datap. */
int nm_msg_add_alloc(nm_msg_t *m, size_t size, void **datap);
/* Appends a frame that points at data without copying; ffn(data, hint) runs when the
 * last reference goes (ffn may be NULL for static data). */
int nm_msg_add_zc(nm_msg_t *m, void *data, size_t size, nm_free_cb *ffn, void *hint);
/* Inserts a copy of data as a new first frame. */
int nm_msg_prepend(nm_msg_t *m, const void *data, size_t size);
/* Removes the first frame (no-op on an empty message). */
void nm_msg_pop_front(nm_msg_t *m);
/* Moves frame i of src to the end of dst without copying a large frame's bytes (its
 * buffer reference changes hands); src loses that frame.  0, -EINVAL when i is not a
 * frame of src or dst is src, -ENOMEM (both unchanged). */
int nm_msg_move_frame(nm_msg_t *dst, nm_msg_t *src, size_t i);
size_t nm_msg_count(const nm_msg_t *m);
/* Frame i's bytes and size; i must be < nm_msg_count(m). */
const void *nm_msg_data(const nm_msg_t *m, size_t i);
size_t nm_msg_size(const nm_msg_t *m, size_t i);
/* Total payload bytes over all frames. */
size_t nm_msg_bytes(const nm_msg_t *m);
/* dst becomes a copy of src (large frames shared, not copied); dst must be empty. */
int nm_msg_copy(nm_msg_t *dst, const nm_msg_t *src);
/* dst takes src's frames; src is left empty; dst must be empty. */
void nm_msg_move(nm_msg_t *dst, nm_msg_t *src);

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
int nm_sock_type_parse(const char *name);
const char *nm_sock_type_name(int type);

/* Flags for send and recv. */
#define NM_DONTWAIT 1

int nm_sock_new(nm_sock_t **sp, nm_ctx_t *ctx, int type);
/* Never blocks: queued outgoing messages keep leaving in the background for up to
 * LINGER.  *sp is set to NULL. */
void nm_sock_close(nm_sock_t **sp);

/* Endpoints: tcp://host:port, tcp://\*:port, tcp://\*:0, tcp://[::1]:port, ipc:///path,
 * inproc://name (sockets of one context; bind and connect in either order), and
 * svc://name when the context has a resolver (nm_ctx_set_resolver): connect follows
 * every instance of the service as they come and go; bind listens on an ephemeral tcp
 * port of each host the resolver names (nm_resolver_t.bind_hosts; loopback when it names
 * none), never on a wildcard, and advertises each under the name.  bind reports the
 * endpoint it got through NM_LAST_ENDPOINT (for svc://, each endpoint it bound,
 * separated by spaces). */
int nm_sock_bind(nm_sock_t *s, const char *endpoint);
int nm_sock_connect(nm_sock_t *s, const char *endpoint);
/* Undoes a bind, as libzmq's zmq_unbind: endpoint is what bind was given or what it got
 * (NM_LAST_ENDPOINT).  tcp, ipc: the listener closes (an ipc path is removed) and so do
 * the connections it accepted; inproc: the name is free again (pipes made stay).
 * -ENOENT when the socket has no such binding; -ENOTSUP for svc://. */
int nm_sock_unbind(nm_sock_t *s, const char *endpoint);
/* Undoes a connect (tcp, ipc, svc): its connections close after LINGER, and a
 * reconnecting one stops trying.  -ENOENT for a svc:// name the socket does not
 * follow, -ENOTSUP for inproc. */
int nm_sock_disconnect(nm_sock_t *s, const char *endpoint);
/* Advertises every tcp and ipc endpoint the socket has bound under service `name`
 * through the context's resolver; withdrawn when the socket closes.  -ENOTSUP without
 * a resolver, -ENOENT when nothing is bound. */
int nm_sock_advertise(nm_sock_t *s, const char *name);
/* Waits until the socket has at least n connected peers (handshakes done), the answer
 * to the slow-joiner problem: a publisher waits for its subscribers, a svc:// client
 * for n instances.  timeout_ms < 0 waits forever.  The count, or -EAGAIN on timeout. */
int nm_sock_wait_peers(nm_sock_t *s, int n, int timeout_ms);

/* Sends *m as one message.  On success *m is left empty; on failure it is untouched.
 * Blocks while the destination pipes are full unless NM_DONTWAIT (-EAGAIN) or SNDTIMEO
 * expires (-EAGAIN). */
int nm_sock_send(nm_sock_t *s, nm_msg_t *m, int flags);
/* Receives one message into *m, which must be empty.  -EAGAIN as for send. */
int nm_sock_recv(nm_sock_t *s, nm_msg_t *m, int flags);

/* Convenience: send one single-frame message copied from data. */
int nm_sock_send_bytes(nm_sock_t *s, const void *data, size_t size, int flags);

/* Socket options.  Integer options take an int; NM_ROUTING_ID takes bytes (1..255);
 * NM_LAST_ENDPOINT is read-only text (NUL-terminated). Times are in milliseconds. */
enum nm_sockopt {
    NM_SNDHWM = 1,        /* int, messages per pipe, 0 = unlimited; default 1000 */
    NM_RCVHWM,            /* int, as SNDHWM */
    NM_SNDTIMEO,          /* int ms, -1 = block forever (default) */
    NM_RCVTIMEO,          /* int ms, -1 = block forever (default) */
    NM_LINGER,            /* int ms, -1 = forever; default 30000 (libzmq: -1) */
    NM_RECONNECT_IVL,     /* int ms, default 100; -1 = never reconnect */
    NM_RECONNECT_IVL_MAX, /* int ms, 0 = no backoff (default); else doubles up to this */
    NM_IMMEDIATE,         /* int bool: queue only to completed connections */
    NM_ROUTING_ID,        /* bytes: identity announced to peers */
    NM_ROUTER_MANDATORY,  /* int bool: ROUTER reports unroutable sends */
    NM_REQ_RELAXED,       /* int bool */
    NM_REQ_CORRELATE,     /* int bool */
    NM_MAXMSGSIZE,        /* int64 as int: largest inbound frame, -1 = unlimited */
    NM_LAST_ENDPOINT,     /* read-only text */
    NM_TYPE,              /* read-only int */
    NM_TCP_KEEPALIVE,     /* int: -1 default, 0 off, 1 on */
    NM_SUBSCRIBE,         /* bytes (may be empty = everything): SUB, XSUB */
    NM_UNSUBSCRIBE,       /* bytes: cancels one matching NM_SUBSCRIBE */
    NM_XPUB_VERBOSE,      /* int bool: XPUB passes on every subscribe, not just new ones */
    NM_HEARTBEAT_IVL,     /* int ms: send a PING this often, 0 = off (default) */
    NM_HEARTBEAT_TTL,     /* int ms: asks the peer to drop us after this silence (0..6553500) */
    NM_HEARTBEAT_TIMEOUT, /* int ms: drop a peer silent this long after a PING (default IVL) */
    NM_FD,                /* read-only int: readable when NM_EVENTS may have changed */
    NM_EVENTS,            /* read-only int: NM_POLLIN | NM_POLLOUT the socket has now */
    NM_BUSY_POLL,         /* int us: a blocking call spins (yielding) this long before
                           * sleeping (a receive on a socket with one connection spins
                           * reading that connection); 0 = never.  Default
                           * NM_BUSY_POLL_DEFAULT on REQ and REP (round trips), 0 on the
                           * streaming types */
    /* Limits on what one peer may cost (README "Limits"); a peer past one is dropped,
     * logged and counted (nm_sock_stats_t.peers_dropped).  No limit: 0 for a count,
     * -1 for bytes. */
    NM_HANDSHAKE_IVL,          /* int ms a connection may take to complete its handshake;
                                * default 30000 (libzmq's), 0 = forever */
    NM_HANDSHAKE_MAX,          /* int: connections in handshake per listener; a new one
                                * past it drops the oldest; default 256, 0 = no limit */
    NM_MULTIPART_MAXFRAMES,    /* int: frames of one inbound message; default 16384 */
    NM_MULTIPART_MAXBYTES,     /* int: bytes of an inbound message's frames before its
                                * last (the last is bounded by MAXMSGSIZE); 32 MiB */
    NM_SUBSCRIPTIONS_MAX,      /* int (PUB, XPUB): subscriptions a subscriber may hold,
                                * each counted; default 65536 */
    NM_SUBSCRIPTIONS_MAXBYTES, /* int (PUB, XPUB): their prefix bytes; default 4 MiB */
};

#define NM_BUSY_POLL_DEFAULT 200 /* us: covers a round trip on loopback */

int nm_sock_setopt(nm_sock_t *s, int opt, const void *val, size_t len);
int nm_sock_getopt(nm_sock_t *s, int opt, void *val, size_t *len);
int nm_sock_setopt_int(nm_sock_t *s, int opt, int val);
int nm_sock_getopt_int(nm_sock_t *s, int opt, int *val);

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
int nm_poll(nm_pollitem_t *items, int nitems, int timeout_ms);

/* ---- proxy ----------------------------------------------------------------------- */

/* Forwards messages between frontend and backend in both directions until the control
 * socket receives TERMINATE (or, without control, until an error).  Each message is also
 * sent to capture if not NULL.  Control commands (single-frame): PAUSE, RESUME,
 * TERMINATE, STATISTICS (replies with 8 frames of uint64: frontend msgs in, bytes in,
 * msgs out, bytes out, then the same for backend).  Returns 0 after TERMINATE. */
int nm_proxy(nm_sock_t *frontend, nm_sock_t *backend, nm_sock_t *capture, nm_sock_t *control);

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
    NM_EVENT_HANDSHAKE_FAILED = 0x2000, /* value: errno-style code; detail: the reason */
    /* nomid's own events, on bits libzmq leaves unused by nomid (0x0100 is libzmq's
     * CLOSE_FAILED, which nomid never raises), so every event fits the uint16 field. */
    NM_EVENT_DROPPED = 0x0100,     /* a message was dropped on a pipe (detail: why) */
    NM_EVENT_HWM_REACHED = 0x8000, /* a pipe became full (value: its HWM) */
    NM_EVENT_ALL = 0xffff,
};

/* Publishes the socket's events (mask `events`) on a PAIR socket bound at endpoint
 * (inproc://...); connect a PAIR to it to read them.  Each event is a message of three
 * frames: 6 bytes (uint16 event, uint32 value, little-endian, as libzmq), the endpoint,
 * and a detail text (may be empty).  Events are never blocking: when the reader is
 * slow they are dropped.  endpoint NULL stops monitoring.  With NM_MONITOR_TWO_FRAMES
 * in events, the detail frame is left off (libzmq 4.3's two-frame format). */
int nm_sock_monitor(nm_sock_t *s, const char *endpoint, int events);
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
void nm_ctx_set_event_hook(nm_ctx_t *ctx, nm_event_cb *cb, void *arg);

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
    uint64_t peers_dropped; /* connections dropped for breaking the protocol or a limit */
} nm_sock_stats_t;

/* Calls sock_cb once per socket, then pipe_cb once per pipe of that socket, while
 * holding the context's registry lock: callbacks must be quick and must not call into
 * nomid.  Safe from any thread. */
typedef void(nm_sock_stats_cb)(void *arg, const nm_sock_stats_t *st);
typedef void(nm_pipe_stats_cb)(void *arg, const nm_sock_stats_t *sock, const nm_pipe_stats_t *st);
int nm_ctx_stats(nm_ctx_t *ctx, nm_sock_stats_cb *sock_cb, nm_pipe_stats_cb *pipe_cb, void *arg);

/* ---- service names (svc://) ----------------------------------------------------- */

/* The core knows nothing of discovery: a discovery agent plugs in here.  A socket
 * connecting to svc://NAME calls watch; the resolver then reports every instance it
 * knows and every later change with nm_svc_update, from any thread, until unwatch
 * returns.  Endpoints are connected and disconnected on the socket's own thread, the
 * next time it sends, receives, polls or waits. */
typedef struct nm_svc_watch nm_svc_watch_t;
#define NM_HOST_MAX 80 /* a host in an endpoint: "[fe80::1%ifname]" fits */
typedef struct nm_resolver {
    /* 0 or -errno; *cookie (NULL before) is handed back to unwatch. */
    int (*watch)(void *arg, const char *name, nm_svc_watch_t *w, void **cookie);
    void (*unwatch)(void *arg, nm_svc_watch_t *w, void *cookie); /* no updates after it */
    int (*advertise)(void *arg, const char *name, int type, const char *endpoint);
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
void nm_ctx_set_resolver(nm_ctx_t *ctx, const nm_resolver_t *r);
/* An instance of the watched service (socket type `type`) at endpoint came up, or
 * went (up false).  Instances whose type cannot talk to the socket are ignored. */
void nm_svc_update(nm_svc_watch_t *w, const char *endpoint, int type, bool up);

/* ---- clock ----------------------------------------------------------------------- */

/* Monotonic nanoseconds (for benchmarks and timeouts). */
uint64_t nm_clock_ns(void);

#ifdef __cplusplus
}
#endif

#endif /* NOMID_H */
