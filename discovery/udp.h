/*
 * udp.h - the beacon sockets: one UDP socket per interface, in one of three modes chosen
 * by the group string given to nmd_udp_open():
 *
 *   - IPv4 multicast ("239.255.110.109"): bound to the group, joined on the interface,
 *     sent with IP_MULTICAST_IF;
 *   - IPv4 broadcast ("broadcast"): bound to INADDR_ANY, sent with SO_BROADCAST to the
 *     interface's broadcast address (127.255.255.255 on loopback);
 *   - IPv6 link-local multicast ("ff02::6e6d"): bound to the group with the interface
 *     as scope, joined on it, sent with IPV6_MULTICAST_IF; the interface's own address
 *     is its fe80:: address, written with the interface as zone ("fe80::1%eth0").
 *
 * Every socket is bound to the fleet's beacon port with SO_REUSEADDR, so several nodes
 * on one host share the port and all receive every beacon (their own included), and to
 * its interface with SO_BINDTODEVICE, so it hears that link only: a node told to use
 * loopback never puts a datagram on any other link, and a beacon is always answered
 * with the address of the interface it arrived on.
 */
#ifndef NMD_UDP_H
#define NMD_UDP_H

#include <net/if.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#define NMD_UDP_GROUP     "239.255.110.109" /* default IPv4 beacon group ("nm") */
#define NMD_UDP_GROUP6    "ff02::6e6d"      /* default IPv6 link-local beacon group */
#define NMD_UDP_BROADCAST "broadcast"       /* the group string selecting IPv4 broadcast */
#define NMD_UDP_PORT      5670              /* default beacon port */

/* Longest address text written here, NUL included: an IPv6 address, '%' and a zone. */
#define NMD_UDP_ADDRSTRLEN (INET6_ADDRSTRLEN + IF_NAMESIZE + 2)

typedef enum nmd_udp_mode {
    NMD_UDP_MULTICAST4, /* IPv4 multicast group */
    NMD_UDP_BROADCAST4, /* IPv4 broadcast on the interface's link */
    NMD_UDP_MULTICAST6, /* IPv6 multicast group, scoped to the interface */
} nmd_udp_mode;

typedef struct nmd_udp {
    int fd;                        /* the socket, -1 when closed */
    nmd_udp_mode mode;             /* what the group string selected */
    int family;                    /* AF_INET or AF_INET6 */
    unsigned ifindex;              /* the interface's index */
    char ifname[64];               /* the interface as configured (name or address) */
    char dev[IF_NAMESIZE];         /* the interface's name ("lo", "eth0") */
    char addr[NMD_UDP_ADDRSTRLEN]; /* its address as text: "127.0.0.1", "fe80::1%eth0" */
    struct sockaddr_storage dest;  /* where beacons go: group, or broadcast address */
    socklen_t destlen;             /* the length of dest */
} nmd_udp;

/* Resolves an interface, given by name ("lo", "eth0") or by an address it holds
 * ("127.0.0.1", "fe80::1%eth0"), to the address of family (AF_INET or AF_INET6) that a
 * beacon socket on it uses: the address given when it has that family, else the
 * interface's first IPv4 address, or its first IPv6 link-local address.  Writes it as
 * text into addr[cap] (link-local ones with "%name") and the interface's index into
 * *ifindex (when not NULL).  -ENODEV when there is no such interface or it has no such
 * address, -ENOBUFS when cap is too small, -EINVAL for a bad argument. */
int nmd_udp_ifaddr(const char *iface, int family, char *addr, size_t cap, unsigned *ifindex);

/* Opens a beacon socket on interface iface (name or address) for group:port, group
 * being an IPv4 multicast address, NMD_UDP_BROADCAST or an IPv6 multicast address.  ttl
 * is the multicast TTL / hop limit, 0..255 (0 keeps beacons on this host, 1 on the local
 * link); broadcasts never leave the link, whatever ttl.  -EINVAL for a bad group or ttl,
 * -ENODEV when the interface is unknown or unfit for the mode (no IPv4 address, no
 * broadcast address, no IPv6 link-local address), other -errno. */
int nmd_udp_open(nmd_udp *u, const char *iface, const char *group, uint16_t port, int ttl);
void nmd_udp_close(nmd_udp *u);

/* Writes the host part of a tcp:// endpoint on this interface into out[cap]:
 * "127.0.0.1", or "[fe80::1%eth0]" for IPv6.  0, or -ENOBUFS when cap is too small. */
int nmd_udp_endpoint_host(const nmd_udp *u, char *out, size_t cap);

/* Sends one datagram to the group (or broadcast address).  0 or -errno. */
int nmd_udp_send(nmd_udp *u, const void *buf, size_t n);

/* Receives one datagram without blocking; writes the sender's address as text into
 * src[srccap] ("10.0.0.5", "fe80::5%eth0"; empty when it does not fit, which
 * NMD_UDP_ADDRSTRLEN always does).  Returns its length, -EAGAIN when none waits,
 * -EMSGSIZE for one larger than cap (dropped), other -errno. */
ssize_t nmd_udp_recv(nmd_udp *u, void *buf, size_t cap, char *src, size_t srccap);

#endif
