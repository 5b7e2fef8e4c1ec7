/*
 * test_tls.c - the admin endpoint's HTTPS material (admin/tls.c): a certificate and its
 * key load and give the key hash openssl computes for the same certificate; a key that
 * is not the certificate's, a key given as the certificate, a missing, empty, oversized
 * or directory file, and a CA file without a certificate are refused with a reason
 * naming the file.  The certificate and keys below are throwaway test material
 * (self-signed, P-256), made for this test only.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tls.h"

static const char cert1[] = "-----BEGIN CERTIFICATE-----\n"
                            "MIIBjDCCATGgAwIBAgIUdzP6kFxd94Q9evLCGV2AHQo1IwUwCgYIKoZIzj0EAwIw\n"
                            "GjEYMBYGA1UEAwwPbm9taWQgdW5pdCB0ZXN0MCAXDTI2MTIwNTE1NDU0NVoYDzIx\n"
                            "MjYxMTExMTU0NTQ1WjAaMRgwFgYDVQQDDA9ub21pZCB1bml0IHRlc3QwWTATBgcq\n"
                            "hkjOPQIBBggqhkjOPQMBBwNCAARMyB3a9sju09eZ4wVBKg7KdZhc6DUzdJbpkLuB\n"
                            "SkPMXcJqFjrgdstba14rYByXKHyPN9SUdqONftRaM4kCVq+Ao1MwUTAdBgNVHQ4E\n"
                            "FgQUfR2aReyn+Zi0Eb5IUMdqo6Ev6QYwHwYDVR0jBBgwFoAUfR2aReyn+Zi0Eb5I\n"
                            "UMdqo6Ev6QYwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNJADBGAiEAnPJN\n"
                            "/Y+125iR0xcAdiE99bV+7xqHphby+4Mke+4DXJQCIQCv/cg+Ju9jdIBQW5oxJZdm\n"
                            "YQjYeSsqSKYDi/kmonFCBg==\n"
                            "-----END CERTIFICATE-----\n";
static const char key1[] = "-----BEGIN PRIVATE KEY-----\n"
                           "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg+Eu9Xh0AxyDz0I8Y\n"
                           "zXP2Vewm9wUALt7zoBE+mnoCafKhRANCAARMyB3a9sju09eZ4wVBKg7KdZhc6DUz\n"
                           "dJbpkLuBSkPMXcJqFjrgdstba14rYByXKHyPN9SUdqONftRaM4kCVq+A\n"
                           "-----END PRIVATE KEY-----\n";
static const char key2[] = /* another key: not cert1's */
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg1uQJKL69tg4MXUu5\n"
    "D/5pYn3de5F2I2/seuBtdxq4SkqhRANCAATABtDGPJHmBx6tmBWQyc5hT9ux7iEq\n"
    "PhyEpP48DLfd/BgND+6ayjLinx71ToGVeOVBjkSpHHmRjOcQjT0aKI7F\n"
    "-----END PRIVATE KEY-----\n";
/* openssl x509 -in cert1 -pubkey -noout | openssl pkey -pubin -outform DER |
 * openssl dgst -sha256 -binary | base64 */
static const char pin1[] = "sha256//O1MPozFJbaCg4DHRro+0kXjJlG+Wk0JILNC+EGeNwkw=";

static char dir[64];

static const char *file(const char *name, const char *text, size_t len)
{
    static char paths[8][128];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, 128, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    fclose(f);
    return p;
}

static int setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/nomid-test-tls-XXXXXX");
    return mkdtemp(dir) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd);
}

static void expect_error(const char *cert, const char *key, const char *want)
{
    nma_tls t;
    char err[512] = "";
    assert_true(nma_tls_load(&t, cert, key, err, sizeof(err)) < 0);
    if (strstr(err, want) == NULL)
        fail_msg("error '%s' does not say '%s'", err, want);
    assert_null(t.cert);
    assert_null(t.key);
}

static void test_load_and_pin(void **state)
{
    (void)state;
    nma_tls t;
    char err[512] = "", pin[NMA_PIN_TEXT_MAX];
    const char *c = file("c1.pem", cert1, strlen(cert1)), *k = file("k1.pem", key1, strlen(key1));
    assert_int_equal(nma_tls_load(&t, c, k, err, sizeof(err)), 0);
    assert_string_equal(t.cert, cert1);
    assert_string_equal(t.key, key1);
    nma_tls_pin_text(t.pin, pin);
    assert_string_equal(pin, pin1);
    nma_tls_fini(&t);
    assert_null(t.key);
}

static void test_refused(void **state)
{
    (void)state;
    const char *c = file("c1.pem", cert1, strlen(cert1)), *k = file("k1.pem", key1, strlen(key1));
    const char *k2 = file("k2.pem", key2, strlen(key2));
    char *big = calloc(1, NMA_TLS_FILE_MAX + 1);
    assert_non_null(big);
    memset(big, 'A', NMA_TLS_FILE_MAX + 1);
    const char *huge = file("big.pem", big, NMA_TLS_FILE_MAX + 1);
    free(big);
    expect_error(c, k2, "does not hold the private key of the certificate");
    expect_error(k, k, "not a PEM certificate");
    expect_error(c, c, "not an unencrypted PEM private key");
    expect_error("/nonexistent/c.pem", k, "/nonexistent/c.pem: No such file");
    expect_error(c, file("empty.pem", "", 0), "empty");
    expect_error(huge, k, "larger than 256 KiB");
    expect_error(dir, k, "cannot be read");
}

static void test_ca(void **state)
{
    (void)state;
    char *pem = NULL, err[512] = "";
    size_t len = 0;
    const char *c = file("c1.pem", cert1, strlen(cert1)), *k = file("k1.pem", key1, strlen(key1));
    assert_int_equal(nma_tls_ca_load(c, &pem, &len, err, sizeof(err)), 0);
    assert_int_equal(len, strlen(cert1));
    assert_string_equal(pem, cert1);
    free(pem);
    pem = NULL;
    assert_true(nma_tls_ca_load(k, &pem, &len, err, sizeof(err)) < 0);
    assert_null(pem);
    assert_non_null(strstr(err, "not a PEM file of CA certificates"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_and_pin),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_ca),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
