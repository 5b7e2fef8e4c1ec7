/*
 * test_zmtp_command.c - unit tests for ZMTP command bodies (lib/zmtp/command.c): name
 * splitting, ERROR, PING and PONG.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "zmtp/zmtp.h"

/* Decodes the frame header and command name of an encoded command frame. */
static void cmd_decode(const uint8_t *frame, int len, nmi_zmtp_cmd *cmd)
{
    assert_true(len > 0);
    nmi_zmtp_header h;
    int hlen = nmi_zmtp_header_decode(frame, (size_t)len, -1, &h);
    assert_true(hlen > 0);
    assert_int_equal(h.flags, NMI_ZMTP_COMMAND);
    assert_int_equal(h.size, (size_t)(len - hlen));
    assert_int_equal(nmi_zmtp_cmd_parse(frame + hlen, h.size, cmd), 0);
}

static void test_cmd_parse(void **state)
{
    (void)state;
    nmi_zmtp_cmd cmd;
    const uint8_t body[] = "\x05READYxyz";
    assert_int_equal(nmi_zmtp_cmd_parse(body, 9, &cmd), 0);
    assert_int_equal(cmd.name_len, 5);
    assert_true(nmi_zmtp_cmd_is(&cmd, "READY"));
    assert_false(nmi_zmtp_cmd_is(&cmd, "READ"));
    assert_false(nmi_zmtp_cmd_is(&cmd, "READYx"));
    assert_false(nmi_zmtp_cmd_is(&cmd, "ready"));
    assert_int_equal(cmd.data_len, 3);
    assert_memory_equal(cmd.data, "xyz", 3);

    /* A name taking the whole body leaves empty data. */
    assert_int_equal(nmi_zmtp_cmd_parse(body, 6, &cmd), 0);
    assert_int_equal(cmd.data_len, 0);
}

static void test_cmd_parse_malformed(void **state)
{
    (void)state;
    nmi_zmtp_cmd cmd;
    const uint8_t body[] = "\x05READY";
    assert_int_equal(nmi_zmtp_cmd_parse(body, 0, &cmd), -EPROTO);
    for (size_t n = 1; n < 6; n++)
        assert_int_equal(nmi_zmtp_cmd_parse(body, n, &cmd), -EPROTO);
    const uint8_t empty[] = "\x00xyz";
    assert_int_equal(nmi_zmtp_cmd_parse(empty, 4, &cmd), -EPROTO);
    const uint8_t longname[] = "\xff";
    assert_int_equal(nmi_zmtp_cmd_parse(longname, 1, &cmd), -EPROTO);
}

static void test_error(void **state)
{
    (void)state;
    uint8_t buf[300];
    nmi_zmtp_cmd cmd;
    int len = nmi_zmtp_error_encode(buf, sizeof(buf), "Invalid socket type");
    assert_int_equal(len, 2 + 1 + 5 + 1 + 19);
    assert_memory_equal(buf,
                        "\x04\x1a\x05"
                        "ERROR\x13"
                        "Invalid socket type",
                        (size_t)len);
    cmd_decode(buf, len, &cmd);
    assert_true(nmi_zmtp_cmd_is(&cmd, "ERROR"));
    assert_int_equal(cmd.data[0], cmd.data_len - 1);

    /* The reason is truncated to 255 bytes, which makes a LONG frame. */
    char reason[400];
    memset(reason, 'r', sizeof(reason) - 1);
    reason[sizeof(reason) - 1] = '\0';
    len = nmi_zmtp_error_encode(buf, sizeof(buf), reason);
    assert_int_equal(len, 9 + 1 + 5 + 1 + 255);
    cmd_decode(buf, len, &cmd);
    assert_int_equal(cmd.data[0], 255);
    assert_int_equal(cmd.data_len, 256);

    len = nmi_zmtp_error_encode(buf, sizeof(buf), "");
    assert_int_equal(len, 2 + 1 + 5 + 1);
    assert_int_equal(nmi_zmtp_error_encode(buf, 8, ""), -ENOBUFS);
    assert_int_equal(nmi_zmtp_error_encode(buf, 9, ""), 9);
}

static void test_ping_pong(void **state)
{
    (void)state;
    uint8_t buf[64];
    nmi_zmtp_cmd cmd;
    uint16_t ttl;
    const uint8_t *ctx;
    size_t ctx_len;

    int len = nmi_zmtp_ping_encode(buf, sizeof(buf), 0x1234, (const uint8_t *)"ab", 2);
    assert_int_equal(len, 2 + 1 + 4 + 2 + 2);
    assert_memory_equal(buf,
                        "\x04\x09\x04PING\x12\x34"
                        "ab",
                        (size_t)len);
    cmd_decode(buf, len, &cmd);
    assert_true(nmi_zmtp_cmd_is(&cmd, "PING"));
    assert_int_equal(nmi_zmtp_ping_parse(cmd.data, cmd.data_len, &ttl, &ctx, &ctx_len), 0);
    assert_int_equal(ttl, 0x1234);
    assert_int_equal(ctx_len, 2);
    assert_memory_equal(ctx, "ab", 2);

    len = nmi_zmtp_ping_encode(buf, sizeof(buf), 30, NULL, 0);
    cmd_decode(buf, len, &cmd);
    assert_int_equal(nmi_zmtp_ping_parse(cmd.data, cmd.data_len, &ttl, &ctx, &ctx_len), 0);
    assert_int_equal(ttl, 30);
    assert_int_equal(ctx_len, 0);

    const uint8_t ctx16[16] = "0123456789abcdef";
    len = nmi_zmtp_ping_encode(buf, sizeof(buf), 1, ctx16, 16);
    cmd_decode(buf, len, &cmd);
    assert_int_equal(nmi_zmtp_ping_parse(cmd.data, cmd.data_len, &ttl, &ctx, &ctx_len), 0);
    assert_int_equal(ctx_len, 16);

    len = nmi_zmtp_pong_encode(buf, sizeof(buf), ctx16, 16);
    assert_int_equal(len, 2 + 1 + 4 + 16);
    cmd_decode(buf, len, &cmd);
    assert_true(nmi_zmtp_cmd_is(&cmd, "PONG"));
    assert_int_equal(cmd.data_len, 16);
    assert_memory_equal(cmd.data, ctx16, 16);
    assert_int_equal(nmi_zmtp_pong_encode(buf, sizeof(buf), NULL, 0), 7);
}

static void test_ping_pong_limits(void **state)
{
    (void)state;
    uint8_t buf[64];
    const uint8_t ctx17[17] = {0};
    uint16_t ttl;
    const uint8_t *ctx;
    size_t ctx_len;

    assert_int_equal(nmi_zmtp_ping_encode(buf, sizeof(buf), 1, ctx17, 17), -EINVAL);
    assert_int_equal(nmi_zmtp_pong_encode(buf, sizeof(buf), ctx17, 17), -EINVAL);
    assert_int_equal(nmi_zmtp_ping_encode(buf, sizeof(buf), 1, NULL, 3), -EINVAL);
    assert_int_equal(nmi_zmtp_ping_encode(buf, 10, 1, ctx17, 2), -ENOBUFS);
    assert_int_equal(nmi_zmtp_ping_encode(buf, 11, 1, ctx17, 2), 11);
    assert_int_equal(nmi_zmtp_pong_encode(buf, 6, NULL, 0), -ENOBUFS);

    const uint8_t data[19] = {0, 5};
    assert_int_equal(nmi_zmtp_ping_parse(data, 0, &ttl, &ctx, &ctx_len), -EPROTO);
    assert_int_equal(nmi_zmtp_ping_parse(data, 1, &ttl, &ctx, &ctx_len), -EPROTO);
    assert_int_equal(nmi_zmtp_ping_parse(data, 18, &ttl, &ctx, &ctx_len), 0);
    assert_int_equal(ctx_len, 16);
    /* A longer context is cut to 16 bytes, as libzmq does. */
    assert_int_equal(nmi_zmtp_ping_parse(data, 19, &ttl, &ctx, &ctx_len), 0);
    assert_int_equal(ctx_len, 16);
    assert_ptr_equal(ctx, data + 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cmd_parse),
        cmocka_unit_test(test_cmd_parse_malformed),
        cmocka_unit_test(test_error),
        cmocka_unit_test(test_ping_pong),
        cmocka_unit_test(test_ping_pong_limits),
    };
    return cmocka_run_group_tests_name("zmtp_command", tests, NULL, NULL);
}
