/*
 * backend.h - how a discovery backend other than beacons (DNS-SD, etcd) plugs into the
 * agent.
 *
 * A backend does two things: it publishes this node's service table where other nodes
 * look (unless the agent is passive), and it reports what other nodes publish into the
 * agent's registry with nmd_agent_add / nmd_agent_del (agent.h).  It runs on threads of
 * its own (Avahi's threaded poll, a curl loop); the agent calls publish from whatever
 * thread changed the table, never holding its lock, so a backend may call back into the
 * agent from publish.
 */
#ifndef NMD_BACKEND_H
#define NMD_BACKEND_H

typedef struct nmd_agent nmd_agent;
typedef struct nmd_backend nmd_backend;

typedef struct nmd_backend_ops {
    const char *name; /* as in --discovery: "dnssd", "etcd" */
    int kind;         /* enum nmd_backend_kind (registry.h) */
    /* Starts for agent a.  arg is what followed '=' in --discovery (the etcd URL), or
     * NULL; ctx is its configuration's ctx (an object its caller made for it, which it
     * borrows until stop), or NULL.  Reads the agent's configuration, id and table
     * through agent.h.  -errno and nothing left running on failure (-ECONNREFUSED /
     * -EHOSTUNREACH: server not there). */
    int (*start)(nmd_backend **bp, nmd_agent *a, const char *arg, void *ctx);
    /* The node's table changed (nmd_agent_table gives the new one): publish it. */
    void (*publish)(nmd_backend *b);
    /* Withdraws what it published, stops its threads, frees; *bp is set to NULL. */
    void (*stop)(nmd_backend **bp);
} nmd_backend_ops;

/* The backends built in; NULL for an unknown name. */
const nmd_backend_ops *nmd_backend_find(const char *name);

#endif
