/*
 * monitor.c - socket events (nm_sock_monitor), as libzmq's zmq_socket_monitor.
 *
 * Events come from the I/O thread (connections) and from the application thread
 * (binds, drops), so the monitor's PAIR socket is only used under mon_lock, and a
 * socket without a monitor pays one relaxed load per event.  A context-wide hook
 * (nm_ctx_set_event_hook) sees every event of every socket first.  Every event is sent with
 * NM_DONTWAIT: a reader that falls behind loses events, it never slows the socket.
 */
#include <errno.h>
#include <string.h>

#include "core/core.h"

void nm_ctx_set_event_hook(nm_ctx_t *ctxp, nm_event_cb *cb, void *arg)
{
    nmi_ctx *ctx = (nmi_ctx *)ctxp;
    pthread_rwlock_wrlock(&ctx->event_lock); /* waits for calls under way */
    ctx->event_arg = arg;
    atomic_store(&ctx->event_cb, cb);
    pthread_rwlock_unlock(&ctx->event_lock);
}

/* Passes an event to the context's hook, if there is one. */
static void monitor_hook(nmi_sock *s, int event, uint32_t value, const char *endpoint,
                         const char *detail)
{
    nmi_ctx *ctx = s->ctx;
    if (atomic_load_explicit(&ctx->event_cb, memory_order_relaxed) == NULL)
        return;
    pthread_rwlock_rdlock(&ctx->event_lock);
    nm_event_cb *hook = atomic_load(&ctx->event_cb);
    if (hook != NULL) {
        nm_event_info_t ev = {
            s->id, s->type, event, value, endpoint ? endpoint : "", detail ? detail : ""};
        hook(ctx->event_arg, &ev);
    }
    pthread_rwlock_unlock(&ctx->event_lock);
}

void nmi_monitor(nmi_sock *s, int event, uint32_t value, const char *endpoint, const char *detail)
{
    monitor_hook(s, event, value, endpoint, detail);
    if (!(atomic_load_explicit(&s->mon_events, memory_order_relaxed) & event))
        return;
    /* Frame 1 as libzmq: uint16 event, uint32 value, little-endian. */
    uint8_t head[6] = {(uint8_t)event,        (uint8_t)(event >> 8),  (uint8_t)value,
                       (uint8_t)(value >> 8), (uint8_t)(value >> 16), (uint8_t)(value >> 24)};
    nm_msg_t m;
    nm_msg_init(&m);
    endpoint = endpoint ? endpoint : "";
    detail = detail ? detail : "";
    bool two = atomic_load_explicit(&s->mon_events, memory_order_relaxed) & NM_MONITOR_TWO_FRAMES;
    if (nm_msg_add(&m, head, sizeof(head)) < 0 || nm_msg_add(&m, endpoint, strlen(endpoint)) < 0 ||
        (!two && nm_msg_add(&m, detail, strlen(detail)) < 0)) {
        nm_msg_close(&m);
        return;
    }
    pthread_mutex_lock(&s->mon_lock);
    if (s->mon == NULL || nm_sock_send(s->mon, &m, NM_DONTWAIT) < 0)
        nm_msg_close(&m);
    pthread_mutex_unlock(&s->mon_lock);
}

void nmi_monitor_stop(nmi_sock *s)
{
    nmi_monitor(s, NM_EVENT_MONITOR_STOPPED, 0, "", "");
    pthread_mutex_lock(&s->mon_lock);
    atomic_store(&s->mon_events, 0);
    if (s->mon != NULL)
        nm_sock_close(&s->mon);
    pthread_mutex_unlock(&s->mon_lock);
}

static int monitor_start(nmi_sock *s, const char *endpoint, int events)
{
    nmi_monitor_stop(s);
    if (endpoint == NULL)
        return 0;
    if (strncmp(endpoint, "inproc://", 9) != 0)
        return -EPROTONOSUPPORT;
    nm_sock_t *mon;
    int rc = nm_sock_new(&mon, (nm_ctx_t *)s->ctx, NM_PAIR);
    if (rc < 0)
        return rc;
    if ((rc = nm_sock_bind(mon, endpoint)) < 0) {
        nm_sock_close(&mon);
        return rc;
    }
    /* The monitor's PAIR belongs to s: only s closes it, never nm_ctx_destroy. */
    pthread_mutex_lock(&s->ctx->reg_lock);
    ((nmi_sock *)mon)->close_posted = true;
    pthread_mutex_unlock(&s->ctx->reg_lock);
    pthread_mutex_lock(&s->mon_lock);
    s->mon = mon;
    atomic_store(&s->mon_events, events);
    pthread_mutex_unlock(&s->mon_lock);
    return 0;
}

int nm_sock_monitor(nm_sock_t *sp, const char *endpoint, int events)
{
    nmi_sock *s = (nmi_sock *)sp;
    return NMI_SOCK_CALL(s, monitor_start(s, endpoint, events));
}
