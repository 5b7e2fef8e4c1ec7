/*
 * test_sock_router.c - DEALER and ROUTER, and their envelopes with REQ and REP.
 *
 * ROUTER receives [routing-id, body...]: the peer's NM_ROUTING_ID when it set one, else
 * a generated 5-byte id starting with 0x00; it replies by routing id; an unknown id is
 * dropped silently, or refused with -EHOSTUNREACH under ROUTER_MANDATORY (the message
 * staying with the caller).  Also DEALER-DEALER, ROUTER-ROUTER with identities,
 * REQ-ROUTER ([id, "", body]) and DEALER-REP (["", body] <-> [body]).  A ROUTER that
 * connects with NM_CONNECT_ROUTING_ID may address that peer at once, as in libzmq: the
 * messages wait for the connection.
 */
#include "testutil.h"

/* Receives on a ROUTER and returns the routing id (frame 0) in id/id_len; the message
 * stays in m for the caller to check the rest. */
static void router_recv(nm_sock_t *router, nm_msg_t *m, uint8_t *id, size_t *id_len)
{
    tu_recv(router, m);
    assert_true(nm_msg_count(m) >= 2);
    size_t n = nm_msg_size(m, 0);
    assert_true(n >= 1 && n <= 255);
    memcpy(id, nm_msg_data(m, 0), n);
    *id_len = n;
}

/* Sends [id, frames...] from a ROUTER; it must succeed. */
static void router_send(nm_sock_t *router, const void *id, size_t id_len, const char *body)
{
    nm_msg_t m;
    nm_msg_init(&m);
    TU_OK(nm_msg_add(&m, id, id_len));
    TU_OK(nm_msg_add(&m, body, strlen(body)));
    TU_OK(nm_sock_send(router, &m, 0));
    assert_int_equal(nm_msg_count(&m), 0);
    nm_msg_close(&m);
}

static void test_router_sees_routing_id(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *router = tu_sock(ctx, NM_ROUTER);
    nm_sock_t *dealer = tu_sock(ctx, NM_DEALER);
    tu_set_id(dealer, "dealer-1");
    uint8_t got[256];
    size_t got_len = sizeof(got);
    TU_OK(nm_sock_getopt(dealer, NM_ROUTING_ID, got, &got_len));
    assert_int_equal(got_len, 8);
    assert_memory_equal(got, "dealer-1", 8);
    char ep[TU_EP_MAX];
    tu_bind_tcp(router, ep, sizeof(ep));
    TU_OK(nm_sock_connect(dealer, ep));

    tu_send_strs(dealer, 1, "hello");
    tu_recv_strs(router, 2, "dealer-1", "hello");
    tu_send_strs(dealer, 4, "a", "", "b", "");
    tu_recv_strs(router, 5, "dealer-1", "a", "", "b", "");

    tu_send_strs(router, 2, "dealer-1", "world");
    tu_recv_str(dealer, "world");
    tu_send_strs(router, 4, "dealer-1", "", "x", "");
    tu_recv_strs(dealer, 3, "", "x", "");
    tu_ctx_destroy(&ctx);
}

static void test_router_generated_ids(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *router = tu_sock(ctx, NM_ROUTER);
    char ep[TU_EP_MAX];
    tu_bind_tcp(router, ep, sizeof(ep));
    nm_sock_t *d[2];
    uint8_t ids[2][256];
    size_t id_lens[2];
    for (int i = 0; i < 2; i++) {
        d[i] = tu_sock(ctx, NM_DEALER);
        TU_OK(nm_sock_connect(d[i], ep));
        char body[16];
        snprintf(body, sizeof(body), "from-%d", i);
        tu_send_str(d[i], body);
        nm_msg_t m;
        router_recv(router, &m, ids[i], &id_lens[i]);
        assert_int_equal(nm_msg_count(&m), 2);
        tu_assert_frame(&m, 1, body);
        nm_msg_close(&m);
        assert_int_equal(id_lens[i], 5);
        assert_int_equal(ids[i][0], 0x00);
    }
    assert_memory_not_equal(ids[0], ids[1], 5);
    /* The generated id sticks: a second message from the same peer carries it again. */
    tu_send_str(d[1], "again");
    nm_msg_t m;
    uint8_t id[256];
    size_t id_len;
    router_recv(router, &m, id, &id_len);
    assert_int_equal(id_len, 5);
    assert_memory_equal(id, ids[1], 5);
    nm_msg_close(&m);
    /* Replies by id reach the right peer. */
    router_send(router, ids[1], id_lens[1], "to-1");
    router_send(router, ids[0], id_lens[0], "to-0");
    tu_recv_str(d[0], "to-0");
    tu_recv_str(d[1], "to-1");
    tu_recv_none(d[0], 50);
    tu_ctx_destroy(&ctx);
}

static void test_router_unknown_id(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *router = tu_sock(ctx, NM_ROUTER);
    nm_sock_t *dealer = tu_sock(ctx, NM_DEALER);
    tu_set_id(dealer, "known");
    char ep[TU_EP_MAX];
    tu_bind_tcp(router, ep, sizeof(ep));
    TU_OK(nm_sock_connect(dealer, ep));
    tu_send_str(dealer, "hi");
    tu_recv_strs(router, 2, "known", "hi");

    /* Dropped silently: success, and the message is consumed. */
    nm_msg_t m;
    nm_msg_init(&m);
    tu_msg_strs(&m, 2, "nobody", "lost");
    TU_OK(nm_sock_send(router, &m, 0));
    assert_int_equal(nm_msg_count(&m), 0);
    tu_msg_strs(&m, 2, "nobody", "lost");
    TU_OK(nm_sock_send(router, &m, NM_DONTWAIT));
    assert_int_equal(nm_msg_count(&m), 0);
    /* The known peer is unaffected and sees only what was meant for it. */
    tu_send_strs(router, 2, "known", "yours");
    tu_recv_str(dealer, "yours");
    tu_recv_none(dealer, 50);

    /* ROUTER_MANDATORY: refused, and the message stays with the caller. */
    TU_OK(nm_sock_setopt_int(router, NM_ROUTER_MANDATORY, 1));
    tu_msg_strs(&m, 2, "nobody", "kept");
    TU_RC(nm_sock_send(router, &m, 0), -EHOSTUNREACH);
    tu_assert_strs(&m, 2, "nobody", "kept");
    TU_RC(nm_sock_send(router, &m, NM_DONTWAIT), -EHOSTUNREACH);
    tu_assert_strs(&m, 2, "nobody", "kept");
    nm_msg_close(&m);
    tu_send_strs(router, 2, "known", "still yours");
    tu_recv_str(dealer, "still yours");
    tu_ctx_destroy(&ctx);
}

static void test_dealer_dealer(void **state)
{
    (void)state;
    char dir[64];
    tu_tmpdir(dir, sizeof(dir));
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *a = tu_sock(ctx, NM_DEALER);
    nm_sock_t *b = tu_sock(ctx, NM_DEALER);
    char ep[TU_EP_MAX];
    tu_bind_ipc(a, dir, "dd.sock", ep, sizeof(ep));
    TU_OK(nm_sock_connect(b, ep));
    tu_send_strs(b, 2, "ping", "");
    tu_recv_strs(a, 2, "ping", "");
    tu_send_strs(a, 3, "", "pong", "x");
    tu_recv_strs(b, 3, "", "pong", "x");
    for (int i = 0; i < 10; i++) {
        char buf[16];
        snprintf(buf, sizeof(buf), "m%d", i);
        tu_send_str(b, buf);
    }
    for (int i = 0; i < 10; i++) {
        char buf[16];
        snprintf(buf, sizeof(buf), "m%d", i);
        tu_recv_str(a, buf);
    }
    tu_ctx_destroy(&ctx);
    tu_tmpdir_remove(dir);
}

static void test_router_router(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *server = tu_sock(ctx, NM_ROUTER);
    nm_sock_t *client = tu_sock(ctx, NM_ROUTER);
    tu_set_id(server, "server");
    tu_set_id(client, "client");
    TU_OK(nm_sock_setopt_int(client, NM_ROUTER_MANDATORY, 1));
    char ep[TU_EP_MAX];
    tu_bind_tcp(server, ep, sizeof(ep));
    TU_OK(nm_sock_connect(client, ep));

    /* The client learns the server's id from the handshake; until then, with
     * ROUTER_MANDATORY, sending to it is refused and the message kept. */
    nm_msg_t m;
    nm_msg_init(&m);
    tu_msg_strs(&m, 2, "server", "ping");
    int64_t deadline = tu_now_ms() + TU_RCVTIMEO;
    int rc;
    while ((rc = nm_sock_send(client, &m, NM_DONTWAIT)) == -EHOSTUNREACH) {
        tu_assert_strs(&m, 2, "server", "ping");
        if (tu_now_ms() > deadline)
            fail_msg("client ROUTER never saw the server's routing id");
        tu_sleep_ms(5);
    }
    TU_OK(rc);
    assert_int_equal(nm_msg_count(&m), 0);
    nm_msg_close(&m);

    tu_recv_strs(server, 2, "client", "ping");
    tu_send_strs(server, 3, "client", "pong", "");
    tu_recv_strs(client, 3, "server", "pong", "");
    tu_ctx_destroy(&ctx);
}

static void test_req_router_envelope(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *router = tu_sock(ctx, NM_ROUTER);
    nm_sock_t *req = tu_sock(ctx, NM_REQ);
    tu_set_id(req, "req-1");
    char ep[TU_EP_MAX];
    tu_bind_tcp(router, ep, sizeof(ep));
    TU_OK(nm_sock_connect(req, ep));
    for (int i = 0; i < 3; i++) {
        tu_send_str(req, "question");
        tu_recv_strs(router, 3, "req-1", "", "question");
        tu_send_strs(router, 3, "req-1", "", "answer");
        tu_recv_str(req, "answer");
    }
    /* Multipart request and reply bodies. */
    tu_send_strs(req, 2, "q1", "q2");
    tu_recv_strs(router, 4, "req-1", "", "q1", "q2");
    tu_send_strs(router, 4, "req-1", "", "a1", "a2");
    tu_recv_strs(req, 2, "a1", "a2");
    tu_ctx_destroy(&ctx);
}

static void test_dealer_rep_envelope(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *rep = tu_sock(ctx, NM_REP);
    nm_sock_t *dealer = tu_sock(ctx, NM_DEALER);
    char ep[TU_EP_MAX];
    tu_bind_tcp(rep, ep, sizeof(ep));
    TU_OK(nm_sock_connect(dealer, ep));
    tu_send_strs(dealer, 2, "", "body");
    tu_recv_str(rep, "body");
    tu_send_str(rep, "reply");
    tu_recv_strs(dealer, 2, "", "reply");
    /* A deeper envelope comes back whole. */
    tu_send_strs(dealer, 4, "hop-2", "hop-1", "", "body-2");
    tu_recv_str(rep, "body-2");
    tu_send_strs(rep, 2, "reply-2", "");
    tu_recv_strs(dealer, 5, "hop-2", "hop-1", "", "reply-2", "");
    tu_ctx_destroy(&ctx);
}

static void test_router_connect_rid_early(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *client = tu_sock(ctx, NM_ROUTER);
    tu_set_id(client, "client");
    TU_OK(nm_sock_setopt_int(client, NM_ROUTER_MANDATORY, 1));
    TU_OK(nm_sock_setopt_int(client, NM_RECONNECT_IVL, 20));
    TU_OK(nm_sock_setopt(client, NM_CONNECT_ROUTING_ID, "srv", 3));
    char ep[TU_EP_MAX];
    snprintf(ep, sizeof(ep), "tcp://127.0.0.1:%d", tu_free_tcp_port());
    TU_OK(nm_sock_connect(client, ep));
    TU_OK(nm_sock_send_ready(client, "srv", 3, NM_DONTWAIT)); /* nobody listens yet */
    tu_send_strs(client, 2, "srv", "early");
    TU_RC(nm_sock_send_ready(client, "other", 5, NM_DONTWAIT), -EHOSTUNREACH);
    nm_sock_t *server = tu_sock(ctx, NM_ROUTER);
    TU_OK(nm_sock_bind(server, ep));
    tu_recv_strs(server, 2, "client", "early");
    tu_send_strs(server, 2, "client", "late");
    tu_recv_strs(client, 2, "srv", "late");
    tu_ctx_destroy(&ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_router_sees_routing_id),
        cmocka_unit_test(test_router_generated_ids),
        cmocka_unit_test(test_router_unknown_id),
        cmocka_unit_test(test_dealer_dealer),
        cmocka_unit_test(test_router_router),
        cmocka_unit_test(test_req_router_envelope),
        cmocka_unit_test(test_dealer_rep_envelope),
        cmocka_unit_test(test_router_connect_rid_early),
    };
    return cmocka_run_group_tests_name("sock_router", tests, NULL, NULL);
}
