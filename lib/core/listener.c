/*
 * listener.c - a bound endpoint: accepts connections on the I/O thread and hands each
 * one to a new conn.  Running out of descriptors is logged and the listener goes on.
 *
 * At most HANDSHAKE_MAX accepted connections may be in handshake at once, so that
 * half-open connections cost bounded memory and descriptors.  When the listener is
 * full, the oldest handshake goes for a newcomer once it has had its grace (a few times
 * what the recent good handshakes took): a good peer's handshake takes a round trip, a
 * slowloris's never ends.  If even the oldest is younger (a storm of good peers
 * connecting at once), the newcomer is refused and connects again: the backlog is
 * drained at once either way, so a good peer never waits behind half-open connections,
 * and a thousand clients reconnecting together get in by turns.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bsd/string.h>

#include "engine/engine.h"

/* How long a handshake keeps its place in a full listener: four times what the recent
 * good handshakes took (20 ms before any is known), within these bounds.  Not less
 * than a busy client may take to answer: a peer dropped after it has our READY may
 * lose what it sends next. */
#define LISTENER_GRACE_MIN_NS (250 * 1000000ll)
#define LISTENER_GRACE_MAX_NS (2000 * 1000000ll)
#define LISTENER_HANDSHAKE_NS (20 * 1000000ll)

static uint64_t listener_grace(const nmi_listener *l)
{
    int64_t g = 4 * l->handshake_ns;
    return (uint64_t)(g < LISTENER_GRACE_MIN_NS   ? LISTENER_GRACE_MIN_NS
                      : g > LISTENER_GRACE_MAX_NS ? LISTENER_GRACE_MAX_NS
                                                  : g);
}

/* Whether the listener may take one more connection in handshake now: if it is full,
 * the oldest handshake goes for the newcomer once it has had its grace; if even the
 * oldest is younger, the newcomer is refused (a ZeroMQ peer connects again after its
 * RECONNECT_IVL). */
static bool listener_room(nmi_listener *l)
{
    while (l->opts.handshake_max > 0 && l->nhandshaking >= l->opts.handshake_max) {
        nmi_conn *old = TAILQ_FIRST(&l->handshaking);
        if (nmi_clock_ns() - old->accepted_at < listener_grace(l))
            return false;
        /* Its peer may have finished, the bytes still unread (a busy thread): a peer
         * that believes itself connected must not lose what it sends next. */
        nmi_conn_read(old);
        if (TAILQ_FIRST(&l->handshaking) == old)
            nmi_conn_reject(
                old, "too many connections in handshake (NM_HANDSHAKE_MAX): the oldest goes");
    }
    return true;
}

/* Closes a connection the listener has no room for. */
static void listener_refuse(nmi_listener *l, int fd)
{
    static const char why[] = "too many connections in handshake (NM_HANDSHAKE_MAX): refused";
    close(fd);
    nmi_count(&l->sock->peers_dropped, 1);
    nmi_monitor(l->sock, NM_EVENT_ACCEPT_FAILED, EAGAIN, l->endpoint, why);
    nmi_log(l->sock->ctx, NM_LOG_DEBUG, "listener", "%s: %s", l->endpoint, why);
}

/* Closes a connection its peer's address or credentials keep out (accept filters). */
static void listener_filtered(nmi_listener *l, int fd)
{
    static const char why[] = "peer not allowed by the accept filters";
    close(fd);
    nmi_monitor(l->sock, NM_EVENT_ACCEPT_FAILED, EACCES, l->endpoint, why);
    nmi_log(l->sock->ctx, NM_LOG_DEBUG, "listener", "%s: %s", l->endpoint, why);
}

/* Connections accepted per turn: a flood of connections must not keep the I/O thread
 * from the ones it has (each accepted one also reads what its peer sent). */
#define LISTENER_BATCH 64

static void listener_cb(nmi_pollable *pl, unsigned events)
{
    nmi_listener *l = (nmi_listener *)pl;
    (void)events;
    for (int n = 0;; n++) {
        if (n == LISTENER_BATCH) {
            /* More may wait: watching again has the poller report them after the
             * events already due. */
            nmi_poller_set(l->sock->io->pfd, &l->pollable, true, false);
            return;
        }
        int fd = accept4(pl->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                nmi_monitor(l->sock, NM_EVENT_ACCEPT_FAILED, (uint32_t)errno, l->endpoint,
                            strerror(errno));
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                nmi_log(l->sock->ctx, NM_LOG_WARN, "listener", "%s: accept: %s", l->endpoint,
                        strerror(errno));
            return;
        }
        if (!nmi_filters_pass(&l->filters, l->tp == &nmi_ipc_ops, fd))
            listener_filtered(l, fd);
        else if (listener_room(l))
            nmi_conn_accept(l, fd);
        else
            listener_refuse(l, fd);
    }
}

nmi_listener *nmi_listener_new(nmi_sock *s, const nmi_transport_ops *tp, int fd,
                               const char *endpoint)
{
    nmi_listener *l = calloc(1, sizeof(*l));
    if (l == NULL)
        return NULL;
    l->pollable.fd = fd;
    l->pollable.cb = listener_cb;
    l->sock = s;
    l->tp = tp;
    l->opts = s->opts;
    nmi_sec_ref(l->opts.sec);
    TAILQ_INIT(&l->handshaking);
    l->handshake_ns = LISTENER_HANDSHAKE_NS;
    strlcpy(l->endpoint, endpoint, sizeof(l->endpoint));
    if (nmi_filters_copy(&l->filters, &s->filters) < 0) {
        nmi_sec_release(l->opts.sec);
        free(l);
        return NULL;
    }
    return l;
}

void nmi_listener_start(nmi_listener *l)
{
    LIST_INSERT_HEAD(&l->sock->listeners, l, sock_entry);
    if (l->sock->closing) {
        nmi_listener_close(l);
        return;
    }
    nmi_poller_add(l->sock->io->pfd, &l->pollable, false);
    listener_cb(&l->pollable, NMI_POLL_IN); /* connections that came before the poller */
}

void nmi_listener_unbind(nmi_disconnect *d)
{
    nmi_sock *s = d->sock;
    nmi_listener *l;
    LIST_FOREACH(l, &s->listeners, sock_entry)
    {
        if (strcmp(l->endpoint, d->endpoint) == 0) {
            nmi_listener_close(l);
            break;
        }
    }
    /* As in libzmq, the connections it accepted go with it. */
    nmi_conn *c, *next;
    LIST_FOREACH_SAFE(c, &s->conns, sock_entry, next)
    {
        if (!c->connecter && !c->closing && strcmp(c->endpoint, d->endpoint) == 0)
            nmi_conn_close(c);
    }
    pthread_mutex_lock(&s->ctx->reg_lock); /* the unbinding thread waits (core.h) */
    d->done = true;
    pthread_cond_broadcast(&s->ctx->reg_cond);
    pthread_mutex_unlock(&s->ctx->reg_lock);
}

void nmi_listener_close(nmi_listener *l)
{
    nmi_conn *c;
    while ((c = TAILQ_FIRST(&l->handshaking)) != NULL)
        nmi_conn_handshake_end(c, false); /* they finish their handshakes without it */
    nmi_monitor(l->sock, NM_EVENT_CLOSED, 0, l->endpoint, "");
    nmi_poller_del(l->sock->io->pfd, &l->pollable);
    close(l->pollable.fd);
    if (!l->adopted)
        l->tp->unlisten(l->endpoint, l->path_id);
    LIST_REMOVE(l, sock_entry);
    nmi_filters_fini(&l->filters);
    nmi_sec_release(l->opts.sec);
    free(l);
}
