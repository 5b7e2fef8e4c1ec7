/*
 * sock.c - libzmq's socket handles on nomid sockets: zmq_socket, zmq_close, the endpoint
 * calls and zmq_socket_monitor, and the two places where one-frame-at-a-time meets
 * nomid's whole messages (zc_sock_fill, zc_sock_flush).
 *
 * A handle is a zc_sock (compat.h).  zmq_close closes the core's socket (which lingers
 * in the background as libzmq's does), marks the handle dead and frees it: a call on a
 * closed handle is the program's bug, as in libzmq, and is caught (ENOTSOCK) only while
 * the memory is not reused.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "compat/compat.h"

const zc_type_caps zc_types[ZMQ_STREAM + 1] = {
    [ZMQ_PAIR] = {true, true},   [ZMQ_PUB] = {true, false},  [ZMQ_SUB] = {false, true},
    [ZMQ_REQ] = {true, true},    [ZMQ_REP] = {true, true},   [ZMQ_DEALER] = {true, true},
    [ZMQ_ROUTER] = {true, true}, [ZMQ_PULL] = {false, true}, [ZMQ_PUSH] = {true, false},
    [ZMQ_XPUB] = {true, true},   [ZMQ_XSUB] = {true, true},  [ZMQ_STREAM] = {true, true},
};

zc_sock *zc_sock_of(void *s)
{
    zc_sock *zs = s;
    if (zs == NULL || zs->tag != ZC_SOCK_TAG) {
        errno = ENOTSOCK;
        return NULL;
    }
    return zs;
}

void *zmq_socket(void *c, int type_)
{
    zc_ctx *ctx = c;
    if (ctx == NULL || ctx->tag != ZC_CTX_TAG) {
        errno = EFAULT;
        return NULL;
    }
    if (type_ < ZMQ_PAIR || type_ > ZMQ_STREAM) {
        errno = EINVAL;
        return NULL;
    }
    if (atomic_fetch_add(&ctx->nsocks, 1) >= ctx->max_sockets) {
        atomic_fetch_sub(&ctx->nsocks, 1);
        errno = EMFILE;
        return NULL;
    }
    zc_sock *zs = calloc(1, sizeof(*zs));
    int rc = zs == NULL ? -ENOMEM : nm_sock_new(&zs->nm, ctx->nm, type_);
    if (rc < 0) {
        free(zs);
        atomic_fetch_sub(&ctx->nsocks, 1);
        zc_fail(rc);
        return NULL;
    }
    zs->tag = ZC_SOCK_TAG;
    zs->type = type_;
    zs->ctx = ctx;
    nm_msg_init(&zs->out);
    nm_msg_init(&zs->in);
    zc_opts_init(zs);
    return zs;
}

int zmq_close(void *s_)
{
    zc_sock *zs = zc_sock_of(s_);
    if (zs == NULL)
        return -1;
    zs->tag = ZC_DEAD_TAG;
    nm_msg_close(&zs->out); /* an unfinished multipart message is dropped, as libzmq does */
    nm_msg_close(&zs->in);
    /* The count first: once the core's socket is closed, a zmq_ctx_term waiting for it
     * in another thread may free the context. */
    atomic_fetch_sub(&zs->ctx->nsocks, 1);
    nm_sock_close(&zs->nm);
    free(zs);
    return 0;
}

int zmq_bind(void *s_, const char *addr_)
{
    zc_sock *zs = zc_sock_of(s_);
    if (zs == NULL)
        return -1;
    int rc = zs->ctx->member ? zc_member_endpoint(zs, addr_, true) : nm_sock_bind(zs->nm, addr_);
    return rc < 0 ? zc_fail(rc) : 0;
}

int zmq_connect(void *s_, const char *addr_)
{
    zc_sock *zs = zc_sock_of(s_);
    if (zs == NULL)
        return -1;
    int rc =
        zs->ctx->member ? zc_member_endpoint(zs, addr_, false) : nm_sock_connect(zs->nm, addr_);
    return rc < 0 ? zc_fail(rc) : 0;
}

int zmq_disconnect(void *s_, const char *addr_)
{
    zc_sock *zs = zc_sock_of(s_);
    if (zs == NULL)
        return -1;
    int rc = nm_sock_disconnect(zs->nm, addr_);
    return rc < 0 ? zc_fail(rc) : 0;
}

int zmq_unbind(void *s_, const char *addr_)
{
    zc_sock *zs = zc_sock_of(s_);
    if (zs == NULL)
        return -1;
    int rc = nm_sock_unbind(zs->nm, addr_);
    return rc < 0 ? zc_fail(rc) : 0;
}

int zmq_socket_monitor(void *s_, const char *addr_, int events_)
{
    zc_sock *zs = zc_sock_of(s_);
    if (zs == NULL)
        return -1;
    /* nomid's own events sit on bits libzmq names otherwise (DROPPED on CLOSE_FAILED,
     * HWM_REACHED above HANDSHAKE_FAILED_AUTH): a libzmq program never gets them. */
    int events = (events_ & ~(NM_EVENT_DROPPED | NM_EVENT_HWM_REACHED)) | NM_MONITOR_TWO_FRAMES;
    int rc = nm_sock_monitor(zs->nm, addr_, addr_ ? events : 0);
    return rc < 0 ? zc_fail(rc) : 0;
}

int zc_sock_events(zc_sock *zs, int *events)
{
    int ev = 0;
    int rc = nm_sock_getopt_int(zs->nm, NM_EVENTS, &ev);
    if (rc < 0)
        return rc;
    if (nm_msg_count(&zs->in) > 0)
        ev |= ZMQ_POLLIN;
    *events = ev & (ZMQ_POLLIN | ZMQ_POLLOUT);
    return 0;
}

int zc_sock_fill(zc_sock *zs, int flags)
{
    if (nm_msg_count(&zs->in) > 0)
        return 0;
    if (!zc_type_recvs(zs->type))
        return -ENOTSUP;
    nm_msg_close(&zs->in); /* no frames left, but the last message's properties */
    return nm_sock_recv(zs->nm, &zs->in, (flags & ZMQ_DONTWAIT) ? NM_DONTWAIT : 0);
}

int zc_sock_flush(zc_sock *zs, int flags)
{
    int nmflags = (flags & ZMQ_DONTWAIT) ? NM_DONTWAIT : 0;
    /* A STREAM message is a routing id and one frame of bytes: libzmq ignores
     * ZMQ_SNDMORE on the bytes, and the next frame names a peer again. */
    bool last = !(flags & ZMQ_SNDMORE) || (zs->type == ZMQ_STREAM && nm_msg_count(&zs->out) == 2);
    if (last)
        return nm_sock_send(zs->nm, &zs->out, nmflags);
    if (nm_msg_count(&zs->out) > 1)
        return 0;
    /* The first frame of a multipart message: libzmq admits or refuses the message
     * here (EAGAIN, EFSM, ROUTER_MANDATORY's EHOSTUNREACH), and so does the core. */
    return nm_sock_send_ready(zs->nm, nm_msg_data(&zs->out, 0), nm_msg_size(&zs->out, 0), nmflags);
}
