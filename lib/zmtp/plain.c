/*
 * plain.c - the PLAIN mechanism (RFC 24): a user name and a password in clear, for
 * networks where the wire is trusted.
 *
 *   client                          server
 *   HELLO (user, password)    ->
 *                                   (ZAP: may this user connect?)
 *                             <-    WELCOME
 *   INITIATE (metadata)       ->
 *                             <-    READY (metadata)
 */
#include <errno.h>
#include <string.h>

#include "include/nomid.h"
#include "zmtp/mech.h"
#include "zmtp/zmtp_int.h"

enum { PLAIN_START, PLAIN_WELCOME, PLAIN_INITIATE, PLAIN_READY, PLAIN_ZAP, PLAIN_DONE };

/* A command frame name + data (data_len bytes) into out; its length. */
static size_t plain_cmd(uint8_t *out, const char *name, const uint8_t *data, size_t data_len)
{
    int off = nmi_zmtp_cmd_start(out, NMI_MECH_OUT_MAX, name, data_len);
    if (off < 0)
        return 0; /* cannot happen: every frame here fits NMI_MECH_OUT_MAX */
    if (data_len > 0)
        memcpy(out + off, data, data_len);
    return (size_t)off + data_len;
}

static int plain_hello(nmi_mech *m, const nmi_zmtp_cmd *cmd)
{
    const uint8_t *d = cmd->data;
    size_t n = cmd->data_len;
    if (n < 1 || d[0] > n - 1)
        return nmi_mech_fail(m, "malformed HELLO", NM_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_HELLO);
    size_t ulen = d[0];
    if (n < 2 + ulen || d[1 + ulen] != n - 2 - ulen)
        return nmi_mech_fail(m, "malformed HELLO", NM_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_HELLO);
    m->user_len = ulen;
    memcpy(m->user, d + 1, ulen);
    m->pass_len = d[1 + ulen];
    memcpy(m->pass, d + 2 + ulen, m->pass_len);
    m->zap = (nmi_mech_zap){.mechanism = "PLAIN",
                            .ncred = 2,
                            .cred = {m->user, m->pass},
                            .cred_len = {m->user_len, m->pass_len}};
    m->state = PLAIN_ZAP;
    return NMI_MECH_ZAP;
}

int nmi_plain_step(nmi_mech *m, const uint8_t *in, size_t len, uint8_t *out, size_t *out_len)
{
    if (in == NULL) { /* the start: a client says hello */
        if (m->server || m->state != PLAIN_START)
            return NMI_MECH_MORE;
        uint8_t hello[2 + 255 + 255];
        hello[0] = (uint8_t)m->user_len;
        memcpy(hello + 1, m->user, m->user_len);
        hello[1 + m->user_len] = (uint8_t)m->pass_len;
        memcpy(hello + 2 + m->user_len, m->pass, m->pass_len);
        *out_len = plain_cmd(out, "HELLO", hello, 2 + m->user_len + m->pass_len);
        m->state = PLAIN_WELCOME;
        return NMI_MECH_MORE;
    }
    nmi_zmtp_cmd cmd;
    if (nmi_zmtp_cmd_parse(in, len, &cmd) < 0)
        return nmi_mech_fail(m, "malformed command",
                             NM_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_UNSPECIFIED);
    const char *expected = m->server ? (m->state == PLAIN_START ? "HELLO" : "INITIATE")
                                     : (m->state == PLAIN_WELCOME ? "WELCOME" : "READY");
    if ((m->state != PLAIN_START && m->state != PLAIN_WELCOME && m->state != PLAIN_INITIATE &&
         m->state != PLAIN_READY) ||
        !nmi_zmtp_cmd_is(&cmd, expected))
        return nmi_mech_fail(m, "unexpected command in the PLAIN handshake",
                             NM_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND);
    switch (m->state) {
    case PLAIN_START:
        return plain_hello(m, &cmd);
    case PLAIN_WELCOME:
        if (cmd.data_len != 0)
            return nmi_mech_fail(m, "malformed WELCOME",
                                 NM_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_WELCOME);
        *out_len = plain_cmd(out, "INITIATE", m->meta, m->meta_len);
        m->state = PLAIN_READY;
        return NMI_MECH_MORE;
    case PLAIN_INITIATE:
        if (nmi_mech_keep_meta(m, cmd.data, cmd.data_len) < 0)
            return -EPROTO;
        *out_len = plain_cmd(out, "READY", m->meta, m->meta_len);
        m->state = PLAIN_DONE;
        return NMI_MECH_DONE;
    default: /* PLAIN_READY */
        if (nmi_mech_keep_meta(m, cmd.data, cmd.data_len) < 0)
            return -EPROTO;
        m->state = PLAIN_DONE;
        return NMI_MECH_DONE;
    }
}

int nmi_plain_zap_done(nmi_mech *m, uint8_t *out, size_t *out_len)
{
    if (m->state != PLAIN_ZAP)
        return nmi_mech_fail(m, "ZAP answer out of turn", NM_PROTOCOL_ERROR_ZAP_UNSPECIFIED);
    *out_len = plain_cmd(out, "WELCOME", NULL, 0);
    m->state = PLAIN_INITIATE;
    return NMI_MECH_MORE;
}
