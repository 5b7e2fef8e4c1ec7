/*
 * test_zmtp_mech.c - the security mechanisms' state machines (lib/zmtp/mech.h) driven
 * against each other in memory: PLAIN and CURVE handshakes that succeed, and each
 * kind of bad input a peer can send (wrong sizes, boxes that do not open, a cookie not
 * ours, a replayed or reordered nonce, a tampered MESSAGE) refused with libzmq's code.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "include/nomid.h"
#include "zmtp/mech.h"

/* One side: its mechanism and the last frames it wrote. */
typedef struct side {
    nmi_mech m;
    uint8_t out[NMI_MECH_OUT_MAX];
    size_t out_len;
} side;

static const uint8_t server_meta[] = "\x0bSocket-Type\x00\x00\x00\x06"
                                     "ROUTER";
static const uint8_t client_meta[] = "\x0bSocket-Type\x00\x00\x00\x06"
                                     "DEALER";

/* The command body of the frame a side wrote (its header skipped), copied: the boxes
 * open in place. */
static size_t body_of(const side *s, uint8_t *body)
{
    nmi_zmtp_header h;
    int hl = nmi_zmtp_header_decode(s->out, s->out_len, -1, &h);
    assert_true(hl > 0);
    assert_true(h.flags & NMI_ZMTP_COMMAND);
    assert_int_equal((size_t)hl + h.size, s->out_len);
    memcpy(body, s->out + hl, (size_t)h.size);
    return (size_t)h.size;
}

/* Feeds what `from` wrote to `to`; returns to's step result. */
static int pass(side *from, side *to)
{
    uint8_t body[NMI_MECH_OUT_MAX];
    size_t n = body_of(from, body);
    return nmi_mech_step(&to->m, body, n, to->out, &to->out_len);
}

typedef struct keys {
    uint8_t spub[32], ssec[32], cpub[32], csec[32];
} keys;

static void curve_start(side *srv, side *cli, const keys *k)
{
    nmi_mech_conf sc = {.mechanism = NM_MECH_CURVE,
                        .as_server = true,
                        .curve_secret = k->ssec,
                        .meta = server_meta,
                        .meta_len = sizeof(server_meta) - 1};
    nmi_mech_conf cc = {.mechanism = NM_MECH_CURVE,
                        .curve_public = k->cpub,
                        .curve_secret = k->csec,
                        .curve_server = k->spub,
                        .meta = client_meta,
                        .meta_len = sizeof(client_meta) - 1};
    assert_int_equal(nmi_mech_init(&srv->m, &sc), 0);
    assert_int_equal(nmi_mech_init(&cli->m, &cc), 0);
}

static void make_keys(keys *k)
{
    assert_int_equal(nm_curve_keypair(k->spub, k->ssec), 0);
    assert_int_equal(nm_curve_keypair(k->cpub, k->csec), 0);
}

/* A whole CURVE handshake; the server's ZAP says yes. */
static void curve_handshake(side *srv, side *cli, const keys *k)
{
    curve_start(srv, cli, k);
    assert_int_equal(nmi_mech_step(&srv->m, NULL, 0, srv->out, &srv->out_len), NMI_MECH_MORE);
    assert_int_equal(srv->out_len, 0);
    assert_int_equal(nmi_mech_step(&cli->m, NULL, 0, cli->out, &cli->out_len), NMI_MECH_MORE);
    assert_int_equal(pass(cli, srv), NMI_MECH_MORE); /* HELLO -> WELCOME */
    assert_int_equal(pass(srv, cli), NMI_MECH_MORE); /* WELCOME -> INITIATE */
    assert_int_equal(pass(cli, srv), NMI_MECH_ZAP);  /* INITIATE: ask about C */
    assert_int_equal(srv->m.zap.ncred, 1);
    assert_memory_equal(srv->m.zap.cred[0], k->cpub, 32);
    assert_string_equal(srv->m.zap.mechanism, "CURVE");
    assert_int_equal(nmi_mech_zap_done(&srv->m, 200, NULL, 0, srv->out, &srv->out_len),
                     NMI_MECH_DONE);
    assert_int_equal(pass(srv, cli), NMI_MECH_DONE); /* READY */
    assert_int_equal(srv->m.peer_meta_len, sizeof(client_meta) - 1);
    assert_memory_equal(srv->m.peer_meta, client_meta, sizeof(client_meta) - 1);
    assert_int_equal(cli->m.peer_meta_len, sizeof(server_meta) - 1);
    assert_memory_equal(cli->m.peer_meta, server_meta, sizeof(server_meta) - 1);
}

static void test_curve_handshake_and_messages(void **state)
{
    (void)state;
    keys k;
    make_keys(&k);
    side srv, cli;
    curve_handshake(&srv, &cli, &k);
    /* Both ways, with flags, an empty frame and a large one; the wire frame is a data
     * frame holding MESSAGE, as libzmq's. */
    static uint8_t big[100000];
    memset(big, 0x5a, sizeof(big));
    const struct {
        uint8_t flags;
        const uint8_t *data;
        size_t len;
    } cases[] = {{NMI_ZMTP_MORE, (const uint8_t *)"hello", 5},
                 {0, (const uint8_t *)"", 0},
                 {NMI_ZMTP_COMMAND, (const uint8_t *)"\x04PING\x00\x0a", 7},
                 {0, big, sizeof(big)}};
    static uint8_t wire[sizeof(big) + NMI_CURVE_MSG_OVERHEAD];
    for (int dir = 0; dir < 2; dir++) {
        nmi_curve_box *tx = dir ? &srv.m.box : &cli.m.box, *rx = dir ? &cli.m.box : &srv.m.box;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            size_t n = nmi_curve_seal(tx, wire, cases[i].flags, cases[i].data, cases[i].len);
            assert_true(n <= cases[i].len + NMI_CURVE_MSG_OVERHEAD);
            nmi_zmtp_header h;
            int hl = nmi_zmtp_header_decode(wire, n, -1, &h);
            assert_true(hl > 0);
            assert_int_equal(h.flags, 0);
            assert_memory_equal(wire + hl, "\x07MESSAGE", 8);
            uint8_t flags, *data;
            size_t dlen;
            const char *why;
            uint32_t code;
            assert_int_equal(
                nmi_curve_open(rx, wire + hl, (size_t)h.size, &flags, &data, &dlen, &why, &code),
                0);
            assert_int_equal(flags, cases[i].flags);
            assert_int_equal(dlen, cases[i].len);
            if (dlen > 0)
                assert_memory_equal(data, cases[i].data, dlen);
        }
    }
    nmi_mech_fini(&srv.m);
    nmi_mech_fini(&cli.m);
}

/* A sealed frame copied, opened once, then again (a replay), tampered, truncated. */
static void test_curve_messages_refused(void **state)
{
    (void)state;
    keys k;
    make_keys(&k);
    side srv, cli;
    curve_handshake(&srv, &cli, &k);
    uint8_t a[64], b[64], copy[64], flags, *data;
    size_t dlen;
    const char *why;
    uint32_t code;
    size_t na = nmi_curve_seal(&cli.m.box, a, 0, (const uint8_t *)"one", 3);
    size_t nb = nmi_curve_seal(&cli.m.box, b, 0, (const uint8_t *)"two", 3);
    memcpy(copy, b, nb);
    /* b first: then a, whose nonce is lower, is refused as out of order. */
    assert_int_equal(nmi_curve_open(&srv.m.box, b + 2, nb - 2, &flags, &data, &dlen, &why, &code),
                     0);
    assert_int_equal(nmi_curve_open(&srv.m.box, a + 2, na - 2, &flags, &data, &dlen, &why, &code),
                     -EPROTO);
    assert_int_equal(code, NM_PROTOCOL_ERROR_ZMTP_INVALID_SEQUENCE);
    assert_int_equal(
        nmi_curve_open(&srv.m.box, copy + 2, nb - 2, &flags, &data, &dlen, &why, &code), -EPROTO);
    assert_int_equal(code, NM_PROTOCOL_ERROR_ZMTP_INVALID_SEQUENCE);
    /* Tampered: one bit of the box. */
    size_t n = nmi_curve_seal(&cli.m.box, a, 0, (const uint8_t *)"three", 5);
    a[n - 1] ^= 1;
    assert_int_equal(nmi_curve_open(&srv.m.box, a + 2, n - 2, &flags, &data, &dlen, &why, &code),
                     -EPROTO);
    assert_int_equal(code, NM_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC);
    /* Too short, or not a MESSAGE. */
    assert_int_equal(nmi_curve_open(&srv.m.box, a + 2, 20, &flags, &data, &dlen, &why, &code),
                     -EPROTO);
    assert_int_equal(code, NM_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_MESSAGE);
    memcpy(a + 2, "\x07MASSAGE", 8);
    assert_int_equal(nmi_curve_open(&srv.m.box, a + 2, n - 2, &flags, &data, &dlen, &why, &code),
                     -EPROTO);
    assert_int_equal(code, NM_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND);
    /* The server's boxes say S: the server cannot open its own. */
    n = nmi_curve_seal(&srv.m.box, a, 0, (const uint8_t *)"four", 4);
    assert_int_equal(nmi_curve_open(&srv.m.box, a + 2, n - 2, &flags, &data, &dlen, &why, &code),
                     -EPROTO);
    nmi_mech_fini(&srv.m);
    nmi_mech_fini(&cli.m);
}

/* A client with another server key: its HELLO does not open at the server. */
static void test_curve_wrong_server_key(void **state)
{
    (void)state;
    keys k, other;
    make_keys(&k);
    make_keys(&other);
    memcpy(k.spub, other.spub, 32);
    side srv, cli;
    curve_start(&srv, &cli, &k);
    assert_int_equal(nmi_mech_step(&cli.m, NULL, 0, cli.out, &cli.out_len), NMI_MECH_MORE);
    assert_int_equal(pass(&cli, &srv), -EPROTO);
    assert_int_equal(srv.m.code, NM_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC);
    assert_non_null(srv.m.why);
    /* Once failed, it stays failed. */
    assert_int_equal(pass(&cli, &srv), -EPROTO);
    nmi_mech_fini(&srv.m);
    nmi_mech_fini(&cli.m);
}

/* Each handshake command of the wrong size, name or content. */
static void test_curve_bad_commands(void **state)
{
    (void)state;
    keys k;
    make_keys(&k);
    side srv, cli;
    uint8_t body[NMI_MECH_OUT_MAX];

    /* HELLO one byte short, then a wrong version. */
    curve_start(&srv, &cli, &k);
    nmi_mech_step(&cli.m, NULL, 0, cli.out, &cli.out_len);
    size_t n = body_of(&cli, body);
    assert_int_equal(nmi_mech_step(&srv.m, body, n - 1, srv.out, &srv.out_len), -EPROTO);
    assert_int_equal(srv.m.code, NM_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_HELLO);
    nmi_mech_fini(&srv.m);
    curve_start(&srv, &cli, &k);
    body[6] = 2;
    assert_int_equal(nmi_mech_step(&srv.m, body, n, srv.out, &srv.out_len), -EPROTO);
    assert_int_equal(srv.m.code, NM_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_HELLO);
    nmi_mech_fini(&srv.m);
    nmi_mech_fini(&cli.m);

    /* A READY where the server waits for HELLO. */
    curve_start(&srv, &cli, &k);
    assert_int_equal(nmi_mech_step(&srv.m, (const uint8_t *)"\x05READY", 6, srv.out, &srv.out_len),
                     -EPROTO);
    assert_int_equal(srv.m.code, NM_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND);
    nmi_mech_fini(&srv.m);
    nmi_mech_fini(&cli.m);

    /* INITIATE: too short; a cookie changed; the box changed. */
    for (int kind = 0; kind < 3; kind++) {
        curve_start(&srv, &cli, &k);
        nmi_mech_step(&cli.m, NULL, 0, cli.out, &cli.out_len);
        assert_int_equal(pass(&cli, &srv), NMI_MECH_MORE);
        assert_int_equal(pass(&srv, &cli), NMI_MECH_MORE);
        n = body_of(&cli, body);
        uint32_t want = NM_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC;
        if (kind == 0) {
            n = 256;
            want = NM_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_INITIATE;
        } else if (kind == 1) {
            body[40] ^= 1;
        } else {
            body[n - 1] ^= 1;
        }
        assert_int_equal(nmi_mech_step(&srv.m, body, n, srv.out, &srv.out_len), -EPROTO);
        assert_int_equal(srv.m.code, want);
        nmi_mech_fini(&srv.m);
        nmi_mech_fini(&cli.m);
    }

    /* WELCOME of the wrong size, and one from another server. */
    curve_start(&srv, &cli, &k);
    nmi_mech_step(&cli.m, NULL, 0, cli.out, &cli.out_len);
    assert_int_equal(pass(&cli, &srv), NMI_MECH_MORE);
    n = body_of(&srv, body);
    assert_int_equal(nmi_mech_step(&cli.m, body, n + 1, cli.out, &cli.out_len), -EPROTO);
    assert_int_equal(cli.m.code, NM_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_WELCOME);
    nmi_mech_fini(&cli.m);
    nmi_mech_fini(&srv.m);
}

/* A refusal: 400 and 500 write an ERROR with the code, 300 writes none. */
static void test_zap_refusals(void **state)
{
    (void)state;
    keys k;
    make_keys(&k);
    const int codes[] = {300, 400, 500};
    for (size_t i = 0; i < 3; i++) {
        side srv, cli;
        curve_start(&srv, &cli, &k);
        nmi_mech_step(&cli.m, NULL, 0, cli.out, &cli.out_len);
        assert_int_equal(pass(&cli, &srv), NMI_MECH_MORE);
        assert_int_equal(pass(&srv, &cli), NMI_MECH_MORE);
        assert_int_equal(pass(&cli, &srv), NMI_MECH_ZAP);
        assert_int_equal(nmi_mech_zap_done(&srv.m, codes[i], NULL, 0, srv.out, &srv.out_len),
                         -EACCES);
        assert_int_equal(srv.m.code, codes[i]);
        if (codes[i] == 300) {
            assert_int_equal(srv.out_len, 0);
        } else {
            uint8_t body[64];
            size_t n = body_of(&srv, body);
            nmi_zmtp_cmd cmd;
            assert_int_equal(nmi_zmtp_cmd_parse(body, n, &cmd), 0);
            assert_true(nmi_zmtp_cmd_is(&cmd, "ERROR"));
            assert_int_equal(cmd.data_len, 4);
            assert_int_equal(cmd.data[1] - '0', codes[i] / 100);
        }
        nmi_mech_fini(&srv.m);
        nmi_mech_fini(&cli.m);
    }
}

static void plain_start(side *srv, side *cli, const char *user, const char *pass)
{
    nmi_mech_conf sc = {.mechanism = NM_MECH_PLAIN,
                        .as_server = true,
                        .meta = server_meta,
                        .meta_len = sizeof(server_meta) - 1};
    nmi_mech_conf cc = {.mechanism = NM_MECH_PLAIN,
                        .user = user,
                        .user_len = strlen(user),
                        .pass = pass,
                        .pass_len = strlen(pass),
                        .meta = client_meta,
                        .meta_len = sizeof(client_meta) - 1};
    assert_int_equal(nmi_mech_init(&srv->m, &sc), 0);
    assert_int_equal(nmi_mech_init(&cli->m, &cc), 0);
}

static void test_plain(void **state)
{
    (void)state;
    side srv, cli;
    plain_start(&srv, &cli, "admin", "secret");
    assert_int_equal(nmi_mech_step(&cli.m, NULL, 0, cli.out, &cli.out_len), NMI_MECH_MORE);
    assert_int_equal(pass(&cli, &srv), NMI_MECH_ZAP);
    assert_string_equal(srv.m.zap.mechanism, "PLAIN");
    assert_int_equal(srv.m.zap.ncred, 2);
    assert_memory_equal(srv.m.zap.cred[0], "admin", 5);
    assert_int_equal(srv.m.zap.cred_len[1], 6);
    const uint8_t user_id[] = "\x07User-Id\x00\x00\x00\x05"
                              "admin";
    assert_int_equal(
        nmi_mech_zap_done(&srv.m, 200, user_id, sizeof(user_id) - 1, srv.out, &srv.out_len),
        NMI_MECH_MORE);
    assert_int_equal(pass(&srv, &cli), NMI_MECH_MORE); /* WELCOME -> INITIATE */
    assert_int_equal(pass(&cli, &srv), NMI_MECH_DONE); /* INITIATE -> READY */
    assert_int_equal(pass(&srv, &cli), NMI_MECH_DONE);
    assert_int_equal(srv.m.zap_props_len, sizeof(user_id) - 1);
    assert_memory_equal(cli.m.peer_meta, server_meta, sizeof(server_meta) - 1);
    nmi_mech_fini(&srv.m);
    nmi_mech_fini(&cli.m);

    /* HELLO whose lengths run past it, or leave bytes over. */
    plain_start(&srv, &cli, "admin", "secret");
    uint8_t body[64];
    nmi_mech_step(&cli.m, NULL, 0, cli.out, &cli.out_len);
    size_t n = body_of(&cli, body);
    assert_int_equal(nmi_mech_step(&srv.m, body, n - 1, srv.out, &srv.out_len), -EPROTO);
    assert_int_equal(srv.m.code, NM_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_HELLO);
    nmi_mech_fini(&srv.m);
    nmi_mech_fini(&cli.m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_curve_handshake_and_messages),
        cmocka_unit_test(test_curve_messages_refused),
        cmocka_unit_test(test_curve_wrong_server_key),
        cmocka_unit_test(test_curve_bad_commands),
        cmocka_unit_test(test_zap_refusals),
        cmocka_unit_test(test_plain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
