/*
 * zmtp.h - the ZMTP 3.x codec (RFC 23, RFC 37): pure functions over byte buffers.
 *
 * Nothing here touches a socket, a thread or a clock, so every function can be
 * unit-tested and fuzzed on its own.  The engine (engine/) drives the I/O and
 * calls these to build and parse greetings, frame headers and commands.
 *
 * Return convention: a positive or zero count on success; 0 from a decoder means "need
 * more bytes"; a negative errno-style code means malformed input (-EPROTO), a frame
 * over the size limit (-EMSGSIZE) or an unknown mechanism (-ENOTSUP).
 */
#ifndef NMI_ZMTP_H
#define NMI_ZMTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NMI_ZMTP_GREETING_SIZE 64
#define NMI_ZMTP_MAX_HEADER    9 /* flags byte + 8-byte size */

/* Frame flag bits. */
#define NMI_ZMTP_MORE    0x01
#define NMI_ZMTP_LONG    0x02
#define NMI_ZMTP_COMMAND 0x04

/* ---- greeting -------------------------------------------------------------------- */

typedef struct nmi_zmtp_greeting {
    uint8_t major;      /* 3 for ZMTP 3.x */
    uint8_t minor;      /* 0 or 1 (higher minors accepted and reported as read) */
    char mechanism[21]; /* NUL-terminated, e.g. "NULL" */
    bool as_server;     /* the as-server byte */
} nmi_zmtp_greeting;

/* Writes our 64-byte greeting (version 3.1) into out. */
void nmi_zmtp_greeting_encode(uint8_t out[NMI_ZMTP_GREETING_SIZE], const char *mechanism,
                              bool as_server);

/* Parses the first n bytes received.  Returns 0 while fewer bytes than needed have
 * arrived, NMI_ZMTP_GREETING_SIZE when the whole greeting is parsed into *g, -EPROTO on a
 * bad signature (byte 0 not 0xFF or byte 9 bit 0 clear) or a major version below 3.
 * The 8 padding bytes are never checked.  Callers may call it again with more bytes;
 * it can also reject early (after byte 0 or byte 9) so a non-ZMTP peer is dropped fast. */
int nmi_zmtp_greeting_decode(const uint8_t *in, size_t n, nmi_zmtp_greeting *g);

/* ---- frames ---------------------------------------------------------------------- */

typedef struct nmi_zmtp_header {
    uint8_t flags; /* MORE / COMMAND (LONG is folded into size) */
    uint64_t size; /* body size in bytes */
} nmi_zmtp_header;

/* Writes a frame header for a body of size bytes with flags MORE and/or COMMAND (LONG is
 * chosen here: size > 255).  Returns the header length (2 or 9). */
size_t nmi_zmtp_header_encode(uint8_t out[NMI_ZMTP_MAX_HEADER], uint8_t flags, uint64_t size);

/* Parses a frame header from in[0..n).  Returns the header length (2 or 9) with *h
 * filled, 0 if more bytes are needed, -EPROTO for reserved flag bits set or a command
 * with MORE, -EMSGSIZE when maxsize >= 0 and size > maxsize (size > INT64_MAX is
 * -EPROTO).  A LONG header with a small size is accepted. */
int nmi_zmtp_header_decode(const uint8_t *in, size_t n, int64_t maxsize, nmi_zmtp_header *h);

/* ---- commands -------------------------------------------------------------------- */

typedef struct nmi_zmtp_cmd {
    const uint8_t *name; /* points into the body; not NUL-terminated */
    size_t name_len;
    const uint8_t *data; /* the rest of the body */
    size_t data_len;
} nmi_zmtp_cmd;

/* Splits a command body (name-size byte, name, data).  0 or -EPROTO if the name is empty
 * or runs past the body. */
int nmi_zmtp_cmd_parse(const uint8_t *body, size_t len, nmi_zmtp_cmd *cmd);
/* True when cmd's name equals the NUL-terminated name. */
bool nmi_zmtp_cmd_is(const nmi_zmtp_cmd *cmd, const char *name);

/* Properties in READY (and later INITIATE): name-size byte, name, 4-byte big-endian
 * value size, value. */
typedef struct nmi_zmtp_prop {
    const char *name; /* NUL-terminated on encode; on decode points into the body */
    size_t name_len;
    const uint8_t *value;
    size_t value_len;
} nmi_zmtp_prop;

/* Writes a complete READY command frame (header + body) with the given properties into
 * out[0..cap).  Returns its length, or -ENOBUFS if cap is too small, -EINVAL if a name
 * is empty or longer than 255 bytes. */
int nmi_zmtp_ready_encode(uint8_t *out, size_t cap, const nmi_zmtp_prop *props, size_t nprops);

/* Writes just the properties (the data of READY, or of PLAIN's and CURVE's INITIATE
 * and READY) into out[0..cap).  Their length, or -ENOBUFS / -EINVAL as above. */
int nmi_zmtp_props_encode(uint8_t *out, size_t cap, const nmi_zmtp_prop *props, size_t nprops);

/* Iterates the properties in a command's data: call with *off = 0; returns 1 with *p
 * filled and *off advanced, 0 at the end, -EPROTO if a property runs past the data or
 * has an empty name. */
int nmi_zmtp_prop_next(const uint8_t *data, size_t len, size_t *off, nmi_zmtp_prop *p);

/* Finds property `name` (case-insensitive, as RFC 37 says names are) in READY data.
 * Returns 1 found, 0 absent, -EPROTO malformed. */
int nmi_zmtp_prop_find(const uint8_t *data, size_t len, const char *name, nmi_zmtp_prop *p);

/* Field limits of RFC 37 (and libzmq): a routing id (the Identity property) is at most
 * 255 bytes, empty meaning none; the metadata of one READY is bounded too. */
#define NMI_ZMTP_IDENTITY_MAX 255
#define NMI_ZMTP_METADATA_MAX (64 * 1024)

/* What a peer's READY says.  type is the parsed Socket-Type (-EPROTO when unknown);
 * identity points into the data and is NULL when the property is absent or empty. */
typedef struct nmi_zmtp_ready {
    int type;                /* enum nm_sock_type, or -EPROTO */
    const uint8_t *identity; /* routing id bytes, or NULL */
    size_t identity_len;     /* 0..NMI_ZMTP_IDENTITY_MAX */
} nmi_zmtp_ready;

/* Parses READY data (after the name), checking every field limit.  0, or -EPROTO with
 * *why naming the violation (no Socket-Type, malformed properties, an Identity over 255
 * bytes, metadata over NMI_ZMTP_METADATA_MAX). */
int nmi_zmtp_ready_parse(const uint8_t *data, size_t len, nmi_zmtp_ready *r, const char **why);

/* Writes a complete ERROR command frame with reason (truncated to 255 bytes). */
int nmi_zmtp_error_encode(uint8_t *out, size_t cap, const char *reason);

/* PING: 2-byte TTL (tenths of a second) + up to 16 context bytes.  PONG: the context.
 * Encoders write complete command frames; return length or -ENOBUFS/-EINVAL. */
int nmi_zmtp_ping_encode(uint8_t *out, size_t cap, uint16_t ttl_ds, const uint8_t *ctx,
                         size_t ctx_len);
int nmi_zmtp_pong_encode(uint8_t *out, size_t cap, const uint8_t *ctx, size_t ctx_len);
/* Parses PING data (after the name): TTL and context; -EPROTO if shorter than 2 bytes.
 * A context over RFC 37's 16 bytes is cut to its first 16, as libzmq does (the PONG
 * echoes those). */
int nmi_zmtp_ping_parse(const uint8_t *data, size_t len, uint16_t *ttl_ds, const uint8_t **ctx,
                        size_t *ctx_len);

/* ---- socket types ---------------------------------------------------------------- */

/* The ZMTP Socket-Type names ("REQ", "ROUTER", ...) for enum nm_sock_type values;
 * NULL for an unknown type. */
const char *nmi_zmtp_type_name(int type);
/* Parses a Socket-Type property value (exact, uppercase as on the wire); -EPROTO if
 * unknown. */
int nmi_zmtp_type_parse(const uint8_t *name, size_t len);
/* True if a socket of type `ours` may talk to a peer of type `peer` (RFC 37 table:
 * REQ-REP, REQ-ROUTER, REP-DEALER, DEALER-DEALER, DEALER-ROUTER, ROUTER-ROUTER,
 * PUB/XPUB-SUB/XSUB, PUSH-PULL, PAIR-PAIR, and each the other way round). */
bool nmi_zmtp_types_compatible(int ours, int peer);

#endif /* NMI_ZMTP_H */
