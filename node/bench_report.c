/*
 * bench_report.c - the clock and the result lines of the benchmark programs.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* clock_gettime when built outside CMake (tests/bench/run.sh) */
#endif
#include "bench_report.h"

#include <stdio.h>
#include <time.h>

uint64_t bench_clock_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void bench_report_thr(long long count, size_t size, uint64_t elapsed_ns)
{
    double msgs = (double)count * 1e9 / (double)(elapsed_ns ? elapsed_ns : 1);

    printf("msgs_per_s=%.0f MB_per_s=%.1f\n", msgs, msgs * (double)size / 1e6);
    fflush(stdout);
}

void bench_report_lat(long long round_trips, uint64_t elapsed_ns)
{
    printf("one_way_us=%.2f\n", (double)elapsed_ns / 1000.0 / (double)round_trips / 2.0);
    fflush(stdout);
}

void bench_report_fanout(uint64_t delivered, long long sent, uint64_t elapsed_ns)
{
    double rate =
        delivered == 0 ? 0.0 : (double)delivered * 1e9 / (double)(elapsed_ns ? elapsed_ns : 1);

    printf("delivered_msgs_per_s=%.0f delivered=%llu sent=%lld\n", rate,
           (unsigned long long)delivered, sent);
    fflush(stdout);
}
