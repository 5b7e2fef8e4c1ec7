/*
 * etcd.c - the etcd discovery backend: publishes this node's services as keys of etcd
 * (v3 JSON gateway) attached to a lease of the node, and browses the fleet's keys
 * (etcd_watch.c).
 *
 * The lease's TTL follows the beacon settings (interval x expiry, at least 2 s, etcd's
 * own minimum with its default timing), so a node that dies without a word leaves about
 * as fast as with beacons; a session thread keeps it alive every TTL/3 and writes the
 * table's changes: publish() only marks the table dirty and wakes that thread.  When the
 * server is lost the thread retries with backoff; if the lease expired meanwhile it
 * takes a new one and puts every key again.  stop revokes the lease, which deletes all
 * our keys in one step, so every peer watching sees the node leave at once.
 *
 * Wildcard hosts (tcp://\*:P) are published with the address of the first configured
 * interface (a name is looked up with getifaddrs), 127.0.0.1 by default.  Passive
 * agents (nomid resolve, nomid peers) take no lease and publish nothing.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

#include "agent.h"
#include "dlog.h"
#include "etcd.h"
#include "etcd_http.h"
#include "etcd_watch.h"
#include "nomid.h"

#define ETCD_TTL_MIN        2    /* s: etcd's minimum lease TTL with default timing */
#define ETCD_CALL_MS        1500 /* timeout of a grant, keep-alive, put or delete */
#define ETCD_REVOKE_MS      300  /* timeout of the revoke in stop */
#define ETCD_BACKOFF_MIN_MS 100
#define ETCD_BACKOFF_MAX_MS 2000

/* A key this node wrote, with the value it holds. */
typedef struct etcd_pub {
    char *key;   /* the key */
    char *value; /* its JSON value */
} etcd_pub;

struct nmd_backend {
    nmd_agent *agent;           /* whose table is published */
    char url[256];              /* the server, without a trailing '/' */
    uint8_t id[16];             /* our node id */
    char host[INET_ADDRSTRLEN]; /* written into wildcard endpoints */
    bool passive;               /* publish nothing, take no lease */
    int64_t ttl;                /* lease TTL asked for (s) */
    nmd_etcd_http http;         /* the session's client */
    atomic_bool closing;        /* stop: end the session thread now */
    atomic_bool dirty;          /* the table changed since it was last written */
    pthread_t thread;           /* the session thread (not when passive) */
    bool running;               /* ... was started */
    int64_t lease;              /* the lease's id; 0 while there is none */
    int64_t lease_ttl;          /* its TTL as granted (s) */
    uint64_t next_keepalive;    /* when the next keep-alive is due (ms, monotonic) */
    etcd_pub *pub;              /* the keys written under the lease */
    size_t npub;                /* their count */
    int failures;               /* failed requests in a row */
    nmd_etcd_watch *watch;      /* the browsing half */
};

static _Atomic uint64_t etcd_counters[4]; /* enum nmd_etcd_counter */

void nmd_etcd_count(int counter)
{
    atomic_fetch_add(&etcd_counters[counter], 1);
}

void nmd_etcd_get_stats(nmd_etcd_stats *st)
{
    st->rejected = atomic_load(&etcd_counters[NMD_ETCD_REJECTED]);
    st->bad_messages = atomic_load(&etcd_counters[NMD_ETCD_BAD_MESSAGES]);
    st->watch_restarts = atomic_load(&etcd_counters[NMD_ETCD_WATCH_RESTARTS]);
    st->lease_grants = atomic_load(&etcd_counters[NMD_ETCD_LEASE_GRANTS]);
}

static uint64_t etcd_now_ms(void)
{
    return nm_clock_ns() / 1000000u;
}

static void etcd_pub_clear(nmd_backend *b)
{
    for (size_t i = 0; i < b->npub; i++) {
        free(b->pub[i].key);
        free(b->pub[i].value);
    }
    free(b->pub);
    b->pub = NULL;
    b->npub = 0;
}

/* A call whose response must be a JSON object; *resp is NULL on failure. */
static int etcd_call(nmd_backend *b, const char *path, json_t *req, json_t **resp, long ms)
{
    *resp = NULL;
    if (req == NULL)
        return -ENOMEM;
    int rc = nmd_etcd_http_call(&b->http, path, req, resp, ms);
    json_decref(req);
    if (rc == 0 && !json_is_object(*resp)) {
        json_decref(*resp);
        *resp = NULL;
        nmd_etcd_count(NMD_ETCD_BAD_MESSAGES);
        snprintf(b->http.error, sizeof(b->http.error), "%s: not a JSON object", path);
        rc = -EPROTO;
    }
    return rc;
}

/* Takes a new lease; what was written under the old one is gone with it. */
static int etcd_grant(nmd_backend *b)
{
    json_t *resp;
    int rc = etcd_call(b, "/v3/lease/grant", json_pack("{s:I}", "TTL", (json_int_t)b->ttl), &resp,
                       ETCD_CALL_MS);
    if (rc < 0)
        return rc;
    int64_t id, ttl;
    if (nmd_etcd_int(json_object_get(resp, "ID"), &id) < 0 ||
        nmd_etcd_int(json_object_get(resp, "TTL"), &ttl) < 0 || id == 0 || ttl <= 0) {
        const char *e = json_string_value(json_object_get(resp, "error"));
        snprintf(b->http.error, sizeof(b->http.error), "lease grant refused: %s",
                 e ? e : "no lease in the response");
        json_decref(resp);
        return -EPROTO;
    }
    json_decref(resp);
    nmd_etcd_count(NMD_ETCD_LEASE_GRANTS);
    etcd_pub_clear(b);
    b->lease = id;
    b->lease_ttl = ttl;
    b->next_keepalive = etcd_now_ms() + (uint64_t)ttl * 1000 / 3;
    atomic_store(&b->dirty, true);
    return 0;
}

/* Renews the lease: 0, -ENOENT when the server no longer knows it (it expired). */
static int etcd_keepalive(nmd_backend *b)
{
    json_t *resp;
    int rc = etcd_call(b, "/v3/lease/keepalive", json_pack("{s:I}", "ID", (json_int_t)b->lease),
                       &resp, ETCD_CALL_MS);
    if (rc == -EPROTO && strstr(b->http.error, "lease not found") != NULL)
        rc = 0; /* some versions answer an unknown lease with an error: it expired */
    else if (rc < 0)
        return rc;
    int64_t ttl = 0;
    const json_t *res = json_object_get(resp, "result"), *err = json_object_get(resp, "error");
    int64_t code = 0;
    if (res == NULL && resp != NULL &&
        (nmd_etcd_int(json_object_get(err, "grpc_code"), &code) < 0 || code != 5)) {
        snprintf(b->http.error, sizeof(b->http.error), "keep-alive refused");
        json_decref(resp);
        return -EPROTO;
    }
    /* no TTL, or a NotFound error (gRPC code 5): the lease is gone */
    (void)nmd_etcd_int(json_object_get(res, "TTL"), &ttl);
    json_decref(resp);
    if (ttl <= 0) {
        nmd_log(NM_LOG_WARN, "etcd", "lease %lld expired: taking a new one", (long long)b->lease);
        b->lease = 0;
        etcd_pub_clear(b);
        return -ENOENT;
    }
    b->next_keepalive = etcd_now_ms() + (uint64_t)ttl * 1000 / 3;
    return 0;
}

static int etcd_put(nmd_backend *b, const char *key, const char *value)
{
    json_t *resp;
    int rc = etcd_call(b, "/v3/kv/put",
                       json_pack("{s:o, s:o, s:I}", "key", nmd_etcd_b64(key, strlen(key)), "value",
                                 nmd_etcd_b64(value, strlen(value)), "lease", (json_int_t)b->lease),
                       &resp, ETCD_CALL_MS);
    json_decref(resp);
    return rc;
}

static int etcd_delete(nmd_backend *b, const char *key)
{
    json_t *resp;
    int rc =
        etcd_call(b, "/v3/kv/deleterange",
                  json_pack("{s:o}", "key", nmd_etcd_b64(key, strlen(key))), &resp, ETCD_CALL_MS);
    json_decref(resp);
    return rc;
}

/* The keys and values our table should have in etcd. */
static ssize_t etcd_wanted(nmd_backend *b, etcd_pub **out)
{
    const nmd_agent_config *cfg = nmd_agent_cfg(b->agent);
    nmd_service *table;
    ssize_t n = nmd_agent_table(b->agent, &table);
    *out = n > 0 ? calloc((size_t)n, sizeof(**out)) : NULL;
    if (n < 0 || (n > 0 && *out == NULL)) {
        free(table);
        return -ENOMEM;
    }
    ssize_t k = 0;
    for (ssize_t i = 0; i < n; i++) {
        nmd_service s = table[i];
        char key[NMD_ETCD_KEY_MAX + 1];
        nmd_agent_endpoint_for(table[i].endpoint, b->host, s.endpoint, sizeof(s.endpoint));
        if (nmd_etcd_key(cfg->etcd_prefix, cfg->fleet, &s, b->id, key, sizeof(key)) < 0)
            continue; /* cannot happen with the agent's limits */
        etcd_pub *p = &(*out)[k];
        p->key = strdup(key);
        uint8_t mac[NMD_MAC_SIZE];
        bool sign = cfg->key != NULL && nmd_record_mac(b->id, &s, cfg->key, cfg->keylen, mac);
        p->value = nmd_etcd_value_encode(&s, b->id, cfg->name, b->host, sign ? mac : NULL);
        if (p->key == NULL || p->value == NULL) {
            free(p->key);
            free(p->value);
            continue;
        }
        k++;
    }
    free(table);
    return k;
}

static ssize_t etcd_pub_find(const etcd_pub *t, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(t[i].key, key) == 0)
            return (ssize_t)i;
    return -1;
}

/* Writes the table's changes: deletes the keys no longer wanted, puts new or changed
 * ones.  b->pub follows each request that succeeded. */
static int etcd_sync(nmd_backend *b)
{
    etcd_pub *want;
    ssize_t nwant = etcd_wanted(b, &want);
    if (nwant < 0)
        return (int)nwant;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < b->npub;) {
        if (etcd_pub_find(want, (size_t)nwant, b->pub[i].key) >= 0) {
            i++;
            continue;
        }
        if ((rc = etcd_delete(b, b->pub[i].key)) == 0) {
            free(b->pub[i].key);
            free(b->pub[i].value);
            b->pub[i] = b->pub[--b->npub];
        }
    }
    for (ssize_t i = 0; rc == 0 && i < nwant; i++) {
        ssize_t j = etcd_pub_find(b->pub, b->npub, want[i].key);
        if (j >= 0 && strcmp(b->pub[j].value, want[i].value) == 0)
            continue;
        if ((rc = etcd_put(b, want[i].key, want[i].value)) < 0)
            break;
        if (j < 0) {
            etcd_pub *t = reallocarray(b->pub, b->npub + 1, sizeof(*t));
            if (t == NULL) {
                rc = -ENOMEM;
                break;
            }
            b->pub = t;
            j = (ssize_t)b->npub++;
            b->pub[j].key = want[i].key;
            want[i].key = NULL;
        } else {
            free(b->pub[j].value);
        }
        b->pub[j].value = want[i].value;
        want[i].value = NULL;
    }
    for (ssize_t i = 0; i < nwant; i++) {
        free(want[i].key);
        free(want[i].value);
    }
    free(want);
    return rc;
}

/* A failed request: log the first of a run, then wait (longer each time). */
static void etcd_failed(nmd_backend *b, int rc)
{
    if (b->failures++ == 0)
        nmd_log(NM_LOG_WARN, "etcd", "lost %s (%s): retrying", b->url,
                b->http.error[0] ? b->http.error : strerror(-rc));
    long ms = ETCD_BACKOFF_MIN_MS << (b->failures < 5 ? b->failures - 1 : 4);
    nmd_etcd_http_sleep(&b->http, ms < ETCD_BACKOFF_MAX_MS ? ms : ETCD_BACKOFF_MAX_MS);
}

/* The session thread: keeps the lease alive and the keys current. */
static void *etcd_main(void *arg)
{
    nmd_backend *b = arg;
    while (!atomic_load(&b->closing)) {
        int rc = 0;
        if (b->lease == 0)
            rc = etcd_grant(b);
        else if (etcd_now_ms() >= b->next_keepalive)
            rc = etcd_keepalive(b);
        if (rc == 0 && b->lease != 0 && atomic_exchange(&b->dirty, false) &&
            (rc = etcd_sync(b)) < 0)
            atomic_store(&b->dirty, true);
        if (atomic_load(&b->closing) || rc == -ENOENT)
            continue; /* closing, or the lease expired: take a new one at once */
        if (rc < 0) {
            etcd_failed(b, rc);
            continue;
        }
        if (b->failures > 0)
            nmd_log(NM_LOG_INFO, "etcd", "%s is back", b->url);
        b->failures = 0;
        uint64_t now = etcd_now_ms();
        if (b->next_keepalive > now && !atomic_load(&b->dirty))
            nmd_etcd_http_sleep(&b->http, (long)(b->next_keepalive - now));
    }
    return NULL;
}

/* Revokes the lease (deleting every key under it); the session thread is not running. */
static void etcd_revoke(nmd_backend *b)
{
    if (b->lease == 0)
        return;
    b->http.abort = NULL; /* closing is set: this last request must not see it */
    json_t *resp;
    int rc = etcd_call(b, "/v3/lease/revoke", json_pack("{s:I}", "ID", (json_int_t)b->lease), &resp,
                       ETCD_REVOKE_MS);
    json_decref(resp);
    if (rc < 0)
        nmd_log(NM_LOG_WARN, "etcd", "cannot revoke lease %lld at %s (%s): peers drop us in %llds",
                (long long)b->lease, b->url, b->http.error, (long long)b->lease_ttl);
    b->lease = 0;
}

/* The IPv4 address of iface (an address, or an interface name). */
static int etcd_iface_addr(const char *iface, char *out, size_t cap)
{
    struct in_addr in;
    if (inet_pton(AF_INET, iface, &in) == 1) {
        strlcpy(out, iface, cap);
        return 0;
    }
    struct ifaddrs *ifs, *i;
    if (getifaddrs(&ifs) < 0)
        return -errno;
    int rc = -ENODEV;
    for (i = ifs; i != NULL && rc < 0; i = i->ifa_next) {
        if (i->ifa_addr == NULL || i->ifa_addr->sa_family != AF_INET ||
            strcmp(i->ifa_name, iface) != 0)
            continue;
        const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)i->ifa_addr;
        if (inet_ntop(AF_INET, &sin->sin_addr, out, (socklen_t)cap) != NULL)
            rc = 0;
    }
    freeifaddrs(ifs);
    return rc;
}

static void etcd_free(nmd_backend *b)
{
    nmd_etcd_http_fini(&b->http);
    etcd_pub_clear(b);
    free(b);
}

static int etcd_start(nmd_backend **bp, nmd_agent *a, const char *url, void *ctx)
{
    (void)ctx;
    const nmd_agent_config *cfg = nmd_agent_cfg(a);
    if (url == NULL || (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)) {
        nmd_log(NM_LOG_ERROR, "etcd", "'%s' is not an http:// or https:// URL", url ? url : "");
        return -EINVAL;
    }
    nmd_backend *b = calloc(1, sizeof(*b));
    if (b == NULL)
        return -ENOMEM;
    b->agent = a;
    b->passive = cfg->passive;
    if (strlcpy(b->url, url, sizeof(b->url)) >= sizeof(b->url)) {
        free(b);
        return -EINVAL;
    }
    for (size_t n = strlen(b->url); n > 0 && b->url[n - 1] == '/'; n--)
        b->url[n - 1] = '\0';
    uint32_t inc;
    nmd_agent_identity(a, b->id, &inc);
    uint64_t ttl = (cfg->interval_ns * (uint64_t)cfg->expiry + 999999999u) / 1000000000u;
    b->ttl = ttl > ETCD_TTL_MIN ? (int64_t)ttl : ETCD_TTL_MIN;
    atomic_init(&b->closing, false);
    atomic_init(&b->dirty, true);
    int rc = 0;
    if (!b->passive && (rc = etcd_iface_addr(cfg->ifaces[0], b->host, sizeof(b->host))) < 0)
        nmd_log(NM_LOG_ERROR, "etcd", "interface %s has no IPv4 address", cfg->ifaces[0]);
    if (rc == 0)
        rc = nmd_etcd_http_init(&b->http, b->url, &b->closing);
    if (rc == 0 && !b->passive && (rc = etcd_grant(b)) < 0)
        nmd_log(NM_LOG_ERROR, "etcd", "cannot reach %s: %s", b->url, b->http.error);
    if (rc == 0)
        rc = nmd_etcd_watch_start(&b->watch, a, b->url);
    if (rc == 0 && !b->passive) {
        rc = -pthread_create(&b->thread, NULL, etcd_main, b);
        b->running = rc == 0;
        if (rc < 0)
            nmd_etcd_watch_stop(&b->watch);
    }
    if (rc < 0) {
        atomic_store(&b->closing, true);
        etcd_revoke(b);
        etcd_free(b);
        return rc;
    }
    *bp = b;
    return 0;
}

static void etcd_publish(nmd_backend *b)
{
    if (b->passive)
        return;
    atomic_store(&b->dirty, true);
    nmd_etcd_http_wake(&b->http);
}

static void etcd_stop(nmd_backend **bp)
{
    nmd_backend *b = *bp;
    if (b == NULL)
        return;
    *bp = NULL;
    atomic_store(&b->closing, true);
    if (b->running) {
        nmd_etcd_http_wake(&b->http);
        pthread_join(b->thread, NULL);
    }
    etcd_revoke(b);
    nmd_etcd_watch_stop(&b->watch);
    etcd_free(b);
}

const nmd_backend_ops nmd_etcd_ops = {
    .name = "etcd",
    .kind = NMD_BACKEND_ETCD,
    .start = etcd_start,
    .publish = etcd_publish,
    .stop = etcd_stop,
};
