/*
 * registry.h - what a node knows of its fleet: the peers it has heard, their state
 * (alive, silent, gone) and the services they offer.
 *
 * Backends feed it (beacons now; DNS-SD and etcd later), the resolver and `nomid peers`
 * read it.  It is plain data with the time passed in, so it is tested without sockets
 * or clocks, and it is not thread-safe: the discovery agent owns it.  Every change a
 * reader may care about (a peer or a service instance appearing or leaving) is reported
 * through one callback, in the order it happens.
 */
#ifndef NMD_REGISTRY_H
#define NMD_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "beacon.h"

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
    uint8_t id[16];                  /* node id */
    uint32_t incarnation;            /* restart counter */
    uint32_t seq;                    /* last beacon sequence number accepted */
    char name[NMD_NAME_MAX + 1];     /* node name */
    char addr[64];                   /* address its beacons come from */
    uint16_t ctl_port;               /* where its full service table can be fetched */
    uint16_t admin_port;             /* its admin endpoint */
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

/* Installs a peer's whole table fetched from it; ignored (returns 0) unless its digest
 * is the one the peer announces now.  1 applied, -ENOENT unknown peer, -ENOMEM. */
int nmd_registry_set_table(nmd_registry *r, const uint8_t id[16], const nmd_service *table,
                           size_t n);

/* Ages peers: silent after 1.5 intervals without a beacon, removed after `expiry`
 * intervals (reporting their services and themselves down). */
void nmd_registry_tick(nmd_registry *r, uint64_t now_ns, uint64_t interval_ns, int expiry);

/* Calls cb for every known instance of service `name`; returns how many. */
size_t nmd_registry_resolve(nmd_registry *r, const char *name, nmd_instance_cb *cb, void *arg);
/* Calls cb for every peer; returns how many. */
size_t nmd_registry_peers(nmd_registry *r, nmd_peer_cb *cb, void *arg);

#endif
