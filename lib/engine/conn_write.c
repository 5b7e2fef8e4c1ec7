/*
 * conn_write.c - the write side of a connection: who writes, and how messages become
 * bytes on the descriptor.
 *
 * The writer is whoever holds conn->wowner.  When an application thread queues a
 * message on an idle connection it takes wowner and writes the message itself, one
 * syscall and no thread hand-off (the latency path).  When messages come back to back
 * (the last write on this connection, or the sending thread's last direct write on this
 * socket, ended less than CONN_STREAM_GAP_NS ago), or the sending thread is working
 * through received messages that were already waiting (sock->in_backlog: a busy server
 * replying), it passes wowner to the I/O thread instead, which keeps encoding whatever
 * the application queues meanwhile into large batches (the throughput path).  Frames up
 * to CONN_COPY_MAX bytes are copied into the batch buffer; larger frame bodies are
 * written from their own buffers with sendmsg's iovec, never copied.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "engine/engine.h"

#define CONN_WBUF_SIZE     (64 * 1024)
#define CONN_WBUF_GREET    512 /* a greeting and a READY: what a connection in handshake writes */
#define CONN_WBUF_FILL     (48 * 1024)
#define CONN_COPY_MAX      8192
#define CONN_STREAM_GAP_NS 5000
#define CONN_IOV_MAX       ((int)(sizeof(((nmi_conn *)0)->iov) / sizeof(struct iovec)))
#define CONN_HELD_MAX      ((int)(sizeof(((nmi_conn *)0)->held) / sizeof(nmi_msg)))

/* Ensures room for n more bytes in wbuf; only grows an empty buffer (iov points in).
 * Until its handshake is done a connection gets a small buffer, so that connections
 * held half-open by a peer cost little; then one a batch fills. */
static int conn_wbuf_reserve(nmi_conn *c, size_t n)
{
    size_t cap = atomic_load(&c->state) == NMI_CONN_ACTIVE ? CONN_WBUF_SIZE : CONN_WBUF_GREET;
    cap = n > cap ? n : cap;
    if (c->wbuf != NULL && c->wbuf_len + n <= c->wbuf_cap &&
        (c->wbuf_len > 0 || c->wbuf_cap >= cap))
        return 0;
    if (c->wbuf != NULL && c->wbuf_len > 0)
        return -ENOBUFS;
    uint8_t *b = realloc(c->wbuf, cap);
    if (b == NULL)
        return -ENOMEM;
    c->wbuf = b;
    c->wbuf_cap = cap;
    return 0;
}

/* Closes the open wbuf slice into an iov entry. */
static void conn_seg_close(nmi_conn *c)
{
    if (c->wbuf_len > c->wseg) {
        c->iov[c->niov++] = (struct iovec){c->wbuf + c->wseg, c->wbuf_len - c->wseg};
        c->wseg = c->wbuf_len;
    }
}

int nmi_conn_out_bytes(nmi_conn *c, const void *p, size_t n)
{
    if (c->niov >= CONN_IOV_MAX)
        return -ENOBUFS;
    int rc = conn_wbuf_reserve(c, n);
    if (rc < 0)
        return rc;
    memcpy(c->wbuf + c->wbuf_len, p, n);
    c->wbuf_len += n;
    conn_seg_close(c);
    return 0;
}

void nmi_conn_out_reset(nmi_conn *c)
{
    for (int i = 0; i < c->nheld; i++)
        nmi_msg_clear(&c->held[i]);
    c->nheld = 0;
    c->niov = c->iov_at = 0;
    c->wbuf_len = c->wseg = 0;
}

/* What a frame adds to its body on the wire: a header, or with CURVE a sealed MESSAGE. */
static size_t conn_frame_overhead(const nmi_conn *c)
{
    return c->box != NULL ? NMI_CURVE_MSG_OVERHEAD : NMI_ZMTP_MAX_HEADER;
}

/* Encoded size of m's headers and copied bodies, and how many bodies go by iov (none
 * with CURVE: every frame is sealed into wbuf). */
static size_t conn_msg_copy_bytes(nmi_conn *c, nmi_msg *m, int *nlarge)
{
    size_t bytes = 0, copy_max = c->box != NULL ? SIZE_MAX : CONN_COPY_MAX;
    *nlarge = 0;
    for (uint32_t i = 0; i < m->n; i++) {
        nmi_frame *f = nmi_msg_frame(m, i);
        bytes += conn_frame_overhead(c) + 16; /* 16: room for a SUBSCRIBE command's name */
        if (f->size <= copy_max)
            bytes += f->size;
        else
            (*nlarge)++;
    }
    return bytes;
}

/* Appends one frame to wbuf: a header and the body, or with CURVE both sealed in a
 * MESSAGE.  The body may already be in wbuf, at conn_frame_overhead() past the end or
 * further (it is moved into place). */
static void conn_put_frame(nmi_conn *c, uint8_t flags, const uint8_t *data, size_t len)
{
    uint8_t *out = c->wbuf + c->wbuf_len;
    if (c->box != NULL) {
        c->wbuf_len += nmi_curve_seal(c->box, out, flags, data, len);
        return;
    }
    size_t h = nmi_zmtp_header_encode(out, flags, len);
    memmove(out + h, data, len);
    c->wbuf_len += h + len;
}

int nmi_conn_out_frame(nmi_conn *c, const uint8_t *frame, size_t n)
{
    if (c->box == NULL)
        return nmi_conn_out_bytes(c, frame, n);
    nmi_zmtp_header h;
    int hl = nmi_zmtp_header_decode(frame, n, -1, &h);
    if (c->niov >= CONN_IOV_MAX || hl <= 0 || h.size != n - (size_t)hl)
        return -ENOBUFS;
    int rc = conn_wbuf_reserve(c, n + NMI_CURVE_MSG_OVERHEAD);
    if (rc < 0)
        return rc;
    conn_put_frame(c, h.flags, frame + hl, (size_t)h.size);
    conn_seg_close(c);
    return 0;
}

/* A SUB or XSUB's subscription (one frame starting 0x01, or 0x00 to cancel) goes to a
 * ZMTP 3.1 peer as a SUBSCRIBE or CANCEL command; 3.0 peers get the data frame as is.
 * Returns true if m was written as a command. */
static bool conn_encode_sub(nmi_conn *c, nmi_msg *m)
{
    nmi_frame *f = &m->first;
    if (!(c->sock->proto->flags & NMI_PROTO_SENDS_SUBS) || c->peer_minor < 1 || m->n != 1 ||
        f->size == 0 || f->size > CONN_COPY_MAX)
        return false;
    const uint8_t *d = nmi_frame_data(f);
    if (d[0] > 1)
        return false;
    const char *name = d[0] ? "SUBSCRIBE" : "CANCEL";
    size_t nlen = strlen(name), plen = f->size - 1;
    uint8_t *body = c->wbuf + c->wbuf_len + conn_frame_overhead(c); /* moved into place */
    body[0] = (uint8_t)nlen;
    memcpy(body + 1, name, nlen);
    memcpy(body + 1 + nlen, d + 1, plen);
    conn_put_frame(c, NMI_ZMTP_COMMAND, body, 1 + nlen + plen);
    return true;
}

/* Appends one message's frames to the output; bodies over CONN_COPY_MAX by reference
 * unless `copy_all`.  Returns true if the message must be held until written. */
static bool conn_encode_msg(nmi_conn *c, nmi_msg *m, bool copy_all)
{
    if (conn_encode_sub(c, m))
        return false;
    bool raw = c->sock->proto->flags & NMI_PROTO_RAW; /* STREAM: bytes only, no framing */
    bool held = false;
    for (uint32_t i = 0; i < m->n; i++) {
        nmi_frame *f = nmi_msg_frame(m, i);
        uint8_t flags = i + 1 < m->n ? NMI_ZMTP_MORE : 0;
        if (c->box != NULL) {
            conn_put_frame(c, flags, nmi_frame_data(f), f->size);
            continue;
        }
        if (!raw)
            c->wbuf_len += nmi_zmtp_header_encode(c->wbuf + c->wbuf_len, flags, f->size);
        if (f->size <= CONN_COPY_MAX || copy_all) {
            memcpy(c->wbuf + c->wbuf_len, nmi_frame_data(f), f->size);
            c->wbuf_len += f->size;
        } else {
            conn_seg_close(c);
            c->iov[c->niov++] = (struct iovec){nmi_frame_data(f), f->size};
            held = true;
        }
    }
    return held;
}

/* Moves queued messages into the output until a batch is full.  False if none. */
static bool conn_encode(nmi_conn *c)
{
    nmi_pipe *p = c->pipe;
    if (p == NULL)
        return false;
    bool any = false;
    nmi_msg *m;
    while (c->wbuf_len < CONN_WBUF_FILL && c->nheld < CONN_HELD_MAX &&
           (m = nmi_queue_peek(p->out)) != NULL) {
        int nlarge;
        size_t need = conn_msg_copy_bytes(c, m, &nlarge);
        bool copy_all = false;
        if (c->niov + 2 * nlarge + 1 > CONN_IOV_MAX) {
            if (c->niov > 0)
                break;
            copy_all = true; /* a message of very many large frames: copy it whole */
            need = nm_msg_bytes((nm_msg_t *)m) + m->n * NMI_ZMTP_MAX_HEADER;
        }
        int rc = conn_wbuf_reserve(c, need);
        if (rc == -ENOBUFS)
            break;
        if ((c->sock->proto->flags & NMI_PROTO_RAW) && nm_msg_bytes((nm_msg_t *)m) == 0) {
            /* STREAM: an empty message asks to close once what came before is out. */
            nmi_msg empty;
            nmi_queue_pop(p->out, &empty);
            nmi_msg_clear(&empty);
            c->close_requested = true;
            break;
        }
        nmi_msg msg;
        nmi_queue_pop(p->out, &msg);
        if (rc < 0) {
            nmi_msg_clear(&msg);
            nmi_pipe_drop_in(p, "out of memory"); /* writer side: not the socket thread */
            continue;
        }
        nmi_count(&p->msgs_out, 1);
        nmi_count(&p->bytes_out, nm_msg_bytes((nm_msg_t *)&msg));
        if (conn_encode_msg(c, &msg, copy_all))
            c->held[c->nheld++] = msg;
        else
            nmi_msg_clear(&msg);
        any = true;
    }
    conn_seg_close(c);
    if (any)
        nmi_pipe_out_notify(p);
    return any || c->close_requested;
}

/* Writes pending output: 0 when all written, -EAGAIN when the kernel is full, or a
 * negative error. */
static int conn_write(nmi_conn *c)
{
    while (c->iov_at < c->niov) {
        struct msghdr mh = {.msg_iov = &c->iov[c->iov_at],
                            .msg_iovlen = (size_t)(c->niov - c->iov_at)};
        ssize_t n = sendmsg(c->pollable.fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN || errno == EWOULDBLOCK ? -EAGAIN : -errno;
        }
        atomic_store_explicit(&c->last_write_ns, nmi_clock_ns(), memory_order_relaxed);
        size_t left = (size_t)n;
        while (c->iov_at < c->niov && left >= c->iov[c->iov_at].iov_len)
            left -= c->iov[c->iov_at++].iov_len;
        if (left > 0) {
            c->iov[c->iov_at].iov_base = (uint8_t *)c->iov[c->iov_at].iov_base + left;
            c->iov[c->iov_at].iov_len -= left;
        }
    }
    nmi_conn_out_reset(c);
    return 0;
}

/* Application: give the writer to the I/O thread (it keeps wowner held). */
static void conn_handoff(nmi_conn *c)
{
    atomic_fetch_add(&c->refs, 1);
    atomic_store(&c->handoff, 1);
    nmi_io_post(c->io, NMI_CMD_FLUSH, c);
}

void nmi_conn_flush(nmi_conn *c, bool io_side)
{
    /* The writer's holder flushes: the I/O thread with io_owns, else a sender with
     * wowner (engine.h's table). */
    NMI_ASSERT(io_side ? c->io_owns : atomic_load(&c->wowner) == 1);
    for (;;) {
        int rc = conn_write(c);
        if (rc < 0) {
            if (!io_side)
                conn_handoff(c);
            else if (rc == -EAGAIN && !c->wblocked) {
                c->wblocked = true;
                nmi_conn_watch(c, -1, 1);
            } else if (rc != -EAGAIN) {
                nmi_conn_lost_io(c, -rc, strerror(-rc));
            }
            return;
        }
        if (c->wblocked) {
            c->wblocked = false;
            nmi_conn_watch(c, -1, 0);
        }
        if (c->close_requested) {
            if (!io_side)
                conn_handoff(c); /* only the I/O thread closes connections */
            else
                nmi_conn_close_asked(c);
            return;
        }
        if (atomic_load(&c->state) != NMI_CONN_ACTIVE) {
            /* Handshaking or broken: the I/O thread keeps (or is waiting for) the writer. */
            if (!io_side)
                atomic_store(&c->wowner, 0);
            return;
        }
        if (conn_encode(c))
            continue;
        if (c->closing) {
            nmi_conn_broken(c, NULL); /* lingering, and all is written */
            return;
        }
        /* Release the writer, then look again: a message queued just before the
         * release would otherwise wait for the next send.  c->pipe is read before the
         * release: once released, the I/O thread may detach it (the pipe itself stays
         * alive: the socket, whose thread this is or which only the I/O thread frees,
         * still holds it). */
        nmi_pipe *p = c->pipe;
        if (io_side)
            c->io_owns = false;
        atomic_store(&c->wowner, 0);
        if (p == NULL || nmi_queue_count(p->out) == 0)
            return;
        int zero = 0;
        if (!atomic_compare_exchange_strong(&c->wowner, &zero, 1))
            return;
        if (io_side)
            c->io_owns = true;
    }
}

void nmi_conn_kick(nmi_conn *c)
{
    atomic_thread_fence(memory_order_seq_cst);
    nmi_conn_kick_fenced(c);
}

void nmi_conn_kick_fenced(nmi_conn *c)
{
    if (atomic_load_explicit(&c->wowner, memory_order_relaxed))
        return;
    int zero = 0;
    if (!atomic_compare_exchange_strong(&c->wowner, &zero, 1))
        return;
    if (atomic_load(&c->state) != NMI_CONN_ACTIVE) {
        atomic_store(&c->wowner, 0); /* the I/O thread flushes when it connects */
        return;
    }
    /* Back to back means: this connection was written a moment ago, or this socket's
     * thread has just made a direct write (a PUB fanning one message out to many
     * subscribers writes the first directly and hands the others to the I/O thread), or
     * it is working through received messages that were waiting (a ROUTER serving many
     * busy peers: its I/O thread writes each connection's replies together, where
     * direct writes would make one small write per reply). */
    uint64_t now = nmi_clock_ns();
    uint64_t last = atomic_load_explicit(&c->last_write_ns, memory_order_relaxed);
    nmi_sock *s = c->sock;
    if (now - last < CONN_STREAM_GAP_NS || now - s->last_direct_ns < CONN_STREAM_GAP_NS ||
        s->in_backlog) {
        conn_handoff(c);
    } else {
        nmi_conn_flush(c, false);
        s->last_direct_ns = nmi_clock_ns();
    }
}

void nmi_conn_take_writer(nmi_conn *c)
{
    while (!c->io_owns) {
        int zero = 0;
        if (atomic_exchange(&c->handoff, 0) || atomic_compare_exchange_strong(&c->wowner, &zero, 1))
            c->io_owns = true;
        else
            sched_yield(); /* an application thread is inside one write() */
    }
    NMI_ASSERT(atomic_load(&c->wowner) == 1);
}

void nmi_conn_flush_cmd(nmi_conn *c)
{
    if (atomic_exchange(&c->handoff, 0))
        c->io_owns = true;
    int st = atomic_load(&c->state);
    if (c->io_owns && st != NMI_CONN_DEAD && st != NMI_CONN_WAIT && st != NMI_CONN_CONNECTING)
        nmi_conn_flush(c, true);
    nmi_io_defer_release(c->io, c);
}
