/*
 * cmdq.c - the mutex-protected command lists threads use to hand each other work.
 *
 * Commands only flow on state changes (a pipe attached, a queue woke up), never per
 * message, so a plain mutex is the right tool here.
 */
#include <stdlib.h>

#include "core/core.h"

void nmi_cmdq_init(nmi_cmdq *q)
{
    pthread_mutex_init(&q->lock, NULL);
    q->cmds = NULL;
    q->n = q->cap = 0;
    atomic_init(&q->pending, 0);
}

void nmi_cmdq_fini(nmi_cmdq *q)
{
    free(q->cmds);
    pthread_mutex_destroy(&q->lock);
}

bool nmi_cmdq_push(nmi_cmdq *q, int type, void *obj)
{
    pthread_mutex_lock(&q->lock);
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 16;
        nmi_cmd *c = reallocarray(q->cmds, cap, sizeof(*c));
        if (c == NULL)
            abort(); /* out of memory on an internal hand-off: nothing sane to do */
        q->cmds = c;
        q->cap = cap;
    }
    q->cmds[q->n++] = (nmi_cmd){.type = type, .obj = obj};
    bool was_empty = q->n == 1;
    atomic_store(&q->pending, 1);
    pthread_mutex_unlock(&q->lock);
    return was_empty;
}

size_t nmi_cmdq_take(nmi_cmdq *q, nmi_cmd **out)
{
    pthread_mutex_lock(&q->lock);
    size_t n = q->n;
    *out = q->cmds;
    q->cmds = NULL;
    q->n = q->cap = 0;
    atomic_store(&q->pending, 0);
    pthread_mutex_unlock(&q->lock);
    return n;
}
