/*
 * config.c - reads `nomid node --config FILE`, a JSON object (jansson), into the same
 * disc_opts and service list the flags fill.  Every value goes through the validator of
 * the flag it stands for (disc_opt, node_service_parse), so the file and the command line
 * accept exactly the same things; only the messages differ: they name the file and the
 * key (`/etc/nomid.json: "beacon_interval": expected ...`), never the flag.
 *
 * It owns config_strings, where the strings disc_opts keeps pointers to (interface
 * specs, backend URLs) live after the JSON document is freed.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "log.h"

/* How a key's value is read before it reaches its validator. */
enum config_kind {
    CONFIG_STRING,   /* a string, given as is */
    CONFIG_PATH,     /* a file name, relative to the config file's directory */
    CONFIG_SECONDS,  /* a number, written out as decimal seconds */
    CONFIG_COUNT,    /* an integer */
    CONFIG_LIST,     /* an array of strings, each given in turn (a repeatable flag) */
    CONFIG_SERVICES, /* the "services" array: strings or objects */
};

/* One key of the file. */
typedef struct config_key {
    const char *key;       /* its name in the file */
    enum config_kind kind; /* the JSON it takes */
    int code;              /* the disc_opt code of the flag it stands for (0: services) */
    const char *expected;  /* what a good value (of a list: an entry) is, for messages */
} config_key;

/* Limits in the messages come from the headers that set them. */
#define CONFIG_STR(x)  #x
#define CONFIG_XSTR(x) CONFIG_STR(x)

static const config_key config_keys[] = {
    {"name", CONFIG_STRING, DISC_OPT_NAME,
     "a string of at most " CONFIG_XSTR(NMD_NAME_MAX) " bytes"},
    {"fleet", CONFIG_STRING, DISC_OPT_FLEET,
     "a string of 1 to " CONFIG_XSTR(NMD_FLEET_MAX) " bytes"},
    {"interfaces", CONFIG_LIST, DISC_OPT_IFACE,
     "an interface name or address, \"broadcast:IF\", \"ipv6:IF\" or \"all\", under 64 "
     "bytes (at most " CONFIG_XSTR(NMD_IFACE_MAX) " entries)"},
    {"fleet_key_file", CONFIG_PATH, DISC_OPT_KEY_FILE,
     "a file holding the fleet key, " CONFIG_XSTR(NMD_KEY_MIN) " to 255 bytes"},
    {"beacon_interval", CONFIG_SECONDS, DISC_OPT_INTERVAL, "a number of seconds >= 0.01"},
    {"beacon_expiry", CONFIG_COUNT, DISC_OPT_EXPIRY, "an integer from 1 to 1000"},
    {"discovery", CONFIG_LIST, DISC_OPT_BACKEND,
     "\"beacon\", \"dnssd\" or \"etcd=URL\" (at most " CONFIG_XSTR(
         NMD_BACKEND_MAX) " besides beacon)"},
    {"etcd_prefix", CONFIG_STRING, DISC_OPT_ETCD_PREFIX,
     "a string starting with '/', under " CONFIG_XSTR(NMD_PREFIX_MAX) " bytes"},
    {"admin", CONFIG_STRING, DISC_OPT_ADMIN, "\"ADDR:PORT\" (e.g. \"127.0.0.1:7070\") or \"off\""},
    {"admin_token_file", CONFIG_PATH, DISC_OPT_ADMIN_TOKEN,
     "a file holding the admin token, 16 to 255 printable bytes without spaces"},
    {"admin_tls_cert", CONFIG_PATH, DISC_OPT_ADMIN_TLS_CERT,
     "a PEM certificate file for the admin endpoint's HTTPS"},
    {"admin_tls_key", CONFIG_PATH, DISC_OPT_ADMIN_TLS_KEY,
     "the PEM private key file of admin_tls_cert"},
    {"admin_tls_ca", CONFIG_PATH, DISC_OPT_ADMIN_TLS_CA,
     "a PEM file of CA certificates for peers' HTTPS admin endpoints"},
    {"curve_cert", CONFIG_PATH, DISC_OPT_CURVE_CERT,
     "a CURVE secret certificate file (NAME_secret of nomid keygen)"},
    {"curve_allow", CONFIG_PATH, DISC_OPT_CURVE_ALLOW,
     "a directory of the CURVE certificates admitted"},
    {"services", CONFIG_SERVICES, 0,
     "an array of \"NAME=TYPE@ENDPOINT\" strings or {\"name\", \"type\", \"endpoint\"} "
     "objects"},
};

#define CONFIG_NKEYS (sizeof(config_keys) / sizeof(config_keys[0]))

/* Interface specs and backend URLs from the file, kept for the life of the process. */
static char config_strings[8192];
static size_t config_strings_used;

/* One file being read. */
typedef struct config_ctx {
    const char *path;   /* the file, for messages and relative names */
    disc_opts *o;       /* what the flags fill too */
    node_service *svcs; /* services read so far */
    int *nsvcs;         /* their count */
    int max;            /* room in svcs */
} config_ctx;

/* Logs `PATH: LABEL: MESSAGE`; LABEL names the key ("beacon_interval", "services"[2]). */
__attribute__((format(printf, 3, 4))) static int
config_error(const config_ctx *c, const char *label, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    log_msg(NM_LOG_ERROR, "config", "%s: %s: %s", c->path, label, msg);
    return -EINVAL;
}

/* "a string", "an array"... for "got ..." in messages. */
static const char *config_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    default:
        return "null";
    }
}

/* A copy of s in config_strings, or NULL when that is full. */
static const char *config_keep(const char *s)
{
    size_t n = strlen(s) + 1;
    if (n > sizeof(config_strings) - config_strings_used)
        return NULL;
    char *p = memcpy(config_strings + config_strings_used, s, n);
    config_strings_used += n;
    return p;
}

/* Gives text to the flag's validator, whose own message (naming the flag) is muted:
 * the caller reports a failure naming the key. */
static int config_apply(const config_ctx *c, const config_key *k, const char *text)
{
    log_mute(true);
    int taken = disc_opt(c->o, k->code, text);
    log_mute(false);
    return taken > 0 ? 0 : -EINVAL;
}

/* A string value: a plain string, or a file name taken from the file's directory. */
static int config_string(const config_ctx *c, const config_key *k, const char *label, const char *s)
{
    if (k->kind != CONFIG_PATH) {
        if (config_apply(c, k, s) < 0)
            return config_error(c, label, "expected %s, got \"%s\"", k->expected, s);
        return 0;
    }
    char path[PATH_MAX];
    const char *slash = strrchr(c->path, '/');
    int n = s[0] == '/' || slash == NULL
                ? snprintf(path, sizeof(path), "%s", s)
                : snprintf(path, sizeof(path), "%.*s/%s", (int)(slash - c->path), c->path, s);
    if (s[0] == '\0')
        return config_error(c, label, "expected %s, got \"\"", k->expected);
    if (n < 0 || (size_t)n >= sizeof(path))
        return config_error(c, label, "file name too long");
    /* The validator would say why a file cannot be read in the flag's words: say it here. */
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return config_error(c, label, "%s: %s", path, strerror(errno));
    fclose(f);
    if (config_apply(c, k, path) < 0)
        return config_error(c, label, "%s: expected %s", path, k->expected);
    return 0;
}

/* An array of strings, each given to the validator as a repeated flag would be. */
static int config_list(const config_ctx *c, const config_key *k, const json_t *v)
{
    char label[96];
    size_t i;
    json_t *e;
    snprintf(label, sizeof(label), "\"%s\"", k->key);
    if (!json_is_array(v))
        return config_error(c, label, "expected an array of strings, got %s", config_type_name(v));
    json_array_foreach(v, i, e)
    {
        snprintf(label, sizeof(label), "\"%s\"[%zu]", k->key, i);
        if (!json_is_string(e))
            return config_error(c, label, "expected a string, got %s", config_type_name(e));
        /* disc_opts keeps pointers into these strings: they must outlive the document. */
        const char *s = config_keep(json_string_value(e));
        if (s == NULL)
            return config_error(c, label, "too long");
        if (config_apply(c, k, s) < 0)
            return config_error(c, label, "expected %s, got \"%s\"", k->expected,
                                json_string_value(e));
    }
    return 0;
}

/* {"name": ..., "type": ..., "endpoint": ...} written as NAME=TYPE@ENDPOINT into spec. */
static int config_service_object(const config_ctx *c, const char *label, json_t *v, char *spec,
                                 size_t cap)
{
    static const char *const fields[] = {"name", "type", "endpoint"};
    const char *val[3];
    const char *f;
    json_t *e;
    json_object_foreach(v, f, e)
    {
        size_t i = 0;
        while (i < 3 && strcmp(f, fields[i]) != 0)
            i++;
        if (i == 3)
            return config_error(c, label, "unknown key \"%s\" (known: name, type, endpoint)", f);
    }
    for (size_t i = 0; i < 3; i++) {
        e = json_object_get(v, fields[i]);
        if (e == NULL)
            return config_error(c, label, "missing \"%s\"", fields[i]);
        if (!json_is_string(e))
            return config_error(c, label, "\"%s\": expected a string, got %s", fields[i],
                                config_type_name(e));
        val[i] = json_string_value(e);
    }
    if (nm_sock_type_parse(val[1]) < 0)
        return config_error(c, label, "\"type\": expected a lowercase socket type, got \"%s\"",
                            val[1]);
    if (strchr(val[0], '=') != NULL)
        return config_error(c, label, "\"name\": expected a name without '=', got \"%s\"", val[0]);
    if ((size_t)snprintf(spec, cap, "%s=%s@%s", val[0], val[1], val[2]) >= cap)
        return config_error(c, label, "too long");
    return 0;
}

/* The "services" array: each entry is a string or an object, parsed as --service is. */
static int config_services(const config_ctx *c, const config_key *k, json_t *v)
{
    char label[64], spec[NMD_SVC_NAME_MAX + NMD_ENDPOINT_MAX + 32];
    size_t i;
    json_t *e;
    if (!json_is_array(v))
        return config_error(c, "\"services\"", "expected %s, got %s", k->expected,
                            config_type_name(v));
    if (json_array_size(v) > (size_t)c->max)
        return config_error(c, "\"services\"", "at most %d services", c->max);
    json_array_foreach(v, i, e)
    {
        snprintf(label, sizeof(label), "\"services\"[%zu]", i);
        if (json_is_string(e)) {
            if ((size_t)snprintf(spec, sizeof(spec), "%s", json_string_value(e)) >= sizeof(spec))
                return config_error(c, label, "too long");
        } else if (json_is_object(e)) {
            if (config_service_object(c, label, e, spec, sizeof(spec)) < 0)
                return -EINVAL;
        } else {
            return config_error(c, label,
                                "expected a \"NAME=TYPE@ENDPOINT\" string or an object, got %s",
                                config_type_name(e));
        }
        const char *why;
        if (node_service_parse(spec, &c->svcs[*c->nsvcs], &why) < 0)
            return config_error(c, label, "\"%s\": %s", spec, why);
        (*c->nsvcs)++;
    }
    return 0;
}

/* One top-level key's value. */
static int config_value(const config_ctx *c, const config_key *k, json_t *v)
{
    char label[64], text[64];
    snprintf(label, sizeof(label), "\"%s\"", k->key);
    switch (k->kind) {
    case CONFIG_STRING:
    case CONFIG_PATH:
        if (!json_is_string(v))
            return config_error(c, label, "expected %s, got %s", k->expected, config_type_name(v));
        return config_string(c, k, label, json_string_value(v));
    case CONFIG_SECONDS:
    case CONFIG_COUNT:
        if (k->kind == CONFIG_COUNT && json_is_real(v))
            return config_error(c, label, "expected %s, got %g", k->expected, json_real_value(v));
        if (!json_is_number(v))
            return config_error(c, label, "expected %s, got %s", k->expected, config_type_name(v));
        if (json_is_integer(v))
            snprintf(text, sizeof(text), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        else
            snprintf(text, sizeof(text), "%.17g", json_real_value(v));
        if (config_apply(c, k, text) < 0)
            return config_error(c, label, "expected %s, got %s", k->expected, text);
        return 0;
    case CONFIG_LIST:
        return config_list(c, k, v);
    case CONFIG_SERVICES:
        return config_services(c, k, v);
    }
    return -EINVAL;
}

int node_config_load(const char *path, disc_opts *o, node_service *svcs, int *nsvcs, int max)
{
    config_ctx c = {.path = path, .o = o, .svcs = svcs, .nsvcs = nsvcs, .max = max};
    json_error_t jerr;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        int err = errno;
        log_msg(NM_LOG_ERROR, "config", "%s: %s", path, strerror(err));
        return -err;
    }
    json_t *root = json_loadf(f, JSON_REJECT_DUPLICATES, &jerr);
    fclose(f);
    if (root == NULL) {
        log_msg(NM_LOG_ERROR, "config", "%s: line %d, column %d: malformed JSON: %s", path,
                jerr.line, jerr.column, jerr.text);
        return -EINVAL;
    }
    if (!json_is_object(root)) {
        log_msg(NM_LOG_ERROR, "config", "%s: expected a JSON object {...}, got %s", path,
                config_type_name(root));
        json_decref(root);
        return -EINVAL;
    }
    int rc = 0;
    const char *key;
    json_t *v;
    *nsvcs = 0;
    json_object_foreach(root, key, v)
    {
        const config_key *k = NULL;
        for (size_t i = 0; i < CONFIG_NKEYS && k == NULL; i++)
            if (strcmp(config_keys[i].key, key) == 0)
                k = &config_keys[i];
        if (k == NULL) {
            log_msg(NM_LOG_ERROR, "config",
                    "%s: unknown key \"%s\" (known: name, fleet, interfaces, fleet_key_file, "
                    "beacon_interval, beacon_expiry, discovery, etcd_prefix, admin, "
                    "admin_token_file, admin_tls_cert, admin_tls_key, admin_tls_ca, services)",
                    path, key);
            rc = -EINVAL;
            break;
        }
        if ((rc = config_value(&c, k, v)) < 0)
            break;
    }
    json_decref(root);
    return rc;
}
