/*
 * svc.c - svc:// endpoints: the resolver hook (nm_ctx_set_resolver), sockets following
 * a service's instances, advertising bound endpoints, nm_sock_disconnect and
 * nm_sock_wait_peers.
 *
 * The resolver reports instances from its own threads; nm_svc_update turns each report
 * into an NMI_CMD_SVC command for the socket, so connects and disconnects happen on the
 * socket's own thread like every other change to it.  A socket keeps, on that thread,
 * its watches (one per svc:// connect), the endpoints they connected (an endpoint two
 * watches share is connected once and kept until neither wants it), the tcp/ipc
 * endpoints it bound and what it advertised; closing the socket unwatches and withdraws
 * everything before the I/O thread takes it over.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

#include "core/core.h"

#define NMI_SVC_HOSTS_MAX 16 /* hosts one svc:// bind listens on */

struct nm_svc_watch {
    nmi_sock *s;           /* the socket following the service */
    uint64_t id;           /* names it in commands (the watch may be gone by then) */
    void *cookie;          /* the resolver's data for it */
    char name[NMI_EP_MAX]; /* service name */
};

/* One report, on its way to the socket's thread. */
typedef struct svc_update {
    uint64_t watch;            /* nm_svc_watch.id */
    int type;                  /* the instance's socket type */
    bool up;                   /* came (true) or went */
    bool has_key;              /* a CURVE server: key is its public key */
    uint8_t key[32];           /* that key (only with has_key) */
    char endpoint[NMI_EP_MAX]; /* where it is */
} svc_update;

/* An endpoint connected for a watch. */
typedef struct svc_conn {
    uint64_t watch;            /* which watch wanted it */
    char endpoint[NMI_EP_MAX]; /* the endpoint */
} svc_conn;

/* A tcp or ipc endpoint bound: what bind got, and what it was given. */
typedef struct svc_bound {
    char ep[NMI_EP_MAX];   /* "tcp://127.0.0.1:41234" */
    char spec[NMI_EP_MAX]; /* "tcp://127.0.0.1:*", "tcp://localhost:5555" */
} svc_bound;

/* A name advertised for a bound endpoint. */
typedef struct svc_ad {
    char name[NMI_EP_MAX];     /* service name */
    char endpoint[NMI_EP_MAX]; /* the bound endpoint */
} svc_ad;

/* A socket's svc state (application thread). */
struct nmi_svc {
    nm_svc_watch_t **watches; /* one per svc:// connect */
    size_t nwatches;          /* their count */
    svc_conn *conns;          /* endpoints connected through watches */
    size_t nconns;            /* their count */
    svc_bound *bound;         /* tcp and ipc endpoints bound */
    size_t nbound;            /* their count */
    svc_ad *ads;              /* advertised */
    size_t nads;              /* their count */
    bool closed;              /* the socket is closing: ignore reports */
};

/* Grows *arr (of n elements of size sz) by one; false when out of memory. */
static bool svc_grow(void *arr, size_t n, size_t sz)
{
    void *p = realloc(*(void **)arr, (n + 1) * sz);
    if (p == NULL)
        return false;
    *(void **)arr = p;
    return true;
}

static nmi_svc *svc_of(nmi_sock *s)
{
    if (s->svc == NULL)
        s->svc = calloc(1, sizeof(*s->svc));
    return s->svc;
}

void nm_ctx_set_resolver(nm_ctx_t *ctxp, const nm_resolver_t *r)
{
    nmi_ctx *ctx = (nmi_ctx *)ctxp;
    ctx->has_resolver = r != NULL;
    if (r != NULL)
        ctx->resolver = *r;
}

void nm_svc_update(nm_svc_watch_t *w, const char *endpoint, int type, bool up)
{
    nm_svc_update_key(w, endpoint, type, up, NULL);
}

void nm_svc_update_key(nm_svc_watch_t *w, const char *endpoint, int type, bool up,
                       const uint8_t *curve_key)
{
    svc_update *u = malloc(sizeof(*u));
    if (u == NULL || strlen(endpoint) >= sizeof(u->endpoint)) {
        nmi_log(w->s->ctx, NM_LOG_WARN, "svc", "%s: instance %s dropped (%s)", w->name, endpoint,
                u == NULL ? "out of memory" : "endpoint too long");
        free(u);
        return;
    }
    u->watch = w->id;
    u->type = type;
    u->up = up;
    u->has_key = curve_key != NULL;
    if (u->has_key)
        memcpy(u->key, curve_key, sizeof(u->key));
    strlcpy(u->endpoint, endpoint, sizeof(u->endpoint));
    nmi_sock_post(w->s, NMI_CMD_SVC, u);
}

/* How many watches have endpoint connected. */
static size_t svc_users(nmi_svc *v, const char *endpoint)
{
    size_t n = 0;
    for (size_t i = 0; i < v->nconns; i++)
        n += strcmp(v->conns[i].endpoint, endpoint) == 0;
    return n;
}

static ssize_t svc_find_conn(nmi_svc *v, uint64_t watch, const char *endpoint)
{
    for (size_t i = 0; i < v->nconns; i++)
        if (v->conns[i].watch == watch && strcmp(v->conns[i].endpoint, endpoint) == 0)
            return (ssize_t)i;
    return -1;
}

/* Forgets conns[i], disconnecting its endpoint when no other watch uses it. */
static void svc_drop_conn(nmi_sock *s, size_t i)
{
    nmi_svc *v = s->svc;
    svc_conn c = v->conns[i];
    v->conns[i] = v->conns[--v->nconns];
    if (svc_users(v, c.endpoint) == 0)
        nmi_sock_disconnect_plain(s, c.endpoint);
}

void nmi_svc_apply(nmi_sock *s, void *obj)
{
    svc_update *u = obj;
    nmi_svc *v = s->svc;
    bool watched = false;
    for (size_t i = 0; v != NULL && !v->closed && i < v->nwatches; i++)
        watched |= v->watches[i]->id == u->watch;
    ssize_t at = watched ? svc_find_conn(v, u->watch, u->endpoint) : -1;
    if (!watched) {
        /* a report for a watch disconnected meanwhile, or the socket is closing */
    } else if (!u->up && at >= 0) {
        svc_drop_conn(s, (size_t)at);
    } else if (u->up && at < 0 && !nmi_zmtp_types_compatible(s->type, u->type)) {
        nmi_log(s->ctx, NM_LOG_DEBUG, "svc", "%s: not connecting to a %s socket", u->endpoint,
                nm_sock_type_name(u->type));
    } else if (u->up && at < 0 && svc_grow(&v->conns, v->nconns, sizeof(*v->conns))) {
        bool first = svc_users(v, u->endpoint) == 0;
        v->conns[v->nconns].watch = u->watch;
        strlcpy(v->conns[v->nconns++].endpoint, u->endpoint, NMI_EP_MAX);
        int rc = first ? nmi_sock_connect_plain(s, u->endpoint, u->has_key ? u->key : NULL) : 0;
        if (rc < 0) {
            nmi_log(s->ctx, NM_LOG_WARN, "svc", "cannot connect to %s: %s", u->endpoint,
                    nm_strerror(rc));
            v->nconns--;
        }
    }
    free(u);
}

void nmi_svc_discard(void *obj)
{
    free(obj);
}

int nmi_svc_connect(nmi_sock *s, const char *name)
{
    nmi_ctx *ctx = s->ctx;
    if (!ctx->has_resolver)
        return -ENOTSUP;
    nmi_svc *v = svc_of(s);
    nm_svc_watch_t *w = calloc(1, sizeof(*w));
    if (v == NULL || w == NULL || !svc_grow(&v->watches, v->nwatches, sizeof(*v->watches))) {
        free(w);
        return -ENOMEM;
    }
    w->s = s;
    w->id = nmi_ctx_next_id(ctx);
    strlcpy(w->name, name, sizeof(w->name));
    v->watches[v->nwatches++] = w;
    int rc = ctx->resolver.watch(ctx->resolver.arg, name, w, &w->cookie);
    if (rc < 0) {
        v->nwatches--;
        free(w);
    }
    return rc;
}

int nmi_svc_disconnect(nmi_sock *s, const char *name)
{
    nmi_svc *v = s->svc;
    for (size_t i = 0; v != NULL && i < v->nwatches; i++) {
        nm_svc_watch_t *w = v->watches[i];
        if (strcmp(w->name, name) != 0)
            continue;
        s->ctx->resolver.unwatch(s->ctx->resolver.arg, w, w->cookie);
        v->watches[i] = v->watches[--v->nwatches];
        for (size_t k = v->nconns; k-- > 0;)
            if (v->conns[k].watch == w->id)
                svc_drop_conn(s, k);
        free(w);
        return 0;
    }
    return -ENOENT;
}

void nmi_svc_bound(nmi_sock *s, const char *spec, const char *endpoint)
{
    nmi_svc *v = svc_of(s);
    if (v != NULL && svc_grow(&v->bound, v->nbound, sizeof(*v->bound))) {
        strlcpy(v->bound[v->nbound].ep, endpoint, NMI_EP_MAX);
        strlcpy(v->bound[v->nbound++].spec, spec, NMI_EP_MAX);
    }
}

bool nmi_svc_unbound(nmi_sock *s, const char *endpoint, char *got, size_t cap)
{
    nmi_svc *v = s->svc;
    /* As libzmq: by what bind got, or by what it was given unless that had a wildcard. */
    bool wild = strchr(endpoint, '*') != NULL;
    size_t i = 0;
    while (v != NULL && i < v->nbound && strcmp(v->bound[i].ep, endpoint) != 0 &&
           (wild || strcmp(v->bound[i].spec, endpoint) != 0))
        i++;
    if (v == NULL || i == v->nbound)
        return false;
    strlcpy(got, v->bound[i].ep, cap);
    memmove(&v->bound[i], &v->bound[i + 1], (v->nbound - i - 1) * sizeof(v->bound[0]));
    v->nbound--;
    for (size_t k = v->nads; k-- > 0;) {
        if (strcmp(v->ads[k].endpoint, got) != 0)
            continue;
        s->ctx->resolver.withdraw(s->ctx->resolver.arg, v->ads[k].name, got);
        v->ads[k] = v->ads[--v->nads];
    }
    return true;
}

/* Advertises one endpoint under name, with the socket's CURVE server key as it is now,
 * and remembers it for withdrawal. */
static int svc_advertise(nmi_sock *s, const char *name, const char *endpoint)
{
    nmi_ctx *ctx = s->ctx;
    nmi_svc *v = s->svc;
    if (!svc_grow(&v->ads, v->nads, sizeof(*v->ads)))
        return -ENOMEM;
    uint8_t key[32];
    bool keyed = nmi_sec_server_key(s->opts.sec, key);
    int rc =
        ctx->resolver.advertise(ctx->resolver.arg, name, s->type, endpoint, keyed ? key : NULL);
    if (rc == 0) {
        strlcpy(v->ads[v->nads].name, name, NMI_EP_MAX);
        strlcpy(v->ads[v->nads++].endpoint, endpoint, NMI_EP_MAX);
    }
    return rc;
}

static int svc_advertise_all(nmi_sock *s, const char *name)
{
    if (!s->ctx->has_resolver)
        return -ENOTSUP;
    if (name == NULL || name[0] == '\0' || strlen(name) >= NMI_EP_MAX)
        return -EINVAL;
    nmi_svc *v = s->svc;
    if (v == NULL || v->nbound == 0)
        return -ENOENT;
    for (size_t i = 0; i < v->nbound; i++) {
        int rc = svc_advertise(s, name, v->bound[i].ep);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Binds tcp://host:port (port "0": ephemeral) and advertises it; appends the endpoint
 * bound to list[cap] (space-separated) when it fits. */
static int svc_bind_host(nmi_sock *s, const char *name, const char *host, const char *port,
                         char *list, size_t cap)
{
    nmi_svc *v = s->svc;
    char ep[NMI_EP_MAX];
    if ((size_t)snprintf(ep, sizeof(ep), "tcp://%s:%s", host, port) >= sizeof(ep))
        return -EINVAL;
    size_t nbound = v->nbound;
    int rc = nm_sock_bind((nm_sock_t *)s, ep);
    if (rc == 0 && v->nbound == nbound)
        rc = -ENOMEM; /* bound, but could not remember it */
    if (rc < 0)
        return rc;
    const char *got = v->bound[v->nbound - 1].ep;
    if (strlen(list) + 1 + strlen(got) < cap) {
        if (list[0] != '\0')
            strlcat(list, " ", cap);
        strlcat(list, got, cap);
    }
    return svc_advertise(s, name, got);
}

int nmi_svc_bind(nmi_sock *s, const char *name, char *bound, size_t cap)
{
    nmi_ctx *ctx = s->ctx;
    if (!ctx->has_resolver)
        return -ENOTSUP;
    if (svc_of(s) == NULL)
        return -ENOMEM;
    char hosts[NMI_SVC_HOSTS_MAX][NM_HOST_MAX];
    int n = ctx->resolver.bind_hosts == NULL
                ? 0
                : ctx->resolver.bind_hosts(ctx->resolver.arg, hosts, NMI_SVC_HOSTS_MAX);
    if (n <= 0) {
        strlcpy(hosts[0], "127.0.0.1", sizeof(hosts[0]));
        n = 1;
    }
    n = n < NMI_SVC_HOSTS_MAX ? n : NMI_SVC_HOSTS_MAX;
    bound[0] = '\0';
    /* One port on every host when it is free there, so that the instances of one socket
     * read alike; each host is advertised on its own (the agent announces it on the
     * interface that holds it). */
    char port[8] = "0";
    int rc = 0, nok = 0;
    for (int i = 0; i < n; i++) {
        rc = svc_bind_host(s, name, hosts[i], port, bound, cap);
        if (rc == -EADDRINUSE && strcmp(port, "0") != 0)
            rc = svc_bind_host(s, name, hosts[i], "0", bound, cap);
        if (rc < 0) {
            nmi_log(ctx, NM_LOG_WARN, "socket", "bind svc://%s on %s: %s", name, hosts[i],
                    nm_strerror(rc));
            continue;
        }
        if (nok++ == 0) {
            const char *colon = strrchr(s->svc->bound[s->svc->nbound - 1].ep, ':');
            strlcpy(port, colon + 1, sizeof(port));
        }
    }
    return nok > 0 ? 0 : rc;
}

void nmi_svc_close(nmi_sock *s)
{
    nmi_svc *v = s->svc;
    if (v == NULL)
        return;
    nm_resolver_t *r = &s->ctx->resolver;
    for (size_t i = 0; i < v->nwatches; i++) {
        r->unwatch(r->arg, v->watches[i], v->watches[i]->cookie);
        free(v->watches[i]);
    }
    for (size_t i = 0; i < v->nads; i++)
        r->withdraw(r->arg, v->ads[i].name, v->ads[i].endpoint);
    v->nwatches = v->nads = 0;
    v->closed = true;
}

void nmi_svc_free(nmi_sock *s)
{
    nmi_svc *v = s->svc;
    if (v == NULL)
        return;
    free(v->watches);
    free(v->conns);
    free(v->bound);
    free(v->ads);
    free(v);
    s->svc = NULL;
}

static int svc_wait_peers(nmi_sock *s, int n, int timeout_ms)
{
    uint64_t deadline = timeout_ms >= 0 ? nmi_clock_ns() + (uint64_t)timeout_ms * 1000000u : 0;
    for (;;) {
        if (atomic_load_explicit(&s->cmds.pending, memory_order_relaxed))
            nmi_sock_process(s);
        int live = 0;
        nmi_pipe *p;
        TAILQ_FOREACH(p, &s->pipes, sock_entry)
        {
            live += atomic_load(&p->state) == NM_PIPE_ACTIVE;
        }
        if (live >= n)
            return live;
        /* Handshakes finish on the I/O thread without telling the socket: look again
         * every few milliseconds, sooner when a command (a new pipe) arrives. */
        uint64_t now = nmi_clock_ns(), slice = now + 5000000u;
        if (deadline != 0 && now >= deadline)
            return -EAGAIN;
        int rc = nmi_sock_wait(s, deadline != 0 && deadline < slice ? deadline : slice);
        if (rc < 0 && rc != -EAGAIN)
            return rc;
    }
}

/* The public calls, bracketed (nmi_sock_enter): NM_ETERM once the context is shut down,
 * and never closed under by nm_ctx_destroy while they run. */
int nm_sock_advertise(nm_sock_t *sp, const char *name)
{
    nmi_sock *s = (nmi_sock *)sp;
    return NMI_SOCK_CALL(s, svc_advertise_all(s, name));
}

int nm_sock_wait_peers(nm_sock_t *sp, int n, int timeout_ms)
{
    nmi_sock *s = (nmi_sock *)sp;
    return NMI_SOCK_CALL(s, svc_wait_peers(s, n, timeout_ms));
}
