/*
 * cert_dir.c - a directory of public certificates, as CZMQ's zcertstore reads one: the
 * allow list of `--curve-allow DIR`.  Every regular file that is not hidden and does not
 * end in _secret is read as a certificate, subdirectories too (not through symbolic
 * links, which could loop, and NMD_CERT_DIR_DEPTH deep at most); the rest, and files
 * that do not parse, are named to the caller with the reason and skipped.  Secret keys
 * found in the files are dropped: an allow list holds public keys only.
 */
#include "cert.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#define CERT_STR(x)  #x
#define CERT_XSTR(x) CERT_STR(x)

static int cert_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void cert_free_names(char **names, int n)
{
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* The names in dir, sorted; at most max.  The count or a negative code. */
static int cert_dir_names(const char *dir, char ***namesp, int max, char *err, size_t errsz)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        int rc = -errno;
        snprintf(err, errsz, "%s: cannot open the directory: %s", dir, strerror(errno));
        return rc;
    }
    char **names = calloc(max > 0 ? (size_t)max : 1, sizeof(*names));
    int n = 0, rc = 0;
    if (names == NULL)
        rc = -ENOMEM;
    struct dirent *e;
    while (rc == 0 && (errno = 0, e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (n == max) {
            rc = -EFBIG;
            snprintf(err, errsz, "%s: more than %d entries (subdirectories included)", dir,
                     NMD_CERT_DIR_MAX);
        } else if ((names[n] = strdup(e->d_name)) == NULL)
            rc = -ENOMEM;
        else
            n++;
    }
    if (rc == 0 && errno != 0) {
        rc = -errno;
        snprintf(err, errsz, "%s: cannot read the directory: %s", dir, strerror(errno));
    }
    closedir(d);
    if (rc == -ENOMEM)
        snprintf(err, errsz, "%s: out of memory", dir);
    if (rc < 0) {
        cert_free_names(names, n);
        return rc;
    }
    qsort(names, (size_t)n, sizeof(*names), cert_name_cmp);
    *namesp = names;
    return n;
}

static bool cert_ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Why the entry at path (named name) is not read as a certificate, or NULL. */
static const char *cert_dir_unwanted(const char *path, const char *name)
{
    struct stat st;
    if (name[0] == '.')
        return "a hidden file";
    if (cert_ends_with(name, NMD_CERT_SECRET_SUFFIX))
        return "a secret certificate (a store holds public ones; its public twin is read)";
    if (stat(path, &st) != 0)
        return "cannot be read";
    if (S_ISDIR(st.st_mode))
        return "a link to a directory (not followed)";
    if (!S_ISREG(st.st_mode))
        return "not a regular file";
    return NULL;
}

/* The loader's message "PATH:LINE: what" or "PATH: what" as "line LINE: what" or
 * "what", since the callback is given the path on its own. */
static const char *cert_reason(const char *msg, const char *path, char *out, size_t cap)
{
    size_t plen = strlen(path);
    if (strncmp(msg, path, plen) != 0 || msg[plen] != ':')
        return msg;
    const char *rest = msg + plen + 1;
    char tmp[512];
    if (rest[0] >= '0' && rest[0] <= '9')
        snprintf(tmp, sizeof(tmp), "line %s", rest);
    else
        snprintf(tmp, sizeof(tmp), "%s", rest[0] == ' ' ? rest + 1 : rest);
    snprintf(out, cap, "%s", tmp);
    return out;
}

static int cert_list_add(nmd_cert_list *l, const nmd_cert *c)
{
    if (l->n == l->cap) {
        int cap = l->cap == 0 ? 16 : l->cap * 2;
        nmd_cert *certs = reallocarray(l->certs, (size_t)cap, sizeof(*certs));
        if (certs == NULL)
            return -ENOMEM;
        l->certs = certs;
        l->cap = cap;
    }
    l->certs[l->n++] = *c;
    return 0;
}

/* One walk over a directory tree. */
typedef struct cert_walk {
    nmd_cert_list *l;          /* where certificates go */
    nmd_cert_skip_cb *skip_cb; /* told what is skipped (may be NULL) */
    void *arg;                 /* its argument */
    int budget;                /* entries the tree may still have */
    int loaded;                /* certificates added */
    char *err;                 /* message of a failure */
    size_t errsz;              /* its size */
} cert_walk;

static void cert_skip(cert_walk *w, const char *path, const char *reason)
{
    if (w->skip_cb != NULL)
        w->skip_cb(w->arg, path, reason);
}

static int cert_walk_dir(cert_walk *w, const char *dir, int depth);

/* One entry: a file read as a certificate, a directory walked, or a reason to skip. */
static int cert_walk_entry(cert_walk *w, const char *path, const char *name, int depth)
{
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode) && name[0] != '.') {
        if (depth + 1 > NMD_CERT_DIR_DEPTH) {
            cert_skip(
                w, path,
                "a directory deeper than " CERT_XSTR(NMD_CERT_DIR_DEPTH) " levels (not searched)");
            return 0;
        }
        return cert_walk_dir(w, path, depth + 1);
    }
    const char *reason = cert_dir_unwanted(path, name);
    char why[512];
    nmd_cert c;
    if (reason == NULL && nmd_cert_load(&c, path, why, sizeof(why)) < 0)
        reason = cert_reason(why, path, why, sizeof(why));
    if (reason == NULL && nmd_cert_list_find(w->l, c.public_key) != NULL)
        reason = "the same public key as a certificate before it";
    if (reason != NULL) {
        cert_skip(w, path, reason);
        nmd_cert_wipe(&c);
        return 0;
    }
    /* An allow list holds public keys only. */
    sodium_memzero(c.secret_key, sizeof(c.secret_key));
    c.has_secret = false;
    int rc = cert_list_add(w->l, &c);
    nmd_cert_wipe(&c);
    if (rc < 0) {
        snprintf(w->err, w->errsz, "%s: out of memory", path);
        return rc;
    }
    w->loaded++;
    return 0;
}

/* The entries of dir in name order; subdirectories (not through links) in turn. */
static int cert_walk_dir(cert_walk *w, const char *dir, int depth)
{
    char **names = NULL;
    int count = cert_dir_names(dir, &names, w->budget, w->err, w->errsz);
    if (count < 0 && depth > 0 && count != -EFBIG && count != -ENOMEM) {
        cert_skip(w, dir, "a directory that cannot be read");
        return 0;
    }
    if (count < 0)
        return count;
    w->budget -= count;
    int rc = 0;
    char path[PATH_MAX];
    for (int i = 0; i < count && rc == 0; i++) {
        int n = snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        if (n < 0 || (size_t)n >= sizeof(path))
            cert_skip(w, names[i], "path too long");
        else
            rc = cert_walk_entry(w, path, names[i], depth);
    }
    cert_free_names(names, count);
    return rc;
}

int nmd_cert_dir_load(nmd_cert_list *l, const char *dir, nmd_cert_skip_cb *skip_cb, void *arg,
                      char *err, size_t errsz)
{
    if (errsz > 0)
        err[0] = '\0';
    cert_walk w = {.l = l,
                   .skip_cb = skip_cb,
                   .arg = arg,
                   .budget = NMD_CERT_DIR_MAX,
                   .err = err,
                   .errsz = errsz};
    int rc = cert_walk_dir(&w, dir, 0);
    return rc < 0 ? rc : w.loaded;
}

const nmd_cert *nmd_cert_list_find(const nmd_cert_list *l,
                                   const uint8_t public_key[NMD_CERT_KEY_LEN])
{
    for (int i = 0; i < l->n; i++)
        if (memcmp(l->certs[i].public_key, public_key, NMD_CERT_KEY_LEN) == 0)
            return &l->certs[i];
    return NULL;
}

void nmd_cert_list_fini(nmd_cert_list *l)
{
    free(l->certs);
    l->certs = NULL;
    l->n = 0;
    l->cap = 0;
}
