/*
 * host_node.c - the node's side of the host channel (host.h): one thread accepts the
 * host's programs, reads what they say and writes them the fleet's instances.
 *
 * Threads and what they own:
 * - the host thread owns the listening socket and every member's socket and record
 *   (id, name, table); it alone adds members to members[] and removes them, under lock.
 * - the agent calls host_event, on whichever thread changed the registry, with the
 *   agent's lock held; it only queues an UP/DOWN message for each member, under lock,
 *   and wakes the host thread.  So the order of locks is: the agent's, then lock; the
 *   host thread never calls into the agent holding lock.
 * - out queues (head, tail, queued, dead) are written under lock by both; the thread
 *   writes them out.  A new member is put in members[] with WELCOME queued, then sent
 *   the registry's instances: a change made meanwhile is queued before or after that
 *   dump, so the member ends up with what the registry holds (an UP twice, or a DOWN
 *   of something it never had, changes nothing on its side).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bsd/string.h>

#include "dlog.h"
#include "host.h"
#include "nodeid.h"

typedef struct host_out {
    struct host_out *next;
    size_t len;
    uint8_t data[];
} host_out;

typedef struct host_member {
    int fd;                               /* its connection */
    pid_t pid;                            /* its process (SO_PEERCRED) */
    bool joined;                          /* it said MEMBER: in the registry, id is its */
    uint8_t id[16];                       /* its id (written under lock: host_event reads it) */
    char name[NMD_NAME_MAX + 1];          /* its name */
    nmd_service table[NMD_HOST_SERVICES]; /* its services as it advertised them */
    size_t ntable;                        /* their count */
    host_out *head, *tail;                /* under lock: messages to write */
    size_t queued;                        /* under lock: their bytes */
    bool dead;                            /* under lock: its queue overflowed: drop it */
} host_member;

struct nmd_host {
    nmd_agent *agent;                       /* whose registry and table */
    int lfd;                                /* the listening socket */
    int wake;                               /* eventfd: stop, or something queued */
    pthread_t thread;                       /* the host thread */
    pthread_mutex_t lock;                   /* members[] and out queues, stop */
    bool stop;                              /* under lock: leave */
    host_member *members[NMD_HOST_MEMBERS]; /* under lock (the thread alone changes it) */
    int nmembers;                           /* under lock */
    char addr[NM_HOST_MAX];                 /* this host as an endpoint's host */
    nmd_service *own;                       /* the node's own services (--service) */
    size_t nown;                            /* their count */
    nmd_host_msg scratch;                   /* the thread's message being read or built */
    uint8_t buf[NMD_HOST_MSG_MAX + 1];      /* the thread's datagram buffer */
};

static void host_wake(nmd_host *h)
{
    uint64_t one = 1;
    (void)!write(h->wake, &one, sizeof(one));
}

/* Under lock: queues msg[0..len) for m, or marks m dead when its queue is full. */
static void host_queue(host_member *m, const uint8_t *msg, size_t len)
{
    if (m->dead)
        return;
    host_out *o = m->queued + len <= NMD_HOST_OUTQ_MAX ? malloc(sizeof(*o) + len) : NULL;
    if (o == NULL) {
        m->dead = true;
        return;
    }
    o->next = NULL;
    o->len = len;
    memcpy(o->data, msg, len);
    if (m->tail != NULL)
        m->tail->next = o;
    else
        m->head = o;
    m->tail = o;
    m->queued += len;
}

/* Rewrites svc's wildcard host to this host's address: how the host's programs reach it. */
static nmd_service host_local(const nmd_host *h, const nmd_service *svc)
{
    nmd_service s = *svc;
    nmd_agent_endpoint_for(svc->endpoint, h->addr, s.endpoint, sizeof(s.endpoint));
    return s;
}

/* The agent's listener: an instance came or went.  Called under the agent's lock. */
static void host_event(void *arg, int ev, const nmd_peer *p, const nmd_service *svc)
{
    nmd_host *h = arg;
    if (ev != NMD_EV_SERVICE_UP && ev != NMD_EV_SERVICE_DOWN)
        return;
    uint8_t out[NMD_HOST_ONE_MAX];
    int n = nmd_host_encode_one(ev == NMD_EV_SERVICE_UP ? NMD_HOST_UP : NMD_HOST_DOWN, svc, out,
                                sizeof(out));
    if (n < 0)
        return;
    pthread_mutex_lock(&h->lock);
    for (int i = 0; i < h->nmembers; i++) {
        host_member *mb = h->members[i];
        /* A member's own services are not news to it. */
        if (p->backend == NMD_BACKEND_HOST && mb->joined && memcmp(p->id, mb->id, 16) == 0)
            continue;
        host_queue(mb, out, (size_t)n);
    }
    pthread_mutex_unlock(&h->lock);
    host_wake(h);
}

/* ---- the dump a new member gets ---- */

typedef struct host_dump {
    nmd_host *h;
    host_member *m;
    nmd_host_msg *msg; /* UP being filled */
} host_dump;

static void dump_flush(host_dump *d)
{
    if (d->msg->nservices == 0)
        return;
    uint8_t out[NMD_HOST_MSG_MAX];
    int n = nmd_host_encode(d->msg, out, sizeof(out));
    if (n > 0) {
        pthread_mutex_lock(&d->h->lock);
        host_queue(d->m, out, (size_t)n);
        pthread_mutex_unlock(&d->h->lock);
    }
    d->msg->nservices = 0;
}

static void dump_add(host_dump *d, const nmd_service *svc)
{
    d->msg->services[d->msg->nservices++] = *svc;
    if (d->msg->nservices == NMD_HOST_SERVICES)
        dump_flush(d);
}

/* Under the agent's lock: one instance of the registry. */
static void dump_instance_cb(void *arg, const nmd_peer *p, const nmd_service *svc)
{
    (void)p; /* a new member has no service of its own yet */
    dump_add(arg, svc);
}

/* Queues for m every instance it may use: the node's own, then the registry's. */
static void host_dump_to(nmd_host *h, host_member *m)
{
    host_dump d = {h, m, &h->scratch};
    memset(d.msg, 0, offsetof(nmd_host_msg, services));
    d.msg->type = NMD_HOST_UP;
    for (size_t i = 0; i < h->nown; i++) {
        nmd_service s = host_local(h, &h->own[i]);
        dump_add(&d, &s);
    }
    nmd_agent_instances(h->agent, dump_instance_cb, &d);
    dump_flush(&d);
}

/* ---- members ---- */

/* Takes m out of the registry and the node's table.  The host thread, without lock. */
static void host_unjoin(nmd_host *h, host_member *m)
{
    if (!m->joined)
        return;
    for (size_t i = 0; i < m->ntable; i++)
        nmd_agent_withdraw(h->agent, m->table[i].name, m->table[i].endpoint);
    nmd_agent_remove_peer(h->agent, NMD_BACKEND_HOST, m->id);
    m->ntable = 0;
}

static void host_drop(nmd_host *h, int i, const char *why)
{
    host_member *m = h->members[i];
    if (why != NULL)
        nmd_log(NM_LOG_WARN, "host", "member %s (pid %d) dropped: %s", m->name[0] ? m->name : "?",
                (int)m->pid, why);
    else
        nmd_log(NM_LOG_INFO, "host", "member %s (pid %d) left", m->name[0] ? m->name : "?",
                (int)m->pid);
    host_unjoin(h, m);
    pthread_mutex_lock(&h->lock);
    h->members[i] = h->members[--h->nmembers];
    pthread_mutex_unlock(&h->lock);
    close(m->fd);
    for (host_out *o = m->head, *next; o != NULL; o = next) {
        next = o->next;
        free(o);
    }
    free(m);
}

/* Whether t[0..n) has svc. */
static bool host_has(const nmd_service *t, size_t n, const nmd_service *svc)
{
    for (size_t i = 0; i < n; i++)
        if (nmd_service_same(&t[i], svc))
            return true;
    return false;
}

/* A MEMBER message: m's record, table and registry peer become what it says. */
static int host_member_msg(nmd_host *h, host_member *m, const nmd_host_msg *msg)
{
    if (m->joined && memcmp(m->id, msg->id, 16) != 0)
        return -EPROTO; /* one connection, one member */
    pthread_mutex_lock(&h->lock);
    memcpy(m->id, msg->id, 16);
    m->joined = true;
    pthread_mutex_unlock(&h->lock);
    if (strcmp(m->name, msg->name) != 0)
        nmd_log(NM_LOG_INFO, "host", "member %s joined (pid %d)", msg->name, (int)m->pid);
    strlcpy(m->name, msg->name, sizeof(m->name));
    /* The node's table: what went, then what came (beacons announce it). */
    for (size_t i = 0; i < m->ntable; i++)
        if (!host_has(msg->services, msg->nservices, &m->table[i]))
            nmd_agent_withdraw(h->agent, m->table[i].name, m->table[i].endpoint);
    for (size_t i = 0; i < msg->nservices; i++) {
        const nmd_service *s = &msg->services[i];
        if (!host_has(m->table, m->ntable, s))
            nmd_agent_advertise(h->agent, s->name, s->type, s->endpoint,
                                s->has_key ? s->curve_key : NULL);
    }
    memcpy(m->table, msg->services, msg->nservices * sizeof(msg->services[0]));
    m->ntable = msg->nservices;
    /* The registry: the member as a peer, its services reachable from this host. */
    nmd_peer info;
    memset(&info, 0, sizeof(info));
    info.backend = NMD_BACKEND_HOST;
    memcpy(info.id, msg->id, 16);
    info.incarnation = msg->incarnation;
    strlcpy(info.name, msg->name, sizeof(info.name));
    /* Where its admin listens: a wildcard is reached on loopback. */
    bool any = msg->admin_host[0] == '\0' || strcmp(msg->admin_host, "0.0.0.0") == 0 ||
               strcmp(msg->admin_host, "::") == 0;
    strlcpy(info.addr, any ? "127.0.0.1" : msg->admin_host, sizeof(info.addr));
    info.admin_port = msg->admin_port;
    info.admin_tls = msg->admin_tls;
    info.admin_pin_ok = msg->admin_tls; /* from a process of this host's user */
    memcpy(info.admin_pin, msg->admin_pin, NMD_PIN_SIZE);
    nmd_service local[NMD_HOST_SERVICES];
    for (size_t i = 0; i < msg->nservices; i++)
        local[i] = host_local(h, &msg->services[i]);
    return nmd_agent_set_peer(h->agent, &info, local, msg->nservices);
}

/* m's connection is readable: one message.  0, or why to drop m. */
static const char *host_read(nmd_host *h, host_member *m)
{
    ssize_t n = recv(m->fd, h->buf, sizeof(h->buf), MSG_DONTWAIT | MSG_TRUNC);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return NULL;
    if (n <= 0)
        return n == 0 ? "" : "read error";
    if ((size_t)n > NMD_HOST_MSG_MAX)
        return "message too long";
    int rc = nmd_host_decode(h->buf, (size_t)n, &h->scratch);
    if (rc < 0)
        return rc == -EPROTONOSUPPORT ? "message of another version or type" : "malformed message";
    if (h->scratch.type != NMD_HOST_MEMBER)
        return "unexpected message";
    if (host_member_msg(h, m, &h->scratch) < 0)
        return "member message refused";
    return NULL;
}

/* Writes what m has queued until the socket is full.  False when the connection broke. */
static bool host_write(nmd_host *h, host_member *m)
{
    for (;;) {
        pthread_mutex_lock(&h->lock);
        host_out *o = m->head;
        pthread_mutex_unlock(&h->lock);
        if (o == NULL)
            return true;
        ssize_t n = send(m->fd, o->data, o->len, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0)
            return errno == EAGAIN || errno == EINTR;
        pthread_mutex_lock(&h->lock);
        m->head = o->next;
        if (m->head == NULL)
            m->tail = NULL;
        m->queued -= o->len;
        pthread_mutex_unlock(&h->lock);
        free(o);
    }
}

/* A program connects: checked, welcomed, sent the fleet. */
static void host_accept(nmd_host *h)
{
    int fd = accept4(h->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0)
        return;
    struct ucred cred;
    socklen_t len = sizeof(cred);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
        (cred.uid != getuid() && cred.uid != 0)) {
        nmd_log(NM_LOG_WARN, "host",
                "process %d of user %d refused: only user %d (this node's) "
                "or root may join through it",
                (int)cred.pid, (int)cred.uid, (int)getuid());
        close(fd);
        return;
    }
    host_member *m = h->nmembers < NMD_HOST_MEMBERS ? calloc(1, sizeof(*m)) : NULL;
    if (m == NULL) {
        nmd_log(NM_LOG_WARN, "host", "process %d refused: %d members already (the most)",
                (int)cred.pid, NMD_HOST_MEMBERS);
        close(fd);
        return;
    }
    m->fd = fd;
    m->pid = cred.pid;
    nmd_host_msg *w = &h->scratch;
    memset(w, 0, offsetof(nmd_host_msg, services));
    w->type = NMD_HOST_WELCOME;
    nmd_agent_identity(h->agent, w->id, &w->incarnation);
    const nmd_agent_config *cfg = nmd_agent_cfg(h->agent);
    strlcpy(w->name, cfg->name, sizeof(w->name));
    strlcpy(w->fleet, cfg->fleet, sizeof(w->fleet));
    for (int i = 0; i < cfg->nifaces && w->nifaces < NMD_HOST_IFACES; i++)
        if (strlen(cfg->ifaces[i]) <= NMD_HOST_IFNAME)
            strlcpy(w->ifaces[w->nifaces++], cfg->ifaces[i], sizeof(w->ifaces[0]));
    int n = nmd_host_encode(w, h->buf, sizeof(h->buf));
    pthread_mutex_lock(&h->lock);
    if (n > 0)
        host_queue(m, h->buf, (size_t)n);
    h->members[h->nmembers++] = m;
    pthread_mutex_unlock(&h->lock);
    host_dump_to(h, m);
}

static void *host_main(void *arg)
{
    nmd_host *h = arg;
    struct pollfd pfds[2 + NMD_HOST_MEMBERS];
    host_member *polled[NMD_HOST_MEMBERS];
    for (;;) {
        pthread_mutex_lock(&h->lock);
        bool stop = h->stop;
        int n = h->nmembers;
        for (int i = 0; i < n; i++) {
            polled[i] = h->members[i];
            pfds[2 + i] = (struct pollfd){polled[i]->fd, POLLIN, 0};
            if (polled[i]->head != NULL)
                pfds[2 + i].events |= POLLOUT;
        }
        pthread_mutex_unlock(&h->lock);
        if (stop)
            break;
        pfds[0] = (struct pollfd){h->lfd, POLLIN, 0};
        pfds[1] = (struct pollfd){h->wake, POLLIN, 0};
        if (poll(pfds, (nfds_t)(2 + n), -1) < 0)
            continue;
        if (pfds[1].revents & POLLIN) {
            uint64_t v;
            (void)!read(h->wake, &v, sizeof(v));
        }
        /* Members last to first: dropping one moves the last into its slot. */
        for (int i = n - 1; i >= 0; i--) {
            host_member *m = polled[i];
            const char *why = NULL;
            if (pfds[2 + i].revents & (POLLIN | POLLHUP | POLLERR))
                why = host_read(h, m);
            if (why == NULL && (pfds[2 + i].revents & POLLOUT) && !host_write(h, m))
                why = "write error";
            pthread_mutex_lock(&h->lock);
            if (why == NULL && m->dead)
                why = "it reads too slowly (its queue reached NMD_HOST_OUTQ_MAX)";
            pthread_mutex_unlock(&h->lock);
            if (why != NULL)
                host_drop(h, i, why[0] != '\0' ? why : NULL);
        }
        /* Members accepted now are written to on the next turn (POLLOUT). */
        if (pfds[0].revents & POLLIN)
            host_accept(h);
    }
    while (h->nmembers > 0)
        host_drop(h, h->nmembers - 1, NULL);
    return NULL;
}

int nmd_host_start(nmd_host **hp, nmd_agent *a)
{
    nmd_host *h = calloc(1, sizeof(*h));
    if (h == NULL)
        return -ENOMEM;
    h->agent = a;
    h->wake = -1;
    pthread_mutex_init(&h->lock, NULL);
    char hosts[1][NM_HOST_MAX];
    if (nmd_agent_bind_hosts(a, hosts, 1) == 1)
        strlcpy(h->addr, hosts[0], sizeof(h->addr));
    else
        strlcpy(h->addr, "127.0.0.1", sizeof(h->addr));
    ssize_t nown = nmd_agent_table(a, &h->own);
    h->nown = nown > 0 ? (size_t)nown : 0;
    struct sockaddr_un sa;
    socklen_t salen = nmd_host_sockaddr(nmd_agent_cfg(a)->fleet, &sa);
    int rc = 0;
    h->lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    h->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (h->lfd < 0 || h->wake < 0 || bind(h->lfd, (struct sockaddr *)&sa, salen) < 0 ||
        listen(h->lfd, 64) < 0)
        rc = -errno;
    if (rc == 0 && (rc = nmd_agent_listen(a, host_event, h)) == 0 &&
        (rc = -pthread_create(&h->thread, NULL, host_main, h)) < 0)
        nmd_agent_unlisten(a, host_event, h);
    if (rc < 0) {
        if (h->lfd >= 0)
            close(h->lfd);
        if (h->wake >= 0)
            close(h->wake);
        free(h->own);
        pthread_mutex_destroy(&h->lock);
        free(h);
        return rc;
    }
    *hp = h;
    return 0;
}

void nmd_host_stop(nmd_host **hp)
{
    nmd_host *h = *hp;
    if (h == NULL)
        return;
    *hp = NULL;
    nmd_agent_unlisten(h->agent, host_event, h);
    pthread_mutex_lock(&h->lock);
    h->stop = true;
    pthread_mutex_unlock(&h->lock);
    host_wake(h);
    pthread_join(h->thread, NULL);
    close(h->lfd);
    close(h->wake);
    free(h->own);
    pthread_mutex_destroy(&h->lock);
    free(h);
}
