/*
 * protocol.c - the table of socket types the core knows.
 */
#include <errno.h>
#include <string.h>

#include "core/core.h"

extern const nmi_proto_ops nmi_pair_ops, nmi_req_ops, nmi_rep_ops, nmi_dealer_ops, nmi_router_ops,
    nmi_push_ops, nmi_pull_ops, nmi_pub_ops, nmi_sub_ops, nmi_xpub_ops, nmi_xsub_ops,
    nmi_stream_ops;

static const nmi_proto_ops *const protocols[] = {
    &nmi_pair_ops, &nmi_req_ops, &nmi_rep_ops, &nmi_dealer_ops, &nmi_router_ops, &nmi_push_ops,
    &nmi_pull_ops, &nmi_pub_ops, &nmi_sub_ops, &nmi_xpub_ops,   &nmi_xsub_ops,   &nmi_stream_ops,
};

static const char *const type_names[] = {
    "pair",   "pub",  "sub",  "req",  "rep",  "dealer",
    "router", "pull", "push", "xpub", "xsub", "stream",
};

const nmi_proto_ops *nmi_proto_find(int type)
{
    for (size_t i = 0; i < sizeof(protocols) / sizeof(protocols[0]); i++)
        if (protocols[i]->type == type)
            return protocols[i];
    return NULL;
}

int nm_sock_type_parse(const char *name)
{
    for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
        if (strcmp(type_names[i], name) == 0)
            return nmi_proto_find((int)i) ? (int)i : -EINVAL;
    return -EINVAL;
}

const char *nm_sock_type_name(int type)
{
    if (type < 0 || (size_t)type >= sizeof(type_names) / sizeof(type_names[0]))
        return NULL;
    return type_names[type];
}
