/*
 * mech.h - ZMTP security mechanisms: the handshakes of PLAIN (RFC 24) and CURVE (RFC 25,
 * the ZMTP binding of RFC 26 CurveZMQ) as state machines over command bodies, and
 * CURVE's MESSAGE boxes.  Pure like the rest of the codec (no descriptor, no thread, no
 * clock; randomness and crypto from libsodium), so the fuzzer drives them directly.
 *
 * The engine creates one nmi_mech per connection when the peer's greeting names the
 * same mechanism as ours, and feeds it every command of the handshake:
 *
 *   nmi_mech_step(m, NULL, 0, ...)     once at the start (a client's HELLO)
 *   nmi_mech_step(m, body, len, ...)   each command from the peer
 *   nmi_mech_zap_done(m, status, ...)  a server's answer from ZAP, when a step said ZAP
 *
 * Each call may write frames to send (complete command frames, header included) into
 * out and returns what comes next: NMI_MECH_MORE (wait for the peer), NMI_MECH_ZAP (ask
 * the ZAP handler about m->zap, then call nmi_mech_zap_done), NMI_MECH_DONE (the peer's
 * metadata is m->peer_meta; a CURVE connection's traffic goes through m->box from now
 * on), or -EPROTO / -EACCES with m->why and m->code saying what failed.  -EACCES: the
 * handler refused (m->code is its status code); out then holds the ERROR to send.
 *
 * What a peer sends is checked before use: exact sizes where the RFC fixes them, boxes
 * that must open, nonces that must grow, a cookie and a vouch that must name the keys
 * of this handshake, metadata within NMI_ZMTP_METADATA_MAX.
 */
#ifndef NMI_ZMTP_MECH_H
#define NMI_ZMTP_MECH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zmtp/zmtp.h"

#define NMI_CURVE_KEY 32
/* Room for the frames one step writes: a CURVE INITIATE with our metadata. */
#define NMI_MECH_OUT_MAX 1024
/* What a MESSAGE adds to a frame of n bytes: header (up to 9), "\x07MESSAGE", nonce,
 * MAC, flags. */
#define NMI_CURVE_MSG_OVERHEAD (NMI_ZMTP_MAX_HEADER + 8 + 8 + 16 + 1)

enum { NMI_MECH_MORE = 0, NMI_MECH_ZAP = 1, NMI_MECH_DONE = 2 };

/* Our side: which mechanism, which role, its credentials, our metadata. */
typedef struct nmi_mech_conf {
    int mechanism; /* NM_MECH_PLAIN, NM_MECH_CURVE, or NM_MECH_NULL asking ZAP */
    bool as_server;
    const uint8_t *curve_public, *curve_secret; /* our long-term keys */
    const uint8_t *curve_server;                /* client: the server's public key */
    const char *user, *pass;                    /* PLAIN client */
    size_t user_len, pass_len;
    const uint8_t *meta; /* our properties, encoded (Socket-Type, Identity) */
    size_t meta_len;     /* at most 512 */
} nmi_mech_conf;

/* A CURVE connection's traffic keys and nonces.  The writer owns send_nonce, the reader
 * recv_nonce; the key is fixed once the handshake is done. */
typedef struct nmi_curve_box {
    uint8_t key[32];      /* crypto_box_beforenm of the short-term keys */
    uint8_t send_sub[32]; /* XSalsa20's subkey for our MESSAGE nonces: HSalsa20 of key and
                           * their fixed 16-byte prefix; made with key */
    uint8_t recv_sub[32]; /* the same for the peer's MESSAGE nonces */
    bool server;          /* our MESSAGE nonces say S, the peer's C (or the other way) */
    uint64_t send_nonce;  /* the next one we use */
    uint64_t recv_nonce;  /* the last one the peer used: the next must be larger */
} nmi_curve_box;

/* What a server asks ZAP about: the mechanism's credentials. */
typedef struct nmi_mech_zap {
    const char *mechanism;  /* "PLAIN", "CURVE" */
    int ncred;              /* credential frames: PLAIN 2, CURVE 1 */
    const uint8_t *cred[2]; /* point into the mech */
    size_t cred_len[2];
} nmi_mech_zap;

typedef struct nmi_mech {
    int mechanism; /* NM_MECH_NULL: a NULL handshake that asks ZAP (a ZAP domain is set) */
    bool server;
    int state;          /* the mechanism's own */
    const char *why;    /* on failure */
    uint32_t code;      /* on failure: NM_PROTOCOL_ERROR_*, or the ZAP status code */
    uint8_t *peer_meta; /* the peer's properties (heap), once DONE */
    size_t peer_meta_len;
    nmi_mech_zap zap;   /* after NMI_MECH_ZAP */
    uint8_t *zap_props; /* what ZAP said of the peer (User-Id, its metadata), as
                         * properties (heap), once accepted */
    size_t zap_props_len;
    bool peer_ready;   /* NULL: the peer's READY came before ZAP's answer */
    uint8_t meta[512]; /* ours */
    size_t meta_len;
    /* PLAIN */
    uint8_t user[256], pass[256];
    size_t user_len, pass_len;
    /* CURVE */
    uint8_t pub[32], sec[32];       /* our long-term keys */
    uint8_t peer_pub[32];           /* the peer's long-term key (server: the client's) */
    uint8_t cn_pub[32], cn_sec[32]; /* our short-term keys */
    uint8_t peer_cn[32];            /* the peer's short-term public key */
    uint8_t cookie_key[32];         /* server: the cookie's key, this handshake only */
    uint8_t cookie[96];             /* client: the server's cookie, sent back in INITIATE */
    nmi_curve_box box;
} nmi_mech;

/* The mechanism's name in a greeting ("NULL", "PLAIN", "CURVE") for enum nm_mechanism. */
const char *nmi_mech_name(int mechanism);
/* Starts m (any memory) for cf; -EINVAL for an unusable configuration (metadata over
 * 512 bytes), -ENOSYS without libsodium. */
int nmi_mech_init(nmi_mech *m, const nmi_mech_conf *cf);
/* Frees what m holds (keys are wiped). */
void nmi_mech_fini(nmi_mech *m);
int nmi_mech_step(nmi_mech *m, const uint8_t *in, size_t len, uint8_t *out, size_t *out_len);
/* status: the handler's (200 accepted; 300, 400, 500 refused: an ERROR with the code to
 * send, none for 300, a temporary failure), or 0 when there is no handler and the server
 * accepts as libzmq does.  props: what the handler said of the peer, as properties
 * (copied). */
int nmi_mech_zap_done(nmi_mech *m, int status, const uint8_t *props, size_t props_len, uint8_t *out,
                      size_t *out_len);

/* CURVE traffic.  Seal: one frame (wire flags MORE / COMMAND) as a MESSAGE frame in
 * out (room for len + NMI_CURVE_MSG_OVERHEAD); returns its length.  Open: a MESSAGE
 * body, in place; 0 with the frame's wire flags, data and length, or -EPROTO with why
 * and code. */
size_t nmi_curve_seal(nmi_curve_box *b, uint8_t *out, uint8_t flags, const uint8_t *data,
                      size_t len);
int nmi_curve_open(nmi_curve_box *b, uint8_t *body, size_t len, uint8_t *flags, uint8_t **data,
                   size_t *dlen, const char **why, uint32_t *code);

/* Internal to the mechanisms (mech.c for NULL, plain.c, curve.c). */
int nmi_plain_step(nmi_mech *m, const uint8_t *in, size_t len, uint8_t *out, size_t *out_len);
int nmi_plain_zap_done(nmi_mech *m, uint8_t *out, size_t *out_len);
int nmi_curve_step(nmi_mech *m, const uint8_t *in, size_t len, uint8_t *out, size_t *out_len);
int nmi_curve_zap_done(nmi_mech *m, uint8_t *out, size_t *out_len);
int nmi_mech_fail(nmi_mech *m, const char *why, uint32_t code);
int nmi_mech_keep_meta(nmi_mech *m, const uint8_t *meta, size_t len);

#endif /* NMI_ZMTP_MECH_H */
