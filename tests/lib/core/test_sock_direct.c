/*
 * test_sock_direct.c - a receiving thread reading its only connection itself
 * (lib/core/conn_direct.c), and what it hands to the I/O thread.
 *
 * Covers: PINGs from a heartbeating peer arriving while the receiver sleeps in a
 * direct read are answered (the peer never drops the connection) and the data frames
 * around them all arrive; a peer that goes away while the receiver sleeps in a direct
 * read is noticed (DISCONNECTED), and the next peer's messages arrive; a request and
 * reply ping-pong over tcp and ipc with and without busy polling.
 */
#include "testutil.h"

/* Asserts that the monitor queue holds no DISCONNECTED event; returns how many it held. */
static int no_disconnect(nm_sock_t *mon)
{
    nm_msg_t m;
    int n = 0;
    while (tu_recv_wait(mon, &m, 50) == 0) {
        const uint8_t *p = nm_msg_data(&m, 0);
        assert_int_not_equal(p[0] | p[1] << 8, NM_EVENT_DISCONNECTED);
        nm_msg_close(&m);
        n++;
    }
    return n;
}

/* Waits up to 5 s for a DISCONNECTED event on the monitor. */
static void wait_disconnect(nm_sock_t *mon)
{
    int64_t deadline = tu_now_ms() + TU_RCVTIMEO;
    nm_msg_t m;
    while (tu_now_ms() < deadline) {
        if (tu_recv_wait(mon, &m, 100) != 0)
            continue;
        const uint8_t *p = nm_msg_data(&m, 0);
        int event = p[0] | p[1] << 8;
        nm_msg_close(&m);
        if (event == NM_EVENT_DISCONNECTED)
            return;
    }
    fail_msg("no DISCONNECTED event");
}

/* The PUSH heartbeats every 20 ms and drops a peer silent for 200 ms; the PULL, which
 * sends nothing of its own, keeps it only by answering PINGs while it waits. */
static void test_direct_pings_answered(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *pull = tu_sock(ctx, NM_PULL);
    nm_sock_t *push = tu_sock(ctx, NM_PUSH);
    TU_OK(nm_sock_setopt_int(push, NM_HEARTBEAT_IVL, 20));
    TU_OK(nm_sock_setopt_int(push, NM_HEARTBEAT_TIMEOUT, 200));
    char ep[TU_EP_MAX];
    tu_bind_tcp(pull, ep, sizeof(ep));
    TU_OK(nm_sock_monitor(push, "inproc://direct-mon", NM_EVENT_DISCONNECTED));
    nm_sock_t *mon = tu_sock(ctx, NM_PAIR);
    TU_OK(nm_sock_connect(mon, "inproc://direct-mon"));
    TU_OK(nm_sock_connect(push, ep));
    tu_send_str(push, "first");
    tu_recv_str(pull, "first");

    /* Several receives that time out, each a sleep in a direct read across PINGs. */
    nm_msg_t m;
    for (int i = 0; i < 4; i++)
        assert_int_equal(tu_recv_wait(pull, &m, 250), -EAGAIN);
    for (int i = 0; i < 200; i++) {
        char buf[16];
        snprintf(buf, sizeof(buf), "msg-%03d", i);
        tu_send_str(push, buf);
        tu_recv_str(pull, buf);
    }
    assert_int_equal(no_disconnect(mon), 0);
    tu_ctx_destroy(&ctx);
}

/* A REQ goes away while the REP sleeps in a direct read: the REP notices, and serves
 * the next REQ. */
static void test_direct_peer_gone(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *rep = tu_sock(ctx, NM_REP);
    char ep[TU_EP_MAX];
    tu_bind_tcp(rep, ep, sizeof(ep));
    TU_OK(nm_sock_monitor(rep, "inproc://direct-gone", NM_EVENT_DISCONNECTED));
    nm_sock_t *mon = tu_sock(ctx, NM_PAIR);
    TU_OK(nm_sock_connect(mon, "inproc://direct-gone"));

    nm_ctx_t *other = tu_ctx();
    nm_sock_t *req = tu_sock(other, NM_REQ);
    TU_OK(nm_sock_connect(req, ep));
    tu_send_str(req, "one");
    tu_recv_str(rep, "one");
    tu_send_str(rep, "reply");
    tu_recv_str(req, "reply");
    /* The REP waits (directly) while its only peer closes. */
    nm_msg_t m;
    assert_int_equal(tu_recv_wait(rep, &m, 100), -EAGAIN);
    tu_ctx_destroy(&other);
    assert_int_equal(tu_recv_wait(rep, &m, 300), -EAGAIN);
    wait_disconnect(mon);

    nm_sock_t *req2 = tu_sock(ctx, NM_REQ);
    TU_OK(nm_sock_connect(req2, ep));
    tu_send_str(req2, "two");
    tu_recv_str(rep, "two");
    tu_send_str(rep, "reply two");
    tu_recv_str(req2, "reply two");
    tu_ctx_destroy(&ctx);
}

static void ping_pong(nm_sock_t *req, nm_sock_t *rep, int n)
{
    for (int i = 0; i < n; i++) {
        char buf[32];
        snprintf(buf, sizeof(buf), "request %d", i);
        tu_send_str(req, buf);
        tu_recv_str(rep, buf);
        snprintf(buf, sizeof(buf), "reply %d", i);
        tu_send_str(rep, buf);
        tu_recv_str(req, buf);
    }
}

/* Round trips over tcp and ipc, spinning (the REQ/REP default) and sleeping at once. */
static void test_direct_round_trips(void **state)
{
    (void)state;
    char dir[TU_EP_MAX], ep[TU_EP_MAX];
    tu_tmpdir(dir, sizeof(dir));
    for (int t = 0; t < 4; t++) {
        nm_ctx_t *ctx = tu_ctx();
        nm_ctx_t *other = tu_ctx();
        nm_sock_t *rep = tu_sock(ctx, NM_REP);
        nm_sock_t *req = tu_sock(other, NM_REQ);
        int spin = t % 2 ? 0 : 200;
        TU_OK(nm_sock_setopt_int(rep, NM_BUSY_POLL, spin));
        TU_OK(nm_sock_setopt_int(req, NM_BUSY_POLL, spin));
        if (t < 2)
            tu_bind_tcp(rep, ep, sizeof(ep));
        else
            tu_bind_ipc(rep, dir, t == 2 ? "spin" : "sleep", ep, sizeof(ep));
        TU_OK(nm_sock_connect(req, ep));
        ping_pong(req, rep, 2000);
        tu_ctx_destroy(&other);
        tu_ctx_destroy(&ctx);
    }
    tu_tmpdir_remove(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_direct_pings_answered),
        cmocka_unit_test(test_direct_peer_gone),
        cmocka_unit_test(test_direct_round_trips),
    };
    return cmocka_run_group_tests_name("sock_direct", tests, NULL, NULL);
}
