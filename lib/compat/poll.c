/*
 * poll.c - zmq_poll on nm_poll, and the devices: zmq_proxy, zmq_proxy_steerable and
 * zmq_device on nm_proxy.
 *
 * A socket with frames of a message already taken from the core (zc_sock.in) is
 * readable whatever the core says, so zmq_poll then only looks (timeout 0) and adds
 * those.  Items are translated on the stack for up to ZMQ_POLLITEMS_DFLT, as libzmq.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "compat/compat.h"

int zmq_poll(zmq_pollitem_t *items_, int nitems_, long timeout_)
{
    if (nitems_ < 0)
        return zc_errno(EINVAL);
    if (nitems_ > 0 && items_ == NULL)
        return zc_errno(EFAULT);
    if (nitems_ == 0) {
        if (timeout_ > 0)
            usleep((useconds_t)(timeout_ * 1000));
        return 0;
    }
    nm_pollitem_t stack[ZMQ_POLLITEMS_DFLT];
    nm_pollitem_t *nitems = stack;
    if (nitems_ > ZMQ_POLLITEMS_DFLT && (nitems = calloc((size_t)nitems_, sizeof(*nitems))) == NULL)
        return zc_errno(ENOMEM);
    int held = 0, rc = 0;
    for (int i = 0; i < nitems_ && rc == 0; i++) {
        zc_sock *zs = NULL;
        if (items_[i].socket != NULL && (zs = zc_sock_of(items_[i].socket)) == NULL)
            rc = -ENOTSOCK;
        else if (zs != NULL && (items_[i].events & ZMQ_POLLIN) && nm_msg_count(&zs->in) > 0)
            held++;
        nitems[i] = (nm_pollitem_t){.sock = zs ? zs->nm : NULL,
                                    .fd = items_[i].fd,
                                    .events = (short)(items_[i].events & (NM_POLLIN | NM_POLLOUT))};
    }
    if (rc == 0) {
        long t = held > 0 ? 0 : timeout_;
        rc = nm_poll(nitems, nitems_, t > 0x7fffffffL ? 0x7fffffff : (int)t);
    }
    if (rc >= 0) {
        rc = 0;
        for (int i = 0; i < nitems_; i++) {
            short re = nitems[i].revents;
            zc_sock *zs = items_[i].socket;
            if (zs != NULL && (items_[i].events & ZMQ_POLLIN) && nm_msg_count(&zs->in) > 0)
                re |= ZMQ_POLLIN;
            items_[i].revents = re;
            rc += re != 0;
        }
    }
    if (nitems != stack)
        free(nitems);
    return rc < 0 ? zc_fail(rc) : rc;
}

static int proxy_run(void *frontend_, void *backend_, void *capture_, void *control_)
{
    zc_sock *f = zc_sock_of(frontend_), *b = zc_sock_of(backend_);
    zc_sock *cap = capture_ ? zc_sock_of(capture_) : NULL;
    zc_sock *ctl = control_ ? zc_sock_of(control_) : NULL;
    if (f == NULL || b == NULL || (capture_ && cap == NULL) || (control_ && ctl == NULL))
        return -1;
    int rc = nm_proxy(f->nm, b->nm, cap ? cap->nm : NULL, ctl ? ctl->nm : NULL);
    return rc < 0 ? zc_fail(rc) : 0;
}

int zmq_proxy(void *frontend_, void *backend_, void *capture_)
{
    return proxy_run(frontend_, backend_, capture_, NULL);
}

int zmq_proxy_steerable(void *frontend_, void *backend_, void *capture_, void *control_)
{
    return proxy_run(frontend_, backend_, capture_, control_);
}

int zmq_device(int type_, void *frontend_, void *backend_)
{
    (void)type_;
    return proxy_run(frontend_, backend_, NULL, NULL);
}
