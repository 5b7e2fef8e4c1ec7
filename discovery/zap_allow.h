/*
 * zap_allow.h - a ZAP handler (ZeroMQ RFC 27) that admits the CURVE clients whose
 * certificates are in a directory: what `--curve-allow DIR` runs in a node's context.
 *
 * It binds a REP socket to inproc://zeromq.zap.01 in the context and answers every
 * request on a thread of its own: a CURVE client whose public key has a certificate in
 * DIR (CZMQ's certificate-store layout, cert.h) is admitted ("200") with the User-Id the
 * certificate's metadata `name`, or the key's Z85 text when it has none; anything else,
 * other mechanisms included, is refused ("400") with a log line naming the key and the
 * address.  DIR is read again for a request that comes a second or more after the last
 * reading, so a certificate copied in is admitted without a restart and one removed is
 * refused a second later at most; if reading it fails, the last list stays in force.
 */
#ifndef NMD_ZAP_ALLOW_H
#define NMD_ZAP_ALLOW_H

#include <stddef.h>

#include "nomid.h"

#define NMD_ZAP_ENDPOINT "inproc://zeromq.zap.01"

typedef struct nmd_zap_allow nmd_zap_allow;

/* Loads dir and starts answering ZAP requests of ctx.  0, or a negative code with err
 * saying why: the directory's (cert.h nmd_cert_dir_load), -EADDRINUSE when ctx has a ZAP
 * handler already, -ENOMEM. */
int nmd_zap_allow_start(nmd_zap_allow **zp, nm_ctx_t *ctx, const char *dir, char *err,
                        size_t errsz);
/* Stops the thread, closes its socket, frees; *zp is set to NULL.  Close the sockets
 * that use it first: a handshake asking a stopped handler waits for HANDSHAKE_IVL.  Also
 * once ctx is shut down (before nm_ctx_destroy, which waits for the handler's sockets). */
void nmd_zap_allow_stop(nmd_zap_allow **zp);

/* Certificates in force now (for logs and tests). */
int nmd_zap_allow_count(nmd_zap_allow *z);

#endif /* NMD_ZAP_ALLOW_H */
