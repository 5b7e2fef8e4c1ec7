/*
 * poll.c - nm_poll: waiting on several nomid sockets and plain descriptors at once,
 * as zmq_poll does.
 *
 * A socket's readiness is computed on the caller's thread (nmi_sock_events runs the
 * socket's commands, and takes one message ahead to know NM_POLLIN).  To sleep, each
 * socket is marked waiting so posts to it signal its eventfd, readiness is checked once
 * more (a post may have come just before the mark), and poll(2) then waits on the
 * eventfds and the caller's descriptors together.  The call is entered on each socket
 * (nmi_sock_enter) for its whole length; it fails with NM_ETERM as soon as one of
 * their contexts is shut down, whose signal on every eventfd ends the sleep.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/core.h"

#define POLL_STACK_ITEMS 16

/* Fills revents for every item; returns how many are ready.  Descriptors are looked at
 * with a zero-timeout poll(2). */
static int poll_scan(nm_pollitem_t *items, int n, struct pollfd *pfds)
{
    int ready = 0, nfd = 0;
    for (int i = 0; i < n; i++) {
        if (items[i].sock != NULL) {
            int ev = nmi_sock_events((nmi_sock *)items[i].sock);
            items[i].revents = (short)(ev & items[i].events);
        } else {
            pfds[nfd++] =
                (struct pollfd){.fd = items[i].fd,
                                .events = (short)((items[i].events & NM_POLLIN ? POLLIN : 0) |
                                                  (items[i].events & NM_POLLOUT ? POLLOUT : 0))};
            items[i].revents = 0;
        }
    }
    if (nfd > 0 && poll(pfds, (nfds_t)nfd, 0) > 0) {
        for (int i = 0, k = 0; i < n; i++) {
            if (items[i].sock != NULL)
                continue;
            short re = pfds[k++].revents;
            items[i].revents =
                (short)((re & POLLIN ? NM_POLLIN : 0) | (re & POLLOUT ? NM_POLLOUT : 0) |
                        (re & (POLLERR | POLLHUP | POLLNVAL) ? NM_POLLERR : 0));
        }
    }
    for (int i = 0; i < n; i++)
        ready += items[i].revents != 0;
    return ready;
}

/* Leaves the call on the first n socket items; returns rc. */
static int poll_leave(nm_pollitem_t *items, int n, int rc)
{
    for (int i = 0; i < n; i++)
        if (items[i].sock != NULL)
            nmi_sock_leave((nmi_sock *)items[i].sock, rc);
    return rc;
}

/* Enters the call on every socket item: 0, or NM_ETERM (nothing entered). */
static int poll_enter(nm_pollitem_t *items, int n)
{
    for (int i = 0; i < n; i++) {
        if (items[i].sock != NULL && nmi_sock_enter((nmi_sock *)items[i].sock) < 0)
            return poll_leave(items, i, NM_ETERM);
    }
    return 0;
}

/* NM_ETERM once any socket's context is shut down (read after each wakeup). */
static int poll_term(nm_pollitem_t *items, int n)
{
    for (int i = 0; i < n; i++) {
        nmi_sock *s = (nmi_sock *)items[i].sock;
        if (s != NULL && atomic_load(&s->ctx->state) != NMI_CTX_ACTIVE)
            return NM_ETERM;
    }
    return 0;
}

static void poll_mark(nm_pollitem_t *items, int n, int waiting)
{
    for (int i = 0; i < n; i++)
        if (items[i].sock != NULL)
            atomic_store(&((nmi_sock *)items[i].sock)->waiting, waiting);
}

int nm_poll(nm_pollitem_t *items, int nitems, int timeout_ms)
{
    if (nitems < 0 || (nitems > 0 && items == NULL))
        return -EINVAL;
    struct pollfd stack[POLL_STACK_ITEMS];
    struct pollfd *pfds = stack;
    if (nitems > POLL_STACK_ITEMS && (pfds = calloc((size_t)nitems, sizeof(*pfds))) == NULL)
        return -ENOMEM;
    int ready = poll_enter(items, nitems);
    if (ready < 0) {
        if (pfds != stack)
            free(pfds);
        return ready;
    }
    uint64_t deadline = timeout_ms > 0 ? nmi_clock_ns() + (uint64_t)timeout_ms * 1000000u : 0;
    for (;;) {
        if ((ready = poll_term(items, nitems)) < 0)
            break;
        ready = poll_scan(items, nitems, pfds);
        if (ready > 0 || timeout_ms == 0)
            break;
        poll_mark(items, nitems, 1);
        ready = poll_scan(items, nitems, pfds);
        if (ready > 0) {
            poll_mark(items, nitems, 0);
            break;
        }
        for (int i = 0; i < nitems; i++) {
            nmi_sock *s = (nmi_sock *)items[i].sock;
            pfds[i] = (struct pollfd){
                .fd = s ? s->sig.fd : items[i].fd,
                .events = s ? POLLIN
                            : (short)((items[i].events & NM_POLLIN ? POLLIN : 0) |
                                      (items[i].events & NM_POLLOUT ? POLLOUT : 0))};
        }
        int wait = -1;
        if (deadline != 0) {
            uint64_t now = nmi_clock_ns();
            wait = now >= deadline ? 0 : (int)((deadline - now + 999999) / 1000000);
        }
        int rc = poll(pfds, (nfds_t)nitems, wait);
        poll_mark(items, nitems, 0);
        for (int i = 0; i < nitems; i++) {
            uint64_t drain;
            if (items[i].sock != NULL && (pfds[i].revents & POLLIN))
                (void)!read(pfds[i].fd, &drain, sizeof(drain));
        }
        if (rc < 0 && errno != EINTR) {
            ready = -errno;
            break;
        }
        if (rc == 0 && deadline != 0 && nmi_clock_ns() >= deadline) {
            ready = poll_scan(items, nitems, pfds);
            break;
        }
    }
    if (pfds != stack)
        free(pfds);
    return poll_leave(items, nitems, ready);
}
