/*
 * udp.h - the beacon sockets: one UDP socket per interface, IPv4 multicast.
 *
 * Each socket is bound to the fleet's beacon port with SO_REUSEADDR, so several nodes
 * on one host share the port and all receive every beacon, joins the multicast group
 * on its interface only, and sends with IP_MULTICAST_IF set to that interface: a node
 * told to use loopback never puts a datagram on any other link.  Broadcast and IPv6
 * link-local multicast come with the agent.
 */
#ifndef NMD_UDP_H
#define NMD_UDP_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define NMD_UDP_GROUP "239.255.110.109" /* default IPv4 beacon group ("nm") */
#define NMD_UDP_PORT  5670              /* default beacon port */

typedef struct nmd_udp {
    int fd;                   /* the socket, -1 when closed */
    struct in_addr ifaddr;    /* the interface's address */
    char ifname[64];          /* the interface as configured (name or address) */
    struct sockaddr_in group; /* where beacons go */
} nmd_udp;

/* Resolves an interface given by name ("lo") or IPv4 address ("127.0.0.1") to its
 * address.  -ENODEV if there is no such interface with an IPv4 address. */
int nmd_udp_ifaddr(const char *iface, struct in_addr *out);

/* Opens a beacon socket on interface iface for group:port.  ttl is the multicast TTL
 * (1 keeps beacons on the local link).  -errno on failure. */
int nmd_udp_open(nmd_udp *u, const char *iface, const char *group, uint16_t port, int ttl);
void nmd_udp_close(nmd_udp *u);

/* Sends one datagram to the group.  0 or -errno. */
int nmd_udp_send(nmd_udp *u, const void *buf, size_t n);

/* Receives one datagram without blocking; writes the sender's address as text.
 * Returns its length, -EAGAIN when none waits, -EMSGSIZE for one larger than cap
 * (dropped), other -errno. */
ssize_t nmd_udp_recv(nmd_udp *u, void *buf, size_t cap, char *src, size_t srccap);

#endif
