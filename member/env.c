/*
 * env.c - the environment contract's table, and reading it inside the program (see
 * env.h).  nomid exec (node/exec.c) writes the same variables from the same table.
 */
#include "env.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "nomid.h"

/* Sized by its initializer: a row more or less than MEMBER_ENV_NVARS fails to compile. */
const member_env_var member_env_vars[] = {
    {"NOMID_NAME", "name", DISC_OPT_NAME, false, false, false},
    {"NOMID_ADVERTISE", "advertise", MEMBER_OPT_ADVERTISE, true, false, false},
    {"NOMID_JOIN", "join", MEMBER_OPT_JOIN, false, false, false},
    {"NOMID_INTERFACE", "interface", DISC_OPT_IFACE, true, false, false},
    {"NOMID_FLEET", "fleet", DISC_OPT_FLEET, false, false, false},
    {"NOMID_FLEET_KEY_FILE", "fleet-key-file", DISC_OPT_KEY_FILE, false, true, false},
    {"NOMID_BEACON_INTERVAL", "beacon-interval", DISC_OPT_INTERVAL, false, false, false},
    {"NOMID_BEACON_EXPIRY", "beacon-expiry", DISC_OPT_EXPIRY, false, false, false},
    {"NOMID_DISCOVERY", "discovery", DISC_OPT_BACKEND, true, false, false},
    {"NOMID_ETCD_PREFIX", "etcd-prefix", DISC_OPT_ETCD_PREFIX, false, false, false},
    {"NOMID_ADMIN", "admin", DISC_OPT_ADMIN, false, false, false},
    {"NOMID_ADMIN_TOKEN_FILE", "admin-token-file", DISC_OPT_ADMIN_TOKEN, false, true, false},
    {"NOMID_ADMIN_TLS_CERT", "admin-tls-cert", DISC_OPT_ADMIN_TLS_CERT, false, true, false},
    {"NOMID_ADMIN_TLS_KEY", "admin-tls-key", DISC_OPT_ADMIN_TLS_KEY, false, true, false},
    {"NOMID_ADMIN_TLS_CA", "admin-tls-ca", DISC_OPT_ADMIN_TLS_CA, false, true, false},
    {"NOMID_CURVE_CERT", "curve-cert", DISC_OPT_CURVE_CERT, false, true, false},
    {"NOMID_CURVE_ALLOW", "curve-allow", DISC_OPT_CURVE_ALLOW, false, true, false},
    {"NOMID_CURVE_TRUST_UNSIGNED_KEYS", "curve-trust-unsigned-keys", DISC_OPT_CURVE_TRUST, false,
     false, true},
};
const size_t member_env_nvars = MEMBER_ENV_NVARS;

int member_join_parse(const char *value, bool *self)
{
    if (strcmp(value, "auto") != 0 && strcmp(value, "self") != 0) {
        log_msg(NM_LOG_ERROR, "member", "--join '%s': auto or self", value);
        return -EINVAL;
    }
    *self = strcmp(value, "self") == 0;
    return 0;
}

/* Takes one value of variable v (a list's entry): through the flag's own check. */
static int env_take(member_env *e, const member_env_var *v, const char *value)
{
    if (v->code == MEMBER_OPT_JOIN)
        return member_join_parse(value, &e->join_self);
    if (v->bare && strcmp(value, "1") != 0)
        return -EINVAL;
    if (v->code != MEMBER_OPT_ADVERTISE)
        return disc_opt(&e->opts, v->code, value) > 0 ? 0 : -EINVAL;
    const char *why = "at most 16";
    if (e->nspecs < MEMBER_SPEC_MAX && member_spec_parse(value, &e->specs[e->nspecs], &why) == 0) {
        e->nspecs++;
        return 0;
    }
    log_msg(NM_LOG_ERROR, "member", "--advertise '%s': %s", value, why);
    return -EINVAL;
}

/* A list's value: each comma-separated entry, copied into e->strings (disc_opts keeps
 * pointers to interface specs and backend URLs). */
static int env_take_list(member_env *e, const member_env_var *v, const char *value)
{
    size_t len = strlen(value);
    if (len + 1 > sizeof(e->strings) - e->used)
        return -EINVAL;
    char *copy = e->strings + e->used;
    memcpy(copy, value, len + 1);
    e->used += len + 1;
    for (char *entry = copy, *comma; entry != NULL; entry = comma ? comma + 1 : NULL) {
        if ((comma = strchr(entry, ',')) != NULL)
            *comma = '\0';
        if (entry[0] == '\0') {
            log_msg(NM_LOG_ERROR, "member", "%s: an empty entry", v->var);
            return -EINVAL;
        }
        if (env_take(e, v, entry) < 0)
            return -EINVAL;
    }
    return 0;
}

int member_env_read(member_env *e)
{
    memset(e, 0, sizeof(*e));
    disc_opts_init(&e->opts);
    for (size_t i = 0; i < member_env_nvars; i++) {
        const member_env_var *v = &member_env_vars[i];
        const char *value = getenv(v->var);
        if (value == NULL || value[0] == '\0')
            continue;
        int rc = strnlen(value, MEMBER_ENV_MAX) == MEMBER_ENV_MAX ? -EINVAL
                 : v->list                                        ? env_take_list(e, v, value)
                                                                  : env_take(e, v, value);
        if (rc < 0) {
            log_msg(NM_LOG_ERROR, "member",
                    "%s is not a value --%s takes (under %d bytes; lists: comma-separated; "
                    "a flag without a value: 1); not joining the fleet",
                    v->var, v->flag, MEMBER_ENV_MAX);
            return -EINVAL;
        }
    }
    return 0;
}
