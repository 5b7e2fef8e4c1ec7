/*
 * udp.c - beacon sockets over IPv4 multicast, one per interface (see udp.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bsd/string.h>

#include "udp.h"

int nmd_udp_ifaddr(const char *iface, struct in_addr *out)
{
    if (inet_pton(AF_INET, iface, out) == 1)
        return 0;
    struct ifaddrs *ifs;
    if (getifaddrs(&ifs) < 0)
        return -errno;
    int rc = -ENODEV;
    for (struct ifaddrs *i = ifs; i != NULL; i = i->ifa_next) {
        if (i->ifa_addr != NULL && i->ifa_addr->sa_family == AF_INET &&
            strcmp(i->ifa_name, iface) == 0) {
            *out = ((struct sockaddr_in *)i->ifa_addr)->sin_addr;
            rc = 0;
            break;
        }
    }
    freeifaddrs(ifs);
    return rc;
}

/* Sets an option, returning -errno on failure. */
static int udp_opt(int fd, int level, int name, const void *val, socklen_t len)
{
    return setsockopt(fd, level, name, val, len) < 0 ? -errno : 0;
}

int nmd_udp_open(nmd_udp *u, const char *iface, const char *group, uint16_t port, int ttl)
{
    memset(u, 0, sizeof(*u));
    u->fd = -1;
    strlcpy(u->ifname, iface, sizeof(u->ifname));
    int rc = nmd_udp_ifaddr(iface, &u->ifaddr);
    if (rc < 0)
        return rc;
    u->group.sin_family = AF_INET;
    u->group.sin_port = htons(port);
    if (inet_pton(AF_INET, group, &u->group.sin_addr) != 1 ||
        !IN_MULTICAST(ntohl(u->group.sin_addr.s_addr)))
        return -EINVAL;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    unsigned char cttl = (unsigned char)ttl, loop = 1;
    /* Bound to the group address, the socket gets that group's datagrams only. */
    struct sockaddr_in local = {
        .sin_family = AF_INET, .sin_port = htons(port), .sin_addr = u->group.sin_addr};
    struct ip_mreqn mreq = {.imr_multiaddr = u->group.sin_addr, .imr_address = u->ifaddr};
    if ((rc = udp_opt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one))) < 0 ||
        (rc = udp_opt(fd, IPPROTO_IP, IP_MULTICAST_IF, &mreq, sizeof(mreq))) < 0 ||
        (rc = udp_opt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &cttl, sizeof(cttl))) < 0 ||
        (rc = udp_opt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof(loop))) < 0 ||
        (rc = udp_opt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof(mreq))) < 0) {
        close(fd);
        return rc;
    }
    if (bind(fd, (struct sockaddr *)&local, sizeof(local)) < 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    u->fd = fd;
    return 0;
}

void nmd_udp_close(nmd_udp *u)
{
    if (u->fd >= 0)
        close(u->fd);
    u->fd = -1;
}

int nmd_udp_send(nmd_udp *u, const void *buf, size_t n)
{
    ssize_t rc = sendto(u->fd, buf, n, 0, (struct sockaddr *)&u->group, sizeof(u->group));
    return rc < 0 ? -errno : 0;
}

ssize_t nmd_udp_recv(nmd_udp *u, void *buf, size_t cap, char *src, size_t srccap)
{
    struct sockaddr_in from;
    socklen_t len = sizeof(from);
    ssize_t n = recvfrom(u->fd, buf, cap, MSG_TRUNC, (struct sockaddr *)&from, &len);
    if (n < 0)
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    if ((size_t)n > cap)
        return -EMSGSIZE;
    if (inet_ntop(AF_INET, &from.sin_addr, src, (socklen_t)srccap) == NULL && srccap > 0)
        src[0] = '\0';
    return n;
}
