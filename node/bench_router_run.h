/*
 * bench_router_run.h - the many-clients ROUTER shape (`nomid bench router`, `zmq_bench
 * router`): one ROUTER in this process echoes every request to the DEALER that sent it;
 * CLIENTS DEALERs, spread over PROCS forked processes, each keep ROUTER_WINDOW requests
 * of SIZE bytes in flight until COUNT requests in all have come back.  This file runs
 * the processes, the clients' loop and the figures; a messaging library plugs in its
 * sockets through struct router_ops (node/bench_router.c: nomid's; zmq_bench.c:
 * libzmq's), so both are measured by the same code.  Uses no messaging library.
 */
#ifndef NODE_BENCH_ROUTER_RUN_H
#define NODE_BENCH_ROUTER_RUN_H

#include <stddef.h>

/* Requests each DEALER keeps in flight (async: it sends the next as a reply comes). */
#define ROUTER_WINDOW 4
/* Most DEALERs, most client processes, most requests of one run (their times are kept). */
#define ROUTER_CLIENTS_MAX 4096
#define ROUTER_PROCS_MAX   128
#define ROUTER_COUNT_MAX   50000000ll
/* Client processes when PROCS is not given (fewer when there are fewer CLIENTS). */
#define ROUTER_PROCS_DEFAULT 10

/* The command line: router ENDPOINT SIZE COUNT CLIENTS [PROCS]. */
struct router_args {
    const char *endpoint; /* ENDPOINT as given (tcp:// or ipc://) */
    size_t size;          /* SIZE: bytes per request and reply */
    long long count;      /* COUNT: requests in all (besides one warm-up per DEALER) */
    int clients;          /* CLIENTS: DEALER sockets */
    int procs;            /* PROCS: processes they are spread over */
};

/* A library's sockets.  st is the library's state, one per process.  Failures are
 * reported on stderr by the library before it returns -1. */
struct router_ops {
    /* This process: a ROUTER bound to a->endpoint; writes the endpoint the clients
     * connect to (a wildcard replaced by loopback) into out[n].  0 or -1. */
    int (*serve_open)(void *st, const struct router_args *a, char *out, size_t n);
    /* Receives one request and sends it back to its DEALER: 1, 0 when none came within
     * about 100 ms, -1 on failure, -2 when a signal asked this process to stop. */
    int (*serve_echo)(void *st);
    void (*serve_close)(void *st);
    /* A client process: n DEALERs connected to endpoint.  0 or -1. */
    int (*client_open)(void *st, const struct router_args *a, const char *endpoint, int n);
    /* Sends a request of a->size bytes on DEALER i (it has room: the window is far below
     * the HWM).  0 or -1. */
    int (*client_send)(void *st, int i);
    /* Takes a reply off DEALER i without waiting: 1 (one of a->size bytes), 0 (none), -1. */
    int (*client_recv)(void *st, int i);
    /* Waits up to timeout_ms until a DEALER has a reply to read: 0 or -1. */
    int (*client_poll)(void *st, int timeout_ms);
    void (*client_close)(void *st);
};

/* Parses argv (argv[1] is "router"), runs the shape and prints `reqs_per_s=N
 * rtt_p50_us=A rtt_p99_us=B rtt_p999_us=C rtt_max_us=D cpu_us_per_req=E`: COUNT over
 * the time from the start signal to the last reply, the percentiles of every request's
 * round trip, and the CPU time of all the processes over their loops per request.
 * Call it before anything starts a thread (it forks).  An exit code: 0, 1 failure,
 * 2 bad arguments, 3 no progress for 30 s. */
int router_run(int argc, char **argv, const struct router_ops *ops, void *st);

/* The usage lines of the shape, for the tools' --help. */
#define ROUTER_USAGE                                                                               \
    "  router  ROUTER binds ENDPOINT (tcp or ipc) and echoes each request to its sender;\n"        \
    "       CLIENTS DEALERs in PROCS processes (default: 10, at most CLIENTS) keep 4\n"            \
    "       requests of SIZE bytes in flight each until COUNT requests have come back;\n"          \
    "       prints reqs_per_s=N rtt_p50_us=A rtt_p99_us=B rtt_p999_us=C rtt_max_us=D\n"            \
    "       cpu_us_per_req=E: requests over the time from the start to the last reply,\n"          \
    "       the requests' round-trip percentiles and CPU time of all processes per request\n"

#endif /* NODE_BENCH_ROUTER_RUN_H */
