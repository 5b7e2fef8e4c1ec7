/*
 * pushpull.c - PUSH (round-robin to pullers, never receives) and PULL (fair-queued
 * from pushers, never sends), RFC 30.
 */
#include "protocol/pipeset.h"

const nmi_proto_ops nmi_push_ops = NMI_LBFQ_OPS(NM_PUSH, 0, true, false);
const nmi_proto_ops nmi_pull_ops = NMI_LBFQ_OPS(NM_PULL, 0, false, true);
