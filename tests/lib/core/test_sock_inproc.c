/*
 * test_sock_inproc.c - the inproc:// transport between sockets of one context.
 *
 * Bind and connect work in either order (messages sent by a connecter before anybody
 * binds are delivered once the name is bound, IMMEDIATE being 0); every pattern works
 * over it (PUSH/PULL, REQ/REP, DEALER/ROUTER with routing ids, PAIR), also between
 * threads; zero-copy frames arrive with their original data pointer and are freed once,
 * when the receiver lets go; names are private to a context, unique while bound, and
 * free again once the binder is closed; one binder takes many connecters; the pipe is
 * bounded by the HWMs.  A connecter closed before the bind leaves what it sent for the
 * binder, as libzmq does (not with LINGER 0), also from threads of their own; a context
 * ended with such messages unbound frees them.
 */
#include "testutil.h"

#include <stdatomic.h>

static void test_inproc_bind_then_connect(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *pull = tu_sock(ctx, NM_PULL);
    nm_sock_t *push = tu_sock(ctx, NM_PUSH);
    TU_OK(nm_sock_bind(pull, "inproc://bind-first"));
    char ep[TU_EP_MAX];
    tu_last_endpoint(pull, ep, sizeof(ep));
    assert_string_equal(ep, "inproc://bind-first");
    TU_OK(nm_sock_connect(push, "inproc://bind-first"));
    char buf[16];
    for (int i = 0; i < 10; i++) {
        snprintf(buf, sizeof(buf), "msg-%d", i);
        tu_send_strs(push, 3, buf, "", "tail");
    }
    for (int i = 0; i < 10; i++) {
        snprintf(buf, sizeof(buf), "msg-%d", i);
        tu_recv_strs(pull, 3, buf, "", "tail");
    }
    tu_recv_none(pull, 50);
    tu_ctx_destroy(&ctx);
}

static void test_inproc_connect_then_bind(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *push = tu_sock(ctx, NM_PUSH);
    TU_OK(nm_sock_connect(push, "inproc://connect-first"));
    char buf[16];
    for (int i = 0; i < 5; i++) {
        snprintf(buf, sizeof(buf), "early-%d", i);
        TU_OK(nm_sock_send_bytes(push, buf, strlen(buf), NM_DONTWAIT));
    }
    tu_sleep_ms(50);
    nm_sock_t *pull = tu_sock(ctx, NM_PULL);
    TU_OK(nm_sock_bind(pull, "inproc://connect-first"));
    for (int i = 0; i < 5; i++) {
        snprintf(buf, sizeof(buf), "early-%d", i);
        tu_recv_str(pull, buf);
    }
    tu_send_str(push, "late");
    tu_recv_str(pull, "late");
    tu_recv_none(pull, 50);
    tu_ctx_destroy(&ctx);
}

/* REQ/REP round trips, with either side binding. */
static void reqrep(bool rep_binds)
{
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *rep = tu_sock(ctx, NM_REP);
    nm_sock_t *req = tu_sock(ctx, NM_REQ);
    if (rep_binds) {
        TU_OK(nm_sock_bind(rep, "inproc://reqrep"));
        TU_OK(nm_sock_connect(req, "inproc://reqrep"));
    } else {
        TU_OK(nm_sock_connect(rep, "inproc://reqrep"));
        TU_OK(nm_sock_bind(req, "inproc://reqrep"));
    }
    char q[16], a[16];
    for (int i = 0; i < 5; i++) {
        snprintf(q, sizeof(q), "question-%d", i);
        snprintf(a, sizeof(a), "answer-%d", i);
        tu_send_str(req, q);
        tu_recv_str(rep, q);
        tu_send_str(rep, a);
        tu_recv_str(req, a);
    }
    tu_send_strs(req, 2, "q1", "q2");
    tu_recv_strs(rep, 2, "q1", "q2");
    tu_send_strs(rep, 2, "a1", "");
    tu_recv_strs(req, 2, "a1", "");
    tu_ctx_destroy(&ctx);
}

static void test_inproc_reqrep_rep_binds(void **state)
{
    (void)state;
    reqrep(true);
}

static void test_inproc_reqrep_req_binds(void **state)
{
    (void)state;
    reqrep(false);
}

static void test_inproc_dealer_router(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *router = tu_sock(ctx, NM_ROUTER);
    nm_sock_t *named = tu_sock(ctx, NM_DEALER);
    nm_sock_t *anon = tu_sock(ctx, NM_DEALER);
    tu_set_id(named, "dealer-in");
    TU_OK(nm_sock_bind(router, "inproc://router"));
    TU_OK(nm_sock_connect(named, "inproc://router"));
    TU_OK(nm_sock_connect(anon, "inproc://router"));

    tu_send_strs(named, 2, "hello", "");
    tu_recv_strs(router, 3, "dealer-in", "hello", "");
    tu_send_strs(router, 2, "dealer-in", "world");
    tu_recv_str(named, "world");

    /* Without NM_ROUTING_ID the ROUTER makes one up, and replies reach the right peer. */
    tu_send_str(anon, "anonymous");
    nm_msg_t m;
    tu_recv(router, &m);
    assert_int_equal(nm_msg_count(&m), 2);
    tu_assert_frame(&m, 1, "anonymous");
    size_t id_len = nm_msg_size(&m, 0);
    assert_true(id_len >= 1 && id_len <= 255);
    uint8_t id[256];
    memcpy(id, nm_msg_data(&m, 0), id_len);
    assert_false(tu_frame_is(&m, 0, "dealer-in"));
    nm_msg_close(&m);
    nm_msg_init(&m);
    TU_OK(nm_msg_add(&m, id, id_len));
    TU_OK(nm_msg_add(&m, "to-anon", 7));
    TU_OK(nm_sock_send(router, &m, 0));
    nm_msg_close(&m);
    tu_recv_str(anon, "to-anon");
    tu_recv_none(named, 50);

    /* Unknown ids: dropped, or refused under ROUTER_MANDATORY. */
    TU_OK(nm_sock_setopt_int(router, NM_ROUTER_MANDATORY, 1));
    nm_msg_init(&m);
    tu_msg_strs(&m, 2, "nobody", "kept");
    TU_RC(nm_sock_send(router, &m, 0), -EHOSTUNREACH);
    tu_assert_strs(&m, 2, "nobody", "kept");
    nm_msg_close(&m);
    tu_ctx_destroy(&ctx);
}

static void test_inproc_pair(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *a = tu_sock(ctx, NM_PAIR);
    nm_sock_t *b = tu_sock(ctx, NM_PAIR);
    TU_OK(nm_sock_connect(b, "inproc://pair")); /* connecter first this time */
    TU_OK(nm_sock_bind(a, "inproc://pair"));
    for (int i = 0; i < 3; i++) {
        tu_send_strs(a, 2, "ping", "x");
        tu_recv_strs(b, 2, "ping", "x");
        tu_send_str(b, "pong");
        tu_recv_str(a, "pong");
    }
    tu_recv_none(a, 20);
    tu_recv_none(b, 20);
    tu_ctx_destroy(&ctx);
}

/* ---- zero copy ------------------------------------------------------------------------ */

#define ZC_SIZE (64 * 1024)

typedef struct zc_state {
    atomic_int calls; /* times the free callback ran */
    void *data;       /* the pointer it was given */
    void *hint;       /* and the hint */
} zc_state;

static void zc_free_cb(void *data, void *hint)
{
    zc_state *zs = hint;
    zs->data = data;
    zs->hint = hint;
    atomic_fetch_add(&zs->calls, 1);
    free(data);
}

/* Waits up to ms for the callback to have run `want` times. */
static int zc_wait(zc_state *zs, int want, int ms)
{
    int64_t deadline = tu_now_ms() + ms;
    while (atomic_load(&zs->calls) < want && tu_now_ms() < deadline)
        tu_sleep_ms(1);
    return atomic_load(&zs->calls);
}

static void test_inproc_zero_copy(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *pull = tu_sock(ctx, NM_PULL);
    nm_sock_t *push = tu_sock(ctx, NM_PUSH);
    TU_OK(nm_sock_bind(pull, "inproc://zc"));
    TU_OK(nm_sock_connect(push, "inproc://zc"));

    zc_state *zs = calloc(1, sizeof(*zs));
    assert_non_null(zs);
    uint8_t *buf = malloc(ZC_SIZE);
    assert_non_null(buf);
    for (size_t i = 0; i < ZC_SIZE; i++)
        buf[i] = (uint8_t)(i * 13);
    nm_msg_t m;
    nm_msg_init(&m);
    TU_OK(nm_msg_add(&m, "hdr", 3));
    TU_OK(nm_msg_add_zc(&m, buf, ZC_SIZE, zc_free_cb, zs));
    TU_OK(nm_sock_send(push, &m, 0));
    assert_int_equal(nm_msg_count(&m), 0);
    nm_msg_close(&m);

    nm_msg_t r;
    tu_recv(pull, &r);
    assert_int_equal(nm_msg_count(&r), 2);
    tu_assert_frame(&r, 0, "hdr");
    assert_int_equal(nm_msg_size(&r, 1), ZC_SIZE);
    assert_ptr_equal(nm_msg_data(&r, 1), buf); /* not copied on the way */
    for (size_t i = 0; i < ZC_SIZE; i++)
        assert_int_equal(((const uint8_t *)nm_msg_data(&r, 1))[i], (uint8_t)(i * 13));
    assert_int_equal(zc_wait(zs, 1, 50), 0); /* still in use */

    /* A copy shares the buffer and keeps it alive. */
    nm_msg_t c;
    nm_msg_init(&c);
    TU_OK(nm_msg_copy(&c, &r));
    assert_ptr_equal(nm_msg_data(&c, 1), buf);
    nm_msg_close(&r);
    assert_int_equal(zc_wait(zs, 1, 50), 0);
    nm_msg_close(&c);
    /* The last reference gone: freed exactly once, with our pointer and hint. */
    assert_int_equal(zc_wait(zs, 1, 1000), 1);
    assert_ptr_equal(zs->data, buf);
    assert_ptr_equal(zs->hint, zs);
    tu_sleep_ms(50);
    assert_int_equal(atomic_load(&zs->calls), 1);
    tu_ctx_destroy(&ctx);
    assert_int_equal(atomic_load(&zs->calls), 1);
    free(zs);
}

/* ---- names ---------------------------------------------------------------------------- */

/* A name bound in one context means nothing in another. */
static void test_inproc_other_context(void **state)
{
    (void)state;
    nm_ctx_t *ctx1 = tu_ctx();
    nm_ctx_t *ctx2 = tu_ctx();
    nm_sock_t *pull = tu_sock(ctx1, NM_PULL);
    TU_OK(nm_sock_bind(pull, "inproc://private"));
    nm_sock_t *push = tu_sock(ctx2, NM_PUSH);
    int rc = nm_sock_connect(push, "inproc://private");
    if (rc == 0) {
        /* Accepted as a connect-before-bind in ctx2: whatever is sent waits there. */
        for (int i = 0; i < 3; i++) {
            rc = nm_sock_send_bytes(push, "leak", 4, NM_DONTWAIT);
            if (rc != 0)
                TU_RC(rc, -EAGAIN);
        }
    } else {
        assert_true(rc < 0);
    }
    tu_recv_none(pull, 200);
    /* The name still works inside ctx1. */
    nm_sock_t *local = tu_sock(ctx1, NM_PUSH);
    TU_OK(nm_sock_connect(local, "inproc://private"));
    tu_send_str(local, "local");
    tu_recv_str(pull, "local");
    tu_recv_none(pull, 50);
    tu_ctx_destroy(&ctx2);
    tu_ctx_destroy(&ctx1);
}

static void test_inproc_addr_in_use(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *a = tu_sock(ctx, NM_PULL);
    nm_sock_t *b = tu_sock(ctx, NM_PULL);
    TU_OK(nm_sock_bind(a, "inproc://taken"));
    TU_RC(nm_sock_bind(b, "inproc://taken"), -EADDRINUSE);
    TU_RC(nm_sock_bind(a, "inproc://taken"), -EADDRINUSE);
    TU_OK(nm_sock_bind(b, "inproc://other"));
    /* Both still work, each on its own name. */
    nm_sock_t *push = tu_sock(ctx, NM_PUSH);
    TU_OK(nm_sock_connect(push, "inproc://taken"));
    tu_send_str(push, "to-a");
    tu_recv_str(a, "to-a");
    nm_sock_t *push2 = tu_sock(ctx, NM_PUSH);
    TU_OK(nm_sock_connect(push2, "inproc://other"));
    tu_send_str(push2, "to-b");
    tu_recv_str(b, "to-b");
    tu_recv_none(a, 20);
    tu_ctx_destroy(&ctx);
}

/* Closing the binder frees the name: another socket binds it and is reachable. */
static void test_inproc_rebind_after_close(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *pull = tu_sock(ctx, NM_PULL);
    TU_OK(nm_sock_bind(pull, "inproc://reuse"));
    nm_sock_t *push = tu_sock(ctx, NM_PUSH);
    TU_OK(nm_sock_connect(push, "inproc://reuse"));
    tu_send_str(push, "first");
    tu_recv_str(pull, "first");
    nm_sock_close(&pull);

    pull = tu_sock(ctx, NM_PULL);
    int64_t deadline = tu_now_ms() + TU_RCVTIMEO;
    int rc;
    while ((rc = nm_sock_bind(pull, "inproc://reuse")) == -EADDRINUSE && tu_now_ms() < deadline)
        tu_sleep_ms(5);
    TU_OK(rc);
    nm_sock_t *push2 = tu_sock(ctx, NM_PUSH);
    TU_OK(nm_sock_connect(push2, "inproc://reuse"));
    tu_send_str(push2, "second");
    tu_recv_str(pull, "second");
    tu_ctx_destroy(&ctx);
}

/* One binder, many connecters: every message arrives, each sender's in order. */
static void test_inproc_many_connecters(void **state)
{
    (void)state;
    enum { NPUSH = 5, PER = 20 };
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *pull = tu_sock(ctx, NM_PULL);
    TU_OK(nm_sock_bind(pull, "inproc://many"));
    nm_sock_t *push[NPUSH];
    for (int i = 0; i < NPUSH; i++) {
        push[i] = tu_sock(ctx, NM_PUSH);
        TU_OK(nm_sock_connect(push[i], "inproc://many"));
    }
    char buf[32];
    for (int j = 0; j < PER; j++) {
        for (int i = 0; i < NPUSH; i++) {
            snprintf(buf, sizeof(buf), "%d:%d", i, j);
            tu_send_str(push[i], buf);
        }
    }
    int next[NPUSH] = {0};
    for (int k = 0; k < NPUSH * PER; k++) {
        nm_msg_t m;
        tu_recv(pull, &m);
        assert_int_equal(nm_msg_count(&m), 1);
        size_t n = nm_msg_size(&m, 0);
        assert_true(n < sizeof(buf));
        memcpy(buf, nm_msg_data(&m, 0), n);
        buf[n] = '\0';
        int i = -1, j = -1;
        assert_int_equal(sscanf(buf, "%d:%d", &i, &j), 2);
        assert_true(i >= 0 && i < NPUSH);
        assert_int_equal(j, next[i]);
        next[i]++;
        nm_msg_close(&m);
    }
    for (int i = 0; i < NPUSH; i++)
        assert_int_equal(next[i], PER);
    tu_recv_none(pull, 50);
    tu_ctx_destroy(&ctx);
}

/* ---- threads and HWM ------------------------------------------------------------------ */

#define THREAD_N 20000

typedef struct sender {
    nm_sock_t *push; /* used by the sender thread only */
    int rc;          /* first failed send, 0 if none */
} sender;

static void *sender_main(void *arg)
{
    sender *sd = arg;
    for (uint32_t i = 0; i < THREAD_N; i++) {
        int rc = nm_sock_send_bytes(sd->push, &i, sizeof(i), 0);
        if (rc != 0) {
            sd->rc = rc;
            break;
        }
    }
    return NULL;
}

/* A sender thread outruns the receiver: it blocks at the HWM and is woken as the
 * receiver drains; nothing is lost or reordered. */
static void test_inproc_threads(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *pull = tu_sock(ctx, NM_PULL);
    nm_sock_t *push = tu_sock(ctx, NM_PUSH);
    TU_OK(nm_sock_setopt_int(push, NM_SNDHWM, 100));
    TU_OK(nm_sock_setopt_int(pull, NM_RCVHWM, 100));
    TU_OK(nm_sock_setopt_int(push, NM_SNDTIMEO, TU_RCVTIMEO));
    TU_OK(nm_sock_bind(pull, "inproc://threads"));
    TU_OK(nm_sock_connect(push, "inproc://threads"));
    sender sd = {.push = push};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, sender_main, &sd), 0);
    for (uint32_t i = 0; i < THREAD_N; i++) {
        nm_msg_t m;
        tu_recv(pull, &m);
        assert_int_equal(nm_msg_count(&m), 1);
        assert_int_equal(nm_msg_size(&m, 0), sizeof(i));
        uint32_t got;
        memcpy(&got, nm_msg_data(&m, 0), sizeof(got));
        assert_int_equal(got, i);
        nm_msg_close(&m);
        if (i == 10)
            tu_sleep_ms(50); /* let the sender hit the HWM */
    }
    tu_join(th, TU_RCVTIMEO);
    TU_OK(sd.rc);
    tu_recv_none(pull, 20);
    tu_ctx_destroy(&ctx);
}

/* An inproc pipe is bounded: with nobody reading, DONTWAIT sends are refused before
 * long, and the refused message stays with the caller. */
static void test_inproc_hwm(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *pull = tu_sock(ctx, NM_PULL);
    nm_sock_t *push = tu_sock(ctx, NM_PUSH);
    TU_OK(nm_sock_setopt_int(push, NM_SNDHWM, 5));
    TU_OK(nm_sock_setopt_int(pull, NM_RCVHWM, 5));
    TU_OK(nm_sock_bind(pull, "inproc://hwm"));
    TU_OK(nm_sock_connect(push, "inproc://hwm"));
    int sent = 0;
    nm_msg_t m;
    nm_msg_init(&m);
    for (;;) {
        if (nm_msg_count(&m) == 0)
            tu_msg_strs(&m, 1, "fill");
        int rc = nm_sock_send(push, &m, NM_DONTWAIT);
        if (rc == -EAGAIN)
            break;
        TU_OK(rc);
        if (++sent > 1000)
            fail_msg("inproc pipe took over 1000 messages with HWMs of 5");
    }
    tu_assert_strs(&m, 1, "fill");
    nm_msg_close(&m);
    assert_true(sent >= 5);
    for (int i = 0; i < sent; i++)
        tu_recv_str(pull, "fill");
    tu_recv_none(pull, 20);
    /* Room again. */
    tu_send_str(push, "again");
    tu_recv_str(pull, "again");
    tu_ctx_destroy(&ctx);
}

typedef struct early_sender {
    nm_ctx_t *ctx; /* shared; the thread's socket is its own */
    int id;        /* what it sends */
    int rc;        /* 0 once connected, sent and closed */
} early_sender;

static void *early_main(void *arg)
{
    early_sender *e = arg;
    nm_sock_t *push = NULL;
    char buf[16];
    snprintf(buf, sizeof(buf), "from-%d", e->id);
    e->rc = nm_sock_new(&push, e->ctx, NM_PUSH);
    if (e->rc == 0)
        e->rc = nm_sock_connect(push, "inproc://early-threads");
    if (e->rc == 0)
        e->rc = nm_sock_send_bytes(push, buf, strlen(buf), 0);
    nm_sock_close(&push);
    return NULL;
}

static void test_inproc_closed_before_bind(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *push = tu_sock(ctx, NM_PUSH), *zero = tu_sock(ctx, NM_PUSH); /* LINGER 0 */
    TU_OK(nm_sock_setopt_int(push, NM_LINGER, -1));
    TU_OK(nm_sock_connect(push, "inproc://early"));
    TU_OK(nm_sock_connect(zero, "inproc://early"));
    tu_send_str(push, "one");
    tu_send_strs(push, 2, "two", "parts");
    tu_send_str(zero, "dropped");
    nm_sock_close(&push);
    nm_sock_close(&zero);
    tu_sleep_ms(50); /* both sockets are freed by now */
    nm_sock_t *pull = tu_sock(ctx, NM_PULL);
    TU_OK(nm_sock_bind(pull, "inproc://early"));
    tu_recv_str(pull, "one");
    tu_recv_strs(pull, 2, "two", "parts");
    tu_recv_none(pull, 50);

    /* Threads that connect, send and close while the binder may or may not be there. */
    enum { N = 16 };
    early_sender es[N];
    pthread_t th[N];
    for (int i = 0; i < N; i++) {
        es[i] = (early_sender){.ctx = ctx, .id = i, .rc = 1};
        assert_int_equal(pthread_create(&th[i], NULL, early_main, &es[i]), 0);
    }
    nm_sock_t *sink = tu_sock(ctx, NM_PULL);
    TU_OK(nm_sock_bind(sink, "inproc://early-threads"));
    bool seen[N] = {false};
    for (int i = 0; i < N; i++) {
        nm_msg_t m;
        tu_recv(sink, &m);
        int id = atoi((const char *)nm_msg_data(&m, 0) + 5);
        assert_true(id >= 0 && id < N && !seen[id]);
        seen[id] = true;
        nm_msg_close(&m);
    }
    for (int i = 0; i < N; i++) {
        tu_join(th[i], TU_RCVTIMEO);
        TU_OK(es[i].rc);
    }

    /* Left unbound: the context's end frees them (ASan would tell otherwise). */
    nm_sock_t *last = tu_sock(ctx, NM_PUSH);
    TU_OK(nm_sock_setopt_int(last, NM_LINGER, 1000));
    TU_OK(nm_sock_connect(last, "inproc://never"));
    tu_send_str(last, "never read");
    nm_sock_close(&last);
    tu_ctx_destroy(&ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inproc_bind_then_connect),
        cmocka_unit_test(test_inproc_connect_then_bind),
        cmocka_unit_test(test_inproc_reqrep_rep_binds),
        cmocka_unit_test(test_inproc_reqrep_req_binds),
        cmocka_unit_test(test_inproc_dealer_router),
        cmocka_unit_test(test_inproc_pair),
        cmocka_unit_test(test_inproc_zero_copy),
        cmocka_unit_test(test_inproc_other_context),
        cmocka_unit_test(test_inproc_addr_in_use),
        cmocka_unit_test(test_inproc_rebind_after_close),
        cmocka_unit_test(test_inproc_many_connecters),
        cmocka_unit_test(test_inproc_threads),
        cmocka_unit_test(test_inproc_hwm),
        cmocka_unit_test(test_inproc_closed_before_bind),
    };
    return cmocka_run_group_tests_name("sock_inproc", tests, NULL, NULL);
}
