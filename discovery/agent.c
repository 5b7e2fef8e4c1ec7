/*
 * agent.c - the discovery agent thread (see agent.h).
 *
 * The thread sleeps in poll(2) on the beacon sockets and an eventfd (stop, or a
 * changed service table) until the next beacon is due.  A service bound to a wildcard
 * host (tcp://\*:5555) is announced on each interface with that interface's address,
 * so every peer is given an endpoint it can reach on the link it heard us on.
 * Datagrams that do not decode, belong to another fleet, lack a valid signature when a
 * key is set, or are replays, are dropped and counted; each kind is logged, rate-limited,
 * saying which it is.  CURVE keys in beacons and tables no fleet key authenticated are
 * dropped before the registry sees them (trust.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

#include "agent.h"
#include "dlog.h"
#include "fetcher.h"
#include "iface.h"
#include "nomid.h"
#include "trust.h"
#include "udp.h"

/* Most descriptors the agent polls: beacon sockets, the eventfd, table servers and
 * their clients, fetches. */
#define AGENT_PFDS_MAX (NMD_IFACE_MAX * (2 + NMD_TABLE_CLIENTS) + 1 + NMD_FETCH_MAX)

/* How often one kind of dropped datagram was logged (agent_drop). */
typedef struct agent_droplog {
    uint64_t last_ns;  /* when the last line was written (0: never) */
    uint64_t unlogged; /* dropped since without a line */
} agent_droplog;

typedef struct agent_listener {
    nmd_event_cb *cb; /* called on registry events */
    void *arg;        /* its argument */
} agent_listener;

struct nmd_agent {
    nmd_agent_config cfg;                    /* configuration (ifaces point into ifs[]) */
    nmd_iface ifs[NMD_IFACE_MAX];            /* the interfaces, specs expanded */
    char backend_args[NMD_BACKEND_MAX][256]; /* copies of the backends' arguments */
    nmd_backend *backends[NMD_BACKEND_MAX];  /* the running backends */
    nmd_udp udp[NMD_IFACE_MAX];              /* one beacon socket per interface */
    int nudp;                                /* their count */
    nmd_table_server srv[NMD_IFACE_MAX];     /* our whole table, per interface */
    uint8_t *enc[NMD_IFACE_MAX];             /* its encoding for srv[i] (malloc'd) */
    ssize_t enclen[NMD_IFACE_MAX];           /* its length */
    uint64_t enc_gen[NMD_IFACE_MAX];         /* table_gen it was made from */
    uint64_t table_gen;                      /* grows with every change of our table */
    nmd_fetcher fetcher;                     /* peers' tables being fetched */
    nmd_trust trust;                         /* drops unauthenticated keys (own lock) */
    uint8_t key[256];                        /* copy of the fleet key */
    int wake;                                /* eventfd: stop or table changed */
    pthread_t thread;                        /* the agent thread */
    pthread_mutex_t lock;                    /* registry, services, stats, stop */
    pthread_cond_t changed;                  /* broadcast on every registry event */
    agent_listener *listeners;               /* nmd_agent_listen */
    size_t nlisteners;                       /* their count */
    nmd_registry *reg;                       /* peers */
    nmd_service *services;                   /* our table */
    size_t nservices;                        /* its size */
    uint8_t id[16];                          /* our node id */
    uint32_t incarnation;                    /* our restart counter */
    uint32_t seq;                            /* last beacon sequence number */
    uint16_t admin_port;                     /* announced in beacons (0 = none) */
    char admin_host[NMD_ADMIN_HOST_MAX + 1]; /* the address admin listens on */
    bool admin_tls;                          /* ... serving HTTPS */
    uint8_t admin_pin[NMD_PIN_SIZE];         /* ... with this key hash */
    bool stop;                               /* leave the loop */
    nmd_agent_stats stats;                   /* counters */
    agent_droplog droplog[4];                /* per enum agent_drop_kind, under lock */
};

void nmd_agent_config_init(nmd_agent_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    strlcpy(cfg->fleet, "default", sizeof(cfg->fleet));
    strlcpy(cfg->etcd_prefix, "/nomid/", sizeof(cfg->etcd_prefix));
    cfg->beacon = true;
    cfg->interval_ns = 1000000000u;
    cfg->expiry = 3;
    cfg->port = NMD_UDP_PORT;
    cfg->group = NMD_UDP_GROUP;
}

void nmd_agent_endpoint_for(const char *ep, const char *host, char *out, size_t cap)
{
    static const char *const wild[] = {"tcp://*:", "tcp://0.0.0.0:"};
    for (size_t w = 0; w < 2; w++) {
        size_t n = strlen(wild[w]);
        if (strncmp(ep, wild[w], n) == 0) {
            snprintf(out, cap, "tcp://%s:%s", host, ep + n);
            return;
        }
    }
    strlcpy(out, ep, cap);
}

/* Whether ep listens on the address of one of our beacon interfaces other than u: a
 * svc:// bind listens on each interface's address, and each is announced on its own
 * interface only (a peer hearing us on two links must not connect twice). */
static bool agent_owned_elsewhere(const nmd_agent *a, const nmd_udp *u, const char *ep)
{
    char host[NMD_UDP_ADDRSTRLEN + 2];
    if (nmd_udp_endpoint_host(u, host, sizeof(host)) == 0 && nmd_iface_host_is(ep, host))
        return false;
    for (int j = 0; j < a->nudp; j++)
        if (nmd_udp_endpoint_host(&a->udp[j], host, sizeof(host)) == 0 &&
            nmd_iface_host_is(ep, host))
            return true;
    return false;
}

/* Our table as announced on interface u: wildcard hosts become u's address, services
 * unreachable through u, or listening on another interface's address, are left out.
 * Returns the count written to out. */
static size_t agent_table_for(nmd_agent *a, const nmd_udp *u, nmd_service *out)
{
    size_t n = 0;
    for (size_t i = 0; i < a->nservices; i++) {
        out[n] = a->services[i];
        if (!agent_owned_elsewhere(a, u, a->services[i].endpoint) &&
            nmd_iface_endpoint(a->services[i].endpoint, u, out[n].endpoint,
                               sizeof(out[n].endpoint)))
            n++;
    }
    return n;
}

int nmd_agent_bind_hosts(nmd_agent *a, char (*hosts)[NM_HOST_MAX], int max)
{
    int n = 0;
    for (int i = 0; i < a->cfg.nifaces && n < max; i++) {
        if (nmd_iface_bind_host(&a->ifs[i], hosts[n], NM_HOST_MAX) < 0)
            continue; /* the interface lost its address: nothing to listen on */
        bool dup = false;
        for (int j = 0; j < n && !dup; j++)
            dup = strcmp(hosts[j], hosts[n]) == 0;
        n += !dup;
    }
    return n;
}

/* Brings the table message served on interface i up to date.  Called with the lock
 * held. */
static void agent_encode_table(nmd_agent *a, int i)
{
    if (a->enc[i] != NULL && a->enc_gen[i] == a->table_gen)
        return;
    free(a->enc[i]);
    a->enc[i] = NULL;
    nmd_service *table = a->nservices ? calloc(a->nservices, sizeof(*table)) : NULL;
    if (a->nservices > 0 && table == NULL)
        return;
    size_t n = agent_table_for(a, &a->udp[i], table);
    a->enclen[i] = nmd_table_encode(a->id, a->incarnation, table, n, a->cfg.key ? a->key : NULL,
                                    a->cfg.keylen, &a->enc[i]);
    if (a->enclen[i] < 0)
        a->enc[i] = NULL;
    a->enc_gen[i] = a->table_gen;
    free(table);
}

/* The registry's callback: the configured one, then the listeners, then waiters. */
static void agent_event(void *arg, int ev, const nmd_peer *p, const nmd_service *s)
{
    nmd_agent *a = arg;
    if (a->cfg.event_cb != NULL)
        a->cfg.event_cb(a->cfg.event_arg, ev, p, s);
    for (size_t i = 0; i < a->nlisteners; i++)
        a->listeners[i].cb(a->listeners[i].arg, ev, p, s);
    pthread_cond_broadcast(&a->changed);
}

/* Sends one beacon (or goodbye) on every interface.  Called with the lock held. */
static void agent_send(nmd_agent *a, bool goodbye)
{
    nmd_beacon b;
    memset(&b, 0, sizeof(b));
    memcpy(b.node_id, a->id, sizeof(a->id));
    b.incarnation = a->incarnation;
    b.seq = ++a->seq;
    b.goodbye = goodbye;
    strlcpy(b.fleet, a->cfg.fleet, sizeof(b.fleet));
    strlcpy(b.name, a->cfg.name, sizeof(b.name));
    nmd_service *table = a->nservices ? calloc(a->nservices, sizeof(*table)) : NULL;
    if (a->nservices > 0 && table == NULL)
        return;
    for (int i = 0; i < a->nudp; i++) {
        uint8_t out[NMD_BEACON_MAX];
        size_t n = agent_table_for(a, &a->udp[i], table);
        b.ctl_port = a->srv[i].port;
        b.admin_port = a->admin_port;
        b.admin_tls = a->admin_tls && a->admin_port != 0;
        memcpy(b.admin_pin, a->admin_pin, sizeof(b.admin_pin));
        int len = nmd_beacon_encode(&b, table, n, a->cfg.key ? a->key : NULL, a->cfg.keylen, out,
                                    sizeof(out));
        if (len > 0 && nmd_udp_send(&a->udp[i], out, (size_t)len) == 0) {
            a->stats.sent++;
            a->stats.bytes_sent += (uint64_t)len;
        }
    }
    free(table);
}

/* Why a datagram was dropped.  Each kind is logged at most once per its interval, with
 * the count of the ones not logged since: another fleet's beacons are normal on a shared
 * LAN (INFO, once a minute), the others point at a misconfigured or hostile sender. */
enum agent_drop_kind { DROP_FLEET, DROP_UNSIGNED, DROP_BADSIG, DROP_BAD, DROP_KINDS };

static void agent_drop(nmd_agent *a, enum agent_drop_kind kind, const char *src, const char *fleet,
                       int rc, uint64_t now)
{
    static const uint64_t every_s[DROP_KINDS] = {60, 10, 10, 10};
    a->stats.dropped++;
    a->stats.malformed += kind != DROP_FLEET;
    a->stats.foreign += kind == DROP_FLEET;
    agent_droplog *l = &a->droplog[kind];
    if (l->last_ns != 0 && now - l->last_ns < every_s[kind] * 1000000000u) {
        l->unlogged++;
        return;
    }
    char more[64] = "";
    if (l->unlogged > 0)
        snprintf(more, sizeof(more), " (and %llu more since the last such line)",
                 (unsigned long long)l->unlogged);
    l->last_ns = now;
    l->unlogged = 0;
    switch (kind) {
    case DROP_FLEET:
        nmd_log(NM_LOG_INFO, "discovery",
                "beacon from %s ignored: another fleet ('%s'; ours is '%s')%s", src, fleet,
                a->cfg.fleet, more);
        break;
    case DROP_UNSIGNED:
        nmd_log(NM_LOG_WARN, "discovery",
                "beacon from %s dropped: unsigned, and this node has a fleet key (its fleet's "
                "beacons must be signed with it)%s",
                src, more);
        break;
    case DROP_BADSIG:
        nmd_log(NM_LOG_WARN, "discovery",
                "beacon from %s dropped: bad signature (signed with another fleet key, or "
                "forged)%s",
                src, more);
        break;
    default:
        nmd_log(NM_LOG_WARN, "discovery", "beacon from %s dropped: %s%s", src,
                rc == -EPROTONOSUPPORT ? "unknown version"
                : rc == -EMSGSIZE      ? "oversized"
                                       : "malformed",
                more);
    }
}

/* Sorts out a beacon our key refused: the fleet it claims (unauthenticated, read only to
 * say why it was dropped) and whether it is signed at all. */
static enum agent_drop_kind agent_refused_kind(const nmd_agent *a, const uint8_t *in, size_t n,
                                               char *fleet, size_t cap)
{
    nmd_beacon peek;
    if (nmd_beacon_decode(in, n, NULL, 0, &peek) < 0)
        return DROP_BAD;
    strlcpy(fleet, peek.fleet, cap);
    if (strcmp(peek.fleet, a->cfg.fleet) != 0)
        return DROP_FLEET;
    return nmd_beacon_signed(in, n) ? DROP_BADSIG : DROP_UNSIGNED;
}

/* Reads every waiting datagram on u into the registry, starting a fetch of the whole
 * table of a peer whose beacon carried only part of it.  Called with the lock held. */
static void agent_receive(nmd_agent *a, nmd_udp *u, uint64_t now)
{
    const char *zone = u->family == AF_INET6 ? u->dev : NULL;
    for (;;) {
        uint8_t in[NMD_BEACON_MAX];
        char src[NMD_UDP_ADDRSTRLEN] = "?";
        ssize_t n = nmd_udp_recv(u, in, sizeof(in), src, sizeof(src));
        if (n == -EAGAIN)
            return;
        a->stats.received++;
        nmd_beacon b;
        int rc =
            n < 0 ? (int)n
                  : nmd_beacon_decode(in, (size_t)n, a->cfg.key ? a->key : NULL, a->cfg.keylen, &b);
        if (rc == -EACCES) {
            char fleet[sizeof(b.fleet)] = "";
            agent_drop(a, agent_refused_kind(a, in, (size_t)n, fleet, sizeof(fleet)), src, fleet,
                       rc, now);
            continue;
        }
        if (rc < 0 || strcmp(b.fleet, a->cfg.fleet) != 0) {
            agent_drop(a, rc < 0 ? DROP_BAD : DROP_FLEET, src, b.fleet, rc, now);
            continue;
        }
        if (memcmp(b.node_id, a->id, sizeof(a->id)) == 0)
            continue; /* our own, looped back */
        for (int i = 0; zone != NULL && i < b.ninline; i++)
            nmd_iface_zone(b.services[i].endpoint, sizeof(b.services[i].endpoint), zone);
        nmd_trust_filter(&a->trust, NMD_BACKEND_BEACON, b.node_id, src, b.authentic, b.services,
                         b.ninline);
        bool fetch;
        if (nmd_registry_beacon(a->reg, &b, src, now, &fetch) == 0)
            a->stats.dropped++; /* a replay, or the same beacon on a second interface */
        else if (fetch)
            nmd_fetcher_start(&a->fetcher, b.node_id, b.digest, src, b.ctl_port,
                              zone != NULL ? zone : "");
    }
}

/* A peer's whole table arrived (fetcher.h): checked with the fleet key when there is
 * one (the fetcher refuses unsigned tables then), so authentic exactly then. */
static void agent_fetched(void *arg, const nmd_table_msg *m, const char *dev)
{
    nmd_agent *a = arg;
    for (size_t i = 0; dev[0] != '\0' && i < m->n; i++)
        nmd_iface_zone(m->services[i].endpoint, sizeof(m->services[i].endpoint), dev);
    nmd_trust_filter(&a->trust, NMD_BACKEND_BEACON, m->node_id, "its table", a->cfg.key != NULL,
                     m->services, m->n);
    pthread_mutex_lock(&a->lock);
    nmd_registry_set_table(a->reg, m->node_id, m->digest, m->services, m->n);
    pthread_mutex_unlock(&a->lock);
}

/* Serves our table to the peers connecting to interface i's control port. */
static void agent_serve(nmd_agent *a, int i)
{
    pthread_mutex_lock(&a->lock);
    agent_encode_table(a, i);
    pthread_mutex_unlock(&a->lock);
    if (a->enc[i] != NULL)
        nmd_table_server_on_readable(&a->srv[i], a->enc[i], (size_t)a->enclen[i]);
}

/* Fills pfds: beacon sockets, the eventfd, table servers, their clients, fetches.
 * Returns the count; *nfixed is where the clients and fetches start. */
static int agent_pollfds(nmd_agent *a, struct pollfd *pfds, int *nfixed, uint64_t now)
{
    int n = 0;
    for (int i = 0; i < a->nudp; i++)
        pfds[n++] = (struct pollfd){.fd = a->udp[i].fd, .events = POLLIN};
    pfds[n++] = (struct pollfd){.fd = a->wake, .events = POLLIN};
    for (int i = 0; !a->cfg.passive && i < a->nudp; i++)
        pfds[n++] = (struct pollfd){.fd = a->srv[i].fd, .events = POLLIN};
    *nfixed = n;
    for (int i = 0; !a->cfg.passive && i < a->nudp; i++)
        n += nmd_table_server_pollfds(&a->srv[i], pfds + n, AGENT_PFDS_MAX - n);
    n += nmd_fetcher_pollfds(&a->fetcher, pfds + n, AGENT_PFDS_MAX - n, now);
    return n;
}

static void *agent_main(void *arg)
{
    nmd_agent *a = arg;
    uint64_t interval = a->cfg.interval_ns;
    uint64_t next_send = nm_clock_ns();
    struct pollfd pfds[AGENT_PFDS_MAX];
    for (;;) {
        uint64_t now = nm_clock_ns();
        pthread_mutex_lock(&a->lock);
        if (a->stop) {
            if (!a->cfg.passive && a->cfg.beacon)
                agent_send(a, true);
            pthread_mutex_unlock(&a->lock);
            return NULL;
        }
        if (!a->cfg.passive && a->cfg.beacon && now >= next_send) {
            agent_send(a, false);
            next_send = now + interval;
        }
        nmd_registry_tick(a->reg, now, interval, a->cfg.expiry);
        pthread_mutex_unlock(&a->lock);

        /* Wake for the next beacon, or a quarter interval to age peers promptly. */
        uint64_t wait = interval / 4;
        if (!a->cfg.passive && next_send > now && next_send - now < wait)
            wait = next_send - now;
        int nfixed, n = agent_pollfds(a, pfds, &nfixed, now);
        if (poll(pfds, (nfds_t)n, (int)(wait / 1000000u) + 1) <= 0)
            continue;
        uint64_t v;
        if (pfds[a->nudp].revents & POLLIN) {
            (void)!read(a->wake, &v, sizeof(v));
            next_send = 0; /* the table changed: announce it now */
        }
        pthread_mutex_lock(&a->lock);
        for (int i = 0; i < a->nudp; i++)
            if (pfds[i].revents & POLLIN)
                agent_receive(a, &a->udp[i], nm_clock_ns());
        pthread_mutex_unlock(&a->lock);
        for (int i = 0; !a->cfg.passive && i < a->nudp; i++)
            if (pfds[a->nudp + 1 + i].revents & POLLIN)
                agent_serve(a, i);
        for (int k = nfixed; k < n; k++)
            for (int i = 0; !a->cfg.passive && pfds[k].revents != 0 && i < a->nudp; i++)
                nmd_table_server_on_event(&a->srv[i], &pfds[k]);
        nmd_fetcher_on_events(&a->fetcher, pfds + nfixed, n - nfixed, agent_fetched, a);
    }
}

/* Opens interface i's beacon socket and, unless passive, its table server. */
static int agent_open_iface(nmd_agent *a, int i)
{
    nmd_udp *u = &a->udp[i];
    const nmd_iface *f = &a->ifs[i];
    int rc = nmd_udp_open(u, f->name, f->group, a->cfg.port, 1);
    uint16_t port;
    if (rc == 0 && !a->cfg.passive && (rc = nmd_table_server_open(&a->srv[i], u->addr, &port)) < 0)
        nmd_udp_close(u);
    if (rc == 0) {
        a->nudp++;
        return 0;
    }
    bool v6 = strchr(f->group, ':') != NULL;
    if (rc == -ENODEV)
        nmd_log(NM_LOG_ERROR, "discovery",
                "interface '%s': no such interface, or it has no %s address (see `ip -br addr`)",
                f->name, v6 ? "IPv6 link-local" : "IPv4");
    else
        nmd_log(NM_LOG_ERROR, "discovery", "interface '%s': cannot open its beacon socket: %s",
                f->name, nm_strerror(rc));
    return rc;
}

static void agent_free(nmd_agent *a)
{
    for (int i = 0; i < a->nudp; i++) {
        nmd_udp_close(&a->udp[i]);
        if (!a->cfg.passive)
            nmd_table_server_close(&a->srv[i]);
        free(a->enc[i]);
    }
    nmd_fetcher_fini(&a->fetcher);
    if (a->wake >= 0)
        close(a->wake);
    nmd_registry_destroy(&a->reg);
    nmd_trust_fini(&a->trust);
    free(a->services);
    free(a->listeners);
    pthread_cond_destroy(&a->changed);
    pthread_mutex_destroy(&a->lock);
    free(a);
}

/* Stops the running backends, last started first. */
static void agent_stop_backends(nmd_agent *a)
{
    for (int i = a->cfg.nbackends - 1; i >= 0; i--) {
        if (a->backends[i] == NULL)
            continue;
        a->cfg.backends[i].ops->stop(&a->backends[i]);
        pthread_mutex_lock(&a->lock);
        nmd_registry_forget(a->reg, a->cfg.backends[i].ops->kind);
        pthread_mutex_unlock(&a->lock);
    }
}

int nmd_agent_start(nmd_agent **ap, const nmd_agent_config *cfg)
{
    if (cfg->nifaces < 0 || cfg->nifaces > NMD_IFACE_MAX || cfg->interval_ns == 0 ||
        cfg->nbackends < 0 || cfg->nbackends > NMD_BACKEND_MAX || cfg->expiry < 1 ||
        cfg->fleet[0] == '\0' || cfg->keylen > sizeof(((nmd_agent *)0)->key) ||
        (cfg->key != NULL && cfg->keylen < NMD_KEY_MIN))
        return -EINVAL;
    nmd_agent *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return -ENOMEM;
    a->cfg = *cfg;
    a->wake = -1;
    nmd_trust_init(&a->trust, cfg->trust_unsigned_keys, cfg->key != NULL);
    pthread_mutex_init(&a->lock, NULL);
    pthread_condattr_t ca; /* nmd_agent_wait's deadlines are on the monotonic clock */
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&a->changed, &ca);
    pthread_condattr_destroy(&ca);
    for (int i = 0; i < a->cfg.nbackends; i++) {
        if (cfg->backends[i].arg == NULL)
            continue;
        strlcpy(a->backend_args[i], cfg->backends[i].arg, sizeof(a->backend_args[i]));
        a->cfg.backends[i].arg = a->backend_args[i];
    }
    if (cfg->key != NULL) {
        memcpy(a->key, cfg->key, cfg->keylen);
        a->cfg.key = a->key; /* backends read it through nmd_agent_cfg, any time */
    }
    if (a->cfg.nifaces == 0) {
        a->cfg.ifaces[0] = "127.0.0.1"; /* never onto a network unless told to */
        a->cfg.nifaces = 1;
    }
    int rc = nmd_iface_expand(a->cfg.ifaces, a->cfg.nifaces, a->cfg.group, a->ifs, NMD_IFACE_MAX);
    if (rc < 0) {
        if (rc == -E2BIG)
            nmd_log(NM_LOG_ERROR, "discovery", "interfaces: more than %d", NMD_IFACE_MAX);
        else
            nmd_log(NM_LOG_ERROR, "discovery", "interfaces: %s",
                    rc == -ENODEV
                        ? "'all' found no interface that is up, broadcast-capable and "
                          "has an IPv4 address (loopback excepted)"
                        : "a spec is not a name, an address, broadcast:IF, ipv6:IF or all");
        agent_free(a);
        return rc == -E2BIG || rc == -EINVAL ? -EINVAL : rc;
    }
    a->cfg.nifaces = rc;
    for (int i = 0; i < a->cfg.nifaces; i++)
        a->cfg.ifaces[i] = a->ifs[i].name;
    nmd_fetcher_init(&a->fetcher, cfg->key != NULL ? a->key : NULL, cfg->keylen);
    arc4random_buf(a->id, sizeof(a->id));
    a->incarnation = (uint32_t)time(NULL); /* grows across restarts of a node */
    rc = 0;
    a->reg = nmd_registry_new(agent_event, a);
    a->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (a->reg == NULL || a->wake < 0)
        rc = -ENOMEM;
    for (int i = 0; rc == 0 && a->cfg.beacon && i < a->cfg.nifaces; i++)
        rc = agent_open_iface(a, i);
    if (rc == 0)
        rc = -pthread_create(&a->thread, NULL, agent_main, a);
    if (rc < 0) {
        agent_free(a);
        return rc;
    }
    for (int i = 0; i < a->cfg.nbackends; i++) {
        rc = a->cfg.backends[i].ops->start(&a->backends[i], a, a->cfg.backends[i].arg,
                                           a->cfg.backends[i].ctx);
        if (rc < 0) {
            nmd_agent_stop(&a);
            return rc;
        }
    }
    *ap = a;
    return 0;
}

static void agent_wake(nmd_agent *a)
{
    uint64_t one = 1;
    (void)!write(a->wake, &one, sizeof(one));
}

/* Announces a changed table: the next beacon goes now, backends publish it. */
static void agent_table_changed(nmd_agent *a)
{
    agent_wake(a);
    for (int i = 0; i < a->cfg.nbackends; i++)
        if (a->backends[i] != NULL)
            a->cfg.backends[i].ops->publish(a->backends[i]);
}

void nmd_agent_stop(nmd_agent **ap)
{
    nmd_agent *a = *ap;
    if (a == NULL)
        return;
    *ap = NULL;
    agent_stop_backends(a);
    pthread_mutex_lock(&a->lock);
    a->stop = true;
    pthread_mutex_unlock(&a->lock);
    agent_wake(a);
    pthread_join(a->thread, NULL);
    agent_free(a);
}

int nmd_agent_advertise(nmd_agent *a, const char *name, int type, const char *endpoint,
                        const uint8_t *curve_key)
{
    if (strlen(name) == 0 || strlen(name) > NMD_SVC_NAME_MAX || strlen(endpoint) == 0 ||
        strlen(endpoint) > NMD_ENDPOINT_MAX || type < 0 || type > NMD_TYPE_MAX)
        return -EINVAL;
    pthread_mutex_lock(&a->lock);
    nmd_service *t = reallocarray(a->services, a->nservices + 1, sizeof(*t));
    if (t == NULL) {
        pthread_mutex_unlock(&a->lock);
        return -ENOMEM;
    }
    a->services = t;
    nmd_service *s = &t[a->nservices++];
    memset(s, 0, sizeof(*s));
    strlcpy(s->name, name, sizeof(s->name));
    strlcpy(s->endpoint, endpoint, sizeof(s->endpoint));
    s->type = type;
    s->has_key = curve_key != NULL;
    if (s->has_key)
        memcpy(s->curve_key, curve_key, sizeof(s->curve_key));
    a->table_gen++;
    pthread_mutex_unlock(&a->lock);
    agent_table_changed(a);
    return 0;
}

int nmd_agent_withdraw(nmd_agent *a, const char *name, const char *endpoint)
{
    int rc = -ENOENT;
    pthread_mutex_lock(&a->lock);
    for (size_t i = 0; i < a->nservices; i++) {
        if (strcmp(a->services[i].name, name) == 0 &&
            strcmp(a->services[i].endpoint, endpoint) == 0) {
            memmove(&a->services[i], &a->services[i + 1],
                    (a->nservices - i - 1) * sizeof(a->services[0]));
            a->nservices--;
            a->table_gen++;
            rc = 0;
            break;
        }
    }
    pthread_mutex_unlock(&a->lock);
    if (rc == 0)
        agent_table_changed(a);
    return rc;
}

size_t nmd_agent_resolve(nmd_agent *a, const char *name, nmd_instance_cb *cb, void *arg)
{
    pthread_mutex_lock(&a->lock);
    size_t n = nmd_registry_resolve(a->reg, name, cb, arg);
    pthread_mutex_unlock(&a->lock);
    return n;
}

size_t nmd_agent_instances(nmd_agent *a, nmd_instance_cb *cb, void *arg)
{
    pthread_mutex_lock(&a->lock);
    size_t n = nmd_registry_instances(a->reg, cb, arg);
    pthread_mutex_unlock(&a->lock);
    return n;
}

size_t nmd_agent_peers(nmd_agent *a, nmd_peer_cb *cb, void *arg)
{
    pthread_mutex_lock(&a->lock);
    size_t n = nmd_registry_peers(a->reg, cb, arg);
    pthread_mutex_unlock(&a->lock);
    return n;
}

void nmd_agent_get_stats(nmd_agent *a, nmd_agent_stats *st)
{
    pthread_mutex_lock(&a->lock);
    *st = a->stats;
    pthread_mutex_unlock(&a->lock);
}

int nmd_agent_wait(nmd_agent *a, const char *name, int n, int timeout_ms)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    if (timeout_ms >= 0) {
        until.tv_sec += timeout_ms / 1000;
        until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
    }
    pthread_mutex_lock(&a->lock);
    int rc;
    for (;;) {
        rc = (int)nmd_registry_resolve(a->reg, name, NULL, NULL);
        if (rc >= n)
            break;
        int w = timeout_ms < 0 ? pthread_cond_wait(&a->changed, &a->lock)
                               : pthread_cond_timedwait(&a->changed, &a->lock, &until);
        if (w == ETIMEDOUT) {
            rc = -ETIMEDOUT;
            break;
        }
    }
    pthread_mutex_unlock(&a->lock);
    return rc;
}

int nmd_agent_listen(nmd_agent *a, nmd_event_cb *cb, void *arg)
{
    pthread_mutex_lock(&a->lock);
    agent_listener *l = reallocarray(a->listeners, a->nlisteners + 1, sizeof(*l));
    if (l != NULL) {
        a->listeners = l;
        l[a->nlisteners++] = (agent_listener){cb, arg};
    }
    pthread_mutex_unlock(&a->lock);
    return l != NULL ? 0 : -ENOMEM;
}

void nmd_agent_unlisten(nmd_agent *a, nmd_event_cb *cb, void *arg)
{
    pthread_mutex_lock(&a->lock);
    for (size_t i = 0; i < a->nlisteners; i++) {
        if (a->listeners[i].cb == cb && a->listeners[i].arg == arg) {
            a->listeners[i] = a->listeners[--a->nlisteners];
            break;
        }
    }
    pthread_mutex_unlock(&a->lock);
}

const nmd_agent_config *nmd_agent_cfg(const nmd_agent *a)
{
    return &a->cfg;
}

void nmd_agent_identity(const nmd_agent *a, uint8_t id[16], uint32_t *incarnation)
{
    memcpy(id, a->id, sizeof(a->id));
    *incarnation = a->incarnation;
}

ssize_t nmd_agent_table(nmd_agent *a, nmd_service **out)
{
    pthread_mutex_lock(&a->lock);
    ssize_t n = (ssize_t)a->nservices;
    *out = NULL;
    if (n > 0 && (*out = malloc((size_t)n * sizeof(**out))) == NULL)
        n = -ENOMEM;
    else if (n > 0)
        memcpy(*out, a->services, (size_t)n * sizeof(**out));
    pthread_mutex_unlock(&a->lock);
    return n;
}

int nmd_agent_add(nmd_agent *a, int backend, const uint8_t id[16], const char *name,
                  const char *addr, const nmd_service *svc)
{
    pthread_mutex_lock(&a->lock);
    int rc = nmd_registry_add(a->reg, backend, id, name, addr, svc);
    pthread_mutex_unlock(&a->lock);
    return rc;
}

int nmd_agent_del(nmd_agent *a, int backend, const uint8_t id[16], const nmd_service *svc)
{
    pthread_mutex_lock(&a->lock);
    int rc = nmd_registry_del(a->reg, backend, id, svc);
    pthread_mutex_unlock(&a->lock);
    return rc;
}

void nmd_agent_forget(nmd_agent *a, int backend)
{
    pthread_mutex_lock(&a->lock);
    nmd_registry_forget(a->reg, backend);
    pthread_mutex_unlock(&a->lock);
}

int nmd_agent_set_peer(nmd_agent *a, const nmd_peer *info, const nmd_service *table, size_t n)
{
    pthread_mutex_lock(&a->lock);
    int rc = nmd_registry_set_peer(a->reg, info, table, n);
    pthread_mutex_unlock(&a->lock);
    return rc;
}

int nmd_agent_remove_peer(nmd_agent *a, int backend, const uint8_t id[16])
{
    pthread_mutex_lock(&a->lock);
    int rc = nmd_registry_remove_peer(a->reg, backend, id);
    pthread_mutex_unlock(&a->lock);
    return rc;
}

void nmd_agent_filter_keys(nmd_agent *a, int backend, const uint8_t id[16], const char *src,
                           bool authentic, nmd_service *svcs, size_t n)
{
    nmd_trust_filter(&a->trust, backend, id, src, authentic, svcs, n);
}

void nmd_agent_set_admin(nmd_agent *a, const char *host, uint16_t port, const uint8_t *pin)
{
    pthread_mutex_lock(&a->lock);
    strlcpy(a->admin_host, host != NULL ? host : "", sizeof(a->admin_host));
    a->admin_port = port;
    a->admin_tls = pin != NULL;
    if (pin != NULL)
        memcpy(a->admin_pin, pin, sizeof(a->admin_pin));
    pthread_mutex_unlock(&a->lock);
    agent_table_changed(a);
}

uint16_t nmd_agent_admin(nmd_agent *a, char *host, bool *tls, uint8_t pin[NMD_PIN_SIZE])
{
    pthread_mutex_lock(&a->lock);
    strlcpy(host, a->admin_host, NMD_ADMIN_HOST_MAX + 1);
    uint16_t port = a->admin_port;
    *tls = a->admin_tls;
    memcpy(pin, a->admin_pin, NMD_PIN_SIZE);
    pthread_mutex_unlock(&a->lock);
    return port;
}
