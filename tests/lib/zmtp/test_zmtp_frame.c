/*
 * test_zmtp_frame.c - unit tests for ZMTP frame headers (lib/zmtp/frame.c).
 *
 * Covers the short/long size boundary, 64-bit sizes, the flag rules a peer could break,
 * MAXMSGSIZE and incremental decoding of truncated headers.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "zmtp/zmtp.h"

/* Encodes, checks the length, decodes with no limit and checks it comes back equal. */
static void frame_round_trip(uint8_t flags, uint64_t size, size_t want_len)
{
    uint8_t buf[NMI_ZMTP_MAX_HEADER];
    size_t len = nmi_zmtp_header_encode(buf, flags, size);
    assert_int_equal(len, want_len);
    assert_int_equal(buf[0] & NMI_ZMTP_LONG, want_len == 9 ? NMI_ZMTP_LONG : 0);
    nmi_zmtp_header h;
    assert_int_equal(nmi_zmtp_header_decode(buf, len, -1, &h), (int)len);
    assert_int_equal(h.flags, flags);
    assert_true(h.size == size);
}

static void test_sizes(void **state)
{
    (void)state;
    frame_round_trip(0, 0, 2);
    frame_round_trip(NMI_ZMTP_MORE, 1, 2);
    frame_round_trip(0, 255, 2);
    frame_round_trip(NMI_ZMTP_MORE, 256, 9);
    frame_round_trip(NMI_ZMTP_COMMAND, 256, 9);
    frame_round_trip(0, (uint64_t)1 << 32, 9);
    frame_round_trip(0, INT64_MAX, 9);
}

static void test_wire_bytes(void **state)
{
    (void)state;
    uint8_t buf[NMI_ZMTP_MAX_HEADER];
    assert_int_equal(nmi_zmtp_header_encode(buf, NMI_ZMTP_MORE, 255), 2);
    assert_memory_equal(buf, "\x01\xff", 2);
    assert_int_equal(nmi_zmtp_header_encode(buf, 0, 256), 9);
    assert_memory_equal(buf, "\x02\x00\x00\x00\x00\x00\x00\x01\x00", 9);
    assert_int_equal(nmi_zmtp_header_encode(buf, 0, (uint64_t)1 << 32), 9);
    assert_memory_equal(buf, "\x02\x00\x00\x00\x01\x00\x00\x00\x00", 9);
    /* A LONG flag passed in is recomputed from the size. */
    assert_int_equal(nmi_zmtp_header_encode(buf, NMI_ZMTP_LONG | NMI_ZMTP_COMMAND, 3), 2);
    assert_memory_equal(buf, "\x04\x03", 2);
}

static void test_long_header_small_size(void **state)
{
    (void)state;
    const uint8_t in[] = {NMI_ZMTP_LONG | NMI_ZMTP_MORE, 0, 0, 0, 0, 0, 0, 0, 5};
    nmi_zmtp_header h;
    assert_int_equal(nmi_zmtp_header_decode(in, sizeof(in), -1, &h), 9);
    assert_int_equal(h.flags, NMI_ZMTP_MORE);
    assert_int_equal(h.size, 5);
}

static void test_reserved_bits_rejected(void **state)
{
    (void)state;
    nmi_zmtp_header h;
    for (int bit = 3; bit < 8; bit++) {
        uint8_t in[2] = {(uint8_t)(1u << bit), 0};
        /* Rejected from the flags byte alone. */
        assert_int_equal(nmi_zmtp_header_decode(in, 1, -1, &h), -EPROTO);
        assert_int_equal(nmi_zmtp_header_decode(in, 2, -1, &h), -EPROTO);
    }
}

static void test_command_with_more_rejected(void **state)
{
    (void)state;
    nmi_zmtp_header h;
    const uint8_t in[] = {NMI_ZMTP_COMMAND | NMI_ZMTP_MORE, 5};
    assert_int_equal(nmi_zmtp_header_decode(in, 1, -1, &h), -EPROTO);
    assert_int_equal(nmi_zmtp_header_decode(in, sizeof(in), -1, &h), -EPROTO);
}

static void test_maxmsgsize(void **state)
{
    (void)state;
    uint8_t buf[NMI_ZMTP_MAX_HEADER];
    nmi_zmtp_header h;
    size_t len = nmi_zmtp_header_encode(buf, 0, 100);
    assert_int_equal(nmi_zmtp_header_decode(buf, len, 100, &h), 2);
    assert_int_equal(nmi_zmtp_header_decode(buf, len, 99, &h), -EMSGSIZE);
    assert_int_equal(nmi_zmtp_header_decode(buf, len, 0, &h), -EMSGSIZE);
    len = nmi_zmtp_header_encode(buf, 0, 0);
    assert_int_equal(nmi_zmtp_header_decode(buf, len, 0, &h), 2);
    len = nmi_zmtp_header_encode(buf, 0, (uint64_t)1 << 32);
    assert_int_equal(nmi_zmtp_header_decode(buf, len, 1 << 20, &h), -EMSGSIZE);
    assert_int_equal(nmi_zmtp_header_decode(buf, len, -1, &h), 9);
}

static void test_size_over_int64_rejected(void **state)
{
    (void)state;
    const uint8_t in[] = {NMI_ZMTP_LONG, 0x80, 0, 0, 0, 0, 0, 0, 0};
    nmi_zmtp_header h;
    assert_int_equal(nmi_zmtp_header_decode(in, sizeof(in), -1, &h), -EPROTO);
    assert_int_equal(nmi_zmtp_header_decode(in, sizeof(in), 10, &h), -EPROTO);
}

static void test_truncated_needs_more(void **state)
{
    (void)state;
    uint8_t buf[NMI_ZMTP_MAX_HEADER];
    nmi_zmtp_header h;
    size_t len = nmi_zmtp_header_encode(buf, NMI_ZMTP_MORE, 7);
    for (size_t n = 0; n < len; n++)
        assert_int_equal(nmi_zmtp_header_decode(buf, n, -1, &h), 0);
    len = nmi_zmtp_header_encode(buf, NMI_ZMTP_COMMAND, 70000);
    for (size_t n = 0; n < len; n++)
        assert_int_equal(nmi_zmtp_header_decode(buf, n, -1, &h), 0);
    assert_int_equal(nmi_zmtp_header_decode(buf, len, -1, &h), 9);
    assert_int_equal(h.flags, NMI_ZMTP_COMMAND);
    assert_int_equal(h.size, 70000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_wire_bytes),
        cmocka_unit_test(test_long_header_small_size),
        cmocka_unit_test(test_reserved_bits_rejected),
        cmocka_unit_test(test_command_with_more_rejected),
        cmocka_unit_test(test_maxmsgsize),
        cmocka_unit_test(test_size_over_int64_rejected),
        cmocka_unit_test(test_truncated_needs_more),
    };
    return cmocka_run_group_tests_name("zmtp_frame", tests, NULL, NULL);
}
