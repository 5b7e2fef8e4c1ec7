/*
 * conn_mech.c - a connection's security mechanism, on the I/O thread: which one the two
 * greetings agree on, the PLAIN or CURVE handshake that follows (the state machines are
 * zmtp/mech.h's; here they meet the wire, the monitor and the log), and after a CURVE
 * handshake the MESSAGE boxes every frame travels in (sealed by the writer,
 * conn_write.c; opened by the reader, conn_read.c).
 *
 * A server asks ZAP about each client before it answers; with no handler bound at
 * inproc://zeromq.zap.01 it does what libzmq 4.3 does: CURVE accepts (unless
 * ZAP_ENFORCE_DOMAIN), PLAIN refuses.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "engine/engine.h"

static const char *const conn_mech_names[] = {
    [NM_MECH_NULL] = "NULL", [NM_MECH_PLAIN] = "PLAIN", [NM_MECH_CURVE] = "CURVE"};

void nmi_conn_mech_end(nmi_conn *c, bool keep_box)
{
    if (c->mech != NULL) {
        nmi_mech_fini(c->mech);
        free(c->mech);
        c->mech = NULL;
    }
    if (!keep_box && c->box != NULL) {
        sodium_memzero(c->box, sizeof(*c->box));
        free(c->box);
        c->box = NULL;
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

/* The handshake is over: CURVE's keys stay for the traffic, the peer's properties make
 * the connection. */
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
    }
    uint8_t *meta = m->peer_meta;
    size_t len = m->peer_meta_len;
    m->peer_meta = NULL;
    nmi_conn_mech_end(c, true);
    int rc = nmi_conn_peer_ready(c, meta, len);
    free(meta);
    return rc;
}

/* A mechanism's step failed: its reason, its code. */
static int conn_mech_failed(nmi_conn *c, int rc)
{
    nmi_mech *m = c->mech;
    char why[160];
    snprintf(why, sizeof(why), "%s handshake failed: %s", conn_mech_names[m->mechanism], m->why);
    if (rc == -EACCES)
        nmi_conn_fail(c, NM_EVENT_HANDSHAKE_FAILED_AUTH, m->code, why);
    else
        nmi_conn_fail(c, NM_EVENT_HANDSHAKE_FAILED, m->code, why);
    return -1;
}

/* What a step returned: send its output, then go on. */
static int conn_mech_next(nmi_conn *c, int rc, const uint8_t *out, size_t n);

/* A server's question for ZAP. */
static int conn_mech_zap(nmi_conn *c)
{
    nmi_mech *m = c->mech;
    nmi_sec *sec = c->opts.sec;
    uint8_t out[NMI_MECH_OUT_MAX];
    size_t n;
    int status = 0;
    /* No handler (this context binds none): libzmq's answers. */
    if (m->mechanism == NM_MECH_PLAIN || sec->zap_enforce) {
        nmi_conn_fail(c, NM_EVENT_HANDSHAKE_FAILED_NO_DETAIL, EFAULT,
                      "no ZAP handler to ask about this client (inproc://zeromq.zap.01)");
        return -1;
    }
    int rc = nmi_mech_zap_done(m, status, out, &n);
    return conn_mech_next(c, rc, out, n);
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

int nmi_conn_greeted(nmi_conn *c, const nmi_zmtp_greeting *g)
{
    nmi_sec *sec = c->opts.sec;
    int ours = sec != NULL ? sec->mechanism : NM_MECH_NULL;
    if (strcmp(g->mechanism, conn_mech_names[ours]) != 0) {
        char name[4 * 20 + 1], why[sizeof(name) + 64];
        nmi_conn_printable(name, sizeof(name), (const uint8_t *)g->mechanism, strlen(g->mechanism));
        snprintf(why, sizeof(why), "peer's security mechanism %s is not ours (%s)", name,
                 conn_mech_names[ours]);
        nmi_conn_fail(c, NM_EVENT_HANDSHAKE_FAILED, NM_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH, why);
        return -1;
    }
    c->peer_minor = g->minor;
    atomic_store(&c->state, NMI_CONN_READY);
    if (ours == NM_MECH_NULL)
        return 0; /* our READY went with the greeting */
    nmi_zmtp_prop props[2];
    uint8_t meta[512];
    int mlen = nmi_zmtp_props_encode(meta, sizeof(meta), props, nmi_conn_our_props(c, props));
    nmi_mech_conf cf = {
        .mechanism = ours,
        .as_server = sec->as_server,
        .curve_secret = sec->curve_secret,
        .curve_server = sec->curve_server,
        .user = sec->user,
        .user_len = sec->user_len,
        .pass = sec->pass,
        .pass_len = sec->pass_len,
        .meta = meta,
        .meta_len = mlen > 0 ? (size_t)mlen : 0,
    };
    c->mech = malloc(sizeof(*c->mech));
    if (c->mech == NULL || mlen < 0 || nmi_mech_init(c->mech, &cf) < 0) {
        nmi_conn_reject(c, c->mech == NULL ? "out of memory" : "cannot start the handshake");
        return -1;
    }
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
