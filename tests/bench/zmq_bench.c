/*
 * zmq_bench.c - the libzmq baseline for `nomid bench`: the same command line
 * (`zmq_bench thr|lat ENDPOINT SIZE COUNT`), the same two processes, the same timing
 * points and the same output, so tests/bench/run.sh can put the numbers side by side.
 *
 * The receiving side (PULL for thr, REP for lat) binds ENDPOINT in this process, reads
 * the endpoint it got (for tcp://...:0), then forks; the child connects (PUSH, REQ)
 * with its own context.  thr times at the receiver from the first message to the last
 * and prints `msgs_per_s=N MB_per_s=M` (MB = 10^6 bytes); lat times all round trips at
 * the requester and prints `one_way_us=X` (elapsed / round trips / 2).  Exit codes:
 * 0 success, 1 failure, 2 bad arguments.  Benchmark tool only: never linked into nomid.
 *
 * Build: cc -O2 zmq_bench.c -o zmq_bench $(pkg-config --cflags --libs libzmq)
 */
#define _GNU_SOURCE
#include <errno.h>
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

/* The command line. */
struct zb_args {
    bool lat;             /* lat rather than thr */
    const char *endpoint; /* ENDPOINT as given */
    size_t size;          /* SIZE: bytes per message */
    long long count;      /* COUNT: messages (thr) or round trips (lat) */
};

static uint64_t zb_clock_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int zb_fail(const char *what)
{
    fprintf(stderr, "ERROR zmq_bench: %s: %s\n", what, zmq_strerror(zmq_errno()));
    return 1;
}

static int zb_usage(const char *problem)
{
    fprintf(stderr, "ERROR zmq_bench: %s\nusage: zmq_bench thr|lat ENDPOINT SIZE COUNT\n", problem);
    return 2;
}

static bool zb_number(const char *text, long long min, long long max, long long *out)
{
    char *end;

    if (text[0] < '0' || text[0] > '9')
        return false;
    errno = 0;
    *out = strtoll(text, &end, 10);
    return *end == '\0' && errno == 0 && *out >= min && *out <= max;
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
            start = zb_clock_ns();
    }
    zmq_msg_close(&m);
    uint64_t elapsed = zb_clock_ns() - start;
    if (elapsed == 0)
        elapsed = 1;
    double msgs = (double)a->count * 1e9 / (double)elapsed;
    printf("msgs_per_s=%.0f MB_per_s=%.1f\n", msgs, msgs * (double)a->size / 1e6);
    fflush(stdout);
    return 0;
}

/* PUSH side of thr. */
static int zb_thr_send(void *s, const struct zb_args *a)
{
    zmq_msg_t m;

    for (long long i = 0; i < a->count; i++) {
        if (zmq_msg_init_size(&m, a->size) != 0)
            return zb_fail("allocate");
        memset(zmq_msg_data(&m), 'n', a->size);
        if (zmq_msg_send(&m, s, 0) < 0) {
            zmq_msg_close(&m);
            return zb_fail("send");
        }
    }
    return 0;
}

/* REP side of lat: sends every request back. */
static int zb_lat_reply(void *s, const struct zb_args *a)
{
    zmq_msg_t m;

    zmq_msg_init(&m);
    for (long long i = 0; i < a->count; i++) {
        if (zb_recv(s, &m, a->size) != 0)
            return 1;
        if (zmq_msg_send(&m, s, 0) < 0)
            return zb_fail("send");
    }
    zmq_msg_close(&m);
    return 0;
}

/* REQ side of lat: times all round trips, reusing each reply as the next request. */
static int zb_lat_request(void *s, const struct zb_args *a)
{
    zmq_msg_t m;

    if (zmq_msg_init_size(&m, a->size) != 0)
        return zb_fail("allocate");
    memset(zmq_msg_data(&m), 'n', a->size);
    uint64_t start = zb_clock_ns();
    for (long long i = 0; i < a->count; i++) {
        if (zmq_msg_send(&m, s, 0) < 0)
            return zb_fail("send");
        if (zb_recv(s, &m, a->size) != 0)
            return 1;
    }
    uint64_t elapsed = zb_clock_ns() - start;
    zmq_msg_close(&m);
    printf("one_way_us=%.2f\n", (double)elapsed / 1000.0 / (double)a->count / 2.0);
    fflush(stdout);
    return 0;
}

/* The child: connects with its own context and runs the sending side. */
static int zb_peer(const struct zb_args *a, const char *endpoint)
{
    void *ctx = zmq_ctx_new();
    if (ctx == NULL)
        return zb_fail("context");
    void *s = zmq_socket(ctx, a->lat ? ZMQ_REQ : ZMQ_PUSH);
    int rc = 1;
    if (s == NULL)
        rc = zb_fail("socket");
    else if (zmq_connect(s, endpoint) != 0)
        rc = zb_fail(endpoint);
    else
        rc = a->lat ? zb_lat_request(s, a) : zb_thr_send(s, a);
    if (s != NULL)
        zmq_close(s); /* thr: the default LINGER lets the queue drain in zmq_ctx_term */
    zmq_ctx_term(ctx);
    return rc;
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

    if (argc != 5)
        return zb_usage("expected 4 arguments");
    if (strcmp(argv[1], "thr") != 0 && strcmp(argv[1], "lat") != 0)
        return zb_usage("the benchmark is thr or lat");
    a->lat = strcmp(argv[1], "lat") == 0;
    a->endpoint = argv[2];
    if (!zb_number(argv[3], 0, 1ll << 30, &size))
        return zb_usage("SIZE is a byte count");
    a->size = (size_t)size;
    if (!zb_number(argv[4], 1, 1000000000000ll, &a->count))
        return zb_usage("COUNT is a count of at least 1");
    if (strncmp(a->endpoint, "inproc://", 9) == 0)
        return zb_usage("inproc needs two threads of one process: not supported");
    return 0;
}

int main(int argc, char **argv)
{
    struct zb_args a;
    char bound[256] = {0};
    char peer_ep[sizeof bound + 16]; /* room for 127.0.0.1 in place of a wildcard */
    size_t len = sizeof bound - 1;

    int rc = zb_parse(&a, argc, argv);
    if (rc != 0)
        return rc;
    void *ctx = zmq_ctx_new();
    if (ctx == NULL)
        return zb_fail("context");
    void *s = zmq_socket(ctx, a.lat ? ZMQ_REP : ZMQ_PULL);
    if (s == NULL)
        return zb_fail("socket");
    if (zmq_bind(s, a.endpoint) != 0)
        return zb_fail(a.endpoint);
    if (zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, bound, &len) != 0)
        return zb_fail("ZMQ_LAST_ENDPOINT");
    fprintf(stderr, "bound %s\n", bound);
    zb_connect_endpoint(bound, peer_ep, sizeof peer_ep);

    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0)
        return zb_fail("fork");
    if (pid == 0) {
        /* Leave the parent's sockets alone: the child must not keep them open. */
        closefrom(3);
        _exit(zb_peer(&a, peer_ep));
    }

    rc = a.lat ? zb_lat_reply(s, &a) : zb_thr_recv(s, &a);
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
    return rc;
}
