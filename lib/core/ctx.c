/*
 * ctx.c - the context: starts and stops the I/O thread, keeps the registry of sockets
 * (for statistics, and for ending the context), and passes log lines to the
 * application's callback.
 *
 * Ending follows libzmq: nm_ctx_shutdown wakes every caller with NM_ETERM, and
 * nm_ctx_destroy waits for the sockets to be closed by their threads before it lets
 * them linger and stops the I/O thread; the state table is in core.h (struct nmi_ctx).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>

#include "engine/engine.h"

/* Starts I/O threads until n run (more are never stopped before the end).  Called with
 * reg_lock held, or before the context is shared. */
static int ctx_start_io(nmi_ctx *ctx, int n)
{
    while (ctx->io_started < n) {
        nmi_io *io = calloc(1, sizeof(*io));
        int rc = io == NULL ? -ENOMEM : nmi_io_start(io, ctx, ctx->io_started);
        if (rc < 0) {
            free(io);
            return rc;
        }
        ctx->io[ctx->io_started++] = io;
    }
    return 0;
}

int nm_ctx_new(nm_ctx_t **ctxp)
{
    nmi_ctx *ctx = calloc(1, sizeof(*ctx));
    if (ctx == NULL)
        return -ENOMEM;
    pthread_mutex_init(&ctx->reg_lock, NULL);
    pthread_rwlock_init(&ctx->event_lock, NULL);
    pthread_cond_init(&ctx->reg_cond, NULL);
    pthread_mutex_init(&ctx->inproc_lock, NULL);
    TAILQ_INIT(&ctx->socks);
    atomic_init(&ctx->next_id, 1);
    atomic_init(&ctx->log_level, -1);
    atomic_init(&ctx->state, NMI_CTX_ACTIVE);
    ctx->pid = getpid();
    nmi_barrier_init();
    int rc = ctx_start_io(ctx, 1);
    if (rc < 0) {
        free(ctx);
        return rc;
    }
    ctx->io_used = 1;
    *ctxp = (nm_ctx_t *)ctx;
    return 0;
}

nmi_io *nmi_ctx_pick_io(nmi_ctx *ctx)
{
    nmi_io *best = ctx->io[0];
    for (int i = 1; i < ctx->io_used; i++)
        if (ctx->io[i]->nsocks < best->nsocks)
            best = ctx->io[i];
    return best;
}

int nm_ctx_set(nm_ctx_t *ctxp, int opt, int value)
{
    nmi_ctx *ctx = (nmi_ctx *)ctxp;
    int rc = 0;
    pthread_mutex_lock(&ctx->reg_lock);
    if (opt == NM_CTX_IO_THREADS && value >= 1 && value <= NMI_IO_MAX) {
        rc = ctx_start_io(ctx, value);
        if (rc == 0)
            ctx->io_used = value;
    } else if (opt == NM_CTX_MAX_SOCKETS && value >= 0) {
        ctx->max_sockets = value;
    } else if (opt == NM_CTX_IPV6 && (value == 0 || value == 1)) {
        ctx->ipv6 = value;
    } else {
        rc = -EINVAL;
    }
    pthread_mutex_unlock(&ctx->reg_lock);
    return rc;
}

int nm_ctx_get(nm_ctx_t *ctxp, int opt, int *value)
{
    nmi_ctx *ctx = (nmi_ctx *)ctxp;
    int rc = 0;
    pthread_mutex_lock(&ctx->reg_lock);
    if (opt == NM_CTX_IO_THREADS)
        *value = ctx->io_used;
    else if (opt == NM_CTX_MAX_SOCKETS)
        *value = ctx->max_sockets;
    else if (opt == NM_CTX_IPV6)
        *value = ctx->ipv6;
    else
        rc = -EINVAL;
    pthread_mutex_unlock(&ctx->reg_lock);
    return rc;
}

/* Leaves ACTIVE (reg_lock held) and wakes every socket's caller (state table in
 * core.h).  Returns the state it found. */
static int ctx_shut(nmi_ctx *ctx, int to)
{
    int was = atomic_load(&ctx->state);
    NMI_ASSERT(was < to); /* one way only; a second destroy is the program's bug */
    atomic_store(&ctx->state, to);
    nmi_barrier_slow(); /* before any s->calls is read (core.h, struct nmi_ctx) */
    if (was != NMI_CTX_ACTIVE)
        return was;
    nmi_sock *s;
    TAILQ_FOREACH(s, &ctx->socks, reg_entry)
    {
        nmi_signaler_send(&s->sig);
    }
    return was;
}

bool nmi_ctx_forked(const nmi_ctx *ctx)
{
    return getpid() != ctx->pid;
}

int nm_ctx_shutdown(nm_ctx_t *ctxp)
{
    nmi_ctx *ctx = (nmi_ctx *)ctxp;
    if (ctx == NULL)
        return -EINVAL;
    if (nmi_ctx_forked(ctx))
        return 0; /* nothing runs here to be woken */
    pthread_mutex_lock(&ctx->reg_lock);
    if (atomic_load(&ctx->state) == NMI_CTX_ACTIVE)
        ctx_shut(ctx, NMI_CTX_SHUTDOWN);
    pthread_mutex_unlock(&ctx->reg_lock);
    return 0;
}

NMI_TLS char nmi_thread_tag;

/* True if a thread is inside a call on s or was told of the end (calls before
 * term_told: see the state table in core.h). */
static bool ctx_sock_used(nmi_sock *s)
{
    return atomic_load_explicit(&s->calls, memory_order_acquire) != 0 || atomic_load(&s->term_told);
}

/* The sockets nm_ctx_destroy closes itself (reg_lock held, just after leaving ACTIVE):
 * those no thread is in, all of them if no thread is in any, else only the ones the
 * calling thread used last.  Returns them in a malloc'd array (*n of them). */
static nmi_sock **ctx_take_idle(nmi_ctx *ctx, size_t *n)
{
    *n = 0;
    nmi_sock **taken = calloc((size_t)ctx->nsocks + 1, sizeof(*taken));
    if (taken == NULL)
        return NULL; /* then every socket is left to its user */
    bool busy = false;
    nmi_sock *s;
    TAILQ_FOREACH(s, &ctx->socks, reg_entry)
    {
        busy = busy || (!s->close_posted && ctx_sock_used(s));
    }
    TAILQ_FOREACH(s, &ctx->socks, reg_entry)
    {
        if (s->close_posted || ctx_sock_used(s) ||
            (busy && atomic_load(&s->user) != (uintptr_t)&nmi_thread_tag))
            continue;
        s->close_posted = true;
        taken[(*n)++] = s;
    }
    return taken;
}

void nm_ctx_destroy(nm_ctx_t **ctxp)
{
    nmi_ctx *ctx = (nmi_ctx *)*ctxp;
    if (ctx == NULL)
        return;
    *ctxp = NULL;
    if (nmi_ctx_forked(ctx))
        return; /* the parent's: left as inherited (nmi_ctx_forked) */
    pthread_mutex_lock(&ctx->reg_lock);
    size_t ntaken = 0;
    nmi_sock **taken = NULL;
    if (ctx_shut(ctx, NMI_CTX_TERM) == NMI_CTX_ACTIVE)
        taken = ctx_take_idle(ctx, &ntaken);
    int in_use = 0;
    nmi_sock *s;
    TAILQ_FOREACH(s, &ctx->socks, reg_entry)
    {
        in_use += !s->close_posted;
    }
    pthread_mutex_unlock(&ctx->reg_lock);
    /* Close what the application left idle, as nm_sock_close does; each socket lingers
     * on the I/O thread. */
    for (size_t i = 0; i < ntaken; i++) {
        nmi_svc_close(taken[i]);
        nmi_inproc_unbind_all(taken[i]);
        nmi_io_post(taken[i]->io, NMI_CMD_CLOSE, taken[i]);
    }
    free(taken);
    if (in_use > 0)
        nmi_log(ctx, NM_LOG_DEBUG, "context",
                "waiting for %d sockets to be closed by their threads", in_use);
    pthread_mutex_lock(&ctx->reg_lock);
    while (ctx->nsocks > 0)
        pthread_cond_wait(&ctx->reg_cond, &ctx->reg_lock);
    pthread_mutex_unlock(&ctx->reg_lock);
    nmi_inproc_fini(ctx);
    for (int i = 0; i < ctx->io_started; i++) {
        nmi_io_stop(ctx->io[i]);
        free(ctx->io[i]);
    }
    pthread_cond_destroy(&ctx->reg_cond);
    pthread_mutex_destroy(&ctx->inproc_lock);
    pthread_mutex_destroy(&ctx->reg_lock);
    pthread_rwlock_destroy(&ctx->event_lock);
    free(ctx);
}

void nm_ctx_set_log(nm_ctx_t *ctxp, nm_log_cb *cb, void *arg, int max_level)
{
    nmi_ctx *ctx = (nmi_ctx *)ctxp;
    pthread_mutex_lock(&ctx->reg_lock);
    ctx->log_cb = cb;
    ctx->log_arg = arg;
    atomic_store(&ctx->log_level, cb ? max_level : -1);
    pthread_mutex_unlock(&ctx->reg_lock);
}

void nmi_log(nmi_ctx *ctx, int level, const char *component, const char *fmt, ...)
{
    if (level > atomic_load_explicit(&ctx->log_level, memory_order_relaxed))
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&ctx->reg_lock);
    nm_log_cb *cb = ctx->log_cb;
    void *arg = ctx->log_arg;
    pthread_mutex_unlock(&ctx->reg_lock);
    if (cb != NULL)
        cb(arg, level, component, msg);
}

uint64_t nmi_ctx_next_id(nmi_ctx *ctx)
{
    return atomic_fetch_add(&ctx->next_id, 1);
}

int nm_ctx_stats(nm_ctx_t *ctxp, nm_sock_stats_cb *sock_cb, nm_pipe_stats_cb *pipe_cb, void *arg)
{
    nmi_ctx *ctx = (nmi_ctx *)ctxp;
    pthread_mutex_lock(&ctx->reg_lock);
    nmi_sock *s;
    TAILQ_FOREACH(s, &ctx->socks, reg_entry)
    {
        nm_sock_stats_t ss;
        memset(&ss, 0, sizeof(ss));
        ss.id = s->id;
        ss.type = s->type;
        ss.nendpoints = s->nendpoints;
        ss.peers_dropped = atomic_load_explicit(&s->peers_dropped, memory_order_relaxed);
        ss.handshakes_failed = atomic_load_explicit(&s->handshakes_failed, memory_order_relaxed);
        for (int i = 0; i < s->nendpoints; i++)
            strlcpy(ss.endpoints[i], s->endpoints[i], sizeof(ss.endpoints[i]));
        nmi_pipe *p;
        TAILQ_FOREACH(p, &s->reg_pipes, reg_entry)
        ss.npipes++;
        if (sock_cb != NULL)
            sock_cb(arg, &ss);
        if (pipe_cb == NULL)
            continue;
        TAILQ_FOREACH(p, &s->reg_pipes, reg_entry)
        {
            nm_pipe_stats_t ps;
            memset(&ps, 0, sizeof(ps));
            ps.id = p->id;
            strlcpy(ps.endpoint, p->endpoint, sizeof(ps.endpoint));
            strlcpy(ps.peer, p->peer, sizeof(ps.peer));
            strlcpy(ps.local, p->local, sizeof(ps.local));
            ps.mechanism = p->mechanism;
            static const uint8_t no_key[32];
            if (memcmp(p->peer_key, no_key, sizeof(no_key)) != 0)
                nm_z85_encode(ps.peer_key, p->peer_key, sizeof(p->peer_key));
            strlcpy(ps.user_id, p->user_id, sizeof(ps.user_id));
            /* inproc: the connecting side's pipe reads link queue 0 */
            ps.outgoing =
                p->conn != NULL ? p->conn->connecter : p->link != NULL && p->in == &p->link->q[0];
            ps.state = atomic_load(&p->state);
            ps.queued_in = (uint32_t)nmi_pipe_queued_in(p);
            ps.queued_out = (uint32_t)nmi_queue_count(p->out);
            ps.sndhwm = nmi_pipe_sndhwm(p);
            ps.rcvhwm = atomic_load_explicit(&p->rcvhwm, memory_order_relaxed);
            ps.msgs_in = atomic_load_explicit(&p->msgs_in, memory_order_relaxed);
            ps.msgs_out = atomic_load_explicit(&p->msgs_out, memory_order_relaxed);
            ps.bytes_in = atomic_load_explicit(&p->bytes_in, memory_order_relaxed);
            ps.bytes_out = atomic_load_explicit(&p->bytes_out, memory_order_relaxed);
            ps.drops = atomic_load_explicit(&p->drops, memory_order_relaxed) +
                       atomic_load_explicit(&p->drops_in, memory_order_relaxed);
            ps.hwm_hits = atomic_load_explicit(&p->hwm_hits, memory_order_relaxed);
            ps.blocked_ns = atomic_load_explicit(&p->blocked_ns, memory_order_relaxed);
            ps.subscriptions = (uint32_t)atomic_load_explicit(&p->subs, memory_order_relaxed);
            pipe_cb(arg, &ss, &ps);
        }
    }
    pthread_mutex_unlock(&ctx->reg_lock);
    return 0;
}

uint64_t nm_clock_ns(void)
{
    return nmi_clock_ns();
}
