/*
 * trust.h - which CURVE server keys from discovery records reach the registry.
 *
 * A service entry may carry its server's CURVE public key (BEACON.md, "Keyed
 * services").  A key is only as good as the record that carried it: one whose HMAC the
 * fleet key checked (a beacon or table, an etcd value, a TXT record) is the fleet's
 * word; any other could come from anybody on the LAN or with write access to etcd, and
 * its key is dropped before the registry sees it, unless the agent was told to trust
 * such keys (nmd_agent_config.trust_unsigned_keys).  Each peer whose key is dropped is
 * logged once, not once per beacon.
 */
#ifndef NMD_TRUST_H
#define NMD_TRUST_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "beacon.h"

#define NMD_TRUST_LOGGED 64 /* peers remembered as logged (the oldest is forgotten first) */

/* Shared by the agent's thread and the backends' threads (etcd watch, Avahi): `lock`
 * guards logged[], nlogged and next; trust_unsigned and has_fleet_key are set before any
 * thread starts and only read afterwards. */
typedef struct nmd_trust {
    bool trust_unsigned;  /* keep keys from records no fleet key checked */
    bool has_fleet_key;   /* this node has a fleet key (for the log line) */
    pthread_mutex_t lock; /* logged, nlogged, next */
    struct {
        int backend;            /* enum nmd_backend_kind */
        uint8_t id[16];         /* node id */
    } logged[NMD_TRUST_LOGGED]; /* peers whose dropped key was logged */
    size_t nlogged;             /* entries used in logged[] */
    size_t next;                /* the entry replaced next once logged[] is full */
} nmd_trust;

/* trust_unsigned: keep keys no fleet key checked; ignored with a fleet key (has_fleet_key),
 * where a record that does not check is a forgery or a mistake, never to be trusted. */
void nmd_trust_init(nmd_trust *t, bool trust_unsigned, bool has_fleet_key);
void nmd_trust_fini(nmd_trust *t);

/* Drops the keys of svcs[0..n) (has_key false, key zeroed) unless authentic or trusted;
 * the first time for peer (backend, id), logs that it did, naming src (an address or
 * the etcd key).  Returns how many keys were dropped.  Safe from any thread. */
size_t nmd_trust_filter(nmd_trust *t, int backend, const uint8_t id[16], const char *src,
                        bool authentic, nmd_service *svcs, size_t n);

#endif
