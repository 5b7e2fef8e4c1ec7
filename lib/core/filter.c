/*
 * filter.c - accept filters, libzmq's TCP_ACCEPT_FILTER and IPC_FILTER_UID/GID/PID: the
 * networks a tcp listener takes connections from, the credentials an ipc listener's
 * peers must show.  A socket keeps the list its options built; each bind copies it, so
 * a listener's filters are those set before it was bound (as in libzmq), and the I/O
 * thread reads its copy without sharing anything with the application.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/core.h"

/* "ADDR" or "ADDR/BITS", ADDR numeric IPv4 or IPv6: the network into *e. */
static int filter_parse_net(const char *text, size_t len, nmi_filter *e)
{
    char buf[INET6_ADDRSTRLEN + 8];
    if (len == 0 || len >= sizeof(buf) || memchr(text, '\0', len) != NULL)
        return -EINVAL;
    memcpy(buf, text, len);
    buf[len] = '\0';
    char *slash = strchr(buf, '/');
    if (slash != NULL)
        *slash = '\0';
    if (inet_pton(AF_INET, buf, e->addr) == 1) {
        e->family = AF_INET;
        e->bits = 32;
    } else if (inet_pton(AF_INET6, buf, e->addr) == 1) {
        e->family = AF_INET6;
        e->bits = 128;
    } else {
        return -EINVAL;
    }
    if (slash != NULL) { /* digits only: no sign, no space, not empty */
        const char *d = slash + 1;
        size_t nd = strspn(d, "0123456789");
        if (nd == 0 || nd > 3 || d[nd] != '\0' || atoi(d) > e->bits)
            return -EINVAL;
        e->bits = atoi(d);
    }
    return 0;
}

static void filter_clear_kind(nmi_filters *f, int kind)
{
    int j = 0;
    for (int i = 0; i < f->n; i++)
        if (f->v[i].kind != kind)
            f->v[j++] = f->v[i];
    f->n = j;
}

int nmi_filters_set(nmi_filters *f, int opt, const void *val, size_t len)
{
    nmi_filter e = {.kind = opt};
    if (val == NULL && len > 0)
        return -EINVAL;
    if (len == 0) {
        filter_clear_kind(f, opt);
        return 0;
    }
    if (opt == NM_TCP_ACCEPT_FILTER) {
        int rc = filter_parse_net(val, len, &e);
        if (rc < 0)
            return rc;
    } else {
        int id;
        if (len != sizeof(int))
            return -EINVAL;
        memcpy(&id, val, sizeof(id));
        e.id = (uint32_t)id;
    }
    if (f->n == NM_FILTERS_MAX)
        return -ENOMEM;
    nmi_filter *v = reallocarray(f->v, (size_t)f->n + 1, sizeof(*v));
    if (v == NULL)
        return -ENOMEM;
    f->v = v;
    f->v[f->n++] = e;
    return 0;
}

int nmi_filters_copy(nmi_filters *dst, const nmi_filters *src)
{
    dst->v = NULL;
    dst->n = 0;
    if (src->n == 0)
        return 0;
    if ((dst->v = calloc((size_t)src->n, sizeof(*dst->v))) == NULL)
        return -ENOMEM;
    memcpy(dst->v, src->v, (size_t)src->n * sizeof(*dst->v));
    dst->n = src->n;
    return 0;
}

void nmi_filters_fini(nmi_filters *f)
{
    free(f->v);
    f->v = NULL;
    f->n = 0;
}

static bool filter_net_match(const nmi_filter *e, const uint8_t *addr)
{
    int full = e->bits / 8, rest = e->bits % 8;
    if (memcmp(e->addr, addr, (size_t)full) != 0)
        return false;
    uint8_t mask = (uint8_t)(0xff00 >> rest);
    return rest == 0 || ((e->addr[full] ^ addr[full]) & mask) == 0;
}

/* tcp: the peer's address is in one of the networks (an IPv4 peer on a dual-stack
 * listener comes as ::ffff:a.b.c.d and matches IPv4 networks too). */
static bool filter_tcp(const nmi_filters *f, int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
        return false;
    const uint8_t *v4 = NULL, *v6 = NULL;
    if (ss.ss_family == AF_INET) {
        v4 = (const uint8_t *)&((const struct sockaddr_in *)&ss)->sin_addr;
    } else if (ss.ss_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)&ss)->sin6_addr;
        v6 = a->s6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a))
            v4 = v6 + 12;
    }
    for (int i = 0; i < f->n; i++) {
        const nmi_filter *e = &f->v[i];
        if (e->kind != NM_TCP_ACCEPT_FILTER)
            continue;
        const uint8_t *a = e->family == AF_INET ? v4 : v6;
        if (a != NULL && filter_net_match(e, a))
            return true;
    }
    return false;
}

static bool filter_has(const nmi_filters *f, int kind, uint32_t id)
{
    for (int i = 0; i < f->n; i++)
        if (f->v[i].kind == kind && f->v[i].id == id)
            return true;
    return false;
}

#define FILTER_GROUPS_MAX 4096 /* groups of one user looked at */

/* Whether one of uid's groups (its user's primary and supplementary ones) is a GID
 * filter.  Asks the user database, as libzmq does. */
static bool filter_user_groups(const nmi_filters *f, uid_t uid)
{
    char buf[4096];
    struct passwd pw, *pwp = NULL;
    if (getpwuid_r(uid, &pw, buf, sizeof(buf), &pwp) != 0 || pwp == NULL)
        return false;
    int n = 64;
    gid_t small[64], *groups = small;
    if (getgrouplist(pw.pw_name, pw.pw_gid, groups, &n) < 0) {
        if (n <= 0 || n > FILTER_GROUPS_MAX || (groups = calloc((size_t)n, sizeof(gid_t))) == NULL)
            return false;
        if (getgrouplist(pw.pw_name, pw.pw_gid, groups, &n) < 0)
            n = 0;
    }
    bool found = false;
    for (int i = 0; i < n && !found; i++)
        found = filter_has(f, NM_IPC_FILTER_GID, (uint32_t)groups[i]);
    if (groups != small)
        free(groups);
    return found;
}

/* ipc: the peer's user, group or process is listed (its credentials at connect). */
static bool filter_ipc(const nmi_filters *f, int fd)
{
    uint32_t uid, gid, pid;
    if (nmi_fd_peer_cred(fd, &uid, &gid, &pid) < 0)
        return false;
    if (filter_has(f, NM_IPC_FILTER_UID, uid) || filter_has(f, NM_IPC_FILTER_GID, gid) ||
        filter_has(f, NM_IPC_FILTER_PID, pid))
        return true;
    for (int i = 0; i < f->n; i++)
        if (f->v[i].kind == NM_IPC_FILTER_GID)
            return filter_user_groups(f, (uid_t)uid);
    return false;
}

bool nmi_filters_pass(const nmi_filters *f, bool ipc, int fd)
{
    bool any = false;
    for (int i = 0; i < f->n && !any; i++)
        any = (f->v[i].kind == NM_TCP_ACCEPT_FILTER) != ipc;
    if (!any)
        return true;
    return ipc ? filter_ipc(f, fd) : filter_tcp(f, fd);
}
