/*
 * beacon.c - encoder and decoder of the discovery beacon, version 1 (discovery/BEACON.md).
 *
 * Everything here is a pure function over caller-owned buffers.  The decoder treats its
 * input as hostile: every length is checked against the end of the buffer before use,
 * and with a fleet key the HMAC is checked before any field past the version is parsed,
 * so a forged datagram is rejected as -EACCES without its contents being looked at.
 */
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "beacon.h"

/* Fixed bytes of the header: magic, version, flags, id, incarnation, seq, the two name
 * length bytes, ports, digest, total count and inline count. */
#define BEACON_FIXED (4 + 1 + 1 + 16 + 4 + 4 + 1 + 1 + 2 + 2 + 8 + 2 + 1)

/* Output cursor; the encoder computes sizes first, so writes never overflow. */
typedef struct beacon_wr {
    uint8_t *p; /* next byte to write */
} beacon_wr;

/* Input cursor over in[0..end). */
typedef struct beacon_rd {
    const uint8_t *p;   /* next byte to read */
    const uint8_t *end; /* one past the last readable byte */
} beacon_rd;

static int beacon_sodium(void)
{
    /* Idempotent and thread-safe; only the MAC and hash need it. */
    return sodium_init() < 0 ? -ENOMEM : 0;
}

static void beacon_put8(beacon_wr *w, unsigned v)
{
    *w->p++ = (uint8_t)v;
}

static void beacon_put16(beacon_wr *w, unsigned v)
{
    beacon_put8(w, v >> 8);
    beacon_put8(w, v);
}

static void beacon_put32(beacon_wr *w, uint32_t v)
{
    beacon_put16(w, v >> 16);
    beacon_put16(w, v & 0xffff);
}

static void beacon_putn(beacon_wr *w, const void *src, size_t n)
{
    if (n > 0)
        memcpy(w->p, src, n);
    w->p += n;
}

/* Length of s within an array of size cap; cap when s is not NUL-terminated there. */
static size_t beacon_len(const char *s, size_t cap)
{
    const char *nul = memchr(s, '\0', cap);
    return nul != NULL ? (size_t)(nul - s) : cap;
}

/* Encoded size of one service, or 0 when a field is out of range. */
static size_t beacon_svc_size(const nmd_service *s)
{
    size_t nl = beacon_len(s->name, sizeof(s->name));
    size_t el = beacon_len(s->endpoint, sizeof(s->endpoint));
    if (nl < 1 || nl > NMD_SVC_NAME_MAX || el < 1 || el > NMD_ENDPOINT_MAX)
        return 0;
    if (s->type < 0 || s->type > NMD_TYPE_MAX)
        return 0;
    return 1 + nl + 1 + 1 + el + (s->has_key ? NMD_SVC_KEY_SIZE : 0);
}

/* Writes one service already checked by beacon_svc_size(). */
static void beacon_svc_put(beacon_wr *w, const nmd_service *s)
{
    size_t nl = strlen(s->name), el = strlen(s->endpoint);
    beacon_put8(w, (unsigned)nl);
    beacon_putn(w, s->name, nl);
    beacon_put8(w, (unsigned)s->type | (s->has_key ? NMD_SVC_KEYED : 0));
    beacon_put8(w, (unsigned)el);
    beacon_putn(w, s->endpoint, el);
    if (s->has_key)
        beacon_putn(w, s->curve_key, NMD_SVC_KEY_SIZE);
}

/* Entries that could not be encoded (out-of-range fields) are skipped rather than read
 * past their arrays; the encoder rejects them before hashing, so this only matters for
 * direct nmd_table_digest() callers. */
static void beacon_digest(const nmd_service *table, size_t n, uint8_t out[8])
{
    crypto_generichash_state st;
    uint8_t h[crypto_generichash_BYTES];
    uint8_t buf[NMD_SERVICE_MAX];

    crypto_generichash_init(&st, NULL, 0, sizeof(h));
    for (size_t i = 0; table != NULL && i < n; i++) {
        if (beacon_svc_size(&table[i]) == 0)
            continue;
        beacon_wr w = {buf};
        beacon_svc_put(&w, &table[i]);
        crypto_generichash_update(&st, buf, (unsigned long long)(w.p - buf));
    }
    crypto_generichash_final(&st, h, sizeof(h));
    memcpy(out, h, NMD_DIGEST_SIZE);
}

void nmd_table_digest(const nmd_service *table, size_t n, uint8_t out[8])
{
    (void)beacon_sodium();
    beacon_digest(table, n, out);
}

void nmd_mac(const uint8_t *msg, size_t n, const uint8_t *key, size_t keylen,
             uint8_t mac[NMD_MAC_SIZE])
{
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, key, keylen);
    crypto_auth_hmacsha256_update(&st, msg, (unsigned long long)n);
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_memzero(&st, sizeof(st));
}

int nmd_mac_check(const uint8_t *in, size_t n, size_t header, bool signed_, const uint8_t *key,
                  size_t keylen, size_t *body)
{
    *body = n;
    if (signed_) {
        if (n < header + NMD_MAC_SIZE)
            return -EPROTO;
        *body = n - NMD_MAC_SIZE;
    }
    if (key == NULL)
        return 0;
    if (!signed_)
        return -EACCES;
    uint8_t mac[NMD_MAC_SIZE];
    nmd_mac(in, *body, key, keylen, mac);
    return crypto_verify_32(mac, in + *body) == 0 ? 0 : -EACCES;
}

int nmd_beacon_encode(const nmd_beacon *b, const nmd_service *table, size_t ntable,
                      const uint8_t *key, size_t keylen, uint8_t *out, size_t cap)
{
    if (b == NULL || out == NULL || (table == NULL && ntable > 0) || ntable > UINT16_MAX)
        return -EINVAL;
    if (key != NULL && keylen < NMD_KEY_MIN)
        return -EINVAL;
    size_t fl = beacon_len(b->fleet, sizeof(b->fleet));
    size_t nl = beacon_len(b->name, sizeof(b->name));
    if (fl < 1 || fl > NMD_FLEET_MAX || nl > NMD_NAME_MAX)
        return -EINVAL;
    for (size_t i = 0; i < ntable; i++)
        if (beacon_svc_size(&table[i]) == 0)
            return -EINVAL;
    int rc = beacon_sodium();
    if (rc < 0)
        return rc;

    if (cap > NMD_BEACON_MAX)
        cap = NMD_BEACON_MAX;
    size_t mac = key != NULL ? NMD_MAC_SIZE : 0;
    size_t pin = b->admin_tls ? NMD_PIN_SIZE : 0;
    size_t len = BEACON_FIXED + fl + nl + pin;
    if (len + mac > cap)
        return -ENOBUFS;
    size_t k = 0;
    while (k < ntable && k < NMD_INLINE_MAX) {
        size_t s = beacon_svc_size(&table[k]);
        if (len + s + mac > cap)
            break;
        len += s;
        k++;
    }

    unsigned flags = 0;
    if (b->goodbye)
        flags |= NMD_FLAG_GOODBYE;
    if (key != NULL)
        flags |= NMD_FLAG_SIGNED;
    if (k == ntable)
        flags |= NMD_FLAG_COMPLETE;
    if (b->admin_tls)
        flags |= NMD_FLAG_ADMIN_TLS;
    uint8_t digest[NMD_DIGEST_SIZE];
    beacon_digest(table, ntable, digest);

    beacon_wr w = {out};
    beacon_putn(&w, NMD_BEACON_MAGIC, 4);
    beacon_put8(&w, NMD_BEACON_VERSION);
    beacon_put8(&w, flags);
    beacon_putn(&w, b->node_id, 16);
    beacon_put32(&w, b->incarnation);
    beacon_put32(&w, b->seq);
    beacon_put8(&w, (unsigned)fl);
    beacon_putn(&w, b->fleet, fl);
    beacon_put8(&w, (unsigned)nl);
    beacon_putn(&w, b->name, nl);
    beacon_put16(&w, b->ctl_port);
    beacon_put16(&w, b->admin_port);
    beacon_putn(&w, digest, sizeof(digest));
    beacon_put16(&w, (unsigned)ntable);
    beacon_put8(&w, (unsigned)k);
    for (size_t i = 0; i < k; i++)
        beacon_svc_put(&w, &table[i]);
    beacon_putn(&w, b->admin_pin, pin);
    if (key != NULL) {
        nmd_mac(out, len, key, keylen, w.p);
        w.p += NMD_MAC_SIZE;
    }
    return (int)(w.p - out);
}

static bool beacon_get8(beacon_rd *r, uint8_t *v)
{
    if (r->end - r->p < 1)
        return false;
    *v = *r->p++;
    return true;
}

static bool beacon_get16(beacon_rd *r, uint16_t *v)
{
    if (r->end - r->p < 2)
        return false;
    *v = (uint16_t)(r->p[0] << 8 | r->p[1]);
    r->p += 2;
    return true;
}

static bool beacon_get32(beacon_rd *r, uint32_t *v)
{
    if (r->end - r->p < 4)
        return false;
    *v = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 | (uint32_t)r->p[2] << 8 |
         (uint32_t)r->p[3];
    r->p += 4;
    return true;
}

static bool beacon_getn(beacon_rd *r, void *dst, size_t n)
{
    if ((size_t)(r->end - r->p) < n)
        return false;
    if (n > 0)
        memcpy(dst, r->p, n);
    r->p += n;
    return true;
}

/* Reads a length byte in [min, max] and that many bytes, none NUL, into dst[max + 1]. */
static bool beacon_getstr(beacon_rd *r, char *dst, size_t min, size_t max)
{
    uint8_t len;
    if (!beacon_get8(r, &len) || len < min || len > max)
        return false;
    if (!beacon_getn(r, dst, len) || memchr(dst, '\0', len) != NULL)
        return false;
    dst[len] = '\0';
    return true;
}

/* Reads one service (as beacon_svc_put writes it); false when malformed or cut short. */
static bool beacon_svc_get(beacon_rd *r, nmd_service *s)
{
    uint8_t type;
    if (!beacon_getstr(r, s->name, 1, NMD_SVC_NAME_MAX) || !beacon_get8(r, &type) ||
        (type & ~NMD_SVC_KEYED) > NMD_TYPE_MAX ||
        !beacon_getstr(r, s->endpoint, 1, NMD_ENDPOINT_MAX))
        return false;
    s->type = type & ~NMD_SVC_KEYED;
    s->has_key = type & NMD_SVC_KEYED;
    if (!s->has_key)
        memset(s->curve_key, 0, sizeof(s->curve_key));
    return !s->has_key || beacon_getn(r, s->curve_key, NMD_SVC_KEY_SIZE);
}

size_t nmd_service_size(const nmd_service *s)
{
    return s != NULL ? beacon_svc_size(s) : 0;
}

size_t nmd_service_encode(const nmd_service *s, uint8_t *out)
{
    beacon_wr w = {out};
    beacon_svc_put(&w, s);
    return (size_t)(w.p - out);
}

bool nmd_service_same(const nmd_service *a, const nmd_service *b)
{
    return a->type == b->type && a->has_key == b->has_key && strcmp(a->name, b->name) == 0 &&
           strcmp(a->endpoint, b->endpoint) == 0 &&
           (!a->has_key || memcmp(a->curve_key, b->curve_key, sizeof(a->curve_key)) == 0);
}

bool nmd_record_mac(const uint8_t node[16], const nmd_service *svc, const uint8_t *key,
                    size_t keylen, uint8_t mac[NMD_MAC_SIZE])
{
    uint8_t buf[4 + 1 + 16 + NMD_SERVICE_MAX];
    size_t n = beacon_svc_size(svc);
    if (n == 0)
        return false;
    memcpy(buf, NMD_RECORD_MAGIC, 4);
    buf[4] = 1;
    memcpy(buf + 5, node, 16);
    nmd_service_encode(svc, buf + 21);
    nmd_mac(buf, 21 + n, key, keylen, mac);
    return true;
}

bool nmd_record_mac_ok(const uint8_t node[16], const nmd_service *svc, const uint8_t *key,
                       size_t keylen, const uint8_t mac[NMD_MAC_SIZE])
{
    uint8_t want[NMD_MAC_SIZE];
    return nmd_record_mac(node, svc, key, keylen, want) && crypto_verify_32(want, mac) == 0;
}

int nmd_service_decode(const uint8_t *in, size_t n, nmd_service *s)
{
    if (in == NULL || s == NULL)
        return -EPROTO;
    beacon_rd r = {in, in + n};
    if (!beacon_svc_get(&r, s))
        return -EPROTO;
    return (int)(r.p - in);
}

/* Parses the body (everything before the MAC) of a datagram whose first 6 bytes have
 * been checked. */
static int beacon_parse(beacon_rd *r, nmd_beacon *b)
{
    uint8_t k;
    if (!beacon_getn(r, b->node_id, 16) || !beacon_get32(r, &b->incarnation) ||
        !beacon_get32(r, &b->seq) || !beacon_getstr(r, b->fleet, 1, NMD_FLEET_MAX) ||
        !beacon_getstr(r, b->name, 0, NMD_NAME_MAX) || !beacon_get16(r, &b->ctl_port) ||
        !beacon_get16(r, &b->admin_port) || !beacon_getn(r, b->digest, NMD_DIGEST_SIZE) ||
        !beacon_get16(r, &b->nservices) || !beacon_get8(r, &k))
        return -EPROTO;
    if (k > NMD_INLINE_MAX || k > b->nservices || (b->complete != (k == b->nservices)))
        return -EPROTO;
    b->ninline = k;
    for (size_t i = 0; i < k; i++)
        if (!beacon_svc_get(r, &b->services[i]))
            return -EPROTO;
    if (b->admin_tls && !beacon_getn(r, b->admin_pin, NMD_PIN_SIZE))
        return -EPROTO;
    if (r->p != r->end)
        return -EPROTO;
    if (b->complete) {
        /* The whole table is here, so the digest can be checked: a mismatch means the
         * sender is broken, and peers would otherwise fetch a table forever. */
        uint8_t d[NMD_DIGEST_SIZE];
        beacon_digest(b->services, k, d);
        if (sodium_memcmp(d, b->digest, sizeof(d)) != 0)
            return -EPROTO;
    }
    return 0;
}

bool nmd_beacon_signed(const uint8_t *in, size_t n)
{
    return n >= 6 && (in[5] & NMD_FLAG_SIGNED) != 0;
}

int nmd_beacon_decode(const uint8_t *in, size_t n, const uint8_t *key, size_t keylen, nmd_beacon *b)
{
    if (b == NULL || (in == NULL && n > 0) || (key != NULL && keylen < NMD_KEY_MIN))
        return -EINVAL;
    memset(b, 0, sizeof(*b));
    if (n < 6 || n > NMD_BEACON_MAX || memcmp(in, NMD_BEACON_MAGIC, 4) != 0)
        return -EPROTO;
    if (in[4] != NMD_BEACON_VERSION)
        return -EPROTONOSUPPORT;
    int rc = beacon_sodium();
    if (rc < 0)
        return rc;
    uint8_t flags = in[5];
    size_t body;
    if ((rc = nmd_mac_check(in, n, 6, flags & NMD_FLAG_SIGNED, key, keylen, &body)) < 0)
        return rc;
    if ((flags & ~(NMD_FLAG_GOODBYE | NMD_FLAG_SIGNED | NMD_FLAG_COMPLETE | NMD_FLAG_ADMIN_TLS)) !=
        0)
        return -EPROTO;
    b->goodbye = (flags & NMD_FLAG_GOODBYE) != 0;
    b->complete = (flags & NMD_FLAG_COMPLETE) != 0;
    b->admin_tls = (flags & NMD_FLAG_ADMIN_TLS) != 0;
    beacon_rd r = {in + 6, in + body};
    if ((rc = beacon_parse(&r, b)) < 0)
        return rc;
    b->authentic = key != NULL; /* nmd_mac_check refused it otherwise */
    return 0;
}
