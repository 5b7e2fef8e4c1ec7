/*
 * service.c - parsing NAME=TYPE@ENDPOINT, the shape of a service a node advertises
 * (see service.h).
 */
#include "service.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int node_service_parse(const char *spec, node_service *s, const char **why)
{
    const char *eq = strchr(spec, '='), *at = eq ? strchr(eq, '@') : NULL;
    const char *ep = at != NULL ? at + 1 : "";
    char type[16];
    size_t tlen = at != NULL ? (size_t)(at - eq - 1) : 0;
    if (eq == NULL || at == NULL)
        *why = "not NAME=TYPE@ENDPOINT (e.g. camera=pub@tcp://*:5556)";
    else if (eq == spec || (size_t)(eq - spec) > NMD_SVC_NAME_MAX)
        *why = "the NAME must be 1 to " NODE_STR(NMD_SVC_NAME_MAX) " bytes";
    else if (tlen == 0 || tlen >= sizeof(type))
        *why = "no socket TYPE before '@' (pub, rep, router, pull...)";
    else if (ep[0] == '\0' || strlen(ep) > NMD_ENDPOINT_MAX)
        *why = "the ENDPOINT must be 1 to " NODE_STR(NMD_ENDPOINT_MAX) " bytes";
    else if (strstr(ep, "://") == NULL)
        *why = "the ENDPOINT names no transport (tcp://HOST:PORT, ipc://PATH)";
    else
        *why = NULL;
    if (*why != NULL)
        return -EINVAL;
    memcpy(type, eq + 1, tlen);
    type[tlen] = '\0';
    if ((s->type = nm_sock_type_parse(type)) < 0) {
        *why = "TYPE is not a lowercase socket type (pub, sub, req, rep, router, dealer, push, "
               "pull, pair, xpub, xsub, stream)";
        return -EINVAL;
    }
    memcpy(s->name, spec, (size_t)(eq - spec));
    s->name[eq - spec] = '\0';
    snprintf(s->endpoint, sizeof(s->endpoint), "%s", ep);
    return 0;
}
