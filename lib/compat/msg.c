/*
 * msg.c - zmq_msg_t on nomid messages: one frame in 64 bytes, zmq_msg_* and the two
 * calls that move a zmq_msg_t through a socket (zmq_msg_send, zmq_msg_recv).
 *
 * libzmq's message is one frame with a MORE flag; nomid's nm_msg_t is a whole multipart
 * message.  A zmq_msg_t (zc_msg below) holds either
 *  - up to ZC_MSG_INLINE bytes inline (no allocation: the common small frame), or
 *  - a heap nm_msg_t with exactly one frame,
 * and the properties of the connection it came from (nm_props_t: ZMQ_SRCFD,
 * zmq_msg_gets): a reference of its own, or those its heap message carries (msg_props).
 * A frame's bytes are never copied: a received large frame's refcounted buffer (read
 * straight from the wire by the core) changes hands, and goes back out the same way when
 * the message is sent; zmq_msg_init_data wraps the caller's buffer (nm_msg_add_zc) and
 * zmq_msg_copy shares the buffer (nm_msg_copy), as libzmq's do.
 * Sending appends the frame to the socket's pending message (zc_sock.out); the frame
 * without ZMQ_SNDMORE sends them all as one nomid message (a heap frame sent alone goes
 * as its own nm_msg_t, without the detour).  Receiving takes a new message into a heap
 * message: one large frame stays there as the zmq_msg_t's own (msg_recv_whole);
 * otherwise the message waits in zc_sock.in, whose frames are handed out one by one with
 * ZMQ_RCVMORE.  Heap messages come from a per-thread spare (msg_alloc), so a send or
 * receive loop does not allocate one per message.
 */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "compat/compat.h"

#define ZC_MSG_INLINE 40
#define ZC_MSG_LIVE   0x5a /* tag of an initialised zmq_msg_t */
#define ZC_MSG_MORE   1    /* a received frame with more after it */
#define ZC_MSG_SHARED 2    /* its buffer was shared by zmq_msg_copy */

typedef struct zc_msg {
    nm_msg_t *nm;                     /* one-frame heap message, or NULL: bytes inline */
    const nm_props_t *props;          /* its connection's properties (a reference), or NULL */
    uint8_t tag;                      /* ZC_MSG_LIVE while initialised */
    uint8_t flags;                    /* ZC_MSG_MORE, ZC_MSG_SHARED */
    uint8_t len;                      /* inline: the size */
    uint8_t pad_[5];                  /* (unused) */
    unsigned char inl[ZC_MSG_INLINE]; /* inline: the bytes */
} zc_msg;

_Static_assert(sizeof(zc_msg) == sizeof(zmq_msg_t), "zmq_msg_t is 64 bytes");
_Static_assert(_Alignof(zc_msg) <= _Alignof(zmq_msg_t), "zmq_msg_t is pointer-aligned");

static zc_msg *msg_of(zmq_msg_t *msg)
{
    zc_msg *m = (zc_msg *)(void *)msg;
    return m != NULL && m->tag == ZC_MSG_LIVE ? m : NULL;
}

static const zc_msg *msg_ofc(const zmq_msg_t *msg)
{
    const zc_msg *m = (const zc_msg *)(const void *)msg;
    return m != NULL && m->tag == ZC_MSG_LIVE ? m : NULL;
}

static void msg_empty(zc_msg *m)
{
    m->nm = NULL;
    m->props = NULL;
    m->tag = ZC_MSG_LIVE;
    m->flags = 0;
    m->len = 0;
}

/* Each thread keeps one empty heap message spare, so the loop that builds a message
 * and sends it, or receives into one, allocates nothing in steady state.  Only its own
 * thread touches msg_spare; a thread-specific value (set once per thread) frees it when
 * the thread exits.  initial-exec: no __tls_get_addr call per message, for a few bytes of
 * the static TLS the C library keeps for libraries loaded later (dlopen, as Python's). */
#define MSG_TLS __attribute__((tls_model("initial-exec"))) _Thread_local
static MSG_TLS nm_msg_t *msg_spare;
static MSG_TLS bool msg_spare_registered;
static pthread_key_t msg_spare_key;
static pthread_once_t msg_spare_once = PTHREAD_ONCE_INIT;
static bool msg_spare_ok;

static void msg_spare_exit(void *unused)
{
    (void)unused;
    free(msg_spare);
    msg_spare = NULL;
    msg_spare_registered = false; /* a later free registers again, and is freed again */
}

static void msg_spare_init(void)
{
    msg_spare_ok = pthread_key_create(&msg_spare_key, msg_spare_exit) == 0;
}

/* True if this thread may keep a spare (its exit will free it). */
static bool msg_spare_usable(void)
{
    if (!msg_spare_registered) {
        pthread_once(&msg_spare_once, msg_spare_init);
        msg_spare_registered =
            msg_spare_ok && pthread_setspecific(msg_spare_key, &msg_spare_registered) == 0;
    }
    return msg_spare_registered;
}

/* An empty heap message, or NULL. */
static nm_msg_t *msg_alloc(void)
{
    nm_msg_t *nm = msg_spare;
    if (nm != NULL) {
        msg_spare = NULL;
        return nm;
    }
    nm = malloc(sizeof(*nm));
    if (nm != NULL)
        nm_msg_init(nm);
    return nm;
}

/* Keeps an empty heap message as the spare, or frees it. */
static void msg_recycle(nm_msg_t *nm)
{
    assert(nm_msg_count(nm) == 0 && nm_msg_props(nm) == NULL);
    if (msg_spare == NULL && msg_spare_usable())
        msg_spare = nm;
    else
        free(nm);
}

static void msg_free(nm_msg_t *nm)
{
    if (nm == NULL)
        return;
    nm_msg_close(nm);
    msg_recycle(nm);
}

static void msg_release(zc_msg *m)
{
    if (m->props != NULL)
        nm_props_release(&m->props);
    if (m->nm != NULL)
        msg_free(m->nm);
    m->nm = NULL;
}

/* A heap message for m (empty), or NULL. */
static nm_msg_t *msg_heap(zc_msg *m)
{
    msg_empty(m);
    return m->nm = msg_alloc();
}

/* The properties of the connection m came from: its own reference, or those its heap
 * message carries (a message received whole keeps them there). */
static const nm_props_t *msg_props(const zc_msg *m)
{
    if (m->props != NULL)
        return m->props;
    return m->nm != NULL ? nm_msg_props(m->nm) : NULL;
}

int zmq_msg_init(zmq_msg_t *msg_)
{
    msg_empty((zc_msg *)(void *)msg_);
    return 0;
}

int zmq_msg_init_size(zmq_msg_t *msg_, size_t size_)
{
    zc_msg *m = (zc_msg *)(void *)msg_;
    void *p;
    msg_empty(m);
    if (size_ <= ZC_MSG_INLINE) {
        m->len = (uint8_t)size_;
        return 0;
    }
    if (msg_heap(m) == NULL || nm_msg_add_alloc(m->nm, size_, &p) < 0) {
        msg_release(m);
        return zc_errno(ENOMEM);
    }
    return 0;
}

int zmq_msg_init_data(zmq_msg_t *msg_, void *data_, size_t size_, zmq_free_fn *ffn_, void *hint_)
{
    zc_msg *m = (zc_msg *)(void *)msg_;
    msg_empty(m);
    if (data_ == NULL && size_ == 0)
        return 0;
    if (data_ == NULL)
        return zc_errno(EINVAL);
    if (msg_heap(m) == NULL || nm_msg_add_zc(m->nm, data_, size_, ffn_, hint_) < 0) {
        msg_release(m);
        return zc_errno(ENOMEM);
    }
    if (ffn_ == NULL)
        m->flags |= ZC_MSG_SHARED; /* constant data: libzmq calls it shared */
    return 0;
}

int zmq_msg_close(zmq_msg_t *msg_)
{
    zc_msg *m = msg_of(msg_);
    if (m == NULL)
        return zc_errno(EFAULT);
    msg_release(m);
    m->tag = 0;
    return 0;
}

int zmq_msg_move(zmq_msg_t *dest_, zmq_msg_t *src_)
{
    zc_msg *d = msg_of(dest_), *s = msg_of(src_);
    if (d == NULL || s == NULL)
        return zc_errno(EFAULT);
    if (d != s) {
        msg_release(d);
        memcpy(d, s, sizeof(*d));
        msg_empty(s);
    }
    return 0;
}

int zmq_msg_copy(zmq_msg_t *dest_, zmq_msg_t *src_)
{
    zc_msg *d = msg_of(dest_), *s = msg_of(src_);
    if (d == NULL || s == NULL)
        return zc_errno(EFAULT);
    if (d == s)
        return 0;
    msg_release(d);
    if (s->nm == NULL) {
        memcpy(d, s, sizeof(*d));
        nm_props_hold(d->props);
        return 0;
    }
    nm_msg_t *nm = msg_alloc();
    if (nm == NULL || nm_msg_copy(nm, s->nm) < 0) {
        msg_free(nm);
        msg_empty(d);
        return zc_errno(ENOMEM);
    }
    msg_empty(d);
    d->nm = nm;
    d->props = nm_props_hold(s->props);
    s->flags |= ZC_MSG_SHARED;
    d->flags = s->flags;
    return 0;
}

void *zmq_msg_data(zmq_msg_t *msg_)
{
    zc_msg *m = msg_of(msg_);
    if (m == NULL) {
        errno = EFAULT;
        return NULL;
    }
    return m->nm != NULL ? (void *)nm_msg_data(m->nm, 0) : m->inl;
}

size_t zmq_msg_size(const zmq_msg_t *msg_)
{
    const zc_msg *m = msg_ofc(msg_);
    if (m == NULL)
        return 0;
    return m->nm != NULL ? nm_msg_size(m->nm, 0) : m->len;
}

int zmq_msg_more(const zmq_msg_t *msg_)
{
    const zc_msg *m = msg_ofc(msg_);
    return m != NULL && (m->flags & ZC_MSG_MORE) ? 1 : 0;
}

int zmq_msg_get(const zmq_msg_t *msg_, int property_)
{
    const zc_msg *m = msg_ofc(msg_);
    if (m == NULL)
        return zc_errno(EFAULT);
    switch (property_) {
    case ZMQ_MORE:
        return (m->flags & ZC_MSG_MORE) ? 1 : 0;
    case ZMQ_SRCFD:
        return nm_props_fd(msg_props(m));
    case ZMQ_SHARED:
        return (m->flags & ZC_MSG_SHARED) ? 1 : 0;
    default:
        return zc_errno(EINVAL);
    }
}

int zmq_msg_set(zmq_msg_t *msg_, int property_, int optval_)
{
    (void)msg_;
    (void)property_;
    (void)optval_;
    return zc_errno(EINVAL); /* libzmq 4.3 has no settable property either */
}

const char *zmq_msg_gets(const zmq_msg_t *msg_, const char *property_)
{
    const zc_msg *m = msg_ofc(msg_);
    const char *v = m != NULL ? nm_props_get(msg_props(m), property_, NULL) : NULL;
    if (v == NULL)
        errno = EINVAL; /* as libzmq: no such property (or no properties at all) */
    return v;
}

/* Takes back the last frame of zs->out after a failed send, into m's heap message (a
 * frame that had moved out of it) or nowhere (an inline one, which was copied). */
static void msg_take_back(zc_sock *zs, nm_msg_t *into)
{
    size_t last = nm_msg_count(&zs->out) - 1;
    if (into != NULL) {
        nm_msg_move_frame(into, &zs->out, last); /* into is empty: cannot fail */
        return;
    }
    nm_msg_t drop;
    nm_msg_init(&drop);
    nm_msg_move_frame(&drop, &zs->out, last);
    nm_msg_close(&drop);
}

int zc_msg_send(zmq_msg_t *msg, zc_sock *zs, int flags)
{
    zc_msg *m = msg_of(msg);
    if (m == NULL)
        return -EFAULT;
    if (!zc_type_sends(zs->type))
        return -ENOTSUP;
    size_t size = m->nm != NULL ? nm_msg_size(m->nm, 0) : m->len;
    int rc;
    if (m->nm != NULL && nm_msg_count(&zs->out) == 0 && !(flags & ZMQ_SNDMORE) &&
        zs->type != ZMQ_STREAM) {
        /* A whole one-frame message: its heap message goes as it is (the core leaves it
         * unchanged on failure, and empty, ready for reuse, on success). */
        rc = nm_sock_send(zs->nm, m->nm, (flags & ZMQ_DONTWAIT) ? NM_DONTWAIT : 0);
        if (rc < 0)
            return rc;
        msg_recycle(m->nm); /* empty: frame and properties went with it */
        m->nm = NULL;
    } else {
        rc = m->nm != NULL ? nm_msg_move_frame(&zs->out, m->nm, 0)
                           : nm_msg_add(&zs->out, m->inl, m->len);
        if (rc < 0)
            return rc;
        rc = zc_sock_flush(zs, flags);
        if (rc < 0) {
            msg_take_back(zs, m->nm);
            return rc;
        }
    }
    msg_release(m);
    msg_empty(m);
    return size > INT32_MAX ? INT32_MAX : (int)size;
}

/* A new message, straight into a heap message: one frame of over ZC_MSG_INLINE bytes
 * (the common case) becomes m's own, properties and all (msg_props): 1; anything else
 * waits in zs->in: 0; or a negative error, m unchanged. */
static int msg_recv_whole(zc_msg *m, zc_sock *zs, int flags)
{
    if (!zc_type_recvs(zs->type))
        return -ENOTSUP;
    nm_msg_t *nm = msg_alloc();
    if (nm == NULL)
        return -ENOMEM;
    int rc = nm_sock_recv(zs->nm, nm, (flags & ZMQ_DONTWAIT) ? NM_DONTWAIT : 0);
    if (rc < 0) {
        msg_free(nm);
        return rc;
    }
    if (nm_msg_count(nm) == 1 && nm_msg_size(nm, 0) > ZC_MSG_INLINE) {
        msg_release(m);
        msg_empty(m);
        m->nm = nm;
        zs->rcvmore = false;
        return 1;
    }
    nm_msg_close(&zs->in); /* no frames left, but the last message's properties */
    nm_msg_move(&zs->in, nm);
    msg_free(nm);
    return 0;
}

int zc_msg_recv(zmq_msg_t *msg, zc_sock *zs, int flags)
{
    zc_msg *m = msg_of(msg);
    if (m == NULL)
        return -EFAULT;
    if (nm_msg_count(&zs->in) == 0) {
        int rc = msg_recv_whole(m, zs, flags);
        if (rc < 0)
            return rc;
        if (rc == 1) {
            size_t size = nm_msg_size(m->nm, 0);
            return size > INT32_MAX ? INT32_MAX : (int)size;
        }
    }
    size_t size = nm_msg_size(&zs->in, 0);
    /* Received into again and again (the common loop), a message keeps its reference to
     * the connection's properties while they serve. */
    const nm_props_t *props = nm_msg_props(&zs->in);
    const nm_props_t *held = m->props == props ? props : NULL;
    if (held != NULL)
        m->props = NULL;
    msg_release(m);
    msg_empty(m);
    if (size <= ZC_MSG_INLINE) {
        memcpy(m->inl, nm_msg_data(&zs->in, 0), size);
        m->len = (uint8_t)size;
        nm_msg_pop_front(&zs->in);
    } else if (msg_heap(m) == NULL || nm_msg_move_frame(m->nm, &zs->in, 0) < 0) {
        msg_release(m);
        msg_empty(m);
        nm_props_release(&held);
        return -ENOMEM;
    }
    m->props = held != NULL ? held : nm_props_hold(props); /* zs->in keeps them to its next */
    zs->rcvmore = nm_msg_count(&zs->in) > 0;
    m->flags = zs->rcvmore ? ZC_MSG_MORE : 0;
    return size > INT32_MAX ? INT32_MAX : (int)size;
}
