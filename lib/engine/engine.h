/*
 * engine.h - the ZMTP engine: one connection running ZMTP 3.1 (or raw bytes for STREAM)
 * between a socket's pipe and a descriptor.
 *
 *   conn.c         life of a connection: connect, reconnect with backoff, handshake start,
 *                  timers, losing the peer, closing with linger
 *   conn_read.c    input: greeting, frames into messages on the pipe, limits
 *   conn_cmd.c     commands: READY (the handshake's end), subscriptions, PING, ERROR
 *   conn_mech.c    PLAIN and CURVE handshakes (zmtp/mech.h), CURVE's boxes on the wire
 *   conn_write.c   output: batching frames into large writes, direct writes
 *   conn_direct.c  an application thread reading its connection itself
 *   heartbeat.c    PING/PONG and TTLs
 *
 * The engine drives the pure codec (zmtp/) and knows the socket only through its
 * protocol ops table.  It runs on the I/O thread, except where the writer or the reader
 * is handed to an application thread (wowner, rowner below).
 */
#ifndef NMI_ENGINE_H
#define NMI_ENGINE_H

#include "core/core.h"
#include "core/debug.h"
#include "transport/socks.h"
#include "zmtp/mech.h"

/* ---- connection (ZMTP engine) ---------------------------------------------------- */

/* Holders of conn->rowner. */
enum nmi_reader {
    NMI_READER_NONE,
    NMI_READER_IO,  /* the I/O thread */
    NMI_READER_APP, /* the socket's application thread (conn_direct.c) */
};

/* A connect through a SOCKS5 proxy (I/O thread): the request, and the reply so far. */
typedef struct nmi_conn_socks {
    uint8_t req[NMI_SOCKS_REQ_MAX];  /* the CONNECT request for the target */
    size_t req_len;                  /* its length */
    bool method_done;                /* the proxy took our method: the reply is next */
    uint8_t in[NMI_SOCKS_REPLY_MAX]; /* the proxy's answer being read */
    size_t in_len;                   /* bytes of it */
} nmi_conn_socks;

enum nmi_conn_state {
    NMI_CONN_WAIT,       /* waiting to reconnect */
    NMI_CONN_CONNECTING, /* non-blocking connect in progress */
    NMI_CONN_SOCKS,      /* asking the SOCKS proxy for the connection (conn_socks.c) */
    NMI_CONN_GREETING,   /* exchanging greetings */
    NMI_CONN_READY,      /* waiting for the peer's READY */
    NMI_CONN_ACTIVE,     /* passing messages */
    NMI_CONN_DEAD,       /* closed, waiting for references to go */
};

/*
 * Who writes and who reads a connection (the fields marked "table" in nmi_conn).  Each
 * is moved only as below; NMI_ASSERT checks the invariants in debug builds.
 *
 * Writer.  wowner is 1 while one thread owns the output side (wbuf, iov, held, wblocked).
 *
 *   field    from -> to  by                      where, and why it is safe
 *   wowner   0 -> 1      application (CAS)       nmi_conn_kick_fenced: write directly,
 *                                                or hand off at once (below)
 *            0 -> 1      I/O thread (CAS)        nmi_conn_take_writer, nmi_conn_flush's
 *                                                look again; then io_owns = true
 *            1 -> 0      the holder only         end of nmi_conn_flush; the I/O thread
 *                                                clears io_owns first
 *   io_owns  (I/O thread's own bool)             true exactly while the I/O thread holds
 *                                                wowner; starts true (it writes the
 *                                                handshake: wowner starts at 1)
 *   handoff  0 -> 1      application holding     conn_handoff, posting NMI_CMD_FLUSH
 *                        wowner                  with a reference: its hold passes to
 *                                                the I/O thread, wowner stays 1
 *            1 -> 0      I/O thread (exchange)   nmi_conn_take_writer, nmi_conn_flush_cmd;
 *                                                then io_owns = true
 *
 *   Invariants: io_owns implies wowner == 1; handoff == 1 implies wowner == 1 and not
 *   io_owns (only a holder hands off, and the I/O thread takes the hold by consuming
 *   handoff, not by waiting for wowner to fall to 0, which a handed-off hold never does).
 *
 * Reader.  rowner (enum nmi_reader) names the one thread that may read the descriptor
 * and decode (greet, hdr, body, cur, cmd_body, rheader, stash, rfail).  Taking is a CAS
 * from NONE; only the holder moves it away from its own value.
 *
 *   field     from -> to   by                    where, and why it is safe
 *   rowner    NONE -> IO   I/O thread (CAS)      nmi_conn_read (back to NONE when done);
 *                                                nmi_conn_claim_reader (to close: back to
 *                                                NONE in nmi_conn_broken)
 *             NONE -> APP  application (CAS)     nmi_conn_direct_begin; direct_release's
 *                                                re-take (input came while it read)
 *             APP -> NONE  application           direct_release, nmi_conn_direct_end
 *             APP -> IO    application           direct_handover, posting NMI_CMD_READ
 *                                                with a reference; stash and rfail go
 *                                                with it: the I/O thread owns them now
 *             IO -> NONE   I/O thread            end of nmi_conn_read, of
 *                                                nmi_conn_read_handover, of
 *                                                nmi_conn_broken after its claim
 *   rpending  0 -> 1       I/O thread            nmi_conn_read, before its CAS
 *             1 -> 0       the next reader       nmi_conn_read after its CAS,
 *                                                nmi_conn_direct_end (watching input again
 *                                                re-reads the descriptor's state),
 *                                                nmi_conn_read_handover
 *   rreclaim  0 -> 1 -> 0  I/O thread            around nmi_conn_claim_reader's wait;
 *                                                the application only reads it: it ends
 *                                                its turn at once and starts none
 *
 *   Safe because: rpending is stored before the I/O thread's CAS and direct_release
 *   reads it after storing NONE and a full fence, so either the CAS finds NONE or the
 *   application sees rpending and hands back.  The I/O thread never waits for a command
 *   only it could run: nmi_conn_claim_reader waits for the application to let go, and
 *   either way of letting go ends the wait (NONE: taken; IO: handed back, already the
 *   I/O thread's, released by the queued NMI_CMD_READ); it returns false for a reader
 *   it did not take, which nmi_conn_broken then leaves alone.
 *
 * Pausing at the receive HWM.
 *
 *   rpaused        0 -> 1  the reader          conn_frame_done, pipe->in at RCVHWM; it
 *                                              looks at the queue again after a fence
 *                  1 -> 0  the reader          the same look found it drained
 *                  1 -> 0  I/O thread          nmi_conn_resume, nmi_conn_broken
 *   resume_posted  0 -> 1  application (CAS)   pipe_resume_reader, posting NMI_CMD_RESUME
 *                                              with a reference: one in flight at most
 *                  1 -> 0  I/O thread          nmi_conn_resume, before it clears rpaused,
 *                                              so that a later pause may post again
 */
struct nmi_conn {
    nmi_pollable pollable;       /* fd and readiness callback (fd -1 when none) */
    nmi_sock *sock;              /* owner */
    nmi_io *io;                  /* the I/O thread driving it */
    atomic_int refs;             /* I/O thread + pipe */
    atomic_int state;            /* enum nmi_conn_state */
    const nmi_transport_ops *tp; /* transport */
    nmi_addr addr;               /* where to (re)connect */
    bool connecter;              /* we connect (and reconnect) */
    bool keep_pipe;              /* the pipe outlives disconnects (connect, !immediate) */
    char endpoint[NMI_EP_MAX];   /* endpoint text */
    nmi_opts opts;               /* copy of the socket's options at creation */
    nmi_pipe *pipe;              /* our pipe (one reference), or NULL */
    nmi_conn_socks *socks;       /* connects through a SOCKS5 proxy (c->addr): or NULL */
    /* Security.  mech: a PLAIN or CURVE handshake under way (I/O thread; made when the
     * peer's greeting names our mechanism, freed when the handshake ends).  box: a CURVE
     * connection's traffic keys, set by the I/O thread before the connection becomes
     * ACTIVE and freed when it is lost (holding both roles); its send nonce is the
     * writer's, its receive nonce the reader's, and the reader is always the I/O thread
     * (no direct reads: conn_direct.c). */
    nmi_mech *mech;
    nmi_curve_box *box;
    uint8_t peer_key[32]; /* CURVE: the peer's long-term key, for its pipe (I/O thread) */
    uint64_t zap_id;      /* waiting for ZAP's answer to this request, 0 = not */
    TAILQ_ENTRY(nmi_conn) zap_entry; /* in sock->zap->waiting while zap_id != 0 */
    /* read side (I/O thread) */
    uint8_t greet[NMI_ZMTP_GREETING_SIZE]; /* peer greeting so far */
    size_t greet_len;                      /* bytes of it */
    uint8_t peer_minor;                    /* peer's ZMTP minor version */
    uint8_t hdr[NMI_ZMTP_MAX_HEADER];      /* partial frame header */
    size_t hdr_len;                        /* bytes of it */
    bool in_body;                          /* reading a frame body */
    uint8_t cur_flags;                     /* flags of the frame being read */
    uint8_t *body;                         /* where the body goes */
    size_t body_size, body_got;            /* its size and bytes read */
    size_t body_cap;                       /* bytes of storage behind body so far */
    nmi_msg cur;                           /* message being assembled */
    /* The connection's properties, which every message it receives holds a reference
     * to (meta.c).  Set by the I/O thread when the handshake completes and dropped when
     * the connection goes, both while it holds the reader; read by whoever holds the
     * reader (the application too, conn_direct.c).  The reader takes references in
     * batches (meta_credit of them are paid for and not yet given to a message), so a
     * message costs no locked instruction on the reading side. */
    nmi_meta *meta;
    unsigned meta_credit;       /* references held for the next messages (reader) */
    uint64_t cur_more_bytes;    /* bytes of its frames with MORE (limits) */
    bool rheader;               /* a body was read directly: read the next header alone */
    uint8_t *cmd_body;          /* command frames are assembled here */
    atomic_int rpaused;         /* stopped reading: pipe->in over the HWM (table) */
    atomic_int resume_posted;   /* application asked to read again (table) */
    pthread_mutex_t watch_lock; /* guards watch_in, watch_out and changing them in the poller */
    bool watch_in, watch_out;   /* readiness the I/O thread hears about */
    atomic_int rowner;          /* who reads: enum nmi_reader (table) */
    atomic_int rpending;        /* input was signalled while another held rowner (table) */
    atomic_int rreclaim;        /* the I/O thread wants the reader back (table) */
    const char *rfail;          /* why it could not take a frame, or NULL */
    uint8_t *stash;             /* bytes it read and left to the I/O thread */
    size_t stash_len;           /* their count */
    /* write side (holder of wowner) */
    atomic_int wowner;                  /* 1 while someone owns the writer (table) */
    bool io_owns;                       /* the I/O thread holds wowner (table) */
    atomic_int handoff;                 /* wowner handed to the I/O thread (table) */
    bool wblocked;                      /* kernel buffer full: waiting for POLL_OUT */
    bool close_requested;               /* STREAM: close once the output before it is written
                                         * (the writer's: read and reset holding the writer role) */
    uint8_t *wbuf;                      /* encode buffer (lazily allocated) */
    size_t wbuf_len;                    /* bytes encoded in wbuf */
    size_t wbuf_cap;                    /* its size */
    size_t wseg;                        /* start of the wbuf slice not yet in iov */
    struct iovec iov[32];               /* pending output: wbuf slices and large frame bodies */
    int niov, iov_at;                   /* used entries and first unwritten one */
    nmi_msg held[16];                   /* messages whose large frames iov points into */
    int nheld;                          /* entries in held */
    atomic_uint_fast64_t last_write_ns; /* end of the last write() */
    /* timers and lists (I/O thread) */
    uint64_t timer_at;          /* earliest of the two below, 0 = none (nmi_io_timer_set) */
    uint64_t reconnect_at;      /* when to connect again, 0 = none */
    uint64_t linger_at;         /* when closing gives up on queued output, 0 = none */
    uint64_t handshake_at;      /* when an unfinished handshake gives up, 0 = none */
    uint64_t ping_at;           /* when to send the next PING, 0 = heartbeats off */
    uint64_t hb_deadline;       /* no traffic since our PING by then: peer is dead */
    uint64_t ttl_deadline;      /* the peer's PING TTL: silence until then is allowed */
    uint32_t peer_ttl_ms;       /* TTL the peer asked for, 0 = none */
    int ivl;                    /* current reconnect interval (ms) */
    uint8_t *connect_rid;       /* CONNECT_ROUTING_ID for this connect (malloc'd), or NULL */
    uint8_t connect_rid_len;    /* its length */
    uint32_t connect_fails;     /* failed connects since the last one that worked */
    uint64_t connect_warned_at; /* when that was last logged as a warning, 0 = never */
    bool closing;               /* socket closed: flush then go */
    bool refused;           /* I/O thread: the server ended its handshake: not connected again */
    nmi_listener *listener; /* accepted and still in handshake: its listener */
    TAILQ_ENTRY(nmi_conn) hs_entry;  /* in listener->handshaking */
    uint64_t accepted_at;            /* when it was accepted (clock ns) */
    LIST_ENTRY(nmi_conn) sock_entry; /* in sock->conns */
};

/* Creates a connecting conn (application thread); it starts when the I/O thread gets
 * NMI_CMD_CONNECT. */
nmi_conn *nmi_conn_new_connect(nmi_sock *s, const nmi_transport_ops *tp, const nmi_addr *a,
                               const char *endpoint);
/* Creates a connecting conn that reaches its endpoint's target through the SOCKS5 proxy
 * at a (application thread); -EINVAL for a target a proxy cannot be asked for. */
int nmi_conn_new_socks(nmi_sock *s, const nmi_transport_ops *tp, const nmi_addr *a,
                       const char *endpoint, const char *target, nmi_conn **cp);
/* I/O: the proxy connection is up: greet it (conn_socks.c). */
void nmi_conn_socks_start(nmi_conn *c);
/* I/O: the proxy's answers, as far as they have come. */
void nmi_conn_socks_read(nmi_conn *c);
/* I/O: sends our greeting and READY (the ZMTP handshake begins). */
void nmi_conn_begin_handshake(nmi_conn *c);
/* Creates a conn for an accepted descriptor and starts the handshake (I/O thread). */
void nmi_conn_accept(nmi_listener *l, int fd);
void nmi_conn_start(nmi_conn *c);            /* I/O: begin connecting */
void nmi_conn_timer(nmi_conn *c);            /* I/O: its timer expired */
void nmi_conn_flush_cmd(nmi_conn *c);        /* I/O: NMI_CMD_FLUSH */
void nmi_conn_resume(nmi_conn *c);           /* I/O: NMI_CMD_RESUME */
void nmi_conn_close(nmi_conn *c);            /* I/O: socket closing: linger then close */
void nmi_conn_close_asked(nmi_conn *c);      /* I/O: STREAM: the application's close, written */
void nmi_conn_disconnect(nmi_disconnect *d); /* I/O: NMI_CMD_DISCONNECT (frees d) */
void nmi_conn_release(nmi_conn *c);
/* Application: a message was queued on the conn's pipe; write it now or hand it on. */
void nmi_conn_kick(nmi_conn *c);
/* The same, after the caller's own full fence (one fence for many pipes: fan-out). */
void nmi_conn_kick_fenced(nmi_conn *c);
/* Internal to the engine (conn.c, conn_write.c). */
void nmi_conn_flush(nmi_conn *c, bool io_side); /* owner: write what is queued */
void nmi_conn_take_writer(nmi_conn *c);         /* I/O: become the writer, waiting if needed */
int nmi_conn_out_bytes(nmi_conn *c, const void *p, size_t n); /* owner: queue raw bytes */
void nmi_conn_out_reset(nmi_conn *c);                         /* owner: drop pending output */
void nmi_conn_broken(nmi_conn *c, const char *why);           /* I/O: connection lost */
/* I/O: the descriptor failed (err: errno, EPIPE when the peer closed); in the handshake
 * the monitor hears HANDSHAKE_FAILED_NO_DETAIL with err, as libzmq's. */
void nmi_conn_lost_io(nmi_conn *c, int err, const char *why);
void nmi_conn_reject(nmi_conn *c, const char *why); /* I/O: drop a misbehaving peer */
void nmi_conn_log(nmi_conn *c, int level, const char *fmt, const char *arg);
/* Commands (conn_cmd.c, I/O thread): one command frame's body, 0 or -1 if the
 * connection was dropped; a subscription or cancel of prefix_len bytes counted against
 * the peer's limits (the reason it goes past one, or NULL); peer bytes escaped for a
 * log line. */
int nmi_conn_command(nmi_conn *c, uint8_t *body, size_t len);
const char *nmi_conn_sub_count(nmi_conn *c, size_t prefix_len, bool cancel);
void nmi_conn_printable(char *out, size_t cap, const uint8_t *in, size_t n);
/* Security (conn_mech.c, I/O thread).  The peer's greeting has come: 0, or -1 if the
 * connection was dropped (another mechanism).  A handshake command for the mechanism.
 * The peer's properties at the end of any handshake (type check, then established).
 * The mechanism's state goes (the connection is lost or established). */
int nmi_conn_greeted(nmi_conn *c, const nmi_zmtp_greeting *g);
/* Our properties (Socket-Type, and Identity where the type sends one): how many. */
size_t nmi_conn_our_props(nmi_conn *c, nmi_zmtp_prop props[2]);
int nmi_conn_mech_command(nmi_conn *c, uint8_t *body, size_t len);
int nmi_conn_peer_ready(nmi_conn *c, const uint8_t *props, size_t len);
void nmi_conn_mech_end(nmi_conn *c, bool keep_box);
/* ZAP's answer for c (zap.c): the status and what it said of the peer (properties), or
 * code (NM_PROTOCOL_ERROR_*) with why when the reply was malformed. */
void nmi_conn_zap_reply(nmi_conn *c, int status, const uint8_t *props, size_t len, uint32_t code,
                        const char *why);
/* The peer's numeric address ("" but for tcp), as ZAP and the Peer-Address property
 * give it. */
void nmi_conn_peer_address(nmi_conn *c, char *out, size_t cap);
/* ZAP (zap.c, the socket's I/O thread): whether a handler is bound; ask it about c's
 * peer (0: c waits for nmi_conn_zap_reply, which may have come before the return;
 * < 0: the question could not be asked);
 * c no longer waits (lost); the socket's ZAP client goes (nmi_sock_free). */
bool nmi_zap_handler_bound(nmi_ctx *ctx);
int nmi_zap_ask(nmi_conn *c, const nmi_mech_zap *q);
void nmi_zap_forget(nmi_conn *c);
void nmi_zap_free(nmi_sock *s);
/* The handshake failed: the monitor's event (HANDSHAKE_FAILED with an
 * NM_PROTOCOL_ERROR_*, _AUTH with a ZAP status, _NO_DETAIL), a warning, the connection
 * dropped. */
void nmi_conn_fail(nmi_conn *c, int event, uint32_t value, const char *why);
/* The writer: one complete frame (header and body, as the codec's encoders write them)
 * queued as it is, or sealed in a CURVE MESSAGE. */
int nmi_conn_out_frame(nmi_conn *c, const uint8_t *frame, size_t n);
/* Handshake done: the pipe, the peer's routing id (rid_len 0: none), the properties of
 * its READY (props NULL: none). */
int nmi_conn_established(nmi_conn *c, const uint8_t *rid, size_t rid_len, const uint8_t *props,
                         size_t props_len);
/* Reader: gives m one reference to the connection's properties (none before the
 * handshake). */
void nmi_conn_meta_give(nmi_conn *c, nmi_msg *m);
/* I/O thread holding the reader: the connection's properties go (it closes). */
void nmi_conn_meta_drop(nmi_conn *c);
void nmi_conn_read(nmi_conn *c); /* I/O: read and decode until EAGAIN (conn_read.c) */
/* I/O: out of its listener's handshaking list; done: the handshake succeeded. */
void nmi_conn_handshake_end(nmi_conn *c, bool done);
/* Any thread: which readiness the I/O thread hears about (1 on, 0 off, -1 as is);
 * output only while a connect or a blocked write waits for it. */
void nmi_conn_watch(nmi_conn *c, int in, int out);
void nmi_conn_read_handover(nmi_conn *c); /* I/O: NMI_CMD_READ */
/* The reader's steps (the holder of rowner): one read of up to *asked bytes into buf, or
 * straight into a large frame's body (*direct); then the n bytes it brought, decoded: 0,
 * or -1 if the connection failed (an application reader stashes what follows a command
 * frame). */
ssize_t nmi_conn_read_some(nmi_conn *c, uint8_t *buf, size_t cap, bool *direct, size_t *asked);
int nmi_conn_input(nmi_conn *c, const uint8_t *buf, size_t n, bool direct);
/* Decodes n bytes: how many were taken (all, except that an application reader stops
 * at a command frame), or -1 if the connection failed. */
ssize_t nmi_conn_decode(nmi_conn *c, const uint8_t *p, size_t n);
/* Application thread reading its connection itself (conn_direct.c): begin takes the
 * reader (false if it cannot be had now); read returns 1 when messages were queued on
 * the pipe, 0 when the kernel has nothing, -1 when the turn is over; end gives the
 * reader back (to the I/O thread if the turn left work for it). */
bool nmi_conn_direct_begin(nmi_conn *c);
int nmi_conn_direct_read(nmi_conn *c, uint8_t *buf, size_t cap);
void nmi_conn_direct_end(nmi_conn *c);
/* I/O: takes the reader back from an application thread (to close the descriptor);
 * true if this call took it, false if the I/O thread already had it (a read under way,
 * or a hand-back whose NMI_CMD_READ is queued). */
bool nmi_conn_claim_reader(nmi_conn *c);
void nmi_conn_timers_update(nmi_conn *c); /* I/O: deadlines changed */
/* Heartbeats (heartbeat.c), I/O thread. */
void nmi_hb_start(nmi_conn *c);                                /* handshake done */
void nmi_hb_traffic(nmi_conn *c, uint64_t now);                /* bytes arrived */
bool nmi_hb_timer(nmi_conn *c, uint64_t now);                  /* false if the conn was dropped */
int nmi_hb_ping(nmi_conn *c, const uint8_t *data, size_t len); /* a PING arrived */

#endif
