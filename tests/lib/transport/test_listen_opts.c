/*
 * test_listen_opts.c - what a bind may be told about the connections it takes:
 * NM_USE_FD (listen on the application's descriptor, tcp and ipc), NM_TCP_ACCEPT_FILTER
 * (the networks peers may come from) and NM_IPC_FILTER_UID/GID/PID (the credentials an
 * ipc peer must show).  A refused peer is closed on accept, so nothing it sends arrives.
 */
#include <sys/stat.h>
#include <sys/un.h>

#include "../core/testutil.h"

/* A tcp socket bound to 127.0.0.1 on an ephemeral port and listening. */
static int listening_tcp(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = 0};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    assert_int_equal(listen(fd, 16), 0);
    socklen_t len = sizeof(sin);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
    *port = ntohs(sin.sin_port);
    return fd;
}

static void bounce(nm_sock_t *a, nm_sock_t *b)
{
    tu_send_str(a, "ping");
    tu_recv_str(b, "ping");
    tu_send_str(b, "pong");
    tu_recv_str(a, "pong");
}

static void test_use_fd_tcp(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *sb = tu_sock(ctx, NM_PAIR), *sc = tu_sock(ctx, NM_PAIR);
    int v = 0, port;
    TU_OK(nm_sock_getopt_int(sb, NM_USE_FD, &v));
    assert_int_equal(v, -1);
    TU_RC(nm_sock_setopt_int(sb, NM_USE_FD, -2), -EINVAL);
    int fd = listening_tcp(&port);
    TU_OK(nm_sock_setopt_int(sb, NM_USE_FD, fd));
    TU_OK(nm_sock_getopt_int(sb, NM_USE_FD, &v));
    assert_int_equal(v, fd);
    /* The endpoint's address is not used: the bound endpoint is the descriptor's. */
    TU_OK(nm_sock_bind(sb, "tcp://127.0.0.1:*"));
    char ep[TU_EP_MAX], want[TU_EP_MAX];
    tu_last_endpoint(sb, ep, sizeof(ep));
    snprintf(want, sizeof(want), "tcp://127.0.0.1:%d", port);
    assert_string_equal(ep, want);
    TU_OK(nm_sock_connect(sc, ep));
    bounce(sc, sb);
    nm_sock_close(&sc);
    nm_sock_close(&sb);
    tu_ctx_destroy(&ctx);
    /* The listener closed the descriptor. */
    assert_false(tu_tcp_listening("127.0.0.1", port));
}

static void test_use_fd_refuses_what_does_not_listen(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *sb = tu_sock(ctx, NM_PAIR);
    int port, fd = listening_tcp(&port);
    int plain = socket(AF_INET, SOCK_STREAM, 0); /* not listening */
    TU_OK(nm_sock_setopt_int(sb, NM_USE_FD, plain));
    TU_RC(nm_sock_bind(sb, "tcp://127.0.0.1:*"), -EINVAL);
    TU_OK(nm_sock_setopt_int(sb, NM_USE_FD, fd)); /* a tcp socket for ipc:// */
    TU_RC(nm_sock_bind(sb, "ipc:///nonexistent/x"), -EINVAL);
    nm_sock_close(&sb);
    tu_ctx_destroy(&ctx);
    close(plain);
    close(fd);
}

static void test_use_fd_ipc_leaves_the_path(void **state)
{
    (void)state;
    char dir[64], path[128], ep[TU_EP_MAX], want[TU_EP_MAX];
    tu_tmpdir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/app.sock", dir);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    strcpy(sun.sun_path, path);
    assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
    assert_int_equal(listen(fd, 16), 0);

    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *sb = tu_sock(ctx, NM_REP), *sc = tu_sock(ctx, NM_REQ);
    TU_OK(nm_sock_setopt_int(sb, NM_USE_FD, fd));
    TU_OK(nm_sock_bind(sb, "ipc://ignored"));
    tu_last_endpoint(sb, ep, sizeof(ep));
    snprintf(want, sizeof(want), "ipc://%s", path);
    assert_string_equal(ep, want);
    TU_OK(nm_sock_connect(sc, ep));
    bounce(sc, sb);
    nm_sock_close(&sc);
    nm_sock_close(&sb);
    tu_ctx_destroy(&ctx);
    /* The path is the application's: still there for it to remove. */
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    tu_tmpdir_remove(dir);
}

static void test_accept_filter_strings(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *s = tu_sock(ctx, NM_PAIR);
    static const char *const bad[] = {"foo",        "0.0.0.0foo",  "0.0.0.0/foo", "0.0.0.0/",
                                      "0.0.0.0/-1", "0.0.0.0/33",  "::1/129",     "1.2.3.4/ 8",
                                      "1.2.3.4/+8", "1.2.3.4/0008"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        TU_RC(nm_sock_setopt(s, NM_TCP_ACCEPT_FILTER, bad[i], strlen(bad[i])), -EINVAL);
    TU_OK(nm_sock_setopt(s, NM_TCP_ACCEPT_FILTER, "10.0.0.0/8", 10));
    TU_OK(nm_sock_setopt(s, NM_TCP_ACCEPT_FILTER, "::1", 3));
    TU_OK(nm_sock_setopt(s, NM_TCP_ACCEPT_FILTER, NULL, 0));
    int n = 0, rc = 0;
    while ((rc = nm_sock_setopt(s, NM_TCP_ACCEPT_FILTER, "1.2.3.4", 7)) == 0)
        n++;
    assert_int_equal(rc, -ENOMEM);
    assert_int_equal(n, NM_FILTERS_MAX);
    nm_sock_close(&s);
    tu_ctx_destroy(&ctx);
}

/* A PAIR bound to 127.0.0.1 with the filter, and whether a peer's message gets in. */
static bool tcp_filter_admits(const char *filter)
{
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *sb = tu_sock(ctx, NM_PAIR), *sc = tu_sock(ctx, NM_PAIR);
    if (filter != NULL)
        TU_OK(nm_sock_setopt(sb, NM_TCP_ACCEPT_FILTER, filter, strlen(filter)));
    char ep[TU_EP_MAX];
    tu_bind_tcp(sb, ep, sizeof(ep));
    TU_OK(nm_sock_setopt_int(sc, NM_RECONNECT_IVL, -1));
    TU_OK(nm_sock_connect(sc, ep));
    /* Queued on the pipe the connect made; once a refused connection has taken it
     * away (no reconnect), a send would wait for a peer forever. */
    int sent = nm_sock_send_bytes(sc, "hello", 5, NM_DONTWAIT);
    assert_true(sent == 0 || sent == -EAGAIN);
    TU_OK(nm_sock_setopt_int(sb, NM_RCVTIMEO, 300));
    nm_msg_t m;
    nm_msg_init(&m);
    int rc = nm_sock_recv(sb, &m, 0);
    nm_msg_close(&m);
    nm_sock_close(&sc);
    nm_sock_close(&sb);
    tu_ctx_destroy(&ctx);
    assert_true(rc == 0 || rc == -EAGAIN);
    return rc == 0;
}

static void test_accept_filter_tcp(void **state)
{
    (void)state;
    assert_true(tcp_filter_admits(NULL));
    assert_true(tcp_filter_admits("127.0.0.1"));
    assert_true(tcp_filter_admits("127.0.0.0/8"));
    assert_true(tcp_filter_admits("127.0.0.0/31"));
    assert_true(tcp_filter_admits("0.0.0.0/0"));
    assert_false(tcp_filter_admits("127.0.0.255/32"));
    assert_false(tcp_filter_admits("127.0.0.2/31"));
    assert_false(tcp_filter_admits("::1")); /* another family: no match */
}

/* An ipc PAIR with one filter opt set to val; whether a peer gets in. */
static bool ipc_filter_admits_v(int opt, const void *val, size_t len)
{
    char dir[64], ep[TU_EP_MAX];
    tu_tmpdir(dir, sizeof(dir));
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *sb = tu_sock(ctx, NM_PAIR), *sc = tu_sock(ctx, NM_PAIR);
    TU_OK(nm_sock_setopt(sb, opt, val, len));
    tu_bind_ipc(sb, dir, "f.sock", ep, sizeof(ep));
    TU_OK(nm_sock_setopt_int(sc, NM_RECONNECT_IVL, -1));
    TU_OK(nm_sock_connect(sc, ep));
    /* Queued on the pipe the connect made; once a refused connection has taken it
     * away (no reconnect), a send would wait for a peer forever. */
    int sent = nm_sock_send_bytes(sc, "hello", 5, NM_DONTWAIT);
    assert_true(sent == 0 || sent == -EAGAIN);
    TU_OK(nm_sock_setopt_int(sb, NM_RCVTIMEO, 300));
    nm_msg_t m;
    nm_msg_init(&m);
    int rc = nm_sock_recv(sb, &m, 0);
    nm_msg_close(&m);
    nm_sock_close(&sc);
    nm_sock_close(&sb);
    tu_ctx_destroy(&ctx);
    tu_tmpdir_remove(dir);
    assert_true(rc == 0 || rc == -EAGAIN);
    return rc == 0;
}

static bool ipc_filter_admits(int opt, int id)
{
    return ipc_filter_admits_v(opt, &id, sizeof(id));
}

static void test_ipc_filters(void **state)
{
    (void)state;
    assert_true(ipc_filter_admits(NM_IPC_FILTER_UID, (int)getuid()));
    assert_false(ipc_filter_admits(NM_IPC_FILTER_UID, (int)getuid() + 1));
    assert_true(ipc_filter_admits(NM_IPC_FILTER_GID, (int)getgid()));
    assert_true(ipc_filter_admits(NM_IPC_FILTER_PID, (int)getpid()));
    assert_false(ipc_filter_admits(NM_IPC_FILTER_PID, (int)getpid() + 1));
    /* A group no user is in: the peer's groups do not match. */
    assert_false(ipc_filter_admits(NM_IPC_FILTER_GID, 0x7ffffff0));
    /* A tcp filter leaves ipc binds alone; a value of the wrong size is refused. */
    assert_true(ipc_filter_admits_v(NM_TCP_ACCEPT_FILTER, "10.0.0.0/8", 10));
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *s = tu_sock(ctx, NM_PAIR);
    TU_RC(nm_sock_setopt(s, NM_IPC_FILTER_UID, "ab", 2), -EINVAL);
    TU_OK(nm_sock_setopt(s, NM_IPC_FILTER_UID, NULL, 0));
    nm_sock_close(&s);
    tu_ctx_destroy(&ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_use_fd_tcp),
        cmocka_unit_test(test_use_fd_refuses_what_does_not_listen),
        cmocka_unit_test(test_use_fd_ipc_leaves_the_path),
        cmocka_unit_test(test_accept_filter_strings),
        cmocka_unit_test(test_accept_filter_tcp),
        cmocka_unit_test(test_ipc_filters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
