/*
 * transport.c - endpoint scheme lookup and the socket calls tcp and ipc share.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

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

int nmi_stream_listen(const nmi_addr *a, int *fdp)
{
    int fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    if (a->ss.ss_family != AF_UNIX)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (const struct sockaddr *)&a->ss, a->len) < 0 || listen(fd, 1024) < 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    *fdp = fd;
    return 0;
}

int nmi_stream_connect(const nmi_addr *a, int *fdp)
{
    int fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
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
