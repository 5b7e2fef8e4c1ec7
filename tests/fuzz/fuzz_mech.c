/*
 * fuzz_mech.c - libFuzzer target for the security mechanisms' parsers (lib/zmtp/mech.h):
 * what a hostile peer can send in a PLAIN or CURVE handshake, and as CURVE traffic.
 *
 * The first byte picks a scene; the rest is commands, each a 2-byte big-endian length
 * and that many bytes:
 *   0-4  a server or client (CURVE, PLAIN) or a NULL socket asking ZAP, fed the
 *        commands as they are (sizes, names, lengths);
 *   5    a CURVE server after an honest client's HELLO, fed that client's INITIATE
 *        with the input XORed over it (cookies, vouches, boxes that do not open);
 *   6    both ends of an honest CURVE handshake, then the server opens the commands
 *        as MESSAGE bodies and honest frames XORed with them (nonces, MACs).
 * Results are checked: a step returns a known value, output fits its buffer, a failure
 * names a reason and a code, and an opened frame lies inside its body.
 *
 * Build (from the repository root):
 *   clang-14 -g -O1 -fsanitize=fuzzer,address,undefined -Ilib/include -Ilib
 *            tests/fuzz/fuzz_mech.c lib/zmtp/<each>.c -lsodium
 * Seeds: tests/fuzz/corpus/mech/.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "include/nomid.h"
#include "zmtp/mech.h"

#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

static uint8_t spub[32], ssec[32], cpub[32], csec[32];
static const uint8_t meta[] = "\x0bSocket-Type\x00\x00\x00\x06"
                              "DEALER";

static void fuzz_conf(nmi_mech_conf *cf, int mechanism, bool server)
{
    *cf = (nmi_mech_conf){.mechanism = mechanism,
                          .as_server = server,
                          .curve_public = cpub,
                          .curve_secret = server ? ssec : csec,
                          .curve_server = spub,
                          .user = "admin",
                          .user_len = 5,
                          .pass = "secret",
                          .pass_len = 6,
                          .meta = meta,
                          .meta_len = sizeof(meta) - 1};
}

/* One step's result, checked. */
static int fuzz_checked(nmi_mech *m, int rc, size_t out_len)
{
    FUZZ_CHECK(out_len <= NMI_MECH_OUT_MAX);
    FUZZ_CHECK(rc == NMI_MECH_MORE || rc == NMI_MECH_ZAP || rc == NMI_MECH_DONE || rc == -EPROTO ||
               rc == -EACCES);
    if (rc < 0)
        FUZZ_CHECK(m->why != NULL && m->code != 0);
    if (rc == NMI_MECH_DONE)
        FUZZ_CHECK(m->peer_meta != NULL && m->peer_meta_len <= NMI_ZMTP_METADATA_MAX);
    return rc;
}

/* Next length-prefixed command of the input, or NULL at its end. */
static const uint8_t *fuzz_next(const uint8_t **data, size_t *size, size_t *len)
{
    if (*size < 2)
        return NULL;
    size_t n = (size_t)(*data)[0] << 8 | (*data)[1];
    n = n < *size - 2 ? n : *size - 2;
    const uint8_t *p = *data + 2;
    *data += 2 + n;
    *size -= 2 + n;
    *len = n;
    return p;
}

static void fuzz_raw(int scene, const uint8_t *data, size_t size)
{
    static const struct {
        int mechanism;
        bool server;
    } roles[] = {{NM_MECH_CURVE, true},
                 {NM_MECH_CURVE, false},
                 {NM_MECH_PLAIN, true},
                 {NM_MECH_PLAIN, false},
                 {NM_MECH_NULL, true}};
    nmi_mech_conf cf;
    fuzz_conf(&cf, roles[scene].mechanism, roles[scene].server);
    nmi_mech m;
    uint8_t out[NMI_MECH_OUT_MAX], *cmd = malloc(size + 1);
    size_t out_len, len;
    FUZZ_CHECK(cmd != NULL && nmi_mech_init(&m, &cf) == 0);
    int rc = fuzz_checked(&m, nmi_mech_step(&m, NULL, 0, out, &out_len), out_len);
    const uint8_t *p;
    while (rc >= 0 && rc != NMI_MECH_DONE && (p = fuzz_next(&data, &size, &len)) != NULL) {
        if (rc == NMI_MECH_ZAP) /* the handler's answer: 200 or a refusal */
            rc = nmi_mech_zap_done(&m, len % 2 ? 200 : 400, p, len % 64, out, &out_len);
        else {
            memcpy(cmd, p, len); /* the engine's own copy: boxes open in place */
            rc = nmi_mech_step(&m, cmd, len, out, &out_len);
        }
        fuzz_checked(&m, rc, out_len);
    }
    free(cmd);
    nmi_mech_fini(&m);
}

/* The body of the frame in out (header skipped), copied into body. */
static size_t fuzz_body(const uint8_t *out, size_t out_len, uint8_t *body)
{
    nmi_zmtp_header h;
    int hl = nmi_zmtp_header_decode(out, out_len, -1, &h);
    FUZZ_CHECK(hl > 0 && (size_t)hl + h.size == out_len);
    memcpy(body, out + hl, (size_t)h.size);
    return (size_t)h.size;
}

/* An honest CURVE handshake up to the client's INITIATE, whose body is left in body
 * (its length returned); with finish, to the end (ZAP says yes), returning 0. */
static size_t fuzz_handshake(nmi_mech *srv, nmi_mech *cli, uint8_t *body, bool finish)
{
    nmi_mech_conf sc, cc;
    fuzz_conf(&sc, NM_MECH_CURVE, true);
    fuzz_conf(&cc, NM_MECH_CURVE, false);
    uint8_t out[NMI_MECH_OUT_MAX];
    size_t out_len;
    FUZZ_CHECK(nmi_mech_init(srv, &sc) == 0 && nmi_mech_init(cli, &cc) == 0);
    FUZZ_CHECK(nmi_mech_step(cli, NULL, 0, out, &out_len) == NMI_MECH_MORE);
    size_t n = fuzz_body(out, out_len, body);
    FUZZ_CHECK(nmi_mech_step(srv, body, n, out, &out_len) == NMI_MECH_MORE);
    n = fuzz_body(out, out_len, body);
    FUZZ_CHECK(nmi_mech_step(cli, body, n, out, &out_len) == NMI_MECH_MORE);
    n = fuzz_body(out, out_len, body);
    if (!finish)
        return n;
    FUZZ_CHECK(nmi_mech_step(srv, body, n, out, &out_len) == NMI_MECH_ZAP);
    FUZZ_CHECK(nmi_mech_zap_done(srv, 200, NULL, 0, out, &out_len) == NMI_MECH_DONE);
    n = fuzz_body(out, out_len, body);
    FUZZ_CHECK(nmi_mech_step(cli, body, n, out, &out_len) == NMI_MECH_DONE);
    return 0;
}

static void fuzz_initiate(const uint8_t *data, size_t size)
{
    nmi_mech srv, cli;
    uint8_t out[NMI_MECH_OUT_MAX], body[NMI_MECH_OUT_MAX];
    size_t out_len, n = fuzz_handshake(&srv, &cli, body, false);
    /* The input over the INITIATE, and its length cut or grown by the first byte. */
    for (size_t i = 1; i < size && i - 1 < n; i++)
        body[i - 1] ^= data[i];
    if (size > 0)
        n = (n + (size_t)data[0] * 3) % sizeof(body);
    fuzz_checked(&srv, nmi_mech_step(&srv, body, n, out, &out_len), out_len);
    nmi_mech_fini(&srv);
    nmi_mech_fini(&cli);
}

static void fuzz_traffic(const uint8_t *data, size_t size)
{
    nmi_mech srv, cli;
    uint8_t body[NMI_MECH_OUT_MAX];
    fuzz_handshake(&srv, &cli, body, true);
    const uint8_t *p;
    size_t len;
    uint8_t *buf = malloc(size + NMI_CURVE_MSG_OVERHEAD + 1);
    FUZZ_CHECK(buf != NULL);
    for (int honest = 0; (p = fuzz_next(&data, &size, &len)) != NULL; honest = !honest) {
        size_t blen = len;
        if (honest) { /* a real frame, then the input over it */
            size_t w = nmi_curve_seal(&cli.box, buf, len > 0 ? p[0] & 5 : 0, p, len);
            nmi_zmtp_header h;
            int hl = nmi_zmtp_header_decode(buf, w, -1, &h);
            FUZZ_CHECK(hl > 0 && h.size == w - (size_t)hl);
            memmove(buf, buf + hl, (size_t)h.size);
            blen = (size_t)h.size;
            for (size_t i = 0; i < len && len % 3 == 0; i++)
                buf[i] ^= p[i];
        } else {
            memcpy(buf, p, len);
        }
        uint8_t flags, *d;
        size_t dlen;
        const char *why;
        uint32_t code;
        if (nmi_curve_open(&srv.box, buf, blen, &flags, &d, &dlen, &why, &code) == 0)
            FUZZ_CHECK(d >= buf && d + dlen <= buf + blen && !(flags & ~5));
        else
            FUZZ_CHECK(why != NULL && code != 0);
    }
    free(buf);
    nmi_mech_fini(&srv);
    nmi_mech_fini(&cli);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool keys;
    if (!keys) { /* fixed long-term keys: the short-term ones are random anyway */
        uint8_t seed[32] = {1};
        FUZZ_CHECK(sodium_init() >= 0);
        crypto_box_seed_keypair(spub, ssec, seed);
        seed[0] = 2;
        crypto_box_seed_keypair(cpub, csec, seed);
        keys = true;
    }
    if (size < 1)
        return 0;
    int scene = data[0] % 7;
    if (scene < 5)
        fuzz_raw(scene, data + 1, size - 1);
    else if (scene == 5)
        fuzz_initiate(data + 1, size - 1);
    else
        fuzz_traffic(data + 1, size - 1);
    return 0;
}
