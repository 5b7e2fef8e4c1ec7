/*
 * topology.c - the fleet as one graph (/api/v1/topology).
 *
 * A thread fetches the summary (/api/v1/summary: sockets and their connections) of
 * every peer that announces an admin port, about once a second with libcurl, but only
 * while somebody looks: for TOPO_INTEREST_S after the last topology request (fetching
 * all the time would cost a fleet of N nodes N x N requests a second for nothing).
 * The view joins them with this node's own summary.  A connection shows up at both ends:
 * the side that connected has an outgoing pipe whose local address is the accepting
 * side's peer address and the other way round, so the two pipes are matched on that
 * pair of addresses and become one edge, from the connecting node to the accepting
 * one, carrying the fuller queue and the drops of both, and the traffic counted at one
 * end with the age of that count (the page turns two reads into msg/s and bytes/s).
 * A peer whose summary cannot be fetched (peer_fetch.c: unreachable, refused, or an
 * HTTPS certificate that fails verification) shows why in its node's admin_error, and
 * the log says it once per change.
 *
 * Programs joined through this node (host.h: peers of backend "host", whose admin
 * endpoints listen on loopback) are fetched like peers, and also while somebody reads
 * this node's summary (TOPO_INTEREST_S after it): the summary carries them, under
 * "members", so a node elsewhere shows them without reaching them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bsd/string.h>

#include "dlog.h"
#include "peer_fetch.h"

#define TOPO_PERIOD_MS  1000 /* between two rounds of fetches */
#define TOPO_INTEREST_S 10   /* fetch for this long after a topology request */

struct nma_topology {
    pthread_t thread;     /* the fetching thread */
    pthread_mutex_t lock; /* every field below */
    pthread_cond_t cond;  /* wakes the thread: to stop, or somebody looks */
    bool stop;            /* leave */
    uint64_t wanted_ns;   /* when the topology was last asked for (0: never) */
    uint64_t members_ns;  /* when the summary was last asked for (0: never) */
    json_t *summaries;    /* node id -> its last summary */
    json_t *fetched;      /* node id -> when its summary arrived (nm_clock_ns) */
    json_t *errors;       /* node id -> why its last fetch failed */
};

/* ---- fetching ---- */

/* Notes peer t's fetch error (NULL: it worked) in errors, logging a change. */
static void topo_note(json_t *errors, json_t *before, const nma_fetch_target *t, const char *err)
{
    const char *was = json_string_value(json_object_get(before, t->id));
    if (err != NULL) {
        json_object_set_new(errors, t->id, json_string(err));
        if (was == NULL || strcmp(was, err) != 0)
            nmd_log(NM_LOG_WARN, "admin", "topology: cannot fetch the summary of %s (%s) at %s: %s",
                    t->name, t->id, t->url, err);
    } else if (was != NULL) {
        nmd_log(NM_LOG_INFO, "admin", "topology: %s (%s) at %s answers again", t->name, t->id,
                t->url);
    }
}

/* Whether interest shown at t (0: never) still holds at now. */
static bool topo_recent(uint64_t t, uint64_t now)
{
    return t != 0 && now - t < (uint64_t)TOPO_INTEREST_S * 1000000000u;
}

/* One round: every peer's summary (only members'), then forget those of peers gone. */
static void topo_round(nma_server *s, CURL *curl, struct curl_slist *headers, bool members_only)
{
    nma_topology *t = s->topo;
    json_t *fresh = json_object(), *when = json_object(), *errors = json_object();
    nma_fetch_target *targets;
    size_t n = nma_fetch_targets(s, &targets);
    pthread_mutex_lock(&t->lock);
    json_t *before = json_incref(t->errors);
    pthread_mutex_unlock(&t->lock);
    for (size_t i = 0; i < n; i++) {
        nma_fetch_target *p = &targets[i];
        if (json_object_get(fresh, p->id) != NULL || json_object_get(errors, p->id) != NULL ||
            (members_only && !p->member))
            continue; /* seen through a second interface, or not wanted */
        char err[CURL_ERROR_SIZE + 64];
        json_t *sum = nma_fetch_summary(s, curl, p, headers, err, sizeof(err));
        topo_note(errors, before, p, sum != NULL ? NULL : err);
        if (sum != NULL) {
            json_object_set_new(fresh, p->id, sum);
            json_object_set_new(when, p->id, json_integer((json_int_t)nm_clock_ns()));
        }
    }
    free(targets);
    json_decref(before);
    pthread_mutex_lock(&t->lock);
    json_decref(t->summaries);
    json_decref(t->fetched);
    json_decref(t->errors);
    t->summaries = fresh;
    t->fetched = when;
    t->errors = errors;
    pthread_mutex_unlock(&t->lock);
}

static void *topo_main(void *arg)
{
    nma_server *s = arg;
    nma_topology *t = s->topo;
    CURL *curl = curl_easy_init();
    struct curl_slist *headers = NULL;
    if (s->token[0] != '\0') { /* a fleet shares one admin token */
        char h[300];
        snprintf(h, sizeof(h), "Authorization: Bearer %s", s->token);
        headers = curl_slist_append(NULL, h);
    }
    pthread_mutex_lock(&t->lock);
    while (!t->stop) {
        uint64_t now = nm_clock_ns();
        bool wanted = topo_recent(t->wanted_ns, now);
        if (!wanted && !topo_recent(t->members_ns, now)) { /* nobody looks: sleep */
            pthread_cond_wait(&t->cond, &t->lock);
            continue;
        }
        pthread_mutex_unlock(&t->lock);
        if (curl != NULL)
            topo_round(s, curl, headers, !wanted);
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += TOPO_PERIOD_MS / 1000;
        pthread_mutex_lock(&t->lock);
        while (!t->stop && pthread_cond_timedwait(&t->cond, &t->lock, &until) == 0)
            ;
    }
    pthread_mutex_unlock(&t->lock);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return NULL;
}

int nma_topology_start(nma_server *s)
{
    nma_topology *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return -ENOMEM;
    pthread_mutex_init(&t->lock, NULL);
    nma_cond_init(&t->cond);
    t->summaries = json_object();
    t->fetched = json_object();
    t->errors = json_object();
    s->topo = t;
    if (s->agent == NULL)
        return 0; /* no peers: nothing to fetch */
    int rc = -pthread_create(&t->thread, NULL, topo_main, s);
    if (rc < 0)
        t->stop = true; /* nma_topology_stop must not join */
    return rc;
}

void nma_topology_stop(nma_server *s)
{
    nma_topology *t = s->topo;
    if (t == NULL)
        return;
    pthread_mutex_lock(&t->lock);
    bool running = !t->stop && s->agent != NULL;
    t->stop = true;
    pthread_cond_broadcast(&t->cond);
    pthread_mutex_unlock(&t->lock);
    if (running)
        pthread_join(t->thread, NULL);
    json_decref(t->summaries);
    json_decref(t->fetched);
    json_decref(t->errors);
    pthread_cond_destroy(&t->cond);
    pthread_mutex_destroy(&t->lock);
    free(t);
    s->topo = NULL;
}

/* ---- the graph ---- */

/* How full a pipe's queues are against their HWMs, 0..1. */
static double topo_fill(json_t *pipe)
{
    double f = 0;
    const char *q[] = {"queued_out", "queued_in"}, *h[] = {"sndhwm", "rcvhwm"};
    for (int i = 0; i < 2; i++) {
        json_int_t hwm = json_integer_value(json_object_get(pipe, h[i]));
        json_int_t n = json_integer_value(json_object_get(pipe, q[i]));
        if (hwm > 0 && (double)n / (double)hwm > f)
            f = (double)n / (double)hwm;
    }
    return f > 1 ? 1 : f;
}

static json_int_t topo_int(json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

/* An edge for pipe p of socket sock on node from, matched (or not) with pipe q of
 * socket qsock on node to; p's counters were read age seconds ago. */
static json_t *topo_edge(const char *from, json_t *sock, json_t *p, const char *to, json_t *qsock,
                         json_t *q, double age)
{
    char id[80];
    snprintf(id, sizeof(id), "%s:%lld", from ? from : to, (long long)topo_int(p, "id"));
    double fp = topo_fill(p), fq = q ? topo_fill(q) : 0;
    json_t *fuller = q != NULL && fq > fp ? q : p;
    json_t *e = json_pack(
        "{s:s, s:s?, s:s?, s:I, s:O?, s:O?, s:O?, s:O?, s:o, s:I, s:I, s:I, s:I}", "id", id, "from",
        from, "to", to, "socket", topo_int(sock, "id"), "type", json_object_get(sock, "type"),
        "peer_type", qsock ? json_object_get(qsock, "type") : NULL, "endpoint",
        json_object_get(p, "endpoint"), "state", json_object_get(p, "state"), "fill",
        nma_json_real(fp > fq ? fp : fq), "queued",
        topo_int(fuller, "queued_out") + topo_int(fuller, "queued_in"), "hwm",
        topo_int(fuller, "sndhwm") > topo_int(fuller, "rcvhwm") ? topo_int(fuller, "sndhwm")
                                                                : topo_int(fuller, "rcvhwm"),
        "drops", topo_int(p, "drops") + (q ? topo_int(q, "drops") : 0), "hwm_hits",
        topo_int(p, "hwm_hits") + (q ? topo_int(q, "hwm_hits") : 0));
    /* Traffic both ways as p's end counted it (the page turns two reads into rates), and
     * the security mechanism the two ends agreed on (a node of a version before
     * mechanisms reports none: the other end's, or null). */
    json_t *mech = json_object_get(p, "mechanism");
    if (mech == NULL && q != NULL)
        mech = json_object_get(q, "mechanism");
    if (e != NULL)
        json_object_update_new(e,
                               json_pack("{s:I, s:I, s:o, s:O?}", "msgs",
                                         topo_int(p, "msgs_in") + topo_int(p, "msgs_out"), "bytes",
                                         topo_int(p, "bytes_in") + topo_int(p, "bytes_out"), "age",
                                         nma_json_real(age), "mechanism", mech));
    return e;
}

/* Seconds since node id's summary was read (ages: node id -> seconds; 0 if not there). */
static double topo_age(json_t *ages, const char *id)
{
    return json_real_value(json_object_get(ages, id));
}

/* This node's addresses as its peers see them (the address of each interface it
 * beacons on, "10.0.0.5", "fe80::1%eth0"), not the --interface specs ("eth0"), so that
 * the page groups it with the other processes of its host. */
static json_t *topo_self_addresses(nma_server *s)
{
    json_t *a = json_array();
    char hosts[NMD_IFACE_MAX][NM_HOST_MAX];
    int n = s->agent != NULL ? nmd_agent_bind_hosts(s->agent, hosts, NMD_IFACE_MAX) : 0;
    for (int i = 0; i < n; i++) {
        char *h = hosts[i];
        size_t len = strlen(h);
        if (h[0] == '[' && len >= 2) { /* "[fe80::1%eth0]": an address, not a host */
            h[len - 1] = '\0';
            h++;
        }
        json_array_append_new(a, json_string(h));
    }
    return a;
}

/* A connection end worth an edge: a tcp pipe with both addresses known. */
static bool topo_wired(json_t *p)
{
    const char *peer = json_string_value(json_object_get(p, "peer"));
    const char *local = json_string_value(json_object_get(p, "local"));
    return peer && local && peer[0] != '\0' && local[0] != '\0' && strcmp(peer, "ipc") != 0 &&
           strcmp(peer, "inproc") != 0;
}

/* Edges of the fleet, from summaries {node id -> summary} read ages {node id -> seconds}
 * ago. */
static json_t *topo_edges(json_t *summaries, json_t *ages)
{
    json_t *edges = json_array(), *incoming = json_object(), *matched = json_object();
    const char *id;
    json_t *sum, *sock, *p;
    size_t i, k;
    char key[300];
    /* Index the accepting ends by "their local|their peer". */
    json_object_foreach(summaries, id, sum)
    {
        json_array_foreach(json_object_get(sum, "sockets"), i, sock)
        {
            json_array_foreach(json_object_get(sock, "pipes"), k, p)
            {
                if (json_is_true(json_object_get(p, "outgoing")) || !topo_wired(p))
                    continue;
                snprintf(key, sizeof(key), "%s|%s", json_string_value(json_object_get(p, "local")),
                         json_string_value(json_object_get(p, "peer")));
                json_object_set_new(incoming, key,
                                    json_pack("{s:s, s:O, s:O, s:f}", "node", id, "sock", sock,
                                              "pipe", p, "age", topo_age(ages, id)));
            }
        }
    }
    /* Each connecting end finds its other end: their peer|local is its local|peer. */
    json_object_foreach(summaries, id, sum)
    {
        json_array_foreach(json_object_get(sum, "sockets"), i, sock)
        {
            json_array_foreach(json_object_get(sock, "pipes"), k, p)
            {
                if (!json_is_true(json_object_get(p, "outgoing")) || !topo_wired(p))
                    continue;
                snprintf(key, sizeof(key), "%s|%s", json_string_value(json_object_get(p, "peer")),
                         json_string_value(json_object_get(p, "local")));
                json_t *in = json_object_get(incoming, key);
                if (in != NULL)
                    json_object_set_new(matched, key, json_true());
                json_array_append_new(
                    edges, topo_edge(id, sock, p,
                                     in ? json_string_value(json_object_get(in, "node")) : NULL,
                                     in ? json_object_get(in, "sock") : NULL,
                                     in ? json_object_get(in, "pipe") : NULL, topo_age(ages, id)));
            }
        }
    }
    /* Accepted connections from nodes not known (a libzmq program, say). */
    const char *key2;
    json_t *in;
    json_object_foreach(incoming, key2, in)
    {
        if (json_object_get(matched, key2) == NULL)
            json_array_append_new(
                edges, topo_edge(NULL, json_object_get(in, "sock"), json_object_get(in, "pipe"),
                                 json_string_value(json_object_get(in, "node")), NULL, NULL,
                                 json_real_value(json_object_get(in, "age"))));
    }
    json_decref(incoming);
    json_decref(matched);
    return edges;
}

/* The sockets of a summary without their pipes, for the node list. */
static json_t *topo_sockets(json_t *sum)
{
    json_t *out = json_array(), *sock;
    size_t i;
    json_array_foreach(json_object_get(sum, "sockets"), i, sock)
    {
        json_array_append_new(out,
                              json_pack("{s:O?, s:O?, s:O?}", "id", json_object_get(sock, "id"),
                                        "type", json_object_get(sock, "type"), "endpoints",
                                        json_object_get(sock, "endpoints")));
    }
    return out;
}

/* Under the topology's lock: notes interest (in *at) now, waking the fetching thread
 * if it slept; returns now. */
static uint64_t topo_want(nma_topology *t, uint64_t *at)
{
    uint64_t now = nm_clock_ns();
    if (!topo_recent(t->wanted_ns, now) && !topo_recent(t->members_ns, now))
        pthread_cond_broadcast(&t->cond);
    *at = now;
    return now;
}

/* Whether peer p (nma_peers_json) is a program joined through this node. */
static bool topo_is_member(json_t *p)
{
    const char *b = json_string_value(json_object_get(p, "backend"));
    return b != NULL && strcmp(b, "host") == 0;
}

/* The members in peer p's summary sum (its "members"): nodes of their own, on p's host,
 * reached through p; their summaries join summaries (for the edges), of p's age. */
static void topo_add_members(json_t *nodes, json_t *summaries, json_t *ages, json_t *p, json_t *sum)
{
    size_t i;
    json_t *m;
    json_t *age = json_object_get(ages, json_string_value(json_object_get(p, "id")));
    json_array_foreach(json_object_get(sum, "members"), i, m)
    {
        const char *id = json_string_value(json_object_get(m, "id"));
        if (id == NULL || json_object_get(summaries, id) != NULL)
            continue;
        json_object_set(summaries, id, m);
        if (age != NULL)
            json_object_set(ages, id, age);
        json_array_append_new(
            nodes,
            json_pack("{s:s, s:O?, s:O?, s:O?, s:O?, s:n, s:O?, s:O?, s:O?, s:o}", "id", id, "name",
                      json_object_get(m, "name"), "state", json_object_get(p, "state"), "addresses",
                      json_object_get(p, "addresses"), "admin", json_object_get(m, "admin"),
                      "admin_error", "curve_key", json_object_get(m, "curve_key"), "services",
                      json_object_get(m, "services"), "via", json_object_get(p, "id"), "sockets",
                      topo_sockets(m)));
    }
}

json_t *nma_topology_members(nma_server *s)
{
    json_t *list = json_array(), *peers = nma_peers_json(s), *p;
    size_t i;
    pthread_mutex_lock(&s->topo->lock);
    topo_want(s->topo, &s->topo->members_ns);
    json_array_foreach(peers, i, p)
    {
        const char *id = json_string_value(json_object_get(p, "id"));
        json_t *sum =
            id != NULL && topo_is_member(p) ? json_object_get(s->topo->summaries, id) : NULL;
        if (sum == NULL)
            continue;
        json_t *m = json_deep_copy(sum);
        json_object_set(m, "services", json_object_get(p, "services"));
        json_object_set(m, "admin", json_object_get(p, "admin")); /* as this node reaches it */
        json_object_del(m, "members");
        json_array_append_new(list, m);
    }
    pthread_mutex_unlock(&s->topo->lock);
    json_decref(peers);
    return list;
}

json_t *nma_view_topology(nma_server *s)
{
    json_t *node = nma_view_node(s), *self = nma_summary_of(s, node);
    json_t *summaries = json_object(), *ages = json_object(), *nodes = json_array();
    const char *self_id = json_string_value(json_object_get(node, "id"));
    if (self_id == NULL)
        self_id = "self";
    json_object_set(summaries, self_id, self);
    /* This node. */
    json_t *own = json_array();
    if (s->agent != NULL) {
        nmd_service *t = NULL;
        ssize_t n = nmd_agent_table(s->agent, &t);
        for (ssize_t i = 0; i < n; i++) {
            const char *type = nm_sock_type_name(t[i].type);
            json_array_append_new(own, json_pack("{s:s, s:s, s:s}", "name", t[i].name, "type",
                                                 type ? type : "?", "endpoint", t[i].endpoint));
        }
        free(t);
    }
    json_array_append_new(
        nodes, json_pack("{s:s, s:O?, s:s, s:o, s:s, s:n, s:s, s:o, s:n, s:o}", "id", self_id,
                         "name", json_object_get(node, "name"), "state", "self", "addresses",
                         topo_self_addresses(s), "admin", s->url, "admin_error", "curve_key",
                         s->curve_key, "services", own, "via", "sockets", topo_sockets(self)));
    /* Its peers, with their summaries when fetched. */
    json_t *peers = nma_peers_json(s), *p;
    size_t i;
    pthread_mutex_lock(&s->topo->lock);
    uint64_t now = topo_want(s->topo, &s->topo->wanted_ns);
    json_t *here = topo_self_addresses(s);
    json_array_foreach(peers, i, p)
    {
        const char *id = json_string_value(json_object_get(p, "id"));
        if (id == NULL || json_object_get(summaries, id) != NULL)
            continue;          /* the same node seen through a second backend */
        if (topo_is_member(p)) /* grouped with the processes of this host */
            json_object_set(p, "addresses", here);
        json_t *sum = json_object_get(s->topo->summaries, id);
        json_object_set_new(summaries, id, sum ? json_incref(sum) : json_pack("{s:[]}", "sockets"));
        json_int_t at = json_integer_value(json_object_get(s->topo->fetched, id));
        if (at > 0 && now >= (uint64_t)at)
            json_object_set_new(ages, id, json_real((double)(now - (uint64_t)at) / 1e9));
        /* Its CURVE key as its summary says: null until one is fetched. */
        json_t *key = json_object_get(json_object_get(summaries, id), "curve_key");
        json_array_append_new(
            nodes,
            json_pack("{s:s, s:O?, s:O?, s:O?, s:O?, s:O?, s:O?, s:O?, s:n, s:o}", "id", id, "name",
                      json_object_get(p, "name"), "state", json_object_get(p, "state"), "addresses",
                      json_object_get(p, "addresses"), "admin", json_object_get(p, "admin"),
                      "admin_error", json_object_get(s->topo->errors, id), "curve_key", key,
                      "services", json_object_get(p, "services"), "via", "sockets",
                      topo_sockets(json_object_get(summaries, id))));
        topo_add_members(nodes, summaries, ages, p, json_object_get(summaries, id));
    }
    pthread_mutex_unlock(&s->topo->lock);
    json_decref(here);
    json_t *j = json_pack("{s:s, s:o, s:o}", "self", self_id, "nodes", nodes, "edges",
                          topo_edges(summaries, ages));
    json_decref(peers);
    json_decref(summaries);
    json_decref(ages);
    json_decref(self);
    json_decref(node);
    return j;
}
