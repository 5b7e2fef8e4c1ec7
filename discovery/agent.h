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

#include "registry.h"

#define NMD_IFACE_MAX 8

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
    nmd_event_cb *event_cb;            /* called on the agent thread, under its lock */
    void *event_arg;                   /* its argument */
} nmd_agent_config;

typedef struct nmd_agent nmd_agent;

/* Fills the defaults above. */
void nmd_agent_config_init(nmd_agent_config *cfg);

/* Opens the beacon sockets and starts the thread.  -errno (e.g. -ENODEV for an unknown
 * interface) and nothing started on failure. */
int nmd_agent_start(nmd_agent **ap, const nmd_agent_config *cfg);
/* Says goodbye, stops the thread, frees everything.  *ap is set to NULL. */
void nmd_agent_stop(nmd_agent **ap);

/* Advertises (or withdraws) a service instance; the next beacon carries the change. */
int nmd_agent_advertise(nmd_agent *a, const char *name, int type, const char *endpoint);
int nmd_agent_withdraw(nmd_agent *a, const char *name, const char *endpoint);

/* Registry queries, safe from any thread (callbacks run under the agent's lock). */
size_t nmd_agent_resolve(nmd_agent *a, const char *name, nmd_instance_cb *cb, void *arg);
size_t nmd_agent_peers(nmd_agent *a, nmd_peer_cb *cb, void *arg);

/* Counters for statistics and tests. */
typedef struct nmd_agent_stats {
    uint64_t sent;       /* beacons sent (all interfaces) */
    uint64_t received;   /* datagrams received */
    uint64_t dropped;    /* malformed, foreign-fleet, unsigned or replayed ones */
    uint64_t bytes_sent; /* beacon bytes sent */
} nmd_agent_stats;
void nmd_agent_get_stats(nmd_agent *a, nmd_agent_stats *st);

#endif
