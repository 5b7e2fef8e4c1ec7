/*
 * meta.c - the properties of a connection that its received messages carry (nm_props_t,
 * libzmq's message metadata and ZMQ_SRCFD).
 *
 * The engine makes one block per connection when its handshake completes, from the
 * peer's READY properties (which the codec has bounded and validated) and its address,
 * and each message it receives takes a reference (engine.h says how the reader pays for
 * them in batches).  The block never changes after it is made, so any thread may read
 * it; the reference count is the only shared state, and the last holder frees it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/msg.h"
#include "zmtp/zmtp.h"

#define META_PEER_ADDRESS "Peer-Address"

/* Bytes an entry takes (see nmi_meta.data). */
static size_t meta_entry_size(size_t nlen, size_t vlen)
{
    return 1 + nlen + 1 + 4 + vlen + 1;
}

static uint8_t *meta_put(uint8_t *o, const char *name, size_t nlen, const void *value, size_t vlen)
{
    uint32_t v32 = (uint32_t)vlen;
    *o++ = (uint8_t)nlen;
    memcpy(o, name, nlen);
    o += nlen;
    *o++ = '\0';
    memcpy(o, &v32, 4);
    o += 4;
    if (vlen > 0)
        memcpy(o, value, vlen);
    o += vlen;
    *o++ = '\0';
    return o;
}

nmi_meta *nmi_meta_new(int fd, const uint8_t *ready, size_t len, const char *peer_addr)
{
    size_t total = 0, off = 0;
    nmi_zmtp_prop p;
    while (ready != NULL && nmi_zmtp_prop_next(ready, len, &off, &p) == 1)
        total += meta_entry_size(p.name_len, p.value_len);
    size_t alen = peer_addr != NULL ? strlen(peer_addr) : 0;
    if (alen > 0)
        total += meta_entry_size(strlen(META_PEER_ADDRESS), alen);
    nmi_meta *m = malloc(sizeof(*m) + total);
    if (m == NULL)
        return NULL;
    atomic_init(&m->refs, 1);
    m->fd = fd;
    m->len = total;
    uint8_t *o = m->data;
    off = 0;
    while (ready != NULL && nmi_zmtp_prop_next(ready, len, &off, &p) == 1)
        o = meta_put(o, p.name, p.name_len, p.value, p.value_len);
    if (alen > 0)
        meta_put(o, META_PEER_ADDRESS, strlen(META_PEER_ADDRESS), peer_addr, alen);
    return m;
}

void nmi_meta_release(nmi_meta *m, unsigned n)
{
    if (m != NULL && n > 0 && atomic_fetch_sub_explicit(&m->refs, n, memory_order_acq_rel) == n)
        free(m);
}

/* ASCII-only folding: names are ASCII, and the locale must not matter. */
static bool meta_name_eq(const uint8_t *a, size_t alen, const char *b, size_t blen)
{
    if (alen != blen)
        return false;
    for (size_t i = 0; i < alen; i++) {
        unsigned char x = a[i], y = (unsigned char)b[i];
        if ((x >= 'A' && x <= 'Z' ? x + 32 : x) != (y >= 'A' && y <= 'Z' ? y + 32 : y))
            return false;
    }
    return true;
}

static const char *meta_find(const nmi_meta *m, const char *name, size_t *len)
{
    size_t want = strlen(name);
    const uint8_t *q = m->data, *end = m->data + m->len;
    while (q < end) {
        size_t nlen = q[0];
        const uint8_t *value = q + 1 + nlen + 1 + 4;
        uint32_t vlen;
        memcpy(&vlen, q + 1 + nlen + 1, 4);
        if (meta_name_eq(q + 1, nlen, name, want)) {
            if (len != NULL)
                *len = vlen;
            return (const char *)value;
        }
        q = value + vlen + 1;
    }
    return NULL;
}

const nm_props_t *nm_msg_props(const nm_msg_t *m)
{
    return (const nm_props_t *)nmi_msg_ofc(m)->meta;
}

const nm_props_t *nm_props_hold(const nm_props_t *p)
{
    if (p != NULL)
        atomic_fetch_add_explicit(&((nmi_meta *)p)->refs, 1, memory_order_relaxed);
    return p;
}

void nm_props_release(const nm_props_t **pp)
{
    if (pp == NULL)
        return;
    nmi_meta_release((nmi_meta *)*pp, 1);
    *pp = NULL;
}

const char *nm_props_get(const nm_props_t *p, const char *name, size_t *len)
{
    const nmi_meta *m = (const nmi_meta *)p;
    if (m == NULL || name == NULL)
        return NULL;
    const char *v = meta_find(m, name, len);
    /* The routing id goes by two names: ZMTP's "Identity", libzmq's newer "Routing-Id". */
    if (v == NULL && meta_name_eq((const uint8_t *)name, strlen(name), "Routing-Id", 10))
        v = meta_find(m, "Identity", len);
    else if (v == NULL && meta_name_eq((const uint8_t *)name, strlen(name), "Identity", 8))
        v = meta_find(m, "Routing-Id", len);
    return v;
}

int nm_props_fd(const nm_props_t *p)
{
    return p != NULL ? ((const nmi_meta *)p)->fd : -1;
}
