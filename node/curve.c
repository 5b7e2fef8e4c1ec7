/*
 * curve.c - the --curve-* flags in a context and a socket (see curve.h).
 */
#include "curve.h"
#include "log.h"

static void curve_admitting(const disc_opts *d, int n)
{
    log_msg(NM_LOG_INFO, "curve", "admitting the holders of %d certificate%s in %s", n,
            n == 1 ? "" : "s", d->allow);
}

static int curve_pair_check(const disc_opts *d)
{
    if (d->allow[0] == '\0' || d->has_cert)
        return 0;
    log_msg(NM_LOG_ERROR, "curve", "--curve-allow needs --curve-cert (a server needs a key)");
    return -1;
}

int curve_check(const disc_opts *d)
{
    if (curve_pair_check(d) < 0)
        return -1;
    if (d->allow[0] == '\0')
        return 0;
    nmd_cert_list l = {0};
    char err[512];
    int n = nmd_cert_dir_load(&l, d->allow, NULL, NULL, err, sizeof(err));
    nmd_cert_list_fini(&l);
    if (n < 0) {
        log_msg(NM_LOG_ERROR, "curve", "--curve-allow: %s", err);
        return -1;
    }
    curve_admitting(d, n);
    return 0;
}

int curve_start(const disc_opts *d, nm_ctx_t *ctx, nmd_zap_allow **zp)
{
    if (curve_pair_check(d) < 0)
        return -1;
    if (d->allow[0] == '\0')
        return 0;
    char err[512];
    if (nmd_zap_allow_start(zp, ctx, d->allow, err, sizeof(err)) < 0) {
        log_msg(NM_LOG_ERROR, "curve", "--curve-allow: %s", err);
        return -1;
    }
    curve_admitting(d, nmd_zap_allow_count(*zp));
    return 0;
}

int curve_apply(const disc_opts *d, nm_sock_t *s, bool server)
{
    if (!d->has_cert)
        return 0;
    int rc = nm_sock_setopt(s, NM_CURVE_PUBLICKEY, d->cert.public_key, NMD_CERT_KEY_LEN);
    if (rc == 0)
        rc = nm_sock_setopt(s, NM_CURVE_SECRETKEY, d->cert.secret_key, NMD_CERT_KEY_LEN);
    if (rc == 0 && server)
        rc = nm_sock_setopt_int(s, NM_CURVE_SERVER, 1);
    if (rc < 0) {
        log_msg(NM_LOG_ERROR, "curve", "cannot use --curve-cert: %s", nm_strerror(rc));
        return -1;
    }
    if (server && d->allow[0] == '\0')
        log_msg(NM_LOG_WARN, "curve",
                "--curve-cert without --curve-allow: every CURVE client is admitted");
    return 0;
}
