/*
 * conn_socks.c - a tcp connect through a SOCKS5 proxy (NM_SOCKS_PROXY), on the I/O
 * thread: the conn connects to the proxy (c->addr), greets it, asks it to CONNECT to the
 * endpoint's target (sent as the endpoint names it: a name is resolved by the proxy),
 * and once the proxy says it is connected, runs ZMTP over the same descriptor.
 *
 * The proxy's bytes are hostile: the reader never reads past the reply it waits for
 * (the peer's ZMTP greeting may follow in the same segment and is the handshake's),
 * never more than NMI_SOCKS_REPLY_MAX bytes, and a reply that is malformed or refuses
 * fails this attempt like a refused connect: the conn tries again after its
 * RECONNECT_IVL.  A proxy that does not answer is dropped after HANDSHAKE_IVL.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/engine.h"

int nmi_conn_new_socks(nmi_sock *s, const nmi_transport_ops *tp, const nmi_addr *a,
                       const char *endpoint, const char *target, nmi_conn **cp)
{
    nmi_conn_socks *x = calloc(1, sizeof(*x));
    if (x == NULL)
        return -ENOMEM;
    int n = nmi_socks_request(target, x->req);
    if (n < 0) {
        free(x);
        return n;
    }
    x->req_len = (size_t)n;
    nmi_conn *c = nmi_conn_new_connect(s, tp, a, endpoint);
    if (c == NULL) {
        free(x);
        return -ENOMEM;
    }
    c->socks = x;
    *cp = c;
    return 0;
}

void nmi_conn_socks_start(nmi_conn *c)
{
    c->socks->method_done = false;
    c->socks->in_len = 0;
    atomic_store(&c->state, NMI_CONN_SOCKS);
    /* The proxy has HANDSHAKE_IVL to answer (and CONNECT_TIMEOUT's timer ends here). */
    c->handshake_at =
        c->opts.handshake_ivl > 0 ? nmi_clock_ns() + (uint64_t)c->opts.handshake_ivl * 1000000u : 0;
    nmi_conn_timers_update(c);
    if (nmi_conn_out_bytes(c, NMI_SOCKS_GREETING, NMI_SOCKS_GREETING_LEN) < 0) {
        nmi_conn_broken(c, "out of memory");
        return;
    }
    nmi_conn_flush(c, true);
}

/* The proxy said no, or spoke nonsense: this attempt fails (logged), the next one
 * comes after RECONNECT_IVL. */
static void socks_fail(nmi_conn *c, const char *why)
{
    char msg[160];
    snprintf(msg, sizeof(msg), "SOCKS5 proxy: %s", why);
    nmi_conn_reject(c, msg);
}

/* One reply is complete in x->in: the next step. */
static void socks_step(nmi_conn *c)
{
    nmi_conn_socks *x = c->socks;
    const char *why;
    if (!x->method_done) {
        if (nmi_socks_method_check(x->in, &why) < 0) {
            socks_fail(c, why);
            return;
        }
        x->method_done = true;
        x->in_len = 0;
        if (nmi_conn_out_bytes(c, x->req, x->req_len) < 0) {
            nmi_conn_broken(c, "out of memory");
            return;
        }
        nmi_conn_flush(c, true);
        return;
    }
    if (nmi_socks_reply_check(x->in, x->in_len, &why) < 0) {
        socks_fail(c, why);
        return;
    }
    nmi_conn_begin_handshake(c);
    /* The peer's greeting may have come right behind the reply: the poller, being
     * edge-triggered, will not tell again. */
    if (atomic_load(&c->state) == NMI_CONN_GREETING)
        nmi_conn_read(c);
}

void nmi_conn_socks_read(nmi_conn *c)
{
    nmi_conn_socks *x = c->socks;
    while (atomic_load(&c->state) == NMI_CONN_SOCKS) {
        size_t need = x->method_done ? nmi_socks_reply_need(x->in, x->in_len)
                                     : NMI_SOCKS_METHOD_LEN - x->in_len;
        if (need == 0) {
            socks_step(c);
            continue;
        }
        /* need keeps in_len within NMI_SOCKS_REPLY_MAX (socks.h). */
        ssize_t n = read(c->pollable.fd, x->in + x->in_len, need);
        if (n == 0) {
            nmi_conn_broken(c, "the SOCKS5 proxy closed the connection");
            return;
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                nmi_conn_broken(c, strerror(errno));
            return;
        }
        x->in_len += (size_t)n;
    }
}
