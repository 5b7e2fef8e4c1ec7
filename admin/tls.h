/*
 * tls.h - the admin endpoint's HTTPS material: its certificate and private key (PEM
 * files, read with a bounded size and checked to belong together before the server
 * starts), the hash of the certificate's public key that its beacons carry and peers pin,
 * and the CA bundle peers' certificates are checked against (discovery/BEACON.md, admin
 * in README).  GnuTLS parses; nothing here touches the network.
 */
#ifndef NMA_TLS_H
#define NMA_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "beacon.h" /* NMD_PIN_SIZE */

#define NMA_TLS_FILE_MAX (256 * 1024) /* largest certificate, key or CA file read */
#define NMA_PIN_TEXT_MAX 53           /* "sha256//" + 44 base64 characters + NUL */

typedef struct nma_tls {
    char *cert;                /* the certificate (and its chain), PEM, NUL-terminated */
    char *key;                 /* its private key, PEM, NUL-terminated (wiped when freed) */
    size_t key_size;           /* bytes allocated for key (all wiped) */
    uint8_t pin[NMD_PIN_SIZE]; /* SHA-256 of the certificate's SubjectPublicKeyInfo (DER) */
} nma_tls;

/* Whether this libmicrohttpd can serve HTTPS (built with GnuTLS). */
bool nma_tls_supported(void);

/* Reads and checks cert_path and key_path into t: each a PEM file of at most
 * NMA_TLS_FILE_MAX bytes, the key unencrypted and the one of the (first) certificate.
 * 0, or a negative errno-style code with the reason in err[cap]. */
int nma_tls_load(nma_tls *t, const char *cert_path, const char *key_path, char *err, size_t cap);
/* Wipes the key and frees; t may be zeroed. */
void nma_tls_fini(nma_tls *t);

/* Reads a CA bundle (PEM, at least one certificate, at most NMA_TLS_FILE_MAX bytes) into a
 * malloc'd *pem of *len bytes.  0, or a negative code with the reason in err[cap]. */
int nma_tls_ca_load(const char *path, char **pem, size_t *len, char *err, size_t cap);

/* The pin as libcurl's CURLOPT_PINNEDPUBLICKEY takes it: "sha256//" + base64. */
void nma_tls_pin_text(const uint8_t pin[NMD_PIN_SIZE], char out[NMA_PIN_TEXT_MAX]);

#endif
