/*
 * test_unbind.c - undoing binds and inproc connects, as libzmq programs do with
 * zmq_unbind and zmq_disconnect: a tcp unbind stops listening and closes what was
 * accepted there (the port is free again), a wildcard is unbound only by the endpoint it
 * got, an ipc unbind removes the file, an inproc unbind frees the name (links stay), and
 * an inproc disconnect drops the links the socket made.
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
