/*
 * host_msg.c - the host channel's codec (host_msg.h).  The decoder takes its input as
 * hostile, as the beacon's does: every length is checked against the bytes present
 * before it is used, counts are bounded by NMD_HOST_SERVICES / NMD_HOST_IFACES, strings
 * may not hold control characters (they reach logs and JSON), and a message must end
 * exactly where its last field does.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "host_msg.h"

#define HOST_HEADER 6 /* magic, version, type */

socklen_t nmd_host_sockaddr(const char *fleet, struct sockaddr_un *sa)
{
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    int n = snprintf(sa->sun_path + 1, sizeof(sa->sun_path) - 1, "nomid-host/%.*s", NMD_FLEET_MAX,
                     fleet);
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
}

typedef struct host_wr {
    uint8_t *p, *end; /* where the next byte goes; the end of the buffer */
    bool over;        /* something did not fit */
} host_wr;

static void wr_bytes(host_wr *w, const void *b, size_t n)
{
    if (w->over || (size_t)(w->end - w->p) < n) {
        w->over = true;
        return;
    }
    memcpy(w->p, b, n);
    w->p += n;
}

static void wr_u8(host_wr *w, unsigned v)
{
    uint8_t b = (uint8_t)v;
    wr_bytes(w, &b, 1);
}

static void wr_u16(host_wr *w, unsigned v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    wr_bytes(w, b, 2);
}

static void wr_u32(host_wr *w, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    wr_bytes(w, b, 4);
}

/* A string of at most max bytes (and at least min), as a length byte and the bytes. */
static bool wr_str(host_wr *w, const char *s, size_t min, size_t max)
{
    size_t n = strnlen(s, max + 1);
    if (n < min || n > max)
        return false;
    wr_u8(w, (unsigned)n);
    wr_bytes(w, s, n);
    return true;
}

static bool wr_services(host_wr *w, const nmd_host_msg *m)
{
    if (m->nservices > NMD_HOST_SERVICES)
        return false;
    wr_u16(w, (unsigned)m->nservices);
    for (size_t i = 0; i < m->nservices; i++) {
        size_t n = nmd_service_size(&m->services[i]);
        if (n == 0)
            return false;
        if (w->over || (size_t)(w->end - w->p) < n) {
            w->over = true;
            return true;
        }
        w->p += nmd_service_encode(&m->services[i], w->p);
    }
    return true;
}

/* Who sends WELCOME or MEMBER: id, incarnation, name. */
static bool wr_who(host_wr *w, const nmd_host_msg *m)
{
    wr_bytes(w, m->id, 16);
    wr_u32(w, m->incarnation);
    return wr_str(w, m->name, 0, NMD_NAME_MAX);
}

int nmd_host_encode(const nmd_host_msg *m, uint8_t *out, size_t cap)
{
    host_wr w = {out, out + cap, false};
    bool ok = true;
    wr_bytes(&w, NMD_HOST_MAGIC, 4);
    wr_u8(&w, NMD_HOST_VERSION);
    wr_u8(&w, (unsigned)m->type);
    switch (m->type) {
    case NMD_HOST_WELCOME:
        ok = wr_who(&w, m) && wr_str(&w, m->fleet, 1, NMD_FLEET_MAX) && m->nifaces >= 0 &&
             m->nifaces <= NMD_HOST_IFACES;
        wr_u8(&w, ok ? (unsigned)m->nifaces : 0);
        for (int i = 0; ok && i < m->nifaces; i++)
            ok = wr_str(&w, m->ifaces[i], 1, NMD_HOST_IFNAME);
        break;
    case NMD_HOST_MEMBER:
        ok = wr_who(&w, m) && wr_str(&w, m->admin_host, 0, NMD_ADMIN_HOST_MAX);
        wr_u16(&w, m->admin_port);
        wr_u8(&w, m->admin_tls ? 1 : 0);
        if (m->admin_tls)
            wr_bytes(&w, m->admin_pin, NMD_PIN_SIZE);
        ok = ok && wr_services(&w, m);
        break;
    case NMD_HOST_UP:
    case NMD_HOST_DOWN:
        ok = wr_services(&w, m);
        break;
    default:
        return -EINVAL;
    }
    if (!ok || w.over)
        return -EINVAL;
    return (int)(w.p - out);
}

int nmd_host_encode_one(int type, const nmd_service *svc, uint8_t *out, size_t cap)
{
    size_t n = nmd_service_size(svc);
    if ((type != NMD_HOST_UP && type != NMD_HOST_DOWN) || n == 0 || cap < 8 + n)
        return -EINVAL;
    host_wr w = {out, out + cap, false};
    wr_bytes(&w, NMD_HOST_MAGIC, 4);
    wr_u8(&w, NMD_HOST_VERSION);
    wr_u8(&w, (unsigned)type);
    wr_u16(&w, 1);
    w.p += nmd_service_encode(svc, w.p);
    return (int)(w.p - out);
}

typedef struct host_rd {
    const uint8_t *p, *end; /* the next byte; the end of the input */
    bool bad;               /* ran past the end or met a bad field */
} host_rd;

static const uint8_t *rd_bytes(host_rd *r, size_t n)
{
    if (r->bad || (size_t)(r->end - r->p) < n) {
        r->bad = true;
        return NULL;
    }
    const uint8_t *b = r->p;
    r->p += n;
    return b;
}

static unsigned rd_u8(host_rd *r)
{
    const uint8_t *b = rd_bytes(r, 1);
    return b ? b[0] : 0;
}

static unsigned rd_u16(host_rd *r)
{
    const uint8_t *b = rd_bytes(r, 2);
    return b ? (unsigned)b[0] << 8 | b[1] : 0;
}

static uint32_t rd_u32(host_rd *r)
{
    const uint8_t *b = rd_bytes(r, 4);
    return b ? (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3] : 0;
}

/* A string of min..max bytes without control characters into out[max + 1]. */
static void rd_str(host_rd *r, char *out, size_t min, size_t max)
{
    size_t n = rd_u8(r);
    const uint8_t *b = rd_bytes(r, n);
    out[0] = '\0';
    if (b == NULL || n < min || n > max) {
        r->bad = true;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (b[i] < 0x20 || b[i] == 0x7f) {
            r->bad = true;
            return;
        }
    }
    memcpy(out, b, n);
    out[n] = '\0';
}

static void rd_services(host_rd *r, nmd_host_msg *m)
{
    m->nservices = rd_u16(r);
    if (m->nservices > NMD_HOST_SERVICES) {
        r->bad = true;
        return;
    }
    for (size_t i = 0; !r->bad && i < m->nservices; i++) {
        int k = nmd_service_decode(r->p, (size_t)(r->end - r->p), &m->services[i]);
        if (k < 0)
            r->bad = true;
        else
            r->p += k;
    }
}

static void rd_who(host_rd *r, nmd_host_msg *m)
{
    const uint8_t *id = rd_bytes(r, 16);
    if (id != NULL)
        memcpy(m->id, id, 16);
    m->incarnation = rd_u32(r);
    rd_str(r, m->name, 0, NMD_NAME_MAX);
}

int nmd_host_decode(const uint8_t *in, size_t n, nmd_host_msg *m)
{
    if (n < HOST_HEADER || n > NMD_HOST_MSG_MAX || memcmp(in, NMD_HOST_MAGIC, 4) != 0)
        return -EPROTO;
    if (in[4] != NMD_HOST_VERSION)
        return -EPROTONOSUPPORT;
    host_rd r = {in + HOST_HEADER, in + n, false};
    memset(m, 0, offsetof(nmd_host_msg, services));
    m->type = in[5];
    switch (m->type) {
    case NMD_HOST_WELCOME:
        rd_who(&r, m);
        rd_str(&r, m->fleet, 1, NMD_FLEET_MAX);
        m->nifaces = (int)rd_u8(&r);
        if (m->nifaces > NMD_HOST_IFACES)
            return -EPROTO;
        for (int i = 0; i < m->nifaces; i++)
            rd_str(&r, m->ifaces[i], 1, NMD_HOST_IFNAME);
        break;
    case NMD_HOST_MEMBER: {
        rd_who(&r, m);
        rd_str(&r, m->admin_host, 0, NMD_ADMIN_HOST_MAX);
        m->admin_port = (uint16_t)rd_u16(&r);
        unsigned flags = rd_u8(&r);
        if (flags > 1)
            return -EPROTO;
        m->admin_tls = flags == 1;
        const uint8_t *pin = m->admin_tls ? rd_bytes(&r, NMD_PIN_SIZE) : NULL;
        if (pin != NULL)
            memcpy(m->admin_pin, pin, NMD_PIN_SIZE);
        rd_services(&r, m);
        break;
    }
    case NMD_HOST_UP:
    case NMD_HOST_DOWN:
        rd_services(&r, m);
        break;
    default:
        return -EPROTONOSUPPORT;
    }
    return r.bad || r.p != r.end ? -EPROTO : 0;
}
