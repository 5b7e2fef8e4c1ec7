/*
 * bench_idle.c - `nomid bench idle ENDPOINT N`: the memory a ROUTER spends per idle
 * connection.  tests/bench/zmq_bench.c (libzmq ROUTER) and raw_bench.c (a plain epoll
 * server, the floor) repeat the same shape with the same clients.
 *
 * The client processes (bench_idle_clients.c) are forked before this process creates a
 * context and wait for the endpoint.  The ROUTER binds ENDPOINT (tcp), settles, and the
 * process's resident memory is read; then the clients open N raw TCP connections in
 * total and complete a ZMTP 3.1 NULL handshake on each as a DEALER would, report on a
 * pipe, and stay idle.  Once they all reported and the ROUTER has N active pipes, and
 * after a further second to settle, the resident memory is read again: prints
 * `bytes_per_conn=X conns=N`, X being the growth over N.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "bench.h"
#include "bench_idle_clients.h"
#include "endpoint.h"
#include "log.h"
#include "nomid.h"
#include "stop.h"

/* Time to let the I/O thread settle after the bind, and after the last handshake. */
#define IDLE_SETTLE_BEFORE_MS 300
#define IDLE_SETTLE_AFTER_MS  1000
/* The clients and the ROUTER together get this long to set up every connection. */
#define IDLE_SETUP_NS (90 * 1000000000ull)

enum idle_rc { IDLE_OK, IDLE_STOP, IDLE_TIMEOUT, IDLE_FAIL, IDLE_USAGE };

/* nm_ctx_stats callback: counts the active pipes. */
static void idle_count_pipe(void *arg, const nm_sock_stats_t *sock, const nm_pipe_stats_t *st)
{
    (void)sock;
    if (st->state == NM_PIPE_ACTIVE)
        (*(long *)arg)++;
}

static long idle_active_pipes(nm_ctx_t *ctx)
{
    long n = 0;

    nm_ctx_stats(ctx, NULL, idle_count_pipe, &n);
    return n;
}

static enum idle_rc idle_parse(int argc, char **argv, const char **endpoint, long *n)
{
    long long v;

    if (argc != 4) {
        log_msg(NM_LOG_ERROR, "bench", "idle expects ENDPOINT N (see 'nomid bench --help')");
        return IDLE_USAGE;
    }
    *endpoint = argv[2];
    if (strncmp(*endpoint, "tcp://", 6) != 0) {
        log_msg(NM_LOG_ERROR, "bench", "idle measures tcp connections: give a tcp:// ENDPOINT");
        return IDLE_USAGE;
    }
    if (args_count(argv[3], 1, IDLE_CONNS_MAX, &v) != 0) {
        log_msg(NM_LOG_ERROR, "bench", "N '%s' is not a count from 1 to %ld", argv[3],
                IDLE_CONNS_MAX);
        return IDLE_USAGE;
    }
    *n = (long)v;
    return IDLE_OK;
}

/* Waits for the clients' reports and for N active pipes; then settles. */
static enum idle_rc idle_wait(nm_ctx_t *ctx, struct idle_clients *c, long n)
{
    uint64_t start = nm_clock_ns();
    int r = 0;

    while (r == 0) {
        if (stop_requested())
            return IDLE_STOP;
        r = idle_clients_poll(c, STOP_POLL_MS);
        if (r < 0)
            return IDLE_FAIL;
        if (r == 0 && nm_clock_ns() - start >= IDLE_SETUP_NS) {
            log_msg(NM_LOG_ERROR, "bench", "timeout: %ld of %ld handshakes reported", c->done, n);
            return IDLE_TIMEOUT;
        }
    }
    long active;
    while ((active = idle_active_pipes(ctx)) < n) {
        if (stop_requested())
            return IDLE_STOP;
        if (nm_clock_ns() - start >= IDLE_SETUP_NS) {
            log_msg(NM_LOG_ERROR, "bench", "timeout: the ROUTER has %ld of %ld pipes", active, n);
            return IDLE_TIMEOUT;
        }
        stop_sleep_ms(10);
    }
    stop_sleep_ms(IDLE_SETTLE_AFTER_MS);
    return stop_requested() ? IDLE_STOP : IDLE_OK;
}

/* Binds the ROUTER, measures, lets the clients connect, measures again, prints. */
static enum idle_rc idle_run(nm_ctx_t *ctx, struct idle_clients *c, const char *endpoint, long n)
{
    char real[BENCH_EP_MAX] = {0}, peer_ep[BENCH_EP_MAX + 16];
    size_t len = sizeof real - 1;
    nm_sock_t *s = NULL;

    int err = nm_sock_new(&s, ctx, NM_ROUTER);
    if (err < 0) {
        log_msg(NM_LOG_ERROR, "bench", "cannot create a ROUTER: %s", nm_strerror(err));
        return IDLE_FAIL;
    }
    err = nm_sock_bind(s, endpoint);
    if (err < 0) {
        char why[256];
        log_msg(NM_LOG_ERROR, "bench", "cannot bind %s: %s", endpoint,
                endpoint_error(endpoint, true, err, why, sizeof(why)));
        nm_sock_close(&s);
        return err == -EINVAL || err == -EPROTONOSUPPORT ? IDLE_USAGE : IDLE_FAIL;
    }
    if (nm_sock_getopt(s, NM_LAST_ENDPOINT, real, &len) < 0 || real[0] == '\0')
        snprintf(real, sizeof real, "%s", endpoint);
    fprintf(stderr, "bound %s\n", real);
    bench_connect_endpoint(real, peer_ep, sizeof peer_ep);

    stop_sleep_ms(IDLE_SETTLE_BEFORE_MS);
    long before = idle_rss_bytes();
    enum idle_rc rc = IDLE_OK;
    if (idle_clients_start(c, peer_ep) != 0) {
        log_msg(NM_LOG_ERROR, "bench", "cannot reach the client processes");
        rc = IDLE_FAIL;
    }
    if (rc == IDLE_OK)
        rc = idle_wait(ctx, c, n);
    long after = idle_rss_bytes();
    if (rc == IDLE_OK && (before < 0 || after < 0)) {
        log_msg(NM_LOG_ERROR, "bench", "cannot read /proc/self/statm");
        rc = IDLE_FAIL;
    }
    if (rc == IDLE_OK) {
        fprintf(stderr, "rss before %ld KiB, after %ld KiB\n", before / 1024, after / 1024);
        printf("bytes_per_conn=%.0f conns=%ld\n", (double)(after - before) / (double)n, n);
        fflush(stdout);
    }
    nm_sock_setopt_int(s, NM_LINGER, 0);
    nm_sock_close(&s);
    return rc;
}

int bench_idle_main(int argc, char **argv)
{
    struct idle_clients c;
    const char *endpoint = NULL;
    long n = 0;
    nm_ctx_t *ctx = NULL;

    memset(&c, 0, sizeof c);
    c.report_fd = c.hold_fd = -1;
    for (int i = 0; i < IDLE_PROCS_MAX; i++)
        c.ep_fds[i] = -1;
    enum idle_rc rc = idle_parse(argc, argv, &endpoint, &n);
    if (rc == IDLE_OK) {
        long limit = idle_raise_nofile();
        if (limit < n + 64)
            log_msg(NM_LOG_WARN, "bench", "the descriptor limit %ld may be too low for %ld", limit,
                    n);
        /* Fork before the context exists: the children start from a single thread. */
        if (idle_clients_fork(&c, n) != 0)
            rc = IDLE_FAIL;
    }
    if (rc == IDLE_OK) {
        int err = nm_ctx_new(&ctx);
        if (err < 0) {
            log_msg(NM_LOG_ERROR, "bench", "cannot create a context: %s", nm_strerror(err));
            rc = IDLE_FAIL;
        }
    }
    if (rc == IDLE_OK) {
        nm_ctx_set_log(ctx, log_stderr_cb, NULL, NM_LOG_WARN);
        rc = idle_run(ctx, &c, endpoint, n);
    }
    if (ctx != NULL)
        nm_ctx_destroy(&ctx);
    idle_clients_stop(&c); /* a client let go before its end exits 1: not a failure */

    switch (rc) {
    case IDLE_OK:
    case IDLE_STOP:
        return NODE_EXIT_OK;
    case IDLE_TIMEOUT:
        return NODE_EXIT_TIMEOUT;
    case IDLE_USAGE:
        return NODE_EXIT_USAGE;
    default:
        return NODE_EXIT_FAIL;
    }
}
