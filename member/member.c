/*
 * member.c - the membership library's two entry points (see member.h): a context of a
 * program on the drop-in becomes a fleet member, and stops being one at zmq_ctx_term.
 *
 * Threads and what they own:
 * - the thread in zmq_ctx_new or zmq_ctx_term (any application thread) runs attach and
 *   term, which make and end everything below.  member_cur, the one member of the
 *   process, is read and written under member_lock only; term takes it out under the
 *   lock and ends it outside, so a zmq_ctx_new elsewhere never waits for a LINGER.
 * - the agent's thread (and its backends' threads) own discovery, as in a node;
 *   libmicrohttpd's threads serve admin; both only read the context (nm_ctx_stats).
 * - the binds thread (binds.c) advertises binds; the event hook feeds it.
 * The member's fields are written by attach before the hook is turned on and by term
 * after it is off; the other threads only read them meanwhile.
 */
#include "member.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

#include "admin_run.h"
#include "args.h"
#include "binds.h"
#include "env.h"
#include "host.h"
#include "log.h"
#include "resolver.h"
#include "secure.h"

/* The process's member context and what serves it. */
typedef struct member {
    nm_ctx_t *ctx;       /* the member context */
    member_env env;      /* the settings (the agent's configuration points into it) */
    nmd_agent *agent;    /* discovery: svc:// resolution, advertised binds, beacons */
    nma_server *admin;   /* the admin endpoint, or NULL (NOMID_ADMIN=off) */
    member_binds *binds; /* the binds thread */
    nmd_host_link *link; /* joined through the host's node (host.h), or NULL */
    char ifaces[NMD_HOST_IFACES][NMD_HOST_IFNAME + 1]; /* the node's interfaces */
} member;

static pthread_mutex_t member_lock = PTHREAD_MUTEX_INITIALIZER;
static member *member_cur; /* under member_lock: the member, or NULL */
static bool member_warned; /* under member_lock: the "second context" warning was given */

/* Ends what attach started, in the reverse order (the context is not destroyed). */
static void member_stop_parts(member *m)
{
    if (m->admin != NULL)
        nma_stop(&m->admin); /* also turns the hook off: no call under way after it */
    else
        nm_ctx_set_event_hook(m->ctx, NULL, NULL);
    member_binds_stop(&m->binds);
}

/* Joins through the host's node of the fleet when one runs: the agent then beacons
 * nothing and listens on the node's interfaces; the node does discovery for it. */
static void member_join_host(member *m)
{
    nmd_agent_config *c = &m->env.opts.cfg;
    nmd_host_msg *w = calloc(1, sizeof(*w));
    int rc = w == NULL ? -ENOMEM : nmd_host_join(&m->link, c->fleet, w, 1000);
    if (rc < 0) {
        if (rc != -ECONNREFUSED)
            log_msg(NM_LOG_WARN, "member",
                    "cannot join through this host's node: %s; "
                    "running discovery of its own",
                    nm_strerror(rc));
        free(w);
        return;
    }
    log_msg(NM_LOG_INFO, "member", "joining fleet '%s' through node %s on this host", c->fleet,
            w->name);
    c->beacon = false;
    c->key = NULL; /* beacons, records and their keys are the node's business */
    c->keylen = 0;
    c->nbackends = 1;
    c->backends[0].ops = &nmd_host_backend;
    c->backends[0].arg = NULL;
    c->backends[0].ctx = m->link;
    c->nifaces = w->nifaces;
    for (int i = 0; i < w->nifaces; i++) {
        strlcpy(m->ifaces[i], w->ifaces[i], sizeof(m->ifaces[i]));
        c->ifaces[i] = m->ifaces[i];
    }
    free(w);
}

static int member_start(member *m)
{
    disc_opts *o = &m->env.opts;
    /* The default name tells processes apart: HOST/python3-PID, as HOST/cat-PID. */
    disc_default_name(o, program_invocation_short_name);
    if (!m->env.join_self)
        member_join_host(m);
    int rc = nmd_agent_start(&m->agent, &o->cfg);
    if (rc < 0) {
        log_msg(NM_LOG_ERROR, "member", "cannot start discovery: %s", nm_strerror(rc));
        nmd_host_link_close(&m->link);
        return rc;
    }
    nmd_resolver_attach(m->agent, m->ctx);
    /* Admin by default on 127.0.0.1 and a port of the kernel's choosing (dozens of
     * members may run on one host); the URL goes to stderr as a node's does. */
    if (o->admin[0] == '\0' && !o->admin_off)
        strlcpy(o->admin, "127.0.0.1:0", sizeof(o->admin));
    if (admin_run(&m->admin, o, false, m->ctx, m->agent) != NODE_EXIT_OK) {
        nm_ctx_set_resolver(m->ctx, NULL);
        nmd_agent_stop(&m->agent);
        nmd_host_link_close(&m->link);
        return -EINVAL;
    }
    if ((rc = member_binds_start(&m->binds, m->agent, m->env.specs, m->env.nspecs)) < 0) {
        log_msg(NM_LOG_ERROR, "member", "cannot start the binds thread: %s", nm_strerror(rc));
        nma_stop(&m->admin);
        nm_ctx_set_resolver(m->ctx, NULL);
        nmd_agent_stop(&m->agent);
        nmd_host_link_close(&m->link);
        return rc;
    }
    if (m->admin != NULL)
        nma_event_tap(m->admin, member_binds_event_cb, m->binds);
    else
        nm_ctx_set_event_hook(m->ctx, member_binds_event_cb, m->binds);
    return 0;
}

int nomid_member_attach(nm_ctx_t *ctx)
{
    pthread_mutex_lock(&member_lock);
    if (member_cur != NULL) {
        if (!member_warned)
            log_msg(NM_LOG_WARN, "member",
                    "a second ZeroMQ context while the first is the fleet member: it runs "
                    "without svc://, advertising or admin");
        member_warned = true;
        pthread_mutex_unlock(&member_lock);
        return -EBUSY;
    }
    member *m = calloc(1, sizeof(*m));
    int rc = m == NULL ? -ENOMEM : member_env_read(&m->env);
    if (rc == 0)
        rc = member_secure_start(ctx, &m->env.opts, m->env.specs, m->env.nspecs);
    if (rc == 0) {
        m->ctx = ctx;
        if ((rc = member_start(m)) < 0)
            member_secure_stop();
    }
    if (rc < 0)
        free(m);
    else
        member_cur = m;
    pthread_mutex_unlock(&member_lock);
    return rc;
}

void nomid_member_term(nm_ctx_t **ctxp)
{
    pthread_mutex_lock(&member_lock);
    member *m = member_cur != NULL && member_cur->ctx == *ctxp ? member_cur : NULL;
    if (m != NULL)
        member_cur = NULL;
    pthread_mutex_unlock(&member_lock);
    if (m == NULL) {
        nm_ctx_destroy(ctxp);
        return;
    }
    member_stop_parts(m);
    member_secure_stop(); /* its ZAP handler's sockets would keep destroy waiting */
    /* The agent outlives the sockets that used svc:// (resolver.h): they are closed
     * once destroy returns. */
    nm_ctx_destroy(ctxp);
    nmd_agent_stop(&m->agent); /* goodbye on every interface, or to the host's node */
    nmd_host_link_close(&m->link);
    free(m);
}
