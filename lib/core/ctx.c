/*
 * ctx.c - the context: starts and stops the I/O thread, keeps the registry of sockets
 * for statistics, and passes log lines to the application's callback.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

#include "engine/engine.h"

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
    int rc = nmi_io_start(&ctx->io, ctx);
    if (rc < 0) {
        free(ctx);
        return rc;
    }
    *ctxp = (nm_ctx_t *)ctx;
    return 0;
}

void nm_ctx_destroy(nm_ctx_t **ctxp)
{
    nmi_ctx *ctx = (nmi_ctx *)*ctxp;
    if (ctx == NULL)
        return;
    *ctxp = NULL;
    /* Close what the application left open; each socket lingers on the I/O thread.
     * inproc names go first, as nm_sock_close does. */
    nmi_inproc_fini(ctx);
    pthread_mutex_lock(&ctx->reg_lock);
    nmi_sock *s;
    TAILQ_FOREACH(s, &ctx->socks, reg_entry)
    {
        if (!s->close_posted) {
            s->close_posted = true;
            nmi_io_post(&ctx->io, NMI_CMD_CLOSE, s);
        }
    }
    while (ctx->nsocks > 0)
        pthread_cond_wait(&ctx->reg_cond, &ctx->reg_lock);
    pthread_mutex_unlock(&ctx->reg_lock);
    nmi_io_stop(&ctx->io);
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
            /* inproc: the connecting side's pipe reads link queue 0 */
            ps.outgoing =
                p->conn != NULL ? p->conn->connecter : p->link != NULL && p->in == &p->link->q[0];
            ps.state = atomic_load(&p->state);
            ps.queued_in = (uint32_t)nmi_queue_count(p->in);
            ps.queued_out = (uint32_t)nmi_queue_count(p->out);
            ps.sndhwm = p->sndhwm;
            ps.rcvhwm = p->rcvhwm;
            ps.msgs_in = atomic_load_explicit(&p->msgs_in, memory_order_relaxed);
            ps.msgs_out = atomic_load_explicit(&p->msgs_out, memory_order_relaxed);
            ps.bytes_in = atomic_load_explicit(&p->bytes_in, memory_order_relaxed);
            ps.bytes_out = atomic_load_explicit(&p->bytes_out, memory_order_relaxed);
            ps.drops = atomic_load_explicit(&p->drops, memory_order_relaxed) +
                       atomic_load_explicit(&p->drops_in, memory_order_relaxed);
            ps.hwm_hits = atomic_load_explicit(&p->hwm_hits, memory_order_relaxed);
            ps.blocked_ns = atomic_load_explicit(&p->blocked_ns, memory_order_relaxed);
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
