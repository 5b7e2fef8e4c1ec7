/*
 * peer_fetch.c - fetching a peer's summary from its admin endpoint with libcurl, for
 * the topology (topology.c), over HTTP or, when its beacons say so, HTTPS.
 *
 * An HTTPS peer's certificate is always verified, in one of two ways: against the CA
 * bundle this node was given (--admin-tls-ca: chain and address, as a browser would), or
 * against the hash of the certificate's public key its beacon carries, when the fleet
 * key authenticated that beacon.  With both, both must hold.  With neither the peer is not
 * fetched at all, and its error says why.  A hash from a beacon no key checked (or an
 * unsigned one) could be anybody's, so it is never used.  A node that serves HTTPS or
 * checks peers with a CA sends its token over HTTPS only: a peer (or a forged beacon)
 * announcing a plain HTTP admin does not get it.  Each fetch makes a new connection
 * and a full handshake (no reused connection or TLS session), so each is verified anew.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

#include "nodeid.h"
#include "peer_fetch.h"

#define FETCH_TIMEOUT_MS 500           /* per fetch over HTTP */
#define FETCH_TLS_MS     1000          /* ... over HTTPS (a full handshake each time) */
#define FETCH_BODY_MAX   (1024 * 1024) /* largest summary accepted */

typedef struct fetch_targets {
    nma_fetch_target *list; /* collected so far */
    size_t n, cap;          /* count and room */
} fetch_targets;

/* Under the agent's lock: copies what a fetch needs of each peer with an admin port. */
static void fetch_target_cb(void *arg, const nmd_peer *p)
{
    fetch_targets *ft = arg;
    if (p->admin_port == 0)
        return;
    if (ft->n == ft->cap) {
        size_t cap = ft->cap ? ft->cap * 2 : 8;
        nma_fetch_target *l = reallocarray(ft->list, cap, sizeof(*l));
        if (l == NULL)
            return;
        ft->list = l;
        ft->cap = cap;
    }
    nma_fetch_target *t = &ft->list[ft->n++];
    memset(t, 0, sizeof(*t));
    nmd_id_hex(p->id, t->id);
    strlcpy(t->name, p->name, sizeof(t->name));
    nma_peer_url(p->addr, p->admin_port, p->admin_tls, "/api/v1/summary", t->url, sizeof(t->url));
    t->member = p->backend == NMD_BACKEND_HOST;
    t->tls = p->admin_tls;
    t->pin_ok = p->admin_pin_ok;
    memcpy(t->pin, p->admin_pin, sizeof(t->pin));
}

size_t nma_fetch_targets(nma_server *s, nma_fetch_target **out)
{
    fetch_targets ft = {0};
    if (s->agent != NULL)
        nmd_agent_peers(s->agent, fetch_target_cb, &ft);
    *out = ft.list;
    return ft.n;
}

typedef struct fetch_body {
    char *buf;  /* what arrived */
    size_t len; /* its length */
    bool over;  /* more than FETCH_BODY_MAX */
} fetch_body;

static size_t fetch_write_cb(char *data, size_t size, size_t n, void *arg)
{
    fetch_body *b = arg;
    size_t add = size * n;
    if (b->len + add > FETCH_BODY_MAX) {
        b->over = true;
        return 0; /* aborts the transfer */
    }
    char *p = realloc(b->buf, b->len + add + 1);
    if (p == NULL)
        return 0;
    memcpy(p + b->len, data, add);
    b->buf = p;
    b->len += add;
    p[b->len] = '\0';
    return add;
}

/* How an HTTPS peer's certificate is checked: 0, or -1 with the reason in err when it
 * cannot be (then it is not fetched). */
static int fetch_verify(nma_server *s, CURL *curl, const nma_fetch_target *t, struct curl_blob *ca,
                        char *err, size_t cap)
{
    if (s->ca == NULL && !t->pin_ok) {
        snprintf(err, cap,
                 "cannot verify its HTTPS certificate: no --admin-tls-ca, and its beacons' key "
                 "hash is %s",
                 s->agent != NULL && nmd_agent_cfg(s->agent)->key != NULL
                     ? "missing"
                     : "not authenticated (no fleet key)");
        return -1;
    }
    curl_easy_setopt(curl, CURLOPT_SSL_SESSIONID_CACHE, 0L);
    curl_easy_setopt(curl, CURLOPT_FORBID_REUSE, 1L);
    if (s->ca != NULL) { /* chain and address, against this bundle only */
        *ca = (struct curl_blob){.data = s->ca, .len = s->ca_len, .flags = CURL_BLOB_NOCOPY};
        curl_easy_setopt(curl, CURLOPT_CAPATH, NULL);
        curl_easy_setopt(curl, CURLOPT_CAINFO_BLOB, ca);
        curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
        curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
    } else { /* the authenticated key hash stands for chain and name */
        curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (t->pin_ok) {
        char pin[NMA_PIN_TEXT_MAX];
        nma_tls_pin_text(t->pin, pin);
        curl_easy_setopt(curl, CURLOPT_PINNEDPUBLICKEY, pin); /* copied by libcurl */
    }
    return 0;
}

json_t *nma_fetch_summary(nma_server *s, CURL *curl, const nma_fetch_target *t,
                          struct curl_slist *auth, char *err, size_t cap)
{
    fetch_body b = {0};
    struct curl_blob ca;
    char why[CURL_ERROR_SIZE] = "";
    curl_easy_reset(curl);
    bool careful = s->tls.cert != NULL || s->ca != NULL;
    if (!t->tls && auth != NULL && careful) {
        snprintf(err, cap,
                 "its admin is plain HTTP, and this node sends its token over HTTPS "
                 "only");
        return NULL;
    }
    if (t->tls && fetch_verify(s, curl, t, &ca, err, cap) < 0)
        return NULL;
    curl_easy_setopt(curl, CURLOPT_URL, t->url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, auth);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)(t->tls ? FETCH_TLS_MS : FETCH_TIMEOUT_MS));
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, t->tls ? "https" : "http");
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, why);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, fetch_write_cb);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b);
    long status = 0;
    json_t *j = NULL;
    CURLcode rc = curl_easy_perform(curl);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, NULL); /* why goes out of scope */
    if (rc != CURLE_OK && b.over)
        snprintf(err, cap, "its summary is larger than %d KiB", FETCH_BODY_MAX / 1024);
    else if (rc != CURLE_OK)
        snprintf(err, cap, "%s", why[0] != '\0' ? why : curl_easy_strerror(rc));
    else if (curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK || status != 200)
        snprintf(err, cap, "HTTP status %ld%s", status,
                 status == 401 ? " (its token differs from this node's)" : "");
    else if ((j = json_loadb(b.buf ? b.buf : "", b.len, 0, NULL)) == NULL || !json_is_object(j) ||
             !json_is_array(json_object_get(j, "sockets"))) {
        snprintf(err, cap, "its answer is not a summary");
        json_decref(j);
        j = NULL;
    }
    free(b.buf);
    return j;
}
