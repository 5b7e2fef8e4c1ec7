/*
 * cert_save.c - writes a certificate pair as CZMQ's zcert_save does: NAME with the
 * public key, NAME_secret with both (mode 0600), each with CZMQ's header comments.
 * Each file is written to a temporary name in the same directory, synced, then moved
 * into place (rename, or link when it must not replace a file), so a reader never sees
 * half a certificate and a crash leaves at most a stray temporary file.
 */
#include "cert.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bsd/stdlib.h>
#include <sodium.h>

#include "nomid.h"

static const char cert_public_header[] =
    "#   ZeroMQ CURVE Public Certificate\n"
    "#   Exchange securely, or use a secure mechanism to verify the contents\n"
    "#   of this file after exchange. Store public certificates in your home\n"
    "#   directory, in the .curve subdirectory.\n";
static const char cert_secret_header[] =
    "#   ZeroMQ CURVE **Secret** Certificate\n"
    "#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.\n";

/* Appends to buf like snprintf, counting what would have been written past cap. */
typedef struct cert_out {
    char *buf;  /* destination */
    size_t cap; /* its size */
    size_t len; /* bytes produced so far (may exceed cap) */
} cert_out;

static void cert_put(cert_out *o, const char *s)
{
    size_t n = strlen(s);
    if (o->len < o->cap)
        memcpy(o->buf + o->len, s, o->len + n < o->cap ? n : o->cap - o->len);
    o->len += n;
}

/* name = "value", with ' quotes for a value holding a " (set_meta refused both). */
static void cert_put_pair(cert_out *o, const char *name, const char *value)
{
    const char *quote = strchr(value, '"') != NULL ? "'" : "\"";
    cert_put(o, "    ");
    cert_put(o, name);
    cert_put(o, " = ");
    cert_put(o, quote);
    cert_put(o, value);
    cert_put(o, quote);
    cert_put(o, "\n");
}

int nmd_cert_format(const nmd_cert *c, bool secret, char *buf, size_t cap)
{
    if (secret && !c->has_secret)
        return -EINVAL;
    for (int i = 0; i < c->nmeta; i++)
        if (strchr(c->meta[i].value, '"') != NULL && strchr(c->meta[i].value, '\'') != NULL)
            return -EINVAL; /* a bare value read from a file may hold both: no quote fits */
    cert_out o = {.buf = buf, .cap = cap};
    char stamp[64] = "";
    time_t now = time(NULL);
    struct tm tm;
    if (gmtime_r(&now, &tm) != NULL)
        strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S UTC", &tm);
    cert_put(&o, "#   ****  Generated on ");
    cert_put(&o, stamp);
    cert_put(&o, " by nomid  ****\n");
    cert_put(&o, secret ? cert_secret_header : cert_public_header);
    cert_put(&o, "\nmetadata\n");
    for (int i = 0; i < c->nmeta; i++)
        cert_put_pair(&o, c->meta[i].name, c->meta[i].value);
    cert_put(&o, "curve\n");
    char z85[NMD_CERT_Z85_LEN + 1];
    nm_z85_encode(z85, c->public_key, NMD_CERT_KEY_LEN);
    cert_put_pair(&o, "public-key", z85);
    if (secret) {
        nm_z85_encode(z85, c->secret_key, NMD_CERT_KEY_LEN);
        cert_put_pair(&o, "secret-key", z85);
        sodium_memzero(z85, sizeof(z85));
    }
    if (cap > 0)
        buf[o.len < cap ? o.len : cap - 1] = '\0';
    return o.len > INT_MAX ? -EOVERFLOW : (int)o.len;
}

/* The directory part of path, for its fsync ("." for a bare name). */
static void cert_dirname(const char *path, char *dir, size_t cap)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        snprintf(dir, cap, ".");
    else if (slash == path)
        snprintf(dir, cap, "/");
    else
        snprintf(dir, cap, "%.*s", (int)(slash - path), path);
}

static int cert_write_all(int fd, const char *s, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, s, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        s += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Writes text to path through a temporary file; mode as open() takes it (less umask). */
static int cert_write_file(const char *path, const char *text, size_t len, mode_t mode, bool force,
                           char *err, size_t errsz)
{
    char tmp[PATH_MAX];
    int fd = -1;
    for (int tries = 0; fd < 0 && tries < 8; tries++) {
        /* Hidden, so that a directory reader never takes it for a certificate. */
        const char *slash = strrchr(path, '/');
        int dlen = slash != NULL ? (int)(slash - path + 1) : 0;
        int n =
            snprintf(tmp, sizeof(tmp), "%.*s.%s.tmp-%08x", dlen, path, path + dlen, arc4random());
        if (n < 0 || (size_t)n >= sizeof(tmp)) {
            snprintf(err, errsz, "%s: path too long", path);
            return -ENAMETOOLONG;
        }
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
        if (fd < 0 && errno != EEXIST) {
            int rc = -errno;
            snprintf(err, errsz, "%s: cannot create: %s", tmp, strerror(errno));
            return rc;
        }
    }
    if (fd < 0) {
        snprintf(err, errsz, "%s: cannot create a temporary file next to it", path);
        return -EEXIST;
    }
    int rc = cert_write_all(fd, text, len);
    if (rc == 0 && fsync(fd) != 0)
        rc = -errno;
    if (close(fd) != 0 && rc == 0)
        rc = -errno;
    if (rc < 0) {
        snprintf(err, errsz, "%s: cannot write: %s", tmp, strerror(-rc));
        unlink(tmp);
        return rc;
    }
    /* link() never replaces a file: the check for an existing one and the move are one
     * step, so a file created meanwhile is not overwritten either. */
    if (force ? rename(tmp, path) != 0 : link(tmp, path) != 0) {
        rc = -errno;
        if (rc == -EEXIST)
            snprintf(err, errsz, "%s exists (--force replaces it)", path);
        else
            snprintf(err, errsz, "%s: cannot move into place: %s", path, strerror(-rc));
        unlink(tmp);
        return rc;
    }
    if (!force)
        unlink(tmp);
    return 0;
}

int nmd_cert_save(const nmd_cert *c, const char *path, bool force, char *err, size_t errsz)
{
    if (errsz > 0)
        err[0] = '\0';
    if (!c->has_secret) {
        snprintf(err, errsz, "%s: the certificate has no secret key to save", path);
        return -EINVAL;
    }
    char secret_path[PATH_MAX];
    int n = snprintf(secret_path, sizeof(secret_path), "%s" NMD_CERT_SECRET_SUFFIX, path);
    if (n < 0 || (size_t)n >= sizeof(secret_path) - 16) {
        snprintf(err, errsz, "%s: path too long", path);
        return -ENAMETOOLONG;
    }
    const char *slash = strrchr(path, '/');
    const char *base = slash != NULL ? slash + 1 : path;
    if (base[0] == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
        snprintf(err, errsz, "'%s' is not a file name", path);
        return -EINVAL;
    }
    /* Both checked before either is written, so a refusal writes nothing. */
    const char *paths[] = {path, secret_path};
    struct stat st;
    for (int i = 0; i < 2; i++) {
        if (lstat(paths[i], &st) != 0)
            continue;
        if (!force) {
            snprintf(err, errsz, "%s exists (--force replaces it)", paths[i]);
            return -EEXIST;
        }
        if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode)) {
            snprintf(err, errsz, "%s exists and is not a file", paths[i]);
            return -EEXIST;
        }
    }
    char text[4 * NMD_CERT_LINE_MAX + NMD_CERT_META_MAX * 400];
    int len = nmd_cert_format(c, true, text, sizeof(text));
    if (len < 0 || (size_t)len >= sizeof(text)) {
        sodium_memzero(text, sizeof(text));
        if (len == -EINVAL)
            snprintf(err, errsz, "%s: a metadata value holds both ' and \"", path);
        else
            snprintf(err, errsz, "%s: the certificate does not fit a file", path);
        return len == -EINVAL ? -EINVAL : -EFBIG;
    }
    /* The secret file first: a public file alone would name a key nobody holds. */
    int rc = cert_write_file(secret_path, text, (size_t)len, 0600, force, err, errsz);
    sodium_memzero(text, sizeof(text));
    if (rc < 0)
        return rc;
    len = nmd_cert_format(c, false, text, sizeof(text));
    rc = cert_write_file(path, text, (size_t)len, 0644, force, err, errsz);
    if (rc < 0) {
        if (!force)
            unlink(secret_path); /* we created it a moment ago */
        return rc;
    }
    char dir[PATH_MAX];
    cert_dirname(path, dir, sizeof(dir));
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd); /* the renames survive a crash; best effort where dirs cannot sync */
        close(dfd);
    }
    return 0;
}
