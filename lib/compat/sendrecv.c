/*
 * sendrecv.c - the byte-buffer and message send/receive calls: zmq_send, zmq_send_const,
 * zmq_recv, zmq_msg_send/recv and their old names, zmq_sendiov/zmq_recviov.
 *
 * Each frame joins the socket's pending message (zc_sock.out) and the frame without
 * ZMQ_SNDMORE sends the lot as one nomid message (zc_sock_flush); the first frame of
 * several waits for the core to admit the message, so a send fails on the frame libzmq
 * fails it on.  A failed frame is taken back so the caller still owns it, as libzmq's
 * contract says.  Received frames
 * come one by one out of zc_sock.in (zc_sock_fill).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "compat/compat.h"

static int sendrecv_size(size_t n)
{
    return n > INT32_MAX ? INT32_MAX : (int)n;
}

/* Sends one frame already appended to zs->out; on failure removes it again. */
static int sendrecv_flush(zc_sock *zs, size_t len, int flags)
{
    int rc = zc_sock_flush(zs, flags);
    if (rc < 0) {
        nm_msg_t drop;
        nm_msg_init(&drop);
        nm_msg_move_frame(&drop, &zs->out, nm_msg_count(&zs->out) - 1);
        nm_msg_close(&drop);
        return zc_fail(rc);
    }
    return sendrecv_size(len);
}

int zmq_send(void *s_, const void *buf_, size_t len_, int flags_)
{
    zc_sock *zs = zc_sock_of(s_);
    if (zs == NULL)
        return -1;
    if (buf_ == NULL && len_ > 0)
        return zc_errno(EFAULT);
    if (!zc_type_sends(zs->type))
        return zc_errno(ENOTSUP);
    int rc = nm_msg_add(&zs->out, buf_ != NULL ? buf_ : "", len_);
    return rc < 0 ? zc_fail(rc) : sendrecv_flush(zs, len_, flags_);
}

int zmq_send_const(void *s_, const void *buf_, size_t len_, int flags_)
{
    zc_sock *zs = zc_sock_of(s_);
    if (zs == NULL)
        return -1;
    if (buf_ == NULL && len_ > 0)
        return zc_errno(EFAULT);
    if (!zc_type_sends(zs->type))
        return zc_errno(ENOTSUP);
    int rc = nm_msg_add_zc(&zs->out, (void *)(uintptr_t)buf_, len_, NULL, NULL);
    return rc < 0 ? zc_fail(rc) : sendrecv_flush(zs, len_, flags_);
}

int zmq_recv(void *s_, void *buf_, size_t len_, int flags_)
{
    zc_sock *zs = zc_sock_of(s_);
    if (zs == NULL)
        return -1;
    if (buf_ == NULL && len_ > 0)
        return zc_errno(EFAULT);
    int rc = zc_sock_fill(zs, flags_);
    if (rc < 0)
        return zc_fail(rc);
    size_t size = nm_msg_size(&zs->in, 0);
    if (len_ > 0)
        memcpy(buf_, nm_msg_data(&zs->in, 0), size < len_ ? size : len_);
    nm_msg_pop_front(&zs->in);
    zs->rcvmore = nm_msg_count(&zs->in) > 0;
    return sendrecv_size(size);
}

int zmq_msg_send(zmq_msg_t *msg_, void *s_, int flags_)
{
    zc_sock *zs = zc_sock_of(s_);
    if (zs == NULL)
        return -1;
    int rc = zc_msg_send(msg_, zs, flags_);
    return rc < 0 ? zc_fail(rc) : rc;
}

int zmq_msg_recv(zmq_msg_t *msg_, void *s_, int flags_)
{
    zc_sock *zs = zc_sock_of(s_);
    if (zs == NULL)
        return -1;
    int rc = zc_msg_recv(msg_, zs, flags_);
    return rc < 0 ? zc_fail(rc) : rc;
}

int zmq_sendmsg(void *s_, zmq_msg_t *msg_, int flags_)
{
    return zmq_msg_send(msg_, s_, flags_);
}

int zmq_recvmsg(void *s_, zmq_msg_t *msg_, int flags_)
{
    return zmq_msg_recv(msg_, s_, flags_);
}

int zmq_sendiov(void *s_, struct iovec *iov_, size_t count_, int flags_)
{
    if (zc_sock_of(s_) == NULL)
        return -1;
    if (count_ == 0 || iov_ == NULL)
        return zc_errno(EINVAL);
    /* As libzmq: every frame but the last takes ZMQ_SNDMORE, the last takes flags_
     * without it (a caller passing ZMQ_SNDMORE still gets a whole message out). */
    int rc = 0;
    for (size_t i = 0; i < count_ && rc >= 0; i++) {
        int flags = i + 1 < count_ ? flags_ | ZMQ_SNDMORE : flags_ & ~ZMQ_SNDMORE;
        rc = zmq_send(s_, iov_[i].iov_base, iov_[i].iov_len, flags);
    }
    return rc;
}

/* Receives up to *count_ frames of one message into buffers it allocates (the caller
 * frees each iov_base); *count_ becomes the number received, which it also returns (as
 * libzmq does, not the byte total). */
int zmq_recviov(void *s_, struct iovec *iov_, size_t *count_, int flags_)
{
    zc_sock *zs = zc_sock_of(s_);
    if (zs == NULL)
        return -1;
    if (count_ == NULL || *count_ == 0 || iov_ == NULL)
        return zc_errno(EINVAL);
    size_t n = 0;
    do {
        int rc = zc_sock_fill(zs, flags_);
        if (rc < 0) {
            *count_ = n;
            return zc_fail(rc);
        }
        size_t size = nm_msg_size(&zs->in, 0);
        void *p = malloc(size ? size : 1);
        if (p == NULL) {
            *count_ = n;
            return zc_errno(ENOMEM);
        }
        memcpy(p, nm_msg_data(&zs->in, 0), size);
        nm_msg_pop_front(&zs->in);
        zs->rcvmore = nm_msg_count(&zs->in) > 0;
        iov_[n].iov_base = p;
        iov_[n].iov_len = size;
        n++;
    } while (zs->rcvmore && n < *count_);
    *count_ = n;
    return sendrecv_size(n);
}
