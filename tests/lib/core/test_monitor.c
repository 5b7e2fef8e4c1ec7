/*
 * test_monitor.c - socket events published by nm_sock_monitor on an inproc PAIR.
 *
 * Every event is a message of three frames: 6 bytes (uint16 event, uint32 value,
 * little-endian), the endpoint, and a detail text.  A binding socket reports LISTENING,
 * then ACCEPTED and HANDSHAKE_SUCCEEDED for each peer and DISCONNECTED when the peer
 * goes; a connecting socket reports CONNECTED (maybe after CONNECT_DELAYED) and
 * HANDSHAKE_SUCCEEDED, or CONNECT_RETRIED while nobody listens; a peer that sends
 * garbage instead of a ZMTP greeting, or asks for an unknown security mechanism, gives
 * HANDSHAKE_FAILED with a reason.  A connection the socket ends itself (disconnect,
 * close) is not reported DISCONNECTED, as in libzmq: that event means lost.  The event
 * mask filters, and stopping the monitor says MONITOR_STOPPED.
 *
 * Order is checked only where it is causal (accept before handshake, handshake before
 * disconnect); other events may come in between and are skipped.
 */
#include "testutil.h"

static void test_monitor_bind_side(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *pull = tu_sock(ctx, NM_PULL);
    nm_sock_t *mon = tu_mon_open(ctx, pull, "mon-bind", NM_EVENT_ALL);
    char ep[TU_EP_MAX];
    tu_bind_tcp(pull, ep, sizeof(ep));
    tu_mon_event ev;
    tu_mon_expect(mon, NM_EVENT_LISTENING, &ev);
    assert_string_equal(ev.ep, ep);

    nm_sock_t *push = tu_sock(ctx, NM_PUSH);
    TU_OK(nm_sock_connect(push, ep));
    tu_mon_expect(mon, NM_EVENT_ACCEPTED, &ev);
    assert_string_equal(ev.ep, ep);
    uint32_t fd = ev.value; /* the accepted descriptor */
    tu_mon_expect(mon, NM_EVENT_HANDSHAKE_SUCCEEDED, &ev);
    tu_send_str(push, "hello");
    tu_recv_str(pull, "hello");

    nm_sock_close(&push);
    tu_mon_expect(mon, NM_EVENT_DISCONNECTED, &ev);
    assert_int_equal(ev.value, fd); /* as libzmq: the descriptor that was closed */
    tu_ctx_destroy(&ctx);
}

static void test_monitor_connect_side(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *pull = tu_sock(ctx, NM_PULL);
    char ep[TU_EP_MAX];
    tu_bind_tcp(pull, ep, sizeof(ep));
    nm_sock_t *push = tu_sock(ctx, NM_PUSH);
    nm_sock_t *mon = tu_mon_open(ctx, push, "mon-connect", NM_EVENT_ALL);
    TU_OK(nm_sock_connect(push, ep));

    /* CONNECTED, possibly after CONNECT_DELAYED, and nothing else before it. */
    tu_mon_event ev;
    for (;;) {
        if (!tu_mon_next(mon, &ev, 3000))
            fail_msg("no CONNECTED event");
        if (ev.event == NM_EVENT_CONNECTED)
            break;
        assert_int_equal(ev.event, NM_EVENT_CONNECT_DELAYED);
    }
    assert_string_equal(ev.ep, ep);
    tu_mon_expect(mon, NM_EVENT_HANDSHAKE_SUCCEEDED, &ev);
    assert_string_equal(ev.ep, ep);
    tu_send_str(push, "hello");
    tu_recv_str(pull, "hello");

    /* The peer goes away. */
    nm_sock_close(&pull);
    tu_mon_expect(mon, NM_EVENT_DISCONNECTED, &ev);
    assert_string_equal(ev.ep, ep);
    tu_ctx_destroy(&ctx);
}

static void test_monitor_connect_retried(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *push = tu_sock(ctx, NM_PUSH);
    TU_OK(nm_sock_setopt_int(push, NM_RECONNECT_IVL, 50));
    nm_sock_t *mon = tu_mon_open(ctx, push, "mon-retry", NM_EVENT_ALL);
    char ep[TU_EP_MAX];
    snprintf(ep, sizeof(ep), "tcp://127.0.0.1:%d", tu_free_tcp_port());
    TU_OK(nm_sock_connect(push, ep));
    tu_mon_event ev;
    tu_mon_expect(mon, NM_EVENT_CONNECT_RETRIED, &ev);
    assert_string_equal(ev.ep, ep);
    tu_mon_expect(mon, NM_EVENT_CONNECT_RETRIED, &ev); /* and again */
    tu_ctx_destroy(&ctx);
}

/* Bytes that are not a ZMTP handshake it can accept: HANDSHAKE_FAILED with a reason,
 * the connection is closed, and the socket serves real peers as before. */
static void handshake_failed(const void *bytes, size_t len)
{
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *pull = tu_sock(ctx, NM_PULL);
    nm_sock_t *mon = tu_mon_open(ctx, pull, "mon-garbage", NM_EVENT_ALL);
    char ep[TU_EP_MAX];
    tu_bind_tcp(pull, ep, sizeof(ep));
    tu_mon_expect(mon, NM_EVENT_LISTENING, NULL);

    int fd = tu_raw_connect(tu_tcp_port(ep));
    tu_raw_send(fd, bytes, len);
    tu_mon_event ev;
    tu_mon_expect(mon, NM_EVENT_ACCEPTED, &ev);
    tu_mon_expect(mon, NM_EVENT_HANDSHAKE_FAILED, &ev);
    assert_true(ev.detail_len > 0);
    assert_true(ev.detail[0] != '\0');

    /* Dropped: read (and ignore) whatever the socket sent until it closes. */
    int64_t deadline = tu_now_ms() + 2000;
    uint8_t b;
    while (tu_raw_recv(fd, &b, 1, 100) != 0)
        if (tu_now_ms() > deadline)
            fail_msg("the bad peer's connection was not closed");
    close(fd);

    nm_sock_t *push = tu_sock(ctx, NM_PUSH);
    TU_OK(nm_sock_connect(push, ep));
    tu_send_str(push, "real");
    tu_recv_str(pull, "real");
    tu_mon_expect(mon, NM_EVENT_HANDSHAKE_SUCCEEDED, NULL);
    tu_ctx_destroy(&ctx);
}

/* Not ZMTP at all (byte 0 is not 0xFF). */
static void test_monitor_handshake_garbage(void **state)
{
    (void)state;
    uint8_t junk[80];
    memset(junk, 'x', sizeof(junk));
    const char *http = "GET / HTTP/1.1\r\nHost: nomid\r\n\r\n";
    memcpy(junk, http, strlen(http));
    handshake_failed(junk, sizeof(junk));
}

/* A ZMTP 3.1 greeting asking for a security mechanism the socket does not use. */
static void test_monitor_handshake_bad_mechanism(void **state)
{
    (void)state;
    uint8_t g[64] = {0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 3, 1};
    memcpy(g + 12, "BOGUS", 5);
    handshake_failed(g, sizeof(g));
}

/* Only the events asked for are published. */
static void test_monitor_event_mask(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *pull = tu_sock(ctx, NM_PULL);
    const int mask = NM_EVENT_ACCEPTED | NM_EVENT_DISCONNECTED;
    nm_sock_t *mon = tu_mon_open(ctx, pull, "mon-mask", mask);
    char ep[TU_EP_MAX];
    tu_bind_tcp(pull, ep, sizeof(ep));
    nm_sock_t *push = tu_sock(ctx, NM_PUSH);
    TU_OK(nm_sock_connect(push, ep));
    tu_send_str(push, "hello");
    tu_recv_str(pull, "hello");
    tu_mon_event ev;
    assert_int_equal(tu_mon_next(mon, &ev, 3000), 1);
    assert_int_equal(ev.event, NM_EVENT_ACCEPTED);
    nm_sock_close(&push);
    assert_int_equal(tu_mon_next(mon, &ev, 3000), 1);
    assert_int_equal(ev.event, NM_EVENT_DISCONNECTED);
    while (tu_mon_next(mon, &ev, 100))
        assert_true((ev.event & mask) == ev.event);
    tu_ctx_destroy(&ctx);
}

/* Ending its own connections: nm_sock_disconnect, then closing the socket, give no
 * DISCONNECTED (nor CONNECT_RETRIED); closing stops the monitor. */
static void test_monitor_own_end(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *pull = tu_sock(ctx, NM_PULL);
    char ep[TU_EP_MAX];
    tu_bind_tcp(pull, ep, sizeof(ep));
    nm_sock_t *push = tu_sock(ctx, NM_PUSH);
    TU_OK(nm_sock_setopt_int(push, NM_LINGER, 0));
    nm_sock_t *mon = tu_mon_open(ctx, push, "mon-own", NM_EVENT_ALL);
    TU_OK(nm_sock_connect(push, ep));
    tu_mon_expect(mon, NM_EVENT_HANDSHAKE_SUCCEEDED, NULL);
    TU_OK(nm_sock_disconnect(push, ep));
    tu_recv_none(mon, 200);

    TU_OK(nm_sock_connect(push, ep));
    tu_mon_expect(mon, NM_EVENT_HANDSHAKE_SUCCEEDED, NULL);
    nm_sock_close(&push);
    tu_mon_event ev;
    assert_int_equal(tu_mon_next(mon, &ev, 3000), 1);
    assert_int_equal(ev.event, NM_EVENT_MONITOR_STOPPED);
    tu_ctx_destroy(&ctx);
}

/* Stopping: MONITOR_STOPPED, and later activity publishes nothing. */
static void test_monitor_stop(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *pull = tu_sock(ctx, NM_PULL);
    nm_sock_t *mon = tu_mon_open(ctx, pull, "mon-stop", NM_EVENT_ALL);
    char ep[TU_EP_MAX];
    tu_bind_tcp(pull, ep, sizeof(ep));
    tu_mon_expect(mon, NM_EVENT_LISTENING, NULL);
    TU_OK(nm_sock_monitor(pull, NULL, 0));
    tu_mon_expect(mon, NM_EVENT_MONITOR_STOPPED, NULL);
    nm_sock_t *push = tu_sock(ctx, NM_PUSH);
    TU_OK(nm_sock_connect(push, ep));
    tu_send_str(push, "hello");
    tu_recv_str(pull, "hello");
    tu_recv_none(mon, 200);
    tu_ctx_destroy(&ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_monitor_bind_side),
        cmocka_unit_test(test_monitor_connect_side),
        cmocka_unit_test(test_monitor_connect_retried),
        cmocka_unit_test(test_monitor_handshake_garbage),
        cmocka_unit_test(test_monitor_handshake_bad_mechanism),
        cmocka_unit_test(test_monitor_event_mask),
        cmocka_unit_test(test_monitor_stop),
        cmocka_unit_test(test_monitor_own_end),
    };
    return cmocka_run_group_tests_name("monitor", tests, NULL, NULL);
}
