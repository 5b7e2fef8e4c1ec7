/*
 * test_zmtp_curve.c - unit tests for CURVE's MESSAGE boxes (lib/zmtp/curve.c,
 * nmi_curve_seal and nmi_curve_open), which compose XSalsa20-Poly1305 from its parts:
 * every box must be the bytes crypto_box_detached_afternm makes (the peer, libzmq, opens
 * them with it), for sizes on both sides of each block boundary and of the bulk stream's
 * threshold; boxes libsodium made must open; a changed byte or an old nonce must not.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "include/nomid.h"
#include "zmtp/mech.h"
#include "zmtp/zmtp.h"
#include "zmtp/zmtp_int.h"

/* The two ends of one connection: a server's box and its client's, sharing the key. */
struct pair {
    nmi_curve_box server, client;
};

/* Sizes of a frame's data (the box holds one flags byte more). */
static const size_t sizes[] = {0,   1,   30,  31,  32,   62,   63,   64,    94,    95,
                               96,  126, 127, 128, 254,  255,  256,  286,   287,   288,
                               289, 300, 511, 512, 1000, 4096, 8191, 65536, 100000};

/* A box pair as a handshake leaves it: two nmi_mechs, a server and its client, run the
 * whole handshake (a CURVE server without a ZAP handler accepts, as libzmq). */
static void pair_new(struct pair *p)
{
    uint8_t spub[32], ssec[32], cpub[32], csec[32];
    assert_int_equal(nm_curve_keypair(spub, ssec), 0);
    assert_int_equal(nm_curve_keypair(cpub, csec), 0);
    static const uint8_t no_meta[1]; /* as the engine: metadata, here 0 bytes of it */
    nmi_mech_conf scf = {
        .mechanism = NM_MECH_CURVE, .as_server = true, .curve_secret = ssec, .meta = no_meta};
    nmi_mech_conf ccf = {.mechanism = NM_MECH_CURVE,
                         .curve_public = cpub,
                         .curve_secret = csec,
                         .curve_server = spub,
                         .meta = no_meta};
    nmi_mech s, c;
    assert_int_equal(nmi_mech_init(&s, &scf), 0);
    assert_int_equal(nmi_mech_init(&c, &ccf), 0);
    /* Commands go between them as frames: each step's output, header stripped. */
    uint8_t buf[2][NMI_MECH_OUT_MAX];
    size_t len = 0;
    nmi_mech *from = &c, *to = &s;
    int rc = nmi_mech_step(&c, NULL, 0, buf[0], &len), done = 0;
    assert_int_equal(rc, NMI_MECH_MORE);
    for (int turn = 0; turn < 8 && len > 0; turn++) {
        nmi_zmtp_header h;
        int hl = nmi_zmtp_header_decode(buf[turn % 2], len, -1, &h);
        assert_true(hl > 0);
        memmove(buf[turn % 2], buf[turn % 2] + hl, (size_t)h.size);
        size_t out_len = 0;
        rc = nmi_mech_step(to, buf[turn % 2], (size_t)h.size, buf[(turn + 1) % 2], &out_len);
        if (rc == NMI_MECH_ZAP)
            rc = nmi_mech_zap_done(to, 0, NULL, 0, buf[(turn + 1) % 2], &out_len);
        assert_true(rc >= 0);
        done += rc == NMI_MECH_DONE;
        len = out_len;
        nmi_mech *t = from;
        from = to;
        to = t;
    }
    assert_int_equal(done, 2); /* the server after INITIATE, the client after READY */
    (void)from;
    p->server = s.box;
    p->client = c.box;
    assert_memory_equal(p->server.key, p->client.key, 32);
    nmi_mech_fini(&s);
    nmi_mech_fini(&c);
}

/* The nonce libzmq uses for a MESSAGE: its 16-byte prefix and the short nonce. */
static void message_nonce(uint8_t n[24], bool from_server, const uint8_t *short_nonce)
{
    memcpy(n, from_server ? "CurveZMQMESSAGES" : "CurveZMQMESSAGEC", 16);
    memcpy(n + 16, short_nonce, 8);
}

/* Seals size bytes; returns the MESSAGE body (after the frame header) and its length. */
static uint8_t *seal(nmi_curve_box *b, uint8_t *out, const uint8_t *data, size_t size,
                     size_t *body_len)
{
    size_t n = nmi_curve_seal(b, out, NMI_ZMTP_MORE, data, size);
    nmi_zmtp_header h;
    int hl = nmi_zmtp_header_decode(out, n, -1, &h);
    assert_true(hl > 0);
    assert_int_equal(h.flags, 0);
    assert_int_equal((size_t)hl + h.size, n);
    assert_int_equal(h.size, 16 + 16 + 1 + size);
    *body_len = (size_t)h.size;
    return out + hl;
}

static void test_seal_is_crypto_box(void **state)
{
    (void)state;
    struct pair p;
    pair_new(&p);
    size_t max = 100000 + NMI_CURVE_MSG_OVERHEAD;
    uint8_t *data = malloc(max), *out = malloc(max), *plain = malloc(max);
    assert_non_null(data);
    assert_non_null(out);
    assert_non_null(plain);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        for (int dir = 0; dir < 2; dir++) {
            nmi_curve_box *from = dir == 0 ? &p.server : &p.client;
            size_t size = sizes[i], body_len;
            randombytes_buf(data, size);
            uint8_t *body = seal(from, out, data, size, &body_len);
            assert_memory_equal(body, "\x07MESSAGE", 8);
            uint8_t nonce[24];
            message_nonce(nonce, dir == 0, body + 8);
            /* libsodium's own open takes it: the bytes are crypto_box_afternm's. */
            assert_int_equal(crypto_box_open_detached_afternm(plain, body + 32, body + 16, 1 + size,
                                                              nonce, from->key),
                             0);
            assert_int_equal(plain[0], 1); /* MORE */
            assert_memory_equal(plain + 1, data, size);
        }
    }
    free(data);
    free(out);
    free(plain);
}

static void test_open_takes_crypto_box(void **state)
{
    (void)state;
    struct pair p;
    pair_new(&p);
    size_t max = 100000 + 64;
    uint8_t *plain = malloc(max), *body = malloc(max);
    assert_non_null(plain);
    assert_non_null(body);
    uint64_t sn = p.client.send_nonce; /* HELLO and INITIATE used the first ones */
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t size = sizes[i];
        /* What libzmq's client sends: a MESSAGE sealed by crypto_box_detached_afternm. */
        plain[0] = 2; /* COMMAND */
        randombytes_buf(plain + 1, size);
        memcpy(body, "\x07MESSAGE", 8);
        nmi_zmtp_put_be(body + 8, sn, 8);
        uint8_t nonce[24];
        message_nonce(nonce, false, body + 8);
        assert_int_equal(
            crypto_box_detached_afternm(body + 32, body + 16, plain, 1 + size, nonce, p.client.key),
            0);
        uint8_t flags, *data;
        size_t n;
        const char *why = NULL;
        uint32_t code = 0;
        assert_int_equal(
            nmi_curve_open(&p.server, body, 32 + 1 + size, &flags, &data, &n, &why, &code), 0);
        assert_int_equal(flags, NMI_ZMTP_COMMAND);
        assert_int_equal(n, size);
        assert_memory_equal(data, plain + 1, size);
        sn += 3; /* nonces need only grow */
    }
    free(plain);
    free(body);
}

static void test_open_refuses_changes_and_replays(void **state)
{
    (void)state;
    struct pair p;
    pair_new(&p);
    uint8_t data[300], out[300 + NMI_CURVE_MSG_OVERHEAD], copy[sizeof out];
    memset(data, 'x', sizeof data);
    const size_t lens[] = {0, 64, 300};
    for (size_t i = 0; i < 3; i++) {
        size_t body_len;
        uint8_t *body = seal(&p.client, out, data, lens[i], &body_len);
        uint8_t flags, *d;
        size_t n;
        const char *why = NULL;
        uint32_t code = 0;
        /* Every byte past the name changed once (nonce, MAC, box): none opens. */
        for (size_t at = 8; at < body_len; at++) {
            memcpy(copy, body, body_len);
            copy[at] ^= 0x20;
            int rc = nmi_curve_open(&p.server, copy, body_len, &flags, &d, &n, &why, &code);
            if (at < 16 && rc == -EPROTO && code == NM_PROTOCOL_ERROR_ZMTP_INVALID_SEQUENCE)
                continue; /* a nonce below the last refused as a replay */
            assert_int_equal(rc, -EPROTO);
            assert_int_equal(code, NM_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC);
        }
        memcpy(copy, body, body_len);
        assert_int_equal(nmi_curve_open(&p.server, copy, body_len, &flags, &d, &n, &why, &code), 0);
        assert_int_equal(n, lens[i]);
        assert_memory_equal(d, data, lens[i]);
        /* The same box again: a replay. */
        memcpy(copy, body, body_len);
        assert_int_equal(nmi_curve_open(&p.server, copy, body_len, &flags, &d, &n, &why, &code),
                         -EPROTO);
        assert_int_equal(code, NM_PROTOCOL_ERROR_ZMTP_INVALID_SEQUENCE);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seal_is_crypto_box),
        cmocka_unit_test(test_open_takes_crypto_box),
        cmocka_unit_test(test_open_refuses_changes_and_replays),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
