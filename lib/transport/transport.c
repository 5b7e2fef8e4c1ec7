/*
 * transport.c - endpoint scheme lookup and the socket calls tcp and ipc share.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <netinet/in.h>

#include "core/core.h"
#include "transport/transport.h"

static const nmi_transport_ops *const transports[] = {&nmi_tcp_ops, &nmi_ipc_ops};

int nmi_transport_find(const char *endpoint, const nmi_transport_ops **ops, const char **rest)
{
    const char *sep = strstr(endpoint, "://");
    if (sep == NULL)
        return -EINVAL;
    size_t n = (size_t)(sep - endpoint);
    for (size_t i = 0; i < sizeof(transports) / sizeof(transports[0]); i++) {
        if (strlen(transports[i]->scheme) == n && memcmp(transports[i]->scheme, endpoint, n) == 0) {
            *ops = transports[i];
            *rest = sep + 3;
            return 0;
        }
    }
    return -EPROTONOSUPPORT;
}

/* What a stream socket takes before it binds or connects: buffer sizes, type of
 * service and device (failures to apply them are the kernel's to report; as libzmq, a
 * refused device fails the bind or connect, the rest are best effort). */
static int stream_presets(int fd, int family, const nmi_opts *o)
{
    if (o->sndbuf > 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &o->sndbuf, sizeof(o->sndbuf));
    if (o->rcvbuf > 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &o->rcvbuf, sizeof(o->rcvbuf));
    if (o->tos != 0 && family == AF_INET)
        setsockopt(fd, IPPROTO_IP, IP_TOS, &o->tos, sizeof(o->tos));
    if (o->tos != 0 && family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_TCLASS, &o->tos, sizeof(o->tos));
    if (o->bindtodevice[0] != '\0' && family != AF_UNIX &&
        setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, o->bindtodevice,
                   (socklen_t)strlen(o->bindtodevice)) < 0)
        return -errno;
    return 0;
}

int nmi_stream_listen(const nmi_addr *a, const nmi_opts *o, int *fdp)
{
    int fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1, zero = 0;
    if (a->ss.ss_family != AF_UNIX)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (a->ss.ss_family == AF_INET6 && o->ipv6) /* [::] takes IPv4 too */
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
    int rc = stream_presets(fd, a->ss.ss_family, o);
    if (rc < 0) {
        close(fd);
        return rc;
    }
    if (bind(fd, (const struct sockaddr *)&a->ss, a->len) < 0 ||
        listen(fd, o->backlog > 0 ? o->backlog : 1) < 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    *fdp = fd;
    return 0;
}

int nmi_stream_connect(const nmi_addr *a, const nmi_opts *o, int *fdp)
{
    int fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1, rc = stream_presets(fd, a->ss.ss_family, o);
    if (rc < 0) {
        close(fd);
        return rc;
    }
    if (a->srclen > 0 && (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
                          bind(fd, (const struct sockaddr *)&a->src, a->srclen) < 0)) {
        int err = -errno;
        close(fd);
        return err;
    }
    if (connect(fd, (const struct sockaddr *)&a->ss, a->len) < 0 && errno != EINPROGRESS) {
        int err = -errno;
        close(fd);
        return err;
    }
    *fdp = fd;
    return 0;
}

int nmi_stream_adopt(const nmi_transport_ops *tp, int fd, char *ep, size_t cap)
{
    int listening = 0;
    socklen_t len = sizeof(listening);
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0)
        return -errno;
    if (!listening)
        return -EINVAL;
    int rc = tp->bound_name(fd, ep, cap);
    if (rc < 0)
        return rc;
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
        return -errno;
    return 0;
}
