/*
 * backend.c - the table of discovery backends other than beacons (see backend.h).
 */
#include <stddef.h>
#include <string.h>

#include "backend.h"

static const nmd_backend_ops *const backends[] = {
    NULL, /* dnssd.c and etcd.c add theirs here */
};

const nmd_backend_ops *nmd_backend_find(const char *name)
{
    for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
        if (backends[i] != NULL && strcmp(backends[i]->name, name) == 0)
            return backends[i];
    return NULL;
}
