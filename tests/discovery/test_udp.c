/*
 * test_udp.c - beacon sockets on loopback, IPv4 multicast and broadcast: several sockets
 * of one host share the port and all receive each beacon (their own included); an
 * oversized datagram is dropped without harming the socket; multicast and broadcast
 * sockets on one port do not hear each other; interfaces resolve by name or address;
 * bad interfaces, groups and TTLs are refused.  TTL 0 keeps every datagram on this host.
 * IPv6 and isolation between links need namespaces: test_udp_netns.c.
 */
#include <arpa/inet.h>
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

/* Two sockets on loopback for group (the first by address, the second by name): one
 * beacon from the first reaches both, from 127.0.0.1. */
static void two_sockets_one_host(const char *group)
{
    nmd_udp a, b;
    assert_int_equal(nmd_udp_open(&a, "127.0.0.1", group, test_port(), 0), 0);
    assert_int_equal(nmd_udp_open(&b, "lo", group, test_port(), 0), 0);
    assert_int_equal(a.family, AF_INET);
    assert_string_equal(a.addr, "127.0.0.1");
    assert_string_equal(b.addr, "127.0.0.1");
    assert_string_equal(a.dev, "lo");
    assert_string_equal(b.dev, "lo");

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

static void test_two_sockets_one_host(void **state)
{
    (void)state;
    two_sockets_one_host(NMD_UDP_GROUP);
}

static void test_broadcast_two_sockets(void **state)
{
    (void)state;
    two_sockets_one_host(NMD_UDP_BROADCAST);
}

static void test_broadcast_destination(void **state)
{
    (void)state;
    nmd_udp a;
    assert_int_equal(nmd_udp_open(&a, "lo", NMD_UDP_BROADCAST, test_port(), 1), 0);
    assert_int_equal(a.mode, NMD_UDP_BROADCAST4);
    const struct sockaddr_in *d = (const struct sockaddr_in *)&a.dest;
    char text[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &d->sin_addr, text, sizeof(text));
    assert_string_equal(text, "127.255.255.255");
    assert_int_equal(ntohs(d->sin_port), test_port());
    nmd_udp_close(&a);
}

/* A multicast and a broadcast socket share the port without hearing each other. */
static void test_modes_apart(void **state)
{
    (void)state;
    nmd_udp m, b;
    assert_int_equal(nmd_udp_open(&m, "lo", NMD_UDP_GROUP, test_port(), 0), 0);
    assert_int_equal(nmd_udp_open(&b, "lo", NMD_UDP_BROADCAST, test_port(), 0), 0);
    uint8_t in[64];
    char src[64];
    assert_int_equal(nmd_udp_send(&m, "mc", 2), 0);
    assert_int_equal(recv_wait(&m, in, sizeof(in), src), 2);
    assert_memory_equal(in, "mc", 2);
    assert_int_equal(nmd_udp_send(&b, "bc", 2), 0);
    assert_int_equal(recv_wait(&b, in, sizeof(in), src), 2);
    assert_memory_equal(in, "bc", 2);
    usleep(100000);
    assert_int_equal(nmd_udp_recv(&m, in, sizeof(in), src, sizeof(src)), -EAGAIN);
    assert_int_equal(nmd_udp_recv(&b, in, sizeof(in), src, sizeof(src)), -EAGAIN);
    nmd_udp_close(&m);
    nmd_udp_close(&b);
}

static void test_ifaddr_and_endpoint(void **state)
{
    (void)state;
    char addr[NMD_UDP_ADDRSTRLEN];
    unsigned idx = 0;
    assert_int_equal(nmd_udp_ifaddr("lo", AF_INET, addr, sizeof(addr), &idx), 0);
    assert_string_equal(addr, "127.0.0.1");
    assert_int_not_equal(idx, 0);
    assert_int_equal(nmd_udp_ifaddr("127.0.0.1", AF_INET, addr, sizeof(addr), NULL), 0);
    assert_string_equal(addr, "127.0.0.1");
    assert_int_equal(nmd_udp_ifaddr("::1", AF_INET, addr, sizeof(addr), NULL), 0);
    assert_string_equal(addr, "127.0.0.1");
    /* Loopback has no IPv6 link-local address, and 192.0.2.1 is nobody's. */
    assert_int_equal(nmd_udp_ifaddr("lo", AF_INET6, addr, sizeof(addr), NULL), -ENODEV);
    assert_int_equal(nmd_udp_ifaddr("192.0.2.1", AF_INET, addr, sizeof(addr), NULL), -ENODEV);
    assert_int_equal(nmd_udp_ifaddr("lo", AF_INET, addr, 4, NULL), -ENOBUFS);
    assert_int_equal(nmd_udp_ifaddr("lo", AF_UNIX, addr, sizeof(addr), NULL), -EINVAL);

    nmd_udp a;
    assert_int_equal(nmd_udp_open(&a, "lo", NMD_UDP_GROUP, test_port(), 0), 0);
    char host[NMD_UDP_ADDRSTRLEN + 2];
    assert_int_equal(nmd_udp_endpoint_host(&a, host, sizeof(host)), 0);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(nmd_udp_endpoint_host(&a, host, 5), -ENOBUFS);
    nmd_udp_close(&a);
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
    assert_int_equal(nmd_udp_open(&a, "127.0.0.1", "fe80::1", test_port(), 0), -EINVAL);
    assert_int_equal(nmd_udp_open(&a, "127.0.0.1", "ff02::6e6d%lo", test_port(), 0), -EINVAL);
    assert_int_equal(nmd_udp_open(&a, "127.0.0.1", NMD_UDP_GROUP, test_port(), 256), -EINVAL);
    assert_int_equal(nmd_udp_open(&a, "127.0.0.1", NMD_UDP_GROUP, test_port(), -1), -EINVAL);
    assert_int_equal(nmd_udp_open(&a, "no-such-if0", NMD_UDP_BROADCAST, test_port(), 0), -ENODEV);
    /* IPv6 needs a link-local address, which loopback lacks. */
    assert_int_equal(nmd_udp_open(&a, "lo", NMD_UDP_GROUP6, test_port(), 0), -ENODEV);
    assert_int_equal(a.fd, -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_sockets_one_host),  cmocka_unit_test(test_broadcast_two_sockets),
        cmocka_unit_test(test_broadcast_destination), cmocka_unit_test(test_modes_apart),
        cmocka_unit_test(test_ifaddr_and_endpoint),   cmocka_unit_test(test_oversized_dropped),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
