/*
 * fetcher.h - the agent's fetches of whole service tables: a peer whose beacon carries
 * only part of its table (more than NMD_INLINE_MAX services, or more than fit in a
 * datagram) is asked for the rest on its control port (table.h).  A few fetches run at
 * once, each against a deadline, driven from the agent's poll loop; a fetched table is
 * handed over only when it is signed as the fleet requires and is the table the peer
 * announced (node id and digest).  A failed fetch is simply retried on a later beacon.
 */
#ifndef NMD_FETCHER_H
#define NMD_FETCHER_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>

#include "table.h"

#define NMD_FETCH_MAX 8 /* fetches running at once */

typedef struct nmd_fetch_slot {
    bool busy;                       /* a fetch is running */
    uint8_t id[16];                  /* of this peer */
    uint8_t digest[NMD_DIGEST_SIZE]; /* for the table it announced */
    char dev[64];                    /* received on this interface (IPv6 zone), or "" */
    nmd_table_fetch f;               /* the connection */
} nmd_fetch_slot;

typedef struct nmd_fetcher {
    nmd_fetch_slot slots[NMD_FETCH_MAX]; /* running fetches */
    const uint8_t *key;                  /* fleet key, or NULL */
    size_t keylen;                       /* its length */
    uint64_t done;                       /* tables fetched */
    uint64_t failed;                     /* fetches that failed or were rejected */
} nmd_fetcher;

/* A fetched table, checked; dev is the interface it came through (for IPv6 zones). */
typedef void(nmd_fetched_cb)(void *arg, const nmd_table_msg *m, const char *dev);

void nmd_fetcher_init(nmd_fetcher *fr, const uint8_t *key, size_t keylen);
/* Starts fetching peer id's table (the one with digest) from addr:port, unless one is
 * being fetched already or every slot is busy. */
void nmd_fetcher_start(nmd_fetcher *fr, const uint8_t id[16], const uint8_t *digest,
                       const char *addr, uint16_t port, const char *dev);
/* Fails fetches past their deadline, then adds a pollfd per running fetch to
 * out[0..max); returns how many. */
int nmd_fetcher_pollfds(nmd_fetcher *fr, struct pollfd *out, int max, uint64_t now_ns);
/* Advances the fetches whose pollfds (from nmd_fetcher_pollfds) are ready, calling cb
 * for each table completed. */
void nmd_fetcher_on_events(nmd_fetcher *fr, const struct pollfd *pfds, int n, nmd_fetched_cb *cb,
                           void *arg);
void nmd_fetcher_fini(nmd_fetcher *fr);

#endif
