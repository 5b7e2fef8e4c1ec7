/*
 * curve.h - the --curve-* flags (disc_opts.h) put to work in a command's context and
 * socket: the allow directory's ZAP handler, and the certificate's keys on the socket.
 */
#ifndef NODE_CURVE_H
#define NODE_CURVE_H

#include <stdbool.h>

#include "disc_opts.h"
#include "nomid.h"
#include "zap_allow.h"

/* Checks the flags go together and, with --curve-allow, starts its ZAP handler in ctx
 * (*zp; stop it after closing the sockets).  0, or -1 after logging why. */
int curve_start(const disc_opts *d, nm_ctx_t *ctx, nmd_zap_allow **zp);

/* For a command that opens no socket itself (node): checks the flags go together and
 * the allow directory reads, logging how many certificates it holds.  0, or -1 after
 * logging why. */
int curve_check(const disc_opts *d);

/* With --curve-cert: gives socket s the certificate's keys, and makes it a CURVE server
 * when it binds (server).  Its svc:// connections then use CURVE with the key found in
 * discovery; other connections need the server's key, which no flag gives yet, so a
 * caller refuses them.  0, or -1 after logging why. */
int curve_apply(const disc_opts *d, nm_sock_t *s, bool server);

#endif /* NODE_CURVE_H */
