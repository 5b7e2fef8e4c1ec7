/*
 * agent.c - the discovery agent thread (see agent.h).
 *
 * The thread sleeps in poll(2) on the beacon sockets and an eventfd (stop, or a
 * changed service table) until the next beacon is due.  A service bound to a wildcard
 * host (tcp://\*:5555) is announced on each interface with that interface's address,
 * so every peer is given an endpoint it can reach on the link it heard us on.
 * Datagrams that do not decode, belong to another fleet, lack a valid signature when a
 * key is set, or are replays, are dropped and counted.
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
#include "udp.h"

struct nmd_agent {
    nmd_agent_config cfg;                /* configuration (ifaces point into iface_names) */
    char iface_names[NMD_IFACE_MAX][64]; /* copies of the interface names */
    nmd_udp udp[NMD_IFACE_MAX];          /* one beacon socket per interface */
    int nudp;                            /* their count */
    uint8_t key[256];                    /* copy of the fleet key */
    int wake;                            /* eventfd: stop or table changed */
    pthread_t thread;                    /* the agent thread */
    pthread_mutex_t lock;                /* registry, services, stats, stop */
    nmd_registry *reg;                   /* peers */
    nmd_service *services;               /* our table */
    size_t nservices;                    /* its size */
    uint8_t id[16];                      /* our node id */
    uint32_t incarnation;                /* our restart counter */
    uint32_t seq;                        /* last beacon sequence number */
    bool stop;                           /* leave the loop */
    nmd_agent_stats stats;               /* counters */
};

static uint64_t agent_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void nmd_agent_config_init(nmd_agent_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    strlcpy(cfg->fleet, "default", sizeof(cfg->fleet));
    cfg->interval_ns = 1000000000u;
    cfg->expiry = 3;
    cfg->port = NMD_UDP_PORT;
    cfg->group = NMD_UDP_GROUP;
}

/* Our table as announced on interface u: wildcard hosts become u's address. */
static size_t agent_table_for(nmd_agent *a, const nmd_udp *u, nmd_service *out)
{
    char addr[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &u->ifaddr, addr, sizeof(addr));
    for (size_t i = 0; i < a->nservices; i++) {
        out[i] = a->services[i];
        const char *ep = a->services[i].endpoint;
        const char *wild[] = {"tcp://*:", "tcp://0.0.0.0:"};
        for (size_t w = 0; w < 2; w++) {
            size_t n = strlen(wild[w]);
            if (strncmp(ep, wild[w], n) == 0)
                snprintf(out[i].endpoint, sizeof(out[i].endpoint), "tcp://%s:%s", addr, ep + n);
        }
    }
    return a->nservices;
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
        int len = nmd_beacon_encode(&b, table, n, a->cfg.key ? a->key : NULL, a->cfg.keylen, out,
                                    sizeof(out));
        if (len > 0 && nmd_udp_send(&a->udp[i], out, (size_t)len) == 0) {
            a->stats.sent++;
            a->stats.bytes_sent += (uint64_t)len;
        }
    }
    free(table);
}

/* Reads every waiting datagram on u into the registry.  Called with the lock held. */
static void agent_receive(nmd_agent *a, nmd_udp *u, uint64_t now)
{
    for (;;) {
        uint8_t in[NMD_BEACON_MAX];
        char src[64];
        ssize_t n = nmd_udp_recv(u, in, sizeof(in), src, sizeof(src));
        if (n == -EAGAIN)
            return;
        a->stats.received++;
        nmd_beacon b;
        if (n < 0 ||
            nmd_beacon_decode(in, (size_t)n, a->cfg.key ? a->key : NULL, a->cfg.keylen, &b) < 0 ||
            strcmp(b.fleet, a->cfg.fleet) != 0) {
            a->stats.dropped++;
            continue;
        }
        if (memcmp(b.node_id, a->id, sizeof(a->id)) == 0)
            continue; /* our own, looped back */
        bool fetch;
        if (nmd_registry_beacon(a->reg, &b, src, now, &fetch) == 0)
            a->stats.dropped++; /* a replay, or the same beacon on a second interface */
    }
}

static void *agent_main(void *arg)
{
    nmd_agent *a = arg;
    uint64_t interval = a->cfg.interval_ns;
    uint64_t next_send = agent_now();
    struct pollfd pfds[NMD_IFACE_MAX + 1];
    for (;;) {
        uint64_t now = agent_now();
        pthread_mutex_lock(&a->lock);
        if (a->stop) {
            if (!a->cfg.passive)
                agent_send(a, true);
            pthread_mutex_unlock(&a->lock);
            return NULL;
        }
        if (!a->cfg.passive && now >= next_send) {
            agent_send(a, false);
            next_send = now + interval;
        }
        nmd_registry_tick(a->reg, now, interval, a->cfg.expiry);
        pthread_mutex_unlock(&a->lock);

        /* Wake for the next beacon, or a quarter interval to age peers promptly. */
        uint64_t wait = interval / 4;
        if (!a->cfg.passive && next_send > now && next_send - now < wait)
            wait = next_send - now;
        for (int i = 0; i < a->nudp; i++)
            pfds[i] = (struct pollfd){.fd = a->udp[i].fd, .events = POLLIN};
        pfds[a->nudp] = (struct pollfd){.fd = a->wake, .events = POLLIN};
        if (poll(pfds, (nfds_t)a->nudp + 1, (int)(wait / 1000000u) + 1) <= 0)
            continue;
        uint64_t v;
        if (pfds[a->nudp].revents & POLLIN) {
            (void)!read(a->wake, &v, sizeof(v));
            next_send = 0; /* the table changed: announce it now */
        }
        pthread_mutex_lock(&a->lock);
        for (int i = 0; i < a->nudp; i++)
            if (pfds[i].revents & POLLIN)
                agent_receive(a, &a->udp[i], agent_now());
        pthread_mutex_unlock(&a->lock);
    }
}

static void agent_free(nmd_agent *a)
{
    for (int i = 0; i < a->nudp; i++)
        nmd_udp_close(&a->udp[i]);
    if (a->wake >= 0)
        close(a->wake);
    nmd_registry_destroy(&a->reg);
    free(a->services);
    pthread_mutex_destroy(&a->lock);
    free(a);
}

int nmd_agent_start(nmd_agent **ap, const nmd_agent_config *cfg)
{
    if (cfg->nifaces < 0 || cfg->nifaces > NMD_IFACE_MAX || cfg->interval_ns == 0 ||
        cfg->expiry < 1 || cfg->fleet[0] == '\0' || cfg->keylen > sizeof(((nmd_agent *)0)->key) ||
        (cfg->key != NULL && cfg->keylen < NMD_KEY_MIN))
        return -EINVAL;
    nmd_agent *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return -ENOMEM;
    a->cfg = *cfg;
    a->wake = -1;
    pthread_mutex_init(&a->lock, NULL);
    if (cfg->key != NULL)
        memcpy(a->key, cfg->key, cfg->keylen);
    if (a->cfg.nifaces == 0) {
        a->cfg.ifaces[0] = "127.0.0.1"; /* never onto a network unless told to */
        a->cfg.nifaces = 1;
    }
    for (int i = 0; i < a->cfg.nifaces; i++) {
        strlcpy(a->iface_names[i], a->cfg.ifaces[i], sizeof(a->iface_names[i]));
        a->cfg.ifaces[i] = a->iface_names[i];
    }
    arc4random_buf(a->id, sizeof(a->id));
    a->incarnation = (uint32_t)time(NULL); /* grows across restarts of a node */
    int rc = 0;
    a->reg = nmd_registry_new(cfg->event_cb, cfg->event_arg);
    a->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (a->reg == NULL || a->wake < 0)
        rc = -ENOMEM;
    for (int i = 0; rc == 0 && i < a->cfg.nifaces; i++) {
        rc = nmd_udp_open(&a->udp[i], a->cfg.ifaces[i], a->cfg.group, a->cfg.port, 1);
        if (rc == 0)
            a->nudp++;
    }
    if (rc == 0)
        rc = -pthread_create(&a->thread, NULL, agent_main, a);
    if (rc < 0) {
        agent_free(a);
        return rc;
    }
    *ap = a;
    return 0;
}

static void agent_wake(nmd_agent *a)
{
    uint64_t one = 1;
    (void)!write(a->wake, &one, sizeof(one));
}

void nmd_agent_stop(nmd_agent **ap)
{
    nmd_agent *a = *ap;
    if (a == NULL)
        return;
    *ap = NULL;
    pthread_mutex_lock(&a->lock);
    a->stop = true;
    pthread_mutex_unlock(&a->lock);
    agent_wake(a);
    pthread_join(a->thread, NULL);
    agent_free(a);
}

int nmd_agent_advertise(nmd_agent *a, const char *name, int type, const char *endpoint)
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
    pthread_mutex_unlock(&a->lock);
    agent_wake(a);
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
            rc = 0;
            break;
        }
    }
    pthread_mutex_unlock(&a->lock);
    if (rc == 0)
        agent_wake(a);
    return rc;
}

size_t nmd_agent_resolve(nmd_agent *a, const char *name, nmd_instance_cb *cb, void *arg)
{
    pthread_mutex_lock(&a->lock);
    size_t n = nmd_registry_resolve(a->reg, name, cb, arg);
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
