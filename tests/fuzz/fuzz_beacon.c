/*
 * fuzz_beacon.c - libFuzzer target for the discovery beacon decoder (discovery/beacon.c).
 *
 * The input is decoded without a key and with a fixed 32-byte key.  Whenever a decode
 * succeeds, the result is re-encoded (its inline services as the table, signed with the
 * same key) and decoded again; every field must survive, and an unsigned COMPLETE beacon
 * must re-encode to the very same bytes (the optional admin key hash included).  Any
 * mismatch aborts, which libFuzzer reports.
 *
 * Build (from the repository root):
 *   clang-14 -g -O1 -fsanitize=fuzzer,address,undefined -Ilib/include -Idiscovery
 *            tests/fuzz/fuzz_beacon.c discovery/beacon.c -lsodium
 * Seeds: tests/fuzz/corpus/beacon/.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "beacon.h"

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

static void fuzz_check_strings(const nmd_beacon *b)
{
    size_t fl = fuzz_len(b->fleet, sizeof(b->fleet));
    FUZZ_CHECK(fl >= 1 && fl <= NMD_FLEET_MAX);
    FUZZ_CHECK(fuzz_len(b->name, sizeof(b->name)) <= NMD_NAME_MAX);
    FUZZ_CHECK(b->ninline <= NMD_INLINE_MAX && b->ninline <= b->nservices);
    FUZZ_CHECK(b->complete == (b->ninline == b->nservices));
    for (size_t i = 0; i < b->ninline; i++) {
        const nmd_service *s = &b->services[i];
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
    nmd_beacon b, again;
    int rc = nmd_beacon_decode(data, size, key, 32, &b);
    FUZZ_CHECK(rc == 0 || rc == -EPROTO || rc == -EPROTONOSUPPORT || rc == -EACCES);
    FUZZ_CHECK(rc != -EACCES || key != NULL);
    if (rc != 0)
        return;
    fuzz_check_strings(&b);

    uint8_t out[NMD_BEACON_MAX];
    int n = nmd_beacon_encode(&b, b.services, b.ninline, key, 32, out, sizeof(out));
    FUZZ_CHECK(n > 0 && (size_t)n <= sizeof(out));
    FUZZ_CHECK(nmd_beacon_decode(out, (size_t)n, key, 32, &again) == 0);
    FUZZ_CHECK(memcmp(again.node_id, b.node_id, 16) == 0);
    FUZZ_CHECK(again.incarnation == b.incarnation && again.seq == b.seq);
    FUZZ_CHECK(again.goodbye == b.goodbye && again.complete);
    FUZZ_CHECK(strcmp(again.fleet, b.fleet) == 0 && strcmp(again.name, b.name) == 0);
    FUZZ_CHECK(again.ctl_port == b.ctl_port && again.admin_port == b.admin_port);
    /* The admin TLS flag and key hash (optional field) survive, and only a key makes a
     * beacon authentic. */
    FUZZ_CHECK(b.authentic == (key != NULL) && again.authentic == (key != NULL));
    FUZZ_CHECK(again.admin_tls == b.admin_tls);
    FUZZ_CHECK(!b.admin_tls || memcmp(again.admin_pin, b.admin_pin, NMD_PIN_SIZE) == 0);
    FUZZ_CHECK(again.ninline == b.ninline && again.nservices == b.ninline);
    for (size_t i = 0; i < b.ninline; i++) {
        FUZZ_CHECK(strcmp(again.services[i].name, b.services[i].name) == 0);
        FUZZ_CHECK(again.services[i].type == b.services[i].type);
        FUZZ_CHECK(strcmp(again.services[i].endpoint, b.services[i].endpoint) == 0);
        FUZZ_CHECK(again.services[i].has_key == b.services[i].has_key);
        FUZZ_CHECK(memcmp(again.services[i].curve_key, b.services[i].curve_key, NMD_SVC_KEY_SIZE) ==
                   0);
    }
    if (b.complete) {
        FUZZ_CHECK(again.nservices == b.nservices);
        FUZZ_CHECK(memcmp(again.digest, b.digest, sizeof(b.digest)) == 0);
        /* Signed input decoded without a key re-encodes unsigned, so only compare
         * bytes when the signedness is the same. */
        bool was_signed = (data[5] & NMD_FLAG_SIGNED) != 0;
        if (was_signed == (key != NULL))
            FUZZ_CHECK((size_t)n == size && memcmp(out, data, size) == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_round_trip(data, size, NULL);
    fuzz_round_trip(data, size, fuzz_key);
    return 0;
}
