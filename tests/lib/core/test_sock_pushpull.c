/*
 * test_sock_pushpull.c - PUSH/PULL over tcp and ipc, and the ownership rule of send.
 *
 * Covers: a successful send empties the message and a failed one (-EAGAIN: no peers,
 * IMMEDIATE with no connection, DONTWAIT or SNDTIMEO) leaves its frames with the caller;
 * a zero-copy frame is freed exactly once after it went out; PUSH round-robins over
 * three PULLs in strict turn; PULL fair-queues three PUSHes (interleaved, all delivered,
 * each sender's order kept); long streams of small frames, and of frames around the
 * direct-read threshold, arrive whole and in order over tcp and ipc; a disconnect drops
 * what its connections sent and the application has not read (libzmq's).
 */
#include "testutil.h"

/* The ownership rule on success: the caller's message is left empty. */
static void test_send_success_empties(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *pull = tu_sock(ctx, NM_PULL);
    nm_sock_t *push = tu_sock(ctx, NM_PUSH);
    char ep[TU_EP_MAX];
    tu_bind_tcp(pull, ep, sizeof(ep));
    TU_OK(nm_sock_connect(push, ep));

    nm_msg_t m;
    nm_msg_init(&m);
    tu_msg_strs(&m, 3, "first", "", "third");
    TU_OK(nm_sock_send(push, &m, 0));
    assert_int_equal(nm_msg_count(&m), 0);
    assert_int_equal(nm_msg_bytes(&m), 0);
    /* The emptied message can be filled and sent again. */
    tu_msg_strs(&m, 1, "second message");
    TU_OK(nm_sock_send(push, &m, NM_DONTWAIT));
    assert_int_equal(nm_msg_count(&m), 0);
    nm_msg_close(&m);

    tu_recv_strs(pull, 3, "first", "", "third");
    tu_recv_strs(pull, 1, "second message");
    tu_ctx_destroy(&ctx);
}

/* The ownership rule on failure: -EAGAIN leaves every frame where it was. */
static void check_send_fails_keeps(nm_sock_t *push)
{
    nm_msg_t m;
    nm_msg_init(&m);
    tu_msg_strs(&m, 2, "kept", "");
    TU_OK(nm_msg_add(&m, NULL, 0));
    TU_RC(nm_sock_send(push, &m, NM_DONTWAIT), -EAGAIN);
    tu_assert_strs(&m, 3, "kept", "", "");

    TU_OK(nm_sock_setopt_int(push, NM_SNDTIMEO, 50));
    int64_t t0 = tu_now_ms();
    TU_RC(nm_sock_send(push, &m, 0), -EAGAIN);
    int64_t elapsed = tu_now_ms() - t0;
    assert_true(elapsed >= 40 && elapsed < 2000);
    tu_assert_strs(&m, 3, "kept", "", "");

    TU_RC(nm_sock_send_bytes(push, "x", 1, NM_DONTWAIT), -EAGAIN);
    nm_msg_close(&m);
}

static void test_send_fail_no_peers(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *push = tu_sock(ctx, NM_PUSH);
    check_send_fails_keeps(push);
    tu_ctx_destroy(&ctx);
}

static void test_send_fail_immediate(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *push = tu_sock(ctx, NM_PUSH);
    TU_OK(nm_sock_setopt_int(push, NM_IMMEDIATE, 1));
    char ep[TU_EP_MAX];
    snprintf(ep, sizeof(ep), "tcp://127.0.0.1:%d", tu_free_tcp_port());
    TU_OK(nm_sock_connect(push, ep)); /* nobody listens: no completed connection */
    check_send_fails_keeps(push);
    tu_ctx_destroy(&ctx);
}

/* Counts the calls of a zero-copy free callback. */
typedef struct zc_probe {
    int calls; /* times the callback ran */
} zc_probe;

static void zc_free_cb(void *data, void *hint)
{
    zc_probe *p = hint;
    p->calls++;
    free(data);
}

static void test_zero_copy_send(void **state)
{
    (void)state;
    char dir[64];
    tu_tmpdir(dir, sizeof(dir));
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *pull = tu_sock(ctx, NM_PULL);
    nm_sock_t *push = tu_sock(ctx, NM_PUSH);
    char ep[TU_EP_MAX];
    tu_bind_ipc(pull, dir, "zc.sock", ep, sizeof(ep));
    TU_OK(nm_sock_connect(push, ep));

    zc_probe big_probe = {0}, small_probe = {0};
    size_t big_size = 300000;
    uint8_t *big = malloc(big_size);
    char *small = malloc(6);
    assert_non_null(big);
    assert_non_null(small);
    for (size_t i = 0; i < big_size; i++)
        big[i] = (uint8_t)(i % 251);
    memcpy(small, "small", 6);

    nm_msg_t m;
    nm_msg_init(&m);
    TU_OK(nm_msg_add_zc(&m, small, 5, zc_free_cb, &small_probe));
    TU_OK(nm_msg_add_zc(&m, big, big_size, zc_free_cb, &big_probe));
    TU_OK(nm_sock_send(push, &m, 0));
    assert_int_equal(nm_msg_count(&m), 0);

    nm_msg_t r;
    tu_recv(pull, &r);
    assert_int_equal(nm_msg_count(&r), 2);
    tu_assert_frame(&r, 0, "small");
    assert_int_equal(nm_msg_size(&r, 1), big_size);
    const uint8_t *got = nm_msg_data(&r, 1);
    for (size_t i = 0; i < big_size; i++)
        if (got[i] != (uint8_t)(i % 251))
            fail_msg("byte %zu differs", i);
    nm_msg_close(&r);
    nm_msg_close(&m);

    tu_ctx_destroy(&ctx);
    /* Once everything is gone, each buffer was released exactly once. */
    assert_int_equal(small_probe.calls, 1);
    assert_int_equal(big_probe.calls, 1);
    tu_tmpdir_remove(dir);
}

/* A message "<sender>:<seq>" and its parts. */
static void send_seq(nm_sock_t *s, int sender, int seq)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%d:%d", sender, seq);
    tu_send_str(s, buf);
}

static void recv_seq(nm_sock_t *s, int *sender, int *seq)
{
    nm_msg_t m;
    tu_recv(s, &m);
    assert_int_equal(nm_msg_count(&m), 1);
    char buf[32] = {0};
    assert_true(nm_msg_size(&m, 0) < sizeof(buf));
    memcpy(buf, nm_msg_data(&m, 0), nm_msg_size(&m, 0));
    assert_int_equal(sscanf(buf, "%d:%d", sender, seq), 2);
    nm_msg_close(&m);
}

static void test_push_round_robin(void **state)
{
    (void)state;
    enum { NPULL = 3, PER = 10 };
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *push = tu_sock(ctx, NM_PUSH);
    nm_sock_t *pulls[NPULL];
    for (int i = 0; i < NPULL; i++) {
        char ep[TU_EP_MAX];
        pulls[i] = tu_sock(ctx, NM_PULL);
        tu_bind_tcp(pulls[i], ep, sizeof(ep));
        TU_OK(nm_sock_connect(push, ep));
    }
    tu_wait_active(ctx, NM_PUSH, NPULL);

    for (int i = 0; i < NPULL * PER; i++)
        send_seq(push, 0, i);
    /* Each PULL gets exactly its share, in order, every NPULL-th message. */
    int firsts[NPULL];
    for (int p = 0; p < NPULL; p++) {
        int sender, seq, prev = -1;
        for (int k = 0; k < PER; k++) {
            recv_seq(pulls[p], &sender, &seq);
            assert_int_equal(sender, 0);
            if (k == 0) {
                assert_true(seq < NPULL);
                firsts[p] = seq;
            } else {
                assert_int_equal(seq, prev + NPULL);
            }
            prev = seq;
        }
        tu_recv_none(pulls[p], 50);
    }
    /* The three PULLs started at three different positions of the turn. */
    assert_int_not_equal(firsts[0], firsts[1]);
    assert_int_not_equal(firsts[0], firsts[2]);
    assert_int_not_equal(firsts[1], firsts[2]);
    tu_ctx_destroy(&ctx);
}

static void test_pull_fair_queue(void **state)
{
    (void)state;
    enum { NPUSH = 3, PER = 20 };
    char dir[64];
    tu_tmpdir(dir, sizeof(dir));
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *pull = tu_sock(ctx, NM_PULL);
    char tcp_ep[TU_EP_MAX], ipc_ep[TU_EP_MAX];
    tu_bind_tcp(pull, tcp_ep, sizeof(tcp_ep));
    tu_bind_ipc(pull, dir, "fq.sock", ipc_ep, sizeof(ipc_ep));
    nm_sock_t *pushes[NPUSH];
    for (int i = 0; i < NPUSH; i++) {
        pushes[i] = tu_sock(ctx, NM_PUSH);
        TU_OK(nm_sock_connect(pushes[i], i == 1 ? ipc_ep : tcp_ep));
    }
    for (int i = 0; i < NPUSH; i++)
        for (int k = 0; k < PER; k++)
            send_seq(pushes[i], i, k);
    /* Let every message reach the PULL's pipes before reading any. */
    tu_wait_queued_in(ctx, NM_PULL, NPUSH * PER);

    int next[NPUSH] = {0};
    int order[NPUSH * PER];
    for (int n = 0; n < NPUSH * PER; n++) {
        int sender, seq;
        recv_seq(pull, &sender, &seq);
        assert_true(sender >= 0 && sender < NPUSH);
        assert_int_equal(seq, next[sender]); /* per-sender order kept */
        next[sender]++;
        order[n] = sender;
    }
    for (int i = 0; i < NPUSH; i++)
        assert_int_equal(next[i], PER);
    /* With all three pipes full, fair queueing takes one message from each in turn. */
    for (int n = 0; n + NPUSH <= NPUSH * PER; n += NPUSH) {
        assert_int_not_equal(order[n], order[n + 1]);
        assert_int_not_equal(order[n], order[n + 2]);
        assert_int_not_equal(order[n + 1], order[n + 2]);
    }
    tu_recv_none(pull, 50);
    tu_ctx_destroy(&ctx);
    tu_tmpdir_remove(dir);
}

/* A PULL reading while its PUSH sends a long stream of mixed sizes: nothing lost,
 * nothing reordered (the coalescing write path and batched reads). */
static void test_stream_in_order(void **state)
{
    (void)state;
    enum { N = 20000, BATCH = 500 };
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *pull = tu_sock(ctx, NM_PULL);
    nm_sock_t *push = tu_sock(ctx, NM_PUSH);
    char ep[TU_EP_MAX];
    tu_bind_tcp(pull, ep, sizeof(ep));
    TU_OK(nm_sock_connect(push, ep));
    uint8_t buf[600];
    for (int base = 0; base < N; base += BATCH) {
        for (int i = base; i < base + BATCH; i++) {
            size_t n = 4 + (size_t)(i * 7) % 500;
            memset(buf, (uint8_t)i, n);
            memcpy(buf, &i, sizeof(i));
            TU_OK(nm_sock_send_bytes(push, buf, n, 0));
        }
        for (int i = base; i < base + BATCH; i++) {
            nm_msg_t m;
            tu_recv(pull, &m);
            assert_int_equal(nm_msg_count(&m), 1);
            size_t n = 4 + (size_t)(i * 7) % 500;
            assert_int_equal(nm_msg_size(&m, 0), n);
            int seq;
            memcpy(&seq, nm_msg_data(&m, 0), sizeof(seq));
            assert_int_equal(seq, i);
            assert_int_equal(((const uint8_t *)nm_msg_data(&m, 0))[n - 1],
                             n > 4 ? (uint8_t)i : ((const uint8_t *)&i)[3]);
            nm_msg_close(&m);
        }
    }
    tu_ctx_destroy(&ctx);
}

/* Frames of sizes around the direct-read threshold (16 KiB), several per message,
 * each filled from its seed: the reader switches between its shared buffer and
 * reading bodies straight into messages without losing alignment or a byte, also
 * while paused at a tiny receive HWM. */
static const size_t large_sizes[] = {0,     1,     9,     255,   256,   8000,
                                     16383, 16384, 16385, 65536, 70001, 200000};
enum { LARGE_NSIZES = sizeof(large_sizes) / sizeof(large_sizes[0]) };

static size_t large_frame_size(int i, int j)
{
    return large_sizes[(size_t)(i + 5 * j) % LARGE_NSIZES];
}

static void large_fill(uint8_t *buf, size_t n, uint32_t seed)
{
    for (size_t k = 0; k < n; k++) {
        seed = seed * 1103515245u + 12345u;
        buf[k] = (uint8_t)(seed >> 16);
    }
}

static void check_large_frames(nm_sock_t *pull, nm_sock_t *push)
{
    enum { N = 240, BATCH = 40 };
    size_t max = 200000;
    uint8_t *buf = malloc(max), *want = malloc(max);
    assert_non_null(buf);
    assert_non_null(want);
    for (int base = 0; base < N; base += BATCH) {
        for (int i = base; i < base + BATCH; i++) {
            nm_msg_t m;
            nm_msg_init(&m);
            for (int j = 0; j < 1 + i % 3; j++) {
                size_t n = large_frame_size(i, j);
                large_fill(buf, n, (uint32_t)(i * 8 + j));
                TU_OK(nm_msg_add(&m, buf, n));
            }
            TU_OK(nm_sock_send(push, &m, 0));
            nm_msg_close(&m);
        }
        for (int i = base; i < base + BATCH; i++) {
            nm_msg_t m;
            tu_recv(pull, &m);
            assert_int_equal(nm_msg_count(&m), 1 + i % 3);
            for (int j = 0; j < 1 + i % 3; j++) {
                size_t n = large_frame_size(i, j);
                large_fill(want, n, (uint32_t)(i * 8 + j));
                tu_assert_frame_mem(&m, (size_t)j, want, n);
            }
            nm_msg_close(&m);
        }
    }
    free(buf);
    free(want);
}

static void test_large_frames(void **state)
{
    (void)state;
    char dir[TU_EP_MAX], ep[TU_EP_MAX];
    tu_tmpdir(dir, sizeof(dir));
    for (int t = 0; t < 2; t++) {
        nm_ctx_t *ctx = tu_ctx();
        nm_sock_t *pull = tu_sock(ctx, NM_PULL);
        nm_sock_t *push = tu_sock(ctx, NM_PUSH);
        TU_OK(nm_sock_setopt_int(pull, NM_RCVHWM, 3));
        if (t == 0)
            tu_bind_tcp(pull, ep, sizeof(ep));
        else
            tu_bind_ipc(pull, dir, "large", ep, sizeof(ep));
        TU_OK(nm_sock_connect(push, ep));
        check_large_frames(pull, push);
        tu_ctx_destroy(&ctx);
    }
    tu_tmpdir_remove(dir);
}

static void test_disconnect_drops_unread(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *pull = tu_sock(ctx, NM_PULL), *push = tu_sock(ctx, NM_PUSH);
    char ep[TU_EP_MAX];
    tu_bind_tcp(push, ep, sizeof(ep));
    TU_OK(nm_sock_connect(pull, ep));
    tu_send_str(push, "old");
    tu_wait_queued_in(ctx, NM_PULL, 1);
    TU_OK(nm_sock_disconnect(pull, ep));
    tu_recv_none(pull, 100);
    TU_OK(nm_sock_connect(pull, ep)); /* a new connection brings new messages */
    int64_t deadline = tu_now_ms() + TU_RCVTIMEO;
    for (;;) { /* the PUSH has let go of the old one and has the new one */
        int ev;
        TU_OK(nm_sock_getopt_int(push, NM_EVENTS, &ev)); /* runs its commands */
        tu_totals t = tu_totals_of(ctx, NM_PUSH);
        if (t.npipes == 1 && t.nactive == 1)
            break;
        assert_true(tu_now_ms() < deadline);
        tu_sleep_ms(5);
    }
    tu_send_str(push, "new");
    tu_recv_str(pull, "new");
    nm_sock_close(&push);
    nm_sock_close(&pull);
    tu_ctx_destroy(&ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_send_success_empties),    cmocka_unit_test(test_send_fail_no_peers),
        cmocka_unit_test(test_send_fail_immediate),     cmocka_unit_test(test_zero_copy_send),
        cmocka_unit_test(test_push_round_robin),        cmocka_unit_test(test_pull_fair_queue),
        cmocka_unit_test(test_stream_in_order),         cmocka_unit_test(test_large_frames),
        cmocka_unit_test(test_disconnect_drops_unread),
    };
    return cmocka_run_group_tests_name("sock_pushpull", tests, NULL, NULL);
}
