/*
 * backend.c - the table of discovery backends other than beacons (see backend.h).
 */
#include <stddef.h>
#include <string.h>

#include "backend.h"

extern const nmd_backend_ops nmd_dnssd_ops;
extern const nmd_backend_ops nmd_etcd_ops;

static const nmd_backend_ops *const backends[] = {
    &nmd_dnssd_ops,
    &nmd_etcd_ops,
};

const nmd_backend_ops *nmd_backend_find(const char *name)
{
    for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
        if (strcmp(backends[i]->name, name) == 0)
            return backends[i];
    return NULL;
}
