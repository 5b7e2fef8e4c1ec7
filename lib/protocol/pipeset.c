/*
 * pipeset.c - load balancing and fair queueing over pipes, and the envelope helpers
 * patterns share.
 */
#include <errno.h>
#include <stdlib.h>

#include "protocol/pipeset.h"

static int *ps_idx(nmi_pipeset *ps, nmi_pipe *p)
{
    return ps->is_lb ? &p->lb_idx : &p->fq_idx;
}

static void ps_swap(nmi_pipeset *ps, int i, int j)
{
    nmi_pipe *a = ps->pipes[i], *b = ps->pipes[j];
    ps->pipes[i] = b;
    ps->pipes[j] = a;
    *ps_idx(ps, a) = j;
    *ps_idx(ps, b) = i;
}

void nmi_pipeset_init(nmi_pipeset *ps, bool is_lb)
{
    ps->pipes = NULL;
    ps->n = ps->active = ps->cur = 0;
    ps->is_lb = is_lb;
}

void nmi_pipeset_fini(nmi_pipeset *ps)
{
    free(ps->pipes);
    ps->pipes = NULL;
    ps->n = ps->active = ps->cur = 0;
}

int nmi_pipeset_add(nmi_pipeset *ps, nmi_pipe *p)
{
    nmi_pipe **a = reallocarray(ps->pipes, (size_t)ps->n + 1, sizeof(*a));
    if (a == NULL)
        return -ENOMEM;
    ps->pipes = a;
    ps->pipes[ps->n] = p;
    *ps_idx(ps, p) = ps->n++;
    ps_swap(ps, ps->active++, ps->n - 1);
    return 0;
}

static void ps_deactivate(nmi_pipeset *ps, nmi_pipe *p)
{
    int i = *ps_idx(ps, p);
    if (i < 0 || i >= ps->active)
        return;
    ps_swap(ps, i, --ps->active);
    if (ps->cur >= ps->active)
        ps->cur = 0;
}

void nmi_pipeset_remove(nmi_pipeset *ps, nmi_pipe *p)
{
    int i = *ps_idx(ps, p);
    if (i < 0)
        return;
    ps_deactivate(ps, p);
    ps_swap(ps, *ps_idx(ps, p), --ps->n);
    *ps_idx(ps, p) = -1;
}

void nmi_pipeset_activate(nmi_pipeset *ps, nmi_pipe *p)
{
    int i = *ps_idx(ps, p);
    if (i < 0 || i < ps->active)
        return;
    ps_swap(ps, i, ps->active++);
}

int nmi_lb_send(nmi_pipeset *lb, nmi_msg *m, nmi_pipe **used)
{
    while (lb->active > 0) {
        nmi_pipe *p = lb->pipes[lb->cur];
        int rc = nmi_pipe_write(p, m);
        if (rc == 0) {
            if (used != NULL)
                *used = p;
            lb->cur = (lb->cur + 1) % lb->active;
            return 0;
        }
        if (rc == -ENOMEM)
            return rc;
        ps_deactivate(lb, p);
    }
    return -EAGAIN;
}

int nmi_lb_ready(nmi_pipeset *lb)
{
    while (lb->active > 0) {
        nmi_pipe *p = lb->pipes[lb->cur];
        if (nmi_pipe_wait_room(p) == 0)
            return 0;
        ps_deactivate(lb, p);
    }
    return -EAGAIN;
}

bool nmi_lb_has_out(nmi_pipeset *lb)
{
    for (int i = 0; i < lb->active; i++)
        if (nmi_pipe_writable(lb->pipes[i]))
            return true;
    return false;
}

bool nmi_proto_never_blocks(nmi_sock *s)
{
    (void)s;
    return true;
}

int nmi_fq_recv(nmi_sock *s, nmi_pipeset *fq, nmi_msg *m, nmi_pipe **from)
{
    while (fq->active > 0) {
        nmi_pipe *p = fq->pipes[fq->cur];
        if (nmi_pipe_read(p, m)) {
            if (from != NULL)
                *from = p;
            fq->cur = (fq->cur + 1) % fq->active;
            /* A pipe stays active until a read finds it empty, so `active` alone would
             * count peers that are idle: look at this pipe and the next one served. */
            s->in_backlog = nmi_pipe_queued_in(p) > 0 ||
                            (fq->active > 1 && nmi_pipe_queued_in(fq->pipes[fq->cur]) > 0);
            return 0;
        }
        ps_deactivate(fq, p);
        /* A detached pipe leaves once everything it brought is read.  (Not merely
         * `gone`: the conn still holds its reference until it posts NMI_CMD_DETACH.) */
        if (p->detached && nmi_pipe_queued_in(p) == 0)
            nmi_sock_drop_pipe(s, p);
    }
    s->in_backlog = false;
    return -EAGAIN;
}

int nmi_msg_take_front(nmi_msg *m, uint32_t k, nmi_msg *head)
{
    nm_msg_init((nm_msg_t *)head);
    for (uint32_t i = 0; i < k; i++) {
        nmi_frame *f = nmi_msg_push_frame(head);
        if (f == NULL)
            return -ENOMEM;
        *f = m->first;
        m->first.is_ref = false; /* ownership moved to head */
        nm_msg_pop_front((nm_msg_t *)m);
    }
    return 0;
}

int nmi_msg_append(nmi_msg *dst, nmi_msg *src)
{
    for (uint32_t i = 0; i < src->n; i++) {
        nmi_frame *f = nmi_msg_push_frame(dst);
        if (f == NULL)
            return -ENOMEM;
        *f = *nmi_msg_frame(src, i);
    }
    free(src->more);
    nmi_meta_release(src->meta, 1); /* dst's, if any, are those of the message */
    nm_msg_init((nm_msg_t *)src);
    return 0;
}

/* ---- one load balancer and one fair queue ---------------------------------------- */

int nmi_lbfq_init(nmi_sock *s)
{
    nmi_lbfq *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return -ENOMEM;
    nmi_pipeset_init(&d->lb, true);
    nmi_pipeset_init(&d->fq, false);
    s->pdata = d;
    return 0;
}

void nmi_lbfq_fini(nmi_sock *s)
{
    nmi_lbfq *d = s->pdata;
    nmi_pipeset_fini(&d->lb);
    nmi_pipeset_fini(&d->fq);
    free(d);
}

void nmi_lbfq_attach(nmi_sock *s, nmi_pipe *p)
{
    nmi_lbfq *d = s->pdata;
    if (s->proto->can_send)
        nmi_pipeset_add(&d->lb, p);
    if (s->proto->can_recv)
        nmi_pipeset_add(&d->fq, p);
}

void nmi_lbfq_detach(nmi_sock *s, nmi_pipe *p)
{
    nmi_lbfq *d = s->pdata;
    nmi_pipeset_remove(&d->lb, p);
    nmi_pipeset_remove(&d->fq, p);
}

void nmi_lbfq_in_ready(nmi_sock *s, nmi_pipe *p)
{
    nmi_pipeset_activate(&((nmi_lbfq *)s->pdata)->fq, p);
}

void nmi_lbfq_out_ready(nmi_sock *s, nmi_pipe *p)
{
    nmi_pipeset_activate(&((nmi_lbfq *)s->pdata)->lb, p);
}

int nmi_lbfq_send(nmi_sock *s, nmi_msg *m)
{
    return nmi_lb_send(&((nmi_lbfq *)s->pdata)->lb, m, NULL);
}

int nmi_lbfq_recv(nmi_sock *s, nmi_msg *m)
{
    return nmi_fq_recv(s, &((nmi_lbfq *)s->pdata)->fq, m, NULL);
}

bool nmi_lbfq_has_out(nmi_sock *s)
{
    return nmi_lb_has_out(&((nmi_lbfq *)s->pdata)->lb);
}

int nmi_lbfq_send_ready(nmi_sock *s, const void *head, size_t len)
{
    (void)head;
    (void)len;
    return nmi_lb_ready(&((nmi_lbfq *)s->pdata)->lb);
}
