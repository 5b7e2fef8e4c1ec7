/*
 * test_security_view.c - what the admin endpoint says about security (admin/API.md): a
 * server given this node's CURVE public key reports it as curve_key in /api/v1/node,
 * /api/v1/summary and its own node of /api/v1/topology, and "" without one; a key that
 * is not 40 characters is refused.  The topology's edges carry the mechanism of real
 * connections: two socket pairs of one context over tcp, one with CURVE and one
 * without, become two edges saying CURVE and NULL.
 */
#include <jansson.h>

#include "../lib/core/testutil.h"
#include "admin.h"

/* The body of GET path from the server at url ("http://127.0.0.1:PORT/") as JSON. */
static json_t *get_json(const char *url, const char *path)
{
    int port = atoi(strrchr(url, ':') + 1);
    int fd = tu_raw_connect(port);
    char req[256];
    snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
    tu_raw_send(fd, req, strlen(req));
    static char resp[1 << 16];
    size_t n = 0;
    ssize_t got;
    while (n < sizeof(resp) - 1 && (got = read(fd, resp + n, sizeof(resp) - 1 - n)) > 0)
        n += (size_t)got;
    close(fd);
    resp[n] = '\0';
    assert_true(strncmp(resp, "HTTP/1.0 200", 12) == 0 || strncmp(resp, "HTTP/1.1 200", 12) == 0);
    const char *body = strstr(resp, "\r\n\r\n");
    assert_non_null(body);
    json_error_t err;
    json_t *j = json_loads(body + 4, 0, &err);
    if (j == NULL)
        fail_msg("GET %s: not JSON (%s): %s", path, err.text, body + 4);
    return j;
}

static const char *str_at(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_string(v))
        fail_msg("\"%s\" is not a string", key);
    return json_string_value(v);
}

/* The curve_key of node, summary and the topology's own node of the server at url. */
static void assert_curve_key(const char *url, const char *want)
{
    json_t *node = get_json(url, "/api/v1/node");
    json_t *sum = get_json(url, "/api/v1/summary");
    json_t *topo = get_json(url, "/api/v1/topology");
    assert_string_equal(str_at(node, "curve_key"), want);
    assert_string_equal(str_at(sum, "curve_key"), want);
    json_t *self = json_array_get(json_object_get(topo, "nodes"), 0);
    assert_string_equal(str_at(self, "state"), "self");
    assert_string_equal(str_at(self, "curve_key"), want);
    json_decref(node);
    json_decref(sum);
    json_decref(topo);
}

static void test_curve_key(void **state)
{
    (void)state;
    uint8_t pub[32], sec[32];
    char key[41];
    TU_OK(nm_curve_keypair(pub, sec));
    assert_non_null(nm_z85_encode(key, pub, sizeof(pub)));
    nma_server *s = NULL;
    nma_config cfg = {.addr = "127.0.0.1:0", .curve_public = key};
    TU_OK(nma_start(&s, &cfg));
    assert_curve_key(nma_url(s), key);
    nma_stop(&s);

    cfg.curve_public = NULL; /* no certificate */
    TU_OK(nma_start(&s, &cfg));
    assert_curve_key(nma_url(s), "");
    nma_stop(&s);

    key[39] = '\0'; /* 39 characters: not a key */
    cfg.curve_public = key;
    TU_RC(nma_start(&s, &cfg), -EINVAL);
    assert_null(s);
}

/* The topology's edge of the connection to ep (as bound), or NULL. */
static json_t *edge_to(json_t *topo, const char *ep)
{
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(topo, "edges"), i, e)
    {
        if (strcmp(str_at(e, "endpoint"), ep) == 0)
            return e;
    }
    return NULL;
}

static void test_edge_mechanism(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    uint8_t spub[32], ssec[32], cpub[32], csec[32];
    TU_OK(nm_curve_keypair(spub, ssec));
    TU_OK(nm_curve_keypair(cpub, csec));
    /* CURVE: a DEALER pair; NULL: a PUSH/PULL pair. */
    nm_sock_t *srv = tu_sock(ctx, NM_DEALER), *cli = tu_sock(ctx, NM_DEALER);
    TU_OK(nm_sock_setopt_int(srv, NM_CURVE_SERVER, 1));
    TU_OK(nm_sock_setopt(srv, NM_CURVE_SECRETKEY, ssec, 32));
    TU_OK(nm_sock_setopt(cli, NM_CURVE_SERVERKEY, spub, 32));
    TU_OK(nm_sock_setopt(cli, NM_CURVE_PUBLICKEY, cpub, 32));
    TU_OK(nm_sock_setopt(cli, NM_CURVE_SECRETKEY, csec, 32));
    nm_sock_t *pull = tu_sock(ctx, NM_PULL), *push = tu_sock(ctx, NM_PUSH);
    char curve_ep[TU_EP_MAX], null_ep[TU_EP_MAX];
    tu_bind_tcp(srv, curve_ep, sizeof(curve_ep));
    tu_bind_tcp(pull, null_ep, sizeof(null_ep));
    TU_OK(nm_sock_connect(cli, curve_ep));
    TU_OK(nm_sock_connect(push, null_ep));
    tu_wait_active(ctx, NM_DEALER, 2);
    tu_wait_active(ctx, NM_PULL, 1);
    tu_wait_active(ctx, NM_PUSH, 1);

    nma_server *s = NULL;
    nma_config cfg = {.addr = "127.0.0.1:0", .ctx = ctx};
    TU_OK(nma_start(&s, &cfg));
    json_t *topo = get_json(nma_url(s), "/api/v1/topology");
    json_t *curve = edge_to(topo, curve_ep), *plain = edge_to(topo, null_ep);
    if (curve == NULL || plain == NULL)
        fail_msg("no edges to %s and %s in %s", curve_ep, null_ep, json_dumps(topo, 0));
    /* Both ends are this node's: each connection is one edge, its ends matched. */
    assert_string_equal(str_at(curve, "to"), str_at(curve, "from"));
    assert_string_equal(str_at(curve, "mechanism"), "CURVE");
    assert_string_equal(str_at(plain, "mechanism"), "NULL");
    json_decref(topo);
    nma_stop(&s);

    nm_sock_close(&cli);
    nm_sock_close(&srv);
    nm_sock_close(&push);
    nm_sock_close(&pull);
    tu_ctx_destroy(&ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_curve_key),
        cmocka_unit_test(test_edge_mechanism),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
