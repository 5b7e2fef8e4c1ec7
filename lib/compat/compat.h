/*
 * compat.h - the drop-in's handles: what a libzmq context, socket and message are on
 * top of nomid.h.
 *
 * A context handle wraps an nm_ctx_t plus the context options libzmq has; a socket
 * handle wraps an nm_sock_t plus what the one-frame-at-a-time API needs around nomid's
 * whole messages: the frames sent with ZMQ_SNDMORE that wait for the last one, and the
 * rest of the message being received.  Nothing here implements a socket: every pattern,
 * queue and connection is the core's.
 */
#ifndef NOMID_COMPAT_H
#define NOMID_COMPAT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "compat/zmq_abi.h"
#include "nomid.h"

#define ZC_CTX_TAG  0xabadcafeu /* a live context handle */
#define ZC_SOCK_TAG 0xbaddecafu /* a live socket handle */
#define ZC_DEAD_TAG 0xdeadbeefu /* a closed one (until its memory is reused) */

typedef struct zc_ctx {
    uint32_t tag;        /* ZC_CTX_TAG */
    nm_ctx_t *nm;        /* the core's context */
    atomic_int nsocks;   /* sockets open (for ZMQ_MAX_SOCKETS) */
    int io_threads;      /* ZMQ_IO_THREADS as set (the core runs one I/O thread) */
    int max_sockets;     /* ZMQ_MAX_SOCKETS */
    int ipv6;            /* ZMQ_IPV6: the default of new sockets */
    int blocky;          /* ZMQ_BLOCKY: 0 gives new sockets LINGER 0 */
    int max_msgsz;       /* ZMQ_MAX_MSGSZ */
    int thread_priority; /* ZMQ_THREAD_PRIORITY (kept, not applied) */
    int thread_sched;    /* ZMQ_THREAD_SCHED_POLICY (kept, not applied) */
    int thread_name_pfx; /* ZMQ_THREAD_NAME_PREFIX (kept, not applied) */
    bool member;         /* the fleet member context (member.c): ended by the library */
} zc_ctx;

/* Values of libzmq options the core does not have yet, kept per socket so they read
 * back as set (opts.c says which). */
#define ZC_STORED_MAX     24
#define ZC_IO_THREADS_MAX 64 /* the core's NM_CTX_IO_THREADS limit */

typedef struct zc_sock {
    uint32_t tag;                  /* ZC_SOCK_TAG */
    int type;                      /* ZMQ_* socket type (= nomid's) */
    nm_sock_t *nm;                 /* the core's socket */
    zc_ctx *ctx;                   /* owner */
    nm_msg_t out;                  /* frames sent with ZMQ_SNDMORE, not yet sent */
    nm_msg_t in;                   /* frames of the message being received, not yet read */
    bool rcvmore;                  /* the last frame handed out had more after it */
    int64_t stored[ZC_STORED_MAX]; /* opts.c: values of kept-only options */
} zc_sock;

/* member.c: with NOMID_MEMBER=1, makes ctx a fleet member through libnomid_member.so
 * (loaded then, once); without it, does nothing.  0, or a nomid error code (logged). */
int zc_member_attach(zc_ctx *ctx);
/* member.c: ends a member context (ctx->member) that zmq_ctx_term shut down. */
void zc_member_term(zc_ctx *ctx);
/* member.c: binds (bind) or connects a socket of a member context through the library,
 * which may set its options first.  A nomid code. */
int zc_member_endpoint(zc_sock *zs, const char *endpoint, bool bind);

/* errors.c: sets errno from a nomid code (< 0) and returns -1. */
int zc_fail(int nm_err);
/* errors.c: sets errno to e and returns -1. */
int zc_errno(int e);

/* sock.c: the live socket behind a handle, or NULL with errno ENOTSOCK. */
zc_sock *zc_sock_of(void *s);
/* sock.c: which types may send and receive (libzmq answers ENOTSUP before queueing a
 * frame), by ZMQ_* type. */
typedef struct zc_type_caps {
    bool sends, recvs;
} zc_type_caps;
extern const zc_type_caps zc_types[ZMQ_STREAM + 1];

static inline bool zc_type_sends(int type)
{
    return zc_types[type].sends;
}

static inline bool zc_type_recvs(int type)
{
    return zc_types[type].recvs;
}

/* sock.c: readiness as ZMQ_EVENTS: the core's, plus POLLIN for frames held here. */
int zc_sock_events(zc_sock *zs, int *events);

/* opts.c */
void zc_opts_init(zc_sock *zs);
int zc_setsockopt(zc_sock *zs, int opt, const void *val, size_t len);
int zc_getsockopt(zc_sock *zs, int opt, void *val, size_t *len);

/* msg.c: one frame goes out through zs (ZMQ_SNDMORE accumulates); hands one received
 * frame to a zmq_msg_t. */
int zc_msg_send(zmq_msg_t *msg, zc_sock *zs, int flags);
int zc_msg_recv(zmq_msg_t *msg, zc_sock *zs, int flags);
/* sock.c: makes sure zs->in holds a frame (receiving a message if needed). */
int zc_sock_fill(zc_sock *zs, int flags);
/* sock.c: sends zs->out as one message when the frame just added was the last; on the
 * first of several, waits for the core to admit such a message (nm_sock_send_ready), so a
 * send fails on the frame libzmq fails it on: pyzmq's async send_multipart, for one, tries
 * the whole message with ZMQ_DONTWAIT and sends it all again after EAGAIN. */
int zc_sock_flush(zc_sock *zs, int flags);

#endif
