/*
 * fuzz_cert.c - libFuzzer target for the CURVE certificate parser (discovery/cert.c):
 * the input is a certificate file's bytes (`--curve-cert`, a file of a `--curve-allow`
 * directory, `nomid keygen --print`).  Whenever it parses, the certificate is written
 * out again (public and, when it has one, secret form) and parsed once more: keys and
 * metadata must survive the round trip, and a secret key must still belong to its
 * public key.  Any mismatch aborts, which libFuzzer reports.
 *
 * Build (from the repository root): clang-14 -g -O1 -std=c11 -D_GNU_SOURCE
 * -fsanitize=fuzzer,address,undefined -Ilib/include -Ilib -Idiscovery, this file,
 * discovery/cert.c, discovery/cert_save.c and every .c of lib/core, lib/engine,
 * lib/zmtp, lib/protocol, lib/transport and lib/platform (nm_z85_decode and
 * nm_curve_public come from libnomid), -lbsd -lsodium.
 * Seeds: tests/fuzz/corpus/cert/; tokens: tests/fuzz/cert.dict.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cert.h"

#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

static bool fuzz_both_quotes(const nmd_cert *c)
{
    for (int i = 0; i < c->nmeta; i++)
        if (strchr(c->meta[i].value, '"') != NULL && strchr(c->meta[i].value, '\'') != NULL)
            return true;
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static nmd_cert c, d;
    static char text[NMD_CERT_FILE_MAX + 1], err[256];
    int rc = nmd_cert_parse(&c, (const char *)data, size, "f", err, sizeof(err));
    FUZZ_CHECK(rc == 0 || rc == -EINVAL || rc == -EFBIG);
    FUZZ_CHECK((rc == 0) == (err[0] == '\0'));
    if (rc != 0)
        return 0;
    for (int secret = 0; secret <= (int)c.has_secret; secret++) {
        int n = nmd_cert_format(&c, secret, text, sizeof(text));
        if (fuzz_both_quotes(&c)) {
            FUZZ_CHECK(n == -EINVAL);
            return 0;
        }
        FUZZ_CHECK(n > 0 && (size_t)n < sizeof(text));
        FUZZ_CHECK(nmd_cert_parse(&d, text, (size_t)n, "g", err, sizeof(err)) == 0);
        FUZZ_CHECK(memcmp(c.public_key, d.public_key, NMD_CERT_KEY_LEN) == 0);
        FUZZ_CHECK(d.has_secret == (secret != 0));
        if (secret)
            FUZZ_CHECK(memcmp(c.secret_key, d.secret_key, NMD_CERT_KEY_LEN) == 0);
        FUZZ_CHECK(c.nmeta == d.nmeta);
        for (int i = 0; i < c.nmeta; i++) {
            FUZZ_CHECK(strcmp(c.meta[i].name, d.meta[i].name) == 0);
            FUZZ_CHECK(strcmp(c.meta[i].value, d.meta[i].value) == 0);
        }
    }
    return 0;
}
