/*
 * test_poll.c - nm_poll over sockets and plain descriptors, and the NM_EVENTS / NM_FD
 * options that let an application fold a socket into its own event loop.
 *
 * nm_poll reports NM_POLLIN only on the socket that has a message, returns 0 at once
 * with timeout 0 and after about the timeout otherwise, wakes for a pipe(2) descriptor
 * written or a message arriving while it waits, and reports NM_POLLOUT on a PUSH that
 * has a peer and room (not on one with no peer at all).  NM_EVENTS tells what the
 * socket can do now; NM_FD becomes readable when that may have changed, as in libzmq
 * (so it is checked together with NM_EVENTS, never alone).
 */
#include "testutil.h"

#include <fcntl.h>

/* A PUSH connected to a PULL over tcp, the connection known to be up. */
static void push_pull(nm_ctx_t *ctx, nm_sock_t **push, nm_sock_t **pull)
{
    *pull = tu_sock(ctx, NM_PULL);
    *push = tu_sock(ctx, NM_PUSH);
    char ep[TU_EP_MAX];
    tu_bind_tcp(*pull, ep, sizeof(ep));
    TU_OK(nm_sock_connect(*push, ep));
    tu_send_str(*push, "warm-up");
    tu_recv_str(*pull, "warm-up");
}

static void test_poll_which_socket(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *push_a, *pull_a, *push_b, *pull_b;
    push_pull(ctx, &push_a, &pull_a);
    push_pull(ctx, &push_b, &pull_b);
    nm_pollitem_t items[2] = {
        {.sock = pull_a, .fd = -1, .events = NM_POLLIN},
        {.sock = pull_b, .fd = -1, .events = NM_POLLIN},
    };
    assert_int_equal(nm_poll(items, 2, 0), 0);
    assert_int_equal(items[0].revents, 0);
    assert_int_equal(items[1].revents, 0);

    tu_send_str(push_b, "for b");
    int rc = nm_poll(items, 2, TU_RCVTIMEO);
    assert_int_equal(rc, 1);
    assert_int_equal(items[0].revents, 0);
    assert_int_equal(items[1].revents, NM_POLLIN);
    /* Level-triggered: still ready until read. */
    assert_int_equal(nm_poll(items, 2, 0), 1);
    assert_int_equal(items[1].revents, NM_POLLIN);
    tu_recv_str(pull_b, "for b");
    assert_int_equal(nm_poll(items, 2, 0), 0);
    assert_int_equal(items[1].revents, 0);

    /* Both ready: both reported. */
    tu_send_str(push_a, "for a");
    tu_send_str(push_b, "for b again");
    int64_t deadline = tu_now_ms() + TU_RCVTIMEO;
    while ((rc = nm_poll(items, 2, 100)) < 2 && tu_now_ms() < deadline)
        ;
    assert_int_equal(rc, 2);
    assert_int_equal(items[0].revents, NM_POLLIN);
    assert_int_equal(items[1].revents, NM_POLLIN);
    tu_recv_str(pull_a, "for a");
    tu_recv_str(pull_b, "for b again");
    tu_ctx_destroy(&ctx);
}

static void test_poll_timeouts(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *push, *pull;
    push_pull(ctx, &push, &pull);
    nm_pollitem_t item = {.sock = pull, .fd = -1, .events = NM_POLLIN};

    int64_t t0 = tu_now_ms();
    assert_int_equal(nm_poll(&item, 1, 0), 0);
    assert_true(tu_now_ms() - t0 < 50);
    assert_int_equal(item.revents, 0);

    t0 = tu_now_ms();
    assert_int_equal(nm_poll(&item, 1, 100), 0);
    int64_t took = tu_now_ms() - t0;
    assert_true(took >= 90);
    assert_true(took < 1000);
    assert_int_equal(item.revents, 0);
    (void)push;
    tu_ctx_destroy(&ctx);
}

/* Writes one byte to a pipe after a delay, from another thread. */
typedef struct later {
    int fd;             /* pipe write end, or -1 */
    nm_sock_t *push;    /* or a socket to send on */
    int delay_ms;       /* how long to wait first */
    int64_t done_at_ms; /* when the write or send happened */
} later;

static void *later_main(void *arg)
{
    later *l = arg;
    tu_sleep_ms(l->delay_ms);
    l->done_at_ms = tu_now_ms();
    if (l->fd >= 0) {
        ssize_t w = write(l->fd, "x", 1);
        (void)w;
    } else {
        nm_sock_send_bytes(l->push, "later", 5, 0);
    }
    return NULL;
}

static void test_poll_pipe_fd(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *push, *pull;
    push_pull(ctx, &push, &pull);
    int p[2];
    assert_int_equal(pipe(p), 0);
    nm_pollitem_t items[2] = {
        {.sock = pull, .fd = -1, .events = NM_POLLIN},
        {.sock = NULL, .fd = p[0], .events = NM_POLLIN},
    };
    assert_int_equal(nm_poll(items, 2, 0), 0);

    /* Written before the poll. */
    assert_int_equal(write(p[1], "x", 1), 1);
    assert_int_equal(nm_poll(items, 2, TU_RCVTIMEO), 1);
    assert_int_equal(items[0].revents, 0);
    assert_int_equal(items[1].revents, NM_POLLIN);
    char c;
    assert_int_equal(read(p[0], &c, 1), 1);
    assert_int_equal(nm_poll(items, 2, 0), 0);

    /* Written while the poll waits: it wakes up. */
    later l = {.fd = p[1], .delay_ms = 100};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, later_main, &l), 0);
    int64_t t0 = tu_now_ms();
    int rc = nm_poll(items, 2, TU_RCVTIMEO);
    int64_t woke = tu_now_ms();
    tu_join(th, TU_RCVTIMEO);
    assert_int_equal(rc, 1);
    assert_int_equal(items[1].revents, NM_POLLIN);
    assert_true(woke - t0 >= 50);
    assert_true(woke - l.done_at_ms < 1000);
    assert_int_equal(read(p[0], &c, 1), 1);
    close(p[0]);
    close(p[1]);
    (void)push;
    tu_ctx_destroy(&ctx);
}

/* A message arriving while nm_poll waits wakes it (the sender is another thread). */
static void test_poll_wakes_on_message(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *push, *pull;
    push_pull(ctx, &push, &pull);
    nm_pollitem_t item = {.sock = pull, .fd = -1, .events = NM_POLLIN};
    later l = {.fd = -1, .push = push, .delay_ms = 100};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, later_main, &l), 0);
    int rc = nm_poll(&item, 1, TU_RCVTIMEO);
    int64_t woke = tu_now_ms();
    tu_join(th, TU_RCVTIMEO);
    assert_int_equal(rc, 1);
    assert_int_equal(item.revents, NM_POLLIN);
    assert_true(woke - l.done_at_ms < 1000);
    tu_recv_str(pull, "later");
    tu_ctx_destroy(&ctx);
}

static void test_poll_pollout(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    /* A PUSH with no peer at all cannot send. */
    nm_sock_t *lonely = tu_sock(ctx, NM_PUSH);
    nm_pollitem_t item = {.sock = lonely, .fd = -1, .events = NM_POLLOUT};
    assert_int_equal(nm_poll(&item, 1, 0), 0);
    assert_int_equal(item.revents, 0);

    nm_sock_t *push, *pull;
    push_pull(ctx, &push, &pull);
    item.sock = push;
    assert_int_equal(nm_poll(&item, 1, TU_RCVTIMEO), 1);
    assert_int_equal(item.revents, NM_POLLOUT);
    /* Asking for both on a PUSH: only POLLOUT. */
    item.events = NM_POLLIN | NM_POLLOUT;
    assert_int_equal(nm_poll(&item, 1, 0), 1);
    assert_int_equal(item.revents, NM_POLLOUT);
    /* A PAIR with a message waiting and room: both. */
    nm_sock_t *a = tu_sock(ctx, NM_PAIR);
    nm_sock_t *b = tu_sock(ctx, NM_PAIR);
    TU_OK(nm_sock_bind(a, "inproc://poll-pair"));
    TU_OK(nm_sock_connect(b, "inproc://poll-pair"));
    tu_send_str(b, "hi");
    nm_pollitem_t pi = {.sock = a, .fd = -1, .events = NM_POLLIN | NM_POLLOUT};
    int64_t deadline = tu_now_ms() + TU_RCVTIMEO;
    while (nm_poll(&pi, 1, 100) >= 0 && pi.revents != (NM_POLLIN | NM_POLLOUT) &&
           tu_now_ms() < deadline)
        ;
    assert_int_equal(pi.revents, NM_POLLIN | NM_POLLOUT);
    tu_recv_str(a, "hi");
    tu_ctx_destroy(&ctx);
}

static int events_of(nm_sock_t *s)
{
    int ev = -1;
    TU_OK(nm_sock_getopt_int(s, NM_EVENTS, &ev));
    assert_true(ev >= 0 && (ev & ~(NM_POLLIN | NM_POLLOUT | NM_POLLERR)) == 0);
    return ev;
}

static void test_events_option(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *push, *pull;
    push_pull(ctx, &push, &pull);
    assert_int_equal(events_of(pull) & NM_POLLIN, 0);
    assert_int_equal(events_of(push) & NM_POLLOUT, NM_POLLOUT);
    assert_int_equal(events_of(push) & NM_POLLIN, 0);

    tu_send_str(push, "arrives");
    int64_t deadline = tu_now_ms() + TU_RCVTIMEO;
    while ((events_of(pull) & NM_POLLIN) == 0) {
        if (tu_now_ms() > deadline)
            fail_msg("NM_EVENTS never showed NM_POLLIN");
        tu_sleep_ms(1);
    }
    tu_recv_str(pull, "arrives");
    assert_int_equal(events_of(pull) & NM_POLLIN, 0);
    /* NM_EVENTS is read-only. */
    assert_true(nm_sock_setopt_int(pull, NM_EVENTS, NM_POLLIN) < 0);
    tu_ctx_destroy(&ctx);
}

/* Waits the way libzmq documents for ZMQ_FD: check NM_EVENTS, and while it lacks
 * NM_POLLIN, wait for the descriptor to become readable.  Returns how many times poll(2)
 * found the descriptor readable; fails if NM_POLLIN does not come within ms. */
static int wait_pollin_via_fd(nm_sock_t *s, int fd, int ms)
{
    int readable = 0;
    int64_t deadline = tu_now_ms() + ms;
    for (;;) {
        if (events_of(s) & NM_POLLIN)
            return readable;
        int64_t left = deadline - tu_now_ms();
        if (left <= 0)
            fail_msg("no NM_POLLIN through NM_FD within %d ms", ms);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int rc = poll(&p, 1, (int)left);
        assert_true(rc >= 0);
        if (rc > 0) {
            assert_int_equal(p.revents & (POLLERR | POLLNVAL), 0);
            readable++;
        }
    }
}

static void test_fd_option(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *push, *pull;
    push_pull(ctx, &push, &pull);
    int fd = -1;
    TU_OK(nm_sock_getopt_int(pull, NM_FD, &fd));
    assert_true(fd >= 0);
    assert_true(fcntl(fd, F_GETFD) != -1); /* a descriptor that exists */
    int fd2 = -1;
    TU_OK(nm_sock_getopt_int(pull, NM_FD, &fd2));
    assert_int_equal(fd2, fd); /* the same one every time */
    assert_true(nm_sock_setopt_int(pull, NM_FD, 3) < 0);

    for (int round = 0; round < 3; round++) {
        /* Reading NM_EVENTS with nothing pending consumes the earlier signals. */
        assert_int_equal(events_of(pull) & NM_POLLIN, 0);
        tu_send_str(push, "via fd");
        /* The descriptor must become readable: the first wait cannot be satisfied by
         * NM_EVENTS alone unless the message beat us to it. */
        struct pollfd p = {.fd = fd, .events = POLLIN};
        assert_int_equal(poll(&p, 1, TU_RCVTIMEO), 1);
        wait_pollin_via_fd(pull, fd, TU_RCVTIMEO);
        tu_recv_str(pull, "via fd");
    }
    tu_ctx_destroy(&ctx);
}

/* Items with events 0 are ignored (revents 0), and an fd item for a descriptor that is
 * not ready stays quiet next to a ready socket. */
static void test_poll_mixed_items(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *push, *pull;
    push_pull(ctx, &push, &pull);
    int p[2];
    assert_int_equal(pipe(p), 0);
    tu_send_str(push, "ready");
    nm_pollitem_t items[3] = {
        {.sock = pull, .fd = -1, .events = 0},
        {.sock = NULL, .fd = p[0], .events = NM_POLLIN},
        {.sock = pull, .fd = -1, .events = NM_POLLIN},
    };
    int rc = nm_poll(items, 3, TU_RCVTIMEO);
    assert_int_equal(rc, 1);
    assert_int_equal(items[0].revents, 0);
    assert_int_equal(items[1].revents, 0);
    assert_int_equal(items[2].revents, NM_POLLIN);
    tu_recv_str(pull, "ready");
    close(p[0]);
    close(p[1]);
    tu_ctx_destroy(&ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_poll_which_socket), cmocka_unit_test(test_poll_timeouts),
        cmocka_unit_test(test_poll_pipe_fd),      cmocka_unit_test(test_poll_wakes_on_message),
        cmocka_unit_test(test_poll_pollout),      cmocka_unit_test(test_events_option),
        cmocka_unit_test(test_fd_option),         cmocka_unit_test(test_poll_mixed_items),
    };
    return cmocka_run_group_tests_name("poll", tests, NULL, NULL);
}
