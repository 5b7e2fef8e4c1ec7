/*
 * raw_bench.c - the physical limit beside `nomid bench` and zmq_bench: the same command
 * lines (`raw_bench thr|lat [--rate HZ] ENDPOINT SIZE COUNT`, `raw_bench idle ENDPOINT
 * N`), the same processes, timing points and output, over plain sockets with no
 * messaging library, so tests/bench/run.sh can show what the kernel allows beside both
 * libraries.
 *
 * Endpoints: tcp://HOST:PORT (PORT 0: the kernel picks; TCP_NODELAY on, as both
 * libraries do) and ipc://PATH (AF_UNIX stream); no inproc.
 *
 * thr/lat: the receiving side listens on ENDPOINT in this process, reads the endpoint it
 * got, then forks; the child connects.  Messages are ZMTP data frames on the wire (a
 * 2-byte header up to 255 bytes, else a 9-byte one; no handshake), the least any
 * ZMTP library must send.  thr: the child writes in large batches (headers and bodies
 * copied into a 256 KiB buffer for small messages, writev of headers and one shared
 * body for large ones); the parent reads 256 KiB at a time, parses the frames, times
 * from the first complete message to the last and prints `msgs_per_s=N MB_per_s=M`
 * (MB = 10^6 bytes).  lat: the child sends a frame, the parent echoes it, COUNT times
 * (paced with --rate HZ); the child times each round trip and writes its figures on a
 * pipe, and the parent prints them with its own CPU time over its loop: `one_way_us=X
 * rtt_p50_us=A rtt_p99_us=B rtt_p999_us=C rtt_max_us=D cpu_us_per_rt=E`, as nomid bench
 * does (node/bench_report.c keeps the times, paces, and prints).
 *
 * idle: the client processes of node/bench_idle_clients.c are forked first; a plain
 * epoll server listens on ENDPOINT (tcp), sends every accepted connection the ZMTP
 * greeting and a READY (Socket-Type ROUTER), reads the client's, frees that state and
 * keeps the connection open and registered.  The resident memory is read before the
 * clients connect and again once they all reported, the server saw N handshakes and
 * one more second passed: prints `bytes_per_conn=X conns=N` (growth over N), the floor
 * under a ROUTER's figure.
 *
 * Exit codes: 0 success, 1 failure, 2 bad arguments, 3 no progress (10 s for thr/lat,
 * 90 s for the whole idle setup).  Benchmark tool only: never linked into nomid.
 *
 * Build: cc -O2 -Inode raw_bench.c node/bench_idle_clients.c node/bench_report.c node/args.c
 *        -o raw_bench
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "args.h"
#include "bench_idle_clients.h"
#include "bench_report.h"

/* thr: the batch and read buffers, the largest message copied into a batch (larger
 * ones are sent with writev from one shared body), messages per writev. */
#define RB_BUF      (256 * 1024)
#define RB_COPY_MAX 8192
#define RB_IOV_MSGS 256
/* A blocking read making no progress for this long means the other side is gone. */
#define RB_STALL_S 10
/* idle: the setup limit, and the time to settle after the last handshake. */
#define RB_IDLE_SETUP_NS (90 * 1000000000ull)
#define RB_IDLE_AFTER_NS (1000000000ull)
/* idle: epoll data of the listening socket. */
#define RB_LISTENER UINT64_MAX

enum rb_kind { RB_THR, RB_LAT, RB_IDLE };

/* The command line. */
struct rb_args {
    enum rb_kind kind;    /* the benchmark */
    const char *endpoint; /* ENDPOINT as given */
    size_t size;          /* SIZE: bytes per message */
    long long count;      /* COUNT: messages or round trips; N for idle */
    long long rate_hz;    /* --rate HZ (lat): round trips started per second; 0 = none */
};

/* A resolved endpoint. */
struct rb_addr {
    struct sockaddr_storage ss; /* the address */
    socklen_t len;              /* its length */
    bool ipc;                   /* AF_UNIX */
};

static int rb_fail(const char *what)
{
    fprintf(stderr, "ERROR raw_bench: %s: %s\n", what, strerror(errno));
    return 1;
}

static int rb_usage(const char *problem)
{
    fprintf(stderr,
            "ERROR raw_bench: %s\nusage: raw_bench thr|lat [--rate HZ] ENDPOINT SIZE COUNT\n"
            "       raw_bench idle ENDPOINT N\n",
            problem);
    return 2;
}

static int rb_parse(struct rb_args *a, int argc, char **argv)
{
    long long size;

    memset(a, 0, sizeof *a);
    if (argc < 2)
        return rb_usage("expected a benchmark");
    if (strcmp(argv[1], "idle") == 0) {
        a->kind = RB_IDLE;
        if (argc != 4)
            return rb_usage("idle expects ENDPOINT N");
        a->endpoint = argv[2];
        if (strncmp(a->endpoint, "tcp://", 6) != 0)
            return rb_usage("idle measures tcp connections: give a tcp:// ENDPOINT");
        if (args_count(argv[3], 1, IDLE_CONNS_MAX, &a->count) != 0)
            return rb_usage("N is a count of connections");
        return 0;
    }
    if (strcmp(argv[1], "thr") != 0 && strcmp(argv[1], "lat") != 0)
        return rb_usage("the benchmark is thr, lat or idle");
    struct bench_opts o;
    const char *bad;
    if (bench_take_opts(&argc, argv, &o, &bad) != 0)
        return rb_usage("--rate HZ is a count of round trips a second");
    if (o.curve)
        return rb_usage("raw_bench has no CURVE");
    if (o.rate_hz > 0 && strcmp(argv[1], "lat") != 0)
        return rb_usage("--rate is for lat");
    a->rate_hz = o.rate_hz;
    if (argc != 5)
        return rb_usage("expected 4 arguments");
    a->kind = strcmp(argv[1], "lat") == 0 ? RB_LAT : RB_THR;
    a->endpoint = argv[2];
    if (args_count(argv[3], 0, 1ll << 30, &size) != 0)
        return rb_usage("SIZE is a byte count");
    a->size = (size_t)size;
    if (args_count(argv[4], 1, 1000000000000ll, &a->count) != 0)
        return rb_usage("COUNT is a count of at least 1");
    return 0;
}

/* ---- endpoints ---- */

/* tcp://HOST:PORT (HOST may be *, or [v6]) or ipc://PATH into an address. */
static int rb_resolve(const char *ep, struct rb_addr *a)
{
    memset(a, 0, sizeof *a);
    if (strncmp(ep, "ipc://", 6) == 0) {
        struct sockaddr_un *un = (struct sockaddr_un *)&a->ss;
        if (strlen(ep + 6) >= sizeof un->sun_path)
            return -1;
        un->sun_family = AF_UNIX;
        strcpy(un->sun_path, ep + 6);
        a->len = sizeof *un;
        a->ipc = true;
        return 0;
    }
    return idle_tcp_resolve(ep, &a->ss, &a->len);
}

static void rb_nodelay(int fd, const struct rb_addr *a)
{
    int one = 1;

    if (!a->ipc)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* Listens on ep; the endpoint a peer connects to goes to peer_ep.  A descriptor or -1. */
static int rb_listen(const char *ep, int flags, char *peer_ep, size_t n)
{
    struct rb_addr a;
    int one = 1;

    if (rb_resolve(ep, &a) != 0) {
        rb_usage("ENDPOINT is tcp://HOST:PORT or ipc://PATH");
        return -1;
    }
    int fd = socket(a.ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | flags, 0);
    if (fd < 0) {
        rb_fail("socket");
        return -1;
    }
    if (a.ipc)
        unlink(((struct sockaddr_un *)&a.ss)->sun_path);
    else
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&a.ss, a.len) != 0 || listen(fd, 1024) != 0) {
        rb_fail(ep);
        close(fd);
        return -1;
    }
    if (a.ipc) {
        snprintf(peer_ep, n, "%s", ep);
    } else {
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        char host[INET6_ADDRSTRLEN + 2] = "127.0.0.1", port[16];
        getsockname(fd, (struct sockaddr *)&ss, &len);
        getnameinfo((struct sockaddr *)&ss, len, NULL, 0, port, sizeof port, NI_NUMERICSERV);
        if (ss.ss_family == AF_INET6)
            snprintf(host, sizeof host, "[::1]");
        else if (((struct sockaddr_in *)&ss)->sin_addr.s_addr != htonl(INADDR_ANY))
            inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, host, sizeof host);
        snprintf(peer_ep, n, "tcp://%s:%s", host, port);
    }
    fprintf(stderr, "bound %s\n", peer_ep);
    return fd;
}

/* Connects to ep (blocking); a descriptor or -1. */
static int rb_connect(const char *ep)
{
    struct rb_addr a;

    if (rb_resolve(ep, &a) != 0) {
        fprintf(stderr, "ERROR raw_bench: cannot resolve %s\n", ep);
        return -1;
    }
    int fd = socket(a.ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a.ss, a.len) != 0) {
        rb_fail(ep);
        return -1;
    }
    rb_nodelay(fd, &a);
    return fd;
}

/* ---- frames and I/O ---- */

/* Writes a ZMTP data frame header (no flags) for size bytes; its length. */
static size_t rb_header(unsigned char *h, size_t size)
{
    if (size <= 255) {
        h[0] = 0;
        h[1] = (unsigned char)size;
        return 2;
    }
    h[0] = 0x02;
    for (int i = 0; i < 8; i++)
        h[1 + i] = (unsigned char)((uint64_t)size >> (56 - 8 * i));
    return 9;
}

static bool rb_write_all(int fd, const void *buf, size_t len)
{
    size_t off = 0;

    while (off < len) {
        ssize_t r = send(fd, (const char *)buf + off, len - off, MSG_NOSIGNAL);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rb_fail("write");
            return false;
        }
        off += (size_t)r;
    }
    return true;
}

/* Writes every iovec, going on after short writes. */
static bool rb_writev_all(int fd, struct iovec *iov, int n)
{
    while (n > 0) {
        ssize_t r = writev(fd, iov, n > IOV_MAX ? IOV_MAX : n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rb_fail("writev");
            return false;
        }
        while (n > 0 && (size_t)r >= iov->iov_len) {
            r -= (ssize_t)iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + r;
            iov->iov_len -= (size_t)r;
        }
    }
    return true;
}

/* Reads up to len bytes (at least one); the count, or -1 (EOF and timeouts included). */
static ssize_t rb_read_some(int fd, void *buf, size_t len)
{
    for (;;) {
        ssize_t r = read(fd, buf, len);
        if (r > 0)
            return r;
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0)
            fprintf(stderr, "ERROR raw_bench: the other side closed early\n");
        else if (errno == EAGAIN || errno == EWOULDBLOCK)
            fprintf(stderr, "ERROR raw_bench: timeout: no progress for %d s\n", RB_STALL_S);
        else
            rb_fail("read");
        return -1;
    }
}

static bool rb_read_exact(int fd, unsigned char *buf, size_t len)
{
    for (size_t off = 0; off < len;) {
        ssize_t r = rb_read_some(fd, buf + off, len - off);
        if (r < 0)
            return false;
        off += (size_t)r;
    }
    return true;
}

/* Checks that a frame header announces one frame of size bytes. */
static bool rb_check_header(const unsigned char *h, size_t size)
{
    unsigned char want[9];
    size_t n = rb_header(want, size);

    if (memcmp(h, want, n) == 0)
        return true;
    fprintf(stderr, "ERROR raw_bench: unexpected frame header, expected one frame of %zu\n", size);
    return false;
}

/* ---- thr ---- */

/* Sender side of thr: batches of copied frames, or writev of headers and one body. */
static int rb_thr_send(int fd, const struct rb_args *a)
{
    unsigned char h[9];
    size_t hlen = rb_header(h, a->size);

    if (hlen + a->size <= RB_COPY_MAX) {
        unsigned char *buf = malloc(RB_BUF);
        size_t fill = 0;
        if (buf == NULL)
            return rb_fail("malloc");
        for (long long i = 0; i < a->count; i++) {
            if (fill + hlen + a->size > RB_BUF) {
                if (!rb_write_all(fd, buf, fill))
                    return 1;
                fill = 0;
            }
            memcpy(buf + fill, h, hlen);
            memset(buf + fill + hlen, 'n', a->size);
            fill += hlen + a->size;
        }
        bool ok = rb_write_all(fd, buf, fill);
        free(buf);
        return ok ? 0 : 1;
    }
    unsigned char *body = malloc(a->size);
    struct iovec iov[2 * RB_IOV_MSGS];
    if (body == NULL)
        return rb_fail("malloc");
    memset(body, 'n', a->size);
    for (long long i = 0; i < a->count;) {
        int n = 0;
        for (; n < RB_IOV_MSGS && i < a->count; n++, i++) {
            iov[2 * n] = (struct iovec){.iov_base = h, .iov_len = hlen};
            iov[2 * n + 1] = (struct iovec){.iov_base = body, .iov_len = a->size};
        }
        if (!rb_writev_all(fd, iov, 2 * n))
            return 1;
    }
    free(body);
    return 0;
}

/* Receiver side of thr: reads large chunks, parses frames, times first to last. */
static int rb_thr_recv(int fd, const struct rb_args *a)
{
    unsigned char want[9], hdr[9];
    size_t wlen = rb_header(want, a->size), hlen = 0, body_left = 0;
    unsigned char *buf = malloc(RB_BUF);
    uint64_t start = 0;
    long long got = 0;

    if (buf == NULL)
        return rb_fail("malloc");
    while (got < a->count) {
        ssize_t r = rb_read_some(fd, buf, RB_BUF);
        if (r < 0)
            return 1;
        const unsigned char *p = buf, *end = buf + r;
        while (p < end && got < a->count) {
            if (body_left > 0) { /* inside a body */
                size_t take = (size_t)(end - p) < body_left ? (size_t)(end - p) : body_left;
                p += take;
                body_left -= take;
                if (body_left > 0)
                    break;
            } else if (hlen == 0 && (size_t)(end - p) >= wlen) { /* a whole header here */
                if (!rb_check_header(p, a->size))
                    return 1;
                p += wlen;
                body_left = a->size;
                if ((size_t)(end - p) >= body_left) { /* and its whole body */
                    p += body_left;
                    body_left = 0;
                } else {
                    continue;
                }
            } else { /* a header split over reads */
                hdr[hlen++] = *p++;
                if (hlen < wlen)
                    continue;
                if (!rb_check_header(hdr, a->size))
                    return 1;
                hlen = 0;
                body_left = a->size;
                if (body_left > 0)
                    continue;
            }
            if (++got == 1)
                start = bench_clock_ns();
        }
    }
    free(buf);
    bench_report_thr(a->count, a->size, bench_clock_ns() - start);
    return 0;
}

/* ---- lat ---- */

/* Echo side of lat: sends every frame back; *cpu_ns: this process's CPU time over it. */
static int rb_lat_reply(int fd, const struct rb_args *a, uint64_t *cpu_ns)
{
    unsigned char h[9];
    size_t len = rb_header(h, a->size) + a->size;
    unsigned char *buf = malloc(len);
    uint64_t cpu = bench_cpu_ns();

    if (buf == NULL)
        return rb_fail("malloc");
    for (long long i = 0; i < a->count; i++) {
        if (!rb_read_exact(fd, buf, len) || !rb_check_header(buf, a->size) ||
            !rb_write_all(fd, buf, len))
            return 1;
    }
    *cpu_ns = bench_cpu_ns() - cpu;
    free(buf);
    return 0;
}

/* Requesting side of lat: times each round trip, reusing each reply. */
static int rb_lat_request(int fd, const struct rb_args *a, struct bench_lat_result *res)
{
    struct bench_lat l;
    size_t hlen, len;
    unsigned char *buf = malloc(9 + a->size);
    int rc = 0;

    if (buf == NULL || bench_lat_init(&l, a->count, a->rate_hz) != 0) {
        free(buf);
        return rb_fail("malloc");
    }
    hlen = rb_header(buf, a->size);
    len = hlen + a->size;
    memset(buf + hlen, 'n', a->size);
    bench_lat_begin(&l);
    for (long long i = 0; rc == 0 && i < a->count; i++) {
        while (bench_lat_wait(&l) != 0)
            ; /* a signal: no stop to notice here */
        if (!rb_write_all(fd, buf, len) || !rb_read_exact(fd, buf, len) ||
            !rb_check_header(buf, a->size))
            rc = 1;
        bench_lat_done(&l, i);
    }
    free(buf);
    if (rc == 0)
        bench_lat_finish(&l, res);
    else
        bench_lat_fini(&l);
    return rc;
}

/* The child: connects and runs the sending (thr) or requesting (lat) side, writing lat's
 * figures on res_fd. */
static int rb_peer(const struct rb_args *a, const char *endpoint, int res_fd)
{
    struct bench_lat_result r;
    int fd = rb_connect(endpoint);
    if (fd < 0)
        return 1;
    int rc = a->kind == RB_LAT ? rb_lat_request(fd, a, &r) : rb_thr_send(fd, a);
    close(fd); /* thr: what is still queued is delivered after close */
    if (rc == 0 && a->kind == RB_LAT && bench_lat_result_write(res_fd, &r) != 0)
        rc = 1;
    return rc;
}

/* thr/lat: listens, forks the peer, accepts it and runs the receiving side. */
static int rb_pair(const struct rb_args *a)
{
    char peer_ep[512];
    struct rb_addr addr;

    if (strncmp(a->endpoint, "inproc://", 9) == 0)
        return rb_usage("raw_bench has no inproc: give tcp:// or ipc://");
    int lfd = rb_listen(a->endpoint, 0, peer_ep, sizeof peer_ep);
    if (lfd < 0)
        return 1;
    rb_resolve(peer_ep, &addr);
    int res[2]; /* lat: the child's figures */
    if (pipe(res) != 0)
        return rb_fail("pipe");
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0)
        return rb_fail("fork");
    if (pid == 0) {
        /* The child must not keep the listening socket open: it keeps only the pipe, as 3. */
        dup2(res[1], 3);
        closefrom(4);
        _exit(rb_peer(a, peer_ep, 3));
    }
    close(res[1]);

    int rc = 1, fd = -1;
    uint64_t reply_cpu_ns = 0;
    struct pollfd p = {.fd = lfd, .events = POLLIN};
    if (poll(&p, 1, RB_STALL_S * 1000) <= 0)
        fprintf(stderr, "ERROR raw_bench: the other side did not connect\n");
    else if ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) < 0)
        rb_fail("accept");
    close(lfd);
    if (fd >= 0) {
        struct timeval tv = {.tv_sec = RB_STALL_S};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        rb_nodelay(fd, &addr);
        rc = a->kind == RB_LAT ? rb_lat_reply(fd, a, &reply_cpu_ns) : rb_thr_recv(fd, a);
        close(fd);
    }
    if (rc != 0)
        kill(pid, SIGTERM);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (addr.ipc)
        unlink(((struct sockaddr_un *)&addr.ss)->sun_path);
    if (rc == 0 && (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
        fprintf(stderr, "ERROR raw_bench: the other side failed\n");
        rc = 1;
    }
    struct bench_lat_result r;
    if (rc == 0 && a->kind == RB_LAT && bench_lat_result_read(res[0], &r) != 0) {
        fprintf(stderr, "ERROR raw_bench: the other side sent no figures\n");
        rc = 1;
    }
    if (rc == 0 && a->kind == RB_LAT)
        bench_report_lat(&r, reply_cpu_ns);
    close(res[0]);
    return rc;
}

/* ---- idle ---- */

/* The epoll server of idle: its handshake states (by descriptor) and counts. */
struct rb_server {
    int ep;              /* the epoll instance */
    int lfd;             /* the listening socket */
    struct idle_hs **hs; /* per descriptor: the handshake under way, or NULL */
    long maxfd;          /* entries in hs */
    unsigned char hello[IDLE_HELLO_MAX];
    size_t hello_len;
    long conns;      /* connections open */
    long handshakes; /* handshakes completed */
};

/* Accepts every waiting connection and greets it; -1 on failure. */
static int rb_server_accept(struct rb_server *s)
{
    for (;;) {
        int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0 && errno == EINTR)
            continue;
        if (fd < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        if (fd < 0) {
            rb_fail("accept");
            return -1;
        }
        if (fd >= s->maxfd) {
            fprintf(stderr, "ERROR raw_bench: descriptor %d beyond the limit\n", fd);
            return -1;
        }
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)fd};
        s->hs[fd] = calloc(1, sizeof *s->hs[fd]);
        if (s->hs[fd] == NULL || epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
            rb_fail("accept setup");
            return -1;
        }
        if (send(fd, s->hello, s->hello_len, MSG_NOSIGNAL) != (ssize_t)s->hello_len) {
            rb_fail("send the greeting");
            return -1;
        }
        s->conns++;
    }
}

/* Reads from a connection: its handshake, or (idle) anything, dropped.  -1 on failure. */
static int rb_server_read(struct rb_server *s, int fd)
{
    unsigned char buf[512];

    for (;;) {
        ssize_t r = recv(fd, buf, sizeof buf, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        if (r <= 0) { /* the peer left: not during a measurement */
            fprintf(stderr, "ERROR raw_bench: a client closed its connection\n");
            return -1;
        }
        if (s->hs[fd] == NULL)
            continue;
        int f = idle_hs_feed(s->hs[fd], buf, (size_t)r);
        if (f < 0) {
            fprintf(stderr, "ERROR raw_bench: a client sent no ZMTP 3 NULL greeting and READY\n");
            return -1;
        }
        if (f == 1) {
            free(s->hs[fd]);
            s->hs[fd] = NULL;
            s->handshakes++;
        }
    }
}

/* Runs the server until the clients reported, N handshakes are in and a second has
 * passed; 0, 1 failure or 3 timeout. */
static int rb_server_run(struct rb_server *s, struct idle_clients *c, long n)
{
    struct epoll_event evs[256];
    uint64_t start = bench_clock_ns(), settled = 0;
    int reported = 0;

    for (;;) {
        int k = epoll_wait(s->ep, evs, 256, 10);
        if (k < 0 && errno != EINTR)
            return rb_fail("epoll_wait");
        for (int i = 0; i < k; i++) {
            int r = evs[i].data.u64 == RB_LISTENER ? rb_server_accept(s)
                                                   : rb_server_read(s, (int)evs[i].data.u64);
            if (r < 0)
                return 1;
        }
        if (reported == 0 && (reported = idle_clients_poll(c, 0)) < 0)
            return 1;
        uint64_t now = bench_clock_ns();
        if (reported == 1 && s->handshakes == n && settled == 0)
            settled = now;
        if (settled != 0 && now - settled >= RB_IDLE_AFTER_NS)
            return 0;
        if (settled == 0 && now - start >= RB_IDLE_SETUP_NS) {
            fprintf(stderr, "ERROR raw_bench: timeout: %ld reported, %ld handshakes of %ld\n",
                    c->done, s->handshakes, n);
            return 3;
        }
    }
}

static int rb_idle(const struct rb_args *a)
{
    struct idle_clients c;
    struct rb_server s = {.ep = -1, .lfd = -1};
    char peer_ep[512];
    long n = (long)a->count;

    signal(SIGPIPE, SIG_IGN);
    s.maxfd = idle_raise_nofile();
    int rc = idle_clients_fork(&c, n) != 0 ? 1 : 0;
    if (rc == 0 && (s.lfd = rb_listen(a->endpoint, SOCK_NONBLOCK, peer_ep, sizeof peer_ep)) < 0)
        rc = 1;
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = RB_LISTENER};
    if (rc == 0) {
        s.ep = epoll_create1(EPOLL_CLOEXEC);
        s.hs = calloc((size_t)s.maxfd, sizeof *s.hs);
        s.hello_len = idle_hello(s.hello, "ROUTER");
        if (s.ep < 0 || s.hs == NULL || epoll_ctl(s.ep, EPOLL_CTL_ADD, s.lfd, &ev) != 0)
            rc = rb_fail("setup");
    }
    long before = rc == 0 ? idle_rss_bytes() : -1, after = -1;
    if (rc == 0 && idle_clients_start(&c, peer_ep) != 0) {
        fprintf(stderr, "ERROR raw_bench: cannot reach the client processes\n");
        rc = 1;
    }
    if (rc == 0)
        rc = rb_server_run(&s, &c, n);
    if (rc == 0 && (after = idle_rss_bytes()) < 0)
        rc = rb_fail("/proc/self/statm");
    if (rc == 0 && before < 0)
        rc = rb_fail("/proc/self/statm");
    if (rc == 0) {
        fprintf(stderr, "rss before %ld KiB, after %ld KiB\n", before / 1024, after / 1024);
        printf("bytes_per_conn=%.0f conns=%ld\n", (double)(after - before) / (double)n, n);
        fflush(stdout);
    }
    for (long fd = 0; s.hs != NULL && fd < s.maxfd; fd++)
        free(s.hs[fd]);
    free(s.hs);
    idle_clients_stop(&c); /* a client let go before its end exits 1: not a failure */
    return rc;             /* the connections close with the process */
}

int main(int argc, char **argv)
{
    struct rb_args a;

    int rc = rb_parse(&a, argc, argv);
    if (rc != 0)
        return rc;
    return a.kind == RB_IDLE ? rb_idle(&a) : rb_pair(&a);
}
