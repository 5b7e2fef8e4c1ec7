/*
 * bench_report.h - what `nomid bench` and the baseline tools tests/bench/zmq_bench.c and
 * tests/bench/raw_bench.c share (they link this file, node/args.c and
 * node/bench_idle_clients.c): the clock, the options of thr and lat, the round-trip
 * record of lat (times, pacing, CPU) and the result lines tests/bench/run.sh reads.
 */
#ifndef NODE_BENCH_REPORT_H
#define NODE_BENCH_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Highest --rate accepted (round trips per second). */
#define BENCH_RATE_MAX 1000000ll

/* Options of thr and lat that may stand anywhere after the benchmark's name. */
struct bench_opts {
    bool curve;        /* --curve: both sides use CURVE */
    long long rate_hz; /* --rate HZ: lat's requester starts HZ round trips a second; 0 = none */
};

/* What the requesting side of lat found, handed to the side that prints it. */
struct bench_lat_result {
    long long round_trips;  /* round trips made */
    double one_way_us;      /* mean round trip, halved */
    double p50_us, p99_us;  /* round-trip percentiles (nearest rank) */
    double p999_us, max_us; /* p99.9, and the slowest round trip */
    uint64_t cpu_ns;        /* CPU time of the requester's process over its loop */
};

/* The requesting side's record of a lat run.  Its loop is
 *     bench_lat_begin; for each i: bench_lat_wait, send, receive, bench_lat_done(i);
 * then bench_lat_finish.  Back to back, each round trip starts when the last one ended
 * (one clock read per round trip).  Paced (--rate HZ), round trip i starts at
 * t0 + i / HZ; one that ends after the next one's start makes the next start at once,
 * and the schedule starts again from there: it never builds up a backlog to catch up
 * on, so a stall is followed by paced round trips, not a burst of back-to-back ones. */
struct bench_lat {
    uint64_t *rtt_ns;   /* each round trip's time, not counting the wait before it */
    long long count;    /* round trips (entries of rtt_ns) */
    uint64_t period_ns; /* paced: time from one round trip's start to the next's; 0 = none */
    uint64_t next_ns;   /* paced: when the next round trip starts */
    uint64_t start_ns;  /* when the current round trip started */
    uint64_t cpu_ns;    /* this process's CPU time when the loop began */
};

/* CLOCK_MONOTONIC in nanoseconds (the same clock as nm_clock_ns, shared by processes). */
uint64_t bench_clock_ns(void);
/* User and system CPU time of this process (all its threads) in nanoseconds. */
uint64_t bench_cpu_ns(void);

/* Takes --curve and --rate HZ out of argv[2..]; 0, or -1 with *bad naming the
 * offending text (--rate without a count from 1 to BENCH_RATE_MAX). */
int bench_take_opts(int *argc, char **argv, struct bench_opts *o, const char **bad);

/* Allocates the record of count round trips, paced at rate_hz (0: back to back); 0 or -1
 * (out of memory). */
int bench_lat_init(struct bench_lat *l, long long count, long long rate_hz);
/* Right before the first round trip: reads the clock and the CPU time. */
void bench_lat_begin(struct bench_lat *l);
/* Paced: sleeps until the next round trip's start.  0, or -1 when a signal came (call
 * again to go on waiting). */
int bench_lat_wait(struct bench_lat *l);
/* Round trip i has ended: records its time. */
void bench_lat_done(struct bench_lat *l, long long i);
/* Sorts the n (at least 1) round-trip times and fills *r's figures but cpu_ns. */
void bench_rtt_stats(uint64_t *rtt_ns, long long n, struct bench_lat_result *r);
/* After the last round trip: the figures, and frees the record. */
void bench_lat_finish(struct bench_lat *l, struct bench_lat_result *r);
/* Frees the record of a run that did not finish. */
void bench_lat_fini(struct bench_lat *l);

/* Hands a result from a forked requester to its parent over a pipe; 0 or -1. */
int bench_lat_result_write(int fd, const struct bench_lat_result *r);
/* Reads what bench_lat_result_write wrote; 0, or -1 (nothing, or a short result). */
int bench_lat_result_read(int fd, struct bench_lat_result *r);

/* `msgs_per_s=N MB_per_s=M`: count messages of size bytes in elapsed_ns. */
void bench_report_thr(long long count, size_t size, uint64_t elapsed_ns);
/* `one_way_us=X rtt_p50_us=A rtt_p99_us=B rtt_p999_us=C rtt_max_us=D cpu_us_per_rt=E`:
 * the requester's figures, E counting its CPU time and other_cpu_ns (the replying
 * process's over its loop; 0 when both sides are threads of the requester's process). */
void bench_report_lat(const struct bench_lat_result *r, uint64_t other_cpu_ns);
/* `delivered_msgs_per_s=N delivered=D sent=S`: delivered messages in elapsed_ns. */
void bench_report_fanout(uint64_t delivered, long long sent, uint64_t elapsed_ns);

#endif /* NODE_BENCH_REPORT_H */
