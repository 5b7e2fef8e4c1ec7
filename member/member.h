/*
 * member.h - libnomid_member.so, fleet membership for a program on the libzmq drop-in.
 *
 * The drop-in (lib/compat/member.c) loads this library only when NOMID_MEMBER=1 (env.h)
 * and calls these three functions, found with dlsym; nothing else crosses.  The library
 * uses the core through the public nm_* API that libzmq.so.5 exports, so the context it
 * is handed is served by the very core the program runs on (one copy in the process).
 *
 * One context at a time is the member (the first a program makes, or the next one made
 * after it ended): its svc:// endpoints resolve through an embedded discovery agent, the
 * binds NOMID_ADVERTISE names are advertised when the program makes them, and an admin
 * endpoint shows its sockets, so the topology page of any node of the fleet shows the
 * process.  When a node of the fleet runs on the host, the agent joins through it
 * (discovery/host.h): the node beacons for it and carries its summary; otherwise the
 * agent beacons itself, its admin port in its beacons.
 */
#ifndef MEMBER_H
#define MEMBER_H

#include "nomid.h"

#define MEMBER_EXPORT __attribute__((visibility("default")))

/* Makes ctx the process's member context, with the settings of the environment.  0;
 * -EBUSY when another context is the member (ctx stays plain; a warning is logged);
 * -EINVAL for bad settings, or the agent's or admin's -errno (logged): the drop-in then
 * fails zmq_ctx_new, since the program asked for a membership it cannot have. */
MEMBER_EXPORT int nomid_member_attach(nm_ctx_t *ctx);

/* Ends the member context *ctxp for zmq_ctx_term, which has shut it down: stops the
 * admin endpoint and the bind watch, destroys the context (waiting for its sockets, as
 * nm_ctx_destroy does), then stops the agent, which says goodbye.  *ctxp is set to NULL. */
MEMBER_EXPORT void nomid_member_term(nm_ctx_t **ctxp);

/* Binds (bind) or connects socket s of the member context to endpoint, for zmq_bind and
 * zmq_connect: with NOMID_CURVE_CERT, as a CURVE server or client where secure.h says,
 * else as nm_sock_bind or nm_sock_connect.  Their result. */
MEMBER_EXPORT int nomid_member_endpoint(nm_sock_t *s, const char *endpoint, bool bind);

#endif
