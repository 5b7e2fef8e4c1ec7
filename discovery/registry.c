/*
 * registry.c - the peer table (see registry.h).
 *
 * Peers live in an array searched by id: fleets are tens to hundreds of nodes and a
 * lookup per beacon is cheap next to the datagram itself.  A peer's services change
 * as a whole (a new inline list or a fetched table); the registry compares old and new
 * and reports only the instances that really appeared, went or changed.  What readers
 * see of an instance offered by several peers (backends) is the first entry in peer
 * order; peers keep their order when one is removed, so that choice only changes when
 * an entry does, and every change of it is reported (registry_report).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

#include "registry.h"

struct nmd_registry {
    nmd_peer *peers;  /* known peers */
    size_t npeers;    /* used entries */
    size_t cap;       /* allocated entries */
    nmd_event_cb *cb; /* change reports */
    void *arg;        /* their argument */
};

nmd_registry *nmd_registry_new(nmd_event_cb *cb, void *arg)
{
    nmd_registry *r = calloc(1, sizeof(*r));
    if (r != NULL) {
        r->cb = cb;
        r->arg = arg;
    }
    return r;
}

void nmd_registry_destroy(nmd_registry **rp)
{
    nmd_registry *r = *rp;
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->npeers; i++)
        free(r->peers[i].services);
    free(r->peers);
    free(r);
    *rp = NULL;
}

const char *nmd_backend_name(int backend)
{
    static const char *const names[] = {"beacon", "dnssd", "etcd", "host"};
    return backend >= 0 && backend < NMD_BACKEND_COUNT ? names[backend] : "?";
}

static void registry_emit(nmd_registry *r, int ev, const nmd_peer *p, const nmd_service *s)
{
    if (r->cb != NULL)
        r->cb(r->arg, ev, p, s);
}

/* Same instance: one service name at one endpoint. */
static bool registry_same_instance(const nmd_service *a, const nmd_service *b)
{
    return strcmp(a->name, b->name) == 0 && strcmp(a->endpoint, b->endpoint) == 0;
}

static bool registry_has(const nmd_service *t, size_t n, const nmd_service *s)
{
    for (size_t i = 0; i < n; i++)
        if (nmd_service_same(&t[i], s))
            return true;
    return false;
}

/* What readers see of s's instance: the first entry offering it, in peer order (p's
 * services taken as ps[0..pn) when p is not NULL), or NULL; *owner is its peer. */
static const nmd_service *registry_visible(const nmd_registry *r, const nmd_service *s,
                                           const nmd_peer *p, const nmd_service *ps, size_t pn,
                                           const nmd_peer **owner)
{
    for (size_t i = 0; i < r->npeers; i++) {
        const nmd_peer *q = &r->peers[i];
        const nmd_service *t = q == p ? ps : q->services;
        size_t n = q == p ? pn : q->nservices;
        for (size_t k = 0; k < n; k++) {
            if (registry_same_instance(&t[k], s)) {
                *owner = q;
                return &t[k];
            }
        }
    }
    return NULL;
}

/* Reports how what readers see of s's instance changed from before (offered by peer bp;
 * NULL: nothing) to what the registry holds now: up, down, or down and up again when
 * the entry seen differs (another type or key, so connections follow the new key). */
static void registry_report(nmd_registry *r, const nmd_service *s, const nmd_service *before,
                            const nmd_peer *bp)
{
    const nmd_peer *ap = NULL;
    const nmd_service *after = registry_visible(r, s, NULL, NULL, 0, &ap);
    if (before != NULL && after != NULL && nmd_service_same(before, after))
        return;
    if (before != NULL)
        registry_emit(r, NMD_EV_SERVICE_DOWN, bp, before);
    if (after != NULL)
        registry_emit(r, NMD_EV_SERVICE_UP, ap, after);
}

/* Whether a[0..na) has an entry of s's instance that b[0..nb) lacks: that instance's
 * change is reported once, with the first such entry. */
static bool registry_went(const nmd_service *a, size_t na, const nmd_service *b, size_t nb,
                          const nmd_service *s)
{
    for (size_t i = 0; i < na; i++)
        if (registry_same_instance(&a[i], s) && !registry_has(b, nb, &a[i]))
            return true;
    return false;
}

/* Reports the change of s's instance now that p's services replaced old[0..nold). */
static void registry_changed(nmd_registry *r, const nmd_peer *p, const nmd_service *old,
                             size_t nold, const nmd_service *s)
{
    const nmd_peer *bp = NULL;
    const nmd_service *before = registry_visible(r, s, p, old, nold, &bp);
    registry_report(r, s, before, bp);
}

/* Replaces p's services with table[0..n), reporting what went and what came. */
static int registry_set_services(nmd_registry *r, nmd_peer *p, const nmd_service *table, size_t n)
{
    nmd_service *copy = NULL;
    if (n > 0 && (copy = malloc(n * sizeof(*copy))) == NULL)
        return -ENOMEM;
    if (n > 0)
        memcpy(copy, table, n * sizeof(*copy));
    nmd_service *old = p->services;
    size_t nold = p->nservices;
    p->services = copy;
    p->nservices = n;
    for (size_t i = 0; i < nold; i++)
        if (!registry_has(copy, n, &old[i]) && !registry_went(old, i, copy, n, &old[i]))
            registry_changed(r, p, old, nold, &old[i]);
    for (size_t i = 0; i < n; i++)
        if (!registry_has(old, nold, &copy[i]) && !registry_went(old, nold, copy, n, &copy[i]) &&
            !registry_went(copy, i, old, nold, &copy[i]))
            registry_changed(r, p, old, nold, &copy[i]);
    free(old);
    return 0;
}

/* Adds svc to p's services unless there: 1 added, 0 known, -ENOMEM. */
static int registry_add_service(nmd_registry *r, nmd_peer *p, const nmd_service *svc)
{
    if (registry_has(p->services, p->nservices, svc))
        return 0;
    const nmd_peer *bp = NULL;
    const nmd_service *before = registry_visible(r, svc, NULL, NULL, 0, &bp);
    nmd_service was;
    if (before != NULL)
        was = *before; /* before may point into p->services, moved by the realloc */
    nmd_service *t = reallocarray(p->services, p->nservices + 1, sizeof(*t));
    if (t == NULL)
        return -ENOMEM;
    p->services = t;
    t[p->nservices++] = *svc;
    registry_report(r, svc, before != NULL ? &was : NULL, bp);
    return 1;
}

static nmd_peer *registry_find(nmd_registry *r, int backend, const uint8_t id[16])
{
    for (size_t i = 0; i < r->npeers; i++)
        if (r->peers[i].backend == backend && memcmp(r->peers[i].id, id, 16) == 0)
            return &r->peers[i];
    return NULL;
}

/* Reports a peer's services and the peer itself down, then forgets it. */
static void registry_remove(nmd_registry *r, nmd_peer *p)
{
    registry_set_services(r, p, NULL, 0);
    registry_emit(r, NMD_EV_PEER_DOWN, p, NULL);
    /* The peers after it move up, in order: which entry readers see of an instance
     * offered twice depends on that order, and must not change behind their back. */
    size_t i = (size_t)(p - r->peers);
    memmove(p, p + 1, (r->npeers - i - 1) * sizeof(*p));
    r->npeers--;
}

static nmd_peer *registry_add(nmd_registry *r, int backend, const uint8_t id[16])
{
    if (r->npeers == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        nmd_peer *a = reallocarray(r->peers, cap, sizeof(*a));
        if (a == NULL)
            return NULL;
        r->peers = a;
        r->cap = cap;
    }
    nmd_peer *p = &r->peers[r->npeers++];
    memset(p, 0, sizeof(*p));
    p->backend = backend;
    memcpy(p->id, id, 16);
    return p;
}

int nmd_registry_beacon(nmd_registry *r, const nmd_beacon *b, const char *src_addr, uint64_t now_ns,
                        bool *need_fetch)
{
    *need_fetch = false;
    nmd_peer *p = registry_find(r, NMD_BACKEND_BEACON, b->node_id);
    if (p != NULL && b->incarnation < p->incarnation)
        return 0; /* a beacon from before the peer restarted */
    if (p != NULL && b->incarnation == p->incarnation && b->seq <= p->seq)
        return 0; /* seen already: a replay, or a duplicate from another interface */
    if (p != NULL && b->incarnation > p->incarnation) {
        registry_remove(r, p); /* restarted: what it had is gone */
        p = NULL;
    }
    if (b->goodbye) {
        if (p != NULL)
            registry_remove(r, p);
        return 1;
    }
    bool fresh = p == NULL;
    if (fresh && (p = registry_add(r, NMD_BACKEND_BEACON, b->node_id)) == NULL)
        return -ENOMEM;
    p->incarnation = b->incarnation;
    p->seq = b->seq;
    p->state = NMD_PEER_ALIVE;
    p->last_seen_ns = now_ns;
    p->ctl_port = b->ctl_port;
    p->admin_port = b->admin_port;
    p->admin_tls = b->admin_tls;
    /* A hash from a beacon nobody authenticated could be anyone's: peers verify the
     * admin certificate with it only when the fleet key vouched for it. */
    p->admin_pin_ok = b->admin_tls && b->authentic;
    memcpy(p->admin_pin, b->admin_pin, NMD_PIN_SIZE);
    strlcpy(p->name, b->name, sizeof(p->name));
    strlcpy(p->addr, src_addr, sizeof(p->addr));
    if (fresh)
        registry_emit(r, NMD_EV_PEER_UP, p, NULL);
    bool changed = fresh || memcmp(p->digest, b->digest, NMD_DIGEST_SIZE) != 0;
    memcpy(p->digest, b->digest, NMD_DIGEST_SIZE);
    if (b->complete) {
        p->complete = true;
        if (changed && registry_set_services(r, p, b->services, b->ninline) < 0)
            return -ENOMEM;
    } else if (changed || !p->complete) {
        /* Only part of the table came inline: add what is new in it, and keep what the
         * peer had until its whole table is fetched (no instance flaps meanwhile). */
        p->complete = false;
        *need_fetch = true;
        for (size_t i = 0; changed && i < b->ninline; i++)
            if (registry_add_service(r, p, &b->services[i]) < 0)
                return -ENOMEM;
    }
    return 1;
}

int nmd_registry_set_table(nmd_registry *r, const uint8_t id[16], const uint8_t *digest,
                           const nmd_service *table, size_t n)
{
    nmd_peer *p = registry_find(r, NMD_BACKEND_BEACON, id);
    if (p == NULL)
        return -ENOENT;
    if (memcmp(digest, p->digest, NMD_DIGEST_SIZE) != 0)
        return 0; /* the peer's table changed again meanwhile */
    int rc = registry_set_services(r, p, table, n);
    if (rc == 0)
        p->complete = true;
    return rc < 0 ? rc : 1;
}

int nmd_registry_add(nmd_registry *r, int backend, const uint8_t id[16], const char *name,
                     const char *addr, const nmd_service *svc)
{
    nmd_peer *p = registry_find(r, backend, id);
    bool fresh = p == NULL;
    if (fresh) {
        if ((p = registry_add(r, backend, id)) == NULL)
            return -ENOMEM;
        strlcpy(p->name, name, sizeof(p->name));
        strlcpy(p->addr, addr, sizeof(p->addr));
        p->complete = true;
        registry_emit(r, NMD_EV_PEER_UP, p, NULL);
    }
    return registry_add_service(r, p, svc);
}

int nmd_registry_del(nmd_registry *r, int backend, const uint8_t id[16], const nmd_service *svc)
{
    nmd_peer *p = registry_find(r, backend, id);
    for (size_t i = 0; p != NULL && i < p->nservices; i++) {
        if (!nmd_service_same(&p->services[i], svc))
            continue;
        const nmd_peer *bp = NULL;
        nmd_service gone = p->services[i], was = *registry_visible(r, &gone, NULL, NULL, 0, &bp);
        p->services[i] = p->services[--p->nservices];
        registry_report(r, &gone, &was, bp);
        if (p->nservices == 0)
            registry_remove(r, p);
        return 1;
    }
    return 0;
}

int nmd_registry_set_peer(nmd_registry *r, const nmd_peer *info, const nmd_service *table, size_t n)
{
    nmd_peer *p = registry_find(r, info->backend, info->id);
    bool fresh = p == NULL;
    if (fresh && (p = registry_add(r, info->backend, info->id)) == NULL)
        return -ENOMEM;
    strlcpy(p->name, info->name, sizeof(p->name));
    strlcpy(p->addr, info->addr, sizeof(p->addr));
    p->incarnation = info->incarnation;
    p->admin_port = info->admin_port;
    p->admin_tls = info->admin_tls;
    p->admin_pin_ok = info->admin_pin_ok;
    memcpy(p->admin_pin, info->admin_pin, NMD_PIN_SIZE);
    p->complete = true;
    if (fresh)
        registry_emit(r, NMD_EV_PEER_UP, p, NULL);
    return registry_set_services(r, p, table, n);
}

int nmd_registry_remove_peer(nmd_registry *r, int backend, const uint8_t id[16])
{
    nmd_peer *p = registry_find(r, backend, id);
    if (p == NULL)
        return 0;
    registry_remove(r, p);
    return 1;
}

void nmd_registry_forget(nmd_registry *r, int backend)
{
    for (size_t i = 0; i < r->npeers;) {
        if (r->peers[i].backend == backend)
            registry_remove(r, &r->peers[i]); /* the next peer moved into slot i */
        else
            i++;
    }
}

void nmd_registry_tick(nmd_registry *r, uint64_t now_ns, uint64_t interval_ns, int expiry)
{
    for (size_t i = 0; i < r->npeers;) {
        nmd_peer *p = &r->peers[i];
        if (p->backend != NMD_BACKEND_BEACON) {
            i++; /* its backend says when it leaves */
            continue;
        }
        uint64_t quiet = now_ns > p->last_seen_ns ? now_ns - p->last_seen_ns : 0;
        if (quiet > (uint64_t)expiry * interval_ns) {
            registry_remove(r, p); /* the next peer moved into slot i */
            continue;
        }
        p->state = quiet > interval_ns + interval_ns / 2 ? NMD_PEER_SILENT : NMD_PEER_ALIVE;
        i++;
    }
}

/* Instances of service name (every service when NULL), as nmd_registry_resolve. */
static size_t registry_each(nmd_registry *r, const char *name, nmd_instance_cb *cb, void *arg)
{
    size_t n = 0;
    for (size_t i = 0; i < r->npeers; i++) {
        nmd_peer *p = &r->peers[i];
        for (size_t k = 0; k < p->nservices; k++) {
            const nmd_peer *owner;
            if ((name != NULL && strcmp(p->services[k].name, name) != 0) ||
                registry_visible(r, &p->services[k], NULL, NULL, 0, &owner) != &p->services[k])
                continue; /* not asked for, or another entry is the one seen */
            n++;
            if (cb != NULL)
                cb(arg, p, &p->services[k]);
        }
    }
    return n;
}

size_t nmd_registry_resolve(nmd_registry *r, const char *name, nmd_instance_cb *cb, void *arg)
{
    return registry_each(r, name, cb, arg);
}

size_t nmd_registry_instances(nmd_registry *r, nmd_instance_cb *cb, void *arg)
{
    return registry_each(r, NULL, cb, arg);
}

size_t nmd_registry_peers(nmd_registry *r, nmd_peer_cb *cb, void *arg)
{
    for (size_t i = 0; i < r->npeers && cb != NULL; i++)
        cb(arg, &r->peers[i]);
    return r->npeers;
}
