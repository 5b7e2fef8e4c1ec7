/*
 * tcp.c - the tcp:// transport: IPv4 and IPv6, "*" for any address, port 0 (or "*", as
 * libzmq spells it) for an ephemeral port (the bound endpoint names the real one).
 *
 * Hosts are numeric addresses, "*", or names resolved once with getaddrinfo when the
 * endpoint is bound or connected.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "transport/transport.h"

static int tcp_resolve(const char *addr, bool for_bind, nmi_addr *out)
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

    char *end;
    long port = strtol(colon + 1, &end, 10);
    bool any_port = for_bind && strcmp(colon + 1, "*") == 0; /* libzmq's spelling of 0 */
    if (any_port)
        port = 0;
    else if (*end != '\0' || port < 0 || port > 65535 || (!for_bind && port == 0))
        return -EINVAL;

    memset(out, 0, sizeof(*out));
    if (strcmp(host, "*") == 0) {
        if (!for_bind)
            return -EINVAL;
        struct sockaddr_in *sin = (struct sockaddr_in *)&out->ss;
        sin->sin_family = AF_INET;
        sin->sin_addr.s_addr = htonl(INADDR_ANY);
        sin->sin_port = htons((uint16_t)port);
        out->len = sizeof(*sin);
        return 0;
    }
    /* Something shaped like a numeric address is never sent to a name server. */
    int flags = AI_NUMERICSERV;
    if (strspn(host, "0123456789.") == strlen(host) || strchr(host, ':') != NULL)
        flags |= AI_NUMERICHOST;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = flags};
    struct addrinfo *res;
    char pbuf[8];
    snprintf(pbuf, sizeof(pbuf), "%ld", port);
    if (getaddrinfo(host, pbuf, &hints, &res) != 0 || res == NULL)
        return -EINVAL;
    memcpy(&out->ss, res->ai_addr, res->ai_addrlen);
    out->len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
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

static int tcp_listen(const nmi_addr *a, int *fdp, char *ep, size_t cap)
{
    int rc = nmi_stream_listen(a, fdp);
    if (rc < 0)
        return rc;
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    getsockname(*fdp, (struct sockaddr *)&ss, &len);
    tcp_format(&ss, ep, cap);
    return 0;
}

static void tcp_tune(int fd, int keepalive)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (keepalive >= 0)
        setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &keepalive, sizeof(keepalive));
}

static void tcp_unlisten(const char *ep)
{
    (void)ep;
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
    .connect = nmi_stream_connect,
    .tune = tcp_tune,
    .unlisten = tcp_unlisten,
    .sock_name = tcp_sock_name,
};
