/*
 * etcd_watch.c - browsing the fleet in etcd (see etcd_watch.h).
 *
 * A range read of "<prefix><fleet>/" gives every key and the store's revision; a watch
 * from the next revision then streams each later put and delete.  A delete names only
 * its key, so the instance each key holds is remembered in a tree by key.  When the
 * watch ends (server restart, network, a compacted revision, an overlong message) the
 * thread reads the range again and reports just the differences, then watches anew;
 * after several failed attempts in a row it tells the agent to forget the etcd view
 * (the server is gone, and with it any way to learn that nodes left) until a read
 * succeeds again.
 *
 * Values are written by other nodes or any program: one that does not decode is
 * ignored, counted, and logged once per key.  A value without "node" is taken as its
 * own node, named by a hash of its key; without "addr" the endpoint's host is used.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>
#include <bsd/sys/tree.h>
#include <sodium.h>

#include "dlog.h"
#include "etcd.h"
#include "etcd_http.h"
#include "etcd_watch.h"
#include "nomid.h"

#define WATCH_KEYS_MAX     65536 /* most keys remembered (a bound on a hostile server) */
#define WATCH_RANGE_MS     3000  /* range request timeout */
#define WATCH_BACKOFF_MIN  100   /* ms, first retry */
#define WATCH_BACKOFF_MAX  2000  /* ms */
#define WATCH_FORGET_AFTER 5     /* failed attempts in a row before forgetting */

typedef struct watch_entry {
    RB_ENTRY(watch_entry) link; /* in nmd_etcd_watch.keys, by key */
    char *key;                  /* the etcd key */
    bool live;                  /* node/svc were reported to the agent */
    bool logged;                /* a refused value of this key was logged */
    bool seen;                  /* present in the range being reconciled */
    uint8_t node[16];           /* the node offering svc */
    nmd_service svc;            /* the instance the key holds (when live) */
} watch_entry;

static int watch_cmp(watch_entry *a, watch_entry *b)
{
    return strcmp(a->key, b->key);
}

RB_HEAD(watch_tree, watch_entry);
/* libbsd's RB_GENERATE_STATIC relies on a disabled __unused: spell the attribute out. */
RB_GENERATE_INTERNAL(watch_tree, watch_entry, link, watch_cmp, __attribute__((unused)) static)

struct nmd_etcd_watch {
    nmd_agent *agent;               /* reported to */
    char url[256];                  /* the server */
    uint8_t self[16];               /* our node id: our own keys are skipped */
    char key[NMD_ETCD_KEY_MAX + 1]; /* the fleet's range: first key */
    char end[NMD_ETCD_KEY_MAX + 1]; /* ... and range_end */
    nmd_etcd_http http;             /* the thread's client */
    nmd_etcd_stream stream;         /* splits the watch response */
    atomic_bool stop;               /* set by stop: end now */
    pthread_t thread;               /* the watch thread */
    struct watch_tree keys;         /* what each key holds */
    size_t nkeys;                   /* entries in keys */
    int64_t revision;               /* store revision of the last range */
    int failures;                   /* failed attempts in a row */
    bool forgotten;                 /* the agent was told to forget (outage) */
    bool full_logged;               /* WATCH_KEYS_MAX was reached and logged */
};

/* True if an entry other than e reports the same instance of the same node. */
static bool watch_offered(nmd_etcd_watch *w, const watch_entry *e)
{
    watch_entry *o;
    RB_FOREACH(o, watch_tree, &w->keys)
    {
        if (o != e && o->live && memcmp(o->node, e->node, 16) == 0 &&
            nmd_service_same(&o->svc, &e->svc))
            return true;
    }
    return false;
}

/* Reports e's instance gone (unless another key still holds it). */
static void watch_withdraw(nmd_etcd_watch *w, watch_entry *e)
{
    if (e->live && !watch_offered(w, e))
        nmd_agent_del(w->agent, NMD_BACKEND_ETCD, e->node, &e->svc);
    e->live = false;
}

static void watch_remove(nmd_etcd_watch *w, watch_entry *e)
{
    watch_withdraw(w, e);
    RB_REMOVE(watch_tree, &w->keys, e);
    w->nkeys--;
    free(e->key);
    free(e);
}

static watch_entry *watch_find(nmd_etcd_watch *w, const char *key)
{
    watch_entry k = {.key = (char *)key};
    return RB_FIND(watch_tree, &w->keys, &k);
}

static watch_entry *watch_insert(nmd_etcd_watch *w, const char *key)
{
    if (w->nkeys >= WATCH_KEYS_MAX) {
        if (!w->full_logged)
            nmd_log(NM_LOG_WARN, "etcd", "more than %d keys under %s: ignoring the rest",
                    WATCH_KEYS_MAX, w->key);
        w->full_logged = true;
        return NULL;
    }
    watch_entry *e = calloc(1, sizeof(*e));
    if (e == NULL || (e->key = strdup(key)) == NULL) {
        free(e);
        return NULL;
    }
    RB_INSERT(watch_tree, &w->keys, e);
    w->nkeys++;
    return e;
}

/* The host of tcp://HOST:PORT (brackets removed), or "-". */
static void watch_endpoint_host(const char *ep, char *out, size_t cap)
{
    strlcpy(out, "-", cap);
    if (strncmp(ep, "tcp://", 6) != 0)
        return;
    const char *h = ep + 6, *colon = strrchr(h, ':');
    size_t n = colon ? (size_t)(colon - h) : strlen(h);
    if (n >= 2 && h[0] == '[' && h[n - 1] == ']') {
        h++;
        n -= 2;
    }
    if (n > 0 && n < cap) {
        memcpy(out, h, n);
        out[n] = '\0';
    }
}

/* Keeps v's CURVE key only when its "mac" checks with the fleet key (over the node id
 * the value names: a value without "node" cannot be signed), or without a fleet key
 * when the agent trusts unsigned keys (nmd_agent_filter_keys). */
static void watch_check_key(nmd_etcd_watch *w, const char *key, nmd_etcd_value *v)
{
    const nmd_agent_config *cfg = nmd_agent_cfg(w->agent);
    bool ok = cfg->key != NULL && v->has_node && v->has_mac &&
              nmd_record_mac_ok(v->node, &v->svc, cfg->key, cfg->keylen, v->mac);
    nmd_agent_filter_keys(w->agent, NMD_BACKEND_ETCD, v->node, key, ok, &v->svc, 1);
}

/* A key was put (or is in a range): report what it now holds. */
static void watch_put(nmd_etcd_watch *w, const nmd_etcd_kv *kv)
{
    watch_entry *e = watch_find(w, kv->key);
    nmd_etcd_value v;
    if (kv->oversize || nmd_etcd_value_decode(kv->value, kv->value_len, &v) < 0) {
        nmd_etcd_count(NMD_ETCD_REJECTED);
        if (e == NULL)
            e = watch_insert(w, kv->key);
        if (e != NULL && !e->logged)
            nmd_log(NM_LOG_WARN, "etcd", "ignoring key %s: %s", kv->key,
                    kv->oversize ? "value too long" : "not a nomid service instance");
        if (e != NULL) {
            watch_withdraw(w, e);
            e->logged = e->seen = true;
        }
        return;
    }
    if (v.has_node && memcmp(v.node, w->self, 16) == 0) {
        if (e != NULL)
            watch_remove(w, e); /* ours: the agent knows its own table */
        return;
    }
    if (!v.has_node) /* a foreign writer: the key is its node */
        crypto_generichash(v.node, sizeof(v.node), (const unsigned char *)kv->key, strlen(kv->key),
                           NULL, 0);
    if (v.addr[0] == '\0')
        watch_endpoint_host(v.svc.endpoint, v.addr, sizeof(v.addr));
    watch_check_key(w, kv->key, &v);
    if (e != NULL && e->live && memcmp(e->node, v.node, 16) == 0 &&
        nmd_service_same(&e->svc, &v.svc)) {
        e->seen = true;
        return;
    }
    if (e != NULL)
        watch_withdraw(w, e);
    else if ((e = watch_insert(w, kv->key)) == NULL)
        return;
    e->seen = true;
    memcpy(e->node, v.node, 16);
    e->svc = v.svc;
    e->live = nmd_agent_add(w->agent, NMD_BACKEND_ETCD, v.node, v.node_name, v.addr, &v.svc) >= 0;
}

static void watch_forget(nmd_etcd_watch *w)
{
    watch_entry *e, *next;
    RB_FOREACH_SAFE(e, watch_tree, &w->keys, next)
    {
        e->live = false; /* the agent forgets them all at once */
        watch_remove(w, e);
    }
    nmd_agent_forget(w->agent, NMD_BACKEND_ETCD);
}

static json_t *watch_range_request(nmd_etcd_watch *w)
{
    return json_pack("{s:o, s:o}", "key", nmd_etcd_b64(w->key, strlen(w->key)), "range_end",
                     nmd_etcd_b64(w->end, strlen(w->end)));
}

/* Reads the whole range and reports the differences from what is remembered. */
static int watch_range(nmd_etcd_watch *w)
{
    json_t *req = watch_range_request(w), *resp = NULL;
    if (req == NULL)
        return -ENOMEM;
    int rc = nmd_etcd_http_call(&w->http, "/v3/kv/range", req, &resp, WATCH_RANGE_MS);
    json_decref(req);
    if (rc < 0)
        return rc;
    const json_t *kvs = json_object_get(resp, "kvs");
    int64_t rev;
    if (nmd_etcd_int(json_object_get(json_object_get(resp, "header"), "revision"), &rev) < 0 ||
        (kvs != NULL && !json_is_array(kvs))) {
        nmd_etcd_count(NMD_ETCD_BAD_MESSAGES);
        snprintf(w->http.error, sizeof(w->http.error), "a range response without a revision");
        json_decref(resp);
        return -EPROTO;
    }
    watch_entry *e, *next;
    RB_FOREACH(e, watch_tree, &w->keys)
    {
        e->seen = false;
    }
    nmd_etcd_kv kv;
    size_t i;
    const json_t *item;
    json_array_foreach(kvs, i, item)
    {
        if (nmd_etcd_kv_decode(item, false, &kv) < 0)
            nmd_etcd_count(NMD_ETCD_BAD_MESSAGES);
        else
            watch_put(w, &kv);
    }
    RB_FOREACH_SAFE(e, watch_tree, &w->keys, next)
    {
        if (!e->seen)
            watch_remove(w, e);
    }
    json_decref(resp);
    w->revision = rev;
    return 0;
}

/* One message of the watch stream. */
static int watch_message_cb(void *arg, json_t *msg)
{
    nmd_etcd_watch *w = arg;
    const json_t *res = json_object_get(msg, "result"), *err = json_object_get(msg, "error");
    if (err != NULL) {
        const char *m = json_string_value(json_object_get(err, "message"));
        nmd_log(NM_LOG_WARN, "etcd", "watch: %s", m ? m : "error");
        return -EPROTO;
    }
    if (!json_is_object(res)) {
        nmd_etcd_count(NMD_ETCD_BAD_MESSAGES);
        return 0;
    }
    if (json_is_true(json_object_get(res, "canceled")))
        return -ESTALE; /* e.g. our revision was compacted: read the range again */
    const json_t *events = json_object_get(res, "events"), *ev;
    nmd_etcd_kv kv;
    size_t i;
    json_array_foreach(events, i, ev)
    {
        const char *type = json_string_value(json_object_get(ev, "type"));
        bool del = type != NULL && strcmp(type, "DELETE") == 0;
        if ((type != NULL && !del && strcmp(type, "PUT") != 0) ||
            nmd_etcd_kv_decode(json_object_get(ev, "kv"), del, &kv) < 0) {
            nmd_etcd_count(NMD_ETCD_BAD_MESSAGES);
            continue;
        }
        watch_entry *e = del ? watch_find(w, kv.key) : NULL;
        if (del && e != NULL)
            watch_remove(w, e);
        else if (!del)
            watch_put(w, &kv);
    }
    return 0;
}

/* Watches from the revision after the last range until the stream ends. */
static int watch_follow(nmd_etcd_watch *w)
{
    json_t *req = json_pack("{s:{s:o, s:o, s:I}}", "create_request", "key",
                            nmd_etcd_b64(w->key, strlen(w->key)), "range_end",
                            nmd_etcd_b64(w->end, strlen(w->end)), "start_revision",
                            (json_int_t)(w->revision + 1));
    if (req == NULL)
        return -ENOMEM;
    int rc = nmd_etcd_http_stream(&w->http, "/v3/watch", req, &w->stream, watch_message_cb, w);
    json_decref(req);
    return rc;
}

static uint64_t watch_now_ms(void)
{
    return nm_clock_ns() / 1000000u;
}

/* A failed attempt: log the first, forget everything after several, wait a while. */
static void watch_failed(nmd_etcd_watch *w, int rc)
{
    if (w->failures++ == 0)
        nmd_log(NM_LOG_WARN, "etcd", "lost %s (%s): retrying", w->url,
                w->http.error[0] ? w->http.error : strerror(-rc));
    if (w->failures == WATCH_FORGET_AFTER && !w->forgotten) {
        nmd_log(NM_LOG_WARN, "etcd", "%s unreachable: forgetting what it reported", w->url);
        watch_forget(w);
        w->forgotten = true;
    }
    long ms = WATCH_BACKOFF_MIN << (w->failures < 5 ? w->failures - 1 : 4);
    nmd_etcd_http_sleep(&w->http, ms < WATCH_BACKOFF_MAX ? ms : WATCH_BACKOFF_MAX);
}

static void *watch_main(void *arg)
{
    nmd_etcd_watch *w = arg;
    bool need_range = false; /* start() read it */
    while (!atomic_load(&w->stop)) {
        int rc;
        if (need_range) {
            if ((rc = watch_range(w)) < 0) {
                if (rc != -ECANCELED)
                    watch_failed(w, rc);
                continue;
            }
            if (w->failures > 0)
                nmd_log(NM_LOG_INFO, "etcd", "%s is back", w->url);
            w->failures = 0;
            w->forgotten = false;
        }
        uint64_t t0 = watch_now_ms();
        rc = watch_follow(w);
        if (atomic_load(&w->stop))
            break;
        need_range = true;
        nmd_etcd_count(NMD_ETCD_WATCH_RESTARTS);
        if (rc == -ECONNREFUSED || rc == -EHOSTUNREACH || rc == -ETIMEDOUT)
            watch_failed(w, rc);
        else if (watch_now_ms() - t0 < 1000) /* ended at once: do not spin */
            nmd_etcd_http_sleep(&w->http, WATCH_BACKOFF_MIN);
    }
    return NULL;
}

static void watch_free(nmd_etcd_watch *w)
{
    watch_entry *e, *next;
    RB_FOREACH_SAFE(e, watch_tree, &w->keys, next)
    {
        RB_REMOVE(watch_tree, &w->keys, e);
        free(e->key);
        free(e);
    }
    nmd_etcd_stream_fini(&w->stream);
    nmd_etcd_http_fini(&w->http);
    free(w);
}

int nmd_etcd_watch_start(nmd_etcd_watch **wp, nmd_agent *a, const char *url)
{
    const nmd_agent_config *cfg = nmd_agent_cfg(a);
    nmd_etcd_watch *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return -ENOMEM;
    uint32_t inc;
    w->agent = a;
    strlcpy(w->url, url, sizeof(w->url));
    nmd_agent_identity(a, w->self, &inc);
    RB_INIT(&w->keys);
    atomic_init(&w->stop, false);
    nmd_etcd_stream_init(&w->stream, NMD_ETCD_STREAM_MAX);
    int rc = nmd_etcd_fleet_range(cfg->etcd_prefix, cfg->fleet, w->key, w->end, sizeof(w->key));
    if (rc == 0 && sodium_init() < 0)
        rc = -ENOMEM;
    if (rc == 0)
        rc = nmd_etcd_http_init(&w->http, w->url, &w->stop);
    if (rc == 0 && (rc = watch_range(w)) < 0)
        nmd_log(NM_LOG_ERROR, "etcd", "cannot read %s from %s: %s", w->key, w->url, w->http.error);
    if (rc == 0)
        rc = -pthread_create(&w->thread, NULL, watch_main, w);
    if (rc < 0) {
        watch_free(w);
        return rc;
    }
    *wp = w;
    return 0;
}

void nmd_etcd_watch_stop(nmd_etcd_watch **wp)
{
    nmd_etcd_watch *w = *wp;
    if (w == NULL)
        return;
    *wp = NULL;
    atomic_store(&w->stop, true);
    nmd_etcd_http_wake(&w->http);
    pthread_join(w->thread, NULL);
    watch_free(w);
}
