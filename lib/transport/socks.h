/*
 * socks.h - the SOCKS5 client's wire format (RFC 1928), for tcp connects made through a
 * proxy (NM_SOCKS_PROXY): the greeting and CONNECT request we send, and the checks of
 * the proxy's two replies.  Pure functions on bytes; every byte from the proxy is
 * hostile: the reader asks nmi_socks_reply_need how many more bytes to read (never
 * more than NMI_SOCKS_REPLY_MAX in all) and nmi_socks_reply_check judges them.
 */
#ifndef NMI_SOCKS_H
#define NMI_SOCKS_H

#include <stddef.h>
#include <stdint.h>

/* VER, CMD, RSV, ATYP, the longest address (a name: length byte and 255 bytes), PORT. */
#define NMI_SOCKS_REQ_MAX   (4 + 1 + 255 + 2)
#define NMI_SOCKS_REPLY_MAX (4 + 1 + 255 + 2)

/* Our greeting: version 5, one method, "no authentication". */
#define NMI_SOCKS_GREETING     "\x05\x01\x00"
#define NMI_SOCKS_GREETING_LEN 3
#define NMI_SOCKS_METHOD_LEN   2 /* the proxy's answer: VER, METHOD */

/* The CONNECT request for target "HOST:PORT" (the part of a tcp:// endpoint after the
 * scheme): HOST a numeric IPv4 or IPv6 address (bracketed or not) or a name of 1..255
 * bytes that the proxy resolves, PORT 1..65535.  Writes it into out (at least
 * NMI_SOCKS_REQ_MAX bytes); its length, or -EINVAL. */
int nmi_socks_request(const char *target, uint8_t *out);
/* The proxy's choice of method (NMI_SOCKS_METHOD_LEN bytes): 0 when it takes ours, else
 * a negative code with *why set. */
int nmi_socks_method_check(const uint8_t *p, const char **why);
/* Bytes still to read of the CONNECT reply of which p[0..n) has come (0: complete).
 * Never asks past NMI_SOCKS_REPLY_MAX in all. */
size_t nmi_socks_reply_need(const uint8_t *p, size_t n);
/* A complete CONNECT reply p[0..n): 0 when the proxy connected, else a negative code
 * (-ECONNREFUSED, -EHOSTUNREACH, ... as the proxy says, -EPROTO for a malformed reply)
 * with *why set. */
int nmi_socks_reply_check(const uint8_t *p, size_t n, const char **why);

#endif
