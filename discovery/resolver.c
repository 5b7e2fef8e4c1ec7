/*
 * resolver.c - the agent behind nm_resolver_t (see resolver.h).
 *
 * A watch is an agent listener filtered on one service name: it is registered first,
 * then the instances already known are replayed, both under the agent's lock, so no
 * change can fall between the two (an instance reported twice is connected once by
 * the core).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

#include "resolver.h"

typedef struct resolver_watch {
    nm_svc_watch_t *w;               /* the core's watch */
    char name[NMD_SVC_NAME_MAX + 1]; /* the service followed */
} resolver_watch;

static void resolver_event(void *arg, int ev, const nmd_peer *p, const nmd_service *s)
{
    resolver_watch *rw = arg;
    (void)p;
    if (s != NULL && (ev == NMD_EV_SERVICE_UP || ev == NMD_EV_SERVICE_DOWN) &&
        strcmp(s->name, rw->name) == 0)
        nm_svc_update_key(rw->w, s->endpoint, s->type, ev == NMD_EV_SERVICE_UP,
                          s->has_key ? s->curve_key : NULL);
}

static void resolver_replay(void *arg, const nmd_peer *p, const nmd_service *s)
{
    resolver_event(arg, NMD_EV_SERVICE_UP, p, s);
}

static int resolver_watch_cb(void *arg, const char *name, nm_svc_watch_t *w, void **cookie)
{
    nmd_agent *a = arg;
    resolver_watch *rw = calloc(1, sizeof(*rw));
    if (rw == NULL)
        return -ENOMEM;
    if (strlcpy(rw->name, name, sizeof(rw->name)) >= sizeof(rw->name)) {
        free(rw);
        return -EINVAL;
    }
    rw->w = w;
    int rc = nmd_agent_listen(a, resolver_event, rw);
    if (rc < 0) {
        free(rw);
        return rc;
    }
    nmd_agent_resolve(a, name, resolver_replay, rw);
    *cookie = rw;
    return 0;
}

static void resolver_unwatch_cb(void *arg, nm_svc_watch_t *w, void *cookie)
{
    (void)w;
    nmd_agent_unlisten(arg, resolver_event, cookie);
    free(cookie);
}

static int resolver_advertise_cb(void *arg, const char *name, int type, const char *endpoint,
                                 const uint8_t *curve_key)
{
    return nmd_agent_advertise(arg, name, type, endpoint, curve_key);
}

static void resolver_withdraw_cb(void *arg, const char *name, const char *endpoint)
{
    nmd_agent_withdraw(arg, name, endpoint);
}

static int resolver_bind_hosts_cb(void *arg, char (*hosts)[NM_HOST_MAX], int max)
{
    return nmd_agent_bind_hosts(arg, hosts, max);
}

void nmd_resolver_attach(nmd_agent *a, nm_ctx_t *ctx)
{
    nm_resolver_t r = {
        .watch = resolver_watch_cb,
        .unwatch = resolver_unwatch_cb,
        .advertise = resolver_advertise_cb,
        .withdraw = resolver_withdraw_cb,
        .bind_hosts = resolver_bind_hosts_cb,
        .arg = a,
    };
    nm_ctx_set_resolver(ctx, &r);
}
