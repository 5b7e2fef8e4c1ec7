/*
 * types.c - ZMTP Socket-Type names and the RFC 37 table of which types may connect.
 *
 * STREAM has a name for completeness but speaks raw TCP, so it pairs with nothing here.
 */
#include <errno.h>
#include <string.h>

#include "include/nomid.h"
#include "zmtp/zmtp.h"

static const char *const types_names[] = {
    [NM_PAIR] = "PAIR", [NM_PUB] = "PUB",       [NM_SUB] = "SUB",       [NM_REQ] = "REQ",
    [NM_REP] = "REP",   [NM_DEALER] = "DEALER", [NM_ROUTER] = "ROUTER", [NM_PULL] = "PULL",
    [NM_PUSH] = "PUSH", [NM_XPUB] = "XPUB",     [NM_XSUB] = "XSUB",     [NM_STREAM] = "STREAM",
};

#define TYPES_COUNT (int)(sizeof(types_names) / sizeof(types_names[0]))

/* One row per unordered pair; the lookup tries both orders. */
static const struct {
    int a, b;
} types_pairs[] = {
    {NM_REQ, NM_REP},       {NM_REQ, NM_ROUTER},    {NM_REP, NM_DEALER}, {NM_DEALER, NM_DEALER},
    {NM_DEALER, NM_ROUTER}, {NM_ROUTER, NM_ROUTER}, {NM_PUB, NM_SUB},    {NM_PUB, NM_XSUB},
    {NM_XPUB, NM_SUB},      {NM_XPUB, NM_XSUB},     {NM_PUSH, NM_PULL},  {NM_PAIR, NM_PAIR},
};

const char *nmi_zmtp_type_name(int type)
{
    if (type < 0 || type >= TYPES_COUNT)
        return NULL;
    return types_names[type];
}

int nmi_zmtp_type_parse(const uint8_t *name, size_t len)
{
    for (int t = 0; t < TYPES_COUNT; t++) {
        if (strlen(types_names[t]) == len && memcmp(types_names[t], name, len) == 0)
            return t;
    }
    return -EPROTO;
}

bool nmi_zmtp_types_compatible(int ours, int peer)
{
    for (size_t i = 0; i < sizeof(types_pairs) / sizeof(types_pairs[0]); i++) {
        if ((types_pairs[i].a == ours && types_pairs[i].b == peer) ||
            (types_pairs[i].a == peer && types_pairs[i].b == ours))
            return true;
    }
    return false;
}
