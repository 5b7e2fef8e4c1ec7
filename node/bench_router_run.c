/*
 * bench_router_run.c - the processes, the clients' loop and the figures of the router
 * shape (see bench_router_run.h); no messaging library, so zmq_bench links it too.
 *
 * Before any library call this process maps a region it shares with its children (the
 * endpoint, a slot per client process, every request's round-trip time) and forks the
 * client processes.  Two pipes signal by being closed: `ep` (the endpoint is in the
 * region; empty: the server could not bind) and `go` (start, when the region's go flag
 * is set).  A client process connects its DEALERs, makes one warm-up round trip on each
 * (every connection is up and the ROUTER knows every peer), writes a byte on `ready`,
 * waits for go, then runs its share.  The server echoes the warm-ups, waits for every
 * ready byte, sets go and closes the go pipe (the start time), echoes COUNT requests
 * and reaps the clients.
 *
 * The region's protocol: the parent writes the endpoint before it closes `ep`, and the
 * go flag before it closes `go`; a child writes only its own slot and its own range of
 * round-trip times, and the parent reads them after reaping the child.  The pipe and
 * wait calls order these writes and reads; nothing is read while it may change.
 * CLOCK_MONOTONIC is shared by the processes.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "bench_router_run.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "args.h"
#include "bench_report.h"

/* No reply (clients) or request (server) for this long is a failure. */
#define ROUTER_STALL_NS (30 * 1000000000ull)
/* How long a wait lasts before it looks at the other processes again. */
#define ROUTER_TICK_MS 100
/* Room for the endpoint the clients connect to. */
#define ROUTER_EP_MAX 320

/* A client process's part, set by the parent before the fork, figures by the child. */
struct router_slot {
    int first_client; /* index of its first DEALER among all */
    int clients;      /* its DEALERs */
    long long first;  /* index of its first request's time in rtt_ns */
    long long count;  /* its requests */
    uint64_t last_ns; /* when its last reply came */
    uint64_t cpu_ns;  /* its CPU time over its loop */
    bool done;        /* its figures are in */
};

/* The region shared with the client processes (see the protocol above). */
struct router_shared {
    char endpoint[ROUTER_EP_MAX];
    bool go;
    struct router_slot slot[ROUTER_PROCS_MAX];
    uint64_t rtt_ns[]; /* COUNT entries */
};

/* One DEALER's requests in a client process. */
struct router_dealer {
    long long quota;                 /* requests to make */
    long long sent, got;             /* requests sent, replies received */
    uint64_t sent_ns[ROUTER_WINDOW]; /* when each request in flight left */
};

/* The whole run, seen from the server. */
struct router_run {
    const struct router_args *a;
    const struct router_ops *ops;
    void *st;
    struct router_shared *sh;
    size_t sh_len;
    pid_t pids[ROUTER_PROCS_MAX]; /* 0 once reaped */
    int ep[2], ready[2], go[2];
    bool child_failed;
};

static void router_err(const char *what)
{
    fprintf(stderr, "ERROR bench router: %s\n", what);
}

static int router_parse(struct router_args *a, int argc, char **argv)
{
    long long v;

    if (argc != 6 && argc != 7) {
        router_err("expected ENDPOINT SIZE COUNT CLIENTS [PROCS]");
        return -1;
    }
    a->endpoint = argv[2];
    if (strncmp(a->endpoint, "tcp://", 6) != 0 && strncmp(a->endpoint, "ipc://", 6) != 0) {
        router_err("the clients are processes: give a tcp:// or ipc:// ENDPOINT");
        return -1;
    }
    if (args_count(argv[3], 0, 1ll << 30, &v) != 0) {
        router_err("SIZE is not a byte count up to 1 GiB");
        return -1;
    }
    a->size = (size_t)v;
    if (args_count(argv[4], 1, ROUTER_COUNT_MAX, &a->count) != 0) {
        fprintf(stderr, "ERROR bench router: COUNT is not 1..%lld\n", ROUTER_COUNT_MAX);
        return -1;
    }
    if (args_count(argv[5], 1, ROUTER_CLIENTS_MAX, &v) != 0) {
        fprintf(stderr, "ERROR bench router: CLIENTS is not 1..%d\n", ROUTER_CLIENTS_MAX);
        return -1;
    }
    a->clients = (int)v;
    a->procs = a->clients < ROUTER_PROCS_DEFAULT ? a->clients : ROUTER_PROCS_DEFAULT;
    if (argc == 7) {
        if (args_count(argv[6], 1, ROUTER_PROCS_MAX, &v) != 0 || v > a->clients) {
            fprintf(stderr, "ERROR bench router: PROCS is not 1..%d and at most CLIENTS\n",
                    ROUTER_PROCS_MAX);
            return -1;
        }
        a->procs = (int)v;
    }
    return 0;
}

/* Requests of DEALER g (of all): COUNT shared out evenly. */
static long long router_quota(const struct router_args *a, int g)
{
    return a->count / a->clients + (g < a->count % a->clients);
}

/* Sends DEALER i's next request, noting when it left. */
static int router_send(struct router_run *r, struct router_dealer *d, int i, uint64_t now)
{
    d[i].sent_ns[d[i].sent % ROUTER_WINDOW] = now;
    d[i].sent++;
    return r->ops->client_send(r->st, i);
}

/* Runs every DEALER's requests until each has its quota of replies, keeping at most
 * ROUTER_WINDOW in flight.  The round-trip times go to rtt (NULL: a warm-up), the time
 * of the last reply to *last_ns.  A pass reads every DEALER without waiting; only a
 * pass that found nothing waits in client_poll.  0, or -1 (reported). */
static int router_exchange(struct router_run *r, struct router_dealer *d, int n, uint64_t *rtt,
                           uint64_t *last_ns, pid_t parent)
{
    long long left = 0, k = 0;
    uint64_t now = bench_clock_ns(), progress = now;

    for (int i = 0; i < n; i++) {
        d[i].sent = d[i].got = 0;
        left += d[i].quota;
        while (d[i].sent < d[i].quota && d[i].sent < ROUTER_WINDOW)
            if (router_send(r, d, i, bench_clock_ns()) != 0)
                return -1;
    }
    while (left > 0) {
        bool any = false;
        for (int i = 0; i < n; i++) {
            int got;
            while ((got = r->ops->client_recv(r->st, i)) == 1) {
                now = bench_clock_ns();
                if (d[i].got == d[i].sent) {
                    router_err("a reply to no request");
                    return -1;
                }
                if (rtt != NULL)
                    rtt[k++] = now - d[i].sent_ns[d[i].got % ROUTER_WINDOW];
                d[i].got++;
                left--;
                any = true;
                if (d[i].sent < d[i].quota && router_send(r, d, i, now) != 0)
                    return -1;
            }
            if (got < 0)
                return -1;
        }
        if (any) {
            progress = now;
            continue;
        }
        if (r->ops->client_poll(r->st, ROUTER_TICK_MS) != 0)
            return -1;
        /* Only after a quiet tick: the hot loop makes no further system calls. */
        uint64_t quiet = bench_clock_ns() - progress;
        if (quiet >= ROUTER_TICK_MS * 1000000ull && getppid() != parent) {
            router_err("client: the server is gone");
            return -1;
        }
        if (quiet >= ROUTER_STALL_NS) {
            router_err("client: no reply for 30 s");
            return -1;
        }
    }
    *last_ns = now;
    return 0;
}

/* Reads until EOF (the parent closed its end, or died). */
static void router_await_close(int fd)
{
    char c;
    ssize_t n;

    while ((n = read(fd, &c, 1)) != 0)
        if (n < 0 && errno != EINTR)
            break;
}

/* A client process p: an exit code. */
static int router_client(struct router_run *r, int p, pid_t parent)
{
    struct router_slot *slot = &r->sh->slot[p];
    struct router_dealer *d = calloc((size_t)slot->clients, sizeof *d);
    uint64_t last_ns;
    int rc = NODE_EXIT_FAIL;

    router_await_close(r->ep[0]);
    if (d == NULL || r->sh->endpoint[0] == '\0' ||
        r->ops->client_open(r->st, r->a, r->sh->endpoint, slot->clients) != 0) {
        free(d);
        return NODE_EXIT_FAIL; /* the server said why, or the library did */
    }
    for (int i = 0; i < slot->clients; i++)
        d[i].quota = 1;
    if (router_exchange(r, d, slot->clients, NULL, &last_ns, parent) != 0)
        goto out;
    if (write(r->ready[1], "R", 1) != 1) {
        router_err("client: cannot report");
        goto out;
    }
    router_await_close(r->go[0]);
    if (!r->sh->go) {
        rc = NODE_EXIT_OK; /* the server gave up; it said why */
        goto out;
    }
    for (int i = 0; i < slot->clients; i++)
        d[i].quota = router_quota(r->a, slot->first_client + i);
    uint64_t cpu = bench_cpu_ns();
    if (router_exchange(r, d, slot->clients, r->sh->rtt_ns + slot->first, &last_ns, parent) != 0)
        goto out;
    slot->cpu_ns = bench_cpu_ns() - cpu;
    slot->last_ns = last_ns;
    slot->done = true;
    rc = NODE_EXIT_OK;
out:
    r->ops->client_close(r->st);
    free(d);
    return rc;
}

/* Forks the client processes, each with its share of the DEALERs and requests. */
static int router_fork(struct router_run *r)
{
    const struct router_args *a = r->a;
    pid_t parent = getpid();
    int g = 0;
    long long first = 0;

    fflush(stdout);
    fflush(stderr);
    for (int p = 0; p < a->procs; p++) {
        struct router_slot *slot = &r->sh->slot[p];
        slot->first_client = g;
        slot->clients = a->clients / a->procs + (p < a->clients % a->procs);
        slot->first = first;
        for (int i = 0; i < slot->clients; i++)
            slot->count += router_quota(a, g + i);
        g += slot->clients;
        first += slot->count;
        pid_t pid = fork();
        if (pid < 0) {
            router_err("fork failed");
            return -1;
        }
        if (pid == 0) {
            close(r->ep[1]);
            close(r->go[1]);
            close(r->ready[0]);
            _exit(router_client(r, p, parent));
        }
        r->pids[p] = pid;
    }
    return 0;
}

/* Reaps the client processes that exited (all of them when block); -1 once one failed. */
static int router_reap(struct router_run *r, bool block)
{
    for (int p = 0; p < r->a->procs; p++) {
        int status;
        while (r->pids[p] > 0) {
            pid_t w = waitpid(r->pids[p], &status, block ? 0 : WNOHANG);
            if (w == r->pids[p]) {
                r->pids[p] = 0;
                if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                    r->child_failed = true;
            } else if (!(w < 0 && errno == EINTR)) {
                break; /* still running (WNOHANG) */
            }
        }
    }
    return r->child_failed ? -1 : 0;
}

/* Echoes n requests: 0, -1 (failure), -2 (stopped) or -3 (no request for 30 s). */
static int router_serve(struct router_run *r, long long n)
{
    uint64_t progress = bench_clock_ns();
    long long seen = 0; /* requests echoed when progress was last read */

    for (long long i = 0; i < n;) {
        int got = r->ops->serve_echo(r->st);
        if (got < 0)
            return got == -2 ? -2 : -1;
        if (got == 1) {
            i++;
            continue;
        }
        if (router_reap(r, false) != 0) {
            router_err("a client process failed");
            return -1;
        }
        uint64_t now = bench_clock_ns();
        if (i != seen) {
            seen = i;
            progress = now;
        } else if (now - progress >= ROUTER_STALL_NS) {
            fprintf(stderr, "ERROR bench router: %lld of %lld requests, then none for 30 s\n", i,
                    n);
            return -3;
        }
    }
    return 0;
}

/* Waits for every client process's ready byte: 0, -1, or -3 after 30 s. */
static int router_await_ready(struct router_run *r)
{
    uint64_t start = bench_clock_ns();
    int have = 0;

    while (have < r->a->procs) {
        struct pollfd pfd = {.fd = r->ready[0], .events = POLLIN};
        char bytes[ROUTER_PROCS_MAX];
        if (poll(&pfd, 1, ROUTER_TICK_MS) > 0) {
            ssize_t n = read(r->ready[0], bytes, sizeof bytes);
            if (n == 0) {
                router_err("the client processes exited early");
                return -1;
            }
            have += n > 0 ? (int)n : 0;
        }
        if (router_reap(r, false) != 0) {
            router_err("a client process failed");
            return -1;
        }
        if (bench_clock_ns() - start >= ROUTER_STALL_NS) {
            router_err("the clients were not ready within 30 s");
            return -3;
        }
    }
    return 0;
}

/* The server's side of a forked run: an exit code. */
static int router_server(struct router_run *r)
{
    const struct router_args *a = r->a;
    char ep[ROUTER_EP_MAX] = "";

    int rc = r->ops->serve_open(r->st, a, ep, sizeof ep);
    snprintf(r->sh->endpoint, sizeof r->sh->endpoint, "%s", rc == 0 ? ep : "");
    close(r->ep[1]);
    r->ep[1] = -1;
    if (rc != 0)
        return NODE_EXIT_FAIL;
    rc = router_serve(r, a->clients);
    if (rc == 0)
        rc = router_await_ready(r);
    uint64_t start_ns = bench_clock_ns(), cpu = bench_cpu_ns();
    r->sh->go = rc == 0;
    close(r->go[1]);
    r->go[1] = -1;
    if (rc == 0)
        rc = router_serve(r, a->count);
    if (rc == 0 && router_reap(r, true) != 0) {
        router_err("a client process failed");
        rc = -1;
    }
    cpu = bench_cpu_ns() - cpu;
    r->ops->serve_close(r->st);
    if (rc == -2)
        return NODE_EXIT_OK; /* a signal: no figures */
    if (rc != 0)
        return rc == -3 ? NODE_EXIT_TIMEOUT : NODE_EXIT_FAIL;

    uint64_t last_ns = start_ns;
    for (int p = 0; p < a->procs; p++) {
        const struct router_slot *slot = &r->sh->slot[p];
        if (!slot->done) {
            router_err("a client process sent no figures");
            return NODE_EXIT_FAIL;
        }
        cpu += slot->cpu_ns;
        if (slot->last_ns > last_ns)
            last_ns = slot->last_ns;
    }
    struct bench_lat_result res;
    bench_rtt_stats(r->sh->rtt_ns, a->count, &res);
    double secs = (double)(last_ns > start_ns ? last_ns - start_ns : 1) / 1e9;
    printf("reqs_per_s=%.0f rtt_p50_us=%.2f rtt_p99_us=%.2f rtt_p999_us=%.2f rtt_max_us=%.2f "
           "cpu_us_per_req=%.3f\n",
           (double)a->count / secs, res.p50_us, res.p99_us, res.p999_us, res.max_us,
           (double)cpu / 1000.0 / (double)a->count);
    fflush(stdout);
    return NODE_EXIT_OK;
}

int router_run(int argc, char **argv, const struct router_ops *ops, void *st)
{
    struct router_args a;
    struct router_run r = {.a = &a, .ops = ops, .st = st};
    int rc = NODE_EXIT_FAIL;

    memset(&a, 0, sizeof a);
    if (router_parse(&a, argc, argv) != 0)
        return NODE_EXIT_USAGE;
    r.ep[0] = r.ep[1] = r.ready[0] = r.ready[1] = r.go[0] = r.go[1] = -1;
    r.sh_len = sizeof *r.sh + (size_t)a.count * sizeof r.sh->rtt_ns[0];
    r.sh = mmap(NULL, r.sh_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (r.sh == MAP_FAILED) {
        r.sh = NULL;
        router_err("cannot map the shared region");
    } else if (pipe(r.ep) != 0 || pipe(r.ready) != 0 || pipe(r.go) != 0) {
        router_err("cannot make pipes");
    } else if (router_fork(&r) == 0) {
        close(r.ep[0]);
        close(r.go[0]);
        close(r.ready[1]);
        r.ep[0] = r.go[0] = r.ready[1] = -1;
        rc = router_server(&r);
    }
    for (int i = 0; i < 2; i++) {
        if (r.ep[i] >= 0)
            close(r.ep[i]); /* a client still waiting sees EOF and gives up */
        if (r.go[i] >= 0)
            close(r.go[i]);
        if (r.ready[i] >= 0)
            close(r.ready[i]);
    }
    for (int p = 0; p < a.procs; p++)
        if (r.pids[p] > 0) /* a run that ended early: the clients have nothing left to do */
            kill(r.pids[p], SIGTERM);
    router_reap(&r, true);
    if (r.sh != NULL)
        munmap(r.sh, r.sh_len);
    return rc;
}
