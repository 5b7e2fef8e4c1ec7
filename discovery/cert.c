/*
 * cert.c - reads CURVE certificates in CZMQ's ZPL format (cert.h has the format and its
 * limits): a line-by-line parser that keeps only the `metadata` and `curve` sections,
 * the file reader around it, and the metadata setters `nomid keygen` uses.  The text of
 * a file may hold a secret key, so every buffer it passed through is zeroed after use.
 */
#include "cert.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "nomid.h"

/* Where the parser is: the source's name and line, for messages. */
typedef struct cert_parser {
    nmd_cert *c;                           /* what is being filled */
    const char *what;                      /* the file's name */
    int lineno;                            /* 1-based line being parsed */
    int last_level;                        /* level of the last named line, -1 before the first */
    int section;                           /* CERT_SEC_* of the current level-0 name */
    bool have_public;                      /* public-key seen */
    char *err;                             /* message buffer */
    size_t errsz;                          /* its size */
    char public_txt[NMD_CERT_Z85_LEN + 1]; /* Z85 kept until the end, for the check */
    char secret_txt[NMD_CERT_Z85_LEN + 1];
} cert_parser;

enum { CERT_SEC_OTHER, CERT_SEC_METADATA, CERT_SEC_CURVE };

static int cert_fail(cert_parser *p, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int cert_fail(cert_parser *p, int rc, const char *fmt, ...)
{
    if (p->errsz == 0)
        return rc;
    int n = p->lineno > 0 ? snprintf(p->err, p->errsz, "%s:%d: ", p->what, p->lineno)
                          : snprintf(p->err, p->errsz, "%s: ", p->what);
    if (n >= 0 && (size_t)n < p->errsz) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->err + n, p->errsz - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* zconfig's name characters. */
static bool cert_namechar(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           strchr("$-_@.&+/", ch) != NULL;
}

static bool cert_space(unsigned char ch)
{
    return ch == ' ' || ch == '\t';
}

static bool cert_name_ok(const char *name, size_t len)
{
    if (len == 0 || name[0] == '/' || name[len - 1] == '/')
        return false;
    for (size_t i = 0; i < len; i++)
        if (name[i] == '\0' || !cert_namechar((unsigned char)name[i]))
            return false;
    return true;
}

static bool cert_value_ok(const char *v, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
            return false;
    return true;
}

/* After a value or a name: only spaces, then nothing or a comment. */
static bool cert_rest_ok(const char *s, const char *end)
{
    while (s < end && cert_space((unsigned char)*s))
        s++;
    return s == end || *s == '#';
}

/* A curve key's value: exactly 40 Z85 characters decoding to 32 bytes. */
static int cert_key(cert_parser *p, const char *name, const char *v, size_t vlen, uint8_t *key,
                    char *txt)
{
    if (vlen != NMD_CERT_Z85_LEN)
        return cert_fail(p, -EINVAL, "%s has %zu characters, a Z85 key has %d", name, vlen,
                         NMD_CERT_Z85_LEN);
    memcpy(txt, v, vlen);
    txt[vlen] = '\0';
    if (nm_z85_decode(key, txt) == NULL)
        return cert_fail(p, -EINVAL, "%s is not valid Z85", name);
    return 0;
}

/* One name = value at level 1 of a section we keep. */
static int cert_item(cert_parser *p, const char *name, size_t nlen, const char *v, size_t vlen)
{
    nmd_cert *c = p->c;
    if (p->section == CERT_SEC_CURVE) {
        if (nlen == 10 && memcmp(name, "public-key", 10) == 0) {
            if (p->have_public)
                return cert_fail(p, -EINVAL, "a second public-key");
            p->have_public = true;
            return cert_key(p, "public-key", v, vlen, c->public_key, p->public_txt);
        }
        if (nlen == 10 && memcmp(name, "secret-key", 10) == 0) {
            if (c->has_secret)
                return cert_fail(p, -EINVAL, "a second secret-key");
            c->has_secret = true;
            return cert_key(p, "secret-key", v, vlen, c->secret_key, p->secret_txt);
        }
        return 0; /* a name a later format may add */
    }
    if (nlen > NMD_CERT_META_NAME_MAX)
        return cert_fail(p, -EFBIG, "metadata name longer than %d bytes", NMD_CERT_META_NAME_MAX);
    if (vlen > NMD_CERT_META_VALUE_MAX)
        return cert_fail(p, -EFBIG, "metadata value longer than %d bytes", NMD_CERT_META_VALUE_MAX);
    for (int i = 0; i < c->nmeta; i++)
        if (strlen(c->meta[i].name) == nlen && memcmp(c->meta[i].name, name, nlen) == 0)
            return cert_fail(p, -EINVAL, "a second metadata '%.*s'", (int)nlen, name);
    if (c->nmeta == NMD_CERT_META_MAX)
        return cert_fail(p, -EFBIG, "more than %d metadata pairs", NMD_CERT_META_MAX);
    nmd_cert_meta *m = &c->meta[c->nmeta++];
    memcpy(m->name, name, nlen);
    m->name[nlen] = '\0';
    memcpy(m->value, v, vlen);
    m->value[vlen] = '\0';
    return 0;
}

/* One line, without its newline and trailing spaces. */
static int cert_line(cert_parser *p, const char *s, size_t len)
{
    const char *end = s + len;
    const char *q = s;
    while (q < end && *q == ' ')
        q++;
    if (q == end || *q == '#')
        return 0; /* blank or a comment */
    if (*q == '\t')
        return cert_fail(p, -EINVAL, "a tab in the indentation (ZPL indents by 4 spaces)");
    size_t indent = (size_t)(q - s);
    if (indent % 4 != 0)
        return cert_fail(p, -EINVAL, "indentation of %zu spaces (ZPL indents by 4)", indent);
    int level = (int)(indent / 4);
    if (level > p->last_level + 1)
        return cert_fail(p, -EINVAL, "indented deeper than the line before allows");
    const char *name = q;
    while (q < end && cert_namechar((unsigned char)*q))
        q++;
    size_t nlen = (size_t)(q - name);
    if (nlen == 0 && *q > 0x20 && *q < 0x7f)
        return cert_fail(p, -EINVAL, "expected a name, found '%c'", *q);
    if (nlen == 0)
        return cert_fail(p, -EINVAL, "expected a name, found byte 0x%02x", (unsigned char)*q);
    if (!cert_name_ok(name, nlen))
        return cert_fail(p, -EINVAL, "a name may not start or end with '/'");
    while (q < end && cert_space((unsigned char)*q))
        q++;
    const char *v = q;
    size_t vlen = 0;
    if (q < end && *q == '=') {
        q++;
        while (q < end && cert_space((unsigned char)*q))
            q++;
        if (q < end && (*q == '"' || *q == '\'')) {
            const char *close = memchr(q + 1, *q, (size_t)(end - q - 1));
            if (close == NULL)
                return cert_fail(p, -EINVAL, "no closing %c", *q);
            v = q + 1;
            vlen = (size_t)(close - v);
            if (!cert_rest_ok(close + 1, end))
                return cert_fail(p, -EINVAL, "text after the closing quote");
        } else {
            v = q;
            const char *hash = memchr(q, '#', (size_t)(end - q));
            const char *vend = hash != NULL ? hash : end;
            while (vend > v && cert_space((unsigned char)vend[-1]))
                vend--;
            vlen = (size_t)(vend - v);
        }
    } else if (!cert_rest_ok(q, end)) {
        return cert_fail(p, -EINVAL, "expected '=' or the end of the line after '%.*s'", (int)nlen,
                         name);
    }
    if (!cert_value_ok(v, vlen))
        return cert_fail(p, -EINVAL, "a control character in the value");
    p->last_level = level;
    if (level == 0) {
        p->section = CERT_SEC_OTHER;
        if (nlen == 8 && memcmp(name, "metadata", 8) == 0)
            p->section = CERT_SEC_METADATA;
        else if (nlen == 5 && memcmp(name, "curve", 5) == 0)
            p->section = CERT_SEC_CURVE;
        return 0;
    }
    if (level == 1 && p->section != CERT_SEC_OTHER)
        return cert_item(p, name, nlen, v, vlen);
    return 0; /* deeper levels and other sections: valid ZPL we have no use for */
}

/* The checks on the whole: keys present and matching. */
static int cert_finish(cert_parser *p)
{
    p->lineno = 0;
    if (!p->have_public)
        return cert_fail(p, -EINVAL, "no public-key in a curve section");
    if (p->c->has_secret) {
        uint8_t derived[NMD_CERT_KEY_LEN];
        int rc = nm_curve_public(derived, p->c->secret_key);
        if (rc < 0)
            return cert_fail(p, rc, "cannot derive the public key: %s", nm_strerror(rc));
        if (sodium_memcmp(derived, p->c->public_key, NMD_CERT_KEY_LEN) != 0)
            return cert_fail(p, -EINVAL, "secret-key does not belong to public-key");
    }
    return 0;
}

int nmd_cert_parse(nmd_cert *c, const char *text, size_t len, const char *what, char *err,
                   size_t errsz)
{
    cert_parser p = {.c = c, .what = what, .last_level = -1, .err = err, .errsz = errsz};
    if (errsz > 0)
        err[0] = '\0';
    memset(c, 0, sizeof(*c));
    int rc = 0;
    if (len > NMD_CERT_FILE_MAX)
        rc = cert_fail(&p, -EFBIG, "larger than %d bytes", NMD_CERT_FILE_MAX);
    const char *s = text, *end = text + len;
    while (rc == 0 && s < end) {
        p.lineno++;
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        const char *lend = nl != NULL ? nl : end;
        size_t n = (size_t)(lend - s);
        if (memchr(s, '\0', n) != NULL)
            rc = cert_fail(&p, -EINVAL, "a NUL byte");
        else if (n > NMD_CERT_LINE_MAX)
            rc = cert_fail(&p, -EFBIG, "line longer than %d bytes", NMD_CERT_LINE_MAX);
        else {
            while (n > 0 && (cert_space((unsigned char)s[n - 1]) || s[n - 1] == '\r'))
                n--;
            rc = cert_line(&p, s, n);
        }
        s = nl != NULL ? nl + 1 : end;
    }
    if (rc == 0)
        rc = cert_finish(&p);
    sodium_memzero(p.secret_txt, sizeof(p.secret_txt));
    if (rc < 0)
        nmd_cert_wipe(c);
    return rc;
}

int nmd_cert_load(nmd_cert *c, const char *path, char *err, size_t errsz)
{
    memset(c, 0, sizeof(*c));
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        int rc = -errno;
        snprintf(err, errsz, "%s: cannot open: %s", path, strerror(errno));
        return rc;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        snprintf(err, errsz, "%s: not a regular file", path);
        return -EINVAL;
    }
    /* One byte more than allowed tells a file that grew past the limit. */
    char *buf = malloc(NMD_CERT_FILE_MAX + 1);
    if (buf == NULL) {
        close(fd);
        snprintf(err, errsz, "%s: out of memory", path);
        return -ENOMEM;
    }
    size_t len = 0;
    int rc = 0;
    while (len < NMD_CERT_FILE_MAX + 1) {
        ssize_t n = read(fd, buf + len, NMD_CERT_FILE_MAX + 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = -errno;
            snprintf(err, errsz, "%s: cannot read: %s", path, strerror(errno));
            break;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    if (rc == 0)
        rc = nmd_cert_parse(c, buf, len, path, err, errsz);
    sodium_memzero(buf, len);
    free(buf);
    return rc;
}

int nmd_cert_generate(nmd_cert *c)
{
    memset(c, 0, sizeof(*c));
    int rc = nm_curve_keypair(c->public_key, c->secret_key);
    if (rc == 0)
        c->has_secret = true;
    return rc;
}

int nmd_cert_set_meta(nmd_cert *c, const char *name, const char *value)
{
    size_t nlen = strlen(name), vlen = strlen(value);
    if (nlen > NMD_CERT_META_NAME_MAX || !cert_name_ok(name, nlen))
        return -EINVAL;
    if (vlen > NMD_CERT_META_VALUE_MAX || !cert_value_ok(value, vlen))
        return -EINVAL;
    if (strchr(value, '"') != NULL && strchr(value, '\'') != NULL)
        return -EINVAL; /* no ZPL quoting can hold it */
    nmd_cert_meta *m = NULL;
    for (int i = 0; i < c->nmeta && m == NULL; i++)
        if (strcmp(c->meta[i].name, name) == 0)
            m = &c->meta[i];
    if (m == NULL) {
        if (c->nmeta == NMD_CERT_META_MAX)
            return -ENOSPC;
        m = &c->meta[c->nmeta++];
    }
    memcpy(m->name, name, nlen + 1);
    memcpy(m->value, value, vlen + 1);
    return 0;
}

const char *nmd_cert_meta_get(const nmd_cert *c, const char *name)
{
    for (int i = 0; i < c->nmeta; i++)
        if (strcmp(c->meta[i].name, name) == 0)
            return c->meta[i].value;
    return NULL;
}

void nmd_cert_wipe(nmd_cert *c)
{
    sodium_memzero(c, sizeof(*c));
}
