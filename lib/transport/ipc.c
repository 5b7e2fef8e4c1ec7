/*
 * ipc.c - the ipc:// transport: Unix-domain stream sockets at a filesystem path, or in
 * Linux's abstract namespace (ipc://@name: no file, gone with its last socket).
 *
 * As in libzmq, binding removes a stale socket file at the path first, closing the
 * listener removes the file, and a bind to ipc://\* takes a fresh path in a private
 * temporary directory (named by the bound endpoint; removed with the file).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/core.h"
#include "transport/transport.h"

#define IPC_ANY_DIR  "/tmp/nomid-ipc-" /* ipc://\*: a directory of our own per bind */
#define IPC_ANY_FILE "/socket"

static int ipc_resolve(const char *addr, bool for_bind, const nmi_opts *o, nmi_addr *out)
{
    (void)o;
    struct sockaddr_un *sun = (struct sockaddr_un *)&out->ss;
    char any[sizeof(sun->sun_path)];
    if (strcmp(addr, "*") == 0) {
        if (!for_bind)
            return -EINVAL;
        strcpy(any, IPC_ANY_DIR "XXXXXX");
        if (mkdtemp(any) == NULL)
            return -errno;
        strcat(any, IPC_ANY_FILE);
        addr = any;
    }
    size_t n = strlen(addr);
    if (n >= sizeof(sun->sun_path))
        return -ENAMETOOLONG; /* as libzmq */
    if (n == 0 || (addr[0] == '@' && n == 1))
        return -EINVAL;
    memset(out, 0, sizeof(*out));
    sun->sun_family = AF_UNIX;
    memcpy(sun->sun_path, addr, n);
    out->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
    if (addr[0] == '@') { /* abstract: a leading NUL, no terminating one */
        sun->sun_path[0] = '\0';
        out->len--;
    }
    return 0;
}

/* The endpoint of a bound address of len bytes. */
static void ipc_format(const struct sockaddr_un *sun, socklen_t len, char *ep, size_t cap)
{
    size_t n = len > offsetof(struct sockaddr_un, sun_path)
                   ? (size_t)len - offsetof(struct sockaddr_un, sun_path)
                   : 0;
    if (n > 0 && sun->sun_path[0] == '\0') /* abstract: the name after the NUL */
        snprintf(ep, cap, "ipc://@%.*s", (int)(n - 1), sun->sun_path + 1);
    else
        snprintf(ep, cap, "ipc://%.*s", (int)strnlen(sun->sun_path, n), sun->sun_path);
}

/* What identifies the file at path now: its device and inode (0: none). */
static uint64_t ipc_file_id(const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return 0;
    return (uint64_t)st.st_dev << 40 ^ (uint64_t)st.st_ino;
}

static int ipc_listen(const nmi_addr *a, const nmi_opts *o, int *fdp, char *ep, size_t cap,
                      uint64_t *idp)
{
    const struct sockaddr_un *sun = (const struct sockaddr_un *)&a->ss;
    if (sun->sun_path[0] != '\0')
        unlink(sun->sun_path);
    int rc = nmi_stream_listen(a, o, fdp);
    if (rc < 0)
        return rc;
    ipc_format(sun, a->len, ep, cap);
    *idp = sun->sun_path[0] != '\0' ? ipc_file_id(sun->sun_path) : 0;
    return 0;
}

static int ipc_bound_name(int fd, char *ep, size_t cap)
{
    struct sockaddr_un sun;
    socklen_t len = sizeof(sun);
    if (getsockname(fd, (struct sockaddr *)&sun, &len) < 0)
        return -errno;
    if (sun.sun_family != AF_UNIX || len <= offsetof(struct sockaddr_un, sun_path) + 1)
        return -EINVAL; /* not a Unix-domain socket, or not bound to a name */
    ipc_format(&sun, len, ep, cap);
    return 0;
}

static void ipc_tune(int fd, const nmi_opts *o)
{
    (void)fd;
    (void)o;
}

/* The close of a listener runs on the I/O thread, after its socket's close returned:
 * by then the application may have bound the path again, with a file that is not ours
 * to remove. */
static void ipc_unlisten(const char *ep, uint64_t id)
{
    if (strncmp(ep, "ipc://", 6) != 0 || ep[6] == '@')
        return;
    const char *path = ep + 6;
    if (ipc_file_id(path) == id)
        unlink(path);
    /* ipc://\*'s directory: IPC_ANY_DIR + 6 characters + IPC_ANY_FILE, ours to remove. */
    size_t dir = strlen(IPC_ANY_DIR) + 6;
    if (strncmp(path, IPC_ANY_DIR, strlen(IPC_ANY_DIR)) == 0 && strlen(path) > dir &&
        strcmp(path + dir, IPC_ANY_FILE) == 0) {
        char d[sizeof(IPC_ANY_DIR) + 6];
        memcpy(d, path, dir);
        d[dir] = '\0';
        rmdir(d);
    }
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
    .bound_name = ipc_bound_name,
    .connect = nmi_stream_connect,
    .tune = ipc_tune,
    .unlisten = ipc_unlisten,
    .sock_name = ipc_sock_name,
};
