/*
 * dealer.c - DEALER: round-robin sends and fair-queued receives, messages untouched
 * (RFC 28).
 */
#include "protocol/pipeset.h"

const nmi_proto_ops nmi_dealer_ops = NMI_LBFQ_OPS(NM_DEALER, NMI_PROTO_SENDS_RID, true, true);
