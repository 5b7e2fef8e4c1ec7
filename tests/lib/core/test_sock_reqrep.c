/*
 * test_sock_reqrep.c - the REQ and REP state machines (RFC 28).
 *
 * REQ: recv before send and a second send before the reply fail with NM_EFSM (the
 * message stays with the caller); REQ_RELAXED allows the second send, and with
 * REQ_CORRELATE the stale reply to the first request is discarded; requests
 * round-robin over two REPs.  REP: recv, send, recv in turn; send before recv and a
 * second send fail with NM_EFSM; replies go back to the REQ that asked, multipart and
 * empty frames included.
 */
#include "testutil.h"

/* A REQ connected to a bound REP. */
typedef struct pair {
    nm_ctx_t *ctx;  /* owns both */
    nm_sock_t *req; /* connects */
    nm_sock_t *rep; /* binds */
} pair;

static pair pair_new(int req_relaxed, int req_correlate)
{
    pair p;
    p.ctx = tu_ctx();
    p.rep = tu_sock(p.ctx, NM_REP);
    p.req = tu_sock(p.ctx, NM_REQ);
    TU_OK(nm_sock_setopt_int(p.req, NM_REQ_RELAXED, req_relaxed));
    TU_OK(nm_sock_setopt_int(p.req, NM_REQ_CORRELATE, req_correlate));
    char ep[TU_EP_MAX];
    tu_bind_tcp(p.rep, ep, sizeof(ep));
    TU_OK(nm_sock_connect(p.req, ep));
    return p;
}

static void test_req_recv_before_send(void **state)
{
    (void)state;
    pair p = pair_new(0, 0);
    nm_msg_t m;
    nm_msg_init(&m);
    int64_t t0 = tu_now_ms();
    TU_RC(nm_sock_recv(p.req, &m, 0), NM_EFSM);
    TU_RC(nm_sock_recv(p.req, &m, NM_DONTWAIT), NM_EFSM);
    assert_true(tu_now_ms() - t0 < 1000); /* refused at once, no waiting */
    assert_int_equal(nm_msg_count(&m), 0);
    /* The socket still works normally afterwards. */
    tu_send_str(p.req, "hello");
    tu_recv_str(p.rep, "hello");
    tu_send_str(p.rep, "world");
    tu_recv_str(p.req, "world");
    tu_ctx_destroy(&p.ctx);
}

static void test_req_send_twice(void **state)
{
    (void)state;
    pair p = pair_new(0, 0);
    tu_send_str(p.req, "first");
    nm_msg_t m;
    nm_msg_init(&m);
    tu_msg_strs(&m, 2, "second", "");
    TU_RC(nm_sock_send(p.req, &m, 0), NM_EFSM);
    TU_RC(nm_sock_send(p.req, &m, NM_DONTWAIT), NM_EFSM);
    tu_assert_strs(&m, 2, "second", ""); /* a failed send leaves the message */

    tu_recv_str(p.rep, "first");
    tu_send_str(p.rep, "reply-1");
    tu_recv_str(p.req, "reply-1");
    /* After the reply the REQ may send again (the kept message, now). */
    TU_OK(nm_sock_send(p.req, &m, 0));
    assert_int_equal(nm_msg_count(&m), 0);
    tu_recv_strs(p.rep, 2, "second", "");
    tu_send_str(p.rep, "reply-2");
    tu_recv_str(p.req, "reply-2");
    /* And a second recv after a completed round trip is again out of turn. */
    TU_RC(nm_sock_recv(p.req, &m, NM_DONTWAIT), NM_EFSM);
    nm_msg_close(&m);
    tu_ctx_destroy(&p.ctx);
}

static void test_rep_turns(void **state)
{
    (void)state;
    pair p = pair_new(0, 0);
    nm_msg_t m;
    nm_msg_init(&m);
    /* REP cannot speak first. */
    tu_msg_strs(&m, 1, "unasked");
    TU_RC(nm_sock_send(p.rep, &m, 0), NM_EFSM);
    TU_RC(nm_sock_send(p.rep, &m, NM_DONTWAIT), NM_EFSM);
    tu_assert_strs(&m, 1, "unasked");
    nm_msg_close(&m);

    for (int round = 0; round < 3; round++) {
        char q[16], a[16];
        snprintf(q, sizeof(q), "q%d", round);
        snprintf(a, sizeof(a), "a%d", round);
        /* Multipart bodies with empty frames pass through both ways untouched. */
        tu_send_strs(p.req, 3, q, "", "tail");
        tu_recv_strs(p.rep, 3, q, "", "tail");
        /* REP must reply before it may receive again... */
        TU_RC(nm_sock_recv(p.rep, &m, NM_DONTWAIT), NM_EFSM);
        tu_send_strs(p.rep, 3, a, "", "");
        /* ...and may not reply twice. */
        TU_RC(nm_sock_send_bytes(p.rep, "again", 5, 0), NM_EFSM);
        tu_recv_strs(p.req, 3, a, "", "");
    }
    tu_ctx_destroy(&p.ctx);
}

/* One REP serving two REQs: each reply goes back to the REQ that asked. */
static void test_rep_serves_two_reqs(void **state)
{
    (void)state;
    char dir[64];
    tu_tmpdir(dir, sizeof(dir));
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *rep = tu_sock(ctx, NM_REP);
    char ep[TU_EP_MAX];
    tu_bind_ipc(rep, dir, "rep.sock", ep, sizeof(ep));
    nm_sock_t *req1 = tu_sock(ctx, NM_REQ);
    nm_sock_t *req2 = tu_sock(ctx, NM_REQ);
    TU_OK(nm_sock_connect(req1, ep));
    TU_OK(nm_sock_connect(req2, ep));
    tu_send_str(req1, "from-1");
    tu_send_str(req2, "from-2");
    for (int i = 0; i < 2; i++) {
        nm_msg_t m;
        tu_recv(rep, &m);
        assert_int_equal(nm_msg_count(&m), 1);
        char reply[32] = "re:";
        assert_true(nm_msg_size(&m, 0) < sizeof(reply) - 4);
        memcpy(reply + 3, nm_msg_data(&m, 0), nm_msg_size(&m, 0));
        nm_msg_close(&m);
        tu_send_str(rep, reply);
    }
    tu_recv_str(req1, "re:from-1");
    tu_recv_str(req2, "re:from-2");
    tu_ctx_destroy(&ctx);
    tu_tmpdir_remove(dir);
}

static void test_req_relaxed(void **state)
{
    (void)state;
    pair p = pair_new(1, 0);
    tu_send_str(p.req, "first");
    tu_send_str(p.req, "second"); /* allowed: the first request is abandoned */
    tu_recv_str(p.rep, "first");
    tu_send_str(p.rep, "answer");
    tu_recv_str(p.rep, "second");
    tu_send_str(p.rep, "answer");
    /* Without correlation either answer may be taken for the last request's: the REQ
     * gets exactly one reply for its one outstanding request. */
    tu_recv_str(p.req, "answer");
    tu_ctx_destroy(&p.ctx);
}

static void test_req_relaxed_correlate(void **state)
{
    (void)state;
    pair p = pair_new(1, 1);
    int v = 0;
    TU_OK(nm_sock_getopt_int(p.req, NM_REQ_CORRELATE, &v));
    assert_int_equal(v, 1);
    tu_send_str(p.req, "first");
    tu_recv_str(p.rep, "first"); /* REP sees the body only, not the request id */
    tu_send_str(p.req, "second");
    tu_send_str(p.rep, "stale reply to first");
    tu_recv_str(p.rep, "second");
    tu_send_str(p.rep, "reply to second");
    /* The stale reply is discarded; only the second request's reply is delivered. */
    tu_recv_str(p.req, "reply to second");
    nm_msg_t m;
    nm_msg_init(&m);
    TU_RC(nm_sock_recv(p.req, &m, NM_DONTWAIT), NM_EFSM);

    /* The pair keeps working in strict turns afterwards. */
    tu_send_str(p.req, "third");
    tu_recv_str(p.rep, "third");
    tu_send_str(p.rep, "reply to third");
    tu_recv_str(p.req, "reply to third");
    tu_ctx_destroy(&p.ctx);
}

static void test_req_round_robin(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *req = tu_sock(ctx, NM_REQ);
    nm_sock_t *reps[2];
    for (int i = 0; i < 2; i++) {
        char ep[TU_EP_MAX];
        reps[i] = tu_sock(ctx, NM_REP);
        tu_bind_tcp(reps[i], ep, sizeof(ep));
        TU_OK(nm_sock_connect(req, ep));
    }
    tu_wait_active(ctx, NM_REQ, 2);

    int who[6];
    for (int i = 0; i < 6; i++) {
        char q[16], a[16];
        snprintf(q, sizeof(q), "q%d", i);
        snprintf(a, sizeof(a), "a%d", i);
        tu_send_str(req, q);
        nm_msg_t m;
        who[i] = tu_recv_any(reps, 2, &m, TU_RCVTIMEO);
        tu_assert_strs(&m, 1, q);
        nm_msg_close(&m);
        tu_send_str(reps[who[i]], a);
        tu_recv_str(req, a);
        if (i > 0)
            assert_int_not_equal(who[i], who[i - 1]); /* strict alternation */
    }
    tu_ctx_destroy(&ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_req_recv_before_send),
        cmocka_unit_test(test_req_send_twice),
        cmocka_unit_test(test_rep_turns),
        cmocka_unit_test(test_rep_serves_two_reqs),
        cmocka_unit_test(test_req_relaxed),
        cmocka_unit_test(test_req_relaxed_correlate),
        cmocka_unit_test(test_req_round_robin),
    };
    return cmocka_run_group_tests_name("sock_reqrep", tests, NULL, NULL);
}
