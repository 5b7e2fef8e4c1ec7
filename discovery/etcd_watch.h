/*
 * etcd_watch.h - the browsing half of the etcd backend: reads every key of the fleet
 * and follows them with a streaming watch, reporting other nodes' instances to the
 * agent (nmd_agent_add / nmd_agent_del) from a thread of its own.
 */
#ifndef NMD_ETCD_WATCH_H
#define NMD_ETCD_WATCH_H

#include "agent.h"

typedef struct nmd_etcd_watch nmd_etcd_watch;

/* Reads the fleet's keys once on the calling thread (so the instances are known when it
 * returns), then starts the thread that watches.  url: the server, no trailing '/'.
 * -ECONNREFUSED, -EHOSTUNREACH, -ETIMEDOUT, -EPROTO when the first read fails, -ENOMEM. */
int nmd_etcd_watch_start(nmd_etcd_watch **wp, nmd_agent *a, const char *url);
/* Ends the watch (at once, even mid-transfer), joins the thread, frees; *wp = NULL.
 * What it reported stays in the registry: the agent forgets it. */
void nmd_etcd_watch_stop(nmd_etcd_watch **wp);

#endif
