/*
 * fuzz_host.c - libFuzzer target for the host channel's decoder (discovery/host_msg.c,
 * format in discovery/BEACON.md "The host channel"): what a node reads from a program
 * joining through it, and a program from its node.
 *
 * Whenever a decode succeeds, every field must be in range, and the message re-encoded
 * must be the very same bytes (the encoding is canonical) and decode to the same
 * fields.  Any mismatch aborts, which libFuzzer reports.
 *
 * Build (from the repository root):
 *   clang-14 -g -O1 -fsanitize=fuzzer,address,undefined -Ilib/include -Idiscovery
 *            tests/fuzz/fuzz_host.c discovery/host_msg.c discovery/beacon.c -lsodium
 * Seeds: tests/fuzz/corpus/host/.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "host_msg.h"

#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

/* A string decoded into an array of cap bytes: terminated, of min..cap-1 bytes, with no
 * control character. */
static void fuzz_check_str(const char *s, size_t cap, size_t min)
{
    const char *nul = memchr(s, '\0', cap);
    FUZZ_CHECK(nul != NULL && (size_t)(nul - s) >= min);
    for (const char *p = s; p < nul; p++)
        FUZZ_CHECK((unsigned char)*p >= 0x20 && *p != 0x7f);
}

static void fuzz_check(const nmd_host_msg *m)
{
    FUZZ_CHECK(m->type >= NMD_HOST_WELCOME && m->type <= NMD_HOST_DOWN);
    fuzz_check_str(m->name, sizeof(m->name), 0);
    fuzz_check_str(m->admin_host, sizeof(m->admin_host), 0);
    FUZZ_CHECK(m->nifaces >= 0 && m->nifaces <= NMD_HOST_IFACES);
    for (int i = 0; i < m->nifaces; i++)
        fuzz_check_str(m->ifaces[i], sizeof(m->ifaces[i]), 1);
    if (m->type == NMD_HOST_WELCOME)
        fuzz_check_str(m->fleet, sizeof(m->fleet), 1);
    FUZZ_CHECK(m->nservices <= NMD_HOST_SERVICES);
    for (size_t i = 0; i < m->nservices; i++)
        FUZZ_CHECK(nmd_service_size(&m->services[i]) > 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static nmd_host_msg m, again;
    static uint8_t out[NMD_HOST_MSG_MAX];
    int rc = nmd_host_decode(data, size, &m);
    FUZZ_CHECK(rc == 0 || rc == -EPROTO || rc == -EPROTONOSUPPORT);
    if (rc != 0)
        return 0;
    fuzz_check(&m);
    int n = nmd_host_encode(&m, out, sizeof(out));
    FUZZ_CHECK(n > 0 && (size_t)n == size && memcmp(out, data, size) == 0);
    FUZZ_CHECK(nmd_host_decode(out, (size_t)n, &again) == 0);
    FUZZ_CHECK(again.type == m.type && again.nservices == m.nservices);
    FUZZ_CHECK(memcmp(again.id, m.id, 16) == 0 && again.incarnation == m.incarnation);
    FUZZ_CHECK(strcmp(again.name, m.name) == 0 && again.admin_port == m.admin_port);
    FUZZ_CHECK(strcmp(again.admin_host, m.admin_host) == 0);
    for (size_t i = 0; i < m.nservices; i++)
        FUZZ_CHECK(nmd_service_same(&again.services[i], &m.services[i]));
    return 0;
}
