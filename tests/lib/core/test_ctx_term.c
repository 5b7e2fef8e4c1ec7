/*
 * test_ctx_term.c - ending a context while threads use its sockets (libzmq's
 * zmq_ctx_shutdown / zmq_ctx_term contract, lib/core/ctx.c).
 *
 * Covers: a thread blocked in recv returns NM_ETERM promptly after nm_ctx_shutdown from
 * another thread, over tcp with one connection (the receiver reads it itself: the
 * direct-read path) and over inproc, each with and without NM_BUSY_POLL (so the shutdown
 * finds it spinning or sleeping); every later call on the context's sockets fails with
 * NM_ETERM, nm_sock_new too, and close still works; a blocked send, nm_poll,
 * nm_sock_wait_peers and nm_proxy end the same way; nm_ctx_destroy from another thread
 * wakes a blocked receiver and waits until that thread has closed its socket, while a
 * socket left idle is closed by destroy itself and its queued messages still leave
 * within LINGER; a blocked thread's other, idle socket is left to it (it closes both)
 * while the destroying thread's own is closed for it; after an explicit nm_ctx_shutdown, destroy
 * closes nothing itself and waits for every socket (libzmq's zmq_ctx_term); LINGER bounds how long
 * destroy waits for messages nobody takes.  In a child forked while the context runs,
 * closing its sockets and destroying it return at once (the child has none of its
 * threads), and the parent's context goes on unharmed.
 */
#include <stdatomic.h>
#include <sys/wait.h>

#include "testutil.h"

#define PROMPT_MS 500 /* a woken call must return within this (busy polls spin 1 s) */
#define BLOCK_MS  100 /* time given to a thread to block before the shutdown */

/* ---- a thread blocked in one call ---------------------------------------------------- */

enum blocked_op { OP_RECV, OP_SEND, OP_POLL, OP_WAIT_PEERS, OP_PROXY };

typedef struct blocked {
    int op;               /* enum blocked_op */
    nm_sock_t *sock;      /* the socket it blocks on */
    nm_sock_t *other;     /* OP_PROXY: the backend */
    int fd;               /* OP_POLL: a plain descriptor polled too, or -1 */
    atomic_int started;   /* it is about to make the call */
    atomic_int rc_set;    /* rc is final */
    int rc;               /* what the call returned */
    int64_t returned_ms;  /* when */
    atomic_int may_close; /* the test lets it close its socket */
    atomic_int close_seq; /* sequence number taken just before it closed (0 = not) */
    bool close_when_told; /* wait for may_close, then close the socket */
    atomic_int *seq;      /* shared sequence counter, or NULL */
    nm_sock_t *extra;     /* another socket of the thread: bound first, closed last */
    const char *extra_ep; /* where it binds */
} blocked;

static void *blocked_main(void *arg)
{
    blocked *b = arg;
    nm_msg_t m;
    nm_msg_init(&m);
    if (b->extra != NULL && nm_sock_bind(b->extra, b->extra_ep) != 0)
        return NULL; /* the test sees started never set */
    atomic_store(&b->started, 1);
    switch (b->op) {
    case OP_RECV:
        b->rc = nm_sock_recv(b->sock, &m, 0);
        break;
    case OP_SEND:
        b->rc = nm_msg_add(&m, "x", 1); /* no cmocka asserts off the main thread */
        if (b->rc == 0)
            b->rc = nm_sock_send(b->sock, &m, 0);
        break;
    case OP_POLL: {
        nm_pollitem_t items[2] = {{.sock = b->sock, .events = NM_POLLIN},
                                  {.sock = NULL, .fd = b->fd, .events = NM_POLLIN}};
        b->rc = nm_poll(items, b->fd >= 0 ? 2 : 1, -1);
        break;
    }
    case OP_WAIT_PEERS:
        b->rc = nm_sock_wait_peers(b->sock, 1, -1);
        break;
    case OP_PROXY:
        b->rc = nm_proxy(b->sock, b->other, NULL, NULL);
        break;
    }
    nm_msg_close(&m);
    b->returned_ms = tu_now_ms();
    atomic_store(&b->rc_set, 1);
    if (b->close_when_told) {
        while (!atomic_load(&b->may_close))
            tu_sleep_ms(1);
        atomic_store(&b->close_seq, atomic_fetch_add(b->seq, 1) + 1);
        nm_sock_close(&b->sock);
        nm_sock_close(&b->extra);
    }
    return NULL;
}

static void blocked_start(blocked *b, pthread_t *th)
{
    atomic_init(&b->started, 0);
    atomic_init(&b->rc_set, 0);
    atomic_init(&b->may_close, 0);
    atomic_init(&b->close_seq, 0);
    assert_int_equal(pthread_create(th, NULL, blocked_main, b), 0);
    int64_t t0 = tu_now_ms();
    while (!atomic_load(&b->started)) {
        assert_true(tu_now_ms() - t0 < TU_RCVTIMEO);
        tu_sleep_ms(1);
    }
    tu_sleep_ms(BLOCK_MS); /* let it block (or spin) */
    assert_int_equal(atomic_load(&b->rc_set), 0);
}

/* Shuts ctx down and checks the blocked call ended with NM_ETERM promptly. */
static void shutdown_and_check(nm_ctx_t *ctx, blocked *b, pthread_t th)
{
    int64_t t0 = tu_now_ms();
    TU_OK(nm_ctx_shutdown(ctx));
    tu_join(th, PROMPT_MS * 5);
    TU_RC(b->rc, NM_ETERM);
    assert_true(b->returned_ms - t0 < PROMPT_MS);
}

/* Every call but close fails with NM_ETERM once ctx is shut down. */
static void check_later_calls(nm_ctx_t *ctx, nm_sock_t *s)
{
    nm_msg_t m;
    nm_msg_init(&m);
    TU_RC(nm_sock_recv(s, &m, 0), NM_ETERM);
    TU_RC(nm_sock_recv(s, &m, NM_DONTWAIT), NM_ETERM);
    TU_OK(nm_msg_add(&m, "late", 4));
    TU_RC(nm_sock_send(s, &m, NM_DONTWAIT), NM_ETERM);
    assert_int_equal(nm_msg_count(&m), 1); /* a failed send leaves the message */
    nm_msg_close(&m);
    TU_RC(nm_sock_bind(s, "inproc://too-late"), NM_ETERM);
    TU_RC(nm_sock_connect(s, "tcp://127.0.0.1:1"), NM_ETERM);
    /* (more peers than it has: it would wait; see svc.c for the immediate answer) */
    TU_RC(nm_sock_wait_peers(s, 1000, 10), NM_ETERM);
    nm_pollitem_t it = {.sock = s, .events = NM_POLLIN | NM_POLLOUT};
    TU_RC(nm_poll(&it, 1, 0), NM_ETERM);
    TU_RC(nm_poll(&it, 1, -1), NM_ETERM);
    nm_sock_t *late = NULL;
    TU_RC(nm_sock_new(&late, ctx, NM_PAIR), NM_ETERM);
    assert_null(late);
    TU_OK(nm_ctx_shutdown(ctx)); /* again: nothing */
}

/* ---- recv ---------------------------------------------------------------------------- */

/* A PULL with one peer (a PUSH on another context over tcp, or on the same context over
 * inproc) blocks in recv; nm_ctx_shutdown ends it. */
static void recv_case(bool tcp, int busy_poll_us)
{
    nm_ctx_t *ctx = tu_ctx();
    nm_ctx_t *peer_ctx = tcp ? tu_ctx() : ctx;
    nm_sock_t *pull = tu_sock(ctx, NM_PULL);
    nm_sock_t *push = tu_sock(peer_ctx, NM_PUSH);
    TU_OK(nm_sock_setopt_int(pull, NM_RCVTIMEO, -1));
    TU_OK(nm_sock_setopt_int(pull, NM_BUSY_POLL, busy_poll_us));
    char ep[TU_EP_MAX] = "inproc://term-recv";
    if (tcp)
        tu_bind_tcp(pull, ep, sizeof(ep));
    else
        TU_OK(nm_sock_bind(pull, ep));
    TU_OK(nm_sock_connect(push, ep));
    /* One message first: the pipe is attached, so the wait reads the connection. */
    tu_send_str(push, "hello");
    tu_recv_str(pull, "hello");

    blocked b = {.op = OP_RECV, .sock = pull, .fd = -1};
    pthread_t th;
    blocked_start(&b, &th);
    shutdown_and_check(ctx, &b, th);
    check_later_calls(ctx, pull);
    if (!tcp) /* the peer is on the shut-down context too */
        TU_RC(nm_sock_send_bytes(push, "x", 1, 0), NM_ETERM);
    nm_sock_close(&pull);
    nm_sock_close(&push);
    assert_null(pull);
    tu_ctx_destroy(&ctx);
    if (tcp)
        tu_ctx_destroy(&peer_ctx);
}

static void test_recv_tcp(void **state)
{
    (void)state;
    recv_case(true, 0);
}

static void test_recv_tcp_busy(void **state)
{
    (void)state;
    recv_case(true, 1000000); /* 1 s: still spinning when the shutdown comes */
}

static void test_recv_inproc(void **state)
{
    (void)state;
    recv_case(false, 0);
}

static void test_recv_inproc_busy(void **state)
{
    (void)state;
    recv_case(false, 1000000);
}

/* A REP with no peer (no pipe at all) sleeps in the socket's own wait. */
static void test_recv_no_peer(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *rep = tu_sock(ctx, NM_REP); /* REP busy-polls by default */
    TU_OK(nm_sock_setopt_int(rep, NM_RCVTIMEO, -1));
    TU_OK(nm_sock_bind(rep, "inproc://term-nopeer"));
    blocked b = {.op = OP_RECV, .sock = rep, .fd = -1};
    pthread_t th;
    blocked_start(&b, &th);
    shutdown_and_check(ctx, &b, th);
    nm_sock_close(&rep);
    tu_ctx_destroy(&ctx);
}

/* ---- send, poll, wait_peers, proxy ------------------------------------------------- */

/* A PUSH whose only pipe is full (SNDHWM 1, its connect never answered) blocks. */
static void test_send_blocked(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *push = tu_sock(ctx, NM_PUSH);
    TU_OK(nm_sock_setopt_int(push, NM_SNDHWM, 1));
    char ep[TU_EP_MAX];
    snprintf(ep, sizeof(ep), "tcp://127.0.0.1:%d", tu_free_tcp_port());
    TU_OK(nm_sock_connect(push, ep));
    TU_OK(nm_sock_send_bytes(push, "queued", 6, NM_DONTWAIT));
    TU_RC(nm_sock_send_bytes(push, "full", 4, NM_DONTWAIT), -EAGAIN);
    blocked b = {.op = OP_SEND, .sock = push, .fd = -1};
    pthread_t th;
    blocked_start(&b, &th);
    shutdown_and_check(ctx, &b, th);
    check_later_calls(ctx, push);
    nm_sock_close(&push);
    tu_ctx_destroy(&ctx);
}

static void test_poll_blocked(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *pull = tu_sock(ctx, NM_PULL);
    char ep[TU_EP_MAX];
    tu_bind_tcp(pull, ep, sizeof(ep));
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    blocked b = {.op = OP_POLL, .sock = pull, .fd = fds[0]};
    pthread_t th;
    blocked_start(&b, &th);
    shutdown_and_check(ctx, &b, th);
    /* Plain descriptors alone are no business of the context. */
    nm_pollitem_t it = {.sock = NULL, .fd = fds[0], .events = NM_POLLIN};
    TU_RC(nm_poll(&it, 1, 0), 0);
    close(fds[0]);
    close(fds[1]);
    nm_sock_close(&pull);
    tu_ctx_destroy(&ctx);
}

static void test_wait_peers_blocked(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *pub = tu_sock(ctx, NM_PUB);
    char ep[TU_EP_MAX];
    tu_bind_tcp(pub, ep, sizeof(ep));
    blocked b = {.op = OP_WAIT_PEERS, .sock = pub, .fd = -1};
    pthread_t th;
    blocked_start(&b, &th);
    shutdown_and_check(ctx, &b, th);
    nm_sock_close(&pub);
    tu_ctx_destroy(&ctx);
}

static void test_proxy_blocked(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *fe = tu_sock(ctx, NM_PULL);
    nm_sock_t *be = tu_sock(ctx, NM_PUSH);
    nm_sock_t *src = tu_sock(ctx, NM_PUSH);
    nm_sock_t *dst = tu_sock(ctx, NM_PULL);
    TU_OK(nm_sock_bind(fe, "inproc://term-fe"));
    TU_OK(nm_sock_bind(be, "inproc://term-be"));
    TU_OK(nm_sock_connect(src, "inproc://term-fe"));
    TU_OK(nm_sock_connect(dst, "inproc://term-be"));
    blocked b = {.op = OP_PROXY, .sock = fe, .other = be, .fd = -1};
    pthread_t th;
    blocked_start(&b, &th);
    tu_send_str(src, "through"); /* the proxy runs */
    tu_recv_str(dst, "through");
    shutdown_and_check(ctx, &b, th);
    nm_sock_close(&fe);
    nm_sock_close(&be);
    nm_sock_close(&src);
    nm_sock_close(&dst);
    tu_ctx_destroy(&ctx);
}

/* ---- destroy ------------------------------------------------------------------------- */

typedef struct destroyer {
    nm_ctx_t *ctx;   /* destroyed by the thread */
    atomic_int done; /* nm_ctx_destroy returned */
    atomic_int *seq; /* shared sequence counter */
    int done_seq;    /* sequence number taken when it returned */
    int64_t done_ms; /* when */
} destroyer;

static void *destroyer_main(void *arg)
{
    destroyer *d = arg;
    nm_ctx_destroy(&d->ctx);
    d->done_seq = atomic_fetch_add(d->seq, 1) + 1;
    d->done_ms = tu_now_ms();
    atomic_store(&d->done, 1);
    return NULL;
}

static void destroyer_start(destroyer *d, pthread_t *th)
{
    atomic_init(&d->done, 0);
    assert_int_equal(pthread_create(th, NULL, destroyer_main, d), 0);
}

/* A thread blocked in recv over tcp (direct read, busy polling) while another destroys
 * the context: the receiver gets NM_ETERM, destroy waits until it closes its socket;
 * meanwhile a PUSH closed after the shutdown delivers its queued messages to a peer
 * that binds only then, within its LINGER.  (Destroy does not close that PUSH itself:
 * while a thread is at work it closes only the sockets its own caller used last.) */
static void test_destroy_waits_for_close(void **state)
{
    (void)state;
    atomic_int seq;
    atomic_init(&seq, 0);
    nm_ctx_t *ctx = tu_ctx();
    nm_ctx_t *peer_ctx = tu_ctx();

    nm_sock_t *pull = tu_sock(ctx, NM_PULL);
    TU_OK(nm_sock_setopt_int(pull, NM_RCVTIMEO, -1));
    TU_OK(nm_sock_setopt_int(pull, NM_BUSY_POLL, 200));
    char ep[TU_EP_MAX];
    tu_bind_tcp(pull, ep, sizeof(ep));
    nm_sock_t *peer_push = tu_sock(peer_ctx, NM_PUSH);
    TU_OK(nm_sock_connect(peer_push, ep));
    tu_send_str(peer_push, "hello");
    tu_recv_str(pull, "hello");

    /* Messages queued towards an endpoint nobody has bound yet. */
    nm_sock_t *push = tu_sock(ctx, NM_PUSH);
    TU_OK(nm_sock_setopt_int(push, NM_LINGER, 10000));
    TU_OK(nm_sock_setopt_int(push, NM_RECONNECT_IVL, 20));
    char later_ep[TU_EP_MAX];
    snprintf(later_ep, sizeof(later_ep), "tcp://127.0.0.1:%d", tu_free_tcp_port());
    TU_OK(nm_sock_connect(push, later_ep));
    enum { NQUEUED = 10 };
    for (int i = 0; i < NQUEUED; i++) {
        char buf[16];
        snprintf(buf, sizeof(buf), "queued-%d", i);
        TU_OK(nm_sock_send_bytes(push, buf, strlen(buf), NM_DONTWAIT));
    }

    blocked b = {.op = OP_RECV, .sock = pull, .fd = -1, .close_when_told = true, .seq = &seq};
    pthread_t th;
    blocked_start(&b, &th);
    destroyer d = {.ctx = ctx, .seq = &seq};
    pthread_t dth;
    int64_t t0 = tu_now_ms();
    destroyer_start(&d, &dth);

    /* The receiver is woken at once, and destroy waits for it. */
    while (!atomic_load(&b.rc_set)) {
        assert_true(tu_now_ms() - t0 < PROMPT_MS);
        tu_sleep_ms(1);
    }
    TU_RC(b.rc, NM_ETERM);

    /* A PUSH closed now lingers: its messages reach a peer that binds now. */
    tu_sleep_ms(BLOCK_MS);
    assert_int_equal(atomic_load(&d.done), 0); /* it waits for the PUSH too */
    TU_RC(nm_sock_send_bytes(push, "late", 4, NM_DONTWAIT), NM_ETERM);
    nm_sock_close(&push);
    nm_sock_t *late_pull = tu_sock(peer_ctx, NM_PULL);
    TU_OK(nm_sock_bind(late_pull, later_ep));
    for (int i = 0; i < NQUEUED; i++) {
        char buf[16];
        snprintf(buf, sizeof(buf), "queued-%d", i);
        tu_recv_str(late_pull, buf);
    }

    tu_sleep_ms(BLOCK_MS);
    assert_int_equal(atomic_load(&d.done), 0); /* still waiting for the receiver */
    atomic_store(&b.may_close, 1);
    tu_join(th, PROMPT_MS * 5);
    tu_join(dth, PROMPT_MS * 5);
    assert_int_equal(atomic_load(&d.done), 1);
    assert_true(atomic_load(&b.close_seq) > 0);
    assert_true(atomic_load(&b.close_seq) < d.done_seq);
    assert_null(d.ctx);
    tu_ctx_destroy(&peer_ctx);
}

/* After nm_ctx_shutdown, destroy closes nothing itself: it waits for an idle socket
 * until its owner closes it (libzmq's zmq_ctx_term). */
static void test_destroy_after_shutdown_waits(void **state)
{
    (void)state;
    atomic_int seq;
    atomic_init(&seq, 0);
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *s = tu_sock(ctx, NM_DEALER);
    TU_OK(nm_sock_bind(s, "inproc://term-idle"));
    TU_OK(nm_ctx_shutdown(ctx));
    destroyer d = {.ctx = ctx, .seq = &seq};
    pthread_t dth;
    destroyer_start(&d, &dth);
    tu_sleep_ms(BLOCK_MS);
    assert_int_equal(atomic_load(&d.done), 0);
    TU_RC(nm_sock_send_bytes(s, "x", 1, 0), NM_ETERM);
    int close_seq = atomic_fetch_add(&seq, 1) + 1;
    nm_sock_close(&s);
    tu_join(dth, PROMPT_MS * 5);
    assert_true(close_seq < d.done_seq);
}

/* nm_ctx_destroy called by a thread while another is blocked: the caller's own idle
 * socket is closed for it, but a socket the blocked thread used last is left to that
 * thread, which closes it with the one it was blocked on. */
static void test_destroy_leaves_worker_sockets(void **state)
{
    (void)state;
    atomic_int seq;
    atomic_init(&seq, 0);
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *mine = tu_sock(ctx, NM_PUSH);
    TU_OK(nm_sock_bind(mine, "inproc://term-mine"));
    nm_sock_t *pull = tu_sock(ctx, NM_PULL);
    TU_OK(nm_sock_setopt_int(pull, NM_RCVTIMEO, -1));
    TU_OK(nm_sock_bind(pull, "inproc://term-worker-a"));
    blocked b = {.op = OP_RECV,
                 .sock = pull,
                 .fd = -1,
                 .close_when_told = true,
                 .seq = &seq,
                 .extra = tu_sock(ctx, NM_PUB),
                 .extra_ep = "inproc://term-worker-b"};
    pthread_t th;
    blocked_start(&b, &th);
    atomic_store(&b.may_close, 1); /* it closes as soon as it is told */
    tu_ctx_destroy(&ctx);          /* the worker closes both of its sockets meanwhile */
    int done_seq = atomic_fetch_add(&seq, 1) + 1;
    tu_join(th, PROMPT_MS * 5);
    TU_RC(b.rc, NM_ETERM);
    assert_true(atomic_load(&b.close_seq) > 0);
    assert_true(atomic_load(&b.close_seq) < done_seq);
    assert_null(b.extra);
}

/* Messages nobody takes keep destroy waiting no longer than their socket's LINGER. */
static void test_destroy_linger_bound(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *push = tu_sock(ctx, NM_PUSH);
    TU_OK(nm_sock_setopt_int(push, NM_LINGER, 300));
    char ep[TU_EP_MAX];
    snprintf(ep, sizeof(ep), "tcp://127.0.0.1:%d", tu_free_tcp_port());
    TU_OK(nm_sock_connect(push, ep));
    TU_OK(nm_sock_send_bytes(push, "lost", 4, NM_DONTWAIT));
    int64_t t0 = tu_now_ms();
    tu_ctx_destroy(&ctx);
    int64_t took = tu_now_ms() - t0;
    assert_true(took >= 250);
    assert_true(took < 3000);
}

static void test_forked_child_lets_go(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *pull = tu_sock(ctx, NM_PULL), *push = tu_sock(ctx, NM_PUSH);
    char ep[TU_EP_MAX];
    tu_bind_tcp(pull, ep, sizeof(ep));
    TU_OK(nm_sock_connect(push, ep));
    tu_send_str(push, "before");
    tu_recv_str(pull, "before");
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) { /* no cmocka here: the exit status says it all */
        alarm(5);   /* a hang dies of SIGALRM */
        nm_sock_close(&pull);
        nm_sock_close(&push);
        int rc = nm_ctx_shutdown(ctx);
        nm_ctx_destroy(&ctx);
        _exit(rc == 0 && pull == NULL && push == NULL && ctx == NULL ? 0 : 1);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    tu_send_str(push, "after"); /* the parent's sockets are untouched */
    tu_recv_str(pull, "after");
    tu_ctx_destroy(&ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recv_tcp),
        cmocka_unit_test(test_recv_tcp_busy),
        cmocka_unit_test(test_recv_inproc),
        cmocka_unit_test(test_recv_inproc_busy),
        cmocka_unit_test(test_recv_no_peer),
        cmocka_unit_test(test_send_blocked),
        cmocka_unit_test(test_poll_blocked),
        cmocka_unit_test(test_wait_peers_blocked),
        cmocka_unit_test(test_proxy_blocked),
        cmocka_unit_test(test_destroy_waits_for_close),
        cmocka_unit_test(test_destroy_after_shutdown_waits),
        cmocka_unit_test(test_destroy_leaves_worker_sockets),
        cmocka_unit_test(test_destroy_linger_bound),
        cmocka_unit_test(test_forked_child_lets_go),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
