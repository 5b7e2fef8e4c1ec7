/*
 * sec.c - a socket's security settings (the mechanism, PLAIN and CURVE credentials, the
 * ZAP domain): the options that set and read them, and their sharing with the listeners
 * and connections made while they were current (core.h, nmi_sec).
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/core.h"

nmi_sec *nmi_sec_ref(nmi_sec *sec)
{
    if (sec != NULL)
        atomic_fetch_add_explicit(&sec->refs, 1, memory_order_relaxed);
    return sec;
}

void nmi_sec_release(nmi_sec *sec)
{
    if (sec != NULL && atomic_fetch_sub_explicit(&sec->refs, 1, memory_order_acq_rel) == 1) {
        sodium_memzero(sec, sizeof(*sec)); /* keys and passwords */
        free(sec);
    }
}

/* Copies src's settings into dst, all but the count: src may be shared, and another
 * thread may be taking a reference to it meanwhile (an I/O thread accepting on a
 * listener made with it), so its count is never read here. */
static void sec_copy(nmi_sec *dst, const nmi_sec *src)
{
    const size_t from = offsetof(nmi_sec, mechanism);
    memcpy((char *)dst + from, (const char *)src + from, sizeof(*dst) - from);
}

/* The socket's own settings, to change: a copy when they are shared (or none yet). */
static nmi_sec *sec_own(nmi_sec **sp)
{
    nmi_sec *old = *sp;
    if (old != NULL && atomic_load_explicit(&old->refs, memory_order_acquire) == 1)
        return old;
    nmi_sec *sec = calloc(1, sizeof(*sec));
    if (sec == NULL)
        return NULL;
    if (old != NULL)
        sec_copy(sec, old);
    atomic_init(&sec->refs, 1);
    nmi_sec_release(old);
    *sp = sec;
    return sec;
}

/* A CURVE key: 32 bytes, or 40 Z85 characters (with or without a NUL). */
static int sec_key(uint8_t key[32], const void *val, size_t len)
{
    if (val == NULL)
        return -EINVAL;
    if (len == 32) {
        memcpy(key, val, 32);
        return 0;
    }
    char text[41];
    if ((len != 40 && len != 41) || (len == 41 && ((const char *)val)[40] != '\0'))
        return -EINVAL;
    memcpy(text, val, 40);
    text[40] = '\0';
    return nm_z85_decode(key, text) != NULL ? 0 : -EINVAL;
}

/* Text of 1..255 bytes into a field. */
static int sec_text(char *field, uint8_t *flen, const void *val, size_t len)
{
    if (val == NULL || len == 0 || len > 255)
        return -EINVAL;
    memcpy(field, val, len);
    *flen = (uint8_t)len;
    return 0;
}

static bool sec_is_option(int opt)
{
    return opt >= NM_MECHANISM && opt <= NM_ZAP_ENFORCE_DOMAIN;
}

int nmi_sec_setopt(nmi_sec **sp, int opt, const void *val, size_t len)
{
    if (!sec_is_option(opt) || opt == NM_MECHANISM)
        return -ENOENT;
    int v = 0;
    bool is_int = val != NULL && len == sizeof(int);
    if (is_int)
        memcpy(&v, val, sizeof(v));
    bool clear = val == NULL && len == 0; /* PLAIN_USERNAME / PASSWORD: back to NULL */
    nmi_sec *sec = sec_own(sp);
    if (sec == NULL)
        return -ENOMEM;
    uint8_t key[32];
    switch (opt) {
    case NM_PLAIN_SERVER:
    case NM_CURVE_SERVER:
        if (!is_int || (v != 0 && v != 1))
            return -EINVAL;
        sec->as_server = v;
        sec->mechanism = !v ? NM_MECH_NULL : opt == NM_PLAIN_SERVER ? NM_MECH_PLAIN : NM_MECH_CURVE;
        return 0;
    case NM_PLAIN_USERNAME:
    case NM_PLAIN_PASSWORD:
        if (clear) {
            sec->mechanism = NM_MECH_NULL;
            return 0;
        }
        if (opt == NM_PLAIN_USERNAME ? sec_text(sec->user, &sec->user_len, val, len) < 0
                                     : sec_text(sec->pass, &sec->pass_len, val, len) < 0)
            return -EINVAL;
        sec->as_server = false;
        sec->mechanism = NM_MECH_PLAIN;
        return 0;
    case NM_CURVE_PUBLICKEY:
    case NM_CURVE_SECRETKEY:
    case NM_CURVE_SERVERKEY:
        if (sec_key(key, val, len) < 0)
            return -EINVAL;
        memcpy(opt == NM_CURVE_PUBLICKEY   ? sec->curve_public
               : opt == NM_CURVE_SECRETKEY ? sec->curve_secret
                                           : sec->curve_server,
               key, 32);
        if (opt == NM_CURVE_SERVERKEY)
            sec->as_server = false;
        sec->mechanism = NM_MECH_CURVE;
        return 0;
    case NM_ZAP_DOMAIN:
        if (len > 255 || (val == NULL && len > 0))
            return -EINVAL;
        memcpy(sec->domain, val, len);
        sec->domain_len = (uint8_t)len;
        return 0;
    default: /* NM_ZAP_ENFORCE_DOMAIN */
        if (!is_int)
            return -EINVAL;
        sec->zap_enforce = v != 0;
        return 0;
    }
}

/* Bytes into val: as they are, or (text) with a NUL. */
static int sec_get_bytes(void *val, size_t *len, const void *p, size_t n, bool text)
{
    if (*len < n + text)
        return -EINVAL;
    memcpy(val, p, n);
    if (text)
        ((char *)val)[n] = '\0';
    *len = n + text;
    return 0;
}

int nmi_sec_getopt(const nmi_sec *sec, int opt, void *val, size_t *len)
{
    static const nmi_sec none;
    if (!sec_is_option(opt))
        return -ENOENT;
    if (sec == NULL)
        sec = &none;
    const uint8_t *key = opt == NM_CURVE_PUBLICKEY   ? sec->curve_public
                         : opt == NM_CURVE_SECRETKEY ? sec->curve_secret
                                                     : sec->curve_server;
    int v;
    switch (opt) {
    case NM_PLAIN_USERNAME:
        return sec_get_bytes(val, len, sec->user, sec->user_len, true);
    case NM_PLAIN_PASSWORD:
        return sec_get_bytes(val, len, sec->pass, sec->pass_len, true);
    case NM_ZAP_DOMAIN:
        return sec_get_bytes(val, len, sec->domain, sec->domain_len, true);
    case NM_CURVE_PUBLICKEY:
    case NM_CURVE_SECRETKEY:
    case NM_CURVE_SERVERKEY:
        if (*len == 32)
            return sec_get_bytes(val, len, key, 32, false);
        if (*len < 41)
            return -EINVAL;
        nm_z85_encode(val, key, 32);
        *len = 41;
        return 0;
    case NM_MECHANISM:
        v = sec->mechanism;
        break;
    case NM_PLAIN_SERVER:
        v = sec->as_server && sec->mechanism == NM_MECH_PLAIN;
        break;
    case NM_CURVE_SERVER:
        v = sec->as_server && sec->mechanism == NM_MECH_CURVE;
        break;
    default: /* NM_ZAP_ENFORCE_DOMAIN */
        v = sec->zap_enforce;
        break;
    }
    return sec_get_bytes(val, len, &v, sizeof(v), false);
}

nmi_sec *nmi_sec_curve_client(const nmi_sec *sec, const uint8_t server_key[32])
{
    static const uint8_t none[32];
    nmi_sec *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    if (sec != NULL)
        sec_copy(c, sec);
    atomic_init(&c->refs, 1);
    c->mechanism = NM_MECH_CURVE;
    c->as_server = false;
    memcpy(c->curve_server, server_key, 32);
    if (sodium_memcmp(c->curve_secret, none, 32) == 0 &&
        nm_curve_keypair(c->curve_public, c->curve_secret) < 0) {
        free(c);
        return NULL;
    }
    return c;
}

bool nmi_sec_server_key(const nmi_sec *sec, uint8_t pub[32])
{
    static const uint8_t none[32];
    if (sec == NULL || sec->mechanism != NM_MECH_CURVE || !sec->as_server ||
        sodium_memcmp(sec->curve_secret, none, 32) == 0)
        return false;
    return crypto_scalarmult_base(pub, sec->curve_secret) == 0;
}
