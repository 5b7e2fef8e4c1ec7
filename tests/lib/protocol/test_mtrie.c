/*
 * test_mtrie.c - unit tests for the publisher's subscription trie (lib/protocol/mtrie.c).
 *
 * Covers the counted add/rm return codes, empty and binary prefixes, prefix vs data
 * length, one report per pipe however many of its prefixes match, wide fan-out nodes,
 * rm_pipe's reports, memory after heavy churn and after a node's child range widens and
 * narrows again (heap bytes come back to where they were), and a randomized differential
 * test against a naive list model.  -ENOMEM paths are not covered: mtrie.c calls libc's
 * allocator directly and this file links against it as built.
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

static void rand_key(uint64_t *seed, char *key, size_t max)
{
    size_t len = rng_next(seed) % (max + 1);
    for (size_t i = 0; i < len; i++)
        key[i] = "abcd"[rng_next(seed) % (max > 4 ? 4 : 3)]; /* 'd' only in data */
    key[len] = '\0';
}

static void differential(uint64_t seed)
{
    static model m;
    m.n = 0;
    nmi_mtrie *t = nmi_mtrie_new();
    hits h;
    reps r;
    char key[8];
    for (int op = 0; op < 10000; op++) {
        unsigned kind = rng_next(&seed) % 100;
        int pipe = (int)(rng_next(&seed) % 8);
        if (kind < 40) { /* add */
            rand_key(&seed, key, 3);
            model_sub *s = model_find(&m, key, pipe);
            int want = model_has_key(&m, key) ? 0 : 1;
            assert_int_equal(add(t, key, P(pipe)), want);
            if (s != NULL) {
                s->count++;
            } else {
                assert_true(m.n < MODEL_MAX);
                m.s[m.n] = (model_sub){.pipe = pipe, .count = 1};
                strcpy(m.s[m.n++].key, key);
            }
        } else if (kind < 70) { /* rm */
            rand_key(&seed, key, 3);
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
            rand_key(&seed, key, 6);
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
        assert_int_equal(nmi_mtrie_prefixes(t), model_prefixes(&m));
    }
    nmi_mtrie_destroy(&t);
}

static void test_differential(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 8; seed++)
        differential(seed * 0x2545f4914f6cdd1du);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_rm_returns),      cmocka_unit_test(test_empty_prefix),
        cmocka_unit_test(test_prefix_vs_data),      cmocka_unit_test(test_binary_prefixes),
        cmocka_unit_test(test_one_report_per_pipe), cmocka_unit_test(test_many_pipes_one_prefix),
        cmocka_unit_test(test_wide_nodes),          cmocka_unit_test(test_rm_pipe),
        cmocka_unit_test(test_prefixes_count),      cmocka_unit_test(test_churn_memory),
        cmocka_unit_test(test_range_trim),          cmocka_unit_test(test_differential),
    };
    return cmocka_run_group_tests_name("mtrie", tests, NULL, NULL);
}
