/*
 * test_conn_backoff.c - the reconnect interval of a connecting socket doubles from
 * RECONNECT_IVL up to RECONNECT_IVL_MAX, and stops there, even when the maximum is near
 * INT_MAX (doubling past it would overflow an int: UndefinedBehaviorSanitizer, which
 * the sanitizer build runs, aborts on it).
 */
#include "../core/testutil.h"

#include <limits.h>
#include <stdatomic.h>

#define BACKOFF_MAX_EVENTS 8

typedef struct backoff_log {
    atomic_int n;                        /* CONNECT_RETRIED events seen */
    atomic_uint ivl[BACKOFF_MAX_EVENTS]; /* their values: the interval waited */
} backoff_log;

static void backoff_hook_cb(void *arg, const nm_event_info_t *ev)
{
    backoff_log *log = arg;
    if (ev->event != NM_EVENT_CONNECT_RETRIED)
        return;
    int i = atomic_fetch_add(&log->n, 1);
    if (i < BACKOFF_MAX_EVENTS)
        atomic_store(&log->ivl[i], ev->value);
}

/* A PUSH connecting to a port nobody listens on, with these intervals. */
static nm_sock_t *backoff_push(nm_ctx_t *ctx, int ivl, int ivl_max)
{
    nm_sock_t *push = tu_sock(ctx, NM_PUSH);
    TU_OK(nm_sock_setopt_int(push, NM_RECONNECT_IVL, ivl));
    TU_OK(nm_sock_setopt_int(push, NM_RECONNECT_IVL_MAX, ivl_max));
    char ep[64];
    snprintf(ep, sizeof(ep), "tcp://127.0.0.1:%d", tu_free_tcp_port());
    TU_OK(nm_sock_connect(push, ep));
    return push;
}

static void backoff_wait(backoff_log *log, int n)
{
    int64_t deadline = tu_now_ms() + TU_RCVTIMEO;
    while (atomic_load(&log->n) < n) {
        if (tu_now_ms() > deadline)
            fail_msg("fewer than %d reconnect attempts after %d ms", n, TU_RCVTIMEO);
        tu_sleep_ms(2);
    }
}

static void test_backoff_doubles_to_max(void **state)
{
    (void)state;
    backoff_log log = {0};
    nm_ctx_t *ctx = tu_ctx();
    nm_ctx_set_event_hook(ctx, backoff_hook_cb, &log);
    nm_sock_t *push = backoff_push(ctx, 10, 40);
    backoff_wait(&log, 4);
    nm_sock_close(&push);
    tu_ctx_destroy(&ctx);
    const unsigned want[] = {10, 20, 40, 40};
    for (int i = 0; i < 4; i++)
        assert_int_equal(atomic_load(&log.ivl[i]), want[i]);
}

/* The first retry waits 2^30 ms; the next interval is INT_MAX, not 2^31. */
static void test_backoff_max_near_int_max(void **state)
{
    (void)state;
    backoff_log log = {0};
    nm_ctx_t *ctx = tu_ctx();
    nm_ctx_set_event_hook(ctx, backoff_hook_cb, &log);
    nm_sock_t *push = backoff_push(ctx, 1 << 30, INT_MAX);
    backoff_wait(&log, 1);
    tu_sleep_ms(20); /* the interval is doubled just after the event */
    nm_sock_close(&push);
    tu_ctx_destroy(&ctx);
    assert_int_equal(atomic_load(&log.ivl[0]), 1u << 30);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backoff_doubles_to_max),
        cmocka_unit_test(test_backoff_max_near_int_max),
    };
    return cmocka_run_group_tests_name("conn_backoff", tests, NULL, NULL);
}
