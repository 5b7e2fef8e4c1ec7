/*
 * test_sock_send_ready.c - nm_sock_send_ready: whether a message with a given first
 * frame could be sent now, answered with the waits and errors nm_sock_send would give,
 * and nothing sent.  (libzmq's drop-in asks it on the first frame of a multipart
 * message, where libzmq reports these errors.)
 *
 * A PUSH without peers is not ready (-EAGAIN at once with NM_DONTWAIT, after SNDTIMEO
 * otherwise) and becomes ready when a peer connects, waking a caller that waits; a full
 * pipe is not ready until the peer reads.  A REQ awaiting its reply and a REP owing none
 * answer NM_EFSM.  A ROUTER is always ready, unless NM_ROUTER_MANDATORY: then an unknown
 * routing id is -EHOSTUNREACH and a full peer -EAGAIN.  PUB never refuses.
 */
#include "testutil.h"

typedef struct ready_wait {
    nm_sock_t *s; /* the socket asked, used by the waiting thread alone until joined */
    int rc;       /* what nm_sock_send_ready returned */
} ready_wait;

static void *ready_main(void *arg)
{
    ready_wait *w = arg;
    w->rc = nm_sock_send_ready(w->s, "", 0, 0);
    return NULL;
}

static void test_send_ready_push(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *push = tu_sock(ctx, NM_PUSH);
    TU_OK(nm_sock_setopt_int(push, NM_SNDHWM, 1));
    TU_OK(nm_sock_bind(push, "inproc://ready-push"));
    TU_RC(nm_sock_send_ready(push, "x", 1, NM_DONTWAIT), -EAGAIN);
    TU_OK(nm_sock_setopt_int(push, NM_SNDTIMEO, 100));
    int64_t t0 = tu_now_ms();
    TU_RC(nm_sock_send_ready(push, "x", 1, 0), -EAGAIN);
    assert_true(tu_now_ms() - t0 >= 90);
    TU_RC(nm_sock_send_ready(push, NULL, 1, 0), -EINVAL);

    /* A caller waiting without a timeout wakes when a peer connects. */
    TU_OK(nm_sock_setopt_int(push, NM_SNDTIMEO, -1));
    ready_wait w = {.s = push, .rc = 1};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, ready_main, &w), 0);
    tu_sleep_ms(100);
    nm_sock_t *pull = tu_sock(ctx, NM_PULL);
    TU_OK(nm_sock_setopt_int(pull, NM_RCVHWM, 1));
    TU_OK(nm_sock_connect(pull, "inproc://ready-push"));
    tu_join(th, TU_RCVTIMEO);
    TU_OK(w.rc);
    tu_recv_none(pull, 50); /* nothing was sent */

    /* Full (inproc: SNDHWM + RCVHWM = 2 messages), then ready again once read. */
    TU_OK(nm_sock_setopt_int(push, NM_SNDTIMEO, 0));
    int sent = 0;
    while (nm_sock_send_ready(push, "x", 1, 0) == 0 && sent < 100) {
        tu_send_str(push, "fill");
        sent++;
    }
    assert_true(sent >= 1 && sent < 100);
    TU_RC(nm_sock_send_ready(push, "x", 1, NM_DONTWAIT), -EAGAIN);
    TU_OK(nm_sock_setopt_int(push, NM_SNDTIMEO, -1));
    w.rc = 1;
    assert_int_equal(pthread_create(&th, NULL, ready_main, &w), 0);
    tu_sleep_ms(50);
    tu_recv_str(pull, "fill");
    tu_join(th, TU_RCVTIMEO);
    TU_OK(w.rc);
    tu_ctx_destroy(&ctx);
}

static void test_send_ready_reqrep(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *rep = tu_sock(ctx, NM_REP), *req = tu_sock(ctx, NM_REQ);
    TU_OK(nm_sock_bind(rep, "inproc://ready-rr"));
    TU_OK(nm_sock_connect(req, "inproc://ready-rr"));
    TU_RC(nm_sock_send_ready(rep, "a", 1, NM_DONTWAIT), NM_EFSM); /* owes no reply */
    TU_OK(nm_sock_send_ready(req, "q", 1, NM_DONTWAIT));
    tu_send_str(req, "q");
    TU_RC(nm_sock_send_ready(req, "q", 1, 0), NM_EFSM); /* awaits its reply */
    tu_recv_str(rep, "q");
    TU_OK(nm_sock_send_ready(rep, "a", 1, 0));
    tu_send_str(rep, "a");
    tu_recv_str(req, "a");
    TU_OK(nm_sock_send_ready(req, "q", 1, NM_DONTWAIT));
    TU_OK(nm_sock_setopt_int(req, NM_REQ_RELAXED, 1));
    tu_send_str(req, "q2");
    TU_OK(nm_sock_send_ready(req, "q", 1, NM_DONTWAIT)); /* relaxed: may send again */
    tu_ctx_destroy(&ctx);
}

static void test_send_ready_router(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *router = tu_sock(ctx, NM_ROUTER);
    TU_OK(nm_sock_setopt_int(router, NM_SNDHWM, 1));
    TU_OK(nm_sock_bind(router, "inproc://ready-router"));
    TU_OK(nm_sock_send_ready(router, "nobody", 6, NM_DONTWAIT)); /* dropped later */
    TU_OK(nm_sock_setopt_int(router, NM_ROUTER_MANDATORY, 1));
    TU_RC(nm_sock_send_ready(router, "nobody", 6, 0), -EHOSTUNREACH);

    nm_sock_t *dealer = tu_sock(ctx, NM_DEALER);
    tu_set_id(dealer, "D");
    TU_OK(nm_sock_setopt_int(dealer, NM_RCVHWM, 1));
    TU_OK(nm_sock_connect(dealer, "inproc://ready-router"));
    tu_send_str(dealer, "hi");
    tu_recv_strs(router, 2, "D", "hi");
    TU_OK(nm_sock_send_ready(router, "D", 1, NM_DONTWAIT));
    int sent = 0;
    while (nm_sock_send_ready(router, "D", 1, NM_DONTWAIT) == 0 && sent < 100) {
        tu_send_strs(router, 2, "D", "m");
        sent++;
    }
    assert_true(sent >= 1 && sent < 100);
    TU_RC(nm_sock_send_ready(router, "D", 1, NM_DONTWAIT), -EAGAIN); /* full */
    TU_RC(nm_sock_send_ready(router, "E", 1, NM_DONTWAIT), -EHOSTUNREACH);
    tu_recv_str(dealer, "m");
    int64_t deadline = tu_now_ms() + TU_RCVTIMEO;
    while (nm_sock_send_ready(router, "D", 1, NM_DONTWAIT) != 0)
        assert_true(tu_now_ms() < deadline);
    tu_ctx_destroy(&ctx);
}

static void test_send_ready_pub(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *pub = tu_sock(ctx, NM_PUB), *pull = tu_sock(ctx, NM_PULL);
    TU_OK(nm_sock_send_ready(pub, "t", 1, NM_DONTWAIT)); /* no subscriber: dropped */
    TU_RC(nm_sock_send_ready(pull, "t", 1, NM_DONTWAIT), -ENOTSUP);
    tu_ctx_destroy(&ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_send_ready_push),
        cmocka_unit_test(test_send_ready_reqrep),
        cmocka_unit_test(test_send_ready_router),
        cmocka_unit_test(test_send_ready_pub),
    };
    return cmocka_run_group_tests_name("send_ready", tests, NULL, NULL);
}
