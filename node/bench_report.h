/*
 * bench_report.h - what `nomid bench` and the baseline tools tests/bench/zmq_bench.c and
 * tests/bench/raw_bench.c share (they link this file, node/args.c and
 * node/bench_idle_clients.c): the clock and the result lines tests/bench/run.sh reads.
 */
#ifndef NODE_BENCH_REPORT_H
#define NODE_BENCH_REPORT_H

#include <stddef.h>
#include <stdint.h>

/* CLOCK_MONOTONIC in nanoseconds (the same clock as nm_clock_ns, shared by processes). */
uint64_t bench_clock_ns(void);
/* `msgs_per_s=N MB_per_s=M`: count messages of size bytes in elapsed_ns. */
void bench_report_thr(long long count, size_t size, uint64_t elapsed_ns);
/* `one_way_us=X`: elapsed_ns over round_trips, halved. */
void bench_report_lat(long long round_trips, uint64_t elapsed_ns);
/* `delivered_msgs_per_s=N delivered=D sent=S`: delivered messages in elapsed_ns. */
void bench_report_fanout(uint64_t delivered, long long sent, uint64_t elapsed_ns);

#endif /* NODE_BENCH_REPORT_H */
