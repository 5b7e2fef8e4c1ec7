/*
 * route.c - routes and query parameters of the admin endpoint (see route.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assets.h"
#include "route.h"

static const struct {
    const char *path;
    int route;
} routes[] = {
    {"/api/v1/node", NMA_NODE},         {"/api/v1/peers", NMA_PEERS},
    {"/api/v1/services", NMA_SERVICES}, {"/api/v1/sockets", NMA_SOCKETS},
    {"/api/v1/summary", NMA_SUMMARY},   {"/api/v1/topology", NMA_TOPOLOGY},
    {"/api/v1/events", NMA_EVENTS},     {"/metrics", NMA_METRICS},
    {"/healthz", NMA_HEALTHZ},
};

int nma_route_find(const char *path)
{
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
        if (strcmp(path, routes[i].path) == 0)
            return routes[i].route;
    return nma_asset_find(path) != NULL ? NMA_ASSET : NMA_NOT_FOUND;
}

void nma_query_init(nma_query *q)
{
    q->sort = NMA_SORT_ID;
    q->desc = false;
    q->offset = 0;
    q->limit = NMA_LIMIT_DEFAULT;
}

/* A decimal count 0..max, digits only. */
static int route_count(const char *v, size_t max, size_t *out)
{
    if (v == NULL || v[0] == '\0' || strlen(v) > 9 || strspn(v, "0123456789") != strlen(v))
        return -EINVAL;
    unsigned long n = strtoul(v, NULL, 10);
    if (n > max)
        return -EINVAL;
    *out = (size_t)n;
    return 0;
}

int nma_query_set(nma_query *q, int route, const char *key, const char *value, char *err,
                  size_t cap)
{
    static const char *const peer_keys[] = {"id", "name", "last_seen"};
    static const int peer_sorts[] = {NMA_SORT_ID, NMA_SORT_NAME, NMA_SORT_LAST_SEEN};
    static const char *const sock_keys[] = {"id", "drops", "queued", "type"};
    static const int sock_sorts[] = {NMA_SORT_ID, NMA_SORT_DROPS, NMA_SORT_QUEUED, NMA_SORT_TYPE};
    if (route != NMA_PEERS && route != NMA_SOCKETS)
        return 0;
    if (strcmp(key, "sort") == 0) {
        bool peers = route == NMA_PEERS;
        size_t n = peers ? 3 : 4;
        for (size_t i = 0; value != NULL && i < n; i++) {
            if (strcmp(value, peers ? peer_keys[i] : sock_keys[i]) == 0) {
                q->sort = peers ? peer_sorts[i] : sock_sorts[i];
                return 0;
            }
        }
        snprintf(err, cap, "sort: one of %s",
                 peers ? "id, name, last_seen" : "id, drops, queued, type");
        return -EINVAL;
    }
    if (strcmp(key, "order") == 0) {
        if (value != NULL && (strcmp(value, "asc") == 0 || strcmp(value, "desc") == 0)) {
            q->desc = value[0] == 'd';
            return 0;
        }
        snprintf(err, cap, "order: asc or desc");
        return -EINVAL;
    }
    size_t n;
    if (strcmp(key, "offset") == 0) {
        if (route_count(value, 1000000000, &n) < 0) {
            snprintf(err, cap, "offset: a count");
            return -EINVAL;
        }
        q->offset = n;
    }
    if (strcmp(key, "limit") == 0) {
        if (route_count(value, NMA_LIMIT_MAX, &n) < 0 || n == 0) {
            snprintf(err, cap, "limit: 1 to %d", NMA_LIMIT_MAX);
            return -EINVAL;
        }
        q->limit = n;
    }
    return 0;
}
