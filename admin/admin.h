/*
 * admin.h - the admin endpoint: a small read-only HTTP server (libmicrohttpd + jansson)
 * showing a node's discovery view and its sockets' queues as JSON, Prometheus metrics,
 * a Server-Sent Events stream and the live topology page (admin/API.md).
 *
 * It reads the core through nm_ctx_stats and a context event hook, and discovery
 * through the agent's queries; neither knows it exists.  It runs on libmicrohttpd's
 * threads and never blocks the messaging threads.
 */
#ifndef NMA_ADMIN_H
#define NMA_ADMIN_H

#include <stdbool.h>
#include <stdint.h>

#include "agent.h"
#include "nomid.h"
#include "tls.h"

#define NMA_DEFAULT_ADDR  "127.0.0.1:7070"
#define NMA_CURVE_KEY_LEN 40 /* a CURVE public key in Z85 */

typedef struct nma_config {
    const char *addr;         /* "127.0.0.1:7070", "[::1]:7070", "0.0.0.0:7070" */
    bool next_free;           /* the port is taken: try the next ones (up to 100 more) */
    const char *token;        /* bearer token every request must carry, or NULL */
    nm_ctx_t *ctx;            /* the sockets shown, or NULL */
    nmd_agent *agent;         /* the discovery shown, or NULL */
    const nma_tls *tls;       /* serve HTTPS with this certificate and key (copied), or NULL */
    const char *ca;           /* PEM bundle peers' HTTPS certificates are checked against, */
    size_t ca_len;            /* or NULL (nma_tls_ca_load); copied */
    const char *curve_public; /* this node's CURVE public key (Z85, 40 characters: the */
                              /* API's curve_key), or NULL: no certificate; copied */
} nma_config;

typedef struct nma_server nma_server;

/* Starts serving.  -EACCES when the address is not loopback and there is no token,
 * -EADDRINUSE when the port (and, with next_free, the next ones) is taken, -EINVAL for
 * a bad address or a curve_public that is not 40 characters, -ENOTSUP for HTTPS from a
 * libmicrohttpd without TLS, other -errno.  The agent learns the admin port and, with
 * HTTPS, the certificate's key hash (for its beacons). */
int nma_start(nma_server **sp, const nma_config *cfg);
/* "http://127.0.0.1:7070/" (https with a certificate) */
const char *nma_url(const nma_server *s);
/* The SHA-256 of the HTTPS certificate's public key, or NULL when serving HTTP. */
const uint8_t *nma_tls_pin(const nma_server *s);
/* With cfg->ctx, admin holds the context's one event hook (nm_ctx_set_event_hook) for
 * its event stream; an embedder that needs the socket events too (member/: binds to
 * advertise) has them passed on: tap(arg, ev) is called first for every event, under
 * the hook's rules (quick, no call into nomid).  Until nma_stop.  Called by the thread
 * that started the server, before anything else may change the hook. */
void nma_event_tap(nma_server *s, nm_event_cb *tap, void *arg);
/* Stops serving (open event streams end) and frees; *sp is set to NULL. */
void nma_stop(nma_server **sp);

#endif
