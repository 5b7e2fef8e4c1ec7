/*
 * fuzz_zmtp.c - libFuzzer target for the ZMTP codec's decoders (lib/zmtp/).
 *
 * Every decoder that sees peer bytes gets the input: greeting, frame headers at every
 * offset (with a small and with no size limit), command splitting, property iteration
 * and PING.  Results are cross-checked so a decoder that "succeeds" with values out of
 * bounds aborts, which libFuzzer reports as a crash.
 *
 * Build (from the repository root), with every .c file of lib/zmtp/ added:
 *   clang-14 -g -O1 -fsanitize=fuzzer,address,undefined -Ilib/include -Ilib
 *            tests/fuzz/fuzz_zmtp.c lib/zmtp/<each>.c
 * Seeds: tests/fuzz/corpus/zmtp/.
 */
#include <stdlib.h>
#include <string.h>

#include "zmtp/zmtp.h"

#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

static void fuzz_greeting(const uint8_t *data, size_t size)
{
    nmi_zmtp_greeting g;
    int rc = nmi_zmtp_greeting_decode(data, size, &g);
    FUZZ_CHECK(rc == 0 || rc == NMI_ZMTP_GREETING_SIZE || rc < 0);
    if (rc == NMI_ZMTP_GREETING_SIZE) {
        FUZZ_CHECK(g.major >= 3 && strlen(g.mechanism) <= 20);
        uint8_t out[NMI_ZMTP_GREETING_SIZE];
        nmi_zmtp_greeting_encode(out, g.mechanism, g.as_server);
    }
}

static void fuzz_headers(const uint8_t *data, size_t size)
{
    for (size_t off = 0; off < size; off++) {
        nmi_zmtp_header h;
        int rc = nmi_zmtp_header_decode(data + off, size - off, 64, &h);
        FUZZ_CHECK(rc <= 0 || rc == 2 || rc == 9);
        if (rc > 0)
            FUZZ_CHECK(h.size <= 64);
        rc = nmi_zmtp_header_decode(data + off, size - off, -1, &h);
        FUZZ_CHECK(rc <= 0 || rc == 2 || rc == 9);
        if (rc > 0) {
            /* Re-encoding must decode to the same header. */
            uint8_t buf[NMI_ZMTP_MAX_HEADER];
            nmi_zmtp_header h2;
            size_t len = nmi_zmtp_header_encode(buf, h.flags, h.size);
            FUZZ_CHECK(nmi_zmtp_header_decode(buf, len, -1, &h2) == (int)len);
            FUZZ_CHECK(h2.flags == h.flags && h2.size == h.size);
        }
    }
}

static void fuzz_props(const uint8_t *data, size_t size)
{
    size_t off = 0;
    nmi_zmtp_prop p;
    int rc;
    while ((rc = nmi_zmtp_prop_next(data, size, &off, &p)) == 1) {
        FUZZ_CHECK(off <= size && p.name_len > 0);
        FUZZ_CHECK((const uint8_t *)p.name >= data && p.value + p.value_len <= data + size);
    }
    FUZZ_CHECK(rc == 0 || rc < 0);
    nmi_zmtp_prop_find(data, size, "Socket-Type", &p);
    if (nmi_zmtp_prop_find(data, size, "Identity", &p) == 1)
        FUZZ_CHECK(p.value + p.value_len <= data + size);
}

static void fuzz_command(const uint8_t *data, size_t size)
{
    nmi_zmtp_cmd cmd;
    if (nmi_zmtp_cmd_parse(data, size, &cmd) < 0)
        return;
    FUZZ_CHECK(cmd.name_len > 0 && cmd.data + cmd.data_len == data + size);
    nmi_zmtp_prop type;
    if (nmi_zmtp_cmd_is(&cmd, "READY") &&
        nmi_zmtp_prop_find(cmd.data, cmd.data_len, "Socket-Type", &type) == 1) {
        int t = nmi_zmtp_type_parse(type.value, type.value_len);
        if (t >= 0)
            FUZZ_CHECK(nmi_zmtp_type_name(t) != NULL);
        nmi_zmtp_types_compatible(0, t);
    }
    fuzz_props(cmd.data, cmd.data_len);

    uint16_t ttl;
    const uint8_t *ctx;
    size_t ctx_len;
    if (nmi_zmtp_ping_parse(cmd.data, cmd.data_len, &ttl, &ctx, &ctx_len) == 0) {
        FUZZ_CHECK(ctx_len <= 16);
        uint8_t buf[64];
        FUZZ_CHECK(nmi_zmtp_pong_encode(buf, sizeof(buf), ctx, ctx_len) > 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_greeting(data, size);
    fuzz_headers(data, size);
    fuzz_command(data, size);
    fuzz_props(data, size);
    /* Also as a stream: an optional greeting, then a frame whose body is a command. */
    nmi_zmtp_greeting g;
    size_t skip = nmi_zmtp_greeting_decode(data, size, &g) > 0 ? NMI_ZMTP_GREETING_SIZE : 0;
    nmi_zmtp_header h;
    int rc = nmi_zmtp_header_decode(data + skip, size - skip, -1, &h);
    if (rc > 0 && h.size <= size - skip - (size_t)rc)
        fuzz_command(data + skip + rc, (size_t)h.size);
    return 0;
}
