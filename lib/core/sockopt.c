/*
 * sockopt.c - socket options: defaults, nm_sock_setopt and nm_sock_getopt.
 *
 * Options apply to connections made after they are set, as in libzmq.
 */
#include <errno.h>
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
}

static int sockopt_int(const void *val, size_t len, int *out)
{
    if (val == NULL || len != sizeof(int))
        return -EINVAL;
    memcpy(out, val, sizeof(int));
    return 0;
}

int nm_sock_setopt(nm_sock_t *sp, int opt, const void *val, size_t len)
{
    nmi_sock *s = (nmi_sock *)sp;
    nmi_opts *o = &s->opts;
    if (opt == NM_ROUTING_ID) {
        if (val == NULL || len == 0 || len > NMI_RID_MAX || ((const uint8_t *)val)[0] == 0)
            return -EINVAL;
        memcpy(o->routing_id, val, len);
        o->routing_id_len = (uint8_t)len;
        return 0;
    }
    if (opt == NM_SUBSCRIBE || opt == NM_UNSUBSCRIBE) {
        if (s->proto->setopt == NULL || (val == NULL && len > 0))
            return -EINVAL;
        return s->proto->setopt(s, opt, val, len);
    }
    int v;
    if (sockopt_int(val, len, &v) < 0)
        return -EINVAL;
    switch (opt) {
    case NM_XPUB_VERBOSE:
        if (s->type != NM_XPUB)
            return -EINVAL;
        o->xpub_verbose = v != 0;
        return 0;
    case NM_HEARTBEAT_IVL:
    case NM_HEARTBEAT_TTL:
        if (v < 0 || (opt == NM_HEARTBEAT_TTL && v > 6553500))
            return -EINVAL;
        *(opt == NM_HEARTBEAT_IVL ? &o->heartbeat_ivl : &o->heartbeat_ttl) = v;
        return 0;
    case NM_HEARTBEAT_TIMEOUT:
        if (v < -1)
            return -EINVAL;
        o->heartbeat_timeout = v;
        return 0;
    case NM_BUSY_POLL:
        if (v < 0 || v > 1000000)
            return -EINVAL;
        o->busy_poll_us = v;
        return 0;
    case NM_SNDHWM:
    case NM_RCVHWM:
        if (v < 0)
            return -EINVAL;
        *(opt == NM_SNDHWM ? &o->sndhwm : &o->rcvhwm) = v;
        return 0;
    case NM_SNDTIMEO:
    case NM_RCVTIMEO:
    case NM_LINGER:
        if (v < -1)
            return -EINVAL;
        *(opt == NM_SNDTIMEO ? &o->sndtimeo : opt == NM_RCVTIMEO ? &o->rcvtimeo : &o->linger) = v;
        return 0;
    case NM_RECONNECT_IVL:
        if (v < -1)
            return -EINVAL;
        o->reconnect_ivl = v;
        return 0;
    case NM_RECONNECT_IVL_MAX:
        if (v < 0)
            return -EINVAL;
        o->reconnect_ivl_max = v;
        return 0;
    case NM_IMMEDIATE:
        o->immediate = v != 0;
        return 0;
    case NM_ROUTER_MANDATORY:
        o->router_mandatory = v != 0;
        return 0;
    case NM_REQ_RELAXED:
        o->req_relaxed = v != 0;
        return 0;
    case NM_REQ_CORRELATE:
        o->req_correlate = v != 0;
        return 0;
    case NM_MAXMSGSIZE:
        if (v < -1)
            return -EINVAL;
        o->maxmsgsize = v;
        return 0;
    case NM_TCP_KEEPALIVE:
        if (v < -1 || v > 1)
            return -EINVAL;
        o->tcp_keepalive = v;
        return 0;
    default:
        return -EINVAL;
    }
}

int nm_sock_getopt(nm_sock_t *sp, int opt, void *val, size_t *len)
{
    nmi_sock *s = (nmi_sock *)sp;
    nmi_opts *o = &s->opts;
    if (val == NULL || len == NULL)
        return -EINVAL;
    if (opt == NM_LAST_ENDPOINT) {
        size_t n = strlen(s->last_ep) + 1;
        if (*len < n)
            return -EINVAL;
        memcpy(val, s->last_ep, n);
        *len = n;
        return 0;
    }
    if (opt == NM_FD || opt == NM_EVENTS) {
        if (*len < sizeof(int))
            return -EINVAL;
        int v = s->sig.fd;
        if (opt == NM_FD) {
            s->fd_mode = true;
        } else {
            uint64_t drain;
            (void)!read(s->sig.fd, &drain, sizeof(drain)); /* re-armed by the next post */
            v = nmi_sock_events(s);
        }
        memcpy(val, &v, sizeof(int));
        *len = sizeof(int);
        return 0;
    }
    if (opt == NM_ROUTING_ID) {
        if (*len < o->routing_id_len)
            return -EINVAL;
        memcpy(val, o->routing_id, o->routing_id_len);
        *len = o->routing_id_len;
        return 0;
    }
    int v;
    switch (opt) {
    case NM_SNDHWM:
        v = o->sndhwm;
        break;
    case NM_RCVHWM:
        v = o->rcvhwm;
        break;
    case NM_SNDTIMEO:
        v = o->sndtimeo;
        break;
    case NM_RCVTIMEO:
        v = o->rcvtimeo;
        break;
    case NM_LINGER:
        v = o->linger;
        break;
    case NM_RECONNECT_IVL:
        v = o->reconnect_ivl;
        break;
    case NM_RECONNECT_IVL_MAX:
        v = o->reconnect_ivl_max;
        break;
    case NM_IMMEDIATE:
        v = o->immediate;
        break;
    case NM_ROUTER_MANDATORY:
        v = o->router_mandatory;
        break;
    case NM_REQ_RELAXED:
        v = o->req_relaxed;
        break;
    case NM_REQ_CORRELATE:
        v = o->req_correlate;
        break;
    case NM_MAXMSGSIZE:
        v = o->maxmsgsize > 0x7fffffff ? 0x7fffffff : (int)o->maxmsgsize;
        break;
    case NM_TYPE:
        v = s->type;
        break;
    case NM_TCP_KEEPALIVE:
        v = o->tcp_keepalive;
        break;
    case NM_XPUB_VERBOSE:
        v = o->xpub_verbose;
        break;
    case NM_HEARTBEAT_IVL:
        v = o->heartbeat_ivl;
        break;
    case NM_HEARTBEAT_TTL:
        v = o->heartbeat_ttl;
        break;
    case NM_HEARTBEAT_TIMEOUT:
        v = o->heartbeat_timeout;
        break;
    case NM_BUSY_POLL:
        v = o->busy_poll_us;
        break;
    default:
        return -EINVAL;
    }
    if (*len < sizeof(int))
        return -EINVAL;
    memcpy(val, &v, sizeof(int));
    *len = sizeof(int);
    return 0;
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
