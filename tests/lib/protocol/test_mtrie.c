/*
 * test_mtrie.c - unit tests for the publisher's subscription trie (lib/protocol/mtrie.c).
 *
 * Covers the counted add/rm return codes, add_once (a prefix held once per pipe) and
 * rm_pipe_each, empty and binary prefixes, prefix vs data
 * length, one report per pipe however many of its prefixes match, wide fan-out nodes,
 * rm_pipe's reports, edges split and merged again in every order, 64 KiB prefixes, memory
 * that follows the bytes of the prefixes (not a node per byte), memory after heavy churn
 * and after a node's child range widens and narrows again (heap bytes come back to where
 * they were), -ENOMEM at each allocation of add (the trie stays as it was) and failed
 * merges in rm, and randomized differential tests against a naive list model, one with
 * allocations failing at random.
 *
 * mtrie.c is compiled into this file, its allocation calls renamed to an allocator that
 * fails on demand; the trie's symbols defined here keep the library's copy out of the link.
 */
#include <errno.h>
#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "protocol/mtrie.h"

static long alloc_budget = -1;      /* allocations mtrie.c may still make; -1: no limit */
static unsigned alloc_fail_1in;     /* if not 0, each allocation also fails 1 time in this */
static uint64_t alloc_seed = 1;     /* for alloc_fail_1in */
static unsigned long alloc_refused; /* allocations failed on purpose */

static bool alloc_grant(void)
{
    if (alloc_fail_1in != 0) {
        alloc_seed ^= alloc_seed << 13;
        alloc_seed ^= alloc_seed >> 7;
        alloc_seed ^= alloc_seed << 17;
        if (alloc_seed % alloc_fail_1in == 0) {
            alloc_refused++;
            return false;
        }
    }
    if (alloc_budget < 0)
        return true;
    if (alloc_budget == 0) {
        alloc_refused++;
        return false;
    }
    alloc_budget--;
    return true;
}

static void *fail_malloc(size_t n)
{
    return alloc_grant() ? malloc(n) : NULL;
}

static void *fail_calloc(size_t n, size_t size)
{
    return alloc_grant() ? calloc(n, size) : NULL;
}

static void *fail_realloc(void *p, size_t n)
{
    return alloc_grant() ? realloc(p, n) : NULL;
}

static void *fail_reallocarray(void *p, size_t n, size_t size)
{
    return alloc_grant() ? reallocarray(p, n, size) : NULL;
}

#define malloc       fail_malloc
#define calloc       fail_calloc
#define realloc      fail_realloc
#define reallocarray fail_reallocarray
#include "protocol/mtrie.c"
#undef malloc
#undef calloc
#undef realloc
#undef reallocarray

#define NPIPES  1000
#define MAXKEY  16
#define MAXREPS 1024

/* Pipes are opaque to the trie; addresses in this array stand in for them. */
static char pipes[NPIPES];
#define P(i) ((void *)&pipes[i])

typedef struct {
    void *pipe[NPIPES]; /* pipes reported, in order */
    size_t n;           /* reports */
} hits;

typedef struct {
    uint8_t key[MAXREPS][MAXKEY]; /* prefixes reported */
    size_t len[MAXREPS];          /* their lengths */
    size_t n;                     /* reports */
} reps;

static void hits_cb(void *pipe, void *arg)
{
    hits *h = arg;
    assert_true(h->n < NPIPES);
    h->pipe[h->n++] = pipe;
}

static void reps_cb(const uint8_t *prefix, size_t len, void *arg)
{
    reps *r = arg;
    assert_non_null(prefix);
    assert_true(r->n < MAXREPS && len <= MAXKEY);
    memcpy(r->key[r->n], prefix, len);
    r->len[r->n++] = len;
}

/* Matches data and fails on any pipe reported twice; returns the number reported. */
static size_t match(nmi_mtrie *t, const void *data, size_t len, hits *h)
{
    h->n = 0;
    nmi_mtrie_match(t, data, len, hits_cb, h);
    for (size_t i = 0; i < h->n; i++)
        for (size_t j = i + 1; j < h->n; j++)
            assert_ptr_not_equal(h->pipe[i], h->pipe[j]);
    return h->n;
}

static bool hits_has(const hits *h, void *pipe)
{
    for (size_t i = 0; i < h->n; i++)
        if (h->pipe[i] == pipe)
            return true;
    return false;
}

static bool reps_has(const reps *r, const void *key, size_t len)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->len[i] == len && memcmp(r->key[i], key, len) == 0)
            return true;
    return false;
}

static int add(nmi_mtrie *t, const char *s, void *pipe)
{
    return nmi_mtrie_add(t, (const uint8_t *)s, strlen(s), pipe);
}

static int rm(nmi_mtrie *t, const char *s, void *pipe)
{
    return nmi_mtrie_rm(t, (const uint8_t *)s, strlen(s), pipe);
}

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Heap bytes in use: ASan's count when it is there (it makes mallinfo2 report 0). */
extern size_t __sanitizer_get_current_allocated_bytes(void) __attribute__((weak));
static size_t heap_bytes(void)
{
    if (__sanitizer_get_current_allocated_bytes != NULL)
        return __sanitizer_get_current_allocated_bytes();
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd; /* hblkhd: big blocks glibc mmaps */
}

/* Whether heap_bytes sees allocations: not under valgrind, say, whose heap glibc's
 * mallinfo2 does not know.  Memory checks are skipped if not. */
static bool heap_measurable(void)
{
    static void *volatile p; /* volatile, or the compiler drops the malloc/free pair */
    size_t before = heap_bytes();
    p = malloc(1 << 20);
    bool seen = heap_bytes() >= before + (1 << 20);
    free(p);
    return seen;
}

static void test_add_rm_returns(void **state)
{
    (void)state;
    nmi_mtrie *t = nmi_mtrie_new();
    assert_non_null(t);
    assert_int_equal(add(t, "abc", P(0)), 1);
    assert_int_equal(add(t, "abc", P(0)), 0);
    assert_int_equal(add(t, "abc", P(1)), 0);
    assert_int_equal(add(t, "ab", P(1)), 1);
    assert_int_equal(nmi_mtrie_prefixes(t), 2);
    /* Counted: P(0) subscribed twice needs two cancels. */
    assert_int_equal(rm(t, "abc", P(0)), 0);
    assert_int_equal(rm(t, "abc", P(0)), 0);
    assert_int_equal(rm(t, "abc", P(0)), -ENOENT);
    assert_int_equal(rm(t, "abc", P(1)), 1);
    assert_int_equal(rm(t, "abc", P(1)), -ENOENT);
    /* Unknown prefix, unknown pipe, a prefix that is only an inner node, a longer one. */
    assert_int_equal(rm(t, "zzz", P(1)), -ENOENT);
    assert_int_equal(rm(t, "ab", P(7)), -ENOENT);
    assert_int_equal(rm(t, "a", P(1)), -ENOENT);
    assert_int_equal(rm(t, "abcd", P(1)), -ENOENT);
    assert_int_equal(rm(t, "", P(1)), -ENOENT);
    assert_int_equal(nmi_mtrie_prefixes(t), 1);
    assert_int_equal(rm(t, "ab", P(1)), 1);
    assert_int_equal(nmi_mtrie_prefixes(t), 0);
    /* A cancelled prefix is new again. */
    assert_int_equal(add(t, "abc", P(2)), 1);
    nmi_mtrie_destroy(&t);
    assert_null(t);
    nmi_mtrie_destroy(&t);
    nmi_mtrie_destroy(NULL);
}

static void test_empty_prefix(void **state)
{
    (void)state;
    nmi_mtrie *t = nmi_mtrie_new();
    hits h;
    assert_int_equal(match(t, "abc", 3, &h), 0);
    assert_int_equal(nmi_mtrie_add(t, NULL, 0, P(0)), 1);
    assert_int_equal(match(t, NULL, 0, &h), 1);
    assert_int_equal(match(t, "abc", 3, &h), 1);
    assert_ptr_equal(h.pipe[0], P(0));
    assert_int_equal(match(t, "\x00\xff", 2, &h), 1);
    assert_int_equal(nmi_mtrie_prefixes(t), 1);
    assert_int_equal(nmi_mtrie_rm(t, NULL, 0, P(0)), 1);
    assert_int_equal(match(t, "abc", 3, &h), 0);
    nmi_mtrie_destroy(&t);
}

static void test_prefix_vs_data(void **state)
{
    (void)state;
    nmi_mtrie *t = nmi_mtrie_new();
    hits h;
    assert_int_equal(add(t, "abc", P(0)), 1);
    assert_int_equal(match(t, "abc", 3, &h), 1);
    assert_int_equal(match(t, "abcdef", 6, &h), 1);
    assert_int_equal(match(t, "ab", 2, &h), 0);
    assert_int_equal(match(t, "abd", 3, &h), 0);
    assert_int_equal(match(t, "xabc", 4, &h), 0);
    assert_int_equal(match(t, "", 0, &h), 0);
    /* Data is taken by length, not as a string. */
    assert_int_equal(match(t, "abcdef", 2, &h), 0);
    nmi_mtrie_destroy(&t);
}

static void test_binary_prefixes(void **state)
{
    (void)state;
    nmi_mtrie *t = nmi_mtrie_new();
    hits h;
    assert_int_equal(nmi_mtrie_add(t, (const uint8_t *)"\x00", 1, P(0)), 1);
    assert_int_equal(nmi_mtrie_add(t, (const uint8_t *)"\x00\xff\x00", 3, P(1)), 1);
    assert_int_equal(nmi_mtrie_add(t, (const uint8_t *)"\xff", 1, P(2)), 1);
    assert_int_equal(nmi_mtrie_add(t, (const uint8_t *)"\xff\xff", 2, P(3)), 1);
    assert_int_equal(match(t, "\x00", 1, &h), 1);
    assert_true(hits_has(&h, P(0)));
    assert_int_equal(match(t, "\x00\xff\x00\x01", 4, &h), 2);
    assert_true(hits_has(&h, P(0)) && hits_has(&h, P(1)));
    assert_int_equal(match(t, "\x00\xff", 2, &h), 1);
    assert_int_equal(match(t, "\xff\xff\xff", 3, &h), 2);
    assert_true(hits_has(&h, P(2)) && hits_has(&h, P(3)));
    assert_int_equal(match(t, "\xfe", 1, &h), 0);
    assert_int_equal(match(t, "\x01", 1, &h), 0);
    assert_int_equal(match(t, "\x00\xfe", 2, &h), 1);     /* below the node's range */
    assert_int_equal(match(t, "\x00\xff\x01", 3, &h), 1); /* above it */
    assert_int_equal(nmi_mtrie_rm(t, (const uint8_t *)"\x00", 1, P(0)), 1);
    assert_int_equal(match(t, "\x00\xff\x00", 3, &h), 1);
    assert_true(hits_has(&h, P(1)));
    nmi_mtrie_destroy(&t);
}

static void test_one_report_per_pipe(void **state)
{
    (void)state;
    nmi_mtrie *t = nmi_mtrie_new();
    hits h;
    const char *mine[] = {"", "a", "ab", "abc", "abcd"};
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(add(t, mine[i], P(0)), 1);
        assert_int_equal(add(t, mine[i], P(0)), 0);
    }
    assert_int_equal(add(t, "ab", P(1)), 0);
    assert_int_equal(add(t, "abcd", P(2)), 0);
    assert_int_equal(match(t, "abcdz", 5, &h), 3);
    assert_true(hits_has(&h, P(0)) && hits_has(&h, P(1)) && hits_has(&h, P(2)));
    assert_int_equal(match(t, "abx", 3, &h), 2);
    assert_true(hits_has(&h, P(0)) && hits_has(&h, P(1)));
    /* Again: each match starts afresh. */
    assert_int_equal(match(t, "abcdz", 5, &h), 3);
    assert_int_equal(match(t, "q", 1, &h), 1);
    nmi_mtrie_destroy(&t);
}

static void test_many_pipes_one_prefix(void **state)
{
    (void)state;
    nmi_mtrie *t = nmi_mtrie_new();
    static hits h;
    for (size_t i = 0; i < NPIPES; i++)
        assert_int_equal(add(t, "topic", P(i)), i == 0);
    assert_int_equal(add(t, "top", P(500)), 1);
    assert_int_equal(match(t, "topic.x", 7, &h), NPIPES);
    for (size_t i = 0; i < NPIPES; i++)
        assert_true(hits_has(&h, P(i)));
    for (size_t i = 0; i < NPIPES; i += 2)
        assert_int_equal(rm(t, "topic", P(i)), 0);
    assert_int_equal(match(t, "topic", 5, &h), NPIPES / 2 + 1);
    assert_true(hits_has(&h, P(500)) && !hits_has(&h, P(2)) && hits_has(&h, P(3)));
    for (size_t i = 1; i < NPIPES; i += 2)
        assert_int_equal(rm(t, "topic", P(i)), i == NPIPES - 1);
    assert_int_equal(nmi_mtrie_prefixes(t), 1);
    nmi_mtrie_destroy(&t);
}

/* 256 children of the root and 220 of a deeper node: past any small-array limit. */
static void test_wide_nodes(void **state)
{
    (void)state;
    nmi_mtrie *t = nmi_mtrie_new();
    hits h;
    reps r = {.n = 0};
    uint8_t k[2];
    for (unsigned b = 0; b < 256; b++) {
        k[0] = (uint8_t)b;
        assert_int_equal(nmi_mtrie_add(t, k, 1, P(b)), 1);
        assert_int_equal(nmi_mtrie_add(t, k, 1, P(999)), 0);
    }
    for (unsigned b = 0; b < 220; b++) {
        k[0] = 'x';
        k[1] = (uint8_t)(b * 7 + 3);
        assert_int_equal(nmi_mtrie_add(t, k, 2, P(300 + b)), 1);
    }
    assert_int_equal(nmi_mtrie_prefixes(t), 256 + 220);
    for (unsigned b = 0; b < 256; b++) {
        k[0] = (uint8_t)b;
        assert_int_equal(match(t, k, 1, &h), 2);
        assert_true(hits_has(&h, P(b)) && hits_has(&h, P(999)));
    }
    for (unsigned b = 0; b < 256; b++) {
        k[0] = 'x';
        k[1] = (uint8_t)b;
        bool sub = false;
        for (unsigned i = 0; i < 220; i++)
            sub = sub || (uint8_t)(i * 7 + 3) == b;
        assert_int_equal(match(t, k, 2, &h), sub ? 3 : 2);
    }
    /* Remove the single-byte subscribers from the middle outwards, then the rest. */
    for (unsigned i = 0; i < 256; i++) {
        k[0] = (uint8_t)(i % 2 ? 128 + i / 2 : 127 - i / 2);
        assert_int_equal(nmi_mtrie_rm(t, k, 1, P(k[0])), 0);
    }
    nmi_mtrie_rm_pipe(t, P(999), reps_cb, &r);
    assert_int_equal(r.n, 256); /* "x" too: it keeps children but no subscriber */
    assert_true(reps_has(&r, "x", 1) && reps_has(&r, "\x00", 1) && reps_has(&r, "\xff", 1));
    assert_int_equal(nmi_mtrie_prefixes(t), 220);
    assert_int_equal(match(t, "x\x03", 2, &h), 1);
    assert_int_equal(match(t, "y", 1, &h), 0);
    for (unsigned b = 220; b-- > 0;) {
        k[0] = 'x';
        k[1] = (uint8_t)(b * 7 + 3);
        assert_int_equal(nmi_mtrie_rm(t, k, 2, P(300 + b)), 1);
    }
    assert_int_equal(nmi_mtrie_prefixes(t), 0);
    nmi_mtrie_destroy(&t);
}

static void test_rm_pipe(void **state)
{
    (void)state;
    nmi_mtrie *t = nmi_mtrie_new();
    hits h;
    reps r = {.n = 0};
    const char *a[] = {"", "a", "ab", "abc", "b", "zz"};
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(add(t, a[i], P(0)), 1);
    assert_int_equal(add(t, "abc", P(0)), 0); /* counted twice: rm_pipe takes both */
    assert_int_equal(add(t, "ab", P(1)), 0);
    assert_int_equal(add(t, "zz", P(1)), 0);
    assert_int_equal(add(t, "c", P(1)), 1);
    nmi_mtrie_rm_pipe(t, P(0), reps_cb, &r);
    assert_int_equal(r.n, 4);
    assert_true(reps_has(&r, "", 0) && reps_has(&r, "a", 1) && reps_has(&r, "abc", 3) &&
                reps_has(&r, "b", 1));
    assert_int_equal(nmi_mtrie_prefixes(t), 3);
    assert_int_equal(match(t, "abcd", 4, &h), 1);
    assert_ptr_equal(h.pipe[0], P(1));
    assert_int_equal(match(t, "b", 1, &h), 0);
    assert_int_equal(rm(t, "abc", P(0)), -ENOENT);
    /* Unknown pipe, and a NULL callback. */
    r.n = 0;
    nmi_mtrie_rm_pipe(t, P(0), reps_cb, &r);
    assert_int_equal(r.n, 0);
    nmi_mtrie_rm_pipe(t, P(1), NULL, NULL);
    assert_int_equal(nmi_mtrie_prefixes(t), 0);
    assert_int_equal(match(t, "zz", 2, &h), 0);
    /* The pipe can come back. */
    assert_int_equal(add(t, "ab", P(0)), 1);
    assert_int_equal(match(t, "ab", 2, &h), 1);
    nmi_mtrie_destroy(&t);
}

static void test_prefixes_count(void **state)
{
    (void)state;
    nmi_mtrie *t = nmi_mtrie_new();
    assert_int_equal(nmi_mtrie_prefixes(t), 0);
    add(t, "a", P(0));
    add(t, "a", P(1));
    add(t, "a", P(1));
    add(t, "abc", P(0));
    add(t, "", P(2));
    assert_int_equal(nmi_mtrie_prefixes(t), 3);
    rm(t, "a", P(1));
    assert_int_equal(nmi_mtrie_prefixes(t), 3);
    rm(t, "a", P(1));
    rm(t, "a", P(0));
    assert_int_equal(nmi_mtrie_prefixes(t), 2);
    nmi_mtrie_rm_pipe(t, P(0), NULL, NULL);
    assert_int_equal(nmi_mtrie_prefixes(t), 1);
    nmi_mtrie_destroy(&t);
}

/* 100k random subscriptions from 1000 pipes in, all out in another order, three times:
 * first by rm, then by rm for nine pipes in ten and rm_pipe for the rest.  The trie
 * ends empty each time and the heap comes back to where it started but for the pipe hash
 * and key buffer, which stay at their peak (8 KiB here); with ASan's exact count, later
 * rounds must end at precisely the same figure, so not one node or record is left over. */
static void test_churn_memory(void **state)
{
    (void)state;
    enum { N = 100000, KEEP = 100 };
    typedef struct {
        uint8_t key[MAXKEY];
        uint8_t len;
        uint16_t pipe;
    } sub;
    sub *subs = malloc(N * sizeof(*subs));
    assert_non_null(subs);
    uint64_t seed = 0x9e3779b97f4a7c15u;
    nmi_mtrie *t = nmi_mtrie_new();
    hits h;
    bool exact = __sanitizer_get_current_allocated_bytes != NULL, mem = heap_measurable();
    size_t base = heap_bytes(), slack = exact ? 16 * 1024 : 256 * 1024, after0 = 0;
    for (int round = 0; round < 3; round++) {
        for (size_t i = 0; i < N; i++) {
            sub *s = &subs[i];
            s->len = (uint8_t)(rng_next(&seed) % 9);
            s->pipe = (uint16_t)(rng_next(&seed) % NPIPES);
            for (size_t j = 0; j < s->len; j++) /* low entropy at the top, so paths share */
                s->key[j] = (uint8_t)(rng_next(&seed) % (j < 2 ? 4 : 256));
            assert_in_range(nmi_mtrie_add(t, s->key, s->len, P(s->pipe)), 0, 1);
        }
        assert_true(nmi_mtrie_prefixes(t) > N / 2);
        assert_true(!mem || heap_bytes() > base + 8 * slack); /* or the checks below mean little */
        for (size_t i = N - 1; i > 0; i--) {
            size_t j = rng_next(&seed) % (i + 1);
            sub tmp = subs[i];
            subs[i] = subs[j];
            subs[j] = tmp;
        }
        for (size_t i = 0; i < N; i++)
            if (round == 0 || subs[i].pipe >= KEEP)
                assert_in_range(nmi_mtrie_rm(t, subs[i].key, subs[i].len, P(subs[i].pipe)), 0, 1);
        static reps r;
        size_t left = nmi_mtrie_prefixes(t), reported = 0;
        for (size_t i = 0; i < KEEP; i++) {
            r.n = 0;
            nmi_mtrie_rm_pipe(t, P(i), reps_cb, &r);
            reported += r.n;
        }
        assert_int_equal(reported, left);
        assert_int_equal(nmi_mtrie_prefixes(t), 0);
        assert_int_equal(match(t, "\x01\x02\x03", 3, &h), 0);
        assert_true(!mem || heap_bytes() < base + slack);
        if (round == 0)
            after0 = heap_bytes();
        else if (exact && mem)
            assert_int_equal(heap_bytes(), after0);
    }
    nmi_mtrie_destroy(&t);
    free(subs);
}

/* A child far from its siblings widens a node's range; its going must narrow it again. */
static void test_range_trim(void **state)
{
    (void)state;
    nmi_mtrie *t = nmi_mtrie_new();
    hits h;
    uint8_t k[4] = {'w', 0, 0, 0};
    for (unsigned i = 0; i < NPIPES; i++) {
        k[1] = (uint8_t)(i >> 8);
        k[2] = (uint8_t)i;
        assert_int_equal(nmi_mtrie_add(t, k, 4, P(1)), 1);
    }
    size_t before = heap_bytes();
    for (unsigned round = 0; round < 2; round++)
        for (unsigned i = 0; i < NPIPES; i++) {
            k[1] = (uint8_t)(i >> 8);
            k[2] = (uint8_t)i;
            k[3] = 0xff;
            assert_int_equal(nmi_mtrie_add(t, k, 4, P(2)), 1);
            assert_int_equal(match(t, k, 4, &h), 1);
            assert_ptr_equal(h.pipe[0], P(2));
            assert_int_equal(nmi_mtrie_rm(t, k, 4, P(2)), 1);
            k[3] = 0;
        }
    assert_true(!heap_measurable() || heap_bytes() < before + 256 * 1024); /* untrimmed: +2 MiB */
    /* Bytes on either side of narrowed ranges. */
    memcpy(k, "w\x00\x00\x00", 4);
    assert_int_equal(match(t, k, 4, &h), 1);
    k[3] = 0x01;
    assert_int_equal(match(t, k, 4, &h), 0);
    memcpy(k, "w\x03\xe7\x00", 4); /* i = 999, the last of node "w\x03" */
    assert_int_equal(match(t, k, 4, &h), 1);
    k[2] = 0xe8;
    assert_int_equal(match(t, k, 4, &h), 0);
    nmi_mtrie_destroy(&t);
}

/* Pipes 0..2 subscribed to keys[0..2] if set in mask: fails unless every probe matches
 * exactly the pipes whose key starts it. */
static void check_three(nmi_mtrie *t, const char *const keys[3], unsigned mask)
{
    static const char *const probes[] = {"",      "a",      "ab",      "abc", "abcd",
                                         "abcde", "abcdef", "abcdefg", "abx", "abxy",
                                         "abd",   "abcx",   "abcdex",  "b",   "abcdff"};
    hits h;
    for (size_t i = 0; i < sizeof(probes) / sizeof(*probes); i++) {
        unsigned want = 0, got = 0;
        for (unsigned k = 0; k < 3; k++)
            if ((mask >> k & 1) && strncmp(keys[k], probes[i], strlen(keys[k])) == 0)
                want |= 1u << k;
        match(t, probes[i], strlen(probes[i]), &h);
        for (size_t j = 0; j < h.n; j++)
            got |= 1u << ((char *)h.pipe[j] - pipes);
        assert_int_equal(got, want);
    }
    assert_int_equal(nmi_mtrie_prefixes(t), (size_t)__builtin_popcount(mask));
}

/* "abcdef", "abc" (splits its edge) and "abx" (splits it again, and branches) added and
 * removed in every order, by rm and by rm_pipe: matches and reports stay right throughout
 * and the heap comes back to the same figure each time (with ASan's exact count), so each
 * split was merged away again. */
static void test_split_merge(void **state)
{
    (void)state;
    static const char *const keys[3] = {"abcdef", "abc", "abx"};
    static const unsigned order[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
                                         {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    bool exact = __sanitizer_get_current_allocated_bytes != NULL && heap_measurable();
    size_t left = SIZE_MAX;
    for (unsigned in = 0; in < 6; in++)
        for (unsigned out = 0; out < 6; out++)
            for (unsigned how = 0; how < 2; how++) {
                size_t base = heap_bytes();
                nmi_mtrie *t = nmi_mtrie_new();
                unsigned mask = 0;
                for (unsigned i = 0; i < 3; i++) {
                    unsigned k = order[in][i];
                    assert_int_equal(add(t, keys[k], P(k)), 1);
                    assert_int_equal(add(t, keys[k], P(k)), 0);
                    check_three(t, keys, mask |= 1u << k);
                }
                for (unsigned i = 0; i < 3; i++) {
                    unsigned k = order[out][i];
                    if (how == 0) {
                        assert_int_equal(rm(t, keys[k], P(k)), 0);
                        assert_int_equal(rm(t, keys[k], P(k)), 1);
                    } else {
                        reps r = {.n = 0};
                        nmi_mtrie_rm_pipe(t, P(k), reps_cb, &r);
                        assert_int_equal(r.n, 1);
                        assert_true(reps_has(&r, keys[k], strlen(keys[k])));
                    }
                    check_three(t, keys, mask &= ~(1u << k));
                }
                /* What is left is the pipe hash and the key buffer, the same each time. */
                size_t now = heap_bytes() - base;
                assert_true(left == SIZE_MAX || !exact || now == left);
                left = now;
                nmi_mtrie_destroy(&t);
            }
}

typedef struct {
    const uint8_t *want; /* the prefix expected */
    size_t len;          /* its length */
    size_t n;            /* reports */
    bool same;           /* the last report was want[0..len) */
} long_rep;

static void long_rep_cb(const uint8_t *prefix, size_t len, void *arg)
{
    long_rep *r = arg;
    r->n++;
    r->same = len == r->len && memcmp(prefix, r->want, len) == 0;
}

static size_t match_mask(nmi_mtrie *t, const uint8_t *data, size_t len)
{
    hits h;
    size_t got = 0;
    match(t, data, len, &h);
    for (size_t j = 0; j < h.n; j++)
        got |= (size_t)1 << ((char *)h.pipe[j] - pipes);
    return got;
}

/* 64 KiB prefixes: two that differ only in the last byte, one only in the first, one
 * that is all but the last byte and a short one inside the long edge; rm_pipe rebuilds
 * each whole.  A subscription that splits a long edge, toggled many times, costs no
 * memory (the edge's bytes stay put, slack in the child) and little time. */
static void test_long_prefixes(void **state)
{
    (void)state;
    enum { L = 64 * 1024 };
    uint8_t *a = malloc(L + 1), *b = malloc(L), *c = malloc(L);
    assert_true(a != NULL && b != NULL && c != NULL);
    uint64_t seed = 0x1234567;
    for (size_t i = 0; i < L; i++)
        a[i] = (uint8_t)rng_next(&seed);
    a[L] = 'z';
    memcpy(b, a, L);
    b[L - 1] ^= 1;
    memcpy(c, a, L);
    c[0] ^= 0x80;
    nmi_mtrie *t = nmi_mtrie_new();
    assert_int_equal(nmi_mtrie_add(t, a, L, P(0)), 1);
    assert_int_equal(nmi_mtrie_add(t, b, L, P(1)), 1);
    assert_int_equal(nmi_mtrie_add(t, c, L, P(2)), 1);
    assert_int_equal(nmi_mtrie_add(t, a, L - 1, P(3)), 1);
    assert_int_equal(nmi_mtrie_add(t, a, 1, P(4)), 1);
    assert_int_equal(nmi_mtrie_add(t, a, L, P(5)), 0);
    assert_int_equal(nmi_mtrie_prefixes(t), 5);
    assert_int_equal(match_mask(t, a, L + 1), 1 << 0 | 1 << 3 | 1 << 4 | 1 << 5);
    assert_int_equal(match_mask(t, a, L), 1 << 0 | 1 << 3 | 1 << 4 | 1 << 5);
    assert_int_equal(match_mask(t, b, L), 1 << 1 | 1 << 3 | 1 << 4);
    assert_int_equal(match_mask(t, a, L - 1), 1 << 3 | 1 << 4);
    assert_int_equal(match_mask(t, a, L - 2), 1 << 4);
    assert_int_equal(match_mask(t, c, L), 1 << 2);
    assert_int_equal(match_mask(t, c, L - 1), 0);
    b[L / 2] ^= 1; /* a mismatch in the middle of the long edge */
    assert_int_equal(match_mask(t, b, L), 1 << 4);
    b[L / 2] ^= 1;

    /* Toggle a 3-byte prefix, which splits the long edge below the node of a[0], and a
     * 2-byte one, which splits c's: the heap is back to the same figure each time. */
    bool exact = __sanitizer_get_current_allocated_bytes != NULL && heap_measurable();
    size_t before = heap_bytes();
    for (int i = 0; i < 10000; i++) {
        assert_int_equal(nmi_mtrie_add(t, a, 3, P(6)), 1);
        assert_int_equal(nmi_mtrie_add(t, c, 2, P(6)), 1);
        assert_int_equal(match_mask(t, a, 3), 1 << 4 | 1 << 6);
        assert_int_equal(match_mask(t, c, 3), 1 << 6);
        assert_int_equal(nmi_mtrie_rm(t, a, 3, P(6)), 1);
        assert_int_equal(nmi_mtrie_rm(t, c, 2, P(6)), 1);
        assert_true(!exact || heap_bytes() == before);
    }
    assert_true(!heap_measurable() || heap_bytes() < before + 4096);
    assert_int_equal(match_mask(t, a, L), 1 << 0 | 1 << 3 | 1 << 4 | 1 << 5);

    long_rep r = {.want = a, .len = L};
    nmi_mtrie_rm_pipe(t, P(0), long_rep_cb, &r);
    assert_int_equal(r.n, 0); /* P(5) still has a */
    nmi_mtrie_rm_pipe(t, P(5), long_rep_cb, &r);
    assert_true(r.n == 1 && r.same);
    r = (long_rep){.want = a, .len = L - 1};
    nmi_mtrie_rm_pipe(t, P(3), long_rep_cb, &r);
    assert_true(r.n == 1 && r.same);
    assert_int_equal(match_mask(t, b, L), 1 << 1 | 1 << 4);
    r = (long_rep){.want = a, .len = 1};
    nmi_mtrie_rm_pipe(t, P(4), long_rep_cb, &r);
    assert_true(r.n == 1 && r.same);
    r = (long_rep){.want = c, .len = L};
    nmi_mtrie_rm_pipe(t, P(2), long_rep_cb, &r);
    assert_true(r.n == 1 && r.same);
    assert_int_equal(match_mask(t, b, L), 1 << 1);
    assert_int_equal(match_mask(t, a, L), 0);
    assert_int_equal(nmi_mtrie_rm(t, b, L, P(1)), 1);
    assert_int_equal(nmi_mtrie_prefixes(t), 0);
    nmi_mtrie_destroy(&t);
    free(a);
    free(b);
    free(c);
}

/* The heap a trie takes follows the bytes of its prefixes.  400 distinct random 64 KiB
 * prefixes (25 MiB) must take less than twice that (a node per byte took 2 GiB); 10,000
 * "sensor/NNNN/temp" topics (160,000 bytes) under 160 bytes each (a node per byte took
 * about 500); and a chain of 64 prefixes of one 64 KiB string, each 1000 bytes shorter,
 * which splits one edge 63 times, less than twice their bytes. */
static void test_memory_follows_bytes(void **state)
{
    (void)state;
    enum { N = 400, L = 64 * 1024, TOPICS = 10000 };
    if (!heap_measurable())
        skip();
    uint8_t *keys = malloc((size_t)N * L);
    assert_non_null(keys);
    uint64_t seed = 0xfeedfacecafe;
    for (size_t i = 0; i < (size_t)N * L; i++)
        keys[i] = (uint8_t)rng_next(&seed);
    size_t base = heap_bytes();
    nmi_mtrie *t = nmi_mtrie_new();
    for (size_t i = 0; i < N; i++)
        assert_int_equal(nmi_mtrie_add(t, keys + i * L, L, P(i)), 1);
    size_t used = heap_bytes() - base;
    assert_true(used > (size_t)N * L && used < 2 * (size_t)N * L);
    hits h;
    assert_int_equal(match(t, keys + 7 * L, L, &h), 1);
    assert_ptr_equal(h.pipe[0], P(7));
    nmi_mtrie_destroy(&t);

    base = heap_bytes();
    t = nmi_mtrie_new();
    for (unsigned i = 0; i < TOPICS; i++) {
        char topic[32];
        snprintf(topic, sizeof(topic), "sensor/%04u/temp", i);
        assert_int_equal(add(t, topic, P(i % NPIPES)), 1);
    }
    used = heap_bytes() - base;
    assert_true(used < 160 * TOPICS);
    assert_int_equal(match(t, "sensor/4711/temp=21.5", 21, &h), 1);
    assert_ptr_equal(h.pipe[0], P(4711 % NPIPES));
    nmi_mtrie_destroy(&t);

    base = heap_bytes();
    t = nmi_mtrie_new();
    size_t bytes = 0;
    for (size_t i = 0; i < 64; i++) {
        assert_int_equal(nmi_mtrie_add(t, keys, L - 1000 * i, P(i)), 1);
        bytes += L - 1000 * i;
    }
    used = heap_bytes() - base;
    assert_true(used < 2 * bytes);
    assert_int_equal(match(t, keys, L, &h), 64);
    assert_int_equal(match(t, keys, L - 1000 * 63, &h), 1);
    for (size_t i = 0; i < 64; i += 2)
        assert_int_equal(nmi_mtrie_rm(t, keys, L - 1000 * i, P(i)), 1);
    assert_true(heap_bytes() - base < used);
    assert_int_equal(match(t, keys, L, &h), 32);
    nmi_mtrie_destroy(&t);
    free(keys);
}

/* Pipes matching each probe, as bit masks: what the tests below compare before and after
 * an operation that must have changed nothing. */
#define NPROBES 12
static void snapshot(nmi_mtrie *t, unsigned out[NPROBES + 1])
{
    static const char *const probes[NPROBES] = {"",         "a",   "ab",   "abc", "abcd", "abcdef",
                                                "abcdefgh", "abd", "abdz", "q",   "xyz",  "zz"};
    hits h;
    for (size_t i = 0; i < NPROBES; i++) {
        match(t, probes[i], strlen(probes[i]), &h);
        out[i] = 0;
        for (size_t j = 0; j < h.n; j++)
            out[i] |= 1u << ((char *)h.pipe[j] - pipes);
    }
    out[NPROBES] = (unsigned)nmi_mtrie_prefixes(t);
}

/* Each allocation of add failing in turn, until one that succeeds: -ENOMEM, and the trie
 * as it was, each time.  The cases: a new pipe on an existing prefix, a split with no new
 * leaf, a split and a new leaf, a leaf below a leaf, a child far from its siblings, a
 * new pipe on the empty prefix, and a plain count, which allocates nothing. */
static void test_add_enomem(void **state)
{
    (void)state;
    static const struct {
        const char *key; /* prefix */
        unsigned pipe;   /* subscriber */
        int rc;          /* what add returns when it can allocate */
    } ops[] = {{"abcdef", 3, 0}, {"ab", 0, 1}, {"abd", 1, 1},   {"abcdefgh", 0, 1},
               {"q", 5, 1},      {"", 6, 1},   {"abcdef", 0, 0}};
    nmi_mtrie *t = nmi_mtrie_new();
    assert_int_equal(add(t, "abcdef", P(0)), 1);
    assert_int_equal(add(t, "abc", P(1)), 1);
    assert_int_equal(add(t, "xyz", P(2)), 1);
    unsigned was[NPROBES + 1], is[NPROBES + 1];
    for (size_t i = 0; i < sizeof(ops) / sizeof(*ops); i++) {
        long budget = 0;
        int rc;
        snapshot(t, was);
        for (;; budget++) {
            alloc_budget = budget;
            rc = add(t, ops[i].key, P(ops[i].pipe));
            alloc_budget = -1;
            if (rc != -ENOMEM)
                break;
            snapshot(t, is);
            assert_memory_equal(was, is, sizeof(was));
        }
        assert_int_equal(rc, ops[i].rc);
        assert_true(i < 5 ? budget > 0 : true); /* those needed memory */
    }
    snapshot(t, is);
    assert_int_equal(is[NPROBES], 8);
    assert_int_equal(is[5], 1 << 0 | 1 << 1 | 1 << 3 | 1 << 6); /* "abcdef" */
    assert_int_equal(is[8], 1 << 0 | 1 << 1 | 1 << 6);          /* "abdz" */
    /* A count past UINT32_MAX is refused too: not tried, 4 billion adds. */
    nmi_mtrie_destroy(&t);
}

/* rm and rm_pipe cannot fail, but the merge that follows a removal may not get memory:
 * the trie then keeps a node it could do without, and stays right. */
static void test_merge_enomem(void **state)
{
    (void)state;
    hits h;
    size_t base = heap_bytes();
    nmi_mtrie *t = nmi_mtrie_new();
    /* "def" is a leaf below "abc", so joining them needs a larger block. */
    assert_int_equal(add(t, "abc", P(0)), 1);
    assert_int_equal(add(t, "abcdef", P(1)), 1);
    alloc_budget = 0;
    assert_int_equal(rm(t, "abc", P(0)), 1);
    alloc_budget = -1;
    assert_int_equal(match(t, "abcdefg", 7, &h), 1);
    assert_ptr_equal(h.pipe[0], P(1));
    assert_int_equal(match(t, "abc", 3, &h), 0);
    assert_int_equal(rm(t, "abc", P(1)), -ENOENT);
    assert_int_equal(nmi_mtrie_prefixes(t), 1);
    /* The node left over serves a new subscription, which is new. */
    assert_int_equal(add(t, "abc", P(2)), 1);
    assert_int_equal(match(t, "abcdefg", 7, &h), 2);
    alloc_budget = 0;
    reps r = {.n = 0};
    nmi_mtrie_rm_pipe(t, P(2), reps_cb, &r);
    alloc_budget = -1;
    assert_true(r.n == 1 && reps_has(&r, "abc", 3));
    /* Split again below the leftover node, then let everything go: nothing is left. */
    assert_int_equal(add(t, "abcd", P(3)), 1);
    assert_int_equal(match(t, "abcdx", 5, &h), 1);
    assert_int_equal(match(t, "abcdef", 6, &h), 2);
    alloc_budget = 0;
    assert_int_equal(rm(t, "abcdef", P(1)), 1);
    alloc_budget = -1;
    assert_int_equal(match(t, "abcdef", 6, &h), 1);
    assert_int_equal(rm(t, "abcd", P(3)), 1);
    assert_int_equal(nmi_mtrie_prefixes(t), 0);
    assert_int_equal(match(t, "abcdef", 6, &h), 0);
    assert_int_equal(add(t, "abcdef", P(1)), 1);
    assert_int_equal(match(t, "abcdef", 6, &h), 1);
    nmi_mtrie_destroy(&t);
    assert_true(!heap_measurable() || heap_bytes() == base);
}

/* The naive model: a list of (prefix, pipe, count). */
#define MODEL_MAX 512
typedef struct {
    char key[8];    /* prefix, NUL-terminated (the alphabet has no NUL) */
    int pipe;       /* index into pipes */
    unsigned count; /* subscriptions */
} model_sub;

typedef struct {
    model_sub s[MODEL_MAX]; /* live entries, unordered */
    size_t n;               /* entries */
} model;

static model_sub *model_find(model *m, const char *key, int pipe)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->s[i].pipe == pipe && strcmp(m->s[i].key, key) == 0)
            return &m->s[i];
    return NULL;
}

static bool model_has_key(const model *m, const char *key)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->s[i].key, key) == 0)
            return true;
    return false;
}

static size_t model_prefixes(const model *m)
{
    size_t n = 0;
    for (size_t i = 0; i < m->n; i++) {
        bool first = true;
        for (size_t j = 0; j < i && first; j++)
            first = strcmp(m->s[i].key, m->s[j].key) != 0;
        n += first;
    }
    return n;
}

/* Up to max letters from the first `letters` of "abcd". */
static void rand_key(uint64_t *seed, char *key, size_t max, unsigned letters)
{
    size_t len = rng_next(seed) % (max + 1);
    for (size_t i = 0; i < len; i++)
        key[i] = "abcd"[rng_next(seed) % letters];
    key[len] = '\0';
}

/* Prefixes of up to keymax letters, data of up to keymax + 3 with one letter more, so
 * some bytes are in no prefix.  With fail_1in, allocations fail at random: an add may
 * then return -ENOMEM and must have changed nothing; rm and rm_pipe must not notice. */
static void differential(uint64_t seed, size_t keymax, unsigned letters, unsigned fail_1in)
{
    static model m;
    m.n = 0;
    nmi_mtrie *t = nmi_mtrie_new();
    hits h;
    reps r;
    char key[16];
    for (int op = 0; op < 10000; op++) {
        unsigned kind = rng_next(&seed) % 100;
        int pipe = (int)(rng_next(&seed) % 8);
        alloc_fail_1in = fail_1in;
        if (kind < 40) { /* add */
            rand_key(&seed, key, keymax, letters);
            model_sub *s = model_find(&m, key, pipe);
            int want = model_has_key(&m, key) ? 0 : 1, rc = add(t, key, P(pipe));
            if (rc == -ENOMEM && fail_1in != 0) {
                /* as if it had not been called */
            } else if (assert_int_equal(rc, want), s != NULL) {
                s->count++;
            } else {
                assert_true(m.n < MODEL_MAX);
                m.s[m.n] = (model_sub){.pipe = pipe, .count = 1};
                strcpy(m.s[m.n++].key, key);
            }
        } else if (kind < 70) { /* rm */
            rand_key(&seed, key, keymax, letters);
            model_sub *s = model_find(&m, key, pipe);
            int want = -ENOENT;
            if (s != NULL && --s->count == 0) {
                *s = m.s[--m.n];
                want = model_has_key(&m, key) ? 0 : 1;
            } else if (s != NULL) {
                want = 0;
            }
            assert_int_equal(rm(t, key, P(pipe)), want);
        } else if (kind < 75) { /* rm_pipe */
            r.n = 0;
            nmi_mtrie_rm_pipe(t, P(pipe), reps_cb, &r);
            size_t want = 0;
            for (size_t i = 0; i < m.n;) {
                if (m.s[i].pipe != pipe) {
                    i++;
                    continue;
                }
                strcpy(key, m.s[i].key);
                m.s[i] = m.s[--m.n];
                if (!model_has_key(&m, key)) {
                    want++;
                    assert_true(reps_has(&r, key, strlen(key)));
                }
            }
            assert_int_equal(r.n, want); /* and so none reported twice or wrongly */
        } else {                         /* match */
            rand_key(&seed, key, keymax + 3, letters + 1);
            unsigned want = 0;
            for (size_t i = 0; i < m.n; i++)
                if (strncmp(m.s[i].key, key, strlen(m.s[i].key)) == 0)
                    want |= 1u << m.s[i].pipe;
            match(t, key, strlen(key), &h);
            unsigned got = 0;
            for (size_t i = 0; i < h.n; i++)
                got |= 1u << ((char *)h.pipe[i] - pipes);
            assert_int_equal(got, want);
        }
        alloc_fail_1in = 0;
        assert_int_equal(nmi_mtrie_prefixes(t), model_prefixes(&m));
    }
    nmi_mtrie_destroy(&t);
}

static void test_differential(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 8; seed++) {
        differential(seed * 0x2545f4914f6cdd1du, 3, 3, 0);
        differential(seed * 0x2545f4914f6cdd1du, 5, 2, 0); /* deep: more splits and merges */
    }
}

static void test_differential_enomem(void **state)
{
    (void)state;
    alloc_refused = 0;
    for (uint64_t seed = 1; seed <= 8; seed++) {
        differential(seed * 0x9e3779b97f4a7c15u, 3, 3, 8);
        differential(seed * 0x9e3779b97f4a7c15u, 5, 2, 8);
    }
    assert_true(alloc_refused > 1000);
}

/* add_once holds a prefix once per pipe (XPUB's sets); rm_pipe_each reports every
 * prefix the pipe held, shared ones too (XPUB_MANUAL). */
static void test_add_once_rm_pipe_each(void **state)
{
    (void)state;
    nmi_mtrie *t = nmi_mtrie_new();
    assert_non_null(t);
    hits h;
    reps r = {.n = 0};
    assert_int_equal(nmi_mtrie_add_once(t, (const uint8_t *)"ab", 2, P(0)), 1);
    assert_int_equal(nmi_mtrie_add_once(t, (const uint8_t *)"ab", 2, P(0)), -EEXIST);
    assert_int_equal(nmi_mtrie_add_once(t, (const uint8_t *)"ab", 2, P(1)), 0);
    assert_int_equal(nmi_mtrie_add_once(t, (const uint8_t *)"a", 1, P(0)), 1);
    assert_int_equal(match(t, "abc", 3, &h), 2);
    /* Held once: one cancel undoes it, and P(1) still holds "ab". */
    assert_int_equal(rm(t, "ab", P(0)), 0);
    assert_int_equal(rm(t, "ab", P(0)), -ENOENT);
    assert_int_equal(add(t, "ab", P(0)), 0);
    nmi_mtrie_rm_pipe_each(t, P(0), reps_cb, &r);
    assert_int_equal(r.n, 2); /* "ab" though P(1) has it, and "a" */
    assert_true(reps_has(&r, "ab", 2) && reps_has(&r, "a", 1));
    assert_int_equal(nmi_mtrie_prefixes(t), 1);
    assert_int_equal(match(t, "abc", 3, &h), 1);
    assert_ptr_equal(h.pipe[0], P(1));
    nmi_mtrie_destroy(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_rm_returns),
        cmocka_unit_test(test_empty_prefix),
        cmocka_unit_test(test_prefix_vs_data),
        cmocka_unit_test(test_binary_prefixes),
        cmocka_unit_test(test_one_report_per_pipe),
        cmocka_unit_test(test_many_pipes_one_prefix),
        cmocka_unit_test(test_wide_nodes),
        cmocka_unit_test(test_rm_pipe),
        cmocka_unit_test(test_prefixes_count),
        cmocka_unit_test(test_churn_memory),
        cmocka_unit_test(test_range_trim),
        cmocka_unit_test(test_split_merge),
        cmocka_unit_test(test_long_prefixes),
        cmocka_unit_test(test_memory_follows_bytes),
        cmocka_unit_test(test_add_enomem),
        cmocka_unit_test(test_merge_enomem),
        cmocka_unit_test(test_differential),
        cmocka_unit_test(test_differential_enomem),
        cmocka_unit_test(test_add_once_rm_pipe_each),
    };
    return cmocka_run_group_tests_name("mtrie", tests, NULL, NULL);
}
