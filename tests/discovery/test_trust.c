/*
 * test_trust.c - CURVE keys from discovery records (discovery/trust.c): kept from an
 * authentic record or when unsigned keys are trusted, otherwise dropped (flag cleared,
 * key zeroed, other fields untouched) with one log line per peer, however many records
 * it sends, even past the number of peers remembered.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "registry.h"
#include "trust.h"

/* Runs nmd_trust_filter with stderr going to a file; returns the lines it logged. */
static int filter_lines(nmd_trust *t, int backend, uint8_t id0, bool authentic, nmd_service *s,
                        size_t n, size_t *dropped)
{
    uint8_t id[16] = {id0};
    FILE *f = tmpfile();
    assert_non_null(f);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_true(dup2(fileno(f), STDERR_FILENO) >= 0);
    *dropped = nmd_trust_filter(t, backend, id, "10.0.0.9", authentic, s, n);
    fflush(stderr);
    assert_true(dup2(saved, STDERR_FILENO) >= 0);
    close(saved);
    rewind(f);
    int lines = 0;
    char buf[2048];
    while (fgets(buf, sizeof(buf), f) != NULL)
        lines += strstr(buf, "CURVE key of service 'b'") != NULL && strstr(buf, "10.0.0.9") != NULL;
    fclose(f);
    return lines;
}

static void make(nmd_service s[3])
{
    memset(s, 0, 3 * sizeof(*s));
    for (int i = 0; i < 3; i++) {
        snprintf(s[i].name, sizeof(s[i].name), "%c", 'a' + i);
        snprintf(s[i].endpoint, sizeof(s[i].endpoint), "tcp://10.0.0.9:%d", i + 1);
        s[i].type = 4;
        s[i].has_key = i > 0;
        if (s[i].has_key)
            memset(s[i].curve_key, 0x70 + i, sizeof(s[i].curve_key));
    }
}

static void test_kept(void **state)
{
    (void)state;
    nmd_trust t;
    nmd_service s[3];
    size_t dropped;
    nmd_trust_init(&t, false, false);
    make(s);
    assert_int_equal(filter_lines(&t, NMD_BACKEND_BEACON, 1, true, s, 3, &dropped), 0);
    assert_int_equal(dropped, 0);
    assert_true(s[1].has_key && s[2].has_key && s[2].curve_key[31] == 0x72);
    nmd_trust_fini(&t);
    nmd_trust_init(&t, true, false); /* trust_unsigned_keys */
    assert_int_equal(filter_lines(&t, NMD_BACKEND_BEACON, 1, false, s, 3, &dropped), 0);
    assert_int_equal(dropped, 0);
    assert_true(s[1].has_key && s[2].has_key);
    nmd_trust_fini(&t);
    /* With a fleet key, a record that does not check is never trusted. */
    nmd_trust_init(&t, true, true);
    assert_int_equal(filter_lines(&t, NMD_BACKEND_ETCD, 1, false, s, 3, &dropped), 1);
    assert_int_equal(dropped, 2);
    assert_false(s[1].has_key || s[2].has_key);
    nmd_trust_fini(&t);
}

static void test_dropped_and_logged_once(void **state)
{
    (void)state;
    nmd_trust t;
    nmd_service s[3];
    uint8_t zero[32] = {0};
    size_t dropped;
    nmd_trust_init(&t, false, false);
    make(s);
    assert_int_equal(filter_lines(&t, NMD_BACKEND_BEACON, 1, false, s, 3, &dropped), 1);
    assert_int_equal(dropped, 2);
    for (int i = 0; i < 3; i++) {
        assert_false(s[i].has_key);
        assert_memory_equal(s[i].curve_key, zero, 32);
        assert_int_equal(s[i].type, 4);
    }
    assert_string_equal(s[2].endpoint, "tcp://10.0.0.9:3");
    /* The same peer again: dropped, not logged; another backend's view of it is
     * another peer. */
    make(s);
    assert_int_equal(filter_lines(&t, NMD_BACKEND_BEACON, 1, false, s, 3, &dropped), 0);
    assert_int_equal(dropped, 2);
    make(s);
    assert_int_equal(filter_lines(&t, NMD_BACKEND_ETCD, 1, false, s, 3, &dropped), 1);
    /* Nothing keyed: nothing to say. */
    assert_int_equal(filter_lines(&t, NMD_BACKEND_BEACON, 2, false, s, 1, &dropped), 0);
    assert_int_equal(dropped, 0);
    /* More peers than remembered: the oldest is logged again, the newest is not. */
    for (int p = 3; p < 3 + NMD_TRUST_LOGGED; p++) {
        make(s);
        assert_int_equal(filter_lines(&t, NMD_BACKEND_BEACON, (uint8_t)p, false, s, 3, &dropped),
                         1);
    }
    make(s);
    assert_int_equal(filter_lines(&t, NMD_BACKEND_BEACON, 1, false, s, 3, &dropped), 1);
    make(s);
    assert_int_equal(
        filter_lines(&t, NMD_BACKEND_BEACON, 2 + NMD_TRUST_LOGGED, false, s, 3, &dropped), 0);
    nmd_trust_fini(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kept),
        cmocka_unit_test(test_dropped_and_logged_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
