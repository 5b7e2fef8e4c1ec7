/*
 * test_sock_direct.c - a receiving thread reading its only connection itself
 * (lib/engine/conn_direct.c), and what it hands to the I/O thread.
 *
 * Covers: PINGs from a heartbeating peer arriving while the receiver sleeps in a
 * direct read are answered (the peer never drops the connection) and the data frames
 * around them all arrive; a peer that goes away while the receiver sleeps in a direct
 * read is noticed (DISCONNECTED), and the next peer's messages arrive; the same when
 * the peer resets a connection the I/O thread is blocked writing to; a request and
 * reply ping-pong over tcp and ipc with and without busy polling.
 */
#include <stdatomic.h>

#include "testutil.h"

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
    nm_sock_t *mon = tu_mon_open(ctx, push, "direct-mon", NM_EVENT_DISCONNECTED);
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
    tu_mon_event ev; /* the monitor only reports DISCONNECTED: none came */
    assert_int_equal(tu_mon_next(mon, &ev, 50), 0);
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
    nm_sock_t *mon = tu_mon_open(ctx, rep, "direct-gone", NM_EVENT_DISCONNECTED);

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
    tu_mon_expect(mon, NM_EVENT_DISCONNECTED, NULL);

    nm_sock_t *req2 = tu_sock(ctx, NM_REQ);
    TU_OK(nm_sock_connect(req2, ep));
    tu_send_str(req2, "two");
    tu_recv_str(rep, "two");
    tu_send_str(rep, "reply two");
    tu_recv_str(req2, "reply two");
    tu_ctx_destroy(&ctx);
}

/* A receive waiting in a direct read on a DEALER, on another thread. */
typedef struct waiter {
    nm_sock_t *sock;
    atomic_int rc; /* nm_sock_recv's result, 1 while it runs */
} waiter;

static void *waiter_main(void *arg)
{
    waiter *w = arg;
    nm_msg_t m;
    nm_msg_init(&m);
    atomic_store(&w->rc, nm_sock_recv(w->sock, &m, 0));
    nm_msg_close(&m);
    return NULL;
}

/* The peer resets the connection while the sender's I/O thread is blocked writing to it
 * and the sender's application thread sleeps in a direct read: whichever thread notices
 * first, the I/O thread takes the reader back and closes, the receive ends at its
 * timeout, and the socket reaches the next peer on the same endpoint. */
static void test_direct_reset_while_writing(void **state)
{
    (void)state;
    enum { BIG = 256 * 1024, N = 64 };
    uint8_t *big = calloc(1, BIG);
    assert_non_null(big);
    for (int round = 0; round < 3; round++) {
        nm_ctx_t *ctx = tu_ctx(), *peer_ctx = tu_ctx();
        nm_sock_t *a = tu_sock(ctx, NM_DEALER);
        nm_sock_t *b = tu_sock(peer_ctx, NM_DEALER);
        TU_OK(nm_sock_setopt_int(b, NM_RCVHWM, 1));
        TU_OK(nm_sock_setopt_int(b, NM_LINGER, 0));
        char ep[TU_EP_MAX];
        tu_bind_tcp(b, ep, sizeof(ep));
        nm_sock_t *mon = tu_mon_open(ctx, a, "direct-reset", NM_EVENT_DISCONNECTED);
        TU_OK(nm_sock_connect(a, ep));
        tu_send_str(a, "hello");
        tu_recv_str(b, "hello");
        for (int i = 0; i < N; i++) /* far more than b and the kernel take */
            TU_OK(nm_sock_send_bytes(a, big, BIG, 0));

        TU_OK(nm_sock_setopt_int(a, NM_RCVTIMEO, 1500));
        waiter w = {.sock = a};
        atomic_init(&w.rc, 1);
        pthread_t th;
        assert_int_equal(pthread_create(&th, NULL, waiter_main, &w), 0);
        tu_sleep_ms(100 + 50 * round);
        tu_ctx_destroy(&peer_ctx); /* unread input: the close resets the connection */
        tu_join(th, TU_RCVTIMEO);
        assert_int_equal(atomic_load(&w.rc), -EAGAIN);
        tu_mon_expect(mon, NM_EVENT_DISCONNECTED, NULL);

        /* A new peer on the same endpoint gets what a sends next. */
        nm_ctx_t *next_ctx = tu_ctx();
        nm_sock_t *c = tu_sock(next_ctx, NM_DEALER);
        TU_OK(nm_sock_bind(c, ep));
        TU_OK(nm_sock_setopt_int(a, NM_LINGER, 0));
        nm_msg_t m;
        int64_t deadline = tu_now_ms() + TU_RCVTIMEO;
        int got = -EAGAIN;
        while (got != 0 && tu_now_ms() < deadline) {
            (void)nm_sock_send_bytes(a, "again", 5, NM_DONTWAIT);
            got = tu_recv_wait(c, &m, 100);
        }
        assert_int_equal(got, 0);
        nm_msg_close(&m);
        tu_ctx_destroy(&next_ctx);
        tu_ctx_destroy(&ctx);
    }
    free(big);
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
        cmocka_unit_test(test_direct_reset_while_writing),
        cmocka_unit_test(test_direct_round_trips),
    };
    return cmocka_run_group_tests_name("sock_direct", tests, NULL, NULL);
}
