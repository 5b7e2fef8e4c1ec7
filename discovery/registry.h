/*
 * registry.h - what a node knows of its fleet: the peers it has heard, their state
 * (alive, silent, gone) and the services they offer.
 *
 * Backends feed it (beacons, DNS-SD, etcd), the resolver and `nomid peers` read it.  A
 * peer is one node as one backend reports it: the same node seen through beacons and
 * etcd is two peers.  Beacon peers age with time (silent, then gone); the other backends
 * say themselves when an instance leaves.  An instance (service name + endpoint) is
 * reported up when the first backend announces it and down when the last one loses it,
 * so readers see each instance once.
 *
 * The socket type and CURVE key are part of an entry's identity, not of the instance's:
 * an instance is seen with the entry of the first peer (in peer order) offering it, and
 * when that entry changes (the same endpoint announced with another key or type, by the
 * same peer or because the peer seen went and another offers it differently) the
 * instance is reported down with the old entry and up with the new one, so the core
 * drops its connection and connects again with the new key.  A peer's entry that only
 * differs in its key from another's is one entry of each (nmd_registry_del must be
 * given the key it was added with).  It is plain data with the time passed in, so it
 * is tested without sockets or clocks, and it is not thread-safe: the discovery agent
 * owns it.  Every change a reader may care about is reported through one callback, in
 * the order it happens.
 */
#ifndef NMD_REGISTRY_H
#define NMD_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "beacon.h"

/* Where a peer was heard of. */
enum nmd_backend_kind {
    NMD_BACKEND_BEACON = 0, /* UDP beacons (built into the agent) */
    NMD_BACKEND_DNSSD,      /* DNS-SD through Avahi */
    NMD_BACKEND_ETCD,       /* etcd's v3 JSON gateway */
    NMD_BACKEND_HOST,       /* programs joined through this host's node (host.h) */
    NMD_BACKEND_COUNT,
};

/* "beacon", "dnssd", "etcd", "host". */
const char *nmd_backend_name(int backend);

enum nmd_peer_state {
    NMD_PEER_ALIVE = 0,  /* heard within the last interval and a half */
    NMD_PEER_SILENT = 1, /* missed beacons, not yet expired */
};

enum nmd_event {
    NMD_EV_PEER_UP = 1,  /* a new peer (or a restarted one) */
    NMD_EV_PEER_DOWN,    /* a peer left (goodbye), expired or restarted */
    NMD_EV_SERVICE_UP,   /* one instance of a service can be used */
    NMD_EV_SERVICE_DOWN, /* one instance went away */
};

typedef struct nmd_peer {
    int backend;                     /* enum nmd_backend_kind */
    uint8_t id[16];                  /* node id */
    uint32_t incarnation;            /* restart counter */
    uint32_t seq;                    /* last beacon sequence number accepted */
    char name[NMD_NAME_MAX + 1];     /* node name */
    char addr[64];                   /* address its beacons come from */
    uint16_t ctl_port;               /* where its full service table can be fetched */
    uint16_t admin_port;             /* its admin endpoint */
    bool admin_tls;                  /* ... serves HTTPS */
    bool admin_pin_ok;               /* admin_pin came in a beacon checked with the fleet key */
    uint8_t admin_pin[NMD_PIN_SIZE]; /* SHA-256 of its admin certificate's public key */
    int state;                       /* enum nmd_peer_state */
    uint64_t last_seen_ns;           /* when its last beacon arrived */
    uint8_t digest[NMD_DIGEST_SIZE]; /* digest of its table, as announced */
    bool complete;                   /* services[] is its whole table */
    nmd_service *services;           /* the services known */
    size_t nservices;                /* their count */
} nmd_peer;

typedef struct nmd_registry nmd_registry;

/* svc is NULL for peer events. */
typedef void(nmd_event_cb)(void *arg, int event, const nmd_peer *peer, const nmd_service *svc);
typedef void(nmd_instance_cb)(void *arg, const nmd_peer *peer, const nmd_service *svc);
typedef void(nmd_peer_cb)(void *arg, const nmd_peer *peer);

nmd_registry *nmd_registry_new(nmd_event_cb *cb, void *arg);
void nmd_registry_destroy(nmd_registry **rp);

/* Takes a decoded beacon that arrived from src_addr at now_ns.  Returns 1 if it was
 * applied, 0 if ignored (an older incarnation, or a sequence number already seen: a
 * replay), -ENOMEM.  *need_fetch is set when the peer's table is larger than what the
 * beacon carried and the registry does not hold that table yet. */
int nmd_registry_beacon(nmd_registry *r, const nmd_beacon *b, const char *src_addr, uint64_t now_ns,
                        bool *need_fetch);

/* Installs a peer's whole table fetched from it, whose digest (checked against the
 * services by the table decoder, before any rewriting of endpoints) is `digest`;
 * ignored (returns 0) unless that is the digest the peer announces now.  1 applied,
 * -ENOENT unknown peer, -ENOMEM. */
int nmd_registry_set_table(nmd_registry *r, const uint8_t id[16], const uint8_t *digest,
                           const nmd_service *table, size_t n);

/* For backends that report instances one at a time (DNS-SD, etcd): node `id` of that
 * backend offers svc (added if new; the peer is created, named name and addressed addr,
 * if unknown).  1 applied, 0 already known, -ENOMEM. */
int nmd_registry_add(nmd_registry *r, int backend, const uint8_t id[16], const char *name,
                     const char *addr, const nmd_service *svc);
/* ... no longer offers svc; a peer left with no service is forgotten.  1 removed, 0 not
 * known. */
int nmd_registry_del(nmd_registry *r, int backend, const uint8_t id[16], const nmd_service *svc);
/* For a backend that reports whole peers (the host's members, host.h): peer
 * (info->backend, info->id) is now named, addressed and announcing an admin endpoint as
 * info says and offers table[0..n) (info's services are ignored); created if new, and
 * kept with no service until nmd_registry_remove_peer.  0 or -ENOMEM. */
int nmd_registry_set_peer(nmd_registry *r, const nmd_peer *info, const nmd_service *table,
                          size_t n);
/* Reports a peer's services and the peer itself down, and forgets it.  1, or 0 unknown. */
int nmd_registry_remove_peer(nmd_registry *r, int backend, const uint8_t id[16]);
/* Forgets everything backend reported (it stopped or lost its server). */
void nmd_registry_forget(nmd_registry *r, int backend);

/* Ages beacon peers: silent after 1.5 intervals without a beacon, removed after `expiry`
 * intervals (reporting their services and themselves down). */
void nmd_registry_tick(nmd_registry *r, uint64_t now_ns, uint64_t interval_ns, int expiry);

/* Calls cb once for every known instance of service `name` (the first peer reporting
 * it); returns how many. */
size_t nmd_registry_resolve(nmd_registry *r, const char *name, nmd_instance_cb *cb, void *arg);
/* Calls cb once for every known instance of every service (the entry readers see, with
 * the peer offering it); returns how many. */
size_t nmd_registry_instances(nmd_registry *r, nmd_instance_cb *cb, void *arg);
/* Calls cb for every peer; returns how many. */
size_t nmd_registry_peers(nmd_registry *r, nmd_peer_cb *cb, void *arg);

#endif
