/*
 * pair.c - PAIR: one peer at a time (RFC 31).  The I/O thread refuses a second live
 * connection; sending and receiving are then those of a one-pipe DEALER.
 */
#include "protocol/pipeset.h"

const nmi_proto_ops nmi_pair_ops = {
    .type = NM_PAIR,
    .can_send = true,
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
