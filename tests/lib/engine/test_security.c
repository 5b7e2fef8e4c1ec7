/*
 * test_security.c - PLAIN, CURVE and ZAP between nomid sockets over tcp: the options,
 * messages both ways (multipart, large frames, subscriptions and heartbeats sealed like
 * the rest), what a ZAP handler says reaching the messages' properties, and each
 * refusal with the events libzmq gives: a wrong server key, an unknown client key, a
 * wrong password, no handler, another mechanism.  A client refused with an ERROR does
 * not connect again.
 */
#include <pthread.h>

#include "../core/testutil.h"

typedef struct keys {
    uint8_t spub[32], ssec[32], cpub[32], csec[32];
} keys;

static void make_keys(keys *k)
{
    TU_OK(nm_curve_keypair(k->spub, k->ssec));
    TU_OK(nm_curve_keypair(k->cpub, k->csec));
}

static void curve_server(nm_sock_t *s, const keys *k)
{
    TU_OK(nm_sock_setopt_int(s, NM_CURVE_SERVER, 1));
    TU_OK(nm_sock_setopt(s, NM_CURVE_SECRETKEY, k->ssec, 32));
}

static void curve_client(nm_sock_t *s, const keys *k, const uint8_t *server_key)
{
    TU_OK(nm_sock_setopt(s, NM_CURVE_SERVERKEY, server_key, 32));
    TU_OK(nm_sock_setopt(s, NM_CURVE_PUBLICKEY, k->cpub, 32));
    TU_OK(nm_sock_setopt(s, NM_CURVE_SECRETKEY, k->csec, 32));
}

/* ---- a ZAP handler on its own thread ------------------------------------------- */

typedef struct zap_handler {
    nm_sock_t *rep;
    pthread_t thread;
    const uint8_t *allowed_key; /* CURVE: the one client key it accepts */
    int requests;               /* answered so far */
} zap_handler;

/* Answers every request: PLAIN admin/secret and the allowed CURVE key get 200 with a
 * user id, NULL gets 200, anything else 400.  Ends when its socket's context ends. */
static void *zap_main(void *arg)
{
    zap_handler *z = arg;
    nm_msg_t req;
    nm_msg_init(&req);
    while (nm_sock_recv(z->rep, &req, 0) == 0) {
        assert_true(nm_msg_count(&req) >= 6);
        assert_true(tu_frame_is(&req, 0, "1.0"));
        const char *mech = nm_msg_data(&req, 5);
        size_t mlen = nm_msg_size(&req, 5);
        bool ok = false;
        const char *user = "";
        if (mlen == 5 && memcmp(mech, "PLAIN", 5) == 0) {
            ok = nm_msg_count(&req) == 8 && tu_frame_is(&req, 6, "admin") &&
                 tu_frame_is(&req, 7, "secret");
            user = "admin";
        } else if (mlen == 5 && memcmp(mech, "CURVE", 5) == 0) {
            ok = nm_msg_count(&req) == 7 && nm_msg_size(&req, 6) == 32 &&
                 memcmp(nm_msg_data(&req, 6), z->allowed_key, 32) == 0;
            user = "curve-client";
        } else {
            ok = mlen == 4 && memcmp(mech, "NULL", 4) == 0;
        }
        nm_msg_t rep;
        nm_msg_init(&rep);
        TU_OK(nm_msg_add(&rep, "1.0", 3));
        TU_OK(nm_msg_add(&rep, nm_msg_data(&req, 1), nm_msg_size(&req, 1)));
        TU_OK(nm_msg_add(&rep, ok ? "200" : "400", 3));
        TU_OK(nm_msg_add(&rep, ok ? "OK" : "denied", ok ? 2 : 6));
        TU_OK(nm_msg_add(&rep, user, strlen(user)));
        static const uint8_t meta[] = "\x04Role\x00\x00\x00\x06"
                                      "camera";
        TU_OK(nm_msg_add(&rep, meta, sizeof(meta) - 1));
        nm_msg_close(&req);
        TU_OK(nm_sock_send(z->rep, &rep, 0));
        __atomic_add_fetch(&z->requests, 1, __ATOMIC_SEQ_CST);
    }
    return NULL;
}

static void zap_start(zap_handler *z, nm_ctx_t *ctx, const uint8_t *allowed_key)
{
    memset(z, 0, sizeof(*z));
    z->allowed_key = allowed_key;
    TU_OK(nm_sock_new(&z->rep, ctx, NM_REP));
    TU_OK(nm_sock_bind(z->rep, "inproc://zeromq.zap.01"));
    assert_int_equal(pthread_create(&z->thread, NULL, zap_main, z), 0);
}

/* After nm_ctx_shutdown: the handler's receive ends with NM_ETERM. */
static void zap_stop(zap_handler *z)
{
    tu_join(z->thread, 5000);
    nm_sock_close(&z->rep);
}

/* The pipe whose peer has a CURVE key (nm_ctx_stats): its mechanism (-1: no such
 * pipe) and the user id ZAP gave its peer. */
typedef struct pipe_sec {
    char peer_key[41];
    int mechanism;
    char user_id[64];
} pipe_sec;

static void pipe_sec_cb(void *arg, const nm_sock_stats_t *sock, const nm_pipe_stats_t *st)
{
    (void)sock;
    pipe_sec *ps = arg;
    if (strcmp(st->peer_key, ps->peer_key) != 0)
        return;
    ps->mechanism = st->mechanism;
    memcpy(ps->user_id, st->user_id, sizeof(ps->user_id));
}

static pipe_sec pipe_sec_of(nm_ctx_t *ctx, const uint8_t key[32])
{
    pipe_sec ps = {.mechanism = -1};
    nm_z85_encode(ps.peer_key, key, 32);
    TU_OK(nm_ctx_stats(ctx, NULL, pipe_sec_cb, &ps));
    return ps;
}

/* ---- tests ----------------------------------------------------------------------- */

static void test_options(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *s = tu_sock(ctx, NM_DEALER);
    int v;
    TU_OK(nm_sock_getopt_int(s, NM_MECHANISM, &v));
    assert_int_equal(v, NM_MECH_NULL);
    keys k;
    make_keys(&k);
    char z85[41], back[41];
    assert_non_null(nm_z85_encode(z85, k.spub, 32));
    TU_OK(nm_sock_setopt(s, NM_CURVE_SERVERKEY, z85, 40)); /* Z85 text takes 40 or 41 */
    TU_OK(nm_sock_getopt_int(s, NM_MECHANISM, &v));
    assert_int_equal(v, NM_MECH_CURVE);
    TU_OK(nm_sock_getopt_int(s, NM_CURVE_SERVER, &v));
    assert_int_equal(v, 0);
    size_t len = sizeof(back);
    TU_OK(nm_sock_getopt(s, NM_CURVE_SERVERKEY, back, &len));
    assert_int_equal(len, 41);
    assert_string_equal(back, z85);
    uint8_t raw[32];
    len = 32;
    TU_OK(nm_sock_getopt(s, NM_CURVE_SERVERKEY, raw, &len));
    assert_memory_equal(raw, k.spub, 32);
    assert_int_equal(nm_sock_setopt(s, NM_CURVE_SECRETKEY, "short", 5), -EINVAL);
    assert_int_equal(
        nm_sock_setopt(s, NM_CURVE_SECRETKEY, "~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~", 40),
        -EINVAL); /* not Z85 */
    TU_OK(nm_sock_setopt(s, NM_PLAIN_USERNAME, "admin", 5));
    TU_OK(nm_sock_getopt_int(s, NM_MECHANISM, &v));
    assert_int_equal(v, NM_MECH_PLAIN);
    len = sizeof(back);
    TU_OK(nm_sock_getopt(s, NM_PLAIN_USERNAME, back, &len));
    assert_string_equal(back, "admin");
    TU_OK(nm_sock_setopt(s, NM_PLAIN_USERNAME, NULL, 0)); /* back to NULL */
    TU_OK(nm_sock_getopt_int(s, NM_MECHANISM, &v));
    assert_int_equal(v, NM_MECH_NULL);
    TU_OK(nm_sock_setopt(s, NM_ZAP_DOMAIN, "global", 6));
    len = sizeof(back);
    TU_OK(nm_sock_getopt(s, NM_ZAP_DOMAIN, back, &len));
    assert_string_equal(back, "global");
    nm_sock_close(&s);
    tu_ctx_destroy(&ctx);
}

/* CURVE without a handler (encryption without authentication): messages both ways. */
static void test_curve_traffic(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    keys k;
    make_keys(&k);
    nm_sock_t *srv = tu_sock(ctx, NM_DEALER), *cli = tu_sock(ctx, NM_DEALER);
    curve_server(srv, &k);
    curve_client(cli, &k, k.spub);
    TU_OK(nm_sock_setopt_int(cli, NM_HEARTBEAT_IVL, 20)); /* PINGs sealed too */
    char ep[TU_EP_MAX];
    tu_bind_tcp(srv, ep, sizeof(ep));
    TU_OK(nm_sock_connect(cli, ep));
    static uint8_t big[300000];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)(i * 7);
    for (int round = 0; round < 50; round++) {
        tu_send_strs(cli, 3, "a", "", "three");
        tu_recv_strs(srv, 3, "a", "", "three");
        tu_send_str(srv, "back");
        tu_recv_str(cli, "back");
    }
    TU_OK(nm_sock_send_bytes(cli, big, sizeof(big), 0));
    nm_msg_t m;
    tu_recv(srv, &m);
    tu_assert_frame_mem(&m, 0, big, sizeof(big));
    nm_msg_close(&m);
    tu_sleep_ms(100); /* a few heartbeats go by */
    tu_send_str(cli, "still");
    tu_recv_str(srv, "still");
    int v;
    TU_OK(nm_sock_getopt_int(srv, NM_MECHANISM, &v));
    assert_int_equal(v, NM_MECH_CURVE);
    nm_sock_close(&cli);
    nm_sock_close(&srv);
    tu_ctx_destroy(&ctx);
}

/* Clients connecting one after another while the server's options change. */
typedef struct churn {
    nm_ctx_t *ctx;
    const keys *k;
    const char *ep;
    int served; /* handshakes done */
} churn;

static void *churn_main(void *arg)
{
    churn *c = arg;
    for (int i = 0; i < 20; i++) {
        nm_sock_t *cli = tu_sock(c->ctx, NM_DEALER);
        curve_client(cli, c->k, c->k->spub);
        TU_OK(nm_sock_connect(cli, c->ep));
        c->served += nm_sock_wait_peers(cli, 1, 5000) == 1;
        TU_OK(nm_sock_setopt_int(cli, NM_LINGER, 0));
        nm_sock_close(&cli);
    }
    return NULL;
}

/* Setting a security option after a bind copies the socket's settings, which the
 * listener shares and the I/O thread takes references to at every accept: the copy
 * must not read the count (TSan's build checks). */
static void test_options_while_accepting(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    keys k;
    make_keys(&k);
    nm_sock_t *srv = tu_sock(ctx, NM_DEALER);
    curve_server(srv, &k);
    char ep[TU_EP_MAX];
    tu_bind_tcp(srv, ep, sizeof(ep));
    churn c = {ctx, &k, ep, 0};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, churn_main, &c), 0);
    for (int i = 0; i < 2000; i++) {
        TU_OK(nm_sock_setopt(srv, NM_ZAP_DOMAIN, i % 2 ? "a" : "b", 1));
        if (i % 100 == 0)
            tu_sleep_ms(1);
    }
    pthread_join(t, NULL);
    assert_int_equal(c.served, 20); /* the listener kept the settings it was made with */
    nm_sock_close(&srv);
    tu_ctx_destroy(&ctx);
}

/* PUB/SUB over CURVE: the SUBSCRIBE commands travel sealed. */
static void test_curve_pubsub(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    keys k;
    make_keys(&k);
    nm_sock_t *pub = tu_sock(ctx, NM_PUB), *sub = tu_sock(ctx, NM_SUB);
    curve_server(pub, &k);
    curve_client(sub, &k, k.spub);
    char ep[TU_EP_MAX];
    tu_bind_tcp(pub, ep, sizeof(ep));
    TU_OK(nm_sock_connect(sub, ep));
    tu_subscribe(sub, "cam");
    nm_msg_t m;
    for (int i = 0;; i++) { /* until the subscription has arrived */
        assert_true(i < 200);
        tu_send_str(pub, "other");
        tu_send_str(pub, "cam1");
        if (tu_recv_wait(sub, &m, 20) == 0)
            break;
    }
    assert_true(tu_frame_is(&m, 0, "cam1"));
    nm_msg_close(&m);
    nm_sock_close(&sub);
    nm_sock_close(&pub);
    tu_ctx_destroy(&ctx);
}

/* A client with another server's key: the server reports the box that did not open,
 * the client does not come back. */
static void test_curve_wrong_server_key(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    keys k, other;
    make_keys(&k);
    make_keys(&other);
    nm_sock_t *srv = tu_sock(ctx, NM_DEALER), *cli = tu_sock(ctx, NM_DEALER);
    curve_server(srv, &k);
    curve_client(cli, &k, other.spub);
    nm_sock_t *mon = tu_mon_open(ctx, srv, "mon-wrong-key", NM_EVENT_ALL);
    char ep[TU_EP_MAX];
    tu_bind_tcp(srv, ep, sizeof(ep));
    TU_OK(nm_sock_connect(cli, ep));
    tu_mon_event ev;
    tu_mon_expect(mon, NM_EVENT_HANDSHAKE_FAILED, &ev);
    assert_int_equal(ev.value, NM_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC);
    assert_non_null(strstr(ev.detail, "CURVE"));
    int rc = nm_sock_send_bytes(cli, "x", 1, NM_DONTWAIT); /* queued, or its pipe gone */
    assert_true(rc == 0 || rc == -EAGAIN);
    tu_recv_none(srv, 300);
    /* The server sends no ERROR for a box that does not open (as libzmq): the client
     * sees the connection lost and tries again, and is refused again each time. */
    int64_t until = tu_now_ms() + 500;
    while (tu_now_ms() < until && tu_mon_next(mon, &ev, (int)(until - tu_now_ms())))
        assert_int_not_equal(ev.event, NM_EVENT_HANDSHAKE_SUCCEEDED);
    nm_sock_close(&mon);
    nm_sock_close(&cli);
    nm_sock_close(&srv);
    tu_ctx_destroy(&ctx);
}

/* A ZAP handler with an allow list: the allowed key passes and its User-Id and the
 * handler's metadata reach the messages; another key is refused with 400. */
static void test_curve_zap(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    keys k, stranger;
    make_keys(&k);
    make_keys(&stranger);
    zap_handler z;
    zap_start(&z, ctx, k.cpub);
    nm_sock_t *srv = tu_sock(ctx, NM_DEALER), *cli = tu_sock(ctx, NM_DEALER);
    nm_sock_t *bad = tu_sock(ctx, NM_DEALER);
    curve_server(srv, &k);
    curve_client(cli, &k, k.spub);
    curve_client(bad, &stranger, k.spub);
    nm_sock_t *mon = tu_mon_open(ctx, srv, "mon-zap", NM_EVENT_ALL);
    nm_sock_t *bad_mon = tu_mon_open(ctx, bad, "mon-zap-bad", NM_EVENT_ALL);
    char ep[TU_EP_MAX];
    tu_bind_tcp(srv, ep, sizeof(ep));
    TU_OK(nm_sock_connect(cli, ep));
    tu_send_str(cli, "hello");
    nm_msg_t m;
    tu_recv(srv, &m);
    assert_true(tu_frame_is(&m, 0, "hello"));
    size_t len;
    const char *user = nm_props_get(nm_msg_props(&m), "User-Id", &len);
    assert_non_null(user);
    assert_int_equal(len, 12);
    assert_memory_equal(user, "curve-client", 12);
    const char *role = nm_props_get(nm_msg_props(&m), "Role", &len);
    assert_non_null(role);
    assert_memory_equal(role, "camera", 6);
    assert_non_null(nm_props_get(nm_msg_props(&m), "Socket-Type", &len));
    nm_msg_close(&m);
    /* Each side's pipe names the mechanism and the other side's key; the server's, the
     * user id ZAP gave the client. */
    pipe_sec ps = pipe_sec_of(ctx, k.cpub);
    assert_int_equal(ps.mechanism, NM_MECH_CURVE);
    assert_string_equal(ps.user_id, "curve-client");
    ps = pipe_sec_of(ctx, k.spub);
    assert_int_equal(ps.mechanism, NM_MECH_CURVE);
    assert_string_equal(ps.user_id, "");

    TU_OK(nm_sock_connect(bad, ep));
    tu_mon_event ev;
    tu_mon_expect(mon, NM_EVENT_HANDSHAKE_FAILED_AUTH, &ev);
    assert_int_equal(ev.value, 400);
    tu_mon_expect(bad_mon, NM_EVENT_HANDSHAKE_FAILED_AUTH, &ev);
    assert_int_equal(ev.value, 400);
    /* Refused with an ERROR: the client does not connect again (as libzmq). */
    int64_t until = tu_now_ms() + 500;
    while (tu_now_ms() < until && tu_mon_next(bad_mon, &ev, (int)(until - tu_now_ms())))
        assert_true(ev.event != NM_EVENT_CONNECTED && ev.event != NM_EVENT_CONNECT_RETRIED);
    int rc = nm_sock_send_bytes(bad, "x", 1, NM_DONTWAIT); /* queued, or its pipe gone */
    assert_true(rc == 0 || rc == -EAGAIN);
    tu_send_str(cli, "only");
    tu_recv_str(srv, "only");
    tu_recv_none(srv, 200);
    assert_true(__atomic_load_n(&z.requests, __ATOMIC_SEQ_CST) >= 2);
    nm_sock_close(&mon);
    nm_sock_close(&bad_mon);
    nm_sock_close(&bad);
    nm_sock_close(&cli);
    nm_sock_close(&srv);
    TU_OK(nm_ctx_shutdown(ctx));
    zap_stop(&z);
    tu_ctx_destroy(&ctx);
}

/* PLAIN: the right password passes (User-Id from ZAP), a wrong one is refused with 400
 * on both sides, and without a handler every client is refused. */
static void test_plain(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *srv = tu_sock(ctx, NM_ROUTER), *cli = tu_sock(ctx, NM_DEALER);
    nm_sock_t *bad = tu_sock(ctx, NM_DEALER);
    TU_OK(nm_sock_setopt_int(srv, NM_PLAIN_SERVER, 1));
    TU_OK(nm_sock_setopt(cli, NM_PLAIN_USERNAME, "admin", 5));
    TU_OK(nm_sock_setopt(cli, NM_PLAIN_PASSWORD, "secret", 6));
    TU_OK(nm_sock_setopt(bad, NM_PLAIN_USERNAME, "admin", 5));
    TU_OK(nm_sock_setopt(bad, NM_PLAIN_PASSWORD, "guess", 5));
    nm_sock_t *mon = tu_mon_open(ctx, srv, "mon-plain", NM_EVENT_ALL);
    char ep[TU_EP_MAX];
    tu_bind_tcp(srv, ep, sizeof(ep));

    /* No handler yet: refused, with libzmq's NO_DETAIL / EFAULT. */
    TU_OK(nm_sock_connect(bad, ep));
    tu_mon_event ev;
    tu_mon_expect(mon, NM_EVENT_HANDSHAKE_FAILED_NO_DETAIL, &ev);
    assert_int_equal(ev.value, EFAULT);

    zap_handler z;
    zap_start(&z, ctx, NULL);
    TU_OK(nm_sock_connect(cli, ep));
    tu_send_str(cli, "hi");
    nm_msg_t m;
    tu_recv(srv, &m);
    assert_int_equal(nm_msg_count(&m), 2);
    assert_true(tu_frame_is(&m, 1, "hi"));
    size_t len;
    const char *user = nm_props_get(nm_msg_props(&m), "User-Id", &len);
    assert_non_null(user);
    assert_memory_equal(user, "admin", 5);
    nm_msg_close(&m);

    nm_sock_t *bad2 = tu_sock(ctx, NM_DEALER);
    TU_OK(nm_sock_setopt(bad2, NM_PLAIN_USERNAME, "admin", 5));
    TU_OK(nm_sock_setopt(bad2, NM_PLAIN_PASSWORD, "guess", 5));
    TU_OK(nm_sock_connect(bad2, ep));
    tu_mon_expect(mon, NM_EVENT_HANDSHAKE_FAILED_AUTH, &ev);
    assert_int_equal(ev.value, 400);
    nm_sock_close(&mon);
    nm_sock_close(&bad2);
    nm_sock_close(&bad);
    nm_sock_close(&cli);
    nm_sock_close(&srv);
    TU_OK(nm_ctx_shutdown(ctx));
    zap_stop(&z);
    tu_ctx_destroy(&ctx);
}

/* Mechanisms that differ: MECHANISM_MISMATCH, and nothing passes. */
static void test_mechanism_mismatch(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    keys k;
    make_keys(&k);
    nm_sock_t *srv = tu_sock(ctx, NM_DEALER), *cli = tu_sock(ctx, NM_DEALER);
    curve_server(srv, &k);
    nm_sock_t *mon = tu_mon_open(ctx, srv, "mon-mismatch", NM_EVENT_ALL);
    char ep[TU_EP_MAX];
    tu_bind_tcp(srv, ep, sizeof(ep));
    TU_OK(nm_sock_connect(cli, ep)); /* NULL */
    tu_mon_event ev;
    tu_mon_expect(mon, NM_EVENT_HANDSHAKE_FAILED, &ev);
    assert_int_equal(ev.value, NM_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH);
    int rc = nm_sock_send_bytes(cli, "x", 1, NM_DONTWAIT); /* queued, or its pipe gone */
    assert_true(rc == 0 || rc == -EAGAIN);
    tu_recv_none(srv, 200);
    nm_sock_close(&mon);
    nm_sock_close(&cli);
    nm_sock_close(&srv);
    tu_ctx_destroy(&ctx);
}

/* A raw peer speaking CURVE badly: a HELLO of the wrong size is a malformed HELLO. */
static void test_curve_raw_bad_hello(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    keys k;
    make_keys(&k);
    nm_sock_t *srv = tu_sock(ctx, NM_DEALER);
    curve_server(srv, &k);
    nm_sock_t *mon = tu_mon_open(ctx, srv, "mon-raw", NM_EVENT_ALL);
    char ep[TU_EP_MAX];
    tu_bind_tcp(srv, ep, sizeof(ep));
    int fd = tu_raw_connect(tu_tcp_port(ep));
    uint8_t greet[64] = {0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 3, 1, 'C', 'U', 'R', 'V', 'E'};
    tu_raw_send(fd, greet, sizeof(greet));
    uint8_t hello[2 + 100] = {0x04, 100, 5, 'H', 'E', 'L', 'L', 'O', 1, 0};
    tu_raw_send(fd, hello, sizeof(hello));
    tu_mon_event ev;
    tu_mon_expect(mon, NM_EVENT_HANDSHAKE_FAILED, &ev);
    assert_int_equal(ev.value, NM_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_HELLO);
    close(fd);
    nm_sock_close(&mon);
    nm_sock_close(&srv);
    tu_ctx_destroy(&ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_curve_traffic),
        cmocka_unit_test(test_options_while_accepting),
        cmocka_unit_test(test_curve_pubsub),
        cmocka_unit_test(test_curve_wrong_server_key),
        cmocka_unit_test(test_curve_zap),
        cmocka_unit_test(test_plain),
        cmocka_unit_test(test_mechanism_mismatch),
        cmocka_unit_test(test_curve_raw_bad_hello),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
