/*
 * sub.c - SUB and XSUB: receive what publishers send for our subscriptions (RFC 29).
 *
 * Subscriptions are counted here (two NM_SUBSCRIBEs of a prefix need two
 * NM_UNSUBSCRIBEs); every subscribe and the last cancel of a prefix travel upstream, as
 * libzmq 4.3's do (an XPUB_VERBOSE publisher reports each subscribe; it holds a prefix
 * once per subscriber, so one cancel undoes it), as a message of 0x01/0x00 + prefix
 * that the engine sends as SUBSCRIBE / CANCEL to ZMTP 3.1 peers.  A pipe that attaches gets every
 * live subscription. SUB also filters what it receives, since a publisher speaking an older
 * protocol may not filter; XSUB does not (as libzmq's: an XPUB_MANUAL publisher sends what its
 * application chose).  XSUB takes subscriptions as messages and sends anything else
 * upstream.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/mtrie.h"
#include "protocol/pipeset.h"

/* The one "pipe" our own subscriptions are filed under in the local trie. */
#define SUB_SELF ((void *)1)

typedef struct sub_topic {
    uint8_t *prefix; /* subscribed bytes */
    size_t len;      /* their count */
    int count;       /* subscribes minus cancels */
} sub_topic;

typedef struct sub_state {
    nmi_pipeset fq;    /* incoming, fair-queued */
    nmi_pipeset all;   /* every pipe, for sending upstream */
    nmi_mtrie *filter; /* our subscriptions, for local matching */
    sub_topic *topics; /* our subscriptions, for replay to new pipes */
    size_t ntopics;    /* entries used */
} sub_state;

static int sub_init(nmi_sock *s)
{
    sub_state *p = calloc(1, sizeof(*p));
    if (p == NULL || (p->filter = nmi_mtrie_new()) == NULL) {
        free(p);
        return -ENOMEM;
    }
    nmi_pipeset_init(&p->fq, false);
    nmi_pipeset_init(&p->all, true);
    s->pdata = p;
    return 0;
}

static void sub_fini(nmi_sock *s)
{
    sub_state *p = s->pdata;
    nmi_pipeset_fini(&p->fq);
    nmi_pipeset_fini(&p->all);
    nmi_mtrie_destroy(&p->filter);
    for (size_t i = 0; i < p->ntopics; i++)
        free(p->topics[i].prefix);
    free(p->topics);
    free(p);
}

/* Sends kind (1 subscribe, 0 cancel) + prefix to one pipe; a full pipe loses it. */
static void sub_tell(nmi_pipe *pipe, uint8_t kind, const uint8_t *prefix, size_t len)
{
    nmi_msg m = {0};
    nmi_frame *f = nmi_msg_push_frame(&m);
    uint8_t *d = f ? nmi_frame_alloc(f, len + 1) : NULL;
    if (d != NULL) {
        d[0] = kind;
        memcpy(d + 1, prefix, len);
        if (nmi_pipe_write(pipe, &m) == 0)
            return;
        nmi_pipe_drop(pipe, "pipe full");
    }
    nmi_msg_clear(&m);
}

static void sub_tell_all(sub_state *p, uint8_t kind, const uint8_t *prefix, size_t len)
{
    for (int i = 0; i < p->all.n; i++)
        sub_tell(p->all.pipes[i], kind, prefix, len);
}

static sub_topic *sub_find(sub_state *p, const uint8_t *prefix, size_t len)
{
    for (size_t i = 0; i < p->ntopics; i++)
        if (p->topics[i].len == len && memcmp(p->topics[i].prefix, prefix, len) == 0)
            return &p->topics[i];
    return NULL;
}

/* Counts a subscribe (kind 1) or cancel (kind 0); tells publishers of every subscribe
 * and of the last cancel. */
static int sub_change(sub_state *p, uint8_t kind, const uint8_t *prefix, size_t len)
{
    sub_topic *t = sub_find(p, prefix, len);
    if (kind == 0) {
        if (t == NULL)
            return 0; /* cancelling what was never subscribed does nothing, as in libzmq */
        nmi_mtrie_rm(p->filter, prefix, len, SUB_SELF);
        if (--t->count > 0)
            return 0;
        sub_tell_all(p, 0, prefix, len);
        free(t->prefix);
        *t = p->topics[--p->ntopics];
        return 0;
    }
    if (nmi_mtrie_add(p->filter, prefix, len, SUB_SELF) < 0)
        return -ENOMEM;
    if (t != NULL) {
        t->count++;
        sub_tell_all(p, 1, prefix, len); /* for XPUB_VERBOSE upstream */
        return 0;
    }
    sub_topic *a = reallocarray(p->topics, p->ntopics + 1, sizeof(*a));
    uint8_t *copy = malloc(len ? len : 1);
    if (a == NULL || copy == NULL) {
        if (a != NULL)
            p->topics = a;
        free(copy);
        nmi_mtrie_rm(p->filter, prefix, len, SUB_SELF);
        return -ENOMEM;
    }
    p->topics = a;
    memcpy(copy, prefix, len);
    p->topics[p->ntopics++] = (sub_topic){.prefix = copy, .len = len, .count = 1};
    sub_tell_all(p, 1, prefix, len);
    return 0;
}

static int sub_setopt(nmi_sock *s, int opt, const void *val, size_t len)
{
    return sub_change(s->pdata, opt == NM_SUBSCRIBE ? 1 : 0, val, len);
}

static void sub_attach(nmi_sock *s, nmi_pipe *pipe)
{
    sub_state *p = s->pdata;
    nmi_pipeset_add(&p->fq, pipe);
    nmi_pipeset_add(&p->all, pipe);
    for (size_t i = 0; i < p->ntopics; i++)
        sub_tell(pipe, 1, p->topics[i].prefix, p->topics[i].len);
}

static void sub_detach(nmi_sock *s, nmi_pipe *pipe)
{
    sub_state *p = s->pdata;
    nmi_pipeset_remove(&p->fq, pipe);
    nmi_pipeset_remove(&p->all, pipe);
}

static void sub_in_ready(nmi_sock *s, nmi_pipe *pipe)
{
    nmi_pipeset_activate(&((sub_state *)s->pdata)->fq, pipe);
}

static void sub_out_ready(nmi_sock *s, nmi_pipe *pipe)
{
    (void)s;
    (void)pipe;
}

static void sub_match_cb(void *pipe, void *arg)
{
    (void)pipe;
    *(bool *)arg = true;
}

static int sub_recv(nmi_sock *s, nmi_msg *m)
{
    sub_state *p = s->pdata;
    for (;;) {
        int rc = nmi_fq_recv(s, &p->fq, m, NULL);
        if (rc < 0 || s->type == NM_XSUB) /* XSUB takes what comes, as libzmq's */
            return rc;
        bool wanted = false;
        nmi_mtrie_match(p->filter, nmi_frame_data(&m->first), m->first.size, sub_match_cb, &wanted);
        if (wanted != s->opts.invert_matching)
            return 0;
        nmi_msg_clear(m);
    }
}

/* XSUB: a subscription message is counted and, when new, sent on; anything else goes
 * to every publisher. */
static int xsub_send(nmi_sock *s, nmi_msg *m)
{
    sub_state *p = s->pdata;
    const uint8_t *d = nmi_frame_data(&m->first);
    if (m->n == 1 && m->first.size > 0 && d[0] <= 1) {
        int rc = sub_change(p, d[0], d + 1, m->first.size - 1);
        if (rc < 0)
            return rc;
        nmi_msg_clear(m);
        return 0;
    }
    for (int i = 0; i < p->all.n; i++) {
        nmi_msg copy;
        if (nm_msg_copy((nm_msg_t *)&copy, (nm_msg_t *)m) < 0)
            return -ENOMEM;
        if (nmi_pipe_write(p->all.pipes[i], &copy) < 0)
            nmi_msg_clear(&copy);
    }
    nmi_msg_clear(m);
    return 0;
}

/* SUB and XSUB differ only in how subscriptions come: SUB by NM_SUBSCRIBE, XSUB by
 * sending them as messages. */
#define SUB_OPS(sock_type, send_fn, setopt_fn)                                                     \
    {                                                                                              \
        .type = (sock_type), .flags = NMI_PROTO_SENDS_SUBS, .can_send = (send_fn) != NULL,         \
        .can_recv = true, .init = sub_init, .fini = sub_fini, .attach = sub_attach,                \
        .detach = sub_detach, .in_ready = sub_in_ready, .out_ready = sub_out_ready,                \
        .send = (send_fn), .recv = sub_recv, .has_out = nmi_proto_never_blocks,                    \
        .setopt = (setopt_fn),                                                                     \
    }

const nmi_proto_ops nmi_sub_ops = SUB_OPS(NM_SUB, NULL, sub_setopt);
const nmi_proto_ops nmi_xsub_ops = SUB_OPS(NM_XSUB, xsub_send, NULL);
