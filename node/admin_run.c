/*
 * admin_run.c - starting a command's admin endpoint (see admin_run.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "admin_run.h"
#include "args.h"
#include "log.h"

/* Reads --admin-tls-cert, --admin-tls-key and --admin-tls-ca: *tls and *ca stay
 * NULL when not given.  A NODE_EXIT_* code (the problem logged). */
static int admin_tls(const disc_opts *o, nma_tls *tls, bool *serve, char **ca, size_t *ca_len)
{
    char err[512];
    *serve = false;
    if ((o->tls_cert[0] != '\0') != (o->tls_key[0] != '\0')) {
        log_msg(NM_LOG_ERROR, "admin",
                "--admin-tls-cert and --admin-tls-key go together (config: admin_tls_cert and "
                "admin_tls_key): give both to serve HTTPS, or neither");
        return NODE_EXIT_USAGE;
    }
    if (o->tls_cert[0] != '\0') {
        if (!nma_tls_supported()) {
            log_msg(NM_LOG_ERROR, "admin",
                    "this libmicrohttpd was built without TLS: the admin endpoint cannot serve "
                    "HTTPS (--admin-tls-cert)");
            return NODE_EXIT_FAIL;
        }
        if (nma_tls_load(tls, o->tls_cert, o->tls_key, err, sizeof(err)) < 0) {
            log_msg(NM_LOG_ERROR, "admin", "HTTPS: %s", err);
            return NODE_EXIT_USAGE;
        }
        *serve = true;
    }
    if (o->tls_ca[0] != '\0' && nma_tls_ca_load(o->tls_ca, ca, ca_len, err, sizeof(err)) < 0) {
        log_msg(NM_LOG_ERROR, "admin", "--admin-tls-ca: %s", err);
        nma_tls_fini(tls);
        *serve = false;
        return NODE_EXIT_USAGE;
    }
    return NODE_EXIT_OK;
}

int admin_run(nma_server **sp, const disc_opts *o, bool on_by_default, nm_ctx_t *ctx,
              nmd_agent *agent)
{
    *sp = NULL;
    bool given = o->admin[0] != '\0';
    if (o->admin_off || (!given && !on_by_default))
        return NODE_EXIT_OK;
    nma_tls tls = {0};
    char *ca = NULL;
    size_t ca_len = 0;
    bool https;
    int rc = admin_tls(o, &tls, &https, &ca, &ca_len);
    if (rc != NODE_EXIT_OK)
        return rc;
    nma_config cfg = {
        .addr = given ? o->admin : NMA_DEFAULT_ADDR,
        .next_free = !given, /* an explicit address is used as it is */
        .token = o->token[0] != '\0' ? o->token : NULL,
        .ctx = ctx,
        .agent = agent,
        .tls = https ? &tls : NULL,
        .ca = ca,
        .ca_len = ca_len,
        .curve_public = o->curve_key[0] != '\0' ? o->curve_key : NULL,
    };
    rc = nma_start(sp, &cfg);
    nma_tls_fini(&tls); /* the server keeps its own copies */
    free(ca);
    if (rc == -EACCES) {
        log_msg(NM_LOG_ERROR, "admin",
                "--admin %s is not loopback: give --admin-token-file (every request must then "
                "carry the token)",
                cfg.addr);
        return NODE_EXIT_USAGE;
    }
    if (rc < 0) {
        log_msg(NM_LOG_ERROR, "admin", "cannot serve on %s: %s", cfg.addr, nm_strerror(rc));
        return rc == -EINVAL ? NODE_EXIT_USAGE : NODE_EXIT_FAIL;
    }
    fprintf(stderr, "admin %s\n", nma_url(*sp));
    if (https) {
        char pin[NMA_PIN_TEXT_MAX];
        nma_tls_pin_text(nma_tls_pin(*sp), pin);
        log_msg(NM_LOG_INFO, "admin",
                "HTTPS with %s, whose public key is %s (beacons carry it; curl --pinnedpubkey "
                "takes it)",
                o->tls_cert, pin);
    }
    return NODE_EXIT_OK;
}
