/*
 * iface.h - what `--interface` names, and endpoints as seen through one interface.
 *
 * An interface spec is a name or an address ("eth0", "10.0.0.5": IPv4 multicast),
 * "broadcast:IF" (IPv4 broadcast on IF), "ipv6:IF" or an IPv6 address ("fe80::1%eth0":
 * IPv6 link-local multicast), or "all" (every interface that is up and
 * broadcast-capable, loopback excepted, with IPv4 multicast).  Nodes meet only when
 * they beacon the same way on a link.
 *
 * A service bound to a wildcard host is announced on each interface with that
 * interface's address: tcp://\*:P and tcp://0.0.0.0:P on IPv4 interfaces, tcp://[::]:P
 * on both.  IPv6 link-local addresses need the receiver's own interface as zone, so a
 * receiver puts its zone on every fe80:: host it is given.
 */
#ifndef NMD_IFACE_H
#define NMD_IFACE_H

#include <stdbool.h>
#include <stddef.h>

#include "udp.h"

/* One beacon socket to open. */
typedef struct nmd_iface {
    char name[64];     /* interface name or address, for nmd_udp_open */
    const char *group; /* NMD_UDP_BROADCAST, NMD_UDP_GROUP6 or the IPv4 group */
} nmd_iface;

/* Expands specs[0..n) into out[0..max), IPv4 multicast using group4.  Returns how many,
 * -ENODEV when "all" finds no interface, -E2BIG beyond max, -EINVAL for a bad spec. */
int nmd_iface_expand(const char *const *specs, int n, const char *group4, nmd_iface *out, int max);

/* Writes ep as announced on u into out[cap]: a wildcard host becomes u's address.
 * False when ep cannot be reached through u (an IPv4 wildcard on an IPv6 interface, a
 * loopback host on another interface). */
bool nmd_iface_endpoint(const char *ep, const nmd_udp *u, char *out, size_t cap);

/* Gives an fe80:: host in ep (tcp://[fe80::1]:P or tcp://[fe80::1%x]:P) the zone dev,
 * in place (ep holds cap bytes); other endpoints are left alone. */
void nmd_iface_zone(char *ep, size_t cap, const char *dev);

/* Whether the host of tcp endpoint ep is host ("10.0.0.5", "[fe80::1%eth0]"), zones
 * aside. */
bool nmd_iface_host_is(const char *ep, const char *host);

/* The address a svc:// bind listens on for interface f, as an endpoint's host
 * ("10.0.0.5", "[fe80::1%eth0]") in out[cap].  0 or -errno (-ENODEV). */
int nmd_iface_bind_host(const nmd_iface *f, char *out, size_t cap);

#endif
