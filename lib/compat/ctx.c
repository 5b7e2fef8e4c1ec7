/*
 * ctx.c - libzmq's context calls: zmq_ctx_new/term/shutdown/destroy, zmq_init/zmq_term,
 * zmq_ctx_set/get, on nomid's context.
 *
 * Ending follows libzmq's contract (DESIGN.md, "Ending a context"), which the core
 * keeps when it is shut down before it is destroyed: zmq_ctx_term shuts the context
 * down (every blocked call wakes with ETERM) and then waits until every socket has been
 * closed by its own thread and has lingered.  Context options are a table; those the
 * core does not act on yet are kept and read back (the report in opts.c's header).
 * With NOMID_MEMBER=1 a new context may become the process's fleet member (member.c).
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>

#include "compat/compat.h"

/* Context option rows: where the value lives, what it may be, whether it may be set. */
typedef struct zc_ctxopt {
    int opt;    /* ZMQ_* context option */
    size_t off; /* offsetof(zc_ctx, field) */
    int min;    /* smallest value accepted */
    int max;    /* largest */
} zc_ctxopt;

static const zc_ctxopt zc_ctxopts[] = {
    {ZMQ_IO_THREADS, offsetof(zc_ctx, io_threads), 0, INT_MAX},
    {ZMQ_MAX_SOCKETS, offsetof(zc_ctx, max_sockets), 1, 65535},
    {ZMQ_IPV6, offsetof(zc_ctx, ipv6), 0, 1},
    {ZMQ_BLOCKY, offsetof(zc_ctx, blocky), 0, 1},
    {ZMQ_MAX_MSGSZ, offsetof(zc_ctx, max_msgsz), 0, INT_MAX},
    {ZMQ_THREAD_PRIORITY, offsetof(zc_ctx, thread_priority), 0, INT_MAX},
    {ZMQ_THREAD_SCHED_POLICY, offsetof(zc_ctx, thread_sched), 0, INT_MAX},
    {ZMQ_THREAD_NAME_PREFIX, offsetof(zc_ctx, thread_name_pfx), INT_MIN, INT_MAX},
};

#define ZC_NCTXOPTS (sizeof(zc_ctxopts) / sizeof(zc_ctxopts[0]))

static zc_ctx *ctx_of(void *c)
{
    zc_ctx *ctx = c;
    if (ctx == NULL || ctx->tag != ZC_CTX_TAG) {
        errno = EFAULT;
        return NULL;
    }
    return ctx;
}

void *zmq_ctx_new(void)
{
    zc_ctx *ctx = calloc(1, sizeof(*ctx));
    if (ctx == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    int rc = nm_ctx_new(&ctx->nm);
    if (rc < 0) {
        free(ctx);
        zc_fail(rc);
        return NULL;
    }
    ctx->tag = ZC_CTX_TAG;
    atomic_init(&ctx->nsocks, 0);
    ctx->io_threads = ZMQ_IO_THREADS_DFLT;
    ctx->max_sockets = ZMQ_MAX_SOCKETS_DFLT;
    ctx->blocky = 1;
    ctx->max_msgsz = INT_MAX;
    ctx->thread_priority = ZMQ_THREAD_PRIORITY_DFLT;
    ctx->thread_sched = ZMQ_THREAD_SCHED_POLICY_DFLT;
    if ((rc = zc_member_attach(ctx)) < 0) {
        nm_ctx_destroy(&ctx->nm);
        free(ctx);
        zc_fail(rc);
        return NULL;
    }
    return ctx;
}

int zmq_ctx_shutdown(void *c)
{
    zc_ctx *ctx = ctx_of(c);
    if (ctx == NULL)
        return -1;
    int rc = nm_ctx_shutdown(ctx->nm);
    return rc < 0 ? zc_fail(rc) : 0;
}

int zmq_ctx_term(void *c)
{
    zc_ctx *ctx = ctx_of(c);
    if (ctx == NULL)
        return -1;
    nm_ctx_shutdown(ctx->nm); /* so destroy waits for each socket's own thread */
    if (ctx->member)
        zc_member_term(ctx);
    else
        nm_ctx_destroy(&ctx->nm);
    ctx->tag = ZC_DEAD_TAG;
    free(ctx);
    return 0;
}

int zmq_ctx_destroy(void *c)
{
    return zmq_ctx_term(c);
}

void *zmq_init(int io_threads_)
{
    if (io_threads_ < 0) {
        errno = EINVAL;
        return NULL;
    }
    zc_ctx *ctx = zmq_ctx_new();
    if (ctx != NULL && zmq_ctx_set(ctx, ZMQ_IO_THREADS, io_threads_) < 0) {
        zmq_ctx_term(ctx);
        return NULL;
    }
    return ctx;
}

int zmq_term(void *c)
{
    return zmq_ctx_term(c);
}

static const zc_ctxopt *ctxopt_find(int opt)
{
    for (size_t i = 0; i < ZC_NCTXOPTS; i++)
        if (zc_ctxopts[i].opt == opt)
            return &zc_ctxopts[i];
    return NULL;
}

int zmq_ctx_set(void *c, int option_, int optval_)
{
    zc_ctx *ctx = ctx_of(c);
    if (ctx == NULL)
        return -1;
    if (option_ == ZMQ_THREAD_AFFINITY_CPU_ADD || option_ == ZMQ_THREAD_AFFINITY_CPU_REMOVE)
        return optval_ >= 0 ? 0 : zc_errno(EINVAL); /* accepted, not applied */
    const zc_ctxopt *o = ctxopt_find(option_);
    if (o == NULL || optval_ < o->min || optval_ > o->max)
        return zc_errno(EINVAL);
    /* The core runs what it can of them: I/O threads (1..64; libzmq's 0, for inproc
     * only, gets one), the socket limit; the rest is read back. */
    int rc = 0;
    if (option_ == ZMQ_IO_THREADS)
        rc = nm_ctx_set(ctx->nm, NM_CTX_IO_THREADS,
                        optval_ < 1                   ? 1
                        : optval_ > ZC_IO_THREADS_MAX ? ZC_IO_THREADS_MAX
                                                      : optval_);
    if (rc < 0)
        return zc_fail(rc);
    *(int *)((char *)ctx + o->off) = optval_;
    return 0;
}

int zmq_ctx_get(void *c, int option_)
{
    zc_ctx *ctx = ctx_of(c);
    if (ctx == NULL)
        return -1;
    if (option_ == ZMQ_SOCKET_LIMIT)
        return 65535;
    if (option_ == ZMQ_MSG_T_SIZE)
        return (int)sizeof(zmq_msg_t);
    const zc_ctxopt *o = ctxopt_find(option_);
    if (o == NULL)
        return zc_errno(EINVAL);
    return *(const int *)((const char *)ctx + o->off);
}
