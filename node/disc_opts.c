/*
 * disc_opts.c - parsing the shared discovery flags (see disc_opts.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>

#include "args.h"
#include "disc_opts.h"
#include "log.h"
#include "nomid.h"

void disc_opts_init(disc_opts *d)
{
    memset(d, 0, sizeof(*d));
    nmd_agent_config_init(&d->cfg);
}

/* Reads the fleet key: the file's bytes, one trailing newline stripped, >= 32 bytes. */
static int disc_key_file(disc_opts *d, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        log_msg(NM_LOG_ERROR, "discovery", "--fleet-key-file %s: %s", path, strerror(errno));
        return -1;
    }
    size_t n = fread(d->key, 1, sizeof(d->key), f);
    bool more = fgetc(f) != EOF;
    fclose(f);
    if (n > 0 && d->key[n - 1] == '\n')
        n--;
    if (n > 0 && d->key[n - 1] == '\r')
        n--;
    if (more || n < NMD_KEY_MIN) {
        log_msg(NM_LOG_ERROR, "discovery", "--fleet-key-file %s: the key must be %d to %zu bytes",
                path, NMD_KEY_MIN, sizeof(d->key) - 1);
        return -1;
    }
    d->cfg.key = d->key;
    d->cfg.keylen = n;
    return 1;
}

/* --discovery beacon|dnssd|etcd=URL: the first one given replaces the default (beacon). */
static int disc_backend(disc_opts *d, const char *arg)
{
    nmd_agent_config *c = &d->cfg;
    if (!d->backend_given) {
        d->backend_given = true;
        c->beacon = false;
    }
    if (strcmp(arg, "beacon") == 0) {
        c->beacon = true;
        return 1;
    }
    char name[16];
    const char *eq = strchr(arg, '=');
    size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
    const nmd_backend_ops *ops = NULL;
    if (len < sizeof(name)) {
        memcpy(name, arg, len);
        name[len] = '\0';
        ops = nmd_backend_find(name);
    }
    if (ops == NULL || c->nbackends == NMD_BACKEND_MAX ||
        (strcmp(name, "etcd") == 0) != (eq != NULL && eq[1] != '\0')) {
        log_msg(NM_LOG_ERROR, "discovery",
                "--discovery '%s': beacon, dnssd or etcd=URL (at most %d)", arg, NMD_BACKEND_MAX);
        return -1;
    }
    c->backends[c->nbackends].ops = ops;
    c->backends[c->nbackends++].arg = eq ? eq + 1 : NULL;
    return 1;
}

/* Reads the admin token: the file's bytes, one trailing newline stripped, 16 to 255
 * printable bytes (it travels in an HTTP header). */
static int disc_token_file(disc_opts *d, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        log_msg(NM_LOG_ERROR, "admin", "--admin-token-file %s: %s", path, strerror(errno));
        return -1;
    }
    size_t n = fread(d->token, 1, sizeof(d->token) - 1, f);
    bool more = fgetc(f) != EOF;
    fclose(f);
    while (n > 0 && (d->token[n - 1] == '\n' || d->token[n - 1] == '\r'))
        n--;
    d->token[n] = '\0';
    bool printable = n >= 16 && !more;
    for (size_t i = 0; printable && i < n; i++)
        printable = d->token[i] > 0x20 && d->token[i] < 0x7f;
    if (!printable) {
        log_msg(NM_LOG_ERROR, "admin",
                "--admin-token-file %s: the token must be 16 to 255 printable bytes without "
                "spaces",
                path);
        d->token[0] = '\0';
        return -1;
    }
    return 1;
}

/* --admin ADDR:PORT (IPv4 or [IPv6]) or off. */
static int disc_admin(disc_opts *d, const char *arg)
{
    d->admin_off = strcmp(arg, "off") == 0;
    if (d->admin_off)
        return 1;
    const char *colon = strrchr(arg, ':');
    long long port;
    if (colon == NULL || colon == arg || args_count(colon + 1, 1, 65535, &port) != 0 ||
        strlcpy(d->admin, arg, sizeof(d->admin)) >= sizeof(d->admin)) {
        log_msg(NM_LOG_ERROR, "admin", "--admin '%s': ADDR:PORT (e.g. 127.0.0.1:7070) or off", arg);
        d->admin[0] = '\0';
        return -1;
    }
    return 1;
}

/* --admin-tls-cert/-key/-ca FILE: the name, read when admin starts (admin_run.c). */
static int disc_tls_file(char *dst, size_t cap, const char *flag, const char *arg)
{
    if (arg[0] == '\0' || strlcpy(dst, arg, cap) >= cap) {
        log_msg(NM_LOG_ERROR, "admin", "%s '%s': a file name under %zu bytes", flag, arg, cap);
        dst[0] = '\0';
        return -1;
    }
    return 1;
}

/* --curve-cert FILE: a secret certificate, read now so a bad one stops the command. */
static int disc_curve_cert(disc_opts *d, const char *path)
{
    char err[512];
    int rc = nmd_cert_load(&d->cert, path, err, sizeof(err));
    if (rc < 0 || !d->cert.has_secret) {
        if (rc < 0)
            log_msg(NM_LOG_ERROR, "curve", "--curve-cert: %s", err);
        else
            log_msg(NM_LOG_ERROR, "curve", "--curve-cert %s: no secret key (give NAME_secret)",
                    path);
        nmd_cert_wipe(&d->cert);
        return -1;
    }
    d->has_cert = true;
    nm_z85_encode(d->curve_key, d->cert.public_key, NMD_CERT_KEY_LEN);
    return 1;
}

/* --curve-allow DIR: the name, read when the command starts (curve.c). */
static int disc_curve_allow(disc_opts *d, const char *dir)
{
    if (dir[0] == '\0' || strlcpy(d->allow, dir, sizeof(d->allow)) >= sizeof(d->allow)) {
        log_msg(NM_LOG_ERROR, "curve", "--curve-allow '%s': a directory name under %zu bytes", dir,
                sizeof(d->allow));
        d->allow[0] = '\0';
        return -1;
    }
    return 1;
}

int disc_opt(disc_opts *d, int code, const char *arg)
{
    nmd_agent_config *c = &d->cfg;
    int ms;
    long long n;
    switch (code) {
    case DISC_OPT_IFACE:
        if (c->nifaces == NMD_IFACE_MAX || strlen(arg) == 0 || strlen(arg) >= 64) {
            log_msg(NM_LOG_ERROR, "discovery", "--interface '%s': at most %d, names under 64", arg,
                    NMD_IFACE_MAX);
            return -1;
        }
        c->ifaces[c->nifaces++] = arg;
        return 1;
    case DISC_OPT_FLEET:
        if (strlen(arg) == 0 || strlcpy(c->fleet, arg, sizeof(c->fleet)) >= sizeof(c->fleet)) {
            log_msg(NM_LOG_ERROR, "discovery", "--fleet '%s': 1 to %d bytes", arg, NMD_FLEET_MAX);
            return -1;
        }
        return 1;
    case DISC_OPT_KEY_FILE:
        return disc_key_file(d, arg);
    case DISC_OPT_INTERVAL:
        if (args_seconds_ms(arg, &ms) != 0 || ms < 10) {
            log_msg(NM_LOG_ERROR, "discovery", "--beacon-interval '%s': seconds, at least 0.01",
                    arg);
            return -1;
        }
        c->interval_ns = (uint64_t)ms * 1000000u;
        return 1;
    case DISC_OPT_EXPIRY:
        if (args_count(arg, 1, 1000, &n) != 0) {
            log_msg(NM_LOG_ERROR, "discovery", "--beacon-expiry '%s': a count from 1 to 1000", arg);
            return -1;
        }
        c->expiry = (int)n;
        return 1;
    case DISC_OPT_NAME:
        if (strlcpy(c->name, arg, sizeof(c->name)) >= sizeof(c->name)) {
            log_msg(NM_LOG_ERROR, "discovery", "--name '%s': at most %d bytes", arg, NMD_NAME_MAX);
            return -1;
        }
        return 1;
    case DISC_OPT_BACKEND:
        return disc_backend(d, arg);
    case DISC_OPT_ADMIN:
        return disc_admin(d, arg);
    case DISC_OPT_ADMIN_TOKEN:
        return disc_token_file(d, arg);
    case DISC_OPT_ADMIN_TLS_CERT:
        return disc_tls_file(d->tls_cert, sizeof(d->tls_cert), "--admin-tls-cert", arg);
    case DISC_OPT_ADMIN_TLS_KEY:
        return disc_tls_file(d->tls_key, sizeof(d->tls_key), "--admin-tls-key", arg);
    case DISC_OPT_ADMIN_TLS_CA:
        return disc_tls_file(d->tls_ca, sizeof(d->tls_ca), "--admin-tls-ca", arg);
    case DISC_OPT_CURVE_CERT:
        return disc_curve_cert(d, arg);
    case DISC_OPT_CURVE_ALLOW:
        return disc_curve_allow(d, arg);
    case DISC_OPT_CURVE_TRUST:
        c->trust_unsigned_keys = true;
        return 1;
    case DISC_OPT_ETCD_PREFIX:
        if (arg[0] != '/' ||
            strlcpy(c->etcd_prefix, arg, sizeof(c->etcd_prefix)) >= sizeof(c->etcd_prefix)) {
            log_msg(NM_LOG_ERROR, "discovery",
                    "--etcd-prefix '%s': starts with '/', under %d bytes", arg, NMD_PREFIX_MAX);
            return -1;
        }
        return 1;
    default:
        return 0;
    }
}

void disc_opt_reset(disc_opts *d, int code)
{
    if (code == DISC_OPT_IFACE) {
        d->cfg.nifaces = 0;
    } else if (code == DISC_OPT_BACKEND) {
        /* Back to the default (beacon alone) until the next --discovery replaces it. */
        d->backend_given = false;
        d->cfg.beacon = true;
        d->cfg.nbackends = 0;
    }
}

void disc_describe(nmd_agent *a, double seconds, char *buf, size_t cap)
{
    const nmd_agent_config *c = nmd_agent_cfg(a);
    char ifaces[256] = "", backends[128] = "";
    for (int i = 0; i < c->nifaces; i++) {
        if (i > 0)
            strlcat(ifaces, ", ", sizeof(ifaces));
        strlcat(ifaces, c->ifaces[i], sizeof(ifaces));
    }
    if (c->beacon)
        strlcat(backends, "beacon", sizeof(backends));
    for (int i = 0; i < c->nbackends; i++) {
        if (backends[0] != '\0')
            strlcat(backends, ", ", sizeof(backends));
        strlcat(backends, c->backends[i].ops->name, sizeof(backends));
    }
    nmd_agent_stats st;
    nmd_agent_get_stats(a, &st);
    size_t nodes = nmd_agent_peers(a, NULL, NULL);
    snprintf(buf, cap,
             "listened %.1f s on %s (%s), fleet '%s'%s; heard %zu node%s of this fleet (%llu "
             "beacon%s of other fleets)",
             seconds, ifaces, backends, c->fleet,
             c->key != NULL ? ", beacons signed with the fleet key" : "", nodes,
             nodes == 1 ? "" : "s", (unsigned long long)st.foreign, st.foreign == 1 ? "" : "s");
}

void disc_default_name(disc_opts *d, const char *role)
{
    char host[256] = "";
    if (d->cfg.name[0] != '\0')
        return;
    if (gethostname(host, sizeof(host) - 1) < 0 || host[0] == '\0')
        strlcpy(host, "localhost", sizeof(host));
    if (role != NULL)
        snprintf(d->cfg.name, sizeof(d->cfg.name), "%.40s/%s-%ld", host, role, (long)getpid());
    else
        strlcpy(d->cfg.name, host, sizeof(d->cfg.name));
}
