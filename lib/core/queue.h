/*
 * queue.h - a lock-free single-producer single-consumer queue of messages.
 *
 * Messages are stored by value in chunks of NMI_QCHUNK slots, allocated as the queue
 * grows and recycled through one spare chunk, so an idle queue costs no memory beyond
 * this struct and a busy one allocates nothing in steady state.  One thread pushes,
 * one thread pops; `pushed` and `popped` count messages ever moved and are readable
 * from any thread (queued = pushed - popped) for statistics.
 */
#ifndef NMI_QUEUE_H
#define NMI_QUEUE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/msg.h"

#define NMI_QCHUNK 64

typedef struct nmi_qchunk {
    struct nmi_qchunk *_Atomic next; /* set by the producer before publishing into it */
    nmi_msg slots[NMI_QCHUNK];
} nmi_qchunk;

typedef struct nmi_queue {
    /* producer side */
    nmi_qchunk *tail;                     /* chunk being filled */
    unsigned tail_pos;                    /* next free slot in tail */
    uint64_t popped_cache;                /* producer's last look at popped */
    _Alignas(64) _Atomic uint64_t pushed; /* messages published */
    /* consumer side */
    _Alignas(64) nmi_qchunk *head;          /* chunk being drained */
    unsigned head_pos;                      /* next slot to read in head */
    uint64_t pushed_cache;                  /* consumer's last look at pushed */
    _Alignas(64) _Atomic uint64_t popped;   /* messages consumed */
    nmi_qchunk *_Atomic spare;              /* one recycled chunk, handed consumer -> producer */
    struct nmi_qchunk *_Atomic origin_next; /* `next` of the empty start position */
} nmi_queue;

void nmi_queue_init(nmi_queue *q);
/* Frees chunks and closes any messages still queued.  No thread may use q after. */
void nmi_queue_fini(nmi_queue *q);

/* Producer: moves *m into the queue (m left empty).  -ENOMEM if a chunk can't be had. */
int nmi_queue_push(nmi_queue *q, nmi_msg *m);
/* Producer: queued messages as the producer sees them (fresh look at popped). */
uint64_t nmi_queue_size_p(nmi_queue *q);

/* Consumer: moves the oldest message into *m; false if the queue is empty. */
bool nmi_queue_pop(nmi_queue *q, nmi_msg *m);
/* Consumer: the oldest message without removing it, or NULL. */
nmi_msg *nmi_queue_peek(nmi_queue *q);

/* Any thread: approximate count for statistics. */
static inline uint64_t nmi_queue_count(nmi_queue *q)
{
    uint64_t pu = atomic_load_explicit(&q->pushed, memory_order_relaxed);
    uint64_t po = atomic_load_explicit(&q->popped, memory_order_relaxed);
    return pu > po ? pu - po : 0;
}

#endif
