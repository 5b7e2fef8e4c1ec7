/*
 * test_scale.c - 50 discovery agents on one host (threads of this process, loopback,
 * 100 ms beacons) converge to a full view: every agent sees the 49 others.  Prints the
 * convergence time; fails past 10 s.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent.h"

#define NODES 50
#define MS    1000000ull

static long elapsed_ms(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

static void test_fifty_nodes_converge(void **state)
{
    (void)state;
    static nmd_agent *agents[NODES];
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < NODES; i++) {
        nmd_agent_config cfg;
        nmd_agent_config_init(&cfg);
        snprintf(cfg.fleet, sizeof(cfg.fleet), "scale-%d", (int)getpid());
        snprintf(cfg.name, sizeof(cfg.name), "node%02d", i);
        cfg.interval_ns = 100 * MS;
        cfg.port = (uint16_t)(20000 + (getpid() + 13) % 20000);
        assert_int_equal(nmd_agent_start(&agents[i], &cfg), 0);
        char ep[64];
        snprintf(ep, sizeof(ep), "tcp://127.0.0.1:%d", 10000 + i);
        assert_int_equal(nmd_agent_advertise(agents[i], "scale.svc", 1, ep, NULL), 0);
    }
    long converged = -1;
    while (elapsed_ms(&t0) < 10000) {
        int full = 0;
        for (int i = 0; i < NODES; i++)
            full += nmd_agent_peers(agents[i], NULL, NULL) == NODES - 1 &&
                    nmd_agent_resolve(agents[i], "scale.svc", NULL, NULL) == NODES - 1;
        if (full == NODES) {
            converged = elapsed_ms(&t0);
            break;
        }
        usleep(20000);
    }
    nmd_agent_stats st;
    nmd_agent_get_stats(agents[0], &st);
    printf("# %d nodes converged in %ld ms (from the first start); node 0 sent %llu beacons, "
           "%llu bytes, received %llu datagrams\n",
           NODES, converged, (unsigned long long)st.sent, (unsigned long long)st.bytes_sent,
           (unsigned long long)st.received);
    for (int i = 0; i < NODES; i++)
        nmd_agent_stop(&agents[i]);
    assert_true(converged >= 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fifty_nodes_converge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
