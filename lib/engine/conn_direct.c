/*
 * conn_direct.c - an application thread reading its connection itself.
 *
 * A receive that finds nothing to take on a socket with one connection (REQ waiting
 * for its reply, REP for the next request, a SUB or PULL with one peer) need not wait
 * for the I/O thread to wake, read, and wake it in turn: it takes the connection's
 * reader (conn->rowner), turns the I/O thread's interest in input off, and reads the
 * descriptor itself (sock.c spins on it for NM_BUSY_POLL, then sleeps in poll() on the
 * descriptor and the socket's signaler).  One thread wakes per message instead of two.
 *
 * The application decodes data frames only.  A command frame, end of file, an error
 * or a frame it cannot take ends its turn: the bytes it did not decode are stashed and
 * the reader goes to the I/O thread with NMI_CMD_READ (nmi_conn_read_handover), which
 * deals with them as it always does.  Turning input back on at the end of a turn makes
 * the poller look at the descriptor again, so the I/O thread hears of anything that
 * came meanwhile.  When the I/O thread needs the descriptor (to close it) it raises
 * rreclaim, wakes the socket's thread and waits for the reader (nmi_conn_claim_reader);
 * the application lets go at once.
 */
#include <errno.h>
#include <sched.h>

#include "engine/engine.h"

/* Most bytes one turn reads while large frames keep coming whole. */
#define DIRECT_TURN_BYTES (1024 * 1024)

/* Gives the reader to the I/O thread with work to do: stashed bytes, a failure, or
 * input it was told about. */
static void direct_handover(nmi_conn *c)
{
    NMI_ASSERT(atomic_load(&c->rowner) == NMI_READER_APP);
    atomic_store(&c->rowner, NMI_READER_IO);
    atomic_fetch_add(&c->refs, 1); /* dropped by nmi_conn_read_handover */
    nmi_io_post(c->io, NMI_CMD_READ, c);
}

/* Lets go of the reader without having changed what the I/O thread watches: input it
 * was told about meanwhile is its to read. */
static void direct_release(nmi_conn *c)
{
    NMI_ASSERT(atomic_load(&c->rowner) == NMI_READER_APP);
    atomic_store(&c->rowner, NMI_READER_NONE);
    atomic_thread_fence(memory_order_seq_cst);
    int none = NMI_READER_NONE;
    if (atomic_load(&c->rpending) && !atomic_load(&c->rreclaim) &&
        atomic_compare_exchange_strong(&c->rowner, &none, NMI_READER_APP))
        direct_handover(c);
}

bool nmi_conn_direct_begin(nmi_conn *c)
{
    int none = NMI_READER_NONE;
    /* CURVE: the I/O thread opens every box (the receive nonce is one reader's).  Told
     * by the connection's settings, fixed before it was shared, not by c->box, which the
     * I/O thread frees when the connection breaks. */
    bool curve = c->opts.sec != NULL && c->opts.sec->mechanism == NM_MECH_CURVE;
    if (c->opts.heartbeat_ivl > 0 || curve || atomic_load(&c->rreclaim) ||
        !atomic_compare_exchange_strong(&c->rowner, &none, NMI_READER_APP))
        return false;
    /* Heartbeats and pauses are the I/O thread's business. */
    if (atomic_load(&c->state) != NMI_CONN_ACTIVE || c->peer_ttl_ms != 0 ||
        atomic_load(&c->rpaused) || c->pipe == NULL) {
        direct_release(c);
        return false;
    }
    nmi_conn_watch(c, 0, -1);
    return true;
}

int nmi_conn_direct_read(nmi_conn *c, uint8_t *buf, size_t cap)
{
    NMI_ASSERT(atomic_load(&c->rowner) == NMI_READER_APP);
    nmi_queue *in = c->pipe->in;
    uint64_t before = atomic_load_explicit(&in->pushed, memory_order_relaxed);
    size_t total = 0;
    for (;;) {
        if (atomic_load(&c->rreclaim))
            return -1;
        if (atomic_load_explicit(&c->rpaused, memory_order_relaxed))
            return 1; /* the queue is full: the application has plenty to take */
        bool direct;
        size_t asked;
        ssize_t n = nmi_conn_read_some(c, buf, cap, &direct, &asked);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return atomic_load_explicit(&in->pushed, memory_order_relaxed) != before;
        if (n <= 0)
            return -1; /* end of file or an error: the I/O thread reads again and sees it */
        if (nmi_conn_input(c, buf, (size_t)n, direct) < 0)
            return -1; /* c->rfail says why */
        nmi_pipe_in_notify(c->pipe);
        if (c->stash != NULL || c->rfail != NULL)
            return -1;
        /* A message came: done, unless it was a large frame read whole with the next
         * header (a stream of large frames is likely) and the turn has read less than
         * its share.  Small frames come by the thousand per read already; reading on
         * would only reach the receive HWM and have the I/O thread resume. */
        total += (size_t)n;
        if (atomic_load_explicit(&in->pushed, memory_order_relaxed) != before &&
            (!direct || (size_t)n < asked || total >= DIRECT_TURN_BYTES))
            return 1;
    }
}

void nmi_conn_direct_end(nmi_conn *c)
{
    NMI_ASSERT(atomic_load(&c->rowner) == NMI_READER_APP);
    if (c->stash != NULL || c->rfail != NULL) {
        nmi_conn_watch(c, 1, -1);
        direct_handover(c);
        return;
    }
    /* Watching input again re-reads the descriptor's state: whatever came or happened
     * meanwhile (data, end of file, an error) reaches the I/O thread then, so what it
     * was told during the turn is moot.  Released first, so that it can act at once
     * (nmi_conn_watch leaves a descriptor the I/O thread closed or replaced alone). */
    atomic_store(&c->rpending, 0);
    atomic_store(&c->rowner, NMI_READER_NONE);
    nmi_conn_watch(c, 1, -1);
}

bool nmi_conn_claim_reader(nmi_conn *c)
{
    if (atomic_load(&c->rowner) == NMI_READER_IO)
        return false;
    atomic_store(&c->rreclaim, 1);
    nmi_signaler_send(&c->sock->sig);
    /* The application lets go either way: to NONE (taken here), or with work for the
     * I/O thread, straight to IO (direct_handover, also from direct_release's re-take).
     * That hand-back is this thread's already; its NMI_CMD_READ, queued behind this
     * call, gives it back to NONE, so waiting for NONE here would wait forever. */
    int seen = NMI_READER_NONE;
    while (!atomic_compare_exchange_strong(&c->rowner, &seen, NMI_READER_IO) &&
           seen != NMI_READER_IO) {
        seen = NMI_READER_NONE;
        sched_yield(); /* the application thread is between two reads */
    }
    NMI_ASSERT(atomic_load(&c->rowner) == NMI_READER_IO);
    atomic_store(&c->rreclaim, 0);
    return seen == NMI_READER_NONE;
}
