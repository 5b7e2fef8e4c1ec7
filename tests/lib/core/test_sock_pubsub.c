/*
 * test_sock_pubsub.c - PUB, SUB, XPUB and XSUB.
 *
 * A SUB receives only messages whose first frame starts with one of its subscriptions
 * (none: nothing; "": everything); subscriptions are counted (two subscribes need two
 * unsubscribes), may be made before the connection exists, and several SUBs each get
 * their own matches.  A PUB never blocks: a subscriber that does not read loses messages
 * (counted as drops on its pipe) while a reading one keeps receiving.  XPUB sees
 * subscriptions as "\x01topic" / "\x00topic" messages (duplicates only with
 * XPUB_VERBOSE); XSUB subscribes by sending such messages.  1 MiB messages fan out to
 * three subscribers intact, over tcp and inproc.
 *
 * Subscriptions travel to the publisher asynchronously, so the tests never sleep and
 * hope: they send marker messages (text containing '~') until one arrives, which proves
 * that a subscription (and every command sent before it on that connection) is in
 * effect at the publisher.
 */
#include "testutil.h"

#include <stdatomic.h>

/* True when m is a marker message of the sync helpers (short, with a '~'). */
static bool is_marker(const nm_msg_t *m)
{
    size_t n = nm_msg_size(m, 0);
    return nm_msg_count(m) == 1 && n < 64 && n > 0 && memchr(nm_msg_data(m, 0), '~', n) != NULL;
}

static int fence_seq; /* makes every fence unique */

/*
 * Sends "PREFIX~sync" on pub until sub receives one, then a unique "PREFIX~fence-N" and
 * reads sub up to it.  Afterwards the subscription matching prefix is in effect at the
 * publisher, together with every subscription command sub sent before it, and nothing
 * pub sent so far is still on its way to sub.  Only markers may arrive on the way.
 */
static void sub_sync_at(const char *file, int line, nm_sock_t *pub, nm_sock_t *sub,
                        const char *prefix)
{
    char sync[64], fence[64];
    snprintf(sync, sizeof(sync), "%s~sync", prefix);
    snprintf(fence, sizeof(fence), "%s~fence-%d", prefix, ++fence_seq);
    int64_t deadline = tu_now_ms() + TU_RCVTIMEO;
    nm_msg_t m;
    for (;;) {
        tu_check_rc(nm_sock_send_bytes(pub, sync, strlen(sync), 0), 0, "send sync", file, line);
        if (tu_recv_wait(sub, &m, 10) == 0) {
            if (!is_marker(&m))
                fail_msg("%s:%d: unexpected message (%zu frames, first '%.*s') while syncing on "
                         "'%s'",
                         file, line, nm_msg_count(&m), (int)nm_msg_size(&m, 0),
                         (const char *)nm_msg_data(&m, 0), prefix);
            nm_msg_close(&m);
            break;
        }
        if (tu_now_ms() > deadline)
            fail_msg("%s:%d: subscription '%s' not in effect after %d ms", file, line, prefix,
                     TU_RCVTIMEO);
    }
    tu_check_rc(nm_sock_send_bytes(pub, fence, strlen(fence), 0), 0, "send fence", file, line);
    for (;;) {
        tu_recv_at(file, line, sub, &m);
        if (tu_frame_is(&m, 0, fence) && nm_msg_count(&m) == 1) {
            nm_msg_close(&m);
            return;
        }
        if (!is_marker(&m))
            fail_msg("%s:%d: unexpected message before fence '%s'", file, line, fence);
        nm_msg_close(&m);
    }
}
#define sub_sync(pub, sub, prefix) sub_sync_at(__FILE__, __LINE__, (pub), (sub), (prefix))

/* Binds pub to a fresh endpoint of the given transport ("tcp" or "inproc"). */
static void bind_pub(nm_sock_t *pub, const char *transport, char *ep, size_t cap)
{
    if (strcmp(transport, "tcp") == 0) {
        tu_bind_tcp(pub, ep, cap);
    } else {
        snprintf(ep, cap, "inproc://pubsub-%d", ++fence_seq);
        TU_OK(nm_sock_bind(pub, ep));
    }
}

/* ---- basic filtering ---------------------------------------------------------------- */

static void test_sub_without_subscription(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *pub = tu_sock(ctx, NM_PUB);
    nm_sock_t *sub = tu_sock(ctx, NM_SUB);     /* subscribes to nothing */
    nm_sock_t *witness = tu_sock(ctx, NM_SUB); /* subscribes to everything */
    tu_subscribe(witness, "");
    char ep[TU_EP_MAX];
    tu_bind_tcp(pub, ep, sizeof(ep));
    TU_OK(nm_sock_connect(sub, ep));
    TU_OK(nm_sock_connect(witness, ep));
    tu_wait_active(ctx, NM_SUB, 2);
    tu_wait_active(ctx, NM_PUB, 2);
    sub_sync(pub, witness, "");
    tu_send_str(pub, "a");
    tu_send_str(pub, "");
    tu_send_strs(pub, 2, "b", "c");
    tu_recv_str(witness, "a");
    tu_recv_str(witness, "");
    tu_recv_strs(witness, 2, "b", "c");
    /* The witness got everything, so sub has had its chance too. */
    tu_recv_none(sub, 200);
    tu_ctx_destroy(&ctx);
}

/* "a" matches "a" and "ab" but not "b", "ba" or "A"; "" matches everything, the empty
 * message included; only the first frame is matched. */
static void prefix_matching(const char *transport)
{
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *pub = tu_sock(ctx, NM_PUB);
    nm_sock_t *sub_a = tu_sock(ctx, NM_SUB);
    nm_sock_t *sub_all = tu_sock(ctx, NM_SUB);
    tu_subscribe(sub_a, "a");
    tu_subscribe(sub_all, "");
    char ep[TU_EP_MAX];
    bind_pub(pub, transport, ep, sizeof(ep));
    TU_OK(nm_sock_connect(sub_a, ep));
    TU_OK(nm_sock_connect(sub_all, ep));
    sub_sync(pub, sub_a, "a");
    sub_sync(pub, sub_all, "");

    tu_send_str(pub, "b");
    tu_send_str(pub, "ab");
    tu_send_str(pub, "a");
    tu_send_str(pub, "ba");
    tu_send_str(pub, "");
    tu_send_str(pub, "A");
    tu_send_strs(pub, 2, "a", "x");
    tu_send_strs(pub, 2, "b", "a");
    tu_send_str(pub, "a-end");

    tu_recv_str(sub_a, "ab");
    tu_recv_str(sub_a, "a");
    tu_recv_strs(sub_a, 2, "a", "x");
    tu_recv_str(sub_a, "a-end");
    tu_recv_none(sub_a, 50);

    tu_recv_str(sub_all, "b");
    tu_recv_str(sub_all, "ab");
    tu_recv_str(sub_all, "a");
    tu_recv_str(sub_all, "ba");
    tu_recv_str(sub_all, "");
    tu_recv_str(sub_all, "A");
    tu_recv_strs(sub_all, 2, "a", "x");
    tu_recv_strs(sub_all, 2, "b", "a");
    tu_recv_str(sub_all, "a-end");
    tu_recv_none(sub_all, 50);
    tu_ctx_destroy(&ctx);
}

static void test_prefix_matching_tcp(void **state)
{
    (void)state;
    prefix_matching("tcp");
}

static void test_prefix_matching_inproc(void **state)
{
    (void)state;
    prefix_matching("inproc");
}

/*
 * Two subscribes to "a" need two unsubscribes.  Each unsubscribe is followed by a
 * subscribe to a new marker prefix on the same connection: once a marker message gets
 * through, the cancel before it has been applied too.
 */
static void unsubscribe_counted(const char *transport)
{
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *pub = tu_sock(ctx, NM_PUB);
    nm_sock_t *sub = tu_sock(ctx, NM_SUB);
    char ep[TU_EP_MAX];
    bind_pub(pub, transport, ep, sizeof(ep));
    TU_OK(nm_sock_connect(sub, ep));
    tu_subscribe(sub, "a");
    tu_subscribe(sub, "a");
    sub_sync(pub, sub, "a");
    tu_send_str(pub, "a0");
    tu_recv_str(sub, "a0");

    /* One cancel: one subscription to "a" is left. */
    tu_unsubscribe(sub, "a");
    tu_subscribe(sub, "m");
    sub_sync(pub, sub, "m");
    tu_send_str(pub, "a1");
    tu_send_str(pub, "m-end");
    tu_recv_str(sub, "a1");
    tu_recv_str(sub, "m-end");

    /* The second cancel: "a" is gone, "m" still there. */
    tu_unsubscribe(sub, "a");
    tu_subscribe(sub, "n");
    sub_sync(pub, sub, "n");
    tu_send_str(pub, "a2");
    tu_send_str(pub, "m-after");
    tu_send_str(pub, "n-after");
    tu_recv_str(sub, "m-after");
    tu_recv_str(sub, "n-after");
    tu_recv_none(sub, 100);
    tu_ctx_destroy(&ctx);
}

static void test_unsubscribe_counted_tcp(void **state)
{
    (void)state;
    unsubscribe_counted("tcp");
}

static void test_unsubscribe_counted_inproc(void **state)
{
    (void)state;
    unsubscribe_counted("inproc");
}

static void test_multiple_subscribers(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *pub = tu_sock(ctx, NM_PUB);
    char ep[TU_EP_MAX];
    tu_bind_tcp(pub, ep, sizeof(ep));
    const char *prefixes[3] = {"a", "b", ""};
    nm_sock_t *subs[3];
    for (int i = 0; i < 3; i++) {
        subs[i] = tu_sock(ctx, NM_SUB);
        tu_subscribe(subs[i], prefixes[i]);
        TU_OK(nm_sock_connect(subs[i], ep));
    }
    /* The catch-all SUB last: its fence drains the other SUBs' markers. */
    for (int i = 0; i < 3; i++)
        sub_sync(pub, subs[i], prefixes[i]);

    tu_send_str(pub, "a1");
    tu_send_str(pub, "b1");
    tu_send_str(pub, "c1");
    tu_send_strs(pub, 2, "b2", "more");
    tu_send_str(pub, "a-end");
    tu_send_str(pub, "b-end");

    tu_recv_str(subs[0], "a1");
    tu_recv_str(subs[0], "a-end");
    tu_recv_str(subs[1], "b1");
    tu_recv_strs(subs[1], 2, "b2", "more");
    tu_recv_str(subs[1], "b-end");
    tu_recv_str(subs[2], "a1");
    tu_recv_str(subs[2], "b1");
    tu_recv_str(subs[2], "c1");
    tu_recv_strs(subs[2], 2, "b2", "more");
    tu_recv_str(subs[2], "a-end");
    tu_recv_str(subs[2], "b-end");
    for (int i = 0; i < 3; i++)
        tu_recv_none(subs[i], 50);
    tu_ctx_destroy(&ctx);
}

/* Subscriptions made before the connection exists (before connect, and after connect
 * but before anybody binds) reach a PUB that binds later. */
static void subscribe_before_bind(const char *ep)
{
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *sub = tu_sock(ctx, NM_SUB);
    tu_subscribe(sub, "early");
    TU_OK(nm_sock_connect(sub, ep));
    tu_subscribe(sub, "mid");
    tu_sleep_ms(100);
    nm_sock_t *pub = tu_sock(ctx, NM_PUB);
    TU_OK(nm_sock_bind(pub, ep));
    sub_sync(pub, sub, "early");
    sub_sync(pub, sub, "mid");
    tu_send_str(pub, "other");
    tu_send_str(pub, "early-1");
    tu_send_str(pub, "mid-1");
    tu_recv_str(sub, "early-1");
    tu_recv_str(sub, "mid-1");
    tu_recv_none(sub, 50);
    tu_ctx_destroy(&ctx);
}

static void test_subscribe_before_bind_tcp(void **state)
{
    (void)state;
    char ep[TU_EP_MAX];
    snprintf(ep, sizeof(ep), "tcp://127.0.0.1:%d", tu_free_tcp_port());
    subscribe_before_bind(ep);
}

static void test_subscribe_before_bind_inproc(void **state)
{
    (void)state;
    subscribe_before_bind("inproc://late-publisher");
}

/* A PUB cannot receive, a SUB cannot send, and the subscription options belong to
 * SUB/XSUB (XPUB_VERBOSE to XPUB). */
static void test_pubsub_wrong_direction(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *pub = tu_sock(ctx, NM_PUB);
    nm_sock_t *sub = tu_sock(ctx, NM_SUB);
    nm_msg_t m;
    nm_msg_init(&m);
    assert_true(nm_sock_recv(pub, &m, NM_DONTWAIT) < 0);
    assert_int_equal(nm_msg_count(&m), 0);
    tu_msg_strs(&m, 1, "kept");
    assert_true(nm_sock_send(sub, &m, NM_DONTWAIT) < 0);
    tu_assert_strs(&m, 1, "kept");
    nm_msg_close(&m);
    assert_true(nm_sock_setopt(pub, NM_SUBSCRIBE, "a", 1) < 0);
    assert_true(nm_sock_setopt_int(sub, NM_XPUB_VERBOSE, 1) < 0);
    tu_ctx_destroy(&ctx);
}

/* ---- high-water marks and drops ------------------------------------------------------ */

#define FLOOD_N    10000
#define FLOOD_SIZE 4096 /* 40 MB in all: far beyond HWMs plus loopback buffers */

/* A FLOOD_SIZE-byte message carrying seq at its start. */
static void flood_msg(nm_msg_t *m, uint32_t seq)
{
    void *p;
    nm_msg_init(m);
    TU_OK(nm_msg_add_alloc(m, FLOOD_SIZE, &p));
    memset(p, 'f', FLOOD_SIZE);
    memcpy(p, &seq, sizeof(seq));
}

/* Sends the flood with blocking sends: each must succeed at once, as a PUB never waits
 * for a subscriber.  SNDTIMEO turns a PUB that does block into a failure, not a hang. */
static void send_flood(nm_sock_t *pub)
{
    TU_OK(nm_sock_setopt_int(pub, NM_SNDTIMEO, 2000));
    int64_t start = tu_now_ms(), slowest = 0;
    uint32_t slowest_at = 0;
    for (uint32_t i = 0; i < FLOOD_N; i++) {
        nm_msg_t m;
        flood_msg(&m, i);
        int64_t t0 = tu_now_ms();
        int rc = nm_sock_send(pub, &m, 0);
        int64_t took = tu_now_ms() - t0;
        if (rc != 0)
            fail_msg("PUB send %u of %d returned %d (%s)", i, FLOOD_N, rc, tu_err(rc));
        assert_int_equal(nm_msg_count(&m), 0);
        if (took > slowest) {
            slowest = took;
            slowest_at = i;
        }
        nm_msg_close(&m);
    }
    if (slowest > 1000)
        fail_msg("PUB send %u took %lld ms", slowest_at, (long long)slowest);
    assert_true(tu_now_ms() - start < 30000);
}

/* True when m is one of the "tail-NNN" messages sent after a flood. */
static bool is_tail(const nm_msg_t *m)
{
    return nm_msg_count(m) == 1 && nm_msg_size(m, 0) == 8 &&
           memcmp(nm_msg_data(m, 0), "tail-", 5) == 0;
}

/* Reads what a subscriber kept of the flood: increasing sequence numbers (drops leave
 * gaps, never reorder); markers and tail messages are skipped.  Returns how many flood
 * messages there were. */
static uint32_t drain_flood(nm_sock_t *sub)
{
    uint32_t n = 0;
    int64_t last = -1;
    nm_msg_t m;
    while (tu_recv_wait(sub, &m, 500) == 0) {
        if (is_marker(&m) || is_tail(&m)) {
            nm_msg_close(&m);
            continue;
        }
        assert_int_equal(nm_msg_count(&m), 1);
        assert_int_equal(nm_msg_size(&m, 0), FLOOD_SIZE);
        uint32_t seq;
        memcpy(&seq, nm_msg_data(&m, 0), sizeof(seq));
        assert_true((int64_t)seq > last);
        last = seq;
        n++;
        nm_msg_close(&m);
    }
    return n;
}

static tu_totals wait_drops(nm_ctx_t *ctx)
{
    int64_t deadline = tu_now_ms() + TU_RCVTIMEO;
    tu_totals t;
    while ((t = tu_totals_of(ctx, NM_PUB)).drops == 0) {
        if (tu_now_ms() > deadline)
            fail_msg("PUB shows no drops after %d ms", TU_RCVTIMEO);
        tu_sleep_ms(10);
    }
    return t;
}

/* A SUB with HWMs of 10 that does not read: every send succeeds at once, the PUB's pipe
 * counts drops, and the SUB receives again once it reads. */
static void test_pub_drops_for_slow_sub(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *pub = tu_sock(ctx, NM_PUB);
    nm_sock_t *sub = tu_sock(ctx, NM_SUB);
    TU_OK(nm_sock_setopt_int(pub, NM_SNDHWM, 10));
    TU_OK(nm_sock_setopt_int(sub, NM_RCVHWM, 10));
    TU_OK(nm_sock_setopt_int(sub, NM_SNDHWM, 10));
    tu_subscribe(sub, "");
    char ep[TU_EP_MAX];
    tu_bind_tcp(pub, ep, sizeof(ep));
    TU_OK(nm_sock_connect(sub, ep));
    sub_sync(pub, sub, "");

    send_flood(pub);
    tu_totals t = wait_drops(ctx);
    assert_int_equal(t.npipes, 1);
    assert_true(t.drops < FLOOD_N);

    uint32_t kept = drain_flood(sub);
    assert_true(kept < FLOOD_N);
    /* Every message was either kept or counted as a drop (by the PUB, or by the SUB if
     * it drops what its full pipe cannot take). */
    t = tu_totals_of(ctx, NM_PUB);
    assert_true(kept + t.drops + tu_totals_of(ctx, NM_SUB).drops >= FLOOD_N);
    /* Not stuck: new messages get through. */
    sub_sync(pub, sub, "");
    tu_send_str(pub, "after");
    tu_recv_str(sub, "after");
    tu_ctx_destroy(&ctx);
}

/* What the reading subscriber's thread saw. */
typedef struct reader {
    nm_sock_t *sub;       /* a SUB used by the reader thread only */
    atomic_bool stop;     /* set by the test to end the thread */
    atomic_uint flood;    /* flood messages received */
    atomic_uint tail;     /* tail messages received, in order */
    atomic_int error;     /* first failure: 0 none */
    char error_text[128]; /* its description */
} reader;

static void reader_fail(reader *r, int code, const char *text)
{
    int none = 0;
    if (atomic_compare_exchange_strong(&r->error, &none, code))
        snprintf(r->error_text, sizeof(r->error_text), "%s", text);
}

/* Reads until told to stop, checking what comes: flood messages in increasing order,
 * then tail-000, tail-001, ... without a gap.  cmocka is not thread-safe, so failures
 * are recorded for the test thread to report. */
static void *reader_main(void *arg)
{
    reader *r = arg;
    int64_t last = -1;
    while (!atomic_load(&r->stop)) {
        nm_msg_t m;
        nm_msg_init(&m);
        int rc = nm_sock_recv(r->sub, &m, 0);
        if (rc == -EAGAIN)
            continue;
        if (rc != 0) {
            reader_fail(r, rc, "recv failed");
            break;
        }
        size_t n = nm_msg_size(&m, 0);
        const char *p = nm_msg_data(&m, 0);
        if (n == FLOOD_SIZE) {
            uint32_t seq;
            memcpy(&seq, p, sizeof(seq));
            if ((int64_t)seq <= last)
                reader_fail(r, 1, "flood out of order");
            last = seq;
            atomic_fetch_add(&r->flood, 1);
        } else if (n > 5 && memcmp(p, "tail-", 5) == 0) {
            char want[16];
            snprintf(want, sizeof(want), "tail-%03u", atomic_load(&r->tail));
            if (n != strlen(want) || memcmp(p, want, n) != 0)
                reader_fail(r, 2, "tail message missing or out of order");
            atomic_fetch_add(&r->tail, 1);
        }
        nm_msg_close(&m);
    }
    return NULL;
}

/* Drops are per subscriber: with one SUB not reading, another that reads keeps getting
 * messages, and after the flood it gets every message again. */
static void test_pub_drops_per_subscriber(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *pub = tu_sock(ctx, NM_PUB);
    nm_sock_t *slow = tu_sock(ctx, NM_SUB);
    nm_sock_t *fast = tu_sock(ctx, NM_SUB);
    TU_OK(nm_sock_setopt_int(slow, NM_RCVHWM, 10));
    TU_OK(nm_sock_setopt_int(slow, NM_SNDHWM, 10));
    tu_subscribe(slow, "");
    tu_subscribe(fast, "");
    char ep[TU_EP_MAX];
    tu_bind_tcp(pub, ep, sizeof(ep));
    TU_OK(nm_sock_connect(slow, ep));
    TU_OK(nm_sock_connect(fast, ep));
    sub_sync(pub, slow, "");
    sub_sync(pub, fast, "");
    sub_sync(pub, slow, ""); /* drains fast's markers from slow */

    reader *r = calloc(1, sizeof(*r));
    assert_non_null(r);
    r->sub = fast;
    TU_OK(nm_sock_setopt_int(fast, NM_RCVTIMEO, 20));
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, reader_main, r), 0);

    send_flood(pub);
    /* Let the reader finish what reached it: quiet for 300 ms. */
    int64_t deadline = tu_now_ms() + 20000;
    unsigned seen = 0;
    for (;;) {
        tu_sleep_ms(300);
        unsigned now = atomic_load(&r->flood);
        if (now == seen && now > 0)
            break;
        seen = now;
        if (tu_now_ms() > deadline)
            break;
    }
    /* The slow SUB's pipe is still full: these are dropped there, not for the reader. */
    for (int i = 0; i < 100; i++) {
        char buf[16];
        snprintf(buf, sizeof(buf), "tail-%03d", i);
        tu_send_str(pub, buf);
    }
    deadline = tu_now_ms() + TU_RCVTIMEO;
    while (atomic_load(&r->tail) < 100 && atomic_load(&r->error) == 0 && tu_now_ms() < deadline)
        tu_sleep_ms(10);
    atomic_store(&r->stop, true);
    tu_join(th, TU_RCVTIMEO);

    if (atomic_load(&r->error) != 0)
        fail_msg("reader: %s (%d)", r->error_text, atomic_load(&r->error));
    assert_true(atomic_load(&r->flood) > 0);
    assert_int_equal(atomic_load(&r->tail), 100);
    free(r);

    tu_totals t = wait_drops(ctx);
    assert_int_equal(t.npipes, 2);
    /* The slow SUB kept a little of the flood and none of the tail. */
    uint32_t kept = drain_flood(slow);
    assert_true(kept < FLOOD_N);
    tu_ctx_destroy(&ctx);
}

/* ---- large messages -------------------------------------------------------------------- */

#define LARGE (1024 * 1024)

static uint8_t large_byte(uint32_t seq, size_t i)
{
    return (uint8_t)(seq * 131u + i * 7u + (i >> 12));
}

static void check_large(const nm_msg_t *m, uint32_t seq)
{
    assert_int_equal(nm_msg_count(m), 2);
    tu_assert_frame(m, 0, "big");
    assert_int_equal(nm_msg_size(m, 1), LARGE);
    const uint8_t *p = nm_msg_data(m, 1);
    for (size_t i = 0; i < LARGE; i++)
        if (p[i] != large_byte(seq, i))
            fail_msg("message %u: byte %zu is %u, expected %u", seq, i, p[i], large_byte(seq, i));
}

/* 1 MiB messages reach three SUBs (two over tcp, one over inproc) intact. */
static void test_large_fanout(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *pub = tu_sock(ctx, NM_PUB);
    char ep[TU_EP_MAX];
    tu_bind_tcp(pub, ep, sizeof(ep));
    TU_OK(nm_sock_bind(pub, "inproc://fanout"));
    nm_sock_t *subs[3];
    for (int i = 0; i < 3; i++) {
        subs[i] = tu_sock(ctx, NM_SUB);
        tu_subscribe(subs[i], "");
        TU_OK(nm_sock_connect(subs[i], i == 2 ? "inproc://fanout" : ep));
    }
    for (int i = 0; i < 3; i++)
        sub_sync(pub, subs[i], "");

    enum { NLARGE = 4 };
    for (uint32_t seq = 0; seq < NLARGE; seq++) {
        nm_msg_t m;
        nm_msg_init(&m);
        TU_OK(nm_msg_add(&m, "big", 3));
        uint8_t *p;
        TU_OK(nm_msg_add_alloc(&m, LARGE, (void **)&p));
        for (size_t i = 0; i < LARGE; i++)
            p[i] = large_byte(seq, i);
        TU_OK(nm_sock_send(pub, &m, 0));
        assert_int_equal(nm_msg_count(&m), 0);
        nm_msg_close(&m);
    }
    for (int i = 0; i < 3; i++) {
        for (uint32_t seq = 0; seq < NLARGE; seq++) {
            nm_msg_t m;
            tu_recv(subs[i], &m);
            while (is_marker(&m)) { /* sent to sync the SUBs after this one */
                nm_msg_close(&m);
                tu_recv(subs[i], &m);
            }
            check_large(&m, seq);
            nm_msg_close(&m);
        }
        tu_recv_none(subs[i], 50);
    }
    tu_ctx_destroy(&ctx);
}

/* ---- XPUB ---------------------------------------------------------------------------- */

/* Receives on an XPUB the subscription message kind ('\x01' or '\x00') + topic. */
static void xpub_expect_at(const char *file, int line, nm_sock_t *xpub, uint8_t kind,
                           const char *topic)
{
    nm_msg_t m;
    tu_recv_at(file, line, xpub, &m);
    size_t len = strlen(topic);
    uint8_t want[64];
    want[0] = kind;
    memcpy(want + 1, topic, len);
    if (nm_msg_count(&m) != 1 || nm_msg_size(&m, 0) != len + 1 ||
        memcmp(nm_msg_data(&m, 0), want, len + 1) != 0)
        fail_msg("%s:%d: XPUB expected %s '%s', got %zu frames, first of %zu bytes (0x%02x...)",
                 file, line, kind ? "subscribe" : "cancel", topic, nm_msg_count(&m),
                 nm_msg_size(&m, 0),
                 nm_msg_size(&m, 0) > 0 ? ((const uint8_t *)nm_msg_data(&m, 0))[0] : 0);
    nm_msg_close(&m);
}
#define xpub_expect(x, kind, topic) xpub_expect_at(__FILE__, __LINE__, (x), (kind), (topic))

static void test_xpub_sees_subscriptions(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *xpub = tu_sock(ctx, NM_XPUB);
    nm_sock_t *sub = tu_sock(ctx, NM_SUB);
    char ep[TU_EP_MAX];
    tu_bind_tcp(xpub, ep, sizeof(ep));
    TU_OK(nm_sock_connect(sub, ep));
    tu_wait_active(ctx, NM_SUB, 1);
    tu_recv_none(xpub, 50); /* a connection alone says nothing */

    tu_subscribe(sub, "topic");
    xpub_expect(xpub, 1, "topic");
    /* The subscription read by the application is in effect for its sends. */
    tu_send_str(xpub, "other");
    tu_send_strs(xpub, 2, "topic-data", "x");
    tu_recv_strs(sub, 2, "topic-data", "x");

    tu_unsubscribe(sub, "topic");
    xpub_expect(xpub, 0, "topic");
    tu_send_str(xpub, "topic-gone");
    tu_recv_none(sub, 100);
    tu_recv_none(xpub, 50);
    tu_ctx_destroy(&ctx);
}

/* Without XPUB_VERBOSE only the first subscription to a topic and the last cancel are
 * passed on; each step is followed by a subscription to a fresh marker topic, which is
 * passed on and proves that the step before it was seen and swallowed. */
static void test_xpub_not_verbose(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *xpub = tu_sock(ctx, NM_XPUB);
    nm_sock_t *s1 = tu_sock(ctx, NM_SUB);
    nm_sock_t *s2 = tu_sock(ctx, NM_SUB);
    char ep[TU_EP_MAX];
    tu_bind_tcp(xpub, ep, sizeof(ep));
    TU_OK(nm_sock_connect(s1, ep));
    TU_OK(nm_sock_connect(s2, ep));
    tu_wait_active(ctx, NM_SUB, 2);

    tu_subscribe(s1, "topic");
    xpub_expect(xpub, 1, "topic");
    tu_subscribe(s2, "topic"); /* a duplicate: swallowed */
    tu_subscribe(s2, "m2");
    xpub_expect(xpub, 1, "m2");
    tu_unsubscribe(s1, "topic"); /* s2 still subscribed: swallowed */
    tu_subscribe(s1, "m1");
    xpub_expect(xpub, 1, "m1");
    tu_unsubscribe(s2, "topic"); /* the last one: passed on */
    xpub_expect(xpub, 0, "topic");
    tu_recv_none(xpub, 50);
    tu_ctx_destroy(&ctx);
}

static void test_xpub_verbose(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *xpub = tu_sock(ctx, NM_XPUB);
    TU_OK(nm_sock_setopt_int(xpub, NM_XPUB_VERBOSE, 1));
    nm_sock_t *s1 = tu_sock(ctx, NM_SUB);
    nm_sock_t *s2 = tu_sock(ctx, NM_SUB);
    char ep[TU_EP_MAX];
    tu_bind_tcp(xpub, ep, sizeof(ep));
    TU_OK(nm_sock_connect(s1, ep));
    TU_OK(nm_sock_connect(s2, ep));
    tu_wait_active(ctx, NM_SUB, 2);

    tu_subscribe(s1, "topic");
    xpub_expect(xpub, 1, "topic");
    tu_subscribe(s2, "topic");
    xpub_expect(xpub, 1, "topic");
    /* Both get the data once each. */
    tu_send_str(xpub, "topic-data");
    tu_recv_str(s1, "topic-data");
    tu_recv_str(s2, "topic-data");
    tu_recv_none(s1, 50);
    tu_recv_none(s2, 50);
    tu_ctx_destroy(&ctx);
}

/* A SUB that goes away cancels its subscriptions: the XPUB hears the cancel of a topic
 * nobody else wants. */
static void test_xpub_cancel_on_disconnect(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *xpub = tu_sock(ctx, NM_XPUB);
    nm_sock_t *sub = tu_sock(ctx, NM_SUB);
    char ep[TU_EP_MAX];
    tu_bind_tcp(xpub, ep, sizeof(ep));
    TU_OK(nm_sock_connect(sub, ep));
    tu_wait_active(ctx, NM_SUB, 1);
    tu_subscribe(sub, "gone");
    xpub_expect(xpub, 1, "gone");
    nm_sock_close(&sub);
    xpub_expect(xpub, 0, "gone");
    tu_ctx_destroy(&ctx);
}

/* ---- XSUB ---------------------------------------------------------------------------- */

static void xsub_send(nm_sock_t *xsub, uint8_t kind, const char *topic)
{
    uint8_t buf[64];
    size_t len = strlen(topic);
    buf[0] = kind;
    memcpy(buf + 1, topic, len);
    TU_OK(nm_sock_send_bytes(xsub, buf, len + 1, 0));
}

static void xsub_subscribes(const char *transport)
{
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *pub = tu_sock(ctx, NM_PUB);
    nm_sock_t *xsub = tu_sock(ctx, NM_XSUB);
    char ep[TU_EP_MAX];
    bind_pub(pub, transport, ep, sizeof(ep));
    TU_OK(nm_sock_connect(xsub, ep));
    /* Sent at once: the XSUB passes it on whenever the connection is up. */
    xsub_send(xsub, 1, "a");
    sub_sync(pub, xsub, "a");
    tu_send_str(pub, "b1");
    tu_send_str(pub, "a1");
    tu_send_str(pub, "ba");
    tu_send_strs(pub, 2, "ab", "c");
    tu_send_str(pub, "a-end");
    tu_recv_str(xsub, "a1");
    tu_recv_strs(xsub, 2, "ab", "c");
    tu_recv_str(xsub, "a-end");

    /* Cancelling by message too. */
    xsub_send(xsub, 0, "a");
    xsub_send(xsub, 1, "n");
    sub_sync(pub, xsub, "n");
    tu_send_str(pub, "a2");
    tu_send_str(pub, "n-end");
    tu_recv_str(xsub, "n-end");
    tu_recv_none(xsub, 50);
    tu_ctx_destroy(&ctx);
}

static void test_xsub_tcp(void **state)
{
    (void)state;
    xsub_subscribes("tcp");
}

static void test_xsub_inproc(void **state)
{
    (void)state;
    xsub_subscribes("inproc");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sub_without_subscription),
        cmocka_unit_test(test_prefix_matching_tcp),
        cmocka_unit_test(test_prefix_matching_inproc),
        cmocka_unit_test(test_unsubscribe_counted_tcp),
        cmocka_unit_test(test_unsubscribe_counted_inproc),
        cmocka_unit_test(test_multiple_subscribers),
        cmocka_unit_test(test_subscribe_before_bind_tcp),
        cmocka_unit_test(test_subscribe_before_bind_inproc),
        cmocka_unit_test(test_pubsub_wrong_direction),
        cmocka_unit_test(test_pub_drops_for_slow_sub),
        cmocka_unit_test(test_pub_drops_per_subscriber),
        cmocka_unit_test(test_large_fanout),
        cmocka_unit_test(test_xpub_sees_subscriptions),
        cmocka_unit_test(test_xpub_not_verbose),
        cmocka_unit_test(test_xpub_verbose),
        cmocka_unit_test(test_xpub_cancel_on_disconnect),
        cmocka_unit_test(test_xsub_tcp),
        cmocka_unit_test(test_xsub_inproc),
    };
    return cmocka_run_group_tests_name("sock_pubsub", tests, NULL, NULL);
}
