/*
 * greeting.c - the 64-byte ZMTP 3.x greeting: signature, version, mechanism, as-server.
 *
 * The decoder is incremental so the engine can reject a peer that is not speaking ZMTP
 * as soon as the signature bytes show it, instead of waiting for all 64 bytes.
 */
#include <errno.h>
#include <string.h>

#include "zmtp/zmtp.h"

#define GREET_SIG_END   9 /* signature's last byte (0x7F; libzmq tests only bit 0) */
#define GREET_MAJOR     10
#define GREET_MINOR     11
#define GREET_MECH      12
#define GREET_MECH_LEN  20
#define GREET_AS_SERVER 32

void nmi_zmtp_greeting_encode(uint8_t out[NMI_ZMTP_GREETING_SIZE], const char *mechanism,
                              bool as_server)
{
    memset(out, 0, NMI_ZMTP_GREETING_SIZE);
    out[0] = 0xFF;
    out[GREET_SIG_END] = 0x7F;
    out[GREET_MAJOR] = 3;
    out[GREET_MINOR] = 1;
    size_t len = strlen(mechanism);
    if (len > GREET_MECH_LEN)
        len = GREET_MECH_LEN;
    memcpy(out + GREET_MECH, mechanism, len);
    out[GREET_AS_SERVER] = as_server ? 1 : 0;
}

int nmi_zmtp_greeting_decode(const uint8_t *in, size_t n, nmi_zmtp_greeting *g)
{
    /* The padding (bytes 1..8) is whatever the peer's stack put there: never checked. */
    if (n > 0 && in[0] != 0xFF)
        return -EPROTO;
    if (n > GREET_SIG_END && !(in[GREET_SIG_END] & 0x01))
        return -EPROTO;
    if (n > GREET_MAJOR && in[GREET_MAJOR] < 3)
        return -EPROTO;
    if (n < NMI_ZMTP_GREETING_SIZE)
        return 0;

    g->major = in[GREET_MAJOR];
    g->minor = in[GREET_MINOR];
    memcpy(g->mechanism, in + GREET_MECH, GREET_MECH_LEN);
    g->mechanism[GREET_MECH_LEN] = '\0';
    g->as_server = in[GREET_AS_SERVER] != 0;
    return NMI_ZMTP_GREETING_SIZE;
}
