/*
 * test_engine_corpus.c - replays every seed of the engine fuzzer's corpus
 * (tests/fuzz/corpus/engine/) through the fuzzer's own harness (tests/fuzz/
 * engine_harness.c: a real nomid socket and a plain AF_UNIX peer), so that the corpus
 * cannot silently stop reaching the engine's interesting states:
 *   - every run ends with nomid closing the connection, its output valid ZMTP;
 *   - every socket type has a seed whose handshake completes (HANDSHAKE_SUCCEEDED for
 *     the run's endpoint, and nomid's READY with its Socket-Type on the wire), and data
 *     flows (the nomid socket receives the seed's message, or for PUB and PUSH the peer
 *     receives nomid's);
 *   - seeds named TYPE-ok-* complete the handshake, TYPE-reject-* are refused;
 *   - regress-identity-4000 (a READY whose Identity is 4000 bytes, which once
 *     overflowed the pipe's routing id) is refused, under ASan, without a report.
 * The corpus is found next to this file (NOMID_ENGINE_CORPUS overrides it).
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../fuzz/engine_harness.c"

static const eh_opts corpus_opts = {.settle_us = 100000, .eof_ms = 5000, .max_waits = 48};

/* tests/fuzz/corpus/engine, from this file's path (tests/lib/engine/...). */
static void corpus_dir(char *buf, size_t cap)
{
    const char *env = getenv("NOMID_ENGINE_CORPUS");
    if (env != NULL) {
        snprintf(buf, cap, "%s", env);
        return;
    }
    snprintf(buf, cap, "%s", __FILE__);
    char *cut = strstr(buf, "/lib/engine/test_engine_corpus.c");
    assert_non_null(cut);
    snprintf(cut, cap - (size_t)(cut - buf), "/fuzz/corpus/engine");
}

static uint8_t *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 4096;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        if (got == 0)
            break;
        n += got;
    }
    fclose(f);
    *len = n;
    return buf;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int corpus_setup(void **state)
{
    (void)state;
    return eh_init() == 0 ? 0 : -1;
}

static int corpus_teardown(void **state)
{
    (void)state;
    eh_fini();
    return 0;
}

static void test_corpus(void **state)
{
    (void)state;
    char dir[1024];
    corpus_dir(dir, sizeof(dir));
    DIR *d = opendir(dir);
    if (d == NULL)
        fail_msg("cannot open the corpus %s", dir);
    char **names = NULL;
    size_t nnames = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        names = realloc(names, (nnames + 1) * sizeof(*names));
        assert_non_null(names);
        names[nnames++] = strdup(de->d_name);
    }
    closedir(d);
    qsort(names, nnames, sizeof(*names), name_cmp);

    bool hs[12] = {0}, data[12] = {0}, regress = false;
    int failures = 0;
    for (size_t i = 0; i < nnames; i++) {
        char path[1400];
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        size_t len;
        uint8_t *buf = read_all(path, &len);
        eh_result r;
        int rc = eh_run(buf, len, &corpus_opts, &r);
        free(buf);
        const char *n = names[i];
        print_message("%-28s type %-2d %-7s hs %d/%d ready %d in %d sent %d peer msgs %d "
                      "pings %d pongs %d%s%s\n",
                      n, r.type, r.connect_role ? "connect" : "bind", r.hs_ok, r.hs_failed,
                      r.peer_ready, r.nm_msgs, r.nm_sent, r.peer_msgs, r.peer_pings, r.peer_pongs,
                      r.fail_reason[0] ? " failed: " : "", r.fail_reason);
        bool ok = rc >= 0;
        if (rc < 0)
            print_error("%s: harness failure %d\n", n, rc);
        if (rc == 0 && !r.closed) {
            print_error("%s: nomid did not close after the half-close\n", n);
            ok = false;
        }
        if (r.peer_bad) {
            print_error("%s: nomid sent invalid ZMTP: %s\n", n, r.peer_bad_why);
            ok = false;
        }
        if (r.hs_ok && r.hs_failed) {
            print_error("%s: handshake both succeeded and failed\n", n);
            ok = false;
        }
        bool established = r.hs_ok && (r.type == NM_STREAM || (r.peer_greeting && r.peer_ready));
        if (strstr(n, "-ok-") != NULL && !established) {
            print_error("%s: the handshake did not complete\n", n);
            ok = false;
        }
        if (strstr(n, "-reject-") != NULL && (r.hs_ok || !r.hs_failed)) {
            print_error("%s: the handshake was not refused\n", n);
            ok = false;
        }
        if (strcmp(n, "regress-identity-4000") == 0) {
            regress = true;
            if (r.hs_ok || !r.hs_failed || strstr(r.fail_reason, "identity") == NULL) {
                print_error("%s: the 4000-byte Identity was not refused as such\n", n);
                ok = false;
            }
        }
        if (established) {
            hs[r.type] = true;
            bool flows = r.type == NM_PUB || r.type == NM_PUSH ? r.peer_msgs > 0 : r.nm_msgs > 0;
            if (flows && strstr(n, "-ok-") != NULL)
                data[r.type] = true;
        }
        failures += !ok;
        free(names[i]);
    }
    free(names);

    for (int t = 0; t < 12; t++) {
        if (!hs[t]) {
            print_error("no seed completes a handshake with a %s socket\n", eh_type_names[t]);
            failures++;
        } else if (!data[t]) {
            print_error("no -ok- seed passes data through a %s socket\n", eh_type_names[t]);
            failures++;
        }
    }
    if (!regress) {
        print_error("regress-identity-4000 is missing from %s\n", dir);
        failures++;
    }
    assert_int_equal(failures, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_corpus, corpus_setup, corpus_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
