/*
 * conn.c - the life of one connection running ZMTP 3.1 with the NULL mechanism (or raw
 * bytes for STREAM): connecting and reconnecting with backoff, sending our greeting
 * and READY, its timers (handshake, linger, heartbeats), losing the peer, and closing
 * with linger.  Runs on the I/O thread; the input side is conn_read.c, the output
 * side conn_write.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bsd/string.h>

#include "engine/engine.h"

static void conn_event_cb(nmi_pollable *pl, unsigned events);

static nmi_conn *conn_new(nmi_sock *s, const nmi_transport_ops *tp, const char *endpoint,
                          const nmi_opts *opts)
{
    nmi_conn *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->pollable.fd = -1;
    c->pollable.cb = conn_event_cb;
    c->sock = s;
    c->io = s->io;
    atomic_init(&c->refs, 1);
    pthread_mutex_init(&c->watch_lock, NULL);
    atomic_init(&c->state, NMI_CONN_WAIT);
    atomic_init(&c->wowner, 1); /* the I/O thread writes until the handshake is done */
    c->io_owns = true;
    c->tp = tp;
    c->opts = *opts;
    nmi_sec_ref(c->opts.sec);
    c->ivl = opts->reconnect_ivl;
    strlcpy(c->endpoint, endpoint, sizeof(c->endpoint));
    return c;
}

void nmi_conn_release(nmi_conn *c)
{
    if (atomic_fetch_sub(&c->refs, 1) != 1)
        return;
    nmi_msg_clear(&c->cur);
    nmi_conn_meta_drop(c);
    nmi_conn_mech_end(c, false);
    free(c->cmd_body);
    nmi_conn_out_reset(c);
    free(c->wbuf);
    free(c->connect_rid);
    free(c->socks);
    nmi_sec_release(c->opts.sec);
    pthread_mutex_destroy(&c->watch_lock);
    free(c);
}

void nmi_conn_log(nmi_conn *c, int level, const char *fmt, const char *arg)
{
    char msg[512];
    snprintf(msg, sizeof(msg), fmt, arg);
    nmi_log(c->sock->ctx, level, "zmtp", "%s: %s", c->endpoint, msg);
}

static void conn_lost(nmi_conn *c, const char *why, bool rejected);

void nmi_conn_fail(nmi_conn *c, int event, uint32_t value, const char *why)
{
    if (atomic_load(&c->state) == NMI_CONN_DEAD)
        return;
    nmi_count(&c->sock->peers_dropped, 1);
    if (atomic_load(&c->state) != NMI_CONN_ACTIVE) {
        nmi_count(&c->sock->handshakes_failed, 1);
        nmi_monitor(c->sock, event, value, c->endpoint, why);
    }
    conn_lost(c, why, true);
}

void nmi_conn_lost_io(nmi_conn *c, int err, const char *why)
{
    int st = atomic_load(&c->state);
    if (st == NMI_CONN_GREETING || st == NMI_CONN_READY) /* as libzmq: errno says how */
        nmi_monitor(c->sock, NM_EVENT_HANDSHAKE_FAILED_NO_DETAIL, (uint32_t)err, c->endpoint, why);
    nmi_conn_broken(c, why);
}

/* Drops a connection that broke the protocol or our limits: a warning, not an info. */
void nmi_conn_reject(nmi_conn *c, const char *why)
{
    nmi_conn_fail(c, NM_EVENT_HANDSHAKE_FAILED, NM_PROTOCOL_ERROR_ZMTP_UNSPECIFIED, why);
}

/* ---- timers ---------------------------------------------------------------------- */

void nmi_conn_timers_update(nmi_conn *c)
{
    uint64_t at = c->reconnect_at;
    uint64_t more[] = {c->linger_at, c->handshake_at, c->ping_at, c->hb_deadline, c->ttl_deadline};
    for (size_t i = 0; i < sizeof(more) / sizeof(more[0]); i++)
        if (more[i] != 0 && (at == 0 || more[i] < at))
            at = more[i];
    nmi_io_timer_set(c->io, c, at);
}

static void conn_schedule_reconnect(nmi_conn *c)
{
    atomic_store(&c->state, NMI_CONN_WAIT);
    nmi_monitor(c->sock, NM_EVENT_CONNECT_RETRIED, (uint32_t)c->ivl, c->endpoint, "");
    c->reconnect_at = nmi_clock_ns() + (uint64_t)c->ivl * 1000000u;
    /* Doubles up to the maximum, which may be near INT_MAX: compare before doubling. */
    int max = c->opts.reconnect_ivl_max;
    if (max > 0)
        c->ivl = c->ivl > max / 2 ? max : c->ivl * 2;
    nmi_conn_timers_update(c);
}

/* ---- lifecycle ------------------------------------------------------------------- */

nmi_conn *nmi_conn_new_connect(nmi_sock *s, const nmi_transport_ops *tp, const nmi_addr *a,
                               const char *endpoint)
{
    nmi_conn *c = conn_new(s, tp, endpoint, &s->opts);
    if (c == NULL)
        return NULL;
    if (s->connect_rid_len > 0) {
        if ((c->connect_rid = malloc(s->connect_rid_len)) == NULL) {
            nmi_conn_release(c);
            return NULL;
        }
        memcpy(c->connect_rid, s->connect_rid, s->connect_rid_len);
        c->connect_rid_len = s->connect_rid_len;
    }
    c->addr = *a;
    c->connecter = true;
    /* A publisher's pipe goes with its connection: the subscriber sends its
     * subscriptions again to the next one, which must not find the old ones.  A router
     * learns its peer's routing id in the handshake, unless CONNECT_ROUTING_ID names
     * the peer now: then, as in libzmq, messages for it queue from the connect on. */
    c->keep_pipe = !s->opts.immediate && (!s->proto->needs_rid || c->connect_rid != NULL) &&
                   !(s->proto->flags & NMI_PROTO_TAKES_SUBS);
    if (c->keep_pipe && (c->pipe = nmi_pipe_new(s, c, endpoint)) == NULL) {
        nmi_conn_release(c);
        return NULL;
    }
    if (c->keep_pipe && s->proto->needs_rid) {
        memcpy(c->pipe->rid, c->connect_rid, c->connect_rid_len);
        c->pipe->rid_len = (uint8_t)c->connect_rid_len;
    }
    return c;
}

/* I/O: the descriptor joins the poller, for input and, if out, output readiness. */
static void conn_watch_start(nmi_conn *c, int fd, bool out)
{
    pthread_mutex_lock(&c->watch_lock);
    c->pollable.fd = fd;
    c->watch_in = true;
    c->watch_out = out;
    nmi_poller_add(c->io->pfd, &c->pollable, out);
    pthread_mutex_unlock(&c->watch_lock);
}

void nmi_conn_watch(nmi_conn *c, int in, int out)
{
    pthread_mutex_lock(&c->watch_lock);
    bool want_in = in < 0 ? c->watch_in : in > 0, want_out = out < 0 ? c->watch_out : out > 0;
    if (c->pollable.fd >= 0 && (want_in != c->watch_in || want_out != c->watch_out)) {
        c->watch_in = want_in;
        c->watch_out = want_out;
        nmi_poller_set(c->io->pfd, &c->pollable, want_in, want_out);
    }
    pthread_mutex_unlock(&c->watch_lock);
}

/* A connect failed (err an errno).  A peer that is not up yet is normal, so one failure
 * is news for -v only; but a client that keeps trying in silence looks hung, so from
 * the third failure on it says, at most every CONN_STILL_TRYING_S, that it is still
 * trying and why. */
#define CONN_WARN_AFTER     3
#define CONN_STILL_TRYING_S 30
static void conn_connect_failed(nmi_conn *c, int err)
{
    uint64_t now = nmi_clock_ns();
    c->connect_fails++;
    if (c->connect_fails < CONN_WARN_AFTER ||
        (c->connect_warned_at != 0 &&
         now - c->connect_warned_at < CONN_STILL_TRYING_S * 1000000000ull)) {
        nmi_conn_log(c, NM_LOG_DEBUG, "connect failed: %s", strerror(err));
        return;
    }
    c->connect_warned_at = now;
    char msg[256];
    snprintf(msg, sizeof(msg), "still trying to connect (%u attempts; last error: %s)",
             c->connect_fails, strerror(err));
    nmi_conn_log(c, NM_LOG_WARN, "%s", msg);
}

static void conn_try_connect(nmi_conn *c)
{
    int fd;
    c->reconnect_at = 0;
    nmi_conn_timers_update(c);
    int rc = c->tp->connect(&c->addr, &c->opts, &fd);
    if (rc < 0) {
        conn_connect_failed(c, -rc);
        conn_schedule_reconnect(c);
        return;
    }
    atomic_store(&c->state, NMI_CONN_CONNECTING);
    nmi_monitor(c->sock, NM_EVENT_CONNECT_DELAYED, 0, c->endpoint, "");
    if (c->opts.connect_timeout > 0) { /* the handshake's timer, until the handshake */
        c->handshake_at = nmi_clock_ns() + (uint64_t)c->opts.connect_timeout * 1000000u;
        nmi_conn_timers_update(c);
    }
    conn_watch_start(c, fd, true); /* output readiness tells the connect finished */
}

void nmi_conn_start(nmi_conn *c)
{
    LIST_INSERT_HEAD(&c->sock->conns, c, sock_entry);
    if (c->sock->closing) {
        nmi_conn_close(c);
        return;
    }
    conn_try_connect(c);
}

/* STREAM: raw bytes, no ZMTP.  The application learns of a connection and of its end
 * by an empty message from that peer, as in libzmq (unless STREAM_NOTIFY is off). */
static void conn_stream_notify(nmi_conn *c)
{
    nmi_msg m = {0};
    if (!c->opts.stream_notify || c->pipe == NULL || nmi_msg_push_frame(&m) == NULL)
        return;
    nmi_conn_meta_give(c, &m); /* its Peer-Address, as libzmq's */
    if (nmi_queue_push(c->pipe->in, &m) < 0)
        nmi_msg_clear(&m);
    else
        nmi_pipe_in_notify(c->pipe);
}

size_t nmi_conn_our_props(nmi_conn *c, nmi_zmtp_prop props[2])
{
    const char *tname = nmi_zmtp_type_name(c->sock->type);
    props[0] = (nmi_zmtp_prop){.name = "Socket-Type",
                               .name_len = 11,
                               .value = (const uint8_t *)tname,
                               .value_len = strlen(tname)};
    props[1] = (nmi_zmtp_prop){.name = "Identity",
                               .name_len = 8,
                               .value = c->opts.routing_id,
                               .value_len = c->opts.routing_id_len};
    return c->sock->proto->flags & NMI_PROTO_SENDS_RID ? 2 : 1;
}

/* Sends our greeting; with NULL, our READY too, as RFC 37 allows (PLAIN and CURVE start
 * their handshakes when the peer's greeting has come: conn_mech.c). */
void nmi_conn_begin_handshake(nmi_conn *c)
{
    c->handshake_at = 0; /* CONNECT_TIMEOUT's, if it was set */
    if (c->sock->proto->flags & NMI_PROTO_RAW) {
        c->tp->tune(c->pollable.fd, &c->opts);
        if (nmi_conn_established(c, NULL, 0, NULL, 0) == 0)
            conn_stream_notify(c);
        return;
    }
    nmi_sec *sec = c->opts.sec;
    int mech = sec != NULL ? sec->mechanism : NM_MECH_NULL;
    uint8_t buf[NMI_ZMTP_GREETING_SIZE + 512];
    nmi_zmtp_greeting_encode(buf, nmi_mech_name(mech),
                             mech == NM_MECH_NULL ? !c->connecter : sec->as_server);
    int n = 0;
    if (mech == NM_MECH_NULL && (sec == NULL || sec->domain_len == 0)) { /* no ZAP to wait for */
        nmi_zmtp_prop props[2];
        size_t nprops = nmi_conn_our_props(c, props);
        n = nmi_zmtp_ready_encode(buf + NMI_ZMTP_GREETING_SIZE,
                                  sizeof(buf) - NMI_ZMTP_GREETING_SIZE, props, nprops);
    }
    atomic_store(&c->state, NMI_CONN_GREETING);
    /* A peer that never completes the handshake is dropped after HANDSHAKE_IVL, so
     * silent connections cannot pile up. */
    if (c->opts.handshake_ivl > 0) {
        c->handshake_at = nmi_clock_ns() + (uint64_t)c->opts.handshake_ivl * 1000000u;
        nmi_conn_timers_update(c);
    }
    c->tp->tune(c->pollable.fd, &c->opts);
    if (n < 0 || nmi_conn_out_bytes(c, buf, NMI_ZMTP_GREETING_SIZE + (size_t)n) < 0) {
        nmi_conn_reject(c, "cannot encode handshake");
        return;
    }
    nmi_conn_flush(c, true);
}

void nmi_conn_accept(nmi_listener *l, int fd)
{
    nmi_conn *c = conn_new(l->sock, l->tp, l->endpoint, &l->opts);
    if (c == NULL) {
        close(fd);
        nmi_log(l->sock->ctx, NM_LOG_ERROR, "zmtp", "%s: out of memory, connection refused",
                l->endpoint);
        return;
    }
    LIST_INSERT_HEAD(&c->sock->conns, c, sock_entry);
    nmi_monitor(c->sock, NM_EVENT_ACCEPTED, (uint32_t)fd, c->endpoint, "");
    c->listener = l; /* listener.c made room (HANDSHAKE_MAX) */
    c->accepted_at = nmi_clock_ns();
    TAILQ_INSERT_TAIL(&l->handshaking, c, hs_entry);
    l->nhandshaking++;
    conn_watch_start(c, fd, false);
    nmi_conn_begin_handshake(c);
    /* A peer that sent its greeting and READY with its connect finishes its handshake
     * now, before the accept loop takes the next connection (HANDSHAKE_MAX counts the
     * ones still in handshake). */
    if (atomic_load(&c->state) == NMI_CONN_GREETING)
        nmi_conn_read(c);
}

void nmi_conn_handshake_end(nmi_conn *c, bool done)
{
    nmi_listener *l = c->listener;
    if (l == NULL)
        return;
    if (done) /* how long good peers take, over the last few: the grace of the others */
        l->handshake_ns += ((int64_t)(nmi_clock_ns() - c->accepted_at) - l->handshake_ns) / 8;
    TAILQ_REMOVE(&l->handshaking, c, hs_entry);
    l->nhandshaking--;
    c->listener = NULL;
}

/* The conn is finished: out of the socket's list, its I/O reference dropped later. */
static void conn_dead(nmi_conn *c)
{
    atomic_store(&c->state, NMI_CONN_DEAD);
    c->reconnect_at = c->linger_at = c->handshake_at = 0;
    c->ping_at = c->hb_deadline = c->ttl_deadline = 0;
    nmi_conn_timers_update(c);
    LIST_REMOVE(c, sock_entry);
    nmi_io_defer_release(c->io, c);
}

static void conn_detach_pipe(nmi_conn *c)
{
    nmi_pipe *p = c->pipe;
    if (p == NULL)
        return;
    c->pipe = NULL;
    atomic_store(&p->gone, 1);
    atomic_store(&p->state, NM_PIPE_CLOSED);
    nmi_sock_post(c->sock, NMI_CMD_DETACH, p);
    nmi_pipe_release(p);
}

void nmi_conn_broken(nmi_conn *c, const char *why)
{
    conn_lost(c, why, false);
}

/* The connection is gone, because of the peer (rejected: a warning) or not (why, if
 * any, is logged as news); the monitor's DISCONNECTED event carries the reason.  A
 * connection the socket ends itself (close, disconnect, unbind, linger done, a STREAM
 * application's empty message: why is NULL) gives no DISCONNECTED, as in libzmq, which
 * reports only connections lost; nor, on a STREAM closed by its application, the empty
 * message that tells of a peer gone, nor a reconnect. */
static void conn_lost(nmi_conn *c, const char *why, bool rejected)
{
    int st = atomic_load(&c->state);
    if (st == NMI_CONN_DEAD)
        return;
    if (rejected)
        nmi_conn_log(c, NM_LOG_WARN, "dropping connection: %s", why);
    else if (why != NULL)
        nmi_conn_log(c, c->closing ? NM_LOG_DEBUG : NM_LOG_INFO, "connection closed: %s", why);
    atomic_store(&c->state, NMI_CONN_WAIT);
    nmi_conn_handshake_end(c, false);
    nmi_conn_take_writer(c);
    /* STREAM: the application closed it (the writer's flag: read once we are it). */
    bool asked = c->close_requested;
    bool took_reader = nmi_conn_claim_reader(c);
    int fd = c->pollable.fd; /* the monitor reports the descriptor that was closed */
    if (c->pollable.fd >= 0) {
        pthread_mutex_lock(&c->watch_lock);
        nmi_poller_del(c->io->pfd, &c->pollable);
        close(c->pollable.fd);
        c->pollable.fd = -1;
        pthread_mutex_unlock(&c->watch_lock);
    }
    if (st == NMI_CONN_ACTIVE)
        c->sock->nlive--;
    if (st >= NMI_CONN_GREETING && st <= NMI_CONN_ACTIVE && why != NULL)
        nmi_monitor(c->sock, NM_EVENT_DISCONNECTED, (uint32_t)fd, c->endpoint, why);
    if (c->pipe != NULL && st == NMI_CONN_ACTIVE && (c->sock->proto->flags & NMI_PROTO_RAW) &&
        !asked)
        conn_stream_notify(c);
    if (c->pipe != NULL)
        nmi_pipe_in_notify(c->pipe); /* what was received stays readable */
    nmi_msg_clear(&c->cur);
    nmi_conn_meta_drop(c);
    nmi_conn_mech_end(c, false); /* both roles are ours: the box's nonces too */
    c->cur_more_bytes = 0;
    free(c->cmd_body);
    c->cmd_body = NULL;
    c->in_body = false;
    c->hdr_len = c->greet_len = 0;
    atomic_store(&c->rpaused, 0);
    free(c->stash);
    c->stash = NULL;
    c->stash_len = 0;
    c->rfail = NULL;
    c->rheader = false;
    if (took_reader)
        atomic_store(&c->rowner, NMI_READER_NONE);
    nmi_conn_out_reset(c);
    c->wblocked = false;
    c->close_requested = false;
    c->handshake_at = c->ping_at = c->hb_deadline = c->ttl_deadline = 0;
    c->peer_ttl_ms = 0;

    bool lingering =
        c->closing && c->pipe != NULL && c->linger_at != 0 && nmi_queue_count(c->pipe->out) > 0;
    bool again = c->connecter && c->opts.reconnect_ivl >= 0 && (!c->closing || lingering) &&
                 !asked && !c->refused;
    if (c->connecter && c->refused)
        nmi_conn_log(c, NM_LOG_WARN, "%s",
                     "not connecting again: the server refused this socket's credentials");
    if (c->pipe != NULL && (!c->keep_pipe || !again))
        conn_detach_pipe(c);
    else if (c->pipe != NULL)
        atomic_store(&c->pipe->state, NM_PIPE_CONNECTING);
    if (again)
        conn_schedule_reconnect(c);
    else
        conn_dead(c);
}

void nmi_conn_close_asked(nmi_conn *c)
{
    nmi_conn_log(c, NM_LOG_DEBUG, "%s", "connection closed by the application");
    nmi_conn_broken(c, NULL);
}

void nmi_conn_close(nmi_conn *c)
{
    c->closing = true;
    int linger = c->opts.linger;
    /* What LINGER waits for: messages still queued, and those already encoded that the
     * kernel has not taken yet (a writer blocked on a full socket buffer).  The writer's
     * output is read holding the writer role. */
    nmi_conn_take_writer(c);
    bool queued = (c->pipe != NULL && nmi_queue_count(c->pipe->out) > 0) || c->iov_at < c->niov;
    if (linger == 0 || !queued) {
        nmi_conn_broken(c, NULL);
        return;
    }
    if (linger > 0) {
        c->linger_at = nmi_clock_ns() + (uint64_t)linger * 1000000u;
        nmi_conn_timers_update(c);
    }
    if (atomic_load(&c->state) == NMI_CONN_ACTIVE)
        nmi_conn_flush(c, true);
}

void nmi_conn_disconnect(nmi_disconnect *d)
{
    nmi_conn *c, *next;
    LIST_FOREACH_SAFE(c, &d->sock->conns, sock_entry, next)
    {
        if (c->connecter && !c->closing && strcmp(c->endpoint, d->endpoint) == 0)
            nmi_conn_close(c);
    }
    free(d);
}

void nmi_conn_timer(nmi_conn *c)
{
    uint64_t now = nmi_clock_ns();
    if (c->handshake_at != 0 && c->handshake_at <= now &&
        atomic_load(&c->state) == NMI_CONN_CONNECTING) {
        c->handshake_at = 0; /* CONNECT_TIMEOUT: try again later */
        conn_connect_failed(c, ETIMEDOUT);
        nmi_conn_broken(c, NULL);
        return;
    }
    if (c->handshake_at != 0 && c->handshake_at <= now) {
        c->handshake_at = 0;
        nmi_conn_reject(c, "handshake timed out");
        return;
    }
    if (c->linger_at != 0 && c->linger_at <= now) {
        c->linger_at = 0;
        c->reconnect_at = 0;
        nmi_conn_log(c, NM_LOG_DEBUG, "%s", "linger expired: dropping what is still queued");
        nmi_conn_broken(c, NULL);
        return;
    }
    if (c->reconnect_at != 0 && c->reconnect_at <= now)
        conn_try_connect(c);
    else if (nmi_hb_timer(c, now))
        nmi_conn_timers_update(c);
}

static void conn_event_cb(nmi_pollable *pl, unsigned events)
{
    nmi_conn *c = (nmi_conn *)pl;
    int st = atomic_load(&c->state);
    if (st == NMI_CONN_CONNECTING) {
        int err = 0;
        socklen_t len = sizeof(err);
        getsockopt(pl->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
            conn_connect_failed(c, err);
            nmi_conn_broken(c, NULL);
            return;
        }
        if (!(events & NMI_POLL_OUT))
            return;
        if (c->connect_warned_at != 0) {
            char n[16];
            snprintf(n, sizeof(n), "%u", c->connect_fails);
            nmi_conn_log(c, NM_LOG_INFO, "connected after %s failed attempts", n);
        }
        c->connect_fails = 0;
        c->connect_warned_at = 0;
        nmi_monitor(c->sock, NM_EVENT_CONNECTED, (uint32_t)pl->fd, c->endpoint, "");
        nmi_conn_watch(c, -1, 0);
        if (c->socks != NULL)
            nmi_conn_socks_start(c);
        else
            nmi_conn_begin_handshake(c);
        st = atomic_load(&c->state);
    }
    if (st == NMI_CONN_SOCKS) {
        if ((events & NMI_POLL_OUT) && c->wblocked)
            nmi_conn_flush(c, true);
        if (events & NMI_POLL_IN)
            nmi_conn_socks_read(c);
        return;
    }
    if (st < NMI_CONN_GREETING || st > NMI_CONN_ACTIVE)
        return;
    if ((events & NMI_POLL_OUT) && c->io_owns && c->wblocked)
        nmi_conn_flush(c, true);
    if (events & NMI_POLL_IN)
        nmi_conn_read(c);
}
