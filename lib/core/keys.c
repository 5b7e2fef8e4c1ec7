/*
 * keys.c - CURVE keys for the API: Z85 text (ZeroMQ RFC 32: 4 bytes <-> 5 characters of
 * an 85-letter alphabet) and Curve25519 key pairs from libsodium.
 */
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "core/core.h"

static const char z85_alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                   ".-:+=^!/*?&<>()[]{}@%$#";

char *nm_z85_encode(char *dest, const uint8_t *data, size_t size)
{
    if (dest == NULL || (data == NULL && size > 0) || size % 4 != 0)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < size; i += 4, o += 5) {
        uint32_t v = (uint32_t)data[i] << 24 | (uint32_t)data[i + 1] << 16 |
                     (uint32_t)data[i + 2] << 8 | data[i + 3];
        for (int k = 4; k >= 0; k--, v /= 85)
            dest[o + (size_t)k] = z85_alphabet[v % 85];
    }
    dest[o] = '\0';
    return dest;
}

static int z85_value(char c)
{
    const char *p = c != '\0' ? strchr(z85_alphabet, c) : NULL;
    return p != NULL ? (int)(p - z85_alphabet) : -1;
}

uint8_t *nm_z85_decode(uint8_t *dest, const char *text)
{
    size_t n = text != NULL ? strlen(text) : 1;
    if (dest == NULL || n % 5 != 0)
        return NULL;
    for (size_t i = 0, o = 0; i < n; i += 5, o += 4) {
        uint64_t v = 0;
        for (int k = 0; k < 5; k++) {
            int d = z85_value(text[i + (size_t)k]);
            if (d < 0)
                return NULL;
            v = v * 85 + (uint64_t)d;
        }
        if (v > UINT32_MAX)
            return NULL;
        for (int k = 3; k >= 0; k--, v >>= 8)
            dest[o + (size_t)k] = (uint8_t)v;
    }
    return dest;
}

int nmi_sodium_init(void)
{
    return sodium_init() < 0 ? -ENOSYS : 0; /* 1 (done before) is fine */
}

int nm_curve_keypair(uint8_t public_key[32], uint8_t secret_key[32])
{
    int rc = nmi_sodium_init();
    if (rc == 0)
        crypto_box_keypair(public_key, secret_key);
    return rc;
}

int nm_curve_public(uint8_t public_key[32], const uint8_t secret_key[32])
{
    int rc = nmi_sodium_init();
    if (rc == 0 && crypto_scalarmult_base(public_key, secret_key) != 0)
        rc = -EINVAL;
    return rc;
}
