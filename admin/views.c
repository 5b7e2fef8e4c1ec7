/*
 * views.c - the JSON views of the admin endpoint (admin/API.md): node, peers,
 * services, sockets and the summary peers fetch.  Discovery is read through the
 * agent's queries (their callbacks run under its lock and only copy), sockets through
 * nm_ctx_stats (likewise under the context's registry lock).  It also holds how every
 * JSON text of the endpoint writes its numbers (nma_json_real, nma_json_text).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

#include "nodeid.h"
#include "server_int.h"

static const char *const pipe_states[] = {"connecting", "active", "closed"};

void nma_peer_url(const char *addr, uint16_t port, bool tls, const char *path, char *out,
                  size_t cap)
{
    char host[160];
    if (strchr(addr, ':') == NULL) {
        strlcpy(host, addr, sizeof(host));
    } else { /* IPv6, maybe with a zone: [fe80::1%25eth0] */
        size_t n = 0;
        host[n++] = '[';
        for (const char *c = addr; *c != '\0' && n + 4 < sizeof(host); c++) {
            if (*c == '%') {
                memcpy(host + n, "%25", 3);
                n += 3;
            } else {
                host[n++] = *c;
            }
        }
        host[n++] = ']';
        host[n] = '\0';
    }
    snprintf(out, cap, "%s://%s:%u%s", tls ? "https" : "http", host, port, path);
}

/* ---- numbers ---- */

json_t *nma_json_real(double v)
{
    return json_real(round(v * 1000) / 1000);
}

char *nma_json_text(const json_t *j)
{
    return json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(15));
}

/* ---- node ---- */

json_t *nma_view_node(nma_server *s)
{
    json_t *j = json_pack("{s:s, s:o, s:s, s:s}", "version", nm_version(NULL, NULL, NULL), "uptime",
                          nma_json_real((double)(nm_clock_ns() - s->started_ns) / 1e9), "admin",
                          s->url, "curve_key", s->curve_key);
    if (j == NULL || s->agent == NULL)
        return j;
    const nmd_agent_config *cfg = nmd_agent_cfg(s->agent);
    uint8_t id[16];
    uint32_t inc;
    char hex[33];
    nmd_agent_identity(s->agent, id, &inc);
    nmd_id_hex(id, hex);
    json_t *ifs = json_array(), *bks = json_array();
    for (int i = 0; cfg->beacon && i < cfg->nifaces; i++)
        json_array_append_new(ifs, json_string(cfg->ifaces[i]));
    if (cfg->beacon)
        json_array_append_new(bks, json_string("beacon"));
    for (int i = 0; i < cfg->nbackends; i++)
        json_array_append_new(bks, json_string(cfg->backends[i].ops->name));
    nmd_agent_stats st;
    nmd_agent_get_stats(s->agent, &st);
    json_object_update_new(
        j, json_pack("{s:s, s:s, s:s, s:I, s:o, s:o, s:{s:I, s:I, s:I}}", "id", hex, "name",
                     cfg->name, "fleet", cfg->fleet, "incarnation", (json_int_t)inc, "interfaces",
                     ifs, "backends", bks, "beacons", "sent", (json_int_t)st.sent, "received",
                     (json_int_t)st.received, "dropped", (json_int_t)st.dropped));
    return j;
}

/* ---- peers ---- */

static json_t *view_service(const nmd_service *svc)
{
    const char *type = nm_sock_type_name(svc->type);
    return json_pack("{s:s, s:s, s:s}", "name", svc->name, "type", type ? type : "?", "endpoint",
                     svc->endpoint);
}

typedef struct view_peers {
    json_t *list; /* the peers */
    uint64_t now; /* for last_seen */
} view_peers;

static void view_peer_cb(void *arg, const nmd_peer *p)
{
    view_peers *v = arg;
    char hex[33], url[200];
    nmd_id_hex(p->id, hex);
    json_t *svcs = json_array();
    for (size_t i = 0; i < p->nservices; i++)
        json_array_append_new(svcs, view_service(&p->services[i]));
    json_t *admin = json_null();
    if (p->admin_port != 0) {
        nma_peer_url(p->addr, p->admin_port, p->admin_tls, "/", url, sizeof(url));
        admin = json_string(url);
    }
    json_t *seen = p->last_seen_ns != 0 && v->now >= p->last_seen_ns
                       ? nma_json_real((double)(v->now - p->last_seen_ns) / 1e9)
                       : json_null();
    json_array_append_new(v->list, json_pack("{s:s, s:s, s:[s], s:s, s:s, s:o, s:o, s:o}", "id",
                                             hex, "name", p->name, "addresses", p->addr, "state",
                                             p->state == NMD_PEER_ALIVE ? "alive" : "silent",
                                             "backend", nmd_backend_name(p->backend), "last_seen",
                                             seen, "admin", admin, "services", svcs));
}

/* A copy of the agent's peers as JSON objects (empty without an agent). */
json_t *nma_peers_json(nma_server *s)
{
    view_peers v = {json_array(), nm_clock_ns()};
    if (s->agent != NULL && v.list != NULL)
        nmd_agent_peers(s->agent, view_peer_cb, &v);
    return v.list;
}

static int view_sort_key; /* for qsort's comparators (set under view_sort_lock) */
static pthread_mutex_t view_sort_lock = PTHREAD_MUTEX_INITIALIZER;

static int view_cmp_peers(const void *a, const void *b)
{
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    if (view_sort_key == NMA_SORT_LAST_SEEN) {
        double dx = json_real_value(json_object_get(x, "last_seen"));
        double dy = json_real_value(json_object_get(y, "last_seen"));
        return dx < dy ? -1 : dx > dy;
    }
    const char *k = view_sort_key == NMA_SORT_NAME ? "name" : "id";
    return strcmp(json_string_value(json_object_get(x, k)),
                  json_string_value(json_object_get(y, k)));
}

static int view_cmp_sockets(const void *a, const void *b)
{
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    if (view_sort_key == NMA_SORT_TYPE)
        return strcmp(json_string_value(json_object_get(x, "type")),
                      json_string_value(json_object_get(y, "type")));
    const char *k = view_sort_key == NMA_SORT_DROPS    ? "drops"
                    : view_sort_key == NMA_SORT_QUEUED ? "queued"
                                                       : "id";
    json_int_t ix = json_integer_value(json_object_get(x, k));
    json_int_t iy = json_integer_value(json_object_get(y, k));
    return ix < iy ? -1 : ix > iy;
}

/* Sorts list as q says, keeps the page q asks for, and wraps it as {total, offset,
 * limit, <name>: [...]}. */
static json_t *view_page(json_t *list, const nma_query *q, const char *name,
                         int (*cmp)(const void *, const void *))
{
    size_t n = json_array_size(list);
    json_t **items = n ? calloc(n, sizeof(*items)) : NULL;
    json_t *page = json_array();
    if ((n > 0 && items == NULL) || page == NULL) {
        free(items);
        json_decref(list);
        json_decref(page);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        items[i] = json_array_get(list, i);
    if (n > 0) { /* qsort must not be given NULL, even for nothing */
        pthread_mutex_lock(&view_sort_lock);
        view_sort_key = q->sort;
        qsort(items, n, sizeof(*items), cmp);
        pthread_mutex_unlock(&view_sort_lock);
    }
    for (size_t k = 0; k < q->limit && q->offset + k < n; k++) {
        size_t i = q->desc ? n - 1 - (q->offset + k) : q->offset + k;
        json_array_append(page, items[i]);
    }
    free(items);
    json_decref(list);
    return json_pack("{s:I, s:I, s:I, s:o}", "total", (json_int_t)n, "offset",
                     (json_int_t)q->offset, "limit", (json_int_t)q->limit, name, page);
}

json_t *nma_view_peers(nma_server *s, const nma_query *q)
{
    json_t *list = nma_peers_json(s);
    return list ? view_page(list, q, "peers", view_cmp_peers) : NULL;
}

/* ---- services ---- */

/* Adds one instance to {name: [instances]} unless that endpoint is there already. */
static void view_add_instance(json_t *by_name, const nmd_service *svc, const char *node,
                              const char *node_name, const char *backend)
{
    json_t *list = json_object_get(by_name, svc->name);
    if (list == NULL) {
        list = json_array();
        json_object_set_new(by_name, svc->name, list);
    }
    size_t i;
    json_t *it;
    json_array_foreach(list, i, it)
    {
        if (strcmp(json_string_value(json_object_get(it, "endpoint")), svc->endpoint) == 0)
            return;
    }
    const char *type = nm_sock_type_name(svc->type);
    json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s, s:s}", "endpoint", svc->endpoint,
                                          "type", type ? type : "?", "node", node, "node_name",
                                          node_name, "backend", backend));
}

static void view_services_cb(void *arg, const nmd_peer *p)
{
    char hex[33];
    nmd_id_hex(p->id, hex);
    for (size_t i = 0; i < p->nservices; i++)
        view_add_instance(arg, &p->services[i], hex, p->name, nmd_backend_name(p->backend));
}

json_t *nma_view_services(nma_server *s)
{
    json_t *by_name = json_object();
    if (s->agent != NULL && by_name != NULL) {
        uint8_t id[16];
        uint32_t inc;
        char hex[33];
        nmd_agent_identity(s->agent, id, &inc);
        nmd_id_hex(id, hex);
        nmd_service *own = NULL;
        ssize_t n = nmd_agent_table(s->agent, &own);
        for (ssize_t i = 0; i < n; i++)
            view_add_instance(by_name, &own[i], hex, nmd_agent_cfg(s->agent)->name, "local");
        free(own);
        nmd_agent_peers(s->agent, view_services_cb, by_name);
    }
    return json_pack("{s:o}", "services", by_name ? by_name : json_object());
}

/* ---- sockets ---- */

typedef struct view_socks {
    json_t *list; /* the sockets */
    json_t *cur;  /* the socket whose pipes come next */
    bool compact; /* summary: fewer fields */
} view_socks;

static void view_sock_cb(void *arg, const nm_sock_stats_t *st)
{
    view_socks *v = arg;
    const char *type = nm_sock_type_name(st->type);
    json_t *eps = json_array();
    for (int i = 0; i < st->nendpoints; i++)
        json_array_append_new(eps, json_string(st->endpoints[i]));
    v->cur = json_pack("{s:I, s:s, s:o, s:[], s:I, s:I, s:I, s:I}", "id", (json_int_t)st->id,
                       "type", type ? type : "?", "endpoints", eps, "pipes", "drops", (json_int_t)0,
                       "queued", (json_int_t)0, "peers_dropped", (json_int_t)st->peers_dropped,
                       "handshakes_failed", (json_int_t)st->handshakes_failed);
    json_array_append_new(v->list, v->cur);
}

static void view_pipe_cb(void *arg, const nm_sock_stats_t *sock, const nm_pipe_stats_t *st)
{
    (void)sock;
    view_socks *v = arg;
    if (v->cur == NULL)
        return;
    const char *state = st->state >= 0 && st->state <= 2 ? pipe_states[st->state] : "?";
    json_t *p = json_pack("{s:I, s:s, s:s, s:s, s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:I}", "id",
                          (json_int_t)st->id, "endpoint", st->endpoint, "peer", st->peer, "local",
                          st->local, "state", state, "outgoing", st->outgoing, "queued_in",
                          (json_int_t)st->queued_in, "queued_out", (json_int_t)st->queued_out,
                          "sndhwm", (json_int_t)st->sndhwm, "rcvhwm", (json_int_t)st->rcvhwm,
                          "drops", (json_int_t)st->drops, "hwm_hits", (json_int_t)st->hwm_hits);
    /* The counters go to the summary too: the topology page's rates come from them; and
     * the security of the connection, which the page marks. */
    static const char *const mechs[] = {"NULL", "PLAIN", "CURVE"};
    const char *mech = st->mechanism >= 0 && st->mechanism <= 2 ? mechs[st->mechanism] : "?";
    if (p != NULL)
        json_object_update_new(
            p, json_pack("{s:I, s:I, s:I, s:I, s:s, s:s, s:s}", "msgs_in", (json_int_t)st->msgs_in,
                         "msgs_out", (json_int_t)st->msgs_out, "bytes_in", (json_int_t)st->bytes_in,
                         "bytes_out", (json_int_t)st->bytes_out, "mechanism", mech, "peer_key",
                         st->peer_key, "user_id", st->user_id));
    if (p != NULL && !v->compact)
        json_object_update_new(p, json_pack("{s:o, s:I}", "blocked",
                                            nma_json_real((double)st->blocked_ns / 1e9),
                                            "subscriptions", (json_int_t)st->subscriptions));
    json_array_append_new(json_object_get(v->cur, "pipes"), p);
    json_t *d = json_object_get(v->cur, "drops"), *q = json_object_get(v->cur, "queued");
    json_integer_set(d, json_integer_value(d) + (json_int_t)st->drops);
    json_integer_set(q, json_integer_value(q) + (json_int_t)st->queued_in + st->queued_out);
}

/* Every socket of the context with its pipes (compact: the summary's fields). */
json_t *nma_sockets_json(nma_server *s, bool compact)
{
    view_socks v = {json_array(), NULL, compact};
    if (s->ctx != NULL && v.list != NULL)
        nm_ctx_stats(s->ctx, view_sock_cb, view_pipe_cb, &v);
    return v.list;
}

json_t *nma_view_sockets(nma_server *s, const nma_query *q)
{
    json_t *list = nma_sockets_json(s, false);
    return list ? view_page(list, q, "sockets", view_cmp_sockets) : NULL;
}

json_t *nma_summary_of(nma_server *s, json_t *node)
{
    return json_pack("{s:O?, s:O?, s:O?, s:o}", "id", json_object_get(node, "id"), "name",
                     json_object_get(node, "name"), "curve_key", json_object_get(node, "curve_key"),
                     "sockets", nma_sockets_json(s, true));
}

json_t *nma_view_summary(nma_server *s)
{
    json_t *node = nma_view_node(s);
    json_t *j = nma_summary_of(s, node);
    json_decref(node);
    if (j != NULL && s->agent != NULL)
        json_object_set_new(j, "members", nma_topology_members(s));
    return j;
}
