/*
 * dnssd.c - the DNS-SD discovery backend: publishes this node's services as `_nomid._tcp`
 * instances and browses other nodes' through avahi-daemon (avahi-client over D-Bus).
 *
 * All of Avahi runs on one AvahiThreadedPoll thread.  Its callbacks run with the poll's
 * lock held; publish and stop, called from other threads, take that lock or stop the
 * thread first.  Lock order: the poll's lock, then the agent's (callbacks report to the
 * agent; publish reads the agent's table).
 *
 * Publishing: one entry group per instance of our table, holding the service once per
 * configured interface (never AVAHI_IF_UNSPEC: the default interface is loopback, so a
 * node announces nothing on a network it was not told to use).  A group per instance
 * means a collision renames that instance alone (avahi_alternative_service_name) and a
 * table change touches only the instances that changed.  The TXT record (dnssd_txt.h)
 * keeps a wildcard host as `*`.
 *
 * Browsing: one service browser per interface; each instance seen gets a resolver that
 * stays open, so a changed TXT record is followed.  The resolved address replaces a
 * wildcard host, which makes the endpoint the one reachable on the link the record
 * arrived on.  Records of another fleet or our own are skipped; malformed ones are
 * logged, counted and ignored.
 *
 * The client is made with AVAHI_CLIENT_NO_FAIL, but start fails with -ECONNREFUSED when
 * no daemon answers then.  When avahi-daemon (or D-Bus) goes away later, what this
 * backend reported is forgotten and a timer makes a new client, which waits for the
 * daemon and then browses and publishes again.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <avahi-client/client.h>
#include <avahi-client/lookup.h>
#include <avahi-client/publish.h>
#include <avahi-common/alternative.h>
#include <avahi-common/domain.h>
#include <avahi-common/error.h>
#include <avahi-common/malloc.h>
#include <avahi-common/thread-watch.h>
#include <avahi-common/timeval.h>
#include <bsd/string.h>
#include <bsd/sys/queue.h>

#include "agent.h"
#include "backend.h"
#include "dlog.h"
#include "dnssd_txt.h"
#include "nomid.h"

#define DNSSD_RETRY_MS     1000 /* between attempts to reach D-Bus again */
#define DNSSD_RECONNECT_MS 100  /* from losing the daemon to the new client */
#define DNSSD_RENAMES_MAX  16   /* local collisions tried away before giving up */
#define DNSSD_TXT_READ     4096 /* largest TXT record read (ours are under 700 bytes) */
#define DNSSD_LOG_FIRST    10   /* malformed records logged one by one ... */
#define DNSSD_LOG_EVERY    100  /* ... then one in this many */

typedef struct dnssd_iface {
    nmd_backend *b;               /* its backend */
    AvahiIfIndex index;           /* interface index */
    AvahiProtocol proto;          /* AVAHI_PROTO_INET, _INET6 on an IPv6-only interface */
    char name[IF_NAMESIZE];       /* its name, for logs */
    AvahiServiceBrowser *browser; /* browses _nomid._tcp on it; NULL while disconnected */
} dnssd_iface;

/* One instance of our table, published. */
typedef struct dnssd_pub {
    TAILQ_ENTRY(dnssd_pub) link;               /* in nmd_backend.pubs */
    nmd_backend *b;                            /* its backend */
    nmd_service svc;                           /* as in the table (wildcard host kept) */
    char instance[NMD_DNSSD_INSTANCE_MAX + 1]; /* instance name, renamed on collisions */
    AvahiEntryGroup *group;                    /* its records; NULL while disconnected */
    bool keep;                                 /* still in the table (dnssd_sync's mark) */
} dnssd_pub;

/* One instance another node publishes, as seen on one interface. */
typedef struct dnssd_seen {
    LIST_ENTRY(dnssd_seen) link;        /* in nmd_backend.seen */
    nmd_backend *b;                     /* its backend */
    AvahiIfIndex index;                 /* interface it was seen on */
    AvahiProtocol proto;                /* and protocol */
    char instance[AVAHI_LABEL_MAX];     /* instance name */
    char domain[AVAHI_DOMAIN_NAME_MAX]; /* its domain ("local") */
    AvahiServiceResolver *resolver;     /* follows its records; NULL once it failed */
    bool reported;                      /* node and svc were given to nmd_agent_add */
    uint8_t node[16];                   /* the node it was reported for */
    nmd_service svc;                    /* as reported (wildcard host replaced) */
} dnssd_seen;

struct nmd_backend {
    nmd_agent *agent;                  /* whom we report to */
    AvahiThreadedPoll *poll;           /* the thread all of Avahi runs on */
    bool running;                      /* the poll thread was started */
    bool lost;                         /* the daemon went away; not back yet */
    AvahiClient *client;               /* the daemon connection, or NULL */
    AvahiTimeout *retry;               /* makes a new client after a failure */
    dnssd_iface ifaces[NMD_IFACE_MAX]; /* where we publish and browse */
    int nifaces;                       /* their count */
    TAILQ_HEAD(, dnssd_pub) pubs;      /* our instances */
    LIST_HEAD(, dnssd_seen) seen;      /* other nodes' instances */
    uint8_t id[16];                    /* our node id */
    char fleet[NMD_FLEET_MAX + 1];     /* our fleet */
    char node_name[NMD_NAME_MAX + 1];  /* our node name, or "" */
    bool passive;                      /* browse only */
    uint64_t malformed;                /* TXT records ignored as malformed */
    uint64_t foreign;                  /* records of another fleet skipped */
};

static void dnssd_client_cb(AvahiClient *c, AvahiClientState state, void *arg);

/* ---- interfaces ---- */

/* Resolves one --interface value (a name, or an address of the interface) into f. */
static int dnssd_iface_find(const struct ifaddrs *all, const char *want, dnssd_iface *f)
{
    struct in_addr a4;
    struct in6_addr a6;
    bool is4 = inet_pton(AF_INET, want, &a4) == 1, is6 = inet_pton(AF_INET6, want, &a6) == 1;
    const char *name = is4 || is6 ? NULL : want;
    for (const struct ifaddrs *i = all; name == NULL && i != NULL; i = i->ifa_next) {
        const struct sockaddr *sa = i->ifa_addr;
        if (sa == NULL)
            continue;
        if ((is4 && sa->sa_family == AF_INET &&
             ((const struct sockaddr_in *)(const void *)sa)->sin_addr.s_addr == a4.s_addr) ||
            (is6 && sa->sa_family == AF_INET6 &&
             memcmp(&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, &a6, sizeof(a6)) ==
                 0))
            name = i->ifa_name;
    }
    unsigned index = name != NULL && strlen(name) < IF_NAMESIZE ? if_nametoindex(name) : 0;
    if (index == 0)
        return -ENODEV;
    bool has4 = false, has6 = false;
    for (const struct ifaddrs *i = all; i != NULL; i = i->ifa_next) {
        if (i->ifa_addr == NULL || strcmp(i->ifa_name, name) != 0)
            continue;
        has4 |= i->ifa_addr->sa_family == AF_INET;
        has6 |= i->ifa_addr->sa_family == AF_INET6;
    }
    f->index = (AvahiIfIndex)index;
    f->proto = is6 || (!is4 && !has4 && has6) ? AVAHI_PROTO_INET6 : AVAHI_PROTO_INET;
    strlcpy(f->name, name, sizeof(f->name));
    return 0;
}

/* The agent's interfaces (names or addresses; it defaults them to 127.0.0.1). */
static int dnssd_ifaces(nmd_backend *b, const nmd_agent_config *cfg)
{
    struct ifaddrs *all = NULL;
    if (getifaddrs(&all) < 0)
        return -errno;
    int rc = 0;
    for (int i = 0; rc == 0 && i < cfg->nifaces; i++) {
        dnssd_iface f = {.b = b};
        if ((rc = dnssd_iface_find(all, cfg->ifaces[i], &f)) < 0) {
            nmd_log(NM_LOG_ERROR, "dnssd", "--interface '%s': no such interface", cfg->ifaces[i]);
            break;
        }
        bool dup = false;
        for (int k = 0; k < b->nifaces; k++)
            dup |= b->ifaces[k].index == f.index && b->ifaces[k].proto == f.proto;
        if (!dup)
            b->ifaces[b->nifaces++] = f;
    }
    freeifaddrs(all);
    return rc;
}

/* ---- publishing ---- */

static void dnssd_pub_add(nmd_backend *b, dnssd_pub *p);

static void dnssd_rename(dnssd_pub *p)
{
    char *alt = avahi_alternative_service_name(p->instance);
    if (alt != NULL)
        strlcpy(p->instance, alt, sizeof(p->instance));
    avahi_free(alt);
}

static void dnssd_group_cb(AvahiEntryGroup *g, AvahiEntryGroupState state, void *arg)
{
    dnssd_pub *p = arg;
    if (state == AVAHI_ENTRY_GROUP_COLLISION) {
        char old[sizeof(p->instance)];
        strlcpy(old, p->instance, sizeof(old));
        dnssd_rename(p);
        nmd_log(NM_LOG_WARN, "dnssd", "instance name '%s' is taken: publishing as '%s'", old,
                p->instance);
        avahi_entry_group_reset(g);
        p->group = g; /* may run from within avahi_entry_group_new */
        dnssd_pub_add(p->b, p);
    } else if (state == AVAHI_ENTRY_GROUP_FAILURE) {
        nmd_log(NM_LOG_WARN, "dnssd", "cannot publish '%s': %s", p->instance,
                avahi_strerror(avahi_client_errno(avahi_entry_group_get_client(g))));
    }
}

/* Adds p's service on every interface and commits, unless it is there already. */
static void dnssd_pub_add(nmd_backend *b, dnssd_pub *p)
{
    if (b->client == NULL || avahi_client_get_state(b->client) != AVAHI_CLIENT_S_RUNNING)
        return; /* done again when the daemon is running */
    if (p->group == NULL &&
        (p->group = avahi_entry_group_new(b->client, dnssd_group_cb, p)) == NULL) {
        nmd_log(NM_LOG_WARN, "dnssd", "cannot publish '%s': %s", p->instance,
                avahi_strerror(avahi_client_errno(b->client)));
        return;
    }
    if (!avahi_entry_group_is_empty(p->group))
        return;
    nmd_dnssd_txt t = {.svc = p->svc};
    memcpy(t.node, b->id, sizeof(t.node));
    strlcpy(t.fleet, b->fleet, sizeof(t.fleet));
    strlcpy(t.node_name, b->node_name, sizeof(t.node_name));
    const nmd_agent_config *cfg = nmd_agent_cfg(b->agent);
    t.has_mac = cfg->key != NULL && nmd_record_mac(t.node, &t.svc, cfg->key, cfg->keylen, t.mac);
    uint8_t wire[NMD_DNSSD_TXT_MAX];
    int len = nmd_dnssd_txt_encode(&t, wire, sizeof(wire));
    AvahiStringList *txt = NULL;
    if (len < 0 || avahi_string_list_parse(wire, (size_t)len, &txt) < 0) {
        nmd_log(NM_LOG_WARN, "dnssd", "cannot publish %s at %s: not expressible as a TXT record",
                p->svc.name, p->svc.endpoint);
        return;
    }
    char sub[NMD_DNSSD_SUBTYPE_MAX];
    bool has_sub = nmd_dnssd_subtype(p->svc.name, sub) == 0;
    uint16_t port = nmd_dnssd_port(p->svc.endpoint);
    int rc = 0;
    for (int tries = 0;; tries++) {
        for (int i = 0; rc == 0 && i < b->nifaces; i++) {
            const dnssd_iface *f = &b->ifaces[i];
            rc = avahi_entry_group_add_service_strlst(p->group, f->index, f->proto, 0, p->instance,
                                                      NMD_DNSSD_TYPE, NULL, NULL, port, txt);
            if (rc == 0 && has_sub) /* optional: a browser may also ask by subtype */
                (void)avahi_entry_group_add_service_subtype(p->group, f->index, f->proto, 0,
                                                            p->instance, NMD_DNSSD_TYPE, NULL, sub);
        }
        if (rc != AVAHI_ERR_COLLISION || tries == DNSSD_RENAMES_MAX)
            break;
        avahi_entry_group_reset(p->group); /* one of our own instances has that name */
        dnssd_rename(p);
        rc = 0;
    }
    avahi_string_list_free(txt);
    if (rc == 0)
        rc = avahi_entry_group_commit(p->group);
    if (rc < 0) {
        nmd_log(NM_LOG_WARN, "dnssd", "cannot publish '%s': %s", p->instance, avahi_strerror(rc));
        avahi_entry_group_reset(p->group);
    }
}

static void dnssd_pub_free(nmd_backend *b, dnssd_pub *p)
{
    TAILQ_REMOVE(&b->pubs, p, link);
    if (p->group != NULL)
        avahi_entry_group_free(p->group); /* withdraws: the daemon sends goodbyes */
    free(p);
}

/* Makes the published instances those of the agent's table.  Poll lock held. */
static void dnssd_sync(nmd_backend *b)
{
    if (b->passive)
        return;
    nmd_service *table = NULL;
    ssize_t n = nmd_agent_table(b->agent, &table);
    if (n < 0)
        return;
    dnssd_pub *p, *tmp;
    TAILQ_FOREACH(p, &b->pubs, link)
    {
        p->keep = false;
    }
    for (ssize_t i = 0; i < n; i++) {
        TAILQ_FOREACH(p, &b->pubs, link)
        {
            if (!p->keep && nmd_service_same(&p->svc, &table[i]))
                break;
        }
        if (p == NULL && (p = calloc(1, sizeof(*p))) != NULL) {
            p->b = b;
            p->svc = table[i];
            nmd_dnssd_instance_name(p->svc.name, b->node_name, b->id, p->instance);
            TAILQ_INSERT_TAIL(&b->pubs, p, link);
        }
        if (p != NULL)
            p->keep = true;
    }
    free(table);
    TAILQ_FOREACH_SAFE(p, &b->pubs, link, tmp)
    {
        if (!p->keep)
            dnssd_pub_free(b, p);
    }
    TAILQ_FOREACH(p, &b->pubs, link)
    {
        dnssd_pub_add(b, p);
    }
}

/* ---- browsing ---- */

/* Withdraws what s reported, unless another interface still sees the same instance. */
static void dnssd_unreport(nmd_backend *b, dnssd_seen *s)
{
    if (!s->reported)
        return;
    s->reported = false;
    dnssd_seen *o;
    LIST_FOREACH(o, &b->seen, link)
    {
        if (o->reported && memcmp(o->node, s->node, sizeof(s->node)) == 0 &&
            nmd_service_same(&o->svc, &s->svc))
            return;
    }
    nmd_agent_del(b->agent, NMD_BACKEND_DNSSD, s->node, &s->svc);
}

/* The address as text: IPv6 link-local ones get their interface (fe80::1%eth0). */
static void dnssd_host(const AvahiAddress *a, AvahiIfIndex index, char *out, size_t cap)
{
    avahi_address_snprint(out, cap, a);
    char ifname[IF_NAMESIZE];
    if (a->proto == AVAHI_PROTO_INET6 && a->data.ipv6.address[0] == 0xfe &&
        (a->data.ipv6.address[1] & 0xc0) == 0x80 && if_indextoname((unsigned)index, ifname))
        snprintf(out + strlen(out), cap - strlen(out), "%%%s", ifname);
}

/* Keeps t's CURVE key only when its mac checks with the fleet key (over the endpoint
 * as the record has it), or without a fleet key when the agent trusts unsigned keys. */
static void dnssd_check_key(nmd_backend *b, nmd_dnssd_txt *t, const char *host)
{
    const nmd_agent_config *cfg = nmd_agent_cfg(b->agent);
    bool ok = cfg->key != NULL && t->has_mac &&
              nmd_record_mac_ok(t->node, &t->svc, cfg->key, cfg->keylen, t->mac);
    nmd_agent_filter_keys(b->agent, NMD_BACKEND_DNSSD, t->node, host, ok, &t->svc, 1);
}

/* A resolver found s (again): check its TXT record and report what it offers. */
static void dnssd_found(nmd_backend *b, dnssd_seen *s, const AvahiAddress *a, AvahiStringList *txt)
{
    uint8_t wire[DNSSD_TXT_READ];
    size_t n = avahi_string_list_serialize(txt, NULL, 0);
    nmd_dnssd_txt t;
    const char *why = "TXT record too large";
    int rc = n <= sizeof(wire) ? 0 : -EPROTO;
    if (rc == 0) {
        n = avahi_string_list_serialize(txt, wire, sizeof(wire));
        rc = nmd_dnssd_txt_decode(wire, n, &t, &why);
    }
    if (rc < 0) {
        /* Logged, but a host flooding the link with junk does not flood the log. */
        if (++b->malformed <= DNSSD_LOG_FIRST || b->malformed % DNSSD_LOG_EVERY == 0)
            nmd_log(NM_LOG_WARN, "dnssd", "ignoring '%s': %s (%llu malformed record(s) so far)",
                    s->instance, why, (unsigned long long)b->malformed);
        dnssd_unreport(b, s);
        return;
    }
    if (strcmp(t.fleet, b->fleet) != 0 || memcmp(t.node, b->id, sizeof(b->id)) == 0) {
        b->foreign += strcmp(t.fleet, b->fleet) != 0;
        dnssd_unreport(b, s); /* another fleet's, or our own */
        return;
    }
    char host[AVAHI_ADDRESS_STR_MAX + IF_NAMESIZE + 2], bracketed[sizeof(host) + 2];
    dnssd_host(a, s->index, host, sizeof(host));
    dnssd_check_key(b, &t, host);
    snprintf(bracketed, sizeof(bracketed), strchr(host, ':') ? "[%s]" : "%s", host);
    nmd_service svc = t.svc;
    nmd_agent_endpoint_for(t.svc.endpoint, bracketed, svc.endpoint, sizeof(svc.endpoint));
    if (s->reported && memcmp(s->node, t.node, sizeof(t.node)) == 0 &&
        nmd_service_same(&s->svc, &svc))
        return;
    dnssd_unreport(b, s);
    if (nmd_agent_add(b->agent, NMD_BACKEND_DNSSD, t.node, t.node_name, host, &svc) >= 0) {
        s->reported = true;
        memcpy(s->node, t.node, sizeof(s->node));
        s->svc = svc;
    }
}

static void dnssd_resolve_cb(AvahiServiceResolver *r, AvahiIfIndex index, AvahiProtocol proto,
                             AvahiResolverEvent ev, const char *name, const char *type,
                             const char *domain, const char *host, const AvahiAddress *a,
                             uint16_t port, AvahiStringList *txt, AvahiLookupResultFlags flags,
                             void *arg)
{
    (void)index, (void)proto, (void)name, (void)type, (void)domain, (void)host, (void)port;
    (void)flags;
    dnssd_seen *s = arg;
    if (ev == AVAHI_RESOLVER_FOUND && a != NULL) {
        dnssd_found(s->b, s, a, txt);
    } else if (ev == AVAHI_RESOLVER_FAILURE) {
        /* What it reported stays until the browser says the instance is gone. */
        avahi_service_resolver_free(r);
        s->resolver = NULL;
    }
}

static dnssd_seen *dnssd_seen_find(nmd_backend *b, AvahiIfIndex index, AvahiProtocol proto,
                                   const char *name, const char *domain)
{
    dnssd_seen *s;
    LIST_FOREACH(s, &b->seen, link)
    {
        if (s->index == index && s->proto == proto && strcmp(s->instance, name) == 0 &&
            strcmp(s->domain, domain) == 0)
            return s;
    }
    return NULL;
}

static void dnssd_seen_free(nmd_backend *b, dnssd_seen *s)
{
    LIST_REMOVE(s, link);
    dnssd_unreport(b, s);
    if (s->resolver != NULL)
        avahi_service_resolver_free(s->resolver);
    free(s);
}

static void dnssd_browse_cb(AvahiServiceBrowser *sb, AvahiIfIndex index, AvahiProtocol proto,
                            AvahiBrowserEvent ev, const char *name, const char *type,
                            const char *domain, AvahiLookupResultFlags flags, void *arg)
{
    (void)sb;
    dnssd_iface *f = arg;
    nmd_backend *b = f->b;
    if (ev == AVAHI_BROWSER_FAILURE) {
        nmd_log(NM_LOG_WARN, "dnssd", "browsing on %s failed: %s", f->name,
                avahi_strerror(avahi_client_errno(b->client)));
        return;
    }
    if (ev == AVAHI_BROWSER_NEW && (flags & AVAHI_LOOKUP_RESULT_OUR_OWN))
        return; /* published by this very client */
    if ((ev != AVAHI_BROWSER_NEW && ev != AVAHI_BROWSER_REMOVE) || name == NULL || domain == NULL ||
        strlen(name) >= AVAHI_LABEL_MAX || strlen(domain) >= AVAHI_DOMAIN_NAME_MAX)
        return;
    dnssd_seen *s = dnssd_seen_find(b, index, proto, name, domain);
    if (ev == AVAHI_BROWSER_REMOVE) {
        if (s != NULL)
            dnssd_seen_free(b, s);
        return;
    }
    if (s != NULL || (s = calloc(1, sizeof(*s))) == NULL)
        return;
    *s = (dnssd_seen){.b = b, .index = index, .proto = proto};
    strlcpy(s->instance, name, sizeof(s->instance));
    strlcpy(s->domain, domain, sizeof(s->domain));
    LIST_INSERT_HEAD(&b->seen, s, link);
    s->resolver = avahi_service_resolver_new(b->client, index, proto, name, type, domain, proto, 0,
                                             dnssd_resolve_cb, s);
    if (s->resolver == NULL) {
        nmd_log(NM_LOG_WARN, "dnssd", "cannot resolve '%s': %s", name,
                avahi_strerror(avahi_client_errno(b->client)));
        dnssd_seen_free(b, s);
    }
}

/* Starts a browser on every interface that has none. */
static void dnssd_browse(nmd_backend *b)
{
    for (int i = 0; i < b->nifaces; i++) {
        dnssd_iface *f = &b->ifaces[i];
        if (f->browser != NULL)
            continue;
        f->browser = avahi_service_browser_new(b->client, f->index, f->proto, NMD_DNSSD_TYPE, NULL,
                                               0, dnssd_browse_cb, f);
        if (f->browser == NULL)
            nmd_log(NM_LOG_WARN, "dnssd", "cannot browse on %s: %s", f->name,
                    avahi_strerror(avahi_client_errno(b->client)));
    }
}

/* ---- the connection ---- */

/* Frees every Avahi object of the current client (the client itself stays). */
static void dnssd_drop(nmd_backend *b)
{
    while (!LIST_EMPTY(&b->seen))
        dnssd_seen_free(b, LIST_FIRST(&b->seen));
    for (int i = 0; i < b->nifaces; i++) {
        if (b->ifaces[i].browser != NULL)
            avahi_service_browser_free(b->ifaces[i].browser);
        b->ifaces[i].browser = NULL;
    }
    dnssd_pub *p;
    TAILQ_FOREACH(p, &b->pubs, link)
    {
        if (p->group != NULL)
            avahi_entry_group_free(p->group);
        p->group = NULL;
    }
}

static void dnssd_retry_in(nmd_backend *b, unsigned ms)
{
    struct timeval tv;
    avahi_threaded_poll_get(b->poll)->timeout_update(b->retry, avahi_elapse_time(&tv, ms, 0));
}

/* The timer: replaces a failed client by a new one, which waits for the daemon. */
static void dnssd_retry_cb(AvahiTimeout *t, void *arg)
{
    (void)t;
    nmd_backend *b = arg;
    if (b->client != NULL) {
        dnssd_drop(b);
        avahi_client_free(b->client);
        b->client = NULL;
    }
    int err = 0;
    AvahiClient *c = avahi_client_new(avahi_threaded_poll_get(b->poll), AVAHI_CLIENT_NO_FAIL,
                                      dnssd_client_cb, b, &err);
    if (c == NULL)
        dnssd_retry_in(b, DNSSD_RETRY_MS); /* D-Bus itself is not there */
    b->client = c;
}

static void dnssd_client_cb(AvahiClient *c, AvahiClientState state, void *arg)
{
    nmd_backend *b = arg;
    b->client = c; /* the first call comes from within avahi_client_new */
    dnssd_pub *p;
    switch (state) {
    case AVAHI_CLIENT_S_RUNNING:
        if (b->lost)
            nmd_log(NM_LOG_INFO, "dnssd", "avahi-daemon is back: browsing and publishing again");
        b->lost = false;
        dnssd_browse(b);
        dnssd_sync(b);
        break;
    case AVAHI_CLIENT_S_REGISTERING:
    case AVAHI_CLIENT_S_COLLISION:
        /* The daemon is (re)establishing its host name: our records wait for RUNNING. */
        dnssd_browse(b);
        TAILQ_FOREACH(p, &b->pubs, link)
        {
            if (p->group != NULL)
                avahi_entry_group_reset(p->group);
        }
        break;
    case AVAHI_CLIENT_FAILURE:
        if (b->running && !b->lost)
            nmd_log(NM_LOG_WARN, "dnssd",
                    "lost avahi-daemon (%s): forgetting its services, reconnecting",
                    avahi_strerror(avahi_client_errno(c)));
        b->lost = b->running;
        nmd_agent_forget(b->agent, NMD_BACKEND_DNSSD);
        dnssd_drop(b);
        if (b->retry != NULL)
            dnssd_retry_in(b, DNSSD_RECONNECT_MS); /* not from within this callback */
        break;
    case AVAHI_CLIENT_CONNECTING:
        break; /* after a loss: the daemon is not back yet */
    }
}

/* ---- the ops ---- */

static void dnssd_free(nmd_backend *b)
{
    dnssd_drop(b);
    while (!TAILQ_EMPTY(&b->pubs))
        dnssd_pub_free(b, TAILQ_FIRST(&b->pubs));
    if (b->retry != NULL)
        avahi_threaded_poll_get(b->poll)->timeout_free(b->retry);
    if (b->client != NULL)
        avahi_client_free(b->client);
    if (b->poll != NULL)
        avahi_threaded_poll_free(b->poll);
    free(b);
}

static int dnssd_start(nmd_backend **bp, nmd_agent *a, const char *arg, void *ctx)
{
    (void)ctx;
    (void)arg;
    nmd_backend *b = calloc(1, sizeof(*b));
    if (b == NULL)
        return -ENOMEM;
    const nmd_agent_config *cfg = nmd_agent_cfg(a);
    uint32_t incarnation;
    b->agent = a;
    nmd_agent_identity(a, b->id, &incarnation);
    strlcpy(b->fleet, cfg->fleet, sizeof(b->fleet));
    strlcpy(b->node_name, cfg->name, sizeof(b->node_name));
    b->passive = cfg->passive;
    TAILQ_INIT(&b->pubs);
    LIST_INIT(&b->seen);
    int rc = dnssd_ifaces(b, cfg);
    if (rc == 0 && (b->poll = avahi_threaded_poll_new()) == NULL)
        rc = -ENOMEM;
    const AvahiPoll *api = b->poll != NULL ? avahi_threaded_poll_get(b->poll) : NULL;
    if (rc == 0 && (b->retry = api->timeout_new(api, NULL, dnssd_retry_cb, b)) == NULL)
        rc = -ENOMEM;
    int err = AVAHI_ERR_NO_DAEMON;
    if (rc == 0) {
        /* NO_FAIL: a daemon restarted later is waited for rather than fatal. */
        b->client = avahi_client_new(api, AVAHI_CLIENT_NO_FAIL, dnssd_client_cb, b, &err);
        AvahiClientState st = b->client ? avahi_client_get_state(b->client) : AVAHI_CLIENT_FAILURE;
        if (st == AVAHI_CLIENT_CONNECTING || st == AVAHI_CLIENT_FAILURE) {
            if (b->client != NULL)
                err = st == AVAHI_CLIENT_CONNECTING ? AVAHI_ERR_NO_DAEMON
                                                    : avahi_client_errno(b->client);
            nmd_log(NM_LOG_ERROR, "dnssd",
                    "cannot reach avahi-daemon over D-Bus (%s): is avahi-daemon running?",
                    avahi_strerror(err));
            rc = -ECONNREFUSED;
        }
    }
    if (rc == 0 && avahi_threaded_poll_start(b->poll) < 0)
        rc = -ENOMEM;
    if (rc < 0) {
        dnssd_free(b);
        return rc;
    }
    b->running = true;
    *bp = b;
    return 0;
}

static void dnssd_publish(nmd_backend *b)
{
    avahi_threaded_poll_lock(b->poll);
    dnssd_sync(b);
    avahi_threaded_poll_unlock(b->poll);
}

static void dnssd_stop(nmd_backend **bp)
{
    nmd_backend *b = *bp;
    if (b == NULL)
        return;
    *bp = NULL;
    avahi_threaded_poll_stop(b->poll);
    dnssd_free(b); /* on this thread now: freeing the groups withdraws them */
}

const nmd_backend_ops nmd_dnssd_ops = {
    .name = "dnssd",
    .kind = NMD_BACKEND_DNSSD,
    .start = dnssd_start,
    .publish = dnssd_publish,
    .stop = dnssd_stop,
};
