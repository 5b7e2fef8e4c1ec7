/*
 * table.c - the service-table exchange (see table.h): the "table" message codec, the
 * server that hands the message to whoever connects, and the client's fetch.
 *
 * The decoder treats its input as hostile like the beacon's: the length prefix must
 * match the input, the MAC is checked (with a key) before anything past the version is
 * parsed, the service count is bounded by the bytes present before anything is
 * allocated, and the digest must match the services.  The fetch never holds more than
 * NMD_TABLE_MSG_MAX bytes, whatever the server sends.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "table.h"

/* Fixed bytes before the services: length prefix, magic, version, flags, node id,
 * incarnation, digest and count. */
#define TABLE_HEADER  (4 + 4 + 1 + 1 + 16 + 4 + NMD_DIGEST_SIZE + 4)
#define TABLE_SVC_MIN 5 /* smallest encoded service: 1-byte name and endpoint */

_Static_assert(TABLE_HEADER + NMD_TABLE_SERVICES * NMD_SERVICE_MAX + NMD_MAC_SIZE <=
                   NMD_TABLE_MSG_MAX,
               "the largest table must fit in a message");

struct nmd_table_buf {
    size_t refs;    /* holders: the server's cur and its clients */
    size_t len;     /* bytes in data */
    uint8_t data[]; /* the encoded message */
};

static uint64_t table_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void table_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t table_get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* ---- codec ---- */

ssize_t nmd_table_encode(const uint8_t node_id[16], uint32_t incarnation, const nmd_service *table,
                         size_t n, const uint8_t *key, size_t keylen, uint8_t **out)
{
    if (out == NULL)
        return -EINVAL;
    *out = NULL;
    if (node_id == NULL || (table == NULL && n > 0) || n > NMD_TABLE_SERVICES ||
        (key != NULL && keylen < NMD_KEY_MIN))
        return -EINVAL;
    size_t len = TABLE_HEADER + (key != NULL ? NMD_MAC_SIZE : 0);
    for (size_t i = 0; i < n; i++) {
        size_t s = nmd_service_size(&table[i]);
        if (s == 0)
            return -EINVAL;
        len += s;
    }
    if (sodium_init() < 0)
        return -ENOMEM;
    uint8_t *buf = malloc(len), *p = buf;
    if (buf == NULL)
        return -ENOMEM;
    table_put32(p, (uint32_t)(len - 4));
    memcpy(p + 4, NMD_TABLE_MAGIC, 4);
    p[8] = NMD_TABLE_VERSION;
    p[9] = key != NULL ? NMD_FLAG_SIGNED : 0;
    memcpy(p + 10, node_id, 16);
    table_put32(p + 26, incarnation);
    nmd_table_digest(table, n, p + 30);
    table_put32(p + 30 + NMD_DIGEST_SIZE, (uint32_t)n);
    p += TABLE_HEADER;
    for (size_t i = 0; i < n; i++)
        p += nmd_service_encode(&table[i], p);
    if (key != NULL)
        nmd_mac(buf, (size_t)(p - buf), key, keylen, p);
    *out = buf;
    return (ssize_t)len;
}

void nmd_table_msg_free(nmd_table_msg *m)
{
    if (m == NULL)
        return;
    free(m->services);
    m->services = NULL;
    m->n = 0;
}

/* Parses the body (everything before the MAC) of a message whose first 10 bytes and
 * MAC have been checked. */
static int table_parse(const uint8_t *in, size_t body, nmd_table_msg *m)
{
    if (body < TABLE_HEADER)
        return -EPROTO;
    memcpy(m->node_id, in + 10, 16);
    m->incarnation = table_get32(in + 26);
    memcpy(m->digest, in + 30, NMD_DIGEST_SIZE);
    uint32_t count = table_get32(in + 30 + NMD_DIGEST_SIZE);
    size_t left = body - TABLE_HEADER;
    if (count > NMD_TABLE_SERVICES || count > left / TABLE_SVC_MIN)
        return -EPROTO;
    if (count > 0 && (m->services = calloc(count, sizeof(*m->services))) == NULL)
        return -ENOMEM;
    const uint8_t *p = in + TABLE_HEADER, *end = in + body;
    for (m->n = 0; m->n < count; m->n++) {
        int k = nmd_service_decode(p, (size_t)(end - p), &m->services[m->n]);
        if (k < 0)
            return -EPROTO;
        p += k;
    }
    if (p != end)
        return -EPROTO;
    uint8_t d[NMD_DIGEST_SIZE];
    nmd_table_digest(m->services, m->n, d);
    return sodium_memcmp(d, m->digest, sizeof(d)) == 0 ? 0 : -EPROTO;
}

int nmd_table_decode(const uint8_t *in, size_t len, const uint8_t *key, size_t keylen,
                     nmd_table_msg *m)
{
    if (m == NULL)
        return -EINVAL;
    memset(m, 0, sizeof(*m));
    if ((in == NULL && len > 0) || (key != NULL && keylen < NMD_KEY_MIN))
        return -EINVAL;
    if (len > NMD_TABLE_MSG_MAX)
        return -EMSGSIZE;
    if (len < 10 || table_get32(in) != len - 4 || memcmp(in + 4, NMD_TABLE_MAGIC, 4) != 0)
        return -EPROTO;
    if (in[8] != NMD_TABLE_VERSION)
        return -EPROTONOSUPPORT;
    if (sodium_init() < 0)
        return -ENOMEM;
    uint8_t flags = in[9];
    size_t body;
    int rc = nmd_mac_check(in, len, TABLE_HEADER, flags & NMD_FLAG_SIGNED, key, keylen, &body);
    if (rc < 0)
        return rc;
    if ((flags & ~NMD_FLAG_SIGNED) != 0)
        return -EPROTO;
    rc = table_parse(in, body, m);
    if (rc < 0) {
        nmd_table_msg_free(m);
        memset(m, 0, sizeof(*m));
    }
    return rc;
}

/* ---- addresses ---- */

/* Resolves "10.0.0.5", "fe80::1%eth0" or "[fe80::1%eth0]" and port, numerically. */
static int table_sockaddr(const char *addr, uint16_t port, struct sockaddr_storage *ss,
                          socklen_t *sslen)
{
    if (addr == NULL)
        return -EINVAL;
    char host[128], serv[8];
    size_t n = strlen(addr);
    if (n >= 2 && addr[0] == '[' && addr[n - 1] == ']') {
        addr++;
        n -= 2;
    }
    if (n == 0 || n >= sizeof(host))
        return -EINVAL;
    memcpy(host, addr, n);
    host[n] = '\0';
    snprintf(serv, sizeof(serv), "%u", port);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV};
    struct addrinfo *res;
    if (getaddrinfo(host, serv, &hints, &res) != 0 || res == NULL)
        return -EINVAL;
    int rc = -EINVAL;
    if (res->ai_addrlen <= sizeof(*ss)) {
        memcpy(ss, res->ai_addr, res->ai_addrlen);
        *sslen = res->ai_addrlen;
        rc = 0;
    }
    freeaddrinfo(res);
    return rc;
}

/* ---- server ---- */

static void table_buf_unref(nmd_table_buf *b)
{
    if (b != NULL && --b->refs == 0)
        free(b);
}

/* Ends a client: done (served) or not (dropped). */
static void table_conn_end(nmd_table_server *srv, nmd_table_conn *c, bool done)
{
    close(c->fd);
    table_buf_unref(c->buf);
    c->fd = -1;
    c->buf = NULL;
    c->off = 0;
    if (done)
        srv->served++;
    else
        srv->dropped++;
}

/* Writes as much as the socket takes; ends the client once done or failed. */
static void table_conn_write(nmd_table_server *srv, nmd_table_conn *c)
{
    while (c->off < c->buf->len) {
        ssize_t k =
            send(c->fd, c->buf->data + c->off, c->buf->len - c->off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (k > 0) {
            c->off += (size_t)k;
        } else if (k < 0 && errno == EINTR) {
            continue;
        } else if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return; /* POLLOUT will say when */
        } else {
            table_conn_end(srv, c, false);
            return;
        }
    }
    table_conn_end(srv, c, true);
}

static void table_expire(nmd_table_server *srv, uint64_t now)
{
    for (int i = 0; i < NMD_TABLE_CLIENTS; i++) {
        nmd_table_conn *c = &srv->conns[i];
        if (c->fd >= 0 && now >= c->deadline_ns)
            table_conn_end(srv, c, false);
    }
}

int nmd_table_server_open(nmd_table_server *srv, const char *bind_addr, uint16_t *port_out)
{
    memset(srv, 0, sizeof(*srv));
    srv->fd = -1;
    srv->timeout_ns = NMD_TABLE_TIMEOUT_NS;
    for (int i = 0; i < NMD_TABLE_CLIENTS; i++)
        srv->conns[i].fd = -1;
    struct sockaddr_storage ss;
    socklen_t sl;
    int rc = table_sockaddr(bind_addr, 0, &ss, &sl);
    if (rc < 0)
        return rc;
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    if ((ss.ss_family == AF_INET6 &&
         setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
        bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 64) < 0 ||
        getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    srv->fd = fd;
    srv->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                               : ((struct sockaddr_in *)&ss)->sin_port);
    if (port_out != NULL)
        *port_out = srv->port;
    return 0;
}

/* Makes msg[0..len) the current message, keeping the old copy when it is the same. */
static int table_set_current(nmd_table_server *srv, const uint8_t *msg, size_t len)
{
    if (srv->cur != NULL && srv->cur->len == len && memcmp(srv->cur->data, msg, len) == 0)
        return 0;
    nmd_table_buf *b = malloc(sizeof(*b) + len);
    if (b == NULL)
        return -ENOMEM;
    b->refs = 1;
    b->len = len;
    memcpy(b->data, msg, len);
    table_buf_unref(srv->cur);
    srv->cur = b;
    return 0;
}

int nmd_table_server_on_readable(nmd_table_server *srv, const uint8_t *msg, size_t len)
{
    if (srv->fd < 0)
        return -EBADF;
    /* Without a message (or memory for it) clients are still accepted, to be closed. */
    bool have = msg != NULL && len > 0 && table_set_current(srv, msg, len) == 0;
    uint64_t now = table_now();
    table_expire(srv, now);
    for (;;) {
        int fd = accept4(srv->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            return -errno;
        }
        nmd_table_conn *c = NULL;
        for (int i = 0; have && c == NULL && i < NMD_TABLE_CLIENTS; i++)
            if (srv->conns[i].fd < 0)
                c = &srv->conns[i];
        if (c == NULL) {
            close(fd);
            srv->dropped++;
            continue;
        }
        c->fd = fd;
        c->buf = srv->cur;
        c->buf->refs++;
        c->off = 0;
        c->deadline_ns = now + srv->timeout_ns;
        table_conn_write(srv, c);
    }
}

int nmd_table_server_pollfds(nmd_table_server *srv, struct pollfd *out, int max)
{
    table_expire(srv, table_now());
    int n = 0;
    for (int i = 0; i < NMD_TABLE_CLIENTS && n < max; i++)
        if (srv->conns[i].fd >= 0)
            out[n++] = (struct pollfd){.fd = srv->conns[i].fd, .events = POLLOUT};
    return n;
}

void nmd_table_server_on_event(nmd_table_server *srv, const struct pollfd *p)
{
    for (int i = 0; i < NMD_TABLE_CLIENTS; i++) {
        nmd_table_conn *c = &srv->conns[i];
        if (c->fd < 0 || c->fd != p->fd || p->revents == 0)
            continue;
        if (p->revents & (POLLERR | POLLNVAL))
            table_conn_end(srv, c, false);
        else
            table_conn_write(srv, c); /* POLLOUT, or POLLHUP: send() tells */
        return;
    }
}

void nmd_table_server_close(nmd_table_server *srv)
{
    for (int i = 0; i < NMD_TABLE_CLIENTS; i++)
        if (srv->conns[i].fd >= 0)
            table_conn_end(srv, &srv->conns[i], false);
    if (srv->fd >= 0)
        close(srv->fd);
    srv->fd = -1;
    table_buf_unref(srv->cur);
    srv->cur = NULL;
}

/* ---- client ---- */

int nmd_table_fetch_start(nmd_table_fetch *f, const char *addr, uint16_t port)
{
    memset(f, 0, sizeof(*f));
    f->fd = -1;
    struct sockaddr_storage ss;
    socklen_t sl;
    int rc = port == 0 ? -EINVAL : table_sockaddr(addr, port, &ss, &sl);
    if (rc < 0)
        return rc;
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&ss, sl) == 0) {
        f->connected = true;
    } else if (errno != EINPROGRESS) {
        rc = -errno;
        close(fd);
        return rc;
    }
    f->fd = fd;
    f->deadline_ns = table_now() + NMD_TABLE_FETCH_NS;
    return 0;
}

short nmd_table_fetch_events(const nmd_table_fetch *f)
{
    return f->connected ? POLLIN : POLLOUT;
}

/* Ends a fetch that failed with rc. */
static int table_fetch_fail(nmd_table_fetch *f, int rc)
{
    nmd_table_fetch_close(f);
    return rc;
}

/* Sizes the message from its complete length prefix. */
static int table_fetch_sized(nmd_table_fetch *f)
{
    uint32_t n = table_get32(f->prefix);
    if (n > NMD_TABLE_MSG_MAX - 4)
        return -EMSGSIZE;
    if (n < TABLE_HEADER - 4)
        return -EPROTO;
    f->len = (size_t)n + 4;
    if ((f->msg = malloc(f->len)) == NULL)
        return -ENOMEM;
    memcpy(f->msg, f->prefix, 4);
    return 0;
}

int nmd_table_fetch_step(nmd_table_fetch *f)
{
    if (f->fd < 0)
        return f->msg != NULL && f->got == f->len ? 1 : -EBADF;
    if (!f->connected) {
        int err = 0;
        socklen_t el = sizeof(err);
        if (getsockopt(f->fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
            return table_fetch_fail(f, -errno);
        if (err != 0)
            return table_fetch_fail(f, -err);
        struct sockaddr_storage peer;
        socklen_t pl = sizeof(peer);
        if (getpeername(f->fd, (struct sockaddr *)&peer, &pl) < 0)
            return errno == ENOTCONN ? 0 : table_fetch_fail(f, -errno);
        f->connected = true;
    }
    for (;;) {
        uint8_t *dst = f->len == 0 ? f->prefix + f->got : f->msg + f->got;
        size_t want = f->len == 0 ? 4 - f->got : f->len - f->got;
        ssize_t k = recv(f->fd, dst, want, MSG_DONTWAIT);
        if (k == 0)
            return table_fetch_fail(f, -ECONNRESET);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            return table_fetch_fail(f, -errno);
        }
        f->got += (size_t)k;
        if (f->len == 0 && f->got == 4) {
            int rc = table_fetch_sized(f);
            if (rc < 0)
                return table_fetch_fail(f, rc);
        }
        if (f->len != 0 && f->got == f->len) {
            close(f->fd);
            f->fd = -1;
            return 1;
        }
    }
}

bool nmd_table_fetch_expired(const nmd_table_fetch *f, uint64_t now_ns)
{
    return f->fd >= 0 && now_ns >= f->deadline_ns;
}

void nmd_table_fetch_close(nmd_table_fetch *f)
{
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
    free(f->msg);
    f->msg = NULL;
    f->len = 0;
    f->got = 0;
}
