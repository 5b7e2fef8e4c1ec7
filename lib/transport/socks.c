/*
 * socks.c - the SOCKS5 client's wire format (socks.h): RFC 1928's CONNECT, without
 * authentication.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "transport/socks.h"

enum { SOCKS_VER = 5, SOCKS_CONNECT = 1, SOCKS_IPV4 = 1, SOCKS_NAME = 3, SOCKS_IPV6 = 4 };

int nmi_socks_request(const char *target, uint8_t *out)
{
    const char *colon = strrchr(target, ':');
    if (colon == NULL || colon == target)
        return -EINVAL;
    const char *port = colon + 1;
    size_t nd = strspn(port, "0123456789");
    if (nd == 0 || nd > 5 || port[nd] != '\0' || atoi(port) < 1 || atoi(port) > 65535)
        return -EINVAL;
    char host[256];
    const char *h = target;
    size_t hlen = (size_t)(colon - target);
    bool bracketed = h[0] == '[';
    if (bracketed) {
        if (hlen < 3 || h[hlen - 1] != ']')
            return -EINVAL;
        h++;
        hlen -= 2;
    }
    if (hlen == 0 || hlen >= sizeof(host))
        return -EINVAL;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    size_t o = 0;
    out[o++] = SOCKS_VER;
    out[o++] = SOCKS_CONNECT;
    out[o++] = 0; /* reserved */
    if (!bracketed && inet_pton(AF_INET, host, out + o + 1) == 1) {
        out[o++] = SOCKS_IPV4;
        o += 4;
    } else if (inet_pton(AF_INET6, host, out + o + 1) == 1) {
        out[o++] = SOCKS_IPV6;
        o += 16;
    } else if (!bracketed && strchr(host, ':') == NULL) {
        out[o++] = SOCKS_NAME;
        out[o++] = (uint8_t)hlen;
        memcpy(out + o, host, hlen);
        o += hlen;
    } else {
        return -EINVAL;
    }
    uint16_t p = (uint16_t)atoi(port);
    out[o++] = (uint8_t)(p >> 8);
    out[o++] = (uint8_t)p;
    return (int)o;
}

int nmi_socks_method_check(const uint8_t *p, const char **why)
{
    *why = NULL;
    if (p[0] != SOCKS_VER)
        *why = "the proxy does not speak SOCKS5";
    else if (p[1] == 0xff)
        *why = "the proxy accepts none of our authentication methods";
    else if (p[1] != 0)
        *why = "the proxy chose a method we did not offer";
    return *why == NULL ? 0 : -EPROTO;
}

/* The reply's length, from its first 5 bytes (0 for an address type we do not know, or
 * an empty name: the check refuses it). */
static size_t socks_reply_len(const uint8_t *p)
{
    switch (p[3]) {
    case SOCKS_IPV4:
        return 4 + 4 + 2;
    case SOCKS_IPV6:
        return 4 + 16 + 2;
    case SOCKS_NAME: /* an empty name is no address */
        return p[4] == 0 ? 0 : 4 + 1 + (size_t)p[4] + 2;
    default:
        return 0;
    }
}

size_t nmi_socks_reply_need(const uint8_t *p, size_t n)
{
    if (n < 5)
        return 5 - n;
    size_t len = socks_reply_len(p);
    return len > n ? len - n : 0;
}

int nmi_socks_reply_check(const uint8_t *p, size_t n, const char **why)
{
    static const struct {
        int err;
        const char *why;
    } reps[] = {
        {0, NULL},
        {ECONNABORTED, "the proxy failed"},
        {EACCES, "the proxy's rules do not allow the connection"},
        {ENETUNREACH, "the proxy cannot reach the network"},
        {EHOSTUNREACH, "the proxy cannot reach the host"},
        {ECONNREFUSED, "the host refused the proxy's connection"},
        {ETIMEDOUT, "the proxy's connection timed out"},
        {EPROTO, "the proxy does not support CONNECT"},
        {EAFNOSUPPORT, "the proxy does not support the address type"},
    };
    *why = NULL;
    if (n < 5 || p[0] != SOCKS_VER || p[2] != 0) {
        *why = "malformed SOCKS5 reply";
        return -EPROTO;
    }
    if (p[1] >= sizeof(reps) / sizeof(reps[0])) {
        *why = "the proxy failed (unknown reply code)";
        return -ECONNABORTED;
    }
    if (p[1] != 0) {
        *why = reps[p[1]].why;
        return -reps[p[1]].err;
    }
    size_t len = socks_reply_len(p);
    if (len == 0 || len != n) {
        *why = "malformed SOCKS5 reply";
        return -EPROTO;
    }
    return 0;
}
