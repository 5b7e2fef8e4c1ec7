/*
 * test_sock_stream.c - STREAM sockets: raw TCP with routing ids.  A plain TCP client
 * connects: the socket reports [id, ""]; bytes it sends arrive as [id, data]; [id, data]
 * sent back arrives as raw bytes; [id, ""] closes the connection; the client's close is
 * reported as [id, ""] again.
 */
#include "testutil.h"

static int stream_client(const char *ep)
{
    int port = atoi(strrchr(ep, ':') + 1);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET,
                              .sin_port = htons((uint16_t)port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

static void test_stream_server(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *s = tu_sock(ctx, NM_STREAM);
    char ep[TU_EP_MAX];
    tu_bind_tcp(s, ep, sizeof(ep));
    int fd = stream_client(ep);

    nm_msg_t m;
    tu_recv(s, &m);
    assert_int_equal(nm_msg_count(&m), 2);
    assert_int_equal(nm_msg_size(&m, 1), 0); /* connected */
    size_t idlen = nm_msg_size(&m, 0);
    uint8_t id[16];
    assert_true(idlen > 0 && idlen <= sizeof(id));
    memcpy(id, nm_msg_data(&m, 0), idlen);
    nm_msg_close(&m);

    assert_int_equal(write(fd, "hello", 5), 5);
    tu_recv(s, &m);
    tu_assert_frame_mem(&m, 0, id, idlen);
    tu_assert_frame(&m, 1, "hello");
    nm_msg_close(&m);

    nm_msg_init(&m);
    TU_OK(nm_msg_add(&m, id, idlen));
    TU_OK(nm_msg_add(&m, "raw reply", 9));
    TU_OK(nm_sock_send(s, &m, 0));
    char buf[32];
    assert_int_equal(read(fd, buf, sizeof(buf)), 9);
    assert_memory_equal(buf, "raw reply", 9);

    /* [id, ""] closes the connection from our side. */
    TU_OK(nm_msg_add(&m, id, idlen));
    TU_OK(nm_msg_add(&m, "", 0));
    TU_OK(nm_sock_send(s, &m, 0));
    assert_int_equal(read(fd, buf, sizeof(buf)), 0);
    close(fd);
    tu_recv(s, &m);
    tu_assert_frame_mem(&m, 0, id, idlen);
    assert_int_equal(nm_msg_size(&m, 1), 0); /* disconnected */
    nm_msg_close(&m);
    tu_ctx_destroy(&ctx);
}

static void test_stream_peer_closes(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *s = tu_sock(ctx, NM_STREAM);
    char ep[TU_EP_MAX];
    tu_bind_tcp(s, ep, sizeof(ep));
    int fd = stream_client(ep);
    nm_msg_t m;
    tu_recv(s, &m); /* connected */
    nm_msg_close(&m);
    assert_int_equal(write(fd, "bye", 3), 3);
    close(fd);
    tu_recv(s, &m);
    tu_assert_frame(&m, 1, "bye");
    nm_msg_close(&m);
    tu_recv(s, &m);
    assert_int_equal(nm_msg_size(&m, 1), 0); /* disconnected, after the data */
    nm_msg_close(&m);
    tu_ctx_destroy(&ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stream_server),
        cmocka_unit_test(test_stream_peer_closes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
