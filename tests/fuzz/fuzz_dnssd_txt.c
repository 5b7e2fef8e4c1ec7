/*
 * fuzz_dnssd_txt.c - libFuzzer target for the DNS-SD TXT record decoder
 * (discovery/dnssd_txt.c): the input is a TXT record's wire form, as a remote host
 * sends it.  Whenever it decodes, the result is encoded again and decoded once more;
 * every field must survive the round trip.  Any mismatch aborts, which libFuzzer reports.
 *
 * Build (from the repository root): clang-14 -g -O1 -std=c11 -D_GNU_SOURCE
 * -fsanitize=fuzzer,address,undefined -Ilib/include -Ilib -Idiscovery, this file,
 * discovery/dnssd_txt.c and every .c of lib/core, lib/zmtp, lib/protocol, lib/transport
 * and lib/platform (nm_sock_type_name comes from libnomid), -lbsd.
 * Seeds: tests/fuzz/corpus/dnssd_txt/.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dnssd_txt.h"

#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nmd_dnssd_txt t, u;
    const char *why = NULL;
    int rc = nmd_dnssd_txt_decode(data, size, &t, &why);
    FUZZ_CHECK(rc == 0 || rc == -EPROTO || rc == -EPROTONOSUPPORT);
    FUZZ_CHECK((rc == 0) == (why == NULL));
    if (rc != 0)
        return 0;
    uint8_t buf[NMD_DNSSD_TXT_MAX];
    int n = nmd_dnssd_txt_encode(&t, buf, sizeof(buf));
    FUZZ_CHECK(n > 0);
    FUZZ_CHECK(nmd_dnssd_txt_decode(buf, (size_t)n, &u, NULL) == 0);
    FUZZ_CHECK(strcmp(t.svc.name, u.svc.name) == 0 && t.svc.type == u.svc.type);
    FUZZ_CHECK(strcmp(t.svc.endpoint, u.svc.endpoint) == 0);
    FUZZ_CHECK(memcmp(t.node, u.node, sizeof(t.node)) == 0);
    FUZZ_CHECK(strcmp(t.fleet, u.fleet) == 0 && strcmp(t.node_name, u.node_name) == 0);
    FUZZ_CHECK(t.svc.has_key == u.svc.has_key && t.has_mac == u.has_mac);
    FUZZ_CHECK(memcmp(t.svc.curve_key, u.svc.curve_key, sizeof(t.svc.curve_key)) == 0);
    FUZZ_CHECK(!t.has_mac || memcmp(t.mac, u.mac, sizeof(t.mac)) == 0);
    return 0;
}
