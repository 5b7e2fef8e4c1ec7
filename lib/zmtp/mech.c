/*
 * mech.c - what the mechanisms share (mech.h): starting and ending one, failing with a
 * reason, keeping the peer's metadata, ZAP's answer; and NULL when it asks ZAP (a ZAP
 * domain is set): our READY waits for the handler's answer, the peer's for both.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "include/nomid.h"
#include "zmtp/mech.h"
#include "zmtp/zmtp_int.h"

const char *nmi_mech_name(int mechanism)
{
    static const char *const names[] = {
        [NM_MECH_NULL] = "NULL", [NM_MECH_PLAIN] = "PLAIN", [NM_MECH_CURVE] = "CURVE"};
    return mechanism >= NM_MECH_NULL && mechanism <= NM_MECH_CURVE ? names[mechanism] : "?";
}

int nmi_mech_init(nmi_mech *m, const nmi_mech_conf *cf)
{
    memset(m, 0, sizeof(*m));
    if (cf->meta_len > sizeof(m->meta) || cf->user_len > 255 || cf->pass_len > 255 ||
        cf->mechanism < NM_MECH_NULL || cf->mechanism > NM_MECH_CURVE)
        return -EINVAL;
    if (sodium_init() < 0)
        return -ENOSYS;
    m->mechanism = cf->mechanism;
    m->server = cf->as_server;
    memcpy(m->meta, cf->meta, cf->meta_len);
    m->meta_len = cf->meta_len;
    if (cf->mechanism == NM_MECH_NULL)
        return 0;
    if (cf->mechanism == NM_MECH_PLAIN) { /* a client's credentials */
        if (!m->server) {
            memcpy(m->user, cf->user, cf->user_len);
            memcpy(m->pass, cf->pass, cf->pass_len);
            m->user_len = cf->user_len;
            m->pass_len = cf->pass_len;
        }
        return 0;
    }
    memcpy(m->sec, cf->curve_secret, NMI_CURVE_KEY);
    /* A server needs only its secret key.  A client sends the public key it was given,
     * as libzmq's does: one that is not its secret's fails at the server. */
    if (m->server) {
        crypto_scalarmult_base(m->pub, m->sec);
    } else {
        memcpy(m->pub, cf->curve_public, NMI_CURVE_KEY);
        memcpy(m->peer_pub, cf->curve_server, NMI_CURVE_KEY);
    }
    crypto_box_keypair(m->cn_pub, m->cn_sec);
    m->box.server = m->server;
    m->box.send_nonce = 1;
    return 0;
}

void nmi_mech_fini(nmi_mech *m)
{
    free(m->peer_meta);
    free(m->zap_props);
    sodium_memzero(m, sizeof(*m));
}

int nmi_mech_fail(nmi_mech *m, const char *why, uint32_t code)
{
    m->why = why;
    m->code = code;
    return -EPROTO;
}

int nmi_mech_keep_meta(nmi_mech *m, const uint8_t *meta, size_t len)
{
    if (len > NMI_ZMTP_METADATA_MAX)
        return nmi_mech_fail(m, "metadata too large", NM_PROTOCOL_ERROR_ZMTP_INVALID_METADATA);
    m->peer_meta = malloc(len ? len : 1);
    if (m->peer_meta == NULL)
        return nmi_mech_fail(m, "out of memory", NM_PROTOCOL_ERROR_ZMTP_UNSPECIFIED);
    memcpy(m->peer_meta, meta, len);
    m->peer_meta_len = len;
    return 0;
}

/* ---- NULL, asking ZAP ----------------------------------------------------------- */

enum { NULL_START, NULL_ZAP, NULL_SENT };

static int null_step(nmi_mech *m, const uint8_t *in, size_t len)
{
    if (in == NULL) { /* the start: ask at once */
        if (m->state != NULL_START)
            return NMI_MECH_MORE;
        m->zap = (nmi_mech_zap){.mechanism = "NULL"};
        m->state = NULL_ZAP;
        return NMI_MECH_ZAP;
    }
    nmi_zmtp_cmd cmd;
    if (nmi_zmtp_cmd_parse(in, len, &cmd) < 0 || !nmi_zmtp_cmd_is(&cmd, "READY") || m->peer_ready)
        return nmi_mech_fail(m, "expected READY", NM_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND);
    if (nmi_mech_keep_meta(m, cmd.data, cmd.data_len) < 0)
        return -EPROTO;
    m->peer_ready = true;
    return m->state == NULL_SENT ? NMI_MECH_DONE : NMI_MECH_MORE;
}

static int null_zap_done(nmi_mech *m, uint8_t *out, size_t *out_len)
{
    if (m->state != NULL_ZAP)
        return nmi_mech_fail(m, "ZAP answer out of turn", NM_PROTOCOL_ERROR_ZAP_UNSPECIFIED);
    int off = nmi_zmtp_cmd_start(out, NMI_MECH_OUT_MAX, "READY", m->meta_len);
    if (off < 0)
        return nmi_mech_fail(m, "cannot encode READY", NM_PROTOCOL_ERROR_ZMTP_UNSPECIFIED);
    memcpy(out + off, m->meta, m->meta_len);
    *out_len = (size_t)off + m->meta_len;
    m->state = NULL_SENT;
    return m->peer_ready ? NMI_MECH_DONE : NMI_MECH_MORE;
}

/* ---- any mechanism -------------------------------------------------------------- */

int nmi_mech_step(nmi_mech *m, const uint8_t *in, size_t len, uint8_t *out, size_t *out_len)
{
    *out_len = 0;
    if (m->why != NULL)
        return -EPROTO;
    switch (m->mechanism) {
    case NM_MECH_NULL:
        return null_step(m, in, len);
    case NM_MECH_PLAIN:
        return nmi_plain_step(m, in, len, out, out_len);
    default:
        return nmi_curve_step(m, in, len, out, out_len);
    }
}

int nmi_mech_zap_done(nmi_mech *m, int status, const uint8_t *props, size_t props_len, uint8_t *out,
                      size_t *out_len)
{
    *out_len = 0;
    if (m->why != NULL)
        return -EPROTO;
    if (status != 0 && status != 200) {
        /* 300 is a temporary failure: the peer is just disconnected (RFC 26). */
        char code[4] = {(char)('0' + status / 100 % 10), (char)('0' + status / 10 % 10),
                        (char)('0' + status % 10), '\0'};
        int n = status == 300 ? 0 : nmi_zmtp_error_encode(out, NMI_MECH_OUT_MAX, code);
        *out_len = n > 0 ? (size_t)n : 0;
        m->why = "the ZAP handler refused the peer";
        m->code = (uint32_t)status;
        return -EACCES;
    }
    if (props_len > 0) {
        if ((m->zap_props = malloc(props_len)) == NULL)
            return nmi_mech_fail(m, "out of memory", NM_PROTOCOL_ERROR_ZAP_UNSPECIFIED);
        memcpy(m->zap_props, props, props_len);
        m->zap_props_len = props_len;
    }
    switch (m->mechanism) {
    case NM_MECH_NULL:
        return null_zap_done(m, out, out_len);
    case NM_MECH_PLAIN:
        return nmi_plain_zap_done(m, out, out_len);
    default:
        return nmi_curve_zap_done(m, out, out_len);
    }
}
