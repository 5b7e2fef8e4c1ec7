/*
 * command.c - ZMTP command bodies: splitting name from data, and the ERROR, PING and
 * PONG commands.
 *
 * The encoders write whole frames (header included) so the engine can queue them as
 * they are; READY lives in props.c with the property codec.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "zmtp/zmtp.h"
#include "zmtp/zmtp_int.h"

#define CMD_PING_CTX_MAX 16

int nmi_zmtp_cmd_start(uint8_t *out, size_t cap, const char *name, size_t data_len)
{
    size_t name_len = strlen(name);
    if (data_len > (size_t)INT_MAX - NMI_ZMTP_MAX_HEADER - 1 - name_len)
        return -ENOBUFS;
    size_t body = 1 + name_len + data_len;
    uint8_t hdr[NMI_ZMTP_MAX_HEADER];
    size_t hlen = nmi_zmtp_header_encode(hdr, NMI_ZMTP_COMMAND, body);
    if (hlen + body > cap)
        return -ENOBUFS;
    memcpy(out, hdr, hlen);
    out[hlen] = (uint8_t)name_len;
    memcpy(out + hlen + 1, name, name_len);
    return (int)(hlen + 1 + name_len);
}

int nmi_zmtp_cmd_parse(const uint8_t *body, size_t len, nmi_zmtp_cmd *cmd)
{
    if (len < 1 || body[0] == 0 || body[0] > len - 1)
        return -EPROTO;
    cmd->name = body + 1;
    cmd->name_len = body[0];
    cmd->data = body + 1 + cmd->name_len;
    cmd->data_len = len - 1 - cmd->name_len;
    return 0;
}

bool nmi_zmtp_cmd_is(const nmi_zmtp_cmd *cmd, const char *name)
{
    size_t len = strlen(name);
    return cmd->name_len == len && memcmp(cmd->name, name, len) == 0;
}

int nmi_zmtp_error_encode(uint8_t *out, size_t cap, const char *reason)
{
    if (reason == NULL)
        reason = "";
    size_t rlen = strlen(reason);
    if (rlen > UINT8_MAX)
        rlen = UINT8_MAX;
    int off = nmi_zmtp_cmd_start(out, cap, "ERROR", 1 + rlen);
    if (off < 0)
        return off;
    out[off] = (uint8_t)rlen;
    memcpy(out + off + 1, reason, rlen);
    return off + 1 + (int)rlen;
}

int nmi_zmtp_ping_encode(uint8_t *out, size_t cap, uint16_t ttl_ds, const uint8_t *ctx,
                         size_t ctx_len)
{
    if (ctx_len > CMD_PING_CTX_MAX || (ctx == NULL && ctx_len > 0))
        return -EINVAL;
    int off = nmi_zmtp_cmd_start(out, cap, "PING", 2 + ctx_len);
    if (off < 0)
        return off;
    nmi_zmtp_put_be(out + off, ttl_ds, 2);
    if (ctx_len > 0)
        memcpy(out + off + 2, ctx, ctx_len);
    return off + 2 + (int)ctx_len;
}

int nmi_zmtp_pong_encode(uint8_t *out, size_t cap, const uint8_t *ctx, size_t ctx_len)
{
    if (ctx_len > CMD_PING_CTX_MAX || (ctx == NULL && ctx_len > 0))
        return -EINVAL;
    int off = nmi_zmtp_cmd_start(out, cap, "PONG", ctx_len);
    if (off < 0)
        return off;
    if (ctx_len > 0)
        memcpy(out + off, ctx, ctx_len);
    return off + (int)ctx_len;
}

int nmi_zmtp_ping_parse(const uint8_t *data, size_t len, uint16_t *ttl_ds, const uint8_t **ctx,
                        size_t *ctx_len)
{
    if (len < 2)
        return -EPROTO;
    *ttl_ds = (uint16_t)nmi_zmtp_get_be(data, 2);
    *ctx = data + 2;
    *ctx_len = len - 2 > CMD_PING_CTX_MAX ? CMD_PING_CTX_MAX : len - 2;
    return 0;
}
