/*
 * cert_dir.c - a directory of public certificates, as CZMQ's zcertstore reads one: the
 * allow list of `--curve-allow DIR`.  Every regular file that is not hidden and does not
 * end in _secret is read as a certificate; the rest, and files that do not parse, are
 * named to the caller with the reason and skipped.  Secret keys found in the files are
 * dropped: an allow list holds public keys only.
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

/* The names in dir, sorted; at most NMD_CERT_DIR_MAX.  The count or a negative code. */
static int cert_dir_names(const char *dir, char ***namesp, char *err, size_t errsz)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        int rc = -errno;
        snprintf(err, errsz, "%s: cannot open the directory: %s", dir, strerror(errno));
        return rc;
    }
    char **names = calloc(NMD_CERT_DIR_MAX, sizeof(*names));
    int n = 0, rc = 0;
    if (names == NULL)
        rc = -ENOMEM;
    struct dirent *e;
    while (rc == 0 && (errno = 0, e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (n == NMD_CERT_DIR_MAX) {
            rc = -EFBIG;
            snprintf(err, errsz, "%s: more than %d entries", dir, NMD_CERT_DIR_MAX);
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
        return "a directory (not searched)";
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

int nmd_cert_dir_load(nmd_cert_list *l, const char *dir, nmd_cert_skip_cb *skip_cb, void *arg,
                      char *err, size_t errsz)
{
    if (errsz > 0)
        err[0] = '\0';
    char **names = NULL;
    int count = cert_dir_names(dir, &names, err, errsz);
    if (count < 0)
        return count;
    int loaded = 0, rc = 0;
    char path[PATH_MAX], why[512];
    for (int i = 0; i < count && rc == 0; i++) {
        int n = snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        if (n < 0 || (size_t)n >= sizeof(path)) {
            if (skip_cb != NULL)
                skip_cb(arg, names[i], "path too long");
            continue;
        }
        const char *reason = cert_dir_unwanted(path, names[i]);
        nmd_cert c;
        if (reason == NULL && nmd_cert_load(&c, path, why, sizeof(why)) < 0)
            reason = cert_reason(why, path, why, sizeof(why));
        if (reason == NULL && nmd_cert_list_has(l, c.public_key))
            reason = "the same public key as a certificate before it";
        if (reason != NULL) {
            if (skip_cb != NULL)
                skip_cb(arg, path, reason);
            nmd_cert_wipe(&c);
            continue;
        }
        /* An allow list holds public keys only. */
        sodium_memzero(c.secret_key, sizeof(c.secret_key));
        c.has_secret = false;
        rc = cert_list_add(l, &c);
        nmd_cert_wipe(&c);
        if (rc == 0)
            loaded++;
        else
            snprintf(err, errsz, "%s: out of memory", dir);
    }
    cert_free_names(names, count);
    return rc < 0 ? rc : loaded;
}

bool nmd_cert_list_has(const nmd_cert_list *l, const uint8_t public_key[NMD_CERT_KEY_LEN])
{
    for (int i = 0; i < l->n; i++)
        if (memcmp(l->certs[i].public_key, public_key, NMD_CERT_KEY_LEN) == 0)
            return true;
    return false;
}

void nmd_cert_list_fini(nmd_cert_list *l)
{
    free(l->certs);
    l->certs = NULL;
    l->n = 0;
    l->cap = 0;
}
