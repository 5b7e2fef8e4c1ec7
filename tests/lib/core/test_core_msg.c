/*
 * test_core_msg.c - unit tests for the message API (nm_msg_*): frames added by copy, by
 * allocation and zero-copy, prepend and pop_front, copy (large frames shared, not
 * copied), move, and the accessors, over empty frames and the sizes around the inline
 * limit (72/73 bytes), the ZMTP short/long boundary (255/256) and a frame over 1 MiB.
 * No sockets: these only need the message code.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nomid.h"

#define BIG_SIZE ((size_t)1024 * 1024 + 1)

static const size_t sizes[] = {0, 1, 72, 73, 255, 256, BIG_SIZE};
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

/* Fills buf with a pattern that depends on seed, so frames differ from each other. */
static void fill(uint8_t *buf, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        buf[i] = (uint8_t)(i * 31 + seed * 7 + (i >> 8));
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

/* Counts the calls of a zero-copy free callback. */
typedef struct zc_probe {
    int calls;      /* times the callback ran */
    void *data;     /* the data pointer it got */
    bool free_data; /* free(data) in the callback */
} zc_probe;

static void zc_free_cb(void *data, void *hint)
{
    zc_probe *p = hint;
    p->calls++;
    p->data = data;
    if (p->free_data)
        free(data);
}

static void test_empty_message(void **state)
{
    (void)state;
    nm_msg_t m;
    nm_msg_init(&m);
    assert_int_equal(nm_msg_count(&m), 0);
    assert_int_equal(nm_msg_bytes(&m), 0);
    nm_msg_pop_front(&m); /* no-op */
    assert_int_equal(nm_msg_count(&m), 0);
    nm_msg_close(&m);
    assert_int_equal(nm_msg_count(&m), 0);
    nm_msg_close(&m); /* close leaves it empty: closing again is fine */
    assert_int_equal(nm_msg_count(&m), 0);
}

static void test_empty_frames(void **state)
{
    (void)state;
    nm_msg_t m;
    nm_msg_init(&m);
    assert_int_equal(nm_msg_add(&m, NULL, 0), 0);
    assert_int_equal(nm_msg_add(&m, "", 0), 0);
    void *p = NULL;
    assert_int_equal(nm_msg_add_alloc(&m, 0, &p), 0);
    assert_int_equal(nm_msg_count(&m), 3);
    assert_int_equal(nm_msg_bytes(&m), 0);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(nm_msg_size(&m, i), 0);
    nm_msg_close(&m);
    assert_int_equal(nm_msg_count(&m), 0);
}

static void test_add_sizes(void **state)
{
    (void)state;
    size_t total = 0;
    nm_msg_t m;
    nm_msg_init(&m);
    for (size_t k = 0; k < NSIZES; k++) {
        uint8_t *buf = malloc(sizes[k] + 1);
        assert_non_null(buf);
        fill(buf, sizes[k], (unsigned)k);
        assert_int_equal(nm_msg_add(&m, buf, sizes[k]), 0);
        /* The frame is a copy: changing the source afterwards does not change it. */
        memset(buf, 0xEE, sizes[k] + 1);
        free(buf);
        total += sizes[k];
        assert_int_equal(nm_msg_count(&m), k + 1);
        assert_int_equal(nm_msg_bytes(&m), total);
    }
    for (size_t k = 0; k < NSIZES; k++)
        check_frame(&m, k, sizes[k], (unsigned)k);
    nm_msg_close(&m);
    assert_int_equal(nm_msg_count(&m), 0);
    assert_int_equal(nm_msg_bytes(&m), 0);
}

static void test_add_alloc_sizes(void **state)
{
    (void)state;
    nm_msg_t m;
    nm_msg_init(&m);
    for (size_t k = 0; k < NSIZES; k++) {
        void *p = NULL;
        assert_int_equal(nm_msg_add_alloc(&m, sizes[k], &p), 0);
        assert_int_equal(nm_msg_count(&m), k + 1);
        assert_int_equal(nm_msg_size(&m, k), sizes[k]);
        if (sizes[k] > 0) {
            assert_non_null(p);
            /* The storage returned is the frame's own (valid until m changes). */
            assert_ptr_equal(nm_msg_data(&m, k), p);
            fill(p, sizes[k], (unsigned)k + 100);
        }
    }
    for (size_t k = 0; k < NSIZES; k++)
        check_frame(&m, k, sizes[k], (unsigned)k + 100);
    nm_msg_close(&m);
}

static void test_many_frames(void **state)
{
    (void)state;
    nm_msg_t m;
    nm_msg_init(&m);
    uint8_t buf[300];
    size_t total = 0;
    for (size_t i = 0; i < 200; i++) {
        size_t n = (i * 37) % sizeof(buf);
        fill(buf, n, (unsigned)i);
        assert_int_equal(nm_msg_add(&m, buf, n), 0);
        total += n;
    }
    assert_int_equal(nm_msg_count(&m), 200);
    assert_int_equal(nm_msg_bytes(&m), total);
    for (size_t i = 0; i < 200; i++)
        check_frame(&m, i, (i * 37) % sizeof(buf), (unsigned)i);
    nm_msg_close(&m);
}

static void test_add_zc_freed_once(void **state)
{
    (void)state;
    zc_probe probe = {.free_data = true};
    size_t n = 100000;
    uint8_t *buf = malloc(n);
    assert_non_null(buf);
    fill(buf, n, 5);

    nm_msg_t a, b, c;
    nm_msg_init(&a);
    nm_msg_init(&b);
    nm_msg_init(&c);
    assert_int_equal(nm_msg_add(&a, "head", 4), 0);
    assert_int_equal(nm_msg_add_zc(&a, buf, n, zc_free_cb, &probe), 0);
    assert_int_equal(nm_msg_count(&a), 2);
    assert_int_equal(nm_msg_bytes(&a), 4 + n);
    assert_ptr_equal(nm_msg_data(&a, 1), buf); /* zero-copy: the user's own bytes */

    assert_int_equal(nm_msg_copy(&b, &a), 0);
    assert_int_equal(nm_msg_copy(&c, &b), 0);
    assert_ptr_equal(nm_msg_data(&b, 1), buf);
    assert_ptr_equal(nm_msg_data(&c, 1), buf);

    nm_msg_close(&a);
    assert_int_equal(probe.calls, 0);
    nm_msg_pop_front(&b); /* dropping another frame does not release this one */
    assert_int_equal(probe.calls, 0);
    check_frame(&b, 0, n, 5);
    nm_msg_close(&b);
    assert_int_equal(probe.calls, 0);
    check_frame(&c, 1, n, 5);
    nm_msg_close(&c);
    assert_int_equal(probe.calls, 1);
    assert_ptr_equal(probe.data, buf);
    nm_msg_close(&c);
    assert_int_equal(probe.calls, 1);
}

static void test_add_zc_small_and_static(void **state)
{
    (void)state;
    /* A small zero-copy frame keeps its callback too, even though it would fit inline. */
    zc_probe probe = {.free_data = false};
    static char small[] = "tiny";
    static const char fixed[] = "static data, no free function";
    nm_msg_t m, copy;
    nm_msg_init(&m);
    nm_msg_init(&copy);
    assert_int_equal(nm_msg_add_zc(&m, small, 4, zc_free_cb, &probe), 0);
    assert_int_equal(nm_msg_add_zc(&m, (void *)fixed, sizeof(fixed), NULL, NULL), 0);
    assert_int_equal(nm_msg_add_zc(&m, NULL, 0, NULL, NULL), 0);
    assert_int_equal(nm_msg_count(&m), 3);
    assert_memory_equal(nm_msg_data(&m, 0), "tiny", 4);
    assert_memory_equal(nm_msg_data(&m, 1), fixed, sizeof(fixed));
    assert_int_equal(nm_msg_size(&m, 2), 0);
    assert_int_equal(nm_msg_copy(&copy, &m), 0);
    nm_msg_close(&m);
    assert_int_equal(probe.calls, 0);
    nm_msg_close(&copy);
    assert_int_equal(probe.calls, 1);
    assert_ptr_equal(probe.data, small);
}

static void test_add_zc_moved(void **state)
{
    (void)state;
    zc_probe probe = {.free_data = true};
    uint8_t *buf = malloc(1000);
    assert_non_null(buf);
    nm_msg_t a, b;
    nm_msg_init(&a);
    nm_msg_init(&b);
    assert_int_equal(nm_msg_add_zc(&a, buf, 1000, zc_free_cb, &probe), 0);
    nm_msg_move(&b, &a);
    nm_msg_close(&a);
    assert_int_equal(probe.calls, 0);
    nm_msg_close(&b);
    assert_int_equal(probe.calls, 1);
}

static void test_prepend_pop_front(void **state)
{
    (void)state;
    nm_msg_t m;
    nm_msg_init(&m);
    assert_int_equal(nm_msg_prepend(&m, "c", 1), 0); /* prepend to an empty message */
    assert_int_equal(nm_msg_count(&m), 1);
    assert_int_equal(nm_msg_prepend(&m, "b", 1), 0);
    assert_int_equal(nm_msg_prepend(&m, NULL, 0), 0); /* empty delimiter frame */
    assert_int_equal(nm_msg_add(&m, "d", 1), 0);
    uint8_t big[300];
    fill(big, sizeof(big), 9);
    assert_int_equal(nm_msg_prepend(&m, big, sizeof(big)), 0);
    /* [big, "", "b", "c", "d"] */
    assert_int_equal(nm_msg_count(&m), 5);
    assert_int_equal(nm_msg_bytes(&m), sizeof(big) + 3);
    check_frame(&m, 0, sizeof(big), 9);
    assert_int_equal(nm_msg_size(&m, 1), 0);
    assert_memory_equal(nm_msg_data(&m, 2), "b", 1);
    assert_memory_equal(nm_msg_data(&m, 3), "c", 1);
    assert_memory_equal(nm_msg_data(&m, 4), "d", 1);

    nm_msg_pop_front(&m);
    assert_int_equal(nm_msg_count(&m), 4);
    assert_int_equal(nm_msg_size(&m, 0), 0);
    nm_msg_pop_front(&m);
    assert_int_equal(nm_msg_count(&m), 3);
    assert_memory_equal(nm_msg_data(&m, 0), "b", 1);
    assert_memory_equal(nm_msg_data(&m, 2), "d", 1);
    assert_int_equal(nm_msg_bytes(&m), 3);
    nm_msg_pop_front(&m);
    nm_msg_pop_front(&m);
    assert_int_equal(nm_msg_count(&m), 1);
    assert_memory_equal(nm_msg_data(&m, 0), "d", 1);
    nm_msg_pop_front(&m);
    assert_int_equal(nm_msg_count(&m), 0);
    nm_msg_pop_front(&m);
    assert_int_equal(nm_msg_count(&m), 0);
    assert_int_equal(nm_msg_bytes(&m), 0);
    nm_msg_close(&m);
}

static void test_prepend_every_size(void **state)
{
    (void)state;
    nm_msg_t m;
    nm_msg_init(&m);
    for (size_t k = 0; k < NSIZES; k++) {
        uint8_t *buf = malloc(sizes[k] + 1);
        assert_non_null(buf);
        fill(buf, sizes[k], (unsigned)k);
        assert_int_equal(nm_msg_prepend(&m, buf, sizes[k]), 0);
        free(buf);
    }
    assert_int_equal(nm_msg_count(&m), NSIZES);
    for (size_t k = 0; k < NSIZES; k++)
        check_frame(&m, NSIZES - 1 - k, sizes[k], (unsigned)k);
    nm_msg_close(&m);
}

static void test_copy_shares_large_frames(void **state)
{
    (void)state;
    nm_msg_t src, dst;
    nm_msg_init(&src);
    nm_msg_init(&dst);
    for (size_t k = 0; k < NSIZES; k++) {
        void *p;
        assert_int_equal(nm_msg_add_alloc(&src, sizes[k], &p), 0);
        fill(p, sizes[k], (unsigned)k);
    }
    assert_int_equal(nm_msg_copy(&dst, &src), 0);
    assert_int_equal(nm_msg_count(&dst), NSIZES);
    assert_int_equal(nm_msg_bytes(&dst), nm_msg_bytes(&src));
    for (size_t k = 0; k < NSIZES; k++)
        check_frame(&dst, k, sizes[k], (unsigned)k);
    /* The 1 MiB+1 frame is shared, never copied. */
    assert_ptr_equal(nm_msg_data(&dst, NSIZES - 1), nm_msg_data(&src, NSIZES - 1));
    /* The copy lives on after the original is closed, and the other way round. */
    nm_msg_close(&src);
    for (size_t k = 0; k < NSIZES; k++)
        check_frame(&dst, k, sizes[k], (unsigned)k);
    assert_int_equal(nm_msg_copy(&src, &dst), 0);
    nm_msg_close(&dst);
    for (size_t k = 0; k < NSIZES; k++)
        check_frame(&src, k, sizes[k], (unsigned)k);
    nm_msg_close(&src);
}

static void test_copy_empty(void **state)
{
    (void)state;
    nm_msg_t src, dst;
    nm_msg_init(&src);
    nm_msg_init(&dst);
    assert_int_equal(nm_msg_copy(&dst, &src), 0);
    assert_int_equal(nm_msg_count(&dst), 0);
    nm_msg_close(&dst);
    nm_msg_close(&src);
}

static void test_move(void **state)
{
    (void)state;
    nm_msg_t src, dst;
    nm_msg_init(&src);
    nm_msg_init(&dst);
    void *p;
    assert_int_equal(nm_msg_add(&src, "one", 3), 0);
    assert_int_equal(nm_msg_add(&src, NULL, 0), 0);
    assert_int_equal(nm_msg_add_alloc(&src, BIG_SIZE, &p), 0);
    fill(p, BIG_SIZE, 3);
    assert_int_equal(nm_msg_add(&src, "four", 4), 0);
    const void *big = nm_msg_data(&src, 2);
    nm_msg_move(&dst, &src);
    assert_int_equal(nm_msg_count(&src), 0);
    assert_int_equal(nm_msg_bytes(&src), 0);
    assert_int_equal(nm_msg_count(&dst), 4);
    assert_int_equal(nm_msg_bytes(&dst), 3 + BIG_SIZE + 4);
    assert_memory_equal(nm_msg_data(&dst, 0), "one", 3);
    assert_int_equal(nm_msg_size(&dst, 1), 0);
    assert_ptr_equal(nm_msg_data(&dst, 2), big);
    check_frame(&dst, 2, BIG_SIZE, 3);
    assert_memory_equal(nm_msg_data(&dst, 3), "four", 4);
    /* The emptied source is a usable empty message. */
    assert_int_equal(nm_msg_add(&src, "again", 5), 0);
    assert_int_equal(nm_msg_count(&src), 1);
    nm_msg_close(&src);
    nm_msg_close(&dst);
}

/* nm_msg_move_frame: a frame changes message without its bytes being copied (a large
 * frame keeps its address), the rest of the source closes up, bad indexes fail. */
static void test_move_frame(void **state)
{
    (void)state;
    nm_msg_t src, dst;
    nm_msg_init(&src);
    nm_msg_init(&dst);
    uint8_t *big = malloc(BIG_SIZE);
    assert_non_null(big);
    fill(big, BIG_SIZE, 5);
    assert_int_equal(nm_msg_add(&src, "head", 4), 0);
    assert_int_equal(nm_msg_add(&src, big, BIG_SIZE), 0);
    assert_int_equal(nm_msg_add(&src, "tail", 4), 0);
    const void *bigp = nm_msg_data(&src, 1);
    assert_int_equal(nm_msg_move_frame(&dst, &src, 1), 0);
    assert_int_equal(nm_msg_count(&src), 2);
    assert_int_equal(nm_msg_count(&dst), 1);
    assert_ptr_equal(nm_msg_data(&dst, 0), bigp);
    check_frame(&dst, 0, BIG_SIZE, 5);
    assert_memory_equal(nm_msg_data(&src, 1), "tail", 4);
    assert_int_equal(nm_msg_move_frame(&dst, &src, 0), 0);
    assert_memory_equal(nm_msg_data(&dst, 1), "head", 4);
    assert_int_equal(nm_msg_move_frame(&dst, &src, 1), -EINVAL);
    assert_int_equal(nm_msg_move_frame(&dst, &dst, 0), -EINVAL);
    assert_int_equal(nm_msg_move_frame(&dst, &src, 0), 0);
    assert_int_equal(nm_msg_count(&src), 0);
    assert_int_equal(nm_msg_count(&dst), 3);
    free(big);
    nm_msg_close(&src);
    nm_msg_close(&dst);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_message),
        cmocka_unit_test(test_empty_frames),
        cmocka_unit_test(test_add_sizes),
        cmocka_unit_test(test_add_alloc_sizes),
        cmocka_unit_test(test_many_frames),
        cmocka_unit_test(test_add_zc_freed_once),
        cmocka_unit_test(test_add_zc_small_and_static),
        cmocka_unit_test(test_add_zc_moved),
        cmocka_unit_test(test_prepend_pop_front),
        cmocka_unit_test(test_prepend_every_size),
        cmocka_unit_test(test_copy_shares_large_frames),
        cmocka_unit_test(test_copy_empty),
        cmocka_unit_test(test_move),
        cmocka_unit_test(test_move_frame),
    };
    return cmocka_run_group_tests_name("core_msg", tests, NULL, NULL);
}
