/*
 * sock.c - sockets: creation and closing, bind and connect, blocking send and recv,
 * and the commands the I/O thread posts to a socket (pipe attach, detach, wakeups).
 *
 * A socket's protocol state is touched only by the application thread using it (or by
 * the I/O thread once the socket is closed and the application has let go of it).
 * Waiting is one eventfd per socket: a thread about to sleep sets `waiting`, looks at
 * its commands once more, then sleeps; posters signal only when `waiting` is set.
 * Every public call is bracketed by nmi_sock_enter / nmi_sock_leave, and every wait or
 * spin also looks at the context's state, so that nm_ctx_shutdown (which signals every
 * socket) ends it with NM_ETERM (the state table is in core.h, struct nmi_ctx).
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>

#include "engine/engine.h"

void nmi_sock_post(nmi_sock *s, int type, void *obj)
{
    nmi_cmdq_push(&s->cmds, type, obj);
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&s->waiting, memory_order_relaxed) ||
        atomic_load_explicit(&s->fd_mode, memory_order_relaxed))
        nmi_signaler_send(&s->sig);
}

void nmi_sock_attach(nmi_sock *s, nmi_pipe *p)
{
    TAILQ_INSERT_TAIL(&s->pipes, p, sock_entry);
    p->attached = true;
    s->proto->attach(s, p);
}

/* Forgets a pipe; returns true if the socket's reference must now be dropped. */
static bool sock_forget(nmi_sock *s, nmi_pipe *p)
{
    if (!p->attached)
        return false;
    p->attached = false;
    TAILQ_REMOVE(&s->pipes, p, sock_entry);
    s->proto->detach(s, p);
    return true;
}

/* Drops the socket's reference to a pipe it has forgotten. */
static void sock_release_pipe(nmi_pipe *p)
{
    nmi_pipe_unregister(p);
    if (p->link != NULL)
        nmi_inproc_unlink(p);
    nmi_pipe_release(p);
}

void nmi_sock_drop_pipe(nmi_sock *s, nmi_pipe *p)
{
    if (sock_forget(s, p))
        sock_release_pipe(p);
}

void nmi_sock_process(nmi_sock *s)
{
    nmi_cmd *cmds;
    size_t n = nmi_cmdq_take(&s->cmds, &cmds);
    size_t ndrop = 0;
    for (size_t i = 0; i < n; i++) {
        nmi_pipe *p = cmds[i].obj;
        switch (cmds[i].type) {
        case NMI_CMD_ATTACH:
            nmi_sock_attach(s, p);
            break;
        case NMI_CMD_DETACH:
            /* What the peer sent before it left is still delivered: a pipe holding
             * received messages stays until they are read (protocols that consume input
             * themselves, like XPUB, do so in in_ready). */
            p->detached = true;
            if (!p->attached)
                break;
            if (nmi_pipe_queued_in(p) > 0 && s->proto->can_recv)
                s->proto->in_ready(s, p);
            if ((nmi_pipe_queued_in(p) == 0 || !s->proto->can_recv) && sock_forget(s, p))
                cmds[ndrop++].obj = p; /* released after the loop: later commands may name it */
            break;
        case NMI_CMD_IN_READY:
            if (p->attached)
                s->proto->in_ready(s, p);
            break;
        case NMI_CMD_OUT_READY:
            if (p->attached && !atomic_load(&p->gone))
                s->proto->out_ready(s, p);
            break;
        case NMI_CMD_SVC:
            nmi_svc_apply(s, cmds[i].obj);
            break;
        }
    }
    for (size_t i = 0; i < ndrop; i++)
        sock_release_pipe(cmds[i].obj);
    free(cmds);
}

int nm_sock_new(nm_sock_t **sp, nm_ctx_t *ctxp, int type)
{
    nmi_ctx *ctx = (nmi_ctx *)ctxp;
    const nmi_proto_ops *proto = nmi_proto_find(type);
    if (proto == NULL)
        return -EINVAL;
    if (!nmi_ctx_live(ctx))
        return NM_ETERM;
    nmi_sock *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return -ENOMEM;
    s->ctx = ctx;
    s->proto = proto;
    s->type = type;
    s->id = nmi_ctx_next_id(ctx);
    nmi_opts_default(&s->opts);
    /* Request-reply waits a round trip for each answer: spin through it rather than
     * sleep.  Streaming types would only take the CPU their peers' threads need. */
    if (type == NM_REQ || type == NM_REP)
        s->opts.busy_poll_us = NM_BUSY_POLL_DEFAULT;
    nmi_cmdq_init(&s->cmds);
    atomic_init(&s->waiting, 0);
    atomic_init(&s->fd_mode, false);
    atomic_init(&s->router_handover, false);
    atomic_init(&s->calls, 0);
    atomic_init(&s->term_told, false);
    atomic_init(&s->user, (uintptr_t)&nmi_thread_tag);
    atomic_init(&s->mon_events, 0);
    pthread_mutex_init(&s->mon_lock, NULL);
    TAILQ_INIT(&s->pipes);
    LIST_INIT(&s->listeners);
    LIST_INIT(&s->conns);
    TAILQ_INIT(&s->reg_pipes);
    int rc = nmi_signaler_init(&s->sig);
    if (rc == 0)
        rc = proto->init(s);
    if (rc < 0)
        goto fail;
    /* Under reg_lock: a shutdown either sees this socket (and signals it) or is seen. */
    pthread_mutex_lock(&ctx->reg_lock);
    if (atomic_load(&ctx->state) != NMI_CTX_ACTIVE) {
        rc = NM_ETERM;
    } else if (ctx->max_sockets > 0 && ctx->nsocks >= ctx->max_sockets) {
        rc = -EMFILE; /* NM_CTX_MAX_SOCKETS, as libzmq */
    } else {
        s->io = nmi_ctx_pick_io(ctx);
        s->opts.ipv6 = ctx->ipv6;
        s->io->nsocks++;
        TAILQ_INSERT_TAIL(&ctx->socks, s, reg_entry);
        ctx->nsocks++;
    }
    pthread_mutex_unlock(&ctx->reg_lock);
    if (rc < 0) {
        proto->fini(s);
        goto fail;
    }
    *sp = (nm_sock_t *)s;
    return 0;
fail:
    nmi_signaler_fini(&s->sig);
    nmi_cmdq_fini(&s->cmds);
    pthread_mutex_destroy(&s->mon_lock);
    free(s);
    return rc;
}

void nm_sock_close(nm_sock_t **sp)
{
    nmi_sock *s = (nmi_sock *)*sp;
    if (s == NULL)
        return;
    *sp = NULL;
    if (nmi_ctx_forked(s->ctx))
        return; /* the parent's: left as inherited (nmi_ctx_forked) */
    nmi_svc_close(s);
    nmi_inproc_unbind_all(s);
    pthread_mutex_lock(&s->ctx->reg_lock);
    s->close_posted = true;
    pthread_mutex_unlock(&s->ctx->reg_lock);
    nmi_io_post(s->io, NMI_CMD_CLOSE, s);
}

int nmi_sock_events(nmi_sock *s)
{
    if (atomic_load_explicit(&s->cmds.pending, memory_order_relaxed))
        nmi_sock_process(s);
    int ev = 0;
    if (s->proto->can_recv && !s->has_prefetch && s->proto->recv(s, &s->prefetch) == 0)
        s->has_prefetch = true;
    if (s->has_prefetch)
        ev |= NM_POLLIN;
    /* REQ and REP: the message taken ahead moved their turn, but the application has
     * not received it yet, so it may not send (libzmq says POLLIN only). */
    bool turn_taken = s->has_prefetch && (s->proto->flags & NMI_PROTO_ALTERNATES);
    if (s->proto->can_send && !turn_taken && s->proto->has_out(s))
        ev |= NM_POLLOUT;
    return ev;
}

void nmi_sock_free(nmi_sock *s)
{
    NMI_ASSERT(atomic_load(&s->calls) == 0); /* never freed under a caller */
    nmi_monitor_stop(s);
    nmi_zap_free(s);
    nmi_sock_process(s);
    if (s->has_prefetch)
        nmi_msg_clear(&s->prefetch);
    nmi_pipe *p;
    while ((p = TAILQ_FIRST(&s->pipes)) != NULL)
        nmi_sock_drop_pipe(s, p);
    s->proto->fini(s);
    nmi_svc_free(s);
    nmi_filters_fini(&s->filters);
    nmi_sec_release(s->opts.sec);
    nmi_ctx *ctx = s->ctx;
    pthread_mutex_lock(&ctx->reg_lock);
    TAILQ_REMOVE(&ctx->socks, s, reg_entry);
    ctx->nsocks--;
    s->io->nsocks--;
    pthread_cond_broadcast(&ctx->reg_cond);
    pthread_mutex_unlock(&ctx->reg_lock);
    nmi_signaler_fini(&s->sig);
    nmi_cmdq_fini(&s->cmds);
    free(s->rbuf);
    pthread_mutex_destroy(&s->mon_lock);
    free(s);
}

static void sock_add_endpoint(nmi_sock *s, const char *ep)
{
    strlcpy(s->last_ep, ep, sizeof(s->last_ep));
    pthread_mutex_lock(&s->ctx->reg_lock);
    if (s->nendpoints < 8)
        strlcpy(s->endpoints[s->nendpoints++], ep, NMI_EP_MAX);
    pthread_mutex_unlock(&s->ctx->reg_lock);
}

static void sock_remove_endpoint(nmi_sock *s, const char *ep)
{
    pthread_mutex_lock(&s->ctx->reg_lock);
    for (int i = 0; i < s->nendpoints; i++) {
        if (strcmp(s->endpoints[i], ep) == 0) {
            memmove(s->endpoints[i], s->endpoints[i + 1],
                    (size_t)(s->nendpoints - i - 1) * sizeof(s->endpoints[0]));
            s->nendpoints--;
            break;
        }
    }
    pthread_mutex_unlock(&s->ctx->reg_lock);
}

static int sock_bind(nmi_sock *s, const char *endpoint)
{
    const nmi_transport_ops *tp;
    const char *rest;
    nmi_addr a;
    int fd;
    if (endpoint == NULL || strlen(endpoint) >= NMI_EP_MAX)
        return -EINVAL;
    if (strncmp(endpoint, "inproc://", 9) == 0) {
        int rc = nmi_inproc_bind(s, endpoint);
        if (rc == 0)
            sock_add_endpoint(s, endpoint);
        return rc;
    }
    if (strncmp(endpoint, "svc://", 6) == 0) {
        char bound[NMI_EP_MAX];
        int rc =
            endpoint[6] == '\0' ? -EINVAL : nmi_svc_bind(s, endpoint + 6, bound, sizeof(bound));
        if (rc == 0) {
            sock_add_endpoint(s, endpoint);
            strlcpy(s->last_ep, bound, sizeof(s->last_ep)); /* what it listens on */
        }
        return rc;
    }
    int rc = nmi_transport_find(endpoint, &tp, &rest);
    bool adopt = s->opts.use_fd >= 0; /* NM_USE_FD: the application's descriptor */
    char bound[NMI_EP_MAX];
    uint64_t path_id = 0;
    if (rc == 0 && adopt)
        rc = nmi_stream_adopt(tp, s->opts.use_fd, bound, sizeof(bound));
    else if (rc == 0 && (rc = tp->resolve(rest, true, &s->opts, &a)) == 0)
        rc = tp->listen(&a, &s->opts, &fd, bound, sizeof(bound), &path_id);
    if (rc < 0) {
        nmi_log(s->ctx, NM_LOG_DEBUG, "socket", "bind %s: %s", endpoint, nm_strerror(rc));
        nmi_monitor(s, NM_EVENT_BIND_FAILED, (uint32_t)-rc, endpoint, nm_strerror(rc));
        return rc;
    }
    if (adopt)
        fd = s->opts.use_fd;
    nmi_listener *l = nmi_listener_new(s, tp, fd, bound);
    if (l == NULL) {
        if (!adopt) {
            close(fd);
            tp->unlisten(bound, path_id);
        }
        return -ENOMEM;
    }
    l->adopted = adopt;
    l->path_id = path_id;
    sock_add_endpoint(s, bound);
    nmi_svc_bound(s, endpoint, bound);
    nmi_monitor(s, NM_EVENT_LISTENING, (uint32_t)fd, bound, "");
    nmi_io_post(s->io, NMI_CMD_LISTEN, l);
    return 0;
}

static int sock_connect(nmi_sock *s, const char *endpoint)
{
    if (endpoint == NULL || strlen(endpoint) >= NMI_EP_MAX)
        return -EINVAL;
    int rc;
    if (strncmp(endpoint, "inproc://", 9) == 0)
        rc = nmi_inproc_connect(s, endpoint);
    else if (strncmp(endpoint, "svc://", 6) == 0)
        rc = endpoint[6] == '\0' ? -EINVAL : nmi_svc_connect(s, endpoint + 6);
    else
        rc = nmi_sock_connect_plain(s, endpoint, NULL);
    if (rc == 0)
        sock_add_endpoint(s, endpoint);
    return rc;
}

/* As libzmq's zmq_disconnect: what the endpoint's connections sent and the application
 * has not read is dropped at once (nmi_pipe_read); what it sent them still leaves,
 * within LINGER.  (A svc:// instance that goes is not disconnected so: what it sent
 * before is still delivered.) */
static void sock_discard_input(nmi_sock *s, const char *endpoint)
{
    nmi_sock_process(s); /* pipes whose attach is pending too */
    nmi_pipe *p;
    TAILQ_FOREACH(p, &s->pipes, sock_entry)
    {
        if (p->conn != NULL && p->conn->connecter && strcmp(p->endpoint, endpoint) == 0)
            p->discard = true;
    }
}

static int sock_disconnect(nmi_sock *s, const char *endpoint)
{
    if (endpoint == NULL || strlen(endpoint) >= NMI_EP_MAX)
        return -EINVAL;
    int rc = 0;
    if (strncmp(endpoint, "inproc://", 9) == 0)
        rc = nmi_inproc_disconnect(s, endpoint);
    else if (strncmp(endpoint, "svc://", 6) == 0)
        rc = nmi_svc_disconnect(s, endpoint + 6);
    else {
        sock_discard_input(s, endpoint);
        nmi_sock_disconnect_plain(s, endpoint);
    }
    if (rc == 0)
        sock_remove_endpoint(s, endpoint);
    return rc;
}

/* Posts cmd (NMI_CMD_DISCONNECT, NMI_CMD_UNBIND) for s's endpoint to its I/O thread;
 * an unbind then waits until it is done (core.h, nmi_disconnect). */
static int sock_post_endpoint(nmi_sock *s, int cmd, const char *endpoint)
{
    nmi_disconnect *d = calloc(1, sizeof(*d));
    if (d == NULL) {
        nmi_log(s->ctx, NM_LOG_ERROR, "socket", "%s %s: out of memory",
                cmd == NMI_CMD_UNBIND ? "unbind" : "disconnect", endpoint);
        return -ENOMEM;
    }
    d->sock = s;
    strlcpy(d->endpoint, endpoint, sizeof(d->endpoint));
    bool wait = d->waited = cmd == NMI_CMD_UNBIND;
    nmi_io_post(s->io, cmd, d); /* a disconnect's d is the I/O thread's from here */
    if (!wait)
        return 0;
    /* The I/O thread runs until every socket is freed, this one too: it will answer. */
    pthread_mutex_lock(&s->ctx->reg_lock);
    while (!d->done)
        pthread_cond_wait(&s->ctx->reg_cond, &s->ctx->reg_lock);
    pthread_mutex_unlock(&s->ctx->reg_lock);
    free(d);
    return 0;
}

void nmi_sock_disconnect_plain(nmi_sock *s, const char *endpoint)
{
    sock_post_endpoint(s, NMI_CMD_DISCONNECT, endpoint);
}

/* Undoes a bind: inproc takes the name off the list (links made stay, as in libzmq);
 * tcp and ipc close the listener and the connections it accepted. */
static int sock_unbind(nmi_sock *s, const char *endpoint)
{
    if (endpoint == NULL || strlen(endpoint) >= NMI_EP_MAX)
        return -EINVAL;
    char got[NMI_EP_MAX];
    int rc;
    if (strncmp(endpoint, "inproc://", 9) == 0)
        rc = nmi_inproc_unbind(s, strcpy(got, endpoint));
    else if (strncmp(endpoint, "svc://", 6) == 0)
        rc = -ENOTSUP;
    else if (!nmi_svc_unbound(s, endpoint, got, sizeof(got)))
        rc = -ENOENT;
    else
        rc = sock_post_endpoint(s, NMI_CMD_UNBIND, got);
    if (rc == 0)
        sock_remove_endpoint(s, got);
    return rc;
}

int nmi_sock_connect_plain(nmi_sock *s, const char *endpoint, const uint8_t *server_key)
{
    const nmi_transport_ops *tp;
    const char *rest;
    nmi_addr a;
    nmi_conn *c = NULL;
    nmi_sec *sec = NULL;
    int rc = nmi_transport_find(endpoint, &tp, &rest);
    if (rc == 0 && server_key != NULL &&
        (sec = nmi_sec_curve_client(s->opts.sec, server_key)) == NULL)
        rc = -ENOMEM;
    /* Through a SOCKS5 proxy: the conn connects to the proxy, and asks it for rest. */
    bool socks = rc == 0 && tp == &nmi_tcp_ops && s->socks_proxy[0] != '\0';
    if (rc == 0)
        rc = tp->resolve(socks ? s->socks_proxy : rest, false, &s->opts, &a);
    if (rc == 0 && socks)
        rc = nmi_conn_new_socks(s, tp, &a, endpoint, rest, &c);
    else if (rc == 0 && (c = nmi_conn_new_connect(s, tp, &a, endpoint)) == NULL)
        rc = -ENOMEM;
    if (rc < 0) {
        nmi_sec_release(sec);
        return rc;
    }
    if (sec != NULL) { /* this connection's own settings (it has not started) */
        nmi_sec_release(c->opts.sec);
        c->opts.sec = sec;
    }
    s->connect_rid_len = 0; /* CONNECT_ROUTING_ID names this connect only */
    if (c->pipe != NULL)
        nmi_sock_attach(s, c->pipe);
    nmi_io_post(s->io, NMI_CMD_CONNECT, c);
    return 0;
}

/* How long a blocking wait spins before it sleeps: NM_BUSY_POLL, while waits end within
 * it.  A wait that took longer (a paced loop: a request every millisecond, a reply the
 * peer computes for long) says the next one will too, so that one sleeps at once: the
 * spin would only burn the CPU until it gave up.  A wait that ended within NM_BUSY_POLL,
 * spinning or not, turns the spin back on (back-to-back traffic spins as before). */
static int sock_spin_us(const nmi_sock *s)
{
    return s->spin_cold ? 0 : s->opts.busy_poll_us;
}

/* Notes how long a wait begun at start_ns took (sock_spin_us). */
static void sock_spin_learn(nmi_sock *s, uint64_t start_ns)
{
    if (s->opts.busy_poll_us > 0)
        s->spin_cold = nmi_clock_ns() - start_ns > (uint64_t)s->opts.busy_poll_us * 1000u;
}

/* Spins up to sock_spin_us for a command to arrive, so a reply that comes within a
 * round trip is taken without sleeping (and without the I/O thread having to wake us:
 * nobody is marked waiting meanwhile).  True if one came, or if the context was shut
 * down meanwhile. */
static bool sock_spin(nmi_sock *s, uint64_t start_ns, uint64_t deadline)
{
    int spin_us = sock_spin_us(s);
    if (spin_us <= 0)
        return false;
    uint64_t until = start_ns + (uint64_t)spin_us * 1000u;
    if (deadline != 0 && deadline < until)
        until = deadline;
    for (unsigned i = 1;; i++) {
        if (atomic_load_explicit(&s->cmds.pending, memory_order_acquire) || !nmi_ctx_live(s->ctx))
            return true;
        sched_yield(); /* the I/O thread may need this CPU to bring the reply */
        if (i % 64 == 0 && nmi_clock_ns() >= until)
            return false;
    }
}

/* ms from now to deadline, rounded up; -1 without a deadline. */
static int sock_timeout_ms(uint64_t deadline, uint64_t now)
{
    return deadline == 0 ? -1 : (int)((deadline - now + 999999) / 1000000);
}

/* NM_ETERM once the context is shut down (seq_cst: read just before or after a sleep
 * that the shutdown's signal ends). */
static int sock_term(nmi_sock *s)
{
    return atomic_load(&s->ctx->state) == NMI_CTX_ACTIVE ? 0 : NM_ETERM;
}

/* The rest of a wait after the spin: nothing if something came (came), else sleeps on
 * the signaler until a command, the deadline or the shutdown. */
static int sock_wait_sleep(nmi_sock *s, bool came, uint64_t deadline)
{
    if (came)
        return sock_term(s);
    uint64_t now = deadline != 0 ? nmi_clock_ns() : 0;
    if (deadline != 0 && now >= deadline)
        return -EAGAIN;
    atomic_store(&s->waiting, 1);
    int rc = sock_term(s);
    if (rc == 0 && !atomic_load(&s->cmds.pending))
        rc = nmi_signaler_wait(&s->sig, sock_timeout_ms(deadline, now));
    atomic_store(&s->waiting, 0);
    if (rc != NM_ETERM && sock_term(s) < 0)
        return NM_ETERM;
    if (rc == -EAGAIN && deadline != 0 && nmi_clock_ns() < deadline)
        rc = 0;
    return rc;
}

static int sock_wait(nmi_sock *s, uint64_t deadline)
{
    uint64_t start = nmi_clock_ns();
    bool came = sock_spin(s, start, deadline);
    int rc = sock_wait_sleep(s, came, deadline);
    sock_spin_learn(s, start);
    return rc;
}

/* Entered itself as well, so that a caller blocked here (nm_sock_wait_peers) is
 * counted even if its own function is not bracketed. */
int nmi_sock_wait(nmi_sock *s, uint64_t deadline)
{
    return NMI_SOCK_CALL(s, sock_wait(s, deadline));
}

/* Direct reads (conn_direct.c) use a buffer of this size per socket. */
#define SOCK_RBUF_SIZE (64 * 1024)

/* The connection a receive may read itself: the socket's only pipe's (not a CONFLATE
 * one), when nothing is queued on it and nobody else watches the socket (NM_FD). */
static nmi_conn *sock_direct_conn(nmi_sock *s)
{
    nmi_pipe *p = TAILQ_FIRST(&s->pipes);
    if (atomic_load_explicit(&s->fd_mode, memory_order_relaxed) || s->type == NM_STREAM ||
        p == NULL || TAILQ_NEXT(p, sock_entry) != NULL || p->conn == NULL || p->conflate ||
        nmi_queue_count(p->in) != 0)
        return NULL;
    if (s->rbuf == NULL && (s->rbuf = malloc(SOCK_RBUF_SIZE)) == NULL)
        return NULL;
    return p->conn;
}

/* nmi_sock_wait_in while holding c's reader, from now: spins on the descriptor for
 * sock_spin_us, then sleeps on it and on the signaler.  0 when messages or commands came
 * (or the reader must go back), -EAGAIN at the deadline, NM_ETERM on shutdown. */
static int sock_wait_direct(nmi_sock *s, nmi_conn *c, uint64_t now, uint64_t deadline)
{
    uint64_t until = now + (uint64_t)sock_spin_us(s) * 1000u;
    for (unsigned i = 1; now < until; i++) {
        if (nmi_conn_direct_read(c, s->rbuf, SOCK_RBUF_SIZE) != 0 ||
            atomic_load_explicit(&s->cmds.pending, memory_order_acquire))
            return 0;
        if (!nmi_ctx_live(s->ctx))
            return NM_ETERM;
        sched_yield(); /* the peer may need this CPU to answer */
        if (i % 16 == 0)
            now = nmi_clock_ns();
    }
    for (;;) {
        int rc = nmi_conn_direct_read(c, s->rbuf, SOCK_RBUF_SIZE);
        if (rc != 0)
            return 0;
        if (deadline != 0 && (now = nmi_clock_ns()) >= deadline)
            return -EAGAIN;
        atomic_store(&s->waiting, 1);
        if (sock_term(s) < 0)
            rc = NM_ETERM;
        else if (!atomic_load(&s->cmds.pending))
            rc = nmi_signaler_wait_fd(&s->sig, c->pollable.fd, sock_timeout_ms(deadline, now));
        else
            rc = 1;
        atomic_store(&s->waiting, 0);
        if (rc == NM_ETERM || sock_term(s) < 0)
            return NM_ETERM;
        if (rc == 1 || rc == -EINTR)
            return rc == 1 ? 0 : rc;
    }
}

int nmi_sock_wait_in(nmi_sock *s, uint64_t deadline)
{
    nmi_conn *c = sock_direct_conn(s);
    if (c == NULL || !nmi_conn_direct_begin(c))
        return nmi_sock_wait(s, deadline);
    int rc = nmi_sock_enter(s);
    if (rc == 0) {
        uint64_t start = nmi_clock_ns();
        rc = sock_wait_direct(s, c, start, deadline);
        sock_spin_learn(s, start);
        rc = nmi_sock_leave(s, rc);
    }
    nmi_conn_direct_end(c);
    return rc;
}

static uint64_t sock_deadline(int timeo_ms)
{
    return timeo_ms > 0 ? nmi_clock_ns() + (uint64_t)timeo_ms * 1000000u : 0;
}

/* Adds time spent blocked to every pipe that is full. */
static void sock_account_blocked(nmi_sock *s, uint64_t ns)
{
    nmi_pipe *p;
    TAILQ_FOREACH(p, &s->pipes, sock_entry)
    {
        if (!nmi_pipe_writable(p))
            nmi_count(&p->blocked_ns, ns);
    }
}

static int sock_send_msg(nmi_sock *s, nmi_msg *m, int flags)
{
    bool nowait = (flags & NM_DONTWAIT) || s->opts.sndtimeo == 0;
    uint64_t deadline = 0;
    for (;;) {
        if (atomic_load_explicit(&s->cmds.pending, memory_order_relaxed))
            nmi_sock_process(s);
        int rc = s->proto->send(s, m);
        if (rc != -EAGAIN || nowait)
            return rc;
        if (deadline == 0)
            deadline = sock_deadline(s->opts.sndtimeo);
        uint64_t t0 = nmi_clock_ns();
        rc = sock_wait(s, deadline);
        sock_account_blocked(s, nmi_clock_ns() - t0);
        if (rc < 0)
            return rc;
    }
}

/* sock_send's admission without the message: the same waits, the same errors. */
static int sock_send_ready(nmi_sock *s, const void *head, size_t len, int flags)
{
    if (!s->proto->can_send)
        return -ENOTSUP;
    bool nowait = (flags & NM_DONTWAIT) || s->opts.sndtimeo == 0;
    uint64_t deadline = 0;
    for (;;) {
        if (atomic_load_explicit(&s->cmds.pending, memory_order_relaxed))
            nmi_sock_process(s);
        int rc = s->proto->send_ready != NULL ? s->proto->send_ready(s, head, len) : 0;
        if (rc != -EAGAIN || nowait)
            return rc;
        if (deadline == 0)
            deadline = sock_deadline(s->opts.sndtimeo);
        if ((rc = sock_wait(s, deadline)) < 0)
            return rc;
    }
}

/* The properties of where a message came from do not travel on with it (as in
 * libzmq): a send that takes the message releases them, one that fails leaves them. */
static int sock_send(nmi_sock *s, nm_msg_t *msg, int flags)
{
    nmi_msg *m = nmi_msg_of(msg);
    if (!s->proto->can_send)
        return -ENOTSUP;
    if (m->n == 0)
        return -EINVAL;
    nmi_meta *meta = m->meta;
    m->meta = NULL;
    int rc = sock_send_msg(s, m, flags);
    if (rc == 0)
        nmi_meta_release(meta, 1);
    else
        m->meta = meta;
    return rc;
}

static int sock_recv(nmi_sock *s, nm_msg_t *msg, int flags)
{
    nmi_msg *m = nmi_msg_of(msg);
    if (!s->proto->can_recv)
        return -ENOTSUP;
    nmi_msg_clear(m);
    if (s->has_prefetch) {
        *m = s->prefetch;
        s->has_prefetch = false;
        return 0;
    }
    bool nowait = (flags & NM_DONTWAIT) || s->opts.rcvtimeo == 0;
    uint64_t deadline = 0;
    for (;;) {
        if (atomic_load_explicit(&s->cmds.pending, memory_order_relaxed))
            nmi_sock_process(s);
        int rc = s->proto->recv(s, m);
        if (rc != -EAGAIN || nowait)
            return rc;
        if (deadline == 0)
            deadline = sock_deadline(s->opts.rcvtimeo);
        rc = nmi_sock_wait_in(s, deadline);
        if (rc < 0)
            return rc;
    }
}

/* The public calls on a socket, each bracketed (nmi_sock_enter) so that it fails with
 * NM_ETERM once the context is shut down and is never closed under by nm_ctx_destroy. */

int nm_sock_bind(nm_sock_t *sp, const char *endpoint)
{
    nmi_sock *s = (nmi_sock *)sp;
    return NMI_SOCK_CALL(s, sock_bind(s, endpoint));
}

int nm_sock_connect(nm_sock_t *sp, const char *endpoint)
{
    nmi_sock *s = (nmi_sock *)sp;
    return NMI_SOCK_CALL(s, sock_connect(s, endpoint));
}

int nm_sock_unbind(nm_sock_t *sp, const char *endpoint)
{
    nmi_sock *s = (nmi_sock *)sp;
    return NMI_SOCK_CALL(s, sock_unbind(s, endpoint));
}

int nm_sock_disconnect(nm_sock_t *sp, const char *endpoint)
{
    nmi_sock *s = (nmi_sock *)sp;
    return NMI_SOCK_CALL(s, sock_disconnect(s, endpoint));
}

int nm_sock_send(nm_sock_t *sp, nm_msg_t *msg, int flags)
{
    nmi_sock *s = (nmi_sock *)sp;
    return NMI_SOCK_CALL(s, sock_send(s, msg, flags));
}

int nm_sock_send_ready(nm_sock_t *sp, const void *head, size_t len, int flags)
{
    nmi_sock *s = (nmi_sock *)sp;
    if (s == NULL || (head == NULL && len > 0))
        return -EINVAL;
    return NMI_SOCK_CALL(s, sock_send_ready(s, head, len, flags));
}

int nm_sock_recv(nm_sock_t *sp, nm_msg_t *msg, int flags)
{
    nmi_sock *s = (nmi_sock *)sp;
    return NMI_SOCK_CALL(s, sock_recv(s, msg, flags));
}

int nm_sock_send_bytes(nm_sock_t *s, const void *data, size_t size, int flags)
{
    nm_msg_t m;
    nm_msg_init(&m);
    int rc = nm_msg_add(&m, data, size);
    if (rc == 0)
        rc = nm_sock_send(s, &m, flags);
    nm_msg_close(&m);
    return rc;
}
