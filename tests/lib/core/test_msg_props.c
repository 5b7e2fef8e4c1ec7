/*
 * test_msg_props.c - the properties of the connection a message came from (nm_props_t):
 * the peer's READY properties, Routing-Id, Peer-Address and the descriptor, shared by
 * every message of a connection and by copies, outliving the connection while held,
 * new with each connection, and absent where there is no connection (inproc, messages
 * the application made).  Run under ASan, a reference lost or dropped twice shows as a
 * leak or a use after free.
 */
#include <sys/un.h>

#include "testutil.h"

static void test_tcp_props(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *router = tu_sock(ctx, NM_ROUTER), *dealer = tu_sock(ctx, NM_DEALER);
    char ep[TU_EP_MAX];
    tu_bind_tcp(router, ep, sizeof(ep));
    tu_set_id(dealer, "abc");
    TU_OK(nm_sock_connect(dealer, ep));
    tu_send_str(dealer, "hello");
    nm_msg_t m, copy;
    nm_msg_init(&m);
    TU_OK(nm_sock_recv(router, &m, 0));
    const nm_props_t *p = nm_msg_props(&m);
    assert_non_null(p);
    assert_string_equal(nm_props_get(p, "Socket-Type", NULL), "DEALER");
    assert_string_equal(nm_props_get(p, "socket-type", NULL), "DEALER"); /* any case */
    size_t len = 0;
    assert_string_equal(nm_props_get(p, "Identity", &len), "abc");
    assert_int_equal(len, 3);
    assert_string_equal(nm_props_get(p, "Routing-Id", NULL), "abc");
    assert_string_equal(nm_props_get(p, "Peer-Address", NULL), "127.0.0.1");
    assert_null(nm_props_get(p, "X-Nothing", NULL));
    assert_null(nm_props_get(NULL, "Socket-Type", NULL));
    int fd = nm_props_fd(p);
    assert_true(fd >= 0);
    struct sockaddr_in sin;
    socklen_t slen = sizeof(sin);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &slen), 0);
    assert_int_equal(ntohs(sin.sin_port), tu_tcp_port(ep)); /* the accepted connection */

    /* A copy shares them; a reference of one's own outlives message and socket. */
    TU_OK(nm_msg_copy(&copy, &m));
    assert_ptr_equal(nm_msg_props(&copy), p);
    const nm_props_t *held = nm_props_hold(p);
    nm_msg_close(&m);
    assert_null(nm_msg_props(&m));
    assert_string_equal(nm_props_get(nm_msg_props(&copy), "Identity", NULL), "abc");
    nm_msg_close(&copy);
    nm_sock_close(&dealer);
    nm_sock_close(&router);
    tu_ctx_destroy(&ctx);
    assert_string_equal(nm_props_get(held, "Socket-Type", NULL), "DEALER");
    assert_int_equal(nm_props_fd(held), fd);
    nm_props_release(&held);
    assert_null(held);
    nm_props_release(&held); /* NULL: nothing */
    nm_props_release(NULL);
}

/* Past the engine's batch of references: every message holds its own. */
static void test_many_messages_and_a_new_connection(void **state)
{
    (void)state;
    enum { N = 2500 };
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *pull = tu_sock(ctx, NM_PULL), *push = tu_sock(ctx, NM_PUSH);
    TU_OK(nm_sock_setopt_int(pull, NM_RCVHWM, 0));
    TU_OK(nm_sock_setopt_int(push, NM_SNDHWM, 0));
    char ep[TU_EP_MAX];
    tu_bind_tcp(pull, ep, sizeof(ep));
    TU_OK(nm_sock_connect(push, ep));
    static nm_msg_t msgs[N];
    for (int i = 0; i < N; i++)
        TU_OK(nm_sock_send_bytes(push, "x", 1, 0));
    for (int i = 0; i < N; i++) {
        nm_msg_init(&msgs[i]);
        TU_OK(nm_sock_recv(pull, &msgs[i], 0));
        assert_ptr_equal(nm_msg_props(&msgs[i]), nm_msg_props(&msgs[0]));
    }
    const nm_props_t *first = nm_props_hold(nm_msg_props(&msgs[0]));
    for (int i = 0; i < N; i++)
        nm_msg_close(&msgs[i]);
    /* Another connection: properties of its own. */
    nm_sock_t *push2 = tu_sock(ctx, NM_PUSH);
    nm_sock_close(&push);
    TU_OK(nm_sock_connect(push2, ep));
    tu_send_str(push2, "again");
    nm_msg_t m;
    nm_msg_init(&m);
    TU_OK(nm_sock_recv(pull, &m, 0));
    assert_non_null(nm_msg_props(&m));
    assert_ptr_not_equal(nm_msg_props(&m), first);
    assert_string_equal(nm_props_get(nm_msg_props(&m), "Socket-Type", NULL), "PUSH");
    /* Sent on, a message leaves its properties behind (over inproc too). */
    nm_sock_t *in = tu_sock(ctx, NM_PAIR), *out = tu_sock(ctx, NM_PAIR);
    TU_OK(nm_sock_bind(in, "inproc://on"));
    TU_OK(nm_sock_connect(out, "inproc://on"));
    TU_OK(nm_sock_send(out, &m, 0));
    TU_OK(nm_sock_recv(in, &m, 0));
    tu_assert_frame(&m, 0, "again");
    assert_null(nm_msg_props(&m));
    nm_msg_close(&m);
    nm_sock_close(&out);
    nm_sock_close(&in);
    nm_props_release(&first);
    nm_sock_close(&push2);
    nm_sock_close(&pull);
    tu_ctx_destroy(&ctx);
}

static void test_no_props_without_a_connection(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *a = tu_sock(ctx, NM_PAIR), *b = tu_sock(ctx, NM_PAIR);
    TU_OK(nm_sock_bind(a, "inproc://props"));
    TU_OK(nm_sock_connect(b, "inproc://props"));
    tu_send_str(b, "hi");
    nm_msg_t m;
    nm_msg_init(&m);
    TU_OK(nm_sock_recv(a, &m, 0));
    assert_null(nm_msg_props(&m));
    assert_int_equal(nm_props_fd(nm_msg_props(&m)), -1);
    nm_msg_close(&m);
    nm_msg_init(&m);
    TU_OK(nm_msg_add(&m, "own", 3));
    assert_null(nm_msg_props(&m));
    nm_msg_close(&m);
    nm_sock_close(&b);
    nm_sock_close(&a);
    tu_ctx_destroy(&ctx);
}

static void test_ipc_props(void **state)
{
    (void)state;
    char dir[64], ep[TU_EP_MAX];
    tu_tmpdir(dir, sizeof(dir));
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *rep = tu_sock(ctx, NM_REP), *req = tu_sock(ctx, NM_REQ);
    tu_bind_ipc(rep, dir, "p.sock", ep, sizeof(ep));
    TU_OK(nm_sock_connect(req, ep));
    tu_send_str(req, "q");
    nm_msg_t m;
    nm_msg_init(&m);
    TU_OK(nm_sock_recv(rep, &m, 0)); /* the envelope went, the properties stay */
    const nm_props_t *p = nm_msg_props(&m);
    assert_string_equal(nm_props_get(p, "Socket-Type", NULL), "REQ");
    assert_null(nm_props_get(p, "Peer-Address", NULL));
    struct sockaddr_un sun;
    socklen_t slen = sizeof(sun);
    assert_int_equal(getsockname(nm_props_fd(p), (struct sockaddr *)&sun, &slen), 0);
    assert_int_equal(sun.sun_family, AF_UNIX);
    nm_msg_close(&m);
    tu_send_str(rep, "a");
    tu_recv_str(req, "a");
    nm_sock_close(&req);
    nm_sock_close(&rep);
    tu_ctx_destroy(&ctx);
    tu_tmpdir_remove(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tcp_props),
        cmocka_unit_test(test_many_messages_and_a_new_connection),
        cmocka_unit_test(test_no_props_without_a_connection),
        cmocka_unit_test(test_ipc_props),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
