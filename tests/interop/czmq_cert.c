/*
 * czmq_cert.c - the CZMQ side of test_keygen.py: Debian's libczmq (zcert, zcertstore)
 * reading the certificates `nomid keygen` writes and writing ones nomid reads.
 * test_keygen.py builds it with `cc czmq_cert.c $(pkg-config --cflags --libs libczmq
 * libzmq)`.  Output lines (stdout):
 *
 *   czmq_cert load FILE           zcert_load(FILE) (which prefers FILE_secret):
 *                                 public-key Z85 / secret-key Z85 /
 *                                 secret-public Z85 (zmq_curve_public of the secret key,
 *                                 "none" for a zero key) / meta NAME VALUE...
 *   czmq_cert save FILE [N=V]...  zcert_new, zcert_set_meta each pair, zcert_save(FILE):
 *                                 public-key Z85 / secret-key Z85
 *   czmq_cert store DIR Z85       zcertstore_new(DIR), zcertstore_lookup(Z85):
 *                                 found NAME (its "name" metadata), or exit 1
 *
 * Exit 0 on success, 1 when CZMQ could not do it, 2 on bad arguments.
 */
#include <stdio.h>
#include <string.h>

#include <czmq.h>

static int cert_load(const char *file)
{
    zcert_t *c = zcert_load(file);
    if (c == NULL) {
        fprintf(stderr, "zcert_load(%s) failed\n", file);
        return 1;
    }
    printf("public-key %s\n", zcert_public_txt(c));
    printf("secret-key %s\n", zcert_secret_txt(c));
    char derived[41];
    if (strcmp(zcert_secret_txt(c), "0000000000000000000000000000000000000000") == 0)
        printf("secret-public none\n");
    else if (zmq_curve_public(derived, zcert_secret_txt(c)) == 0)
        printf("secret-public %s\n", derived);
    else
        printf("secret-public error\n");
    zlist_t *keys = zcert_meta_keys(c);
    for (char *k = zlist_first(keys); k != NULL; k = zlist_next(keys))
        printf("meta %s %s\n", k, zcert_meta(c, k));
    zlist_destroy(&keys);
    zcert_destroy(&c);
    return 0;
}

static int cert_save(const char *file, int n, char **pairs)
{
    zcert_t *c = zcert_new();
    if (c == NULL)
        return 1;
    for (int i = 0; i < n; i++) {
        char *eq = strchr(pairs[i], '=');
        if (eq == NULL) {
            zcert_destroy(&c);
            return 2;
        }
        *eq = '\0';
        zcert_set_meta(c, pairs[i], "%s", eq + 1);
    }
    int rc = zcert_save(c, file);
    if (rc == 0) {
        printf("public-key %s\n", zcert_public_txt(c));
        printf("secret-key %s\n", zcert_secret_txt(c));
    } else
        fprintf(stderr, "zcert_save(%s) failed\n", file);
    zcert_destroy(&c);
    return rc == 0 ? 0 : 1;
}

static int cert_store(const char *dir, const char *key)
{
    zcertstore_t *s = zcertstore_new(dir);
    if (s == NULL)
        return 1;
    zcert_t *c = zcertstore_lookup(s, key);
    int rc = 1;
    if (c != NULL) {
        const char *name = zcert_meta(c, "name");
        printf("found %s\n", name != NULL ? name : "(no name)");
        rc = 0;
    }
    zcertstore_destroy(&s);
    return rc;
}

int main(int argc, char **argv)
{
    zsys_init();
    if (argc == 3 && strcmp(argv[1], "load") == 0)
        return cert_load(argv[2]);
    if (argc >= 3 && strcmp(argv[1], "save") == 0)
        return cert_save(argv[2], argc - 3, argv + 3);
    if (argc == 4 && strcmp(argv[1], "store") == 0)
        return cert_store(argv[2], argv[3]);
    fprintf(stderr, "usage: czmq_cert load FILE | save FILE [N=V]... | store DIR Z85\n");
    return 2;
}
