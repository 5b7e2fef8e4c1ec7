/*
 * test_sock_errors.c - bad input is an error code, never a crash: malformed endpoints,
 * a port already bound, unknown socket types and options, operations a socket type does
 * not have; nm_strerror names every code the core returns; a blocking receive that a
 * signal interrupts returns -EINTR (libzmq's EINTR), on both of its wait paths.
 */
#include <signal.h>

#include "testutil.h"

static const char *const bad_endpoints[] = {
    "tcp://",           /* nothing after the scheme */
    "tcp://127.0.0.1",  /* no port */
    "tcp://127.0.0.1:", /* empty port */
    "tcp://:5555",      /* no host */
    "tcp://127.0.0.1:99999",
    "tcp://127.0.0.1:12x",
    "tcp://256.1.1.1:5", /* not an IPv4 address */
    "tcp://[::1:5555",   /* unclosed bracket */
    "foo://x",           /* unknown transport */
    "tcp:/127.0.0.1:5",  /* no "//" */
    "127.0.0.1:5555",    /* no scheme at all */
    "",
    "ipc://", /* empty path */
};
#define NBAD (sizeof(bad_endpoints) / sizeof(bad_endpoints[0]))

static void test_bad_endpoints(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *s = tu_sock(ctx, NM_PULL);
    nm_sock_t *c = tu_sock(ctx, NM_PUSH);
    for (size_t i = 0; i < NBAD; i++) {
        int rc = nm_sock_bind(s, bad_endpoints[i]);
        if (rc >= 0)
            fail_msg("bind(\"%s\") returned %d", bad_endpoints[i], rc);
        assert_non_null(nm_strerror(rc));
        rc = nm_sock_connect(c, bad_endpoints[i]);
        if (rc >= 0)
            fail_msg("connect(\"%s\") returned %d", bad_endpoints[i], rc);
        assert_non_null(nm_strerror(rc));
    }
    /* The syntax errors are -EINVAL, as in libzmq. */
    TU_RC(nm_sock_bind(s, "tcp://127.0.0.1"), -EINVAL);
    TU_RC(nm_sock_connect(c, "tcp://127.0.0.1"), -EINVAL);
    /* Connecting to a wildcard or port 0 makes no sense. */
    assert_true(nm_sock_connect(c, "tcp://*:5555") < 0);
    assert_true(nm_sock_connect(c, "tcp://127.0.0.1:0") < 0);
    /* A long ipc path that cannot fit a socket address. */
    char longp[300] = "ipc:///tmp/";
    memset(longp + strlen(longp), 'p', sizeof(longp) - strlen(longp) - 1);
    longp[sizeof(longp) - 1] = '\0';
    assert_true(nm_sock_bind(s, longp) < 0);

    /* Nothing was half-set-up: both sockets still work. */
    char ep[TU_EP_MAX];
    tu_bind_tcp(s, ep, sizeof(ep));
    TU_OK(nm_sock_connect(c, ep));
    tu_send_str(c, "still fine");
    tu_recv_str(s, "still fine");
    tu_ctx_destroy(&ctx);
}

static void test_address_in_use(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *a = tu_sock(ctx, NM_PULL);
    nm_sock_t *b = tu_sock(ctx, NM_PULL);
    char ep[TU_EP_MAX];
    tu_bind_tcp(a, ep, sizeof(ep));
    TU_RC(nm_sock_bind(b, ep), -EADDRINUSE);
    TU_RC(nm_sock_bind(a, ep), -EADDRINUSE); /* twice on the same socket too */
    /* The failed bind did not replace the last endpoint of the socket that owns it. */
    char last[TU_EP_MAX];
    tu_last_endpoint(a, last, sizeof(last));
    assert_string_equal(last, ep);
    /* b can still bind elsewhere, and a still receives. */
    char ep2[TU_EP_MAX];
    tu_bind_tcp(b, ep2, sizeof(ep2));
    assert_string_not_equal(ep, ep2);
    nm_sock_t *push = tu_sock(ctx, NM_PUSH);
    TU_OK(nm_sock_connect(push, ep));
    tu_send_str(push, "to a");
    tu_recv_str(a, "to a");
    tu_ctx_destroy(&ctx);
}

static void test_strerror(void **state)
{
    (void)state;
    const int codes[] = {
        0,       -EINVAL,   -EAGAIN, -EADDRINUSE,   -EHOSTUNREACH, -ENOTSUP, -EPROTONOSUPPORT,
        -ENOMEM, -EMSGSIZE, -EPIPE,  -ECONNREFUSED, NM_EFSM,       NM_ETERM, NM_EPROTO,
        -99999};
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        const char *s = nm_strerror(codes[i]);
        assert_non_null(s);
        assert_true(strlen(s) > 0);
    }
    /* The nomid-specific codes have their own text. */
    assert_string_not_equal(nm_strerror(NM_EFSM), nm_strerror(-EINVAL));
    assert_string_not_equal(nm_strerror(NM_EFSM), nm_strerror(NM_ETERM));
    assert_string_not_equal(nm_strerror(NM_ETERM), nm_strerror(NM_EPROTO));
    assert_string_not_equal(nm_strerror(-EAGAIN), nm_strerror(-EINVAL));
}

static void test_sock_types(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        int type;
    } types[] = {
        {"pair", NM_PAIR}, {"pub", NM_PUB},       {"sub", NM_SUB},       {"req", NM_REQ},
        {"rep", NM_REP},   {"dealer", NM_DEALER}, {"router", NM_ROUTER}, {"pull", NM_PULL},
        {"push", NM_PUSH}, {"xpub", NM_XPUB},     {"xsub", NM_XSUB},     {"stream", NM_STREAM},
    };
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        const char *name = nm_sock_type_name(types[i].type);
        assert_non_null(name);
        assert_string_equal(name, types[i].name);
        int t = nm_sock_type_parse(types[i].name);
        /* A type the build does not support yet may answer -EINVAL. */
        assert_true(t == types[i].type || t == -EINVAL);
    }
    TU_RC(nm_sock_type_parse("bogus"), -EINVAL);
    TU_RC(nm_sock_type_parse(""), -EINVAL);
    TU_RC(nm_sock_type_parse("PUSHX"), -EINVAL);

    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *s = NULL;
    assert_true(nm_sock_new(&s, ctx, 99) < 0);
    assert_true(nm_sock_new(&s, ctx, -1) < 0);
    s = tu_sock(ctx, NM_DEALER);
    int type = -1;
    TU_OK(nm_sock_getopt_int(s, NM_TYPE, &type));
    assert_int_equal(type, NM_DEALER);
    tu_ctx_destroy(&ctx);
}

static void test_bad_options(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *s = tu_sock(ctx, NM_DEALER);
    int v = 0;
    /* Defaults. */
    TU_OK(nm_sock_getopt_int(s, NM_SNDHWM, &v));
    assert_int_equal(v, 1000);
    TU_OK(nm_sock_getopt_int(s, NM_RCVHWM, &v));
    assert_int_equal(v, 1000);
    TU_OK(nm_sock_getopt_int(s, NM_SNDTIMEO, &v));
    assert_int_equal(v, -1);
    TU_OK(nm_sock_getopt_int(s, NM_RECONNECT_IVL, &v));
    assert_int_equal(v, 100);
    char last[TU_EP_MAX];
    tu_last_endpoint(s, last, sizeof(last));
    assert_string_equal(last, ""); /* nothing bound yet */

    TU_RC(nm_sock_setopt_int(s, 9999, 1), -EINVAL);
    TU_RC(nm_sock_getopt_int(s, 9999, &v), -EINVAL);
    TU_RC(nm_sock_setopt_int(s, 0, 1), -EINVAL);
    /* Integer options want an int. */
    char one = 1;
    TU_RC(nm_sock_setopt(s, NM_SNDHWM, &one, sizeof(one)), -EINVAL);
    TU_RC(nm_sock_setopt_int(s, NM_SNDHWM, -5), -EINVAL);
    /* Routing ids are 1..255 bytes. */
    uint8_t id[256];
    memset(id, 'i', sizeof(id));
    TU_RC(nm_sock_setopt(s, NM_ROUTING_ID, id, 0), -EINVAL);
    TU_RC(nm_sock_setopt(s, NM_ROUTING_ID, id, 256), -EINVAL);
    TU_OK(nm_sock_setopt(s, NM_ROUTING_ID, id, 255));
    /* Read-only options. */
    assert_true(nm_sock_setopt(s, NM_LAST_ENDPOINT, "x", 2) < 0);
    assert_true(nm_sock_setopt_int(s, NM_TYPE, NM_PUSH) < 0);
    TU_OK(nm_sock_getopt_int(s, NM_TYPE, &v));
    assert_int_equal(v, NM_DEALER);
    /* A value that was refused leaves the old one in place. */
    TU_OK(nm_sock_setopt_int(s, NM_SNDHWM, 42));
    TU_RC(nm_sock_setopt_int(s, NM_SNDHWM, -5), -EINVAL);
    TU_OK(nm_sock_getopt_int(s, NM_SNDHWM, &v));
    assert_int_equal(v, 42);
    tu_ctx_destroy(&ctx);
}

/* Sending on a receive-only socket or receiving on a send-only one: -ENOTSUP, with the
 * message left where it was. */
/* NM_BUSY_POLL: on by default for the request-reply types only; bounded. */
static void test_busy_poll_option(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *req = tu_sock(ctx, NM_REQ), *pull = tu_sock(ctx, NM_PULL);
    int v;
    TU_OK(nm_sock_getopt_int(req, NM_BUSY_POLL, &v));
    assert_int_equal(v, NM_BUSY_POLL_DEFAULT);
    TU_OK(nm_sock_getopt_int(pull, NM_BUSY_POLL, &v));
    assert_int_equal(v, 0);
    TU_OK(nm_sock_setopt_int(pull, NM_BUSY_POLL, 20));
    TU_OK(nm_sock_getopt_int(pull, NM_BUSY_POLL, &v));
    assert_int_equal(v, 20);
    TU_RC(nm_sock_setopt_int(req, NM_BUSY_POLL, -1), -EINVAL);
    TU_RC(nm_sock_setopt_int(req, NM_BUSY_POLL, 1000001), -EINVAL);
    /* A spinning receive still times out on time. */
    TU_OK(nm_sock_setopt_int(pull, NM_RCVTIMEO, 30));
    nm_msg_t m;
    nm_msg_init(&m);
    int64_t t0 = tu_now_ms();
    TU_RC(nm_sock_recv(pull, &m, 0), -EAGAIN);
    assert_true(tu_now_ms() - t0 < 1000);
    nm_sock_close(&req);
    nm_sock_close(&pull);
    tu_ctx_destroy(&ctx);
}

static void test_wrong_direction(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *pull = tu_sock(ctx, NM_PULL);
    nm_sock_t *push = tu_sock(ctx, NM_PUSH);
    nm_msg_t m;
    nm_msg_init(&m);
    tu_msg_strs(&m, 1, "nope");
    TU_RC(nm_sock_send(pull, &m, 0), -ENOTSUP);
    TU_RC(nm_sock_send(pull, &m, NM_DONTWAIT), -ENOTSUP);
    tu_assert_strs(&m, 1, "nope");
    TU_RC(nm_sock_send_bytes(pull, "x", 1, 0), -ENOTSUP);
    nm_msg_close(&m);
    TU_RC(nm_sock_recv(push, &m, 0), -ENOTSUP);
    TU_RC(nm_sock_recv(push, &m, NM_DONTWAIT), -ENOTSUP);
    assert_int_equal(nm_msg_count(&m), 0);
    tu_ctx_destroy(&ctx);
}

static void test_clock(void **state)
{
    (void)state;
    uint64_t a = nm_clock_ns();
    uint64_t b = nm_clock_ns();
    assert_true(b >= a);
    tu_sleep_ms(20);
    uint64_t c = nm_clock_ns();
    assert_true(c - a >= 19 * 1000000ull);
    assert_true(c - a < 5000 * 1000000ull);
}

static void on_usr1(int sig)
{
    (void)sig;
}

typedef struct kicker {
    pthread_t target; /* the thread to interrupt */
    pthread_t thread; /* the kicker */
    int stop;         /* set (atomically) to end it */
} kicker;

/* Signals the target every 100 ms (a signal landing before it blocks is followed by
 * another) until stopped. */
static void *kick_main(void *arg)
{
    kicker *k = arg;
    while (!__atomic_load_n(&k->stop, __ATOMIC_SEQ_CST)) {
        tu_sleep_ms(100);
        if (!__atomic_load_n(&k->stop, __ATOMIC_SEQ_CST))
            pthread_kill(k->target, SIGUSR1);
    }
    return NULL;
}

/* A receive blocked on s (no RCVTIMEO) returns -EINTR once SIGUSR1, installed without
 * SA_RESTART, interrupts it. */
static void expect_interrupted_recv(nm_sock_t *s)
{
    struct sigaction sa = {.sa_handler = on_usr1}, old;
    assert_int_equal(sigaction(SIGUSR1, &sa, &old), 0);
    kicker k = {.target = pthread_self()};
    assert_int_equal(pthread_create(&k.thread, NULL, kick_main, &k), 0);
    nm_msg_t m;
    nm_msg_init(&m);
    int rc = nm_sock_recv(s, &m, 0);
    __atomic_store_n(&k.stop, 1, __ATOMIC_SEQ_CST);
    pthread_join(k.thread, NULL);
    sigaction(SIGUSR1, &old, NULL);
    TU_RC(rc, -EINTR);
    nm_msg_close(&m);
}

static void test_recv_interrupted(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *alone = tu_sock(ctx, NM_PULL); /* no peer: waits on its signaler */
    expect_interrupted_recv(alone);
    nm_sock_t *pull = tu_sock(ctx, NM_PULL), *push = tu_sock(ctx, NM_PUSH);
    char ep[64];
    tu_bind_tcp(pull, ep, sizeof(ep));
    TU_OK(nm_sock_connect(push, ep));
    TU_RC(nm_sock_wait_peers(pull, 1, 5000), 1);
    expect_interrupted_recv(pull); /* one tcp pipe: waits on the connection itself */
    TU_OK(nm_sock_send_bytes(push, "after", 5, 0));
    nm_msg_t m;
    nm_msg_init(&m);
    TU_OK(nm_sock_recv(pull, &m, 0)); /* and works on */
    tu_assert_frame(&m, 0, "after");
    nm_msg_close(&m);
    nm_sock_close(&alone);
    nm_sock_close(&pull);
    nm_sock_close(&push);
    tu_ctx_destroy(&ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_endpoints),
        cmocka_unit_test(test_address_in_use),
        cmocka_unit_test(test_strerror),
        cmocka_unit_test(test_sock_types),
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_wrong_direction),
        cmocka_unit_test(test_clock),
        cmocka_unit_test(test_busy_poll_option),
        cmocka_unit_test(test_recv_interrupted),
    };
    return cmocka_run_group_tests_name("sock_errors", tests, NULL, NULL);
}
