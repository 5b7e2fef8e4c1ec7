/*
 * timers.c - zmq_timers_*: a set of periodic timers the caller drives (zmq_timers_timeout
 * says how long to sleep, zmq_timers_execute runs the handlers that are due).
 *
 * A small array, searched linearly: sets hold a handful of timers.  Ids count up from
 * 1 and are never reused within a set, so a cancelled id stays invalid.
 */
#include <errno.h>
#include <stdlib.h>

#include "compat/compat.h"

#define ZC_TIMERS_TAG 0xcafe0dd1u

typedef struct zc_timer {
    int id;           /* handed to the caller */
    size_t interval;  /* ms */
    uint64_t due;     /* nm_clock_ns() when it fires next */
    zmq_timer_fn *fn; /* handler */
    void *arg;        /* its argument */
} zc_timer;

typedef struct zc_timers {
    uint32_t tag;  /* ZC_TIMERS_TAG */
    zc_timer *t;   /* timers */
    size_t n, cap; /* used and allocated */
    int next_id;   /* last id handed out */
} zc_timers;

static zc_timers *timers_of(void *p)
{
    zc_timers *ts = p;
    if (ts == NULL || ts->tag != ZC_TIMERS_TAG) {
        errno = EFAULT;
        return NULL;
    }
    return ts;
}

static zc_timer *timers_find(zc_timers *ts, int id)
{
    for (size_t i = 0; i < ts->n; i++)
        if (ts->t[i].id == id)
            return &ts->t[i];
    errno = EINVAL;
    return NULL;
}

static uint64_t timers_due(size_t interval)
{
    return nm_clock_ns() + (uint64_t)interval * 1000000u;
}

void *zmq_timers_new(void)
{
    zc_timers *ts = calloc(1, sizeof(*ts));
    if (ts != NULL)
        ts->tag = ZC_TIMERS_TAG;
    return ts;
}

int zmq_timers_destroy(void **timers_p)
{
    zc_timers *ts = timers_p ? timers_of(*timers_p) : NULL;
    if (ts == NULL)
        return zc_errno(EFAULT);
    ts->tag = 0;
    free(ts->t);
    free(ts);
    *timers_p = NULL;
    return 0;
}

int zmq_timers_add(void *timers, size_t interval, zmq_timer_fn handler, void *arg)
{
    zc_timers *ts = timers_of(timers);
    if (ts == NULL || handler == NULL)
        return zc_errno(EFAULT);
    if (ts->n == ts->cap) {
        size_t cap = ts->cap ? ts->cap * 2 : 8;
        zc_timer *t = realloc(ts->t, cap * sizeof(*t));
        if (t == NULL)
            return zc_errno(ENOMEM);
        ts->t = t;
        ts->cap = cap;
    }
    ts->t[ts->n++] = (zc_timer){++ts->next_id, interval, timers_due(interval), handler, arg};
    return ts->next_id;
}

int zmq_timers_cancel(void *timers, int timer_id)
{
    zc_timers *ts = timers_of(timers);
    if (ts == NULL)
        return -1;
    zc_timer *t = timers_find(ts, timer_id);
    if (t == NULL)
        return -1;
    *t = ts->t[--ts->n];
    return 0;
}

int zmq_timers_set_interval(void *timers, int timer_id, size_t interval)
{
    zc_timers *ts = timers_of(timers);
    zc_timer *t = ts ? timers_find(ts, timer_id) : NULL;
    if (t == NULL)
        return -1;
    t->interval = interval;
    t->due = timers_due(interval);
    return 0;
}

int zmq_timers_reset(void *timers, int timer_id)
{
    zc_timers *ts = timers_of(timers);
    zc_timer *t = ts ? timers_find(ts, timer_id) : NULL;
    if (t == NULL)
        return -1;
    t->due = timers_due(t->interval);
    return 0;
}

long zmq_timers_timeout(void *timers)
{
    zc_timers *ts = timers_of(timers);
    if (ts == NULL)
        return -1;
    if (ts->n == 0)
        return -1;
    uint64_t now = nm_clock_ns(), first = UINT64_MAX;
    for (size_t i = 0; i < ts->n; i++)
        if (ts->t[i].due < first)
            first = ts->t[i].due;
    return first <= now ? 0 : (long)((first - now + 999999u) / 1000000u); /* never early */
}

int zmq_timers_execute(void *timers)
{
    zc_timers *ts = timers_of(timers);
    if (ts == NULL)
        return -1;
    uint64_t now = nm_clock_ns();
    /* The due ids first: a handler may cancel or add timers, so each is looked up
     * again before its call. */
    int *due = malloc((ts->n ? ts->n : 1) * sizeof(*due));
    if (due == NULL)
        return zc_errno(ENOMEM);
    size_t ndue = 0;
    for (size_t i = 0; i < ts->n; i++)
        if (ts->t[i].due <= now)
            due[ndue++] = ts->t[i].id;
    for (size_t i = 0; i < ndue; i++) {
        zc_timer *t = timers_find(ts, due[i]);
        if (t == NULL)
            continue;
        t->due = timers_due(t->interval);
        t->fn(due[i], t->arg);
    }
    free(due);
    return 0;
}
