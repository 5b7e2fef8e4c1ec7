/*
 * pub.c - PUB and XPUB: send each message to every subscriber whose subscription is a
 * prefix of its first frame (RFC 29).
 *
 * Subscriptions arrive on each pipe's input as messages of 0x01 (or 0x00 to cancel)
 * followed by the prefix (the engine turns ZMTP 3.1 SUBSCRIBE/CANCEL commands into
 * this form) and are kept in an mtrie, once per pipe as in libzmq (a subscriber sends
 * every subscribe of its application and only the last cancel of a prefix).  A subscriber whose
 * pipe is full misses the message, and the drop is counted on its pipe: a publisher never blocks.
 * Copies share large frames; only the last subscriber takes the original. XPUB also hands
 * subscriptions to the application (new ones only, every one with XPUB_VERBOSE) and passes on any
 * other message a subscriber sends.  With XPUB_MANUAL it hands on every subscribe and cancel and
 * keeps them aside (in `asked`, still counted against the subscriber's limits, and for telling the
 * application of each when the subscriber goes); what subscribers receive is what the application
 * sets with NM_SUBSCRIBE / NM_UNSUBSCRIBE for the subscriber of the last subscription it received
 * (libzmq's contract).  While RCVHWM of them wait for the application, subscribers' input waits in
 * their pipes (whose readers then stop at their own HWM), so a peer cannot grow that queue without
 * bound.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/mtrie.h"
#include "protocol/pipeset.h"

/* XPUB: who sent a message of `up`, for XPUB_MANUAL. */
typedef struct pub_from {
    nmi_pipe *pipe; /* the subscriber, or NULL when gone (or for its goodbye cancels) */
    bool sets;      /* a subscribe or cancel: receiving it makes `pipe` the last one */
} pub_from;

typedef struct pub_state {
    nmi_pipeset pipes;  /* every subscriber */
    nmi_mtrie *subs;    /* their subscriptions (XPUB_MANUAL: those the application set) */
    nmi_mtrie *asked;   /* XPUB_MANUAL: the subscriptions subscribers sent */
    nmi_pipe *last;     /* XPUB_MANUAL: whose subscription the application read last */
    nmi_pipe **matched; /* scratch: pipes matching the message being sent */
    size_t nmatched;    /* entries used */
    size_t cap_matched; /* entries allocated */
    nmi_queue up;       /* XPUB: messages from subscribers for the application */
    pub_from *from;     /* XPUB: a ring, who sent each message of `up`, in its order */
    size_t from_head;   /* the oldest entry */
    size_t from_n;      /* entries used (= messages in `up`) */
    size_t from_cap;    /* entries allocated */
    bool up_full;       /* XPUB: pipes were left unread because `up` was full */
} pub_state;

static int pub_init(nmi_sock *s)
{
    pub_state *p = nmi_calloc_lines(sizeof(*p));
    if (p == NULL || (p->subs = nmi_mtrie_new()) == NULL || (p->asked = nmi_mtrie_new()) == NULL) {
        if (p != NULL)
            nmi_mtrie_destroy(&p->subs);
        free(p);
        return -ENOMEM;
    }
    nmi_pipeset_init(&p->pipes, true);
    nmi_queue_init(&p->up);
    s->pdata = p;
    return 0;
}

static void pub_fini(nmi_sock *s)
{
    pub_state *p = s->pdata;
    nmi_pipeset_fini(&p->pipes);
    nmi_mtrie_destroy(&p->subs);
    nmi_mtrie_destroy(&p->asked);
    nmi_queue_fini(&p->up);
    free(p->from);
    free(p->matched);
    free(p);
}

/* XPUB: queues m for the application (m emptied, or cleared if it cannot be). */
static void pub_up(pub_state *p, nmi_msg *m, nmi_pipe *from, bool sets)
{
    if (p->from_n == p->from_cap) {
        size_t cap = p->from_cap ? p->from_cap * 2 : 16;
        pub_from *a = reallocarray(NULL, cap, sizeof(*a));
        if (a == NULL) {
            nmi_msg_clear(m);
            return;
        }
        for (size_t i = 0; i < p->from_n; i++)
            a[i] = p->from[(p->from_head + i) % p->from_cap];
        free(p->from);
        p->from = a;
        p->from_head = 0;
        p->from_cap = cap;
    }
    if (nmi_queue_push(&p->up, m) < 0) {
        nmi_msg_clear(m);
        return;
    }
    p->from[(p->from_head + p->from_n++) % p->from_cap] = (pub_from){from, sets};
}

/* XPUB: queues a subscription message (kind 1 or 0) from `from` for the application. */
static void pub_tell_app(pub_state *p, uint8_t kind, const uint8_t *prefix, size_t len,
                         nmi_pipe *from)
{
    nmi_msg m = {0};
    nmi_frame *f = nmi_msg_push_frame(&m);
    uint8_t *d = f ? nmi_frame_alloc(f, len + 1) : NULL;
    if (d == NULL) {
        nmi_msg_clear(&m);
        return;
    }
    d[0] = kind;
    memcpy(d + 1, prefix, len);
    pub_up(p, &m, from, true);
}

/* XPUB: the last subscriber to a prefix has gone (XPUB_MANUAL: a subscriber to it). */
static void pub_unsub_cb(const uint8_t *prefix, size_t len, void *arg)
{
    pub_tell_app(arg, 0, prefix, len, NULL);
}

/* The engine counted a subscription message against its subscriber's limits when it
 * queued it (conn_read.c); this gives one back when the trie does not keep it. */
static void pub_uncount(nmi_pipe *pipe, size_t prefix_len)
{
    atomic_fetch_sub(&pipe->subs, 1);
    atomic_fetch_sub(&pipe->sub_bytes, prefix_len);
}

/* XPUB: true (and remembered) when the application has RCVHWM messages to take. */
static bool pub_up_full(nmi_sock *s, pub_state *p)
{
    if (s->type != NM_XPUB || s->opts.rcvhwm <= 0 ||
        nmi_queue_count(&p->up) < (uint64_t)s->opts.rcvhwm)
        return false;
    p->up_full = true;
    return true;
}

/* Applies everything a subscriber sent: subscriptions, cancels, other messages. */
static void pub_in_ready(nmi_sock *s, nmi_pipe *pipe)
{
    pub_state *p = s->pdata;
    bool xpub = s->type == NM_XPUB;
    nmi_msg m;
    while (!pub_up_full(s, p) && nmi_pipe_read(pipe, &m)) {
        nmi_frame *f = &m.first;
        const uint8_t *d = nmi_frame_data(f);
        if (m.n != 1 || f->size == 0 || d[0] > 1) {
            if (xpub)
                pub_up(p, &m, pipe, false); /* XPUB passes other messages on */
            else
                nmi_msg_clear(&m);
            continue;
        }
        size_t len = f->size - 1;
        if (xpub && s->opts.xpub_manual) { /* kept aside and handed on, each */
            int rc = d[0] == 1 ? nmi_mtrie_add_once(p->asked, d + 1, len, pipe)
                               : nmi_mtrie_rm(p->asked, d + 1, len, pipe);
            if (d[0] == 0 || rc < 0)
                pub_uncount(pipe, len);
            if (d[0] == 0 && rc >= 0)
                pub_uncount(pipe, len);
            pub_tell_app(p, d[0], d + 1, len, pipe);
        } else if (d[0] == 1) {
            int rc = nmi_mtrie_add_once(p->subs, d + 1, len, pipe);
            if (rc < 0)
                pub_uncount(pipe, len); /* held already (-EEXIST), or no memory */
            bool verbose = s->opts.xpub_verbose || s->opts.xpub_verboser;
            if (xpub && (rc == 1 || ((rc == 0 || rc == -EEXIST) && verbose)))
                pub_tell_app(p, 1, d + 1, len, pipe);
        } else {
            /* As libzmq's: a cancel for a prefix the subscriber did not hold is passed on
             * too (the application may be a proxy that forwarded it). */
            int rc = nmi_mtrie_rm(p->subs, d + 1, len, pipe);
            pub_uncount(pipe, len); /* the cancel itself */
            if (rc >= 0)
                pub_uncount(pipe, len); /* and the subscription it removed */
            if (xpub && (rc != 0 || s->opts.xpub_verboser))
                pub_tell_app(p, 0, d + 1, len, pipe);
        }
        nmi_msg_clear(&m);
    }
}

static void pub_attach(nmi_sock *s, nmi_pipe *pipe)
{
    pub_state *p = s->pdata;
    nmi_pipeset_add(&p->pipes, pipe);
    if (s->welcome_len > 0) { /* XPUB_WELCOME_MSG: the new subscriber's first */
        nmi_msg m = {0};
        if (nm_msg_add((nm_msg_t *)&m, s->welcome, s->welcome_len) < 0 ||
            nmi_pipe_write(pipe, &m) < 0)
            nmi_msg_clear(&m);
    }
    /* Drain now: the pipe then sleeps on an empty queue, so the next subscription
     * arriving wakes us with NMI_CMD_IN_READY. */
    pub_in_ready(s, pipe);
}

static void pub_detach(nmi_sock *s, nmi_pipe *pipe)
{
    pub_state *p = s->pdata;
    for (size_t i = 0; i < p->from_n; i++) {
        pub_from *f = &p->from[(p->from_head + i) % p->from_cap];
        if (f->pipe == pipe)
            f->pipe = NULL;
    }
    if (p->last == pipe)
        p->last = NULL;
    bool xpub = s->type == NM_XPUB, manual = xpub && s->opts.xpub_manual;
    /* XPUB_MANUAL: a cancel for each subscription it had sent, for the application to
     * undo its own; the subscriptions the application set for it go silently. */
    nmi_mtrie_rm_pipe_each(p->asked, pipe, manual ? pub_unsub_cb : NULL, p);
    nmi_mtrie_rm_pipe(p->subs, pipe, xpub && !manual ? pub_unsub_cb : NULL, p);
    nmi_pipeset_remove(&p->pipes, pipe);
}

static void pub_out_ready(nmi_sock *s, nmi_pipe *pipe)
{
    (void)s;
    (void)pipe;
}

static void pub_match_cb(void *pipe, void *arg)
{
    pub_state *p = arg;
    if (p->nmatched == p->cap_matched) {
        size_t cap = p->cap_matched ? p->cap_matched * 2 : 16;
        nmi_pipe **a = reallocarray(p->matched, cap, sizeof(*a));
        if (a == NULL)
            return; /* this subscriber misses the message */
        p->matched = a;
        p->cap_matched = cap;
    }
    p->matched[p->nmatched++] = pipe;
}

/* Queues m (or, except for the last subscriber, a copy) on one pipe; counts a drop.
 * Returns true if it was queued (the pipe's writer then needs waking). */
static bool pub_deliver(nmi_pipe *pipe, nmi_msg *m, bool last)
{
    if (!nmi_pipe_room(pipe)) {
        nmi_pipe_drop(pipe, "pipe full");
        if (last)
            nmi_msg_clear(m);
        return false;
    }
    nmi_msg copy;
    nmi_msg *out = m;
    if (!last) {
        if (nm_msg_copy((nm_msg_t *)&copy, (nm_msg_t *)m) < 0) {
            nmi_pipe_drop(pipe, "out of memory");
            return false;
        }
        out = &copy;
    }
    int rc = nmi_pipe_push(pipe, out); /* not full: nmi_pipe_room said so */
    if (rc == 0)
        return true;
    nmi_pipe_drop(pipe, rc == -EPIPE ? "subscriber gone" : "out of memory");
    nmi_msg_clear(out);
    return false;
}

/* INVERT_MATCHING: the subscribers that did not match instead (linear in subscribers
 * times matches: the option is for few subscribers). */
static void pub_invert(pub_state *p)
{
    size_t nmatched = p->nmatched;
    nmi_pipe **matched = malloc((nmatched ? nmatched : 1) * sizeof(*matched));
    if (matched == NULL)
        return;
    memcpy(matched, p->matched, nmatched * sizeof(*matched));
    p->nmatched = 0;
    for (int i = 0; i < p->pipes.n; i++) {
        size_t k = 0;
        while (k < nmatched && matched[k] != p->pipes.pipes[i])
            k++;
        if (k == nmatched)
            pub_match_cb(p->pipes.pipes[i], p);
    }
    free(matched);
}

static int pub_send(nmi_sock *s, nmi_msg *m)
{
    pub_state *p = s->pdata;
    p->nmatched = 0;
    nmi_mtrie_match(p->subs, nmi_frame_data(&m->first), m->first.size, pub_match_cb, p);
    if (s->opts.invert_matching)
        pub_invert(p);
    size_t n = p->nmatched, queued = 0;
    /* XPUB_NODROP: every subscriber takes it, or the sender waits (a subscriber gone is
     * no reason to wait). */
    for (size_t i = 0; s->opts.xpub_nodrop && i < n; i++)
        if (nmi_pipe_wait_room(p->matched[i]) == -EAGAIN)
            return -EAGAIN;
    for (size_t i = 0; i < n; i++) {
        nmi_pipe *pipe = p->matched[i];
        if (pub_deliver(pipe, m, i + 1 == n))
            p->matched[queued++] = pipe;
    }
    /* One full fence for all subscribers, then wake the writers of the pipes used. */
    atomic_thread_fence(memory_order_seq_cst);
    for (size_t i = 0; i < queued; i++)
        nmi_pipe_wake_fenced(p->matched[i]);
    if (n == 0)
        nmi_msg_clear(m); /* nobody wants it */
    return 0;
}

static int pub_recv(nmi_sock *s, nmi_msg *m)
{
    pub_state *p = s->pdata;
    if (!nmi_queue_pop(&p->up, m))
        return -EAGAIN;
    pub_from f = p->from[p->from_head];
    p->from_head = (p->from_head + 1) % p->from_cap;
    p->from_n--;
    if (f.sets)
        p->last = f.pipe;
    /* Half drained: read the pipes left unread (they are not asleep, so nothing else
     * would announce them). */
    if (p->up_full && nmi_queue_count(&p->up) <= (uint64_t)s->opts.rcvhwm / 2) {
        p->up_full = false;
        for (int i = 0; i < p->pipes.n; i++)
            pub_in_ready(s, p->pipes.pipes[i]);
    }
    return 0;
}

/* XPUB_MANUAL: NM_SUBSCRIBE and NM_UNSUBSCRIBE set what the subscriber of the last
 * subscription read receives (nothing when it has gone); -EINVAL without the option. */
static int pub_setopt(nmi_sock *s, int opt, const void *val, size_t len)
{
    pub_state *p = s->pdata;
    if (s->type != NM_XPUB || !s->opts.xpub_manual)
        return -EINVAL;
    if (p->last == NULL)
        return 0;
    if (opt == NM_UNSUBSCRIBE) {
        nmi_mtrie_rm(p->subs, val, len, p->last);
        return 0;
    }
    int rc = nmi_mtrie_add(p->subs, val, len, p->last);
    return rc < 0 ? rc : 0;
}

/* PUB and XPUB differ in XPUB receiving subscriptions (pub_in_ready looks at the type). */
#define PUB_OPS(sock_type, receives)                                                               \
    {                                                                                              \
        .type = (sock_type), .flags = NMI_PROTO_TAKES_SUBS, .can_send = true,                      \
        .can_recv = (receives), .init = pub_init, .fini = pub_fini, .attach = pub_attach,          \
        .detach = pub_detach, .in_ready = pub_in_ready, .out_ready = pub_out_ready,                \
        .send = pub_send, .recv = pub_recv, .setopt = pub_setopt,                                  \
        .has_out = nmi_proto_never_blocks,                                                         \
    }

const nmi_proto_ops nmi_pub_ops = PUB_OPS(NM_PUB, false);
const nmi_proto_ops nmi_xpub_ops = PUB_OPS(NM_XPUB, true);
