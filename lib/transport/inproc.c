/*
 * inproc.c - inproc:// endpoints: sockets of one context joined by a pair of pipes
 * that share two queues (an nmi_link), so a message goes from one socket to the other
 * without a copy, a syscall or the I/O thread.
 *
 * The context keeps a list of bound names and of connects waiting for a bind, so
 * either may come first.  A connect made before the bind gets its pipe at once (unless
 * it is a ROUTER or IMMEDIATE), so messages queue until the binder appears.  Joining
 * happens under ctx->inproc_lock, which also keeps the binder alive: a closing socket
 * takes its names off the list under that lock before it is closed.
 *
 * Each pipe of a pair holds a reference to the other (mate), so either side may look at
 * the other's pipe for as long as it has its own.  The other side's socket is another
 * matter: it is freed once it has let go of its pipe.  So when a socket lets go of its
 * pipe (nmi_inproc_unlink), the first of the two to leave marks the link broken and
 * tells the other socket (DETACH), so it reads what is left and forgets the pipe in
 * turn; and a wakeup for the other socket (nmi_inproc_wake) is posted under the link's
 * lock, only while the link is whole.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

#include "core/core.h"

struct nmi_inproc_entry {
    nmi_inproc_entry *next; /* list link */
    char name[NMI_EP_MAX];  /* the full endpoint */
    nmi_sock *sock;         /* the binder, or a connecter waiting for one */
    bool bound;             /* a bind, not a waiting connect */
    nmi_opts opts;          /* the socket's options when it bound or connected */
    nmi_pipe *pipe;         /* waiting connect: its pipe, if made early */
    /* A waiting connect whose socket closed with messages queued on its early pipe (sock
     * and pipe are then NULL): the link holding them (one reference), for the next
     * binder of the name to take, as libzmq's do, until `until` (0: forever) passes. */
    nmi_link *orphan;
    uint64_t until;
};

static atomic_uint inproc_next_rid = 1;

static nmi_link *inproc_link_new(void)
{
    nmi_link *l = nmi_calloc_lines(sizeof(*l));
    if (l == NULL)
        return NULL;
    nmi_queue_init(&l->q[0]);
    nmi_queue_init(&l->q[1]);
    atomic_init(&l->refs, 0);
    pthread_mutex_init(&l->lock, NULL);
    return l;
}

/* Frees a link no pipe ever took. */
static void inproc_link_discard(nmi_link *l)
{
    atomic_store(&l->refs, 1);
    nmi_link_release(l);
}

void nmi_link_release(nmi_link *l)
{
    if (atomic_fetch_sub(&l->refs, 1) != 1)
        return;
    nmi_queue_fini(&l->q[0]);
    nmi_queue_fini(&l->q[1]);
    pthread_mutex_destroy(&l->lock);
    free(l);
}

/* A ROUTER names its inproc peer by the peer's routing id, or a generated one. */
static void inproc_set_rid(nmi_pipe *p, const nmi_opts *peer_opts)
{
    if (!p->sock->proto->needs_rid)
        return;
    if (peer_opts->routing_id_len > 0) {
        memcpy(p->rid, peer_opts->routing_id, peer_opts->routing_id_len);
        p->rid_len = peer_opts->routing_id_len;
        return;
    }
    unsigned n = atomic_fetch_add(&inproc_next_rid, 1);
    uint8_t rid[5] = {0, (uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};
    memcpy(p->rid, rid, sizeof(rid));
    p->rid_len = sizeof(rid);
}

/* Gives pipe p to its socket: at once on the caller's own socket, else by command. */
static void inproc_hand(nmi_sock *caller, nmi_pipe *p)
{
    if (p->sock == caller)
        nmi_sock_attach(caller, p);
    else
        nmi_sock_post(p->sock, NMI_CMD_ATTACH, p);
}

/* Joins connecter c (its pipe made early, or not) to binder b.  Holds inproc_lock. */
static int inproc_join(nmi_sock *caller, const nmi_inproc_entry *b, const nmi_inproc_entry *c)
{
    nmi_sock *bs = b->sock, *cs = c->sock;
    /* As libzmq, inproc joins any two types (a PAIR may feed a PULL); a pair ZMTP would
     * refuse is only worth a warning. */
    if (!nmi_zmtp_types_compatible(cs->type, bs->type))
        nmi_log(cs->ctx, NM_LOG_WARN, "inproc", "%s: joining %s to %s, which ZMTP would refuse",
                b->name, nm_sock_type_name(cs->type), nm_sock_type_name(bs->type));
    nmi_pipe *pc = c->pipe, *pb;
    nmi_link *l = pc ? pc->link : inproc_link_new();
    if (l == NULL)
        return -ENOMEM;
    if (pc == NULL && (pc = nmi_pipe_new_inproc(cs, l, 0, b->name)) == NULL) {
        inproc_link_discard(l);
        return -ENOMEM;
    }
    if (c->pipe == NULL)
        pc->conflate = nmi_pipe_conflates(&c->opts, cs->type);
    if ((pb = nmi_pipe_new_inproc(bs, l, 1, b->name)) == NULL) {
        if (c->pipe == NULL) {
            nmi_pipe_release(pc); /* both its references: nobody has it yet */
            nmi_pipe_release(pc);
        }
        return -ENOMEM;
    }
    /* Each send limit adds the peer's RCVHWM (nmi_pipe_sndhwm), a pipe made early (in
     * its socket's hands already, on another thread) too: peer_rcvhwm is atomic; none
     * when the peer conflates (it holds one message).  The binder's limits are those it
     * had when it bound, as in libzmq. */
    pb->conflate = nmi_pipe_conflates(&b->opts, bs->type);
    nmi_pipe_set_hwms(pb, b->opts.sndhwm, b->opts.rcvhwm);
    atomic_store_explicit(&pc->peer_rcvhwm, pb->conflate ? 0 : b->opts.rcvhwm,
                          memory_order_relaxed);
    atomic_store_explicit(&pb->peer_rcvhwm, pc->conflate ? 0 : atomic_load(&pc->rcvhwm),
                          memory_order_relaxed);
    if (c->pipe == NULL)
        inproc_set_rid(pc, &b->opts);
    inproc_set_rid(pb, &c->opts);
    pthread_mutex_lock(&cs->ctx->reg_lock);
    strlcpy(pc->peer, "inproc", sizeof(pc->peer));
    strlcpy(pb->peer, "inproc", sizeof(pb->peer));
    pthread_mutex_unlock(&cs->ctx->reg_lock);
    atomic_store(&pc->state, NM_PIPE_ACTIVE);
    atomic_store(&pb->state, NM_PIPE_ACTIVE);
    atomic_store(&pb->mate, pc);
    atomic_store(&pc->mate, pb);
    inproc_hand(caller, pb);
    if (c->pipe == NULL)
        inproc_hand(caller, pc);
    else
        nmi_pipe_in_notify(pb); /* messages may have queued before the bind */
    return 0;
}

/* Gives binder b the messages of an orphaned connect: a pipe whose peer has left. */
static int inproc_adopt(nmi_sock *caller, const nmi_inproc_entry *b, nmi_inproc_entry *c)
{
    nmi_pipe *pb = nmi_pipe_new_inproc(b->sock, c->orphan, 1, b->name);
    if (pb == NULL)
        return -ENOMEM;
    pb->conflate = nmi_pipe_conflates(&b->opts, b->sock->type);
    nmi_pipe_set_hwms(pb, b->opts.sndhwm, b->opts.rcvhwm);
    inproc_set_rid(pb, &c->opts);
    pthread_mutex_lock(&b->sock->ctx->reg_lock);
    strlcpy(pb->peer, "inproc", sizeof(pb->peer));
    pthread_mutex_unlock(&b->sock->ctx->reg_lock);
    atomic_store(&pb->gone, 1);
    atomic_store(&pb->state, NM_PIPE_CLOSED);
    inproc_hand(caller, pb);
    nmi_sock_post(b->sock, NMI_CMD_DETACH, pb); /* read what it holds, then let go */
    nmi_link_release(c->orphan);
    c->orphan = NULL;
    return 0;
}

/* Frees an entry, and the messages it kept if it is an orphan. */
static void inproc_entry_free(nmi_inproc_entry *e)
{
    if (e->orphan != NULL)
        nmi_link_release(e->orphan);
    free(e);
}

static nmi_inproc_entry *inproc_entry_new(nmi_sock *s, const char *ep, bool bound)
{
    nmi_inproc_entry *e = calloc(1, sizeof(*e));
    if (e == NULL)
        return NULL;
    strlcpy(e->name, ep, sizeof(e->name));
    e->sock = s;
    e->bound = bound;
    e->opts = s->opts;
    e->opts.sec = NULL; /* inproc has no security mechanism (as libzmq's) */
    return e;
}

int nmi_inproc_bind(nmi_sock *s, const char *endpoint)
{
    nmi_ctx *ctx = s->ctx;
    if (strlen(endpoint) <= 9)
        return -EINVAL;
    pthread_mutex_lock(&ctx->inproc_lock);
    for (nmi_inproc_entry *e = ctx->inproc; e != NULL; e = e->next) {
        if (e->bound && strcmp(e->name, endpoint) == 0) {
            pthread_mutex_unlock(&ctx->inproc_lock);
            return -EADDRINUSE;
        }
    }
    nmi_inproc_entry *b = inproc_entry_new(s, endpoint, true);
    if (b == NULL) {
        pthread_mutex_unlock(&ctx->inproc_lock);
        return -ENOMEM;
    }
    /* Join the connects that were waiting for this name. */
    uint64_t now = nmi_clock_ns();
    for (nmi_inproc_entry **ep = &ctx->inproc; *ep != NULL;) {
        nmi_inproc_entry *e = *ep;
        /* Orphans past their LINGER go, whatever their name.  A connect this binder
         * cannot take (no memory) keeps waiting with its early pipe, as a tcp connecter
         * keeps retrying: the next binder of the name may take it. */
        bool expired = e->orphan != NULL && e->until != 0 && now > e->until;
        if (expired || (!e->bound && strcmp(e->name, endpoint) == 0 &&
                        (e->orphan != NULL ? inproc_adopt(s, b, e) : inproc_join(s, b, e)) == 0)) {
            *ep = e->next;
            inproc_entry_free(e);
        } else {
            ep = &e->next;
        }
    }
    b->next = ctx->inproc;
    ctx->inproc = b;
    pthread_mutex_unlock(&ctx->inproc_lock);
    return 0;
}

bool nmi_inproc_bound(nmi_ctx *ctx, const char *endpoint)
{
    pthread_mutex_lock(&ctx->inproc_lock);
    nmi_inproc_entry *b = ctx->inproc;
    while (b != NULL && !(b->bound && strcmp(b->name, endpoint) == 0))
        b = b->next;
    pthread_mutex_unlock(&ctx->inproc_lock);
    return b != NULL;
}

int nmi_inproc_connect(nmi_sock *s, const char *endpoint)
{
    nmi_ctx *ctx = s->ctx;
    if (strlen(endpoint) <= 9)
        return -EINVAL;
    nmi_inproc_entry *c = inproc_entry_new(s, endpoint, false);
    if (c == NULL)
        return -ENOMEM;
    pthread_mutex_lock(&ctx->inproc_lock);
    nmi_inproc_entry *b = ctx->inproc;
    while (b != NULL && !(b->bound && strcmp(b->name, endpoint) == 0))
        b = b->next;
    int rc = 0;
    if (b != NULL) {
        rc = inproc_join(s, b, c);
        free(c);
    } else {
        /* Wait for the bind; a pipe made now lets messages queue meanwhile. */
        if (!s->opts.immediate && !s->proto->needs_rid) {
            nmi_link *l = inproc_link_new();
            c->pipe = l ? nmi_pipe_new_inproc(s, l, 0, endpoint) : NULL;
            if (c->pipe != NULL)
                c->pipe->conflate = nmi_pipe_conflates(&s->opts, s->type);
            if (c->pipe == NULL) {
                if (l != NULL)
                    inproc_link_discard(l);
                free(c);
                pthread_mutex_unlock(&ctx->inproc_lock);
                return -ENOMEM;
            }
            nmi_sock_attach(s, c->pipe);
        }
        c->next = ctx->inproc;
        ctx->inproc = c;
    }
    pthread_mutex_unlock(&ctx->inproc_lock);
    return rc;
}

int nmi_inproc_unbind(nmi_sock *s, const char *endpoint)
{
    nmi_ctx *ctx = s->ctx;
    int rc = -ENOENT;
    pthread_mutex_lock(&ctx->inproc_lock);
    for (nmi_inproc_entry **ep = &ctx->inproc; *ep != NULL; ep = &(*ep)->next) {
        nmi_inproc_entry *e = *ep;
        if (e->sock == s && e->bound && strcmp(e->name, endpoint) == 0) {
            *ep = e->next;
            free(e);
            rc = 0;
            break;
        }
    }
    pthread_mutex_unlock(&ctx->inproc_lock);
    return rc;
}

void nmi_inproc_unbind_all(nmi_sock *s)
{
    nmi_ctx *ctx = s->ctx;
    pthread_mutex_lock(&ctx->inproc_lock);
    for (nmi_inproc_entry **ep = &ctx->inproc; *ep != NULL;) {
        nmi_inproc_entry *e = *ep;
        /* Messages sent before any bind wait for one, within LINGER (the connecting side
         * writes q[1]). */
        if (e->sock == s && e->pipe != NULL && s->opts.linger != 0 &&
            nmi_queue_count(&e->pipe->link->q[1]) > 0) {
            e->orphan = e->pipe->link;
            atomic_fetch_add(&e->orphan->refs, 1);
            e->until =
                s->opts.linger > 0 ? nmi_clock_ns() + (uint64_t)s->opts.linger * 1000000u : 0;
            e->sock = NULL;
            e->pipe = NULL;
            ep = &e->next;
        } else if (e->sock == s) {
            *ep = e->next;
            free(e);
        } else {
            ep = &e->next;
        }
    }
    pthread_mutex_unlock(&ctx->inproc_lock);
}

int nmi_inproc_disconnect(nmi_sock *s, const char *endpoint)
{
    nmi_ctx *ctx = s->ctx;
    int rc = -ENOENT;
    pthread_mutex_lock(&ctx->inproc_lock);
    for (nmi_inproc_entry **ep = &ctx->inproc; *ep != NULL;) {
        nmi_inproc_entry *e = *ep;
        if (e->sock == s && !e->bound && strcmp(e->name, endpoint) == 0) {
            *ep = e->next; /* its early pipe, if any, is dropped below */
            free(e);
            rc = 0;
        } else {
            ep = &e->next;
        }
    }
    pthread_mutex_unlock(&ctx->inproc_lock);
    /* The connecting side of a link reads queue 0 (inproc_join). */
    nmi_pipe *p, *next;
    TAILQ_FOREACH_SAFE(p, &s->pipes, sock_entry, next)
    {
        if (p->link != NULL && p->in == &p->link->q[0] && strcmp(p->endpoint, endpoint) == 0) {
            nmi_sock_drop_pipe(s, p);
            rc = 0;
        }
    }
    return rc;
}

void nmi_inproc_wake(nmi_pipe *p, int cmd)
{
    nmi_pipe *peer = atomic_load(&p->mate);
    if (peer == NULL)
        return;
    atomic_int *asleep = cmd == NMI_CMD_IN_READY ? &peer->in_asleep : &peer->out_asleep;
    if (!atomic_load_explicit(asleep, memory_order_relaxed))
        return; /* the caller fenced: a sleeper that set its flag before is seen */
    /* The peer's socket may have let go of its pipe and been freed (its eventfd number
     * reused): once the link is broken nobody there waits for us. */
    nmi_link *l = p->link;
    pthread_mutex_lock(&l->lock);
    int one = 1;
    if (!l->broken && atomic_compare_exchange_strong(asleep, &one, 0))
        nmi_sock_post(peer->sock, cmd, peer);
    pthread_mutex_unlock(&l->lock);
}

void nmi_inproc_unlink(nmi_pipe *p)
{
    nmi_link *l = p->link;
    pthread_mutex_lock(&l->lock);
    nmi_pipe *peer = atomic_load(&p->mate);
    if (!l->broken) {
        l->broken = true;
        if (peer != NULL) {
            atomic_store(&peer->gone, 1);
            atomic_store(&peer->state, NM_PIPE_CLOSED);
            nmi_pipe_in_notify(peer);
            nmi_sock_post(peer->sock, NMI_CMD_DETACH, peer);
        }
    }
    pthread_mutex_unlock(&l->lock);
    /* Drop our hold on the peer pipe, or, never joined, the hold no peer took. */
    nmi_pipe_release(peer != NULL ? peer : p);
}

void nmi_inproc_fini(nmi_ctx *ctx)
{
    pthread_mutex_lock(&ctx->inproc_lock);
    while (ctx->inproc != NULL) {
        nmi_inproc_entry *e = ctx->inproc;
        ctx->inproc = e->next;
        inproc_entry_free(e);
    }
    pthread_mutex_unlock(&ctx->inproc_lock);
}
