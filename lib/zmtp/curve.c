/*
 * curve.c - the CURVE mechanism (RFC 25 over RFC 26 CurveZMQ): a Curve25519 handshake
 * with short-term keys per connection, then every frame in a MESSAGE box.
 *
 *   client                                    server
 *   HELLO (C', box[C'->S](64 zeros))    ->
 *                                       <-    WELCOME (box[S->C'](S', cookie))
 *   INITIATE (cookie, box[C'->S'](C,    ->
 *             vouch box[C->S'](C', S), metadata))
 *                                             (ZAP: may key C connect?)
 *                                       <-    READY (box[S'->C'](metadata))
 *   MESSAGE (box[C'->S'](flags, frame)) <->   MESSAGE (box[S'->C'](flags, frame))
 *
 * C, S are the long-term public keys, C', S' the short-term ones.  The server keeps no
 * state between HELLO and INITIATE but the cookie's key: the cookie (C' and s' sealed
 * with it) comes back in INITIATE.  Each side's short nonces start at 1 and grow by one
 * per box; a box whose nonce is not above the peer's last is refused (replay).
 *
 * MESSAGE boxes are crypto_box_afternm's XSalsa20-Poly1305, composed here from its parts
 * (curve_stream_xor): a MESSAGE nonce's first 16 bytes are fixed for a direction, so
 * XSalsa20's subkey (HSalsa20 of the key and those bytes) is made once per connection,
 * and a small frame's Salsa20 blocks come from crypto_core_salsa20, since libsodium
 * 1.0.18's stream functions cost 200-400 ns per call below 256 bytes against about 100
 * ns per block of the core (a 64-byte frame: seal 660 ns, open 770 ns through
 * crypto_box_*_afternm; about 350 and 400 ns here).  The boxes are the same bytes.
 */
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "include/nomid.h"
#include "zmtp/mech.h"
#include "zmtp/zmtp_int.h"

enum { CURVE_START, CURVE_WELCOME, CURVE_INITIATE, CURVE_READY, CURVE_ZAP, CURVE_DONE };

#define HELLO_SIZE   200 /* "\x05HELLO", version, 72 zeros, C', nonce, box of 64 zeros */
#define WELCOME_SIZE 168 /* "\x07WELCOME", 16-byte nonce, box of S' and the cookie */
#define INITIATE_MIN 257 /* "\x08INITIATE", cookie, nonce, box of C, vouch (no metadata) */
#define READY_MIN    30  /* "\x05READY", nonce, MAC */
#define MAC          crypto_box_MACBYTES
#define MESSAGE_HDR  16 /* "\x07MESSAGE" and the short nonce */
/* Stream bytes past a MESSAGE's first block from this many on go to libsodium's stream
 * function (4 or 8 blocks at a time), fewer block by block. */
#define STREAM_BULK_MIN 256

/* A 24-byte nonce: a 16-byte prefix and a big-endian short nonce, or a 16- or 8-byte
 * prefix and random / given long bytes. */
static void curve_nonce(uint8_t n[24], const char *prefix, uint64_t short_nonce)
{
    memcpy(n, prefix, 16);
    nmi_zmtp_put_be(n + 16, short_nonce, 8);
}

static void curve_long_nonce(uint8_t n[24], const char *prefix8, const uint8_t *rest16)
{
    memcpy(n, prefix8, 8);
    memcpy(n + 8, rest16, 16);
}

/* The traffic subkeys, once box->key is made. */
static void curve_box_subkeys(nmi_curve_box *b)
{
    crypto_core_hsalsa20(b->send_sub,
                         (const uint8_t *)(b->server ? "CurveZMQMESSAGES" : "CurveZMQMESSAGEC"),
                         b->key, NULL);
    crypto_core_hsalsa20(b->recv_sub,
                         (const uint8_t *)(b->server ? "CurveZMQMESSAGEC" : "CurveZMQMESSAGES"),
                         b->key, NULL);
}

/* ---- client ---------------------------------------------------------------------- */

static int curve_hello(nmi_mech *m, uint8_t *out, size_t *out_len)
{
    uint8_t *p = out + nmi_zmtp_header_encode(out, NMI_ZMTP_COMMAND, HELLO_SIZE);
    uint8_t zeros[64] = {0}, nonce[24];
    memcpy(p, "\x05HELLO\x01\x00", 8);
    memset(p + 8, 0, 72);
    memcpy(p + 80, m->cn_pub, 32);
    uint64_t sn = m->box.send_nonce++;
    nmi_zmtp_put_be(p + 112, sn, 8);
    curve_nonce(nonce, "CurveZMQHELLO---", sn);
    if (crypto_box_easy(p + 120, zeros, sizeof(zeros), nonce, m->peer_pub, m->cn_sec) != 0)
        return nmi_mech_fail(m, "unusable server key", NM_PROTOCOL_ERROR_ZMTP_KEY_EXCHANGE);
    *out_len = (size_t)(p - out) + HELLO_SIZE;
    m->state = CURVE_WELCOME;
    return NMI_MECH_MORE;
}

static int curve_welcome(nmi_mech *m, const uint8_t *in, size_t len, uint8_t *out, size_t *out_len)
{
    if (len != WELCOME_SIZE)
        return nmi_mech_fail(m, "malformed WELCOME",
                             NM_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_WELCOME);
    uint8_t nonce[24], plain[128];
    curve_long_nonce(nonce, "WELCOME-", in + 8);
    if (crypto_box_open_easy(plain, in + 24, WELCOME_SIZE - 24, nonce, m->peer_pub, m->cn_sec) != 0)
        return nmi_mech_fail(m, "WELCOME does not open (wrong server key?)",
                             NM_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC);
    memcpy(m->peer_cn, plain, 32);
    memcpy(m->cookie, plain + 32, 96);
    if (crypto_box_beforenm(m->box.key, m->peer_cn, m->cn_sec) != 0)
        return nmi_mech_fail(m, "bad server short-term key", NM_PROTOCOL_ERROR_ZMTP_KEY_EXCHANGE);
    curve_box_subkeys(&m->box);

    /* INITIATE: the cookie, and in a box C, the vouch (C' and S sealed from C to S'),
     * our metadata. */
    size_t blen = 32 + 16 + 80 + m->meta_len, body = 9 + 96 + 8 + MAC + blen;
    uint8_t *p = out + nmi_zmtp_header_encode(out, NMI_ZMTP_COMMAND, body);
    uint8_t box_plain[32 + 16 + 80 + sizeof(m->meta)], vouch[64], vnonce[24];
    memcpy(vouch, m->cn_pub, 32);
    memcpy(vouch + 32, m->peer_pub, 32);
    memcpy(box_plain, m->pub, 32);
    randombytes_buf(box_plain + 32, 16);
    curve_long_nonce(vnonce, "VOUCH---", box_plain + 32);
    if (crypto_box_easy(box_plain + 48, vouch, sizeof(vouch), vnonce, m->peer_cn, m->sec) != 0)
        return nmi_mech_fail(m, "bad server short-term key", NM_PROTOCOL_ERROR_ZMTP_KEY_EXCHANGE);
    memcpy(box_plain + 128, m->meta, m->meta_len);
    memcpy(p, "\x08INITIATE", 9);
    memcpy(p + 9, m->cookie, 96);
    uint64_t sn = m->box.send_nonce++;
    nmi_zmtp_put_be(p + 105, sn, 8);
    curve_nonce(nonce, "CurveZMQINITIATE", sn);
    crypto_box_easy_afternm(p + 113, box_plain, blen, nonce, m->box.key);
    *out_len = (size_t)(p - out) + body;
    m->state = CURVE_READY;
    return NMI_MECH_MORE;
}

static int curve_ready(nmi_mech *m, uint8_t *in, size_t len)
{
    if (len < READY_MIN)
        return nmi_mech_fail(m, "malformed READY", NM_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_READY);
    uint64_t sn = nmi_zmtp_get_be(in + 6, 8);
    uint8_t nonce[24];
    curve_nonce(nonce, "CurveZMQREADY---", sn);
    if (crypto_box_open_easy_afternm(in + 14, in + 14, len - 14, nonce, m->box.key) != 0)
        return nmi_mech_fail(m, "READY does not open", NM_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC);
    m->box.recv_nonce = sn;
    if (nmi_mech_keep_meta(m, in + 14, len - 14 - MAC) < 0)
        return -EPROTO;
    m->state = CURVE_DONE;
    return NMI_MECH_DONE;
}

/* ---- server ---------------------------------------------------------------------- */

static int curve_server_hello(nmi_mech *m, const uint8_t *in, size_t len, uint8_t *out,
                              size_t *out_len)
{
    if (len != HELLO_SIZE)
        return nmi_mech_fail(m, "malformed HELLO", NM_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_HELLO);
    if (in[6] != 1 || in[7] != 0)
        return nmi_mech_fail(m, "unknown CURVE version in HELLO",
                             NM_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_HELLO);
    uint8_t nonce[24], zeros[64];
    memcpy(m->peer_cn, in + 80, 32);
    uint64_t sn = nmi_zmtp_get_be(in + 112, 8);
    curve_nonce(nonce, "CurveZMQHELLO---", sn);
    if (crypto_box_open_easy(zeros, in + 120, 80, nonce, m->peer_cn, m->sec) != 0)
        return nmi_mech_fail(m, "HELLO does not open (the client has another server key)",
                             NM_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC);
    m->box.recv_nonce = sn;

    /* WELCOME: S' and the cookie (C' and s' sealed with a key only we hold). */
    uint8_t cookie_plain[64], welcome[128], cnonce[24];
    randombytes_buf(m->cookie_key, sizeof(m->cookie_key));
    memcpy(cookie_plain, m->peer_cn, 32);
    memcpy(cookie_plain + 32, m->cn_sec, 32);
    memcpy(welcome, m->cn_pub, 32);
    randombytes_buf(welcome + 32, 16);
    curve_long_nonce(cnonce, "COOKIE--", welcome + 32);
    crypto_secretbox_easy(welcome + 48, cookie_plain, sizeof(cookie_plain), cnonce, m->cookie_key);
    sodium_memzero(cookie_plain, sizeof(cookie_plain));
    uint8_t *p = out + nmi_zmtp_header_encode(out, NMI_ZMTP_COMMAND, WELCOME_SIZE);
    memcpy(p, "\x07WELCOME", 8);
    randombytes_buf(p + 8, 16);
    curve_long_nonce(nonce, "WELCOME-", p + 8);
    if (crypto_box_easy(p + 24, welcome, sizeof(welcome), nonce, m->peer_cn, m->sec) != 0)
        return nmi_mech_fail(m, "bad client short-term key", NM_PROTOCOL_ERROR_ZMTP_KEY_EXCHANGE);
    *out_len = (size_t)(p - out) + WELCOME_SIZE;
    m->state = CURVE_INITIATE;
    return NMI_MECH_MORE;
}

static int curve_server_initiate(nmi_mech *m, uint8_t *in, size_t len)
{
    if (len < INITIATE_MIN)
        return nmi_mech_fail(m, "malformed INITIATE",
                             NM_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_INITIATE);
    /* The cookie must be the one we gave this client. */
    uint8_t nonce[24], cookie[64];
    curve_long_nonce(nonce, "COOKIE--", in + 9);
    if (crypto_secretbox_open_easy(cookie, in + 25, 80, nonce, m->cookie_key) != 0 ||
        sodium_memcmp(cookie, m->peer_cn, 32) != 0 ||
        sodium_memcmp(cookie + 32, m->cn_sec, 32) != 0)
        return nmi_mech_fail(m, "INITIATE with a cookie not ours",
                             NM_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC);
    uint64_t sn = nmi_zmtp_get_be(in + 105, 8);
    if (sn <= m->box.recv_nonce)
        return nmi_mech_fail(m, "INITIATE nonce replayed", NM_PROTOCOL_ERROR_ZMTP_INVALID_SEQUENCE);
    if (crypto_box_beforenm(m->box.key, m->peer_cn, m->cn_sec) != 0)
        return nmi_mech_fail(m, "bad client short-term key", NM_PROTOCOL_ERROR_ZMTP_KEY_EXCHANGE);
    curve_box_subkeys(&m->box);
    curve_nonce(nonce, "CurveZMQINITIATE", sn);
    uint8_t *plain = in + 113;
    size_t plen = len - 113 - MAC;
    if (crypto_box_open_easy_afternm(plain, in + 113, len - 113, nonce, m->box.key) != 0)
        return nmi_mech_fail(m, "INITIATE does not open", NM_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC);
    m->box.recv_nonce = sn;
    /* The vouch: C' and S, sealed by the owner of C for our S'. */
    uint8_t vouch[64], vnonce[24];
    memcpy(m->peer_pub, plain, 32);
    curve_long_nonce(vnonce, "VOUCH---", plain + 32);
    if (crypto_box_open_easy(vouch, plain + 48, 80, vnonce, m->peer_pub, m->cn_sec) != 0)
        return nmi_mech_fail(m, "INITIATE's vouch does not open (a client key not its own?)",
                             NM_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC);
    if (sodium_memcmp(vouch, m->peer_cn, 32) != 0 || sodium_memcmp(vouch + 32, m->pub, 32) != 0)
        return nmi_mech_fail(m, "INITIATE's vouch names other keys",
                             NM_PROTOCOL_ERROR_ZMTP_KEY_EXCHANGE);
    if (nmi_mech_keep_meta(m, plain + 128, plen - 128) < 0)
        return -EPROTO;
    m->zap =
        (nmi_mech_zap){.mechanism = "CURVE", .ncred = 1, .cred = {m->peer_pub}, .cred_len = {32}};
    m->state = CURVE_ZAP;
    return NMI_MECH_ZAP;
}

int nmi_curve_zap_done(nmi_mech *m, uint8_t *out, size_t *out_len)
{
    if (m->state != CURVE_ZAP)
        return nmi_mech_fail(m, "ZAP answer out of turn", NM_PROTOCOL_ERROR_ZAP_UNSPECIFIED);
    size_t body = 6 + 8 + MAC + m->meta_len;
    uint8_t *p = out + nmi_zmtp_header_encode(out, NMI_ZMTP_COMMAND, body), nonce[24];
    memcpy(p, "\x05READY", 6);
    uint64_t sn = m->box.send_nonce++;
    nmi_zmtp_put_be(p + 6, sn, 8);
    curve_nonce(nonce, "CurveZMQREADY---", sn);
    crypto_box_easy_afternm(p + 14, m->meta, m->meta_len, nonce, m->box.key);
    *out_len = (size_t)(p - out) + body;
    m->state = CURVE_DONE;
    return NMI_MECH_DONE;
}

int nmi_curve_step(nmi_mech *m, const uint8_t *in, size_t len, uint8_t *out, size_t *out_len)
{
    if (in == NULL) { /* the start: a client says hello */
        if (m->server || m->state != CURVE_START)
            return NMI_MECH_MORE;
        return curve_hello(m, out, out_len);
    }
    static const char *const expect[] = {
        [CURVE_START] = "\x05HELLO",
        [CURVE_WELCOME] = "\x07WELCOME",
        [CURVE_INITIATE] = "\x08INITIATE",
        [CURVE_READY] = "\x05READY",
    };
    const char *name = m->state <= CURVE_READY ? expect[m->state] : NULL;
    if (name == NULL || (m->server != (m->state == CURVE_START || m->state == CURVE_INITIATE)) ||
        len < strlen(name) || memcmp(in, name, strlen(name)) != 0)
        return nmi_mech_fail(m, "unexpected command in the CURVE handshake",
                             NM_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND);
    /* The boxes open in place: in is the engine's copy of the command. */
    uint8_t *body = (uint8_t *)in;
    switch (m->state) {
    case CURVE_START:
        return curve_server_hello(m, body, len, out, out_len);
    case CURVE_WELCOME:
        return curve_welcome(m, body, len, out, out_len);
    case CURVE_INITIATE:
        return curve_server_initiate(m, body, len);
    default:
        return curve_ready(m, body, len);
    }
}

/* ---- traffic --------------------------------------------------------------------- */

/* Salsa20 block `counter` for the 8-byte nonce sn (a MESSAGE's short nonce, as on the
 * wire) under subkey sub.  Block 0's first half is Poly1305's key. */
static void curve_block(uint8_t block[64], const uint8_t sn[8], uint64_t counter,
                        const uint8_t sub[32])
{
    uint8_t in[16];
    memcpy(in, sn, 8);
    for (int i = 0; i < 8; i++)
        in[8 + i] = (uint8_t)(counter >> (8 * i));
    crypto_core_salsa20(block, in, sub, NULL);
}

/* XORs len bytes of data in place with XSalsa20's stream after its first 32 bytes:
 * block0's second half, then blocks 1, 2, ... */
static void curve_stream_xor(uint8_t *data, size_t len, const uint8_t block0[64],
                             const uint8_t sn[8], const uint8_t sub[32])
{
    size_t done = len < 32 ? len : 32;
    for (size_t i = 0; i < done; i++)
        data[i] ^= block0[32 + i];
    if (len - done >= STREAM_BULK_MIN) {
        crypto_stream_salsa20_xor_ic(data + done, data + done, len - done, sn, 1, sub);
        return;
    }
    uint8_t block[64];
    for (uint64_t counter = 1; done < len; counter++) {
        curve_block(block, sn, counter, sub);
        size_t n = len - done < 64 ? len - done : 64;
        for (size_t i = 0; i < n; i++)
            data[done + i] ^= block[i];
        done += n;
    }
    sodium_memzero(block, sizeof(block));
}

size_t nmi_curve_seal(nmi_curve_box *b, uint8_t *out, uint8_t flags, const uint8_t *data,
                      size_t len)
{
    size_t body = MESSAGE_HDR + MAC + 1 + len;
    /* As libzmq's: a data frame on the wire, the frame's own flags inside the box
     * (bit 0 MORE, bit 1 COMMAND). */
    uint8_t *p = out + nmi_zmtp_header_encode(out, 0, body), block0[64];
    memcpy(p, "\x07MESSAGE", 8);
    nmi_zmtp_put_be(p + 8, b->send_nonce++, 8);
    uint8_t *m = p + MESSAGE_HDR + MAC;
    memmove(m + 1, data, len);
    m[0] = (uint8_t)(((flags & NMI_ZMTP_MORE) ? 1 : 0) | ((flags & NMI_ZMTP_COMMAND) ? 2 : 0));
    /* crypto_box_detached_afternm with the nonce prefix's subkey (see the top). */
    curve_block(block0, p + 8, 0, b->send_sub);
    curve_stream_xor(m, 1 + len, block0, p + 8, b->send_sub);
    crypto_onetimeauth_poly1305(p + MESSAGE_HDR, m, 1 + len, block0);
    sodium_memzero(block0, sizeof(block0));
    return (size_t)(p - out) + body;
}

int nmi_curve_open(nmi_curve_box *b, uint8_t *body, size_t len, uint8_t *flags, uint8_t **data,
                   size_t *dlen, const char **why, uint32_t *code)
{
    if (len < 8 || memcmp(body, "\x07MESSAGE", 8) != 0) {
        *why = "a frame that is not a CURVE MESSAGE";
        *code = NM_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND;
        return -EPROTO;
    }
    if (len < MESSAGE_HDR + MAC + 1) {
        *why = "malformed MESSAGE";
        *code = NM_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_MESSAGE;
        return -EPROTO;
    }
    uint64_t sn = nmi_zmtp_get_be(body + 8, 8);
    if (sn <= b->recv_nonce) {
        *why = "MESSAGE nonce not above the last (replayed?)";
        *code = NM_PROTOCOL_ERROR_ZMTP_INVALID_SEQUENCE;
        return -EPROTO;
    }
    uint8_t block0[64], *m = body + MESSAGE_HDR + MAC;
    size_t clen = len - MESSAGE_HDR - MAC;
    /* crypto_box_open_detached_afternm with the prefix's subkey: the MAC first. */
    curve_block(block0, body + 8, 0, b->recv_sub);
    if (crypto_onetimeauth_poly1305_verify(body + MESSAGE_HDR, m, clen, block0) != 0) {
        sodium_memzero(block0, sizeof(block0));
        *why = "MESSAGE does not open";
        *code = NM_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC;
        return -EPROTO;
    }
    curve_stream_xor(m, clen, block0, body + 8, b->recv_sub);
    sodium_memzero(block0, sizeof(block0));
    b->recv_nonce = sn;
    *flags = (uint8_t)(((m[0] & 1) ? NMI_ZMTP_MORE : 0) | ((m[0] & 2) ? NMI_ZMTP_COMMAND : 0));
    *data = m + 1;
    *dlen = clen - 1;
    return 0;
}
