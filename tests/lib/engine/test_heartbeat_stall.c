/*
 * test_heartbeat_stall.c - a receiver whose I/O thread makes no progress for longer
 * than its peer's heartbeat TTL keeps the connection and loses nothing.
 *
 * The peer's PINGs and messages wait in the socket meanwhile; when the I/O thread runs
 * again it must read them before it judges the TTL (as libzmq, whose TTL timer restarts
 * on every message), rather than drop a live peer with its data unread.  The stall is
 * made by an event hook that sleeps on the I/O thread (the hook must not block in real
 * use; here blocking it stands for a process stopped by SIGSTOP or starved).
 */
#include "../core/testutil.h"

#include <stdatomic.h>

#define STALL_TTL_MS 500  /* the sender's HEARTBEAT_TTL */
#define STALL_MS     1500 /* how long the receiver's I/O thread stands still */
#define STALL_NMSG   200  /* messages sent while it does */

typedef struct stall_hook {
    pthread_t app;          /* the test's thread: never stalled */
    atomic_int stalled;     /* the stall happened (once) */
    atomic_int disconnects; /* DISCONNECTED events of the PULL */
} stall_hook;

static void stall_hook_cb(void *arg, const nm_event_info_t *ev)
{
    stall_hook *h = arg;
    if (ev->type == NM_PULL && ev->event == NM_EVENT_DISCONNECTED)
        atomic_fetch_add(&h->disconnects, 1);
    /* The REQ's connect attempt runs on the I/O thread: hold it there. */
    if (ev->type == NM_REQ && !pthread_equal(pthread_self(), h->app) &&
        atomic_exchange(&h->stalled, 1) == 0)
        tu_sleep_ms(STALL_MS);
}

static void test_receiver_stalled_past_ttl(void **state)
{
    (void)state;
    stall_hook hook = {.app = pthread_self()};
    nm_ctx_t *rctx = tu_ctx(), *sctx = tu_ctx();
    nm_ctx_set_event_hook(rctx, stall_hook_cb, &hook);
    nm_sock_t *pull = tu_sock(rctx, NM_PULL);
    char ep[TU_EP_MAX];
    tu_bind_tcp(pull, ep, sizeof(ep));
    nm_sock_t *push = tu_sock(sctx, NM_PUSH);
    TU_OK(nm_sock_setopt_int(push, NM_HEARTBEAT_IVL, 100));
    TU_OK(nm_sock_setopt_int(push, NM_HEARTBEAT_TTL, STALL_TTL_MS));
    TU_OK(nm_sock_setopt_int(push, NM_HEARTBEAT_TIMEOUT, 60000)); /* the sender waits */
    TU_OK(nm_sock_connect(push, ep));
    tu_wait_active(rctx, NM_PULL, 1);
    tu_send_str(push, "before");
    tu_recv_str(pull, "before");
    tu_sleep_ms(300); /* a PING has come: the receiver honours the TTL */

    nm_sock_t *req = tu_sock(rctx, NM_REQ);
    char nowhere[64];
    snprintf(nowhere, sizeof(nowhere), "tcp://127.0.0.1:%d", tu_free_tcp_port());
    TU_OK(nm_sock_connect(req, nowhere));
    int64_t start = tu_now_ms();
    while (!atomic_load(&hook.stalled) && tu_now_ms() - start < TU_RCVTIMEO)
        tu_sleep_ms(1);
    assert_true(atomic_load(&hook.stalled));
    char buf[16];
    for (int i = 0; i < STALL_NMSG; i++) {
        snprintf(buf, sizeof(buf), "%d", i);
        tu_send_str(push, buf);
        tu_sleep_ms((STALL_MS - 500) / STALL_NMSG); /* spread over most of the stall */
    }
    for (int i = 0; i < STALL_NMSG; i++) {
        snprintf(buf, sizeof(buf), "%d", i);
        tu_recv_str(pull, buf);
    }
    tu_send_str(push, "after");
    tu_recv_str(pull, "after");
    assert_int_equal(atomic_load(&hook.disconnects), 0);
    nm_sock_close(&req);
    nm_sock_close(&push);
    nm_sock_close(&pull);
    tu_ctx_destroy(&sctx);
    tu_ctx_destroy(&rctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_receiver_stalled_past_ttl),
    };
    return cmocka_run_group_tests_name("heartbeat_stall", tests, NULL, NULL);
}
