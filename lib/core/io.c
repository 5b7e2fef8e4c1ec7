/*
 * io.c - the I/O thread: one poller loop that accepts, connects, reads and writes in
 * batches, runs reconnect and linger timers, and executes commands posted by
 * application threads.
 *
 * Objects released while a batch of readiness events is being dispatched are only
 * dropped after the batch (the zombie list), so a later event in the same batch never
 * points at freed memory.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/engine.h"

#define IO_RBUF_SIZE (256 * 1024)

static void io_grow(void ***arr, size_t *cap, size_t need)
{
    if (need <= *cap)
        return;
    size_t n = *cap ? *cap * 2 : 16;
    void **a = reallocarray(*arr, n, sizeof(void *));
    if (a == NULL)
        abort(); /* out of memory for an internal list */
    *arr = a;
    *cap = n;
}

void nmi_io_post(nmi_io *io, int type, void *obj)
{
    if (nmi_cmdq_push(&io->cmds, type, obj))
        nmi_signaler_send(&io->sig);
}

void nmi_io_timer_set(nmi_io *io, nmi_conn *c, uint64_t at)
{
    if (c->timer_at == 0 && at != 0) {
        io_grow((void ***)&io->timers, &io->cap_timers, io->ntimers + 1);
        io->timers[io->ntimers++] = c;
    } else if (c->timer_at != 0 && at == 0) {
        for (size_t i = 0; i < io->ntimers; i++) {
            if (io->timers[i] == c) {
                io->timers[i] = io->timers[--io->ntimers];
                break;
            }
        }
    }
    c->timer_at = at;
}

void nmi_io_defer_release(nmi_io *io, nmi_conn *c)
{
    io_grow((void ***)&io->zombies, &io->cap_zombies, io->nzombies + 1);
    io->zombies[io->nzombies++] = c;
}

void nmi_io_read_again(nmi_io *io, nmi_conn *c)
{
    atomic_fetch_add(&c->refs, 1);
    io_grow((void ***)&io->again, &io->cap_again, io->nagain + 1);
    io->again[io->nagain++] = c;
}

/* Gives each conn waiting for another read turn its turn (those that use it up again
 * queue behind the ones already waiting). */
static void io_run_again(nmi_io *io)
{
    size_t n = io->nagain;
    if (n == 0)
        return;
    for (size_t i = 0; i < n; i++) {
        nmi_conn *c = io->again[i];
        nmi_conn_read(c);
        nmi_io_defer_release(io, c);
    }
    memmove(io->again, io->again + n, (io->nagain - n) * sizeof(*io->again));
    io->nagain -= n;
}

static void io_close_sock(nmi_io *io, nmi_sock *s);

/* The writer's invariants (engine.h) as the I/O thread sees them between two events. */
static void io_check_writer(nmi_conn *c)
{
    NMI_ASSERT(!c->io_owns || atomic_load(&c->wowner) == 1);
    NMI_ASSERT(!atomic_load(&c->handoff) || (atomic_load(&c->wowner) == 1 && !c->io_owns));
}

static void io_run_cmds(nmi_io *io)
{
    nmi_cmd *cmds;
    size_t n = nmi_cmdq_take(&io->cmds, &cmds);
    for (size_t i = 0; i < n; i++) {
        switch (cmds[i].type) {
        case NMI_CMD_LISTEN:
            nmi_listener_start(cmds[i].obj);
            break;
        case NMI_CMD_CONNECT:
            nmi_conn_start(cmds[i].obj);
            break;
        case NMI_CMD_DISCONNECT:
            nmi_conn_disconnect(cmds[i].obj);
            break;
        case NMI_CMD_UNBIND:
            nmi_listener_unbind(cmds[i].obj);
            break;
        case NMI_CMD_FLUSH:
            io_check_writer(cmds[i].obj);
            nmi_conn_flush_cmd(cmds[i].obj);
            break;
        case NMI_CMD_RESUME:
            NMI_ASSERT(atomic_load(&((nmi_conn *)cmds[i].obj)->resume_posted) == 1);
            nmi_conn_resume(cmds[i].obj);
            break;
        case NMI_CMD_READ:
            NMI_ASSERT(atomic_load(&((nmi_conn *)cmds[i].obj)->rowner) == NMI_READER_IO);
            nmi_conn_read_handover(cmds[i].obj);
            break;
        case NMI_CMD_CLOSE:
            io_close_sock(io, cmds[i].obj);
            break;
        case NMI_CMD_STOP:
            io->stop = true;
            break;
        }
    }
    free(cmds);
}

static void io_close_sock(nmi_io *io, nmi_sock *s)
{
    s->closing = true;
    io_grow((void ***)&io->closing, &io->cap_closing, io->nclosing + 1);
    io->closing[io->nclosing++] = s;
    nmi_listener *l;
    while ((l = LIST_FIRST(&s->listeners)) != NULL)
        nmi_listener_close(l);
    /* LINGER is the socket's at its close, as in libzmq, not what it was when each
     * connection began (the application let go of the socket with this command). */
    nmi_conn *c, *next;
    LIST_FOREACH_SAFE(c, &s->conns, sock_entry, next)
    {
        c->opts.linger = s->opts.linger;
        nmi_conn_close(c);
    }
}

/* Runs expired timers; returns ms until the next one (-1 = none). */
static int io_run_timers(nmi_io *io)
{
    uint64_t now = nmi_clock_ns();
    uint64_t next = 0;
    for (size_t i = 0; i < io->ntimers;) {
        nmi_conn *c = io->timers[i];
        if (c->timer_at <= now) {
            c->timer_at = 0;
            io->timers[i] = io->timers[--io->ntimers];
            io_check_writer(c);
            nmi_conn_timer(c);
            continue;
        }
        if (next == 0 || c->timer_at < next)
            next = c->timer_at;
        i++;
    }
    if (next == 0)
        return -1;
    return (int)((next - now + 999999) / 1000000);
}

static void io_sig_cb(nmi_pollable *p, unsigned events)
{
    (void)p;
    (void)events;
}

/* Drops deferred references, then frees closed sockets whose conns have all gone. */
static void io_reap(nmi_io *io)
{
    for (size_t i = 0; i < io->nzombies; i++)
        nmi_conn_release(io->zombies[i]);
    io->nzombies = 0;
    for (size_t i = 0; i < io->nclosing;) {
        nmi_sock *s = io->closing[i];
        if (LIST_EMPTY(&s->conns)) {
            io->closing[i] = io->closing[--io->nclosing];
            nmi_sock_free(s);
        } else {
            i++;
        }
    }
}

static void *io_main(void *arg)
{
    nmi_io *io = arg;
    while (!io->stop) {
        int timeout = io_run_timers(io);
        io_reap(io);
        if (atomic_load(&io->cmds.pending)) {
            io_run_cmds(io);
            io_reap(io);
            continue;
        }
        nmi_poller_wait(io->pfd, io->nagain > 0 ? 0 : timeout);
        uint64_t v;
        (void)!read(io->sig.fd, &v, sizeof(v));
        io_reap(io);
        io_run_cmds(io);
        io_run_again(io);
        io_reap(io);
    }
    return NULL;
}

int nmi_io_start(nmi_io *io, nmi_ctx *ctx, int index)
{
    io->ctx = ctx;
    io->index = index;
    io->nsocks = 0;
    io->stop = false;
    io->timers = NULL;
    io->ntimers = io->cap_timers = 0;
    io->zombies = NULL;
    io->nzombies = io->cap_zombies = 0;
    io->again = NULL;
    io->nagain = io->cap_again = 0;
    io->closing = NULL;
    io->nclosing = io->cap_closing = 0;
    io->rbuf_size = IO_RBUF_SIZE;
    io->rbuf = malloc(io->rbuf_size);
    if (io->rbuf == NULL)
        return -ENOMEM;
    nmi_cmdq_init(&io->cmds);
    int rc = nmi_signaler_init(&io->sig);
    if (rc == 0)
        rc = nmi_poller_new(&io->pfd);
    if (rc < 0)
        return rc;
    io->sig_pollable.fd = io->sig.fd;
    io->sig_pollable.cb = io_sig_cb;
    nmi_poller_add(io->pfd, &io->sig_pollable, false);
    rc = -pthread_create(&io->thread, NULL, io_main, io);
    if (rc == 0) {
        char name[16];
        snprintf(name, sizeof(name), "nomid-io/%d", index);
        pthread_setname_np(io->thread, name);
    }
    return rc;
}

void nmi_io_stop(nmi_io *io)
{
    nmi_io_post(io, NMI_CMD_STOP, NULL);
    pthread_join(io->thread, NULL);
    close(io->pfd);
    nmi_signaler_fini(&io->sig);
    nmi_cmdq_fini(&io->cmds);
    free(io->timers);
    for (size_t i = 0; i < io->nagain; i++)
        nmi_conn_release(io->again[i]);
    free(io->again);
    free(io->zombies);
    free(io->closing);
    free(io->rbuf);
}
