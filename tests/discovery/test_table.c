/*
 * test_table.c - the service-table exchange: the "table" message codec (round trips of
 * 0 to 4096 services, signing, every truncation, digest and length checks, reserved
 * bits), the one-service helpers of beacon.h, and real exchanges on loopback through
 * poll(): a 500-service table to several clients over IPv4 and IPv6, servers that send
 * garbage or too much, nothing listening, slow clients and the client limit.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "table.h"

static const uint8_t key[32] = "0123456789abcdef0123456789abcdef";
static const uint8_t other_key[32] = "fedcba9876543210fedcba9876543210";
static const uint8_t node[16] = {0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
                                 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf};

/* A table of n services with varied names, types and endpoints, every third with a
 * CURVE key; fat ones have the longest name and endpoint allowed and a key (363 bytes
 * encoded, NMD_SERVICE_MAX). */
static nmd_service *make_table_of(size_t n, bool fat)
{
    nmd_service *t = calloc(n > 0 ? n : 1, sizeof(*t));
    assert_non_null(t);
    for (size_t i = 0; i < n; i++) {
        snprintf(t[i].name, sizeof(t[i].name), "svc.%zu%s", i, i % 7 == 0 ? ".camera.front" : "");
        t[i].type = (int)(i % (NMD_TYPE_MAX + 1));
        snprintf(t[i].endpoint, sizeof(t[i].endpoint), "tcp://10.%zu.%zu.%zu:%zu", i / 65536,
                 i / 256 % 256, i % 256, 1024 + i);
        t[i].has_key = fat || i % 3 == 1;
        for (size_t k = 0; t[i].has_key && k < NMD_SVC_KEY_SIZE; k++)
            t[i].curve_key[k] = (uint8_t)(i * 31 + k);
        if (fat) {
            size_t nl = strlen(t[i].name), el = strlen(t[i].endpoint);
            memset(t[i].name + nl, 'n', NMD_SVC_NAME_MAX - nl);
            memset(t[i].endpoint + el, 'e', NMD_ENDPOINT_MAX - el);
            assert_int_equal(nmd_service_size(&t[i]), NMD_SERVICE_MAX);
        }
    }
    return t;
}

static nmd_service *make_table(size_t n)
{
    return make_table_of(n, false);
}

static void assert_same_table(const nmd_service *a, const nmd_service *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(a[i].name, b[i].name);
        assert_int_equal(a[i].type, b[i].type);
        assert_string_equal(a[i].endpoint, b[i].endpoint);
        assert_int_equal(a[i].has_key, b[i].has_key);
        assert_memory_equal(a[i].curve_key, b[i].curve_key, NMD_SVC_KEY_SIZE);
    }
}

/* Encodes table[0..n) and checks that it decodes to the same. */
static void round_trip(size_t n, bool fat, const uint8_t *k)
{
    nmd_service *t = make_table_of(n, fat);
    uint8_t *msg;
    ssize_t len = nmd_table_encode(node, 77, t, n, k, 32, &msg);
    assert_true(len > 0);
    assert_true((size_t)len <= NMD_TABLE_MSG_MAX);
    nmd_table_msg m;
    assert_int_equal(nmd_table_decode(msg, (size_t)len, k, 32, &m), 0);
    assert_memory_equal(m.node_id, node, 16);
    assert_int_equal(m.incarnation, 77);
    assert_int_equal(m.n, n);
    uint8_t d[NMD_DIGEST_SIZE];
    nmd_table_digest(t, n, d);
    assert_memory_equal(m.digest, d, sizeof(d));
    assert_same_table(m.services, t, n);
    if (n == 0)
        assert_null(m.services);
    nmd_table_msg_free(&m);
    free(msg);
    free(t);
}

static void test_round_trip(void **state)
{
    (void)state;
    const size_t sizes[] = {0, 1, 33, 500, NMD_TABLE_SERVICES};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        round_trip(sizes[i], false, NULL);
        round_trip(sizes[i], true, key);
    }
}

/* The layout of BEACON.md: prefix, magic, version, flags, id, incarnation, digest, count,
 * then services exactly as in a beacon. */
static void test_layout(void **state)
{
    (void)state;
    nmd_service s = {.name = "svc.0", .type = 0, .endpoint = "tcp://10.0.0.0:6000"};
    uint8_t *msg;
    ssize_t len = nmd_table_encode(node, 0x01020304, &s, 1, NULL, 0, &msg);
    assert_int_equal(len, 42 + 3 + 5 + 19);
    const uint8_t head[] = {0, 0, 0, (uint8_t)(len - 4), 'N', 'M', 'D', 'T', 1, 0};
    assert_memory_equal(msg, head, sizeof(head));
    assert_memory_equal(msg + 10, node, 16);
    const uint8_t inc[] = {1, 2, 3, 4};
    assert_memory_equal(msg + 26, inc, 4);
    uint8_t d[NMD_DIGEST_SIZE];
    nmd_table_digest(&s, 1, d);
    assert_memory_equal(msg + 30, d, 8);
    const uint8_t count[] = {0, 0, 0, 1};
    assert_memory_equal(msg + 38, count, 4);
    uint8_t one[NMD_SERVICE_MAX];
    assert_int_equal(nmd_service_size(&s), 27);
    assert_int_equal(nmd_service_encode(&s, one), 27);
    assert_memory_equal(msg + 42, one, 27);
    free(msg);

    len = nmd_table_encode(node, 1, &s, 1, key, 32, &msg);
    assert_int_equal(len, 42 + 27 + 32);
    assert_int_equal(msg[3], len - 4);
    assert_int_equal(msg[9], NMD_FLAG_SIGNED);
    free(msg);
}

static void test_service_helpers(void **state)
{
    (void)state;
    nmd_service s = {.name = "a", .type = NMD_TYPE_MAX, .endpoint = "b"}, d;
    uint8_t buf[NMD_SERVICE_MAX];
    assert_int_equal(nmd_service_encode(&s, buf), 5);
    assert_int_equal(nmd_service_decode(buf, 5, &d), 5);
    assert_string_equal(d.name, "a");
    assert_int_equal(d.type, NMD_TYPE_MAX);
    assert_string_equal(d.endpoint, "b");
    for (size_t k = 0; k < 5; k++)
        assert_int_equal(nmd_service_decode(buf, k, &d), -EPROTO);
    buf[2] = NMD_TYPE_MAX + 1;
    assert_int_equal(nmd_service_decode(buf, 5, &d), -EPROTO);
    assert_int_equal(nmd_service_decode(NULL, 0, &d), -EPROTO);
    s.type = -1;
    assert_int_equal(nmd_service_size(&s), 0);
    assert_int_equal(nmd_service_size(NULL), 0);
    /* Keyed: bit 7 of the type byte and 32 bytes after the endpoint. */
    s.type = 5;
    s.has_key = true;
    memset(s.curve_key, 0x5a, sizeof(s.curve_key));
    assert_int_equal(nmd_service_size(&s), 5 + NMD_SVC_KEY_SIZE);
    assert_int_equal(nmd_service_encode(&s, buf), 5 + NMD_SVC_KEY_SIZE);
    assert_int_equal(buf[2], NMD_SVC_KEYED | 5);
    assert_int_equal(nmd_service_decode(buf, 5 + NMD_SVC_KEY_SIZE, &d), 5 + NMD_SVC_KEY_SIZE);
    assert_true(d.has_key);
    assert_int_equal(d.type, 5);
    assert_memory_equal(d.curve_key, s.curve_key, NMD_SVC_KEY_SIZE);
    for (size_t k = 0; k < 5 + NMD_SVC_KEY_SIZE; k++)
        assert_int_equal(nmd_service_decode(buf, k, &d), -EPROTO);
    buf[2] = NMD_SVC_KEYED | (NMD_TYPE_MAX + 1);
    assert_int_equal(nmd_service_decode(buf, 5 + NMD_SVC_KEY_SIZE, &d), -EPROTO);
    buf[2] = 0x40 | 5; /* bits 4-6 stay reserved: a type above 11 */
    assert_int_equal(nmd_service_decode(buf, 5 + NMD_SVC_KEY_SIZE, &d), -EPROTO);
}

static void test_bad_encode(void **state)
{
    (void)state;
    nmd_service *t = make_table(NMD_TABLE_SERVICES + 1);
    uint8_t *msg = (uint8_t *)"x";
    assert_int_equal(nmd_table_encode(node, 1, t, NMD_TABLE_SERVICES + 1, NULL, 0, &msg), -EINVAL);
    assert_null(msg);
    assert_int_equal(nmd_table_encode(node, 1, t, 1, key, 31, &msg), -EINVAL);
    assert_int_equal(nmd_table_encode(NULL, 1, t, 1, NULL, 0, &msg), -EINVAL);
    assert_int_equal(nmd_table_encode(node, 1, NULL, 1, NULL, 0, &msg), -EINVAL);
    assert_int_equal(nmd_table_encode(node, 1, t, 1, NULL, 0, NULL), -EINVAL);
    t[3].endpoint[0] = '\0';
    assert_int_equal(nmd_table_encode(node, 1, t, 10, NULL, 0, &msg), -EINVAL);
    free(t);
}

static void test_keys(void **state)
{
    (void)state;
    nmd_service *t = make_table(3);
    uint8_t *sig, *plain;
    ssize_t sl = nmd_table_encode(node, 1, t, 3, key, 32, &sig);
    ssize_t pl = nmd_table_encode(node, 1, t, 3, NULL, 0, &plain);
    assert_true(sl > 0 && pl > 0);
    nmd_table_msg m;
    assert_int_equal(nmd_table_decode(sig, (size_t)sl, key, 32, &m), 0);
    nmd_table_msg_free(&m);
    assert_int_equal(nmd_table_decode(sig, (size_t)sl, other_key, 32, &m), -EACCES);
    assert_null(m.services);
    assert_int_equal(nmd_table_decode(plain, (size_t)pl, key, 32, &m), -EACCES);
    /* Without a key, signed or not is accepted. */
    assert_int_equal(nmd_table_decode(sig, (size_t)sl, NULL, 0, &m), 0);
    assert_int_equal(m.n, 3);
    nmd_table_msg_free(&m);
    assert_int_equal(nmd_table_decode(plain, (size_t)pl, NULL, 0, &m), 0);
    nmd_table_msg_free(&m);
    /* A forged byte anywhere after the version breaks the MAC. */
    for (ssize_t i = 9; i < sl; i++) {
        sig[i] ^= 0x20;
        assert_int_equal(nmd_table_decode(sig, (size_t)sl, key, 32, &m), -EACCES);
        sig[i] ^= 0x20;
    }
    assert_int_equal(nmd_table_decode(sig, (size_t)sl, key, 16, &m), -EINVAL);
    free(sig);
    free(plain);
    free(t);
}

/* Every prefix of msg fails, with the original length prefix and with one rewritten to
 * match the cut. */
static void truncations(const uint8_t *msg, size_t len, const uint8_t *k)
{
    uint8_t *cut = malloc(len);
    assert_non_null(cut);
    for (size_t n = 0; n < len; n++) {
        nmd_table_msg m;
        memcpy(cut, msg, n);
        assert_true(nmd_table_decode(cut, n, k, 32, &m) < 0);
        assert_null(m.services);
        if (n >= 4) {
            cut[0] = (uint8_t)((n - 4) >> 24);
            cut[1] = (uint8_t)((n - 4) >> 16);
            cut[2] = (uint8_t)((n - 4) >> 8);
            cut[3] = (uint8_t)(n - 4);
            assert_true(nmd_table_decode(cut, n, k, 32, &m) < 0);
            assert_null(m.services);
        }
    }
    free(cut);
}

static void test_truncated(void **state)
{
    (void)state;
    nmd_service *t = make_table(33);
    const uint8_t *keys[] = {NULL, key};
    for (int i = 0; i < 2; i++) {
        uint8_t *msg;
        ssize_t len = nmd_table_encode(node, 5, t, 33, keys[i], 32, &msg);
        assert_true(len > 0);
        truncations(msg, (size_t)len, keys[i]);
        if (keys[i] != NULL)
            truncations(msg, (size_t)len, NULL);
        free(msg);
    }
    free(t);
}

static void test_malformed(void **state)
{
    (void)state;
    nmd_service *t = make_table(4);
    uint8_t *msg;
    ssize_t len = nmd_table_encode(node, 5, t, 4, NULL, 0, &msg);
    assert_true(len > 0);
    size_t n = (size_t)len;
    nmd_table_msg m;
#define EXPECT(rc, offset, value)                                                                  \
    do {                                                                                           \
        uint8_t saved_ = msg[offset];                                                              \
        msg[offset] = (value);                                                                     \
        assert_int_equal(nmd_table_decode(msg, n, NULL, 0, &m), (rc));                             \
        assert_null(m.services);                                                                   \
        msg[offset] = saved_;                                                                      \
    } while (0)
    EXPECT(-EPROTO, 30, msg[30] ^ 1); /* digest */
    EXPECT(-EPROTO, 44, msg[44] ^ 1); /* a service name: digest no longer matches */
    EXPECT(-EPROTO, 3, msg[3] + 1);   /* length prefix too large */
    EXPECT(-EPROTO, 3, msg[3] - 1);   /* too small */
    EXPECT(-EPROTO, 0, 1);            /* far too large */
    EXPECT(-EPROTO, 4, 'X');          /* magic */
    EXPECT(-EPROTONOSUPPORT, 8, 2);   /* version */
    EXPECT(-EPROTO, 9, 0x01);         /* reserved flag */
    EXPECT(-EPROTO, 9, 0x80);         /* reserved flag */
    EXPECT(-EPROTO, 41, 5);           /* count above the services there */
    EXPECT(-EPROTO, 41, 3);           /* count below: bytes left over */
    EXPECT(-EPROTO, 38, 0xff);        /* count above 4096 */
    EXPECT(-EPROTO, 42 + 1 + msg[42], NMD_TYPE_MAX + 1); /* socket type */
    EXPECT(-EPROTO, 43, 0);                              /* NUL in a name */
    EXPECT(-EPROTO, 42, 0);                              /* empty name */
#undef EXPECT
    /* Bytes after the last service. */
    uint8_t *more = malloc(n + 1);
    assert_non_null(more);
    memcpy(more, msg, n);
    more[n] = 0;
    more[3]++;
    assert_int_equal(nmd_table_decode(more, n + 1, NULL, 0, &m), -EPROTO);
    free(more);
    /* Longer than the cap, whatever it says. */
    uint8_t *huge = calloc(1, NMD_TABLE_MSG_MAX + 1);
    assert_non_null(huge);
    memcpy(huge, msg, n);
    assert_int_equal(nmd_table_decode(huge, NMD_TABLE_MSG_MAX + 1, NULL, 0, &m), -EMSGSIZE);
    free(huge);
    assert_int_equal(nmd_table_decode(NULL, 0, NULL, 0, &m), -EPROTO);
    assert_int_equal(nmd_table_decode(NULL, 5, NULL, 0, &m), -EINVAL);
    assert_int_equal(nmd_table_decode(msg, n, NULL, 0, NULL), -EINVAL);
    free(msg);
    free(t);
}

/* ---- exchanges on loopback ---- */

#define FETCHES 5

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Drives srv (when not NULL) and fetches f[0..nf) through poll() until every fetch has
 * ended; rc[i] gets each one's last step() result. */
static void drive(nmd_table_server *srv, const uint8_t *msg, size_t len, nmd_table_fetch *f, int nf,
                  int *rc)
{
    for (int i = 0; i < nf; i++)
        rc[i] = 0;
    for (int rounds = 0; rounds < 100000; rounds++) {
        struct pollfd p[1 + FETCHES + NMD_TABLE_CLIENTS];
        int idx[FETCHES], n = 0, open = 0;
        if (srv != NULL)
            p[n++] = (struct pollfd){.fd = srv->fd, .events = POLLIN};
        for (int i = 0; i < nf; i++) {
            idx[i] = -1;
            if (rc[i] == 0 && f[i].fd >= 0) {
                idx[i] = n;
                p[n++] = (struct pollfd){.fd = f[i].fd, .events = nmd_table_fetch_events(&f[i])};
                open++;
            }
        }
        if (open == 0)
            return;
        for (int i = 0; i < nf; i++)
            assert_false(idx[i] >= 0 && nmd_table_fetch_expired(&f[i], now_ns()));
        int first = n;
        if (srv != NULL)
            n += nmd_table_server_pollfds(srv, p + n, NMD_TABLE_CLIENTS);
        assert_true(poll(p, (nfds_t)n, 3000) > 0);
        if (srv != NULL && (p[0].revents & POLLIN))
            assert_int_equal(nmd_table_server_on_readable(srv, msg, len), 0);
        for (int i = first; i < n; i++)
            nmd_table_server_on_event(srv, &p[i]);
        for (int i = 0; i < nf; i++)
            if (idx[i] >= 0 && p[idx[i]].revents != 0)
                rc[i] = nmd_table_fetch_step(&f[i]);
    }
    fail_msg("exchange did not end");
}

/* Serves a 500-service table on addr to FETCHES clients at once; each decodes it.  A
 * small sndbuf makes the server write each in many steps, on POLLOUT. */
static void exchange(const char *bind_addr, const char *fetch_addr, const uint8_t *k, int sndbuf)
{
    nmd_service *t = make_table_of(500, true);
    uint8_t *msg;
    ssize_t len = nmd_table_encode(node, 9, t, 500, k, 32, &msg);
    assert_true(len > 500 * NMD_SERVICE_MAX);
    nmd_table_server srv;
    uint16_t port = 0;
    assert_int_equal(nmd_table_server_open(&srv, bind_addr, &port), 0);
    assert_int_not_equal(port, 0);
    assert_int_equal(srv.port, port);
    if (sndbuf > 0)
        assert_int_equal(setsockopt(srv.fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)), 0);

    nmd_table_fetch f[FETCHES];
    int rc[FETCHES];
    for (int i = 0; i < FETCHES; i++)
        assert_int_equal(nmd_table_fetch_start(&f[i], fetch_addr, port), 0);
    drive(&srv, msg, (size_t)len, f, FETCHES, rc);
    for (int i = 0; i < FETCHES; i++) {
        assert_int_equal(rc[i], 1);
        assert_int_equal(f[i].fd, -1);
        assert_int_equal(f[i].len, (size_t)len);
        assert_false(nmd_table_fetch_expired(&f[i], UINT64_MAX));
        nmd_table_msg m;
        assert_int_equal(nmd_table_decode(f[i].msg, f[i].len, k, 32, &m), 0);
        assert_int_equal(m.n, 500);
        assert_int_equal(m.incarnation, 9);
        assert_same_table(m.services, t, 500);
        nmd_table_msg_free(&m);
        nmd_table_fetch_close(&f[i]);
        nmd_table_fetch_close(&f[i]);
    }
    assert_int_equal(srv.served, FETCHES);
    assert_int_equal(srv.dropped, 0);
    struct pollfd p[NMD_TABLE_CLIENTS];
    assert_int_equal(nmd_table_server_pollfds(&srv, p, NMD_TABLE_CLIENTS), 0);
    nmd_table_server_close(&srv);
    nmd_table_server_close(&srv);
    free(msg);
    free(t);
}

static void test_exchange_ipv4(void **state)
{
    (void)state;
    exchange("127.0.0.1", "127.0.0.1", NULL, 0);
    exchange("127.0.0.1", "127.0.0.1", key, 8192);
}

static void test_exchange_ipv6(void **state)
{
    (void)state;
    nmd_table_server srv;
    uint16_t port;
    if (nmd_table_server_open(&srv, "::1", &port) < 0) {
        print_message("skipped: no IPv6 loopback\n");
        skip();
    }
    nmd_table_server_close(&srv);
    exchange("::1", "[::1]", key, 0);
}

/* The table changes between clients: each gets the message current when it connected. */
static void test_table_changes(void **state)
{
    (void)state;
    nmd_service *t = make_table(40);
    uint8_t *m1, *m2;
    ssize_t l1 = nmd_table_encode(node, 1, t, 20, NULL, 0, &m1);
    ssize_t l2 = nmd_table_encode(node, 1, t, 40, NULL, 0, &m2);
    nmd_table_server srv;
    uint16_t port;
    assert_int_equal(nmd_table_server_open(&srv, "127.0.0.1", &port), 0);
    nmd_table_fetch f;
    int rc;
    const uint8_t *msgs[] = {m1, m2, m1};
    const ssize_t lens[] = {l1, l2, l1};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(nmd_table_fetch_start(&f, "127.0.0.1", port), 0);
        drive(&srv, msgs[i], (size_t)lens[i], &f, 1, &rc);
        assert_int_equal(rc, 1);
        assert_int_equal(f.len, (size_t)lens[i]);
        assert_memory_equal(f.msg, msgs[i], f.len);
        nmd_table_fetch_close(&f);
    }
    nmd_table_server_close(&srv);
    free(m1);
    free(m2);
    free(t);
}

/* A raw listening socket on 127.0.0.1; *port gets its port. */
static int raw_listener(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, 8), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

/* A fetch from a server that sends data[0..n) and then closes (or, with keep, keeps
 * sending zeros); returns the fetch's result. */
static int fetch_from_raw(const void *data, size_t n, bool keep)
{
    uint16_t port;
    int lfd = raw_listener(&port);
    nmd_table_fetch f;
    assert_int_equal(nmd_table_fetch_start(&f, "127.0.0.1", port), 0);
    int c = accept(lfd, NULL, NULL);
    assert_true(c >= 0);
    assert_int_equal(send(c, data, n, MSG_NOSIGNAL), (ssize_t)n);
    if (keep) {
        static uint8_t zeros[65536];
        for (int i = 0; i < 16; i++) /* 1 MiB; the fetch must stop at the prefix */
            (void)!send(c, zeros, sizeof(zeros), MSG_NOSIGNAL | MSG_DONTWAIT);
    } else {
        close(c);
        c = -1;
    }
    int rc;
    drive(NULL, NULL, 0, &f, 1, &rc);
    nmd_table_fetch_close(&f);
    if (c >= 0)
        close(c);
    close(lfd);
    return rc;
}

static void test_hostile_servers(void **state)
{
    (void)state;
    assert_int_equal(fetch_from_raw("\xff\xff\xff\xffgarbage", 11, true), -EMSGSIZE);
    assert_int_equal(fetch_from_raw("HTTP/1.1 200 OK\r\n\r\n", 19, true), -EMSGSIZE);
    const uint8_t just_over[4] = {0x00, 0x18, 0x00, 0x00}; /* 1.5 MiB: with the prefix, over */
    assert_int_equal(fetch_from_raw(just_over, 4, true), -EMSGSIZE);
    assert_int_equal(fetch_from_raw("\0\0\0\5NMDT\1", 9, false), -EPROTO);
    assert_int_equal(fetch_from_raw("\0\0", 2, false), -ECONNRESET);
    assert_int_equal(fetch_from_raw("", 0, false), -ECONNRESET);
    /* A well-framed message that is not a table: fetched, then refused by the decoder. */
    uint8_t junk[200];
    memset(junk, 'j', sizeof(junk));
    junk[0] = junk[1] = junk[2] = 0;
    junk[3] = sizeof(junk) - 4;
    uint16_t port;
    int lfd = raw_listener(&port);
    nmd_table_fetch f;
    int rc;
    assert_int_equal(nmd_table_fetch_start(&f, "127.0.0.1", port), 0);
    int c = accept(lfd, NULL, NULL);
    assert_int_equal(send(c, junk, sizeof(junk), MSG_NOSIGNAL), (ssize_t)sizeof(junk));
    close(c);
    drive(NULL, NULL, 0, &f, 1, &rc);
    assert_int_equal(rc, 1);
    nmd_table_msg m;
    assert_int_equal(nmd_table_decode(f.msg, f.len, NULL, 0, &m), -EPROTO);
    nmd_table_fetch_close(&f);
    close(lfd);
}

static void test_nothing_listening(void **state)
{
    (void)state;
    uint16_t port;
    close(raw_listener(&port)); /* a port that was just free */
    nmd_table_fetch f;
    int rc = nmd_table_fetch_start(&f, "127.0.0.1", port);
    if (rc == 0)
        drive(NULL, NULL, 0, &f, 1, &rc);
    assert_int_equal(rc, -ECONNREFUSED);
    assert_int_equal(f.fd, -1);
    nmd_table_fetch_close(&f);

    assert_int_equal(nmd_table_fetch_start(&f, "127.0.0.1", 0), -EINVAL);
    assert_int_equal(nmd_table_fetch_start(&f, "not an address", 80), -EINVAL);
    assert_int_equal(nmd_table_fetch_start(&f, "", 80), -EINVAL);
    assert_int_equal(nmd_table_fetch_step(&f), -EBADF);
    nmd_table_server srv;
    assert_int_equal(nmd_table_server_open(&srv, "nowhere", &port), -EINVAL);
    assert_int_equal(nmd_table_server_on_readable(&srv, NULL, 0), -EBADF);
    nmd_table_server_close(&srv);
    assert_int_equal(nmd_table_server_open(&srv, "192.0.2.1", &port), -EADDRNOTAVAIL);
}

/* A server that never writes: the fetch stays pending until its deadline. */
static void test_fetch_deadline(void **state)
{
    (void)state;
    uint16_t port;
    int lfd = raw_listener(&port);
    nmd_table_fetch f;
    assert_int_equal(nmd_table_fetch_start(&f, "127.0.0.1", port), 0);
    struct pollfd p = {.fd = f.fd, .events = nmd_table_fetch_events(&f)};
    assert_int_equal(poll(&p, 1, 2000), 1);
    assert_int_equal(nmd_table_fetch_step(&f), 0);
    assert_int_equal(nmd_table_fetch_events(&f), POLLIN);
    assert_int_equal(nmd_table_fetch_step(&f), 0); /* nothing to read yet */
    assert_false(nmd_table_fetch_expired(&f, f.deadline_ns - 1));
    assert_true(nmd_table_fetch_expired(&f, f.deadline_ns));
    nmd_table_fetch_close(&f);
    assert_false(nmd_table_fetch_expired(&f, UINT64_MAX));
    close(lfd);
}

/* Clients that never read a 4096-service table: NMD_TABLE_CLIENTS of them wait, one
 * more is refused, and all are dropped at the deadline. */
static void test_slow_clients(void **state)
{
    (void)state;
    nmd_service *t = make_table_of(NMD_TABLE_SERVICES, true);
    uint8_t *msg;
    ssize_t len = nmd_table_encode(node, 1, t, NMD_TABLE_SERVICES, NULL, 0, &msg);
    assert_true(len > NMD_TABLE_SERVICES * NMD_SERVICE_MAX);
    nmd_table_server srv;
    uint16_t port;
    assert_int_equal(nmd_table_server_open(&srv, "127.0.0.1", &port), 0);
    srv.timeout_ns = 200000000u; /* 0.2 s */
    /* Accepted sockets inherit a small, fixed send buffer: the table cannot all fit. */
    int small = 8192;
    assert_int_equal(setsockopt(srv.fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
    int c[NMD_TABLE_CLIENTS + 1];
    for (int i = 0; i <= NMD_TABLE_CLIENTS; i++) {
        struct sockaddr_in a = {.sin_family = AF_INET,
                                .sin_port = htons(port),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        c[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_int_equal(setsockopt(c[i], SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
        assert_int_equal(connect(c[i], (struct sockaddr *)&a, sizeof(a)), 0);
    }
    struct pollfd p = {.fd = srv.fd, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 2000), 1);
    assert_int_equal(nmd_table_server_on_readable(&srv, msg, (size_t)len), 0);
    struct pollfd out[NMD_TABLE_CLIENTS];
    assert_int_equal(nmd_table_server_pollfds(&srv, out, NMD_TABLE_CLIENTS), NMD_TABLE_CLIENTS);
    assert_int_equal(nmd_table_server_pollfds(&srv, out, 3), 3);
    assert_int_equal(srv.dropped, 1);
    assert_int_equal(srv.served, 0);
    usleep(300000);
    assert_int_equal(nmd_table_server_pollfds(&srv, out, NMD_TABLE_CLIENTS), 0);
    assert_int_equal(srv.dropped, NMD_TABLE_CLIENTS + 1);
    for (int i = 0; i <= NMD_TABLE_CLIENTS; i++)
        close(c[i]);
    nmd_table_server_close(&srv);
    free(msg);
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_layout),
        cmocka_unit_test(test_service_helpers),
        cmocka_unit_test(test_bad_encode),
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_exchange_ipv4),
        cmocka_unit_test(test_exchange_ipv6),
        cmocka_unit_test(test_table_changes),
        cmocka_unit_test(test_hostile_servers),
        cmocka_unit_test(test_nothing_listening),
        cmocka_unit_test(test_fetch_deadline),
        cmocka_unit_test(test_slow_clients),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
