/*
 * service.c - parsing NAME=TYPE@ENDPOINT, the shape of a service a node advertises
 * (see service.h).
 */
#include "service.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int node_service_parse(const char *spec, node_service *s)
{
    const char *eq = strchr(spec, '='), *at = eq ? strchr(eq, '@') : NULL;
    if (eq == NULL || at == NULL || eq == spec || (size_t)(eq - spec) > NMD_SVC_NAME_MAX ||
        strlen(at + 1) == 0 || strlen(at + 1) > NMD_ENDPOINT_MAX || strstr(at + 1, "://") == NULL)
        return -EINVAL;
    char type[16];
    size_t tlen = (size_t)(at - eq - 1);
    if (tlen == 0 || tlen >= sizeof(type))
        return -EINVAL;
    memcpy(type, eq + 1, tlen);
    type[tlen] = '\0';
    if ((s->type = nm_sock_type_parse(type)) < 0)
        return -EINVAL;
    memcpy(s->name, spec, (size_t)(eq - spec));
    s->name[eq - spec] = '\0';
    snprintf(s->endpoint, sizeof(s->endpoint), "%s", at + 1);
    return 0;
}
