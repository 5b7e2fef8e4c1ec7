/*
 * ipc.c - the ipc:// transport: Unix-domain stream sockets at a filesystem path, or in
 * Linux's abstract namespace (ipc://@name: no file, gone with its last socket).
 *
 * As in libzmq, binding removes a stale socket file at the path first, closing the
 * listener removes the file (unless a later bind has replaced it with its own), and a bind to
 * ipc://\* takes a fresh path in a private temporary directory (named by the bound endpoint;
 * removed with the file).
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

static int ipc_listen(const nmi_addr *a, const nmi_opts *o, int *fdp, char *ep, size_t cap,
                      nmi_listen_mark *mark)
{
    const struct sockaddr_un *sun = (const struct sockaddr_un *)&a->ss;
    bool abstract = sun->sun_path[0] == '\0';
    if (!abstract)
        unlink(sun->sun_path);
    int rc = nmi_stream_listen(a, o, fdp);
    if (rc < 0)
        return rc;
    struct stat st;
    *mark = (nmi_listen_mark){0, 0};
    if (!abstract && stat(sun->sun_path, &st) == 0)
        *mark = (nmi_listen_mark){(uint64_t)st.st_dev, (uint64_t)st.st_ino};
    if (abstract) /* the name: after the leading NUL, up to the address's length */
        snprintf(ep, cap, "ipc://@%.*s", (int)(a->len - offsetof(struct sockaddr_un, sun_path) - 1),
                 sun->sun_path + 1);
    else
        snprintf(ep, cap, "ipc://%s", sun->sun_path);
    return 0;
}

static void ipc_tune(int fd, const nmi_opts *o)
{
    (void)fd;
    (void)o;
}

static void ipc_unlisten(const char *ep, const nmi_listen_mark *mark)
{
    if (strncmp(ep, "ipc://", 6) != 0 || ep[6] == '@')
        return;
    const char *path = ep + 6;
    struct stat st;
    if (stat(path, &st) < 0 || (uint64_t)st.st_dev != mark->dev || (uint64_t)st.st_ino != mark->ino)
        return; /* gone, or another bind's file now (transport.h) */
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
    .connect = nmi_stream_connect,
    .tune = ipc_tune,
    .unlisten = ipc_unlisten,
    .sock_name = ipc_sock_name,
};
