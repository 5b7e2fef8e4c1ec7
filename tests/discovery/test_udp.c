/*
 * test_udp.c - beacon sockets on loopback: several sockets of one host share the port
 * and all receive each beacon (their own included); an oversized datagram is dropped
 * without harming the socket; bad interfaces and groups are refused.  TTL 0 keeps every
 * datagram on this host.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "beacon.h"
#include "udp.h"

static uint16_t test_port(void)
{
    return (uint16_t)(20000 + getpid() % 20000);
}

/* Waits up to 2 s for a datagram on u. */
static ssize_t recv_wait(nmd_udp *u, uint8_t *buf, size_t cap, char *src)
{
    struct pollfd p = {.fd = u->fd, .events = POLLIN};
    if (poll(&p, 1, 2000) <= 0)
        return -ETIMEDOUT;
    return nmd_udp_recv(u, buf, cap, src, 64);
}

static void test_two_sockets_one_host(void **state)
{
    (void)state;
    nmd_udp a, b;
    assert_int_equal(nmd_udp_open(&a, "127.0.0.1", NMD_UDP_GROUP, test_port(), 0), 0);
    assert_int_equal(nmd_udp_open(&b, "lo", NMD_UDP_GROUP, test_port(), 0), 0);

    nmd_beacon bc;
    memset(&bc, 0, sizeof(bc));
    bc.node_id[0] = 7;
    bc.incarnation = 1;
    bc.seq = 1;
    snprintf(bc.fleet, sizeof(bc.fleet), "default");
    snprintf(bc.name, sizeof(bc.name), "seven");
    uint8_t out[NMD_BEACON_MAX];
    int n = nmd_beacon_encode(&bc, NULL, 0, NULL, 0, out, sizeof(out));
    assert_true(n > 0);
    assert_int_equal(nmd_udp_send(&a, out, (size_t)n), 0);

    nmd_udp *socks[] = {&a, &b};
    for (int i = 0; i < 2; i++) {
        uint8_t in[NMD_BEACON_MAX];
        char src[64];
        ssize_t got = recv_wait(socks[i], in, sizeof(in), src);
        assert_int_equal(got, n);
        assert_string_equal(src, "127.0.0.1");
        nmd_beacon d;
        assert_int_equal(nmd_beacon_decode(in, (size_t)got, NULL, 0, &d), 0);
        assert_string_equal(d.name, "seven");
    }
    nmd_udp_close(&a);
    nmd_udp_close(&b);
}

static void test_oversized_dropped(void **state)
{
    (void)state;
    nmd_udp a;
    assert_int_equal(nmd_udp_open(&a, "127.0.0.1", NMD_UDP_GROUP, test_port(), 0), 0);
    uint8_t big[2000], in[NMD_BEACON_MAX];
    memset(big, 'x', sizeof(big));
    char src[64];
    assert_int_equal(nmd_udp_send(&a, big, sizeof(big)), 0);
    assert_int_equal(recv_wait(&a, in, sizeof(in), src), -EMSGSIZE);
    assert_int_equal(nmd_udp_send(&a, "ok", 2), 0);
    assert_int_equal(recv_wait(&a, in, sizeof(in), src), 2);
    assert_int_equal(nmd_udp_recv(&a, in, sizeof(in), src, sizeof(src)), -EAGAIN);
    nmd_udp_close(&a);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    nmd_udp a;
    assert_int_equal(nmd_udp_open(&a, "no-such-if0", NMD_UDP_GROUP, test_port(), 0), -ENODEV);
    assert_int_equal(nmd_udp_open(&a, "127.0.0.1", "10.0.0.1", test_port(), 0), -EINVAL);
    assert_int_equal(nmd_udp_open(&a, "127.0.0.1", "not an address", test_port(), 0), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_sockets_one_host),
        cmocka_unit_test(test_oversized_dropped),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
