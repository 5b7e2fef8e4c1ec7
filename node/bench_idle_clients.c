/*
 * bench_idle_clients.c - the raw ZMTP client processes of the idle-connections
 * benchmark, its handshake bytes and parser, and the RSS probe (see
 * bench_idle_clients.h).  Plain sockets and epoll, no messaging library: it is built
 * into nomid and, with `cc`, into tests/bench/zmq_bench and raw_bench.
 *
 * Each client process opens its share of the connections with at most IDLE_WINDOW
 * handshakes in flight (so the server's accept backlog never overflows and no SYN
 * waits for a retransmit), sends the greeting and READY (Socket-Type DEALER) as soon as
 * a connection is up, and reads the server's greeting and READY.  Once all are done it
 * writes one report on the shared report pipe, then blocks on the hold pipe: EOF (the
 * parent let go, or died) ends it and the kernel closes its connections.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_idle_clients.h"
#include "bench_report.h"

/* Handshakes in flight per client process. */
#define IDLE_WINDOW 32
/* A client process that makes no progress for this long gives up. */
#define IDLE_STALL_NS (30 * 1000000000ull)
/* epoll data of the hold pipe in a client process. */
#define IDLE_HOLD_TAG UINT64_MAX

/* What a client process reports: one write, below PIPE_BUF. */
struct idle_report {
    int32_t ok;    /* 1: every handshake done */
    int32_t conns; /* handshakes done */
};

/* One connection of a client process. */
struct idle_conn {
    int fd;            /* the socket */
    bool sent;         /* our greeting and READY are written */
    bool got;          /* the server's greeting and READY arrived */
    struct idle_hs hs; /* reading them */
};

static void idle_err(const char *what)
{
    fprintf(stderr, "ERROR idle clients: %s: %s\n", what, strerror(errno));
}

long idle_raise_nofile(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return -1;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            getrlimit(RLIMIT_NOFILE, &rl);
    }
    return rl.rlim_cur == RLIM_INFINITY ? 1L << 30 : (long)rl.rlim_cur;
}

size_t idle_hello(unsigned char *buf, const char *socket_type)
{
    size_t tlen = strlen(socket_type);

    if (tlen > 16)
        tlen = 16;
    /* Greeting: signature, version 3.1, mechanism NULL, as-server 0, filler. */
    memset(buf, 0, 64);
    buf[0] = 0xff;
    buf[9] = 0x7f;
    buf[10] = 3;
    buf[11] = 1;
    memcpy(buf + 12, "NULL", 4);
    /* READY: a short command frame holding the name and one property. */
    unsigned char *p = buf + 64;
    p[0] = 0x04;
    p[1] = (unsigned char)(6 + 1 + 11 + 4 + tlen);
    p[2] = 5;
    memcpy(p + 3, "READY", 5);
    p[8] = 11;
    memcpy(p + 9, "Socket-Type", 11);
    p[20] = p[21] = p[22] = 0;
    p[23] = (unsigned char)tlen;
    memcpy(p + 24, socket_type, tlen);
    return 64 + 24 + tlen;
}

int idle_hs_feed(struct idle_hs *h, const unsigned char *p, size_t n)
{
    if (h->got < sizeof h->head) {
        size_t take = sizeof h->head - h->got < n ? sizeof h->head - h->got : n;
        memcpy(h->head + h->got, p, take);
    }
    h->got += (uint32_t)(n < UINT32_MAX - h->got ? n : UINT32_MAX - h->got);
    const unsigned char *g = h->head;
    if (h->got >= 10 && (g[0] != 0xff || (g[9] & 1) == 0))
        return -1; /* not a ZMTP 3 signature */
    size_t hdr = (g[64] & 0x02) != 0 ? 9 : 2;
    if (h->need == 0 && h->got >= 64 + hdr) {
        uint64_t size = g[65];
        if (hdr == 9) {
            size = 0;
            for (int i = 0; i < 8; i++)
                size = size << 8 | g[65 + i];
        }
        if (size > (1u << 20))
            return -1;
        h->need = (uint32_t)(64 + hdr + size);
    }
    if (h->need == 0 || h->got < h->need)
        return 0;
    const unsigned char *body = g + 64 + hdr;
    bool ok = g[10] >= 3 && memcmp(g + 12, "NULL", 5) == 0 && (g[64] & 0x04) != 0 &&
              h->need >= 64 + hdr + 6 && body[0] == 5 && memcmp(body + 1, "READY", 5) == 0;
    return ok ? 1 : -1;
}

long idle_rss_bytes(void)
{
    long size, resident;

    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL)
        return -1;
    int n = fscanf(f, "%ld %ld", &size, &resident);
    fclose(f);
    return n == 2 ? resident * sysconf(_SC_PAGESIZE) : -1;
}

/* ---- a client process ---- */

int idle_tcp_resolve(const char *ep, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[256];

    if (strncmp(ep, "tcp://", 6) != 0)
        return -1;
    const char *h = ep + 6, *colon = strrchr(h, ':');
    if (colon == NULL || (size_t)(colon - h) >= sizeof host)
        return -1;
    memcpy(host, h, (size_t)(colon - h));
    host[colon - h] = '\0';
    char *hp = host;
    if (hp[0] == '[') {
        hp++;
        hp[strcspn(hp, "]")] = '\0';
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV}, *ai;
    if (strcmp(hp, "*") == 0) {
        hints.ai_family = AF_INET;
        hints.ai_flags |= AI_PASSIVE;
        hp = NULL;
    }
    if (getaddrinfo(hp, colon + 1, &hints, &ai) != 0)
        return -1;
    memcpy(ss, ai->ai_addr, ai->ai_addrlen);
    *len = ai->ai_addrlen;
    freeaddrinfo(ai);
    return 0;
}

/* Readiness on one connection: 1 once its handshake is done, 0 not yet, -1 failure. */
static int idle_conn_event(int ep, struct idle_conn *c, uint64_t tag, uint32_t events,
                           const unsigned char *hello, size_t hlen)
{
    if (!c->sent && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) != 0) {
        int err = 0;
        socklen_t elen = sizeof err;
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0 || err != 0) {
            errno = err != 0 ? err : errno;
            idle_err("connect");
            return -1;
        }
        if (send(c->fd, hello, hlen, MSG_NOSIGNAL) != (ssize_t)hlen) {
            idle_err("send the greeting");
            return -1;
        }
        c->sent = true;
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = tag}; /* no more EPOLLOUT */
        epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
    }
    while (!c->got && (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) != 0) {
        unsigned char buf[512];
        ssize_t r = recv(c->fd, buf, sizeof buf, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (r <= 0) {
            if (r == 0)
                errno = ECONNRESET;
            idle_err("the server's greeting");
            return -1;
        }
        int f = idle_hs_feed(&c->hs, buf, (size_t)r);
        if (f < 0) {
            fprintf(stderr, "ERROR idle clients: the server sent no ZMTP 3 NULL greeting "
                            "and READY\n");
            return -1;
        }
        c->got = f == 1;
    }
    if (!c->sent || !c->got)
        return 0;
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL); /* idle from now on */
    return 1;
}

/* Reads the endpoint sent on fd up to EOF; false when none came. */
static bool idle_read_endpoint(int fd, char *ep, size_t cap)
{
    size_t n = 0;
    ssize_t r;

    while (n < cap - 1 && (r = read(fd, ep + n, cap - 1 - n)) != 0) {
        if (r > 0)
            n += (size_t)r;
        else if (errno != EINTR)
            break;
    }
    ep[n] = '\0';
    return n > 0;
}

/* Opens the next connection without waiting for it. */
static int idle_open(int ep, const struct sockaddr_storage *ss, socklen_t len, struct idle_conn *c,
                     uint64_t tag)
{
    c->fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        idle_err("socket");
        return -1;
    }
    if (connect(c->fd, (const struct sockaddr *)ss, len) != 0 && errno != EINPROGRESS) {
        idle_err("connect");
        return -1;
    }
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.u64 = tag};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
        idle_err("epoll_ctl");
        return -1;
    }
    return 0;
}

/* Opens n connections and completes their handshakes; the number done, or -1. */
static long idle_connect_all(long n, const char *endpoint, int hold_fd)
{
    struct sockaddr_storage ss;
    socklen_t len;
    unsigned char hello[IDLE_HELLO_MAX];
    size_t hlen = idle_hello(hello, "DEALER");

    if (idle_tcp_resolve(endpoint, &ss, &len) != 0) {
        fprintf(stderr, "ERROR idle clients: cannot resolve %s\n", endpoint);
        return -1;
    }
    struct idle_conn *conns = calloc((size_t)n, sizeof *conns);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event hold = {.events = EPOLLIN, .data.u64 = IDLE_HOLD_TAG};
    if (conns == NULL || ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, hold_fd, &hold) != 0) {
        idle_err("setup");
        return -1;
    }
    long next = 0, inflight = 0, done = 0;
    uint64_t progress = bench_clock_ns();
    while (done < n) {
        for (; inflight < IDLE_WINDOW && next < n; next++, inflight++)
            if (idle_open(ep, &ss, len, &conns[next], (uint64_t)next) != 0)
                return -1;
        struct epoll_event evs[64];
        int k = epoll_wait(ep, evs, 64, 100);
        if (k < 0 && errno != EINTR) {
            idle_err("epoll_wait");
            return -1;
        }
        for (int i = 0; i < k; i++) {
            if (evs[i].data.u64 == IDLE_HOLD_TAG)
                return done; /* let go before the end: the parent gave up */
            uint64_t tag = evs[i].data.u64;
            int r = idle_conn_event(ep, &conns[tag], tag, evs[i].events, hello, hlen);
            if (r < 0)
                return -1;
            if (r == 1) {
                done++;
                inflight--;
                progress = bench_clock_ns();
            }
        }
        if (bench_clock_ns() - progress >= IDLE_STALL_NS) {
            fprintf(stderr, "ERROR idle clients: %ld of %ld handshakes done, then none for 30 s\n",
                    done, n);
            return -1;
        }
    }
    close(ep); /* the connections stay open until this process exits */
    return done;
}

/* A client process: n connections, one report, then idle until hold_fd's EOF. */
static int idle_child(long n, int ep_fd, int report_fd, int hold_fd)
{
    char endpoint[512];

    /* The parent's handlers only set a flag: here a signal must end the process. */
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGPIPE, SIG_IGN);
    idle_raise_nofile();
    bool have = idle_read_endpoint(ep_fd, endpoint, sizeof endpoint);
    close(ep_fd);
    if (!have)
        return 1; /* the parent could not bind; it said why */
    long done = idle_connect_all(n, endpoint, hold_fd);
    struct idle_report rep = {.ok = done == n, .conns = (int32_t)(done > 0 ? done : 0)};
    if (write(report_fd, &rep, sizeof rep) != (ssize_t)sizeof rep || done != n)
        return 1;
    char b;
    ssize_t r;
    while ((r = read(hold_fd, &b, 1)) != 0 && (r > 0 || errno == EINTR))
        ;
    return 0;
}

/* ---- the parent's side ---- */

int idle_clients_fork(struct idle_clients *c, long n)
{
    int eps[IDLE_PROCS_MAX][2], report[2], hold[2];

    memset(c, 0, sizeof *c);
    c->report_fd = c->hold_fd = -1;
    for (int i = 0; i < IDLE_PROCS_MAX; i++)
        c->ep_fds[i] = -1;
    if (n < 1 || n > IDLE_CONNS_MAX)
        return -1;
    int nprocs = (int)((n + IDLE_PER_PROC - 1) / IDLE_PER_PROC);
    if (pipe2(report, O_CLOEXEC) != 0 || pipe2(hold, O_CLOEXEC) != 0) {
        idle_err("pipe");
        return -1;
    }
    for (int i = 0; i < nprocs; i++)
        if (pipe2(eps[i], O_CLOEXEC) != 0) {
            idle_err("pipe");
            return -1; /* the descriptors go with the process */
        }
    c->want = n;
    fflush(stdout);
    fflush(stderr);
    int rc = 0;
    for (int i = 0; i < nprocs; i++) {
        long share = n / nprocs + (i < n % nprocs ? 1 : 0);
        pid_t pid = fork();
        if (pid < 0) {
            idle_err("fork");
            rc = -1;
            break;
        }
        if (pid == 0) {
            close(report[0]);
            close(hold[1]);
            for (int j = 0; j < nprocs; j++) {
                close(eps[j][1]);
                if (j != i)
                    close(eps[j][0]);
            }
            _exit(idle_child(share, eps[i][0], report[1], hold[0]));
        }
        c->pids[c->nprocs++] = pid;
    }
    close(report[1]);
    close(hold[0]);
    c->report_fd = report[0];
    c->hold_fd = hold[1];
    for (int i = 0; i < nprocs; i++) {
        close(eps[i][0]);
        c->ep_fds[i] = eps[i][1];
    }
    return rc;
}

int idle_clients_start(struct idle_clients *c, const char *endpoint)
{
    size_t len = strlen(endpoint);
    int rc = 0;

    for (int i = 0; i < c->nprocs; i++) {
        size_t off = 0;
        while (off < len) {
            ssize_t r = write(c->ep_fds[i], endpoint + off, len - off);
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0)
                break;
            off += (size_t)r;
        }
        if (off != len)
            rc = -1;
        close(c->ep_fds[i]);
        c->ep_fds[i] = -1;
    }
    return rc;
}

int idle_clients_poll(struct idle_clients *c, int timeout_ms)
{
    if (c->reported == c->nprocs)
        return 1;
    struct pollfd p = {.fd = c->report_fd, .events = POLLIN};
    if (poll(&p, 1, timeout_ms) > 0) {
        struct idle_report rep;
        ssize_t r = read(c->report_fd, &rep, sizeof rep);
        if (r == 0 || (r > 0 && (size_t)r != sizeof rep)) {
            fprintf(stderr, "ERROR idle clients: the client processes exited early\n");
            return -1;
        }
        if (r > 0 && !rep.ok)
            return -1; /* the process said why */
        if (r > 0) {
            c->done += rep.conns;
            c->reported++;
        }
    }
    for (int i = 0; i < c->nprocs; i++) {
        int status;
        if (c->pids[i] > 0 && waitpid(c->pids[i], &status, WNOHANG) == c->pids[i]) {
            c->pids[i] = 0;
            fprintf(stderr, "ERROR idle clients: a client process exited early\n");
            return -1;
        }
    }
    return c->reported == c->nprocs ? 1 : 0;
}

int idle_clients_stop(struct idle_clients *c)
{
    int rc = 0;

    for (int i = 0; i < IDLE_PROCS_MAX; i++)
        if (c->ep_fds[i] >= 0) {
            close(c->ep_fds[i]);
            c->ep_fds[i] = -1;
        }
    if (c->hold_fd >= 0)
        close(c->hold_fd);
    c->hold_fd = -1;
    for (int i = 0; i < c->nprocs; i++) {
        int status;
        if (c->pids[i] <= 0)
            continue;
        while (waitpid(c->pids[i], &status, 0) < 0 && errno == EINTR)
            ;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            rc = -1;
        c->pids[i] = 0;
    }
    if (c->report_fd >= 0)
        close(c->report_fd);
    c->report_fd = -1;
    return rc;
}
