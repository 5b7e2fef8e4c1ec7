/*
 * test_registry.c - the peer table: peers appear, restart, say goodbye, fall silent and
 * expire; services come and go as instances; replayed and stale beacons are ignored;
 * tables too large for one beacon are completed by a fetch.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "registry.h"

#define MS 1000000ull

/* The events the registry reported, as text ("up n1", "svc+ n1 cam tcp://..."): the
 * first 64 kept, all counted. */
static char events[64][512];
static int nevents;

static void record_cb(void *arg, int ev, const nmd_peer *p, const nmd_service *s)
{
    (void)arg;
    const char *what = ev == NMD_EV_PEER_UP      ? "up"
                       : ev == NMD_EV_PEER_DOWN  ? "down"
                       : ev == NMD_EV_SERVICE_UP ? "svc+"
                                                 : "svc-";
    char key[8] = ""; /* " k" and the key's first byte, for a keyed service */
    if (s != NULL && s->has_key)
        snprintf(key, sizeof(key), " k%02x", s->curve_key[0]);
    if (nevents < 64)
        snprintf(events[nevents], sizeof(events[0]), "%s %s%s%s%s%s%s", what, p->name, s ? " " : "",
                 s ? s->name : "", s ? " " : "", s ? s->endpoint : "", key);
    nevents++; /* counted even past what is kept as text */
}

static void reset_events(void)
{
    nevents = 0;
}

static void expect_events(int n, ...)
{
    va_list ap;
    va_start(ap, n);
    assert_int_equal(nevents, n);
    for (int i = 0; i < n; i++)
        assert_string_equal(events[i], va_arg(ap, const char *));
    va_end(ap);
    reset_events();
}

static nmd_service svc(const char *name, const char *ep)
{
    nmd_service s;
    memset(&s, 0, sizeof(s));
    snprintf(s.name, sizeof(s.name), "%s", name);
    snprintf(s.endpoint, sizeof(s.endpoint), "%s", ep);
    s.type = 1; /* PUB */
    return s;
}

/* A beacon from node `id` (1 byte, the rest zero) carrying table[0..n) inline. */
static nmd_beacon beacon(uint8_t id, uint32_t inc, uint32_t seq, const nmd_service *table, size_t n,
                         bool complete)
{
    nmd_beacon b;
    memset(&b, 0, sizeof(b));
    b.node_id[0] = id;
    b.incarnation = inc;
    b.seq = seq;
    snprintf(b.fleet, sizeof(b.fleet), "default");
    snprintf(b.name, sizeof(b.name), "n%u", id);
    b.complete = complete;
    b.nservices = (uint16_t)n;
    for (size_t i = 0; i < n && i < NMD_INLINE_MAX; i++)
        b.services[b.ninline++] = table[i];
    nmd_table_digest(table, n, b.digest);
    return b;
}

static int feed(nmd_registry *r, nmd_beacon b, uint64_t now, bool *fetch)
{
    bool f;
    int rc = nmd_registry_beacon(r, &b, "127.0.0.1", now, fetch ? fetch : &f);
    return rc;
}

static void count_cb(void *arg, const nmd_peer *p, const nmd_service *s)
{
    (void)p;
    (void)s;
    (*(int *)arg)++;
}

static void test_peer_lifecycle(void **state)
{
    (void)state;
    reset_events();
    nmd_registry *r = nmd_registry_new(record_cb, NULL);
    nmd_service t[] = {svc("cam", "tcp://10.0.0.1:5555")};
    assert_int_equal(feed(r, beacon(1, 1, 1, t, 1, true), 0, NULL), 1);
    expect_events(2, "up n1", "svc+ n1 cam tcp://10.0.0.1:5555");
    assert_int_equal(nmd_registry_resolve(r, "cam", NULL, NULL), 1);
    /* The same beacon again (a replay, or a second interface): ignored. */
    assert_int_equal(feed(r, beacon(1, 1, 1, t, 1, true), 10 * MS, NULL), 0);
    assert_int_equal(feed(r, beacon(1, 1, 2, t, 1, true), 1000 * MS, NULL), 1);
    expect_events(0);
    /* Silent after 1.5 intervals, still resolvable; gone after `expiry` intervals. */
    nmd_registry_tick(r, 2600 * MS, 1000 * MS, 3);
    assert_int_equal(nmd_registry_peers(r, NULL, NULL), 1);
    assert_int_equal(nmd_registry_resolve(r, "cam", NULL, NULL), 1);
    nmd_registry_tick(r, 4100 * MS, 1000 * MS, 3);
    expect_events(2, "svc- n1 cam tcp://10.0.0.1:5555", "down n1");
    assert_int_equal(nmd_registry_peers(r, NULL, NULL), 0);
    nmd_registry_destroy(&r);
}

static void test_goodbye_and_restart(void **state)
{
    (void)state;
    reset_events();
    nmd_registry *r = nmd_registry_new(record_cb, NULL);
    nmd_service t[] = {svc("cam", "tcp://a:1")};
    feed(r, beacon(1, 5, 10, t, 1, true), 0, NULL);
    reset_events();
    /* An older incarnation is stale. */
    assert_int_equal(feed(r, beacon(1, 4, 99, t, 1, true), 1, NULL), 0);
    /* A restart (new incarnation, seq from 1): everything it had is down, then up. */
    assert_int_equal(feed(r, beacon(1, 6, 1, t, 1, true), 2, NULL), 1);
    expect_events(4, "svc- n1 cam tcp://a:1", "down n1", "up n1", "svc+ n1 cam tcp://a:1");
    nmd_beacon bye = beacon(1, 6, 2, t, 1, true);
    bye.goodbye = true;
    assert_int_equal(feed(r, bye, 3, NULL), 1);
    expect_events(2, "svc- n1 cam tcp://a:1", "down n1");
    assert_int_equal(nmd_registry_peers(r, NULL, NULL), 0);
    nmd_registry_destroy(&r);
}

static void test_service_changes(void **state)
{
    (void)state;
    reset_events();
    nmd_registry *r = nmd_registry_new(record_cb, NULL);
    nmd_service t1[] = {svc("cam", "tcp://a:1"), svc("imu", "tcp://a:2")};
    nmd_service t2[] = {svc("imu", "tcp://a:2"), svc("lidar", "tcp://a:3")};
    feed(r, beacon(1, 1, 1, t1, 2, true), 0, NULL);
    reset_events();
    feed(r, beacon(1, 1, 2, t2, 2, true), 1, NULL);
    expect_events(2, "svc- n1 cam tcp://a:1", "svc+ n1 lidar tcp://a:3");
    /* Two nodes offering the same service: two instances. */
    nmd_service t3[] = {svc("imu", "tcp://b:2")};
    feed(r, beacon(2, 1, 1, t3, 1, true), 2, NULL);
    int n = 0;
    assert_int_equal(nmd_registry_resolve(r, "imu", count_cb, &n), 2);
    assert_int_equal(n, 2);
    assert_int_equal(nmd_registry_resolve(r, "nothing", NULL, NULL), 0);
    nmd_registry_destroy(&r);
}

static void test_large_table_fetch(void **state)
{
    (void)state;
    reset_events();
    nmd_registry *r = nmd_registry_new(record_cb, NULL);
    enum { N = 300 };
    static nmd_service t[N];
    for (int i = 0; i < N; i++) {
        char name[32], ep[32];
        snprintf(name, sizeof(name), "s%d", i);
        snprintf(ep, sizeof(ep), "tcp://a:%d", 1000 + i);
        t[i] = svc(name, ep);
    }
    bool fetch = false;
    assert_int_equal(feed(r, beacon(1, 1, 1, t, N, false), 0, &fetch), 1);
    assert_true(fetch);
    assert_int_equal(nevents, 1 + NMD_INLINE_MAX); /* up + the inline part */
    reset_events();
    /* A table that does not match the announced digest is refused. */
    uint8_t id[16] = {1}, old[NMD_DIGEST_SIZE], cur[NMD_DIGEST_SIZE];
    nmd_table_digest(t, N - 1, old);
    nmd_table_digest(t, N, cur);
    assert_int_equal(nmd_registry_set_table(r, id, old, t, N - 1), 0);
    assert_int_equal(nmd_registry_set_table(r, id, cur, t, N), 1);
    assert_int_equal(nevents, N - NMD_INLINE_MAX);
    reset_events();
    assert_int_equal(nmd_registry_resolve(r, "s299", NULL, NULL), 1);
    /* The next beacon with the same digest needs no fetch and changes nothing. */
    assert_int_equal(feed(r, beacon(1, 1, 2, t, N, false), 1, &fetch), 1);
    assert_false(fetch);
    expect_events(0);
    /* The table shrinks: until the new one is fetched nothing flaps, then only the
     * removed instance goes. */
    assert_int_equal(feed(r, beacon(1, 1, 3, t, N - 1, false), 2, &fetch), 1);
    assert_true(fetch);
    expect_events(0);
    assert_int_equal(nmd_registry_set_table(r, id, old, t, N - 1), 1);
    expect_events(1, "svc- n1 s299 tcp://a:1299");
    uint8_t unknown[16] = {9};
    assert_int_equal(nmd_registry_set_table(r, unknown, cur, t, 1), -ENOENT);
    nmd_registry_destroy(&r);
}

/* Instances one at a time (DNS-SD, etcd): a peer appears with its first service and is
 * forgotten with its last; such peers never age. */
static void test_backend_instances(void **state)
{
    (void)state;
    reset_events();
    nmd_registry *r = nmd_registry_new(record_cb, NULL);
    uint8_t id[16] = {4};
    nmd_service cam = svc("cam", "tcp://10.0.0.4:1"), imu = svc("imu", "tcp://10.0.0.4:2");
    assert_int_equal(nmd_registry_add(r, NMD_BACKEND_ETCD, id, "n4", "10.0.0.4", &cam), 1);
    assert_int_equal(nmd_registry_add(r, NMD_BACKEND_ETCD, id, "n4", "10.0.0.4", &cam), 0);
    assert_int_equal(nmd_registry_add(r, NMD_BACKEND_ETCD, id, "n4", "10.0.0.4", &imu), 1);
    expect_events(3, "up n4", "svc+ n4 cam tcp://10.0.0.4:1", "svc+ n4 imu tcp://10.0.0.4:2");
    nmd_registry_tick(r, 3600000 * MS, 1000 * MS, 3);
    assert_int_equal(nmd_registry_peers(r, NULL, NULL), 1);
    assert_int_equal(nmd_registry_del(r, NMD_BACKEND_ETCD, id, &cam), 1);
    assert_int_equal(nmd_registry_del(r, NMD_BACKEND_ETCD, id, &cam), 0);
    assert_int_equal(nmd_registry_del(r, NMD_BACKEND_DNSSD, id, &imu), 0);
    assert_int_equal(nmd_registry_del(r, NMD_BACKEND_ETCD, id, &imu), 1);
    expect_events(3, "svc- n4 cam tcp://10.0.0.4:1", "svc- n4 imu tcp://10.0.0.4:2", "down n4");
    assert_int_equal(nmd_registry_peers(r, NULL, NULL), 0);
    nmd_registry_destroy(&r);
}

/* One instance reported by two backends is one instance: up with the first, down with
 * the last, resolved once. */
static void test_backends_merge(void **state)
{
    (void)state;
    reset_events();
    nmd_registry *r = nmd_registry_new(record_cb, NULL);
    nmd_service t[] = {svc("cam", "tcp://10.0.0.1:1")};
    assert_int_equal(feed(r, beacon(1, 1, 1, t, 1, true), 0, NULL), 1);
    uint8_t id[16] = {1};
    assert_int_equal(nmd_registry_add(r, NMD_BACKEND_DNSSD, id, "n1", "10.0.0.1", &t[0]), 1);
    expect_events(3, "up n1", "svc+ n1 cam tcp://10.0.0.1:1", "up n1");
    assert_int_equal(nmd_registry_peers(r, NULL, NULL), 2);
    assert_int_equal(nmd_registry_resolve(r, "cam", NULL, NULL), 1);
    nmd_registry_tick(r, 4000 * MS, 1000 * MS, 3); /* the beacon peer expires */
    expect_events(1, "down n1");
    assert_int_equal(nmd_registry_resolve(r, "cam", NULL, NULL), 1);
    nmd_registry_forget(r, NMD_BACKEND_DNSSD);
    expect_events(2, "svc- n1 cam tcp://10.0.0.1:1", "down n1");
    assert_int_equal(nmd_registry_resolve(r, "cam", NULL, NULL), 0);
    assert_string_equal(nmd_backend_name(NMD_BACKEND_ETCD), "etcd");
    nmd_registry_destroy(&r);
}

static nmd_service keyed(const char *name, const char *ep, uint8_t k)
{
    nmd_service s = svc(name, ep);
    s.has_key = true;
    memset(s.curve_key, k, sizeof(s.curve_key));
    return s;
}

static void key_cb(void *arg, const nmd_peer *p, const nmd_service *s)
{
    (void)p;
    *(int *)arg = s->has_key ? s->curve_key[0] : -1;
}

/* The key is part of an entry: the same endpoint with another key is reported down and
 * up again, whether one peer changed it (in a whole table or in a partial one completed
 * by a fetch) or the peer seen went and another offers it with another key; a second
 * peer with the same key changes nothing; resolve gives the entry seen. */
static void test_key_changes(void **state)
{
    (void)state;
    reset_events();
    nmd_registry *r = nmd_registry_new(record_cb, NULL);
    nmd_service k1[] = {keyed("cam", "tcp://10.0.0.1:1", 0x11)};
    nmd_service k2[] = {keyed("cam", "tcp://10.0.0.1:1", 0x22)};
    nmd_service k3 = keyed("cam", "tcp://10.0.0.1:1", 0x33), plain = svc("cam", "tcp://10.0.0.1:1");
    assert_int_equal(feed(r, beacon(1, 1, 1, k1, 1, true), 0, NULL), 1);
    expect_events(2, "up n1", "svc+ n1 cam tcp://10.0.0.1:1 k11");
    assert_int_equal(feed(r, beacon(1, 1, 2, k2, 1, true), 0, NULL), 1);
    expect_events(2, "svc- n1 cam tcp://10.0.0.1:1 k11", "svc+ n1 cam tcp://10.0.0.1:1 k22");
    /* Partial: the new key comes inline next to the old, the fetch settles it. */
    nmd_service two[] = {k1[0], svc("imu", "tcp://10.0.0.1:2")};
    nmd_beacon b = beacon(1, 1, 3, two, 2, false);
    b.ninline = 1;
    bool fetch = false;
    assert_int_equal(feed(r, b, 0, &fetch), 1);
    assert_true(fetch);
    expect_events(0);
    assert_int_equal(nmd_registry_set_table(r, b.node_id, b.digest, two, 2), 1);
    expect_events(3, "svc- n1 cam tcp://10.0.0.1:1 k22", "svc+ n1 cam tcp://10.0.0.1:1 k11",
                  "svc+ n1 imu tcp://10.0.0.1:2");
    /* Other backends: the same key changes nothing, another is kept in reserve. */
    uint8_t id5[16] = {5}, id6[16] = {6};
    assert_int_equal(nmd_registry_add(r, NMD_BACKEND_ETCD, id5, "n5", "10.0.0.1", &k1[0]), 1);
    assert_int_equal(nmd_registry_add(r, NMD_BACKEND_DNSSD, id6, "n6", "10.0.0.1", &k3), 1);
    assert_int_equal(nmd_registry_add(r, NMD_BACKEND_DNSSD, id6, "n6", "10.0.0.1", &plain), 1);
    expect_events(2, "up n5", "up n6");
    int seen = 0;
    assert_int_equal(nmd_registry_resolve(r, "cam", key_cb, &seen), 1);
    assert_int_equal(seen, 0x11);
    /* The beacon peer leaves: etcd's entry (same key) is seen now, nothing to report. */
    b = beacon(1, 1, 4, NULL, 0, true);
    b.goodbye = true;
    assert_int_equal(feed(r, b, 0, NULL), 1);
    expect_events(2, "svc- n1 imu tcp://10.0.0.1:2", "down n1");
    /* etcd's goes: DNS-SD's first entry, with its other key, takes over. */
    assert_int_equal(nmd_registry_del(r, NMD_BACKEND_ETCD, id5, &k3), 0); /* not its key */
    assert_int_equal(nmd_registry_del(r, NMD_BACKEND_ETCD, id5, &k1[0]), 1);
    expect_events(3, "svc- n5 cam tcp://10.0.0.1:1 k11", "svc+ n6 cam tcp://10.0.0.1:1 k33",
                  "down n5");
    assert_int_equal(nmd_registry_resolve(r, "cam", key_cb, &seen), 1);
    assert_int_equal(seen, 0x33);
    /* Then its unkeyed entry. */
    assert_int_equal(nmd_registry_del(r, NMD_BACKEND_DNSSD, id6, &k3), 1);
    expect_events(2, "svc- n6 cam tcp://10.0.0.1:1 k33", "svc+ n6 cam tcp://10.0.0.1:1");
    assert_int_equal(nmd_registry_resolve(r, "cam", key_cb, &seen), 1);
    assert_int_equal(seen, -1);
    nmd_registry_forget(r, NMD_BACKEND_DNSSD);
    expect_events(2, "svc- n6 cam tcp://10.0.0.1:1", "down n6");
    nmd_registry_destroy(&r);
}

static void pin_cb(void *arg, const nmd_peer *p)
{
    *(nmd_peer *)arg = *p;
}

/* A peer's admin key hash is kept, and marked trusted only from an authentic beacon; a
 * later beacon without the field (admin back on plain HTTP) clears it. */
static void test_admin_pin(void **state)
{
    (void)state;
    nmd_registry *r = nmd_registry_new(record_cb, NULL);
    nmd_peer got;
    nmd_beacon b = beacon(7, 1, 1, NULL, 0, true);
    b.admin_port = 7443;
    b.admin_tls = true;
    memset(b.admin_pin, 0xab, sizeof(b.admin_pin));
    assert_int_equal(feed(r, b, 0, NULL), 1); /* unsigned, or no key to check it */
    assert_int_equal(nmd_registry_peers(r, pin_cb, &got), 1);
    assert_true(got.admin_tls);
    assert_false(got.admin_pin_ok);
    assert_memory_equal(got.admin_pin, b.admin_pin, NMD_PIN_SIZE);
    b.seq = 2;
    b.authentic = true;
    assert_int_equal(feed(r, b, MS, NULL), 1);
    nmd_registry_peers(r, pin_cb, &got);
    assert_true(got.admin_tls && got.admin_pin_ok);
    b.seq = 3;
    b.admin_tls = false;
    assert_int_equal(feed(r, b, 2 * MS, NULL), 1);
    nmd_registry_peers(r, pin_cb, &got);
    assert_false(got.admin_tls || got.admin_pin_ok);
    nmd_registry_destroy(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_peer_lifecycle),    cmocka_unit_test(test_goodbye_and_restart),
        cmocka_unit_test(test_service_changes),   cmocka_unit_test(test_large_table_fetch),
        cmocka_unit_test(test_backend_instances), cmocka_unit_test(test_backends_merge),
        cmocka_unit_test(test_admin_pin),         cmocka_unit_test(test_key_changes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
