/*
 * zap.c - asking a ZAP handler (RFC 27) about a peer: a socket's internal DEALER,
 * connected to inproc://zeromq.zap.01 when the first question comes, whose replies the
 * socket's I/O thread hears.
 *
 * Everything here runs on the socket's I/O thread: questions come from its connections'
 * handshakes, replies through the DEALER's signaler in that thread's poller, and
 * nmi_sock_free (there too) closes it.  The DEALER belongs to the socket, never to
 * nm_ctx_destroy (as a monitor's PAIR).  Replies come back in the order the questions
 * went (one pipe; a REP handler answers in turn): a reply goes to the connection its
 * request id names, and one naming nobody fails the oldest question, as libzmq (whose
 * pipe per connection would carry it there) fails that connection.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/engine.h"

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"

typedef struct nmi_zap {
    nmi_pollable pollable;          /* the DEALER's signaler, in the I/O thread's poller */
    nmi_sock *sock;                 /* owner */
    nm_sock_t *dealer;              /* connected to the handler, or NULL */
    uint64_t next_id;               /* the last request id used */
    TAILQ_HEAD(, nmi_conn) waiting; /* connections waiting for an answer, oldest first */
} nmi_zap;

/* One reply, checked as libzmq checks it: 0 with the status and what it says of the
 * peer as properties (User-Id, then the handler's metadata) in props, or the
 * NM_PROTOCOL_ERROR_* that fails the connection, with why. */
static uint32_t zap_parse(nm_msg_t *m, int *status, uint8_t **props, size_t *plen, const char **why)
{
    *props = NULL;
    *plen = 0;
    if (nm_msg_count(m) != 7) {
        *why = "ZAP reply without 7 frames";
        return NM_PROTOCOL_ERROR_ZAP_MALFORMED_REPLY;
    }
    const char *code = nm_msg_data(m, 3), *ver = nm_msg_data(m, 1);
    if (nm_msg_size(m, 0) != 0) {
        *why = "ZAP reply without an empty delimiter";
        return NM_PROTOCOL_ERROR_ZAP_UNSPECIFIED;
    }
    if (nm_msg_size(m, 1) != 3 || memcmp(ver, "1.0", 3) != 0) {
        *why = "ZAP reply of another version than 1.0";
        return NM_PROTOCOL_ERROR_ZAP_BAD_VERSION;
    }
    if (nm_msg_size(m, 3) != 3 || code[0] < '2' || code[0] > '5' || code[1] != '0' ||
        code[2] != '0') {
        *why = "ZAP reply with a status code other than 200, 300, 400, 500";
        return NM_PROTOCOL_ERROR_ZAP_INVALID_STATUS_CODE;
    }
    *status = (code[0] - '0') * 100;
    const uint8_t *meta = nm_msg_data(m, 6);
    size_t mlen = nm_msg_size(m, 6), off = 0, ulen = nm_msg_size(m, 5);
    nmi_zmtp_prop p;
    int rc;
    while ((rc = nmi_zmtp_prop_next(meta, mlen, &off, &p)) == 1)
        ;
    if (rc < 0 || mlen > NMI_ZMTP_METADATA_MAX) {
        *why = "ZAP reply with malformed metadata";
        return NM_PROTOCOL_ERROR_ZAP_INVALID_METADATA;
    }
    nmi_zmtp_prop user = {.name = "User-Id", .value = nm_msg_data(m, 5), .value_len = ulen};
    size_t cap = (ulen > 0 ? 1 + 7 + 4 + ulen : 0) + mlen;
    if (cap > 0 && (*props = malloc(cap)) == NULL) {
        *why = "out of memory";
        return NM_PROTOCOL_ERROR_ZAP_UNSPECIFIED;
    }
    int n = ulen > 0 ? nmi_zmtp_props_encode(*props, cap, &user, 1) : 0;
    if (n < 0) {
        free(*props);
        *props = NULL;
        *why = "ZAP reply with a user id too long";
        return NM_PROTOCOL_ERROR_ZAP_INVALID_METADATA;
    }
    if (mlen > 0)
        memcpy(*props + n, meta, mlen);
    *plen = (size_t)n + mlen;
    return 0;
}

/* The connection a reply is for: the one its request id names, else the oldest. */
static nmi_conn *zap_match(nmi_zap *z, nm_msg_t *m, bool *id_ok)
{
    char text[24];
    size_t n = nm_msg_count(m) > 2 ? nm_msg_size(m, 2) : 0;
    *id_ok = false;
    if (n > 0 && n < sizeof(text)) {
        memcpy(text, nm_msg_data(m, 2), n);
        text[n] = '\0';
        char *end;
        uint64_t id = strtoull(text, &end, 10);
        nmi_conn *c;
        TAILQ_FOREACH(c, &z->waiting, zap_entry)
        {
            if (*end == '\0' && c->zap_id == id) {
                *id_ok = true;
                return c;
            }
        }
    }
    return TAILQ_FIRST(&z->waiting);
}

static void zap_reply(nmi_zap *z, nm_msg_t *m)
{
    bool id_ok;
    nmi_conn *c = zap_match(z, m, &id_ok);
    if (c == NULL) {
        nmi_log(z->sock->ctx, NM_LOG_WARN, "zap", "a ZAP reply nobody asked for (dropped)");
        return;
    }
    nmi_zap_forget(c);
    int status = 0;
    uint8_t *props;
    size_t plen;
    const char *why = NULL;
    uint32_t code = zap_parse(m, &status, &props, &plen, &why);
    if (code == 0 && !id_ok) {
        code = NM_PROTOCOL_ERROR_ZAP_BAD_REQUEST_ID;
        why = "ZAP reply with another request id";
        free(props);
        props = NULL;
    }
    nmi_conn_zap_reply(c, status, props, plen, code, why);
    free(props);
}

static void zap_close_dealer(nmi_zap *z);

/* True while the DEALER has a pipe to the handler (this thread is its only user). */
static bool zap_connected(nmi_zap *z)
{
    nmi_pipe *p;
    TAILQ_FOREACH(p, &((nmi_sock *)z->dealer)->pipes, sock_entry)
    {
        if (!p->detached)
            return true;
    }
    return false;
}

/* Takes every reply there is.  The DEALER's pipe wakes its reader only once the reader
 * has found it empty, so this also runs after each question.  When the handler goes,
 * the DEALER goes too (the next question finds the next handler); questions it left
 * unanswered stay unanswered, as in libzmq: those handshakes end when their peers leave
 * or HANDSHAKE_IVL passes. */
static void zap_read(nmi_zap *z)
{
    nm_msg_t m;
    nm_msg_init(&m);
    while (z->dealer != NULL && nm_sock_recv(z->dealer, &m, NM_DONTWAIT) == 0) {
        zap_reply(z, &m);
        nm_msg_close(&m);
    }
    if (z->dealer == NULL || zap_connected(z))
        return;
    zap_close_dealer(z);
    if (!TAILQ_EMPTY(&z->waiting))
        nmi_log(z->sock->ctx, NM_LOG_WARN, "zap",
                "the ZAP handler went without answering: its handshakes wait for "
                "HANDSHAKE_IVL");
}

static void zap_cb(nmi_pollable *p, unsigned events)
{
    (void)events;
    uint64_t drain;
    (void)!read(p->fd, &drain, sizeof(drain)); /* edge-triggered: empty it, then read all */
    zap_read((nmi_zap *)p);
}

static void zap_close_dealer(nmi_zap *z)
{
    if (z->dealer == NULL)
        return;
    nmi_poller_del(z->sock->io->pfd, &z->pollable);
    nm_sock_close(&z->dealer);
}

/* A DEALER connected to the handler: 0, or a negative code. */
static int zap_open_dealer(nmi_zap *z)
{
    nmi_sock *s = z->sock;
    nm_sock_t *d;
    int rc = nm_sock_new(&d, (nm_ctx_t *)s->ctx, NM_DEALER);
    if (rc < 0)
        return rc;
    pthread_mutex_lock(&s->ctx->reg_lock); /* the socket's, not nm_ctx_destroy's */
    ((nmi_sock *)d)->close_posted = true;
    pthread_mutex_unlock(&s->ctx->reg_lock);
    int fd = -1;
    if ((rc = nm_sock_setopt_int(d, NM_LINGER, 0)) < 0 ||
        (rc = nm_sock_getopt_int(d, NM_FD, &fd)) < 0 ||
        (rc = nm_sock_connect(d, ZAP_ENDPOINT)) < 0) {
        nm_sock_close(&d);
        return rc;
    }
    z->pollable.fd = fd;
    z->pollable.cb = zap_cb;
    if ((rc = nmi_poller_add(s->io->pfd, &z->pollable, false)) < 0) {
        nm_sock_close(&d);
        return rc;
    }
    z->dealer = d;
    return 0;
}

/* The request's frames (RFC 27): a delimiter for the handler's REP, the version, the
 * request id, the domain, the peer's address, our socket's routing id, the mechanism,
 * its credentials. */
static int zap_request(nmi_conn *c, const nmi_mech_zap *q, nm_msg_t *m)
{
    nmi_sec *sec = c->opts.sec;
    char id[24], addr[NMI_EP_MAX];
    snprintf(id, sizeof(id), "%" PRIu64, c->zap_id);
    nmi_conn_peer_address(c, addr, sizeof(addr));
    int rc = 0;
    rc |= nm_msg_add(m, "", 0);
    rc |= nm_msg_add(m, "1.0", 3);
    rc |= nm_msg_add(m, id, strlen(id));
    rc |= nm_msg_add(m, sec->domain, sec->domain_len);
    rc |= nm_msg_add(m, addr, strlen(addr));
    rc |= nm_msg_add(m, c->opts.routing_id, c->opts.routing_id_len);
    rc |= nm_msg_add(m, q->mechanism, strlen(q->mechanism));
    for (int i = 0; i < q->ncred; i++)
        rc |= nm_msg_add(m, q->cred[i], q->cred_len[i]);
    return rc != 0 ? -ENOMEM : 0;
}

bool nmi_zap_handler_bound(nmi_ctx *ctx)
{
    return nmi_inproc_bound(ctx, ZAP_ENDPOINT);
}

int nmi_zap_ask(nmi_conn *c, const nmi_mech_zap *q)
{
    nmi_sock *s = c->sock;
    nmi_zap *z = s->zap;
    if (z == NULL) {
        if ((z = calloc(1, sizeof(*z))) == NULL)
            return -ENOMEM;
        z->sock = s;
        TAILQ_INIT(&z->waiting);
        s->zap = z;
    }
    c->zap_id = ++z->next_id;
    nm_msg_t m;
    nm_msg_init(&m);
    int rc = zap_request(c, q, &m);
    /* A DEALER whose handler went (closed, bound anew) has no pipe: one new try. */
    for (int attempt = 0; rc == 0 && attempt < 2; attempt++) {
        if (z->dealer == NULL && (rc = zap_open_dealer(z)) < 0)
            break;
        if ((rc = nm_sock_send(z->dealer, &m, NM_DONTWAIT)) == 0)
            break;
        zap_close_dealer(z);
    }
    nm_msg_close(&m);
    if (rc < 0) {
        c->zap_id = 0;
        return rc;
    }
    TAILQ_INSERT_TAIL(&z->waiting, c, zap_entry);
    zap_read(z); /* may answer c already */
    return 0;
}

void nmi_zap_forget(nmi_conn *c)
{
    if (c->zap_id == 0)
        return;
    TAILQ_REMOVE(&c->sock->zap->waiting, c, zap_entry);
    c->zap_id = 0;
}

void nmi_zap_free(nmi_sock *s)
{
    if (s->zap == NULL)
        return;
    NMI_ASSERT(TAILQ_EMPTY(&s->zap->waiting));
    zap_close_dealer(s->zap);
    free(s->zap);
    s->zap = NULL;
}
