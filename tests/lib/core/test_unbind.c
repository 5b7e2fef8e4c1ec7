/*
 * test_unbind.c - undoing binds and inproc connects, as libzmq programs do with
 * zmq_unbind and zmq_disconnect: a tcp unbind stops listening and closes what was
 * accepted there (the port is free again), a wildcard is unbound only by the endpoint it
 * got, an ipc unbind removes the file, an inproc unbind frees the name (links stay), and
 * an inproc disconnect drops the links the socket made.  A tcp or ipc unbind is done
 * when it returns: nothing the peer sends afterwards arrives, not even through a
 * receive that reads the connection itself.  Closing a socket whose ipc path another
 * socket has bound since leaves that socket's file alone.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

static void test_tcp_unbind(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *pull = tu_sock(ctx, NM_PULL), *push = tu_sock(ctx, NM_PUSH);
    TU_OK(nm_sock_bind(pull, "tcp://127.0.0.1:*"));
    char ep[TU_EP_MAX];
    tu_last_endpoint(pull, ep, sizeof(ep));
    int port = atoi(strrchr(ep, ':') + 1);
    TU_OK(nm_sock_connect(push, ep));
    tu_send_str(push, "before");
    tu_recv_strs(pull, 1, "before");

    TU_RC(nm_sock_unbind(pull, "tcp://127.0.0.1:*"), -ENOENT); /* by what it got */
    TU_OK(nm_sock_unbind(pull, ep));
    TU_RC(nm_sock_unbind(pull, ep), -ENOENT);
    int64_t deadline = tu_now_ms() + 2000;
    while (tu_tcp_listening("127.0.0.1", port))
        assert_true(tu_now_ms() < deadline);
    /* The accepted connection went too: what the PUSH sends now waits in its queue. */
    tu_sleep_ms(100);
    tu_send_str(push, "after");
    tu_recv_none(pull, 200);
    /* The port is free: bound again, the PUSH reconnects and delivers. */
    TU_OK(nm_sock_bind(pull, ep));
    tu_recv_strs(pull, 1, "after");
    nm_sock_close(&push);
    nm_sock_close(&pull);
    tu_ctx_destroy(&ctx);
}

static void test_ipc_unbind(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *pull = tu_sock(ctx, NM_PULL);
    TU_OK(nm_sock_bind(pull, "ipc://*"));
    char ep[TU_EP_MAX];
    tu_last_endpoint(pull, ep, sizeof(ep));
    struct stat st;
    assert_int_equal(stat(ep + 6, &st), 0);
    TU_OK(nm_sock_unbind(pull, ep));
    int64_t deadline = tu_now_ms() + 2000;
    while (stat(ep + 6, &st) == 0)
        assert_true(tu_now_ms() < deadline);
    nm_sock_close(&pull);
    tu_ctx_destroy(&ctx);
}

/* Five times: a round trip between PAIRs (so the receiver reads its only connection
 * directly), an unbind, and a message the peer sends right after, which must not come
 * (the peer does not reconnect: RECONNECT_IVL -1). */
static void test_unbind_done_on_return(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    char dir[64], name[16], ep[TU_EP_MAX];
    tu_tmpdir(dir, sizeof(dir));
    for (int i = 0; i < 5; i++) {
        nm_sock_t *a = tu_sock(ctx, NM_PAIR), *b = tu_sock(ctx, NM_PAIR);
        snprintf(name, sizeof(name), "done-%d", i);
        tu_bind_ipc(a, dir, name, ep, sizeof(ep));
        TU_OK(nm_sock_setopt_int(b, NM_RECONNECT_IVL, -1));
        TU_OK(nm_sock_connect(b, ep));
        tu_send_str(b, "ping");
        tu_recv_str(a, "ping");
        tu_send_str(a, "pong");
        tu_recv_str(b, "pong");
        TU_OK(nm_sock_unbind(a, ep));
        struct stat st;
        assert_int_not_equal(stat(ep + 6, &st), 0);             /* the file went with the call */
        int rc = nm_sock_send_bytes(b, "late", 4, NM_DONTWAIT); /* queued, or no pipe */
        assert_true(rc == 0 || rc == -EAGAIN);
        tu_recv_none(a, 100);
        nm_sock_close(&a);
        nm_sock_close(&b);
    }
    tu_ctx_destroy(&ctx);
    tu_tmpdir_remove(dir);
}

/* Socket a binds an ipc path, b binds it again (taking the path over, as libzmq does),
 * a closes: b's file stays and b is still reached there. */
static void test_ipc_rebind_over_live(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    char dir[64], ep[TU_EP_MAX];
    tu_tmpdir(dir, sizeof(dir));
    nm_sock_t *a = tu_sock(ctx, NM_PULL), *b = tu_sock(ctx, NM_PULL);
    tu_bind_ipc(a, dir, "shared", ep, sizeof(ep));
    tu_bind_ipc(b, dir, "shared", ep, sizeof(ep));
    nm_sock_close(&a);
    tu_sleep_ms(100); /* a's listener is closed by now */
    struct stat st;
    assert_int_equal(stat(ep + 6, &st), 0);
    nm_sock_t *push = tu_sock(ctx, NM_PUSH);
    TU_OK(nm_sock_connect(push, ep));
    tu_send_str(push, "to b");
    tu_recv_str(b, "to b");
    nm_sock_close(&push);
    nm_sock_close(&b);
    tu_ctx_destroy(&ctx);
    tu_tmpdir_remove(dir);
}

static void test_inproc_unbind_and_disconnect(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *pull = tu_sock(ctx, NM_PULL), *push = tu_sock(ctx, NM_PUSH);
    TU_OK(nm_sock_bind(pull, "inproc://undo"));
    TU_OK(nm_sock_connect(push, "inproc://undo"));
    TU_RC(nm_sock_unbind(push, "inproc://undo"), -ENOENT); /* push did not bind it */
    TU_OK(nm_sock_unbind(pull, "inproc://undo"));
    tu_send_str(push, "link stays"); /* links made through the name stay */
    tu_recv_strs(pull, 1, "link stays");
    nm_sock_t *other = tu_sock(ctx, NM_PULL);
    TU_OK(nm_sock_bind(other, "inproc://undo")); /* the name is free */

    TU_OK(nm_sock_disconnect(push, "inproc://undo"));
    TU_RC(nm_sock_disconnect(push, "inproc://undo"), -ENOENT);
    TU_RC(nm_sock_send_bytes(push, "x", 1, NM_DONTWAIT), -EAGAIN); /* no pipe left */
    tu_recv_none(pull, 100);
    /* A connect still waiting for its bind is undone too. */
    TU_OK(nm_sock_connect(push, "inproc://later"));
    TU_OK(nm_sock_disconnect(push, "inproc://later"));
    TU_OK(nm_sock_bind(pull, "inproc://later"));
    TU_RC(nm_sock_send_bytes(push, "x", 1, NM_DONTWAIT), -EAGAIN);
    nm_sock_close(&other);
    nm_sock_close(&push);
    nm_sock_close(&pull);
    tu_ctx_destroy(&ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tcp_unbind),
        cmocka_unit_test(test_ipc_unbind),
        cmocka_unit_test(test_inproc_unbind_and_disconnect),
        cmocka_unit_test(test_unbind_done_on_return),
        cmocka_unit_test(test_ipc_rebind_over_live),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
