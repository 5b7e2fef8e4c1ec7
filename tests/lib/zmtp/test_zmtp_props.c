/*
 * test_zmtp_props.c - unit tests for ZMTP properties and READY (lib/zmtp/props.c).
 *
 * The round trip is checked against the bytes libzmq sends, and the parser against
 * properties that lie about their sizes.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "zmtp/zmtp.h"

/* READY from a DEALER with identity "id1", as libzmq writes it. */
static const uint8_t props_ready[] = "\x04\x2c\x05READY"
                                     "\x0bSocket-Type\x00\x00\x00\x06"
                                     "DEALER"
                                     "\x08Identity\x00\x00\x00\x03"
                                     "id1";
#define PROPS_READY_LEN (sizeof(props_ready) - 1)
#define PROPS_DATA_OFF  8 /* header, name-size byte, "READY" */

static void test_ready_round_trip(void **state)
{
    (void)state;
    const nmi_zmtp_prop props[] = {
        {.name = "Socket-Type", .value = (const uint8_t *)"DEALER", .value_len = 6},
        {.name = "Identity", .value = (const uint8_t *)"id1", .value_len = 3},
    };
    uint8_t buf[128];
    int len = nmi_zmtp_ready_encode(buf, sizeof(buf), props, 2);
    assert_int_equal(len, PROPS_READY_LEN);
    assert_memory_equal(buf, props_ready, PROPS_READY_LEN);

    nmi_zmtp_header h;
    nmi_zmtp_cmd cmd;
    assert_int_equal(nmi_zmtp_header_decode(buf, (size_t)len, -1, &h), 2);
    assert_int_equal(nmi_zmtp_cmd_parse(buf + 2, h.size, &cmd), 0);
    assert_true(nmi_zmtp_cmd_is(&cmd, "READY"));

    size_t off = 0;
    nmi_zmtp_prop p;
    assert_int_equal(nmi_zmtp_prop_next(cmd.data, cmd.data_len, &off, &p), 1);
    assert_int_equal(p.name_len, 11);
    assert_memory_equal(p.name, "Socket-Type", 11);
    assert_int_equal(p.value_len, 6);
    assert_memory_equal(p.value, "DEALER", 6);
    assert_int_equal(nmi_zmtp_prop_next(cmd.data, cmd.data_len, &off, &p), 1);
    assert_memory_equal(p.name, "Identity", 8);
    assert_memory_equal(p.value, "id1", 3);
    assert_int_equal(nmi_zmtp_prop_next(cmd.data, cmd.data_len, &off, &p), 0);
    assert_int_equal(off, cmd.data_len);
}

static void test_ready_empty_and_long(void **state)
{
    (void)state;
    uint8_t buf[600];
    /* No properties, and an empty value: both legal. */
    assert_int_equal(nmi_zmtp_ready_encode(buf, sizeof(buf), NULL, 0), 8);
    const nmi_zmtp_prop empty = {.name = "Identity"};
    assert_int_equal(nmi_zmtp_ready_encode(buf, sizeof(buf), &empty, 1), 8 + 1 + 8 + 4);

    /* A 300-byte value makes a LONG frame. */
    uint8_t val[300];
    memset(val, 'v', sizeof(val));
    const nmi_zmtp_prop big = {.name = "X", .value = val, .value_len = sizeof(val)};
    int len = nmi_zmtp_ready_encode(buf, sizeof(buf), &big, 1);
    assert_int_equal(len, 9 + 6 + 1 + 1 + 4 + 300);
    nmi_zmtp_header h;
    assert_int_equal(nmi_zmtp_header_decode(buf, (size_t)len, -1, &h), 9);
    nmi_zmtp_cmd cmd;
    assert_int_equal(nmi_zmtp_cmd_parse(buf + 9, h.size, &cmd), 0);
    nmi_zmtp_prop p;
    assert_int_equal(nmi_zmtp_prop_find(cmd.data, cmd.data_len, "x", &p), 1);
    assert_int_equal(p.value_len, 300);
}

static void test_ready_encode_errors(void **state)
{
    (void)state;
    uint8_t buf[128];
    nmi_zmtp_prop p = {.name = "", .value = (const uint8_t *)"x", .value_len = 1};
    assert_int_equal(nmi_zmtp_ready_encode(buf, sizeof(buf), &p, 1), -EINVAL);
    p.name = NULL;
    assert_int_equal(nmi_zmtp_ready_encode(buf, sizeof(buf), &p, 1), -EINVAL);
    char name[257];
    memset(name, 'n', 256);
    name[256] = '\0';
    p.name = name;
    assert_int_equal(nmi_zmtp_ready_encode(buf, sizeof(buf), &p, 1), -EINVAL);
    name[255] = '\0';
    assert_int_equal(nmi_zmtp_ready_encode(buf, sizeof(buf), &p, 1), -ENOBUFS);

    const nmi_zmtp_prop ok[] = {
        {.name = "Socket-Type", .value = (const uint8_t *)"DEALER", .value_len = 6},
        {.name = "Identity", .value = (const uint8_t *)"id1", .value_len = 3},
    };
    assert_int_equal(nmi_zmtp_ready_encode(buf, PROPS_READY_LEN - 1, ok, 2), -ENOBUFS);
    assert_int_equal(nmi_zmtp_ready_encode(buf, PROPS_READY_LEN, ok, 2), PROPS_READY_LEN);
}

static void test_prop_runs_past_data(void **state)
{
    (void)state;
    const uint8_t *data = props_ready + PROPS_DATA_OFF;
    size_t len = PROPS_READY_LEN - PROPS_DATA_OFF;
    nmi_zmtp_prop p;
    /* Every cut inside a property is malformed; the cut between the two is not. */
    const size_t between = 1 + 11 + 4 + 6;
    for (size_t cut = 1; cut < len; cut++) {
        size_t off = 0;
        int rc;
        while ((rc = nmi_zmtp_prop_next(data, cut, &off, &p)) == 1)
            ;
        int want = cut == between ? 0 : -EPROTO;
        assert_int_equal(rc, want);
        assert_int_equal(nmi_zmtp_prop_find(data, cut, "Identity", &p), want);
    }

    /* A value size near 4 GiB must not wrap the bounds check. */
    const uint8_t huge[] = "\x01X\xff\xff\xff\xff"
                           "abc";
    size_t off = 0;
    assert_int_equal(nmi_zmtp_prop_next(huge, 9, &off, &p), -EPROTO);
    assert_int_equal(off, 0);
}

static void test_prop_empty_name(void **state)
{
    (void)state;
    const uint8_t data[] = "\x00\x00\x00\x00\x00";
    size_t off = 0;
    nmi_zmtp_prop p;
    assert_int_equal(nmi_zmtp_prop_next(data, 5, &off, &p), -EPROTO);
    assert_int_equal(nmi_zmtp_prop_find(data, 5, "Socket-Type", &p), -EPROTO);
    /* Nothing at all is fine: no properties. */
    assert_int_equal(nmi_zmtp_prop_next(data, 0, &off, &p), 0);
    assert_int_equal(nmi_zmtp_prop_find(data, 0, "Socket-Type", &p), 0);
}

static void test_prop_find(void **state)
{
    (void)state;
    const uint8_t *data = props_ready + PROPS_DATA_OFF;
    size_t len = PROPS_READY_LEN - PROPS_DATA_OFF;
    nmi_zmtp_prop p;
    assert_int_equal(nmi_zmtp_prop_find(data, len, "socket-type", &p), 1);
    assert_memory_equal(p.value, "DEALER", 6);
    assert_int_equal(nmi_zmtp_prop_find(data, len, "IDENTITY", &p), 1);
    assert_int_equal(p.value_len, 3);
    assert_memory_equal(p.value, "id1", 3);
    assert_int_equal(nmi_zmtp_prop_find(data, len, "Identit", &p), 0);
    assert_int_equal(nmi_zmtp_prop_find(data, len, "Identity2", &p), 0);
    assert_int_equal(nmi_zmtp_prop_find(data, len, "Resource", &p), 0);

    /* Malformed trailing bytes fail the lookup even after a match. */
    uint8_t bad[64];
    memcpy(bad, data, len);
    bad[len] = 0x05;
    assert_int_equal(nmi_zmtp_prop_find(bad, len + 1, "Socket-Type", &p), -EPROTO);
}

/* READY data with a Socket-Type and an Identity of idlen bytes; returns its length. */
static size_t props_ready_data(uint8_t *out, size_t cap, const char *type, size_t idlen)
{
    static uint8_t id[70000];
    memset(id, 'i', sizeof(id));
    const nmi_zmtp_prop props[] = {
        {.name = "Socket-Type", .value = (const uint8_t *)type, .value_len = strlen(type)},
        {.name = "Identity", .value = id, .value_len = idlen},
    };
    int n = nmi_zmtp_ready_encode(out, cap, props, 2);
    assert_true(n > 0);
    nmi_zmtp_header h;
    int hl = nmi_zmtp_header_decode(out, (size_t)n, -1, &h);
    assert_true(hl > 0);
    size_t data_off = (size_t)hl + 6; /* name-size byte and "READY" */
    memmove(out, out + data_off, (size_t)n - data_off);
    return (size_t)n - data_off;
}

/* The limits a READY must keep: the overflowing Identity of the hostile-peer report
 * (1000, 4000, 70000 bytes) is refused by the codec, 255 bytes is the largest taken. */
static void test_ready_parse_limits(void **state)
{
    (void)state;
    static uint8_t buf[80000];
    nmi_zmtp_ready r;
    const char *why;
    size_t len = props_ready_data(buf, sizeof(buf), "ROUTER", 255);
    assert_int_equal(nmi_zmtp_ready_parse(buf, len, &r, &why), 0);
    assert_int_equal(r.identity_len, 255);
    assert_int_equal(r.type, 6 /* NM_ROUTER */);

    len = props_ready_data(buf, sizeof(buf), "DEALER", 0);
    assert_int_equal(nmi_zmtp_ready_parse(buf, len, &r, &why), 0);
    assert_null(r.identity);
    assert_int_equal(r.identity_len, 0);

    len = props_ready_data(buf, sizeof(buf), "NOPE", 3);
    assert_int_equal(nmi_zmtp_ready_parse(buf, len, &r, &why), 0);
    assert_true(r.type < 0);

    const size_t too_long[] = {256, 1000, 4000, 60000};
    for (size_t i = 0; i < sizeof(too_long) / sizeof(too_long[0]); i++) {
        len = props_ready_data(buf, sizeof(buf), "DEALER", too_long[i]);
        assert_int_equal(nmi_zmtp_ready_parse(buf, len, &r, &why), -EPROTO);
        assert_string_equal(why, "peer identity longer than 255 bytes");
    }
    len = props_ready_data(buf, sizeof(buf), "DEALER", 70000);
    assert_int_equal(nmi_zmtp_ready_parse(buf, len, &r, &why), -EPROTO);
    assert_string_equal(why, "READY metadata too large");

    assert_int_equal(nmi_zmtp_ready_parse(buf, 0, &r, &why), -EPROTO);
    assert_string_equal(why, "READY without a Socket-Type");
    const uint8_t lying[] = "\x0bSocket-Type\x00\x00\x10\x00PUB";
    assert_int_equal(nmi_zmtp_ready_parse(lying, sizeof(lying) - 1, &r, &why), -EPROTO);
    assert_string_equal(why, "malformed READY properties");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ready_round_trip),    cmocka_unit_test(test_ready_empty_and_long),
        cmocka_unit_test(test_ready_encode_errors), cmocka_unit_test(test_prop_runs_past_data),
        cmocka_unit_test(test_prop_empty_name),     cmocka_unit_test(test_prop_find),
        cmocka_unit_test(test_ready_parse_limits),
    };
    return cmocka_run_group_tests_name("zmtp_props", tests, NULL, NULL);
}
