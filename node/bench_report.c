/*
 * bench_report.c - the clock, the options of thr and lat, the round-trip record of lat
 * and the result lines of the benchmark programs.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* clock_gettime when built outside CMake (tests/bench/run.sh) */
#endif
#include "bench_report.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "args.h"

uint64_t bench_clock_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t bench_cpu_ns(void)
{
    struct rusage ru;

    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000u +
           (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000u;
}

int bench_take_opts(int *argc, char **argv, struct bench_opts *o, const char **bad)
{
    int n = *argc < 2 ? *argc : 2;

    memset(o, 0, sizeof *o);
    for (int i = n; i < *argc; i++) {
        if (strcmp(argv[i], "--curve") == 0) {
            o->curve = true;
        } else if (strcmp(argv[i], "--rate") == 0) {
            if (i + 1 >= *argc || args_count(argv[i + 1], 1, BENCH_RATE_MAX, &o->rate_hz) != 0) {
                *bad = i + 1 < *argc ? argv[i + 1] : "";
                return -1;
            }
            i++;
        } else {
            argv[n++] = argv[i];
        }
    }
    *argc = n;
    return 0;
}

int bench_lat_init(struct bench_lat *l, long long count, long long rate_hz)
{
    memset(l, 0, sizeof *l);
    l->rtt_ns = malloc((size_t)count * sizeof *l->rtt_ns);
    if (l->rtt_ns == NULL)
        return -1;
    l->count = count;
    l->period_ns = rate_hz > 0 ? 1000000000ull / (uint64_t)rate_hz : 0;
    return 0;
}

void bench_lat_begin(struct bench_lat *l)
{
    l->cpu_ns = bench_cpu_ns();
    l->start_ns = bench_clock_ns();
    l->next_ns = l->start_ns;
}

int bench_lat_wait(struct bench_lat *l)
{
    if (l->period_ns == 0)
        return 0;
    uint64_t now = bench_clock_ns();
    if (now < l->next_ns) {
        struct timespec at = {.tv_sec = (time_t)(l->next_ns / 1000000000u),
                              .tv_nsec = (long)(l->next_ns % 1000000000u)};
        int rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL);
        if (rc == EINTR)
            return -1;
        now = bench_clock_ns();
        l->next_ns += l->period_ns;
    } else {
        l->next_ns = now + l->period_ns; /* overran: start now, and the schedule from here */
    }
    l->start_ns = now;
    return 0;
}

void bench_lat_done(struct bench_lat *l, long long i)
{
    uint64_t now = bench_clock_ns();

    l->rtt_ns[i] = now - l->start_ns;
    l->start_ns = now;
}

static int bench_u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* The nearest-rank percentile of the sorted times: the smallest with at least per_mille
 * thousandths of all at or below it. */
static double bench_rank_us(const uint64_t *sorted, long long n, long long per_mille)
{
    long long rank = (n * per_mille + 999) / 1000;

    return (double)sorted[rank > 0 ? rank - 1 : 0] / 1000.0;
}

void bench_rtt_stats(uint64_t *rtt_ns, long long n, struct bench_lat_result *r)
{
    uint64_t sum = 0;

    for (long long i = 0; i < n; i++)
        sum += rtt_ns[i];
    qsort(rtt_ns, (size_t)n, sizeof *rtt_ns, bench_u64_cmp);
    *r = (struct bench_lat_result){
        .round_trips = n,
        .one_way_us = (double)sum / 1000.0 / (double)n / 2.0,
        .p50_us = bench_rank_us(rtt_ns, n, 500),
        .p99_us = bench_rank_us(rtt_ns, n, 990),
        .p999_us = bench_rank_us(rtt_ns, n, 999),
        .max_us = (double)rtt_ns[n - 1] / 1000.0,
    };
}

void bench_lat_finish(struct bench_lat *l, struct bench_lat_result *r)
{
    uint64_t cpu = bench_cpu_ns() - l->cpu_ns;

    bench_rtt_stats(l->rtt_ns, l->count, r);
    r->cpu_ns = cpu;
    bench_lat_fini(l);
}

void bench_lat_fini(struct bench_lat *l)
{
    free(l->rtt_ns);
    l->rtt_ns = NULL;
}

int bench_lat_result_write(int fd, const struct bench_lat_result *r)
{
    ssize_t n;

    /* Below PIPE_BUF: one write, never split, never blocking on an empty pipe. */
    while ((n = write(fd, r, sizeof *r)) < 0 && errno == EINTR)
        ;
    return n == (ssize_t)sizeof *r ? 0 : -1;
}

int bench_lat_result_read(int fd, struct bench_lat_result *r)
{
    ssize_t n;

    while ((n = read(fd, r, sizeof *r)) < 0 && errno == EINTR)
        ;
    return n == (ssize_t)sizeof *r ? 0 : -1;
}

void bench_report_thr(long long count, size_t size, uint64_t elapsed_ns)
{
    double msgs = (double)count * 1e9 / (double)(elapsed_ns ? elapsed_ns : 1);

    printf("msgs_per_s=%.0f MB_per_s=%.1f\n", msgs, msgs * (double)size / 1e6);
    fflush(stdout);
}

void bench_report_lat(const struct bench_lat_result *r, uint64_t other_cpu_ns)
{
    double cpu_us = (double)(r->cpu_ns + other_cpu_ns) / 1000.0;

    printf("one_way_us=%.2f rtt_p50_us=%.2f rtt_p99_us=%.2f rtt_p999_us=%.2f rtt_max_us=%.2f "
           "cpu_us_per_rt=%.2f\n",
           r->one_way_us, r->p50_us, r->p99_us, r->p999_us, r->max_us,
           cpu_us / (double)r->round_trips);
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
