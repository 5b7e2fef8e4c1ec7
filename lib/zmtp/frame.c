/*
 * frame.c - ZMTP 3.x frame headers: a flags byte, then a 1-byte or 8-byte size.
 *
 * The decoder enforces the limits a peer could abuse (reserved bits, commands split
 * with MORE, sizes over MAXMSGSIZE) before the engine allocates anything for the body.
 */
#include <errno.h>

#include "zmtp/zmtp.h"
#include "zmtp/zmtp_int.h"

#define FRAME_RESERVED (uint8_t) ~(NMI_ZMTP_MORE | NMI_ZMTP_LONG | NMI_ZMTP_COMMAND)

size_t nmi_zmtp_header_encode(uint8_t out[NMI_ZMTP_MAX_HEADER], uint8_t flags, uint64_t size)
{
    flags &= NMI_ZMTP_MORE | NMI_ZMTP_COMMAND;
    if (size > UINT8_MAX) {
        out[0] = flags | NMI_ZMTP_LONG;
        nmi_zmtp_put_be(out + 1, size, 8);
        return 9;
    }
    out[0] = flags;
    out[1] = (uint8_t)size;
    return 2;
}

int nmi_zmtp_header_decode(const uint8_t *in, size_t n, int64_t maxsize, nmi_zmtp_header *h)
{
    if (n < 1)
        return 0;
    uint8_t flags = in[0];
    if (flags & FRAME_RESERVED)
        return -EPROTO;
    if ((flags & NMI_ZMTP_COMMAND) && (flags & NMI_ZMTP_MORE))
        return -EPROTO;

    size_t hlen = (flags & NMI_ZMTP_LONG) ? 9 : 2;
    if (n < hlen)
        return 0;
    uint64_t size = hlen == 9 ? nmi_zmtp_get_be(in + 1, 8) : in[1];
    /* Sizes that would go negative as int64_t are nonsense, not merely too big. */
    if (size > INT64_MAX)
        return -EPROTO;
    if (maxsize >= 0 && size > (uint64_t)maxsize)
        return -EMSGSIZE;

    h->flags = flags & (uint8_t)~NMI_ZMTP_LONG;
    h->size = size;
    return (int)hlen;
}
