/*
 * test_route.c - routes and query parameters of the admin endpoint: every route by its
 * path, nothing else (no prefix, traversal or trailing slash matches), sorting and
 * paging accepted within bounds and refused with a reason otherwise.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "route.h"

static void test_routes(void **state)
{
    (void)state;
    assert_int_equal(nma_route_find("/api/v1/node"), NMA_NODE);
    assert_int_equal(nma_route_find("/api/v1/peers"), NMA_PEERS);
    assert_int_equal(nma_route_find("/api/v1/services"), NMA_SERVICES);
    assert_int_equal(nma_route_find("/api/v1/sockets"), NMA_SOCKETS);
    assert_int_equal(nma_route_find("/api/v1/summary"), NMA_SUMMARY);
    assert_int_equal(nma_route_find("/api/v1/topology"), NMA_TOPOLOGY);
    assert_int_equal(nma_route_find("/api/v1/events"), NMA_EVENTS);
    assert_int_equal(nma_route_find("/metrics"), NMA_METRICS);
    assert_int_equal(nma_route_find("/healthz"), NMA_HEALTHZ);
    assert_int_equal(nma_route_find("/"), NMA_ASSET);
    assert_int_equal(nma_route_find("/app.js"), NMA_ASSET);
    const char *bad[] = {
        "",   "/api/v1/node/", "/api/v1/nodes", "/api/v1/../v1/node", "/../etc/passwd",
        "//", "/API/V1/NODE",  "/metrics.txt"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(nma_route_find(bad[i]), NMA_NOT_FOUND);
}

static void test_query(void **state)
{
    (void)state;
    nma_query q;
    char err[160];
    nma_query_init(&q);
    assert_int_equal(q.limit, NMA_LIMIT_DEFAULT);
    assert_int_equal(nma_query_set(&q, NMA_PEERS, "sort", "last_seen", err, sizeof(err)), 0);
    assert_int_equal(q.sort, NMA_SORT_LAST_SEEN);
    assert_int_equal(nma_query_set(&q, NMA_PEERS, "order", "desc", err, sizeof(err)), 0);
    assert_true(q.desc);
    assert_int_equal(nma_query_set(&q, NMA_SOCKETS, "sort", "drops", err, sizeof(err)), 0);
    assert_int_equal(q.sort, NMA_SORT_DROPS);
    assert_int_equal(nma_query_set(&q, NMA_SOCKETS, "limit", "1000", err, sizeof(err)), 0);
    assert_int_equal(q.limit, 1000);
    assert_int_equal(nma_query_set(&q, NMA_SOCKETS, "offset", "7", err, sizeof(err)), 0);
    assert_int_equal(q.offset, 7);
    assert_int_equal(nma_query_set(&q, NMA_PEERS, "whatever", "x", err, sizeof(err)), 0);
    /* Refused, with a reason, and the query left as it was. */
    const char *bad[][3] = {{"sort", "drops", "peers"},   {"sort", "", "peers"},
                            {"order", "up", "peers"},     {"limit", "0", "sockets"},
                            {"limit", "1001", "sockets"}, {"limit", "-1", "sockets"},
                            {"limit", "1e3", "sockets"},  {"offset", "", "sockets"},
                            {"offset", NULL, "sockets"},  {"sort", NULL, "sockets"}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        int route = strcmp(bad[i][2], "peers") == 0 ? NMA_PEERS : NMA_SOCKETS;
        assert_int_equal(nma_query_set(&q, route, bad[i][0], bad[i][1], err, sizeof(err)), -EINVAL);
        assert_true(err[0] != '\0');
        assert_int_equal(q.limit, 1000);
        assert_int_equal(q.offset, 7);
    }
    /* Routes without a query ignore parameters. */
    assert_int_equal(nma_query_set(&q, NMA_NODE, "limit", "0", err, sizeof(err)), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routes),
        cmocka_unit_test(test_query),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
