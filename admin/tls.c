/*
 * tls.c - the admin endpoint's certificate, key and CA bundle (see tls.h).
 *
 * Each file is read whole, at most NMA_TLS_FILE_MAX bytes, and parsed by GnuTLS (the
 * library libmicrohttpd serves HTTPS with) before the server starts, so that a wrong
 * file is an error naming it at startup rather than a server that fails every handshake.
 * What peers pin is the SHA-256 of the certificate's SubjectPublicKeyInfo in DER, the
 * hash libcurl's CURLOPT_PINNEDPUBLICKEY compares ("sha256//" + base64): it stays the
 * same when the certificate is renewed with the same key.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <sodium.h>

#include "tls.h"

bool nma_tls_supported(void)
{
    return MHD_is_feature_supported(MHD_FEATURE_TLS) == MHD_YES;
}

/* Reads path whole into a malloc'd, NUL-terminated *out of *len bytes (plus the NUL);
 * *size is what was allocated, for wiping a secret. */
static int tls_read(const char *path, bool secret, char **out, size_t *len, size_t *size, char *err,
                    size_t cap)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        int e = errno;
        snprintf(err, cap, "%s: %s", path, strerror(e));
        return -e;
    }
    char *buf = malloc(NMA_TLS_FILE_MAX + 1);
    size_t n = buf != NULL ? fread(buf, 1, NMA_TLS_FILE_MAX + 1, f) : 0;
    bool failed = ferror(f) != 0;
    fclose(f);
    if (buf == NULL) {
        snprintf(err, cap, "%s: out of memory", path);
        return -ENOMEM;
    }
    int rc = 0;
    if (failed) {
        snprintf(err, cap, "%s: cannot be read (a directory?)", path);
        rc = -EIO;
    } else if (n > NMA_TLS_FILE_MAX) {
        snprintf(err, cap, "%s: larger than %d KiB, not a PEM file of this kind", path,
                 NMA_TLS_FILE_MAX / 1024);
        rc = -EFBIG;
    } else if (n == 0) {
        snprintf(err, cap, "%s: empty", path);
        rc = -EINVAL;
    }
    if (rc < 0) {
        sodium_memzero(buf, NMA_TLS_FILE_MAX + 1);
        free(buf);
        return rc;
    }
    buf[n] = '\0';
    *size = NMA_TLS_FILE_MAX + 1;
    if (!secret) { /* a key is not moved: realloc would leave a copy behind, unwiped */
        char *fit = realloc(buf, n + 1);
        buf = fit != NULL ? fit : buf;
        *size = fit != NULL ? n + 1 : *size;
    }
    *out = buf;
    *len = n;
    return 0;
}

static gnutls_datum_t tls_datum(const char *text, size_t len)
{
    return (gnutls_datum_t){.data = (unsigned char *)text, .size = (unsigned)len};
}

/* The SHA-256 of the first certificate's SubjectPublicKeyInfo. */
static int tls_pin(const gnutls_datum_t *cert, const char *path, uint8_t pin[NMD_PIN_SIZE],
                   char *err, size_t cap)
{
    gnutls_x509_crt_t crt = NULL;
    gnutls_pubkey_t pub = NULL;
    gnutls_datum_t der = {NULL, 0};
    int rc = gnutls_x509_crt_init(&crt);
    if (rc >= 0 && (rc = gnutls_x509_crt_import(crt, cert, GNUTLS_X509_FMT_PEM)) < 0)
        snprintf(err, cap, "%s: not a PEM certificate (%s)", path, gnutls_strerror(rc));
    else if (rc >= 0 && (rc = gnutls_pubkey_init(&pub)) >= 0 &&
             (rc = gnutls_pubkey_import_x509(pub, crt, 0)) >= 0 &&
             (rc = gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER, &der)) >= 0)
        crypto_hash_sha256(pin, der.data, der.size);
    else if (rc < 0)
        snprintf(err, cap, "%s: cannot read the certificate's public key (%s)", path,
                 gnutls_strerror(rc));
    gnutls_free(der.data);
    if (pub != NULL)
        gnutls_pubkey_deinit(pub);
    if (crt != NULL)
        gnutls_x509_crt_deinit(crt);
    return rc < 0 ? -EINVAL : 0;
}

/* The key parses (unencrypted) and is the certificate's. */
static int tls_match(const gnutls_datum_t *cert, const gnutls_datum_t *key, const char *cert_path,
                     const char *key_path, char *err, size_t cap)
{
    gnutls_x509_privkey_t pk = NULL;
    int rc = gnutls_x509_privkey_init(&pk);
    if (rc >= 0 && (rc = gnutls_x509_privkey_import2(pk, key, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0)
        snprintf(err, cap, "%s: not an unencrypted PEM private key (%s)", key_path,
                 gnutls_strerror(rc));
    if (pk != NULL)
        gnutls_x509_privkey_deinit(pk);
    if (rc < 0)
        return -EINVAL;
    gnutls_certificate_credentials_t cred;
    if ((rc = gnutls_certificate_allocate_credentials(&cred)) < 0) {
        snprintf(err, cap, "%s", gnutls_strerror(rc));
        return -ENOMEM;
    }
    rc = gnutls_certificate_set_x509_key_mem2(cred, cert, key, GNUTLS_X509_FMT_PEM, NULL, 0);
    gnutls_certificate_free_credentials(cred);
    if (rc == GNUTLS_E_CERTIFICATE_KEY_MISMATCH)
        snprintf(err, cap, "%s does not hold the private key of the certificate in %s", key_path,
                 cert_path);
    else if (rc < 0)
        snprintf(err, cap, "%s and %s: %s", cert_path, key_path, gnutls_strerror(rc));
    return rc < 0 ? -EINVAL : 0;
}

int nma_tls_load(nma_tls *t, const char *cert_path, const char *key_path, char *err, size_t cap)
{
    memset(t, 0, sizeof(*t));
    size_t clen, klen, csize;
    int rc = tls_read(cert_path, false, &t->cert, &clen, &csize, err, cap);
    if (rc == 0)
        rc = tls_read(key_path, true, &t->key, &klen, &t->key_size, err, cap);
    if (rc == 0) {
        gnutls_datum_t cd = tls_datum(t->cert, clen), kd = tls_datum(t->key, klen);
        rc = tls_pin(&cd, cert_path, t->pin, err, cap);
        if (rc == 0)
            rc = tls_match(&cd, &kd, cert_path, key_path, err, cap);
    }
    if (rc < 0)
        nma_tls_fini(t);
    return rc;
}

void nma_tls_fini(nma_tls *t)
{
    if (t->key != NULL)
        sodium_memzero(t->key, t->key_size);
    free(t->key);
    free(t->cert);
    memset(t, 0, sizeof(*t));
}

int nma_tls_ca_load(const char *path, char **pem, size_t *len, char *err, size_t cap)
{
    size_t size;
    int rc = tls_read(path, false, pem, len, &size, err, cap);
    if (rc < 0)
        return rc;
    gnutls_x509_crt_t *list = NULL;
    unsigned n = 0;
    gnutls_datum_t d = tls_datum(*pem, *len);
    rc = gnutls_x509_crt_list_import2(&list, &n, &d, GNUTLS_X509_FMT_PEM, 0);
    for (unsigned i = 0; rc >= 0 && i < n; i++)
        gnutls_x509_crt_deinit(list[i]);
    gnutls_free(list);
    if (rc < 0 || n == 0) {
        snprintf(err, cap, "%s: not a PEM file of CA certificates (%s)", path,
                 rc < 0 ? gnutls_strerror(rc) : "none in it");
        free(*pem);
        *pem = NULL;
        return -EINVAL;
    }
    return 0;
}

void nma_tls_pin_text(const uint8_t pin[NMD_PIN_SIZE], char out[NMA_PIN_TEXT_MAX])
{
    memcpy(out, "sha256//", 8);
    sodium_bin2base64(out + 8, NMA_PIN_TEXT_MAX - 8, pin, NMD_PIN_SIZE,
                      sodium_base64_VARIANT_ORIGINAL);
}
