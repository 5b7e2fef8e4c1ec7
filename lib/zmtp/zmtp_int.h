/*
 * zmtp_int.h - helpers shared by the ZMTP codec's files, not part of its interface.
 *
 * Big-endian load/store for the wire's size fields, and the common start of every
 * command frame the codec writes (header, name-size byte, name).
 */
#ifndef NMI_ZMTP_INT_H
#define NMI_ZMTP_INT_H

#include <stddef.h>
#include <stdint.h>

static inline void nmi_zmtp_put_be(uint8_t *p, uint64_t v, size_t nbytes)
{
    for (size_t i = nbytes; i > 0; i--) {
        p[i - 1] = (uint8_t)v;
        v >>= 8;
    }
}

static inline uint64_t nmi_zmtp_get_be(const uint8_t *p, size_t nbytes)
{
    uint64_t v = 0;
    for (size_t i = 0; i < nbytes; i++)
        v = v << 8 | p[i];
    return v;
}

/* Writes the header and name of a command frame whose data is data_len bytes.  Returns
 * the offset where the data goes, or -ENOBUFS if the whole frame does not fit in cap
 * (or its length would not fit the int the encoders return). */
int nmi_zmtp_cmd_start(uint8_t *out, size_t cap, const char *name, size_t data_len);

#endif /* NMI_ZMTP_INT_H */
