/*
 * server_int.h - the admin server's state, shared by its parts: server.c (HTTP, auth,
 * dispatch), views.c (JSON of node, peers, services, sockets), topology.c (peers'
 * summaries and the fleet graph), events.c (the event stream), metrics.c (Prometheus).
 */
#ifndef NMA_SERVER_INT_H
#define NMA_SERVER_INT_H

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>

#include "admin.h"
#include "route.h"

typedef struct nma_events nma_events;
typedef struct nma_topology nma_topology;

struct nma_server {
    nm_ctx_t *ctx;          /* sockets shown, or NULL */
    nmd_agent *agent;       /* discovery shown, or NULL */
    char token[256];        /* bearer token, "" = none */
    char url[96];           /* "http://127.0.0.1:7070/" (https://...) */
    uint16_t port;          /* the port it listens on */
    int fd;                 /* the listening socket (libmicrohttpd closes it) */
    struct MHD_Daemon *mhd; /* the HTTP server */
    nma_tls tls;            /* HTTPS certificate and key (copies; tls.cert NULL: HTTP) */
    char *ca;               /* CA bundle for peers' certificates (PEM), or NULL */
    size_t ca_len;          /* its length */
    char curve_key[41];     /* own CURVE public key (Z85, NMA_CURVE_KEY_LEN), "" = none */
    uint64_t started_ns;    /* for uptime */
    nma_events *events;     /* the event stream (events.c) */
    nma_topology *topo;     /* peers' summaries (topology.c) */
    nm_event_cb *tap;       /* nma_event_tap's observer, or NULL: changed only while the */
    void *tap_arg;          /* context's hook is off (events.c), read by the hook */
};

/* A condition variable whose timed waits use CLOCK_MONOTONIC (server.c). */
void nma_cond_init(pthread_cond_t *c);

/* Numbers with decimals (times in seconds, fill ratios) are rounded to three decimals:
 * times to milliseconds (views.c).  Every JSON text the endpoint sends is dumped by
 * nma_json_text (compact, reals with 15 significant digits instead of jansson's 17, so
 * that such a number prints as it reads: 0.082, not 0.082000000000000003). */
json_t *nma_json_real(double v);
char *nma_json_text(const json_t *j);

/* views.c: each returns a new JSON value (NULL when out of memory). */
json_t *nma_view_node(nma_server *s);
json_t *nma_view_peers(nma_server *s, const nma_query *q);
json_t *nma_view_services(nma_server *s);
json_t *nma_view_sockets(nma_server *s, const nma_query *q);
json_t *nma_view_summary(nma_server *s);
/* The summary of this node, whose node view the caller has already made. */
json_t *nma_summary_of(nma_server *s, json_t *node);
/* The agent's peers, and the context's sockets with their pipes (compact: only what
 * the summary carries), as JSON arrays (views.c). */
json_t *nma_peers_json(nma_server *s);
json_t *nma_sockets_json(nma_server *s, bool compact);
/* The admin URL of a peer at addr (as beacons give it) and port, http or (tls) https,
 * into out[cap]. */
void nma_peer_url(const char *addr, uint16_t port, bool tls, const char *path, char *out,
                  size_t cap);

/* topology.c */
int nma_topology_start(nma_server *s);
void nma_topology_stop(nma_server *s);
json_t *nma_view_topology(nma_server *s);
/* The summaries of the programs joined through this node (host.h) last fetched, as the
 * summary carries them ("members"); asking keeps them fetched for a while. */
json_t *nma_topology_members(nma_server *s);

/* events.c: start hooks the context and the agent; stop unhooks them and ends every
 * stream; free (once no stream runs: after MHD_stop_daemon) releases the rest. */
int nma_events_start(nma_server *s);
void nma_events_stop(nma_server *s);
void nma_events_free(nma_server *s);
struct MHD_Response *nma_events_response(nma_server *s);

/* metrics.c: the exposition text (malloc'd) and its length, or NULL. */
char *nma_metrics_text(nma_server *s, size_t *len);

#endif
