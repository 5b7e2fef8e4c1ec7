/*
 * fuzz_table.c - libFuzzer target for the service-table message decoder
 * (discovery/table.c, format in discovery/BEACON.md).
 *
 * The input is decoded without a key and with a fixed 32-byte key, and once more without
 * a key after its length prefix is rewritten to match its size.  Whenever a decode
 * succeeds, every service must be in range, and the result re-encoded (signed with the
 * same key) must decode to the same fields; when the input's signedness matches the key
 * it must re-encode to the very same bytes, the encoding being canonical.  Any mismatch
 * aborts, which libFuzzer reports.
 *
 * Build (from the repository root):
 *   clang-14 -g -O1 -fsanitize=fuzzer,address,undefined -Ilib/include -Idiscovery
 *            tests/fuzz/fuzz_table.c discovery/table.c discovery/beacon.c -lsodium
 * Seeds: tests/fuzz/corpus/table/.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "table.h"

#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

static const uint8_t fuzz_key[32] = "nomid-fuzz-key-0123456789abcdef";

/* Length of s within an array of size cap; cap when unterminated. */
static size_t fuzz_len(const char *s, size_t cap)
{
    const char *nul = memchr(s, '\0', cap);
    return nul != NULL ? (size_t)(nul - s) : cap;
}

static void fuzz_check_services(const nmd_table_msg *m)
{
    FUZZ_CHECK(m->n <= NMD_TABLE_SERVICES);
    FUZZ_CHECK((m->n == 0) == (m->services == NULL));
    for (size_t i = 0; i < m->n; i++) {
        const nmd_service *s = &m->services[i];
        size_t nl = fuzz_len(s->name, sizeof(s->name));
        size_t el = fuzz_len(s->endpoint, sizeof(s->endpoint));
        FUZZ_CHECK(nl >= 1 && nl <= NMD_SVC_NAME_MAX);
        FUZZ_CHECK(el >= 1 && el <= NMD_ENDPOINT_MAX);
        FUZZ_CHECK(s->type >= 0 && s->type <= NMD_TYPE_MAX);
        /* An entry without a key decodes with a zeroed one. */
        for (size_t k = 0; !s->has_key && k < NMD_SVC_KEY_SIZE; k++)
            FUZZ_CHECK(s->curve_key[k] == 0);
    }
}

static void fuzz_round_trip(const uint8_t *data, size_t size, const uint8_t *key)
{
    nmd_table_msg m, again;
    int rc = nmd_table_decode(data, size, key, 32, &m);
    FUZZ_CHECK(rc == 0 || rc == -EPROTO || rc == -EPROTONOSUPPORT || rc == -EACCES ||
               rc == -EMSGSIZE);
    FUZZ_CHECK(rc != -EACCES || key != NULL);
    if (rc != 0) {
        FUZZ_CHECK(m.services == NULL && m.n == 0);
        return;
    }
    fuzz_check_services(&m);

    uint8_t *out;
    ssize_t n = nmd_table_encode(m.node_id, m.incarnation, m.services, m.n, key, 32, &out);
    FUZZ_CHECK(n > 0 && (size_t)n <= NMD_TABLE_MSG_MAX);
    FUZZ_CHECK(nmd_table_decode(out, (size_t)n, key, 32, &again) == 0);
    FUZZ_CHECK(memcmp(again.node_id, m.node_id, 16) == 0);
    FUZZ_CHECK(again.incarnation == m.incarnation);
    FUZZ_CHECK(memcmp(again.digest, m.digest, sizeof(m.digest)) == 0);
    FUZZ_CHECK(again.n == m.n);
    for (size_t i = 0; i < m.n; i++) {
        FUZZ_CHECK(strcmp(again.services[i].name, m.services[i].name) == 0);
        FUZZ_CHECK(again.services[i].type == m.services[i].type);
        FUZZ_CHECK(strcmp(again.services[i].endpoint, m.services[i].endpoint) == 0);
        FUZZ_CHECK(again.services[i].has_key == m.services[i].has_key);
        FUZZ_CHECK(memcmp(again.services[i].curve_key, m.services[i].curve_key, NMD_SVC_KEY_SIZE) ==
                   0);
    }
    /* Signed input decoded without a key re-encodes unsigned, so only compare bytes
     * when the signedness is the same. */
    bool was_signed = (data[9] & NMD_FLAG_SIGNED) != 0;
    if (was_signed == (key != NULL))
        FUZZ_CHECK((size_t)n == size && memcmp(out, data, size) == 0);
    free(out);
    nmd_table_msg_free(&again);
    nmd_table_msg_free(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_round_trip(data, size, NULL);
    fuzz_round_trip(data, size, fuzz_key);
    /* Again with the length prefix made to match, so that mutations which grow or
     * shrink the input still reach the parser. */
    if (size >= 4 && size <= NMD_TABLE_MSG_MAX) {
        uint8_t *fixed = malloc(size);
        if (fixed == NULL)
            return 0;
        memcpy(fixed, data, size);
        uint32_t n = (uint32_t)(size - 4);
        fixed[0] = (uint8_t)(n >> 24);
        fixed[1] = (uint8_t)(n >> 16);
        fixed[2] = (uint8_t)(n >> 8);
        fixed[3] = (uint8_t)n;
        fuzz_round_trip(fixed, size, NULL);
        free(fixed);
    }
    return 0;
}
