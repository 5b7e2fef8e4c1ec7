/*
 * pipe.c - the queue pair between a socket and one connection, with its HWMs, its
 * sleep/wake handshake and its counters.
 *
 * Each direction is an SPSC queue.  A consumer that finds its queue empty (or a
 * producer that finds it full) sets an "asleep" flag, then looks again; the other side
 * clears the flag with a CAS when it changes the queue and posts an activation
 * command.  Both sides use sequentially consistent operations around the flag, so one
 * of them always sees the other: no wakeup is lost and no message waits forever.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

#include "engine/engine.h"

static nmi_pipe *pipe_alloc(nmi_sock *s, const char *endpoint)
{
    nmi_pipe *p = nmi_calloc_lines(sizeof(*p));
    if (p == NULL)
        return NULL;
    nmi_queue_init(&p->qbuf[0]);
    nmi_queue_init(&p->qbuf[1]);
    p->in = &p->qbuf[0];
    p->out = &p->qbuf[1];
    atomic_init(&p->sndhwm, s->opts.sndhwm);
    atomic_init(&p->rcvhwm, s->opts.rcvhwm);
    atomic_init(&p->peer_rcvhwm, -1);
    atomic_init(&p->refs, 2);
    /* The application has not looked at a new pipe yet: its first message wakes it
     * (a socket watched through NM_FD has no other way to hear of it). */
    atomic_init(&p->in_asleep, 1);
    atomic_init(&p->out_asleep, 0);
    atomic_init(&p->gone, 0);
    atomic_init(&p->state, NM_PIPE_CONNECTING);
    atomic_init(&p->mate, NULL);
    atomic_init(&p->latest, NULL);
    p->sock = s;
    p->lb_idx = p->fq_idx = -1;
    p->id = nmi_ctx_next_id(s->ctx);
    strlcpy(p->endpoint, endpoint, sizeof(p->endpoint));
    pthread_mutex_lock(&s->ctx->reg_lock);
    TAILQ_INSERT_TAIL(&s->reg_pipes, p, reg_entry);
    p->registered = true;
    pthread_mutex_unlock(&s->ctx->reg_lock);
    return p;
}

void nmi_pipe_unregister(nmi_pipe *p)
{
    if (!p->registered)
        return;
    nmi_ctx *ctx = p->sock->ctx;
    pthread_mutex_lock(&ctx->reg_lock);
    TAILQ_REMOVE(&p->sock->reg_pipes, p, reg_entry);
    p->registered = false;
    pthread_mutex_unlock(&ctx->reg_lock);
}

nmi_pipe *nmi_pipe_new(nmi_sock *s, nmi_conn *c, const char *endpoint)
{
    nmi_pipe *p = pipe_alloc(s, endpoint);
    if (p != NULL) {
        p->conn = c;
        p->conflate = nmi_pipe_conflates(&s->opts, s->type);
        atomic_fetch_add(&c->refs, 1);
    }
    return p;
}

bool nmi_pipe_conflates(const nmi_opts *o, int type)
{
    /* libzmq's CONFLATE types; of them, PUSH and PUB receive nothing but subscriptions,
     * which are never conflated. */
    return o->conflate && (type == NM_PULL || type == NM_SUB || type == NM_DEALER);
}

nmi_pipe *nmi_pipe_new_inproc(nmi_sock *s, nmi_link *link, int idx, const char *endpoint)
{
    nmi_pipe *p = pipe_alloc(s, endpoint);
    if (p != NULL) {
        p->link = link;
        p->in = &link->q[idx];
        p->out = &link->q[1 - idx];
        atomic_fetch_add(&link->refs, 1);
    }
    return p;
}

void nmi_pipe_release(nmi_pipe *p)
{
    if (atomic_fetch_sub(&p->refs, 1) != 1)
        return;
    nmi_pipe_unregister(p);
    nmi_queue_fini(&p->qbuf[0]);
    nmi_queue_fini(&p->qbuf[1]);
    nmi_msg *latest = atomic_load(&p->latest);
    if (latest != NULL) {
        nmi_msg_clear(latest);
        free(latest);
    }
    if (p->conn != NULL)
        nmi_conn_release(p->conn);
    if (p->link != NULL)
        nmi_link_release(p->link);
    free(p);
}

int nmi_pipe_sndhwm(nmi_pipe *p)
{
    int own = atomic_load_explicit(&p->sndhwm, memory_order_relaxed);
    int peer = atomic_load_explicit(&p->peer_rcvhwm, memory_order_relaxed);
    if (p->link == NULL || peer < 0)
        return own;
    return own > 0 && peer > 0 ? own + peer : 0; /* libzmq's sum: one queue for two pipes */
}

void nmi_pipe_set_hwms(nmi_pipe *p, int sndhwm, int rcvhwm)
{
    atomic_store_explicit(&p->sndhwm, sndhwm, memory_order_relaxed);
    atomic_store_explicit(&p->rcvhwm, rcvhwm, memory_order_relaxed);
    nmi_pipe *mate = p->link != NULL ? atomic_load(&p->mate) : NULL;
    if (mate != NULL) /* held by p: the peer's send limit counts our RCVHWM */
        atomic_store_explicit(&mate->peer_rcvhwm, p->conflate ? 0 : rcvhwm, memory_order_relaxed);
    /* A sender waiting for room (ours, or the inproc peer's) looks again: the limit may
     * have grown.  The wakeups' own fences order them after the stores. */
    nmi_pipe_out_notify(p);
    if (mate != NULL) {
        atomic_thread_fence(memory_order_seq_cst);
        nmi_inproc_wake(p, NMI_CMD_OUT_READY);
    }
}

static bool pipe_full(nmi_pipe *p)
{
    int hwm = nmi_pipe_sndhwm(p);
    if (hwm <= 0)
        return false;
    uint64_t pushed = atomic_load_explicit(&p->out->pushed, memory_order_relaxed);
    if (pushed - p->out->popped_cache < (uint64_t)hwm)
        return false;
    return nmi_queue_size_p(p->out) >= (uint64_t)hwm;
}

bool nmi_pipe_writable(nmi_pipe *p)
{
    return !atomic_load_explicit(&p->gone, memory_order_relaxed) && !pipe_full(p);
}

/* Counts one HWM hit per time the pipe fills. */
static void pipe_hit_hwm(nmi_pipe *p)
{
    if (!p->full_seen) {
        p->full_seen = true;
        atomic_fetch_add_explicit(&p->hwm_hits, 1, memory_order_relaxed);
        nmi_monitor(p->sock, NM_EVENT_HWM_REACHED, (uint32_t)nmi_pipe_sndhwm(p), p->endpoint,
                    "send");
    }
}

bool nmi_pipe_room(nmi_pipe *p)
{
    if (atomic_load_explicit(&p->gone, memory_order_relaxed))
        return false;
    if (pipe_full(p)) {
        pipe_hit_hwm(p);
        return false;
    }
    p->full_seen = false;
    return true;
}

int nmi_pipe_wait_room(nmi_pipe *p)
{
    if (atomic_load_explicit(&p->gone, memory_order_relaxed))
        return -EPIPE;
    if (pipe_full(p)) {
        pipe_hit_hwm(p);
        /* Ask the writer for OUT_READY on every failure: an earlier request may have
         * been answered (and the flag cleared) while the pipe filled up again. */
        atomic_store(&p->out_asleep, 1);
        if (pipe_full(p))
            return -EAGAIN;
        int one = 1;
        if (!atomic_compare_exchange_strong(&p->out_asleep, &one, 0))
            return -EAGAIN; /* the writer already posted OUT_READY: wait for it */
    }
    p->full_seen = false;
    return 0;
}

int nmi_pipe_push(nmi_pipe *p, nmi_msg *m)
{
    /* An inproc peer that conflates takes the message in place of its waiting one. */
    nmi_pipe *mate = p->link != NULL ? atomic_load(&p->mate) : NULL;
    if (mate != NULL && mate->conflate) {
        if (atomic_load_explicit(&p->gone, memory_order_relaxed))
            return -EPIPE;
        nmi_pipe_conflate_in(mate, m);
        return 0;
    }
    int rc = nmi_pipe_wait_room(p);
    if (rc < 0)
        return rc;
    return nmi_queue_push(p->out, m) < 0 ? -ENOMEM : 0;
}

/* Clears a sleeping side's flag and posts its wakeup; the caller has fenced. */
static void pipe_wake(nmi_pipe *p, atomic_int *asleep, int cmd)
{
    if (atomic_load_explicit(asleep, memory_order_relaxed)) {
        int one = 1;
        if (atomic_compare_exchange_strong(asleep, &one, 0))
            nmi_sock_post(p->sock, cmd, p);
    }
}

void nmi_pipe_wake_fenced(nmi_pipe *p)
{
    if (p->conn != NULL) {
        nmi_conn_kick_fenced(p->conn);
        return;
    }
    nmi_inproc_wake(p, NMI_CMD_IN_READY);
}

int nmi_pipe_write(nmi_pipe *p, nmi_msg *m)
{
    int rc = nmi_pipe_push(p, m);
    if (rc == 0) {
        atomic_thread_fence(memory_order_seq_cst);
        nmi_pipe_wake_fenced(p);
    }
    return rc;
}

/* The reader paused at the receive HWM: once half the queue is drained, let it read
 * again.  conn_frame_done pauses with a full fence before its own look at the queue,
 * so one of the two sides sees the other. */
static void pipe_resume_reader(nmi_pipe *p, nmi_conn *c)
{
    int rcvhwm = atomic_load_explicit(&p->rcvhwm, memory_order_relaxed);
    if (!atomic_load(&c->rpaused) || nmi_queue_count(p->in) > (uint64_t)(rcvhwm / 2))
        return;
    int zero = 0;
    if (atomic_compare_exchange_strong(&c->resume_posted, &zero, 1)) {
        atomic_fetch_add(&c->refs, 1); /* dropped by nmi_conn_resume */
        nmi_io_post(c->io, NMI_CMD_RESUME, c);
    }
}

uint64_t nmi_pipe_queued_in(nmi_pipe *p)
{
    return nmi_queue_count(p->in) +
           (atomic_load_explicit(&p->latest, memory_order_relaxed) != NULL);
}

void nmi_pipe_conflate_in(nmi_pipe *p, nmi_msg *m)
{
    nmi_msg *box = malloc(sizeof(*box));
    if (box == NULL) {
        nmi_msg_clear(m);
        nmi_pipe_drop_in(p, "out of memory");
        return;
    }
    nmi_msg_move(box, m);
    nmi_msg *old = atomic_exchange(&p->latest, box);
    if (old != NULL) {
        nmi_msg_clear(old);
        free(old);
        nmi_pipe_drop_in(p, "conflated");
    }
}

/* CONFLATE, inproc: the newest of what the peer queued before it knew we conflate (sent
 * before the bind), the others dropped; false if none. */
static bool pipe_newest_queued(nmi_pipe *p, nmi_msg *m)
{
    bool have = false;
    nmi_msg next;
    while (p->link != NULL && nmi_queue_pop(p->in, &next)) {
        if (have) {
            nmi_msg_clear(m);
            nmi_pipe_drop(p, "conflated"); /* drops_in is the peer sender's to count */
        }
        *m = next;
        have = true;
    }
    if (have) { /* the writer may wait for room */
        atomic_thread_fence(memory_order_seq_cst);
        nmi_inproc_wake(p, NMI_CMD_OUT_READY);
    }
    return have;
}

/* CONFLATE: takes p->latest (newer than anything queued), with the sleep handshake of
 * nmi_pipe_read. */
static bool pipe_read_latest(nmi_pipe *p, nmi_msg *m)
{
    for (int turn = 0;; turn++) {
        bool queued = pipe_newest_queued(p, m);
        nmi_msg *box = atomic_exchange(&p->latest, NULL);
        if (box != NULL) {
            if (queued) {
                nmi_msg_clear(m);
                nmi_pipe_drop(p, "conflated");
            }
            *m = *box;
            free(box);
        }
        if (box != NULL || queued) {
            if (turn > 0) { /* found after the flag went up: take it down again */
                int one = 1;
                atomic_compare_exchange_strong(&p->in_asleep, &one, 0);
            }
            return true;
        }
        if (turn > 0)
            return false;
        atomic_store(&p->in_asleep, 1);
    }
}

/* A disconnected pipe's input, dropped. */
static void pipe_discard(nmi_pipe *p)
{
    nmi_msg m;
    while (p->conflate ? pipe_read_latest(p, &m) : nmi_queue_pop(p->in, &m)) {
        nmi_msg_clear(&m);
        nmi_pipe_drop(p, "disconnected");
    }
}

bool nmi_pipe_read(nmi_pipe *p, nmi_msg *m)
{
    if (p->discard)
        pipe_discard(p);
    if (p->conflate)
        return pipe_read_latest(p, m);
    nmi_conn *c = p->conn;
    if (!nmi_queue_pop(p->in, m)) {
        atomic_store(&p->in_asleep, 1);
        if (!nmi_queue_pop(p->in, m)) {
            /* Drained: the reader may have paused after our last look at it, which
             * saw the queue before the last pops (no fence on the fast path). */
            if (c != NULL) {
                atomic_thread_fence(memory_order_seq_cst);
                pipe_resume_reader(p, c);
            }
            return false;
        }
        int one = 1;
        if (!atomic_compare_exchange_strong(&p->in_asleep, &one, 0))
            return true; /* an IN_READY is on its way; it is harmless */
    }
    if (c == NULL) {
        atomic_thread_fence(memory_order_seq_cst);
        nmi_inproc_wake(p, NMI_CMD_OUT_READY); /* the writer may wait for room */
        return true;
    }
    if (atomic_load_explicit(&c->rpaused, memory_order_relaxed))
        pipe_resume_reader(p, c);
    return true;
}

void nmi_pipe_in_notify(nmi_pipe *p)
{
    atomic_thread_fence(memory_order_seq_cst);
    pipe_wake(p, &p->in_asleep, NMI_CMD_IN_READY);
}

void nmi_pipe_out_notify(nmi_pipe *p)
{
    atomic_thread_fence(memory_order_seq_cst);
    pipe_wake(p, &p->out_asleep, NMI_CMD_OUT_READY);
}

void nmi_pipe_drop(nmi_pipe *p, const char *why)
{
    nmi_count(&p->drops, 1);
    nmi_monitor(p->sock, NM_EVENT_DROPPED, 1, p->endpoint, why);
}

void nmi_pipe_drop_in(nmi_pipe *p, const char *why)
{
    nmi_count(&p->drops_in, 1);
    nmi_monitor(p->sock, NM_EVENT_DROPPED, 1, p->endpoint, why);
}
