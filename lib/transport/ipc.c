/*
 * ipc.c - the ipc:// transport: Unix-domain stream sockets at a filesystem path.
 *
 * As in libzmq, binding removes a stale socket file at the path first, and closing
 * the listener removes the file.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "transport/transport.h"

static int ipc_resolve(const char *addr, bool for_bind, nmi_addr *out)
{
    (void)for_bind;
    struct sockaddr_un *sun = (struct sockaddr_un *)&out->ss;
    size_t n = strlen(addr);
    if (n == 0 || n >= sizeof(sun->sun_path))
        return -EINVAL;
    memset(out, 0, sizeof(*out));
    sun->sun_family = AF_UNIX;
    memcpy(sun->sun_path, addr, n);
    out->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
    return 0;
}

static int ipc_listen(const nmi_addr *a, int *fdp, char *ep, size_t cap)
{
    const struct sockaddr_un *sun = (const struct sockaddr_un *)&a->ss;
    unlink(sun->sun_path);
    int rc = nmi_stream_listen(a, fdp);
    if (rc < 0)
        return rc;
    snprintf(ep, cap, "ipc://%s", sun->sun_path);
    return 0;
}

static void ipc_tune(int fd, int keepalive)
{
    (void)fd;
    (void)keepalive;
}

static void ipc_unlisten(const char *ep)
{
    if (strncmp(ep, "ipc://", 6) == 0)
        unlink(ep + 6);
}

static void ipc_sock_name(int fd, bool local, char *buf, size_t cap)
{
    (void)fd;
    (void)local;
    snprintf(buf, cap, "ipc");
}

const nmi_transport_ops nmi_ipc_ops = {
    .scheme = "ipc",
    .resolve = ipc_resolve,
    .listen = ipc_listen,
    .connect = nmi_stream_connect,
    .tune = ipc_tune,
    .unlisten = ipc_unlisten,
    .sock_name = ipc_sock_name,
};
