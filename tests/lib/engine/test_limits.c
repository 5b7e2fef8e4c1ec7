/*
 * test_limits.c - what one peer may cost (lib/engine/conn_read.c, conn.c): memory that
 * follows the bytes a peer sends rather than the sizes it claims, and the limits on
 * multipart messages, subscriptions and handshakes, each hit by a raw TCP peer speaking
 * ZMTP by hand.  Past a limit only that connection goes, with a reason on the monitor
 * and a count in the socket's statistics; the socket goes on serving others.  And,
 * with the same raw peer, that closing with LINGER keeps what the kernel had not taken.
 */
#include "../core/testutil.h"

#define LIM_WAIT 5000 /* ms */

/* ---- a raw ZMTP peer ------------------------------------------------------------- */

static size_t lim_header(uint8_t *out, uint8_t flags, uint64_t size)
{
    if (size > 255) {
        out[0] = flags | 0x02;
        for (int i = 0; i < 8; i++)
            out[1 + i] = (uint8_t)(size >> (56 - 8 * i));
        return 9;
    }
    out[0] = flags;
    out[1] = (uint8_t)size;
    return 2;
}

static void lim_frame(int fd, uint8_t flags, const void *body, size_t len)
{
    uint8_t h[9];
    tu_raw_send(fd, h, lim_header(h, flags, len));
    if (len > 0)
        tu_raw_send(fd, body, len);
}

/* A command frame: name and data. */
static void lim_command(int fd, const char *name, const void *data, size_t len)
{
    uint8_t body[512];
    size_t nlen = strlen(name);
    assert_true(1 + nlen + len <= sizeof(body));
    body[0] = (uint8_t)nlen;
    memcpy(body + 1, name, nlen);
    memcpy(body + 1 + nlen, data, len);
    lim_frame(fd, 0x04, body, 1 + nlen + len);
}

/* Completes a NULL handshake on fd as a `type` peer of ZMTP 3.minor. */
static void lim_handshake(int fd, const char *type, int minor)
{
    uint8_t g[64] = {0xff, [9] = 0x7f, [10] = 3, [11] = (uint8_t)minor, [12] = 'N', 'U', 'L', 'L'};
    tu_raw_send(fd, g, sizeof(g));
    uint8_t prop[64];
    size_t tlen = strlen(type);
    memcpy(prop, "\x0bSocket-Type\0\0\0", 15);
    prop[15] = (uint8_t)tlen;
    memcpy(prop + 16, type, tlen);
    lim_command(fd, "READY", prop, 16 + tlen);
    uint8_t peer[64 + 2];
    assert_int_equal(tu_raw_recv(fd, peer, sizeof(peer), LIM_WAIT), (int)sizeof(peer));
    uint8_t ready[256];
    assert_int_equal(peer[64], 0x04); /* READY: a short command */
    assert_int_equal(tu_raw_recv(fd, ready, peer[65], LIM_WAIT), peer[65]);
}

/* Connects to port and completes a NULL handshake as a `type` peer of ZMTP 3.minor. */
static int lim_peer(int port, const char *type, int minor)
{
    int fd = tu_raw_connect(port);
    lim_handshake(fd, type, minor);
    return fd;
}

/* True if the peer closes the connection within ms (what it sent before is skipped). */
static bool lim_closed(int fd, int ms)
{
    uint8_t buf[4096];
    int64_t deadline = tu_now_ms() + ms;
    while (tu_now_ms() < deadline) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, 50) <= 0)
            continue;
        ssize_t r = recv(fd, buf, sizeof(buf), 0);
        if (r == 0 || (r < 0 && errno == ECONNRESET))
            return true;
    }
    return false;
}

static uint64_t lim_dropped(nm_ctx_t *ctx, int type)
{
    return tu_totals_of(ctx, type).peers_dropped;
}

/* Waits until the socket of `type` has dropped n peers, then checks the monitor said why. */
static void lim_expect_drop(nm_ctx_t *ctx, int type, uint64_t n, nm_sock_t *mon, const char *why)
{
    int64_t deadline = tu_now_ms() + LIM_WAIT;
    while (lim_dropped(ctx, type) < n && tu_now_ms() < deadline)
        tu_sleep_ms(5);
    assert_int_equal(lim_dropped(ctx, type), n);
    tu_mon_event ev;
    tu_mon_expect(mon, NM_EVENT_DISCONNECTED, &ev);
    if (strstr(ev.detail, why) == NULL)
        fail_msg("disconnect reason \"%s\" does not name %s", ev.detail, why);
}

typedef struct lim_fixture {
    nm_ctx_t *ctx;
    nm_sock_t *s;   /* the socket under test, bound on tcp */
    nm_sock_t *mon; /* its monitor */
    int port;
} lim_fixture;

static void lim_open(lim_fixture *f, int type, int opt, int val)
{
    f->ctx = tu_ctx();
    f->s = tu_sock(f->ctx, type);
    if (opt != 0)
        TU_OK(nm_sock_setopt_int(f->s, opt, val));
    f->mon = tu_mon_open(f->ctx, f->s, "lim-mon", NM_EVENT_ALL);
    char ep[TU_EP_MAX];
    tu_bind_tcp(f->s, ep, sizeof(ep));
    f->port = tu_tcp_port(ep);
}

static void lim_close(lim_fixture *f)
{
    nm_sock_close(&f->mon);
    nm_sock_close(&f->s);
    tu_ctx_destroy(&f->ctx);
}

/* ---- tests ----------------------------------------------------------------------- */

static void test_limit_options(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *pub = tu_sock(ctx, NM_PUB), *pull = tu_sock(ctx, NM_PULL);
    const struct {
        int opt, want;
    } defaults[] = {
        {NM_HANDSHAKE_IVL, 30000},       {NM_HANDSHAKE_MAX, 256},
        {NM_MULTIPART_MAXFRAMES, 16384}, {NM_MULTIPART_MAXBYTES, 32 << 20},
        {NM_SUBSCRIPTIONS_MAX, 65536},   {NM_SUBSCRIPTIONS_MAXBYTES, 4 << 20},
    };
    for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
        int v;
        TU_OK(nm_sock_getopt_int(pub, defaults[i].opt, &v));
        assert_int_equal(v, defaults[i].want);
    }
    TU_OK(nm_sock_setopt_int(pull, NM_MULTIPART_MAXBYTES, -1)); /* no limit */
    TU_RC(nm_sock_setopt_int(pull, NM_MULTIPART_MAXBYTES, -2), -EINVAL);
    TU_RC(nm_sock_setopt_int(pull, NM_HANDSHAKE_MAX, -1), -EINVAL);
    TU_RC(nm_sock_setopt_int(pull, NM_XPUB_VERBOSE, 1), -EINVAL); /* XPUB only */
    nm_sock_close(&pub);
    nm_sock_close(&pull);
    tu_ctx_destroy(&ctx);
}

/* Frames larger than what is allocated when their header comes arrive whole, through
 * the I/O thread (a raw peer trickling them) and through direct reads (nomid to nomid);
 * the third raw frame and the later direct ones land in buffers the earlier frames left
 * in the message pool (the whole size at once: conn_body_alloc). */
static void test_large_frames_grow(void **state)
{
    (void)state;
    lim_fixture f;
    lim_open(&f, NM_PULL, 0, 0);
    const size_t sizes[] = {300 * 1024, 3 * 1024 * 1024 + 7, 3 * 1024 * 1024 + 5};
    uint8_t *big = malloc(sizes[1]);
    for (size_t i = 0; i < sizes[1]; i++)
        big[i] = (uint8_t)(i * 31 + i / 251);
    int fd = lim_peer(f.port, "PUSH", 1);
    for (size_t k = 0; k < 3; k++) {
        uint8_t h[9];
        tu_raw_send(fd, h, lim_header(h, 0, sizes[k]));
        for (size_t off = 0; off < sizes[k]; off += 100000) {
            tu_raw_send(fd, big + off, sizes[k] - off < 100000 ? sizes[k] - off : 100000);
            tu_sleep_ms(1);
        }
        nm_msg_t m;
        tu_recv(f.s, &m);
        tu_assert_frame_mem(&m, 0, big, sizes[k]);
        nm_msg_close(&m);
    }
    close(fd);

    nm_sock_t *push = tu_sock(f.ctx, NM_PUSH);
    char ep[TU_EP_MAX];
    snprintf(ep, sizeof(ep), "tcp://127.0.0.1:%d", f.port);
    TU_OK(nm_sock_connect(push, ep));
    for (int i = 0; i < 6; i++) {
        size_t n = sizes[i % 2] - (size_t)i;
        nm_msg_t m;
        nm_msg_init(&m);
        TU_OK(nm_msg_add(&m, big, n));
        TU_OK(nm_sock_send(push, &m, 0));
        tu_recv(f.s, &m);
        tu_assert_frame_mem(&m, 0, big, n);
        nm_msg_close(&m);
    }
    nm_sock_close(&push);
    free(big);
    lim_close(&f);
}

/* A header claiming 2^40 bytes is a frame like another: it costs what comes, and the
 * peer is not dropped for the claim (no MAXMSGSIZE set). */
static void test_claimed_size_is_not_allocated(void **state)
{
    (void)state;
    lim_fixture f;
    lim_open(&f, NM_PULL, 0, 0);
    int fd = lim_peer(f.port, "PUSH", 1);
    uint8_t h[9], data[1000] = {0};
    tu_raw_send(fd, h, lim_header(h, 0, (uint64_t)1 << 40));
    tu_raw_send(fd, data, sizeof(data));
    assert_false(lim_closed(fd, 300));
    assert_int_equal(lim_dropped(f.ctx, NM_PULL), 0);
    close(fd);
    /* A claim over MAXMSGSIZE is refused at once. */
    TU_OK(nm_sock_setopt_int(f.s, NM_MAXMSGSIZE, 1 << 20));
    char ep[TU_EP_MAX];
    tu_bind_tcp(f.s, ep, sizeof(ep));
    fd = lim_peer(tu_tcp_port(ep), "PUSH", 1);
    tu_raw_send(fd, h, lim_header(h, 0, (uint64_t)1 << 40));
    assert_true(lim_closed(fd, LIM_WAIT));
    close(fd);
    lim_close(&f);
}

static void test_multipart_frames_limit(void **state)
{
    (void)state;
    lim_fixture f;
    lim_open(&f, NM_PULL, NM_MULTIPART_MAXFRAMES, 10);
    int fd = lim_peer(f.port, "PUSH", 1);
    for (int i = 0; i < 10; i++)
        lim_frame(fd, i < 9 ? 0x01 : 0, "x", 1);
    nm_msg_t m;
    tu_recv(f.s, &m);
    assert_int_equal(nm_msg_count(&m), 10);
    nm_msg_close(&m);
    for (int i = 0; i < 11; i++)
        lim_frame(fd, i < 10 ? 0x01 : 0, "", 0);
    assert_true(lim_closed(fd, LIM_WAIT));
    lim_expect_drop(f.ctx, NM_PULL, 1, f.mon, "NM_MULTIPART_MAXFRAMES");
    close(fd);
    lim_close(&f);
}

/* The frames before the last count; the last is MAXMSGSIZE's business. */
static void test_multipart_bytes_limit(void **state)
{
    (void)state;
    lim_fixture f;
    lim_open(&f, NM_PULL, NM_MULTIPART_MAXBYTES, 1000);
    static uint8_t data[5000];
    int fd = lim_peer(f.port, "PUSH", 1);
    lim_frame(fd, 0x01, data, 600);
    lim_frame(fd, 0x01, data, 400);
    lim_frame(fd, 0, data, 5000);
    nm_msg_t m;
    tu_recv(f.s, &m);
    assert_int_equal(nm_msg_bytes(&m), 6000);
    nm_msg_close(&m);
    lim_frame(fd, 0x01, data, 600);
    lim_frame(fd, 0x01, data, 401);
    assert_true(lim_closed(fd, LIM_WAIT));
    lim_expect_drop(f.ctx, NM_PULL, 1, f.mon, "NM_MULTIPART_MAXBYTES");
    close(fd);
    lim_close(&f);
}

/* Publishes `topic` until the raw subscriber gets it (the PUB applies what its
 * subscriber sent when it sends). */
static void lim_pub_reaches(nm_sock_t *pub, int fd, const char *topic)
{
    size_t len = strlen(topic);
    uint8_t got[2 + 64];
    for (int i = 0; i < LIM_WAIT / 20; i++) {
        tu_send_str(pub, topic);
        if (tu_raw_recv(fd, got, 2 + len, 20) == (int)(2 + len)) {
            assert_memory_equal(got + 2, topic, len);
            return;
        }
    }
    fail_msg("the subscriber never got %s", topic);
}

static void lim_subscribe(int fd, int minor, bool on, const char *prefix)
{
    if (minor >= 1) {
        lim_command(fd, on ? "SUBSCRIBE" : "CANCEL", prefix, strlen(prefix));
        return;
    }
    uint8_t d[64];
    d[0] = on;
    memcpy(d + 1, prefix, strlen(prefix));
    lim_frame(fd, 0, d, 1 + strlen(prefix));
}

/* Held subscriptions count, cancelled ones are given back; one past the limit drops
 * the subscriber; in both ZMTP 3.1 (commands) and 3.0 (messages) forms. */
static void test_subscription_count_limit(void **state)
{
    (void)state;
    for (int minor = 1; minor >= 0; minor--) {
        lim_fixture f;
        lim_open(&f, NM_PUB, NM_SUBSCRIPTIONS_MAX, 3);
        int fd = lim_peer(f.port, "SUB", minor);
        lim_subscribe(fd, minor, true, "a");
        lim_subscribe(fd, minor, true, "b");
        lim_subscribe(fd, minor, true, "c");
        lim_pub_reaches(f.s, fd, "c");
        lim_subscribe(fd, minor, false, "a");
        lim_subscribe(fd, minor, false, "zz"); /* cancels nothing: given back too */
        tu_sleep_ms(50);
        lim_pub_reaches(f.s, fd, "b"); /* the cancels are applied */
        lim_subscribe(fd, minor, true, "d");
        lim_pub_reaches(f.s, fd, "d");
        assert_int_equal(tu_totals_of(f.ctx, NM_PUB).subscriptions, 3);
        lim_subscribe(fd, minor, true, "e");
        assert_true(lim_closed(fd, LIM_WAIT));
        lim_expect_drop(f.ctx, NM_PUB, 1, f.mon, "NM_SUBSCRIPTIONS_MAX");
        close(fd);
        lim_close(&f);
    }
}

static void test_subscription_bytes_limit(void **state)
{
    (void)state;
    lim_fixture f;
    lim_open(&f, NM_XPUB, NM_SUBSCRIPTIONS_MAXBYTES, 10);
    int fd = lim_peer(f.port, "SUB", 1);
    lim_subscribe(fd, 1, true, "12345");
    lim_subscribe(fd, 1, true, "67890");
    lim_pub_reaches(f.s, fd, "67890");
    lim_subscribe(fd, 1, true, "x");
    assert_true(lim_closed(fd, LIM_WAIT));
    lim_expect_drop(f.ctx, NM_XPUB, 1, f.mon, "NM_SUBSCRIPTIONS_MAXBYTES");
    close(fd);
    lim_close(&f);
}

/* An XPUB whose application does not read keeps at most RCVHWM subscriptions for it;
 * the rest wait in the subscriber's pipe and all arrive, in order, once it reads. */
static void test_xpub_queue_bounded(void **state)
{
    (void)state;
    lim_fixture f;
    lim_open(&f, NM_XPUB, NM_RCVHWM, 10);
    int fd = lim_peer(f.port, "SUB", 1);
    char prefix[16];
    for (int i = 0; i < 100; i++) {
        snprintf(prefix, sizeof(prefix), "t%03d", i);
        lim_subscribe(fd, 1, true, prefix);
    }
    tu_wait_queued_in(f.ctx, NM_XPUB, 100);
    int events;
    TU_OK(nm_sock_getopt_int(f.s, NM_EVENTS, &events)); /* runs the socket's commands */
    assert_true(events & NM_POLLIN);
    assert_int_equal(tu_totals_of(f.ctx, NM_XPUB).queued_in, 90); /* 10 taken for the app */
    for (int i = 0; i < 100; i++) {
        nm_msg_t m;
        tu_recv(f.s, &m);
        snprintf(prefix, sizeof(prefix), "\x01t%03d", i);
        tu_assert_frame(&m, 0, prefix);
        nm_msg_close(&m);
    }
    close(fd);
    lim_close(&f);
}

/* A STREAM peer that sends while the application does not read fills at most RCVHWM
 * messages; the rest waits in the kernel, and every byte arrives once it reads. */
static void test_stream_queue_bounded(void **state)
{
    (void)state;
    lim_fixture f;
    lim_open(&f, NM_STREAM, NM_RCVHWM, 4);
    int fd = tu_raw_connect(f.port);
    static uint8_t chunk[1000];
    size_t sent = 0;
    for (int i = 0; i < 200; i++) {
        memset(chunk, 'a' + i % 26, sizeof(chunk));
        tu_raw_send(fd, chunk, sizeof(chunk));
        sent += sizeof(chunk);
        tu_sleep_ms(1); /* one read each, one message each */
    }
    tu_sleep_ms(100);
    assert_true(tu_totals_of(f.ctx, NM_STREAM).queued_in <= 5); /* the connect notice + 4 */
    size_t got = 0;
    while (got < sent) {
        nm_msg_t m;
        tu_recv(f.s, &m);
        assert_int_equal(nm_msg_count(&m), 2);
        got += nm_msg_size(&m, 1);
        nm_msg_close(&m);
    }
    assert_int_equal(got, sent);
    close(fd);
    lim_close(&f);
}

/* Half-open connections past HANDSHAKE_MAX: a newcomer is refused while the oldest is
 * young (a storm of good peers), then pushes the oldest out (a slowloris); a good peer
 * gets in. */
static void test_handshake_max(void **state)
{
    (void)state;
    lim_fixture f;
    lim_open(&f, NM_ROUTER, NM_HANDSHAKE_MAX, 2);
    int a = tu_raw_connect(f.port), b = tu_raw_connect(f.port);
    int young = tu_raw_connect(f.port);
    assert_true(lim_closed(young, LIM_WAIT)); /* refused: a and b are young */
    tu_mon_event ev;
    tu_mon_expect(f.mon, NM_EVENT_ACCEPT_FAILED, &ev);
    assert_non_null(strstr(ev.detail, "NM_HANDSHAKE_MAX"));
    assert_false(lim_closed(a, 600)); /* a had its grace (250 ms) meanwhile */
    int c = tu_raw_connect(f.port);
    assert_true(lim_closed(a, LIM_WAIT));
    lim_expect_drop(f.ctx, NM_ROUTER, 2, f.mon, "NM_HANDSHAKE_MAX");
    nm_sock_t *dealer = tu_sock(f.ctx, NM_DEALER);
    char ep[TU_EP_MAX];
    snprintf(ep, sizeof(ep), "tcp://127.0.0.1:%d", f.port);
    TU_OK(nm_sock_connect(dealer, ep));
    tu_send_str(dealer, "hello");
    nm_msg_t m;
    tu_recv(f.s, &m);
    assert_int_equal(nm_msg_count(&m), 2);
    TU_OK(nm_sock_send(f.s, &m, 0)); /* back to the dealer */
    tu_recv_str(dealer, "hello");
    assert_false(lim_closed(c, 100)); /* c is the newest: kept */
    nm_sock_close(&dealer);
    close(a);
    close(b);
    close(c);
    close(young);
    lim_close(&f);
}

static void test_handshake_ivl(void **state)
{
    (void)state;
    lim_fixture f;
    lim_open(&f, NM_ROUTER, NM_HANDSHAKE_IVL, 200);
    int fd = tu_raw_connect(f.port);
    int64_t t0 = tu_now_ms();
    assert_true(lim_closed(fd, LIM_WAIT));
    assert_true(tu_now_ms() - t0 >= 150);
    tu_mon_event ev;
    tu_mon_expect(f.mon, NM_EVENT_HANDSHAKE_FAILED, &ev);
    assert_non_null(strstr(ev.detail, "handshake timed out"));
    close(fd);
    lim_close(&f);
}

/* A command claiming 1 GiB in the handshake, or an Identity over 255 bytes (the
 * overflow of the security report), closes that connection only. */
static void test_handshake_commands_bounded(void **state)
{
    (void)state;
    lim_fixture f;
    lim_open(&f, NM_ROUTER, 0, 0);
    int fd = tu_raw_connect(f.port);
    uint8_t g[64] = {0xff, [9] = 0x7f, [10] = 3, [11] = 1, [12] = 'N', 'U', 'L', 'L'}, h[9];
    tu_raw_send(fd, g, sizeof(g));
    tu_raw_send(fd, h, lim_header(h, 0x04, (uint64_t)1 << 30));
    assert_true(lim_closed(fd, LIM_WAIT));
    lim_expect_drop(f.ctx, NM_ROUTER, 1, f.mon, "command frame too large");
    close(fd);

    fd = tu_raw_connect(f.port);
    tu_raw_send(fd, g, sizeof(g));
    static uint8_t ready[8000];
    size_t n = 0;
    ready[n++] = 5;
    static const char head[] = "READY\x0bSocket-Type\0\0\0\x06"
                               "DEALER\x08Identity\0\0\x0f\xa0";
    memcpy(ready + n, head, sizeof(head) - 1);
    n += sizeof(head) - 1;
    memset(ready + n, 'i', 4000);
    lim_frame(fd, 0x04, ready, n + 4000);
    assert_true(lim_closed(fd, LIM_WAIT));
    lim_expect_drop(f.ctx, NM_ROUTER, 2, f.mon, "identity longer than 255");
    close(fd);
    lim_close(&f);
}

/* Closing with LINGER keeps what the writer encoded and the kernel has not taken yet,
 * not only what is still queued: messages queued before the handshake all go into the
 * writer's first batch, the peer does not read, the queue is empty when the socket
 * closes, and the peer must still get every message. */
static void test_linger_keeps_encoded_output(void **state)
{
    (void)state;
    enum { N = 400, SIZE = 64 };
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    int small = 4096;
    assert_int_equal(setsockopt(lfd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
    struct sockaddr_in sin = {.sin_family = AF_INET};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(sin);
    assert_int_equal(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    assert_int_equal(listen(lfd, 1), 0);
    assert_int_equal(getsockname(lfd, (struct sockaddr *)&sin, &len), 0);
    char ep[64];
    snprintf(ep, sizeof(ep), "tcp://127.0.0.1:%d", ntohs(sin.sin_port));

    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *push = tu_sock(ctx, NM_PUSH);
    TU_OK(nm_sock_setopt_int(push, NM_SNDBUF, 4096));
    TU_OK(nm_sock_setopt_int(push, NM_LINGER, -1));
    TU_OK(nm_sock_connect(push, ep));
    int fd = accept(lfd, NULL, NULL);
    assert_true(fd >= 0);
    char body[SIZE];
    for (int i = 0; i < N; i++) { /* queued: the connection is still in its handshake */
        memset(body, 'a' + i % 26, sizeof(body));
        nm_msg_t m;
        nm_msg_init(&m);
        TU_OK(nm_msg_add(&m, body, sizeof(body)));
        TU_OK(nm_sock_send(push, &m, 0));
    }
    lim_handshake(fd, "PULL", 1);
    tu_sleep_ms(100); /* the writer takes all N in one batch; the kernel takes part */
    nm_sock_close(&push);

    int got = 0;
    for (;;) {
        uint8_t h[9];
        int rc = tu_raw_recv(fd, h, 2, LIM_WAIT);
        if (rc == 0)
            break; /* closed: all of it, or what the close kept */
        assert_int_equal(rc, 2);
        assert_int_equal(h[0], 0); /* one-frame data messages */
        assert_int_equal(h[1], SIZE);
        assert_int_equal(tu_raw_recv(fd, body, SIZE, LIM_WAIT), SIZE);
        assert_int_equal(body[SIZE - 1], 'a' + got % 26);
        got++;
    }
    assert_int_equal(got, N);
    close(fd);
    close(lfd);
    tu_ctx_destroy(&ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limit_options),
        cmocka_unit_test(test_large_frames_grow),
        cmocka_unit_test(test_claimed_size_is_not_allocated),
        cmocka_unit_test(test_multipart_frames_limit),
        cmocka_unit_test(test_multipart_bytes_limit),
        cmocka_unit_test(test_subscription_count_limit),
        cmocka_unit_test(test_subscription_bytes_limit),
        cmocka_unit_test(test_xpub_queue_bounded),
        cmocka_unit_test(test_stream_queue_bounded),
        cmocka_unit_test(test_handshake_max),
        cmocka_unit_test(test_handshake_ivl),
        cmocka_unit_test(test_handshake_commands_bounded),
        cmocka_unit_test(test_linger_keeps_encoded_output),
    };
    return cmocka_run_group_tests_name("limits", tests, NULL, NULL);
}
