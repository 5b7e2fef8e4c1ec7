/*
 * test_beacon.c - unit tests for the discovery beacon codec (discovery/beacon.c): round
 * trips signed and unsigned, with 0, 1, many and too many services, the exact-fit and
 * overflow boundaries, the table digest, and rejection of every malformed input the
 * format defines (truncations, bad magic/version/flags, lengths out of range, trailing
 * bytes, NUL inside strings, wrong or missing MAC), plus encode argument errors.
 * Standalone: links only discovery/beacon.c, cmocka and libsodium.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "beacon.h"

#define BIG_TABLE 40

/* Offsets in a beacon made by make_beacon() (fleet "alpha", node "node-1"). */
#define OFF_FLAGS  5
#define OFF_INC    22
#define OFF_SEQ    26
#define OFF_FLEET  30
#define OFF_NAME   36
#define OFF_CTL    43
#define OFF_DIGEST 47
#define OFF_TOTAL  55
#define OFF_K      57
#define OFF_SVC    58

static const uint8_t key1[32] = "0123456789abcdef0123456789abcdef";
static const uint8_t key2[32] = "0123456789abcdef0123456789abcdeF";

static void make_beacon(nmd_beacon *b)
{
    memset(b, 0, sizeof(*b));
    for (int i = 0; i < 16; i++)
        b->node_id[i] = (uint8_t)(0xa0 + i);
    b->incarnation = 0x01020304;
    b->seq = 0xfffffffe;
    strcpy(b->fleet, "alpha");
    strcpy(b->name, "node-1");
    b->ctl_port = 5555;
    b->admin_port = 0xbeef;
}

static void make_service(nmd_service *s, int i)
{
    memset(s, 0, sizeof(*s));
    snprintf(s->name, sizeof(s->name), "svc.%d", i);
    s->type = i % 12;
    snprintf(s->endpoint, sizeof(s->endpoint), "tcp://10.0.0.%d:%d", i % 250, 6000 + i);
    s->has_key = i % 4 == 2; /* a CURVE server now and then */
    for (int k = 0; s->has_key && k < NMD_SVC_KEY_SIZE; k++)
        s->curve_key[k] = (uint8_t)(i + k);
}

static nmd_service table[BIG_TABLE];

static int setup(void **state)
{
    (void)state;
    for (int i = 0; i < BIG_TABLE; i++)
        make_service(&table[i], i);
    return 0;
}

static void check_header(const nmd_beacon *want, const nmd_beacon *got)
{
    assert_memory_equal(got->node_id, want->node_id, 16);
    assert_int_equal(got->incarnation, want->incarnation);
    assert_int_equal(got->seq, want->seq);
    assert_int_equal(got->goodbye, want->goodbye);
    assert_string_equal(got->fleet, want->fleet);
    assert_string_equal(got->name, want->name);
    assert_int_equal(got->ctl_port, want->ctl_port);
    assert_int_equal(got->admin_port, want->admin_port);
}

static void check_services(const nmd_beacon *got, const nmd_service *t, size_t k)
{
    assert_int_equal(got->ninline, k);
    for (size_t i = 0; i < k; i++) {
        assert_string_equal(got->services[i].name, t[i].name);
        assert_int_equal(got->services[i].type, t[i].type);
        assert_string_equal(got->services[i].endpoint, t[i].endpoint);
        assert_int_equal(got->services[i].has_key, t[i].has_key);
        assert_memory_equal(got->services[i].curve_key, t[i].curve_key, NMD_SVC_KEY_SIZE);
    }
}

/* Encodes, decodes (with the key when signed) and checks every field. */
static void round_trip(const nmd_beacon *b, size_t ntable, const uint8_t *key, size_t cap,
                       size_t want_inline)
{
    uint8_t buf[NMD_BEACON_MAX];
    uint8_t dig[8];
    nmd_beacon got;
    int n = nmd_beacon_encode(b, table, ntable, key, key ? 32 : 0, buf, cap);
    assert_true(n > 0);
    assert_true((size_t)n <= cap && n <= NMD_BEACON_MAX);
    assert_int_equal(nmd_beacon_decode(buf, (size_t)n, key, key ? 32 : 0, &got), 0);
    check_header(b, &got);
    check_services(&got, table, want_inline);
    assert_int_equal(got.nservices, ntable);
    assert_int_equal(got.complete, want_inline == ntable);
    nmd_table_digest(table, ntable, dig);
    assert_memory_equal(got.digest, dig, 8);
    assert_int_equal(buf[OFF_FLAGS] & NMD_FLAG_SIGNED, key ? NMD_FLAG_SIGNED : 0);
    /* Without a key the signed beacon is accepted unchecked. */
    assert_int_equal(nmd_beacon_decode(buf, (size_t)n, NULL, 0, &got), 0);
    check_services(&got, table, want_inline);
}

static void test_round_trip_empty(void **state)
{
    (void)state;
    nmd_beacon b;
    make_beacon(&b);
    round_trip(&b, 0, NULL, sizeof(b), 0);
    round_trip(&b, 0, key1, NMD_BEACON_MAX, 0);
    b.name[0] = '\0';
    round_trip(&b, 0, NULL, NMD_BEACON_MAX, 0);
}

static void test_round_trip_one(void **state)
{
    (void)state;
    nmd_beacon b;
    make_beacon(&b);
    round_trip(&b, 1, NULL, NMD_BEACON_MAX, 1);
    round_trip(&b, 1, key1, NMD_BEACON_MAX, 1);
}

static void test_round_trip_many(void **state)
{
    (void)state;
    nmd_beacon b;
    make_beacon(&b);
    round_trip(&b, 20, NULL, NMD_BEACON_MAX, 20);
    round_trip(&b, 20, key1, NMD_BEACON_MAX, 20);
    round_trip(&b, NMD_INLINE_MAX, NULL, NMD_BEACON_MAX, NMD_INLINE_MAX);
}

static void test_goodbye(void **state)
{
    (void)state;
    nmd_beacon b, got;
    uint8_t buf[NMD_BEACON_MAX];
    make_beacon(&b);
    b.goodbye = true;
    round_trip(&b, 0, NULL, NMD_BEACON_MAX, 0);
    round_trip(&b, 3, key1, NMD_BEACON_MAX, 3);
    int n = nmd_beacon_encode(&b, NULL, 0, NULL, 0, buf, sizeof(buf));
    assert_true(n > 0);
    assert_int_equal(buf[OFF_FLAGS], NMD_FLAG_GOODBYE | NMD_FLAG_COMPLETE);
    assert_int_equal(nmd_beacon_decode(buf, (size_t)n, NULL, 0, &got), 0);
    assert_true(got.goodbye);
}

/* More services than NMD_INLINE_MAX: the first 32 go inline, COMPLETE is clear. */
static void test_overflow_count(void **state)
{
    (void)state;
    nmd_beacon b;
    make_beacon(&b);
    round_trip(&b, NMD_INLINE_MAX + 1, NULL, NMD_BEACON_MAX, NMD_INLINE_MAX);
    round_trip(&b, BIG_TABLE, key1, NMD_BEACON_MAX, NMD_INLINE_MAX);
}

/* A cap that holds exactly k services gets k; one byte less gets k - 1. */
static void test_exact_fit(void **state)
{
    (void)state;
    nmd_beacon b;
    uint8_t buf[NMD_BEACON_MAX];
    make_beacon(&b);
    for (int s = 0; s < 2; s++) {
        const uint8_t *key = s ? key1 : NULL;
        int full = nmd_beacon_encode(&b, table, 3, key, 32, buf, sizeof(buf));
        int hdr = nmd_beacon_encode(&b, table, 0, key, 32, buf, sizeof(buf));
        assert_true(full > hdr && hdr > 0);
        round_trip(&b, 3, key, (size_t)full, 3);
        round_trip(&b, 3, key, (size_t)full - 1, 2);
        round_trip(&b, 3, key, (size_t)hdr, 0);
        assert_int_equal(nmd_beacon_encode(&b, table, 3, key, 32, buf, (size_t)hdr - 1), -ENOBUFS);
        assert_int_equal(nmd_beacon_encode(&b, table, 0, key, 32, buf, (size_t)hdr - 1), -ENOBUFS);
    }
}

/* Maximal services (331 bytes each) fill the datagram before the count limit does. */
static void test_overflow_size(void **state)
{
    (void)state;
    nmd_beacon b;
    nmd_service big[6];
    uint8_t buf[2000];
    nmd_beacon got;
    make_beacon(&b);
    for (int i = 0; i < 6; i++) {
        memset(&big[i], 0, sizeof(big[i]));
        memset(big[i].name, 'a' + i, NMD_SVC_NAME_MAX);
        memset(big[i].endpoint, 'A' + i, NMD_ENDPOINT_MAX);
        big[i].type = 11;
    }
    /* Header 58 + 4 * 331 = 1382 fits unsigned; signed adds 32 and drops one. */
    int n = nmd_beacon_encode(&b, big, 6, NULL, 0, buf, sizeof(buf));
    assert_int_equal(n, 58 + 4 * 331);
    assert_int_equal(nmd_beacon_decode(buf, (size_t)n, NULL, 0, &got), 0);
    check_services(&got, big, 4);
    assert_false(got.complete);
    assert_int_equal(got.nservices, 6);
    n = nmd_beacon_encode(&b, big, 4, key1, 32, buf, sizeof(buf));
    assert_int_equal(n, 58 + 3 * 331 + 32);
    assert_int_equal(nmd_beacon_decode(buf, (size_t)n, key1, 32, &got), 0);
    check_services(&got, big, 3);
    assert_false(got.complete);
    uint8_t dig[8];
    nmd_table_digest(big, 4, dig);
    assert_memory_equal(got.digest, dig, 8);
}

/* The fixed layout, byte for byte, so BEACON.md and the code agree. */
static void test_layout(void **state)
{
    (void)state;
    nmd_beacon b;
    uint8_t buf[NMD_BEACON_MAX];
    make_beacon(&b);
    int n = nmd_beacon_encode(&b, table, 1, NULL, 0, buf, sizeof(buf));
    assert_int_equal(n, OFF_SVC + 1 + 5 + 1 + 1 + 19);
    assert_memory_equal(buf, "NMDB\x01\x04", 6);
    assert_memory_equal(buf + 6, b.node_id, 16);
    assert_memory_equal(buf + OFF_INC, "\x01\x02\x03\x04", 4);
    assert_memory_equal(buf + OFF_SEQ, "\xff\xff\xff\xfe", 4);
    assert_memory_equal(buf + OFF_FLEET,
                        "\x05"
                        "alpha",
                        6);
    assert_memory_equal(buf + OFF_NAME,
                        "\x06"
                        "node-1",
                        7);
    assert_memory_equal(buf + OFF_CTL, "\x15\xb3\xbe\xef", 4);
    uint8_t dig[8];
    nmd_table_digest(table, 1, dig);
    assert_memory_equal(buf + OFF_DIGEST, dig, 8);
    assert_memory_equal(buf + OFF_TOTAL, "\x00\x01\x01", 3);
    assert_memory_equal(buf + OFF_SVC, "\x05svc.0\x00\x13tcp://10.0.0.0:6000", 27);
}

/* A keyed service: bit 7 of the type byte, the 32 key bytes right after the endpoint
 * (and counted in the digest); a type above 11 with the bit, a key cut short, or a key
 * where an unkeyed entry ends, are malformed; an unkeyed entry decodes with a zero key. */
static void test_keyed_service(void **state)
{
    (void)state;
    nmd_beacon b, got;
    uint8_t buf[NMD_BEACON_MAX], dig[8];
    make_beacon(&b);
    nmd_service s = table[0];
    s.has_key = true;
    memset(s.curve_key, 0xc5, NMD_SVC_KEY_SIZE);
    assert_int_equal(nmd_service_size(&s), 3 + 5 + 19 + 32);
    int n = nmd_beacon_encode(&b, &s, 1, NULL, 0, buf, sizeof(buf));
    assert_int_equal(n, OFF_SVC + 27 + 32);
    assert_memory_equal(buf + OFF_SVC, "\x05svc.0\x80\x13tcp://10.0.0.0:6000", 27);
    for (int k = 0; k < NMD_SVC_KEY_SIZE; k++)
        assert_int_equal(buf[OFF_SVC + 27 + k], 0xc5);
    nmd_table_digest(&s, 1, dig);
    assert_memory_equal(buf + OFF_DIGEST, dig, 8);
    nmd_table_digest(table, 1, dig);
    assert_memory_not_equal(buf + OFF_DIGEST, dig, 8); /* the key is in the digest */
    memset(&got, 0xff, sizeof(got));
    assert_int_equal(nmd_beacon_decode(buf, (size_t)n, NULL, 0, &got), 0);
    check_services(&got, &s, 1);
    assert_false(got.authentic);
    /* Type 12 with the bit; the key cut short (the length field says so too). */
    buf[OFF_SVC + 6] = 0x80 | 12;
    assert_int_equal(nmd_beacon_decode(buf, (size_t)n, NULL, 0, &got), -EPROTO);
    buf[OFF_SVC + 6] = 0x80;
    assert_int_equal(nmd_beacon_decode(buf, (size_t)n - 1, NULL, 0, &got), -EPROTO);
    nmd_service d;
    assert_int_equal(nmd_service_decode(buf + OFF_SVC, 59, &d), 59);
    assert_true(d.has_key);
    assert_memory_equal(d.curve_key, s.curve_key, NMD_SVC_KEY_SIZE);
    for (size_t k = 27; k < 59; k++)
        assert_int_equal(nmd_service_decode(buf + OFF_SVC, k, &d), -EPROTO);
    /* The bit cleared: the key bytes are left over. */
    buf[OFF_SVC + 6] = 0;
    assert_int_equal(nmd_beacon_decode(buf, (size_t)n, NULL, 0, &got), -EPROTO);
    memset(&d, 0xff, sizeof(d));
    assert_int_equal(nmd_service_decode(buf + OFF_SVC, 59, &d), 27);
    assert_false(d.has_key);
    uint8_t zero[NMD_SVC_KEY_SIZE] = {0};
    assert_memory_equal(d.curve_key, zero, NMD_SVC_KEY_SIZE);
    /* Signed: the HMAC covers the key. */
    n = nmd_beacon_encode(&b, &s, 1, key1, 32, buf, sizeof(buf));
    assert_int_equal(nmd_beacon_decode(buf, (size_t)n, key1, 32, &got), 0);
    assert_true(got.authentic && got.services[0].has_key);
    buf[OFF_SVC + 27 + 5] ^= 1;
    assert_int_equal(nmd_beacon_decode(buf, (size_t)n, key1, 32, &got), -EACCES);
}

/* The optional admin TLS field: flag bit 3 and the key hash after the last service (before
 * the MAC); absent, the bytes are those of a beacon from before the field; cut short or
 * left without its flag, malformed; trusted (authentic) only when a key checked it. */
static void test_admin_tls(void **state)
{
    (void)state;
    nmd_beacon b, got;
    uint8_t plain[NMD_BEACON_MAX], buf[NMD_BEACON_MAX];
    make_beacon(&b);
    int n0 = nmd_beacon_encode(&b, table, 1, NULL, 0, plain, sizeof(plain));
    for (int i = 0; i < NMD_PIN_SIZE; i++)
        b.admin_pin[i] = (uint8_t)(0x40 + i);
    /* Without admin_tls the hash is not carried: the same bytes as before the field. */
    assert_int_equal(nmd_beacon_encode(&b, table, 1, NULL, 0, buf, sizeof(buf)), n0);
    assert_memory_equal(buf, plain, (size_t)n0);
    assert_int_equal(nmd_beacon_decode(plain, (size_t)n0, NULL, 0, &got), 0);
    assert_false(got.admin_tls);
    assert_false(got.authentic);
    b.admin_tls = true;
    int n = nmd_beacon_encode(&b, table, 1, NULL, 0, buf, sizeof(buf));
    assert_int_equal(n, n0 + NMD_PIN_SIZE);
    assert_int_equal(buf[OFF_FLAGS], NMD_FLAG_COMPLETE | NMD_FLAG_ADMIN_TLS);
    assert_memory_equal(buf + n0, b.admin_pin, NMD_PIN_SIZE);
    assert_int_equal(nmd_beacon_decode(buf, (size_t)n, NULL, 0, &got), 0);
    assert_true(got.admin_tls);
    assert_false(got.authentic);
    assert_memory_equal(got.admin_pin, b.admin_pin, NMD_PIN_SIZE);
    check_services(&got, table, 1);
    /* Cut short, or the flag without its field (and the field without its flag). */
    for (int cut = 1; cut <= NMD_PIN_SIZE; cut++)
        assert_int_equal(nmd_beacon_decode(buf, (size_t)(n - cut), NULL, 0, &got), -EPROTO);
    buf[OFF_FLAGS] &= (uint8_t)~NMD_FLAG_ADMIN_TLS;
    assert_int_equal(nmd_beacon_decode(buf, (size_t)n, NULL, 0, &got), -EPROTO);
    plain[OFF_FLAGS] |= NMD_FLAG_ADMIN_TLS;
    assert_int_equal(nmd_beacon_decode(plain, (size_t)n0, NULL, 0, &got), -EPROTO);
    /* Signed: authentic with the key, not without it; a changed hash fails the MAC. */
    n = nmd_beacon_encode(&b, table, 1, key1, 32, buf, sizeof(buf));
    assert_int_equal(n, n0 + NMD_PIN_SIZE + NMD_MAC_SIZE);
    assert_int_equal(nmd_beacon_decode(buf, (size_t)n, key1, 32, &got), 0);
    assert_true(got.admin_tls && got.authentic);
    assert_memory_equal(got.admin_pin, b.admin_pin, NMD_PIN_SIZE);
    assert_int_equal(nmd_beacon_decode(buf, (size_t)n, NULL, 0, &got), 0);
    assert_true(got.admin_tls && !got.authentic);
    buf[n0 + 3] ^= 1;
    assert_int_equal(nmd_beacon_decode(buf, (size_t)n, key1, 32, &got), -EACCES);
    /* The hash counts against the datagram's size: in n0 + 31 bytes the service that
     * fitted without it no longer does. */
    n = nmd_beacon_encode(&b, table, 1, NULL, 0, buf, (size_t)n0 + NMD_PIN_SIZE - 1);
    assert_int_equal(n, OFF_SVC + NMD_PIN_SIZE);
    assert_int_equal(nmd_beacon_decode(buf, (size_t)n, NULL, 0, &got), 0);
    assert_true(got.admin_tls && got.ninline == 0 && got.nservices == 1 && !got.complete);
    assert_memory_equal(got.admin_pin, b.admin_pin, NMD_PIN_SIZE);
}

static void test_digest(void **state)
{
    (void)state;
    uint8_t a[8], b[8], c[8], e[8];
    nmd_table_digest(table, 3, a);
    nmd_table_digest(table, 3, b);
    assert_memory_equal(a, b, 8);
    nmd_service swapped[2] = {table[1], table[0]};
    nmd_table_digest(table, 2, b);
    nmd_table_digest(swapped, 2, c);
    assert_memory_not_equal(b, c, 8);
    nmd_table_digest(NULL, 0, e);
    nmd_table_digest(table, 0, c);
    assert_memory_equal(c, e, 8);
    assert_memory_not_equal(a, e, 8);
}

static int encode_std(uint8_t *buf, size_t ntable, const uint8_t *key)
{
    nmd_beacon b;
    make_beacon(&b);
    int n = nmd_beacon_encode(&b, table, ntable, key, 32, buf, NMD_BEACON_MAX);
    assert_true(n > 0);
    return n;
}

static void test_truncation(void **state)
{
    (void)state;
    uint8_t buf[NMD_BEACON_MAX];
    nmd_beacon got;
    for (int s = 0; s < 2; s++) {
        const uint8_t *key = s ? key1 : NULL;
        int n = encode_std(buf, 3, key);
        for (int len = 0; len < n; len++) {
            assert_int_equal(nmd_beacon_decode(buf, (size_t)len, NULL, 0, &got), -EPROTO);
            int rc = nmd_beacon_decode(buf, (size_t)len, key1, 32, &got);
            assert_true(rc == -EPROTO || rc == -EACCES);
        }
        assert_int_equal(nmd_beacon_decode(NULL, 0, NULL, 0, &got), -EPROTO);
    }
}

static void test_bad_magic_version_flags(void **state)
{
    (void)state;
    uint8_t buf[NMD_BEACON_MAX];
    nmd_beacon got;
    int n = encode_std(buf, 2, NULL);
    for (int i = 0; i < 4; i++) {
        buf[i] ^= 0x20;
        assert_int_equal(nmd_beacon_decode(buf, (size_t)n, NULL, 0, &got), -EPROTO);
        buf[i] ^= 0x20;
    }
    const uint8_t versions[] = {0, 2, 0x81, 0xff};
    for (size_t i = 0; i < sizeof(versions); i++) {
        buf[4] = versions[i];
        assert_int_equal(nmd_beacon_decode(buf, (size_t)n, NULL, 0, &got), -EPROTONOSUPPORT);
        assert_int_equal(nmd_beacon_decode(buf, 6, key1, 32, &got), -EPROTONOSUPPORT);
    }
    buf[4] = 1;
    for (int bit = 3; bit < 8; bit++) { /* bit 3 (ADMIN_TLS) without its field, or reserved */
        buf[OFF_FLAGS] ^= (uint8_t)(1u << bit);
        assert_int_equal(nmd_beacon_decode(buf, (size_t)n, NULL, 0, &got), -EPROTO);
        buf[OFF_FLAGS] ^= (uint8_t)(1u << bit);
    }
    /* COMPLETE must match K == total; so clearing it is malformed here. */
    buf[OFF_FLAGS] &= (uint8_t)~NMD_FLAG_COMPLETE;
    assert_int_equal(nmd_beacon_decode(buf, (size_t)n, NULL, 0, &got), -EPROTO);
    buf[OFF_FLAGS] |= NMD_FLAG_COMPLETE;
    assert_int_equal(nmd_beacon_decode(buf, (size_t)n, NULL, 0, &got), 0);
}

/* Copies src with `extra` bytes of value fill inserted at off and the byte at lenoff
 * (a length field before off) increased by `extra`. */
static size_t splice(uint8_t *dst, const uint8_t *src, size_t n, size_t lenoff, size_t off,
                     size_t extra, uint8_t fill)
{
    memcpy(dst, src, off);
    memset(dst + off, fill, extra);
    memcpy(dst + off + extra, src + off, n - off);
    dst[lenoff] = (uint8_t)(dst[lenoff] + extra);
    return n + extra;
}

static int decode_len(const uint8_t *buf, size_t n)
{
    nmd_beacon got;
    return nmd_beacon_decode(buf, n, NULL, 0, &got);
}

static void test_length_ranges(void **state)
{
    (void)state;
    uint8_t src[NMD_BEACON_MAX], buf[2 * NMD_BEACON_MAX];
    nmd_beacon got;
    size_t n = (size_t)encode_std(src, 1, NULL);
    size_t m;

    /* fleet "alpha" (5): 64 is fine, 65 is not, 0 is not. */
    m = splice(buf, src, n, OFF_FLEET, OFF_FLEET + 1, 59, 'f');
    assert_int_equal(decode_len(buf, m), 0);
    m = splice(buf, src, n, OFF_FLEET, OFF_FLEET + 1, 60, 'f');
    assert_int_equal(decode_len(buf, m), -EPROTO);
    memcpy(buf, src, n);
    buf[OFF_FLEET] = 0;
    memmove(buf + OFF_FLEET + 1, buf + OFF_FLEET + 6, n - OFF_FLEET - 6);
    assert_int_equal(decode_len(buf, n - 5), -EPROTO);
    /* node name "node-1" (6): 0 and 64 are fine, 65 is not. */
    m = splice(buf, src, n, OFF_NAME, OFF_NAME + 1, 58, 'n');
    assert_int_equal(decode_len(buf, m), 0);
    m = splice(buf, src, n, OFF_NAME, OFF_NAME + 1, 59, 'n');
    assert_int_equal(decode_len(buf, m), -EPROTO);
    memcpy(buf, src, n);
    buf[OFF_NAME] = 0;
    memmove(buf + OFF_NAME + 1, buf + OFF_NAME + 7, n - OFF_NAME - 7);
    assert_int_equal(nmd_beacon_decode(buf, n - 6, NULL, 0, &got), 0);
    assert_string_equal(got.name, "");
    /* Service name "svc.0" (5): 129 and 0 are out of range (the digest would also
     * differ, but the range check comes first either way). */
    m = splice(buf, src, n, OFF_SVC, OFF_SVC + 1, 124, 's');
    assert_int_equal(decode_len(buf, m), -EPROTO);
    memcpy(buf, src, n);
    buf[OFF_SVC] = 0;
    assert_int_equal(decode_len(buf, n), -EPROTO);
    /* Endpoint (19): 201 and 0 are out of range. */
    size_t ep = OFF_SVC + 1 + 5 + 1;
    m = splice(buf, src, n, ep, ep + 1, 182, 'e');
    assert_int_equal(decode_len(buf, m), -EPROTO);
    memcpy(buf, src, n);
    buf[ep] = 0;
    assert_int_equal(decode_len(buf, n), -EPROTO);
    /* Socket type 12 and 255. */
    memcpy(buf, src, n);
    buf[ep - 1] = 12;
    assert_int_equal(decode_len(buf, n), -EPROTO);
    buf[ep - 1] = 255;
    assert_int_equal(decode_len(buf, n), -EPROTO);
    /* A length that runs past the end. */
    memcpy(buf, src, n);
    buf[ep] = 200;
    assert_int_equal(decode_len(buf, n), -EPROTO);
    /* Inline count above the total, above NMD_INLINE_MAX, and past the end. */
    memcpy(buf, src, n);
    buf[OFF_K] = 2;
    assert_int_equal(decode_len(buf, n), -EPROTO);
    buf[OFF_TOTAL + 1] = 200;
    buf[OFF_K] = 33;
    assert_int_equal(decode_len(buf, n), -EPROTO);
    /* Total count changed: COMPLETE no longer holds. */
    memcpy(buf, src, n);
    buf[OFF_TOTAL + 1] = 2;
    assert_int_equal(decode_len(buf, n), -EPROTO);
    /* Digest wrong on a COMPLETE beacon. */
    memcpy(buf, src, n);
    buf[OFF_DIGEST] ^= 1;
    assert_int_equal(decode_len(buf, n), -EPROTO);
    /* Longer than NMD_BEACON_MAX. */
    memset(buf, 0, sizeof(buf));
    memcpy(buf, src, n);
    assert_int_equal(decode_len(buf, NMD_BEACON_MAX + 1), -EPROTO);
}

static void test_trailing(void **state)
{
    (void)state;
    uint8_t buf[NMD_BEACON_MAX];
    nmd_beacon got;
    int n = encode_std(buf, 2, NULL);
    buf[n] = 0;
    assert_int_equal(nmd_beacon_decode(buf, (size_t)n + 1, NULL, 0, &got), -EPROTO);
    n = encode_std(buf, 2, key1);
    buf[n] = 0;
    assert_int_equal(nmd_beacon_decode(buf, (size_t)n + 1, NULL, 0, &got), -EPROTO);
    assert_int_equal(nmd_beacon_decode(buf, (size_t)n + 1, key1, 32, &got), -EACCES);
}

static void test_keys(void **state)
{
    (void)state;
    uint8_t buf[NMD_BEACON_MAX];
    nmd_beacon got;
    int n = encode_std(buf, 2, NULL);
    assert_int_equal(nmd_beacon_decode(buf, (size_t)n, key1, 32, &got), -EACCES);
    n = encode_std(buf, 2, key1);
    assert_int_equal(nmd_beacon_decode(buf, (size_t)n, key1, 32, &got), 0);
    assert_int_equal(nmd_beacon_decode(buf, (size_t)n, key2, 32, &got), -EACCES);
    assert_int_equal(nmd_beacon_decode(buf, (size_t)n, key1, 31, &got), -EINVAL);
    /* Keys longer than 32 bytes are used whole. */
    uint8_t longkey[40];
    memcpy(longkey, key1, 32);
    memset(longkey + 32, 7, 8);
    assert_int_equal(nmd_beacon_decode(buf, (size_t)n, longkey, 40, &got), -EACCES);
    nmd_beacon b;
    make_beacon(&b);
    n = nmd_beacon_encode(&b, table, 2, longkey, 40, buf, sizeof(buf));
    assert_true(n > 0);
    assert_int_equal(nmd_beacon_decode(buf, (size_t)n, longkey, 40, &got), 0);
    assert_int_equal(nmd_beacon_decode(buf, (size_t)n, key1, 32, &got), -EACCES);
}

/* Every bit after the version, flipped in a signed beacon, fails the MAC. */
static void test_bit_flips(void **state)
{
    (void)state;
    uint8_t buf[NMD_BEACON_MAX];
    nmd_beacon got;
    int n = encode_std(buf, 3, key1);
    for (int i = 5; i < n; i++) {
        for (int bit = 0; bit < 8; bit++) {
            buf[i] ^= (uint8_t)(1u << bit);
            assert_int_equal(nmd_beacon_decode(buf, (size_t)n, key1, 32, &got), -EACCES);
            buf[i] ^= (uint8_t)(1u << bit);
        }
    }
    assert_int_equal(nmd_beacon_decode(buf, (size_t)n, key1, 32, &got), 0);
}

static void test_nul_inside(void **state)
{
    (void)state;
    uint8_t buf[NMD_BEACON_MAX];
    int n = encode_std(buf, 1, NULL);
    const size_t offs[] = {
        OFF_FLEET + 1, OFF_FLEET + 5, OFF_NAME + 3, OFF_SVC + 2, OFF_SVC + 1 + 5 + 1 + 1 + 4,
        (size_t)n - 1};
    for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
        uint8_t saved = buf[offs[i]];
        buf[offs[i]] = 0;
        assert_int_equal(decode_len(buf, (size_t)n), -EPROTO);
        buf[offs[i]] = saved;
    }
    assert_int_equal(decode_len(buf, (size_t)n), 0);
}

static void test_encode_errors(void **state)
{
    (void)state;
    nmd_beacon b;
    nmd_service s;
    uint8_t buf[NMD_BEACON_MAX];
    make_beacon(&b);
    assert_int_equal(nmd_beacon_encode(NULL, table, 1, NULL, 0, buf, sizeof(buf)), -EINVAL);
    assert_int_equal(nmd_beacon_encode(&b, table, 1, NULL, 0, NULL, sizeof(buf)), -EINVAL);
    assert_int_equal(nmd_beacon_encode(&b, NULL, 1, NULL, 0, buf, sizeof(buf)), -EINVAL);
    assert_int_equal(nmd_beacon_encode(&b, table, 65536, NULL, 0, buf, sizeof(buf)), -EINVAL);
    assert_int_equal(nmd_beacon_encode(&b, table, 1, key1, 31, buf, sizeof(buf)), -EINVAL);
    assert_int_equal(nmd_beacon_encode(&b, table, 1, NULL, 0, buf, 10), -ENOBUFS);
    assert_int_equal(nmd_beacon_encode(&b, table, 1, NULL, 0, buf, 0), -ENOBUFS);

    b.fleet[0] = '\0';
    assert_int_equal(nmd_beacon_encode(&b, table, 1, NULL, 0, buf, sizeof(buf)), -EINVAL);
    memset(b.fleet, 'f', 64);
    b.fleet[64] = '\0';
    assert_true(nmd_beacon_encode(&b, table, 1, NULL, 0, buf, sizeof(buf)) > 0);
    memset(b.fleet, 'f', sizeof(b.fleet)); /* 65 bytes, unterminated */
    assert_int_equal(nmd_beacon_encode(&b, table, 1, NULL, 0, buf, sizeof(buf)), -EINVAL);
    make_beacon(&b);
    memset(b.name, 'n', sizeof(b.name));
    assert_int_equal(nmd_beacon_encode(&b, table, 1, NULL, 0, buf, sizeof(buf)), -EINVAL);
    make_beacon(&b);

    const int bad_types[] = {-1, 12, 1000};
    for (size_t i = 0; i < 3; i++) {
        make_service(&s, 1);
        s.type = bad_types[i];
        assert_int_equal(nmd_beacon_encode(&b, &s, 1, NULL, 0, buf, sizeof(buf)), -EINVAL);
    }
    make_service(&s, 1);
    s.name[0] = '\0';
    assert_int_equal(nmd_beacon_encode(&b, &s, 1, NULL, 0, buf, sizeof(buf)), -EINVAL);
    memset(s.name, 's', sizeof(s.name));
    assert_int_equal(nmd_beacon_encode(&b, &s, 1, NULL, 0, buf, sizeof(buf)), -EINVAL);
    make_service(&s, 1);
    s.endpoint[0] = '\0';
    assert_int_equal(nmd_beacon_encode(&b, &s, 1, NULL, 0, buf, sizeof(buf)), -EINVAL);
    memset(s.endpoint, 'e', sizeof(s.endpoint));
    assert_int_equal(nmd_beacon_encode(&b, &s, 1, NULL, 0, buf, sizeof(buf)), -EINVAL);

    /* A bad entry past the inline ones is still rejected: the digest covers it. */
    nmd_service t[40];
    memcpy(t, table, sizeof(t));
    t[39].type = 12;
    assert_int_equal(nmd_beacon_encode(&b, t, 40, NULL, 0, buf, sizeof(buf)), -EINVAL);
    nmd_beacon got;
    assert_int_equal(nmd_beacon_decode(buf, 10, key1, 16, &got), -EINVAL);
    assert_int_equal(nmd_beacon_decode(buf, 10, NULL, 0, NULL), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_empty),
        cmocka_unit_test(test_round_trip_one),
        cmocka_unit_test(test_round_trip_many),
        cmocka_unit_test(test_goodbye),
        cmocka_unit_test(test_overflow_count),
        cmocka_unit_test(test_exact_fit),
        cmocka_unit_test(test_overflow_size),
        cmocka_unit_test(test_layout),
        cmocka_unit_test(test_keyed_service),
        cmocka_unit_test(test_admin_tls),
        cmocka_unit_test(test_digest),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_bad_magic_version_flags),
        cmocka_unit_test(test_length_ranges),
        cmocka_unit_test(test_trailing),
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_bit_flips),
        cmocka_unit_test(test_nul_inside),
        cmocka_unit_test(test_encode_errors),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
