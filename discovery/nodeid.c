/*
 * nodeid.c - node ids as hex text (see nodeid.h).
 */
#include <errno.h>

#include "nodeid.h"

void nmd_id_hex(const uint8_t id[16], char out[33])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) {
        out[2 * i] = digits[id[i] >> 4];
        out[2 * i + 1] = digits[id[i] & 15];
    }
    out[32] = '\0';
}

static int nodeid_nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int nmd_id_from_hex(const char *hex, size_t len, uint8_t id[16])
{
    if (len != 32)
        return -EINVAL;
    for (int i = 0; i < 16; i++) {
        int hi = nodeid_nibble(hex[2 * i]), lo = nodeid_nibble(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -EINVAL;
        id[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}
