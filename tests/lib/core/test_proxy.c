/*
 * test_proxy.c - nm_proxy, run in its own thread, steered through a control PAIR.
 *
 * A ROUTER frontend (tcp) and a DEALER backend (inproc) carry REQ/REP round trips
 * through the proxy; a capture PUSH gets a copy of every message forwarded, as it was
 * forwarded; PAUSE stops forwarding until RESUME; STATISTICS answers with 8 frames of
 * 8 bytes (frontend msgs in, bytes in, msgs out, bytes out, then the backend's) that
 * match the traffic; TERMINATE makes nm_proxy return 0.  A PULL/PUSH streamer shows that
 * a proxy between one-way sockets forwards only the way messages can go.  A PUSH
 * backend with no peer yet leaves the frontend's messages unread (as libzmq) while the
 * proxy still answers its control socket, and they flow once a peer connects; so does a
 * capture PUSH with no peer (libzmq blocks on it), and then every message is copied.
 *
 * The sockets handed to nm_proxy are used by the proxy thread alone until it has been
 * joined.  Control commands are handled in order, so a STATISTICS reply also proves
 * that every command sent before it has taken effect.
 */
#include "testutil.h"

typedef struct proxy_run {
    nm_sock_t *frontend, *backend, *capture, *control; /* handed to nm_proxy */
    int rc;                                            /* what it returned */
} proxy_run;

static void *proxy_main(void *arg)
{
    proxy_run *p = arg;
    p->rc = nm_proxy(p->frontend, p->backend, p->capture, p->control);
    return NULL;
}

typedef struct proxy_stats {
    uint64_t fe_msgs_in, fe_bytes_in, fe_msgs_out, fe_bytes_out;
    uint64_t be_msgs_in, be_bytes_in, be_msgs_out, be_bytes_out;
} proxy_stats;

/* Asks for STATISTICS and checks the reply's shape: 8 frames of 8 bytes, each a
 * uint64 in host byte order (as libzmq sends them). */
static proxy_stats get_stats(nm_sock_t *ctl)
{
    tu_send_str(ctl, "STATISTICS");
    nm_msg_t m;
    tu_recv(ctl, &m);
    assert_int_equal(nm_msg_count(&m), 8);
    uint64_t v[8];
    for (size_t i = 0; i < 8; i++) {
        assert_int_equal(nm_msg_size(&m, i), 8);
        memcpy(&v[i], nm_msg_data(&m, i), 8);
    }
    nm_msg_close(&m);
    proxy_stats st = {v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]};
    return st;
}

/* Receives the capture of one message [id, "", body] as forwarded through a
 * ROUTER/DEALER proxy. */
static void expect_capture(nm_sock_t *cap, const char *id, const char *body)
{
    tu_recv_strs(cap, 3, id, "", body);
}

/* One REQ -> proxy -> REP -> proxy -> REQ round trip. */
static void round_trip(nm_sock_t *req, nm_sock_t *rep, const char *q, const char *a)
{
    tu_send_str(req, q);
    tu_recv_str(rep, q);
    tu_send_str(rep, a);
    tu_recv_str(req, a);
}

static void test_proxy_steered(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    proxy_run p = {0};
    p.frontend = tu_sock(ctx, NM_ROUTER);
    p.backend = tu_sock(ctx, NM_DEALER);
    p.capture = tu_sock(ctx, NM_PUSH);
    p.control = tu_sock(ctx, NM_PAIR);
    char fe[TU_EP_MAX];
    tu_bind_tcp(p.frontend, fe, sizeof(fe));
    TU_OK(nm_sock_bind(p.backend, "inproc://proxy-backend"));
    TU_OK(nm_sock_bind(p.capture, "inproc://proxy-capture"));
    TU_OK(nm_sock_bind(p.control, "inproc://proxy-control"));

    nm_sock_t *req = tu_sock(ctx, NM_REQ);
    tu_set_id(req, "req-1");
    TU_OK(nm_sock_connect(req, fe));
    nm_sock_t *rep = tu_sock(ctx, NM_REP);
    TU_OK(nm_sock_connect(rep, "inproc://proxy-backend"));
    nm_sock_t *cap = tu_sock(ctx, NM_PULL);
    TU_OK(nm_sock_connect(cap, "inproc://proxy-capture"));
    nm_sock_t *ctl = tu_sock(ctx, NM_PAIR);
    TU_OK(nm_sock_connect(ctl, "inproc://proxy-control"));

    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, proxy_main, &p), 0);

    round_trip(req, rep, "hello", "world");
    expect_capture(cap, "req-1", "hello");
    expect_capture(cap, "req-1", "world");
    proxy_stats st = get_stats(ctl);
    assert_int_equal(st.fe_msgs_in, 1);
    assert_int_equal(st.fe_msgs_out, 1);
    assert_int_equal(st.be_msgs_in, 1);
    assert_int_equal(st.be_msgs_out, 1);
    /* Bytes: at least the bodies, at most the bodies plus the envelopes. */
    assert_true(st.fe_bytes_in >= 5 && st.fe_bytes_in <= 5 + 5);
    assert_true(st.fe_bytes_out >= 5 && st.fe_bytes_out <= 5 + 5);
    assert_true(st.be_bytes_in >= 5 && st.be_bytes_in <= 5 + 5);
    assert_true(st.be_bytes_out >= 5 && st.be_bytes_out <= 5 + 5);

    /* Paused: the request waits in the frontend.  The STATISTICS reply proves the PAUSE
     * was handled before the request was sent. */
    tu_send_str(ctl, "PAUSE");
    proxy_stats paused = get_stats(ctl);
    assert_memory_equal(&paused, &st, sizeof(st));
    tu_send_str(req, "while-paused");
    tu_recv_none(rep, 300);
    tu_recv_none(cap, 20);

    tu_send_str(ctl, "RESUME");
    tu_recv_str(rep, "while-paused");
    tu_send_str(rep, "resumed");
    tu_recv_str(req, "resumed");
    expect_capture(cap, "req-1", "while-paused");
    expect_capture(cap, "req-1", "resumed");

    for (int i = 0; i < 8; i++)
        round_trip(req, rep, "q", "a");
    for (int i = 0; i < 8; i++) {
        expect_capture(cap, "req-1", "q");
        expect_capture(cap, "req-1", "a");
    }
    st = get_stats(ctl);
    assert_int_equal(st.fe_msgs_in, 10);
    assert_int_equal(st.fe_msgs_out, 10);
    assert_int_equal(st.be_msgs_in, 10);
    assert_int_equal(st.be_msgs_out, 10);
    uint64_t q_bytes = 5 + 12 + 8 * 1, a_bytes = 5 + 7 + 8 * 1;
    assert_true(st.fe_bytes_in >= q_bytes && st.fe_bytes_in <= q_bytes + 10 * 5);
    assert_true(st.be_bytes_out >= q_bytes && st.be_bytes_out <= q_bytes + 10 * 5);
    assert_true(st.be_bytes_in >= a_bytes && st.be_bytes_in <= a_bytes + 10 * 5);
    assert_true(st.fe_bytes_out >= a_bytes && st.fe_bytes_out <= a_bytes + 10 * 5);

    tu_send_str(ctl, "TERMINATE");
    tu_join(th, TU_RCVTIMEO);
    TU_OK(p.rc);
    tu_recv_none(cap, 20);
    tu_ctx_destroy(&ctx);
}

/* TERMINATE right away, with no traffic at all; also without a capture socket. */
static void test_proxy_terminate_idle(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    proxy_run p = {0};
    p.frontend = tu_sock(ctx, NM_ROUTER);
    p.backend = tu_sock(ctx, NM_DEALER);
    p.control = tu_sock(ctx, NM_PAIR);
    TU_OK(nm_sock_bind(p.frontend, "inproc://idle-front"));
    TU_OK(nm_sock_bind(p.backend, "inproc://idle-back"));
    TU_OK(nm_sock_bind(p.control, "inproc://idle-control"));
    nm_sock_t *ctl = tu_sock(ctx, NM_PAIR);
    TU_OK(nm_sock_connect(ctl, "inproc://idle-control"));
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, proxy_main, &p), 0);
    proxy_stats st = get_stats(ctl);
    proxy_stats zero = {0};
    assert_memory_equal(&st, &zero, sizeof(st));
    int64_t t0 = tu_now_ms();
    tu_send_str(ctl, "TERMINATE");
    tu_join(th, TU_RCVTIMEO);
    assert_true(tu_now_ms() - t0 < 2000);
    TU_OK(p.rc);
    tu_ctx_destroy(&ctx);
}

/* PULL frontend, PUSH backend: a one-way streamer. */
static void test_proxy_streamer(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    proxy_run p = {0};
    p.frontend = tu_sock(ctx, NM_PULL);
    p.backend = tu_sock(ctx, NM_PUSH);
    p.control = tu_sock(ctx, NM_PAIR);
    TU_OK(nm_sock_bind(p.frontend, "inproc://stream-in"));
    TU_OK(nm_sock_bind(p.backend, "inproc://stream-out"));
    TU_OK(nm_sock_bind(p.control, "inproc://stream-control"));
    nm_sock_t *src = tu_sock(ctx, NM_PUSH);
    nm_sock_t *dst = tu_sock(ctx, NM_PULL);
    nm_sock_t *ctl = tu_sock(ctx, NM_PAIR);
    TU_OK(nm_sock_connect(src, "inproc://stream-in"));
    TU_OK(nm_sock_connect(dst, "inproc://stream-out"));
    TU_OK(nm_sock_connect(ctl, "inproc://stream-control"));
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, proxy_main, &p), 0);

    char buf[16];
    for (int i = 0; i < 100; i++) {
        snprintf(buf, sizeof(buf), "s-%03d", i); /* 5 bytes */
        tu_send_strs(src, 2, buf, "x");
    }
    for (int i = 0; i < 100; i++) {
        snprintf(buf, sizeof(buf), "s-%03d", i);
        tu_recv_strs(dst, 2, buf, "x");
    }
    proxy_stats st = get_stats(ctl);
    assert_int_equal(st.fe_msgs_in, 100);
    assert_int_equal(st.fe_bytes_in, 600);
    assert_int_equal(st.be_msgs_out, 100);
    assert_int_equal(st.be_bytes_out, 600);
    assert_int_equal(st.fe_msgs_out, 0);
    assert_int_equal(st.be_msgs_in, 0);
    tu_send_str(ctl, "TERMINATE");
    tu_join(th, TU_RCVTIMEO);
    TU_OK(p.rc);
    tu_ctx_destroy(&ctx);
}

/* PULL frontend, PUSH backend that has no peer: nothing is read from the frontend,
 * STATISTICS and TERMINATE are still served, and a peer that connects gets the lot. */
static void test_proxy_no_room(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    proxy_run p = {0};
    p.frontend = tu_sock(ctx, NM_PULL);
    p.backend = tu_sock(ctx, NM_PUSH);
    p.control = tu_sock(ctx, NM_PAIR);
    TU_OK(nm_sock_bind(p.frontend, "inproc://noroom-in"));
    TU_OK(nm_sock_bind(p.backend, "inproc://noroom-out"));
    TU_OK(nm_sock_bind(p.control, "inproc://noroom-control"));
    nm_sock_t *src = tu_sock(ctx, NM_PUSH);
    nm_sock_t *ctl = tu_sock(ctx, NM_PAIR);
    TU_OK(nm_sock_connect(src, "inproc://noroom-in"));
    TU_OK(nm_sock_connect(ctl, "inproc://noroom-control"));
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, proxy_main, &p), 0);

    for (int i = 0; i < 3; i++)
        tu_send_str(src, "held");
    tu_sleep_ms(100);
    proxy_stats st = get_stats(ctl);
    assert_int_equal(st.fe_msgs_in, 0);
    assert_int_equal(st.be_msgs_out, 0);

    nm_sock_t *dst = tu_sock(ctx, NM_PULL);
    TU_OK(nm_sock_connect(dst, "inproc://noroom-out"));
    for (int i = 0; i < 3; i++)
        tu_recv_str(dst, "held");
    st = get_stats(ctl);
    assert_int_equal(st.fe_msgs_in, 3);
    assert_int_equal(st.be_msgs_out, 3);

    /* Held again (the peer left), and TERMINATE still ends the proxy at once. */
    nm_sock_close(&dst);
    tu_sleep_ms(100);
    tu_send_str(src, "stuck");
    int64_t t0 = tu_now_ms();
    tu_send_str(ctl, "TERMINATE");
    tu_join(th, TU_RCVTIMEO);
    assert_true(tu_now_ms() - t0 < 2000);
    TU_OK(p.rc);
    tu_ctx_destroy(&ctx);
}

/* A capture PUSH without a peer holds the frontend's messages back, as libzmq (whose
 * capture send blocks) does; once a peer takes the copies, every message goes through
 * and is copied. */
static void test_proxy_capture_room(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    proxy_run p = {0};
    p.frontend = tu_sock(ctx, NM_PULL);
    p.backend = tu_sock(ctx, NM_PUSH);
    p.capture = tu_sock(ctx, NM_PUSH);
    p.control = tu_sock(ctx, NM_PAIR);
    TU_OK(nm_sock_bind(p.frontend, "inproc://caproom-in"));
    TU_OK(nm_sock_bind(p.backend, "inproc://caproom-out"));
    TU_OK(nm_sock_bind(p.capture, "inproc://caproom-cap"));
    TU_OK(nm_sock_bind(p.control, "inproc://caproom-control"));
    nm_sock_t *src = tu_sock(ctx, NM_PUSH), *dst = tu_sock(ctx, NM_PULL);
    nm_sock_t *ctl = tu_sock(ctx, NM_PAIR);
    TU_OK(nm_sock_connect(src, "inproc://caproom-in"));
    TU_OK(nm_sock_connect(dst, "inproc://caproom-out"));
    TU_OK(nm_sock_connect(ctl, "inproc://caproom-control"));
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, proxy_main, &p), 0);
    tu_send_str(src, "a");
    tu_send_str(src, "b");
    tu_recv_none(dst, 100);
    proxy_stats st = get_stats(ctl);
    assert_int_equal(st.fe_msgs_in, 0);

    nm_sock_t *cap = tu_sock(ctx, NM_PULL);
    TU_OK(nm_sock_connect(cap, "inproc://caproom-cap"));
    tu_recv_str(dst, "a");
    tu_recv_str(dst, "b");
    tu_recv_str(cap, "a");
    tu_recv_str(cap, "b");
    tu_send_str(ctl, "TERMINATE");
    tu_join(th, TU_RCVTIMEO);
    TU_OK(p.rc);
    tu_ctx_destroy(&ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_proxy_steered),      cmocka_unit_test(test_proxy_terminate_idle),
        cmocka_unit_test(test_proxy_streamer),     cmocka_unit_test(test_proxy_no_room),
        cmocka_unit_test(test_proxy_capture_room),
    };
    return cmocka_run_group_tests_name("proxy", tests, NULL, NULL);
}
