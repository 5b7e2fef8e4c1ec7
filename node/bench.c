/*
 * bench.c - `nomid bench thr|lat ENDPOINT SIZE COUNT`, the shapes of libzmq's
 * local_thr/remote_thr and local_lat/remote_lat.  This process binds the receiving
 * side (PULL for thr, REP for lat), then starts the other side (PUSH, REQ) with its own
 * context in a forked child, or in a thread sharing the context for inproc://.  thr
 * times at the receiver from the first message to the last; lat times all round trips
 * at the requester, each round trip on its own (bench_report.c keeps them; one clock read
 * per round trip), with --rate HZ starting HZ round trips a second.  Besides that, the
 * hot loops call nothing but send/recv; the clock is read only when a call times out
 * (every ~100 ms), to notice signals and a dead peer.  lat's CPU time per round trip
 * adds up both sides' processes over their loops: a forked requester hands its figures
 * to this process over a pipe, and this process prints them with its own CPU time; for
 * inproc the requester's figure covers both threads already.  The fan-out shape
 * (`nomid bench fanout ...`) lives in bench_fanout.c, the idle-connections shape
 * (`nomid bench idle ...`) in bench_idle.c, the many-clients ROUTER shape (`nomid bench
 * router ...`) in bench_router.c.
 *
 * With --curve both sides use CURVE: this process makes a server and a client key pair
 * before it forks (or starts the thread), so each side already holds the keys it needs;
 * the binding side is the CURVE server.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
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
#include "bench_router_run.h"
#include "commands.h"
#include "endpoint.h"
#include "log.h"
#include "nomid.h"
#include "stop.h"

/* A blocking call making no progress for this long means the other side is gone. */
#define BENCH_STALL_NS (10 * 1000000000ull)
/* Messages the peer sent may still be in flight this long after it exited. */
#define BENCH_PEER_GONE_NS (2 * 1000000000ull)

/* The command line. */
struct bench_args {
    bool lat;             /* lat rather than thr */
    const char *endpoint; /* ENDPOINT as given */
    size_t size;          /* SIZE: bytes per message */
    long long count;      /* COUNT: messages (thr) or round trips (lat) */
    int spin_us;          /* lat SPIN_US: NM_BUSY_POLL of both sides; -1 = default */
    long long rate_hz;    /* lat --rate HZ: round trips started per second; 0 = back to back */
    bool curve;           /* --curve: both sides use CURVE, with the keys below */
    uint8_t server_pub[32], server_sec[32]; /* the binding side's long-term key pair */
    uint8_t client_pub[32], client_sec[32]; /* the connecting side's */
};

/* Outcome of a step; mapped to an exit code once at the end. */
enum bench_rc {
    BENCH_OK = 0,  /* go on */
    BENCH_STOP,    /* a signal arrived: close cleanly */
    BENCH_TIMEOUT, /* no progress for BENCH_STALL_NS */
    BENCH_FAIL,    /* runtime failure, already logged */
    BENCH_USAGE,   /* bad arguments, already logged */
};

/* What a blocked loop watches besides its socket. */
struct bench_watch {
    pid_t child;      /* forked peer to watch; -1 = none */
    bool child_gone;  /* the child was reaped (by bench_idle) */
    int child_status; /* its wait status, once reaped */
    uint64_t gone_ns; /* when it was reaped */
};

/* The peer side, run in a child process or (inproc) a thread. */
struct bench_peer {
    const struct bench_args *args; /* the command line */
    nm_ctx_t *ctx;                 /* shared context (inproc), or NULL for a new one */
    const char *endpoint;          /* where to connect */
    enum bench_rc rc;              /* the outcome */
    struct bench_lat_result lat;   /* lat: the requester's figures, once rc is BENCH_OK */
};

/* Set when the local side fails, so that an inproc peer thread stops too. */
static atomic_bool bench_abort;

static void bench_usage(FILE *f)
{
    fputs("usage: nomid bench thr|lat [--curve] ENDPOINT SIZE COUNT\n"
          "       nomid bench lat [--curve] [--rate HZ] ENDPOINT SIZE COUNT [SPIN_US]\n"
          "       nomid bench fanout ENDPOINT SIZE COUNT SUBS\n"
          "       nomid bench idle ENDPOINT N\n"
          "       nomid bench router ENDPOINT SIZE COUNT CLIENTS [PROCS]\n"
          "\n"
          "  thr  PULL binds ENDPOINT, PUSH connects and sends COUNT messages of SIZE bytes;\n"
          "       prints msgs_per_s=N MB_per_s=M (MB = 10^6 bytes), timed at the receiver\n"
          "  lat  REP binds ENDPOINT and echoes, REQ connects and makes COUNT round trips;\n"
          "       prints one_way_us=X rtt_p50_us=A rtt_p99_us=B rtt_p999_us=C rtt_max_us=D\n"
          "       cpu_us_per_rt=E: X the mean round trip / 2, A B C the 50th, 99th and\n"
          "       99.9th percentiles of the round trips, D the slowest (microseconds), E the\n"
          "       CPU time of both sides' processes over their loops / round trips (all\n"
          "       threads, user and system); SPIN_US sets how long each side spins before\n"
          "       it sleeps (NM_BUSY_POLL; default 200, 0 = never)\n"
          "\n"
          "The two sides run as two processes (two threads for inproc://).\n"
          "\n"
          "  --curve    thr and lat over tcp or ipc: both sides use CURVE (RFC 25/26) with\n"
          "             key pairs made for the run, the binding side as the CURVE server;\n"
          "             without it, NULL\n"
          "  --rate HZ  lat: REQ starts round trip i at start + i/HZ, sleeping in between\n"
          "             (the percentiles leave the sleeps out); one that overruns its slot\n"
          "             makes the next start at once and the schedule restart from there,\n"
          "             with no backlog to catch up on; without it, back to back\n"
          "\n"
          "  fanout  PUB binds ENDPOINT (tcp or ipc); SUBS subscriber processes subscribe\n"
          "       to everything; COUNT messages of SIZE bytes are published as fast as\n"
          "       possible (default HWMs, so a slow subscriber loses some); prints\n"
          "       delivered_msgs_per_s=N delivered=D sent=COUNT, where the rate is D over\n"
          "       the time from the first send to the last subscriber's last message\n"
          "\n"
          "  idle  ROUTER binds ENDPOINT (tcp); client processes open N raw connections\n"
          "       that complete a ZMTP NULL handshake as DEALERs and stay idle; prints\n"
          "       bytes_per_conn=X conns=N, X being the growth of this process's resident\n"
          "       memory over N\n"
          "\n" ROUTER_USAGE,
          f);
}

static enum bench_rc bench_parse(struct bench_args *a, int argc, char **argv)
{
    struct bench_opts o;
    const char *bad = NULL;
    long long size;

    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        bench_usage(stdout);
        return BENCH_STOP;
    }
    if (bench_take_opts(&argc, argv, &o, &bad) != 0) {
        log_msg(NM_LOG_ERROR, "bench", "--rate '%s' is not 1..%lld round trips a second", bad,
                BENCH_RATE_MAX);
        return BENCH_USAGE;
    }
    a->curve = o.curve;
    a->rate_hz = o.rate_hz;
    bool lat = argc >= 2 && strcmp(argv[1], "lat") == 0;
    if (a->rate_hz > 0 && !lat) {
        log_msg(NM_LOG_ERROR, "bench", "--rate is for lat");
        return BENCH_USAGE;
    }
    if (argc != 5 && !(lat && argc == 6)) {
        log_msg(NM_LOG_ERROR, "bench", "expected 4 arguments%s, got %d", lat ? " (or 5)" : "",
                argc - 1);
        bench_usage(stderr);
        return BENCH_USAGE;
    }
    long long spin = -1;
    if (argc == 6 && args_count(argv[5], 0, 1000000, &spin) != 0) {
        log_msg(NM_LOG_ERROR, "bench", "SPIN_US '%s' is not 0..1000000 microseconds", argv[5]);
        return BENCH_USAGE;
    }
    a->spin_us = (int)spin;
    if (strcmp(argv[1], "thr") != 0 && strcmp(argv[1], "lat") != 0) {
        log_msg(NM_LOG_ERROR, "bench", "unknown benchmark '%s': thr, lat, fanout, idle or router",
                argv[1]);
        return BENCH_USAGE;
    }
    a->lat = strcmp(argv[1], "lat") == 0;
    a->endpoint = argv[2];
    if (args_count(argv[3], 0, BENCH_SIZE_MAX, &size) != 0) {
        log_msg(NM_LOG_ERROR, "bench", "SIZE '%s' is not a byte count up to %lld", argv[3],
                BENCH_SIZE_MAX);
        return BENCH_USAGE;
    }
    a->size = (size_t)size;
    if (args_count(argv[4], 1, BENCH_COUNT_MAX, &a->count) != 0) {
        log_msg(NM_LOG_ERROR, "bench", "COUNT '%s' is not a count of at least 1", argv[4]);
        return BENCH_USAGE;
    }
    if (a->curve && (nm_curve_keypair(a->server_pub, a->server_sec) < 0 ||
                     nm_curve_keypair(a->client_pub, a->client_sec) < 0)) {
        log_msg(NM_LOG_ERROR, "bench", "cannot make CURVE keys");
        return BENCH_FAIL;
    }
    return BENCH_OK;
}

/* --curve: the binding side (server) needs its secret key; the connecting side (client)
 * its key pair and the server's public key.  Set before bind / connect. */
static int bench_sock_curve(nm_sock_t *s, bool server, const struct bench_args *a)
{
    if (server) {
        int rc = nm_sock_setopt_int(s, NM_CURVE_SERVER, 1);
        return rc < 0 ? rc : nm_sock_setopt(s, NM_CURVE_SECRETKEY, a->server_sec, 32);
    }
    int rc = nm_sock_setopt(s, NM_CURVE_SERVERKEY, a->server_pub, 32);
    if (rc >= 0)
        rc = nm_sock_setopt(s, NM_CURVE_PUBLICKEY, a->client_pub, 32);
    return rc < 0 ? rc : nm_sock_setopt(s, NM_CURVE_SECRETKEY, a->client_sec, 32);
}

/* True when the loop at iteration i should stop because a signal arrived. */
static bool bench_stopping(long long i)
{
    return (i & BENCH_STOP_CHECK_MASK) == 0 && (stop_requested() || atomic_load(&bench_abort));
}

/* A send or receive timed out: stop, or give up on a dead or silent peer? */
static enum bench_rc bench_idle(struct bench_watch *w, uint64_t since_ns)
{
    if (stop_requested() || atomic_load(&bench_abort))
        return BENCH_STOP;
    uint64_t now = nm_clock_ns();
    if (w->child > 0 && !w->child_gone &&
        waitpid(w->child, &w->child_status, WNOHANG) == w->child) {
        w->child_gone = true;
        w->gone_ns = now;
        if (!WIFEXITED(w->child_status) || WEXITSTATUS(w->child_status) != 0) {
            log_msg(NM_LOG_ERROR, "bench", "the other side failed");
            return BENCH_FAIL;
        }
    }
    if (w->child_gone && now - w->gone_ns >= BENCH_PEER_GONE_NS) {
        log_msg(NM_LOG_ERROR, "bench", "the other side exited before the benchmark ended");
        return BENCH_FAIL;
    }
    if (now - since_ns >= BENCH_STALL_NS) {
        log_msg(NM_LOG_ERROR, "bench", "timeout: no progress for %llu s",
                (unsigned long long)(BENCH_STALL_NS / 1000000000ull));
        return BENCH_TIMEOUT;
    }
    return BENCH_OK;
}

static enum bench_rc bench_send(nm_sock_t *s, nm_msg_t *m, struct bench_watch *w)
{
    uint64_t since = 0;

    for (;;) {
        int rc = nm_sock_send(s, m, 0);
        if (rc >= 0)
            return BENCH_OK;
        if (rc != -EAGAIN && rc != -EINTR) {
            log_msg(NM_LOG_ERROR, "bench", "send failed: %s", nm_strerror(rc));
            return BENCH_FAIL;
        }
        if (since == 0)
            since = nm_clock_ns();
        enum bench_rc r = bench_idle(w, since);
        if (r != BENCH_OK)
            return r;
    }
}

static enum bench_rc bench_recv(nm_sock_t *s, nm_msg_t *m, size_t size, struct bench_watch *w)
{
    uint64_t since = 0;

    for (;;) {
        int rc = nm_sock_recv(s, m, 0);
        if (rc >= 0)
            break;
        if (rc != -EAGAIN && rc != -EINTR) {
            log_msg(NM_LOG_ERROR, "bench", "receive failed: %s", nm_strerror(rc));
            return BENCH_FAIL;
        }
        if (since == 0)
            since = nm_clock_ns();
        enum bench_rc r = bench_idle(w, since);
        if (r != BENCH_OK)
            return r;
    }
    if (nm_msg_count(m) != 1 || nm_msg_size(m, 0) != size) {
        log_msg(NM_LOG_ERROR, "bench", "got %zu frames of %zu bytes, expected 1 of %zu",
                nm_msg_count(m), nm_msg_bytes(m), size);
        return BENCH_FAIL;
    }
    return BENCH_OK;
}

/* Payloads at least this large are sent without copying, all from one filled buffer,
 * as raw_bench writes one body again and again (and zmq_bench, with zmq_msg_init_data):
 * filling 64 KiB per message would time the benchmark, not the library. */
#define BENCH_ZC_MIN (16 * 1024)

/* Appends one frame of size bytes, filled, to the empty *m; large frames point at
 * zc_body (size bytes of filler) instead. */
static enum bench_rc bench_fill(nm_msg_t *m, size_t size, void *zc_body)
{
    void *data;
    int rc;

    if (zc_body != NULL) {
        rc = nm_msg_add_zc(m, zc_body, size, NULL, NULL);
    } else {
        rc = nm_msg_add_alloc(m, size, &data);
        if (rc >= 0)
            memset(data, 'n', size);
    }
    if (rc < 0) {
        log_msg(NM_LOG_ERROR, "bench", "cannot allocate a message: %s", nm_strerror(rc));
        return BENCH_FAIL;
    }
    return BENCH_OK;
}

/* PULL side of thr: times from the first message to the last. */
static enum bench_rc bench_thr_recv(nm_sock_t *s, const struct bench_args *a, struct bench_watch *w)
{
    nm_msg_t m;
    uint64_t start = 0;
    enum bench_rc rc = BENCH_OK;

    nm_msg_init(&m);
    for (long long i = 0; rc == BENCH_OK && i < a->count; i++) {
        if (bench_stopping(i)) {
            rc = BENCH_STOP;
            break;
        }
        rc = bench_recv(s, &m, a->size, w);
        if (i == 0)
            start = nm_clock_ns();
        nm_msg_close(&m);
    }
    if (rc != BENCH_OK)
        return rc;
    /* As libzmq's local_thr: COUNT messages over the time from the first to the last. */
    bench_report_thr(a->count, a->size, nm_clock_ns() - start);
    return BENCH_OK;
}

/* PUSH side of thr. */
static enum bench_rc bench_thr_send(nm_sock_t *s, const struct bench_args *a, struct bench_watch *w)
{
    nm_msg_t m;
    enum bench_rc rc = BENCH_OK;
    /* Kept for the process's life: queued messages may point at it until the context
     * is destroyed. */
    static void *zc_body;

    if (a->size >= BENCH_ZC_MIN && zc_body == NULL) {
        if ((zc_body = malloc(a->size)) == NULL) {
            log_msg(NM_LOG_ERROR, "bench", "cannot allocate a message: out of memory");
            return BENCH_FAIL;
        }
        memset(zc_body, 'n', a->size);
    }
    nm_msg_init(&m);
    for (long long i = 0; rc == BENCH_OK && i < a->count; i++) {
        if (bench_stopping(i)) {
            rc = BENCH_STOP;
            break;
        }
        rc = bench_fill(&m, a->size, a->size >= BENCH_ZC_MIN ? zc_body : NULL);
        if (rc == BENCH_OK)
            rc = bench_send(s, &m, w); /* leaves m empty on success */
    }
    nm_msg_close(&m);
    return rc;
}

/* REP side of lat: sends every request back; *cpu_ns: this process's CPU time over it. */
static enum bench_rc bench_lat_reply(nm_sock_t *s, const struct bench_args *a,
                                     struct bench_watch *w, uint64_t *cpu_ns)
{
    nm_msg_t m;
    enum bench_rc rc = BENCH_OK;
    uint64_t cpu = bench_cpu_ns();

    nm_msg_init(&m);
    for (long long i = 0; rc == BENCH_OK && i < a->count; i++) {
        if (bench_stopping(i)) {
            rc = BENCH_STOP;
            break;
        }
        rc = bench_recv(s, &m, a->size, w);
        if (rc == BENCH_OK)
            rc = bench_send(s, &m, w);
    }
    *cpu_ns = bench_cpu_ns() - cpu;
    nm_msg_close(&m);
    return rc;
}

/* --rate: waits for the next round trip's start, or a stop. */
static enum bench_rc bench_pace(struct bench_lat *l)
{
    while (bench_lat_wait(l) != 0)
        if (stop_requested() || atomic_load(&bench_abort))
            return BENCH_STOP;
    return BENCH_OK;
}

/* REQ side of lat: times each round trip, reusing each reply as the next request. */
static enum bench_rc bench_lat_request(nm_sock_t *s, const struct bench_args *a,
                                       struct bench_watch *w, struct bench_lat_result *res)
{
    struct bench_lat l;
    nm_msg_t m;

    if (bench_lat_init(&l, a->count, a->rate_hz) != 0) {
        log_msg(NM_LOG_ERROR, "bench", "cannot keep %lld round-trip times: out of memory",
                a->count);
        return BENCH_FAIL;
    }
    nm_msg_init(&m);
    enum bench_rc rc = bench_fill(&m, a->size, NULL);
    bench_lat_begin(&l);
    for (long long i = 0; rc == BENCH_OK && i < a->count; i++) {
        if (bench_stopping(i)) {
            rc = BENCH_STOP;
            break;
        }
        rc = bench_pace(&l);
        if (rc == BENCH_OK)
            rc = bench_send(s, &m, w);
        if (rc == BENCH_OK)
            rc = bench_recv(s, &m, a->size, w);
        bench_lat_done(&l, i);
    }
    nm_msg_close(&m);
    if (rc == BENCH_OK)
        bench_lat_finish(&l, res);
    else
        bench_lat_fini(&l);
    return rc;
}

/* Sets the ~100 ms timeouts that let the loops notice signals and a dead peer, and
 * --curve's keys (server: the binding side). */
static int bench_sock_new(nm_sock_t **sp, nm_ctx_t *ctx, int type, bool server,
                          const struct bench_args *a)
{
    int rc = nm_sock_new(sp, ctx, type);
    if (rc < 0) {
        log_msg(NM_LOG_ERROR, "bench", "cannot create a %s socket: %s", nm_sock_type_name(type),
                nm_strerror(rc));
        return rc;
    }
    rc = nm_sock_setopt_int(*sp, NM_SNDTIMEO, STOP_POLL_MS);
    if (rc >= 0)
        rc = nm_sock_setopt_int(*sp, NM_RCVTIMEO, STOP_POLL_MS);
    if (rc >= 0 && a->spin_us >= 0)
        rc = nm_sock_setopt_int(*sp, NM_BUSY_POLL, a->spin_us);
    if (rc < 0) {
        log_msg(NM_LOG_ERROR, "bench", "cannot set socket timeouts: %s", nm_strerror(rc));
        nm_sock_close(sp);
        return rc;
    }
    if (a->curve && (rc = bench_sock_curve(*sp, server, a)) < 0) {
        log_msg(NM_LOG_ERROR, "bench", "cannot set CURVE keys: %s", nm_strerror(rc));
        nm_sock_close(sp);
    }
    return rc;
}

/* The connecting side (PUSH or REQ), with its own context unless p->ctx is shared. */
static enum bench_rc bench_peer_run(struct bench_peer *p)
{
    struct bench_watch w = {.child = -1};
    nm_ctx_t *ctx = p->ctx;
    nm_sock_t *s = NULL;

    if (ctx == NULL) {
        int err = nm_ctx_new(&ctx);
        if (err < 0) {
            log_msg(NM_LOG_ERROR, "bench", "cannot create a context: %s", nm_strerror(err));
            return BENCH_FAIL;
        }
        nm_ctx_set_log(ctx, log_stderr_cb, NULL, NM_LOG_WARN);
    }
    enum bench_rc rc = BENCH_FAIL;
    if (bench_sock_new(&s, ctx, p->args->lat ? NM_REQ : NM_PUSH, false, p->args) >= 0) {
        int err = nm_sock_connect(s, p->endpoint);
        char why[256];
        if (err < 0)
            log_msg(NM_LOG_ERROR, "bench", "cannot connect %s: %s", p->endpoint,
                    endpoint_error(p->endpoint, false, err, why, sizeof(why)));
        else if (p->args->lat)
            rc = bench_lat_request(s, p->args, &w, &p->lat);
        else
            rc = bench_thr_send(s, p->args, &w);
        /* On success the default LINGER lets the last messages leave before destroy. */
        if (rc != BENCH_OK)
            nm_sock_setopt_int(s, NM_LINGER, 0);
        nm_sock_close(&s);
    }
    if (p->ctx == NULL)
        nm_ctx_destroy(&ctx);
    return rc;
}

static void *bench_peer_thread_cb(void *arg)
{
    struct bench_peer *p = arg;

    p->rc = bench_peer_run(p);
    return NULL;
}

void bench_connect_endpoint(const char *bound, char *out, size_t n)
{
    static const struct {
        const char *from, *to;
    } map[] = {
        {"tcp://0.0.0.0:", "tcp://127.0.0.1:"},
        {"tcp://*:", "tcp://127.0.0.1:"},
        {"tcp://[::]:", "tcp://[::1]:"},
    };

    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        size_t len = strlen(map[i].from);
        if (strncmp(bound, map[i].from, len) == 0) {
            snprintf(out, n, "%s%s", map[i].to, bound + len);
            return;
        }
    }
    snprintf(out, n, "%s", bound);
}

/* Binds the local side and prints `bound ENDPOINT`; fills the peer's endpoint. */
static enum bench_rc bench_bind(nm_sock_t *s, const char *endpoint, char *peer_ep, size_t n)
{
    char real[BENCH_EP_MAX] = {0};
    size_t len = sizeof real - 1;

    int rc = nm_sock_bind(s, endpoint);
    if (rc < 0) {
        char why[256];
        log_msg(NM_LOG_ERROR, "bench", "cannot bind %s: %s", endpoint,
                endpoint_error(endpoint, true, rc, why, sizeof(why)));
        return rc == -EINVAL || rc == -EPROTONOSUPPORT ? BENCH_USAGE : BENCH_FAIL;
    }
    if (nm_sock_getopt(s, NM_LAST_ENDPOINT, real, &len) < 0 || real[0] == '\0')
        snprintf(real, sizeof real, "%s", endpoint);
    fprintf(stderr, "bound %s\n", real);
    bench_connect_endpoint(real, peer_ep, n);
    return BENCH_OK;
}

/* Forks the peer before this process has a context: a child of a threaded process may
 * only make async-signal-safe calls.  The child waits for the endpoint to connect to on
 * a pipe (EOF without one: the parent could not bind), then runs with its own context;
 * lat's requester writes its figures on a second pipe.  Returns the child's pid (and the
 * first pipe's write end in *ep_fd, the second's read end in *res_fd) or -1. */
static pid_t bench_fork_peer(struct bench_peer *p, int *ep_fd, int *res_fd)
{
    int fds[2], res[2];
    if (pipe(fds) < 0) {
        log_msg(NM_LOG_ERROR, "bench", "pipe failed: %s", strerror(errno));
        return -1;
    }
    if (pipe(res) < 0) {
        log_msg(NM_LOG_ERROR, "bench", "pipe failed: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        log_msg(NM_LOG_ERROR, "bench", "fork failed: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        close(res[0]);
        close(res[1]);
        return -1;
    }
    if (pid > 0) {
        close(fds[0]);
        close(res[1]);
        *ep_fd = fds[1];
        *res_fd = res[0];
        return pid;
    }
    close(fds[1]);
    close(res[0]);
    char ep[BENCH_EP_MAX + 16];
    size_t n = 0;
    ssize_t r;
    while (n < sizeof ep - 1 && (r = read(fds[0], ep + n, sizeof ep - 1 - n)) != 0) {
        if (r > 0)
            n += (size_t)r;
        else if (errno != EINTR)
            break;
    }
    close(fds[0]);
    if (n == 0)
        _exit(NODE_EXIT_FAIL);
    ep[n] = '\0';
    p->endpoint = ep;
    enum bench_rc rc = bench_peer_run(p);
    if (rc == BENCH_OK && p->args->lat && bench_lat_result_write(res[1], &p->lat) != 0)
        rc = BENCH_FAIL;
    fflush(stdout);
    _exit(rc == BENCH_OK || rc == BENCH_STOP ? NODE_EXIT_OK : NODE_EXIT_FAIL);
}

/* Hands the endpoint to the forked peer and closes the pipe. */
static bool bench_tell_peer(int *ep_fd, const char *ep)
{
    size_t len = strlen(ep), off = 0;
    while (off < len) {
        ssize_t r = write(*ep_fd, ep + off, len - off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            break;
        off += (size_t)r;
    }
    close(*ep_fd);
    *ep_fd = -1;
    return off == len;
}

/* Reaps the child (unless bench_idle did) and tells whether it succeeded. */
static bool bench_reap(struct bench_watch *w)
{
    bool forwarded = false;

    while (!w->child_gone) {
        if (waitpid(w->child, &w->child_status, 0) == w->child)
            w->child_gone = true;
        else if (errno != EINTR)
            return false;
        else if (stop_requested() && !forwarded) {
            kill(w->child, SIGTERM);
            forwarded = true;
        }
    }
    return WIFEXITED(w->child_status) && WEXITSTATUS(w->child_status) == 0;
}

/* Binds, starts the peer (a thread for inproc, else the forked child waiting on ep_fd),
 * runs the local side, and collects the peer (lat: its figures, from res_fd for a child),
 * printing lat's line. */
static enum bench_rc bench_run(const struct bench_args *a, nm_ctx_t *ctx, struct bench_watch *wp,
                               int *ep_fd, int res_fd)
{
    struct bench_watch w = *wp;
    struct bench_peer peer = {.args = a};
    char peer_ep[BENCH_EP_MAX + 16];
    pthread_t thread;
    bool threaded = w.child < 0;
    nm_sock_t *s = NULL;

    if (bench_sock_new(&s, ctx, a->lat ? NM_REP : NM_PULL, true, a) < 0)
        return BENCH_FAIL;
    enum bench_rc rc = bench_bind(s, a->endpoint, peer_ep, sizeof peer_ep);
    peer.endpoint = peer_ep;
    if (rc == BENCH_OK && threaded) {
        peer.ctx = ctx;
        int err = pthread_create(&thread, NULL, bench_peer_thread_cb, &peer);
        if (err != 0) {
            log_msg(NM_LOG_ERROR, "bench", "cannot start a thread: %s", strerror(err));
            rc = BENCH_FAIL;
        }
    } else if (rc == BENCH_OK && !bench_tell_peer(ep_fd, peer_ep)) {
        log_msg(NM_LOG_ERROR, "bench", "cannot reach the peer process");
        rc = BENCH_FAIL;
    }
    if (rc != BENCH_OK) {
        nm_sock_close(&s);
        return rc;
    }

    uint64_t reply_cpu_ns = 0;
    rc = a->lat ? bench_lat_reply(s, a, &w, &reply_cpu_ns) : bench_thr_recv(s, a, &w);
    if (rc != BENCH_OK) {
        /* Do not wait for a peer that waits for us. */
        atomic_store(&bench_abort, true);
        if (w.child > 0 && !w.child_gone)
            kill(w.child, SIGTERM);
        nm_sock_setopt_int(s, NM_LINGER, 0);
    }
    nm_sock_close(&s); /* lat: the last reply keeps leaving in the background */

    bool peer_ok;
    if (threaded) {
        pthread_join(thread, NULL);
        peer_ok = peer.rc == BENCH_OK || peer.rc == BENCH_STOP;
    } else {
        peer_ok = bench_reap(&w);
    }
    if (rc == BENCH_OK && !peer_ok) {
        log_msg(NM_LOG_ERROR, "bench", "the other side failed");
        rc = BENCH_FAIL;
    }
    if (rc == BENCH_OK && a->lat && !threaded && bench_lat_result_read(res_fd, &peer.lat) != 0) {
        log_msg(NM_LOG_ERROR, "bench", "the other side sent no figures");
        rc = BENCH_FAIL;
    }
    /* inproc: the requester's CPU time covers this thread too. */
    if (rc == BENCH_OK && a->lat)
        bench_report_lat(&peer.lat, threaded ? 0 : reply_cpu_ns);
    *wp = w;
    return rc;
}

int bench_main(int argc, char **argv)
{
    struct bench_args a;
    struct bench_watch w = {.child = -1};
    int ep_fd = -1, res_fd = -1;
    nm_ctx_t *ctx = NULL;

    memset(&a, 0, sizeof a);
    if (argc >= 2 && strcmp(argv[1], "fanout") == 0)
        return bench_fanout_main(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "idle") == 0)
        return bench_idle_main(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "router") == 0)
        return bench_router_main(argc, argv);
    enum bench_rc rc = bench_parse(&a, argc, argv);
    if (rc == BENCH_STOP)
        return NODE_EXIT_OK; /* --help */
    if (rc == BENCH_OK && strncmp(a.endpoint, "inproc://", 9) != 0) {
        struct bench_peer peer = {.args = &a};
        w.child = bench_fork_peer(&peer, &ep_fd, &res_fd);
        if (w.child < 0)
            rc = BENCH_FAIL;
    }
    if (rc == BENCH_OK) {
        int err = nm_ctx_new(&ctx);
        if (err < 0) {
            log_msg(NM_LOG_ERROR, "bench", "cannot create a context: %s", nm_strerror(err));
            rc = BENCH_FAIL;
        }
    }
    if (rc == BENCH_OK) {
        nm_ctx_set_log(ctx, log_stderr_cb, NULL, NM_LOG_WARN);
        rc = bench_run(&a, ctx, &w, &ep_fd, res_fd);
    }
    if (ep_fd >= 0)
        close(ep_fd); /* the peer sees EOF and gives up */
    if (res_fd >= 0)
        close(res_fd);
    if (ctx != NULL)
        nm_ctx_destroy(&ctx);
    if (w.child > 0 && !w.child_gone)
        bench_reap(&w);

    switch (rc) {
    case BENCH_OK:
    case BENCH_STOP:
        return NODE_EXIT_OK;
    case BENCH_TIMEOUT:
        return NODE_EXIT_TIMEOUT;
    case BENCH_USAGE:
        return NODE_EXIT_USAGE;
    default:
        return NODE_EXIT_FAIL;
    }
}
