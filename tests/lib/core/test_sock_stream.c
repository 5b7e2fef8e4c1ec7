/*
 * test_sock_stream.c - STREAM sockets: raw TCP with routing ids.  A plain TCP client
 * connects: the socket reports [id, ""]; bytes it sends arrive as [id, data]; [id, data]
 * sent back arrives as raw bytes; [id, ""] closes the connection, and as in libzmq the
 * socket that closed it is told nothing more; the client's own close is reported as
 * [id, ""] again.  As in libzmq, NM_ROUTING_ID reads back the id given to the latest
 * peer, and a message for an unknown id fails with -EHOSTUNREACH.
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

    uint8_t own[256];
    size_t ownlen = sizeof(own);
    TU_OK(nm_sock_getopt(s, NM_ROUTING_ID, own, &ownlen));
    assert_int_equal(ownlen, idlen); /* the id it gave its latest peer */
    assert_memory_equal(own, id, idlen);
    TU_OK(nm_msg_add(&m, "\0nope", 5));
    TU_OK(nm_msg_add(&m, "x", 1));
    TU_RC(nm_sock_send(s, &m, NM_DONTWAIT), -EHOSTUNREACH);
    TU_RC(nm_sock_send_ready(s, "\0nope", 5, NM_DONTWAIT), -EHOSTUNREACH);
    nm_msg_close(&m);

    /* [id, ""] closes the connection from our side: no [id, ""] comes back. */
    TU_OK(nm_msg_add(&m, id, idlen));
    TU_OK(nm_msg_add(&m, "", 0));
    TU_OK(nm_sock_send(s, &m, 0));
    assert_int_equal(read(fd, buf, sizeof(buf)), 0);
    close(fd);
    tu_recv_none(s, 200);
    tu_ctx_destroy(&ctx);
}

/* A STREAM connecting to a STREAM: each reads back the other's id as its own
 * NM_ROUTING_ID; the connecter closes with [id, ""] and is not told of it (nor does it
 * reconnect), while the binder is. */
static void test_stream_to_stream(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *server = tu_sock(ctx, NM_STREAM), *client = tu_sock(ctx, NM_STREAM);
    TU_OK(nm_sock_setopt_int(client, NM_RECONNECT_IVL, 50));
    char ep[TU_EP_MAX];
    tu_bind_tcp(server, ep, sizeof(ep));
    TU_OK(nm_sock_connect(client, ep));
    nm_msg_t m;
    tu_recv(server, &m); /* connected */
    nm_msg_close(&m);
    tu_recv(client, &m);
    assert_int_equal(nm_msg_size(&m, 1), 0);
    uint8_t id[256];
    size_t idlen = sizeof(id);
    TU_OK(nm_sock_getopt(client, NM_ROUTING_ID, id, &idlen));
    tu_assert_frame_mem(&m, 0, id, idlen);
    nm_msg_close(&m);

    TU_OK(nm_msg_add(&m, id, idlen));
    TU_OK(nm_msg_add(&m, "GET /", 5));
    TU_OK(nm_sock_send(client, &m, 0));
    tu_recv(server, &m);
    tu_assert_frame(&m, 1, "GET /");
    nm_msg_close(&m);

    TU_OK(nm_msg_add(&m, id, idlen));
    TU_OK(nm_msg_add(&m, "", 0));
    TU_OK(nm_sock_send(client, &m, 0));
    tu_recv(server, &m);
    assert_int_equal(nm_msg_size(&m, 1), 0); /* the binder is told */
    nm_msg_close(&m);
    tu_recv_none(client, 300); /* the connecter is not, and did not reconnect */
    tu_recv_none(server, 50);
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
        cmocka_unit_test(test_stream_to_stream),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
