/*
 * dealer.c - DEALER: round-robin sends and fair-queued receives, messages untouched
 * (RFC 28).
 */
#include "protocol/pipeset.h"

const nmi_proto_ops nmi_dealer_ops = {
    .type = NM_DEALER,
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
