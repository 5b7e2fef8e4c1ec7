/*
 * test_zmtp_types.c - unit tests for Socket-Type names and compatibility
 * (lib/zmtp/types.c), checked against the full RFC 37 table.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "include/nomid.h"
#include "zmtp/zmtp.h"

static void test_names(void **state)
{
    (void)state;
    static const char *const want[] = {"PAIR",   "PUB",  "SUB",  "REQ",  "REP",  "DEALER",
                                       "ROUTER", "PULL", "PUSH", "XPUB", "XSUB", "STREAM"};
    for (int t = NM_PAIR; t <= NM_STREAM; t++) {
        assert_string_equal(nmi_zmtp_type_name(t), want[t]);
        const char *n = nmi_zmtp_type_name(t);
        assert_int_equal(nmi_zmtp_type_parse((const uint8_t *)n, strlen(n)), t);
    }
    assert_null(nmi_zmtp_type_name(-1));
    assert_null(nmi_zmtp_type_name(NM_STREAM + 1));
}

static void test_parse_rejects(void **state)
{
    (void)state;
    assert_int_equal(nmi_zmtp_type_parse((const uint8_t *)"req", 3), -EPROTO);
    assert_int_equal(nmi_zmtp_type_parse((const uint8_t *)"RE", 2), -EPROTO);
    assert_int_equal(nmi_zmtp_type_parse((const uint8_t *)"REQQ", 4), -EPROTO);
    assert_int_equal(nmi_zmtp_type_parse((const uint8_t *)"REQ\0", 4), -EPROTO);
    assert_int_equal(nmi_zmtp_type_parse((const uint8_t *)"", 0), -EPROTO);
}

static void test_compatibility_table(void **state)
{
    (void)state;
    static const int valid[][2] = {
        {NM_REQ, NM_REP},       {NM_REQ, NM_ROUTER},    {NM_REP, NM_DEALER}, {NM_DEALER, NM_DEALER},
        {NM_DEALER, NM_ROUTER}, {NM_ROUTER, NM_ROUTER}, {NM_PUB, NM_SUB},    {NM_PUB, NM_XSUB},
        {NM_XPUB, NM_SUB},      {NM_XPUB, NM_XSUB},     {NM_PUSH, NM_PULL},  {NM_PAIR, NM_PAIR},
    };
    const size_t nvalid = sizeof(valid) / sizeof(valid[0]);
    /* Every ordered pair of known types: allowed exactly when in the table. */
    for (int a = NM_PAIR; a <= NM_STREAM; a++) {
        for (int b = NM_PAIR; b <= NM_STREAM; b++) {
            bool want = false;
            for (size_t i = 0; i < nvalid; i++) {
                if ((valid[i][0] == a && valid[i][1] == b) ||
                    (valid[i][0] == b && valid[i][1] == a))
                    want = true;
            }
            if (nmi_zmtp_types_compatible(a, b) != want)
                fail_msg("%s-%s: expected %s", nmi_zmtp_type_name(a), nmi_zmtp_type_name(b),
                         want ? "compatible" : "incompatible");
        }
    }
    assert_false(nmi_zmtp_types_compatible(NM_PUB, NM_REP));
    assert_false(nmi_zmtp_types_compatible(NM_REQ, NM_REQ));
    assert_false(nmi_zmtp_types_compatible(NM_PUB, NM_PUB));
    assert_false(nmi_zmtp_types_compatible(NM_STREAM, NM_STREAM));
    assert_false(nmi_zmtp_types_compatible(-1, NM_PAIR));
    assert_false(nmi_zmtp_types_compatible(NM_PAIR, 99));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_parse_rejects),
        cmocka_unit_test(test_compatibility_table),
    };
    return cmocka_run_group_tests_name("zmtp_types", tests, NULL, NULL);
}
