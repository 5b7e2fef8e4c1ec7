/*
 * secure.c - a member program's binds and connects in a fleet with certificates (see
 * secure.h), and nomid_member_endpoint, the drop-in's way in (member.h).
 *
 * Shared state: curve_cur, the settings of the one member context, under curve_lock.
 * member_secure_start (in attach) sets it, member_secure_stop (in term) takes it out and
 * ends what it holds outside the lock; member_secure_endpoint, on any application
 * thread, reads it, starts the ZAP handler and sets a socket's options under the lock,
 * then binds or connects without it (a bind may wait on the agent and the event hook).
 * curve_binding and curve_bind_pub are thread-local: set and cleared around one
 * nm_sock_bind by the thread that makes it, and read by the event hook on that same
 * thread inside that call (the core raises LISTENING in the bind, on the caller's thread).
 */
#include "secure.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

#include "curve.h"
#include "log.h"
#include "member.h"
#include "zap_allow.h"

/* The certificate settings of the member context. */
typedef struct member_curve {
    nm_ctx_t *ctx;                               /* the member context */
    nmd_cert cert;                               /* NOMID_CURVE_CERT, with its secret key */
    char allow[sizeof(((disc_opts *)0)->allow)]; /* NOMID_CURVE_ALLOW, or "" */
    member_spec specs[MEMBER_SPEC_MAX];          /* the binds to advertise (made CURVE servers) */
    int nspecs;                                  /* their count */
    nmd_zap_allow *zap;                          /* the allow list's handler, once started */
    bool zap_decided;                            /* a CURVE bind came: zap runs, or the program's */
} member_curve;

/* What member_secure_endpoint does around a bind or connect. */
enum curve_plan {
    CURVE_AS_IS,  /* nothing: not a socket or endpoint of ours */
    CURVE_SERVE,  /* a CURVE server for this bind, NULL again after it */
    CURVE_CLIENT, /* the certificate's pair for the svc:// instances' CURVE connections */
    CURVE_CHECK,  /* as is, but warn if the bind turns out to be one to advertise */
};

static pthread_mutex_t curve_lock = PTHREAD_MUTEX_INITIALIZER;
static member_curve *curve_cur; /* under curve_lock: the settings, or NULL */

static _Thread_local bool curve_binding;         /* a CURVE bind is under way here */
static _Thread_local uint8_t curve_bind_pub[32]; /* ... with this public key */

int member_secure_start(nm_ctx_t *ctx, const disc_opts *o, const member_spec *specs, int nspecs)
{
    if (curve_check(o) < 0)
        return -EINVAL;
    if (!o->has_cert)
        return 0;
    member_curve *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return -ENOMEM;
    c->ctx = ctx;
    c->cert = o->cert;
    strlcpy(c->allow, o->allow, sizeof(c->allow));
    c->nspecs = nspecs < MEMBER_SPEC_MAX ? nspecs : MEMBER_SPEC_MAX;
    memcpy(c->specs, specs, (size_t)c->nspecs * sizeof(*specs));
    pthread_mutex_lock(&curve_lock);
    curve_cur = c;
    pthread_mutex_unlock(&curve_lock);
    return 0;
}

void member_secure_stop(void)
{
    pthread_mutex_lock(&curve_lock);
    member_curve *c = curve_cur;
    curve_cur = NULL;
    pthread_mutex_unlock(&curve_lock);
    if (c == NULL)
        return;
    nmd_zap_allow_stop(&c->zap);
    nmd_cert_wipe(&c->cert);
    free(c);
}

const uint8_t *member_secure_bind_key(void)
{
    return curve_binding ? curve_bind_pub : NULL;
}

static bool curve_advertised(const member_curve *c, const char *endpoint)
{
    for (int i = 0; i < c->nspecs; i++)
        if (member_spec_match(&c->specs[i], endpoint))
            return true;
    return false;
}

/* The allow list's handler, at the first CURVE bind (c locked).  0, or the error that
 * stops the bind: a server the allow list should guard is never opened unguarded. */
static int curve_zap(member_curve *c)
{
    if (c->zap_decided)
        return 0;
    c->zap_decided = true;
    if (c->allow[0] == '\0') {
        log_msg(NM_LOG_WARN, "curve",
                "NOMID_CURVE_CERT without NOMID_CURVE_ALLOW: every CURVE client is admitted");
        return 0;
    }
    char err[512];
    int rc = nmd_zap_allow_start(&c->zap, c->ctx, c->allow, err, sizeof(err));
    if (rc == -EADDRINUSE) {
        log_msg(NM_LOG_INFO, "curve",
                "the program runs a ZAP handler of its own: it decides who is admitted, not "
                "NOMID_CURVE_ALLOW");
        rc = 0;
    } else if (rc < 0) {
        log_msg(NM_LOG_ERROR, "curve", "NOMID_CURVE_ALLOW: %s", err);
        c->zap_decided = false; /* the next CURVE bind tries again */
    }
    return rc;
}

/* The certificate's keys on s, as a server or not (c locked). */
static int curve_keys(const member_curve *c, nm_sock_t *s, bool server)
{
    int rc = nm_sock_setopt(s, NM_CURVE_PUBLICKEY, c->cert.public_key, NMD_CERT_KEY_LEN);
    if (rc == 0)
        rc = nm_sock_setopt(s, NM_CURVE_SECRETKEY, c->cert.secret_key, NMD_CERT_KEY_LEN);
    if (rc == 0)
        rc = nm_sock_setopt_int(s, NM_CURVE_SERVER, server);
    return rc;
}

/* Decides and sets s's options for the bind or connect (secure.h). */
static int curve_prepare(nm_sock_t *s, const char *endpoint, bool bind, enum curve_plan *plan)
{
    static const char *const mechs[] = {"NULL", "PLAIN", "CURVE"};
    *plan = CURVE_AS_IS;
    pthread_mutex_lock(&curve_lock);
    member_curve *c = curve_cur;
    bool svc = strncmp(endpoint, "svc://", 6) == 0;
    int mech = NM_MECH_NULL, rc = 0;
    if (c == NULL || (!svc && !bind) || nm_sock_getopt_int(s, NM_MECHANISM, &mech) < 0) {
        /* not ours; a socket that cannot answer fails the call itself */
    } else if (!svc && !curve_advertised(c, endpoint)) {
        *plan = mech == NM_MECH_NULL ? CURVE_CHECK : CURVE_AS_IS;
    } else if (mech != NM_MECH_NULL) {
        log_msg(NM_LOG_INFO, "curve", "%s %s: the program chose %s on this socket: left as is%s",
                bind ? "bind" : "connect", endpoint,
                mech >= 0 && mech <= NM_MECH_CURVE ? mechs[mech] : "a mechanism",
                bind && !svc ? " (advertised without a key)" : "");
    } else if (!bind) {
        /* The keys stay on the socket for instances found later; CURVE_SERVER 0 puts its
         * mechanism back to NULL (secure.h). */
        if ((rc = curve_keys(c, s, false)) == 0)
            *plan = CURVE_CLIENT;
    } else if ((rc = curve_zap(c)) == 0 && (rc = curve_keys(c, s, true)) == 0) {
        memcpy(curve_bind_pub, c->cert.public_key, sizeof(curve_bind_pub));
        *plan = CURVE_SERVE;
    }
    pthread_mutex_unlock(&curve_lock);
    if (rc < 0 && rc != NM_ETERM)
        log_msg(NM_LOG_ERROR, "curve", "%s: cannot use NOMID_CURVE_CERT: %s", endpoint,
                nm_strerror(rc));
    return rc;
}

/* A bind left as is that turns out to be one to advertise: served in clear. */
static void curve_check_bound(nm_sock_t *s)
{
    char ep[256];
    size_t len = sizeof(ep);
    if (nm_sock_getopt(s, NM_LAST_ENDPOINT, ep, &len) < 0)
        return;
    pthread_mutex_lock(&curve_lock);
    bool missed = curve_cur != NULL && curve_advertised(curve_cur, ep);
    pthread_mutex_unlock(&curve_lock);
    if (missed)
        log_msg(NM_LOG_WARN, "curve",
                "%s is advertised without CURVE: --advertise names it, but not as the program "
                "wrote its bind (give the address, not a host name)",
                ep);
}

int member_secure_endpoint(nm_sock_t *s, const char *endpoint, bool bind)
{
    enum curve_plan plan = CURVE_AS_IS;
    int rc = endpoint != NULL ? curve_prepare(s, endpoint, bind, &plan) : 0; /* NULL: -EINVAL */
    if (rc < 0)
        return rc;
    if (!bind)
        return nm_sock_connect(s, endpoint);
    curve_binding = plan == CURVE_SERVE;
    rc = nm_sock_bind(s, endpoint);
    curve_binding = false;
    if (plan == CURVE_SERVE)
        nm_sock_setopt_int(s, NM_CURVE_SERVER, 0); /* the listener keeps its own copy */
    else if (plan == CURVE_CHECK && rc == 0)
        curve_check_bound(s);
    return rc;
}

int nomid_member_endpoint(nm_sock_t *s, const char *endpoint, bool bind)
{
    return member_secure_endpoint(s, endpoint, bind);
}
