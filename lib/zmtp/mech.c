/*
 * mech.c - what PLAIN and CURVE share (mech.h): starting and ending a mechanism,
 * failing with a reason, keeping the peer's metadata, and ZAP's answer.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "include/nomid.h"
#include "zmtp/mech.h"

int nmi_mech_init(nmi_mech *m, const nmi_mech_conf *cf)
{
    memset(m, 0, sizeof(*m));
    if (cf->meta_len > sizeof(m->meta) || cf->user_len > 255 || cf->pass_len > 255 ||
        (cf->mechanism != NM_MECH_PLAIN && cf->mechanism != NM_MECH_CURVE))
        return -EINVAL;
    if (sodium_init() < 0)
        return -ENOSYS;
    m->mechanism = cf->mechanism;
    m->server = cf->as_server;
    memcpy(m->meta, cf->meta, cf->meta_len);
    m->meta_len = cf->meta_len;
    if (cf->mechanism == NM_MECH_PLAIN) {
        memcpy(m->user, cf->user, cf->user_len);
        memcpy(m->pass, cf->pass, cf->pass_len);
        m->user_len = cf->user_len;
        m->pass_len = cf->pass_len;
        return 0;
    }
    memcpy(m->sec, cf->curve_secret, NMI_CURVE_KEY);
    /* A server needs only its secret key; a client's public key must be its secret's. */
    crypto_scalarmult_base(m->pub, m->sec);
    if (!m->server)
        memcpy(m->peer_pub, cf->curve_server, NMI_CURVE_KEY);
    crypto_box_keypair(m->cn_pub, m->cn_sec);
    m->box.server = m->server;
    m->box.send_nonce = 1;
    return 0;
}

void nmi_mech_fini(nmi_mech *m)
{
    free(m->peer_meta);
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

int nmi_mech_step(nmi_mech *m, const uint8_t *in, size_t len, uint8_t *out, size_t *out_len)
{
    *out_len = 0;
    if (m->why != NULL)
        return -EPROTO;
    return m->mechanism == NM_MECH_PLAIN ? nmi_plain_step(m, in, len, out, out_len)
                                         : nmi_curve_step(m, in, len, out, out_len);
}

int nmi_mech_zap_done(nmi_mech *m, int status, uint8_t *out, size_t *out_len)
{
    *out_len = 0;
    if (status != 0 && status != 200) {
        char code[4] = {(char)('0' + status / 100 % 10), (char)('0' + status / 10 % 10),
                        (char)('0' + status % 10), '\0'};
        int n = nmi_zmtp_error_encode(out, NMI_MECH_OUT_MAX, code);
        *out_len = n > 0 ? (size_t)n : 0;
        m->why = "the ZAP handler refused the peer";
        m->code = (uint32_t)status;
        return -EACCES;
    }
    return m->mechanism == NM_MECH_PLAIN ? nmi_plain_zap_done(m, out, out_len)
                                         : nmi_curve_zap_done(m, out, out_len);
}
