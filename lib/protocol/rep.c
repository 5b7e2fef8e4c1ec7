/*
 * rep.c - REP: receive a request, send its reply, in strict turn (RFC 28).
 *
 * The envelope of a request (every frame up to and including the empty delimiter) is
 * kept and put back in front of the reply, which goes to the pipe the request came
 * from.  A request without a delimiter is discarded.  A reply whose pipe is gone or
 * full is dropped, as libzmq's REP does.
 */
#include <errno.h>
#include <stdlib.h>

#include "protocol/pipeset.h"

typedef struct rep_state {
    nmi_pipeset fq;       /* requests from all peers */
    bool sending;         /* a request was delivered; its reply is due */
    nmi_msg env;          /* that request's envelope */
    nmi_pipe *reply_pipe; /* where the reply goes, NULL if the peer left */
} rep_state;

static int rep_init(nmi_sock *s)
{
    rep_state *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return -ENOMEM;
    nmi_pipeset_init(&r->fq, false);
    nm_msg_init((nm_msg_t *)&r->env);
    s->pdata = r;
    return 0;
}

static void rep_fini(nmi_sock *s)
{
    rep_state *r = s->pdata;
    nmi_pipeset_fini(&r->fq);
    nmi_msg_clear(&r->env);
    free(r);
}

static void rep_attach(nmi_sock *s, nmi_pipe *p)
{
    nmi_pipeset_add(&((rep_state *)s->pdata)->fq, p);
}

static void rep_detach(nmi_sock *s, nmi_pipe *p)
{
    rep_state *r = s->pdata;
    if (r->reply_pipe == p)
        r->reply_pipe = NULL;
    nmi_pipeset_remove(&r->fq, p);
}

static void rep_in_ready(nmi_sock *s, nmi_pipe *p)
{
    nmi_pipeset_activate(&((rep_state *)s->pdata)->fq, p);
}

static void rep_out_ready(nmi_sock *s, nmi_pipe *p)
{
    (void)s;
    (void)p;
}

static int rep_recv(nmi_sock *s, nmi_msg *m)
{
    rep_state *r = s->pdata;
    if (r->sending)
        return NM_EFSM;
    for (;;) {
        nmi_pipe *from;
        int rc = nmi_fq_recv(s, &r->fq, m, &from);
        if (rc < 0)
            return rc;
        uint32_t k = 0;
        while (k < m->n && nmi_msg_frame(m, k)->size > 0)
            k++;
        if (k + 1 >= m->n) {
            nmi_msg_clear(m); /* no delimiter, or nothing after it */
            continue;
        }
        if (nmi_msg_take_front(m, k + 1, &r->env) < 0) {
            nmi_msg_clear(&r->env);
            nmi_msg_clear(m);
            return -ENOMEM;
        }
        r->reply_pipe = from;
        r->sending = true;
        return 0;
    }
}

static int rep_send(nmi_sock *s, nmi_msg *m)
{
    rep_state *r = s->pdata;
    if (!r->sending)
        return NM_EFSM;
    nmi_msg out = r->env;
    nm_msg_init((nm_msg_t *)&r->env);
    if (nmi_msg_append(&out, m) < 0) {
        nmi_msg_clear(&out);
        return -ENOMEM;
    }
    r->sending = false;
    nmi_pipe *p = r->reply_pipe;
    r->reply_pipe = NULL;
    if (p == NULL || nmi_pipe_write(p, &out) < 0) {
        if (p != NULL)
            nmi_pipe_drop(p, "pipe full");
        nmi_msg_clear(&out);
    }
    return 0;
}

static bool rep_has_out(nmi_sock *s)
{
    return ((rep_state *)s->pdata)->sending;
}

static int rep_send_ready(nmi_sock *s, const void *head, size_t len)
{
    (void)head;
    (void)len;
    return rep_has_out(s) ? 0 : NM_EFSM; /* a reply never waits */
}

const nmi_proto_ops nmi_rep_ops = {
    .type = NM_REP,
    .flags = NMI_PROTO_ALTERNATES,
    .can_send = true,
    .can_recv = true,
    .init = rep_init,
    .fini = rep_fini,
    .attach = rep_attach,
    .detach = rep_detach,
    .in_ready = rep_in_ready,
    .out_ready = rep_out_ready,
    .send = rep_send,
    .recv = rep_recv,
    .has_out = rep_has_out,
    .send_ready = rep_send_ready,
};
