/*
 * opts.c - zmq_setsockopt and zmq_getsockopt: one table from libzmq's option numbers
 * to nomid's options (nng's compat layer is the model).
 *
 * Each row says how libzmq passes the value (int, int64, uint64, bytes, text), whether
 * it may be set and read, the range libzmq accepts (its socket types take any value >= 0
 * as true for their flags: REQ_*, ROUTER_MANDATORY, PROBE_ROUTER), the socket types it
 * belongs to, and where it goes:
 *  - ZC_NM: a nomid option (nm_sock_setopt/getopt), the common case;
 *  - ZC_KEEP: an option for what nomid has no use for (AFFINITY; RATE, RECOVERY_IVL and
 *    MULTICAST_* of the multicast transports it lacks): accepted in libzmq's range, kept
 *    in the handle and read back, as libzmq does on tcp.  It changes no message's fate;
 *  - ZC_DEFAULT: an option that would change behaviour the core does not have yet
 *    (ROUTER_RAW): reads back libzmq's default and accepts only that value, so a
 *    program is told (EINVAL) rather than silently given other behaviour;
 *  - ZC_SPECIAL: answered here (RCVMORE, EVENTS) or by the core read-only (FD, TYPE).
 * Numbers not in the table (GSSAPI ones: this build has none, as a libzmq built without
 * it; VMCI; draft options) fail with EINVAL, as in libzmq.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "compat/compat.h"

/* How the value is passed; ZC_RAW: to the core as it is (the security options, whose
 * forms the core takes as libzmq does: a key of 32 bytes or 40 Z85 characters, a NULL
 * user name that clears the mechanism). */
enum { ZC_INT, ZC_I64, ZC_U64, ZC_BYTES, ZC_TEXT, ZC_RAW };
enum { ZC_NM, ZC_KEEP, ZC_DEFAULT, ZC_SPECIAL }; /* where it goes */
enum { ZC_R = 1, ZC_W = 2, ZC_RW = 3 };          /* access */

typedef struct zc_opt {
    int opt;          /* ZMQ_* */
    int vtype;        /* ZC_INT ... */
    int where;        /* ZC_NM ... */
    int access;       /* ZC_R, ZC_W or ZC_RW */
    int nm;           /* nomid's option (ZC_NM), or the ZC_KEEP slot */
    int64_t min, max; /* range accepted (ints) */
    int64_t dflt;     /* libzmq's default (ZC_KEEP, ZC_DEFAULT) */
    unsigned types;   /* socket types it applies to (bit per type), 0 = every type */
} zc_opt;

/* Draft options that libzmq 4.3.4 answers even when built without the draft API (as
 * Debian's is), so programs read them: kept and read back. */
#define ZC_DRAFT_ZAP_ENFORCE_DOMAIN 93
#define ZC_DRAFT_LOOPBACK_FASTPATH  94
#define ZC_DRAFT_MULTICAST_LOOP     96

#define T(t)    (1u << (t))
#define ZC_ANY  0u
#define ZC_IMAX INT_MAX

static const zc_opt zc_opts[] = {
    /* nomid's own options */
    {ZMQ_SNDHWM, ZC_INT, ZC_NM, ZC_RW, NM_SNDHWM, 0, ZC_IMAX, 0, ZC_ANY},
    {ZMQ_RCVHWM, ZC_INT, ZC_NM, ZC_RW, NM_RCVHWM, 0, ZC_IMAX, 0, ZC_ANY},
    {ZMQ_SNDTIMEO, ZC_INT, ZC_NM, ZC_RW, NM_SNDTIMEO, -1, ZC_IMAX, 0, ZC_ANY},
    {ZMQ_RCVTIMEO, ZC_INT, ZC_NM, ZC_RW, NM_RCVTIMEO, -1, ZC_IMAX, 0, ZC_ANY},
    {ZMQ_LINGER, ZC_INT, ZC_NM, ZC_RW, NM_LINGER, -1, ZC_IMAX, 0, ZC_ANY},
    {ZMQ_RECONNECT_IVL, ZC_INT, ZC_NM, ZC_RW, NM_RECONNECT_IVL, -1, ZC_IMAX, 0, ZC_ANY},
    {ZMQ_RECONNECT_IVL_MAX, ZC_INT, ZC_NM, ZC_RW, NM_RECONNECT_IVL_MAX, 0, ZC_IMAX, 0, ZC_ANY},
    {ZMQ_IMMEDIATE, ZC_INT, ZC_NM, ZC_RW, NM_IMMEDIATE, 0, 1, 0, ZC_ANY},
    {ZMQ_ROUTING_ID, ZC_BYTES, ZC_NM, ZC_RW, NM_ROUTING_ID, 1, 255, 0, ZC_ANY},
    {ZMQ_SUBSCRIBE, ZC_BYTES, ZC_NM, ZC_W, NM_SUBSCRIBE, 0, ZC_IMAX, 0,
     T(ZMQ_SUB) | T(ZMQ_XSUB) | T(ZMQ_XPUB)},
    {ZMQ_UNSUBSCRIBE, ZC_BYTES, ZC_NM, ZC_W, NM_UNSUBSCRIBE, 0, ZC_IMAX, 0,
     T(ZMQ_SUB) | T(ZMQ_XSUB) | T(ZMQ_XPUB)},
    {ZMQ_ROUTER_MANDATORY, ZC_INT, ZC_NM, ZC_W, NM_ROUTER_MANDATORY, 0, ZC_IMAX, 0, T(ZMQ_ROUTER)},
    {ZMQ_REQ_RELAXED, ZC_INT, ZC_NM, ZC_W, NM_REQ_RELAXED, 0, ZC_IMAX, 0, T(ZMQ_REQ)},
    {ZMQ_REQ_CORRELATE, ZC_INT, ZC_NM, ZC_W, NM_REQ_CORRELATE, 0, ZC_IMAX, 0, T(ZMQ_REQ)},
    {ZMQ_MAXMSGSIZE, ZC_I64, ZC_NM, ZC_RW, NM_MAXMSGSIZE, -1, INT64_MAX, 0, ZC_ANY},
    {ZMQ_LAST_ENDPOINT, ZC_TEXT, ZC_NM, ZC_R, NM_LAST_ENDPOINT, 0, 0, 0, ZC_ANY},
    {ZMQ_TYPE, ZC_INT, ZC_NM, ZC_R, NM_TYPE, 0, 0, 0, ZC_ANY},
    {ZMQ_TCP_KEEPALIVE, ZC_INT, ZC_NM, ZC_RW, NM_TCP_KEEPALIVE, -1, 1, 0, ZC_ANY},
    {ZMQ_XPUB_VERBOSE, ZC_INT, ZC_NM, ZC_W, NM_XPUB_VERBOSE, 0, 1, 0, T(ZMQ_XPUB)},
    {ZMQ_HEARTBEAT_IVL, ZC_INT, ZC_NM, ZC_RW, NM_HEARTBEAT_IVL, 0, ZC_IMAX, 0, ZC_ANY},
    {ZMQ_HEARTBEAT_TTL, ZC_INT, ZC_NM, ZC_RW, NM_HEARTBEAT_TTL, 0, 6553599, 0, ZC_ANY},
    {ZMQ_HEARTBEAT_TIMEOUT, ZC_INT, ZC_NM, ZC_RW, NM_HEARTBEAT_TIMEOUT, -1, ZC_IMAX, 0, ZC_ANY},
    {ZMQ_HANDSHAKE_IVL, ZC_INT, ZC_NM, ZC_RW, NM_HANDSHAKE_IVL, 0, ZC_IMAX, 0, ZC_ANY},
    {ZMQ_FD, ZC_INT, ZC_NM, ZC_R, NM_FD, 0, 0, 0, ZC_ANY},
    /* answered here */
    {ZMQ_RCVMORE, ZC_INT, ZC_SPECIAL, ZC_R, 0, 0, 0, 0, ZC_ANY},
    {ZMQ_EVENTS, ZC_INT, ZC_SPECIAL, ZC_R, 0, 0, 0, 0, ZC_ANY},
    {ZMQ_IPV4ONLY, ZC_INT, ZC_SPECIAL, ZC_RW, 0, 0, 1, 1, ZC_ANY}, /* deprecated: !IPV6 */
    {ZC_DRAFT_LOOPBACK_FASTPATH, ZC_INT, ZC_KEEP, ZC_RW, 16, 0, 1, 0, ZC_ANY},
    {ZC_DRAFT_MULTICAST_LOOP, ZC_INT, ZC_KEEP, ZC_RW, 17, 0, 1, 1, ZC_ANY},
    /* tuning the core does not have yet: kept, read back, not applied */
    {ZMQ_AFFINITY, ZC_U64, ZC_KEEP, ZC_RW, 0, 0, INT64_MAX, 0, ZC_ANY},
    {ZMQ_RATE, ZC_INT, ZC_KEEP, ZC_RW, 1, 1, ZC_IMAX, 100, ZC_ANY},
    {ZMQ_RECOVERY_IVL, ZC_INT, ZC_KEEP, ZC_RW, 2, 0, ZC_IMAX, 10000, ZC_ANY},
    {ZMQ_SNDBUF, ZC_INT, ZC_NM, ZC_RW, NM_SNDBUF, -1, ZC_IMAX, 0, ZC_ANY},
    {ZMQ_RCVBUF, ZC_INT, ZC_NM, ZC_RW, NM_RCVBUF, -1, ZC_IMAX, 0, ZC_ANY},
    {ZMQ_BACKLOG, ZC_INT, ZC_NM, ZC_RW, NM_BACKLOG, 0, ZC_IMAX, 0, ZC_ANY},
    {ZMQ_MULTICAST_HOPS, ZC_INT, ZC_KEEP, ZC_RW, 6, 1, ZC_IMAX, 1, ZC_ANY},
    {ZMQ_MULTICAST_MAXTPDU, ZC_INT, ZC_KEEP, ZC_RW, 7, 1, ZC_IMAX, 1500, ZC_ANY},
    {ZMQ_TCP_KEEPALIVE_CNT, ZC_INT, ZC_NM, ZC_RW, NM_TCP_KEEPALIVE_CNT, -1, ZC_IMAX, 0, ZC_ANY},
    {ZMQ_TCP_KEEPALIVE_IDLE, ZC_INT, ZC_NM, ZC_RW, NM_TCP_KEEPALIVE_IDLE, -1, ZC_IMAX, 0, ZC_ANY},
    {ZMQ_TCP_KEEPALIVE_INTVL, ZC_INT, ZC_NM, ZC_RW, NM_TCP_KEEPALIVE_INTVL, -1, ZC_IMAX, 0, ZC_ANY},
    {ZMQ_TOS, ZC_INT, ZC_NM, ZC_RW, NM_TOS, 0, 255, 0, ZC_ANY},
    {ZMQ_CONNECT_TIMEOUT, ZC_INT, ZC_NM, ZC_RW, NM_CONNECT_TIMEOUT, 0, ZC_IMAX, 0, ZC_ANY},
    {ZMQ_TCP_MAXRT, ZC_INT, ZC_NM, ZC_RW, NM_TCP_MAXRT, 0, ZC_IMAX, 0, ZC_ANY},
    {ZMQ_IPV6, ZC_INT, ZC_NM, ZC_RW, NM_IPV6, 0, 1, 0, ZC_ANY},
    {ZMQ_CONFLATE, ZC_INT, ZC_NM, ZC_RW, NM_CONFLATE, 0, 1, 0, ZC_ANY},
    /* what a bind listens on and who it takes: the application's descriptor, the
     * networks (text) and the credentials (an id: a pid_t, uid_t or gid_t, an int's
     * bytes) of the peers it accepts; an empty value clears that list */
    {ZMQ_USE_FD, ZC_INT, ZC_NM, ZC_RW, NM_USE_FD, -1, ZC_IMAX, -1, ZC_ANY},
    {ZMQ_TCP_ACCEPT_FILTER, ZC_BYTES, ZC_NM, ZC_W, NM_TCP_ACCEPT_FILTER, 0, 0, 0, ZC_ANY},
    {ZMQ_IPC_FILTER_PID, ZC_BYTES, ZC_NM, ZC_W, NM_IPC_FILTER_PID, 0, 0, 0, ZC_ANY},
    {ZMQ_IPC_FILTER_UID, ZC_BYTES, ZC_NM, ZC_W, NM_IPC_FILTER_UID, 0, 0, 0, ZC_ANY},
    {ZMQ_IPC_FILTER_GID, ZC_BYTES, ZC_NM, ZC_W, NM_IPC_FILTER_GID, 0, 0, 0, ZC_ANY},
    /* where tcp connects go through; NULL clears it, "" is refused (as libzmq) */
    {ZMQ_SOCKS_PROXY, ZC_TEXT, ZC_NM, ZC_RW, NM_SOCKS_PROXY, 0, 0, 0, ZC_ANY},
    {ZMQ_INVERT_MATCHING, ZC_INT, ZC_NM, ZC_RW, NM_INVERT_MATCHING, 0, 1, 0,
     T(ZMQ_PUB) | T(ZMQ_XPUB) | T(ZMQ_SUB)},
    {ZMQ_PROBE_ROUTER, ZC_INT, ZC_NM, ZC_W, NM_PROBE_ROUTER, 0, ZC_IMAX, 0,
     T(ZMQ_ROUTER) | T(ZMQ_DEALER) | T(ZMQ_REQ)},
    {ZMQ_ROUTER_HANDOVER, ZC_INT, ZC_NM, ZC_W, NM_ROUTER_HANDOVER, 0, 1, 0, T(ZMQ_ROUTER)},
    /* behaviour the core does not have yet: libzmq's default only */
    {ZMQ_ROUTER_RAW, ZC_INT, ZC_DEFAULT, ZC_W, 0, 0, 1, 0, T(ZMQ_ROUTER)},
    {ZMQ_XPUB_NODROP, ZC_INT, ZC_NM, ZC_W, NM_XPUB_NODROP, 0, 1, 0, T(ZMQ_XPUB) | T(ZMQ_PUB)},
    {ZMQ_XPUB_MANUAL, ZC_INT, ZC_NM, ZC_W, NM_XPUB_MANUAL, 0, 1, 0, T(ZMQ_XPUB)},
    {ZMQ_XPUB_VERBOSER, ZC_INT, ZC_NM, ZC_W, NM_XPUB_VERBOSER, 0, 1, 0, T(ZMQ_XPUB)},
    {ZMQ_STREAM_NOTIFY, ZC_INT, ZC_NM, ZC_W, NM_STREAM_NOTIFY, 0, 1, 1, T(ZMQ_STREAM)},
    {ZMQ_THREAD_SAFE, ZC_INT, ZC_DEFAULT, ZC_R, 0, 0, 0, 0, ZC_ANY},
    {ZMQ_CONNECT_ROUTING_ID, ZC_BYTES, ZC_NM, ZC_W, NM_CONNECT_ROUTING_ID, 0, 0, 0,
     T(ZMQ_ROUTER) | T(ZMQ_STREAM)},
    {ZMQ_XPUB_WELCOME_MSG, ZC_BYTES, ZC_NM, ZC_W, NM_XPUB_WELCOME_MSG, 0, 0, 0, T(ZMQ_XPUB)},
    {ZMQ_BINDTODEVICE, ZC_TEXT, ZC_NM, ZC_RW, NM_BINDTODEVICE, 0, 0, 0, ZC_ANY},
    /* security: the mechanism, its credentials and ZAP */
    {ZMQ_MECHANISM, ZC_INT, ZC_NM, ZC_R, NM_MECHANISM, 0, 0, 0, ZC_ANY},
    {ZMQ_PLAIN_SERVER, ZC_INT, ZC_NM, ZC_RW, NM_PLAIN_SERVER, 0, 1, 0, ZC_ANY},
    {ZMQ_PLAIN_USERNAME, ZC_RAW, ZC_NM, ZC_RW, NM_PLAIN_USERNAME, 0, 0, 0, ZC_ANY},
    {ZMQ_PLAIN_PASSWORD, ZC_RAW, ZC_NM, ZC_RW, NM_PLAIN_PASSWORD, 0, 0, 0, ZC_ANY},
    {ZMQ_CURVE_SERVER, ZC_INT, ZC_NM, ZC_RW, NM_CURVE_SERVER, 0, 1, 0, ZC_ANY},
    {ZMQ_CURVE_PUBLICKEY, ZC_RAW, ZC_NM, ZC_RW, NM_CURVE_PUBLICKEY, 0, 0, 0, ZC_ANY},
    {ZMQ_CURVE_SECRETKEY, ZC_RAW, ZC_NM, ZC_RW, NM_CURVE_SECRETKEY, 0, 0, 0, ZC_ANY},
    {ZMQ_CURVE_SERVERKEY, ZC_RAW, ZC_NM, ZC_RW, NM_CURVE_SERVERKEY, 0, 0, 0, ZC_ANY},
    {ZMQ_ZAP_DOMAIN, ZC_RAW, ZC_NM, ZC_RW, NM_ZAP_DOMAIN, 0, 0, 0, ZC_ANY},
    {ZC_DRAFT_ZAP_ENFORCE_DOMAIN, ZC_INT, ZC_NM, ZC_RW, NM_ZAP_ENFORCE_DOMAIN, 0, 1, 0, ZC_ANY},
};

#define ZC_NOPTS (sizeof(zc_opts) / sizeof(zc_opts[0]))

_Static_assert(18 <= ZC_STORED_MAX, "room for every ZC_KEEP slot");

static const zc_opt *opt_find(int opt)
{
    for (size_t i = 0; i < ZC_NOPTS; i++)
        if (zc_opts[i].opt == opt)
            return &zc_opts[i];
    return NULL;
}

void zc_opts_init(zc_sock *zs)
{
    for (size_t i = 0; i < ZC_NOPTS; i++)
        if (zc_opts[i].where == ZC_KEEP)
            zs->stored[zc_opts[i].nm] = zc_opts[i].dflt;
    /* libzmq's defaults where nomid's differ: LINGER -1 (0 on a non-blocky context),
     * BACKLOG 100, IPV6 the context's. */
    nm_sock_setopt_int(zs->nm, NM_LINGER, zs->ctx->blocky ? -1 : 0);
    nm_sock_setopt_int(zs->nm, NM_BACKLOG, 100);
    nm_sock_setopt_int(zs->nm, NM_IPV6, zs->ctx->ipv6);
}

/* The value as an int64, from the way libzmq passes it. */
static int opt_read(const zc_opt *o, const void *val, size_t len, int64_t *v)
{
    if (val == NULL)
        return -EINVAL;
    if (o->vtype == ZC_INT && len == sizeof(int)) {
        int i;
        memcpy(&i, val, sizeof(i));
        *v = i;
    } else if ((o->vtype == ZC_I64 || o->vtype == ZC_U64) && len == sizeof(int64_t)) {
        memcpy(v, val, sizeof(*v));
    } else {
        return -EINVAL;
    }
    return *v < o->min || *v > o->max ? -EINVAL : 0;
}

static int opt_set_nm(zc_sock *zs, const zc_opt *o, const void *val, size_t len)
{
    if (o->vtype == ZC_RAW)
        return nm_sock_setopt(zs->nm, o->nm, val, len);
    if (o->vtype == ZC_BYTES) {
        if (o->nm == NM_ROUTING_ID && (len < 1 || len > 255))
            return -EINVAL;
        return nm_sock_setopt(zs->nm, o->nm, len ? val : "", len);
    }
    if (o->vtype == ZC_TEXT) { /* libzmq takes the text with or without its NUL */
        if ((val == NULL && len > 0) || (o->opt == ZMQ_SOCKS_PROXY && val != NULL && len == 0))
            return -EINVAL;
        size_t n = len > 0 && ((const char *)val)[len - 1] == '\0' ? len - 1 : len;
        return nm_sock_setopt(zs->nm, o->nm, n ? val : "", n);
    }
    int64_t v;
    int rc = opt_read(o, val, len, &v);
    if (rc < 0)
        return rc;
    if (o->opt == ZMQ_HEARTBEAT_TTL)
        v = v / 100 * 100; /* libzmq keeps tenths of a second, as the wire does */
    if (v > INT_MAX)
        v = INT_MAX; /* MAXMSGSIZE beyond 2 GiB: the core's limit is an int */
    return nm_sock_setopt_int(zs->nm, o->nm, (int)v);
}

int zc_setsockopt(zc_sock *zs, int opt, const void *val, size_t len)
{
    const zc_opt *o = opt_find(opt);
    if (o == NULL || !(o->access & ZC_W) || (o->types != ZC_ANY && !(o->types & T(zs->type))))
        return -EINVAL;
    int64_t v;
    switch (o->where) {
    case ZC_NM:
        return opt_set_nm(zs, o, val, len);
    case ZC_KEEP: {
        int rc = opt_read(o, val, len, &v);
        if (rc == 0)
            zs->stored[o->nm] = v;
        return rc;
    }
    case ZC_DEFAULT:
        if (o->vtype == ZC_BYTES || o->vtype == ZC_TEXT)
            return len == 0 || (o->vtype == ZC_TEXT && val && !*(const char *)val) ? 0 : -EINVAL;
        if (opt_read(o, val, len, &v) < 0)
            return -EINVAL;
        return v == o->dflt ? 0 : -EINVAL;
    default: /* ZC_SPECIAL: of these only IPV4ONLY may be set */
        if (opt != ZMQ_IPV4ONLY || opt_read(o, val, len, &v) < 0)
            return -EINVAL;
        return nm_sock_setopt_int(zs->nm, NM_IPV6, !v);
    }
}

/* Writes an integer the way libzmq passes it; the rest of a larger buffer is zeroed, as
 * libzmq's socket-level options (RCVMORE, EVENTS, FD) do, so a program reading an int
 * into an int64 sees the value. */
static int opt_write(const zc_opt *o, int64_t v, void *val, size_t *len)
{
    size_t n = o->vtype == ZC_INT ? sizeof(int) : sizeof(int64_t);
    if (*len < n)
        return -EINVAL;
    if (o->vtype == ZC_INT) {
        int i = (int)v;
        memcpy(val, &i, n);
    } else {
        memcpy(val, &v, n);
    }
    memset((char *)val + n, 0, *len - n);
    *len = n;
    return 0;
}

static int opt_get_nm(zc_sock *zs, const zc_opt *o, void *val, size_t *len)
{
    if (o->vtype == ZC_BYTES || o->vtype == ZC_TEXT || o->vtype == ZC_RAW)
        return nm_sock_getopt(zs->nm, o->nm, val, len);
    int v;
    int rc = nm_sock_getopt_int(zs->nm, o->nm, &v);
    if (rc < 0)
        return rc;
    return opt_write(o, v, val, len);
}

int zc_getsockopt(zc_sock *zs, int opt, void *val, size_t *len)
{
    const zc_opt *o = opt_find(opt);
    if (o == NULL || !(o->access & ZC_R) || val == NULL || len == NULL)
        return -EINVAL;
    int ev;
    switch (o->where) {
    case ZC_NM:
        return opt_get_nm(zs, o, val, len);
    case ZC_KEEP:
        return opt_write(o, zs->stored[o->nm], val, len);
    case ZC_DEFAULT:
        if (o->vtype == ZC_TEXT) {
            if (*len < 1)
                return -EINVAL;
            *(char *)val = '\0';
            *len = 1;
            return 0;
        }
        return opt_write(o, o->dflt, val, len);
    default:
        if (opt == ZMQ_RCVMORE)
            return opt_write(o, zs->rcvmore, val, len);
        if (opt == ZMQ_IPV4ONLY) {
            int rc = nm_sock_getopt_int(zs->nm, NM_IPV6, &ev);
            return rc < 0 ? rc : opt_write(o, !ev, val, len);
        }
        int rc = zc_sock_events(zs, &ev);
        return rc < 0 ? rc : opt_write(o, ev, val, len);
    }
}

int zmq_setsockopt(void *s_, int option_, const void *optval_, size_t optvallen_)
{
    zc_sock *zs = zc_sock_of(s_);
    if (zs == NULL)
        return -1;
    int rc = zc_setsockopt(zs, option_, optval_, optvallen_);
    return rc < 0 ? zc_fail(rc) : 0;
}

int zmq_getsockopt(void *s_, int option_, void *optval_, size_t *optvallen_)
{
    zc_sock *zs = zc_sock_of(s_);
    if (zs == NULL)
        return -1;
    int rc = zc_getsockopt(zs, option_, optval_, optvallen_);
    return rc < 0 ? zc_fail(rc) : 0;
}
