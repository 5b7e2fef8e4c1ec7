/*
 * test_sock_connect.c - connection life cycle: connect before bind, reconnecting to a
 * new peer on the same endpoint after the old one closed, and MAXMSGSIZE closing only
 * the connection that broke it.
 */
#include "testutil.h"

/* Messages sent before anybody listens queue in the pipe and arrive, in order, once a
 * PULL binds the endpoint. */
static void connect_before_bind(const char *ep)
{
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *push = tu_sock(ctx, NM_PUSH);
    int imm = -1;
    TU_OK(nm_sock_getopt_int(push, NM_IMMEDIATE, &imm));
    assert_int_equal(imm, 0);
    TU_OK(nm_sock_connect(push, ep));
    char buf[16];
    for (int i = 0; i < 5; i++) {
        snprintf(buf, sizeof(buf), "early-%d", i);
        TU_OK(nm_sock_send_bytes(push, buf, strlen(buf), NM_DONTWAIT));
    }
    tu_sleep_ms(150); /* at least one refused connection attempt */
    nm_sock_t *pull = tu_sock(ctx, NM_PULL);
    TU_OK(nm_sock_bind(pull, ep));
    for (int i = 0; i < 5; i++) {
        snprintf(buf, sizeof(buf), "early-%d", i);
        tu_recv_str(pull, buf);
    }
    tu_send_str(push, "late");
    tu_recv_str(pull, "late");
    tu_recv_none(pull, 50);
    tu_ctx_destroy(&ctx);
}

static void test_connect_before_bind_tcp(void **state)
{
    (void)state;
    char ep[TU_EP_MAX];
    snprintf(ep, sizeof(ep), "tcp://127.0.0.1:%d", tu_free_tcp_port());
    connect_before_bind(ep);
}

static void test_connect_before_bind_ipc(void **state)
{
    (void)state;
    char dir[64], ep[TU_EP_MAX];
    tu_tmpdir(dir, sizeof(dir));
    snprintf(ep, sizeof(ep), "ipc://%s/late.sock", dir);
    connect_before_bind(ep);
    tu_tmpdir_remove(dir);
}

/* Binds ep, retrying while the previous owner's listener is still being closed. */
static void bind_retry(nm_sock_t *s, const char *ep)
{
    int64_t deadline = tu_now_ms() + TU_RCVTIMEO;
    int rc;
    while ((rc = nm_sock_bind(s, ep)) == -EADDRINUSE && tu_now_ms() < deadline)
        tu_sleep_ms(10);
    TU_OK(rc);
}

static void reconnect(const char *bind_ep)
{
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *pull = tu_sock(ctx, NM_PULL);
    nm_sock_t *push = tu_sock(ctx, NM_PUSH);
    char ep[TU_EP_MAX];
    TU_OK(nm_sock_bind(pull, bind_ep));
    tu_last_endpoint(pull, ep, sizeof(ep));
    TU_OK(nm_sock_connect(push, ep));
    tu_send_str(push, "before");
    tu_recv_str(pull, "before");

    nm_sock_close(&pull);
    assert_null(pull);
    /* Let the old listener go first: closing it removes an ipc path, which must not be
     * the new listener's. */
    tu_wait_gone(ctx, NM_PULL);
    pull = tu_sock(ctx, NM_PULL);
    bind_retry(pull, ep);

    /* Probe until the PUSH has found the new PULL. */
    int64_t deadline = tu_now_ms() + 5000;
    nm_msg_t m;
    nm_msg_init(&m);
    for (;;) {
        int rc = nm_sock_send_bytes(push, "probe", 5, NM_DONTWAIT);
        if (rc != 0)
            TU_RC(rc, -EAGAIN);
        tu_sleep_ms(20);
        rc = nm_sock_recv(pull, &m, NM_DONTWAIT);
        if (rc == 0)
            break;
        TU_RC(rc, -EAGAIN);
        if (tu_now_ms() > deadline)
            fail_msg("no message reached the new PULL within 5 s");
    }
    tu_assert_strs(&m, 1, "probe");
    nm_msg_close(&m);

    /* Later messages all arrive, in order (stray probes may come first). */
    char buf[16];
    for (int i = 0; i < 20; i++) {
        snprintf(buf, sizeof(buf), "seq-%d", i);
        tu_send_str(push, buf);
    }
    int next = 0;
    while (next < 20) {
        tu_recv(pull, &m);
        assert_int_equal(nm_msg_count(&m), 1);
        if (nm_msg_size(&m, 0) == 5 && memcmp(nm_msg_data(&m, 0), "probe", 5) == 0) {
            assert_int_equal(next, 0);
        } else {
            snprintf(buf, sizeof(buf), "seq-%d", next);
            tu_assert_frame(&m, 0, buf);
            next++;
        }
        nm_msg_close(&m);
    }
    tu_recv_none(pull, 50);
    tu_ctx_destroy(&ctx);
}

static void test_reconnect_tcp(void **state)
{
    (void)state;
    reconnect("tcp://127.0.0.1:0");
}

static void test_reconnect_ipc(void **state)
{
    (void)state;
    char dir[64], ep[TU_EP_MAX];
    tu_tmpdir(dir, sizeof(dir));
    snprintf(ep, sizeof(ep), "ipc://%s/re.sock", dir);
    reconnect(ep);
    tu_tmpdir_remove(dir);
}

/* A reconnect interval of -1 means never reconnect: after the PULL goes away and a new
 * one binds, nothing reaches it. */
static void test_reconnect_disabled(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *pull = tu_sock(ctx, NM_PULL);
    nm_sock_t *push = tu_sock(ctx, NM_PUSH);
    TU_OK(nm_sock_setopt_int(push, NM_RECONNECT_IVL, -1));
    char ep[TU_EP_MAX];
    tu_bind_tcp(pull, ep, sizeof(ep));
    TU_OK(nm_sock_connect(push, ep));
    tu_send_str(push, "before");
    tu_recv_str(pull, "before");
    nm_sock_close(&pull);
    tu_wait_gone(ctx, NM_PULL);
    pull = tu_sock(ctx, NM_PULL);
    bind_retry(pull, ep);
    tu_sleep_ms(300);
    for (int i = 0; i < 5; i++) {
        int rc = nm_sock_send_bytes(push, "lost", 4, NM_DONTWAIT);
        if (rc != 0)
            TU_RC(rc, -EAGAIN);
    }
    tu_recv_none(pull, 300);
    tu_ctx_destroy(&ctx);
}

static void test_maxmsgsize(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *pull = tu_sock(ctx, NM_PULL);
    TU_OK(nm_sock_setopt_int(pull, NM_MAXMSGSIZE, 100));
    int v = 0;
    TU_OK(nm_sock_getopt_int(pull, NM_MAXMSGSIZE, &v));
    assert_int_equal(v, 100);
    char ep[TU_EP_MAX];
    tu_bind_tcp(pull, ep, sizeof(ep));

    uint8_t buf[101];
    memset(buf, 'a', sizeof(buf));
    nm_sock_t *a = tu_sock(ctx, NM_PUSH);
    TU_OK(nm_sock_connect(a, ep));
    /* Exactly the limit: accepted, twice (also as a two-frame message of 100 + 100). */
    TU_OK(nm_sock_send_bytes(a, buf, 100, 0));
    nm_msg_t m;
    tu_recv(pull, &m);
    tu_assert_frame_mem(&m, 0, buf, 100);
    nm_msg_close(&m);
    nm_msg_init(&m);
    TU_OK(nm_msg_add(&m, buf, 100));
    TU_OK(nm_msg_add(&m, buf, 100));
    TU_OK(nm_sock_send(a, &m, 0));
    tu_recv(pull, &m);
    assert_int_equal(nm_msg_count(&m), 2);
    nm_msg_close(&m);

    /* One byte over: that connection is closed and the message never delivered. */
    memset(buf, 'X', sizeof(buf));
    TU_OK(nm_sock_send_bytes(a, buf, 101, 0));
    tu_sleep_ms(100);

    /* Another peer's connection is unaffected. */
    nm_sock_t *b = tu_sock(ctx, NM_PUSH);
    TU_OK(nm_sock_connect(b, ep));
    tu_send_str(b, "from-b");
    tu_recv_str(pull, "from-b");
    tu_send_str(b, "from-b again");
    tu_recv_str(pull, "from-b again");
    tu_recv_none(pull, 300);

    /* The first PUSH reconnects, and its later small messages get through again. */
    tu_send_str(a, "a-after");
    tu_recv_str(pull, "a-after");
    tu_recv_none(pull, 50);
    tu_ctx_destroy(&ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connect_before_bind_tcp),
        cmocka_unit_test(test_connect_before_bind_ipc),
        cmocka_unit_test(test_reconnect_tcp),
        cmocka_unit_test(test_reconnect_ipc),
        cmocka_unit_test(test_reconnect_disabled),
        cmocka_unit_test(test_maxmsgsize),
    };
    return cmocka_run_group_tests_name("sock_connect", tests, NULL, NULL);
}
