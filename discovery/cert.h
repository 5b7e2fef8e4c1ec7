/*
 * cert.h - CURVE certificates in CZMQ's file format (zcert, zcertstore): what
 * `nomid keygen` writes, `--curve-cert FILE` (this node's secret certificate) and
 * `--curve-allow DIR` (the public certificates of those who may connect) read.
 *
 * The format is ZPL (ZeroMQ RFC 4) as CZMQ's zconfig reads and writes it:
 *
 *     #   ****  Generated on 2026-12-05 15:45:32 UTC by nomid  ****
 *     #   ZeroMQ CURVE **Secret** Certificate
 *     #   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.
 *
 *     metadata
 *         name = "camera-front"
 *     curve
 *         public-key = "g9OuuyrfqVyAVY%/DL#CqKt&PG.[9PbEr8%e=3hr"
 *         secret-key = "U[XOCt+PVb5BFSoX}97.2K&7$*1>a/CBEkJXD56r"
 *
 * A line is blank, a comment (`#` after optional spaces), or an indentation of 4 spaces
 * per level (never tabs), a name (letters, digits and `$-_@.&+/`, not starting or ending
 * with `/`), then optionally `=` and a value: "quoted", 'quoted' (up to the first
 * matching quote, no escapes) or bare (up to a `#`, trailing spaces dropped); a `#`
 * comment may follow.  A level is at most one deeper than the line before.  Trailing
 * spaces and a CR before the newline are ignored; control bytes in a value, and a NUL
 * anywhere, are refused.
 *
 * A certificate has a `curve` section with `public-key` (40 Z85 characters, 32 bytes)
 * and, in a secret certificate, `secret-key`, whose public key must be `public-key`;
 * and an optional `metadata` section of name = value pairs (CZMQ's zcert_set_meta).
 * Other sections and names are ignored; a second public-key, secret-key or metadata
 * name is an error.  A public file is NAME, its secret twin NAME_secret (mode 0600).
 * (CZMQ saving a certificate it loaded from a public file writes a secret key of 40
 * '0's, zero bytes: that is refused like any key that is not the public key's.)
 *
 * Limits (everything read is hostile: a violation is an error naming file and line):
 * NMD_CERT_FILE_MAX bytes per file, NMD_CERT_LINE_MAX per line, NMD_CERT_META_MAX
 * metadata pairs with names of at most NMD_CERT_META_NAME_MAX bytes and values of at
 * most NMD_CERT_META_VALUE_MAX; NMD_CERT_DIR_MAX entries in a directory of certificates
 * and its subdirectories, NMD_CERT_DIR_DEPTH levels deep.
 *
 * Where nomid differs from CZMQ: nmd_cert_load reads exactly the file it is given
 * (zcert_load prefers NAME_secret when it exists); a directory's symbolic links to
 * directories are not followed; values are written with ' quotes when they hold a "
 * (zcert_save writes "a"b", which zconfig cannot read back).  As in CZMQ, a directory's
 * hidden entries and its *_secret files are skipped and subdirectories are searched.
 */
#ifndef NMD_CERT_H
#define NMD_CERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NMD_CERT_KEY_LEN        32        /* bytes of a CURVE key */
#define NMD_CERT_Z85_LEN        40        /* its Z85 text */
#define NMD_CERT_FILE_MAX       65536     /* bytes of one certificate file */
#define NMD_CERT_LINE_MAX       1024      /* bytes of one line, newline excluded */
#define NMD_CERT_META_MAX       16        /* metadata pairs kept */
#define NMD_CERT_META_NAME_MAX  63        /* bytes of a metadata name */
#define NMD_CERT_META_VALUE_MAX 255       /* bytes of a metadata value */
#define NMD_CERT_DIR_MAX        1024      /* entries of a certificate directory, in all */
#define NMD_CERT_DIR_DEPTH      8         /* levels of subdirectories searched */
#define NMD_CERT_SECRET_SUFFIX  "_secret" /* NAME_secret holds both keys */

/* One metadata pair: a ZPL name and a value without control bytes. */
typedef struct nmd_cert_meta {
    char name[NMD_CERT_META_NAME_MAX + 1];   /* NUL-terminated */
    char value[NMD_CERT_META_VALUE_MAX + 1]; /* NUL-terminated, may be empty */
} nmd_cert_meta;

/* A certificate in memory. */
typedef struct nmd_cert {
    uint8_t public_key[NMD_CERT_KEY_LEN]; /* always set */
    uint8_t secret_key[NMD_CERT_KEY_LEN]; /* zeros unless has_secret */
    bool has_secret;                      /* read from (or to be written to) NAME_secret */
    int nmeta;                            /* pairs in meta, in file order */
    nmd_cert_meta meta[NMD_CERT_META_MAX];
} nmd_cert;

/* A new key pair (libsodium through nm_curve_keypair), no metadata.  0 or negative. */
int nmd_cert_generate(nmd_cert *c);
/* Adds or replaces a metadata pair.  -EINVAL for a name that is not a ZPL name or too
 * long, a value too long, with a control byte or with both kinds of quotes; -ENOSPC when
 * NMD_CERT_META_MAX pairs are set. */
int nmd_cert_set_meta(nmd_cert *c, const char *name, const char *value);
/* The value of a metadata name, or NULL. */
const char *nmd_cert_meta_get(const nmd_cert *c, const char *name);
/* Zeroes the certificate (its secret key first of all). */
void nmd_cert_wipe(nmd_cert *c);

/* Parses text[0..len) (no NUL needed; a NUL byte is an error).  what names the source in
 * messages ("FILE:LINE: reason" into err).  0, -EINVAL (malformed, err says why) or
 * -EFBIG (over a limit). */
int nmd_cert_parse(nmd_cert *c, const char *text, size_t len, const char *what, char *err,
                   size_t errsz);
/* Reads and parses the file at path (a regular file of at most NMD_CERT_FILE_MAX bytes).
 * 0, or a negative errno-style code with a message naming the file in err. */
int nmd_cert_load(nmd_cert *c, const char *path, char *err, size_t errsz);

/* The file text of c: the public certificate, or with secret (needs has_secret) the
 * secret one.  Writes at most cap bytes and a NUL into buf; the length it needs (without
 * the NUL), or a negative code: -EINVAL also for a metadata value holding both ' and "
 * (which a bare value in a file may; no ZPL quoting holds it). */
int nmd_cert_format(const nmd_cert *c, bool secret, char *buf, size_t cap);
/* Writes path (public, mode 0644 less the umask) and path_secret (mode 0600), each
 * through a hidden temporary file in the same directory moved into place; c must have
 * its secret key.  0 or negative, err says why; nothing is written on -EEXIST (without
 * force, either exists; with force, either is a directory or another non-file) or
 * -EINVAL (no secret key; path ends in "/", "." or ".."). */
int nmd_cert_save(const nmd_cert *c, const char *path, bool force, char *err, size_t errsz);

/* Certificates of a directory (an allow list), sorted by file name. */
typedef struct nmd_cert_list {
    nmd_cert *certs; /* heap array of n */
    int n;           /* certificates loaded */
    int cap;         /* slots allocated */
} nmd_cert_list;

/* Called for each entry of the directory that is not loaded, with its path and why. */
typedef void nmd_cert_skip_cb(void *arg, const char *path, const char *reason);

/* Appends to l every regular, non-hidden file of dir and its subdirectories not ending
 * in _secret that parses as a certificate, secret keys dropped (CZMQ's certificate
 * store), in name order, a subdirectory's files where its name sorts.  Anything else is
 * passed to skip_cb (may be NULL) and skipped, so is a file whose public key an earlier
 * one had.  Returns the count loaded (0 is not an error), or a negative code (dir
 * unreadable, over NMD_CERT_DIR_MAX entries in all, out of memory) with err set. */
int nmd_cert_dir_load(nmd_cert_list *l, const char *dir, nmd_cert_skip_cb *skip_cb, void *arg,
                      char *err, size_t errsz);
/* The list's certificate of this public key, or NULL. */
const nmd_cert *nmd_cert_list_find(const nmd_cert_list *l,
                                   const uint8_t public_key[NMD_CERT_KEY_LEN]);
/* Frees the list's certificates; the list is empty and reusable after. */
void nmd_cert_list_fini(nmd_cert_list *l);

#endif /* NMD_CERT_H */
