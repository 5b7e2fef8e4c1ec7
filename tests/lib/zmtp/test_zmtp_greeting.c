/*
 * test_zmtp_greeting.c - unit tests for the ZMTP greeting codec (lib/zmtp/greeting.c).
 *
 * Checks the round trip, tolerance of what real peers put in the padding and minor
 * version, early rejection of non-ZMTP peers and incremental decoding.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "zmtp/zmtp.h"

static void test_round_trip(void **state)
{
    (void)state;
    uint8_t buf[NMI_ZMTP_GREETING_SIZE];
    nmi_zmtp_greeting_encode(buf, "NULL", true);
    assert_int_equal(buf[0], 0xFF);
    assert_int_equal(buf[9], 0x7F);
    assert_int_equal(buf[10], 3);
    assert_int_equal(buf[11], 1);
    assert_memory_equal(buf + 12, "NULL\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 20);
    assert_int_equal(buf[32], 1);
    for (int i = 33; i < NMI_ZMTP_GREETING_SIZE; i++)
        assert_int_equal(buf[i], 0);

    nmi_zmtp_greeting g;
    memset(&g, 0xAA, sizeof(g));
    assert_int_equal(nmi_zmtp_greeting_decode(buf, sizeof(buf), &g), NMI_ZMTP_GREETING_SIZE);
    assert_int_equal(g.major, 3);
    assert_int_equal(g.minor, 1);
    assert_string_equal(g.mechanism, "NULL");
    assert_true(g.as_server);

    nmi_zmtp_greeting_encode(buf, "CURVE", false);
    assert_int_equal(nmi_zmtp_greeting_decode(buf, sizeof(buf), &g), NMI_ZMTP_GREETING_SIZE);
    assert_string_equal(g.mechanism, "CURVE");
    assert_false(g.as_server);
}

static void test_mechanism_full_width(void **state)
{
    (void)state;
    uint8_t buf[NMI_ZMTP_GREETING_SIZE];
    /* A 20-byte name fills the field with no NUL; longer names are cut to 20. */
    nmi_zmtp_greeting_encode(buf, "ABCDEFGHIJKLMNOPQRSTUVWXYZ", false);
    assert_int_equal(buf[32], 0);
    nmi_zmtp_greeting g;
    assert_int_equal(nmi_zmtp_greeting_decode(buf, sizeof(buf), &g), NMI_ZMTP_GREETING_SIZE);
    assert_string_equal(g.mechanism, "ABCDEFGHIJKLMNOPQRST");
}

static void test_garbage_padding_accepted(void **state)
{
    (void)state;
    uint8_t buf[NMI_ZMTP_GREETING_SIZE];
    nmi_zmtp_greeting_encode(buf, "NULL", false);
    /* libzmq puts a length-ish value there; anything goes. */
    memcpy(buf + 1, "\x12\x34\x56\x78\x9a\xbc\xde\xf0", 8);
    buf[9] = 0x01; /* only bit 0 of byte 9 matters */
    nmi_zmtp_greeting g;
    assert_int_equal(nmi_zmtp_greeting_decode(buf, sizeof(buf), &g), NMI_ZMTP_GREETING_SIZE);
    assert_int_equal(g.major, 3);
}

static void test_higher_versions_accepted(void **state)
{
    (void)state;
    uint8_t buf[NMI_ZMTP_GREETING_SIZE];
    nmi_zmtp_greeting g;
    nmi_zmtp_greeting_encode(buf, "NULL", false);
    buf[11] = 7;
    assert_int_equal(nmi_zmtp_greeting_decode(buf, sizeof(buf), &g), NMI_ZMTP_GREETING_SIZE);
    assert_int_equal(g.minor, 7);
    buf[11] = 0;
    assert_int_equal(nmi_zmtp_greeting_decode(buf, sizeof(buf), &g), NMI_ZMTP_GREETING_SIZE);
    assert_int_equal(g.minor, 0);
    buf[10] = 4;
    assert_int_equal(nmi_zmtp_greeting_decode(buf, sizeof(buf), &g), NMI_ZMTP_GREETING_SIZE);
    assert_int_equal(g.major, 4);
}

static void test_bad_signature_rejected_early(void **state)
{
    (void)state;
    nmi_zmtp_greeting g;
    /* An HTTP client, say: rejected on its first byte. */
    const uint8_t http[] = "GET / HTTP/1.1\r\n";
    assert_int_equal(nmi_zmtp_greeting_decode(http, 1, &g), -EPROTO);

    uint8_t buf[NMI_ZMTP_GREETING_SIZE];
    nmi_zmtp_greeting_encode(buf, "NULL", false);
    buf[9] = 0x7E;
    for (size_t n = 1; n <= 9; n++)
        assert_int_equal(nmi_zmtp_greeting_decode(buf, n, &g), 0);
    assert_int_equal(nmi_zmtp_greeting_decode(buf, 10, &g), -EPROTO);
    assert_int_equal(nmi_zmtp_greeting_decode(buf, sizeof(buf), &g), -EPROTO);
}

static void test_old_major_rejected(void **state)
{
    (void)state;
    uint8_t buf[NMI_ZMTP_GREETING_SIZE];
    nmi_zmtp_greeting g;
    nmi_zmtp_greeting_encode(buf, "NULL", false);
    buf[10] = 2;
    assert_int_equal(nmi_zmtp_greeting_decode(buf, 10, &g), 0);
    assert_int_equal(nmi_zmtp_greeting_decode(buf, 11, &g), -EPROTO);
    assert_int_equal(nmi_zmtp_greeting_decode(buf, sizeof(buf), &g), -EPROTO);
}

static void test_short_input_needs_more(void **state)
{
    (void)state;
    uint8_t buf[NMI_ZMTP_GREETING_SIZE];
    nmi_zmtp_greeting_encode(buf, "NULL", true);
    nmi_zmtp_greeting g;
    for (size_t n = 0; n < NMI_ZMTP_GREETING_SIZE; n++)
        assert_int_equal(nmi_zmtp_greeting_decode(buf, n, &g), 0);
    assert_int_equal(nmi_zmtp_greeting_decode(buf, sizeof(buf), &g), NMI_ZMTP_GREETING_SIZE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_mechanism_full_width),
        cmocka_unit_test(test_garbage_padding_accepted),
        cmocka_unit_test(test_higher_versions_accepted),
        cmocka_unit_test(test_bad_signature_rejected_early),
        cmocka_unit_test(test_old_major_rejected),
        cmocka_unit_test(test_short_input_needs_more),
    };
    return cmocka_run_group_tests_name("zmtp_greeting", tests, NULL, NULL);
}
