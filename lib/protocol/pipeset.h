/*
 * pipeset.h - the two pipe sets patterns are built from (RFC 28, RFC 30):
 * a load balancer that sends each message to the next pipe with room (round robin),
 * and a fair queue that takes each message from the next pipe that has one.
 *
 * Both keep the active pipes at the front of an array so activation and deactivation
 * are O(1) swaps; a pipe records its index (lb_idx / fq_idx).
 */
#ifndef NMI_PIPESET_H
#define NMI_PIPESET_H

#include "core/core.h"

typedef struct nmi_pipeset {
    nmi_pipe **pipes; /* active ones first */
    int n;            /* pipes in the set */
    int active;       /* how many of them are active */
    int cur;          /* next to use, < active */
    bool is_lb;       /* uses pipe->lb_idx rather than fq_idx */
} nmi_pipeset;

void nmi_pipeset_init(nmi_pipeset *ps, bool is_lb);
void nmi_pipeset_fini(nmi_pipeset *ps);
int nmi_pipeset_add(nmi_pipeset *ps, nmi_pipe *p); /* joins as active */
void nmi_pipeset_remove(nmi_pipeset *ps, nmi_pipe *p);
void nmi_pipeset_activate(nmi_pipeset *ps, nmi_pipe *p);

/* Load balancer: queues m on the next pipe with room; -EAGAIN if none has room. */
int nmi_lb_send(nmi_pipeset *lb, nmi_msg *m, nmi_pipe **used);
/* What nmi_lb_send would answer now, without a message: 0, or -EAGAIN with every full
 * pipe deactivated and asking for OUT_READY, as failed sends leave them. */
int nmi_lb_ready(nmi_pipeset *lb);
/* Fair queue: takes the next message; -EAGAIN if none waits. */
int nmi_fq_recv(nmi_sock *s, nmi_pipeset *fq, nmi_msg *m, nmi_pipe **from);

/* Message helpers for envelopes. */
/* Moves the first k frames of m into head (empty). */
int nmi_msg_take_front(nmi_msg *m, uint32_t k, nmi_msg *head);
/* Appends src's frames to dst; src is left empty. */
int nmi_msg_append(nmi_msg *dst, nmi_msg *src);

/* The common case of a pattern with one load balancer and one fair queue. */
typedef struct nmi_lbfq {
    nmi_pipeset lb, fq;
} nmi_lbfq;

int nmi_lbfq_init(nmi_sock *s);
void nmi_lbfq_fini(nmi_sock *s);
void nmi_lbfq_attach(nmi_sock *s, nmi_pipe *p);
void nmi_lbfq_detach(nmi_sock *s, nmi_pipe *p);
void nmi_lbfq_in_ready(nmi_sock *s, nmi_pipe *p);
void nmi_lbfq_out_ready(nmi_sock *s, nmi_pipe *p);
int nmi_lbfq_send(nmi_sock *s, nmi_msg *m);
int nmi_lbfq_recv(nmi_sock *s, nmi_msg *m);
bool nmi_lbfq_has_out(nmi_sock *s);
int nmi_lbfq_send_ready(nmi_sock *s, const void *head, size_t len);

/* True if some active pipe of lb has room. */
bool nmi_lb_has_out(nmi_pipeset *lb);
/* has_out of patterns that never block a sender (they drop instead). */
bool nmi_proto_never_blocks(nmi_sock *s);

/* The ops table of a pattern that is nothing more than nmi_lbfq. */
#define NMI_LBFQ_OPS(sock_type, proto_flags, sends, receives)                                      \
    {                                                                                              \
        .type = (sock_type), .flags = (proto_flags), .can_send = (sends), .can_recv = (receives),  \
        .init = nmi_lbfq_init, .fini = nmi_lbfq_fini, .attach = nmi_lbfq_attach,                   \
        .detach = nmi_lbfq_detach, .in_ready = nmi_lbfq_in_ready, .out_ready = nmi_lbfq_out_ready, \
        .send = nmi_lbfq_send, .recv = nmi_lbfq_recv, .has_out = nmi_lbfq_has_out,                 \
        .send_ready = nmi_lbfq_send_ready,                                                         \
    }

#endif
