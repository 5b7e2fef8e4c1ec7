/*
 * msg.h - the internal layout of nm_msg_t and its refcounted buffers.
 *
 * A message keeps its first frame in place and any further frames in a heap array.
 * A frame of up to NMI_FRAME_INLINE bytes lives inline in its frame struct, so the
 * common small single-frame message needs no allocation at all.  Larger frames point
 * into an nmi_buf, a refcounted buffer shared by copies (PUB fan-out, nm_msg_copy),
 * which is either allocated by nomid (payload follows the header) or wraps a user's
 * zero-copy buffer with its free callback.
 */
#ifndef NMI_MSG_H
#define NMI_MSG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "include/nomid.h"

#define NMI_FRAME_INLINE 64

typedef struct nmi_buf {
    atomic_uint refs;          /* references from frames */
    int pool_class;            /* size class it returns to in the buffer pool, -1 if none */
    struct nmi_buf *next_free; /* link in the pool's free list */
    nm_free_cb *ffn;           /* user's free for zero-copy buffers, NULL when nomid owns it */
    void *hint;                /* passed to ffn */
    uint8_t *data;             /* the bytes: after this header, or the user's buffer */
} nmi_buf;

typedef struct nmi_frame {
    size_t size; /* bytes in this frame */
    bool is_ref; /* bytes live in ref.buf rather than inline */
    union {
        uint8_t inl[NMI_FRAME_INLINE]; /* small frames */
        struct {
            nmi_buf *buf;  /* shared storage */
            uint8_t *data; /* start of this frame's bytes within buf */
        } ref;
    } u;
} nmi_frame;

/* The properties of the connection a message came from (meta.c): its descriptor,
 * the peer's READY properties and its address, NUL-terminated, shared by reference
 * between the connection and the messages it received.  Immutable once made, so any
 * thread may read it; refs counts the holders (atomic). */
typedef struct nmi_meta {
    atomic_uint refs; /* holders: the connection's reference and credit, messages */
    int fd;           /* the connection's descriptor (nm_props_fd) */
    size_t len;       /* bytes in data */
    /* Entries, each: name length (1 byte), name, NUL, value length (4 bytes, host
     * order), value, NUL. */
    uint8_t data[];
} nmi_meta;

typedef struct nmi_msg {
    uint32_t n;      /* number of frames */
    uint32_t cap;    /* slots in more[] */
    nmi_frame *more; /* frames 1..n-1 */
    nmi_meta *meta;  /* one reference to the connection's properties, or NULL */
    nmi_frame first; /* frame 0 */
} nmi_msg;

_Static_assert(sizeof(nmi_msg) <= sizeof(nm_msg_t), "nm_msg_t too small");

static inline nmi_msg *nmi_msg_of(nm_msg_t *m)
{
    return (nmi_msg *)(void *)m;
}

static inline const nmi_msg *nmi_msg_ofc(const nm_msg_t *m)
{
    return (const nmi_msg *)(const void *)m;
}

/* Moves *src into *dst (whose old contents are not released); src is left empty. */
static inline void nmi_msg_move(nmi_msg *dst, nmi_msg *src)
{
    *dst = *src;
    src->n = 0;
    src->cap = 0;
    src->more = NULL;
    src->meta = NULL;
}

static inline nmi_frame *nmi_msg_frame(nmi_msg *m, size_t i)
{
    return i == 0 ? &m->first : &m->more[i - 1];
}

static inline uint8_t *nmi_frame_data(nmi_frame *f)
{
    return f->is_ref ? f->u.ref.data : f->u.inl;
}

/* A new nomid-owned buffer of size bytes (refs = 1), or NULL. */
nmi_buf *nmi_buf_new(size_t size);
void nmi_buf_release(nmi_buf *b);

/* Appends an empty frame to m and returns it (size 0, inline), or NULL on ENOMEM. */
nmi_frame *nmi_msg_push_frame(nmi_msg *m);
/* Sets f to hold size bytes: inline if they fit, else a fresh buffer.  Returns the
 * storage to fill, or NULL on ENOMEM. */
uint8_t *nmi_frame_alloc(nmi_frame *f, size_t size);
/* Sets f to hold size bytes of which only the first cap (NMI_FRAME_INLINE < cap < size)
 * have storage yet: a frame received from a peer whose memory follows the bytes that
 * arrive, not the size it claims.  Returns the storage, or NULL on ENOMEM. */
uint8_t *nmi_frame_alloc_partial(nmi_frame *f, size_t size, size_t cap);
/* Sets f to hold size bytes in a buffer the pool has cached (one that a released frame
 * left, already the process's memory), or returns NULL when it has none: a frame received
 * from a peer may have all its storage at once when that costs no new memory. */
uint8_t *nmi_frame_alloc_cached(nmi_frame *f, size_t size);
/* Grows such a frame's storage to cap bytes, keeping the first `used` (the frame must
 * not be shared yet).  Returns the new storage, or NULL on ENOMEM (f unchanged). */
uint8_t *nmi_frame_grow(nmi_frame *f, size_t used, size_t cap);
/* Releases every frame and the properties; m becomes empty. */
void nmi_msg_clear(nmi_msg *m);

/* Properties of a connection whose descriptor is fd: the peer's READY properties
 * (ready[0..len), already validated by the codec; NULL for none) and, unless NULL or
 * empty, its address as Peer-Address.  refs = 1; NULL on ENOMEM. */
nmi_meta *nmi_meta_new(int fd, const uint8_t *ready, size_t len, const char *peer_addr);
/* Drops n references (the last frees it). */
void nmi_meta_release(nmi_meta *m, unsigned n);

#endif
