/*
 * test_sock_pair.c - PAIR to PAIR over tcp and ipc: both directions, multipart messages
 * with empty frames, frames across the inline (72/73) and ZMTP short/long (255/256)
 * boundaries and over 1 MiB, and a long stream in order.
 */
#include "testutil.h"

#define BIG_SIZE ((size_t)1024 * 1024 + 1)

static const size_t sizes[] = {0, 1, 72, 73, 255, 256, BIG_SIZE};
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

static void fill(uint8_t *buf, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        buf[i] = (uint8_t)(i * 13 + seed * 29 + (i >> 9));
}

static void check_frame(const nm_msg_t *m, size_t i, size_t size, unsigned seed)
{
    assert_int_equal(nm_msg_size(m, i), size);
    if (size == 0)
        return;
    uint8_t *want = malloc(size);
    assert_non_null(want);
    fill(want, size, seed);
    assert_memory_equal(nm_msg_data(m, i), want, size);
    free(want);
}

/* Two PAIRs: a binds (tcp, or ipc in dir when dir is not NULL), b connects. */
static void pair_open(nm_ctx_t *ctx, const char *dir, nm_sock_t **a, nm_sock_t **b)
{
    char ep[TU_EP_MAX];
    *a = tu_sock(ctx, NM_PAIR);
    *b = tu_sock(ctx, NM_PAIR);
    if (dir != NULL)
        tu_bind_ipc(*a, dir, "pair.sock", ep, sizeof(ep));
    else
        tu_bind_tcp(*a, ep, sizeof(ep));
    TU_OK(nm_sock_connect(*b, ep));
}

static void both_ways(const char *dir)
{
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *a, *b;
    pair_open(ctx, dir, &a, &b);
    tu_send_str(b, "ping");
    tu_recv_str(a, "ping");
    tu_send_str(a, "pong");
    tu_recv_str(b, "pong");
    /* Multipart with empty frames, first and last included. */
    tu_send_strs(a, 4, "", "x", "", "");
    tu_send_strs(b, 3, "", "", "y");
    tu_recv_strs(b, 4, "", "x", "", "");
    tu_recv_strs(a, 3, "", "", "y");
    /* A message of one empty frame. */
    tu_send_strs(a, 1, "");
    tu_recv_strs(b, 1, "");
    tu_ctx_destroy(&ctx);
}

static void test_pair_tcp(void **state)
{
    (void)state;
    both_ways(NULL);
}

static void test_pair_ipc(void **state)
{
    (void)state;
    char dir[64];
    tu_tmpdir(dir, sizeof(dir));
    both_ways(dir);
    tu_tmpdir_remove(dir);
}

static void frame_sizes(const char *dir)
{
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *a, *b;
    pair_open(ctx, dir, &a, &b);
    /* Every size as a one-frame message, then all of them in one message, both ways. */
    for (int dirn = 0; dirn < 2; dirn++) {
        nm_sock_t *from = dirn == 0 ? a : b, *to = dirn == 0 ? b : a;
        for (size_t k = 0; k < NSIZES; k++) {
            nm_msg_t m;
            nm_msg_init(&m);
            void *p;
            TU_OK(nm_msg_add_alloc(&m, sizes[k], &p));
            fill(p, sizes[k], (unsigned)k);
            TU_OK(nm_sock_send(from, &m, 0));
            assert_int_equal(nm_msg_count(&m), 0);
        }
        nm_msg_t all;
        nm_msg_init(&all);
        for (size_t k = 0; k < NSIZES; k++) {
            void *p;
            TU_OK(nm_msg_add_alloc(&all, sizes[k], &p));
            fill(p, sizes[k], (unsigned)k + 50);
        }
        TU_OK(nm_sock_send(from, &all, 0));
        for (size_t k = 0; k < NSIZES; k++) {
            nm_msg_t m;
            tu_recv(to, &m);
            assert_int_equal(nm_msg_count(&m), 1);
            check_frame(&m, 0, sizes[k], (unsigned)k);
            nm_msg_close(&m);
        }
        tu_recv(to, &all);
        assert_int_equal(nm_msg_count(&all), NSIZES);
        size_t total = 0;
        for (size_t k = 0; k < NSIZES; k++) {
            check_frame(&all, k, sizes[k], (unsigned)k + 50);
            total += sizes[k];
        }
        assert_int_equal(nm_msg_bytes(&all), total);
        nm_msg_close(&all);
    }
    tu_ctx_destroy(&ctx);
}

static void test_pair_frame_sizes_tcp(void **state)
{
    (void)state;
    frame_sizes(NULL);
}

static void test_pair_frame_sizes_ipc(void **state)
{
    (void)state;
    char dir[64];
    tu_tmpdir(dir, sizeof(dir));
    frame_sizes(dir);
    tu_tmpdir_remove(dir);
}

/* Both sides send batches at once (well under the HWM) and then read: no loss, no
 * reordering, no mixing of the two directions. */
static void test_pair_stream(void **state)
{
    (void)state;
    enum { N = 10000, BATCH = 400 };
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *a, *b;
    pair_open(ctx, NULL, &a, &b);
    for (int base = 0; base < N; base += BATCH) {
        for (int i = base; i < base + BATCH; i++) {
            uint32_t v[2] = {(uint32_t)i, 0xA};
            TU_OK(nm_sock_send_bytes(a, v, sizeof(v), 0));
            v[1] = 0xB;
            nm_msg_t m;
            nm_msg_init(&m);
            TU_OK(nm_msg_add(&m, v, sizeof(v)));
            TU_OK(nm_msg_add(&m, NULL, 0));
            TU_OK(nm_sock_send(b, &m, 0));
        }
        for (int i = base; i < base + BATCH; i++) {
            nm_msg_t m;
            uint32_t v[2];
            tu_recv(b, &m);
            assert_int_equal(nm_msg_count(&m), 1);
            assert_int_equal(nm_msg_size(&m, 0), sizeof(v));
            memcpy(v, nm_msg_data(&m, 0), sizeof(v));
            assert_int_equal(v[0], (uint32_t)i);
            assert_int_equal(v[1], 0xA);
            nm_msg_close(&m);
            tu_recv(a, &m);
            assert_int_equal(nm_msg_count(&m), 2);
            memcpy(v, nm_msg_data(&m, 0), sizeof(v));
            assert_int_equal(v[0], (uint32_t)i);
            assert_int_equal(v[1], 0xB);
            assert_int_equal(nm_msg_size(&m, 1), 0);
            nm_msg_close(&m);
        }
    }
    tu_ctx_destroy(&ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pair_tcp),
        cmocka_unit_test(test_pair_ipc),
        cmocka_unit_test(test_pair_frame_sizes_tcp),
        cmocka_unit_test(test_pair_frame_sizes_ipc),
        cmocka_unit_test(test_pair_stream),
    };
    return cmocka_run_group_tests_name("sock_pair", tests, NULL, NULL);
}
