/*
 * tcp.c - the tcp:// transport: IPv4 and IPv6, "*" for any address, port 0 or "*" for an
 * ephemeral port (the bound endpoint names the real one), and libzmq's source address
 * to connect from (tcp://SRC;HOST:PORT).
 *
 * Hosts are numeric addresses, "*", or names resolved once with getaddrinfo when the
 * endpoint is bound or connected.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"
#include "transport/transport.h"

/* A port: a number 0..65535, or "*" (0, any free port); -1 if neither. */
static long tcp_port(const char *s)
{
    if (strcmp(s, "*") == 0)
        return 0;
    char *end;
    long port = strtol(s, &end, 10);
    return end == s || *end != '\0' || port < 0 || port > 65535 ? -1 : port;
}

/* Resolves HOST:PORT into *ss: HOST numeric, "*" (any, when any is allowed) or a name
 * resolved once; PORT a number or "*" (0, any free port) where allowed. */
static int tcp_resolve_one(const char *addr, bool any_host, bool any_port, bool ipv6,
                           struct sockaddr_storage *ss, socklen_t *len)
{
    char host[256];
    const char *colon = strrchr(addr, ':');
    if (colon == NULL || colon == addr || colon[1] == '\0')
        return -EINVAL;
    const char *h = addr;
    size_t hlen = (size_t)(colon - addr);
    if (h[0] == '[') {
        if (hlen < 3 || h[hlen - 1] != ']')
            return -EINVAL;
        h++;
        hlen -= 2;
    }
    if (hlen >= sizeof(host))
        return -EINVAL;
    memcpy(host, h, hlen);
    host[hlen] = '\0';

    long port = tcp_port(colon + 1);
    if (port < 0)
        return -EINVAL;
    if (port == 0 && !any_port)
        return -EINVAL;

    memset(ss, 0, sizeof(*ss));
    if (strcmp(host, "*") == 0 && ipv6) { /* [::], dual stack (nmi_stream_listen) */
        if (!any_host)
            return -EINVAL;
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_addr = in6addr_any;
        sin6->sin6_port = htons((uint16_t)port);
        *len = sizeof(*sin6);
        return 0;
    }
    if (strcmp(host, "*") == 0) {
        if (!any_host)
            return -EINVAL;
        struct sockaddr_in *sin = (struct sockaddr_in *)ss;
        sin->sin_family = AF_INET;
        sin->sin_addr.s_addr = htonl(INADDR_ANY);
        sin->sin_port = htons((uint16_t)port);
        *len = sizeof(*sin);
        return 0;
    }
    /* Something shaped like a numeric address is never sent to a name server. */
    int flags = AI_NUMERICSERV;
    if (strspn(host, "0123456789.") == strlen(host) || strchr(host, ':') != NULL)
        flags |= AI_NUMERICHOST;
    /* Without NM_IPV6 a name resolves to IPv4 only, as in libzmq (numeric IPv6 is
     * always taken). */
    bool numeric6 = strchr(host, ':') != NULL;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
                             .ai_flags = flags,
                             .ai_family = ipv6 || numeric6 ? AF_UNSPEC : AF_INET};
    struct addrinfo *res;
    char pbuf[24];
    snprintf(pbuf, sizeof(pbuf), "%ld", port);
    if (getaddrinfo(host, pbuf, &hints, &res) != 0 || res == NULL)
        return -EINVAL;
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

/* A source given as an interface's name (libzmq's "tcp://eth0:5555;host:port"): the
 * interface's first address of the family wanted, with port.  -ENODEV when no
 * interface has that name (or that family). */
static int tcp_resolve_nic(const char *src, bool ipv6, struct sockaddr_storage *ss, socklen_t *len)
{
    const char *colon = src[0] == '[' ? NULL : strrchr(src, ':');
    if (colon == NULL || colon == src)
        return -ENODEV;
    char name[IF_NAMESIZE];
    size_t n = (size_t)(colon - src);
    if (n >= sizeof(name))
        return -ENODEV;
    memcpy(name, src, n);
    name[n] = '\0';
    long port = tcp_port(colon + 1);
    if (port < 0)
        return -EINVAL;
    struct ifaddrs *ifs;
    if (getifaddrs(&ifs) < 0)
        return -ENODEV;
    int rc = -ENODEV;
    for (struct ifaddrs *i = ifs; i != NULL && rc < 0; i = i->ifa_next) {
        if (i->ifa_addr == NULL || strcmp(i->ifa_name, name) != 0)
            continue;
        int fam = i->ifa_addr->sa_family;
        if (fam == AF_INET || (fam == AF_INET6 && ipv6)) {
            size_t alen = fam == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
            memset(ss, 0, sizeof(*ss));
            memcpy(ss, i->ifa_addr, alen);
            if (fam == AF_INET)
                ((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
            else
                ((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
            *len = (socklen_t)alen;
            rc = 0;
        }
    }
    freeifaddrs(ifs);
    return rc;
}

/* HOST:PORT; to connect, also SRC;HOST:PORT (libzmq's source address: the connection
 * leaves from SRC, HOST or HOST:PORT, port 0 or * for any; HOST may also name an
 * interface, which libzmq looks for first). */
static int tcp_resolve(const char *addr, bool for_bind, const nmi_opts *o, nmi_addr *out)
{
    memset(out, 0, sizeof(*out));
    const char *semi = strchr(addr, ';');
    if (semi == NULL)
        return tcp_resolve_one(addr, for_bind, for_bind, o->ipv6, &out->ss, &out->len);
    if (for_bind || semi == addr)
        return -EINVAL;
    char src[300];
    size_t n = (size_t)(semi - addr);
    if (n + 3 > sizeof(src))
        return -EINVAL;
    memcpy(src, addr, n);
    src[n] = '\0';
    bool has_port = src[0] == '[' ? strstr(src, "]:") != NULL : strchr(src, ':') != NULL;
    if (!has_port)
        memcpy(src + n, ":0", 3); /* an address without a port: any port */
    int rc = tcp_resolve_nic(src, o->ipv6, &out->src, &out->srclen);
    if (rc == -ENODEV)
        rc = tcp_resolve_one(src, true, true, o->ipv6, &out->src, &out->srclen);
    return rc < 0 ? rc : tcp_resolve_one(semi + 1, false, false, o->ipv6, &out->ss, &out->len);
}

static void tcp_format(const struct sockaddr_storage *ss, char *buf, size_t cap)
{
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
        port = ntohs(sin->sin_port);
        snprintf(buf, cap, "tcp://%s:%u", host, port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
        port = ntohs(sin6->sin6_port);
        snprintf(buf, cap, "tcp://[%s]:%u", host, port);
    } else {
        snprintf(buf, cap, "tcp://?");
    }
}

static int tcp_listen(const nmi_addr *a, const nmi_opts *o, int *fdp, char *ep, size_t cap,
                      uint64_t *idp)
{
    *idp = 0;
    int rc = nmi_stream_listen(a, o, fdp);
    if (rc < 0)
        return rc;
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    getsockname(*fdp, (struct sockaddr *)&ss, &len);
    tcp_format(&ss, ep, cap);
    return 0;
}

static int tcp_bound_name(int fd, char *ep, size_t cap)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
        return -errno;
    if (ss.ss_family != AF_INET && ss.ss_family != AF_INET6)
        return -EINVAL;
    tcp_format(&ss, ep, cap);
    return 0;
}

static void tcp_tune(int fd, const nmi_opts *o)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (o->tcp_keepalive >= 0)
        setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &o->tcp_keepalive, sizeof(o->tcp_keepalive));
    if (o->tcp_keepalive == 1) {
        if (o->keepalive_cnt >= 0)
            setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &o->keepalive_cnt, sizeof(int));
        if (o->keepalive_idle >= 0)
            setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &o->keepalive_idle, sizeof(int));
        if (o->keepalive_intvl >= 0)
            setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &o->keepalive_intvl, sizeof(int));
    }
    if (o->tcp_maxrt > 0)
        setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &o->tcp_maxrt, sizeof(int));
}

static void tcp_unlisten(const char *ep, uint64_t id)
{
    (void)ep;
    (void)id;
}

static void tcp_sock_name(int fd, bool local, char *buf, size_t cap)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    int rc = local ? getsockname(fd, (struct sockaddr *)&ss, &len)
                   : getpeername(fd, (struct sockaddr *)&ss, &len);
    if (rc < 0)
        buf[0] = '\0';
    else
        tcp_format(&ss, buf, cap);
}

const nmi_transport_ops nmi_tcp_ops = {
    .scheme = "tcp",
    .resolve = tcp_resolve,
    .listen = tcp_listen,
    .bound_name = tcp_bound_name,
    .connect = nmi_stream_connect,
    .tune = tcp_tune,
    .unlisten = tcp_unlisten,
    .sock_name = tcp_sock_name,
};
