/*
 * secure.h - NOMID_CURVE_CERT and NOMID_CURVE_ALLOW in a member process: the program's
 * sockets take part in a fleet with certificates as nomid's own do (README, "An
 * encrypted fleet").
 *
 * The drop-in hands every bind and connect of a member context's sockets to
 * nomid_member_endpoint (member.h), which calls member_secure_endpoint.  With a
 * certificate, and on a socket whose program chose no security mechanism itself:
 * - a bind of svc://NAME, or of an endpoint an --advertise spec names, listens as a
 *   CURVE server with the certificate's keys (the listener keeps the settings it was
 *   made with) and is advertised with its public key; the socket's settings are put
 *   back to NULL right after, so the program's other binds and connects are as it set
 *   them;
 * - a connect to svc://NAME gives the socket the certificate's keys, which the core
 *   uses as the pair of each CURVE connection to an instance whose key discovery gave;
 *   the socket's mechanism stays NULL, so its tcp:// connects are as the program set
 *   them (an instance advertised without a key is connected the same way).
 * A socket on which the program chose a mechanism is left as it is (logged), and such
 * an advertised bind goes without a key.  With NOMID_CURVE_ALLOW, the allow list's ZAP
 * handler (discovery/zap_allow.h) starts at the first bind made a CURVE server here,
 * unless the program bound a handler of its own first (then its handler decides).
 */
#ifndef MEMBER_SECURE_H
#define MEMBER_SECURE_H

#include <stdbool.h>
#include <stdint.h>

#include "disc_opts.h"
#include "nomid.h"
#include "spec.h"

/* Keeps the certificate settings of o (copied) and the specs for ctx's sockets; without
 * a certificate nothing is kept and every endpoint goes through unchanged.  0, or
 * -EINVAL after logging why (--curve-allow without a certificate, an unreadable allow
 * directory), or -ENOMEM. */
int member_secure_start(nm_ctx_t *ctx, const disc_opts *o, const member_spec *specs, int nspecs);

/* Stops the ZAP handler it started, if any, and forgets the settings: call it once ctx
 * is shut down (every call of its sockets ends with NM_ETERM) and before it is
 * destroyed, which waits for the handler's sockets too.  A client coming while the
 * program's sockets linger is not admitted. */
void member_secure_stop(void);

/* Binds (bind) or connects s to endpoint, with the settings above.  The result of
 * nm_sock_bind or nm_sock_connect, or a negative code when the settings could not be
 * given (logged). */
int member_secure_endpoint(nm_sock_t *s, const char *endpoint, bool bind);

/* For the event hook, on the thread that raised the event: the public key a listener
 * that just came up on this thread is served with, when member_secure_endpoint made it a
 * CURVE server (it raises the event inside nm_sock_bind); else NULL. */
const uint8_t *member_secure_bind_key(void);

#endif
