/*
 * iface.c - interface specs and per-interface endpoints (see iface.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include <bsd/string.h>

#include "agent.h"
#include "iface.h"

/* Adds name/group to out unless it is there already. */
static int iface_add(nmd_iface *out, int n, int max, const char *name, const char *group)
{
    for (int i = 0; i < n; i++)
        if (strcmp(out[i].name, name) == 0 && out[i].group == group)
            return n;
    if (n == max)
        return -E2BIG;
    if (strlcpy(out[n].name, name, sizeof(out[n].name)) >= sizeof(out[n].name))
        return -EINVAL;
    out[n].group = group;
    return n + 1;
}

/* "all": every up, broadcast-capable, non-loopback interface with an IPv4 address. */
static int iface_all(nmd_iface *out, int n, int max, const char *group4)
{
    struct ifaddrs *ifs;
    if (getifaddrs(&ifs) < 0)
        return -errno;
    int before = n;
    for (struct ifaddrs *i = ifs; i != NULL && n >= 0; i = i->ifa_next) {
        unsigned fl = i->ifa_flags;
        if (i->ifa_addr != NULL && i->ifa_addr->sa_family == AF_INET && (fl & IFF_UP) &&
            (fl & IFF_BROADCAST) && !(fl & IFF_LOOPBACK))
            n = iface_add(out, n, max, i->ifa_name, group4);
    }
    freeifaddrs(ifs);
    return n == before ? -ENODEV : n;
}

int nmd_iface_expand(const char *const *specs, int n, const char *group4, nmd_iface *out, int max)
{
    int k = 0;
    struct in6_addr a6;
    for (int i = 0; i < n && k >= 0; i++) {
        const char *s = specs[i];
        char plain[64];
        strlcpy(plain, s, sizeof(plain));
        char *pct = strchr(plain, '%');
        if (pct != NULL)
            *pct = '\0';
        if (strcmp(s, "all") == 0)
            k = iface_all(out, k, max, group4);
        else if (strncmp(s, "broadcast:", 10) == 0 && s[10] != '\0')
            k = iface_add(out, k, max, s + 10, NMD_UDP_BROADCAST);
        else if (strncmp(s, "ipv6:", 5) == 0 && s[5] != '\0')
            k = iface_add(out, k, max, s + 5, NMD_UDP_GROUP6);
        else if (inet_pton(AF_INET6, plain, &a6) == 1)
            k = iface_add(out, k, max, s, NMD_UDP_GROUP6);
        else if (s[0] != '\0' && strchr(s, ':') == NULL)
            k = iface_add(out, k, max, s, group4);
        else
            k = -EINVAL;
    }
    return k;
}

/* The host part of tcp endpoint ep ("10.0.0.5", "[fe80::1]", zone dropped) into
 * out[cap]; "" when ep is not tcp. */
static void iface_ep_host(const char *ep, char *out, size_t cap)
{
    out[0] = '\0';
    if (strncmp(ep, "tcp://", 6) != 0)
        return;
    ep += 6;
    const char *end = ep[0] == '[' ? strchr(ep, ']') : strrchr(ep, ':');
    if (end == NULL)
        return;
    size_t n = (size_t)(end - ep) + (ep[0] == '[');
    const char *pct = memchr(ep, '%', n);
    if (pct != NULL) { /* "[fe80::1%eth0]" -> "[fe80::1]" */
        snprintf(out, cap, "%.*s]", (int)(pct - ep), ep);
        return;
    }
    snprintf(out, cap, "%.*s", (int)n, ep);
}

bool nmd_iface_host_is(const char *ep, const char *host)
{
    char a[NMD_ENDPOINT_MAX + 1], b[NMD_ENDPOINT_MAX + 1];
    iface_ep_host(ep, a, sizeof(a));
    snprintf(b, sizeof(b), "tcp://%s:0", host);
    char c[NMD_ENDPOINT_MAX + 1];
    iface_ep_host(b, c, sizeof(c));
    return a[0] != '\0' && strcmp(a, c) == 0;
}

/* Whether an endpoint's host is a loopback address (127.0.0.0/8, [::1]). */
static bool iface_loopback(const char *host)
{
    return strncmp(host, "127.", 4) == 0 || strcmp(host, "[::1]") == 0 ||
           strcmp(host, "localhost") == 0;
}

int nmd_iface_bind_host(const nmd_iface *f, char *out, size_t cap)
{
    bool v6 = strchr(f->group, ':') != NULL;
    char addr[NMD_UDP_ADDRSTRLEN];
    int rc = nmd_udp_ifaddr(f->name, v6 ? AF_INET6 : AF_INET, addr, sizeof(addr), NULL);
    if (rc < 0)
        return rc;
    int n = snprintf(out, cap, v6 ? "[%s]" : "%s", addr);
    return n >= 0 && (size_t)n < cap ? 0 : -ENOBUFS;
}

bool nmd_iface_endpoint(const char *ep, const nmd_udp *u, char *out, size_t cap)
{
    char host[NMD_UDP_ADDRSTRLEN + 2];
    if (nmd_udp_endpoint_host(u, host, sizeof(host)) < 0)
        return false;
    char eph[NMD_ENDPOINT_MAX + 1];
    iface_ep_host(ep, eph, sizeof(eph));
    if (iface_loopback(eph) && !iface_loopback(host))
        return false; /* nobody on u's link would reach it */
    bool v6 = u->family == AF_INET6;
    if (strncmp(ep, "tcp://[::]:", 11) == 0) {
        snprintf(out, cap, "tcp://%s:%s", host, ep + 11);
        return true;
    }
    bool wild4 = strncmp(ep, "tcp://*:", 8) == 0 || strncmp(ep, "tcp://0.0.0.0:", 14) == 0;
    if (wild4 && v6)
        return false;
    nmd_agent_endpoint_for(ep, host, out, cap);
    return true;
}

void nmd_iface_zone(char *ep, size_t cap, const char *dev)
{
    if (strncmp(ep, "tcp://[fe80:", 12) != 0 && strncmp(ep, "tcp://[FE80:", 12) != 0)
        return;
    char *close = strchr(ep, ']');
    if (close == NULL)
        return;
    char rest[NMD_ENDPOINT_MAX + 1];
    strlcpy(rest, close, sizeof(rest));
    char *pct = memchr(ep, '%', (size_t)(close - ep));
    char *end = pct != NULL ? pct : close;
    *end = '\0';
    char zoned[NMD_ENDPOINT_MAX + NMD_UDP_ADDRSTRLEN];
    int n = snprintf(zoned, sizeof(zoned), "%s%%%s%s", ep, dev, rest);
    if (n > 0 && (size_t)n < cap)
        memcpy(ep, zoned, (size_t)n + 1);
    else
        strlcat(ep, rest, cap); /* does not fit: put back what was there */
}
