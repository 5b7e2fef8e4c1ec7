/*
 * test_pattern_opts.c - the pattern options libzmq programs use, over tcp:
 * NM_XPUB_VERBOSER, NM_PROBE_ROUTER, NM_STREAM_NOTIFY, NM_CONNECT_ROUTING_ID,
 * NM_XPUB_WELCOME_MSG, NM_INVERT_MATCHING, NM_XPUB_NODROP, NM_CONFLATE,
 * NM_ROUTER_HANDOVER, NM_XPUB_MANUAL, and XPUB_VERBOSE's report of repeated subscribes.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "testutil.h"

static void test_xpub_verboser(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *xpub = tu_sock(ctx, NM_XPUB), *a = tu_sock(ctx, NM_SUB), *b = tu_sock(ctx, NM_SUB);
    TU_OK(nm_sock_setopt_int(xpub, NM_XPUB_VERBOSER, 1));
    char ep[TU_EP_MAX];
    tu_bind_tcp(xpub, ep, sizeof(ep));
    TU_OK(nm_sock_connect(a, ep));
    TU_OK(nm_sock_connect(b, ep));
    TU_OK(nm_sock_setopt(a, NM_SUBSCRIBE, "t", 1));
    tu_recv_strs(xpub, 1, "\x01t");
    TU_OK(nm_sock_setopt(b, NM_SUBSCRIBE, "t", 1));
    tu_recv_strs(xpub, 1, "\x01t"); /* verbose: the second subscribe too */
    TU_OK(nm_sock_setopt(a, NM_UNSUBSCRIBE, "t", 1));
    nm_msg_t m; /* verboser: a cancel while b still holds it */
    nm_msg_init(&m);
    tu_recv(xpub, &m);
    tu_assert_frame_mem(&m, 0, "\x00t", 2);
    nm_msg_close(&m);
    nm_sock_close(&a);
    nm_sock_close(&b);
    nm_sock_close(&xpub);
    tu_ctx_destroy(&ctx);
}

static void test_probe_router(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *router = tu_sock(ctx, NM_ROUTER), *dealer = tu_sock(ctx, NM_DEALER);
    char ep[TU_EP_MAX];
    tu_bind_tcp(router, ep, sizeof(ep));
    tu_set_id(dealer, "prober");
    TU_OK(nm_sock_setopt_int(dealer, NM_PROBE_ROUTER, 1));
    TU_OK(nm_sock_connect(dealer, ep));
    tu_recv_strs(router, 2, "prober", ""); /* the probe, before anything was sent */
    nm_sock_close(&dealer);
    nm_sock_close(&router);
    tu_ctx_destroy(&ctx);
}

static void test_stream_notify_off(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *stream = tu_sock(ctx, NM_STREAM);
    TU_OK(nm_sock_setopt_int(stream, NM_STREAM_NOTIFY, 0));
    char ep[TU_EP_MAX];
    tu_bind_tcp(stream, ep, sizeof(ep));
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(atoi(strrchr(ep, ':') + 1))};
    inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    assert_int_equal(write(fd, "raw", 3), 3);
    nm_msg_t m;
    nm_msg_init(&m);
    tu_recv(stream, &m);
    assert_int_equal(nm_msg_count(&m), 2);
    tu_assert_frame(&m, 1, "raw"); /* no empty "connected" message first */
    nm_msg_close(&m);
    close(fd);
    tu_recv_none(stream, 200); /* nor a "disconnected" one */
    nm_sock_close(&stream);
    tu_ctx_destroy(&ctx);
}

static void test_connect_routing_id(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *server = tu_sock(ctx, NM_ROUTER), *client = tu_sock(ctx, NM_ROUTER);
    char ep[TU_EP_MAX];
    tu_bind_tcp(server, ep, sizeof(ep));
    tu_set_id(client, "client");
    TU_OK(nm_sock_setopt(client, NM_CONNECT_ROUTING_ID, "srv", 3));
    TU_OK(nm_sock_setopt_int(client, NM_ROUTER_MANDATORY, 1));
    TU_OK(nm_sock_connect(client, ep));
    assert_int_equal(nm_sock_wait_peers(client, 1, 5000), 1);
    tu_send_strs(client, 2, "srv", "hello"); /* addressed by the id we chose */
    tu_recv_strs(server, 2, "client", "hello");
    TU_RC(nm_sock_setopt(server, NM_CONNECT_ROUTING_ID, "x", 1), 0);
    nm_sock_t *pub = tu_sock(ctx, NM_PUB);
    TU_RC(nm_sock_setopt(pub, NM_CONNECT_ROUTING_ID, "x", 1), -EINVAL); /* ROUTER, STREAM */
    nm_sock_close(&pub);
    nm_sock_close(&client);
    nm_sock_close(&server);
    tu_ctx_destroy(&ctx);
}

static void test_xpub_welcome_msg(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *xpub = tu_sock(ctx, NM_XPUB), *sub = tu_sock(ctx, NM_SUB);
    TU_OK(nm_sock_setopt(xpub, NM_XPUB_WELCOME_MSG, "W", 1));
    char ep[TU_EP_MAX];
    tu_bind_tcp(xpub, ep, sizeof(ep));
    TU_OK(nm_sock_setopt(sub, NM_SUBSCRIBE, "W", 1));
    TU_OK(nm_sock_connect(sub, ep));
    tu_recv_strs(xpub, 1, "\x01W"); /* the XPUB takes its new subscriber in a call */
    tu_recv_strs(sub, 1, "W");
    nm_sock_close(&sub);
    nm_sock_close(&xpub);
    tu_ctx_destroy(&ctx);
}

static void test_invert_matching(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *pub = tu_sock(ctx, NM_PUB), *sub = tu_sock(ctx, NM_SUB);
    TU_OK(nm_sock_setopt_int(pub, NM_INVERT_MATCHING, 1));
    TU_OK(nm_sock_setopt_int(sub, NM_INVERT_MATCHING, 1));
    char ep[TU_EP_MAX];
    tu_bind_tcp(pub, ep, sizeof(ep));
    TU_OK(nm_sock_setopt(sub, NM_SUBSCRIBE, "a", 1));
    TU_OK(nm_sock_connect(sub, ep));
    assert_int_equal(nm_sock_wait_peers(pub, 1, 5000), 1);
    tu_sleep_ms(100); /* the subscription travels */
    tu_send_str(pub, "a-skipped");
    tu_send_str(pub, "b-delivered");
    tu_recv_strs(sub, 1, "b-delivered");
    tu_recv_none(sub, 100);
    nm_sock_close(&sub);
    nm_sock_close(&pub);
    tu_ctx_destroy(&ctx);
}

static void test_xpub_nodrop(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *pub = tu_sock(ctx, NM_PUB), *sub = tu_sock(ctx, NM_SUB);
    TU_OK(nm_sock_setopt_int(pub, NM_XPUB_NODROP, 1));
    TU_OK(nm_sock_setopt_int(pub, NM_SNDHWM, 2));
    TU_OK(nm_sock_setopt_int(sub, NM_RCVHWM, 2));
    TU_OK(nm_sock_setopt(sub, NM_SUBSCRIBE, "", 0));
    TU_OK(nm_sock_bind(pub, "inproc://nodrop"));
    TU_OK(nm_sock_connect(sub, "inproc://nodrop"));
    tu_sleep_ms(50); /* the subscription reaches the PUB */
    int sent = 0, rc;
    while ((rc = nm_sock_send_bytes(pub, "m", 1, NM_DONTWAIT)) == 0)
        sent++;
    TU_RC(rc, -EAGAIN); /* full: the sender is told, nothing is dropped */
    assert_true(sent >= 2);
    for (int i = 0; i < sent; i++)
        tu_recv_strs(sub, 1, "m");
    TU_OK(nm_sock_send_bytes(pub, "after", 5, 0)); /* room again */
    tu_recv_strs(sub, 1, "after");
    assert_int_equal(tu_totals_of(ctx, NM_PUB).drops, 0);
    nm_sock_close(&sub);
    nm_sock_close(&pub);
    tu_ctx_destroy(&ctx);
}

static void test_conflate(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *pull = tu_sock(ctx, NM_PULL), *push = tu_sock(ctx, NM_PUSH);
    int v = -1;
    TU_OK(nm_sock_setopt_int(pull, NM_CONFLATE, 1));
    TU_OK(nm_sock_getopt_int(pull, NM_CONFLATE, &v));
    assert_int_equal(v, 1);
    TU_RC(nm_sock_setopt_int(push, NM_CONFLATE, 1), -EINVAL); /* sends are not conflated */
    char ep[TU_EP_MAX];
    tu_bind_tcp(pull, ep, sizeof(ep));
    TU_OK(nm_sock_connect(push, ep));
    tu_wait_active(ctx, NM_PULL, 1);
    for (int i = 0; i < 20; i++) {
        char text[8];
        snprintf(text, sizeof(text), "m%d", i);
        tu_send_strs(push, 2, text, "x"); /* whole messages are kept, all their frames */
    }
    int64_t deadline = tu_now_ms() + TU_RCVTIMEO;
    while (tu_totals_of(ctx, NM_PULL).drops < 19) { /* each replaced one is counted */
        assert_true(tu_now_ms() < deadline);
        tu_sleep_ms(5);
    }
    tu_totals t = tu_totals_of(ctx, NM_PULL);
    assert_int_equal(t.drops, 19);
    assert_int_equal(t.queued_in, 1);
    tu_recv_strs(pull, 2, "m19", "x");
    tu_recv_none(pull, 100);
    tu_send_str(push, "next"); /* and the pipe goes on */
    tu_recv_str(pull, "next");
    nm_sock_close(&push);
    nm_sock_close(&pull);
    tu_ctx_destroy(&ctx);
}

/* inproc: the sender puts each message in place of the waiting one (its HWM does not
 * apply); what it queued before the bind gives the newest of it. */
static void test_conflate_inproc(void **state)
{
    (void)state;
    for (int connect_first = 0; connect_first < 2; connect_first++) {
        nm_ctx_t *ctx = tu_ctx();
        nm_sock_t *pull = tu_sock(ctx, NM_PULL), *push = tu_sock(ctx, NM_PUSH);
        TU_OK(nm_sock_setopt_int(pull, NM_CONFLATE, 1));
        TU_OK(nm_sock_setopt_int(push, NM_SNDHWM, 2));
        if (connect_first) {
            TU_OK(nm_sock_connect(push, "inproc://conflate"));
            tu_send_str(push, "early0");
            tu_send_str(push, "early1");
            TU_OK(nm_sock_bind(pull, "inproc://conflate"));
            tu_recv_str(pull, "early1");
        } else {
            TU_OK(nm_sock_bind(pull, "inproc://conflate"));
            TU_OK(nm_sock_connect(push, "inproc://conflate"));
        }
        for (int i = 0; i < 20; i++) {
            char text[8];
            snprintf(text, sizeof(text), "m%d", i);
            TU_OK(nm_sock_send_bytes(push, text, strlen(text), NM_DONTWAIT));
        }
        tu_recv_str(pull, "m19");
        tu_recv_none(pull, 50);
        nm_sock_close(&push);
        nm_sock_close(&pull);
        tu_ctx_destroy(&ctx);
    }
}

static void test_router_handover(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *router = tu_sock(ctx, NM_ROUTER), *d1 = tu_sock(ctx, NM_DEALER),
              *d2 = tu_sock(ctx, NM_DEALER);
    char ep[TU_EP_MAX];
    tu_bind_tcp(router, ep, sizeof(ep));
    int v = -1;
    TU_OK(nm_sock_setopt_int(router, NM_ROUTER_HANDOVER, 1)); /* after the bind: at once */
    TU_OK(nm_sock_getopt_int(router, NM_ROUTER_HANDOVER, &v));
    assert_int_equal(v, 1);
    TU_RC(nm_sock_setopt_int(d1, NM_ROUTER_HANDOVER, 1), -EINVAL);
    tu_set_id(d1, "X");
    tu_set_id(d2, "X");
    TU_OK(nm_sock_connect(d1, ep));
    tu_send_str(d1, "one");
    tu_recv_strs(router, 2, "X", "one");
    TU_OK(nm_sock_connect(d2, ep));
    tu_send_str(d2, "two");
    tu_recv_strs(router, 2, "X", "two"); /* not refused */
    tu_send_strs(router, 2, "X", "back");
    tu_recv_str(d2, "back"); /* the newcomer holds the routing id */
    tu_recv_none(d1, 200);
    nm_sock_close(&d1);
    nm_sock_close(&d2);
    nm_sock_close(&router);
    tu_ctx_destroy(&ctx);
}

static void test_xpub_manual(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *xpub = tu_sock(ctx, NM_XPUB), *xsub = tu_sock(ctx, NM_XSUB);
    TU_RC(nm_sock_setopt(xpub, NM_SUBSCRIBE, "A", 1), -EINVAL); /* not without the option */
    TU_OK(nm_sock_setopt_int(xpub, NM_XPUB_MANUAL, 1));
    char ep[TU_EP_MAX];
    tu_bind_tcp(xpub, ep, sizeof(ep));
    TU_OK(nm_sock_connect(xsub, ep));
    tu_send_str(xsub, "\x01"
                      "A");
    tu_recv_str(xpub, "\x01"
                      "A");
    tu_send_str(xsub, "\x01"
                      "A"); /* every one is handed on */
    tu_recv_str(xpub, "\x01"
                      "A");
    TU_OK(nm_sock_setopt(xpub, NM_SUBSCRIBE, "B", 1)); /* for the subscriber of the last */
    tu_send_str(xpub, "Ahello");
    tu_send_str(xpub, "Bhello");
    tu_recv_str(xsub, "Bhello"); /* what the application set, not what was asked */
    tu_recv_none(xsub, 100);
    TU_OK(nm_sock_setopt(xpub, NM_UNSUBSCRIBE, "B", 1));
    tu_send_str(xsub, "\x01"
                      "C");
    tu_recv_str(xpub, "\x01"
                      "C");
    TU_OK(nm_sock_send_bytes(xsub,
                             "\x00"
                             "A",
                             2, 0)); /* XSUB counts: the first stays */
    tu_recv_none(xpub, 100);
    TU_OK(nm_sock_send_bytes(xsub,
                             "\x00"
                             "A",
                             2, 0));
    nm_msg_t m;
    tu_recv(xpub, &m);
    tu_assert_frame_mem(&m, 0,
                        "\x00"
                        "A",
                        2);
    nm_msg_close(&m);
    tu_send_str(xpub, "Bhello");
    tu_recv_none(xsub, 100);
    nm_sock_close(&xsub); /* a cancel for what it still asked for */
    tu_recv(xpub, &m);
    tu_assert_frame_mem(&m, 0,
                        "\x00"
                        "C",
                        2);
    nm_msg_close(&m);
    TU_OK(nm_sock_setopt(xpub, NM_SUBSCRIBE, "D", 1)); /* its subscriber is gone: nothing */
    tu_recv_none(xpub, 100);
    nm_sock_close(&xpub);
    tu_ctx_destroy(&ctx);
}

/* A SUB tells its publishers of every subscribe (and of the last cancel); an XPUB holds
 * a prefix once per subscriber, so XPUB_VERBOSE reports repeats. */
static void test_xpub_verbose_repeats(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *xpub = tu_sock(ctx, NM_XPUB), *sub = tu_sock(ctx, NM_SUB);
    char ep[TU_EP_MAX];
    tu_bind_tcp(xpub, ep, sizeof(ep));
    TU_OK(nm_sock_connect(sub, ep));
    tu_subscribe(sub, "A");
    tu_recv_str(xpub, "\x01"
                      "A");
    tu_subscribe(sub, "A");
    tu_recv_none(xpub, 100);
    TU_OK(nm_sock_setopt_int(xpub, NM_XPUB_VERBOSE, 1));
    tu_subscribe(sub, "A");
    tu_recv_str(xpub, "\x01"
                      "A");
    tu_unsubscribe(sub, "A");
    tu_unsubscribe(sub, "A");
    tu_recv_none(xpub, 100);
    tu_unsubscribe(sub, "A"); /* the last: it goes upstream, and undoes the prefix */
    nm_msg_t m;
    tu_recv(xpub, &m);
    tu_assert_frame_mem(&m, 0,
                        "\x00"
                        "A",
                        2);
    nm_msg_close(&m);
    tu_totals t = tu_totals_of(ctx, NM_XPUB);
    assert_int_equal(t.subscriptions, 0); /* the repeats were never kept */
    nm_sock_close(&sub);
    nm_sock_close(&xpub);
    tu_ctx_destroy(&ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xpub_verboser),        cmocka_unit_test(test_probe_router),
        cmocka_unit_test(test_stream_notify_off),    cmocka_unit_test(test_connect_routing_id),
        cmocka_unit_test(test_xpub_welcome_msg),     cmocka_unit_test(test_invert_matching),
        cmocka_unit_test(test_xpub_nodrop),          cmocka_unit_test(test_conflate),
        cmocka_unit_test(test_router_handover),      cmocka_unit_test(test_xpub_manual),
        cmocka_unit_test(test_xpub_verbose_repeats), cmocka_unit_test(test_conflate_inproc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
