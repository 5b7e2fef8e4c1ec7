/*
 * pushpull.c - PUSH (round-robin to pullers, never receives) and PULL (fair-queued
 * from pushers, never sends), RFC 30.
 */
#include "protocol/pipeset.h"

const nmi_proto_ops nmi_push_ops = {
    .type = NM_PUSH,
    .can_send = true,
    .init = nmi_lbfq_init,
    .fini = nmi_lbfq_fini,
    .attach = nmi_lbfq_attach,
    .detach = nmi_lbfq_detach,
    .in_ready = nmi_lbfq_in_ready,
    .out_ready = nmi_lbfq_out_ready,
    .send = nmi_lbfq_send,
    .recv = nmi_lbfq_recv,
};

const nmi_proto_ops nmi_pull_ops = {
    .type = NM_PULL,
    .can_recv = true,
    .init = nmi_lbfq_init,
    .fini = nmi_lbfq_fini,
    .attach = nmi_lbfq_attach,
    .detach = nmi_lbfq_detach,
    .in_ready = nmi_lbfq_in_ready,
    .out_ready = nmi_lbfq_out_ready,
    .send = nmi_lbfq_send,
    .recv = nmi_lbfq_recv,
};
