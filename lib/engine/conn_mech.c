/*
 * conn_mech.c - a connection's security mechanism, on the I/O thread: which one the two
 * greetings agree on, the PLAIN or CURVE handshake that follows (the state machines are
 * zmtp/mech.h's; here they meet the wire, the monitor and the log), and after a CURVE
 * handshake the MESSAGE boxes every frame travels in (sealed by the writer,
 * conn_write.c; opened by the reader, conn_read.c).
 *
 * A server asks ZAP about each client before it answers (zap.c), and so does a NULL
 * socket with a ZAP domain; with no handler bound at inproc://zeromq.zap.01 each does
 * what libzmq 4.3 does: CURVE and NULL accept (unless ZAP_ENFORCE_DOMAIN), PLAIN
 * refuses.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "engine/engine.h"

void nmi_conn_mech_end(nmi_conn *c, bool keep_box)
{
    nmi_zap_forget(c);
    if (c->mech != NULL) {
        nmi_mech_fini(c->mech);
        free(c->mech);
        c->mech = NULL;
    }
    if (!keep_box && c->box != NULL) {
        sodium_memzero(c->box, sizeof(*c->box));
        free(c->box);
        c->box = NULL;
        memset(c->peer_key, 0, sizeof(c->peer_key));
    }
}

/* Queues what a step of the mechanism wrote and sends it. */
static int conn_mech_send(nmi_conn *c, const uint8_t *out, size_t n)
{
    if (n == 0)
        return 0;
    if (nmi_conn_out_bytes(c, out, n) < 0) {
        nmi_conn_reject(c, "cannot queue a handshake command");
        return -1;
    }
    nmi_conn_flush(c, true);
    return atomic_load(&c->state) == NMI_CONN_DEAD ? -1 : 0;
}

/* The handshake is over: CURVE's keys stay for the traffic; the peer's properties,
 * with what ZAP said of it, make the connection. */
static int conn_mech_done(nmi_conn *c)
{
    nmi_mech *m = c->mech;
    if (m->mechanism == NM_MECH_CURVE) {
        c->box = malloc(sizeof(*c->box));
        if (c->box == NULL) {
            nmi_conn_reject(c, "out of memory");
            return -1;
        }
        *c->box = m->box;
        memcpy(c->peer_key, m->peer_pub, sizeof(c->peer_key));
    }
    size_t len = m->peer_meta_len + m->zap_props_len;
    uint8_t *props = malloc(len ? len : 1);
    if (props == NULL) {
        nmi_conn_reject(c, "out of memory");
        return -1;
    }
    memcpy(props, m->peer_meta, m->peer_meta_len);
    if (m->zap_props_len > 0)
        memcpy(props + m->peer_meta_len, m->zap_props, m->zap_props_len);
    nmi_conn_mech_end(c, true);
    /* The peer's own properties decide its type and identity (they come first). */
    int rc = nmi_conn_peer_ready(c, props, len);
    free(props);
    return rc;
}

/* A mechanism's step failed: its reason, its code. */
static int conn_mech_failed(nmi_conn *c, int rc)
{
    nmi_mech *m = c->mech;
    char why[160];
    snprintf(why, sizeof(why), "%s handshake failed: %s", nmi_mech_name(m->mechanism), m->why);
    c->refused = true; /* it would fail again (a connecter stops, as libzmq's) */
    if (rc == -EACCES)
        nmi_conn_fail(c, NM_EVENT_HANDSHAKE_FAILED_AUTH, m->code, why);
    else
        nmi_conn_fail(c, NM_EVENT_HANDSHAKE_FAILED, m->code, why);
    return -1;
}

/* What a step returned: send its output, then go on. */
static int conn_mech_next(nmi_conn *c, int rc, const uint8_t *out, size_t n);

/* Whether this server asks ZAP: PLAIN always; CURVE unless ZAP_ENFORCE_DOMAIN is set
 * without a domain (encryption without authentication); NULL with a domain. */
static bool conn_zap_wanted(const nmi_sec *sec)
{
    return sec->mechanism == NM_MECH_PLAIN || sec->domain_len > 0 ||
           (sec->mechanism == NM_MECH_CURVE && !sec->zap_enforce);
}

/* A server's question for ZAP, or libzmq's answer when no handler is bound: CURVE and
 * NULL accept unless ZAP_ENFORCE_DOMAIN, PLAIN refuses. */
static int conn_mech_zap(nmi_conn *c)
{
    nmi_mech *m = c->mech;
    nmi_sec *sec = c->opts.sec;
    const char *why = NULL;
    if (conn_zap_wanted(sec) && nmi_zap_handler_bound(c->sock->ctx)) {
        if (nmi_zap_ask(c, &m->zap) == 0) /* nmi_conn_zap_reply goes on (maybe done) */
            return atomic_load(&c->state) == NMI_CONN_DEAD ? -1 : 0;
        why = "cannot ask the ZAP handler";
    } else if (conn_zap_wanted(sec) && (m->mechanism == NM_MECH_PLAIN || sec->zap_enforce)) {
        why = "no ZAP handler (inproc://zeromq.zap.01) to ask about this peer";
    }
    if (why != NULL) {
        nmi_conn_fail(c, NM_EVENT_HANDSHAKE_FAILED_NO_DETAIL, EFAULT, why);
        return -1;
    }
    uint8_t out[NMI_MECH_OUT_MAX];
    size_t n;
    int rc = nmi_mech_zap_done(m, 0, NULL, 0, out, &n);
    return conn_mech_next(c, rc, out, n);
}

void nmi_conn_zap_reply(nmi_conn *c, int status, const uint8_t *props, size_t len, uint32_t code,
                        const char *why)
{
    if (why != NULL) {
        nmi_conn_fail(c, NM_EVENT_HANDSHAKE_FAILED, code, why);
        return;
    }
    uint8_t out[NMI_MECH_OUT_MAX];
    size_t n;
    int rc = nmi_mech_zap_done(c->mech, status, props, len, out, &n);
    conn_mech_next(c, rc, out, n);
}

static int conn_mech_next(nmi_conn *c, int rc, const uint8_t *out, size_t n)
{
    if (rc == -EACCES) /* refused: the ERROR goes out before the connection */
        conn_mech_send(c, out, n);
    if (rc < 0)
        return atomic_load(&c->state) == NMI_CONN_DEAD ? -1 : conn_mech_failed(c, rc);
    if (conn_mech_send(c, out, n) < 0)
        return -1;
    if (rc == NMI_MECH_ZAP)
        return conn_mech_zap(c);
    return rc == NMI_MECH_DONE ? conn_mech_done(c) : 0;
}

/* NULL with a ZAP domain and no handler to ask: our READY, late. */
static int conn_null_ready(nmi_conn *c)
{
    nmi_zmtp_prop props[2];
    uint8_t ready[NMI_MECH_OUT_MAX];
    int n = nmi_zmtp_ready_encode(ready, sizeof(ready), props, nmi_conn_our_props(c, props));
    if (n < 0) {
        nmi_conn_reject(c, "cannot encode READY");
        return -1;
    }
    return conn_mech_send(c, ready, (size_t)n);
}

int nmi_conn_greeted(nmi_conn *c, const nmi_zmtp_greeting *g)
{
    nmi_sec *sec = c->opts.sec;
    int ours = sec != NULL ? sec->mechanism : NM_MECH_NULL;
    if (strcmp(g->mechanism, nmi_mech_name(ours)) != 0) {
        char name[4 * 20 + 1], why[sizeof(name) + 64];
        nmi_conn_printable(name, sizeof(name), (const uint8_t *)g->mechanism, strlen(g->mechanism));
        snprintf(why, sizeof(why), "peer's security mechanism %s is not ours (%s)", name,
                 nmi_mech_name(ours));
        c->refused = true;
        nmi_conn_fail(c, NM_EVENT_HANDSHAKE_FAILED, NM_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH, why);
        return -1;
    }
    c->peer_minor = g->minor;
    atomic_store(&c->state, NMI_CONN_READY);
    if (ours == NM_MECH_NULL && (sec == NULL || sec->domain_len == 0))
        return 0; /* our READY went with the greeting */
    if (ours == NM_MECH_NULL && !nmi_zap_handler_bound(c->sock->ctx)) {
        if (sec->zap_enforce) {
            nmi_conn_fail(c, NM_EVENT_HANDSHAKE_FAILED_NO_DETAIL, EFAULT,
                          "no ZAP handler (inproc://zeromq.zap.01) to ask about this peer");
            return -1;
        }
        return conn_null_ready(c); /* no handler: NULL as without a domain */
    }
    nmi_zmtp_prop props[2];
    uint8_t meta[512];
    int mlen = nmi_zmtp_props_encode(meta, sizeof(meta), props, nmi_conn_our_props(c, props));
    nmi_mech_conf cf = {
        .mechanism = ours,
        .as_server = sec->as_server,
        .curve_public = sec->curve_public,
        .curve_secret = sec->curve_secret,
        .curve_server = sec->curve_server,
        .user = sec->user,
        .user_len = sec->user_len,
        .pass = sec->pass,
        .pass_len = sec->pass_len,
        .meta = meta,
        .meta_len = mlen > 0 ? (size_t)mlen : 0,
    };
    nmi_mech *m = mlen >= 0 ? malloc(sizeof(*m)) : NULL;
    if (m == NULL || nmi_mech_init(m, &cf) < 0) {
        free(m);
        nmi_conn_reject(c, "cannot start the handshake");
        return -1;
    }
    c->mech = m;
    uint8_t out[NMI_MECH_OUT_MAX];
    size_t n;
    int rc = nmi_mech_step(c->mech, NULL, 0, out, &n);
    return conn_mech_next(c, rc, out, n);
}

int nmi_conn_mech_command(nmi_conn *c, uint8_t *body, size_t len)
{
    uint8_t out[NMI_MECH_OUT_MAX];
    size_t n;
    int rc = nmi_mech_step(c->mech, body, len, out, &n);
    return conn_mech_next(c, rc, out, n);
}
