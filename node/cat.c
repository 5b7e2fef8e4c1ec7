/*
 * cat.c - `nomid cat`: speak any socket type from a shell.  With the options parsed
 * (cat_args.c), it opens one socket on a private context, binds and connects it, then
 * either sends the message given with --data or each line of stdin (--stdin; REQ also
 * waits for and prints each reply) or receives and prints messages, echoing them back
 * with --echo.  A sub subscribes through NM_SUBSCRIBE, an xsub by sending 0x01+prefix
 * messages; pub/xpub send like any sending type, and an xpub without a message prints
 * the subscriptions it receives.
 * Every blocking call uses a short timeout so that SIGINT/SIGTERM and --timeout are
 * noticed within ~100 ms.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "admin_run.h"
#include "args.h"
#include "cat.h"
#include "cat_input.h"
#include "curve.h"
#include "dlog.h"
#include "endpoint.h"
#include "commands.h"
#include "format.h"
#include "log.h"
#include "nomid.h"
#include "resolver.h"
#include "stop.h"

/* How often a ROUTER retries a send to a routing id that is not connected yet. */
#define CAT_UNREACH_RETRY_MS 10
/* How long a svc:// connect may find no instance before cat says what it searched. */
#define CAT_SVC_QUIET_S 5

/* A running cat. */
struct cat {
    const struct cat_opts *o; /* the options */
    nm_ctx_t *ctx;            /* private context */
    nm_sock_t *sock;          /* the one socket */
    nmd_agent *agent;         /* the embedded node's discovery, or NULL */
    nma_server *admin;        /* its admin endpoint (--admin), or NULL */
    nmd_zap_allow *zap;       /* --curve-allow's ZAP handler, or NULL */
    uint64_t last_ns;         /* start or last message sent/received, for --timeout */
    uint64_t start_ns;        /* when the socket was attached */
    bool svc_reported;        /* cat_svc_report warned already */
    struct cat_input in;      /* stdin's lines (--stdin) */
};

static void cat_count_cb(void *arg, const nmd_peer *p, const nmd_service *s)
{
    (void)p;
    (void)s;
    (*(int *)arg)++;
}

/* Says, for each svc:// name connected that has no instance, what was searched: once
 * as a warning when CAT_SVC_QUIET_S passed without one, and as an error when cat gives
 * up (--timeout). */
static void cat_svc_report(struct cat *c, int level)
{
    double waited = (double)(nm_clock_ns() - c->start_ns) / 1e9;
    for (int i = 0; c->agent != NULL && i < c->o->neps; i++) {
        const struct cat_endpoint *ep = &c->o->eps[i];
        int n = 0;
        if (ep->bind || strncmp(ep->endpoint, "svc://", 6) != 0)
            continue;
        nmd_agent_resolve(c->agent, ep->endpoint + 6, cat_count_cb, &n);
        if (n > 0)
            continue;
        char what[512];
        disc_describe(c->agent, waited, what, sizeof(what));
        log_msg(level, "cat", "%s: no instance found%s: %s", ep->endpoint,
                level == NM_LOG_WARN ? " yet (still looking)" : "", what);
    }
}

/* After a send or receive found nothing to do: time to stop or time out? */
static enum cat_rc cat_idle(struct cat *c, const char *what)
{
    if (stop_requested())
        return CAT_STOP;
    uint64_t now = nm_clock_ns();
    if (c->o->timeout_ms >= 0 && now - c->last_ns >= (uint64_t)c->o->timeout_ms * 1000000u) {
        log_msg(NM_LOG_ERROR, "cat", "timeout: nothing %s for %.3f s", what,
                c->o->timeout_ms / 1000.0);
        cat_svc_report(c, NM_LOG_ERROR);
        return CAT_TIMEOUT;
    }
    if (!c->svc_reported && now - c->start_ns >= CAT_SVC_QUIET_S * 1000000000ull) {
        c->svc_reported = true;
        cat_svc_report(c, NM_LOG_WARN);
    }
    return CAT_OK;
}

/* Sends *m, retrying on SNDTIMEO (and, for a ROUTER, while the peer is not connected
 * yet) until it leaves, a signal arrives or --timeout passes.  Leaves *m empty on
 * success, untouched otherwise. */
static enum cat_rc cat_send(struct cat *c, nm_msg_t *m)
{
    for (;;) {
        int rc = nm_sock_send(c->sock, m, 0);
        if (rc >= 0) {
            c->last_ns = nm_clock_ns();
            return CAT_OK;
        }
        if (rc == -EHOSTUNREACH)
            stop_sleep_ms(CAT_UNREACH_RETRY_MS);
        else if (rc != -EAGAIN && rc != -EINTR) {
            log_msg(NM_LOG_ERROR, "cat", "send failed: %s", nm_strerror(rc));
            return CAT_FAIL;
        }
        enum cat_rc r = cat_idle(c, "sent");
        if (r != CAT_OK)
            return r;
    }
}

/* Receives into the empty *m, polling as cat_send does. */
static enum cat_rc cat_recv(struct cat *c, nm_msg_t *m)
{
    for (;;) {
        int rc = nm_sock_recv(c->sock, m, 0);
        if (rc >= 0) {
            c->last_ns = nm_clock_ns();
            return CAT_OK;
        }
        if (rc != -EAGAIN && rc != -EINTR) {
            log_msg(NM_LOG_ERROR, "cat", "receive failed: %s", nm_strerror(rc));
            return CAT_FAIL;
        }
        enum cat_rc r = cat_idle(c, "received");
        if (r != CAT_OK)
            return r;
    }
}

static enum cat_rc cat_print(struct cat *c, const nm_msg_t *m)
{
    int rc = format_msg_print(stdout, m, c->o->format);
    if (rc == -EPIPE)
        return CAT_STOP; /* the reader of our stdout left: nothing more to do */
    if (rc < 0) {
        log_msg(NM_LOG_ERROR, "cat", "cannot write to stdout: %s", nm_strerror(rc));
        return CAT_FAIL;
    }
    return CAT_OK;
}

/* Reads the next line of stdin into *m (--stdin); *eof at the end of input.  A line
 * that is not a message is a usage error, after the messages before it have left. */
static enum cat_rc cat_read(struct cat *c, nm_msg_t *m, bool *eof)
{
    char err[512];

    for (;;) {
        int rc = cat_input_next(&c->in, STDIN_FILENO, c->o->format, m, err, sizeof err);
        if (rc > 0)
            return CAT_OK;
        *eof = rc == 0;
        if (rc == 0)
            return CAT_OK;
        if (rc != -EAGAIN) {
            log_msg(NM_LOG_ERROR, "cat", "%s", err);
            return rc == -EINVAL ? CAT_USAGE : CAT_FAIL;
        }
        enum cat_rc r = cat_idle(c, "sent");
        if (r != CAT_OK)
            return r;
    }
}

/* Builds the message given with --data/--hex-data, or read from stdin, into *m. */
static enum cat_rc cat_build(struct cat *c, nm_msg_t *m, bool *eof)
{
    nm_msg_init(m);
    if (c->o->stdin_input)
        return cat_read(c, m, eof);
    for (int i = 0; i < c->o->nframes; i++) {
        int rc = nm_msg_add(m, c->o->frames[i].data, c->o->frames[i].size);
        if (rc < 0) {
            nm_msg_close(m);
            log_msg(NM_LOG_ERROR, "cat", "cannot build the message: %s", nm_strerror(rc));
            return CAT_FAIL;
        }
    }
    return CAT_OK;
}

static enum cat_rc cat_setopt(struct cat *c, int opt, const char *name, int val)
{
    int rc = nm_sock_setopt_int(c->sock, opt, val);
    if (rc < 0) {
        log_msg(NM_LOG_ERROR, "cat", "cannot set %s: %s", name, nm_strerror(rc));
        return CAT_FAIL;
    }
    return CAT_OK;
}

static enum cat_rc cat_set_options(struct cat *c)
{
    const struct cat_opts *o = c->o;
    enum cat_rc rc = CAT_OK;

    if (o->identity != NULL) {
        int err = nm_sock_setopt(c->sock, NM_ROUTING_ID, o->identity, strlen(o->identity));
        if (err < 0) {
            log_msg(NM_LOG_ERROR, "cat", "cannot set --identity: %s", nm_strerror(err));
            return CAT_FAIL;
        }
    }
    if (rc == CAT_OK && o->sndhwm >= 0)
        rc = cat_setopt(c, NM_SNDHWM, "--sndhwm", o->sndhwm);
    if (rc == CAT_OK && o->rcvhwm >= 0)
        rc = cat_setopt(c, NM_RCVHWM, "--rcvhwm", o->rcvhwm);
    if (rc == CAT_OK)
        rc = cat_setopt(c, NM_LINGER, "--linger", o->linger_ms);
    if (rc == CAT_OK)
        rc = cat_setopt(c, NM_SNDTIMEO, "SNDTIMEO", STOP_POLL_MS);
    if (rc == CAT_OK)
        rc = cat_setopt(c, NM_RCVTIMEO, "RCVTIMEO", STOP_POLL_MS);
    if (rc == CAT_OK && o->heartbeat_ms > 0)
        rc = cat_setopt(c, NM_HEARTBEAT_IVL, "--heartbeat", o->heartbeat_ms);
    if (rc == CAT_OK && o->heartbeat_ms > 0)
        rc = cat_setopt(c, NM_HEARTBEAT_TIMEOUT, "--heartbeat", o->heartbeat_ms);
    if (rc == CAT_OK && o->heartbeat_ms > 0)
        rc = cat_setopt(c, NM_HEARTBEAT_TTL, "--heartbeat", 3 * o->heartbeat_ms);
    /* A ROUTER that sends must learn that the peer is not connected yet, to retry. */
    if (rc == CAT_OK && o->type == NM_ROUTER && o->sends)
        rc = cat_setopt(c, NM_ROUTER_MANDATORY, "ROUTER_MANDATORY", 1);
    return rc;
}

/* Binds or connects one endpoint; a malformed endpoint is a usage error. */
static enum cat_rc cat_attach(struct cat *c, const struct cat_endpoint *ep)
{
    int rc = endpoint_attach(c->sock, ep->endpoint, ep->bind, "cat");
    return rc == 0 ? CAT_OK : endpoint_exit_code(rc) == NODE_EXIT_USAGE ? CAT_USAGE : CAT_FAIL;
}

/* Subscribes a sub/xsub socket to one prefix, or cancels one such subscription. */
static enum cat_rc cat_subscribe(struct cat *c, const char *prefix, bool on)
{
    nm_msg_t m;
    size_t len = strlen(prefix);

    if (c->o->type == NM_SUB) {
        int rc = nm_sock_setopt(c->sock, on ? NM_SUBSCRIBE : NM_UNSUBSCRIBE, prefix, len);
        if (rc < 0) {
            log_msg(NM_LOG_ERROR, "cat", "cannot %s '%s': %s", on ? "subscribe to" : "unsubscribe",
                    prefix, nm_strerror(rc));
            return CAT_FAIL;
        }
        return CAT_OK;
    }
    /* An XSUB subscribes by sending 0x01 followed by the prefix, cancels with 0x00. */
    nm_msg_init(&m);
    void *data;
    if (nm_msg_add_alloc(&m, len + 1, &data) < 0) {
        log_msg(NM_LOG_ERROR, "cat", "out of memory");
        return CAT_FAIL;
    }
    ((unsigned char *)data)[0] = on ? 1 : 0;
    memcpy((unsigned char *)data + 1, prefix, len);
    enum cat_rc rc = cat_send(c, &m);
    nm_msg_close(&m);
    return rc;
}

/* True when cat must embed a node: --advertise, a svc:// endpoint or --admin. */
static bool cat_needs_node(const struct cat_opts *o)
{
    bool svc = o->advertise != NULL || (o->disc.admin[0] != '\0' && !o->disc.admin_off);
    for (int i = 0; i < o->neps; i++)
        svc |= strncmp(o->eps[i].endpoint, "svc://", 6) == 0;
    return svc;
}

/* Starts discovery and makes it the context's svc:// resolver. */
static enum cat_rc cat_start_node(struct cat *c)
{
    nmd_log_set_level(c->o->log_level);
    int rc = nmd_agent_start(&c->agent, &c->o->disc.cfg);
    if (rc < 0) {
        log_msg(NM_LOG_ERROR, "cat", "cannot start discovery: %s", nm_strerror(rc));
        return rc == -ENODEV ? CAT_USAGE : CAT_FAIL;
    }
    nmd_resolver_attach(c->agent, c->ctx);
    switch (admin_run(&c->admin, &c->o->disc, false, c->ctx, c->agent)) {
    case NODE_EXIT_OK:
        return CAT_OK;
    case NODE_EXIT_USAGE:
        return CAT_USAGE;
    default:
        return CAT_FAIL;
    }
}

static enum cat_rc cat_open(struct cat *c)
{
    const struct cat_opts *o = c->o;

    int rc = nm_ctx_new(&c->ctx);
    if (rc < 0) {
        log_msg(NM_LOG_ERROR, "cat", "cannot create a context: %s", nm_strerror(rc));
        return CAT_FAIL;
    }
    nm_ctx_set_log(c->ctx, log_stderr_cb, NULL, o->log_level);
    enum cat_rc r = cat_needs_node(o) ? cat_start_node(c) : CAT_OK;
    if (r == CAT_OK && curve_start(&o->disc, c->ctx, &c->zap) < 0)
        r = CAT_USAGE;
    if (r != CAT_OK)
        return r;
    rc = nm_sock_new(&c->sock, c->ctx, o->type);
    if (rc < 0) {
        log_msg(NM_LOG_ERROR, "cat", "socket type %s is not supported: %s", o->type_name,
                nm_strerror(rc));
        return CAT_USAGE;
    }
    bool binds = false;
    for (int i = 0; i < o->neps; i++)
        binds |= o->eps[i].bind;
    r = curve_apply(&o->disc, c->sock, binds) < 0 ? CAT_FAIL : cat_set_options(c);
    for (int i = 0; r == CAT_OK && i < o->neps; i++)
        r = cat_attach(c, &o->eps[i]);
    if (r == CAT_OK && o->advertise != NULL &&
        (rc = nm_sock_advertise(c->sock, o->advertise)) < 0) {
        log_msg(NM_LOG_ERROR, "cat", "cannot advertise %s: %s", o->advertise, nm_strerror(rc));
        r = CAT_FAIL;
    }
    c->last_ns = c->start_ns = nm_clock_ns();
    bool subscribing = o->type == NM_SUB || (o->type == NM_XSUB && !o->sends);
    c->in.min_frames = o->type == NM_ROUTER || o->type == NM_STREAM ? 2 : 1;
    if (r == CAT_OK && subscribing && o->nsubs == 0)
        r = cat_subscribe(c, "", true);
    for (int i = 0; r == CAT_OK && i < o->nsubs; i++)
        r = cat_subscribe(c, o->subs[i], true);
    for (int i = 0; r == CAT_OK && i < o->nunsubs; i++)
        r = cat_subscribe(c, o->unsubs[i], false);
    return r;
}

/* Sends the message -n times, or each line of stdin (at most -n), --interval apart;
 * REQ also prints each reply. */
static enum cat_rc cat_run_send(struct cat *c)
{
    long long n = c->o->count;
    if (n < 0)
        n = c->o->interval_ms >= 0 || c->o->stdin_input ? -1 : 1;

    for (long long i = 0; n < 0 || i < n; i++) {
        if (i > 0 && c->o->interval_ms > 0) {
            stop_sleep_ms(c->o->interval_ms);
            c->last_ns = nm_clock_ns(); /* --timeout counts from this send */
        }
        if (stop_requested())
            return CAT_STOP;
        nm_msg_t m;
        bool eof = false;
        enum cat_rc rc = cat_build(c, &m, &eof);
        if (rc == CAT_OK && eof)
            return CAT_OK;
        if (rc == CAT_OK)
            rc = cat_send(c, &m);
        nm_msg_close(&m);
        if (rc == CAT_OK && c->o->type == NM_REQ) {
            rc = cat_recv(c, &m);
            if (rc == CAT_OK)
                rc = cat_print(c, &m);
            nm_msg_close(&m);
        }
        if (rc != CAT_OK)
            return rc;
    }
    return CAT_OK;
}

/* Receives -n messages (default: until stopped), printing and maybe echoing each. */
static enum cat_rc cat_run_recv(struct cat *c)
{
    long long n = c->o->count;

    for (long long i = 0; n < 0 || i < n; i++) {
        if (stop_requested())
            return CAT_STOP;
        nm_msg_t m;
        nm_msg_init(&m);
        enum cat_rc rc = cat_recv(c, &m);
        if (rc == CAT_OK)
            rc = cat_print(c, &m);
        /* A ROUTER's message starts with the sender's routing id: it goes back there. */
        if (rc == CAT_OK && c->o->echo)
            rc = cat_send(c, &m);
        nm_msg_close(&m);
        if (rc != CAT_OK)
            return rc;
    }
    return CAT_OK;
}

/* Closes the socket (which withdraws what it advertised), stops discovery (a goodbye)
 * and destroys the context, which waits up to LINGER for queued messages; after a
 * failure nothing is worth waiting for (after a bad line of stdin, the messages of the
 * lines before it are). */
static void cat_close(struct cat *c, enum cat_rc rc)
{
    cat_input_fini(&c->in);
    if (c->sock != NULL && rc != CAT_OK && rc != CAT_STOP && rc != CAT_USAGE)
        nm_sock_setopt_int(c->sock, NM_LINGER, 0);
    if (c->sock != NULL)
        nm_sock_close(&c->sock);
    nmd_zap_allow_stop(&c->zap);
    nma_stop(&c->admin);
    nmd_agent_stop(&c->agent);
    if (c->ctx != NULL)
        nm_ctx_destroy(&c->ctx);
}

int cat_main(int argc, char **argv)
{
    struct cat_opts o;
    struct cat c;

    memset(&o, 0, sizeof o);
    memset(&c, 0, sizeof c);
    c.o = &o;
    enum cat_rc rc = cat_opts_parse(&o, argc, argv);
    if (rc == CAT_STOP) { /* --help */
        cat_opts_free(&o);
        return NODE_EXIT_OK;
    }
    if (rc == CAT_OK)
        rc = cat_open(&c);
    if (rc == CAT_OK)
        rc = o.sends ? cat_run_send(&c) : cat_run_recv(&c);
    cat_close(&c, rc);
    cat_opts_free(&o);

    switch (rc) {
    case CAT_OK:
    case CAT_STOP:
        return NODE_EXIT_OK;
    case CAT_TIMEOUT:
        return NODE_EXIT_TIMEOUT;
    case CAT_USAGE:
        return NODE_EXIT_USAGE;
    default:
        return NODE_EXIT_FAIL;
    }
}
