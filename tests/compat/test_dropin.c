/*
 * test_dropin.c - a libzmq program, compiled against Debian's /usr/include/zmq.h and
 * linked with -lzmq, that ctest runs with nomid's libzmq.so.5 first on LD_LIBRARY_PATH.
 *
 * It first proves that nomid answered (nomid_zmq_version, which libzmq does not have,
 * is found with dlsym), then exercises the drop-in as a program would: contexts and
 * their options, errors and their numbers, messages, req/rep, pub/sub, push/pull and
 * router/dealer multipart over tcp, ipc and inproc, zmq_poll on sockets and a pipe,
 * options with libzmq's defaults, the monitor's two-frame events, shutdown waking a
 * blocked call, and the helpers (Z85, timers, atomic counters).
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cmocka.h>
#include <zmq.h>

#define BIG 100000

static void *ctx;

static int setup(void **state)
{
    (void)state;
    ctx = zmq_ctx_new();
    return ctx ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return zmq_ctx_term(ctx);
}

static void test_nomid_loaded(void **state)
{
    (void)state;
    const char *(*ver)(void) = (const char *(*)(void))dlsym(RTLD_DEFAULT, "nomid_zmq_version");
    assert_non_null(ver); /* libzmq itself has no such symbol */
    assert_memory_equal(ver(), "nomid ", 6);
    int a, b, c;
    zmq_version(&a, &b, &c);
    assert_int_equal(a * 10000 + b * 100 + c, 40304);
    assert_int_equal(sizeof(zmq_msg_t), 64);
    assert_int_equal(zmq_ctx_get(ctx, ZMQ_MSG_T_SIZE), 64);
}

static void test_ctx_options(void **state)
{
    (void)state;
    void *c = zmq_ctx_new();
    assert_int_equal(zmq_ctx_get(c, ZMQ_IO_THREADS), 1);
    assert_int_equal(zmq_ctx_get(c, ZMQ_MAX_SOCKETS), 1023);
    assert_int_equal(zmq_ctx_set(c, ZMQ_IO_THREADS, 2), 0);
    assert_int_equal(zmq_ctx_get(c, ZMQ_IO_THREADS), 2);
    assert_int_equal(zmq_ctx_set(c, ZMQ_MAX_SOCKETS, 2), 0);
    assert_int_equal(zmq_ctx_get(c, ZMQ_MAX_SOCKETS), 2);
    assert_int_equal(zmq_ctx_set(c, 12345, 1), -1);
    assert_int_equal(errno, EINVAL);
    void *s1 = zmq_socket(c, ZMQ_PAIR), *s2 = zmq_socket(c, ZMQ_PAIR);
    assert_non_null(s1);
    assert_non_null(s2);
    assert_null(zmq_socket(c, ZMQ_PAIR));
    assert_int_equal(errno, EMFILE);
    assert_int_equal(zmq_close(s1), 0);
    assert_int_equal(zmq_close(s2), 0);
    assert_int_equal(zmq_ctx_term(c), 0);
    void *old = zmq_init(1);
    assert_non_null(old);
    assert_int_equal(zmq_term(old), 0);
}

static void test_errors(void **state)
{
    (void)state;
    assert_null(zmq_socket(ctx, 99));
    assert_int_equal(zmq_errno(), EINVAL);
    assert_int_equal(zmq_close(NULL), -1);
    assert_int_equal(errno, ENOTSOCK);
    assert_string_equal(zmq_strerror(ETERM), "Context was terminated");
    assert_string_equal(zmq_strerror(EFSM), "Operation cannot be accomplished in current state");
    void *pub = zmq_socket(ctx, ZMQ_PUB);
    char buf[4];
    assert_int_equal(zmq_recv(pub, buf, sizeof(buf), 0), -1);
    assert_int_equal(errno, ENOTSUP);
    assert_int_equal(zmq_bind(pub, "bogus://x"), -1);
    assert_int_equal(errno, EPROTONOSUPPORT);
    int v = 0;
    assert_int_equal(zmq_setsockopt(pub, 9999, &v, sizeof(v)), -1);
    assert_int_equal(errno, EINVAL);
    void *req = zmq_socket(ctx, ZMQ_REQ);
    assert_int_equal(zmq_recv(req, buf, sizeof(buf), 0), -1);
    assert_int_equal(errno, EFSM);
    void *pull = zmq_socket(ctx, ZMQ_PULL);
    assert_int_equal(zmq_recv(pull, buf, sizeof(buf), ZMQ_DONTWAIT), -1);
    assert_int_equal(errno, EAGAIN);
    assert_int_equal(zmq_bind(pull, "tcp://127.0.0.1:*"), 0);
    char ep[64];
    size_t len = sizeof(ep);
    assert_int_equal(zmq_getsockopt(pull, ZMQ_LAST_ENDPOINT, ep, &len), 0);
    assert_int_equal(zmq_bind(pub, ep), -1);
    assert_int_equal(errno, EADDRINUSE);
    assert_int_equal(zmq_unbind(pull, ep), 0);
    assert_int_equal(zmq_unbind(pull, ep), -1);
    assert_int_equal(errno, ENOENT);
    assert_int_equal(zmq_bind(pull, "inproc://dropin-unbind"), 0);
    assert_int_equal(zmq_unbind(pull, "inproc://dropin-unbind"), 0);
    assert_int_equal(zmq_bind(pub, "inproc://dropin-unbind"), 0); /* the name is free */
    zmq_close(pub);
    zmq_close(req);
    zmq_close(pull);
}

/* Binds a to a fresh endpoint of the transport named by base and connects b to it. */
static void join(void *a, void *b, const char *base)
{
    char ep[256];
    size_t len = sizeof(ep);
    static int n;
    if (strcmp(base, "tcp") == 0)
        snprintf(ep, sizeof(ep), "tcp://127.0.0.1:*");
    else if (strcmp(base, "ipc") == 0)
        snprintf(ep, sizeof(ep), "ipc:///tmp/nomid-dropin-%d-%d", (int)getpid(), n++);
    else
        snprintf(ep, sizeof(ep), "inproc://dropin-%d", n++);
    assert_int_equal(zmq_bind(a, ep), 0);
    assert_int_equal(zmq_getsockopt(a, ZMQ_LAST_ENDPOINT, ep, &len), 0);
    assert_int_equal(zmq_connect(b, ep), 0);
}

static void recv_str(void *s, const char *want, int more)
{
    char buf[256];
    int n = zmq_recv(s, buf, sizeof(buf), 0);
    assert_int_equal(n, (int)strlen(want));
    assert_memory_equal(buf, want, (size_t)n);
    int m = -1;
    size_t len = sizeof(m);
    assert_int_equal(zmq_getsockopt(s, ZMQ_RCVMORE, &m, &len), 0);
    assert_int_equal(m, more);
}

static const char *transports[] = {"tcp", "ipc", "inproc"};

static void test_reqrep(void **state)
{
    (void)state;
    for (int t = 0; t < 3; t++) {
        void *rep = zmq_socket(ctx, ZMQ_REP), *req = zmq_socket(ctx, ZMQ_REQ);
        join(rep, req, transports[t]);
        for (int i = 0; i < 3; i++) {
            assert_int_equal(zmq_send(req, "ping", 4, 0), 4);
            recv_str(rep, "ping", 0);
            assert_int_equal(zmq_send(rep, "pong", 4, 0), 4);
            recv_str(req, "pong", 0);
        }
        assert_int_equal(zmq_send(rep, "x", 1, 0), -1); /* REP has nothing to answer */
        assert_int_equal(errno, EFSM);
        zmq_close(req);
        zmq_close(rep);
    }
}

static void test_pubsub(void **state)
{
    (void)state;
    for (int t = 0; t < 3; t++) {
        void *pub = zmq_socket(ctx, ZMQ_PUB), *sub = zmq_socket(ctx, ZMQ_SUB);
        assert_int_equal(zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "a", 1), 0);
        join(pub, sub, transports[t]);
        /* The slow joiner: publish until the subscription has arrived. */
        zmq_pollitem_t it = {sub, 0, ZMQ_POLLIN, 0};
        for (int i = 0; i < 200 && it.revents == 0; i++) {
            assert_int_equal(zmq_send(pub, "b-skip", 6, 0), 6);
            assert_int_equal(zmq_send(pub, "a-hello", 7, ZMQ_SNDMORE), 7);
            assert_int_equal(zmq_send(pub, "part2", 5, 0), 5);
            assert_true(zmq_poll(&it, 1, 10) >= 0);
        }
        assert_int_equal(it.revents, ZMQ_POLLIN);
        recv_str(sub, "a-hello", 1);
        recv_str(sub, "part2", 0);
        zmq_close(sub);
        zmq_close(pub);
    }
}

static void test_pushpull(void **state)
{
    (void)state;
    for (int t = 0; t < 3; t++) {
        void *pull = zmq_socket(ctx, ZMQ_PULL), *push = zmq_socket(ctx, ZMQ_PUSH);
        join(pull, push, transports[t]);
        for (int i = 0; i < 100; i++)
            assert_int_equal(zmq_send(push, "m", 1, 0), 1);
        for (int i = 0; i < 100; i++)
            recv_str(pull, "m", 0);
        zmq_close(push);
        zmq_close(pull);
    }
}

/* libzmq decides at the first frame whether a non-blocking message goes out; pyzmq's
 * async send_multipart sends the whole message again after EAGAIN, so a later frame must
 * not find the first one still pending. */
static void test_dontwait_fails_at_first_frame(void **state)
{
    (void)state;
    void *push = zmq_socket(ctx, ZMQ_PUSH), *pull = zmq_socket(ctx, ZMQ_PULL);
    assert_int_equal(zmq_bind(push, "tcp://127.0.0.1:*"), 0);
    assert_int_equal(zmq_send(push, "hi", 2, ZMQ_SNDMORE | ZMQ_DONTWAIT), -1);
    assert_int_equal(errno, EAGAIN);
    char ep[256];
    size_t len = sizeof(ep);
    assert_int_equal(zmq_getsockopt(push, ZMQ_LAST_ENDPOINT, ep, &len), 0);
    assert_int_equal(zmq_connect(pull, ep), 0);
    int rc;
    while ((rc = zmq_send(push, "hi", 2, ZMQ_SNDMORE | ZMQ_DONTWAIT)) < 0) {
        assert_int_equal(errno, EAGAIN);
        usleep(1000);
    }
    assert_int_equal(zmq_send(push, "there", 5, ZMQ_DONTWAIT), 5);
    recv_str(pull, "hi", 1);
    recv_str(pull, "there", 0);
    zmq_close(pull);
    zmq_close(push);
}

static int freed;
static void free_cb(void *data, void *hint)
{
    assert_ptr_equal(hint, &freed);
    free(data);
    freed++;
}

static void test_router_dealer_multipart(void **state)
{
    (void)state;
    for (int t = 0; t < 3; t++) {
        void *router = zmq_socket(ctx, ZMQ_ROUTER), *dealer = zmq_socket(ctx, ZMQ_DEALER);
        assert_int_equal(zmq_setsockopt(dealer, ZMQ_ROUTING_ID, "D1", 2), 0);
        join(router, dealer, transports[t]);
        zmq_msg_t big;
        freed = 0;
        char *data = malloc(BIG);
        memset(data, 'z', BIG);
        assert_int_equal(zmq_msg_init_data(&big, data, BIG, free_cb, &freed), 0);
        assert_int_equal(zmq_send(dealer, "a", 1, ZMQ_SNDMORE), 1);
        assert_int_equal(zmq_msg_send(&big, dealer, ZMQ_SNDMORE), BIG);
        assert_int_equal(zmq_send_const(dealer, "c", 1, 0), 1);
        recv_str(router, "D1", 1);
        recv_str(router, "a", 1);
        zmq_msg_t m;
        zmq_msg_init(&m);
        assert_int_equal(zmq_msg_recv(&m, router, 0), BIG);
        assert_int_equal(zmq_msg_more(&m), 1);
        assert_int_equal(zmq_msg_get(&m, ZMQ_MORE), 1);
        assert_int_equal(((char *)zmq_msg_data(&m))[BIG - 1], 'z');
        /* Back the way it came: the big frame goes out again without a copy. */
        assert_int_equal(zmq_send(router, "D1", 2, ZMQ_SNDMORE), 2);
        assert_int_equal(zmq_msg_send(&m, router, 0), BIG);
        recv_str(router, "c", 0);
        zmq_msg_t r;
        zmq_msg_init(&r);
        assert_int_equal(zmq_msg_recv(&r, dealer, 0), BIG);
        assert_int_equal(zmq_msg_more(&r), 0);
        zmq_msg_close(&r);
        zmq_msg_close(&m);
        zmq_close(dealer);
        zmq_close(router);
        zmq_msg_close(&big);
        if (t == 2)
            assert_int_equal(freed, 1); /* inproc: no queue left holding it */
    }
    int mand = 1;
    void *router = zmq_socket(ctx, ZMQ_ROUTER);
    assert_int_equal(zmq_setsockopt(router, ZMQ_ROUTER_MANDATORY, &mand, sizeof(mand)), 0);
    /* As libzmq: the first frame is refused, and nothing of it stays behind. */
    assert_int_equal(zmq_send(router, "nobody", 6, ZMQ_SNDMORE), -1);
    assert_int_equal(errno, EHOSTUNREACH);
    assert_int_equal(zmq_send(router, "nobody", 6, ZMQ_SNDMORE | ZMQ_DONTWAIT), -1);
    assert_int_equal(errno, EHOSTUNREACH);
    zmq_close(router);
}

/* libzmq admits a multipart message on its first frame: a PUSH without peers refuses
 * it there (EAGAIN), leaving nothing behind for the next message; zmq_sendiov ends its
 * message even when given ZMQ_SNDMORE, and zmq_recviov answers the frame count; an int
 * option read into a larger buffer zeroes the rest. */
static void test_multipart_admission(void **state)
{
    (void)state;
    void *push = zmq_socket(ctx, ZMQ_PUSH), *pull = zmq_socket(ctx, ZMQ_PULL);
    assert_int_equal(zmq_bind(push, "inproc://admission"), 0);
    assert_int_equal(zmq_send(push, "stale", 5, ZMQ_SNDMORE | ZMQ_DONTWAIT), -1);
    assert_int_equal(errno, EAGAIN);
    assert_int_equal(zmq_connect(pull, "inproc://admission"), 0);
    assert_int_equal(zmq_send(push, "a", 1, ZMQ_SNDMORE), 1);
    assert_int_equal(zmq_send(push, "b", 1, 0), 1);
    recv_str(pull, "a", 1);
    recv_str(pull, "b", 0);

    struct iovec out[3] = {{"x", 1}, {"yy", 2}, {"zzz", 3}}, in[4];
    assert_int_equal(zmq_sendiov(push, out, 3, ZMQ_SNDMORE), 3);
    size_t n = 4;
    assert_int_equal(zmq_recviov(pull, in, &n, 0), 3);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(in[i].iov_len, out[i].iov_len);
        assert_memory_equal(in[i].iov_base, out[i].iov_base, out[i].iov_len);
        free(in[i].iov_base);
    }
    int64_t more;
    memset(&more, 0xFF, sizeof(more));
    size_t len = sizeof(more);
    assert_int_equal(zmq_getsockopt(pull, ZMQ_RCVMORE, &more, &len), 0);
    assert_int_equal(len, sizeof(int));
    assert_int_equal(more, 0);
    zmq_close(push);
    zmq_close(pull);
}

static void test_msg_api(void **state)
{
    (void)state;
    zmq_msg_t a, b, c;
    assert_int_equal(zmq_msg_init_size(&a, 5), 0);
    memcpy(zmq_msg_data(&a), "hello", 5);
    assert_int_equal(zmq_msg_init(&b), 0);
    assert_int_equal(zmq_msg_copy(&b, &a), 0);
    assert_int_equal(zmq_msg_size(&b), 5);
    assert_memory_equal(zmq_msg_data(&b), "hello", 5);
    assert_int_equal(zmq_msg_init(&c), 0);
    assert_int_equal(zmq_msg_move(&c, &a), 0);
    assert_int_equal(zmq_msg_size(&a), 0);
    assert_int_equal(zmq_msg_size(&c), 5);
    assert_int_equal(zmq_msg_init_size(&a, BIG), 0);
    assert_int_equal(zmq_msg_size(&a), BIG);
    assert_int_equal(zmq_msg_copy(&b, &a), 0);
    assert_ptr_equal(zmq_msg_data(&a), zmq_msg_data(&b)); /* shared, as libzmq */
    assert_null(zmq_msg_gets(&a, "Socket-Type"));         /* not yet: no metadata in the core */
    assert_int_equal(zmq_msg_set(&a, ZMQ_MORE, 1), -1);
    assert_int_equal(zmq_msg_close(&a), 0);
    assert_int_equal(zmq_msg_close(&b), 0);
    assert_int_equal(zmq_msg_close(&c), 0);
    assert_int_equal(zmq_msg_close(&c), -1);
    assert_int_equal(errno, EFAULT);
}

static void test_poll_and_options(void **state)
{
    (void)state;
    void *pull = zmq_socket(ctx, ZMQ_PULL), *push = zmq_socket(ctx, ZMQ_PUSH);
    int v;
    size_t len = sizeof(v);
    assert_int_equal(zmq_getsockopt(pull, ZMQ_LINGER, &v, &len), 0);
    assert_int_equal(v, -1); /* libzmq's default, not nomid's */
    assert_int_equal(zmq_getsockopt(pull, ZMQ_TYPE, &v, &len), 0);
    assert_int_equal(v, ZMQ_PULL);
    v = 5;
    assert_int_equal(zmq_setsockopt(push, ZMQ_SNDHWM, &v, sizeof(v)), 0);
    assert_int_equal(zmq_getsockopt(push, ZMQ_SNDHWM, &v, &len), 0);
    assert_int_equal(v, 5);
    v = 65536;
    assert_int_equal(zmq_setsockopt(push, ZMQ_SNDBUF, &v, sizeof(v)), 0); /* kept */
    assert_int_equal(zmq_getsockopt(push, ZMQ_SNDBUF, &v, &len), 0);
    assert_int_equal(v, 65536);
    v = 1; /* the core's now, for what a socket receives: not on a PUSH */
    assert_int_equal(zmq_setsockopt(push, ZMQ_CONFLATE, &v, sizeof(v)), -1);
    assert_int_equal(zmq_setsockopt(pull, ZMQ_CONFLATE, &v, sizeof(v)), 0);
    assert_int_equal(zmq_getsockopt(pull, ZMQ_CONFLATE, &v, &len), 0);
    assert_int_equal(v, 1);
    v = 0;
    assert_int_equal(zmq_setsockopt(pull, ZMQ_CONFLATE, &v, sizeof(v)), 0);
    join(pull, push, "tcp");
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    zmq_pollitem_t items[2] = {{pull, 0, ZMQ_POLLIN, 0}, {NULL, fds[0], ZMQ_POLLIN, 0}};
    assert_int_equal(zmq_poll(items, 2, 20), 0);
    assert_int_equal(write(fds[1], "x", 1), 1);
    assert_int_equal(zmq_poll(items, 2, 1000), 1);
    assert_int_equal(items[1].revents, ZMQ_POLLIN);
    assert_int_equal(zmq_send(push, "1", 1, ZMQ_SNDMORE), 1);
    assert_int_equal(zmq_send(push, "2", 1, 0), 1);
    assert_int_equal(zmq_poll(items, 1, 1000), 1);
    assert_int_equal(zmq_getsockopt(pull, ZMQ_EVENTS, &v, &len), 0);
    assert_true(v & ZMQ_POLLIN);
    recv_str(pull, "1", 1);
    /* The rest of the message is held by the drop-in: still readable. */
    assert_int_equal(zmq_poll(items, 1, 0), 1);
    assert_int_equal(zmq_getsockopt(pull, ZMQ_EVENTS, &v, &len), 0);
    assert_true(v & ZMQ_POLLIN);
    recv_str(pull, "2", 0);
    close(fds[0]);
    close(fds[1]);
    zmq_close(push);
    zmq_close(pull);
}

static void test_monitor(void **state)
{
    (void)state;
    void *s = zmq_socket(ctx, ZMQ_REP), *mon = zmq_socket(ctx, ZMQ_PAIR);
    assert_int_equal(zmq_socket_monitor(s, "inproc://dropin-mon", ZMQ_EVENT_LISTENING), 0);
    assert_int_equal(zmq_connect(mon, "inproc://dropin-mon"), 0);
    assert_int_equal(zmq_bind(s, "tcp://127.0.0.1:*"), 0);
    zmq_msg_t m;
    zmq_msg_init(&m);
    assert_int_equal(zmq_msg_recv(&m, mon, 0), 6);
    uint16_t ev;
    memcpy(&ev, zmq_msg_data(&m), 2);
    assert_int_equal(ev, ZMQ_EVENT_LISTENING);
    assert_int_equal(zmq_msg_more(&m), 1);
    assert_true(zmq_msg_recv(&m, mon, 0) > 6); /* the endpoint */
    assert_int_equal(zmq_msg_more(&m), 0);     /* two frames, as libzmq 4.3 */
    zmq_msg_close(&m);
    zmq_close(mon);
    zmq_close(s);
}

static void *blocked_recv(void *arg)
{
    char buf[4];
    int rc = zmq_recv(arg, buf, sizeof(buf), 0);
    intptr_t e = rc < 0 ? errno : 0;
    zmq_close(arg);
    return (void *)e;
}

static void test_shutdown_wakes(void **state)
{
    (void)state;
    void *c = zmq_ctx_new();
    void *pull = zmq_socket(c, ZMQ_PULL);
    pthread_t th;
    pthread_create(&th, NULL, blocked_recv, pull);
    usleep(50000);
    assert_int_equal(zmq_ctx_term(c), 0); /* wakes the recv, waits for the close */
    void *e;
    pthread_join(th, &e);
    assert_int_equal((intptr_t)e, ETERM);
}

static int ticks;
static void tick(int id, void *arg)
{
    (void)id;
    (void)arg;
    ticks++;
}

static void test_helpers(void **state)
{
    (void)state;
    uint8_t raw[8] = {0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B}, back[8];
    char text[11];
    assert_non_null(zmq_z85_encode(text, raw, 8));
    assert_string_equal(text, "HelloWorld");
    assert_non_null(zmq_z85_decode(back, text));
    assert_memory_equal(back, raw, 8);
    assert_null(zmq_z85_encode(text, raw, 7));
    assert_int_equal(zmq_has("ipc"), 1);
    assert_int_equal(zmq_has("curve"), 1);
    char pk[41], sk[41], pk2[41];
    assert_int_equal(zmq_curve_keypair(pk, sk), 0);
    assert_int_equal(strlen(pk), 40);
    assert_int_equal(zmq_curve_public(pk2, sk), 0);
    assert_string_equal(pk2, pk);
    assert_int_equal(zmq_curve_public(pk2, "short"), -1);
    assert_int_equal(errno, EINVAL);
    void *cnt = zmq_atomic_counter_new();
    assert_int_equal(zmq_atomic_counter_inc(cnt), 0);
    assert_int_equal(zmq_atomic_counter_inc(cnt), 1);
    assert_int_equal(zmq_atomic_counter_dec(cnt), 1);
    assert_int_equal(zmq_atomic_counter_dec(cnt), 0);
    zmq_atomic_counter_destroy(&cnt);
    assert_null(cnt);
    void *timers = zmq_timers_new();
    int id = zmq_timers_add(timers, 10, tick, NULL);
    assert_true(id > 0);
    assert_true(zmq_timers_timeout(timers) <= 10);
    usleep(20000);
    assert_int_equal(zmq_timers_execute(timers), 0);
    assert_int_equal(ticks, 1);
    assert_int_equal(zmq_timers_cancel(timers, id), 0);
    assert_int_equal(zmq_timers_cancel(timers, id), -1);
    assert_int_equal(zmq_timers_timeout(timers), -1);
    assert_int_equal(zmq_timers_destroy(&timers), 0);
    void *w = zmq_stopwatch_start();
    usleep(1000);
    assert_true(zmq_stopwatch_stop(w) >= 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nomid_loaded),
        cmocka_unit_test(test_ctx_options),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_reqrep),
        cmocka_unit_test(test_pubsub),
        cmocka_unit_test(test_pushpull),
        cmocka_unit_test(test_dontwait_fails_at_first_frame),
        cmocka_unit_test(test_router_dealer_multipart),
        cmocka_unit_test(test_multipart_admission),
        cmocka_unit_test(test_msg_api),
        cmocka_unit_test(test_poll_and_options),
        cmocka_unit_test(test_monitor),
        cmocka_unit_test(test_shutdown_wakes),
        cmocka_unit_test(test_helpers),
    };
    return cmocka_run_group_tests_name("compat_dropin", tests, setup, teardown);
}
