/*
 * ipc.c - the ipc:// transport: Unix-domain stream sockets at a filesystem path, or in
 * Linux's abstract namespace (ipc://@name: no file, gone with its last socket).
 *
 * As in libzmq, binding removes a stale socket file at the path first, closing the
 * listener removes the file, and a bind to ipc://\* takes a fresh path in a private
 * temporary directory (named by the bound endpoint; removed with the file).
 *
 * A listener closes on its I/O thread after its socket's close returned, so the
 * application may have bound the same path again by then.  Which listener owns the file
 * at a path is kept in ipc_files (process-wide, under ipc_files_lock: binds and closes
 * of every context's I/O threads and application threads change it, each holding the
 * lock from its unlink to its record): a bind records itself as the path's owner with a
 * fresh generation, and a close removes the file only while it is still the owner and
 * the file is still the one it made (another process may have replaced it).  The file's
 * device and inode alone cannot tell: a new file often reuses the old one's inode.
 */
#include <errno.h>
#include <pthread.h>
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

/* A path this process bound, and which bind owns it now (see the top of the file). */
typedef struct ipc_file {
    LIST_ENTRY(ipc_file) entry;
    uint64_t gen;     /* the owning bind's generation: its listener's path_id */
    uint64_t file_id; /* ipc_file_id of the file that bind made */
    char path[];
} ipc_file;

static pthread_mutex_t ipc_files_lock = PTHREAD_MUTEX_INITIALIZER;
static LIST_HEAD(, ipc_file) ipc_files = LIST_HEAD_INITIALIZER(ipc_files);
static uint64_t ipc_files_gen;

/* Under ipc_files_lock: path's record, or NULL. */
static ipc_file *ipc_file_find(const char *path)
{
    ipc_file *f;
    LIST_FOREACH(f, &ipc_files, entry)
    {
        if (strcmp(f->path, path) == 0)
            return f;
    }
    return NULL;
}

static int ipc_listen(const nmi_addr *a, const nmi_opts *o, int *fdp, char *ep, size_t cap,
                      uint64_t *idp)
{
    const struct sockaddr_un *sun = (const struct sockaddr_un *)&a->ss;
    const char *path = sun->sun_path;
    *idp = 0;
    if (path[0] == '\0') { /* abstract: no file */
        int rc = nmi_stream_listen(a, o, fdp);
        if (rc == 0)
            ipc_format(sun, a->len, ep, cap);
        return rc;
    }
    size_t n = strlen(path) + 1;
    ipc_file *mine = malloc(sizeof(*mine) + n);
    if (mine == NULL)
        return -ENOMEM;
    memcpy(mine->path, path, n);
    pthread_mutex_lock(&ipc_files_lock);
    unlink(path);
    int rc = nmi_stream_listen(a, o, fdp);
    if (rc == 0) {
        ipc_file *old = ipc_file_find(path);
        if (old != NULL) { /* its listener is closing: the file is ours now */
            LIST_REMOVE(old, entry);
            free(old);
        }
        mine->gen = *idp = ++ipc_files_gen;
        mine->file_id = ipc_file_id(path);
        LIST_INSERT_HEAD(&ipc_files, mine, entry);
        mine = NULL;
    }
    pthread_mutex_unlock(&ipc_files_lock);
    free(mine);
    if (rc == 0)
        ipc_format(sun, a->len, ep, cap);
    return rc;
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

/* Removes the file the bind of generation id made, if that bind still owns the path. */
static void ipc_unlisten(const char *ep, uint64_t id)
{
    if (strncmp(ep, "ipc://", 6) != 0 || ep[6] == '@' || id == 0)
        return;
    const char *path = ep + 6;
    pthread_mutex_lock(&ipc_files_lock);
    ipc_file *f = ipc_file_find(path);
    bool owner = f != NULL && f->gen == id;
    if (owner) {
        if (ipc_file_id(path) == f->file_id)
            unlink(path);
        LIST_REMOVE(f, entry);
        free(f);
    }
    pthread_mutex_unlock(&ipc_files_lock);
    if (!owner)
        return;
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
