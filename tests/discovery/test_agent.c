/*
 * test_agent.c - discovery agents in one process, beaconing on loopback every 100 ms:
 * a service advertised on a wildcard host is resolved with the interface's address; a
 * stopped agent's goodbye removes it at once; other fleets and, with a fleet key,
 * unsigned nodes stay invisible; a CURVE server's svc:// bind reaches another node's
 * svc:// client with its key only when the fleet key vouches for it (or that node
 * trusts unsigned keys), and the two talk over CURVE through it.  TTL 1 multicast with
 * IP_MULTICAST_IF 127.0.0.1: no datagram leaves the host.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent.h"
#include "resolver.h"

#define MS 1000000ull

static uint16_t test_port(void)
{
    return (uint16_t)(20000 + (getpid() + 7) % 20000);
}

static const char *iface; /* --interface for start(); NULL = the default, loopback */
static bool trust;        /* trust_unsigned_keys for start() */

static nmd_agent *start(const char *name, const char *fleet, const uint8_t *key)
{
    nmd_agent_config cfg;
    nmd_agent_config_init(&cfg);
    cfg.ifaces[0] = iface;
    cfg.nifaces = iface != NULL;
    snprintf(cfg.name, sizeof(cfg.name), "%s", name);
    snprintf(cfg.fleet, sizeof(cfg.fleet), "%s", fleet);
    cfg.interval_ns = 100 * MS;
    cfg.port = test_port();
    cfg.key = key;
    cfg.keylen = key ? 32 : 0;
    cfg.trust_unsigned_keys = trust;
    nmd_agent *a = NULL;
    assert_int_equal(nmd_agent_start(&a, &cfg), 0);
    return a;
}

static char last_ep[256];
static bool last_has_key;    /* the last instance resolved had a CURVE key */
static uint8_t last_key[32]; /* ... this one */

static void remember_cb(void *arg, const nmd_peer *p, const nmd_service *s)
{
    (void)arg;
    (void)p;
    snprintf(last_ep, sizeof(last_ep), "%s", s->endpoint);
    last_has_key = s->has_key;
    memcpy(last_key, s->curve_key, sizeof(last_key));
}

/* Polls until `name` resolves to `want` instances on a, within ms; returns elapsed ms. */
static long wait_resolve(nmd_agent *a, const char *name, size_t want, long ms)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &t);
        long el = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
        if (nmd_agent_resolve(a, name, remember_cb, NULL) == want)
            return el;
        if (el > ms)
            return -1;
        usleep(10000);
    }
}

static void test_resolve_and_goodbye(void **state)
{
    (void)state;
    nmd_agent *pub = start("pub", "default", NULL);
    nmd_agent *sub = start("sub", "default", NULL);
    assert_int_equal(nmd_agent_advertise(pub, "camera.front", 1, "tcp://*:5555", NULL), 0);
    assert_true(wait_resolve(sub, "camera.front", 1, 2000) >= 0);
    assert_string_equal(last_ep, "tcp://127.0.0.1:5555");
    assert_int_equal(nmd_agent_peers(sub, NULL, NULL), 1);
    nmd_agent_stop(&pub);
    /* The goodbye removes it well before expiry (3 intervals = 300 ms). */
    long gone = wait_resolve(sub, "camera.front", 0, 2000);
    assert_true(gone >= 0 && gone < 250);
    nmd_agent_stats st;
    nmd_agent_get_stats(sub, &st);
    assert_true(st.received > 0);
    nmd_agent_stop(&sub);
}

static void test_fleets_are_separate(void **state)
{
    (void)state;
    nmd_agent *other = start("other", "fleet-b", NULL);
    nmd_agent *mine = start("mine", "fleet-a", NULL);
    nmd_agent *peer = start("peer", "fleet-a", NULL);
    assert_int_equal(nmd_agent_advertise(other, "svc", 1, "tcp://127.0.0.1:1", NULL), 0);
    assert_int_equal(nmd_agent_advertise(peer, "svc", 1, "tcp://127.0.0.1:2", NULL), 0);
    assert_true(wait_resolve(mine, "svc", 1, 2000) >= 0);
    usleep(400000); /* several more intervals: the other fleet still never shows */
    assert_int_equal(nmd_agent_resolve(mine, "svc", remember_cb, NULL), 1);
    assert_string_equal(last_ep, "tcp://127.0.0.1:2");
    nmd_agent_stop(&other);
    nmd_agent_stop(&mine);
    nmd_agent_stop(&peer);
}

static void test_fleet_key(void **state)
{
    (void)state;
    uint8_t key[32];
    memset(key, 0x5a, sizeof(key));
    nmd_agent *signer = start("signer", "keyed", key);
    nmd_agent *plain = start("plain", "keyed", NULL);
    nmd_agent *checker = start("checker", "keyed", key);
    assert_int_equal(nmd_agent_advertise(signer, "s", 1, "tcp://127.0.0.1:1", NULL), 0);
    assert_int_equal(nmd_agent_advertise(plain, "s", 1, "tcp://127.0.0.1:2", NULL), 0);
    assert_true(wait_resolve(checker, "s", 1, 2000) >= 0);
    usleep(400000);
    assert_int_equal(nmd_agent_resolve(checker, "s", remember_cb, NULL), 1);
    assert_string_equal(last_ep, "tcp://127.0.0.1:1"); /* the unsigned node is ignored */
    nmd_agent_stats st;
    nmd_agent_get_stats(checker, &st);
    assert_true(st.dropped > 0);
    nmd_agent_stop(&signer);
    nmd_agent_stop(&plain);
    nmd_agent_stop(&checker);
}

/* A table far larger than a beacon (300 services, some of them long) is fetched whole
 * from the node's control port, signed like the beacons. */
static void test_large_table_is_fetched(void **state)
{
    (void)state;
    uint8_t key[32];
    memset(key, 0x33, sizeof(key));
    nmd_agent *big = start("big", "large", key);
    nmd_agent *reader = start("reader", "large", key);
    char name[160], ep[64];
    for (int i = 0; i < 300; i++) {
        snprintf(name, sizeof(name), "%s.service.%03d", i % 2 ? "a-rather-long-name" : "s", i);
        snprintf(ep, sizeof(ep), "tcp://*:%d", 10000 + i);
        assert_int_equal(nmd_agent_advertise(big, name, 7, ep, NULL), 0);
    }
    assert_true(wait_resolve(reader, "a-rather-long-name.service.299", 1, 3000) >= 0);
    assert_string_equal(last_ep, "tcp://127.0.0.1:10299");
    assert_int_equal(nmd_agent_wait(reader, "s.service.000", 1, 1000), 1);
    /* A change is fetched again; the rest of the table stays resolvable meanwhile. */
    assert_int_equal(nmd_agent_withdraw(big, "a-rather-long-name.service.299", "tcp://*:10299"), 0);
    assert_true(wait_resolve(reader, "a-rather-long-name.service.299", 0, 3000) >= 0);
    assert_int_equal(nmd_agent_wait(reader, "s.service.298", 1, 1000), 1);
    assert_int_equal(nmd_agent_wait(reader, "nothing", 1, 50), -ETIMEDOUT);
    nmd_agent_stop(&big);
    nmd_agent_stop(&reader);
}

/* Waiting for instances really waits: one that comes 300 ms later is waited for, and a
 * timeout takes its time. */
static void *advertise_later(void *arg)
{
    usleep(300000);
    nmd_agent_advertise(arg, "late", 1, "tcp://127.0.0.1:9", NULL);
    return NULL;
}

static void test_wait_for_instances(void **state)
{
    (void)state;
    nmd_agent *a = start("a", "waiting", NULL);
    nmd_agent *b = start("b", "waiting", NULL);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(nmd_agent_wait(b, "nothing", 1, 200), -ETIMEDOUT);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long el = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    assert_true(el >= 190 && el < 1000);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, advertise_later, a), 0);
    assert_int_equal(nmd_agent_wait(b, "late", 1, 5000), 1);
    pthread_join(th, NULL);
    nmd_agent_stop(&a);
    nmd_agent_stop(&b);
}

/* Sends text on s; true when it went within the socket's SNDTIMEO. */
static bool send_str(nm_sock_t *s, const char *text)
{
    nm_msg_t m;
    nm_msg_init(&m);
    assert_int_equal(nm_msg_add(&m, text, strlen(text)), 0);
    bool ok = nm_sock_send(s, &m, 0) == 0;
    nm_msg_close(&m);
    return ok;
}

/* True when s receives text within its RCVTIMEO. */
static bool recv_str(nm_sock_t *s, const char *text)
{
    nm_msg_t m;
    nm_msg_init(&m);
    bool ok = nm_sock_recv(s, &m, 0) == 0 && nm_msg_count(&m) == 1 &&
              nm_msg_size(&m, 0) == strlen(text) &&
              memcmp(nm_msg_data(&m, 0), text, strlen(text)) == 0;
    nm_msg_close(&m);
    return ok;
}

static nm_sock_t *sock_on(nm_ctx_t *ctx, int type)
{
    nm_sock_t *s = NULL;
    assert_int_equal(nm_sock_new(&s, ctx, type), 0);
    assert_int_equal(nm_sock_setopt_int(s, NM_RCVTIMEO, 1500), 0);
    assert_int_equal(nm_sock_setopt_int(s, NM_SNDTIMEO, 1500), 0);
    assert_int_equal(nm_sock_setopt_int(s, NM_LINGER, 0), 0);
    return s;
}

/* One node's REP, a CURVE server, binds svc://api; another node's REQ connects to
 * svc://api.  The key reaches the client's registry when want_key, and the request
 * then passes over CURVE; without it the server refuses the NULL connection. */
static void keyed_case(const char *fleet, const uint8_t *fleet_key, bool trust_unsigned,
                       bool want_key)
{
    uint8_t pub[32], sec[32];
    assert_int_equal(nm_curve_keypair(pub, sec), 0);
    trust = trust_unsigned;
    nmd_agent *sa = start("server", fleet, fleet_key), *ca = start("client", fleet, fleet_key);
    trust = false;
    nm_ctx_t *sctx = NULL, *cctx = NULL;
    assert_int_equal(nm_ctx_new(&sctx), 0);
    assert_int_equal(nm_ctx_new(&cctx), 0);
    nmd_resolver_attach(sa, sctx);
    nmd_resolver_attach(ca, cctx);
    nm_sock_t *rep = sock_on(sctx, NM_REP), *req = sock_on(cctx, NM_REQ);
    assert_int_equal(nm_sock_setopt_int(rep, NM_CURVE_SERVER, 1), 0);
    assert_int_equal(nm_sock_setopt(rep, NM_CURVE_SECRETKEY, sec, 32), 0);
    assert_int_equal(nm_sock_bind(rep, "svc://api"), 0);
    assert_true(wait_resolve(ca, "api", 1, 2000) >= 0);
    assert_int_equal(last_has_key, want_key);
    if (want_key)
        assert_memory_equal(last_key, pub, 32);
    assert_int_equal(nm_sock_connect(req, "svc://api"), 0);
    /* Refused (an ERROR for a NULL client), the connection may drop its pipe before
     * the request is queued: then the send times out, which is as good. */
    bool sent = send_str(req, "ping");
    if (want_key) {
        assert_true(sent);
        assert_true(recv_str(rep, "ping"));
        assert_true(send_str(rep, "pong"));
        assert_true(recv_str(req, "pong"));
    } else {
        assert_int_equal(nm_sock_setopt_int(rep, NM_RCVTIMEO, 500), 0);
        assert_false(recv_str(rep, "ping"));
    }
    nm_sock_close(&req);
    nm_sock_close(&rep);
    nm_ctx_destroy(&cctx);
    nm_ctx_destroy(&sctx);
    nmd_agent_stop(&ca);
    nmd_agent_stop(&sa);
}

/* A CURVE server's key travels with its instance when the fleet key signs the beacons;
 * without a fleet key it is dropped, unless the receiving node trusts unsigned keys. */
static void test_keyed_service(void **state)
{
    (void)state;
    uint8_t key[32];
    memset(key, 0x3c, sizeof(key));
    keyed_case("curve-signed", key, false, true);
    keyed_case("curve-plain", NULL, false, false);
    keyed_case("curve-trusted", NULL, true, true);
}

/* IPv4 broadcast on loopback (127.255.255.255) reaches every node of the host. */
static void test_broadcast(void **state)
{
    (void)state;
    iface = "broadcast:lo";
    nmd_agent *a = start("a", "bcast", NULL);
    nmd_agent *b = start("b", "bcast", NULL);
    iface = NULL;
    assert_int_equal(nmd_agent_advertise(a, "cam", 1, "tcp://*:5555", NULL), 0);
    assert_true(wait_resolve(b, "cam", 1, 2000) >= 0);
    assert_string_equal(last_ep, "tcp://127.0.0.1:5555");
    nmd_agent_stop(&a);
    assert_true(wait_resolve(b, "cam", 0, 250) >= 0);
    nmd_agent_stop(&b);
}

static void test_bad_config(void **state)
{
    (void)state;
    nmd_agent_config cfg;
    nmd_agent_config_init(&cfg);
    cfg.port = test_port();
    cfg.ifaces[0] = "no-such-if0";
    cfg.nifaces = 1;
    nmd_agent *a = NULL;
    assert_int_equal(nmd_agent_start(&a, &cfg), -ENODEV);
    assert_null(a);
    cfg.ifaces[0] = "bogus:lo";
    assert_int_equal(nmd_agent_start(&a, &cfg), -EINVAL);
    cfg.ifaces[0] = "ipv6:lo"; /* loopback has no link-local address */
    assert_int_equal(nmd_agent_start(&a, &cfg), -ENODEV);
    uint8_t short_key[8] = {1};
    nmd_agent_config_init(&cfg);
    cfg.key = short_key;
    cfg.keylen = sizeof(short_key);
    assert_int_equal(nmd_agent_start(&a, &cfg), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resolve_and_goodbye), cmocka_unit_test(test_fleets_are_separate),
        cmocka_unit_test(test_fleet_key),           cmocka_unit_test(test_large_table_is_fetched),
        cmocka_unit_test(test_broadcast),           cmocka_unit_test(test_wait_for_instances),
        cmocka_unit_test(test_bad_config),          cmocka_unit_test(test_keyed_service),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
