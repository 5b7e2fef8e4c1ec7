/*
 * test_svc.c - the svc:// hook of the core, driven by a resolver written here (the
 * discovery agent behind it is tested in tests/discovery/test_resolver.c): a svc://
 * connect follows instances as the resolver reports them, ignores types that cannot
 * talk to the socket, and unwatches on close; a svc:// bind and nm_sock_advertise hand
 * bound endpoints to the resolver and withdraw them on close; nm_sock_disconnect undoes
 * a tcp connect; nm_sock_wait_peers waits for handshakes and times out.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <unistd.h>

#include "testutil.h"

/* What the test resolver saw, and the watch it was given. */
typedef struct test_resolver {
    nm_svc_watch_t *w;      /* the last watch */
    char name[64];          /* its service name */
    int watches;            /* watch calls */
    int unwatches;          /* unwatch calls (with the right cookie) */
    char ads[4][TU_EP_MAX]; /* "name type endpoint" per advertise */
    bool keyed[4];          /* ... whether it came with a CURVE key */
    uint8_t keys[4][32];    /* ... and that key */
    int nads;
    int withdrawn; /* withdraw calls */
} test_resolver;

static test_resolver tr;
static int cookie_value;

static int tr_watch(void *arg, const char *name, nm_svc_watch_t *w, void **cookie)
{
    (void)arg;
    if (strcmp(name, "refused") == 0)
        return -EHOSTUNREACH;
    tr.w = w;
    snprintf(tr.name, sizeof(tr.name), "%s", name);
    tr.watches++;
    *cookie = &cookie_value;
    return 0;
}

static void tr_unwatch(void *arg, nm_svc_watch_t *w, void *cookie)
{
    (void)arg;
    if (w == tr.w && cookie == &cookie_value)
        tr.unwatches++;
}

static int tr_advertise(void *arg, const char *name, int type, const char *endpoint,
                        const uint8_t *curve_key)
{
    (void)arg;
    if (tr.nads >= 4)
        return 0;
    tr.keyed[tr.nads] = curve_key != NULL;
    if (curve_key != NULL)
        memcpy(tr.keys[tr.nads], curve_key, 32);
    snprintf(tr.ads[tr.nads++], TU_EP_MAX, "%s %s %s", name, nm_sock_type_name(type), endpoint);
    return 0;
}

static void tr_withdraw(void *arg, const char *name, const char *endpoint)
{
    (void)arg;
    (void)name;
    (void)endpoint;
    tr.withdrawn++;
}

/* The hosts a svc:// bind listens on: two loopback addresses. */
static int tr_bind_hosts(void *arg, char (*hosts)[NM_HOST_MAX], int max)
{
    (void)arg;
    assert_true(max >= 2);
    strcpy(hosts[0], "127.0.0.1");
    strcpy(hosts[1], "127.0.0.2");
    return 2;
}

static nm_ctx_t *ctx_with_resolver(void)
{
    memset(&tr, 0, sizeof(tr));
    nm_ctx_t *ctx = tu_ctx();
    nm_resolver_t r = {tr_watch, tr_unwatch, tr_advertise, tr_withdraw, NULL, NULL};
    nm_ctx_set_resolver(ctx, &r);
    return ctx;
}

static void test_no_resolver(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *s = tu_sock(ctx, NM_SUB);
    TU_RC(nm_sock_connect(s, "svc://cam"), -ENOTSUP);
    TU_RC(nm_sock_bind(s, "svc://cam"), -ENOTSUP);
    TU_RC(nm_sock_advertise(s, "cam"), -ENOTSUP);
    TU_RC(nm_sock_connect(s, "svc://"), -EINVAL);
    nm_sock_close(&s);
    tu_ctx_destroy(&ctx);
}

/* A SUB on svc://cam connects to each PUB instance reported, leaves it when it goes. */
static void test_follow_instances(void **state)
{
    (void)state;
    nm_ctx_t *ctx = ctx_with_resolver();
    nm_sock_t *pub1 = tu_sock(ctx, NM_PUB), *pub2 = tu_sock(ctx, NM_PUB);
    char ep1[TU_EP_MAX], ep2[TU_EP_MAX];
    tu_bind_tcp(pub1, ep1, sizeof(ep1));
    tu_bind_tcp(pub2, ep2, sizeof(ep2));
    nm_sock_t *sub = tu_sock(ctx, NM_SUB);
    tu_subscribe(sub, "");
    TU_RC(nm_sock_connect(sub, "svc://refused"), -EHOSTUNREACH);
    TU_OK(nm_sock_connect(sub, "svc://cam"));
    assert_int_equal(tr.watches, 1);
    assert_string_equal(tr.name, "cam");
    TU_RC(nm_sock_wait_peers(sub, 1, 50), -EAGAIN);

    nm_svc_update(tr.w, ep1, NM_PUB, true);
    nm_svc_update(tr.w, ep1, NM_PUB, true);                  /* reported twice: connected once */
    nm_svc_update(tr.w, "tcp://127.0.0.1:1", NM_PULL, true); /* cannot talk to a SUB */
    nm_svc_update(tr.w, ep2, NM_PUB, true);
    TU_RC(nm_sock_wait_peers(sub, 2, TU_RCVTIMEO), 2);
    TU_RC(nm_sock_wait_peers(pub1, 1, TU_RCVTIMEO), 1);
    TU_RC(nm_sock_wait_peers(pub2, 1, TU_RCVTIMEO), 1);
    assert_int_equal(tu_totals_of(ctx, NM_SUB).npipes, 2);
    tu_sleep_ms(50); /* subscriptions travel */
    tu_send_str(pub1, "one");
    tu_send_str(pub2, "two");
    nm_msg_t m;
    nm_msg_init(&m);
    for (int i = 0; i < 2; i++) {
        tu_recv(sub, &m);
        assert_true(tu_frame_is(&m, 0, "one") || tu_frame_is(&m, 0, "two"));
        nm_msg_close(&m);
    }

    /* pub1 leaves: its connection closes; it gets no new one. */
    nm_svc_update(tr.w, ep1, NM_PUB, false);
    assert_true(nm_sock_wait_peers(sub, 1, 0) >= 1); /* runs the command */
    int64_t deadline = tu_now_ms() + TU_RCVTIMEO;
    while (tu_totals_of(ctx, NM_PUB).nactive > 1 && tu_now_ms() < deadline)
        tu_sleep_ms(5);
    assert_int_equal(tu_totals_of(ctx, NM_PUB).nactive, 1);
    tu_sleep_ms(300); /* longer than the reconnect interval: no reconnect */
    assert_int_equal(tu_totals_of(ctx, NM_PUB).nactive, 1);

    TU_RC(nm_sock_disconnect(sub, "svc://other"), -ENOENT);
    TU_OK(nm_sock_disconnect(sub, "svc://cam"));
    assert_int_equal(tr.unwatches, 1);
    nm_sock_close(&sub);
    assert_int_equal(tr.unwatches, 1);
    nm_sock_close(&pub1);
    nm_sock_close(&pub2);
    tu_ctx_destroy(&ctx);
}

/* Closing a socket unwatches; updates still queued for it are dropped. */
/* An instance reported with a CURVE key is connected with CURVE: to a CURVE server
 * with that key, with the socket's own pair, or a pair made for it. */
static void test_instance_with_key(void **state)
{
    (void)state;
    nm_ctx_t *ctx = ctx_with_resolver();
    uint8_t spub[32], ssec[32], cpub[32], csec[32], other[32], junk[32];
    TU_OK(nm_curve_keypair(spub, ssec));
    TU_OK(nm_curve_keypair(cpub, csec));
    TU_OK(nm_curve_keypair(other, junk));
    nm_sock_t *srv = tu_sock(ctx, NM_REP);
    TU_OK(nm_sock_setopt_int(srv, NM_CURVE_SERVER, 1));
    TU_OK(nm_sock_setopt(srv, NM_CURVE_SECRETKEY, ssec, 32));
    char ep[TU_EP_MAX];
    tu_bind_tcp(srv, ep, sizeof(ep));

    /* A socket with its own pair; then one without (a pair is made for it). */
    for (int own = 1; own >= 0; own--) {
        nm_sock_t *req = tu_sock(ctx, NM_REQ);
        if (own) {
            TU_OK(nm_sock_setopt(req, NM_CURVE_PUBLICKEY, cpub, 32));
            TU_OK(nm_sock_setopt(req, NM_CURVE_SECRETKEY, csec, 32));
        }
        TU_OK(nm_sock_connect(req, "svc://api"));
        nm_svc_update_key(tr.w, ep, NM_REP, true, spub);
        tu_send_str(req, "hello");
        tu_recv_str(srv, "hello");
        tu_send_str(srv, "world");
        tu_recv_str(req, "world");
        int mech;
        TU_OK(nm_sock_getopt_int(req, NM_MECHANISM, &mech));
        assert_int_equal(mech, own ? NM_MECH_CURVE : NM_MECH_NULL); /* the socket's own */
        nm_sock_close(&req);
    }

    /* Another key: the server cannot open the HELLO; nothing passes.  The send may find
     * no pipe once the refused connection dropped its own (SNDTIMEO: -EAGAIN then). */
    nm_sock_t *req = tu_sock(ctx, NM_REQ);
    TU_OK(nm_sock_setopt_int(req, NM_SNDTIMEO, 300));
    TU_OK(nm_sock_connect(req, "svc://api"));
    nm_svc_update_key(tr.w, ep, NM_REP, true, other);
    int rc = nm_sock_send_bytes(req, "hello", 5, 0);
    assert_true(rc == 0 || rc == -EAGAIN);
    tu_recv_none(srv, 300);
    /* And without a key, a NULL connection to a CURVE server is refused too. */
    nm_sock_t *plain = tu_sock(ctx, NM_REQ);
    TU_OK(nm_sock_setopt_int(plain, NM_SNDTIMEO, 300));
    TU_OK(nm_sock_connect(plain, "svc://api"));
    nm_svc_update(tr.w, ep, NM_REP, true);
    rc = nm_sock_send_bytes(plain, "hello", 5, 0);
    assert_true(rc == 0 || rc == -EAGAIN);
    tu_recv_none(srv, 300);
    nm_sock_close(&plain);
    nm_sock_close(&req);
    nm_sock_close(&srv);
    tu_ctx_destroy(&ctx);
}

static void test_close_unwatches(void **state)
{
    (void)state;
    nm_ctx_t *ctx = ctx_with_resolver();
    nm_sock_t *sub = tu_sock(ctx, NM_SUB);
    TU_OK(nm_sock_connect(sub, "svc://cam"));
    nm_svc_update(tr.w, "tcp://127.0.0.1:1", NM_PUB, true);
    nm_sock_close(&sub);
    assert_int_equal(tr.unwatches, 1);
    tu_ctx_destroy(&ctx);
}

/* svc:// bind takes an ephemeral tcp port and advertises it; nm_sock_advertise does the
 * same for what is bound; close withdraws both. */
static void test_bind_advertises(void **state)
{
    (void)state;
    nm_ctx_t *ctx = ctx_with_resolver();
    nm_sock_t *pub = tu_sock(ctx, NM_PUB);
    TU_RC(nm_sock_advertise(pub, "cam"), -ENOENT);
    TU_OK(nm_sock_bind(pub, "svc://cam"));
    char ep[TU_EP_MAX], want[TU_EP_MAX + 16];
    tu_last_endpoint(pub, ep, sizeof(ep));
    /* Without bind_hosts: loopback only, never a wildcard. */
    int port = 0;
    assert_int_equal(sscanf(ep, "tcp://127.0.0.1:%d", &port), 1);
    assert_int_equal(tr.nads, 1);
    snprintf(want, sizeof(want), "cam pub %s", ep);
    assert_string_equal(tr.ads[0], want);
    assert_true(tu_tcp_listening("127.0.0.1", port));
    assert_false(tu_tcp_listening("127.0.0.3", port));

    nm_sock_t *rep = tu_sock(ctx, NM_REP);
    tu_bind_tcp(rep, ep, sizeof(ep));
    TU_OK(nm_sock_advertise(rep, "echo"));
    snprintf(want, sizeof(want), "echo rep %s", ep);
    assert_string_equal(tr.ads[1], want);
    assert_false(tr.keyed[0] || tr.keyed[1]); /* NULL sockets: no key */
    TU_RC(nm_sock_advertise(rep, ""), -EINVAL);

    /* A REQ finds the REP through the resolver. */
    nm_sock_t *req = tu_sock(ctx, NM_REQ);
    TU_OK(nm_sock_connect(req, "svc://echo"));
    nm_svc_update(tr.w, ep, NM_REP, true);
    tu_send_str(req, "ping");
    nm_msg_t m;
    nm_msg_init(&m);
    tu_recv(rep, &m);
    TU_OK(nm_sock_send(rep, &m, 0));
    tu_recv_strs(req, 1, "ping");

    nm_sock_close(&pub);
    nm_sock_close(&rep);
    assert_int_equal(tr.withdrawn, 2);
    nm_sock_close(&req);
    tu_ctx_destroy(&ctx);
}

/* A CURVE server's svc:// bind and nm_sock_advertise carry the public key of its secret
 * key as it is at that call (a later key is not seen by earlier advertisements); a
 * CURVE client, or a server without a secret key, advertises none. */
static void test_advertises_curve_key(void **state)
{
    (void)state;
    nm_ctx_t *ctx = ctx_with_resolver();
    uint8_t pub[32], sec[32], pub2[32], sec2[32];
    TU_OK(nm_curve_keypair(pub, sec));
    TU_OK(nm_curve_keypair(pub2, sec2));
    nm_sock_t *srv = tu_sock(ctx, NM_REP);
    TU_OK(nm_sock_setopt_int(srv, NM_CURVE_SERVER, 1));
    TU_OK(nm_sock_bind(srv, "svc://api"));                    /* no secret key yet: no key */
    TU_OK(nm_sock_setopt(srv, NM_CURVE_PUBLICKEY, pub2, 32)); /* not what is advertised */
    TU_OK(nm_sock_setopt(srv, NM_CURVE_SECRETKEY, sec, 32));
    TU_OK(nm_sock_bind(srv, "svc://api"));
    TU_OK(nm_sock_setopt(srv, NM_CURVE_SECRETKEY, sec2, 32));
    TU_OK(nm_sock_advertise(srv, "api2")); /* both endpoints, with the new key */
    assert_int_equal(tr.nads, 4);
    assert_false(tr.keyed[0]);
    assert_true(tr.keyed[1] && tr.keyed[2] && tr.keyed[3]);
    assert_memory_equal(tr.keys[1], pub, 32);
    assert_memory_equal(tr.keys[2], pub2, 32);
    assert_memory_equal(tr.keys[3], pub2, 32);

    /* A CURVE client is no server to connect to with a key. */
    nm_sock_t *cli = tu_sock(ctx, NM_REQ);
    TU_OK(nm_sock_setopt(cli, NM_CURVE_SERVERKEY, pub, 32));
    TU_OK(nm_sock_setopt(cli, NM_CURVE_SECRETKEY, sec2, 32));
    tr.nads = 0;
    TU_OK(nm_sock_bind(cli, "svc://cli"));
    assert_int_equal(tr.nads, 1);
    assert_false(tr.keyed[0]);
    nm_sock_close(&cli);
    nm_sock_close(&srv);
    tu_ctx_destroy(&ctx);
}

/* nm_sock_disconnect closes a tcp connection and stops its reconnects. */
/* svc:// bind listens on each host the resolver names, with one port when it is free on
 * all, advertises each, and NM_LAST_ENDPOINT lists them. */
static void test_bind_hosts(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    memset(&tr, 0, sizeof(tr));
    nm_resolver_t r = {tr_watch, tr_unwatch, tr_advertise, tr_withdraw, tr_bind_hosts, NULL};
    nm_ctx_set_resolver(ctx, &r);
    nm_sock_t *pub = tu_sock(ctx, NM_PUB);
    TU_OK(nm_sock_bind(pub, "svc://cam"));
    char ep[TU_EP_MAX], want[TU_EP_MAX + 16];
    tu_last_endpoint(pub, ep, sizeof(ep));
    int p1 = 0, p2 = 0;
    assert_int_equal(sscanf(ep, "tcp://127.0.0.1:%d tcp://127.0.0.2:%d", &p1, &p2), 2);
    assert_int_equal(p1, p2);
    assert_int_equal(tr.nads, 2);
    snprintf(want, sizeof(want), "cam pub tcp://127.0.0.2:%d", p2);
    assert_string_equal(tr.ads[1], want);
    assert_true(tu_tcp_listening("127.0.0.2", p2));
    assert_false(tu_tcp_listening("127.0.0.3", p2));
    nm_sock_close(&pub);
    assert_int_equal(tr.withdrawn, 2);
    tu_ctx_destroy(&ctx);
}

static void test_disconnect_tcp(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *pull = tu_sock(ctx, NM_PULL), *push = tu_sock(ctx, NM_PUSH);
    char ep[TU_EP_MAX];
    tu_bind_tcp(pull, ep, sizeof(ep));
    TU_OK(nm_sock_connect(push, ep));
    TU_RC(nm_sock_wait_peers(pull, 1, TU_RCVTIMEO), 1);
    TU_OK(nm_sock_disconnect(push, ep));
    TU_RC(nm_sock_disconnect(push, "inproc://x"), -ENOENT); /* never connected there */
    int64_t deadline = tu_now_ms() + TU_RCVTIMEO;
    while (tu_totals_of(ctx, NM_PULL).nactive > 0 && tu_now_ms() < deadline)
        tu_sleep_ms(5);
    assert_int_equal(tu_totals_of(ctx, NM_PULL).nactive, 0);
    tu_sleep_ms(300);
    assert_int_equal(tu_totals_of(ctx, NM_PULL).nactive, 0);
    TU_RC(nm_sock_wait_peers(push, 0, 0), 0); /* runs the socket's commands */
    assert_int_equal(tu_totals_of(ctx, NM_PUSH).npipes, 0);
    nm_sock_close(&push);
    nm_sock_close(&pull);
    tu_ctx_destroy(&ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_resolver),       cmocka_unit_test(test_follow_instances),
        cmocka_unit_test(test_instance_with_key), cmocka_unit_test(test_close_unwatches),
        cmocka_unit_test(test_bind_advertises),   cmocka_unit_test(test_bind_hosts),
        cmocka_unit_test(test_disconnect_tcp),    cmocka_unit_test(test_advertises_curve_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
