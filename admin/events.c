/*
 * events.c - /api/v1/events: Server-Sent Events from the context's socket events
 * (nm_ctx_set_event_hook) and discovery's changes (an agent listener).
 *
 * Events go into a ring of the last EV_RING, each with a sequence number; every open
 * stream keeps its own position and sleeps on a condition variable until the next one
 * (or 5 s, then a keep-alive comment).  A stream that falls more than the ring behind
 * skips ahead.  Drops and HWM hits can come a million a second: one event per socket
 * and kind per 100 ms is passed on, with the number left out meanwhile.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bsd/string.h>

#include "nodeid.h"
#include "server_int.h"

#define EV_RING        512
#define EV_KEEPALIVE_S 5          /* under the connection timeout */
#define EV_QUIET_NS    100000000u /* between two drop or HWM events of a socket */
#define EV_RECENT      32         /* sockets remembered for that */

typedef struct ev_entry {
    char kind[20]; /* "peer_up", "dropped"... */
    char *data;    /* its JSON (malloc'd) */
} ev_entry;

/* When a socket last had a drop / HWM event passed on, and how many were left out. */
typedef struct ev_recent {
    uint64_t sock;       /* socket id (0 = free slot) */
    int event;           /* NM_EVENT_DROPPED or NM_EVENT_HWM_REACHED */
    uint64_t at_ns;      /* when */
    uint64_t suppressed; /* left out since */
} ev_recent;

struct nma_events {
    pthread_mutex_t lock;        /* everything below */
    pthread_cond_t cond;         /* a new event, or closing */
    ev_entry ring[EV_RING];      /* the last events; entry seq % EV_RING */
    uint64_t next;               /* sequence number of the next event */
    bool closing;                /* streams end */
    ev_recent recent[EV_RECENT]; /* rate limit for drops and HWM hits */
};

/* Appends an event (taking data). */
static void ev_push(nma_events *e, const char *kind, json_t *data)
{
    char *text = data ? nma_json_text(data) : NULL;
    json_decref(data);
    if (text == NULL)
        return;
    pthread_mutex_lock(&e->lock);
    ev_entry *en = &e->ring[e->next % EV_RING];
    free(en->data);
    strlcpy(en->kind, kind, sizeof(en->kind));
    en->data = text;
    e->next++;
    pthread_cond_broadcast(&e->cond);
    pthread_mutex_unlock(&e->lock);
}

/* For drops and HWM hits: false when the socket had one passed on under 100 ms ago;
 * otherwise true, and *suppressed says how many were left out since. */
static bool ev_let_through(nma_events *e, uint64_t sock, int event, uint64_t *suppressed)
{
    uint64_t now = nm_clock_ns();
    pthread_mutex_lock(&e->lock);
    ev_recent *slot = NULL, *oldest = &e->recent[0];
    for (int i = 0; i < EV_RECENT && slot == NULL; i++) {
        ev_recent *r = &e->recent[i];
        if (r->sock == sock && r->event == event)
            slot = r;
        else if (r->at_ns < oldest->at_ns)
            oldest = r;
    }
    bool pass = slot == NULL || now - slot->at_ns >= EV_QUIET_NS;
    if (slot == NULL) {
        slot = oldest;
        *slot = (ev_recent){sock, event, 0, 0};
    }
    if (pass) {
        *suppressed = slot->suppressed;
        slot->suppressed = 0;
        slot->at_ns = now;
    } else {
        slot->suppressed++;
    }
    pthread_mutex_unlock(&e->lock);
    return pass;
}

/* The context's hook: runs on messaging threads, so it only formats and appends. */
static void ev_socket_cb(void *arg, const nm_event_info_t *ev)
{
    nma_server *s = arg;
    const char *kind;
    if (s->tap != NULL)
        s->tap(s->tap_arg, ev);
    switch (ev->event) {
    case NM_EVENT_HANDSHAKE_SUCCEEDED:
        kind = "connected";
        break;
    case NM_EVENT_DISCONNECTED:
        kind = "disconnected";
        break;
    case NM_EVENT_HANDSHAKE_FAILED:
    case NM_EVENT_HANDSHAKE_FAILED_AUTH:
    case NM_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
        kind = "handshake_failed";
        break;
    case NM_EVENT_HWM_REACHED:
        kind = "hwm_reached";
        break;
    case NM_EVENT_DROPPED:
        kind = "dropped";
        break;
    default:
        return;
    }
    uint64_t suppressed = 0;
    bool limited = ev->event == NM_EVENT_DROPPED || ev->event == NM_EVENT_HWM_REACHED;
    if (limited && !ev_let_through(s->events, ev->sock, ev->event, &suppressed))
        return;
    const char *type = nm_sock_type_name(ev->type);
    ev_push(s->events, kind,
            json_pack("{s:I, s:s, s:s, s:I, s:s, s:I}", "socket", (json_int_t)ev->sock, "type",
                      type ? type : "?", "endpoint", ev->endpoint, "value", (json_int_t)ev->value,
                      "detail", ev->detail, "suppressed", (json_int_t)suppressed));
}

/* The agent's listener: peers and service instances coming and going. */
static void ev_agent_cb(void *arg, int ev, const nmd_peer *p, const nmd_service *svc)
{
    nma_server *s = arg;
    char hex[33];
    nmd_id_hex(p->id, hex);
    switch (ev) {
    case NMD_EV_PEER_UP:
    case NMD_EV_PEER_DOWN:
        ev_push(s->events, ev == NMD_EV_PEER_UP ? "peer_up" : "peer_down",
                json_pack("{s:s, s:s, s:s}", "id", hex, "name", p->name, "backend",
                          nmd_backend_name(p->backend)));
        break;
    case NMD_EV_SERVICE_UP:
    case NMD_EV_SERVICE_DOWN:
        ev_push(s->events, ev == NMD_EV_SERVICE_UP ? "service_up" : "service_down",
                json_pack("{s:s, s:s, s:s}", "name", svc->name, "endpoint", svc->endpoint, "node",
                          hex));
        break;
    }
}

int nma_events_start(nma_server *s)
{
    nma_events *e = calloc(1, sizeof(*e));
    if (e == NULL)
        return -ENOMEM;
    pthread_mutex_init(&e->lock, NULL);
    nma_cond_init(&e->cond);
    s->events = e;
    if (s->ctx != NULL)
        nm_ctx_set_event_hook(s->ctx, ev_socket_cb, s);
    int rc = s->agent != NULL ? nmd_agent_listen(s->agent, ev_agent_cb, s) : 0;
    if (rc < 0 && s->ctx != NULL)
        nm_ctx_set_event_hook(s->ctx, NULL, NULL);
    return rc;
}

void nma_event_tap(nma_server *s, nm_event_cb *tap, void *arg)
{
    if (s->ctx == NULL || s->events == NULL)
        return;
    /* Off first: once that returns no call is under way, so the tap changes with no
     * reader; turning it back on publishes it (the hook's lock orders the two). */
    nm_ctx_set_event_hook(s->ctx, NULL, NULL);
    s->tap = tap;
    s->tap_arg = arg;
    nm_ctx_set_event_hook(s->ctx, ev_socket_cb, s);
}

void nma_events_stop(nma_server *s)
{
    nma_events *e = s->events;
    if (e == NULL)
        return;
    if (s->ctx != NULL)
        nm_ctx_set_event_hook(s->ctx, NULL, NULL);
    if (s->agent != NULL)
        nmd_agent_unlisten(s->agent, ev_agent_cb, s);
    pthread_mutex_lock(&e->lock);
    e->closing = true;
    pthread_cond_broadcast(&e->cond);
    pthread_mutex_unlock(&e->lock);
}

void nma_events_free(nma_server *s)
{
    nma_events *e = s->events;
    if (e == NULL)
        return;
    for (int i = 0; i < EV_RING; i++)
        free(e->ring[i].data);
    pthread_cond_destroy(&e->cond);
    pthread_mutex_destroy(&e->lock);
    free(e);
    s->events = NULL;
}

/* One open stream. */
typedef struct ev_stream {
    nma_events *e; /* the ring */
    uint64_t next; /* the next event it sends */
    bool greeted;  /* the opening comment went out */
} ev_stream;

/* libmicrohttpd asks for the next bytes of the stream: waits for an event. */
static ssize_t ev_read_cb(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    ev_stream *st = cls;
    nma_events *e = st->e;
    if (!st->greeted) {
        st->greeted = true;
        return snprintf(buf, max, ": nomid events\nretry: 1000\n\n");
    }
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += EV_KEEPALIVE_S;
    pthread_mutex_lock(&e->lock);
    while (!e->closing && st->next == e->next)
        if (pthread_cond_timedwait(&e->cond, &e->lock, &until) != 0)
            break;
    ssize_t n;
    if (e->closing) {
        n = MHD_CONTENT_READER_END_OF_STREAM;
    } else if (st->next == e->next) {
        n = snprintf(buf, max, ": keep-alive\n\n");
    } else {
        if (e->next - st->next > EV_RING)
            st->next = e->next - EV_RING; /* fell behind: skip what was overwritten */
        ev_entry *en = &e->ring[st->next % EV_RING];
        int w = snprintf(buf, max, "id: %llu\nevent: %s\ndata: %s\n\n",
                         (unsigned long long)st->next, en->kind, en->data);
        n = w > 0 && (size_t)w < max ? w : snprintf(buf, max, ": (event too long)\n\n");
        st->next++;
    }
    pthread_mutex_unlock(&e->lock);
    return n;
}

struct MHD_Response *nma_events_response(nma_server *s)
{
    ev_stream *st = calloc(1, sizeof(*st));
    if (st == NULL)
        return NULL;
    st->e = s->events;
    pthread_mutex_lock(&s->events->lock);
    st->next = s->events->next; /* from now on: no replay */
    pthread_mutex_unlock(&s->events->lock);
    struct MHD_Response *r =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, ev_read_cb, st, free);
    if (r == NULL)
        free(st);
    return r;
}
