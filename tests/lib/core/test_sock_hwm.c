/*
 * test_sock_hwm.c - high-water marks and timeouts on send and recv.
 *
 * A PUSH (SNDHWM 10) to a PULL (RCVHWM 10) that does not read must eventually refuse
 * sends with -EAGAIN (DONTWAIT) and after SNDTIMEO, leave the refused message with the
 * caller, show the blocked pipe in the statistics (hwm_hits, queued_out), and accept
 * sends again once the PULL drains.  An empty socket answers recv with -EAGAIN at once
 * under DONTWAIT and after RCVTIMEO otherwise.  SNDHWM and RCVHWM set after connecting
 * apply to the pipes the socket has; an inproc pipe's limit is the sum of the sender's
 * SNDHWM and the receiver's RCVHWM (0 in either: none), a pipe made by a connect before
 * the bind too; what such a pipe holds when its socket closes waits, within LINGER,
 * for the next binder.
 */
#include "testutil.h"

#define BIG      (64 * 1024) /* message size: fills kernel buffers quickly */
#define MAX_SEND 3000        /* far beyond HWMs plus loopback socket buffers */

/* Fills m with one size-byte frame (size >= 16) carrying seq at both ends. */
static void seq_msg(nm_msg_t *m, uint64_t seq, size_t size)
{
    void *p;
    TU_OK(nm_msg_add_alloc(m, size, &p));
    memset(p, (int)(seq & 0xff), size);
    memcpy(p, &seq, sizeof(seq));
    memcpy((uint8_t *)p + size - sizeof(seq), &seq, sizeof(seq));
}

static void check_seq(const nm_msg_t *m, uint64_t seq, size_t size)
{
    assert_int_equal(nm_msg_count(m), 1);
    assert_int_equal(nm_msg_size(m, 0), size);
    const uint8_t *p = nm_msg_data(m, 0);
    uint64_t a, b;
    memcpy(&a, p, sizeof(a));
    memcpy(&b, p + size - sizeof(b), sizeof(b));
    assert_int_equal(a, seq);
    assert_int_equal(b, seq);
    assert_int_equal(p[size / 2], (uint8_t)(seq & 0xff));
}

/*
 * Sends messages 0, 1, ... of size bytes with NM_DONTWAIT until the PUSH is stuck, and
 * returns how many were accepted.  A DONTWAIT send that finds the pipe full must leave
 * the message intact; the test then waits up to 500 ms (SNDTIMEO) for room, so that a
 * writer that is merely behind can catch up, and stops when even that times out.  The
 * refused message is left in *m.
 */
static uint64_t send_until_stuck(nm_sock_t *push, nm_msg_t *m, size_t size, uint64_t max)
{
    uint64_t sent = 0, refused = 0;
    int64_t deadline = tu_now_ms() + 60000;
    nm_msg_init(m);
    for (;;) {
        if (sent >= max)
            fail_msg("%llu messages of %zu bytes accepted: HWM not enforced",
                     (unsigned long long)sent, size);
        if (tu_now_ms() > deadline)
            fail_msg("send neither blocked nor progressed in time");
        if (nm_msg_count(m) == 0)
            seq_msg(m, sent, size);
        int rc = nm_sock_send(push, m, NM_DONTWAIT);
        if (rc == 0) {
            assert_int_equal(nm_msg_count(m), 0);
            sent++;
            continue;
        }
        TU_RC(rc, -EAGAIN);
        check_seq(m, sent, size); /* a refused message stays with the caller, intact */
        refused++;
        TU_OK(nm_sock_setopt_int(push, NM_SNDTIMEO, 500));
        rc = nm_sock_send(push, m, 0);
        TU_OK(nm_sock_setopt_int(push, NM_SNDTIMEO, -1));
        if (rc == 0) {
            sent++;
            continue;
        }
        TU_RC(rc, -EAGAIN);
        check_seq(m, sent, size);
        break;
    }
    assert_true(refused > 0);
    return sent;
}

/* A PUSH and a PULL with the given HWMs, connected, the connection known to be up. */
static void open_pair(nm_ctx_t *ctx, int hwm, nm_sock_t **push, nm_sock_t **pull)
{
    *pull = tu_sock(ctx, NM_PULL);
    *push = tu_sock(ctx, NM_PUSH);
    TU_OK(nm_sock_setopt_int(*pull, NM_RCVHWM, hwm));
    TU_OK(nm_sock_setopt_int(*push, NM_SNDHWM, hwm));
    char ep[TU_EP_MAX];
    tu_bind_tcp(*pull, ep, sizeof(ep));
    TU_OK(nm_sock_connect(*push, ep));
    /* Warm-up: once this arrives, the connection is up. */
    tu_send_str(*push, "warm-up");
    tu_recv_str(*pull, "warm-up");
}

static void test_hwm_blocks_and_recovers(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *push, *pull;
    open_pair(ctx, 10, &push, &pull);
    nm_msg_t m;
    uint64_t sent = send_until_stuck(push, &m, BIG, MAX_SEND);
    assert_true(sent >= 10);

    /* The blocked pipe shows up in the statistics. */
    tu_totals push_st = tu_totals_of(ctx, NM_PUSH);
    assert_int_equal(push_st.npipes, 1);
    assert_true(push_st.hwm_hits > 0);
    assert_true(push_st.queued_out > 0);
    tu_totals pull_st = tu_totals_of(ctx, NM_PULL);
    assert_true(pull_st.queued_in > 0);

    /* SNDTIMEO: a blocking send gives up after about 100 ms. */
    TU_OK(nm_sock_setopt_int(push, NM_SNDTIMEO, 100));
    int64_t t0 = tu_now_ms();
    TU_RC(nm_sock_send(push, &m, 0), -EAGAIN);
    int64_t elapsed = tu_now_ms() - t0;
    assert_true(elapsed >= 90);
    assert_true(elapsed < 2000);
    check_seq(&m, sent, BIG);

    /* The PULL drains everything accepted, in order. */
    for (uint64_t i = 0; i < sent; i++) {
        nm_msg_t r;
        tu_recv(pull, &r);
        check_seq(&r, i, BIG);
        nm_msg_close(&r);
    }

    /* Room again: the refused message and a few more go through. */
    TU_OK(nm_sock_setopt_int(push, NM_SNDTIMEO, TU_RCVTIMEO));
    TU_OK(nm_sock_send(push, &m, 0));
    assert_int_equal(nm_msg_count(&m), 0);
    for (uint64_t i = sent + 1; i < sent + 11; i++) {
        seq_msg(&m, i, BIG);
        TU_OK(nm_sock_send(push, &m, 0));
    }
    for (uint64_t i = sent; i < sent + 11; i++) {
        nm_msg_t r;
        tu_recv(pull, &r);
        check_seq(&r, i, BIG);
        nm_msg_close(&r);
    }
    tu_recv_none(pull, 50);
    nm_msg_close(&m);
    tu_ctx_destroy(&ctx);
}

/* The same with 64-byte messages: many more fit in the kernel's buffers, but the PUSH
 * still ends up refusing, nothing is lost and the order holds. */
static void test_hwm_small_messages(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *push, *pull;
    open_pair(ctx, 5, &push, &pull);
    nm_msg_t m;
    uint64_t sent = send_until_stuck(push, &m, 64, 2000000);
    assert_true(sent >= 5);
    assert_true(tu_totals_of(ctx, NM_PUSH).hwm_hits > 0);
    for (uint64_t i = 0; i < sent; i++) {
        nm_msg_t r;
        tu_recv(pull, &r);
        check_seq(&r, i, 64);
        nm_msg_close(&r);
    }
    TU_OK(nm_sock_send(push, &m, 0));
    tu_recv(pull, &m);
    check_seq(&m, sent, 64);
    nm_msg_close(&m);
    tu_recv_none(pull, 50);
    tu_ctx_destroy(&ctx);
}

static void test_recv_dontwait_empty(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *pull = tu_sock(ctx, NM_PULL);
    nm_msg_t m;
    nm_msg_init(&m);
    /* No peer at all. */
    int64_t t0 = tu_now_ms();
    TU_RC(nm_sock_recv(pull, &m, NM_DONTWAIT), -EAGAIN);
    assert_true(tu_now_ms() - t0 < 1000);
    assert_int_equal(nm_msg_count(&m), 0);
    /* A connected peer that sent nothing. */
    nm_sock_t *push = tu_sock(ctx, NM_PUSH);
    char ep[TU_EP_MAX];
    tu_bind_tcp(pull, ep, sizeof(ep));
    TU_OK(nm_sock_connect(push, ep));
    tu_wait_active(ctx, NM_PULL, 1);
    t0 = tu_now_ms();
    TU_RC(nm_sock_recv(pull, &m, NM_DONTWAIT), -EAGAIN);
    assert_true(tu_now_ms() - t0 < 1000);
    assert_int_equal(nm_msg_count(&m), 0);
    /* And once something arrived, DONTWAIT gets it. */
    tu_send_str(push, "now");
    int64_t deadline = tu_now_ms() + TU_RCVTIMEO;
    int rc;
    while ((rc = nm_sock_recv(pull, &m, NM_DONTWAIT)) == -EAGAIN && tu_now_ms() < deadline)
        tu_sleep_ms(1);
    TU_OK(rc);
    tu_assert_strs(&m, 1, "now");
    nm_msg_close(&m);
    tu_ctx_destroy(&ctx);
}

static void test_recv_timeout(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *pull = tu_sock(ctx, NM_PULL);
    char ep[TU_EP_MAX];
    tu_bind_tcp(pull, ep, sizeof(ep));
    TU_OK(nm_sock_setopt_int(pull, NM_RCVTIMEO, 100));
    int v = 0;
    TU_OK(nm_sock_getopt_int(pull, NM_RCVTIMEO, &v));
    assert_int_equal(v, 100);
    nm_msg_t m;
    nm_msg_init(&m);
    for (int i = 0; i < 2; i++) {
        int64_t t0 = tu_now_ms();
        TU_RC(nm_sock_recv(pull, &m, 0), -EAGAIN);
        int64_t elapsed = tu_now_ms() - t0;
        assert_true(elapsed >= 90);
        assert_true(elapsed < 2000);
        assert_int_equal(nm_msg_count(&m), 0);
    }
    /* RCVTIMEO 0 behaves like DONTWAIT. */
    TU_OK(nm_sock_setopt_int(pull, NM_RCVTIMEO, 0));
    int64_t t0 = tu_now_ms();
    TU_RC(nm_sock_recv(pull, &m, 0), -EAGAIN);
    assert_true(tu_now_ms() - t0 < 1000);
    nm_msg_close(&m);
    tu_ctx_destroy(&ctx);
}

/* Sends empty messages with DONTWAIT until the HWM refuses one (at most max). */
static int fill(nm_sock_t *s, int max)
{
    int n = 0;
    while (n < max && nm_sock_send_bytes(s, "", 0, NM_DONTWAIT) == 0)
        n++;
    return n;
}

static void test_hwm_change_existing_inproc(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *push = tu_sock(ctx, NM_PUSH), *pull = tu_sock(ctx, NM_PULL);
    TU_OK(nm_sock_setopt_int(push, NM_SNDHWM, 1));
    TU_OK(nm_sock_setopt_int(pull, NM_RCVHWM, 1));
    TU_OK(nm_sock_bind(push, "inproc://hwm-change"));
    TU_OK(nm_sock_connect(pull, "inproc://hwm-change"));
    TU_OK(nm_sock_setopt_int(push, NM_SNDHWM, 5));
    assert_int_equal(fill(push, 100), 6); /* 5 + the receiver's 1 */
    TU_OK(nm_sock_setopt_int(pull, NM_RCVHWM, 3));
    assert_int_equal(fill(push, 100), 2); /* 5 + 3 */
    TU_OK(nm_sock_setopt_int(pull, NM_RCVHWM, 0));
    assert_int_equal(fill(push, 100), 100); /* no limit */
    nm_sock_close(&pull);
    nm_sock_close(&push);
    tu_ctx_destroy(&ctx);
}

typedef struct hwms {
    int type;           /* the socket type whose pipe is looked at */
    int sndhwm, rcvhwm; /* that pipe's, as the statistics show them */
} hwms;

static void hwms_cb(void *arg, const nm_sock_stats_t *sock, const nm_pipe_stats_t *st)
{
    hwms *h = arg;
    if (sock->type == h->type) {
        h->sndhwm = st->sndhwm;
        h->rcvhwm = st->rcvhwm;
    }
}

static void test_hwm_change_existing_tcp(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *push = tu_sock(ctx, NM_PUSH), *pull = tu_sock(ctx, NM_PULL);
    char ep[TU_EP_MAX];
    tu_bind_tcp(pull, ep, sizeof(ep));
    TU_OK(nm_sock_connect(push, ep));
    tu_wait_active(ctx, NM_PULL, 1);
    tu_wait_active(ctx, NM_PUSH, 1);
    TU_OK(nm_sock_setopt_int(push, NM_SNDHWM, 77));
    TU_OK(nm_sock_setopt_int(pull, NM_RCVHWM, 55));
    hwms h = {.type = NM_PUSH};
    TU_OK(nm_ctx_stats(ctx, NULL, hwms_cb, &h));
    assert_int_equal(h.sndhwm, 77);
    h.type = NM_PULL;
    TU_OK(nm_ctx_stats(ctx, NULL, hwms_cb, &h));
    assert_int_equal(h.rcvhwm, 55);
    nm_sock_close(&pull);
    nm_sock_close(&push);
    tu_ctx_destroy(&ctx);
}

/* Connect first: the early pipe's limit takes the binder's RCVHWM when it binds. */
static void test_hwm_inproc_connect_first(void **state)
{
    (void)state;
    const int rcvhwms[] = {0, 1}, want[] = {1000, 2};
    for (int i = 0; i < 2; i++) {
        nm_ctx_t *ctx = tu_ctx();
        nm_sock_t *push = tu_sock(ctx, NM_PUSH), *pull = tu_sock(ctx, NM_PULL);
        TU_OK(nm_sock_setopt_int(push, NM_SNDHWM, 1));
        TU_OK(nm_sock_connect(push, "inproc://hwm-early"));
        TU_OK(nm_sock_setopt_int(pull, NM_RCVHWM, rcvhwms[i]));
        TU_OK(nm_sock_bind(pull, "inproc://hwm-early"));
        assert_int_equal(fill(push, 1000), want[i]);
        nm_sock_close(&pull);
        nm_sock_close(&push);
        tu_ctx_destroy(&ctx);
    }
}

/* Sent before any bind, then the connecter closes: the messages wait for the binder
 * while the connecter lingers (forever; 50 ms, bound after 150), and are gone with it
 * if not. */
static void test_inproc_sent_before_bind_outlives_close(void **state)
{
    (void)state;
    const int lingers[] = {-1, 0, 50};
    for (int i = 0; i < 3; i++) {
        nm_ctx_t *ctx = tu_ctx();
        nm_sock_t *push = tu_sock(ctx, NM_PUSH), *pull = tu_sock(ctx, NM_PULL);
        TU_OK(nm_sock_setopt_int(push, NM_LINGER, lingers[i]));
        TU_OK(nm_sock_connect(push, "inproc://hwm-orphan"));
        tu_send_str(push, "a");
        tu_send_str(push, "b");
        nm_sock_close(&push);
        if (lingers[i] > 0)
            tu_sleep_ms(3 * lingers[i]);
        TU_OK(nm_sock_bind(pull, "inproc://hwm-orphan"));
        if (lingers[i] < 0) {
            tu_recv_str(pull, "a");
            tu_recv_str(pull, "b");
        }
        tu_recv_none(pull, 50);
        nm_sock_close(&pull);
        tu_ctx_destroy(&ctx);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hwm_blocks_and_recovers),
        cmocka_unit_test(test_hwm_small_messages),
        cmocka_unit_test(test_recv_dontwait_empty),
        cmocka_unit_test(test_recv_timeout),
        cmocka_unit_test(test_hwm_change_existing_inproc),
        cmocka_unit_test(test_hwm_change_existing_tcp),
        cmocka_unit_test(test_hwm_inproc_connect_first),
        cmocka_unit_test(test_inproc_sent_before_bind_outlives_close),
    };
    return cmocka_run_group_tests_name("sock_hwm", tests, NULL, NULL);
}
