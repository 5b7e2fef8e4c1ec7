/*
 * testutil.h - helpers shared by the socket tests in tests/lib/core.
 *
 * Contexts and sockets with safe defaults (RCVTIMEO 5 s so a bug fails instead of
 * hanging, LINGER 0 so destroying a context never waits on a message left queued),
 * ephemeral tcp endpoints and ipc endpoints in a temporary directory, messages made of
 * text frames, waiting on the context's statistics for peers to come up, subscriptions,
 * joining threads with a deadline, and raw tcp peers (for tests that speak bytes to a
 * nomid socket).  Every helper fails the current cmocka test on an unexpected result
 * instead of returning it.
 */
#ifndef NM_TESTUTIL_H
#define NM_TESTUTIL_H

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "nomid.h"

#define TU_RCVTIMEO 5000 /* ms: every receiving socket gives up after this */
#define TU_EP_MAX   256  /* room for an endpoint string */

/* ---- return codes ------------------------------------------------------------------ */

static inline const char *tu_err(int rc)
{
    const char *s = nm_strerror(rc);
    return s != NULL ? s : "(null)";
}

static inline void tu_check_rc(int rc, int want, const char *what, const char *file, int line)
{
    if (rc != want)
        fail_msg("%s:%d: %s returned %d (%s), expected %d (%s)", file, line, what, rc, tu_err(rc),
                 want, tu_err(want));
}

/* TU_OK(expr): expr must return 0.  TU_RC(expr, want): expr must return want. */
#define TU_OK(expr)       tu_check_rc((expr), 0, #expr, __FILE__, __LINE__)
#define TU_RC(expr, want) tu_check_rc((expr), (want), #expr, __FILE__, __LINE__)

/* ---- time -------------------------------------------------------------------------- */

static inline int64_t tu_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void tu_sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* ---- contexts and sockets ---------------------------------------------------------- */

static inline nm_ctx_t *tu_ctx(void)
{
    nm_ctx_t *ctx = NULL;
    TU_OK(nm_ctx_new(&ctx));
    assert_non_null(ctx);
    return ctx;
}

static inline void tu_ctx_destroy(nm_ctx_t **ctxp)
{
    nm_ctx_destroy(ctxp);
    assert_null(*ctxp);
}

/* A socket with RCVTIMEO TU_RCVTIMEO and LINGER 0. */
static inline nm_sock_t *tu_sock(nm_ctx_t *ctx, int type)
{
    nm_sock_t *s = NULL;
    TU_OK(nm_sock_new(&s, ctx, type));
    assert_non_null(s);
    TU_OK(nm_sock_setopt_int(s, NM_RCVTIMEO, TU_RCVTIMEO));
    TU_OK(nm_sock_setopt_int(s, NM_LINGER, 0));
    return s;
}

static inline void tu_set_id(nm_sock_t *s, const char *id)
{
    TU_OK(nm_sock_setopt(s, NM_ROUTING_ID, id, strlen(id)));
}

static inline void tu_last_endpoint(nm_sock_t *s, char *ep, size_t cap)
{
    size_t len = cap;
    memset(ep, 0, cap);
    TU_OK(nm_sock_getopt(s, NM_LAST_ENDPOINT, ep, &len));
    assert_true(len <= cap);
    assert_non_null(memchr(ep, '\0', cap));
}

/* Binds tcp://127.0.0.1:0 and returns the endpoint really bound in ep. */
static inline void tu_bind_tcp(nm_sock_t *s, char *ep, size_t cap)
{
    TU_OK(nm_sock_bind(s, "tcp://127.0.0.1:0"));
    tu_last_endpoint(s, ep, cap);
    const char *prefix = "tcp://127.0.0.1:";
    assert_int_equal(strncmp(ep, prefix, strlen(prefix)), 0);
    int port = atoi(ep + strlen(prefix));
    assert_true(port > 0 && port < 65536);
}

/* Binds ipc://DIR/NAME and returns the endpoint bound in ep. */
static inline void tu_bind_ipc(nm_sock_t *s, const char *dir, const char *name, char *ep,
                               size_t cap)
{
    char want[TU_EP_MAX];
    int n = snprintf(want, sizeof(want), "ipc://%s/%s", dir, name);
    assert_true(n > 0 && (size_t)n < sizeof(want));
    TU_OK(nm_sock_bind(s, want));
    tu_last_endpoint(s, ep, cap);
    assert_string_equal(ep, want);
}

/* A tcp port on 127.0.0.1 that was free a moment ago (bound, then released). */
/* Whether something listens on host:port (a plain TCP connect). */
static inline bool tu_tcp_listening(const char *host, int port)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, host, &sin.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    bool ok = connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
    close(fd);
    return ok;
}

static inline int tu_free_tcp_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = 0};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    socklen_t len = sizeof(sin);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
    close(fd);
    return ntohs(sin.sin_port);
}

/* ---- temporary directory for ipc endpoints ----------------------------------------- */

static inline void tu_tmpdir(char *dir, size_t cap)
{
    assert_true(cap >= 32);
    snprintf(dir, cap, "/tmp/nomid-core-XXXXXX");
    assert_non_null(mkdtemp(dir));
}

/* Removes the files in dir (left by ipc listeners) and dir itself. */
static inline void tu_tmpdir_remove(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *e;
    char path[TU_EP_MAX + 64];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        int n = snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (n > 0 && (size_t)n < sizeof(path))
            unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

/* ---- messages ---------------------------------------------------------------------- */

/* Asserts frame i of m holds exactly the bytes want[0..len). */
static inline void tu_assert_frame_mem(const nm_msg_t *m, size_t i, const void *want, size_t len)
{
    assert_true(i < nm_msg_count(m));
    assert_int_equal(nm_msg_size(m, i), len);
    if (len > 0)
        assert_memory_equal(nm_msg_data(m, i), want, len);
}

static inline void tu_assert_frame(const nm_msg_t *m, size_t i, const char *want)
{
    tu_assert_frame_mem(m, i, want, strlen(want));
}

/* Asserts m is exactly the n text frames given. */
static inline void tu_assert_strs_v(const nm_msg_t *m, int n, va_list ap)
{
    assert_int_equal(nm_msg_count(m), (size_t)n);
    for (int i = 0; i < n; i++)
        tu_assert_frame(m, (size_t)i, va_arg(ap, const char *));
}

static inline void tu_assert_strs(const nm_msg_t *m, int n, ...)
{
    va_list ap;
    va_start(ap, n);
    tu_assert_strs_v(m, n, ap);
    va_end(ap);
}

/* Appends n text frames to m. */
static inline void tu_msg_strs(nm_msg_t *m, int n, ...)
{
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++) {
        const char *f = va_arg(ap, const char *);
        TU_OK(nm_msg_add(m, f, strlen(f)));
    }
    va_end(ap);
}

/*
 * The sending and receiving helpers are macros over *_at functions, so that a failure
 * names the line of the test that called them.
 */

/* Sends the n text frames given as one message; it must succeed and empty the message. */
static inline void tu_send_strs_at(const char *file, int line, nm_sock_t *s, int n, ...)
{
    nm_msg_t m;
    nm_msg_init(&m);
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++) {
        const char *f = va_arg(ap, const char *);
        TU_OK(nm_msg_add(&m, f, strlen(f)));
    }
    va_end(ap);
    tu_check_rc(nm_sock_send(s, &m, 0), 0, "nm_sock_send", file, line);
    assert_int_equal(nm_msg_count(&m), 0);
    nm_msg_close(&m);
}
#define tu_send_strs(s, ...) tu_send_strs_at(__FILE__, __LINE__, (s), __VA_ARGS__)

static inline void tu_send_str_at(const char *file, int line, nm_sock_t *s, const char *str)
{
    tu_check_rc(nm_sock_send_bytes(s, str, strlen(str), 0), 0, "nm_sock_send_bytes", file, line);
}
#define tu_send_str(s, str) tu_send_str_at(__FILE__, __LINE__, (s), (str))

/* Receives one message into m (initialised here); it must arrive. */
static inline void tu_recv_at(const char *file, int line, nm_sock_t *s, nm_msg_t *m)
{
    nm_msg_init(m);
    tu_check_rc(nm_sock_recv(s, m, 0), 0, "nm_sock_recv", file, line);
    assert_true(nm_msg_count(m) > 0);
}
#define tu_recv(s, m) tu_recv_at(__FILE__, __LINE__, (s), (m))

/* Receives one message that must be exactly the n text frames given. */
static inline void tu_recv_strs_at(const char *file, int line, nm_sock_t *s, int n, ...)
{
    nm_msg_t m;
    tu_recv_at(file, line, s, &m);
    va_list ap;
    va_start(ap, n);
    tu_assert_strs_v(&m, n, ap);
    va_end(ap);
    nm_msg_close(&m);
}
#define tu_recv_strs(s, ...) tu_recv_strs_at(__FILE__, __LINE__, (s), __VA_ARGS__)
#define tu_recv_str(s, want) tu_recv_strs_at(__FILE__, __LINE__, (s), 1, (want))

/* Expects no message within ms milliseconds. */
static inline void tu_recv_none_at(const char *file, int line, nm_sock_t *s, int ms)
{
    int old = 0;
    TU_OK(nm_sock_getopt_int(s, NM_RCVTIMEO, &old));
    TU_OK(nm_sock_setopt_int(s, NM_RCVTIMEO, ms));
    nm_msg_t m;
    nm_msg_init(&m);
    int rc = nm_sock_recv(s, &m, 0);
    if (rc == 0)
        fail_msg("%s:%d: unexpected message of %zu frames, %zu bytes", file, line, nm_msg_count(&m),
                 nm_msg_bytes(&m));
    tu_check_rc(rc, -EAGAIN, "nm_sock_recv", file, line);
    assert_int_equal(nm_msg_count(&m), 0);
    TU_OK(nm_sock_setopt_int(s, NM_RCVTIMEO, old));
}
#define tu_recv_none(s, ms) tu_recv_none_at(__FILE__, __LINE__, (s), (ms))

/* Polls socks[0..n) with NM_DONTWAIT until one has a message (into m); returns its index.
 * Fails after timeout_ms. */
static inline int tu_recv_any(nm_sock_t **socks, int n, nm_msg_t *m, int timeout_ms)
{
    int64_t deadline = tu_now_ms() + timeout_ms;
    nm_msg_init(m);
    for (;;) {
        for (int i = 0; i < n; i++) {
            int rc = nm_sock_recv(socks[i], m, NM_DONTWAIT);
            if (rc == 0)
                return i;
            TU_RC(rc, -EAGAIN);
        }
        if (tu_now_ms() > deadline)
            fail_msg("no message on any of %d sockets within %d ms", n, timeout_ms);
        tu_sleep_ms(1);
    }
}

/* ---- statistics -------------------------------------------------------------------- */

/* Sums over every pipe of every socket of one type. */
typedef struct tu_totals {
    int type;           /* the socket type summed */
    int nsocks;         /* sockets of that type */
    int npipes;         /* their pipes */
    int nactive;        /* pipes in NM_PIPE_ACTIVE */
    uint64_t queued_in; /* sums of the pipe counters */
    uint64_t queued_out;
    uint64_t msgs_in, msgs_out;
    uint64_t bytes_in, bytes_out;
    uint64_t drops, hwm_hits;
    uint64_t subscriptions; /* PUB/XPUB pipes' subscriptions */
    uint64_t peers_dropped; /* the sockets' dropped connections */
} tu_totals;

static inline void tu_totals_sock_cb(void *arg, const nm_sock_stats_t *st)
{
    tu_totals *t = arg;
    if (st->type != t->type)
        return;
    t->nsocks++;
    t->peers_dropped += st->peers_dropped;
}

static inline void tu_totals_pipe_cb(void *arg, const nm_sock_stats_t *sock,
                                     const nm_pipe_stats_t *st)
{
    tu_totals *t = arg;
    if (sock->type != t->type)
        return;
    t->npipes++;
    t->nactive += st->state == NM_PIPE_ACTIVE;
    t->queued_in += st->queued_in;
    t->queued_out += st->queued_out;
    t->msgs_in += st->msgs_in;
    t->msgs_out += st->msgs_out;
    t->bytes_in += st->bytes_in;
    t->bytes_out += st->bytes_out;
    t->drops += st->drops;
    t->hwm_hits += st->hwm_hits;
    t->subscriptions += st->subscriptions;
}

static inline tu_totals tu_totals_of(nm_ctx_t *ctx, int type)
{
    tu_totals t = {.type = type};
    TU_OK(nm_ctx_stats(ctx, tu_totals_sock_cb, tu_totals_pipe_cb, &t));
    return t;
}

/* Waits until the sockets of this type have at least n pipes in NM_PIPE_ACTIVE. */
static inline void tu_wait_active(nm_ctx_t *ctx, int type, int n)
{
    int64_t deadline = tu_now_ms() + TU_RCVTIMEO;
    while (tu_totals_of(ctx, type).nactive < n) {
        if (tu_now_ms() > deadline)
            fail_msg("%s: fewer than %d active pipes after %d ms", nm_sock_type_name(type), n,
                     TU_RCVTIMEO);
        tu_sleep_ms(5);
    }
    /* The I/O thread marks a pipe active just before it tells the socket about it: give
     * that command a moment to be posted so the next send or recv sees the pipe. */
    tu_sleep_ms(20);
}

/* Waits until the sockets of this type hold at least n received, unread messages. */
static inline void tu_wait_queued_in(nm_ctx_t *ctx, int type, uint64_t n)
{
    int64_t deadline = tu_now_ms() + TU_RCVTIMEO;
    while (tu_totals_of(ctx, type).queued_in < n) {
        if (tu_now_ms() > deadline)
            fail_msg("%s: fewer than %llu queued messages after %d ms", nm_sock_type_name(type),
                     (unsigned long long)n, TU_RCVTIMEO);
        tu_sleep_ms(5);
    }
}

/* Waits until no socket of this type is left in the context's registry (a closed
 * socket stays there until the I/O thread has closed its listeners and connections). */
static inline void tu_wait_gone(nm_ctx_t *ctx, int type)
{
    int64_t deadline = tu_now_ms() + TU_RCVTIMEO;
    while (tu_totals_of(ctx, type).nsocks > 0) {
        if (tu_now_ms() > deadline)
            fail_msg("%s: closed socket still registered after %d ms", nm_sock_type_name(type),
                     TU_RCVTIMEO);
        tu_sleep_ms(5);
    }
}

/* ---- more receiving ---------------------------------------------------------------- */

/* Receives one message into m (initialised here), waiting at most ms: returns 0, or
 * -EAGAIN when nothing came (m is then empty).  Any other result fails the test. */
static inline int tu_recv_wait_at(const char *file, int line, nm_sock_t *s, nm_msg_t *m, int ms)
{
    int old = 0;
    TU_OK(nm_sock_getopt_int(s, NM_RCVTIMEO, &old));
    TU_OK(nm_sock_setopt_int(s, NM_RCVTIMEO, ms));
    nm_msg_init(m);
    int rc = nm_sock_recv(s, m, 0);
    TU_OK(nm_sock_setopt_int(s, NM_RCVTIMEO, old));
    if (rc == -EAGAIN) {
        assert_int_equal(nm_msg_count(m), 0);
        return rc;
    }
    tu_check_rc(rc, 0, "nm_sock_recv", file, line);
    assert_true(nm_msg_count(m) > 0);
    return 0;
}
#define tu_recv_wait(s, m, ms) tu_recv_wait_at(__FILE__, __LINE__, (s), (m), (ms))

/* True when frame i of m holds exactly the text str. */
static inline bool tu_frame_is(const nm_msg_t *m, size_t i, const char *str)
{
    size_t len = strlen(str);
    return i < nm_msg_count(m) && nm_msg_size(m, i) == len &&
           (len == 0 || memcmp(nm_msg_data(m, i), str, len) == 0);
}

/* ---- subscriptions ----------------------------------------------------------------- */

static inline void tu_subscribe(nm_sock_t *s, const char *prefix)
{
    TU_OK(nm_sock_setopt(s, NM_SUBSCRIBE, prefix, strlen(prefix)));
}

static inline void tu_unsubscribe(nm_sock_t *s, const char *prefix)
{
    TU_OK(nm_sock_setopt(s, NM_UNSUBSCRIBE, prefix, strlen(prefix)));
}

/* ---- threads ----------------------------------------------------------------------- */

/* Joins t, failing the test if it has not returned within ms (the thread is then left
 * running: the test is lost anyway, and this keeps a bug from hanging the suite). */
static inline void tu_join_at(const char *file, int line, pthread_t t, int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    int rc = pthread_timedjoin_np(t, NULL, &ts);
    if (rc != 0)
        fail_msg("%s:%d: thread did not return within %d ms (%s)", file, line, ms, strerror(rc));
}
#define tu_join(t, ms) tu_join_at(__FILE__, __LINE__, (t), (ms))

/* ---- raw tcp peers ----------------------------------------------------------------- */

/* The port of a tcp://127.0.0.1:PORT endpoint. */
static inline int tu_tcp_port(const char *ep)
{
    const char *colon = strrchr(ep, ':');
    assert_non_null(colon);
    int port = atoi(colon + 1);
    assert_true(port > 0 && port < 65536);
    return port;
}

/* A plain blocking tcp socket connected to 127.0.0.1:port. */
static inline int tu_raw_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0)
        fail_msg("raw connect to port %d: %s", port, strerror(errno));
    return fd;
}

/* Writes all n bytes; the peer must not have gone. */
static inline void tu_raw_send(int fd, const void *buf, size_t n)
{
    const uint8_t *p = buf;
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            fail_msg("raw send: %s", w < 0 ? strerror(errno) : "nothing written");
        p += w;
        n -= (size_t)w;
    }
}

/* Reads exactly n bytes within ms: returns n, 0 if the peer closed the connection (EOF
 * or reset) first, -EAGAIN on timeout. */
static inline int tu_raw_recv(int fd, void *buf, size_t n, int ms)
{
    uint8_t *p = buf;
    size_t got = 0;
    int64_t deadline = tu_now_ms() + ms;
    while (got < n) {
        int64_t left = deadline - tu_now_ms();
        if (left < 0)
            return -EAGAIN;
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int rc = poll(&pfd, 1, (int)left);
        if (rc < 0 && errno == EINTR)
            continue;
        assert_true(rc >= 0);
        if (rc == 0)
            return -EAGAIN;
        ssize_t r = recv(fd, p + got, n - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0 || (r < 0 && (errno == ECONNRESET || errno == EPIPE)))
            return 0;
        if (r < 0)
            fail_msg("raw recv: %s", strerror(errno));
        got += (size_t)r;
    }
    return (int)n;
}

/* ---- socket monitor events ---------------------------------------------------------- */

typedef struct tu_mon_event {
    int event;          /* NM_EVENT_... */
    uint32_t value;     /* event-specific value */
    char ep[TU_EP_MAX]; /* endpoint frame, NUL-terminated */
    char detail[256];   /* detail frame, NUL-terminated (truncated) */
    size_t detail_len;  /* its real length */
} tu_mon_event;

/* Starts monitoring s on inproc://NAME for `events` and returns a PAIR reading them. */
static inline nm_sock_t *tu_mon_open(nm_ctx_t *ctx, nm_sock_t *s, const char *name, int events)
{
    char ep[TU_EP_MAX];
    snprintf(ep, sizeof(ep), "inproc://%s", name);
    TU_OK(nm_sock_monitor(s, ep, events));
    nm_sock_t *pair = tu_sock(ctx, NM_PAIR);
    TU_OK(nm_sock_connect(pair, ep));
    return pair;
}

static inline void tu_copy_text(char *dst, size_t cap, const nm_msg_t *m, size_t i)
{
    size_t n = nm_msg_size(m, i);
    if (n >= cap)
        n = cap - 1;
    if (n > 0)
        memcpy(dst, nm_msg_data(m, i), n);
    dst[n] = '\0';
}

/* Reads the next event within ms into *ev, checking its format.  Returns 1, or 0 when
 * none came. */
static inline int tu_mon_next(nm_sock_t *mon, tu_mon_event *ev, int ms)
{
    nm_msg_t m;
    if (tu_recv_wait(mon, &m, ms) != 0)
        return 0;
    assert_int_equal(nm_msg_count(&m), 3);
    assert_int_equal(nm_msg_size(&m, 0), 6);
    const uint8_t *p = nm_msg_data(&m, 0);
    ev->event = p[0] | p[1] << 8;
    ev->value = (uint32_t)p[2] | (uint32_t)p[3] << 8 | (uint32_t)p[4] << 16 | (uint32_t)p[5] << 24;
    /* One known event, one bit. */
    assert_true(ev->event != 0 && (ev->event & (ev->event - 1)) == 0);
    assert_true((ev->event & NM_EVENT_ALL) == ev->event);
    assert_true(nm_msg_size(&m, 1) < TU_EP_MAX);
    tu_copy_text(ev->ep, sizeof(ev->ep), &m, 1);
    ev->detail_len = nm_msg_size(&m, 2);
    tu_copy_text(ev->detail, sizeof(ev->detail), &m, 2);
    nm_msg_close(&m);
    return 1;
}

/* Reads events until `event` comes (others are skipped); fails after ms. */
static inline void tu_mon_expect_at(const char *file, int line, nm_sock_t *mon, int event,
                                    tu_mon_event *ev, int ms)
{
    int64_t deadline = tu_now_ms() + ms;
    tu_mon_event tmp;
    if (ev == NULL)
        ev = &tmp;
    for (;;) {
        int64_t left = deadline - tu_now_ms();
        if (left < 0 || !tu_mon_next(mon, ev, (int)left))
            fail_msg("%s:%d: no event 0x%x within %d ms", file, line, event, ms);
        if (ev->event == event)
            return;
    }
}
#define tu_mon_expect(mon, event, ev)                                                              \
    tu_mon_expect_at(__FILE__, __LINE__, (mon), (event), (ev), TU_RCVTIMEO)

#endif
