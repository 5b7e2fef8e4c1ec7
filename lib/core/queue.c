/*
 * queue.c - the chunked SPSC message queue (see queue.h).
 *
 * The queue starts with no chunk: head and tail point at a virtual "origin" chunk whose
 * only real field is its next pointer (origin_next), with positions at the end, so the
 * first push allocates a chunk and links it exactly as any later chunk is linked.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/queue.h"

/* The origin position: a fake chunk whose `next` field aliases q->origin_next. */
static nmi_qchunk *queue_origin(nmi_queue *q)
{
    return (nmi_qchunk *)((char *)&q->origin_next - offsetof(nmi_qchunk, next));
}

void nmi_queue_init(nmi_queue *q)
{
    memset(q, 0, sizeof(*q));
    q->tail = q->head = queue_origin(q);
    q->tail_pos = q->head_pos = NMI_QCHUNK;
    atomic_init(&q->pushed, 0);
    atomic_init(&q->popped, 0);
    atomic_init(&q->spare, NULL);
    atomic_init(&q->origin_next, NULL);
}

void nmi_queue_fini(nmi_queue *q)
{
    nmi_msg m;
    while (nmi_queue_pop(q, &m))
        nmi_msg_clear(&m);
    if (q->head != queue_origin(q))
        free(q->head);
    free(atomic_load(&q->spare));
}

int nmi_queue_push(nmi_queue *q, nmi_msg *m)
{
    if (q->tail_pos == NMI_QCHUNK) {
        nmi_qchunk *c = atomic_exchange_explicit(&q->spare, NULL, memory_order_acquire);
        if (c == NULL && (c = malloc(sizeof(*c))) == NULL)
            return -ENOMEM;
        atomic_store_explicit(&c->next, NULL, memory_order_relaxed);
        /* Published to the consumer by the release store of `pushed` below. */
        atomic_store_explicit(&q->tail->next, c, memory_order_relaxed);
        q->tail = c;
        q->tail_pos = 0;
    }
    nmi_msg_move(&q->tail->slots[q->tail_pos++], m);
    uint64_t n = atomic_load_explicit(&q->pushed, memory_order_relaxed);
    atomic_store_explicit(&q->pushed, n + 1, memory_order_release);
    return 0;
}

uint64_t nmi_queue_size_p(nmi_queue *q)
{
    uint64_t pu = atomic_load_explicit(&q->pushed, memory_order_relaxed);
    q->popped_cache = atomic_load_explicit(&q->popped, memory_order_acquire);
    return pu - q->popped_cache;
}

/* Consumer: true if a message is available, advancing head to its chunk. */
static bool queue_ready(nmi_queue *q)
{
    uint64_t po = atomic_load_explicit(&q->popped, memory_order_relaxed);
    if (po == q->pushed_cache) {
        q->pushed_cache = atomic_load_explicit(&q->pushed, memory_order_acquire);
        if (po == q->pushed_cache)
            return false;
    }
    if (q->head_pos == NMI_QCHUNK) {
        nmi_qchunk *old = q->head;
        q->head = atomic_load_explicit(&old->next, memory_order_relaxed);
        q->head_pos = 0;
        if (old != queue_origin(q)) {
            old = atomic_exchange_explicit(&q->spare, old, memory_order_release);
            free(old);
        }
    }
    return true;
}

nmi_msg *nmi_queue_peek(nmi_queue *q)
{
    return queue_ready(q) ? &q->head->slots[q->head_pos] : NULL;
}

bool nmi_queue_pop(nmi_queue *q, nmi_msg *m)
{
    if (!queue_ready(q))
        return false;
    *m = q->head->slots[q->head_pos++];
    uint64_t po = atomic_load_explicit(&q->popped, memory_order_relaxed);
    atomic_store_explicit(&q->popped, po + 1, memory_order_release);
    return true;
}
