/*
 * bench.h - what the shapes of `nomid bench` share: limits, the endpoint a peer
 * connects to, and the fan-out (bench_fanout.c), idle-connections (bench_idle.c) and
 * many-clients ROUTER (bench_router.c) shapes, which bench_main dispatches to.
 */
#ifndef NODE_BENCH_H
#define NODE_BENCH_H

#include <stddef.h>

/* Largest message accepted on the command line. */
#define BENCH_SIZE_MAX (1ll << 30)
/* Largest COUNT accepted on the command line. */
#define BENCH_COUNT_MAX 1000000000000ll
/* Room for an endpoint: the bound one, and the one the peer connects to (longer by a
 * loopback address in place of a wildcard). */
#define BENCH_EP_MAX 256
/* The hot loops check for a stop signal every this many messages (a power of two). */
#define BENCH_STOP_CHECK_MASK 1023

/* For a wildcard bind (tcp://\*:P, tcp://0.0.0.0:P, tcp://[::]:P) the endpoint a peer
 * connects to: the loopback address instead; otherwise a copy of bound. */
void bench_connect_endpoint(const char *bound, char *out, size_t n);

/* nomid bench fanout ENDPOINT SIZE COUNT SUBS (argv[1] is "fanout"); an exit code. */
int bench_fanout_main(int argc, char **argv);

/* nomid bench idle ENDPOINT N (argv[1] is "idle"); an exit code. */
int bench_idle_main(int argc, char **argv);

/* nomid bench router ENDPOINT SIZE COUNT CLIENTS [PROCS] (argv[1] is "router"); an exit
 * code.  Forks, so call it before anything starts a thread. */
int bench_router_main(int argc, char **argv);

#endif /* NODE_BENCH_H */
