/*
 * keygen.c - `nomid keygen NAME`: a new CURVE key pair written as a CZMQ certificate
 * pair (NAME with the public key, NAME_secret with both, mode 0600), and
 * `nomid keygen --print FILE|DIR`: what a certificate file, or a directory of them (an
 * allow list), holds, checked as a node would check it (a secret key is never printed).
 * The format and its limits are discovery/cert.h's.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "args.h"
#include "cert.h"
#include "commands.h"
#include "log.h"
#include "nomid.h"

static void keygen_usage(FILE *f)
{
    fputs("usage: nomid keygen NAME [--force] [--meta NAME=VALUE]...\n"
          "       nomid keygen --print FILE|DIR\n\n"
          "Writes a new CURVE key pair as a certificate pair in CZMQ's format (zcert):\n"
          "NAME holds the public key (give it to peers), NAME_secret both keys (mode\n"
          "0600, keep it).  Prints the public key (Z85) and the two paths.\n"
          "--print reads a certificate and prints its public key, whether it holds the\n"
          "secret key (never printed) and its metadata; given a directory, it does so for\n"
          "each certificate an allow list would take from it (CZMQ's certificate store),\n"
          "naming on stderr what it skips (exit 3 when it takes none).\n\n"
          "  --force                replace existing files\n"
          "  --meta NAME=VALUE      a metadata pair (repeatable), as CZMQ's zcert_set_meta\n"
          "  --print FILE|DIR       print a certificate (or a directory of them) instead of\n"
          "                         writing one\n",
          f);
}

/* What a node reads from one certificate; never its secret key. */
static void keygen_show(const nmd_cert *c)
{
    char z85[NMD_CERT_Z85_LEN + 1];
    nm_z85_encode(z85, c->public_key, NMD_CERT_KEY_LEN);
    printf("public-key %s\n", z85);
    printf("secret-key %s\n", c->has_secret ? "present" : "absent");
    for (int i = 0; i < c->nmeta; i++)
        printf("meta %s %s\n", c->meta[i].name, c->meta[i].value);
}

static void keygen_skip_cb(void *arg, const char *path, const char *reason)
{
    (void)arg;
    log_msg(NM_LOG_WARN, "keygen", "skipping %s: %s", path, reason);
}

/* A directory of certificates, as an allow list reads it. */
static int keygen_print_dir(const char *dir)
{
    nmd_cert_list l = {0};
    char err[512];
    int n = nmd_cert_dir_load(&l, dir, keygen_skip_cb, NULL, err, sizeof(err));
    if (n < 0)
        log_msg(NM_LOG_ERROR, "keygen", "%s", err);
    else if (n == 0)
        log_msg(NM_LOG_ERROR, "keygen", "%s: no certificate", dir);
    for (int i = 0; i < l.n; i++)
        keygen_show(&l.certs[i]);
    nmd_cert_list_fini(&l);
    return n < 0 ? NODE_EXIT_USAGE : n == 0 ? NODE_EXIT_TIMEOUT : NODE_EXIT_OK;
}

static int keygen_print(const char *path)
{
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return keygen_print_dir(path);
    nmd_cert c;
    char err[512];
    int rc = nmd_cert_load(&c, path, err, sizeof(err));
    if (rc < 0) {
        log_msg(NM_LOG_ERROR, "keygen", "%s", err);
        return NODE_EXIT_USAGE;
    }
    keygen_show(&c);
    nmd_cert_wipe(&c);
    return NODE_EXIT_OK;
}

/* --meta NAME=VALUE into c. */
static int keygen_meta(nmd_cert *c, char *arg)
{
    char *eq = strchr(arg, '=');
    if (eq != NULL)
        *eq = '\0';
    int rc = eq != NULL ? nmd_cert_set_meta(c, arg, eq + 1) : -EINVAL;
    if (eq != NULL)
        *eq = '=';
    if (rc == -ENOSPC)
        log_msg(NM_LOG_ERROR, "keygen", "more than %d --meta pairs", NMD_CERT_META_MAX);
    else if (rc < 0)
        log_msg(NM_LOG_ERROR, "keygen",
                "--meta '%s': expected NAME=VALUE, NAME of letters, digits and $-_@.&+/ (at "
                "most %d bytes), VALUE of at most %d bytes without control characters, not "
                "both ' and \"",
                arg, NMD_CERT_META_NAME_MAX, NMD_CERT_META_VALUE_MAX);
    return rc < 0 ? NODE_EXIT_USAGE : NODE_EXIT_OK;
}

int keygen_main(int argc, char **argv)
{
    static const struct option longs[] = {
        {"force", no_argument, NULL, 'f'},
        {"meta", required_argument, NULL, 'm'},
        {"print", required_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    nmd_cert c = {0}; /* the metadata from --meta; the keys come last */
    bool force = false, meta = false;
    const char *print = NULL;
    int opt;
    opterr = 0;
    optind = 1;
    int rc = NODE_EXIT_OK;
    while (rc == NODE_EXIT_OK && (opt = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
        if (opt == 'h') {
            keygen_usage(stdout);
            return NODE_EXIT_OK;
        } else if (opt == 'f') {
            force = true;
        } else if (opt == 'm') {
            meta = true;
            rc = keygen_meta(&c, optarg);
        } else if (opt == 'p') {
            print = optarg;
        } else {
            log_msg(NM_LOG_ERROR, "keygen", "unknown or incomplete option '%s'", argv[optind - 1]);
            keygen_usage(stderr);
            rc = NODE_EXIT_USAGE;
        }
    }
    if (rc == NODE_EXIT_OK && print != NULL && (force || meta || optind != argc)) {
        log_msg(NM_LOG_ERROR, "keygen", "--print takes one FILE or DIR and no other argument");
        rc = NODE_EXIT_USAGE;
    } else if (rc == NODE_EXIT_OK && print == NULL && optind + 1 != argc) {
        log_msg(NM_LOG_ERROR, "keygen", "one certificate NAME is needed");
        keygen_usage(stderr);
        rc = NODE_EXIT_USAGE;
    }
    if (rc != NODE_EXIT_OK || print != NULL)
        return rc != NODE_EXIT_OK ? rc : keygen_print(print);
    nmd_cert keys;
    if ((rc = nmd_cert_generate(&keys)) < 0) {
        log_msg(NM_LOG_ERROR, "keygen", "cannot make a key pair: %s", nm_strerror(rc));
        return NODE_EXIT_FAIL;
    }
    memcpy(c.public_key, keys.public_key, NMD_CERT_KEY_LEN);
    memcpy(c.secret_key, keys.secret_key, NMD_CERT_KEY_LEN);
    c.has_secret = true;
    nmd_cert_wipe(&keys);
    const char *name = argv[optind];
    char err[512];
    rc = nmd_cert_save(&c, name, force, err, sizeof(err));
    if (rc < 0) {
        nmd_cert_wipe(&c);
        log_msg(NM_LOG_ERROR, "keygen", "%s", err);
        return rc == -EEXIST || rc == -ENAMETOOLONG || rc == -EINVAL ? NODE_EXIT_USAGE
                                                                     : NODE_EXIT_FAIL;
    }
    char z85[NMD_CERT_Z85_LEN + 1];
    nm_z85_encode(z85, c.public_key, NMD_CERT_KEY_LEN);
    nmd_cert_wipe(&c);
    printf("public-key %s\n", z85);
    printf("public %s\n", name);
    printf("secret %s" NMD_CERT_SECRET_SUFFIX "\n", name);
    return NODE_EXIT_OK;
}
