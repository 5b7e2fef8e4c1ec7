/*
 * conn_read.c - the input side of a connection: the greeting, then frames read into
 * messages on the pipe (commands go to conn_cmd.c), within the limits on what a peer
 * may cost (README, "Limits"): frame bodies that grow as their bytes arrive, multipart
 * messages, commands.
 *
 * Reads go into the I/O thread's shared buffer and are decoded from there; a frame
 * body too large to be worth copying is read straight into its message buffer, with
 * only the next frame's header behind it (nmi_conn_read_some).  The reader is whoever
 * holds conn->rowner: the I/O thread, or an application thread reading its connection
 * itself (conn_direct.c), which decodes data frames only.  Any protocol violation
 * closes this connection with a logged reason and nothing else.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/engine.h"

#define CONN_DIRECT_MIN (16 * 1024)
/* Bytes one connection may read per turn of the I/O thread while others wait. */
#define CONN_READ_TURN (1024 * 1024)
/* Frames up to this size get all their storage when their header arrives.  A larger
 * one gets what has arrived of it (in hand and queued in the kernel), at least this
 * much, and grows fourfold as more comes, so a header that claims 2^40 bytes costs what
 * the peer really sent, never what it claims: three hundred connections each holding
 * such a claim cost 300 x 8 KiB.  Command bodies start at CONN_CMD_EAGER and double. */
#define CONN_BODY_EAGER (8 * 1024)
#define CONN_CMD_EAGER  1024
/* Commands other than READY and subscriptions are small (PING, PONG, ERROR); unknown
 * ones, which RFC 37 says to ignore, may not be larger than this. */
#define CONN_CMD_SMALL (64 * 1024)
/* In cur_flags, beside the wire's: a CURVE MESSAGE, opened when complete (its body is
 * kept and grows as a command's). */
#define CONN_SEALED 0x80

/* A message was queued on pipe->in: at the receive HWM the reader pauses (the
 * application resumes it with NMI_CMD_RESUME once it has taken half). */
static void conn_queued(nmi_conn *c)
{
    nmi_pipe *p = c->pipe;
    int hwm = atomic_load_explicit(&p->rcvhwm, memory_order_relaxed);
    if (hwm <= 0 || nmi_queue_count(p->in) < (uint64_t)hwm)
        return;
    atomic_fetch_add_explicit(&p->hwm_hits, 1, memory_order_relaxed);
    nmi_monitor(c->sock, NM_EVENT_HWM_REACHED, (uint32_t)hwm, c->endpoint, "receive");
    atomic_store(&c->rpaused, 1);
    /* The application may have drained the queue before it could see rpaused (it
     * looks again, after a fence, when it finds the queue empty). */
    atomic_thread_fence(memory_order_seq_cst);
    if (nmi_queue_count(p->in) <= (uint64_t)(hwm / 2))
        atomic_store(&c->rpaused, 0);
}

/* STREAM: what one read brought becomes one message. */
static void conn_stream_data(nmi_conn *c, const uint8_t *p, size_t n)
{
    nmi_msg m = {0};
    nmi_frame *f = nmi_msg_push_frame(&m);
    uint8_t *d = f ? nmi_frame_alloc(f, n) : NULL;
    if (d == NULL) {
        nmi_msg_clear(&m);
        nmi_pipe_drop_in(c->pipe, "out of memory");
        return;
    }
    memcpy(d, p, n);
    nmi_conn_meta_give(c, &m);
    nmi_count(&c->pipe->msgs_in, 1);
    nmi_count(&c->pipe->bytes_in, n);
    if (nmi_queue_push(c->pipe->in, &m) < 0)
        nmi_msg_clear(&m);
    conn_queued(c);
}

/* ---- reading --------------------------------------------------------------------- */

/* True when the reader is an application thread (conn_direct.c). */
static bool conn_app_reads(nmi_conn *c)
{
    return atomic_load_explicit(&c->rowner, memory_order_relaxed) == NMI_READER_APP;
}

/* A frame the reader cannot take: the I/O thread drops the peer; an application
 * thread reading directly leaves that to the I/O thread. */
static void conn_fail(nmi_conn *c, const char *why)
{
    if (conn_app_reads(c))
        c->rfail = why;
    else
        nmi_conn_reject(c, why);
}

/* True if m is a subscription in the ZMTP 3.0 form: one frame, 0x01 or 0x00, a prefix. */
static bool conn_is_sub_msg(nmi_msg *m)
{
    return m->n == 1 && m->first.size > 0 && nmi_frame_data(&m->first)[0] <= 1;
}

/* A data frame is complete in c->cur (its flags in c->cur_flags). */
static int conn_data_done(nmi_conn *c)
{
    if (c->cur_flags & NMI_ZMTP_MORE)
        return 0;
    c->cur_more_bytes = 0;
    nmi_pipe *p = c->pipe;
    if ((c->sock->proto->flags & NMI_PROTO_TAKES_SUBS) && conn_is_sub_msg(&c->cur)) {
        bool cancel = nmi_frame_data(&c->cur.first)[0] == 0;
        const char *over = nmi_conn_sub_count(c, c->cur.first.size - 1, cancel);
        if (over != NULL) {
            conn_fail(c, over);
            return -1;
        }
    }
    nmi_conn_meta_give(c, &c->cur);
    nmi_count(&p->msgs_in, 1);
    nmi_count(&p->bytes_in, nm_msg_bytes((nm_msg_t *)&c->cur));
    if (p->conflate) {
        nmi_pipe_conflate_in(p, &c->cur); /* one message at most: no HWM */
        return 0;
    }
    if (nmi_queue_push(p->in, &c->cur) < 0) {
        nmi_msg_clear(&c->cur);
        nmi_pipe_drop_in(p, "out of memory");
    }
    conn_queued(c);
    return 0;
}

/* The largest command the peer may send now: its READY while in the handshake (the
 * codec bounds metadata), then a subscription within the socket's byte limit, or a
 * small command. */
static uint64_t conn_cmd_max(nmi_conn *c)
{
    if (atomic_load(&c->state) != NMI_CONN_ACTIVE)
        return 1 + 255 + NMI_ZMTP_METADATA_MAX;
    if (!(c->sock->proto->flags & NMI_PROTO_TAKES_SUBS))
        return CONN_CMD_SMALL;
    if (c->opts.subs_maxbytes < 0)
        return UINT64_MAX;
    uint64_t sub_max = 1 + 9 + (uint64_t)c->opts.subs_maxbytes; /* "SUBSCRIBE", a prefix */
    return sub_max > CONN_CMD_SMALL ? sub_max : CONN_CMD_SMALL;
}

/* A data frame of a multipart message past the socket's limits: why, or NULL. */
static const char *conn_multipart_over(nmi_conn *c, const nmi_zmtp_header *h)
{
    if (c->opts.multipart_maxframes > 0 && c->cur.n >= (uint32_t)c->opts.multipart_maxframes)
        return "multipart message over NM_MULTIPART_MAXFRAMES frames";
    if ((h->flags & NMI_ZMTP_MORE) && c->opts.multipart_maxbytes >= 0 &&
        h->size > (uint64_t)c->opts.multipart_maxbytes - c->cur_more_bytes)
        return "multipart message over NM_MULTIPART_MAXBYTES bytes";
    return NULL;
}

/* A CURVE MESSAGE is complete: open it, then it is the command or the data frame it
 * holds, within the same limits as one in clear. */
static int conn_sealed_done(nmi_conn *c)
{
    uint8_t *body = c->cmd_body, flags, *data;
    c->cmd_body = NULL;
    size_t n;
    const char *why;
    uint32_t code;
    int rc = nmi_curve_open(c->box, body, c->body_size, &flags, &data, &n, &why, &code);
    if (rc == 0 && (flags & NMI_ZMTP_COMMAND)) {
        rc = n <= conn_cmd_max(c) ? nmi_conn_command(c, data, n) : -1;
        why = rc < 0 && n > conn_cmd_max(c) ? "command frame too large" : NULL;
    } else if (rc == 0) {
        nmi_zmtp_header h = {.flags = flags, .size = n};
        why = c->opts.maxmsgsize >= 0 && n > (uint64_t)c->opts.maxmsgsize
                  ? "frame larger than MAXMSGSIZE"
                  : conn_multipart_over(c, &h);
        nmi_frame *f = why == NULL ? nmi_msg_push_frame(&c->cur) : NULL;
        uint8_t *d = f != NULL ? nmi_frame_alloc(f, n) : NULL;
        if (why == NULL && d == NULL) {
            if (f != NULL)
                c->cur.n--;
            why = "out of memory for a frame";
        }
        if (why == NULL) {
            memcpy(d, data, n);
            if (flags & NMI_ZMTP_MORE)
                c->cur_more_bytes += n;
            c->cur_flags = flags;
            rc = conn_data_done(c);
        }
    }
    free(body);
    if (why != NULL)
        nmi_conn_reject(c, why);
    return why != NULL ? -1 : rc;
}

/* A frame's body is complete. */
static int conn_frame_done(nmi_conn *c)
{
    c->in_body = false;
    if (c->cur_flags & CONN_SEALED)
        return conn_sealed_done(c);
    if (c->cur_flags & NMI_ZMTP_COMMAND) {
        uint8_t *body = c->cmd_body;
        c->cmd_body = NULL;
        int rc = nmi_conn_command(c, body, c->body_size);
        free(body);
        return rc;
    }
    return conn_data_done(c);
}

/* The largest frame on the wire: MAXMSGSIZE (-1: none); with CURVE, a MESSAGE holding
 * such a frame or the largest command. */
static int64_t conn_frame_max(nmi_conn *c)
{
    if (c->box == NULL || c->opts.maxmsgsize < 0)
        return c->opts.maxmsgsize;
    uint64_t cmd = conn_cmd_max(c), data = (uint64_t)c->opts.maxmsgsize;
    uint64_t most = cmd > data ? cmd : data;
    return most >= (uint64_t)INT64_MAX - NMI_CURVE_MSG_OVERHEAD
               ? -1
               : (int64_t)(most + NMI_CURVE_MSG_OVERHEAD);
}

/* Storage for a data frame's body: all of it, or (a large one) what has arrived, unless
 * the message pool has a buffer of the whole size cached: that costs no new memory, and
 * saves the copies of growing (a 4 MiB body would copy 2.7 MB on its way up). */
static uint8_t *conn_body_alloc(nmi_conn *c, uint64_t size, size_t in_hand)
{
    nmi_frame *f = nmi_msg_push_frame(&c->cur);
    if (f == NULL)
        return NULL;
    uint64_t cap = size;
    if (size > CONN_BODY_EAGER && size > in_hand) {
        cap = in_hand + (uint64_t)nmi_fd_queued(c->pollable.fd);
        cap = cap < CONN_BODY_EAGER ? CONN_BODY_EAGER : cap < size ? cap : size;
    }
    uint8_t *b = cap < size ? nmi_frame_alloc_cached(f, (size_t)size) : NULL;
    if (b != NULL) {
        c->body_cap = (size_t)size;
        return b;
    }
    c->body_cap = (size_t)cap;
    b = cap < size ? nmi_frame_alloc_partial(f, size, c->body_cap) : nmi_frame_alloc(f, size);
    if (b == NULL)
        c->cur.n--;
    return b;
}

/* Makes room in the body for `need` more bytes that have arrived (or, need 0, for at
 * least one): a partly allocated body grows (commands double, frames quadruple), never
 * past its size.  0, or -1 if memory ran out. */
static int conn_body_grow(nmi_conn *c, size_t need)
{
    size_t room = c->body_cap - c->body_got;
    if (room >= need && room > 0)
        return 0;
    bool cmd = c->cur_flags & (NMI_ZMTP_COMMAND | CONN_SEALED);
    size_t cap = c->body_cap * (cmd ? 2 : 4);
    cap = cap > c->body_got + need ? cap : c->body_got + need;
    cap = cap < c->body_size ? cap : c->body_size;
    uint8_t *b;
    if (cmd) {
        b = realloc(c->cmd_body, cap);
        if (b != NULL)
            c->cmd_body = b;
    } else {
        b = nmi_frame_grow(nmi_msg_frame(&c->cur, c->cur.n - 1), c->body_got, cap);
    }
    if (b == NULL)
        return -1;
    c->body = b;
    c->body_cap = cap;
    return 0;
}

/* A frame's header has come, with in_hand bytes behind it in the read buffer. */
static int conn_frame_begin(nmi_conn *c, const nmi_zmtp_header *h, size_t in_hand)
{
    c->cur_flags = h->flags;
    c->body_size = h->size;
    c->body_got = 0;
    if (c->box != NULL) /* CURVE: every frame is a MESSAGE */
        c->cur_flags = CONN_SEALED;
    if (c->cur_flags & (NMI_ZMTP_COMMAND | CONN_SEALED)) {
        if (c->box == NULL && h->size > conn_cmd_max(c)) {
            nmi_conn_reject(c, "command frame too large");
            return -1;
        }
        c->body_cap = h->size < CONN_CMD_EAGER ? h->size : CONN_CMD_EAGER;
        c->cmd_body = malloc(c->body_cap ? c->body_cap : 1);
        c->body = c->cmd_body;
    } else {
        if (atomic_load(&c->state) != NMI_CONN_ACTIVE) {
            nmi_conn_reject(c, "data frame before the handshake");
            return -1;
        }
        const char *over = conn_multipart_over(c, h);
        if (over != NULL) {
            conn_fail(c, over);
            return -1;
        }
        if (h->flags & NMI_ZMTP_MORE)
            c->cur_more_bytes += h->size;
        c->body = conn_body_alloc(c, h->size, in_hand);
    }
    if (c->body == NULL) {
        conn_fail(c, "out of memory for a frame");
        return -1;
    }
    c->in_body = true;
    return h->size == 0 ? conn_frame_done(c) : 0;
}

/* Takes bytes of a frame header; returns bytes consumed or -1 if the conn broke. */
static ssize_t conn_header(nmi_conn *c, const uint8_t *p, size_t n)
{
    const uint8_t *hp = p;
    size_t avail = n, old = c->hdr_len;
    if (old > 0) {
        size_t take = NMI_ZMTP_MAX_HEADER - old < n ? NMI_ZMTP_MAX_HEADER - old : n;
        memcpy(c->hdr + old, p, take);
        hp = c->hdr;
        avail = old + take;
    }
    nmi_zmtp_header h;
    int rc = nmi_zmtp_header_decode(hp, avail, conn_frame_max(c), &h);
    if (rc < 0) {
        conn_fail(c, rc == -EMSGSIZE ? "frame larger than MAXMSGSIZE" : "malformed frame");
        return -1;
    }
    if (rc == 0) {
        if (old == 0)
            memcpy(c->hdr, p, n);
        c->hdr_len = avail;
        return (ssize_t)n;
    }
    c->hdr_len = 0;
    size_t used = (size_t)rc - old;
    if (conn_frame_begin(c, &h, n - used) < 0)
        return -1;
    return (ssize_t)used;
}

/* True if the next bytes (p, or what is already held) belong to a command frame. */
static bool conn_at_command(nmi_conn *c, const uint8_t *p)
{
    uint8_t flags = c->in_body ? c->cur_flags : c->hdr_len > 0 ? c->hdr[0] : p[0];
    return flags & NMI_ZMTP_COMMAND;
}

ssize_t nmi_conn_decode(nmi_conn *c, const uint8_t *p, size_t n)
{
    size_t total = n;
    while (n > 0) {
        int st = atomic_load(&c->state);
        if (st == NMI_CONN_GREETING) {
            size_t take = NMI_ZMTP_GREETING_SIZE - c->greet_len;
            take = take < n ? take : n;
            memcpy(c->greet + c->greet_len, p, take);
            c->greet_len += take;
            p += take;
            n -= take;
            nmi_zmtp_greeting g;
            int rc = nmi_zmtp_greeting_decode(c->greet, c->greet_len, &g);
            if (rc < 0) {
                nmi_conn_reject(c, "bad greeting (not a ZMTP 3 peer)");
                return -1;
            }
            if (rc == 0)
                continue;
            if (nmi_conn_greeted(c, &g) < 0)
                return -1;
            continue;
        }
        if (st != NMI_CONN_READY && st != NMI_CONN_ACTIVE)
            return -1;
        if (conn_app_reads(c) && conn_at_command(c, p))
            return (ssize_t)(total - n); /* commands are the I/O thread's */
        if (!c->in_body) {
            ssize_t used = conn_header(c, p, n);
            if (used < 0)
                return -1;
            p += used;
            n -= (size_t)used;
            continue;
        }
        size_t take = c->body_size - c->body_got;
        take = take < n ? take : n;
        if (conn_body_grow(c, take) < 0) {
            conn_fail(c, "out of memory for a frame");
            return -1;
        }
        memcpy(c->body + c->body_got, p, take);
        c->body_got += take;
        p += take;
        n -= take;
        if (c->body_got == c->body_size && conn_frame_done(c) < 0)
            return -1;
    }
    return (ssize_t)total;
}

/* Bytes of the body a direct read takes: the rest of it, as far as its storage goes. */
static size_t conn_direct_len(nmi_conn *c)
{
    size_t rest = c->body_size - c->body_got, room = c->body_cap - c->body_got;
    return rest < room ? rest : room;
}

ssize_t nmi_conn_read_some(nmi_conn *c, uint8_t *buf, size_t cap, bool *direct, size_t *asked)
{
    size_t rest = c->in_body ? c->body_size - c->body_got : 0;
    *direct = (rest >= CONN_DIRECT_MIN || (rest > 0 && c->rheader)) && /* rheader: aligned */
              !((c->cur_flags & NMI_ZMTP_COMMAND) && conn_app_reads(c));
    if (*direct && conn_body_grow(c, 0) < 0) {
        errno = ENOMEM;
        return -1;
    }
    if (*direct) {
        /* The next header comes behind the body only if the body is read to its end. */
        size_t len = conn_direct_len(c);
        struct iovec iov[2] = {
            {.iov_base = c->body + c->body_got, .iov_len = len},
            {.iov_base = buf, .iov_len = NMI_ZMTP_MAX_HEADER},
        };
        int niov = len == rest ? 2 : 1;
        *asked = len + (niov == 2 ? NMI_ZMTP_MAX_HEADER : 0);
        return readv(c->pollable.fd, iov, niov);
    }
    if (c->rheader && !c->in_body)
        cap = NMI_ZMTP_MAX_HEADER - c->hdr_len;
    *asked = cap;
    return read(c->pollable.fd, buf, cap);
}

/* An application reader stopped at a command frame: the I/O thread decodes the rest. */
static void conn_stash(nmi_conn *c, const uint8_t *p, size_t n)
{
    c->stash = malloc(n);
    if (c->stash == NULL) {
        c->rfail = "out of memory";
        return;
    }
    memcpy(c->stash, p, n);
    c->stash_len = n;
}

int nmi_conn_input(nmi_conn *c, const uint8_t *buf, size_t n, bool direct)
{
    bool header_only = c->rheader && !direct;
    if (direct) {
        size_t len = conn_direct_len(c), take = len < n ? len : n;
        c->body_got += take;
        n -= take; /* the rest went to buf */
        if (c->body_got == c->body_size && conn_frame_done(c) < 0)
            return -1;
    }
    if (n > 0 && (c->sock->proto->flags & NMI_PROTO_RAW)) {
        conn_stream_data(c, buf, n);
    } else if (n > 0) {
        ssize_t used = nmi_conn_decode(c, buf, n);
        if (used < 0)
            return -1;
        if ((size_t)used < n)
            conn_stash(c, buf + used, n - (size_t)used);
    }
    c->rheader = direct || (header_only && c->hdr_len > 0);
    return 0;
}

/* Reads and decodes until the kernel has nothing more, the reader pauses at the
 * receive HWM, the connection breaks, or it has had its turn (CONN_READ_TURN bytes
 * with more to come: it reads again after the other connections of the thread). */
static void conn_read_loop(nmi_conn *c)
{
    nmi_io *io = c->io;
    size_t turn = 0;
    while (!atomic_load_explicit(&c->rpaused, memory_order_relaxed)) {
        int st = atomic_load(&c->state);
        if (st < NMI_CONN_GREETING || st > NMI_CONN_ACTIVE)
            return;
        bool direct;
        size_t asked;
        ssize_t n = nmi_conn_read_some(c, io->rbuf, io->rbuf_size, &direct, &asked);
        if (n == 0) {
            nmi_conn_lost_io(c, EPIPE, "peer closed the connection");
            return;
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                nmi_conn_lost_io(c, errno, strerror(errno));
            break;
        }
        if (c->ping_at != 0 || c->peer_ttl_ms != 0)
            nmi_hb_traffic(c, nmi_clock_ns());
        if (nmi_conn_input(c, io->rbuf, (size_t)n, direct) < 0)
            return;
        if (c->pipe != NULL)
            nmi_pipe_in_notify(c->pipe);
        turn += (size_t)n;
        if (turn >= CONN_READ_TURN && (size_t)n == asked) {
            nmi_io_read_again(io, c);
            break;
        }
    }
    if (c->pipe != NULL)
        nmi_pipe_in_notify(c->pipe);
}

void nmi_conn_read(nmi_conn *c)
{
    atomic_store(&c->rpending, 1);
    int none = NMI_READER_NONE;
    if (!atomic_compare_exchange_strong(&c->rowner, &none, NMI_READER_IO))
        return; /* the application reads (it sees rpending) or handed back (READ reads) */
    atomic_store(&c->rpending, 0);
    conn_read_loop(c);
    atomic_store(&c->rowner, NMI_READER_NONE);
}

void nmi_conn_read_handover(nmi_conn *c)
{
    NMI_ASSERT(atomic_load(&c->rowner) == NMI_READER_IO);
    /* What the turn left belongs to the connection it read: a break since then (which
     * leaves a queued hand-back alone) has dropped it. */
    NMI_ASSERT((c->stash == NULL && c->rfail == NULL) || atomic_load(&c->state) == NMI_CONN_ACTIVE);
    atomic_store(&c->rpending, 0);
    uint8_t *stash = c->stash;
    size_t len = c->stash_len;
    c->stash = NULL;
    c->stash_len = 0;
    /* With nothing left, read anyway: input signalled while this command was queued
     * (the connection's, or, after a break, its next one's greeting) failed to take the
     * reader, and the edge-triggered poller will not say so again. */
    if (c->rfail != NULL)
        nmi_conn_reject(c, c->rfail);
    else if (stash == NULL || nmi_conn_decode(c, stash, len) >= 0)
        conn_read_loop(c);
    c->rfail = NULL;
    free(stash);
    atomic_store(&c->rowner, NMI_READER_NONE);
    nmi_io_defer_release(c->io, c);
}

void nmi_conn_resume(nmi_conn *c)
{
    atomic_store(&c->resume_posted, 0);
    atomic_store(&c->rpaused, 0);
    nmi_conn_read(c);
    nmi_io_defer_release(c->io, c);
}
