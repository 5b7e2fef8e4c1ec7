/*
 * udp.c - beacon sockets, one per interface: IPv4 multicast, IPv4 broadcast or IPv6
 * link-local multicast (see udp.h).
 *
 * Interfaces are looked up with getifaddrs(): a name, or any address the interface holds,
 * picks the interface; the mode's family then picks its address.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>

#include "udp.h"

/* One interface address as getifaddrs() reports it, the one a socket will use. */
typedef struct udp_if {
    char name[IF_NAMESIZE];       /* the interface's name */
    unsigned index;               /* its index */
    struct sockaddr_storage addr; /* the chosen address (AF_INET or AF_INET6) */
    struct in_addr bcast;         /* IPv4: its broadcast address, INADDR_ANY when none */
} udp_if;

/* An address parsed from an interface argument: "10.0.0.1", "fe80::1%eth0". */
typedef struct udp_parsed {
    int family;                  /* AF_INET, AF_INET6, or 0 when the argument is a name */
    struct in_addr v4;           /* the IPv4 address */
    struct in6_addr v6;          /* the IPv6 address */
    char zone[IF_NAMESIZE];      /* the IPv6 zone (name or index) after '%', or empty */
    char host[INET6_ADDRSTRLEN]; /* the address part, before any '%' */
} udp_parsed;

static void udp_parse(const char *s, udp_parsed *p)
{
    memset(p, 0, sizeof(*p));
    const char *pct = strchr(s, '%');
    size_t hl = pct != NULL ? (size_t)(pct - s) : strlen(s);
    if (hl >= sizeof(p->host) || (pct != NULL && strlen(pct + 1) >= sizeof(p->zone)))
        return;
    memcpy(p->host, s, hl);
    p->host[hl] = '\0';
    if (pct == NULL && inet_pton(AF_INET, p->host, &p->v4) == 1) {
        p->family = AF_INET;
    } else if (inet_pton(AF_INET6, p->host, &p->v6) == 1) {
        p->family = AF_INET6;
        if (pct != NULL)
            strlcpy(p->zone, pct + 1, sizeof(p->zone));
    }
}

/* Whether getifaddrs() entry i holds the parsed address p (zone included). */
static bool udp_holds(const struct ifaddrs *i, const udp_parsed *p)
{
    const struct sockaddr *sa = i->ifa_addr;
    if (sa == NULL || sa->sa_family != p->family)
        return false;
    if (p->family == AF_INET)
        return ((const struct sockaddr_in *)sa)->sin_addr.s_addr == p->v4.s_addr;
    if (memcmp(&((const struct sockaddr_in6 *)sa)->sin6_addr, &p->v6, sizeof(p->v6)) != 0)
        return false;
    if (p->zone[0] == '\0' || strcmp(p->zone, i->ifa_name) == 0)
        return true;
    char idx[16];
    snprintf(idx, sizeof(idx), "%u", if_nametoindex(i->ifa_name));
    return strcmp(p->zone, idx) == 0;
}

/* Whether entry i is an address of family a socket can use: any IPv4 address, or an
 * IPv6 link-local one. */
static bool udp_usable(const struct ifaddrs *i, int family)
{
    const struct sockaddr *sa = i->ifa_addr;
    if (sa == NULL || sa->sa_family != family)
        return false;
    return family == AF_INET ||
           IN6_IS_ADDR_LINKLOCAL(&((const struct sockaddr_in6 *)sa)->sin6_addr);
}

/* Finds interface iface (name or address) and its address of family. */
static int udp_find(const char *iface, int family, udp_if *out)
{
    udp_parsed p;
    udp_parse(iface, &p);
    struct ifaddrs *ifs;
    if (getifaddrs(&ifs) < 0)
        return -errno;
    /* First the interface: the one of that name, or the one holding that address. */
    const struct ifaddrs *named = NULL, *pick = NULL;
    for (const struct ifaddrs *i = ifs; i != NULL && named == NULL; i = i->ifa_next) {
        if (p.family == 0 ? strcmp(i->ifa_name, iface) == 0 : udp_holds(i, &p))
            named = i;
    }
    /* Then its address: the one given if it has the family, else the first usable. */
    if (named != NULL && p.family == family)
        pick = named;
    for (const struct ifaddrs *i = ifs; named != NULL && pick == NULL && i != NULL;
         i = i->ifa_next) {
        if (strcmp(i->ifa_name, named->ifa_name) == 0 && udp_usable(i, family))
            pick = i;
    }
    int rc = -ENODEV;
    if (pick != NULL) {
        memset(out, 0, sizeof(*out));
        strlcpy(out->name, pick->ifa_name, sizeof(out->name));
        out->index = if_nametoindex(pick->ifa_name);
        if (family == AF_INET) {
            struct sockaddr_in *sin = (struct sockaddr_in *)&out->addr;
            *sin = *(const struct sockaddr_in *)pick->ifa_addr;
            const struct sockaddr *b = pick->ifa_broadaddr, *m = pick->ifa_netmask;
            in_addr_t bc = (pick->ifa_flags & IFF_BROADCAST) && b != NULL && b->sa_family == AF_INET
                               ? ((const struct sockaddr_in *)b)->sin_addr.s_addr
                               : 0;
            if (bc != 0 && bc != sin->sin_addr.s_addr) {
                out->bcast.s_addr = bc;
            } else if (m != NULL && m->sa_family == AF_INET) {
                /* Loopback, or an address added without "brd" (getifaddrs then gives the
                 * address itself): the subnet's last address. */
                out->bcast.s_addr =
                    sin->sin_addr.s_addr | ~((const struct sockaddr_in *)m)->sin_addr.s_addr;
            }
        } else {
            *(struct sockaddr_in6 *)&out->addr = *(const struct sockaddr_in6 *)pick->ifa_addr;
        }
        rc = out->index != 0 ? 0 : -ENODEV;
    }
    freeifaddrs(ifs);
    return rc;
}

/* Writes an address as text, "%name" appended to an IPv6 one with a scope. */
static int udp_ntop(const struct sockaddr_storage *ss, const char *scope_name, char *out,
                    size_t cap)
{
    char host[INET6_ADDRSTRLEN];
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
        return strlcpy(out, host, cap) < cap ? 0 : -ENOBUFS;
    }
    const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
    inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
    char name[IF_NAMESIZE];
    if (sin6->sin6_scope_id == 0)
        return strlcpy(out, host, cap) < cap ? 0 : -ENOBUFS;
    if (scope_name == NULL && if_indextoname(sin6->sin6_scope_id, name) == NULL)
        snprintf(name, sizeof(name), "%u", sin6->sin6_scope_id);
    int n = snprintf(out, cap, "%s%%%s", host, scope_name != NULL ? scope_name : name);
    return n >= 0 && (size_t)n < cap ? 0 : -ENOBUFS;
}

int nmd_udp_ifaddr(const char *iface, int family, char *addr, size_t cap, unsigned *ifindex)
{
    if (iface == NULL || addr == NULL || (family != AF_INET && family != AF_INET6))
        return -EINVAL;
    udp_if ifc;
    int rc = udp_find(iface, family, &ifc);
    if (rc < 0)
        return rc;
    if (ifindex != NULL)
        *ifindex = ifc.index;
    return udp_ntop(&ifc.addr, ifc.name, addr, cap);
}

/* Sets an option, returning -errno on failure. */
static int udp_opt(int fd, int level, int name, const void *val, socklen_t len)
{
    return setsockopt(fd, level, name, val, len) < 0 ? -errno : 0;
}

/* IPv4 multicast: bound to the group address, the socket gets that group's datagrams
 * only. */
static int udp_setup_mcast4(nmd_udp *u, const udp_if *ifc, int ttl)
{
    const struct sockaddr_in *g = (const struct sockaddr_in *)&u->dest;
    const struct sockaddr_in *a = (const struct sockaddr_in *)&ifc->addr;
    unsigned char cttl = (unsigned char)ttl, loop = 1;
    struct ip_mreqn mreq = {
        .imr_multiaddr = g->sin_addr, .imr_address = a->sin_addr, .imr_ifindex = (int)u->ifindex};
    int rc;
    if ((rc = udp_opt(u->fd, IPPROTO_IP, IP_MULTICAST_IF, &mreq, sizeof(mreq))) < 0 ||
        (rc = udp_opt(u->fd, IPPROTO_IP, IP_MULTICAST_TTL, &cttl, sizeof(cttl))) < 0 ||
        (rc = udp_opt(u->fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof(loop))) < 0 ||
        (rc = udp_opt(u->fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof(mreq))) < 0)
        return rc;
    return bind(u->fd, (const struct sockaddr *)g, sizeof(*g)) < 0 ? -errno : 0;
}

/* IPv4 broadcast: bound to INADDR_ANY, so the socket gets every broadcast to the port
 * on its interface, and no multicast it did not join (IP_MULTICAST_ALL off). */
static int udp_setup_bcast4(nmd_udp *u, const udp_if *ifc)
{
    if (ifc->bcast.s_addr == htonl(INADDR_ANY))
        return -ENODEV; /* a point-to-point link, say */
    struct sockaddr_in *d = (struct sockaddr_in *)&u->dest;
    d->sin_addr = ifc->bcast;
    int one = 1, zero = 0, rc;
    if ((rc = udp_opt(u->fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one))) < 0 ||
        (rc = udp_opt(u->fd, IPPROTO_IP, IP_MULTICAST_ALL, &zero, sizeof(zero))) < 0)
        return rc;
    struct sockaddr_in local = {
        .sin_family = AF_INET, .sin_port = d->sin_port, .sin_addr.s_addr = htonl(INADDR_ANY)};
    return bind(u->fd, (struct sockaddr *)&local, sizeof(local)) < 0 ? -errno : 0;
}

/* IPv6 multicast: bound to the group with the interface as scope. */
static int udp_setup_mcast6(nmd_udp *u, int ttl)
{
    struct sockaddr_in6 *g = (struct sockaddr_in6 *)&u->dest;
    g->sin6_scope_id = u->ifindex;
    int one = 1, hops = ttl, ifindex = (int)u->ifindex;
    unsigned loop = 1;
    struct ipv6_mreq mreq = {.ipv6mr_multiaddr = g->sin6_addr, .ipv6mr_interface = u->ifindex};
    int rc;
    if ((rc = udp_opt(u->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one))) < 0 ||
        (rc = udp_opt(u->fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &ifindex, sizeof(ifindex))) < 0 ||
        (rc = udp_opt(u->fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof(hops))) < 0 ||
        (rc = udp_opt(u->fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &loop, sizeof(loop))) < 0 ||
        (rc = udp_opt(u->fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, &mreq, sizeof(mreq))) < 0)
        return rc;
    return bind(u->fd, (const struct sockaddr *)g, sizeof(*g)) < 0 ? -errno : 0;
}

/* Works out the mode and destination from the group string. */
static int udp_group(nmd_udp *u, const char *group, uint16_t port)
{
    struct sockaddr_in *d4 = (struct sockaddr_in *)&u->dest;
    struct sockaddr_in6 *d6 = (struct sockaddr_in6 *)&u->dest;
    if (strcmp(group, NMD_UDP_BROADCAST) == 0) {
        u->mode = NMD_UDP_BROADCAST4;
    } else if (inet_pton(AF_INET, group, &d4->sin_addr) == 1) {
        if (!IN_MULTICAST(ntohl(d4->sin_addr.s_addr)))
            return -EINVAL;
        u->mode = NMD_UDP_MULTICAST4;
    } else if (inet_pton(AF_INET6, group, &d6->sin6_addr) == 1) {
        if (!IN6_IS_ADDR_MULTICAST(&d6->sin6_addr))
            return -EINVAL;
        u->mode = NMD_UDP_MULTICAST6;
    } else {
        return -EINVAL;
    }
    if (u->mode == NMD_UDP_MULTICAST6) {
        u->family = AF_INET6;
        d6->sin6_family = AF_INET6;
        d6->sin6_port = htons(port);
        u->destlen = sizeof(*d6);
    } else {
        u->family = AF_INET;
        d4->sin_family = AF_INET;
        d4->sin_port = htons(port);
        u->destlen = sizeof(*d4);
    }
    return 0;
}

int nmd_udp_open(nmd_udp *u, const char *iface, const char *group, uint16_t port, int ttl)
{
    memset(u, 0, sizeof(*u));
    u->fd = -1;
    if (iface == NULL || group == NULL || ttl < 0 || ttl > 255)
        return -EINVAL;
    strlcpy(u->ifname, iface, sizeof(u->ifname));
    int rc = udp_group(u, group, port);
    if (rc < 0)
        return rc;
    udp_if ifc;
    if ((rc = udp_find(iface, u->family, &ifc)) < 0)
        return rc;
    u->ifindex = ifc.index;
    strlcpy(u->dev, ifc.name, sizeof(u->dev));
    if ((rc = udp_ntop(&ifc.addr, ifc.name, u->addr, sizeof(u->addr))) < 0)
        return rc;

    u->fd = socket(u->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (u->fd < 0)
        return -errno;
    int one = 1;
    if ((rc = udp_opt(u->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one))) < 0 ||
        (rc = udp_opt(u->fd, SOL_SOCKET, SO_BINDTODEVICE, u->dev, (socklen_t)strlen(u->dev))) < 0)
        goto fail;
    switch (u->mode) {
    case NMD_UDP_MULTICAST4:
        rc = udp_setup_mcast4(u, &ifc, ttl);
        break;
    case NMD_UDP_BROADCAST4:
        rc = udp_setup_bcast4(u, &ifc);
        break;
    case NMD_UDP_MULTICAST6:
        rc = udp_setup_mcast6(u, ttl);
        break;
    }
    if (rc == 0)
        return 0;
fail:
    nmd_udp_close(u);
    return rc;
}

void nmd_udp_close(nmd_udp *u)
{
    if (u->fd >= 0)
        close(u->fd);
    u->fd = -1;
}

int nmd_udp_endpoint_host(const nmd_udp *u, char *out, size_t cap)
{
    int n = snprintf(out, cap, u->family == AF_INET6 ? "[%s]" : "%s", u->addr);
    return n >= 0 && (size_t)n < cap ? 0 : -ENOBUFS;
}

int nmd_udp_send(nmd_udp *u, const void *buf, size_t n)
{
    ssize_t rc = sendto(u->fd, buf, n, 0, (struct sockaddr *)&u->dest, u->destlen);
    return rc < 0 ? -errno : 0;
}

ssize_t nmd_udp_recv(nmd_udp *u, void *buf, size_t cap, char *src, size_t srccap)
{
    struct sockaddr_storage from;
    socklen_t len = sizeof(from);
    ssize_t n = recvfrom(u->fd, buf, cap, MSG_TRUNC, (struct sockaddr *)&from, &len);
    if (n < 0)
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    if ((size_t)n > cap)
        return -EMSGSIZE;
    const char *scope = NULL;
    if (from.ss_family == AF_INET6 && ((struct sockaddr_in6 *)&from)->sin6_scope_id == u->ifindex)
        scope = u->dev;
    if (srccap > 0 && udp_ntop(&from, scope, src, srccap) < 0)
        src[0] = '\0';
    return n;
}
