/*
 * test_sock_stats.c - the statistics snapshot (nm_ctx_stats): one record per socket
 * (type, endpoints, pipe count) followed by its pipes (endpoint, peer, state, HWMs,
 * queued messages, message and payload-byte counters) matching what was really sent.
 */
#include "testutil.h"

/* A copy of one snapshot, small enough for a test with a few sockets. */
typedef struct snap {
    int nsocks;                /* sockets seen */
    nm_sock_stats_t socks[8];  /* their records */
    int npipes;                /* pipes seen */
    nm_pipe_stats_t pipes[16]; /* their records */
    uint64_t pipe_sock[16];    /* id of each pipe's socket */
    bool order_ok;             /* every pipe came right after its socket's record */
    uint64_t last_sock;        /* id of the socket record seen last */
} snap;

static void snap_sock_cb(void *arg, const nm_sock_stats_t *st)
{
    snap *s = arg;
    assert_true(s->nsocks < 8);
    s->socks[s->nsocks++] = *st;
    s->last_sock = st->id;
}

static void snap_pipe_cb(void *arg, const nm_sock_stats_t *sock, const nm_pipe_stats_t *st)
{
    snap *s = arg;
    assert_true(s->npipes < 16);
    if (sock->id != s->last_sock)
        s->order_ok = false;
    s->pipe_sock[s->npipes] = sock->id;
    s->pipes[s->npipes++] = *st;
}

static snap *snap_take(nm_ctx_t *ctx)
{
    snap *s = calloc(1, sizeof(*s));
    assert_non_null(s);
    s->order_ok = true;
    TU_OK(nm_ctx_stats(ctx, snap_sock_cb, snap_pipe_cb, s));
    assert_true(s->order_ok);
    return s;
}

static const nm_sock_stats_t *snap_sock(const snap *s, int type)
{
    const nm_sock_stats_t *found = NULL;
    for (int i = 0; i < s->nsocks; i++) {
        if (s->socks[i].type == type) {
            assert_null(found); /* one socket per type in these tests */
            found = &s->socks[i];
        }
    }
    assert_non_null(found);
    return found;
}

/* The only pipe of the socket of this type. */
static const nm_pipe_stats_t *snap_pipe(const snap *s, int type)
{
    const nm_sock_stats_t *sock = snap_sock(s, type);
    assert_int_equal(sock->npipes, 1);
    const nm_pipe_stats_t *found = NULL;
    for (int i = 0; i < s->npipes; i++) {
        if (s->pipe_sock[i] == sock->id) {
            assert_null(found);
            found = &s->pipes[i];
        }
    }
    assert_non_null(found);
    return found;
}

static bool has_endpoint(const nm_sock_stats_t *st, const char *ep)
{
    assert_true(st->nendpoints >= 0 && st->nendpoints <= 8);
    for (int i = 0; i < st->nendpoints; i++)
        if (strncmp(st->endpoints[i], ep, sizeof(st->endpoints[i])) == 0)
            return true;
    return false;
}

static void test_stats_counters(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *push = tu_sock(ctx, NM_PUSH);
    nm_sock_t *pull = tu_sock(ctx, NM_PULL);
    TU_OK(nm_sock_setopt_int(push, NM_SNDHWM, 77));
    TU_OK(nm_sock_setopt_int(pull, NM_RCVHWM, 55));
    char ep[TU_EP_MAX];
    tu_bind_tcp(push, ep, sizeof(ep));
    TU_OK(nm_sock_connect(pull, ep));

    /* Five 10-byte messages and one of two frames (3 + 4 bytes): 6 messages, 57 bytes. */
    for (int i = 0; i < 5; i++)
        TU_OK(nm_sock_send_bytes(push, "0123456789", 10, 0));
    tu_send_strs(push, 2, "abc", "defg");
    for (int i = 0; i < 5; i++)
        tu_recv_str(pull, "0123456789");
    tu_recv_strs(pull, 2, "abc", "defg");

    /* Counters are updated by the I/O thread: give the last updates a moment. */
    snap *s = NULL;
    int64_t deadline = tu_now_ms() + TU_RCVTIMEO;
    for (;;) {
        s = snap_take(ctx);
        if (s->npipes == 2 && snap_pipe(s, NM_PUSH)->msgs_out == 6 &&
            snap_pipe(s, NM_PULL)->msgs_in == 6)
            break;
        if (tu_now_ms() > deadline)
            fail_msg("counters never reached 6 messages");
        free(s);
        tu_sleep_ms(10);
    }
    assert_int_equal(s->nsocks, 2);
    const nm_sock_stats_t *push_st = snap_sock(s, NM_PUSH);
    const nm_sock_stats_t *pull_st = snap_sock(s, NM_PULL);
    assert_int_not_equal(push_st->id, pull_st->id);
    assert_true(has_endpoint(push_st, ep));
    assert_true(has_endpoint(pull_st, ep));

    const nm_pipe_stats_t *out = snap_pipe(s, NM_PUSH);
    const nm_pipe_stats_t *in = snap_pipe(s, NM_PULL);
    assert_int_not_equal(out->id, in->id);
    assert_int_equal(out->state, NM_PIPE_ACTIVE);
    assert_int_equal(in->state, NM_PIPE_ACTIVE);
    assert_true(out->peer[0] != '\0');
    assert_true(in->peer[0] != '\0');
    assert_non_null(memchr(out->peer, '\0', sizeof(out->peer)));
    assert_non_null(memchr(out->endpoint, '\0', sizeof(out->endpoint)));
    assert_string_equal(in->endpoint, ep); /* the connecting pipe came from ep */
    assert_int_equal(out->sndhwm, 77);
    assert_int_equal(in->rcvhwm, 55);

    assert_int_equal(out->msgs_out, 6);
    assert_int_equal(out->bytes_out, 57);
    assert_int_equal(out->msgs_in, 0);
    assert_int_equal(out->bytes_in, 0);
    assert_int_equal(out->queued_out, 0);
    assert_int_equal(in->msgs_in, 6);
    assert_int_equal(in->bytes_in, 57);
    assert_int_equal(in->msgs_out, 0);
    assert_int_equal(in->bytes_out, 0);
    assert_int_equal(in->queued_in, 0);
    assert_int_equal(out->drops, 0);
    assert_int_equal(in->drops, 0);
    assert_int_equal(out->hwm_hits, 0);
    free(s);
    tu_ctx_destroy(&ctx);
}

/* Received but unread messages show as queued_in, and leave it when read. */
static void test_stats_queued_in(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *pull = tu_sock(ctx, NM_PULL);
    nm_sock_t *push = tu_sock(ctx, NM_PUSH);
    char ep[TU_EP_MAX];
    tu_bind_tcp(pull, ep, sizeof(ep));
    TU_OK(nm_sock_connect(push, ep));
    for (int i = 0; i < 3; i++)
        tu_send_str(push, "queued");
    tu_wait_queued_in(ctx, NM_PULL, 3);
    tu_totals t = tu_totals_of(ctx, NM_PULL);
    assert_int_equal(t.queued_in, 3);
    assert_int_equal(t.msgs_in, 3);
    assert_int_equal(t.bytes_in, 18);
    for (int i = 0; i < 3; i++)
        tu_recv_str(pull, "queued");
    t = tu_totals_of(ctx, NM_PULL);
    assert_int_equal(t.queued_in, 0);
    assert_int_equal(t.msgs_in, 3);
    tu_ctx_destroy(&ctx);
}

/* Sockets appear when created, with their endpoints, and leave once closed. */
static void test_stats_sockets(void **state)
{
    (void)state;
    char dir[64];
    tu_tmpdir(dir, sizeof(dir));
    nm_ctx_t *ctx = tu_ctx();
    snap *s = snap_take(ctx);
    assert_int_equal(s->nsocks, 0);
    assert_int_equal(s->npipes, 0);
    free(s);

    nm_sock_t *router = tu_sock(ctx, NM_ROUTER);
    nm_sock_t *dealer = tu_sock(ctx, NM_DEALER);
    char tcp_ep[TU_EP_MAX], ipc_ep[TU_EP_MAX];
    tu_bind_tcp(router, tcp_ep, sizeof(tcp_ep));
    tu_bind_ipc(router, dir, "stats.sock", ipc_ep, sizeof(ipc_ep));
    s = snap_take(ctx);
    assert_int_equal(s->nsocks, 2);
    const nm_sock_stats_t *r = snap_sock(s, NM_ROUTER);
    assert_int_equal(r->nendpoints, 2);
    assert_true(has_endpoint(r, tcp_ep));
    assert_true(has_endpoint(r, ipc_ep));
    assert_int_equal(r->npipes, 0);
    const nm_sock_stats_t *d = snap_sock(s, NM_DEALER);
    assert_int_equal(d->nendpoints, 0);
    free(s);

    nm_sock_close(&dealer);
    tu_wait_gone(ctx, NM_DEALER);
    s = snap_take(ctx);
    assert_int_equal(s->nsocks, 1);
    assert_int_equal(s->socks[0].type, NM_ROUTER);
    free(s);
    (void)router;
    tu_ctx_destroy(&ctx);
    tu_tmpdir_remove(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stats_counters),
        cmocka_unit_test(test_stats_queued_in),
        cmocka_unit_test(test_stats_sockets),
    };
    return cmocka_run_group_tests_name("sock_stats", tests, NULL, NULL);
}
