/*
 * test_socks.c - tcp connects through a SOCKS5 proxy (NM_SOCKS_PROXY): the codec
 * (lib/transport/socks.c) on good and hostile bytes, and the engine against a proxy
 * played by the test: one that relays (the peer's greeting comes right behind its
 * reply), one that refuses, and one that answers nonsense.  A connect through a proxy
 * that fails gets nothing through and tries again; one that works carries messages
 * both ways.
 */
#include <stdatomic.h>

#include "../core/testutil.h"
#include "transport/socks.h"

/* ---- the codec ----------------------------------------------------------------------- */

static void test_request(void **state)
{
    (void)state;
    uint8_t out[NMI_SOCKS_REQ_MAX];
    static const uint8_t v4[] = {5, 1, 0, 1, 127, 0, 0, 1, 0x1f, 0x90};
    assert_int_equal(nmi_socks_request("127.0.0.1:8080", out), sizeof(v4));
    assert_memory_equal(out, v4, sizeof(v4));
    static const uint8_t v6[] = {5, 1, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 80};
    assert_int_equal(nmi_socks_request("[::1]:80", out), sizeof(v6));
    assert_memory_equal(out, v6, sizeof(v6));
    assert_int_equal(nmi_socks_request("::1:80", out), sizeof(v6)); /* as libzmq takes it */
    assert_memory_equal(out, v6, sizeof(v6));
    static const uint8_t name[] = {5, 1, 0, 3, 7, 'e', 'x', '.', 'o', 'r', 'g', '1', 0, 1};
    assert_int_equal(nmi_socks_request("ex.org1:1", out), sizeof(name));
    assert_memory_equal(out, name, sizeof(name));
    char longest[256 + 8];
    memset(longest, 'a', 255);
    strcpy(longest + 255, ":9");
    assert_int_equal(nmi_socks_request(longest, out), 4 + 1 + 255 + 2);
    memset(longest, 'a', 256);
    strcpy(longest + 256, ":9");
    assert_int_equal(nmi_socks_request(longest, out), -EINVAL);
    static const char *const bad[] = {"host",       "host:",        ":80",     "host:0",
                                      "host:65536", "host:-1",      "host:*",  "[h]:80",
                                      "[::1:80",    "[1.2.3.4]:80", "g::1:80", "host:8 "};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(nmi_socks_request(bad[i], out), -EINVAL);
}

static void test_replies(void **state)
{
    (void)state;
    const char *why;
    assert_int_equal(nmi_socks_method_check((const uint8_t *)"\x05\x00", &why), 0);
    assert_int_equal(nmi_socks_method_check((const uint8_t *)"\x05\xff", &why), -EPROTO);
    assert_non_null(why);
    assert_int_equal(nmi_socks_method_check((const uint8_t *)"\x05\x02", &why), -EPROTO);
    assert_int_equal(nmi_socks_method_check((const uint8_t *)"\x04\x00", &why), -EPROTO);

    /* How much to read: 5 bytes first, then what the address type says. */
    uint8_t r[NMI_SOCKS_REPLY_MAX] = {5, 0, 0, 1, 10, 0, 0, 1, 0, 80};
    assert_int_equal(nmi_socks_reply_need(r, 0), 5);
    assert_int_equal(nmi_socks_reply_need(r, 3), 2);
    assert_int_equal(nmi_socks_reply_need(r, 5), 5);
    assert_int_equal(nmi_socks_reply_need(r, 10), 0);
    assert_int_equal(nmi_socks_reply_check(r, 10, &why), 0);
    assert_int_equal(nmi_socks_reply_check(r, 9, &why), -EPROTO); /* short */
    r[3] = 4;
    assert_int_equal(nmi_socks_reply_need(r, 5), 22 - 5);
    r[3] = 3;
    r[4] = 255; /* the longest name: the most a reply may take */
    assert_int_equal(nmi_socks_reply_need(r, 5), NMI_SOCKS_REPLY_MAX - 5);
    assert_int_equal(nmi_socks_reply_check(r, NMI_SOCKS_REPLY_MAX, &why), 0);
    r[4] = 0; /* an empty name: refused as soon as its length is known */
    assert_int_equal(nmi_socks_reply_need(r, 5), 0);
    assert_int_equal(nmi_socks_reply_check(r, 5, &why), -EPROTO);
    r[3] = 9; /* unknown address type: nothing more to read, and refused */
    assert_int_equal(nmi_socks_reply_need(r, 5), 0);
    assert_int_equal(nmi_socks_reply_check(r, 5, &why), -EPROTO);
    r[3] = 1;
    r[1] = 5;
    assert_int_equal(nmi_socks_reply_check(r, 10, &why), -ECONNREFUSED);
    assert_non_null(why);
    r[1] = 200;
    assert_int_equal(nmi_socks_reply_check(r, 10, &why), -ECONNABORTED);
    r[1] = 0;
    r[2] = 1; /* reserved byte set */
    assert_int_equal(nmi_socks_reply_check(r, 10, &why), -EPROTO);
    r[2] = 0;
    r[0] = 4;
    assert_int_equal(nmi_socks_reply_check(r, 10, &why), -EPROTO);
}

/* ---- the engine against a proxy the test plays ------------------------------------- */

enum { PROXY_RELAY, PROXY_REFUSE, PROXY_NONSENSE };

/* The proxy's thread writes what it was asked (name first, then the atomics that
 * publish it); the test reads the atomics, then name. */
typedef struct proxy {
    int lfd;                /* listening */
    int port;               /* its port */
    int mode;               /* PROXY_* */
    char name[256];         /* a name it was asked for (out) */
    atomic_int target_port; /* the port it was asked for (out) */
    atomic_int atyp;        /* the address type it was asked for (out) */
    atomic_int served;      /* connections it answered */
    atomic_int stop;        /* the test is done */
} proxy;

static bool read_full(int fd, void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, (uint8_t *)buf + got, n - got);
        if (r <= 0)
            return false;
        got += (size_t)r;
    }
    return true;
}

static void relay(int a, int b, atomic_int *stop)
{
    uint8_t buf[4096];
    while (!atomic_load(stop)) {
        struct pollfd p[2] = {{.fd = a, .events = POLLIN}, {.fd = b, .events = POLLIN}};
        if (poll(p, 2, 50) <= 0)
            continue;
        for (int i = 0; i < 2; i++) {
            if (!(p[i].revents & (POLLIN | POLLHUP)))
                continue;
            ssize_t n = read(p[i].fd, buf, sizeof(buf));
            if (n <= 0 || write(i == 0 ? b : a, buf, (size_t)n) != n)
                return;
        }
    }
}

/* Answers one connection as its mode says. */
static void proxy_serve(proxy *px, int cfd)
{
    uint8_t b[300];
    if (!read_full(cfd, b, 3) || b[0] != 5 || b[1] != 1 || b[2] != 0)
        return;
    if (px->mode == PROXY_NONSENSE) {
        /* Method accepted, then a reply claiming a 200-byte name that never ends. */
        static const uint8_t junk[] = {5, 0, 5, 0, 0, 3, 200, 'x'};
        (void)!write(cfd, junk, sizeof(junk));
        atomic_fetch_add(&px->served, 1);
        while (!atomic_load(&px->stop) && read(cfd, b, sizeof(b)) > 0)
            ;
        return;
    }
    (void)!write(cfd, "\x05\x00", 2);
    if (!read_full(cfd, b, 5))
        return;
    size_t rest = b[3] == 1 ? 3 + 2 : b[3] == 4 ? 15 + 2 : (size_t)b[4] + 2;
    if (!read_full(cfd, b + 5, rest))
        return;
    if (b[3] == 3) {
        memcpy(px->name, b + 5, b[4]);
        px->name[b[4]] = '\0';
    }
    atomic_store(&px->target_port, b[5 + rest - 2] << 8 | b[5 + rest - 1]);
    atomic_store(&px->atyp, b[3]);
    atomic_fetch_add(&px->served, 1);
    if (px->mode == PROXY_REFUSE) {
        static const uint8_t no[] = {5, 5, 0, 1, 0, 0, 0, 0, 0, 0};
        (void)!write(cfd, no, sizeof(no));
        return;
    }
    int rfd = tu_raw_connect(px->target_port);
    /* The reply names a domain (the longest form the reader must take whole). */
    uint8_t ok[4 + 1 + 9 + 2] = {5, 0, 0, 3, 9, 'l', 'o', 'c', 'a', 'l', 'h', 'o', 's', 't', 0, 1};
    (void)!write(cfd, ok, sizeof(ok));
    relay(cfd, rfd, &px->stop);
    close(rfd);
}

static void *proxy_main(void *arg)
{
    proxy *px = arg;
    while (!atomic_load(&px->stop)) {
        struct pollfd p = {.fd = px->lfd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int cfd = accept(px->lfd, NULL, NULL);
        if (cfd < 0)
            continue;
        proxy_serve(px, cfd);
        close(cfd);
    }
    return NULL;
}

static void proxy_start(proxy *px, int mode, pthread_t *t)
{
    memset(px, 0, sizeof(*px));
    px->mode = mode;
    px->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(px->lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    assert_int_equal(listen(px->lfd, 8), 0);
    socklen_t len = sizeof(sin);
    getsockname(px->lfd, (struct sockaddr *)&sin, &len);
    px->port = ntohs(sin.sin_port);
    assert_int_equal(pthread_create(t, NULL, proxy_main, px), 0);
}

static void proxy_stop(proxy *px, pthread_t t)
{
    atomic_store(&px->stop, 1);
    tu_join(t, 5000);
    close(px->lfd);
}

/* A PUSH through the proxy to a PULL at target (host part), port of pull's bind. */
static void through(proxy *px, const char *host, bool works)
{
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *pull = tu_sock(ctx, NM_PULL), *push = tu_sock(ctx, NM_PUSH);
    char ep[TU_EP_MAX], via[64], target[TU_EP_MAX];
    tu_bind_tcp(pull, ep, sizeof(ep));
    snprintf(via, sizeof(via), "127.0.0.1:%d", px->port);
    TU_OK(nm_sock_setopt(push, NM_SOCKS_PROXY, via, strlen(via)));
    size_t len = sizeof(target);
    TU_OK(nm_sock_getopt(push, NM_SOCKS_PROXY, target, &len));
    assert_string_equal(target, via);
    TU_OK(nm_sock_setopt_int(push, NM_RECONNECT_IVL, 50));
    TU_OK(nm_sock_setopt_int(push, NM_HANDSHAKE_IVL, 200)); /* a proxy that stalls */
    snprintf(target, sizeof(target), "tcp://%s:%d", host, tu_tcp_port(ep));
    TU_OK(nm_sock_connect(push, target));
    tu_send_str(push, "via socks");
    if (works) {
        tu_recv_str(pull, "via socks");
        assert_int_equal(atomic_load(&px->target_port), tu_tcp_port(ep));
    } else {
        tu_recv_none(pull, 400);
        assert_true(atomic_load(&px->served) >= 2); /* it tried again */
    }
    nm_sock_close(&push);
    nm_sock_close(&pull);
    tu_ctx_destroy(&ctx);
}

static void test_through_a_proxy(void **state)
{
    (void)state;
    proxy px;
    pthread_t t;
    proxy_start(&px, PROXY_RELAY, &t);
    through(&px, "127.0.0.1", true);
    assert_int_equal(atomic_load(&px.atyp), 1);
    through(&px, "localhost", true); /* a name goes to the proxy unresolved */
    assert_int_equal(atomic_load(&px.atyp), 3);
    assert_string_equal(px.name, "localhost");
    proxy_stop(&px, t);
}

static void test_refusing_and_hostile_proxies(void **state)
{
    (void)state;
    proxy px;
    pthread_t t;
    proxy_start(&px, PROXY_REFUSE, &t);
    through(&px, "127.0.0.1", false);
    proxy_stop(&px, t);
    proxy_start(&px, PROXY_NONSENSE, &t);
    through(&px, "127.0.0.1", false);
    proxy_stop(&px, t);
}

static void test_proxy_option(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *s = tu_sock(ctx, NM_PUSH);
    char big[200];
    memset(big, 'a', sizeof(big));
    TU_RC(nm_sock_setopt(s, NM_SOCKS_PROXY, big, sizeof(big)), -EINVAL);
    TU_RC(nm_sock_setopt(s, NM_SOCKS_PROXY, "a\0b", 3), -EINVAL);
    TU_OK(nm_sock_setopt(s, NM_SOCKS_PROXY, "127.0.0.1:1080", 14));
    /* A target a proxy cannot be asked for is refused at connect. */
    TU_RC(nm_sock_connect(s, "tcp://[h]:80"), -EINVAL);
    /* ipc ignores the proxy. */
    TU_OK(nm_sock_connect(s, "ipc:///nonexistent/socks-test"));
    TU_OK(nm_sock_setopt(s, NM_SOCKS_PROXY, "", 0));
    char v[8];
    size_t len = sizeof(v);
    TU_OK(nm_sock_getopt(s, NM_SOCKS_PROXY, v, &len));
    assert_int_equal(len, 1);
    assert_string_equal(v, "");
    nm_sock_close(&s);
    tu_ctx_destroy(&ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request),         cmocka_unit_test(test_replies),
        cmocka_unit_test(test_through_a_proxy), cmocka_unit_test(test_refusing_and_hostile_proxies),
        cmocka_unit_test(test_proxy_option),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
