/*
 * sockopt.c - socket options: defaults, nm_sock_setopt and nm_sock_getopt.
 *
 * Options apply to connections made after they are set, as in libzmq, but for SNDHWM
 * and RCVHWM, which existing pipes take too (as libzmq 4.3's), and the socket's own
 * (ROUTER_HANDOVER, the XPUB and pattern ones), which apply at once.  Integer options
 * are rows of one table (the field they set, the range they take); the few that are
 * bytes, text or read-only are handled before it.
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>

#include "core/core.h"

void nmi_opts_default(nmi_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->sndhwm = 1000;
    o->rcvhwm = 1000;
    o->sndtimeo = -1;
    o->rcvtimeo = -1;
    o->linger = 30000;
    o->reconnect_ivl = 100;
    o->reconnect_ivl_max = 0;
    o->maxmsgsize = -1;
    o->tcp_keepalive = -1;
    o->heartbeat_timeout = -1;
    /* Limits on what one peer may cost: far above what an ordinary application sends
     * (README "Limits" says why each is where it is). */
    o->handshake_ivl = 30000;
    o->handshake_max = 256;
    o->multipart_maxframes = 16384;
    o->multipart_maxbytes = 32 << 20;
    o->subs_max = 65536;
    o->subs_maxbytes = 4 << 20;
    o->sndbuf = o->rcvbuf = -1;
    o->backlog = 1024; /* libzmq: 100; a burst of clients must not overflow it */
    o->keepalive_cnt = o->keepalive_idle = o->keepalive_intvl = -1;
    o->stream_notify = true;
    o->use_fd = -1;
}

enum { OPT_INT, OPT_BOOL, OPT_INT64 };

typedef struct sockopt_def {
    int opt;      /* enum nm_sockopt */
    int kind;     /* how the field is stored: OPT_INT, OPT_BOOL or OPT_INT64 */
    size_t off;   /* offsetof(nmi_opts, field) */
    int min, max; /* values accepted */
    int only;     /* the one socket type it applies to, or -1 */
} sockopt_def;

#define OPT(o, kind, field, min, max)                                                              \
    {                                                                                              \
        o, kind, offsetof(nmi_opts, field), min, max, -1                                           \
    }

static const sockopt_def sockopt_defs[] = {
    OPT(NM_SNDHWM, OPT_INT, sndhwm, 0, INT_MAX),
    OPT(NM_RCVHWM, OPT_INT, rcvhwm, 0, INT_MAX),
    OPT(NM_SNDTIMEO, OPT_INT, sndtimeo, -1, INT_MAX),
    OPT(NM_RCVTIMEO, OPT_INT, rcvtimeo, -1, INT_MAX),
    OPT(NM_LINGER, OPT_INT, linger, -1, INT_MAX),
    OPT(NM_RECONNECT_IVL, OPT_INT, reconnect_ivl, -1, INT_MAX),
    OPT(NM_RECONNECT_IVL_MAX, OPT_INT, reconnect_ivl_max, 0, INT_MAX),
    OPT(NM_IMMEDIATE, OPT_BOOL, immediate, INT_MIN, INT_MAX),
    OPT(NM_ROUTER_MANDATORY, OPT_BOOL, router_mandatory, INT_MIN, INT_MAX),
    OPT(NM_REQ_RELAXED, OPT_BOOL, req_relaxed, INT_MIN, INT_MAX),
    OPT(NM_REQ_CORRELATE, OPT_BOOL, req_correlate, INT_MIN, INT_MAX),
    OPT(NM_MAXMSGSIZE, OPT_INT64, maxmsgsize, -1, INT_MAX),
    OPT(NM_TCP_KEEPALIVE, OPT_INT, tcp_keepalive, -1, 1),
    {NM_XPUB_VERBOSE, OPT_BOOL, offsetof(nmi_opts, xpub_verbose), INT_MIN, INT_MAX, NM_XPUB},
    OPT(NM_HEARTBEAT_IVL, OPT_INT, heartbeat_ivl, 0, INT_MAX),
    OPT(NM_HEARTBEAT_TTL, OPT_INT, heartbeat_ttl, 0, 6553500), /* 16 bits of 100 ms */
    OPT(NM_HEARTBEAT_TIMEOUT, OPT_INT, heartbeat_timeout, -1, INT_MAX),
    OPT(NM_BUSY_POLL, OPT_INT, busy_poll_us, 0, 1000000),
    OPT(NM_HANDSHAKE_IVL, OPT_INT, handshake_ivl, 0, INT_MAX),
    OPT(NM_HANDSHAKE_MAX, OPT_INT, handshake_max, 0, INT_MAX),
    OPT(NM_MULTIPART_MAXFRAMES, OPT_INT, multipart_maxframes, 0, INT_MAX),
    OPT(NM_MULTIPART_MAXBYTES, OPT_INT, multipart_maxbytes, -1, INT_MAX),
    OPT(NM_SUBSCRIPTIONS_MAX, OPT_INT, subs_max, 0, INT_MAX),
    OPT(NM_SUBSCRIPTIONS_MAXBYTES, OPT_INT, subs_maxbytes, -1, INT_MAX),
    OPT(NM_SNDBUF, OPT_INT, sndbuf, -1, INT_MAX),
    OPT(NM_RCVBUF, OPT_INT, rcvbuf, -1, INT_MAX),
    OPT(NM_BACKLOG, OPT_INT, backlog, 0, INT_MAX),
    OPT(NM_TOS, OPT_INT, tos, 0, 255),
    OPT(NM_TCP_KEEPALIVE_CNT, OPT_INT, keepalive_cnt, -1, INT_MAX),
    OPT(NM_TCP_KEEPALIVE_IDLE, OPT_INT, keepalive_idle, -1, INT_MAX),
    OPT(NM_TCP_KEEPALIVE_INTVL, OPT_INT, keepalive_intvl, -1, INT_MAX),
    OPT(NM_TCP_MAXRT, OPT_INT, tcp_maxrt, 0, INT_MAX),
    OPT(NM_CONNECT_TIMEOUT, OPT_INT, connect_timeout, 0, INT_MAX),
    OPT(NM_IPV6, OPT_BOOL, ipv6, INT_MIN, INT_MAX),
    {NM_XPUB_VERBOSER, OPT_BOOL, offsetof(nmi_opts, xpub_verboser), INT_MIN, INT_MAX, NM_XPUB},
    OPT(NM_PROBE_ROUTER, OPT_BOOL, probe_router, INT_MIN, INT_MAX),
    {NM_STREAM_NOTIFY, OPT_BOOL, offsetof(nmi_opts, stream_notify), INT_MIN, INT_MAX, NM_STREAM},
    OPT(NM_INVERT_MATCHING, OPT_BOOL, invert_matching, INT_MIN, INT_MAX),
    OPT(NM_XPUB_NODROP, OPT_BOOL, xpub_nodrop, INT_MIN, INT_MAX),
    OPT(NM_CONFLATE, OPT_BOOL, conflate, INT_MIN, INT_MAX),
    {NM_XPUB_MANUAL, OPT_BOOL, offsetof(nmi_opts, xpub_manual), INT_MIN, INT_MAX, NM_XPUB},
    OPT(NM_USE_FD, OPT_INT, use_fd, -1, INT_MAX),
};

static const sockopt_def *sockopt_find(int opt)
{
    for (size_t i = 0; i < sizeof(sockopt_defs) / sizeof(sockopt_defs[0]); i++)
        if (sockopt_defs[i].opt == opt)
            return &sockopt_defs[i];
    return NULL;
}

/* SNDHWM and RCVHWM apply to the pipes the socket has, those whose attach is pending
 * included. */
static void sockopt_hwms_apply(nmi_sock *s)
{
    nmi_sock_process(s);
    nmi_pipe *p;
    TAILQ_FOREACH(p, &s->pipes, sock_entry)
    {
        nmi_pipe_set_hwms(p, s->opts.sndhwm, s->opts.rcvhwm);
    }
}

static int sockopt_set(nmi_sock *s, int opt, const void *val, size_t len)
{
    nmi_opts *o = &s->opts;
    if (opt == NM_ROUTING_ID) {
        if (val == NULL || len == 0 || len > NMI_RID_MAX || ((const uint8_t *)val)[0] == 0)
            return -EINVAL;
        memcpy(o->routing_id, val, len);
        o->routing_id_len = (uint8_t)len;
        return 0;
    }
    if (opt == NM_CONNECT_ROUTING_ID || opt == NM_XPUB_WELCOME_MSG) { /* bytes, 0..255 */
        bool rid = opt == NM_CONNECT_ROUTING_ID;
        if ((val == NULL && len > 0) || len > 255 || (rid && !s->proto->needs_rid) ||
            (!rid && s->type != NM_XPUB))
            return -EINVAL;
        memcpy(rid ? s->connect_rid : s->welcome, val, len);
        *(rid ? &s->connect_rid_len : &s->welcome_len) = (uint8_t)len;
        return 0;
    }
    if (opt == NM_SOCKS_PROXY) { /* text, or empty for none */
        if ((val == NULL && len > 0) || len >= sizeof(s->socks_proxy) ||
            (len > 0 && memchr(val, '\0', len) != NULL))
            return -EINVAL;
        memcpy(s->socks_proxy, val, len);
        s->socks_proxy[len] = '\0';
        return 0;
    }
    if (opt == NM_BINDTODEVICE) { /* an interface name, or empty for none */
        if ((val == NULL && len > 0) || len >= sizeof(o->bindtodevice) ||
            (len > 0 && memchr(val, '\0', len) != NULL))
            return -EINVAL;
        memcpy(o->bindtodevice, val, len);
        o->bindtodevice[len] = '\0';
        return 0;
    }
    if (opt >= NM_TCP_ACCEPT_FILTER && opt <= NM_IPC_FILTER_PID)
        return nmi_filters_set(&s->filters, opt, val, len);
    int rc = nmi_sec_setopt(&o->sec, opt, val, len);
    if (rc != -ENOENT)
        return rc;
    if (opt == NM_SUBSCRIBE || opt == NM_UNSUBSCRIBE) {
        if (s->proto->setopt == NULL || (val == NULL && len > 0))
            return -EINVAL;
        return s->proto->setopt(s, opt, val, len);
    }
    if (opt == NM_ROUTER_HANDOVER) { /* the socket's, read by its I/O thread */
        int on;
        if (val == NULL || len != sizeof(int) || s->type != NM_ROUTER)
            return -EINVAL;
        memcpy(&on, val, sizeof(on));
        atomic_store_explicit(&s->router_handover, on != 0, memory_order_relaxed);
        return 0;
    }
    const sockopt_def *d = sockopt_find(opt);
    int v;
    if (d == NULL || val == NULL || len != sizeof(int) || (d->only >= 0 && d->only != s->type))
        return -EINVAL;
    /* libzmq's PUSH and PUB conflate what they send; nomid's conflates only what a socket
     * receives: better told than given other behaviour. */
    if (opt == NM_CONFLATE && (s->type == NM_PUSH || s->type == NM_PUB))
        return -EINVAL;
    memcpy(&v, val, sizeof(int));
    if (v < d->min || v > d->max)
        return -EINVAL;
    void *field = (char *)o + d->off;
    if (d->kind == OPT_BOOL)
        *(bool *)field = v != 0;
    else if (d->kind == OPT_INT64)
        *(int64_t *)field = v;
    else
        *(int *)field = v;
    if (opt == NM_SNDHWM || opt == NM_RCVHWM)
        sockopt_hwms_apply(s);
    return 0;
}

static int sockopt_get(nmi_sock *s, int opt, void *val, size_t *len)
{
    nmi_opts *o = &s->opts;
    if (val == NULL || len == NULL)
        return -EINVAL;
    if (opt == NM_LAST_ENDPOINT || opt == NM_BINDTODEVICE || opt == NM_SOCKS_PROXY) {
        const char *text = opt == NM_LAST_ENDPOINT ? s->last_ep
                           : opt == NM_SOCKS_PROXY ? s->socks_proxy
                                                   : o->bindtodevice;
        size_t n = strlen(text) + 1;
        if (*len < n)
            return -EINVAL;
        memcpy(val, text, n);
        *len = n;
        return 0;
    }
    int rc = nmi_sec_getopt(o->sec, opt, val, len);
    if (rc != -ENOENT)
        return rc;
    if (opt == NM_ROUTING_ID) {
        if (*len < o->routing_id_len)
            return -EINVAL;
        memcpy(val, o->routing_id, o->routing_id_len);
        *len = o->routing_id_len;
        return 0;
    }
    int v;
    if (*len < sizeof(int))
        return -EINVAL;
    if (opt == NM_FD) {
        s->fd_mode = true;
        v = s->sig.fd;
    } else if (opt == NM_EVENTS) {
        uint64_t drain;
        (void)!read(s->sig.fd, &drain, sizeof(drain)); /* re-armed by the next post */
        v = nmi_sock_events(s);
    } else if (opt == NM_TYPE) {
        v = s->type;
    } else if (opt == NM_ROUTER_HANDOVER) {
        v = atomic_load_explicit(&s->router_handover, memory_order_relaxed);
    } else {
        const sockopt_def *d = sockopt_find(opt);
        if (d == NULL)
            return -EINVAL;
        const void *field = (const char *)o + d->off;
        if (d->kind == OPT_BOOL)
            v = *(const bool *)field;
        else if (d->kind == OPT_INT64)
            v = *(const int64_t *)field > INT_MAX ? INT_MAX : (int)*(const int64_t *)field;
        else
            v = *(const int *)field;
    }
    memcpy(val, &v, sizeof(int));
    *len = sizeof(int);
    return 0;
}

/* Both bracketed (nmi_sock_enter): NM_ETERM once the context is shut down. */
int nm_sock_setopt(nm_sock_t *sp, int opt, const void *val, size_t len)
{
    nmi_sock *s = (nmi_sock *)sp;
    return NMI_SOCK_CALL(s, sockopt_set(s, opt, val, len));
}

int nm_sock_getopt(nm_sock_t *sp, int opt, void *val, size_t *len)
{
    nmi_sock *s = (nmi_sock *)sp;
    return NMI_SOCK_CALL(s, sockopt_get(s, opt, val, len));
}

int nm_sock_setopt_int(nm_sock_t *s, int opt, int val)
{
    return nm_sock_setopt(s, opt, &val, sizeof(val));
}

int nm_sock_getopt_int(nm_sock_t *s, int opt, int *val)
{
    size_t len = sizeof(*val);
    return nm_sock_getopt(s, opt, val, &len);
}
