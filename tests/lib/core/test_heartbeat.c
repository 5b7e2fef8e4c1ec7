/*
 * test_heartbeat.c - ZMTP PING/PONG heartbeats (HEARTBEAT_IVL, HEARTBEAT_TTL,
 * HEARTBEAT_TIMEOUT).
 *
 * Two nomid sockets heartbeating every 100 ms keep an idle connection up.  Against a
 * raw tcp peer that completes the ZMTP 3.1 handshake by hand: a nomid socket sends
 * PINGs (carrying its HEARTBEAT_TTL in tenths of a second) and drops a peer that never
 * answers once HEARTBEAT_TIMEOUT passes; it answers a PING with a PONG echoing the
 * context; and it drops a peer that asked for a TTL and then fell silent.
 */
#include "testutil.h"

/* ---- a raw ZMTP peer ------------------------------------------------------------------ */

#define ZMTP_MORE    0x01
#define ZMTP_LONG    0x02
#define ZMTP_COMMAND 0x04

typedef struct raw_frame {
    uint8_t flags;      /* MORE / LONG / COMMAND as received */
    size_t size;        /* body size */
    uint8_t body[1024]; /* body (frames larger than this fail the test) */
} raw_frame;

/* Reads one frame within ms: 1, 0 if the connection closed, -EAGAIN on timeout. */
static int raw_read_frame(int fd, raw_frame *f, int ms)
{
    int64_t deadline = tu_now_ms() + ms;
    int rc = tu_raw_recv(fd, &f->flags, 1, ms);
    if (rc <= 0)
        return rc;
    assert_int_equal(f->flags & ~(ZMTP_MORE | ZMTP_LONG | ZMTP_COMMAND), 0);
    int left = (int)(deadline - tu_now_ms());
    if (left < 100)
        left = 100; /* the rest of a frame whose first byte came is not a timeout */
    if (f->flags & ZMTP_LONG) {
        uint8_t b[8];
        rc = tu_raw_recv(fd, b, 8, left);
        if (rc <= 0)
            return rc;
        uint64_t n = 0;
        for (int i = 0; i < 8; i++)
            n = n << 8 | b[i];
        f->size = (size_t)n;
    } else {
        uint8_t b;
        rc = tu_raw_recv(fd, &b, 1, left);
        if (rc <= 0)
            return rc;
        f->size = b;
    }
    assert_true(f->size <= sizeof(f->body));
    if (f->size > 0) {
        rc = tu_raw_recv(fd, f->body, f->size, left);
        if (rc <= 0)
            return rc;
    }
    return 1;
}

/* True when f is the command `name`; its data (after the name) in *data, *len. */
static bool raw_is_command(const raw_frame *f, const char *name, const uint8_t **data, size_t *len)
{
    size_t n = strlen(name);
    if (!(f->flags & ZMTP_COMMAND) || f->size < 1 + n || f->body[0] != n ||
        memcmp(f->body + 1, name, n) != 0)
        return false;
    if (data != NULL)
        *data = f->body + 1 + n;
    if (len != NULL)
        *len = f->size - 1 - n;
    return true;
}

/* Sends a short command frame: name, then data. */
static void raw_send_command(int fd, const char *name, const void *data, size_t len)
{
    uint8_t buf[300];
    size_t n = strlen(name);
    assert_true(1 + n + len <= 255);
    buf[0] = ZMTP_COMMAND;
    buf[1] = (uint8_t)(1 + n + len);
    buf[2] = (uint8_t)n;
    memcpy(buf + 3, name, n);
    if (len > 0)
        memcpy(buf + 3 + n, data, len);
    tu_raw_send(fd, buf, 3 + n + len);
}

/* Connects to ep and completes a ZMTP 3.1 NULL handshake as a socket of type
 * socket_type ("DEALER", ...): greeting both ways, READY both ways. */
static int raw_handshake(const char *ep, const char *socket_type)
{
    int fd = tu_raw_connect(tu_tcp_port(ep));
    uint8_t g[64] = {0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 3, 1};
    memcpy(g + 12, "NULL", 4);
    tu_raw_send(fd, g, sizeof(g));
    uint8_t peer[64];
    assert_int_equal(tu_raw_recv(fd, peer, sizeof(peer), TU_RCVTIMEO), 64);
    assert_int_equal(peer[0], 0xFF);
    assert_int_equal(peer[9] & 1, 1);
    assert_int_equal(peer[10], 3);
    assert_memory_equal(peer + 12, "NULL\0", 5);

    uint8_t ready[64];
    size_t tlen = strlen(socket_type), n = 0;
    ready[n++] = 11;
    memcpy(ready + n, "Socket-Type", 11);
    n += 11;
    ready[n++] = 0;
    ready[n++] = 0;
    ready[n++] = 0;
    ready[n++] = (uint8_t)tlen;
    memcpy(ready + n, socket_type, tlen);
    n += tlen;
    raw_send_command(fd, "READY", ready, n);

    raw_frame f;
    assert_int_equal(raw_read_frame(fd, &f, TU_RCVTIMEO), 1);
    assert_true(raw_is_command(&f, "READY", NULL, NULL));
    return fd;
}

/* Sends PING with a TTL in tenths of a second and a context. */
static void raw_send_ping(int fd, uint16_t ttl_ds, const void *ctx, size_t ctx_len)
{
    uint8_t data[2 + 16];
    assert_true(ctx_len <= 16);
    data[0] = (uint8_t)(ttl_ds >> 8);
    data[1] = (uint8_t)ttl_ds;
    if (ctx_len > 0)
        memcpy(data + 2, ctx, ctx_len);
    raw_send_command(fd, "PING", data, 2 + ctx_len);
}

/* Reads frames, ignoring anything else, until the connection closes; returns when
 * that happened (ms), or -1 if it is still open after ms.  Counts the PINGs seen and
 * reports the TTL of the first. */
static int64_t raw_wait_closed(int fd, int ms, int *pings, int *first_ttl)
{
    int64_t deadline = tu_now_ms() + ms;
    for (;;) {
        int64_t left = deadline - tu_now_ms();
        if (left <= 0)
            return -1;
        raw_frame f;
        int rc = raw_read_frame(fd, &f, (int)left);
        if (rc == 0)
            return tu_now_ms();
        if (rc < 0)
            return -1;
        const uint8_t *data;
        size_t len;
        if (pings != NULL && raw_is_command(&f, "PING", &data, &len)) {
            assert_true(len >= 2 && len <= 2 + 16);
            if (*pings == 0 && first_ttl != NULL)
                *first_ttl = data[0] << 8 | data[1];
            (*pings)++;
        }
    }
}

/* ---- tests ------------------------------------------------------------------------------ */

static void test_heartbeat_options(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *s = tu_sock(ctx, NM_DEALER);
    int v = -1;
    TU_OK(nm_sock_getopt_int(s, NM_HEARTBEAT_IVL, &v));
    assert_int_equal(v, 0);
    TU_OK(nm_sock_setopt_int(s, NM_HEARTBEAT_IVL, 100));
    TU_OK(nm_sock_setopt_int(s, NM_HEARTBEAT_TTL, 2000));
    TU_OK(nm_sock_setopt_int(s, NM_HEARTBEAT_TIMEOUT, 300));
    TU_OK(nm_sock_getopt_int(s, NM_HEARTBEAT_IVL, &v));
    assert_int_equal(v, 100);
    TU_OK(nm_sock_getopt_int(s, NM_HEARTBEAT_TTL, &v));
    assert_int_equal(v, 2000);
    TU_OK(nm_sock_getopt_int(s, NM_HEARTBEAT_TIMEOUT, &v));
    assert_int_equal(v, 300);
    TU_OK(nm_sock_setopt_int(s, NM_HEARTBEAT_TTL, 6553500));
    assert_true(nm_sock_setopt_int(s, NM_HEARTBEAT_TTL, 6553600) < 0);
    assert_true(nm_sock_setopt_int(s, NM_HEARTBEAT_TTL, -1) < 0);
    assert_true(nm_sock_setopt_int(s, NM_HEARTBEAT_IVL, -1) < 0);
    tu_ctx_destroy(&ctx);
}

/* Two nomid sockets heartbeating every 100 ms: an idle second does not break the
 * connection, which still carries messages both ways afterwards. */
static void test_heartbeat_idle_survives(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *server = tu_sock(ctx, NM_DEALER);
    nm_sock_t *client = tu_sock(ctx, NM_DEALER);
    TU_OK(nm_sock_setopt_int(server, NM_HEARTBEAT_IVL, 100));
    TU_OK(nm_sock_setopt_int(client, NM_HEARTBEAT_IVL, 100));
    TU_OK(nm_sock_setopt_int(client, NM_HEARTBEAT_TTL, 500));
    char ep[TU_EP_MAX];
    tu_bind_tcp(server, ep, sizeof(ep));
    nm_sock_t *mon = tu_mon_open(ctx, client, "hb-monitor", NM_EVENT_ALL);
    TU_OK(nm_sock_connect(client, ep));
    tu_send_str(client, "before");
    tu_recv_str(server, "before");

    tu_sleep_ms(1000);
    tu_send_str(client, "after");
    tu_recv_str(server, "after");
    tu_send_str(server, "back");
    tu_recv_str(client, "back");

    /* The client's connection never dropped (no DISCONNECTED event). */
    tu_mon_event ev;
    while (tu_mon_next(mon, &ev, 50)) /* checks each event's format */
        assert_int_not_equal(ev.event, NM_EVENT_DISCONNECTED);
    tu_ctx_destroy(&ctx);
}

/* A raw peer that never answers PINGs is dropped after HEARTBEAT_TIMEOUT; before that
 * it got PINGs carrying HEARTBEAT_TTL (2000 ms = 20 tenths). */
static void test_heartbeat_timeout_drops_silent_peer(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *s = tu_sock(ctx, NM_DEALER);
    TU_OK(nm_sock_setopt_int(s, NM_HEARTBEAT_IVL, 100));
    TU_OK(nm_sock_setopt_int(s, NM_HEARTBEAT_TIMEOUT, 300));
    TU_OK(nm_sock_setopt_int(s, NM_HEARTBEAT_TTL, 2000));
    char ep[TU_EP_MAX];
    tu_bind_tcp(s, ep, sizeof(ep));
    int fd = raw_handshake(ep, "DEALER");
    int64_t t0 = tu_now_ms();
    int pings = 0, ttl = -1;
    int64_t closed = raw_wait_closed(fd, 2000, &pings, &ttl);
    close(fd);
    if (closed < 0)
        fail_msg("the silent peer was not dropped within 2 s (%d PINGs seen)", pings);
    assert_true(pings >= 1);
    assert_int_equal(ttl, 20);
    assert_true(closed - t0 >= 200); /* a PING interval plus the timeout, roughly */
    tu_ctx_destroy(&ctx);
}

/* PING gets a PONG echoing the context (16 bytes, the most allowed; and none), and the
 * connection carries messages as before. */
static void test_heartbeat_ping_gets_pong(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *s = tu_sock(ctx, NM_DEALER);
    char ep[TU_EP_MAX];
    tu_bind_tcp(s, ep, sizeof(ep));
    int fd = raw_handshake(ep, "DEALER");

    const char *contexts[] = {"ctx-0123456789ab", "", "x"};
    for (size_t i = 0; i < 3; i++) {
        size_t clen = strlen(contexts[i]);
        raw_send_ping(fd, 0, contexts[i], clen);
        raw_frame f;
        const uint8_t *data = NULL;
        size_t len = 0;
        int64_t deadline = tu_now_ms() + 2000;
        for (;;) {
            if (tu_now_ms() > deadline)
                fail_msg("no PONG to PING with context '%s'", contexts[i]);
            assert_int_equal(raw_read_frame(fd, &f, 2000), 1);
            if (raw_is_command(&f, "PONG", &data, &len))
                break;
        }
        assert_int_equal(len, clen);
        if (clen > 0)
            assert_memory_equal(data, contexts[i], clen);
    }

    /* Still a working DEALER peer: a message each way. */
    uint8_t hello[] = {0x00, 5, 'h', 'e', 'l', 'l', 'o'};
    tu_raw_send(fd, hello, sizeof(hello));
    tu_recv_str(s, "hello");
    tu_send_str(s, "world");
    raw_frame f;
    assert_int_equal(raw_read_frame(fd, &f, TU_RCVTIMEO), 1);
    assert_int_equal(f.flags, 0);
    assert_int_equal(f.size, 5);
    assert_memory_equal(f.body, "world", 5);
    close(fd);
    tu_ctx_destroy(&ctx);
}

/* A peer whose PING asked for a TTL of 0.3 s and then fell silent is dropped, even
 * with heartbeats off on the nomid side. */
static void test_heartbeat_peer_ttl(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *s = tu_sock(ctx, NM_DEALER);
    char ep[TU_EP_MAX];
    tu_bind_tcp(s, ep, sizeof(ep));
    int fd = raw_handshake(ep, "DEALER");
    int64_t t0 = tu_now_ms();
    raw_send_ping(fd, 3, "ttl", 3);
    int64_t closed = raw_wait_closed(fd, 2000, NULL, NULL);
    close(fd);
    if (closed < 0)
        fail_msg("a peer silent past the TTL it announced was not dropped within 2 s");
    assert_true(closed - t0 >= 200);
    tu_ctx_destroy(&ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_heartbeat_options),
        cmocka_unit_test(test_heartbeat_idle_survives),
        cmocka_unit_test(test_heartbeat_timeout_drops_silent_peer),
        cmocka_unit_test(test_heartbeat_ping_gets_pong),
        cmocka_unit_test(test_heartbeat_peer_ttl),
    };
    return cmocka_run_group_tests_name("heartbeat", tests, NULL, NULL);
}
