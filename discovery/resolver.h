/*
 * resolver.h - the discovery agent as a context's svc:// resolver: sockets of that
 * context connect to svc://NAME and follow its instances as the agent learns of them;
 * svc:// binds and nm_sock_advertise put endpoints in the agent's service table.
 */
#ifndef NMD_RESOLVER_H
#define NMD_RESOLVER_H

#include "agent.h"
#include "nomid.h"

/* Attaches agent a to ctx (nm_ctx_set_resolver).  The agent must outlive every socket
 * of ctx that used svc:// (close them, then stop the agent). */
void nmd_resolver_attach(nmd_agent *a, nm_ctx_t *ctx);

#endif
