/*
 * zmq_bench.c - the libzmq baseline for `nomid bench`: the same command lines
 * (`zmq_bench thr|lat [--curve] [--rate HZ] ENDPOINT SIZE COUNT`, `zmq_bench fanout
 * ENDPOINT SIZE COUNT SUBS`, `zmq_bench idle ENDPOINT N`, `zmq_bench router ENDPOINT
 * SIZE COUNT CLIENTS [PROCS]`), the same processes and
 * threads, the same timing points and the same output, so tests/bench/run.sh can put
 * the numbers side by side.
 *
 * thr/lat: the receiving side (PULL for thr, REP for lat) binds ENDPOINT in this
 * process, reads the endpoint it got (for tcp://...:0), then forks; the child connects
 * (PUSH, REQ) with its own context.  For inproc:// the other side is a thread sharing
 * the context instead.  thr times at the receiver from the first message to the last
 * and prints `msgs_per_s=N MB_per_s=M` (MB = 10^6 bytes); lat times each round trip at
 * the requester (paced with --rate HZ) and prints `one_way_us=X rtt_p50_us=A
 * rtt_p99_us=B rtt_p999_us=C rtt_max_us=D cpu_us_per_rt=E`, as nomid bench does
 * (node/bench_report.c keeps the times, paces, and prints): a forked requester writes its
 * figures on a pipe, and the replying parent prints them with its own CPU time over its
 * loop.  With --curve (anywhere after thr or lat) both sides use CURVE: the server and
 * client key pairs are made before the fork, the binding side being the CURVE server.
 *
 * fanout: SUBS subscriber processes are forked before any context exists; the PUB
 * binds, hands each its endpoint over a pipe, sends a two-frame "hello" every 10 ms
 * until each subscriber has reported one on a pipe, publishes COUNT messages of SIZE
 * bytes as fast as it can (default HWMs: a slow subscriber loses messages), then sends
 * "end" every 10 ms until each subscriber has reported its count and the
 * CLOCK_MONOTONIC time of its last message.  Prints `delivered_msgs_per_s=N
 * delivered=D sent=COUNT`, the rate being D over the time from the first send to the
 * last subscriber's last message.  See node/bench_fanout.c, whose shape this repeats.
 *
 * idle (`zmq_bench idle ENDPOINT N`): the client processes of node/bench_idle_clients.c
 * are forked before any context exists; a ROUTER binds ENDPOINT (tcp) and, after 300 ms
 * to settle, the resident memory is read; the clients open N raw TCP connections and
 * complete a ZMTP NULL handshake on each as a DEALER, report and stay idle.  Once they
 * all reported and the ROUTER's monitor counted N handshakes, and one more second,
 * the memory is read again: prints `bytes_per_conn=X conns=N` (growth over N).  See
 * node/bench_idle.c, whose shape this repeats.
 *
 * router (`zmq_bench router ENDPOINT SIZE COUNT CLIENTS [PROCS]`): node/bench_router_run.c
 * runs the processes, the clients' loop and the figures, as for `nomid bench router`;
 * this file gives it libzmq's sockets: a ROUTER that receives a request's two frames
 * (routing id, body) and sends them back, and per client process one context whose
 * DEALERs it waits on with zmq_poll.
 *
 * Exit codes: 0 success, 1 failure, 2 bad arguments, 3 no progress for 30 s (fanout,
 * router) or no complete setup within 90 s (idle).  Benchmark tool only: never linked
 * into nomid.
 *
 * Build: cc -O2 -pthread -Inode zmq_bench.c node/bench_idle_clients.c node/bench_report.c
 *        node/bench_router_run.c node/args.c -o zmq_bench $(pkg-config --cflags --libs libzmq)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "args.h"
#include "bench_idle_clients.h"
#include "bench_report.h"
#include "bench_router_run.h"

/* fanout: most subscribers, control message period, stall limit, control tag. */
#define ZB_SUBS_MAX 128
#define ZB_TICK_MS  10
#define ZB_STALL_NS (30 * 1000000000ull)
#define ZB_TAG      "nomid-bench"
/* idle: settling before and after, the setup limit, the monitor's endpoint. */
#define ZB_IDLE_BEFORE_MS 300
#define ZB_IDLE_AFTER_MS  1000
#define ZB_IDLE_SETUP_NS  (90 * 1000000000ull)
#define ZB_IDLE_MONITOR   "inproc://zmq-bench-idle-monitor"

/* The command line. */
struct zb_args {
    bool lat;             /* lat rather than thr */
    bool fanout;          /* fanout rather than thr/lat */
    bool idle;            /* idle rather than thr/lat */
    const char *endpoint; /* ENDPOINT as given */
    size_t size;          /* SIZE: bytes per message */
    long long count;      /* COUNT: messages (thr, fanout) or round trips (lat) */
    int subs;             /* SUBS (fanout) */
    bool curve;           /* --curve (thr, lat): both sides use CURVE, with these keys */
    long long rate_hz;    /* --rate HZ (lat): round trips started per second; 0 = none */
    char server_pub[41], server_sec[41]; /* Z85: the binding side's key pair */
    char client_pub[41], client_sec[41]; /* the connecting side's */
};

/* The inproc peer thread. */
struct zb_thread {
    const struct zb_args *a;     /* the command line */
    void *ctx;                   /* the shared context */
    const char *endpoint;        /* where to connect */
    int rc;                      /* its outcome */
    struct bench_lat_result lat; /* lat: the requester's figures, once rc is 0 */
};

/* What a fanout subscriber reports (one write, below PIPE_BUF). */
struct zb_result {
    uint64_t count;   /* data messages received */
    uint64_t last_ns; /* clock at the last one (0: none) */
};

static int zb_fail(const char *what)
{
    fprintf(stderr, "ERROR zmq_bench: %s: %s\n", what, zmq_strerror(zmq_errno()));
    return 1;
}

static int zb_usage(const char *problem)
{
    fprintf(
        stderr,
        "ERROR zmq_bench: %s\nusage: zmq_bench thr|lat [--curve] [--rate HZ] ENDPOINT SIZE COUNT\n"
        "       zmq_bench fanout ENDPOINT SIZE COUNT SUBS\n"
        "       zmq_bench idle ENDPOINT N\n"
        "       zmq_bench router ENDPOINT SIZE COUNT CLIENTS [PROCS]\n",
        problem);
    return 2;
}

/* Receives one message into m and checks it is one frame of size bytes. */
static int zb_recv(void *s, zmq_msg_t *m, size_t size)
{
    if (zmq_msg_recv(m, s, 0) < 0)
        return zb_fail("receive");
    if (zmq_msg_more(m) || zmq_msg_size(m) != size) {
        fprintf(stderr, "ERROR zmq_bench: got %zu bytes, expected one frame of %zu\n",
                zmq_msg_size(m), size);
        return 1;
    }
    return 0;
}

/* PULL side of thr: times from the first message to the last. */
static int zb_thr_recv(void *s, const struct zb_args *a)
{
    zmq_msg_t m;
    uint64_t start = 0;

    zmq_msg_init(&m);
    for (long long i = 0; i < a->count; i++) {
        if (zb_recv(s, &m, a->size) != 0)
            return 1;
        if (i == 0)
            start = bench_clock_ns();
    }
    zmq_msg_close(&m);
    bench_report_thr(a->count, a->size, bench_clock_ns() - start);
    return 0;
}

/* PUSH side of thr.  Payloads of ZB_ZC_MIN bytes or more are sent without copying,
 * all from one filled buffer (as nomid bench and raw_bench do). */
#define ZB_ZC_MIN (16 * 1024)
static int zb_thr_send(void *s, const struct zb_args *a)
{
    zmq_msg_t m;
    static void *zc_body; /* for the process's life: queued messages point at it */

    if (a->size >= ZB_ZC_MIN && zc_body == NULL) {
        if ((zc_body = malloc(a->size)) == NULL)
            return zb_fail("allocate");
        memset(zc_body, 'n', a->size);
    }
    for (long long i = 0; i < a->count; i++) {
        if (zc_body != NULL) {
            if (zmq_msg_init_data(&m, zc_body, a->size, NULL, NULL) != 0)
                return zb_fail("allocate");
        } else {
            if (zmq_msg_init_size(&m, a->size) != 0)
                return zb_fail("allocate");
            memset(zmq_msg_data(&m), 'n', a->size);
        }
        if (zmq_msg_send(&m, s, 0) < 0) {
            zmq_msg_close(&m);
            return zb_fail("send");
        }
    }
    return 0;
}

/* REP side of lat: sends every request back; *cpu_ns: this process's CPU time over it. */
static int zb_lat_reply(void *s, const struct zb_args *a, uint64_t *cpu_ns)
{
    zmq_msg_t m;
    uint64_t cpu = bench_cpu_ns();

    zmq_msg_init(&m);
    for (long long i = 0; i < a->count; i++) {
        if (zb_recv(s, &m, a->size) != 0)
            return 1;
        if (zmq_msg_send(&m, s, 0) < 0)
            return zb_fail("send");
    }
    *cpu_ns = bench_cpu_ns() - cpu;
    zmq_msg_close(&m);
    return 0;
}

/* REQ side of lat: times each round trip, reusing each reply as the next request. */
static int zb_lat_request(void *s, const struct zb_args *a, struct bench_lat_result *res)
{
    struct bench_lat l;
    zmq_msg_t m;
    int rc = 0;

    if (bench_lat_init(&l, a->count, a->rate_hz) != 0)
        return zb_fail("allocate");
    if (zmq_msg_init_size(&m, a->size) != 0) {
        bench_lat_fini(&l);
        return zb_fail("allocate");
    }
    memset(zmq_msg_data(&m), 'n', a->size);
    bench_lat_begin(&l);
    for (long long i = 0; rc == 0 && i < a->count; i++) {
        while (bench_lat_wait(&l) != 0)
            ; /* a signal: no stop to notice here */
        if (zmq_msg_send(&m, s, 0) < 0)
            rc = zb_fail("send");
        else
            rc = zb_recv(s, &m, a->size);
        bench_lat_done(&l, i);
    }
    zmq_msg_close(&m);
    if (rc == 0)
        bench_lat_finish(&l, res);
    else
        bench_lat_fini(&l);
    return rc;
}

/* --curve: the server (binding side) needs its secret key, the client its key pair and
 * the server's public key; set before bind / connect. */
static int zb_curve(void *s, bool server, const struct zb_args *a)
{
    int one = 1;

    if (server)
        return zmq_setsockopt(s, ZMQ_CURVE_SERVER, &one, sizeof one) != 0 ||
               zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, a->server_sec, 40) != 0;
    return zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, a->server_pub, 40) != 0 ||
           zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, a->client_pub, 40) != 0 ||
           zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, a->client_sec, 40) != 0;
}

/* The child (or, for inproc, a thread sharing shared_ctx): connects and runs the
 * sending side; lat's figures go to *res. */
static int zb_peer(const struct zb_args *a, const char *endpoint, void *shared_ctx,
                   struct bench_lat_result *res)
{
    void *ctx = shared_ctx != NULL ? shared_ctx : zmq_ctx_new();
    if (ctx == NULL)
        return zb_fail("context");
    void *s = zmq_socket(ctx, a->lat ? ZMQ_REQ : ZMQ_PUSH);
    int rc = 1;
    if (s == NULL)
        rc = zb_fail("socket");
    else if (a->curve && zb_curve(s, false, a) != 0)
        rc = zb_fail("CURVE options");
    else if (zmq_connect(s, endpoint) != 0)
        rc = zb_fail(endpoint);
    else
        rc = a->lat ? zb_lat_request(s, a, res) : zb_thr_send(s, a);
    if (s != NULL)
        zmq_close(s); /* thr: the default LINGER lets the queue drain in zmq_ctx_term */
    if (shared_ctx == NULL)
        zmq_ctx_term(ctx);
    return rc;
}

static void *zb_thread_cb(void *arg)
{
    struct zb_thread *t = arg;
    t->rc = zb_peer(t->a, t->endpoint, t->ctx, &t->lat);
    return NULL;
}

/* For a wildcard bind the peer connects to loopback instead. */
static void zb_connect_endpoint(const char *bound, char *out, size_t n)
{
    if (strncmp(bound, "tcp://0.0.0.0:", 14) == 0)
        snprintf(out, n, "tcp://127.0.0.1:%s", bound + 14);
    else if (strncmp(bound, "tcp://[::]:", 11) == 0)
        snprintf(out, n, "tcp://[::1]:%s", bound + 11);
    else
        snprintf(out, n, "%s", bound);
}

static int zb_parse(struct zb_args *a, int argc, char **argv)
{
    long long size;

    memset(a, 0, sizeof *a);
    if (argc < 2)
        return zb_usage("expected a benchmark");
    if (strcmp(argv[1], "thr") == 0 || strcmp(argv[1], "lat") == 0) {
        struct bench_opts o;
        const char *bad;
        if (bench_take_opts(&argc, argv, &o, &bad) != 0)
            return zb_usage("--rate HZ is a count of round trips a second");
        if (o.rate_hz > 0 && strcmp(argv[1], "lat") != 0)
            return zb_usage("--rate is for lat");
        a->curve = o.curve;
        a->rate_hz = o.rate_hz;
    }
    a->idle = strcmp(argv[1], "idle") == 0;
    if (a->idle) {
        if (argc != 4)
            return zb_usage("idle expects ENDPOINT N");
        a->endpoint = argv[2];
        if (strncmp(a->endpoint, "tcp://", 6) != 0)
            return zb_usage("idle measures tcp connections: give a tcp:// ENDPOINT");
        if (args_count(argv[3], 1, IDLE_CONNS_MAX, &a->count) != 0)
            return zb_usage("N is a count of connections");
        return 0;
    }
    a->fanout = strcmp(argv[1], "fanout") == 0;
    if (argc != (a->fanout ? 6 : 5))
        return zb_usage(a->fanout ? "fanout expects 4 arguments" : "expected 4 arguments");
    if (strcmp(argv[1], "thr") != 0 && strcmp(argv[1], "lat") != 0 && !a->fanout)
        return zb_usage("the benchmark is thr, lat, fanout or idle");
    a->lat = strcmp(argv[1], "lat") == 0;
    a->endpoint = argv[2];
    if (args_count(argv[3], 0, 1ll << 30, &size) != 0)
        return zb_usage("SIZE is a byte count");
    a->size = (size_t)size;
    if (args_count(argv[4], 1, 1000000000000ll, &a->count) != 0)
        return zb_usage("COUNT is a count of at least 1");
    long long subs = 0;
    if (a->fanout && args_count(argv[5], 1, ZB_SUBS_MAX, &subs) != 0)
        return zb_usage("SUBS is a count from 1 to 128");
    a->subs = (int)subs;
    if (a->fanout && strncmp(a->endpoint, "inproc://", 9) == 0)
        return zb_usage("fanout runs its subscribers as processes: give tcp:// or ipc://");
    if (a->curve && (zmq_curve_keypair(a->server_pub, a->server_sec) != 0 ||
                     zmq_curve_keypair(a->client_pub, a->client_sec) != 0))
        return zb_fail("zmq_curve_keypair");
    return 0;
}

/* ---- fanout ---- */

static bool zb_write(int fd, const void *buf, size_t len)
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

/* A subscriber's loop: counts data messages until "end"; 0, 1 failure or 3 stall. */
static int zb_sub_loop(const struct zb_args *a, void *s, int ready_fd, struct zb_result *r,
                       pid_t parent)
{
    zmq_msg_t m;
    bool ready = false, stamp = false;
    uint64_t seen_ns = bench_clock_ns();

    zmq_msg_init(&m);
    for (;;) {
        /* The clock is read once per batch, when the queue runs dry right after the
         * batch's last data message (as nomid bench does). */
        int rc = zmq_msg_recv(&m, s, ZMQ_DONTWAIT);
        if (rc < 0 && zmq_errno() == EAGAIN && stamp) {
            r->last_ns = bench_clock_ns();
            stamp = false;
        }
        if (rc < 0 && zmq_errno() == EAGAIN)
            rc = zmq_msg_recv(&m, s, 0);
        if (rc < 0) {
            if (zmq_errno() != EAGAIN && zmq_errno() != EINTR)
                return zb_fail("subscriber receive");
            uint64_t last = r->last_ns > seen_ns ? r->last_ns : seen_ns;
            if (getppid() != parent || bench_clock_ns() - last >= ZB_STALL_NS) {
                fprintf(stderr, "ERROR zmq_bench: subscriber: no progress\n");
                return 3;
            }
            continue;
        }
        if (!zmq_msg_more(&m)) {
            if (zmq_msg_size(&m) != a->size) {
                fprintf(stderr, "ERROR zmq_bench: subscriber: %zu bytes, expected %zu\n",
                        zmq_msg_size(&m), a->size);
                return 1;
            }
            r->count++;
            stamp = true;
            continue;
        }
        /* A control message: ZB_TAG, then "hello" or "end". */
        bool tagged = zmq_msg_size(&m) == sizeof ZB_TAG - 1 &&
                      memcmp(zmq_msg_data(&m), ZB_TAG, sizeof ZB_TAG - 1) == 0;
        if (zmq_msg_recv(&m, s, 0) < 0)
            return zb_fail("subscriber receive");
        bool hello = zmq_msg_size(&m) == 5 && memcmp(zmq_msg_data(&m), "hello", 5) == 0;
        bool end = zmq_msg_size(&m) == 3 && memcmp(zmq_msg_data(&m), "end", 3) == 0;
        if (!tagged || zmq_msg_more(&m) || (!hello && !end)) {
            fprintf(stderr, "ERROR zmq_bench: subscriber: unexpected message\n");
            return 1;
        }
        if (end) {
            if (stamp)
                r->last_ns = bench_clock_ns();
            zmq_msg_close(&m);
            return 0;
        }
        seen_ns = bench_clock_ns();
        if (!ready && !zb_write(ready_fd, "R", 1))
            return 1;
        ready = true;
    }
}

/* A subscriber process: reads the endpoint, connects, counts, reports. */
static int zb_sub(const struct zb_args *a, int ep_fd, int ready_fd, int result_fd, pid_t parent)
{
    char ep[512];
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
        return 1;
    ep[n] = '\0';
    void *ctx = zmq_ctx_new();
    if (ctx == NULL)
        return zb_fail("context");
    void *s = zmq_socket(ctx, ZMQ_SUB);
    int timeo = 100, zero = 0, rc = 1;
    struct zb_result r = {0, 0};
    if (s == NULL)
        rc = zb_fail("socket");
    else if (zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeo, sizeof timeo) != 0 ||
             zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
             zmq_setsockopt(s, ZMQ_SUBSCRIBE, "", 0) != 0)
        rc = zb_fail("setsockopt");
    else if (zmq_connect(s, ep) != 0)
        rc = zb_fail(ep);
    else
        rc = zb_sub_loop(a, s, ready_fd, &r, parent);
    if (rc == 0 && !zb_write(result_fd, &r, sizeof r))
        rc = 1;
    if (s != NULL)
        zmq_close(s);
    zmq_ctx_term(ctx);
    return rc;
}

/* Sends the control message ZB_TAG + word (dropped when nobody wants it). */
static int zb_control(void *pub, const char *word)
{
    if (zmq_send(pub, ZB_TAG, sizeof ZB_TAG - 1, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(pub, word, strlen(word), ZMQ_DONTWAIT) < 0)
        return zmq_errno() == EAGAIN ? 0 : zb_fail("send control");
    return 0;
}

/* Sends word every ZB_TICK_MS until each subscriber reported on fd (a byte each, or a
 * zb_result each); adds the results up.  0, 1 failure or 3 stall. */
static int zb_await(const struct zb_args *a, void *pub, const char *word, int fd, bool results,
                    uint64_t *delivered, uint64_t *last_ns)
{
    uint64_t progress_ns = bench_clock_ns();
    int have = 0;

    while (have < a->subs) {
        if (zb_control(pub, word) != 0)
            return 1;
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, ZB_TICK_MS) > 0) {
            struct zb_result r;
            char bytes[ZB_SUBS_MAX];
            ssize_t n = results ? read(fd, &r, sizeof r) : read(fd, bytes, sizeof bytes);
            if (n == 0 || (n > 0 && results && (size_t)n != sizeof r)) {
                fprintf(stderr, "ERROR zmq_bench: the subscribers exited early\n");
                return 1;
            }
            if (n > 0 && results) {
                *delivered += r.count;
                if (r.last_ns > *last_ns)
                    *last_ns = r.last_ns;
            }
            if (n > 0) {
                have += results ? 1 : (int)n;
                progress_ns = bench_clock_ns();
            }
        }
        int status;
        pid_t dead = waitpid(-1, &status, WNOHANG);
        if (dead > 0 && (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
            fprintf(stderr, "ERROR zmq_bench: a subscriber failed\n");
            return 1;
        }
        if (bench_clock_ns() - progress_ns >= ZB_STALL_NS) {
            fprintf(stderr, "ERROR zmq_bench: %d of %d subscribers within 30 s\n", have, a->subs);
            return 3;
        }
    }
    return 0;
}

/* The publisher's three phases: hello until all are ready, COUNT messages, end. */
static int zb_publish(const struct zb_args *a, void *pub, int ready_fd, int result_fd)
{
    uint64_t delivered = 0, last_ns = 0;
    zmq_msg_t m;

    int rc = zb_await(a, pub, "hello", ready_fd, false, &delivered, &last_ns);
    if (rc != 0)
        return rc;
    uint64_t first_ns = bench_clock_ns();
    for (long long i = 0; i < a->count; i++) {
        if (zmq_msg_init_size(&m, a->size) != 0)
            return zb_fail("allocate");
        memset(zmq_msg_data(&m), 'n', a->size);
        if (zmq_msg_send(&m, pub, 0) < 0) {
            zmq_msg_close(&m);
            return zb_fail("send");
        }
    }
    rc = zb_await(a, pub, "end", result_fd, true, &delivered, &last_ns);
    if (rc != 0)
        return rc;
    bench_report_fanout(delivered, a->count, last_ns > first_ns ? last_ns - first_ns : 0);
    return 0;
}

static int zb_fanout(const struct zb_args *a)
{
    int ready[2], results[2], eps[ZB_SUBS_MAX][2];
    pid_t pids[ZB_SUBS_MAX], parent = getpid();
    char bound[256] = {0}, peer_ep[sizeof bound + 16];
    size_t len = sizeof bound - 1;
    int nforked = 0, rc = 0;

    if (pipe(ready) != 0 || pipe(results) != 0)
        return zb_fail("pipe");
    for (int i = 0; i < a->subs; i++)
        if (pipe(eps[i]) != 0)
            return zb_fail("pipe");
    /* Fork before any context exists: the children start from a single thread. */
    fflush(stdout);
    fflush(stderr);
    for (; nforked < a->subs; nforked++) {
        pid_t pid = fork();
        if (pid < 0) {
            rc = zb_fail("fork");
            break;
        }
        if (pid == 0) {
            close(ready[0]);
            close(results[0]);
            for (int j = 0; j < a->subs; j++) {
                close(eps[j][1]);
                if (j != nforked)
                    close(eps[j][0]);
            }
            _exit(zb_sub(a, eps[nforked][0], ready[1], results[1], parent));
        }
        pids[nforked] = pid;
    }
    close(ready[1]);
    close(results[1]);
    for (int i = 0; i < a->subs; i++)
        close(eps[i][0]);

    void *ctx = rc == 0 ? zmq_ctx_new() : NULL;
    void *pub = ctx != NULL ? zmq_socket(ctx, ZMQ_PUB) : NULL;
    if (rc == 0 && pub == NULL)
        rc = zb_fail("PUB socket");
    if (rc == 0 && zmq_bind(pub, a->endpoint) != 0)
        rc = zb_fail(a->endpoint);
    if (rc == 0 && zmq_getsockopt(pub, ZMQ_LAST_ENDPOINT, bound, &len) != 0)
        rc = zb_fail("ZMQ_LAST_ENDPOINT");
    if (rc == 0) {
        fprintf(stderr, "bound %s\n", bound);
        zb_connect_endpoint(bound, peer_ep, sizeof peer_ep);
        for (int i = 0; i < a->subs; i++)
            zb_write(eps[i][1], peer_ep, strlen(peer_ep));
    }
    for (int i = 0; i < a->subs; i++)
        close(eps[i][1]); /* without an endpoint, a subscriber sees EOF and gives up */
    if (rc == 0)
        rc = zb_publish(a, pub, ready[0], results[0]);
    if (pub != NULL) {
        int zero = 0;
        zmq_setsockopt(pub, ZMQ_LINGER, &zero, sizeof zero);
        zmq_close(pub);
    }
    /* No zmq_ctx_term: libzmq 4.3.4's sometimes never returns here, its threads all idle
     * in epoll_wait and poll, the subscribers gone (seen in 2 of 7 runs, and once more in
     * 21, after the figures were printed; the script then killed the run at its timeout).
     * The process exits right after, which closes everything. */
    for (int i = 0; i < nforked; i++) {
        int status;
        if (rc != 0)
            kill(pids[i], SIGTERM);
        while (waitpid(pids[i], &status, 0) < 0 && errno == EINTR)
            ;
    }
    close(ready[0]);
    close(results[0]);
    return rc;
}

/* ---- idle ---- */

static void zb_sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Counts the handshake events waiting on the monitor reader. */
static long zb_idle_events(void *mon)
{
    zmq_msg_t m;
    long n = 0;

    zmq_msg_init(&m);
    while (zmq_msg_recv(&m, mon, ZMQ_DONTWAIT) >= 0) {
        const unsigned char *d = zmq_msg_data(&m);
        bool first = zmq_msg_size(&m) == 6;
        if (first && (d[0] | d[1] << 8) == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
            n++;
        while (zmq_msg_more(&m) && zmq_msg_recv(&m, mon, 0) >= 0)
            ; /* the endpoint frame */
    }
    zmq_msg_close(&m);
    return n;
}

/* Waits for the clients' reports and N handshake events, then settles. */
static int zb_idle_wait(struct idle_clients *c, void *mon, long n)
{
    uint64_t start = bench_clock_ns();
    long handshakes = 0;
    int r = 0;

    while (r == 0 || handshakes < n) {
        if (r == 0)
            r = idle_clients_poll(c, 10);
        else
            zb_sleep_ms(10);
        if (r < 0)
            return 1;
        handshakes += zb_idle_events(mon);
        if (bench_clock_ns() - start >= ZB_IDLE_SETUP_NS) {
            fprintf(stderr, "ERROR zmq_bench: timeout: %ld reported, %ld handshakes of %ld\n",
                    c->done, handshakes, n);
            return 3;
        }
    }
    zb_sleep_ms(ZB_IDLE_AFTER_MS);
    zb_idle_events(mon);
    return 0;
}

/* The ROUTER side: binds, measures, lets the clients in, measures again, prints. */
static int zb_idle_run(void *ctx, struct idle_clients *c, const char *endpoint, long n)
{
    char bound[256] = {0}, peer_ep[sizeof bound + 16];
    size_t len = sizeof bound - 1;
    int zero = 0;

    void *router = zmq_socket(ctx, ZMQ_ROUTER);
    void *mon = zmq_socket(ctx, ZMQ_PAIR);
    if (router == NULL || mon == NULL)
        return zb_fail("socket");
    zmq_setsockopt(router, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(mon, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(mon, ZMQ_RCVHWM, &zero, sizeof zero); /* no event may be dropped */
    int rc = 0;
    if (zmq_socket_monitor(router, ZB_IDLE_MONITOR, ZMQ_EVENT_HANDSHAKE_SUCCEEDED) != 0 ||
        zmq_connect(mon, ZB_IDLE_MONITOR) != 0)
        rc = zb_fail("monitor");
    else if (zmq_bind(router, endpoint) != 0)
        rc = zb_fail(endpoint);
    else if (zmq_getsockopt(router, ZMQ_LAST_ENDPOINT, bound, &len) != 0)
        rc = zb_fail("ZMQ_LAST_ENDPOINT");
    long before = -1, after = -1;
    if (rc == 0) {
        fprintf(stderr, "bound %s\n", bound);
        zb_connect_endpoint(bound, peer_ep, sizeof peer_ep);
        zb_sleep_ms(ZB_IDLE_BEFORE_MS);
        before = idle_rss_bytes();
        if (idle_clients_start(c, peer_ep) != 0) {
            fprintf(stderr, "ERROR zmq_bench: cannot reach the client processes\n");
            rc = 1;
        }
    }
    if (rc == 0)
        rc = zb_idle_wait(c, mon, n);
    if (rc == 0) {
        after = idle_rss_bytes();
        if (before < 0 || after < 0) {
            fprintf(stderr, "ERROR zmq_bench: cannot read /proc/self/statm\n");
            rc = 1;
        }
    }
    if (rc == 0) {
        fprintf(stderr, "rss before %ld KiB, after %ld KiB\n", before / 1024, after / 1024);
        printf("bytes_per_conn=%.0f conns=%ld\n", (double)(after - before) / (double)n, n);
        fflush(stdout);
    }
    zmq_socket_monitor(router, NULL, 0);
    zmq_close(mon);
    zmq_close(router);
    return rc;
}

static int zb_idle(const struct zb_args *a)
{
    struct idle_clients c;

    idle_raise_nofile();
    /* Fork before any context exists: the children start from a single thread. */
    int rc = idle_clients_fork(&c, (long)a->count) != 0 ? 1 : 0;
    void *ctx = rc == 0 ? zmq_ctx_new() : NULL;
    if (rc == 0 && ctx == NULL)
        rc = zb_fail("context");
    if (rc == 0)
        rc = zb_idle_run(ctx, &c, a->endpoint, (long)a->count);
    if (ctx != NULL)
        zmq_ctx_term(ctx);
    idle_clients_stop(&c); /* a client let go before its end exits 1: not a failure */
    return rc;
}

/* ---- router ---- */

/* One process's libzmq state: the server's ROUTER, or a client's DEALERs. */
struct zb_router {
    void *ctx;
    void *router;
    zmq_pollitem_t *items; /* the DEALERs, polled for replies */
    int n;
    size_t size; /* bytes per request */
    void *body;  /* a request's bytes */
};

static int zb_router_serve_open(void *st, const struct router_args *a, char *out, size_t n)
{
    struct zb_router *b = st;
    char bound[256] = "";
    size_t len = sizeof bound - 1;
    int timeout = 100;

    if ((b->ctx = zmq_ctx_new()) == NULL)
        return zb_fail("context");
    if ((b->router = zmq_socket(b->ctx, ZMQ_ROUTER)) == NULL ||
        zmq_setsockopt(b->router, ZMQ_RCVTIMEO, &timeout, sizeof timeout) != 0)
        return -zb_fail("ROUTER");
    if (zmq_bind(b->router, a->endpoint) != 0)
        return -zb_fail(a->endpoint);
    if (zmq_getsockopt(b->router, ZMQ_LAST_ENDPOINT, bound, &len) != 0)
        return -zb_fail("ZMQ_LAST_ENDPOINT");
    zb_connect_endpoint(bound, out, n);
    return 0;
}

static int zb_router_serve_echo(void *st)
{
    struct zb_router *b = st;
    zmq_msg_t id, body;

    zmq_msg_init(&id);
    zmq_msg_init(&body);
    int rc = zmq_msg_recv(&id, b->router, 0);
    if (rc < 0 && (zmq_errno() == EAGAIN || zmq_errno() == EINTR)) {
        zmq_msg_close(&id);
        zmq_msg_close(&body);
        return 0;
    }
    if (rc >= 0 && zmq_msg_recv(&body, b->router, 0) >= 0 &&
        zmq_msg_send(&id, b->router, ZMQ_SNDMORE) >= 0 && zmq_msg_send(&body, b->router, 0) >= 0)
        return 1;
    zmq_msg_close(&id);
    zmq_msg_close(&body);
    return -zb_fail("ROUTER");
}

static void zb_router_close(void *st)
{
    struct zb_router *b = st;
    int zero = 0;

    if (b->router != NULL) {
        zmq_setsockopt(b->router, ZMQ_LINGER, &zero, sizeof zero);
        zmq_close(b->router);
    }
    for (int i = 0; b->items != NULL && i < b->n; i++) {
        if (b->items[i].socket != NULL) {
            zmq_setsockopt(b->items[i].socket, ZMQ_LINGER, &zero, sizeof zero);
            zmq_close(b->items[i].socket);
        }
    }
    if (b->ctx != NULL)
        zmq_ctx_term(b->ctx);
    free(b->items);
    free(b->body);
    memset(b, 0, sizeof *b);
}

static int zb_router_client_open(void *st, const struct router_args *a, const char *endpoint, int n)
{
    struct zb_router *b = st;

    b->n = n;
    b->size = a->size;
    b->items = calloc((size_t)n, sizeof *b->items);
    b->body = malloc(a->size ? a->size : 1);
    if (b->items == NULL || b->body == NULL) {
        fprintf(stderr, "ERROR zmq_bench: client: out of memory\n");
        return -1;
    }
    memset(b->body, 'n', a->size);
    if ((b->ctx = zmq_ctx_new()) == NULL)
        return -zb_fail("context");
    for (int i = 0; i < n; i++) {
        void *s = zmq_socket(b->ctx, ZMQ_DEALER);
        if (s == NULL)
            return -zb_fail("DEALER");
        b->items[i] = (zmq_pollitem_t){.socket = s, .events = ZMQ_POLLIN};
        if (zmq_connect(s, endpoint) != 0)
            return -zb_fail(endpoint);
    }
    return 0;
}

static int zb_router_client_send(void *st, int i)
{
    struct zb_router *b = st;

    return zmq_send(b->items[i].socket, b->body, b->size, 0) < 0 ? -zb_fail("send") : 0;
}

static int zb_router_client_recv(void *st, int i)
{
    struct zb_router *b = st;
    zmq_msg_t m;

    zmq_msg_init(&m);
    if (zmq_msg_recv(&m, b->items[i].socket, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&m);
        return zmq_errno() == EAGAIN ? 0 : -zb_fail("receive");
    }
    bool ok = !zmq_msg_more(&m) && zmq_msg_size(&m) == b->size;
    if (!ok)
        fprintf(stderr, "ERROR zmq_bench: client: a reply of %zu bytes\n", zmq_msg_size(&m));
    zmq_msg_close(&m);
    return ok ? 1 : -1;
}

static int zb_router_client_poll(void *st, int timeout_ms)
{
    struct zb_router *b = st;

    if (zmq_poll(b->items, b->n, timeout_ms) < 0 && zmq_errno() != EINTR)
        return -zb_fail("poll");
    return 0;
}

static const struct router_ops zb_router_ops = {
    .serve_open = zb_router_serve_open,
    .serve_echo = zb_router_serve_echo,
    .serve_close = zb_router_close,
    .client_open = zb_router_client_open,
    .client_send = zb_router_client_send,
    .client_recv = zb_router_client_recv,
    .client_poll = zb_router_client_poll,
    .client_close = zb_router_close,
};

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "router") == 0) {
        struct zb_router b;
        memset(&b, 0, sizeof b);
        return router_run(argc, argv, &zb_router_ops, &b);
    }

    struct zb_args a;
    char bound[256] = {0};
    char peer_ep[sizeof bound + 16]; /* room for 127.0.0.1 in place of a wildcard */
    size_t len = sizeof bound - 1;

    int rc = zb_parse(&a, argc, argv);
    if (rc != 0)
        return rc;
    if (a.fanout)
        return zb_fanout(&a);
    if (a.idle)
        return zb_idle(&a);
    void *ctx = zmq_ctx_new();
    if (ctx == NULL)
        return zb_fail("context");
    void *s = zmq_socket(ctx, a.lat ? ZMQ_REP : ZMQ_PULL);
    if (s == NULL)
        return zb_fail("socket");
    if (a.curve && zb_curve(s, true, &a) != 0)
        return zb_fail("CURVE options");
    if (zmq_bind(s, a.endpoint) != 0)
        return zb_fail(a.endpoint);
    if (zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, bound, &len) != 0)
        return zb_fail("ZMQ_LAST_ENDPOINT");
    fprintf(stderr, "bound %s\n", bound);
    zb_connect_endpoint(bound, peer_ep, sizeof peer_ep);

    if (strncmp(a.endpoint, "inproc://", 9) == 0) {
        /* The other side is a thread sharing this context. */
        struct zb_thread t = {.a = &a, .ctx = ctx, .endpoint = peer_ep, .rc = 1};
        pthread_t thread;
        uint64_t unused_cpu_ns;
        if (pthread_create(&thread, NULL, zb_thread_cb, &t) != 0)
            return zb_fail("pthread_create");
        rc = a.lat ? zb_lat_reply(s, &a, &unused_cpu_ns) : zb_thr_recv(s, &a);
        pthread_join(thread, NULL);
        zmq_close(s);
        zmq_ctx_term(ctx);
        if (rc == 0 && t.rc == 0 && a.lat)
            bench_report_lat(&t.lat, 0); /* the requester's CPU time covers both threads */
        return rc != 0 ? rc : t.rc;
    }

    int res[2]; /* lat: the child's figures */
    if (pipe(res) != 0)
        return zb_fail("pipe");
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0)
        return zb_fail("fork");
    if (pid == 0) {
        /* Leave the parent's sockets alone: the child keeps only the result pipe, as 3. */
        struct bench_lat_result r;
        dup2(res[1], 3);
        closefrom(4);
        rc = zb_peer(&a, peer_ep, NULL, &r);
        if (rc == 0 && a.lat && bench_lat_result_write(3, &r) != 0)
            rc = 1;
        _exit(rc);
    }
    close(res[1]);

    uint64_t reply_cpu_ns = 0;
    rc = a.lat ? zb_lat_reply(s, &a, &reply_cpu_ns) : zb_thr_recv(s, &a);
    if (rc != 0)
        kill(pid, SIGTERM);
    zmq_close(s);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    zmq_ctx_term(ctx);
    if (rc == 0 && (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
        fprintf(stderr, "ERROR zmq_bench: the other side failed\n");
        rc = 1;
    }
    struct bench_lat_result r;
    if (rc == 0 && a.lat && bench_lat_result_read(res[0], &r) != 0) {
        fprintf(stderr, "ERROR zmq_bench: the other side sent no figures\n");
        rc = 1;
    }
    if (rc == 0 && a.lat)
        bench_report_lat(&r, reply_cpu_ns);
    close(res[0]);
    return rc;
}
