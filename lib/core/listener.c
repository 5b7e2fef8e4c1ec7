/*
 * listener.c - a bound endpoint: accepts connections on the I/O thread and hands each
 * one to a new conn.  Running out of descriptors is logged and the listener goes on.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bsd/string.h>

#include "engine/engine.h"

static void listener_cb(nmi_pollable *pl, unsigned events)
{
    nmi_listener *l = (nmi_listener *)pl;
    (void)events;
    for (;;) {
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
        nmi_conn_accept(l, fd);
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
    TAILQ_INIT(&l->handshaking);
    strlcpy(l->endpoint, endpoint, sizeof(l->endpoint));
    return l;
}

void nmi_listener_start(nmi_listener *l)
{
    LIST_INSERT_HEAD(&l->sock->listeners, l, sock_entry);
    if (l->sock->closing) {
        nmi_listener_close(l);
        return;
    }
    nmi_poller_add(l->sock->ctx->io.pfd, &l->pollable, false);
    listener_cb(&l->pollable, NMI_POLL_IN); /* connections that came before the poller */
}

void nmi_listener_close(nmi_listener *l)
{
    nmi_conn *c;
    while ((c = TAILQ_FIRST(&l->handshaking)) != NULL)
        nmi_conn_handshake_end(c); /* they finish their handshakes without it */
    nmi_monitor(l->sock, NM_EVENT_CLOSED, 0, l->endpoint, "");
    nmi_poller_del(l->sock->ctx->io.pfd, &l->pollable);
    close(l->pollable.fd);
    l->tp->unlisten(l->endpoint);
    LIST_REMOVE(l, sock_entry);
    free(l);
}
