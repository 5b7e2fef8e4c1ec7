/*
 * host_link.c - the member's side of the host channel (host.h): joining the host's node,
 * and the agent backend that keeps the member's registry and table in step with it.
 *
 * Threads and what they own:
 * - the backend's thread owns the link's socket from start to stop: it reads the node's
 *   messages into the agent's registry, writes MEMBER when the table changed, and joins
 *   again when the node went.
 * - publish, on whichever thread changed the agent's table (or admin port), only sets
 *   dirty and wakes that thread; stop sets closing and wakes it.  Both are atomics.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/time.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bsd/string.h>

#include "dlog.h"
#include "host.h"

struct nmd_host_link {
    int fd;                        /* the connection, or -1 between joins */
    char fleet[NMD_FLEET_MAX + 1]; /* whose node */
    uint8_t node[16];              /* the node's id (its welcome) */
    char name[NMD_NAME_MAX + 1];   /* the node's name */
};

struct nmd_backend {
    nmd_agent *agent;    /* whose registry and table */
    nmd_host_link *link; /* borrowed from the agent's configuration */
    int wake;            /* eventfd: publish or stop */
    atomic_bool dirty;   /* the table changed since MEMBER was last written */
    atomic_bool closing; /* stop */
    pthread_t thread;    /* the backend's thread */
    nmd_host_msg msg;    /* the thread's message */
    uint8_t buf[NMD_HOST_MSG_MAX + 1];
};

static void link_close_fd(nmd_host_link *l)
{
    if (l->fd >= 0)
        close(l->fd);
    l->fd = -1;
}

/* Connects and reads the welcome into *w (waiting up to timeout_ms).  0 or -errno. */
static int link_connect(nmd_host_link *l, nmd_host_msg *w, int timeout_ms)
{
    struct sockaddr_un sa;
    socklen_t len = nmd_host_sockaddr(l->fleet, &sa);
    l->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (l->fd < 0)
        return -errno;
    if (connect(l->fd, (struct sockaddr *)&sa, len) < 0) {
        int rc = errno == ENOENT ? -ECONNREFUSED : -errno;
        link_close_fd(l);
        return rc;
    }
    struct pollfd p = {l->fd, POLLIN, 0};
    int rc = poll(&p, 1, timeout_ms);
    uint8_t *buf = rc > 0 ? malloc(NMD_HOST_MSG_MAX + 1) : NULL;
    ssize_t got =
        buf != NULL ? recv(l->fd, buf, NMD_HOST_MSG_MAX + 1, MSG_DONTWAIT | MSG_TRUNC) : -1;
    if (rc == 0)
        rc = -ETIMEDOUT;
    else if (got == 0)
        rc = -EACCES; /* the node closed at once: it refused this process (its log says) */
    else if (got < 0 || got > NMD_HOST_MSG_MAX || nmd_host_decode(buf, (size_t)got, w) < 0 ||
             w->type != NMD_HOST_WELCOME || strcmp(w->fleet, l->fleet) != 0)
        rc = -EPROTO;
    else
        rc = 0;
    free(buf);
    if (rc < 0) {
        link_close_fd(l);
        return rc;
    }
    memcpy(l->node, w->id, 16);
    strlcpy(l->name, w->name, sizeof(l->name));
    /* A node that stopped reading cannot hold this program's thread (and so its
     * zmq_ctx_term) for long. */
    struct timeval tv = {1, 0};
    setsockopt(l->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    return 0;
}

int nmd_host_join(nmd_host_link **lp, const char *fleet, nmd_host_msg *welcome, int timeout_ms)
{
    nmd_host_link *l = calloc(1, sizeof(*l));
    if (l == NULL)
        return -ENOMEM;
    l->fd = -1;
    strlcpy(l->fleet, fleet, sizeof(l->fleet));
    int rc = link_connect(l, welcome, timeout_ms);
    if (rc < 0) {
        free(l);
        return rc;
    }
    *lp = l;
    return 0;
}

void nmd_host_link_close(nmd_host_link **lp)
{
    if (*lp == NULL)
        return;
    link_close_fd(*lp);
    free(*lp);
    *lp = NULL;
}

/* ---- the backend ---- */

/* Writes MEMBER: the agent's identity, name, admin endpoint and whole table.  False
 * when the connection broke. */
static bool backend_send_member(nmd_backend *b)
{
    nmd_host_msg *m = &b->msg;
    memset(m, 0, offsetof(nmd_host_msg, services));
    m->type = NMD_HOST_MEMBER;
    nmd_agent_identity(b->agent, m->id, &m->incarnation);
    strlcpy(m->name, nmd_agent_cfg(b->agent)->name, sizeof(m->name));
    m->admin_port = nmd_agent_admin(b->agent, m->admin_host, &m->admin_tls, m->admin_pin);
    nmd_service *t = NULL;
    ssize_t n = nmd_agent_table(b->agent, &t);
    if (n > NMD_HOST_SERVICES)
        nmd_log(NM_LOG_WARN, "host", "%zd services: the node is told the first %d only", n,
                NMD_HOST_SERVICES);
    for (ssize_t i = 0; i < n && i < NMD_HOST_SERVICES; i++)
        m->services[m->nservices++] = t[i];
    free(t);
    int len = nmd_host_encode(m, b->buf, sizeof(b->buf));
    if (len < 0) {
        nmd_log(NM_LOG_WARN, "host",
                "cannot tell the node this program's table: a field is "
                "out of range");
        return true;
    }
    /* The node reads promptly; a datagram this size is taken whole or not at all. */
    return send(b->link->fd, b->buf, (size_t)len, MSG_NOSIGNAL) == len;
}

/* One message from the node.  False when the connection broke or spoke nonsense. */
static bool backend_read(nmd_backend *b)
{
    nmd_host_link *l = b->link;
    ssize_t n = recv(l->fd, b->buf, sizeof(b->buf), MSG_DONTWAIT | MSG_TRUNC);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return true;
    if (n <= 0)
        return false;
    if (n > NMD_HOST_MSG_MAX || nmd_host_decode(b->buf, (size_t)n, &b->msg) < 0 ||
        (b->msg.type != NMD_HOST_UP && b->msg.type != NMD_HOST_DOWN)) {
        nmd_log(NM_LOG_WARN, "host", "node %s sent a malformed or unexpected message", l->name);
        return false;
    }
    /* Every instance as one peer's, the node's: the node checked the keys (trust.h). */
    for (size_t i = 0; i < b->msg.nservices; i++) {
        if (b->msg.type == NMD_HOST_UP)
            nmd_agent_add(b->agent, NMD_BACKEND_HOST, l->node, l->name, "127.0.0.1",
                          &b->msg.services[i]);
        else
            nmd_agent_del(b->agent, NMD_BACKEND_HOST, l->node, &b->msg.services[i]);
    }
    return true;
}

static void *backend_main(void *arg)
{
    nmd_backend *b = arg;
    nmd_host_link *l = b->link;
    while (!atomic_load(&b->closing)) {
        if (l->fd < 0) { /* the node went: join again when it is back */
            struct pollfd p = {b->wake, POLLIN, 0};
            if (poll(&p, 1, NMD_HOST_RETRY_MS) > 0) {
                uint64_t v;
                (void)!read(b->wake, &v, sizeof(v));
                continue;
            }
            if (link_connect(l, &b->msg, NMD_HOST_RETRY_MS) == 0) {
                nmd_log(NM_LOG_INFO, "host", "joined node %s again", l->name);
                atomic_store(&b->dirty, true);
            }
            continue;
        }
        if (atomic_exchange(&b->dirty, false) && !backend_send_member(b)) {
            link_close_fd(l);
            continue;
        }
        struct pollfd p[2] = {{l->fd, POLLIN, 0}, {b->wake, POLLIN, 0}};
        if (poll(p, 2, -1) < 0)
            continue;
        if (p[1].revents & POLLIN) {
            uint64_t v;
            (void)!read(b->wake, &v, sizeof(v));
        }
        if ((p[0].revents & (POLLIN | POLLHUP | POLLERR)) && !backend_read(b)) {
            nmd_log(NM_LOG_WARN, "host",
                    "node %s went away: its services are forgotten, and "
                    "this program joins again when it is back",
                    l->name);
            link_close_fd(l);
            nmd_agent_forget(b->agent, NMD_BACKEND_HOST);
        }
    }
    return NULL;
}

static int backend_start(nmd_backend **bp, nmd_agent *a, const char *arg, void *ctx)
{
    (void)arg;
    if (ctx == NULL)
        return -EINVAL;
    nmd_backend *b = calloc(1, sizeof(*b));
    if (b == NULL)
        return -ENOMEM;
    b->agent = a;
    b->link = ctx;
    atomic_init(&b->dirty, true);
    atomic_init(&b->closing, false);
    b->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    int rc = b->wake < 0 ? -errno : -pthread_create(&b->thread, NULL, backend_main, b);
    if (rc < 0) {
        if (b->wake >= 0)
            close(b->wake);
        free(b);
        return rc;
    }
    *bp = b;
    return 0;
}

static void backend_wake(nmd_backend *b)
{
    uint64_t one = 1;
    (void)!write(b->wake, &one, sizeof(one));
}

static void backend_publish(nmd_backend *b)
{
    atomic_store(&b->dirty, true);
    backend_wake(b);
}

static void backend_stop(nmd_backend **bp)
{
    nmd_backend *b = *bp;
    if (b == NULL)
        return;
    *bp = NULL;
    atomic_store(&b->closing, true);
    backend_wake(b);
    pthread_join(b->thread, NULL);
    close(b->wake);
    /* Closing the connection is the member's goodbye: the node removes it at once. */
    link_close_fd(b->link);
    free(b);
}

const nmd_backend_ops nmd_host_backend = {
    .name = "host",
    .kind = NMD_BACKEND_HOST,
    .start = backend_start,
    .publish = backend_publish,
    .stop = backend_stop,
};
