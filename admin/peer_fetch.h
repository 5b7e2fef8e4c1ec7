/*
 * peer_fetch.h - fetching peers' summaries (/api/v1/summary) from their admin
 * endpoints, over HTTP or verified HTTPS (peer_fetch.c), for the topology.
 */
#ifndef NMA_PEER_FETCH_H
#define NMA_PEER_FETCH_H

#include <curl/curl.h>

#include "server_int.h"

/* One peer to fetch from, copied out of the registry. */
typedef struct nma_fetch_target {
    char id[33];                 /* its node id, hex */
    char name[NMD_NAME_MAX + 1]; /* its name, for the log */
    char url[256];               /* its summary's URL */
    bool member;                 /* a program joined through this node (host.h) */
    bool tls;                    /* its admin is HTTPS */
    bool pin_ok;                 /* pin came in a beacon the fleet key authenticated */
    uint8_t pin[NMD_PIN_SIZE];   /* SHA-256 of its certificate's public key */
} nma_fetch_target;

/* The peers announcing an admin endpoint, in *out (malloc'd; NULL when none); returns
 * how many. */
size_t nma_fetch_targets(nma_server *s, nma_fetch_target **out);

/* GETs t's summary with curl, sending auth (the token header, or NULL); a JSON object,
 * or NULL with the reason in err[cap]. */
json_t *nma_fetch_summary(nma_server *s, CURL *curl, const nma_fetch_target *t,
                          struct curl_slist *auth, char *err, size_t cap);

#endif
