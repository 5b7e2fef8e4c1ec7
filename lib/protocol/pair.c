/*
 * pair.c - PAIR: one peer at a time (RFC 31).  The I/O thread refuses a second live
 * connection; sending and receiving are then those of a one-pipe DEALER.
 */
#include "protocol/pipeset.h"

const nmi_proto_ops nmi_pair_ops = NMI_LBFQ_OPS(NM_PAIR, NMI_PROTO_SINGLE_PEER, true, true);
