/*
 * req.c - REQ: send a request, receive its reply, in strict turn (RFC 28).
 *
 * A request goes out as [request-id (REQ_CORRELATE only), "", body...] to the next
 * pipe; only a reply from that pipe, with the same id, is delivered: anything else is
 * discarded.  REQ_RELAXED allows a new request before the reply, which abandons the
 * old one.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/stdlib.h>

#include "protocol/pipeset.h"

typedef struct req_state {
    nmi_lbfq pipes;       /* first: the lbfq helpers use s->pdata as an nmi_lbfq */
    bool expect_reply;    /* a request is out */
    nmi_pipe *reply_pipe; /* where its reply must come from */
    uint32_t req_id;      /* id of the last request (REQ_CORRELATE) */
} req_state;

static int req_init(nmi_sock *s)
{
    req_state *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return -ENOMEM;
    nmi_pipeset_init(&r->pipes.lb, true);
    nmi_pipeset_init(&r->pipes.fq, false);
    r->req_id = arc4random();
    s->pdata = r;
    return 0;
}

static void req_detach(nmi_sock *s, nmi_pipe *p)
{
    req_state *r = s->pdata;
    if (r->reply_pipe == p)
        r->reply_pipe = NULL;
    nmi_lbfq_detach(s, p);
}

static int req_send(nmi_sock *s, nmi_msg *m)
{
    req_state *r = s->pdata;
    if (r->expect_reply && !s->opts.req_relaxed)
        return NM_EFSM;
    uint32_t id = r->req_id + 1;
    uint8_t idb[4] = {(uint8_t)(id >> 24), (uint8_t)(id >> 16), (uint8_t)(id >> 8), (uint8_t)id};
    int nenv = s->opts.req_correlate ? 2 : 1;
    if (nm_msg_prepend((nm_msg_t *)m, "", 0) < 0)
        return -ENOMEM;
    if (nenv == 2 && nm_msg_prepend((nm_msg_t *)m, idb, 4) < 0) {
        nm_msg_pop_front((nm_msg_t *)m);
        return -ENOMEM;
    }
    nmi_pipe *used;
    int rc = nmi_lb_send(&r->pipes.lb, m, &used);
    if (rc < 0) {
        for (int i = 0; i < nenv; i++)
            nm_msg_pop_front((nm_msg_t *)m);
        return rc;
    }
    r->req_id = id;
    r->expect_reply = true;
    r->reply_pipe = used;
    return 0;
}

static int req_recv(nmi_sock *s, nmi_msg *m)
{
    req_state *r = s->pdata;
    if (!r->expect_reply)
        return NM_EFSM;
    for (;;) {
        nmi_pipe *from;
        int rc = nmi_fq_recv(s, &r->pipes.fq, m, &from);
        if (rc < 0)
            return rc;
        bool ok = from == r->reply_pipe;
        if (ok && s->opts.req_correlate) {
            uint32_t id = r->req_id;
            uint8_t idb[4] = {(uint8_t)(id >> 24), (uint8_t)(id >> 16), (uint8_t)(id >> 8),
                              (uint8_t)id};
            ok = m->n > 0 && m->first.size == 4 && memcmp(nmi_frame_data(&m->first), idb, 4) == 0;
            if (ok)
                nm_msg_pop_front((nm_msg_t *)m);
        }
        ok = ok && m->n > 1 && m->first.size == 0;
        if (!ok) {
            nmi_msg_clear(m); /* a stale or malformed reply */
            continue;
        }
        nm_msg_pop_front((nm_msg_t *)m);
        r->expect_reply = false;
        r->reply_pipe = NULL;
        return 0;
    }
}

static bool req_has_out(nmi_sock *s)
{
    req_state *r = s->pdata;
    return (!r->expect_reply || s->opts.req_relaxed) && nmi_lb_has_out(&r->pipes.lb);
}

static int req_send_ready(nmi_sock *s, const void *head, size_t len)
{
    (void)head;
    (void)len;
    req_state *r = s->pdata;
    if (r->expect_reply && !s->opts.req_relaxed)
        return NM_EFSM;
    return nmi_lb_ready(&r->pipes.lb);
}

const nmi_proto_ops nmi_req_ops = {
    .type = NM_REQ,
    .flags = NMI_PROTO_SENDS_RID | NMI_PROTO_ALTERNATES,
    .can_send = true,
    .can_recv = true,
    .init = req_init,
    .fini = nmi_lbfq_fini,
    .attach = nmi_lbfq_attach,
    .detach = req_detach,
    .in_ready = nmi_lbfq_in_ready,
    .out_ready = nmi_lbfq_out_ready,
    .send = req_send,
    .recv = req_recv,
    .has_out = req_has_out,
    .send_ready = req_send_ready,
};
