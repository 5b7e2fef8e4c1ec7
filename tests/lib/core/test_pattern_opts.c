/*
 * test_pattern_opts.c - the pattern options libzmq programs use, over tcp:
 * NM_XPUB_VERBOSER, NM_PROBE_ROUTER, NM_STREAM_NOTIFY, NM_CONNECT_ROUTING_ID,
 * NM_XPUB_WELCOME_MSG and NM_INVERT_MATCHING.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "testutil.h"

static void test_xpub_verboser(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *xpub = tu_sock(ctx, NM_XPUB), *a = tu_sock(ctx, NM_SUB), *b = tu_sock(ctx, NM_SUB);
    TU_OK(nm_sock_setopt_int(xpub, NM_XPUB_VERBOSER, 1));
    char ep[TU_EP_MAX];
    tu_bind_tcp(xpub, ep, sizeof(ep));
    TU_OK(nm_sock_connect(a, ep));
    TU_OK(nm_sock_connect(b, ep));
    TU_OK(nm_sock_setopt(a, NM_SUBSCRIBE, "t", 1));
    tu_recv_strs(xpub, 1, "\x01t");
    TU_OK(nm_sock_setopt(b, NM_SUBSCRIBE, "t", 1));
    tu_recv_strs(xpub, 1, "\x01t"); /* verbose: the second subscribe too */
    TU_OK(nm_sock_setopt(a, NM_UNSUBSCRIBE, "t", 1));
    nm_msg_t m; /* verboser: a cancel while b still holds it */
    nm_msg_init(&m);
    tu_recv(xpub, &m);
    tu_assert_frame_mem(&m, 0, "\x00t", 2);
    nm_msg_close(&m);
    nm_sock_close(&a);
    nm_sock_close(&b);
    nm_sock_close(&xpub);
    tu_ctx_destroy(&ctx);
}

static void test_probe_router(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *router = tu_sock(ctx, NM_ROUTER), *dealer = tu_sock(ctx, NM_DEALER);
    char ep[TU_EP_MAX];
    tu_bind_tcp(router, ep, sizeof(ep));
    tu_set_id(dealer, "prober");
    TU_OK(nm_sock_setopt_int(dealer, NM_PROBE_ROUTER, 1));
    TU_OK(nm_sock_connect(dealer, ep));
    tu_recv_strs(router, 2, "prober", ""); /* the probe, before anything was sent */
    nm_sock_close(&dealer);
    nm_sock_close(&router);
    tu_ctx_destroy(&ctx);
}

static void test_stream_notify_off(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *stream = tu_sock(ctx, NM_STREAM);
    TU_OK(nm_sock_setopt_int(stream, NM_STREAM_NOTIFY, 0));
    char ep[TU_EP_MAX];
    tu_bind_tcp(stream, ep, sizeof(ep));
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(atoi(strrchr(ep, ':') + 1))};
    inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    assert_int_equal(write(fd, "raw", 3), 3);
    nm_msg_t m;
    nm_msg_init(&m);
    tu_recv(stream, &m);
    assert_int_equal(nm_msg_count(&m), 2);
    tu_assert_frame(&m, 1, "raw"); /* no empty "connected" message first */
    nm_msg_close(&m);
    close(fd);
    tu_recv_none(stream, 200); /* nor a "disconnected" one */
    nm_sock_close(&stream);
    tu_ctx_destroy(&ctx);
}

static void test_connect_routing_id(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *server = tu_sock(ctx, NM_ROUTER), *client = tu_sock(ctx, NM_ROUTER);
    char ep[TU_EP_MAX];
    tu_bind_tcp(server, ep, sizeof(ep));
    tu_set_id(client, "client");
    TU_OK(nm_sock_setopt(client, NM_CONNECT_ROUTING_ID, "srv", 3));
    TU_OK(nm_sock_setopt_int(client, NM_ROUTER_MANDATORY, 1));
    TU_OK(nm_sock_connect(client, ep));
    assert_int_equal(nm_sock_wait_peers(client, 1, 5000), 1);
    tu_send_strs(client, 2, "srv", "hello"); /* addressed by the id we chose */
    tu_recv_strs(server, 2, "client", "hello");
    TU_RC(nm_sock_setopt(server, NM_CONNECT_ROUTING_ID, "x", 1), 0);
    nm_sock_t *pub = tu_sock(ctx, NM_PUB);
    TU_RC(nm_sock_setopt(pub, NM_CONNECT_ROUTING_ID, "x", 1), -EINVAL); /* ROUTER, STREAM */
    nm_sock_close(&pub);
    nm_sock_close(&client);
    nm_sock_close(&server);
    tu_ctx_destroy(&ctx);
}

static void test_xpub_welcome_msg(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *xpub = tu_sock(ctx, NM_XPUB), *sub = tu_sock(ctx, NM_SUB);
    TU_OK(nm_sock_setopt(xpub, NM_XPUB_WELCOME_MSG, "W", 1));
    char ep[TU_EP_MAX];
    tu_bind_tcp(xpub, ep, sizeof(ep));
    TU_OK(nm_sock_setopt(sub, NM_SUBSCRIBE, "W", 1));
    TU_OK(nm_sock_connect(sub, ep));
    tu_recv_strs(xpub, 1, "\x01W"); /* the XPUB takes its new subscriber in a call */
    tu_recv_strs(sub, 1, "W");
    nm_sock_close(&sub);
    nm_sock_close(&xpub);
    tu_ctx_destroy(&ctx);
}

static void test_invert_matching(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *pub = tu_sock(ctx, NM_PUB), *sub = tu_sock(ctx, NM_SUB);
    TU_OK(nm_sock_setopt_int(pub, NM_INVERT_MATCHING, 1));
    TU_OK(nm_sock_setopt_int(sub, NM_INVERT_MATCHING, 1));
    char ep[TU_EP_MAX];
    tu_bind_tcp(pub, ep, sizeof(ep));
    TU_OK(nm_sock_setopt(sub, NM_SUBSCRIBE, "a", 1));
    TU_OK(nm_sock_connect(sub, ep));
    assert_int_equal(nm_sock_wait_peers(pub, 1, 5000), 1);
    tu_sleep_ms(100); /* the subscription travels */
    tu_send_str(pub, "a-skipped");
    tu_send_str(pub, "b-delivered");
    tu_recv_strs(sub, 1, "b-delivered");
    tu_recv_none(sub, 100);
    nm_sock_close(&sub);
    nm_sock_close(&pub);
    tu_ctx_destroy(&ctx);
}

static void test_xpub_nodrop(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *pub = tu_sock(ctx, NM_PUB), *sub = tu_sock(ctx, NM_SUB);
    TU_OK(nm_sock_setopt_int(pub, NM_XPUB_NODROP, 1));
    TU_OK(nm_sock_setopt_int(pub, NM_SNDHWM, 2));
    TU_OK(nm_sock_setopt_int(sub, NM_RCVHWM, 2));
    TU_OK(nm_sock_setopt(sub, NM_SUBSCRIBE, "", 0));
    TU_OK(nm_sock_bind(pub, "inproc://nodrop"));
    TU_OK(nm_sock_connect(sub, "inproc://nodrop"));
    tu_sleep_ms(50); /* the subscription reaches the PUB */
    int sent = 0, rc;
    while ((rc = nm_sock_send_bytes(pub, "m", 1, NM_DONTWAIT)) == 0)
        sent++;
    TU_RC(rc, -EAGAIN); /* full: the sender is told, nothing is dropped */
    assert_true(sent >= 2);
    for (int i = 0; i < sent; i++)
        tu_recv_strs(sub, 1, "m");
    TU_OK(nm_sock_send_bytes(pub, "after", 5, 0)); /* room again */
    tu_recv_strs(sub, 1, "after");
    assert_int_equal(tu_totals_of(ctx, NM_PUB).drops, 0);
    nm_sock_close(&sub);
    nm_sock_close(&pub);
    tu_ctx_destroy(&ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xpub_verboser),     cmocka_unit_test(test_probe_router),
        cmocka_unit_test(test_stream_notify_off), cmocka_unit_test(test_connect_routing_id),
        cmocka_unit_test(test_xpub_welcome_msg),  cmocka_unit_test(test_invert_matching),
        cmocka_unit_test(test_xpub_nodrop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
