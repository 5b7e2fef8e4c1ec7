/*
 * trust.c - dropping CURVE keys that came in records nobody authenticated (trust.h).
 */
#include <string.h>

#include <sodium.h>

#include "dlog.h"
#include "nodeid.h"
#include "registry.h"
#include "trust.h"

void nmd_trust_init(nmd_trust *t, bool trust_unsigned, bool has_fleet_key)
{
    memset(t, 0, sizeof(*t));
    t->trust_unsigned = trust_unsigned && !has_fleet_key;
    t->has_fleet_key = has_fleet_key;
    pthread_mutex_init(&t->lock, NULL);
}

void nmd_trust_fini(nmd_trust *t)
{
    pthread_mutex_destroy(&t->lock);
}

/* True the first time peer (backend, id) is seen here, which is then remembered. */
static bool trust_first_time(nmd_trust *t, int backend, const uint8_t id[16])
{
    bool first = true;
    pthread_mutex_lock(&t->lock);
    for (size_t i = 0; first && i < t->nlogged; i++)
        first = t->logged[i].backend != backend || memcmp(t->logged[i].id, id, 16) != 0;
    if (first) {
        size_t at = t->nlogged < NMD_TRUST_LOGGED ? t->nlogged++ : t->next;
        t->next = (at + 1) % NMD_TRUST_LOGGED;
        t->logged[at].backend = backend;
        memcpy(t->logged[at].id, id, 16);
    }
    pthread_mutex_unlock(&t->lock);
    return first;
}

size_t nmd_trust_filter(nmd_trust *t, int backend, const uint8_t id[16], const char *src,
                        bool authentic, nmd_service *svcs, size_t n)
{
    if (authentic || t->trust_unsigned)
        return 0;
    size_t dropped = 0;
    const char *first = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!svcs[i].has_key)
            continue;
        if (first == NULL)
            first = svcs[i].name;
        svcs[i].has_key = false;
        sodium_memzero(svcs[i].curve_key, sizeof(svcs[i].curve_key));
        dropped++;
    }
    if (dropped > 0 && trust_first_time(t, backend, id)) {
        char hex[33];
        nmd_id_hex(id, hex);
        nmd_log(NM_LOG_WARN, "discovery",
                "%s peer %s (%s): CURVE key of service '%s'%s ignored: %s; its instances are "
                "connected to without CURVE",
                nmd_backend_name(backend), hex, src, first, dropped > 1 ? " and others" : "",
                t->has_fleet_key ? "the record's MAC is missing or does not check with the "
                                   "fleet key (forged, or signed with another key)"
                                 : "no fleet key authenticated the record (give every node "
                                   "the same --fleet-key-file, or trust unsigned keys)");
    }
    return dropped;
}
