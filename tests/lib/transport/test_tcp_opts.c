/*
 * test_tcp_opts.c - the transport options libzmq programs set (NM_SNDBUF, NM_RCVBUF,
 * NM_BACKLOG, NM_TOS, NM_TCP_KEEPALIVE_*, NM_TCP_MAXRT, NM_CONNECT_TIMEOUT, NM_IPV6,
 * NM_BINDTODEVICE) read back what was set and really reach the kernel: the test finds
 * nomid's connection among its own descriptors and asks the kernel.
 */
#include <dirent.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../core/testutil.h"

/* The descriptor of this process connected to 127.0.0.1:port, or -1. */
static int fd_connected_to(int port)
{
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    int found = -1;
    struct dirent *e;
    while (found < 0 && (e = readdir(d)) != NULL) {
        int fd = atoi(e->d_name);
        struct sockaddr_in sin;
        socklen_t len = sizeof(sin);
        if (fd > 2 && getpeername(fd, (struct sockaddr *)&sin, &len) == 0 &&
            sin.sin_family == AF_INET && ntohs(sin.sin_port) == port)
            found = fd;
    }
    closedir(d);
    return found;
}

static int sockopt_of(int fd, int level, int name)
{
    int v = -1;
    socklen_t len = sizeof(v);
    assert_int_equal(getsockopt(fd, level, name, &v, &len), 0);
    return v;
}

static void test_options_reach_the_kernel(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *pull = tu_sock(ctx, NM_PULL), *push = tu_sock(ctx, NM_PUSH);
    char ep[TU_EP_MAX];
    tu_bind_tcp(pull, ep, sizeof(ep));
    int port = atoi(strrchr(ep, ':') + 1);
    TU_OK(nm_sock_setopt_int(push, NM_SNDBUF, 65536));
    TU_OK(nm_sock_setopt_int(push, NM_TOS, 0x10));
    TU_OK(nm_sock_setopt_int(push, NM_TCP_KEEPALIVE, 1));
    TU_OK(nm_sock_setopt_int(push, NM_TCP_KEEPALIVE_CNT, 7));
    TU_OK(nm_sock_setopt_int(push, NM_TCP_KEEPALIVE_IDLE, 33));
    TU_OK(nm_sock_setopt_int(push, NM_TCP_KEEPALIVE_INTVL, 11));
    TU_OK(nm_sock_setopt_int(push, NM_TCP_MAXRT, 4000));
    TU_OK(nm_sock_setopt(push, NM_BINDTODEVICE, "lo", 2));
    int v = 0;
    TU_OK(nm_sock_getopt_int(push, NM_TCP_KEEPALIVE_IDLE, &v));
    assert_int_equal(v, 33);
    char dev[16];
    size_t len = sizeof(dev);
    TU_OK(nm_sock_getopt(push, NM_BINDTODEVICE, dev, &len));
    assert_string_equal(dev, "lo");
    TU_OK(nm_sock_connect(push, ep));
    tu_send_str(push, "tuned");
    tu_recv_strs(pull, 1, "tuned");

    int fd = fd_connected_to(port);
    assert_true(fd >= 0);
    assert_true(sockopt_of(fd, SOL_SOCKET, SO_SNDBUF) >= 65536); /* the kernel doubles it */
    assert_int_equal(sockopt_of(fd, IPPROTO_IP, IP_TOS), 0x10);
    assert_int_equal(sockopt_of(fd, SOL_SOCKET, SO_KEEPALIVE), 1);
    assert_int_equal(sockopt_of(fd, IPPROTO_TCP, TCP_KEEPCNT), 7);
    assert_int_equal(sockopt_of(fd, IPPROTO_TCP, TCP_KEEPIDLE), 33);
    assert_int_equal(sockopt_of(fd, IPPROTO_TCP, TCP_KEEPINTVL), 11);
    assert_int_equal(sockopt_of(fd, IPPROTO_TCP, TCP_USER_TIMEOUT), 4000);
    char got[16] = "";
    socklen_t glen = sizeof(got);
    assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, got, &glen), 0);
    assert_string_equal(got, "lo");

    TU_RC(nm_sock_setopt_int(push, NM_TOS, 256), -EINVAL);
    TU_RC(nm_sock_setopt_int(push, NM_BACKLOG, -1), -EINVAL);
    TU_RC(nm_sock_setopt(push, NM_BINDTODEVICE, "a-name-far-too-long", 19), -EINVAL);
    nm_sock_t *bad = tu_sock(ctx, NM_PULL);
    TU_OK(nm_sock_setopt(bad, NM_BINDTODEVICE, "nomid-none0", 11));
    TU_RC(nm_sock_bind(bad, "tcp://127.0.0.1:0"), -ENODEV);
    nm_sock_close(&bad);
    nm_sock_close(&push);
    nm_sock_close(&pull);
    tu_ctx_destroy(&ctx);
}

static void test_ipv6_dual_stack(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *pull = tu_sock(ctx, NM_PULL);
    TU_OK(nm_sock_setopt_int(pull, NM_IPV6, 1));
    TU_OK(nm_sock_bind(pull, "tcp://*:0"));
    char ep[TU_EP_MAX], v4[TU_EP_MAX + 16], v6[TU_EP_MAX + 16];
    tu_last_endpoint(pull, ep, sizeof(ep));
    int port = 0;
    assert_int_equal(sscanf(ep, "tcp://[::]:%d", &port), 1);
    snprintf(v4, sizeof(v4), "tcp://127.0.0.1:%d", port);
    snprintf(v6, sizeof(v6), "tcp://[::1]:%d", port);
    for (int i = 0; i < 2; i++) {
        nm_sock_t *push = tu_sock(ctx, NM_PUSH);
        TU_OK(nm_sock_connect(push, i == 0 ? v4 : v6));
        tu_send_str(push, i == 0 ? "over v4" : "over v6");
        tu_recv_strs(pull, 1, i == 0 ? "over v4" : "over v6");
        nm_sock_close(&push);
    }
    nm_sock_close(&pull);
    tu_ctx_destroy(&ctx);
}

static int timeouts; /* "Connection timed out" lines logged */

static void log_cb(void *arg, int level, const char *component, const char *message)
{
    (void)arg;
    (void)level;
    (void)component;
    if (strstr(message, "still trying to connect") && strstr(message, "timed out"))
        __atomic_add_fetch(&timeouts, 1, __ATOMIC_RELAXED);
}

/* A listener whose accept queue is full drops new SYNs: the connect hangs until
 * NM_CONNECT_TIMEOUT gives it up and tries again (all on loopback). */
static void test_connect_timeout(void **state)
{
    (void)state;
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sin);
    assert_int_equal(bind(lfd, (struct sockaddr *)&sin, len), 0);
    assert_int_equal(listen(lfd, 0), 0);
    assert_int_equal(getsockname(lfd, (struct sockaddr *)&sin, &len), 0);
    int fill[2];
    for (int i = 0; i < 2; i++) { /* backlog 0 still queues one; then the queue is full */
        fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        connect(fill[i], (struct sockaddr *)&sin, len);
    }
    tu_sleep_ms(50);
    nm_ctx_t *ctx = tu_ctx();
    nm_ctx_set_log(ctx, log_cb, NULL, NM_LOG_WARN);
    nm_sock_t *push = tu_sock(ctx, NM_PUSH);
    TU_OK(nm_sock_setopt_int(push, NM_CONNECT_TIMEOUT, 100));
    TU_OK(nm_sock_setopt_int(push, NM_RECONNECT_IVL, 10));
    char ep[64];
    snprintf(ep, sizeof(ep), "tcp://127.0.0.1:%d", ntohs(sin.sin_port));
    TU_OK(nm_sock_connect(push, ep));
    int64_t deadline = tu_now_ms() + 3000;
    while (__atomic_load_n(&timeouts, __ATOMIC_RELAXED) == 0 && tu_now_ms() < deadline)
        tu_sleep_ms(20);
    assert_true(__atomic_load_n(&timeouts, __ATOMIC_RELAXED) > 0);
    nm_sock_close(&push);
    tu_ctx_destroy(&ctx);
    close(fill[0]);
    close(fill[1]);
    close(lfd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_options_reach_the_kernel),
        cmocka_unit_test(test_ipv6_dual_stack),
        cmocka_unit_test(test_connect_timeout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
