/*
 * binds.c - the binds thread and its queue (see binds.h).
 *
 * Shared state, under b->lock: the queue, and `stopping`.  Any thread raising a socket
 * event appends (member_binds_event_cb); the binds thread removes; member_binds_stop
 * sets `stopping` once, after the hook was turned off, so nothing appends after it.  The
 * list of advertised binds is the binds thread's alone.  specs and agent are read-only
 * while the thread runs.
 */
#include "binds.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>
#include <bsd/sys/queue.h>

#include "log.h"
#include "secure.h"

/* A listener that came or went, matching a spec. */
typedef struct binds_ev {
    STAILQ_ENTRY(binds_ev) entry;        /* in the queue */
    int event;                           /* NM_EVENT_LISTENING or NM_EVENT_CLOSED */
    uint64_t sock;                       /* the socket's id */
    int type;                            /* its type */
    bool keyed;                          /* a CURVE server with public key `key` */
    uint8_t key[32];                     /* (secure.h: member_secure_bind_key) */
    char endpoint[NMD_ENDPOINT_MAX + 1]; /* what it listens on */
} binds_ev;

/* A bind advertised under a spec's name. */
typedef struct binds_adv {
    LIST_ENTRY(binds_adv) entry;         /* in b->advertised */
    uint64_t sock;                       /* the socket that bound it */
    const member_spec *spec;             /* the name it is advertised as */
    char endpoint[NMD_ENDPOINT_MAX + 1]; /* as the core reported it */
} binds_adv;

struct member_binds {
    nmd_agent *agent;                   /* where binds are advertised */
    member_spec specs[MEMBER_SPEC_MAX]; /* what to advertise */
    int nspecs;                         /* their count */
    pthread_t thread;                   /* the binds thread */
    pthread_mutex_t lock;               /* queue, stopping */
    pthread_cond_t cond;                /* an event queued, or stopping */
    STAILQ_HEAD(, binds_ev) queue;      /* events for the thread, oldest first */
    bool stopping;                      /* the thread ends */
    LIST_HEAD(, binds_adv) advertised;  /* the binds thread's: what it advertised */
};

void member_binds_event_cb(void *arg, const nm_event_info_t *ev)
{
    member_binds *b = arg;
    if (ev->event != NM_EVENT_LISTENING && ev->event != NM_EVENT_CLOSED)
        return;
    bool match = false;
    for (int i = 0; i < b->nspecs && !match; i++)
        match = member_spec_match(&b->specs[i], ev->endpoint);
    binds_ev *e = match ? calloc(1, sizeof(*e)) : NULL;
    if (e == NULL ||
        strlcpy(e->endpoint, ev->endpoint, sizeof(e->endpoint)) >= sizeof(e->endpoint)) {
        if (match)
            log_msg(NM_LOG_WARN, "member", "%s: not advertised (%s)", ev->endpoint,
                    e == NULL ? "out of memory" : "endpoint too long");
        free(e);
        return;
    }
    e->event = ev->event;
    e->sock = ev->sock;
    e->type = ev->type;
    const uint8_t *key = ev->event == NM_EVENT_LISTENING ? member_secure_bind_key() : NULL;
    if ((e->keyed = key != NULL))
        memcpy(e->key, key, sizeof(e->key));
    pthread_mutex_lock(&b->lock);
    assert(!b->stopping); /* the hook is turned off before member_binds_stop */
    STAILQ_INSERT_TAIL(&b->queue, e, entry);
    pthread_cond_signal(&b->cond);
    pthread_mutex_unlock(&b->lock);
}

/* A listener came: advertised under every spec it matches. */
static void binds_listening(member_binds *b, const binds_ev *e)
{
    for (int i = 0; i < b->nspecs; i++) {
        const member_spec *s = &b->specs[i];
        if (!member_spec_match(s, e->endpoint))
            continue;
        binds_adv *a = calloc(1, sizeof(*a));
        int rc = a != NULL ? nmd_agent_advertise(b->agent, s->name, e->type, e->endpoint,
                                                 e->keyed ? e->key : NULL)
                           : -ENOMEM;
        if (rc < 0) {
            log_msg(NM_LOG_WARN, "member", "%s: cannot advertise it as %s: %s", e->endpoint,
                    s->name, nm_strerror(rc));
            free(a);
            continue;
        }
        a->sock = e->sock;
        a->spec = s;
        strlcpy(a->endpoint, e->endpoint, sizeof(a->endpoint));
        LIST_INSERT_HEAD(&b->advertised, a, entry);
        log_msg(NM_LOG_INFO, "member", "advertising %s %s as %s%s", nm_sock_type_name(e->type),
                e->endpoint, s->name, e->keyed ? " (CURVE)" : "");
    }
}

/* A listener went: what it was advertised as is withdrawn. */
static void binds_closed(member_binds *b, const binds_ev *e)
{
    binds_adv *a, *next;
    LIST_FOREACH_SAFE(a, &b->advertised, entry, next)
    {
        if (a->sock != e->sock || strcmp(a->endpoint, e->endpoint) != 0)
            continue;
        nmd_agent_withdraw(b->agent, a->spec->name, a->endpoint);
        log_msg(NM_LOG_INFO, "member", "withdrew %s (%s)", a->endpoint, a->spec->name);
        LIST_REMOVE(a, entry);
        free(a);
    }
}

static void *binds_thread(void *arg)
{
    member_binds *b = arg;
    pthread_mutex_lock(&b->lock);
    for (;;) {
        binds_ev *e = STAILQ_FIRST(&b->queue);
        if (e == NULL && b->stopping)
            break;
        if (e == NULL) {
            pthread_cond_wait(&b->cond, &b->lock);
            continue;
        }
        STAILQ_REMOVE_HEAD(&b->queue, entry);
        pthread_mutex_unlock(&b->lock); /* the agent's lock is never taken under ours */
        if (e->event == NM_EVENT_LISTENING)
            binds_listening(b, e);
        else
            binds_closed(b, e);
        free(e);
        pthread_mutex_lock(&b->lock);
    }
    pthread_mutex_unlock(&b->lock);
    return NULL;
}

int member_binds_start(member_binds **bp, nmd_agent *agent, const member_spec *specs, int nspecs)
{
    member_binds *b = calloc(1, sizeof(*b));
    if (b == NULL)
        return -ENOMEM;
    b->agent = agent;
    b->nspecs = nspecs < MEMBER_SPEC_MAX ? nspecs : MEMBER_SPEC_MAX;
    memcpy(b->specs, specs, (size_t)b->nspecs * sizeof(*specs));
    STAILQ_INIT(&b->queue);
    LIST_INIT(&b->advertised);
    pthread_mutex_init(&b->lock, NULL);
    pthread_cond_init(&b->cond, NULL);
    int rc = pthread_create(&b->thread, NULL, binds_thread, b);
    if (rc != 0) {
        pthread_cond_destroy(&b->cond);
        pthread_mutex_destroy(&b->lock);
        free(b);
        return -rc;
    }
    *bp = b;
    return 0;
}

void member_binds_stop(member_binds **bp)
{
    member_binds *b = *bp;
    if (b == NULL)
        return;
    *bp = NULL;
    pthread_mutex_lock(&b->lock);
    b->stopping = true; /* the thread drains the queue first */
    pthread_cond_signal(&b->cond);
    pthread_mutex_unlock(&b->lock);
    pthread_join(b->thread, NULL);
    binds_adv *a;
    while ((a = LIST_FIRST(&b->advertised)) != NULL) {
        LIST_REMOVE(a, entry);
        free(a);
    }
    pthread_cond_destroy(&b->cond);
    pthread_mutex_destroy(&b->lock);
    free(b);
}
