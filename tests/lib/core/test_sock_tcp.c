/*
 * test_sock_tcp.c - tcp specifics: IPv6 endpoints, the bound port of tcp://[::1]:0,
 * NM_TCP_KEEPALIVE on accepted connections (the monitor's ACCEPTED event names the
 * descriptor, as libzmq's does), and reconnect backoff (RECONNECT_IVL doubling up to
 * RECONNECT_IVL_MAX), observed with a raw listener that accepts and drops every connection attempt.
 */
#include "testutil.h"

#include <poll.h>

static void test_ipv6_loopback(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *pull = tu_sock(ctx, NM_PULL);
    nm_sock_t *push = tu_sock(ctx, NM_PUSH);
    char ep[TU_EP_MAX];
    TU_OK(nm_sock_bind(pull, "tcp://[::1]:0"));
    tu_last_endpoint(pull, ep, sizeof(ep));
    assert_true(strncmp(ep, "tcp://[::1]:", 12) == 0);
    assert_true(atoi(ep + 12) > 0);
    TU_OK(nm_sock_connect(push, ep));
    tu_send_str(push, "over ipv6");
    tu_recv_strs(pull, 1, "over ipv6");
    tu_ctx_destroy(&ctx);
}

/* Accepts and closes connections on fd for ms, recording up to max accept times. */
static int backoff_accepts(int fd, int64_t *at, int max, int ms)
{
    int n = 0;
    int64_t end = tu_now_ms() + ms;
    while (n < max && tu_now_ms() < end) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 20) <= 0)
            continue;
        int c = accept(fd, NULL, NULL);
        if (c >= 0) {
            at[n++] = tu_now_ms();
            close(c);
        }
    }
    return n;
}

static void test_reconnect_backoff(void **state)
{
    (void)state;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sin);
    assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    assert_int_equal(listen(fd, 16), 0);
    getsockname(fd, (struct sockaddr *)&sin, &len);
    char ep[TU_EP_MAX];
    snprintf(ep, sizeof(ep), "tcp://127.0.0.1:%d", ntohs(sin.sin_port));

    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *push = tu_sock(ctx, NM_PUSH);
    TU_OK(nm_sock_setopt_int(push, NM_RECONNECT_IVL, 40));
    TU_OK(nm_sock_setopt_int(push, NM_RECONNECT_IVL_MAX, 320));
    TU_OK(nm_sock_connect(push, ep));
    int64_t at[6];
    int n = backoff_accepts(fd, at, 6, 4000);
    tu_ctx_destroy(&ctx);
    close(fd);
    /* Expected gaps: 40, 80, 160, 320, 320 ms (plus scheduling noise). */
    assert_int_equal(n, 6);
    int64_t first = at[1] - at[0], fourth = at[4] - at[3], fifth = at[5] - at[4];
    assert_true(first >= 30);
    assert_true(fourth >= 250 && fifth >= 250);
    assert_true(fifth < 1000); /* capped at RECONNECT_IVL_MAX, not doubling on */
    assert_true(fourth > 3 * first);
}

/* Reads monitor events until `event`; returns its value. */
static uint32_t keepalive_wait_event(nm_sock_t *mon, int event)
{
    for (;;) {
        nm_msg_t m;
        tu_recv(mon, &m);
        const uint8_t *p = nm_msg_data(&m, 0);
        int ev = p[0] | p[1] << 8;
        uint32_t value =
            (uint32_t)p[2] | (uint32_t)p[3] << 8 | (uint32_t)p[4] << 16 | (uint32_t)p[5] << 24;
        nm_msg_close(&m);
        if (ev == event)
            return value;
    }
}

static void test_tcp_keepalive(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *pull = tu_sock(ctx, NM_PULL);
    TU_OK(nm_sock_setopt_int(pull, NM_TCP_KEEPALIVE, 1));
    TU_OK(nm_sock_monitor(pull, "inproc://keepalive-mon", NM_EVENT_ALL));
    nm_sock_t *mon = tu_sock(ctx, NM_PAIR);
    TU_OK(nm_sock_connect(mon, "inproc://keepalive-mon"));
    char ep[TU_EP_MAX];
    tu_bind_tcp(pull, ep, sizeof(ep));
    nm_sock_t *push = tu_sock(ctx, NM_PUSH);
    TU_OK(nm_sock_connect(push, ep));
    int fd = (int)keepalive_wait_event(mon, NM_EVENT_ACCEPTED);
    keepalive_wait_event(mon, NM_EVENT_HANDSHAKE_SUCCEEDED);
    int on = 0;
    socklen_t len = sizeof(on);
    assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, &len), 0);
    assert_int_equal(on, 1);
    tu_ctx_destroy(&ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipv6_loopback),
        cmocka_unit_test(test_tcp_keepalive),
        cmocka_unit_test(test_reconnect_backoff),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
