/*
 * host.h - the host channel: the programs of one host join the fleet through that
 * host's node instead of each running discovery of its own (README, "Existing ZeroMQ
 * programs join the mesh"), so the beacons leaving a host do not grow with the number of
 * programs on it.
 *
 * The node listens on the abstract unix socket "\0nomid-host/FLEET".  Abstract names
 * belong to a network namespace: there is one such socket per host (or container), and
 * it is never on a network.  Only processes of the node's user, or root, may join
 * (SO_PEERCRED).  Messages (host_msg.h, BEACON.md "The host channel"), one per
 * SOCK_SEQPACKET datagram:
 *   - the node says WELCOME first (its id, name, fleet and interfaces, which the member
 *     then listens on for its svc:// binds);
 *   - the member says MEMBER (its id, name, admin port and whole table) at once and
 *     whenever that changes;
 *   - the node says UP for every instance of the fleet it knows (its registry, and the
 *     services it offers itself), then UP and DOWN as they change.
 * The node keeps each member as a registry peer of backend "host" (its admin page, its
 * topology and the other members see it) and puts the member's services in its own
 * table (its beacons, etcd and DNS-SD records carry them).  A member whose connection
 * ends (it stopped, or died: the kernel closes its end) is removed at once.
 *
 * Limits: NMD_HOST_MEMBERS members per node; NMD_HOST_SERVICES entries in a member's
 * table; NMD_HOST_OUTQ_MAX bytes waiting for one member (one that reads no more is
 * dropped, with a warning; it joins again and starts afresh).
 */
#ifndef NMD_HOST_H
#define NMD_HOST_H

#include "agent.h"
#include "host_msg.h"

#define NMD_HOST_MEMBERS  256               /* members one node serves */
#define NMD_HOST_OUTQ_MAX (4 * 1024 * 1024) /* bytes queued for one member */
#define NMD_HOST_RETRY_MS 1000              /* a member's pause between joins */

/* ---- the node's side ---- */

typedef struct nmd_host nmd_host;

/* Serves agent a's host channel (a outlives it).  0; -EADDRINUSE when another node of the
 * fleet serves this host already; -errno. */
int nmd_host_start(nmd_host **hp, nmd_agent *a);
/* Closes every member's connection (so they know at once) and stops; *hp = NULL. */
void nmd_host_stop(nmd_host **hp);

/* ---- the member's side ---- */

typedef struct nmd_host_link nmd_host_link;

/* Joins the node of fleet on this host: connects and waits up to timeout_ms for its
 * welcome, into *welcome.  0; -ECONNREFUSED when no node of that fleet runs here;
 * -EACCES when the node refuses this process; -ETIMEDOUT; -EPROTO. */
int nmd_host_join(nmd_host_link **lp, const char *fleet, nmd_host_msg *welcome, int timeout_ms);
void nmd_host_link_close(nmd_host_link **lp);

/* The backend of an agent that joined through its node: cfg.beacon off, the link as
 * its backends[].ctx (the caller closes it after stopping the agent).  It publishes the
 * agent's table to the node, puts what the node says into the registry (as one peer,
 * the node), and when the node goes, forgets that and joins again every
 * NMD_HOST_RETRY_MS. */
extern const nmd_backend_ops nmd_host_backend;

#endif
