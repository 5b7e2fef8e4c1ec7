/*
 * route.h - what an admin request asks for: the route its path names and its query
 * parameters (sorting and paging), checked.  Pure functions: no server, no sockets, so
 * the fuzz target drives them directly.
 */
#ifndef NMA_ROUTE_H
#define NMA_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

enum nma_route {
    NMA_NOT_FOUND = 0,
    NMA_ASSET,    /* a page asset: "/", "/app.js", "/style.css" */
    NMA_NODE,     /* /api/v1/node */
    NMA_PEERS,    /* /api/v1/peers */
    NMA_SERVICES, /* /api/v1/services */
    NMA_SOCKETS,  /* /api/v1/sockets */
    NMA_SUMMARY,  /* /api/v1/summary */
    NMA_TOPOLOGY, /* /api/v1/topology */
    NMA_EVENTS,   /* /api/v1/events */
    NMA_METRICS,  /* /metrics */
    NMA_HEALTHZ,  /* /healthz */
};

/* Sort keys (which apply depends on the route). */
enum nma_sort {
    NMA_SORT_ID = 0,
    NMA_SORT_NAME,
    NMA_SORT_LAST_SEEN,
    NMA_SORT_DROPS,
    NMA_SORT_QUEUED,
    NMA_SORT_TYPE
};

#define NMA_LIMIT_DEFAULT 100
#define NMA_LIMIT_MAX     1000

typedef struct nma_query {
    int sort;      /* enum nma_sort */
    bool desc;     /* order=desc */
    size_t offset; /* first item */
    size_t limit;  /* items at most */
} nma_query;

/* The route of a path (without its query string). */
int nma_route_find(const char *path);
/* Defaults for a route's query. */
void nma_query_init(nma_query *q);
/* Applies one query parameter of a request for route; unknown keys are ignored (as
 * most HTTP APIs do).  0, or -EINVAL with a message for the client in err[cap]. */
int nma_query_set(nma_query *q, int route, const char *key, const char *value, char *err,
                  size_t cap);

#endif
