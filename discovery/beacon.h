/*
 * beacon.h - the discovery beacon codec: encodes and decodes the versioned UDP datagram
 * a node broadcasts to announce itself (format in discovery/BEACON.md).  Pure functions
 * over byte buffers: no sockets, no threads, no allocation.  Signing and the table
 * digest use libsodium.
 */
#ifndef NMD_BEACON_H
#define NMD_BEACON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NMD_BEACON_MAGIC   "NMDB"
#define NMD_BEACON_VERSION 1
#define NMD_BEACON_MAX     1400 /* largest datagram encoded or accepted */
#define NMD_INLINE_MAX     32   /* most services carried inline */
#define NMD_FLEET_MAX      64
#define NMD_NAME_MAX       64
#define NMD_SVC_NAME_MAX   128
#define NMD_ENDPOINT_MAX   200
#define NMD_TYPE_MAX       11 /* NM_STREAM, the last enum nm_sock_type value */
#define NMD_DIGEST_SIZE    8
#define NMD_MAC_SIZE       32 /* HMAC-SHA256 */
#define NMD_KEY_MIN        32 /* shortest fleet key accepted */
#define NMD_PIN_SIZE       32 /* SHA-256 of the admin certificate's public key (SPKI) */

/* Flag bits of byte 5. */
#define NMD_FLAG_GOODBYE   0x01
#define NMD_FLAG_SIGNED    0x02
#define NMD_FLAG_COMPLETE  0x04
#define NMD_FLAG_ADMIN_TLS 0x08 /* admin is HTTPS; its key's hash follows the services */

typedef struct nmd_service {
    char name[129];        /* service name, 1..128 bytes, NUL-terminated */
    int type;              /* enum nm_sock_type, 0..11 */
    char endpoint[201];    /* endpoint to connect to, 1..200 bytes, NUL-terminated */
    bool has_key;          /* a CURVE server: curve_key is its public key */
    uint8_t curve_key[32]; /* trusted only from an authenticated record */
} nmd_service;

typedef struct nmd_beacon {
    uint8_t node_id[16];                  /* random id, fixed for the node's life */
    uint32_t incarnation;                 /* restart counter */
    uint32_t seq;                         /* grows with every beacon of an incarnation */
    bool goodbye;                         /* the node is leaving */
    bool complete;                        /* services[] is the whole table */
    char fleet[65];                       /* fleet name, 1..64 bytes */
    char name[65];                        /* node name, 0..64 bytes */
    uint16_t ctl_port;                    /* control port */
    uint16_t admin_port;                  /* admin port */
    bool admin_tls;                       /* the admin endpoint serves HTTPS */
    uint8_t admin_pin[NMD_PIN_SIZE];      /* with admin_tls: SHA-256 of its certificate's
                                           * SubjectPublicKeyInfo (DER) */
    bool authentic;                       /* decoded: its MAC was checked with a fleet key
                                           * (only then may admin_pin be trusted) */
    uint8_t digest[8];                    /* nmd_table_digest() of the whole table */
    uint16_t nservices;                   /* services in the whole table */
    uint8_t ninline;                      /* services carried in this beacon */
    nmd_service services[NMD_INLINE_MAX]; /* the first ninline services of the table */
} nmd_beacon;

/* Encodes a beacon with the header fields of b (b->services, ninline, nservices, complete,
 * digest and authentic are ignored; admin_pin is carried when admin_tls) and as many
 * leading services of table as fit in cap (at most NMD_BEACON_MAX) and NMD_INLINE_MAX.
 * Signs when key is not NULL (keylen >= 32).  Returns the length written, -EINVAL for a
 * bad field or argument, -ENOBUFS when cap cannot hold the header (and MAC). */
int nmd_beacon_encode(const nmd_beacon *b, const nmd_service *table, size_t ntable,
                      const uint8_t *key, size_t keylen, uint8_t *out, size_t cap);

/* Decodes in[0..n) into *b (contents unspecified on error).  Returns 0, -EPROTO for a
 * malformed datagram, -EPROTONOSUPPORT for another version, -EACCES when key is given
 * and the beacon is unsigned or its MAC is wrong, -EINVAL for bad arguments.  Without a
 * key a signed beacon is accepted unchecked; b->authentic says whether a key checked it. */
int nmd_beacon_decode(const uint8_t *in, size_t n, const uint8_t *key, size_t keylen,
                      nmd_beacon *b);

/* Whether in[0..n) says it is signed (its flags), whatever its signature is worth. */
bool nmd_beacon_signed(const uint8_t *in, size_t n);

/* HMAC-SHA256 of msg[0..n) under the fleet key (beacons and table messages). */
void nmd_mac(const uint8_t *msg, size_t n, const uint8_t *key, size_t keylen,
             uint8_t mac[NMD_MAC_SIZE]);
/* Checks the signature of a message in[0..n) whose flags say signed_ (then its last
 * NMD_MAC_SIZE bytes are the MAC, after at least `header` bytes); *body is where the
 * signed bytes end.  0, -EPROTO when too short, -EACCES when key is given and the
 * message is unsigned or its MAC is wrong.  Without a key a signed message passes. */
int nmd_mac_check(const uint8_t *in, size_t n, size_t header, bool signed_, const uint8_t *key,
                  size_t keylen, size_t *body);

/* First 8 bytes of BLAKE2b-256 over the services encoded as in the datagram, in order. */
void nmd_table_digest(const nmd_service *table, size_t n, uint8_t out[8]);

/* One service encoded as in the datagram (also the unit of the table message, table.h).
 * nmd_service_size() is its encoded size (at most NMD_SERVICE_MAX), or 0 when a field is
 * out of range; nmd_service_encode() writes a service that size accepted to out, which
 * must hold that many bytes, and returns the count.  nmd_service_decode() reads one from
 * in[0..n) and returns the bytes it took, or -EPROTO when malformed or cut short. */
#define NMD_SERVICE_MAX  (3 + NMD_SVC_NAME_MAX + NMD_ENDPOINT_MAX + NMD_SVC_KEY_SIZE)
#define NMD_SVC_KEY_SIZE 32   /* a CURVE server's public key after the endpoint */
#define NMD_SVC_KEYED    0x80 /* in the type byte: a key follows the endpoint */
size_t nmd_service_size(const nmd_service *s);
size_t nmd_service_encode(const nmd_service *s, uint8_t *out);
int nmd_service_decode(const uint8_t *in, size_t n, nmd_service *s);
/* The same entry: name, type, endpoint, and the same CURVE key or neither has one. */
bool nmd_service_same(const nmd_service *a, const nmd_service *b);

/* The MAC of one service record published outside beacons and tables (an etcd value, a
 * DNS-SD TXT record; BEACON.md, "Signed service records"): HMAC-SHA256 under the fleet
 * key over "NMDR", the version byte 1, the node id and the entry encoded as in a beacon.
 * nmd_record_mac() returns false (mac untouched) when svc has a field out of range;
 * nmd_record_mac_ok() says whether mac is that MAC (compared in constant time). */
#define NMD_RECORD_MAGIC "NMDR"
bool nmd_record_mac(const uint8_t node[16], const nmd_service *svc, const uint8_t *key,
                    size_t keylen, uint8_t mac[NMD_MAC_SIZE]);
bool nmd_record_mac_ok(const uint8_t node[16], const nmd_service *svc, const uint8_t *key,
                       size_t keylen, const uint8_t mac[NMD_MAC_SIZE]);

#endif
