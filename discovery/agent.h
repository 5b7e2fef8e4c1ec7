/*
 * agent.h - the discovery agent: a thread that beacons this node's services on its
 * interfaces, listens for other nodes' beacons and keeps the registry current.
 *
 * One agent per node.  Its thread owns the beacon sockets and the registry; other
 * threads reach the registry only through the query functions here, which take the
 * agent's lock.  A stopped agent says goodbye on every interface, so peers drop it at
 * once rather than after `expiry` intervals.
 */
#ifndef NMD_AGENT_H
#define NMD_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "backend.h"
#include "nomid.h"
#include "registry.h"

#define NMD_IFACE_MAX   8
#define NMD_BACKEND_MAX 4
#define NMD_PREFIX_MAX  128

typedef struct nmd_agent_config {
    char fleet[NMD_FLEET_MAX + 1];     /* fleet name ("default") */
    char name[NMD_NAME_MAX + 1];       /* node name */
    const char *ifaces[NMD_IFACE_MAX]; /* interface names or addresses; none = 127.0.0.1 */
    int nifaces;                       /* entries in ifaces */
    const uint8_t *key;                /* fleet key (>= 32 bytes) or NULL: unsigned beacons */
    size_t keylen;                     /* its length */
    uint64_t interval_ns;              /* between beacons (default 1 s) */
    int expiry;                        /* missed intervals before a peer is gone (default 3) */
    uint16_t port;                     /* beacon port (default NMD_UDP_PORT) */
    const char *group;                 /* IPv4 multicast group (default NMD_UDP_GROUP) */
    bool passive;                      /* only listen (nomid resolve, nomid peers) */
    bool beacon;                       /* use beacons (default true) */
    bool trust_unsigned_keys;          /* without a fleet key, use the CURVE keys of records
                                        * anyway (default false: dropped, trust.h) */
    struct {
        const nmd_backend_ops *ops;   /* dnssd, etcd */
        const char *arg;              /* what followed '=' (the etcd URL), or NULL */
        void *ctx;                    /* an object handed to the backend (the host
                                       * backend's joined channel, host.h), or NULL */
    } backends[NMD_BACKEND_MAX];      /* further backends, started in order */
    int nbackends;                    /* their count */
    char etcd_prefix[NMD_PREFIX_MAX]; /* etcd keys live under it (default "/nomid/") */
    nmd_event_cb *event_cb;           /* called on changes (any backend's thread), under */
    void *event_arg;                  /* the agent's lock; and its argument */
} nmd_agent_config;

typedef struct nmd_agent nmd_agent;

/* Fills the defaults above. */
void nmd_agent_config_init(nmd_agent_config *cfg);

/* Opens the beacon sockets and starts the thread.  -errno (e.g. -ENODEV for an unknown
 * interface) and nothing started on failure. */
int nmd_agent_start(nmd_agent **ap, const nmd_agent_config *cfg);
/* Says goodbye, stops the thread, frees everything.  *ap is set to NULL. */
void nmd_agent_stop(nmd_agent **ap);

/* Advertises (or withdraws) a service instance; the next beacon carries the change.
 * curve_key: the instance is a CURVE server with this public key (32 bytes, carried in
 * its table entry), or NULL. */
int nmd_agent_advertise(nmd_agent *a, const char *name, int type, const char *endpoint,
                        const uint8_t *curve_key);
int nmd_agent_withdraw(nmd_agent *a, const char *name, const char *endpoint);

/* The hosts a svc:// bind listens on: the address of each interface the agent
 * announces on, as an endpoint's host ("127.0.0.1", "[fe80::1%eth0]"), at most max.
 * Returns how many.  Safe from any thread (the interfaces are fixed at start). */
int nmd_agent_bind_hosts(nmd_agent *a, char (*hosts)[NM_HOST_MAX], int max);

/* Registry queries, safe from any thread (callbacks run under the agent's lock). */
size_t nmd_agent_resolve(nmd_agent *a, const char *name, nmd_instance_cb *cb, void *arg);
size_t nmd_agent_instances(nmd_agent *a, nmd_instance_cb *cb, void *arg);
size_t nmd_agent_peers(nmd_agent *a, nmd_peer_cb *cb, void *arg);

/* Waits until at least n instances of service `name` are known (the slow joiner's
 * question); timeout_ms < 0 waits forever.  Returns how many there are, or -ETIMEDOUT.
 * Not to be called while another thread stops the agent. */
int nmd_agent_wait(nmd_agent *a, const char *name, int n, int timeout_ms);

/* Adds a listener for registry events besides cfg->event_cb (the resolver uses it);
 * called under the agent's lock on whichever thread made the change.  0 or -ENOMEM. */
int nmd_agent_listen(nmd_agent *a, nmd_event_cb *cb, void *arg);
void nmd_agent_unlisten(nmd_agent *a, nmd_event_cb *cb, void *arg);

/* ---- for backends (backend.h) ---- */

/* The configuration the agent runs with (interfaces defaulted, key copied). */
const nmd_agent_config *nmd_agent_cfg(const nmd_agent *a);
/* This node's id and restart counter. */
void nmd_agent_identity(const nmd_agent *a, uint8_t id[16], uint32_t *incarnation);
/* A copy of this node's table (*out malloc'd, caller frees; NULL when empty); returns
 * its size or -ENOMEM.  Wildcard hosts are as advertised (tcp://\*:5555): a backend
 * puts its own address in, as nmd_agent_endpoint_for does. */
ssize_t nmd_agent_table(nmd_agent *a, nmd_service **out);
/* Rewrites a wildcard host (tcp://\*:P, tcp://0.0.0.0:P) in ep to host (an address as
 * text, IPv6 without brackets); other endpoints are copied unchanged. */
void nmd_agent_endpoint_for(const char *ep, const char *host, char *out, size_t cap);
/* Report instances of other nodes (registry.h nmd_registry_add / del / forget), under
 * the agent's lock; backend is its enum nmd_backend_kind. */
int nmd_agent_add(nmd_agent *a, int backend, const uint8_t id[16], const char *name,
                  const char *addr, const nmd_service *svc);
int nmd_agent_del(nmd_agent *a, int backend, const uint8_t id[16], const nmd_service *svc);
void nmd_agent_forget(nmd_agent *a, int backend);
/* Whole peers (registry.h nmd_registry_set_peer / remove_peer), under the agent's lock. */
int nmd_agent_set_peer(nmd_agent *a, const nmd_peer *info, const nmd_service *table, size_t n);
int nmd_agent_remove_peer(nmd_agent *a, int backend, const uint8_t id[16]);
/* Drops the CURVE keys of svcs[0..n), which came from peer (backend, id) at src, unless
 * authentic (the fleet key checked their record) or, without a fleet key, the agent
 * trusts unsigned keys;
 * logged once per peer (trust.h).  Backends call it before nmd_agent_add and keep what
 * it leaves, for nmd_agent_del.  Safe from any thread. */
void nmd_agent_filter_keys(nmd_agent *a, int backend, const uint8_t id[16], const char *src,
                           bool authentic, nmd_service *svcs, size_t n);

/* Announces this node's admin endpoint in its beacons (and to its backends, as a table
 * change): the address it listens on (numeric, "0.0.0.0" for any; beacons carry only
 * the port: peers use the address the beacon came from), its port (0: none) and, when
 * it serves HTTPS, pin: the SHA-256 of its certificate's public key (NULL: plain HTTP). */
#define NMD_ADMIN_HOST_MAX 63
void nmd_agent_set_admin(nmd_agent *a, const char *host, uint16_t port, const uint8_t *pin);
/* What nmd_agent_set_admin last said: the port (0: none); host[NMD_ADMIN_HOST_MAX + 1],
 * *tls and pin[] (when tls). */
uint16_t nmd_agent_admin(nmd_agent *a, char *host, bool *tls, uint8_t pin[NMD_PIN_SIZE]);

/* Counters for statistics and tests. */
typedef struct nmd_agent_stats {
    uint64_t sent;       /* beacons sent (all interfaces) */
    uint64_t received;   /* datagrams received */
    uint64_t dropped;    /* malformed, foreign-fleet, unsigned or replayed ones */
    uint64_t malformed;  /* of those: malformed, oversized, unsigned or badly signed ones
                          * of our fleet (another fleet's are not counted here) */
    uint64_t bytes_sent; /* beacon bytes sent */
    uint64_t foreign;    /* of the dropped: other fleets' beacons */
} nmd_agent_stats;
void nmd_agent_get_stats(nmd_agent *a, nmd_agent_stats *st);

#endif
