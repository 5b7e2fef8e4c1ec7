/*
 * bench_fanout.c - `nomid bench fanout ENDPOINT SIZE COUNT SUBS`: one PUB fanning out
 * to SUBS subscriber processes over tcp or ipc; tests/bench/zmq_bench.c repeats the
 * same shape over libzmq.
 *
 * The subscribers are forked before this process creates a context (a child of a
 * threaded process may only make async-signal-safe calls); each waits on a pipe of its
 * own for the endpoint to connect to, then subscribes to everything.  The publisher
 * sends a "hello" control message every 10 ms until every subscriber has reported one
 * (a byte on the ready pipe), so no data leaves before all subscriptions have arrived;
 * then COUNT data messages as fast as it can (a PUB never blocks: with the default HWMs
 * a subscriber that falls behind loses messages, and those are not counted); then an
 * "end" control message every 10 ms until every subscriber has reported its count and
 * the time of its last data message on the result pipe.  CLOCK_MONOTONIC (nm_clock_ns)
 * is shared by the processes, so the rate is the messages delivered over the time from
 * the first send to the last subscriber's last message.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "args.h"
#include "bench.h"
#include "bench_report.h"
#include "endpoint.h"
#include "log.h"
#include "nomid.h"
#include "stop.h"

/* Most subscriber processes (each holds a pipe and a connection). */
#define FANOUT_SUBS_MAX 128
/* Period of the hello and end control messages while the publisher waits. */
#define FANOUT_TICK_MS 10
/* No progress for this long (nothing received, nobody reporting) is a failure. */
#define FANOUT_STALL_NS (30 * 1000000000ull)
/* First frame of a control message; the second is "hello" or "end".  Data messages
 * have one frame, so they never look like one. */
#define FANOUT_TAG "nomid-bench"

/* The command line. */
struct fanout_args {
    const char *endpoint; /* ENDPOINT as given */
    size_t size;          /* SIZE: bytes per data message */
    long long count;      /* COUNT: data messages published */
    int subs;             /* SUBS: subscriber processes */
};

/* What a subscriber reports on the result pipe: one write, below PIPE_BUF, so records
 * from several subscribers never interleave. */
struct fanout_result {
    uint64_t count;   /* data messages received */
    uint64_t last_ns; /* nm_clock_ns() at the last one (0: none) */
};

/* The publisher's view of the run. */
struct fanout {
    const struct fanout_args *a; /* the command line */
    pid_t *pids;                 /* subscriber processes; 0 once reaped */
    int (*ep_pipes)[2];          /* per subscriber: the endpoint pipe (-1: closed) */
    int ready[2];                /* subscribers write a byte here on their first hello */
    int results[2];              /* subscribers write a fanout_result here at the end */
    bool child_failed;           /* a subscriber exited with a failure */
    uint64_t delivered;          /* sum of the reported counts */
    uint64_t last_ns;            /* latest reported last_ns */
};

enum fanout_rc { FANOUT_OK, FANOUT_STOP, FANOUT_TIMEOUT, FANOUT_FAIL, FANOUT_USAGE };

static enum fanout_rc fanout_parse(struct fanout_args *a, int argc, char **argv)
{
    long long v;

    if (argc != 6) {
        log_msg(NM_LOG_ERROR, "bench",
                "fanout expects ENDPOINT SIZE COUNT SUBS (see 'nomid bench --help')");
        return FANOUT_USAGE;
    }
    a->endpoint = argv[2];
    if (strncmp(a->endpoint, "inproc://", 9) == 0) {
        log_msg(NM_LOG_ERROR, "bench",
                "fanout runs its subscribers as processes: give a "
                "tcp:// or ipc:// ENDPOINT");
        return FANOUT_USAGE;
    }
    if (args_count(argv[3], 0, BENCH_SIZE_MAX, &v) != 0) {
        log_msg(NM_LOG_ERROR, "bench", "SIZE '%s' is not a byte count up to %lld", argv[3],
                BENCH_SIZE_MAX);
        return FANOUT_USAGE;
    }
    a->size = (size_t)v;
    if (args_count(argv[4], 1, BENCH_COUNT_MAX, &a->count) != 0) {
        log_msg(NM_LOG_ERROR, "bench", "COUNT '%s' is not a count of at least 1", argv[4]);
        return FANOUT_USAGE;
    }
    if (args_count(argv[5], 1, FANOUT_SUBS_MAX, &v) != 0) {
        log_msg(NM_LOG_ERROR, "bench", "SUBS '%s' is not a count from 1 to %d", argv[5],
                FANOUT_SUBS_MAX);
        return FANOUT_USAGE;
    }
    a->subs = (int)v;
    return FANOUT_OK;
}

/* Is m the control message FANOUT_TAG + word? */
static bool fanout_is_control(const nm_msg_t *m, const char *word)
{
    size_t tn = sizeof FANOUT_TAG - 1, wn = strlen(word);
    return nm_msg_count(m) == 2 && nm_msg_size(m, 0) == tn &&
           memcmp(nm_msg_data(m, 0), FANOUT_TAG, tn) == 0 && nm_msg_size(m, 1) == wn &&
           memcmp(nm_msg_data(m, 1), word, wn) == 0;
}

/* Writes all of buf to fd (a pipe); false on error. */
static bool fanout_write(int fd, const void *buf, size_t len)
{
    size_t off = 0;
    while (off < len) {
        ssize_t r = write(fd, (const char *)buf + off, len - off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return false;
        off += (size_t)r;
    }
    return true;
}

/* The subscriber's receive loop, on a connected SUB. */
static enum fanout_rc fanout_sub_loop(const struct fanout_args *a, nm_sock_t *s, int ready_fd,
                                      struct fanout_result *r, pid_t parent)
{
    nm_msg_t m;
    bool ready = false, stamp = false;
    uint64_t seen_ns = nm_clock_ns();

    nm_msg_init(&m);
    for (;;) {
        if (stop_requested())
            return FANOUT_STOP;
        /* The clock is read once per batch, when the queue runs dry right after the
         * batch's last data message, rather than at every message. */
        int rc = nm_sock_recv(s, &m, NM_DONTWAIT);
        if (rc == -EAGAIN && stamp) {
            r->last_ns = nm_clock_ns();
            stamp = false;
        }
        if (rc == -EAGAIN)
            rc = nm_sock_recv(s, &m, 0);
        if (rc == -EAGAIN || rc == -EINTR) {
            uint64_t last = r->last_ns > seen_ns ? r->last_ns : seen_ns;
            if (getppid() != parent) {
                log_msg(NM_LOG_ERROR, "bench", "subscriber: the publisher is gone");
                return FANOUT_FAIL;
            }
            if (nm_clock_ns() - last >= FANOUT_STALL_NS) {
                log_msg(NM_LOG_ERROR, "bench", "subscriber: nothing received for %llu s",
                        (unsigned long long)(FANOUT_STALL_NS / 1000000000ull));
                return FANOUT_TIMEOUT;
            }
            continue;
        }
        if (rc < 0) {
            log_msg(NM_LOG_ERROR, "bench", "subscriber: receive failed: %s", nm_strerror(rc));
            return FANOUT_FAIL;
        }
        if (nm_msg_count(&m) == 1 && nm_msg_size(&m, 0) == a->size) {
            r->count++;
            stamp = true;
        } else if (fanout_is_control(&m, "hello")) {
            seen_ns = nm_clock_ns();
            if (!ready && !fanout_write(ready_fd, "R", 1)) {
                log_msg(NM_LOG_ERROR, "bench", "subscriber: cannot report: %s", strerror(errno));
                nm_msg_close(&m);
                return FANOUT_FAIL;
            }
            ready = true;
        } else if (fanout_is_control(&m, "end")) {
            if (stamp)
                r->last_ns = nm_clock_ns();
            nm_msg_close(&m);
            return FANOUT_OK;
        } else {
            log_msg(NM_LOG_ERROR, "bench",
                    "subscriber: unexpected message of %zu frames, %zu "
                    "bytes",
                    nm_msg_count(&m), nm_msg_bytes(&m));
            nm_msg_close(&m);
            return FANOUT_FAIL;
        }
        nm_msg_close(&m);
    }
}

/* A subscriber process: reads the endpoint, connects, counts, reports; an exit code. */
static int fanout_sub(const struct fanout_args *a, int ep_fd, int ready_fd, int result_fd,
                      pid_t parent)
{
    char ep[BENCH_EP_MAX + 16];
    size_t n = 0;
    ssize_t got;

    while (n < sizeof ep - 1 && (got = read(ep_fd, ep + n, sizeof ep - 1 - n)) != 0) {
        if (got > 0)
            n += (size_t)got;
        else if (errno != EINTR)
            break;
    }
    close(ep_fd);
    if (n == 0)
        return NODE_EXIT_FAIL; /* the publisher could not bind; it said why */
    ep[n] = '\0';

    nm_ctx_t *ctx = NULL;
    nm_sock_t *s = NULL;
    struct fanout_result r = {0, 0};
    enum fanout_rc rc = FANOUT_FAIL;
    int err = nm_ctx_new(&ctx);
    if (err == 0) {
        nm_ctx_set_log(ctx, log_stderr_cb, NULL, NM_LOG_WARN);
        err = nm_sock_new(&s, ctx, NM_SUB);
    }
    if (err == 0)
        err = nm_sock_setopt_int(s, NM_RCVTIMEO, STOP_POLL_MS);
    if (err == 0)
        err = nm_sock_setopt(s, NM_SUBSCRIBE, "", 0);
    if (err == 0)
        err = nm_sock_connect(s, ep);
    if (err < 0)
        log_msg(NM_LOG_ERROR, "bench", "subscriber: cannot set up a SUB on %s: %s", ep,
                nm_strerror(err));
    else
        rc = fanout_sub_loop(a, s, ready_fd, &r, parent);
    if (rc == FANOUT_OK && !fanout_write(result_fd, &r, sizeof r))
        rc = FANOUT_FAIL;
    if (s != NULL) {
        nm_sock_setopt_int(s, NM_LINGER, 0);
        nm_sock_close(&s);
    }
    if (ctx != NULL)
        nm_ctx_destroy(&ctx);
    return rc == FANOUT_OK || rc == FANOUT_STOP ? NODE_EXIT_OK : NODE_EXIT_FAIL;
}

/* Reaps the subscribers that exited (all of them when block); false once one failed. */
static bool fanout_reap(struct fanout *f, bool block)
{
    bool forwarded = false;

    for (int i = 0; i < f->a->subs; i++) {
        int status;
        while (f->pids[i] > 0) {
            pid_t r = waitpid(f->pids[i], &status, block ? 0 : WNOHANG);
            if (r == f->pids[i]) {
                f->pids[i] = 0;
                if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                    f->child_failed = true;
            } else if (r < 0 && errno == EINTR) {
                if (stop_requested() && !forwarded) {
                    for (int j = 0; j < f->a->subs; j++)
                        if (f->pids[j] > 0)
                            kill(f->pids[j], SIGTERM);
                    forwarded = true;
                }
            } else {
                break; /* still running (WNOHANG), or not our child any more */
            }
        }
    }
    return !f->child_failed;
}

/* Sends a control message (dropped if no subscriber wants it: that is fine). */
static enum fanout_rc fanout_control(nm_sock_t *pub, const char *word)
{
    nm_msg_t m;
    nm_msg_init(&m);
    int rc = nm_msg_add(&m, FANOUT_TAG, sizeof FANOUT_TAG - 1);
    if (rc == 0)
        rc = nm_msg_add(&m, word, strlen(word));
    if (rc == 0)
        rc = nm_sock_send(pub, &m, NM_DONTWAIT);
    nm_msg_close(&m);
    if (rc < 0 && rc != -EAGAIN) {
        log_msg(NM_LOG_ERROR, "bench", "cannot send %s: %s", word, nm_strerror(rc));
        return FANOUT_FAIL;
    }
    return FANOUT_OK;
}

/* Sends `word` every FANOUT_TICK_MS until every subscriber has reported on fd: a byte
 * each (ready pipe) or a fanout_result each (results pipe). */
static enum fanout_rc fanout_await(struct fanout *f, nm_sock_t *pub, const char *word, int fd,
                                   bool results)
{
    uint64_t progress_ns = nm_clock_ns();
    int have = 0;

    while (have < f->a->subs) {
        enum fanout_rc rc = fanout_control(pub, word);
        if (rc != FANOUT_OK)
            return rc;
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, FANOUT_TICK_MS) > 0) {
            struct fanout_result r;
            char bytes[FANOUT_SUBS_MAX];
            ssize_t n = results ? read(fd, &r, sizeof r) : read(fd, bytes, sizeof bytes);
            if (n == 0) {
                log_msg(NM_LOG_ERROR, "bench", "the subscribers exited early");
                return FANOUT_FAIL;
            }
            if (n > 0 && results && (size_t)n != sizeof r) {
                log_msg(NM_LOG_ERROR, "bench", "short report from a subscriber");
                return FANOUT_FAIL;
            }
            if (n > 0 && results) {
                f->delivered += r.count;
                if (r.last_ns > f->last_ns)
                    f->last_ns = r.last_ns;
            }
            if (n > 0) {
                have += results ? 1 : (int)n;
                progress_ns = nm_clock_ns();
            }
        }
        if (stop_requested())
            return FANOUT_STOP;
        /* A subscriber exits 0 only after the end (or a stop); any other exit fails. */
        if (!fanout_reap(f, false)) {
            log_msg(NM_LOG_ERROR, "bench", "a subscriber failed");
            return FANOUT_FAIL;
        }
        if (nm_clock_ns() - progress_ns >= FANOUT_STALL_NS) {
            log_msg(NM_LOG_ERROR, "bench", "timeout: %d of %d subscribers %s within %llu s", have,
                    f->a->subs, results ? "reported" : "connected",
                    (unsigned long long)(FANOUT_STALL_NS / 1000000000ull));
            return FANOUT_TIMEOUT;
        }
    }
    return FANOUT_OK;
}

/* Publishes COUNT data messages as fast as possible; *first_ns: before the first. */
static enum fanout_rc fanout_blast(const struct fanout_args *a, nm_sock_t *pub, uint64_t *first_ns)
{
    nm_msg_t m;
    enum fanout_rc rc = FANOUT_OK;

    nm_msg_init(&m);
    *first_ns = nm_clock_ns();
    for (long long i = 0; rc == FANOUT_OK && i < a->count; i++) {
        void *data;
        if ((i & BENCH_STOP_CHECK_MASK) == 0 && stop_requested()) {
            rc = FANOUT_STOP;
            break;
        }
        int err = nm_msg_add_alloc(&m, a->size, &data);
        if (err == 0) {
            memset(data, 'n', a->size);
            err = nm_sock_send(pub, &m, 0);
        }
        if (err == -EAGAIN) {
            nm_msg_close(&m); /* a PUB never blocks; if it did, the message is lost */
        } else if (err < 0) {
            log_msg(NM_LOG_ERROR, "bench", "send failed: %s", nm_strerror(err));
            rc = FANOUT_FAIL;
        }
    }
    nm_msg_close(&m);
    return rc;
}

/* The publisher: binds, tells the subscribers where, runs the three phases, prints. */
static enum fanout_rc fanout_publish(struct fanout *f, nm_ctx_t *ctx)
{
    const struct fanout_args *a = f->a;
    nm_sock_t *pub = NULL;
    char real[BENCH_EP_MAX] = {0}, peer_ep[BENCH_EP_MAX + 16];
    size_t len = sizeof real - 1;
    uint64_t first_ns = 0;

    int err = nm_sock_new(&pub, ctx, NM_PUB);
    if (err < 0) {
        log_msg(NM_LOG_ERROR, "bench", "cannot create a PUB: %s", nm_strerror(err));
        return FANOUT_FAIL;
    }
    err = nm_sock_bind(pub, a->endpoint);
    if (err < 0) {
        char why[256];
        log_msg(NM_LOG_ERROR, "bench", "cannot bind %s: %s", a->endpoint,
                endpoint_error(a->endpoint, true, err, why, sizeof(why)));
        nm_sock_close(&pub);
        return err == -EINVAL || err == -EPROTONOSUPPORT ? FANOUT_USAGE : FANOUT_FAIL;
    }
    if (nm_sock_getopt(pub, NM_LAST_ENDPOINT, real, &len) < 0 || real[0] == '\0')
        snprintf(real, sizeof real, "%s", a->endpoint);
    fprintf(stderr, "bound %s\n", real);
    bench_connect_endpoint(real, peer_ep, sizeof peer_ep);
    enum fanout_rc rc = FANOUT_OK;
    for (int i = 0; i < a->subs; i++) {
        if (!fanout_write(f->ep_pipes[i][1], peer_ep, strlen(peer_ep)))
            rc = FANOUT_FAIL;
        close(f->ep_pipes[i][1]);
        f->ep_pipes[i][1] = -1;
    }
    if (rc == FANOUT_OK)
        rc = fanout_await(f, pub, "hello", f->ready[0], false);
    if (rc == FANOUT_OK)
        rc = fanout_blast(a, pub, &first_ns);
    if (rc == FANOUT_OK)
        rc = fanout_await(f, pub, "end", f->results[0], true);
    nm_sock_setopt_int(pub, NM_LINGER, 0);
    nm_sock_close(&pub);
    if (rc != FANOUT_OK)
        return rc;

    bench_report_fanout(f->delivered, a->count, f->last_ns > first_ns ? f->last_ns - first_ns : 0);
    return FANOUT_OK;
}

/* Forks the subscribers; each keeps only its endpoint pipe's read end and the write
 * ends of the ready and results pipes.  False when a fork failed. */
static bool fanout_fork(struct fanout *f)
{
    const struct fanout_args *a = f->a;
    pid_t parent = getpid();

    fflush(stdout);
    fflush(stderr);
    for (int i = 0; i < a->subs; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            log_msg(NM_LOG_ERROR, "bench", "fork failed: %s", strerror(errno));
            return false;
        }
        if (pid > 0) {
            f->pids[i] = pid;
            continue;
        }
        close(f->ready[0]);
        close(f->results[0]);
        for (int j = 0; j < a->subs; j++) {
            close(f->ep_pipes[j][1]);
            if (j != i)
                close(f->ep_pipes[j][0]);
        }
        _exit(fanout_sub(a, f->ep_pipes[i][0], f->ready[1], f->results[1], parent));
    }
    return true;
}

static int fanout_exit_code(enum fanout_rc rc)
{
    switch (rc) {
    case FANOUT_OK:
    case FANOUT_STOP:
        return NODE_EXIT_OK;
    case FANOUT_TIMEOUT:
        return NODE_EXIT_TIMEOUT;
    case FANOUT_USAGE:
        return NODE_EXIT_USAGE;
    default:
        return NODE_EXIT_FAIL;
    }
}

int bench_fanout_main(int argc, char **argv)
{
    struct fanout_args a;
    struct fanout f;
    nm_ctx_t *ctx = NULL;

    memset(&a, 0, sizeof a);
    memset(&f, 0, sizeof f);
    enum fanout_rc rc = fanout_parse(&a, argc, argv);
    if (rc != FANOUT_OK)
        return fanout_exit_code(rc);
    f.a = &a;
    f.pids = calloc((size_t)a.subs, sizeof *f.pids);
    f.ep_pipes = calloc((size_t)a.subs, sizeof *f.ep_pipes);
    f.ready[0] = f.ready[1] = f.results[0] = f.results[1] = -1;
    bool ok = f.pids != NULL && f.ep_pipes != NULL;
    for (int i = 0; ok && i < a.subs; i++)
        f.ep_pipes[i][0] = f.ep_pipes[i][1] = -1;
    ok = ok && pipe(f.ready) == 0 && pipe(f.results) == 0;
    for (int i = 0; ok && i < a.subs; i++)
        ok = pipe(f.ep_pipes[i]) == 0;
    if (!ok)
        log_msg(NM_LOG_ERROR, "bench", "cannot set up pipes: %s", strerror(errno));
    ok = ok && fanout_fork(&f);
    rc = ok ? FANOUT_OK : FANOUT_FAIL;

    /* The parent keeps the read ends of ready/results (EOF once every subscriber is
     * gone) and the write ends of the endpoint pipes (EOF without an endpoint: give up). */
    for (int i = 0; f.ep_pipes != NULL && i < a.subs; i++)
        if (f.ep_pipes[i][0] >= 0)
            close(f.ep_pipes[i][0]);
    if (f.ready[1] >= 0)
        close(f.ready[1]);
    if (f.results[1] >= 0)
        close(f.results[1]);
    if (rc == FANOUT_OK) {
        int err = nm_ctx_new(&ctx);
        if (err < 0) {
            log_msg(NM_LOG_ERROR, "bench", "cannot create a context: %s", nm_strerror(err));
            rc = FANOUT_FAIL;
        }
    }
    if (rc == FANOUT_OK) {
        nm_ctx_set_log(ctx, log_stderr_cb, NULL, NM_LOG_WARN);
        rc = fanout_publish(&f, ctx);
    }
    for (int i = 0; f.ep_pipes != NULL && i < a.subs; i++)
        if (f.ep_pipes[i][1] >= 0)
            close(f.ep_pipes[i][1]); /* a subscriber still waiting sees EOF and gives up */
    if (ctx != NULL)
        nm_ctx_destroy(&ctx);
    if (rc != FANOUT_OK)
        for (int i = 0; f.pids != NULL && i < a.subs; i++)
            if (f.pids[i] > 0)
                kill(f.pids[i], SIGTERM);
    if (f.pids != NULL && !fanout_reap(&f, true) && rc == FANOUT_OK) {
        log_msg(NM_LOG_ERROR, "bench", "a subscriber failed");
        rc = FANOUT_FAIL;
    }
    if (f.ready[0] >= 0)
        close(f.ready[0]);
    if (f.results[0] >= 0)
        close(f.results[0]);
    free(f.pids);
    free(f.ep_pipes);
    return fanout_exit_code(rc);
}
