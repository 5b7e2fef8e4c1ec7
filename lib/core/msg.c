/*
 * msg.c - messages: lists of frames, small ones inline, large ones refcounted.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/msg.h"

/*
 * Large buffers are recycled through a small process-wide pool, one free list per
 * power-of-two size class.  Without it a stream of large messages, allocated on one
 * thread and freed on another, makes malloc hand pages back to the kernel and fault
 * them in again for every message, which costs more than the copies themselves.
 */
#define POOL_MIN_SHIFT 13 /* 8 KiB */
#define POOL_MAX_SHIFT 22 /* 4 MiB */
#define POOL_CLASSES   (POOL_MAX_SHIFT - POOL_MIN_SHIFT + 1)
#define POOL_BYTES_MAX (8u << 20) /* cached bytes per class */

static struct {
    pthread_mutex_t lock; /* guards the list */
    nmi_buf *free;        /* cached buffers */
    size_t bytes;         /* their total capacity */
} msg_pool[POOL_CLASSES] = {[0 ... POOL_CLASSES - 1] = {.lock = PTHREAD_MUTEX_INITIALIZER}};

static int msg_pool_class(size_t size)
{
    if (size < (1u << POOL_MIN_SHIFT) || size > (1u << POOL_MAX_SHIFT))
        return -1;
    int shift = POOL_MIN_SHIFT;
    while (((size_t)1 << shift) < size)
        shift++;
    return shift - POOL_MIN_SHIFT;
}

/* No frame is larger than this: a peer announcing more is refused without asking
 * malloc (whose failure modes at absurd sizes vary, under sanitizers especially). */
#define BUF_SIZE_MAX ((size_t)1 << 39)

/* A cached buffer of class cls (refs 1), or NULL when the pool holds none. */
static nmi_buf *msg_pool_take(int cls)
{
    pthread_mutex_lock(&msg_pool[cls].lock);
    nmi_buf *b = msg_pool[cls].free;
    if (b != NULL) {
        msg_pool[cls].free = b->next_free;
        msg_pool[cls].bytes -= (size_t)1 << (cls + POOL_MIN_SHIFT);
    }
    pthread_mutex_unlock(&msg_pool[cls].lock);
    if (b != NULL)
        atomic_init(&b->refs, 1);
    return b;
}

nmi_buf *nmi_buf_new(size_t size)
{
    if (size > BUF_SIZE_MAX)
        return NULL;
    int cls = msg_pool_class(size);
    nmi_buf *b = NULL;
    if (cls >= 0) {
        if ((b = msg_pool_take(cls)) != NULL)
            return b;
        size = (size_t)1 << (cls + POOL_MIN_SHIFT);
    }
    if ((b = malloc(sizeof(*b) + size)) == NULL)
        return NULL;
    atomic_init(&b->refs, 1);
    b->pool_class = cls;
    b->ffn = NULL;
    b->hint = NULL;
    b->data = (uint8_t *)(b + 1);
    return b;
}

static void msg_buf_free(nmi_buf *b)
{
    int cls = b->pool_class;
    if (cls >= 0) {
        size_t cap = (size_t)1 << (cls + POOL_MIN_SHIFT);
        pthread_mutex_lock(&msg_pool[cls].lock);
        bool keep = msg_pool[cls].bytes + cap <= POOL_BYTES_MAX;
        if (keep) {
            b->next_free = msg_pool[cls].free;
            msg_pool[cls].free = b;
            msg_pool[cls].bytes += cap;
        }
        pthread_mutex_unlock(&msg_pool[cls].lock);
        if (keep)
            return;
    }
    free(b);
}

void nmi_buf_release(nmi_buf *b)
{
    if (atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) != 1)
        return;
    if (b->ffn != NULL)
        b->ffn(b->data, b->hint);
    if (b->ffn != NULL || b->pool_class < 0)
        free(b);
    else
        msg_buf_free(b);
}

static void msg_frame_release(nmi_frame *f)
{
    if (f->is_ref)
        nmi_buf_release(f->u.ref.buf);
    f->is_ref = false;
    f->size = 0;
}

nmi_frame *nmi_msg_push_frame(nmi_msg *m)
{
    if (m->n > 0 && m->n - 1 == m->cap) {
        uint32_t cap = m->cap ? m->cap * 2 : 3;
        nmi_frame *more = reallocarray(m->more, cap, sizeof(*more));
        if (more == NULL)
            return NULL;
        m->more = more;
        m->cap = cap;
    }
    nmi_frame *f = nmi_msg_frame(m, m->n++);
    f->size = 0;
    f->is_ref = false;
    return f;
}

/* f holds size bytes in buffer b (NULL: none to be had); returns the storage. */
static uint8_t *msg_frame_set(nmi_frame *f, size_t size, nmi_buf *b)
{
    if (b == NULL)
        return NULL;
    f->size = size;
    f->is_ref = true;
    f->u.ref.buf = b;
    f->u.ref.data = b->data;
    return b->data;
}

/* f holds size bytes in a new buffer of cap bytes (cap >= size unless it grows). */
static uint8_t *msg_frame_buf(nmi_frame *f, size_t size, size_t cap)
{
    return msg_frame_set(f, size, nmi_buf_new(cap));
}

uint8_t *nmi_frame_alloc(nmi_frame *f, size_t size)
{
    if (size > NMI_FRAME_INLINE)
        return msg_frame_buf(f, size, size);
    f->size = size;
    f->is_ref = false;
    return f->u.inl;
}

uint8_t *nmi_frame_alloc_partial(nmi_frame *f, size_t size, size_t cap)
{
    return msg_frame_buf(f, size, cap);
}

uint8_t *nmi_frame_alloc_cached(nmi_frame *f, size_t size)
{
    int cls = msg_pool_class(size);
    return msg_frame_set(f, size, cls >= 0 ? msg_pool_take(cls) : NULL);
}

uint8_t *nmi_frame_grow(nmi_frame *f, size_t used, size_t cap)
{
    nmi_buf *old = f->u.ref.buf, *b;
    if (old->pool_class < 0 && msg_pool_class(cap) < 0) {
        /* Past the pool's sizes: realloc can move the pages instead of the bytes. */
        if ((b = realloc(old, sizeof(*b) + cap)) == NULL)
            return NULL;
        b->data = (uint8_t *)(b + 1);
    } else {
        /* A recycled buffer and one copy cost less than fresh pages faulted in. */
        if ((b = nmi_buf_new(cap)) == NULL)
            return NULL;
        memcpy(b->data, old->data, used);
        nmi_buf_release(old);
    }
    f->u.ref.buf = b;
    f->u.ref.data = b->data;
    return b->data;
}

void nmi_msg_clear(nmi_msg *m)
{
    for (uint32_t i = 0; i < m->n; i++)
        msg_frame_release(nmi_msg_frame(m, i));
    free(m->more);
    m->more = NULL;
    m->cap = 0;
    m->n = 0;
    if (m->meta != NULL) {
        nmi_meta_release(m->meta, 1);
        m->meta = NULL;
    }
}

void nm_msg_init(nm_msg_t *m)
{
    nmi_msg *im = nmi_msg_of(m);
    im->n = 0;
    im->cap = 0;
    im->more = NULL;
    im->meta = NULL;
}

void nm_msg_close(nm_msg_t *m)
{
    nmi_msg_clear(nmi_msg_of(m));
}

int nm_msg_add_alloc(nm_msg_t *m, size_t size, void **datap)
{
    nmi_msg *im = nmi_msg_of(m);
    nmi_frame *f = nmi_msg_push_frame(im);
    if (f == NULL)
        return -ENOMEM;
    uint8_t *p = nmi_frame_alloc(f, size);
    if (p == NULL) {
        im->n--;
        return -ENOMEM;
    }
    *datap = p;
    return 0;
}

int nm_msg_add(nm_msg_t *m, const void *data, size_t size)
{
    void *p;
    int rc = nm_msg_add_alloc(m, size, &p);
    if (rc == 0 && size > 0)
        memcpy(p, data, size);
    return rc;
}

int nm_msg_add_zc(nm_msg_t *m, void *data, size_t size, nm_free_cb *ffn, void *hint)
{
    nmi_msg *im = nmi_msg_of(m);
    nmi_buf *b = malloc(sizeof(*b));
    if (b == NULL)
        return -ENOMEM;
    nmi_frame *f = nmi_msg_push_frame(im);
    if (f == NULL) {
        free(b);
        return -ENOMEM;
    }
    atomic_init(&b->refs, 1);
    b->pool_class = -1;
    b->ffn = ffn;
    b->hint = hint;
    b->data = data;
    f->size = size;
    f->is_ref = true;
    f->u.ref.buf = b;
    f->u.ref.data = data;
    return 0;
}

int nm_msg_prepend(nm_msg_t *m, const void *data, size_t size)
{
    nmi_msg *im = nmi_msg_of(m);
    nmi_frame f;
    uint8_t *p = nmi_frame_alloc(&f, size);
    if (p == NULL || nmi_msg_push_frame(im) == NULL) {
        if (p != NULL)
            msg_frame_release(&f);
        return -ENOMEM;
    }
    if (size > 0)
        memcpy(p, data, size);
    /* Shift every frame one place to the back; f becomes frame 0. */
    for (uint32_t i = im->n - 1; i > 0; i--)
        *nmi_msg_frame(im, i) = *nmi_msg_frame(im, i - 1);
    im->first = f;
    return 0;
}

void nm_msg_pop_front(nm_msg_t *m)
{
    nmi_msg *im = nmi_msg_of(m);
    if (im->n == 0)
        return;
    msg_frame_release(&im->first);
    for (uint32_t i = 1; i < im->n; i++)
        *nmi_msg_frame(im, i - 1) = *nmi_msg_frame(im, i);
    im->n--;
}

int nm_msg_move_frame(nm_msg_t *dst, nm_msg_t *src, size_t i)
{
    nmi_msg *d = nmi_msg_of(dst), *sm = nmi_msg_of(src);
    if (d == sm || i >= sm->n)
        return -EINVAL;
    nmi_frame moved = *nmi_msg_frame(sm, i);
    nmi_frame *f = nmi_msg_push_frame(d);
    if (f == NULL)
        return -ENOMEM;
    /* An inline frame's bytes travel with the struct; a buffer's reference moves. */
    *f = moved;
    for (uint32_t k = (uint32_t)i + 1; k < sm->n; k++)
        *nmi_msg_frame(sm, k - 1) = *nmi_msg_frame(sm, k);
    sm->n--;
    return 0;
}

size_t nm_msg_count(const nm_msg_t *m)
{
    return nmi_msg_ofc(m)->n;
}

const void *nm_msg_data(const nm_msg_t *m, size_t i)
{
    return nmi_frame_data(nmi_msg_frame((nmi_msg *)nmi_msg_ofc(m), i));
}

size_t nm_msg_size(const nm_msg_t *m, size_t i)
{
    return nmi_msg_frame((nmi_msg *)nmi_msg_ofc(m), i)->size;
}

size_t nm_msg_bytes(const nm_msg_t *m)
{
    const nmi_msg *im = nmi_msg_ofc(m);
    size_t total = 0;
    for (uint32_t i = 0; i < im->n; i++)
        total += nmi_msg_frame((nmi_msg *)im, i)->size;
    return total;
}

int nm_msg_copy(nm_msg_t *dst, const nm_msg_t *src)
{
    nmi_msg *d = nmi_msg_of(dst);
    const nmi_msg *s = nmi_msg_ofc(src);
    nm_msg_init(dst);
    for (uint32_t i = 0; i < s->n; i++) {
        nmi_frame *sf = nmi_msg_frame((nmi_msg *)s, i);
        nmi_frame *df = nmi_msg_push_frame(d);
        if (df == NULL) {
            nmi_msg_clear(d);
            return -ENOMEM;
        }
        *df = *sf;
        if (sf->is_ref)
            atomic_fetch_add_explicit(&sf->u.ref.buf->refs, 1, memory_order_relaxed);
    }
    d->meta = (nmi_meta *)nm_props_hold((const nm_props_t *)s->meta);
    return 0;
}

void nm_msg_move(nm_msg_t *dst, nm_msg_t *src)
{
    *nmi_msg_of(dst) = *nmi_msg_of(src);
    nm_msg_init(src);
}
