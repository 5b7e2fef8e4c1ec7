/*
 * dnssd_txt.h - the pure half of the DNS-SD backend (dnssd.c): the TXT record of a
 * `_nomid._tcp` service instance, its instance name, subtype and SRV port.
 *
 * A nomid instance carries, per RFC 6763 section 6, one `key=value` string per key,
 * keys lowercase and at most 9 bytes, `txtvers=1` first:
 *
 *   txtvers=1  name=SERVICE  type=SOCKET-TYPE  ep=ENDPOINT  node=ID  fleet=FLEET
 *   [nodename=NODE-NAME]  [ck=CURVE-KEY]  [mac=MAC]
 *
 * ck is a CURVE server's public key in Z85 (40 characters), mac the record's
 * HMAC-SHA256 under the fleet key as 64 lowercase hex digits (nmd_record_mac of
 * beacon.h, over node, name, type, ep as written here, and key; BEACON.md, "Signed
 * service records"): a reader uses ck only when mac checks.  Either malformed makes the
 * record malformed.
 *
 * type is the lowercase socket type (nm_sock_type_name), node the node id as 32 hex
 * digits, ep the endpoint as advertised: a wildcard host (tcp://\*:5555) is kept and
 * the reader puts in the address it resolved the instance to.  Decoding follows RFC
 * 6763 too: keys compare case-insensitively, the first occurrence of a key wins, empty
 * strings, unknown keys and keys without '=' that are not ours are skipped; a missing,
 * empty or overlong required value, an unknown socket type, a txtvers other than 1 or a
 * string running past the end make the record malformed.  Everything works on the
 * record's wire form (strings each preceded by its length byte), so it is unit-tested
 * and fuzzed without a daemon; no allocation.
 */
#ifndef NMD_DNSSD_TXT_H
#define NMD_DNSSD_TXT_H

#include <stddef.h>
#include <stdint.h>

#include "beacon.h"

#define NMD_DNSSD_TYPE         "_nomid._tcp" /* the DNS-SD service type */
#define NMD_DNSSD_TXT_MAX      1024          /* largest record encoded */
#define NMD_DNSSD_INSTANCE_MAX 63            /* an instance name is one DNS label */
#define NMD_DNSSD_SUBTYPE_MAX  96            /* "_LABEL._sub._nomid._tcp" */

/* What one instance's TXT record says. */
typedef struct nmd_dnssd_txt {
    nmd_service svc;                  /* service name, socket type, endpoint as advertised */
    uint8_t node[16];                 /* id of the node offering it */
    char fleet[NMD_FLEET_MAX + 1];    /* its fleet */
    char node_name[NMD_NAME_MAX + 1]; /* its node's name; "" when not given */
    bool has_mac;                     /* mac was given (decoded) or is to be written */
    uint8_t mac[NMD_MAC_SIZE];        /* ... its bytes (unchecked by the codec) */
} nmd_dnssd_txt;

/* Encodes t in wire form into out.  Returns the length, -EINVAL for a field that could
 * not be decoded back (empty, too long, unknown type), -ENOBUFS when cap is too small. */
int nmd_dnssd_txt_encode(const nmd_dnssd_txt *t, uint8_t *out, size_t cap);

/* Decodes the record in[0..n) into *t (contents unspecified on error).  Returns 0,
 * -EPROTO for a malformed record, -EPROTONOSUPPORT for a txtvers other than 1.  *why
 * (if why is not NULL) says what was wrong, for a log line. */
int nmd_dnssd_txt_decode(const uint8_t *in, size_t n, nmd_dnssd_txt *t, const char **why);

/* The instance name: "SERVICE@NODE-NAME", or "SERVICE@" and the first 8 hex digits of
 * the id when the node has no name; the service part is cut (at a UTF-8 boundary) so
 * that the whole fits NMD_DNSSD_INSTANCE_MAX bytes. */
void nmd_dnssd_instance_name(const char *service, const char *node_name, const uint8_t id[16],
                             char out[NMD_DNSSD_INSTANCE_MAX + 1]);

/* The subtype a browser may ask for instead of reading every TXT record:
 * "_LABEL._sub._nomid._tcp", LABEL the service name lowercased with every byte outside
 * [a-z0-9-] turned into '-' and cut to 62 bytes.  -EINVAL when the name is empty. */
int nmd_dnssd_subtype(const char *service, char out[NMD_DNSSD_SUBTYPE_MAX]);

/* The port of a tcp:// endpoint (the SRV record's port); 0 for other transports or
 * when there is none. */
uint16_t nmd_dnssd_port(const char *endpoint);

#endif
