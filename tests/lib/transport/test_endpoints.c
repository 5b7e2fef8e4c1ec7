/*
 * test_endpoints.c - the endpoint forms libzmq programs use beyond host:port: a bind to
 * tcp://HOST:* (any free port), a connect from a source address or interface
 * (tcp://SRC;HOST:PORT), a bind to ipc://\* (a fresh private path, removed on close),
 * Linux's abstract ipc://@name, and an ipc path bound again at once after a close.
 */
#include <sys/stat.h>

#include "../core/testutil.h"

/* One message from a PUSH connected to ep reaches the PULL bound there. */
static void roundtrip(nm_sock_t *pull, nm_ctx_t *ctx, const char *ep)
{
    nm_sock_t *push = tu_sock(ctx, NM_PUSH);
    TU_OK(nm_sock_connect(push, ep));
    tu_send_str(push, "across");
    tu_recv_strs(pull, 1, "across");
    nm_sock_close(&push);
}

static void test_tcp_any_port(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *pull = tu_sock(ctx, NM_PULL);
    TU_OK(nm_sock_bind(pull, "tcp://127.0.0.1:*"));
    char ep[TU_EP_MAX];
    tu_last_endpoint(pull, ep, sizeof(ep));
    int port = 0;
    assert_int_equal(sscanf(ep, "tcp://127.0.0.1:%d", &port), 1);
    assert_true(port > 0);
    roundtrip(pull, ctx, ep);
    nm_sock_t *push = tu_sock(ctx, NM_PUSH);
    TU_RC(nm_sock_connect(push, "tcp://127.0.0.1:*"), -EINVAL); /* only a bind may */
    nm_sock_close(&push);
    nm_sock_close(&pull);
    tu_ctx_destroy(&ctx);
}

/* The peer address the PULL's one pipe saw. */
static void peer_cb(void *arg, const nm_sock_stats_t *sock, const nm_pipe_stats_t *st)
{
    if (sock->type == NM_PULL && st->peer[0] != '\0')
        strcpy(arg, st->peer);
}

static void test_tcp_source_address(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *pull = tu_sock(ctx, NM_PULL);
    char ep[TU_EP_MAX], src[TU_EP_MAX + 32], peer[TU_EP_MAX] = "";
    tu_bind_tcp(pull, ep, sizeof(ep));
    snprintf(src, sizeof(src), "tcp://127.0.0.2;%s", ep + 6);
    nm_sock_t *push = tu_sock(ctx, NM_PUSH);
    TU_OK(nm_sock_connect(push, src));
    tu_send_str(push, "from 127.0.0.2");
    tu_recv_strs(pull, 1, "from 127.0.0.2");
    nm_ctx_stats(ctx, NULL, peer_cb, peer); /* while connected */
    assert_true(strncmp(peer, "tcp://127.0.0.2:", 16) == 0);
    nm_sock_close(&push);

    /* A source named by its interface (libzmq's tcp://lo:PORT;HOST:PORT): lo's address
     * and the port asked for. */
    int sport = tu_free_tcp_port();
    char want[64];
    snprintf(src, sizeof(src), "tcp://lo:%d;%s", sport, ep + 6);
    snprintf(want, sizeof(want), "tcp://127.0.0.1:%d", sport);
    push = tu_sock(ctx, NM_PUSH);
    TU_OK(nm_sock_connect(push, src));
    tu_send_str(push, "from lo");
    tu_recv_strs(pull, 1, "from lo");
    peer[0] = '\0';
    nm_ctx_stats(ctx, NULL, peer_cb, peer);
    assert_string_equal(peer, want);
    nm_sock_close(&push);

    push = tu_sock(ctx, NM_PUSH);
    TU_RC(nm_sock_connect(push, "tcp://nosuchif0;127.0.0.1:5"), -EINVAL);
    TU_RC(nm_sock_connect(push, "tcp://;127.0.0.1:5"), -EINVAL);
    TU_RC(nm_sock_bind(push, "tcp://127.0.0.2;127.0.0.1:0"), -EINVAL); /* connect only */
    nm_sock_close(&push);
    nm_sock_close(&pull);
    tu_ctx_destroy(&ctx);
}

static void test_ipc_any_path(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *pull = tu_sock(ctx, NM_PULL);
    TU_OK(nm_sock_bind(pull, "ipc://*"));
    char ep[TU_EP_MAX];
    tu_last_endpoint(pull, ep, sizeof(ep));
    assert_true(strncmp(ep, "ipc:///tmp/nomid-ipc-", 21) == 0);
    struct stat st;
    assert_int_equal(stat(ep + 6, &st), 0);
    roundtrip(pull, ctx, ep);
    nm_sock_close(&pull);
    tu_ctx_destroy(&ctx);
    assert_int_not_equal(stat(ep + 6, &st), 0); /* the file and its directory are gone */
    *strrchr(ep, '/') = '\0';
    assert_int_not_equal(stat(ep + 6, &st), 0);
}

static void test_ipc_abstract(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *pull = tu_sock(ctx, NM_PULL);
    char name[64], ep[TU_EP_MAX];
    snprintf(name, sizeof(name), "ipc://@nomid-test-%d", (int)getpid());
    TU_OK(nm_sock_bind(pull, name));
    tu_last_endpoint(pull, ep, sizeof(ep));
    assert_string_equal(ep, name);
    roundtrip(pull, ctx, name);
    nm_sock_t *push = tu_sock(ctx, NM_PUSH);
    TU_RC(nm_sock_bind(push, "ipc://@"), -EINVAL);
    nm_sock_close(&push);
    nm_sock_close(&pull);
    tu_ctx_destroy(&ctx);
}

/* A path bound again at once after its socket closed: the old listener, closing later on
 * the I/O thread, leaves the new file alone (libzmq's test_rebind_ipc). */
static void test_ipc_rebind(void **state)
{
    (void)state;
    char dir[64], ep[TU_EP_MAX];
    tu_tmpdir(dir, sizeof(dir));
    nm_ctx_t *ctx = tu_ctx();
    for (int i = 0; i < 20; i++) {
        nm_sock_t *old = tu_sock(ctx, NM_PULL);
        tu_bind_ipc(old, dir, "again", ep, sizeof(ep));
        nm_sock_close(&old);
        nm_sock_t *pull = tu_sock(ctx, NM_PULL);
        tu_bind_ipc(pull, dir, "again", ep, sizeof(ep));
        tu_sleep_ms(20); /* the old listener's close has run by now */
        struct stat st;
        assert_int_equal(stat(ep + 6, &st), 0);
        roundtrip(pull, ctx, ep);
        nm_sock_close(&pull);
    }
    tu_ctx_destroy(&ctx);
    tu_tmpdir_remove(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tcp_any_port), cmocka_unit_test(test_tcp_source_address),
        cmocka_unit_test(test_ipc_any_path), cmocka_unit_test(test_ipc_abstract),
        cmocka_unit_test(test_ipc_rebind),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
