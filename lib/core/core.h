/*
 * core.h - the internal objects of the messaging core and how they point at each other.
 *
 *   ctx ── owns ──> io (the I/O thread), sockets (registry for stats)
 *   sock ── app thread side: protocol state, pipes; I/O side: listeners, conns
 *   pipe ── two SPSC queues between a socket (app thread) and one conn (I/O thread),
 *           with the HWMs and the counters the admin endpoint shows
 *   conn ── one connection running ZMTP (the engine, engine/engine.h); a connecting
 *           conn survives disconnects and reconnects with backoff, keeping its pipe
 *
 * Threads.  The application thread owns a socket's protocol state and the consuming
 * end of pipe->in / producing end of pipe->out.  The I/O thread owns listeners, conns
 * and their read side.  The write side of a conn belongs to whoever holds
 * conn->wowner: an application thread may take it to write a message straight to the
 * descriptor when the connection is idle (the latency path); otherwise the I/O thread
 * holds it and writes in large batches (the throughput path).  Threads hand each other
 * work through two command lists: sock->cmds (I/O -> application) and io->cmds
 * (application -> I/O), each a mutex-protected array plus a wakeup.
 */
#ifndef NMI_CORE_H
#define NMI_CORE_H

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <bsd/sys/cdefs.h>
#include <bsd/sys/queue.h>
#include <bsd/sys/tree.h>

#include "core/msg.h"
#include "core/queue.h"
#include "include/nomid.h"
#include "platform/platform.h"
#include "transport/transport.h"
#include "zmtp/zmtp.h"

typedef struct nmi_ctx nmi_ctx;
typedef struct nmi_sock nmi_sock;
typedef struct nmi_pipe nmi_pipe;
typedef struct nmi_conn nmi_conn;
typedef struct nmi_io nmi_io;
typedef struct nmi_listener nmi_listener;
typedef struct nmi_proto_ops nmi_proto_ops;
typedef struct nmi_link nmi_link;
typedef struct nmi_svc nmi_svc;

#define NMI_EP_MAX 128

/* ---- commands between threads ---------------------------------------------------- */

enum nmi_cmd_type {
    /* to a socket (application thread) */
    NMI_CMD_ATTACH,    /* a pipe is ready for use */
    NMI_CMD_DETACH,    /* a pipe's connection is gone for good */
    NMI_CMD_IN_READY,  /* a pipe has messages again */
    NMI_CMD_OUT_READY, /* a pipe has room again */
    NMI_CMD_SVC,       /* a watched service's instance came or went (svc.c) */
    /* to the I/O thread */
    NMI_CMD_LISTEN,     /* start accepting on a listener */
    NMI_CMD_CONNECT,    /* start a connecting conn */
    NMI_CMD_DISCONNECT, /* close a socket's conns to one endpoint (nmi_disconnect) */
    NMI_CMD_UNBIND,     /* close a listener and the conns it accepted (nmi_disconnect) */
    NMI_CMD_FLUSH,      /* take over a conn's writer and flush */
    NMI_CMD_RESUME,     /* a conn's pipe->in has room: read again */
    NMI_CMD_READ,       /* an application thread hands a conn's reader back */
    NMI_CMD_CLOSE,      /* close a socket (linger, then free) */
    NMI_CMD_STOP,       /* leave the I/O loop */
};

typedef struct nmi_cmd {
    int type;  /* enum nmi_cmd_type */
    void *obj; /* pipe, listener, conn or sock */
} nmi_cmd;

typedef struct nmi_cmdq {
    pthread_mutex_t lock; /* guards the array */
    nmi_cmd *cmds;        /* pending commands */
    size_t n, cap;        /* used and allocated slots */
    atomic_int pending;   /* n > 0, readable without the lock */
} nmi_cmdq;

void nmi_cmdq_init(nmi_cmdq *q);
void nmi_cmdq_fini(nmi_cmdq *q);
/* Appends a command; returns true if the queue was empty (the reader may sleep). */
bool nmi_cmdq_push(nmi_cmdq *q, int type, void *obj);
/* Takes all pending commands into *out (caller frees *out->cmds via the returned array). */
size_t nmi_cmdq_take(nmi_cmdq *q, nmi_cmd **out);

/* ---- options --------------------------------------------------------------------- */

/* A socket's security settings (sec.c).  Immutable once shared: the socket holds one
 * reference (nmi_opts.sec), and every listener and connection made while they were
 * current holds one through its copy of the options (taken where the copy is made,
 * dropped where it is freed, on whichever thread that is).  The socket's thread, setting
 * an option, changes them in place only while it holds the one reference, and otherwise
 * makes its own copy first: no other thread ever sees them change.  NULL in nmi_opts
 * means the defaults (NULL mechanism, no ZAP domain). */
typedef struct nmi_sec {
    atomic_int refs;            /* first: sec_copy (sec.c) copies what follows it */
    int mechanism;              /* enum nm_mechanism */
    bool as_server;             /* PLAIN or CURVE server */
    bool zap_enforce;           /* ZAP_ENFORCE_DOMAIN */
    uint8_t curve_public[32];   /* CURVE: our long-term public key */
    uint8_t curve_secret[32];   /* our long-term secret key */
    uint8_t curve_server[32];   /* client: the server's public key */
    uint8_t user_len, pass_len; /* PLAIN client credentials */
    char user[255], pass[255];
    uint8_t domain_len; /* ZAP domain */
    char domain[255];
} nmi_sec;

nmi_sec *nmi_sec_ref(nmi_sec *sec); /* NULL stays NULL */
void nmi_sec_release(nmi_sec *sec);
/* The security options (NM_MECHANISM .. NM_ZAP_ENFORCE_DOMAIN) on the socket's settings
 * *sp (application thread); -ENOENT for any other option. */
int nmi_sec_setopt(nmi_sec **sp, int opt, const void *val, size_t len);
int nmi_sec_getopt(const nmi_sec *sec, int opt, void *val, size_t *len);
/* New settings (one reference) for a CURVE connection to the server with public key
 * server_key: sec's key pair (or, without one, a pair made now), the rest as sec.  NULL
 * when memory runs out. */
nmi_sec *nmi_sec_curve_client(const nmi_sec *sec, const uint8_t server_key[32]);
/* A CURVE server's public key, derived from its secret key (what its handshake proves),
 * into pub: true when sec is a CURVE server with a secret key, else false. */
bool nmi_sec_server_key(const nmi_sec *sec, uint8_t pub[32]);
/* libsodium ready for use (keys.c): 0, or -ENOSYS. */
int nmi_sodium_init(void);

typedef struct nmi_opts {
    int sndhwm, rcvhwm;      /* messages per pipe, 0 = unlimited */
    int sndtimeo, rcvtimeo;  /* ms, -1 = forever */
    int linger;              /* ms, -1 = forever */
    int reconnect_ivl;       /* ms, -1 = no reconnect */
    int reconnect_ivl_max;   /* ms, 0 = constant interval */
    bool immediate;          /* pipes only for completed connections */
    bool router_mandatory;   /* ROUTER: report unroutable */
    bool req_relaxed;        /* REQ: allow resend */
    bool req_correlate;      /* REQ: request ids */
    int64_t maxmsgsize;      /* largest inbound frame, -1 = no limit */
    int tcp_keepalive;       /* -1 default, 0 off, 1 on */
    bool xpub_verbose;       /* XPUB: pass on every subscription */
    int heartbeat_ivl;       /* ms between PINGs, 0 = none */
    int heartbeat_ttl;       /* ms the peer may wait for our traffic, 0 = none */
    int heartbeat_timeout;   /* ms of silence after a PING before we drop the peer, -1 = ivl */
    int busy_poll_us;        /* spin before sleeping in a blocking call, 0 = never */
    int handshake_ivl;       /* ms to complete a handshake, 0 = forever */
    int handshake_max;       /* connections in handshake per listener, 0 = no limit */
    int multipart_maxframes; /* frames of one inbound message, 0 = no limit */
    int multipart_maxbytes;  /* bytes of its frames before the last, -1 = no limit */
    int subs_max;            /* PUB/XPUB: subscriptions per peer, 0 = no limit */
    int subs_maxbytes;       /* PUB/XPUB: their prefix bytes per peer, -1 = no limit */
    int sndbuf, rcvbuf;      /* SO_SNDBUF / SO_RCVBUF, -1 = OS default */
    int backlog;             /* listen backlog */
    int tos;                 /* IP_TOS, 0 = none */
    int keepalive_cnt, keepalive_idle, keepalive_intvl; /* TCP_KEEP*, -1 = OS default */
    int tcp_maxrt;                                      /* ms, TCP_USER_TIMEOUT, 0 = OS default */
    int connect_timeout;                                /* ms, 0 = OS default */
    bool ipv6;               /* "*" is [::] dual stack; names may resolve to IPv6 */
    char bindtodevice[16];   /* SO_BINDTODEVICE, "" = none */
    bool xpub_verboser;      /* XPUB: pass on every subscribe and cancel */
    bool probe_router;       /* an empty message to each new peer */
    bool stream_notify;      /* STREAM: empty messages for connects and disconnects */
    bool invert_matching;    /* PUB/XPUB/SUB: deliver what does not match */
    bool xpub_nodrop;        /* PUB/XPUB: wait for a full subscriber, do not drop */
    bool conflate;           /* keep only the newest message received per pipe */
    bool xpub_manual;        /* XPUB: the application sets subscriptions */
    int use_fd;              /* binds take this listening descriptor, -1 = none */
    uint8_t routing_id[255]; /* announced Identity */
    uint8_t routing_id_len;  /* 0 = none */
    nmi_sec *sec;            /* security settings (one reference), NULL = defaults */
} nmi_opts;

void nmi_opts_default(nmi_opts *o);

/* ---- accept filters (filter.c) -------------------------------------------------- */

/* One accept filter: a tcp network, or an id an ipc peer's credentials must show. */
typedef struct nmi_filter {
    int kind;         /* NM_TCP_ACCEPT_FILTER, NM_IPC_FILTER_UID, _GID or _PID */
    int family;       /* tcp: AF_INET or AF_INET6 */
    int bits;         /* tcp: prefix length */
    uint8_t addr[16]; /* tcp: the network's address (4 or 16 bytes) */
    uint32_t id;      /* ipc: the uid, gid or pid */
} nmi_filter;

/* A list of them: the socket's (application thread), copied by each bind (its
 * listener's, I/O thread). */
typedef struct nmi_filters {
    nmi_filter *v; /* entries, heap */
    int n;         /* how many (at most NM_FILTERS_MAX) */
} nmi_filters;

/* setopt of the four filter options: adds an entry, or clears that kind (empty value).
 * 0, -EINVAL for a malformed value, -ENOMEM past NM_FILTERS_MAX. */
int nmi_filters_set(nmi_filters *f, int opt, const void *val, size_t len);
/* Copies src into *dst (empty: nothing allocated); 0 or -ENOMEM. */
int nmi_filters_copy(nmi_filters *dst, const nmi_filters *src);
void nmi_filters_fini(nmi_filters *f);
/* Whether an accepted connection fd passes the filters of a tcp (ipc false) or ipc
 * listener: true when no filter of that transport is set. */
bool nmi_filters_pass(const nmi_filters *f, bool ipc, int fd);

/* ---- pipe ------------------------------------------------------------------------ */

enum { NMI_RID_MAX = 255 };

struct nmi_pipe {
    nmi_queue *in;          /* peer -> application (qbuf[0], or the inproc link's) */
    nmi_queue *out;         /* application -> peer (qbuf[1], or the inproc link's) */
    nmi_link *link;         /* inproc: the queues shared with the peer pipe, else NULL */
    nmi_pipe *_Atomic mate; /* inproc: the other socket's pipe (one reference), else NULL */
    /* Limits, 0 = none: the socket's SNDHWM and RCVHWM, which its thread stores again
     * when they are set (they apply to existing pipes too, as in libzmq); the I/O thread
     * reads rcvhwm, stats read both (relaxed).  An inproc pipe's send limit adds the
     * peer's RCVHWM (peer_rcvhwm: -1 until the peer is there, then stored by the thread
     * joining them or by the peer's, when it sets RCVHWM); nmi_pipe_sndhwm says. */
    atomic_int sndhwm, rcvhwm, peer_rcvhwm;
    atomic_int refs;       /* socket side + conn side */
    atomic_int in_asleep;  /* application found `in` empty and waits for activation */
    atomic_int out_asleep; /* application found `out` full and waits for room */
    atomic_int gone;       /* the conn detached: no more input, output is dropped */
    atomic_int state;      /* enum nm_pipe_state */
    /* CONFLATE (a pipe of a PULL, SUB or DEALER): what the peer sends goes here instead
     * of `in`, each message in place of the one still waiting, which is dropped.  The
     * reader of the connection (inproc: the peer's sender, once joined) stores with an
     * exchange, the application takes with an exchange (both seq_cst), then the
     * in_asleep handshake of `in`.  An inproc `in` may still hold what the peer sent
     * before the bind; the application takes the newest of it, unless `latest` has one. */
    nmi_msg *_Atomic latest;
    bool conflate;  /* set when the pipe is made, never changed */
    nmi_sock *sock; /* owner */
    nmi_conn *conn; /* the connection (one reference, for the pipe's life) */
    /* application thread only */
    int lb_idx, fq_idx;               /* positions in the protocol's load balancer / fair queue */
    bool attached;                    /* protocol knows this pipe */
    bool detached;                    /* NMI_CMD_DETACH seen: drop once `in` is drained */
    bool full_seen;                   /* the last push found the pipe full (one HWM hit) */
    bool discard;                     /* disconnected: input is dropped unread (libzmq's) */
    uint64_t block_start;             /* when a sender started waiting on this pipe, 0 if not */
    TAILQ_ENTRY(nmi_pipe) sock_entry; /* in sock->pipes (application thread) */
    RB_ENTRY(nmi_pipe) rid_entry;     /* in a ROUTER's routing-id tree */
    uint8_t rid[NMI_RID_MAX];         /* peer routing id (ROUTER) */
    uint8_t rid_len;                  /* its length */
    /* statistics (relaxed atomics, any thread) */
    uint64_t id;               /* unique in the context */
    char endpoint[NMI_EP_MAX]; /* the endpoint it came from */
    char peer[NMI_EP_MAX];     /* peer address, set on connection (under ctx->reg_lock) */
    char local[NMI_EP_MAX];    /* our address on that connection (likewise) */
    /* Its connection's security, set with peer (under ctx->reg_lock): the mechanism, the
     * peer's CURVE key (all zeros: none), the User-Id ZAP gave it ("": none). */
    uint8_t mechanism;
    uint8_t peer_key[32];
    char user_id[64];
    /* Counters, grouped by the thread that writes them so that a publisher counting
     * drops does not fight the I/O thread for a cache line.  Single-writer counters
     * are bumped with nmi_count (no locked instruction). */
    _Alignas(64) atomic_uint_fast64_t msgs_in, bytes_in;   /* reader (I/O thread) */
    atomic_uint_fast64_t drops_in;                         /* reader: lost on arrival */
    _Alignas(64) atomic_uint_fast64_t msgs_out, bytes_out; /* writer (wowner holder) */
    _Alignas(64) atomic_uint_fast64_t drops, blocked_ns;   /* the socket's thread */
    atomic_uint_fast64_t hwm_hits;                         /* both sides (locked add) */
    /* PUB/XPUB: the subscriber's subscriptions, queued or kept (limits): the reader adds
     * each as it queues it, the socket's thread gives back what the trie does not keep
     * (locked adds on both sides). */
    atomic_uint_fast64_t subs, sub_bytes;
    TAILQ_ENTRY(nmi_pipe) reg_entry; /* in sock->reg_pipes (ctx->reg_lock) */
    bool registered;                 /* in sock->reg_pipes */
    nmi_queue qbuf[2];               /* a connection's queues: in, out */
};

/* A pipe for a connection (c holds one reference), or, with c NULL and link set, one
 * end of an inproc link whose queue idx it reads from. */
nmi_pipe *nmi_pipe_new(nmi_sock *s, nmi_conn *c, const char *endpoint);
nmi_pipe *nmi_pipe_new_inproc(nmi_sock *s, nmi_link *link, int idx, const char *endpoint);
void nmi_pipe_release(nmi_pipe *p);
/* Takes the pipe out of its socket's statistics; done when the socket lets go of it,
 * since the pipe may outlive the socket (held by a conn or an inproc peer). */
void nmi_pipe_unregister(nmi_pipe *p);
/* Application: queues *m if the pipe has room (m emptied) and wakes its writer;
 * -EAGAIN when full (the pipe will be announced by NMI_CMD_OUT_READY), -EPIPE if gone. */
int nmi_pipe_write(nmi_pipe *p, nmi_msg *m);
/* nmi_pipe_write in two steps, for fan-out: queue on every pipe, one full fence, then
 * wake each pipe's writer. */
int nmi_pipe_push(nmi_pipe *p, nmi_msg *m);
/* 0 when the pipe takes a message now; -EAGAIN when full (NMI_CMD_OUT_READY will
 * announce room), -EPIPE if gone.  For senders that must not drop (XPUB_NODROP). */
int nmi_pipe_wait_room(nmi_pipe *p);
void nmi_pipe_wake_fenced(nmi_pipe *p);
/* Application, for senders that drop rather than wait (PUB): true if the pipe takes
 * a message now, so that nmi_pipe_push will not fail.  A full pipe counts its HWM hit
 * and asks for no NMI_CMD_OUT_READY. */
bool nmi_pipe_room(nmi_pipe *p);
/* Any thread: the number of messages `out` may hold, 0 = no limit. */
int nmi_pipe_sndhwm(nmi_pipe *p);
/* Application: the socket's SNDHWM and RCVHWM were set; its pipes take them. */
void nmi_pipe_set_hwms(nmi_pipe *p, int sndhwm, int rcvhwm);
/* Application: true if a write would not hit the HWM right now. */
bool nmi_pipe_writable(nmi_pipe *p);
/* Application: takes the next message; false when empty (the pipe will be announced by
 * NMI_CMD_IN_READY). */
bool nmi_pipe_read(nmi_pipe *p, nmi_msg *m);
/* Any thread: messages received and not yet read (approximate, for statistics and for
 * the application's "anything left?"). */
uint64_t nmi_pipe_queued_in(nmi_pipe *p);
/* True if a pipe of a socket of this type with these options conflates. */
bool nmi_pipe_conflates(const nmi_opts *o, int type);
/* The connection's reader (or an inproc peer's sender): m (emptied) becomes p->latest, replacing
 * (and counting as dropped) the message waiting there; the caller then notifies
 * (nmi_pipe_in_notify). */
void nmi_pipe_conflate_in(nmi_pipe *p, nmi_msg *m);
/* Counts a message dropped on this pipe and tells the monitor why: by the socket's
 * thread (nmi_pipe_drop) or on arrival, by the I/O thread (nmi_pipe_drop_in). */
void nmi_pipe_drop(nmi_pipe *p, const char *why);
void nmi_pipe_drop_in(nmi_pipe *p, const char *why);

/* Zeroed memory for a struct with cache-line-aligned members (_Alignas(64): queues,
 * pipes, links), starting on a line as its padding assumes; calloc's 16-byte alignment
 * would let two threads' fields share a line again, by chance, run by run. */
static inline void *nmi_calloc_lines(size_t size)
{
    size = (size + 63) & ~(size_t)63;
    void *p = aligned_alloc(64, size);
    if (p != NULL)
        memset(p, 0, size);
    return p;
}

/* Adds n to a counter only one thread writes: a relaxed load and store, readable by
 * statistics from any thread. */
static inline void nmi_count(atomic_uint_fast64_t *c, uint64_t n)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
                          memory_order_relaxed);
}
/* I/O side: after pushing to `in`, wakes the application if it waits for this pipe. */
void nmi_pipe_in_notify(nmi_pipe *p);
/* Writer side: after popping from `out`, tells the application there is room again. */
void nmi_pipe_out_notify(nmi_pipe *p);

/* ---- socket ---------------------------------------------------------------------- */

struct nmi_sock {
    nmi_ctx *ctx; /* owner */
    nmi_io *io;   /* its listeners' and connections' I/O thread (set at
                   * creation under ctx->reg_lock, never changed) */
    /* Byte options that are the socket's, not copied to each connection (nmi_opts is):
     * application thread only. */
    uint8_t connect_rid[255];     /* ROUTER, STREAM: the next connect's peer routing id */
    uint8_t connect_rid_len;      /* 0 = none */
    uint8_t welcome[255];         /* XPUB_WELCOME_MSG: the message for new subscribers */
    uint8_t welcome_len;          /* 0 = none */
    char socks_proxy[NMI_EP_MAX]; /* NM_SOCKS_PROXY: where tcp connects go through, "" = none */
    /* ROUTER_HANDOVER: a new peer with a routing id in use takes it over (the holder's
     * connection is closed) instead of being refused.  Written by the socket's thread
     * (setopt), read relaxed by the I/O thread when a handshake ends: a handshake ending
     * as it is set may see either value. */
    atomic_bool router_handover;
    const nmi_proto_ops *proto; /* pattern behaviour */
    void *pdata;                /* protocol state */
    int type;                   /* enum nm_sock_type */
    uint64_t id;                /* unique in the context */
    nmi_opts opts;              /* options (application thread; copied by conns) */
    char last_ep[NMI_EP_MAX];   /* NM_LAST_ENDPOINT */
    nmi_cmdq cmds;              /* I/O -> application */
    nmi_signaler sig;           /* wakes the application thread */
    atomic_int waiting;         /* the application thread sleeps on sig */
    /* NM_FD was handed out: every post signals.  Written (true, once) by the socket's
     * thread in getopt(NM_FD), a seq_cst store; read by posters on any thread after
     * their fence (nmi_sock_post) and by the socket's thread choosing a direct read.
     * A post that misses the store is seen by the NM_EVENTS the caller makes next. */
    atomic_bool fd_mode;
    atomic_int calls;        /* public calls under way on it (nmi_sock_enter; see nmi_ctx) */
    atomic_bool term_told;   /* a call returned NM_ETERM: its user will close it */
    atomic_uintptr_t user;   /* the thread that last entered a call (nmi_thread_tag) */
    uint64_t last_direct_ns; /* when this socket's thread last wrote a conn itself */
    /* The last receive left input waiting (more on its pipe, or on the next one served):
     * the thread is working through a backlog, so what it sends meanwhile goes to the
     * I/O thread, to be written in batches (conn_write.c).  Application thread only. */
    bool in_backlog;
    /* The last blocking wait took longer than NM_BUSY_POLL: the traffic is paced, and
     * the next wait sleeps at once (sock.c, sock_spin_us).  Application thread only. */
    bool spin_cold;
    atomic_uint_fast64_t peers_dropped;     /* conns dropped by nmi_conn_reject (I/O thread) */
    atomic_uint_fast64_t handshakes_failed; /* of those, in their handshake (I/O thread) */
    atomic_int mon_events;                  /* events the monitor wants (0 = none) */
    pthread_mutex_t mon_lock;               /* guards mon (any thread may raise an event) */
    nm_sock_t *mon;                         /* the monitor's PAIR, or NULL */
    struct nmi_zap *zap;          /* asking ZAP about peers (engine/zap.c; I/O thread), or NULL */
    nmi_svc *svc;                 /* svc:// watches, binds, advertisements, or NULL */
    nmi_filters filters;          /* accept filters for later binds (app thread) */
    uint8_t *rbuf;                /* read buffer of direct reads (conn_direct.c), or NULL */
    bool has_prefetch;            /* prefetch holds a received message (NM_POLLIN) */
    nmi_msg prefetch;             /* taken by nm_poll to learn NM_POLLIN, given to recv */
    TAILQ_HEAD(, nmi_pipe) pipes; /* attached pipes (application thread) */
    /* I/O thread only */
    LIST_HEAD(, nmi_listener) listeners; /* bound endpoints */
    LIST_HEAD(, nmi_conn) conns;         /* connections, connecting ones included */
    int nlive;                           /* conns in ACTIVE state (PAIR allows one) */
    uint32_t next_rid;                   /* generator for ROUTER routing ids */
    bool closing;                        /* close requested: linger, then free */
    bool close_posted;                   /* NMI_CMD_CLOSE sent (ctx->reg_lock) */
    /* registry (ctx->reg_lock) */
    TAILQ_ENTRY(nmi_sock) reg_entry;
    TAILQ_HEAD(, nmi_pipe) reg_pipes;
    char endpoints[8][NMI_EP_MAX];
    int nendpoints;
};

/* Runs pending commands from the I/O thread (attach, detach, activations). */
void nmi_sock_process(nmi_sock *s);
/* Any thread: publishes an event on the socket's monitor, if it wants it (monitor.c). */
void nmi_monitor(nmi_sock *s, int event, uint32_t value, const char *endpoint, const char *detail);
void nmi_monitor_stop(nmi_sock *s);
/* Application: the socket's readiness (NM_POLLIN | NM_POLLOUT), running its commands. */
int nmi_sock_events(nmi_sock *s);
/* Application: a pipe joins the socket's protocol. */
void nmi_sock_attach(nmi_sock *s, nmi_pipe *p);
/* Application: forgets a pipe and drops the socket's reference to it. */
void nmi_sock_drop_pipe(nmi_sock *s, nmi_pipe *p);
/* Frees a socket after the I/O thread closed everything (I/O thread). */
void nmi_sock_free(nmi_sock *s);
void nmi_sock_post(nmi_sock *s, int type, void *obj);
/* Application: sleeps until a command arrives or deadline (0 = none) passes: 0,
 * -EAGAIN at the deadline, or NM_ETERM once the context is shut down. */
int nmi_sock_wait(nmi_sock *s, uint64_t deadline);
/* The same for a receive: a socket with one connection reads it itself meanwhile. */
int nmi_sock_wait_in(nmi_sock *s, uint64_t deadline);
/* Application: connect / disconnect a tcp or ipc endpoint without listing it among the
 * socket's endpoints (svc:// instances). */
/* server_key: a CURVE server's public key to connect to with CURVE (svc.c), or NULL for
 * the socket's own settings. */
int nmi_sock_connect_plain(nmi_sock *s, const char *endpoint, const uint8_t *server_key);
void nmi_sock_disconnect_plain(nmi_sock *s, const char *endpoint);

/* ---- svc:// (svc.c; application thread unless said otherwise) -------------------- */

/* A command to close a socket's conns to one endpoint (or a listener and its conns).
 * Disconnect posts it and forgets it: the I/O thread frees it.  Unbind waits for it:
 * the I/O thread, once the listener and its conns are closed, sets done under
 * ctx->reg_lock and broadcasts reg_cond, and touches it no more; the unbinding thread
 * waits there for done, then frees it.  So nothing arrives through a connection the
 * unbind closed once the call has returned (libzmq's order, which direct reads in the
 * application thread would otherwise overtake). */
typedef struct nmi_disconnect {
    nmi_sock *sock;            /* whose conns */
    char endpoint[NMI_EP_MAX]; /* to which endpoint */
    bool waited;               /* unbind: its poster waits for done, and frees it */
    bool done;                 /* handled (ctx->reg_lock) */
} nmi_disconnect;

int nmi_svc_connect(nmi_sock *s, const char *name);    /* follow a service */
int nmi_svc_disconnect(nmi_sock *s, const char *name); /* stop following it */
/* Binds tcp://HOST:0 on the resolver's hosts and advertises each; the endpoints bound,
 * space-separated, go to bound[cap]. */
int nmi_svc_bind(nmi_sock *s, const char *name, char *bound, size_t cap);
/* A tcp/ipc bind of spec got endpoint. */
void nmi_svc_bound(nmi_sock *s, const char *spec, const char *endpoint);
/* A tcp/ipc endpoint is unbound (by what bind got, or by what it was given unless that
 * had a wildcard): forgets it, withdraws what advertised it and writes what bind got to
 * got[cap]; false when s has no such binding. */
bool nmi_svc_unbound(nmi_sock *s, const char *endpoint, char *got, size_t cap);
void nmi_svc_apply(nmi_sock *s, void *update); /* NMI_CMD_SVC (frees update) */
void nmi_svc_close(nmi_sock *s);               /* unwatch, withdraw: closing */
void nmi_svc_free(nmi_sock *s);                /* any thread, after close */

/* ---- protocols ------------------------------------------------------------------- */

/* What the engine must know of a pattern; it never looks at the socket type itself. */
enum nmi_proto_flag {
    NMI_PROTO_SINGLE_PEER = 1 << 0, /* one connection at a time (PAIR) */
    NMI_PROTO_SENDS_RID = 1 << 1,   /* announces its routing id in READY (REQ, DEALER, ROUTER) */
    NMI_PROTO_TAKES_SUBS = 1 << 2,  /* peers' subscriptions reach it (PUB, XPUB) */
    NMI_PROTO_SENDS_SUBS = 1 << 3,  /* subscribes: SUBSCRIBE/CANCEL to 3.1 peers (SUB, XSUB) */
    NMI_PROTO_RAW = 1 << 4,         /* no ZMTP: bytes as they come (STREAM) */
    NMI_PROTO_ALTERNATES = 1 << 5,  /* sends and receives in turn (REQ, REP): a message
                                     * taken ahead for POLLIN leaves no POLLOUT */
};

struct nmi_proto_ops {
    int type;                                    /* enum nm_sock_type */
    unsigned flags;                              /* enum nmi_proto_flag */
    bool can_send, can_recv;                     /* for -ENOTSUP */
    bool needs_rid;                              /* pipes carry routing ids (ROUTER) */
    int (*init)(nmi_sock *s);                    /* allocate s->pdata */
    void (*fini)(nmi_sock *s);                   /* free s->pdata */
    void (*attach)(nmi_sock *s, nmi_pipe *p);    /* a new pipe */
    void (*detach)(nmi_sock *s, nmi_pipe *p);    /* a pipe goes away */
    void (*in_ready)(nmi_sock *s, nmi_pipe *p);  /* pipe readable again */
    void (*out_ready)(nmi_sock *s, nmi_pipe *p); /* pipe writable again */
    int (*send)(nmi_sock *s, nmi_msg *m);        /* -EAGAIN if it must wait */
    int (*recv)(nmi_sock *s, nmi_msg *m);        /* -EAGAIN if nothing */
    /* Pattern-specific options (NM_SUBSCRIBE, NM_UNSUBSCRIBE); NULL when it has none. */
    int (*setopt)(nmi_sock *s, int opt, const void *val, size_t len);
    /* True if a send would not block now (for NM_POLLOUT). */
    bool (*has_out)(nmi_sock *s);
    /* nm_sock_send_ready: 0 if a message starting with frame head could be sent now,
     * else the error send would give (-EAGAIN: wait for OUT_READY, which it asked
     * for).  NULL: the pattern never refuses at that point (it drops instead). */
    int (*send_ready)(nmi_sock *s, const void *head, size_t len);
};

const nmi_proto_ops *nmi_proto_find(int type);

/* ---- listener -------------------------------------------------------------------- */

struct nmi_listener {
    nmi_pollable pollable;              /* listening descriptor */
    nmi_sock *sock;                     /* owner */
    const nmi_transport_ops *tp;        /* transport */
    char endpoint[NMI_EP_MAX];          /* the endpoint really bound */
    nmi_opts opts;                      /* socket options when bound (for accepted conns) */
    TAILQ_HEAD(, nmi_conn) handshaking; /* accepted conns still in handshake, oldest first */
    int nhandshaking;                   /* their count (at most opts.handshake_max) */
    int64_t handshake_ns;               /* average time of the recent good handshakes */
    nmi_filters filters;                /* the socket's accept filters when bound */
    bool adopted;                       /* the descriptor was NM_USE_FD's: no path to remove */
    uint64_t path_id;                   /* what identifies the file it bound (tp->unlisten) */
    LIST_ENTRY(nmi_listener) sock_entry;
};

nmi_listener *nmi_listener_new(nmi_sock *s, const nmi_transport_ops *tp, int fd,
                               const char *endpoint);
void nmi_listener_start(nmi_listener *l); /* I/O thread */
void nmi_listener_close(nmi_listener *l); /* I/O thread */
/* I/O thread: NMI_CMD_UNBIND, closes d's listener and the conns it accepted, then tells
 * the unbinding thread, which frees d. */
void nmi_listener_unbind(nmi_disconnect *d);

/* ---- I/O thread ------------------------------------------------------------------ */

struct nmi_io {
    nmi_ctx *ctx;              /* owner */
    int index;                 /* in ctx->io (names the thread "nomid-io/N") */
    int nsocks;                /* sockets living here (ctx->reg_lock) */
    pthread_t thread;          /* the loop */
    int pfd;                   /* poller */
    nmi_cmdq cmds;             /* application -> I/O */
    nmi_signaler sig;          /* wakes the loop */
    nmi_pollable sig_pollable; /* sig in the poller */
    uint8_t *rbuf;             /* shared read buffer */
    size_t rbuf_size;          /* its size */
    nmi_conn **timers;         /* conns with timer_at set */
    size_t ntimers, cap_timers;
    nmi_conn **zombies; /* conn references to drop after the current dispatch */
    size_t nzombies, cap_zombies;
    nmi_conn **again; /* conns whose read turn ended with input left (one reference each) */
    size_t nagain, cap_again;
    nmi_sock **closing; /* closed sockets waiting for their conns to finish */
    size_t nclosing, cap_closing;
    bool stop; /* leave the loop */
};

int nmi_io_start(nmi_io *io, nmi_ctx *ctx, int index);
void nmi_io_stop(nmi_io *io);
void nmi_io_post(nmi_io *io, int type, void *obj);
void nmi_io_timer_set(nmi_io *io, nmi_conn *c, uint64_t at);
void nmi_io_defer_release(nmi_io *io, nmi_conn *c);
/* I/O: c used up its read turn with input left; it reads again after the others had
 * theirs (one fast sender must not starve the rest). */
void nmi_io_read_again(nmi_io *io, nmi_conn *c);

/* ---- inproc ---------------------------------------------------------------------- */

/* The two queues between a pair of inproc pipes; each pipe reads one and writes the
 * other, so a message moves from socket to socket without a copy or a thread. */
struct nmi_link {
    nmi_queue q[2];       /* q[0]: read by the connecting side, q[1]: by the binder */
    atomic_int refs;      /* one per pipe */
    pthread_mutex_t lock; /* serialises the two sides' unlinking */
    bool broken;          /* one side has left (lock) */
};

void nmi_link_release(nmi_link *l);
/* inproc:// endpoints of a context (transport/inproc.c). */
int nmi_inproc_bind(nmi_sock *s, const char *endpoint);
int nmi_inproc_connect(nmi_sock *s, const char *endpoint);
/* True while some socket of ctx is bound at endpoint (any thread). */
bool nmi_inproc_bound(nmi_ctx *ctx, const char *endpoint);
/* The context goes: every name and waiting connect is forgotten. */
void nmi_inproc_fini(nmi_ctx *ctx);
/* Application: the socket closes; its names are free for others at once. */
void nmi_inproc_unbind_all(nmi_sock *s);
/* Application: frees one name s bound (links made through it stay); -ENOENT if none. */
int nmi_inproc_unbind(nmi_sock *s, const char *endpoint);
/* Application: drops the links s made by connecting to endpoint, and its connect
 * waiting for a bind there; -ENOENT if it had neither. */
int nmi_inproc_disconnect(nmi_sock *s, const char *endpoint);
/* The socket lets go of an inproc pipe: tells the peer's socket, drops the hold. */
void nmi_inproc_unlink(nmi_pipe *p);
/* After the caller's full fence: wakes the other end of p's link if it sleeps waiting
 * for input (cmd NMI_CMD_IN_READY) or for room (NMI_CMD_OUT_READY), unless it has left. */
void nmi_inproc_wake(nmi_pipe *p, int cmd);

typedef struct nmi_inproc_entry nmi_inproc_entry;

/* ---- context --------------------------------------------------------------------- */

/*
 * Ending a context.  ctx->state goes one way, always under ctx->reg_lock:
 *
 *   ACTIVE --nm_ctx_shutdown--> SHUTDOWN --nm_ctx_destroy--> TERM
 *   ACTIVE --nm_ctx_destroy----------------------------------> TERM
 *
 * Any state but ACTIVE makes every call on the context's sockets except close return
 * NM_ETERM, and nm_sock_new too (it looks at the state under reg_lock).  A public call
 * on a socket is bracketed by nmi_sock_enter / nmi_sock_leave: enter adds one to
 * s->calls and then reads the state, with nmi_barrier_fast between (only the socket's
 * user writes s->calls, one thread at a time); leave sets s->term_told when the call
 * returns NM_ETERM, then takes one from s->calls (release).  The thread leaving ACTIVE
 * stores the state, then runs nmi_barrier_slow before it reads any s->calls: the pair
 * of barriers is a full fence on both sides (a Dekker handshake), at the price of a
 * syscall on the rare side instead of a locked instruction per call.  The thread
 * leaving ACTIVE stores the state and then signals every registered socket's eventfd
 * unconditionally, so a caller that read ACTIVE before sleeping (nmi_sock_wait, a
 * direct read's poll(), nm_poll) wakes, and every wait reads the state again after
 * waking and before sleeping; spins read it each turn.
 *
 * nm_ctx_destroy from ACTIVE closes, as nm_sock_close would, the sockets that no call
 * is inside of: in the critical section that stores TERM it reads each s->calls
 * (acquire, after the barrier) and then s->term_told.  A socket with a call, or whose
 * user was told, is left to its user; that is safe: a call that entered before the
 * store is counted (the pair of barriers), one that noticed the state and left has set
 * term_told first (release on the count).  If no socket is left so, no thread is in the context:
 * destroy takes (close_posted) every other socket, as it always did.  Otherwise threads are at
 * work, and it takes only the sockets the destroying thread itself used last (s->user, set by
 * nmi_sock_enter before it counts, and by nm_sock_new), so that a woken thread may close all of its
 * own sockets, idle ones too.  A call started on a socket after nm_ctx_destroy began is the
 * program's bug.  From SHUTDOWN (the program asked for libzmq's contract) it takes none.  Either
 * way it then waits on reg_cond until every socket has been freed by the I/O thread: each closed by
 * its user (or taken) and done lingering.  nmi_sock_free asserts that no call is inside the socket
 * it frees.
 */
enum nmi_ctx_state { NMI_CTX_ACTIVE = 0, NMI_CTX_SHUTDOWN, NMI_CTX_TERM };

#define NMI_IO_MAX 64 /* I/O threads one context may run (NM_CTX_IO_THREADS) */

struct nmi_ctx {
    atomic_int state; /* enum nmi_ctx_state (table above; reg_lock to change) */
    pid_t pid;        /* the process that made it (set once): see nmi_ctx_forked */
    /* The I/O threads: io[0] starts with the context, the others when NM_CTX_IO_THREADS
     * asks for them; each socket is given one for life (the least loaded of the first
     * io_used) and its listeners and connections run there.  Under reg_lock: the array,
     * io_started, io_used, and each io's nsocks; a thread runs until nm_ctx_destroy. */
    nmi_io *io[NMI_IO_MAX];
    int io_started;                  /* threads running: io[0..io_started) */
    int io_used;                     /* new sockets go to io[0..io_used) */
    int max_sockets;                 /* NM_CTX_MAX_SOCKETS */
    bool ipv6;                       /* NM_CTX_IPV6: new sockets' NM_IPV6 */
    pthread_mutex_t reg_lock;        /* sockets, their pipes, endpoints, log settings */
    pthread_cond_t reg_cond;         /* signalled when a socket is freed, or an unbind done */
    TAILQ_HEAD(, nmi_sock) socks;    /* every socket not yet freed */
    int nsocks;                      /* their count */
    atomic_uint_fast64_t next_id;    /* ids for sockets and pipes */
    nm_log_cb *log_cb;               /* logging callback */
    void *log_arg;                   /* its argument */
    atomic_int log_level;            /* highest level passed on */
    pthread_mutex_t inproc_lock;     /* guards the inproc list */
    nmi_inproc_entry *inproc;        /* bound names and connects waiting for a bind */
    nm_resolver_t resolver;          /* svc:// hook (set before sockets use it) */
    _Atomic(nm_event_cb *) event_cb; /* every socket event, or NULL (nmi_monitor) */
    void *event_arg;                 /* its argument */
    pthread_rwlock_t event_lock;     /* held (read) while the hook runs */
    bool has_resolver;               /* resolver is set */
};

void nmi_log(nmi_ctx *ctx, int level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
uint64_t nmi_ctx_next_id(nmi_ctx *ctx);
/* True in a child process forked since the context was made: it has none of the
 * context's threads (fork copies only the caller), and a lock may have been copied
 * held, so closing and destroying only let go of what was inherited, taking no lock. */
bool nmi_ctx_forked(const nmi_ctx *ctx);
/* The I/O thread for a new socket: the least loaded of io[0..io_used).  reg_lock held. */
nmi_io *nmi_ctx_pick_io(nmi_ctx *ctx);

/* Any thread: false once the context is shut down (a hint for spins and waits). */
static inline bool nmi_ctx_live(const nmi_ctx *ctx)
{
    return atomic_load_explicit(&ctx->state, memory_order_relaxed) == NMI_CTX_ACTIVE;
}

/* Its address names the calling thread (nmi_sock.user); defined in ctx.c.  Every call
 * reads it: initial-exec spares shared builds (libnomid.so, libzmq.so.5) a
 * __tls_get_addr call each time, for one byte of the static TLS the C library keeps for
 * libraries loaded later. */
#define NMI_TLS _Thread_local __attribute__((tls_model("initial-exec")))
extern NMI_TLS char nmi_thread_tag;

/* Application: ends a public call on s, returning rc (an NM_ETERM is remembered). */
static inline int nmi_sock_leave(nmi_sock *s, int rc)
{
    if (rc == NM_ETERM)
        atomic_store_explicit(&s->term_told, true, memory_order_relaxed);
    int n = atomic_load_explicit(&s->calls, memory_order_relaxed); /* only its user writes */
    atomic_store_explicit(&s->calls, n - 1, memory_order_release);
    return rc;
}

/* Application: starts a public call on s (nests); NM_ETERM, nothing started, once the
 * context is shut down.  Every nm_sock_* call but close brackets itself with these. */
static inline int nmi_sock_enter(nmi_sock *s)
{
    atomic_store_explicit(&s->user, (uintptr_t)&nmi_thread_tag, memory_order_relaxed);
    int n = atomic_load_explicit(&s->calls, memory_order_relaxed); /* only its user writes */
    atomic_store_explicit(&s->calls, n + 1, memory_order_relaxed);
    nmi_barrier_fast(); /* the count before the state: ctx_shut's nmi_barrier_slow */
    if (atomic_load_explicit(&s->ctx->state, memory_order_relaxed) == NMI_CTX_ACTIVE)
        return 0;
    return nmi_sock_leave(s, NM_ETERM);
}

/* Application: evaluates call as a public call on s (bracketed), or NM_ETERM. */
#define NMI_SOCK_CALL(s, call) (nmi_sock_enter(s) < 0 ? NM_ETERM : nmi_sock_leave((s), (call)))

#endif
