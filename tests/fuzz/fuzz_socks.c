/*
 * fuzz_socks.c - libFuzzer target for the SOCKS5 client's parsers (lib/transport/socks.c).
 *
 * The input plays the proxy: its first two bytes answer our greeting, the rest is the
 * CONNECT reply, read the way the engine reads it (conn_socks.c: only as many bytes as
 * nmi_socks_reply_need asks for, into a buffer of NMI_SOCKS_REPLY_MAX).  The input also
 * goes, as text, to nmi_socks_request (an endpoint's target is the application's, but
 * the encoder must stay in bounds whatever it is given).  A decoder that asks past its
 * buffer or accepts a reply of the wrong length aborts.
 *
 * Build (from the repository root):
 *   clang-14 -g -O1 -fsanitize=fuzzer,address,undefined -Ilib/include -Ilib
 *            tests/fuzz/fuzz_socks.c lib/transport/socks.c
 * Seeds: tests/fuzz/corpus/socks/.
 */
#include <stdlib.h>
#include <string.h>

#include "transport/socks.h"

#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

static void fuzz_replies(const uint8_t *data, size_t size)
{
    const char *why;
    if (size < NMI_SOCKS_METHOD_LEN || nmi_socks_method_check(data, &why) < 0)
        return;
    data += NMI_SOCKS_METHOD_LEN;
    size -= NMI_SOCKS_METHOD_LEN;
    uint8_t in[NMI_SOCKS_REPLY_MAX];
    size_t n = 0, need;
    while ((need = nmi_socks_reply_need(in, n)) > 0) {
        FUZZ_CHECK(n + need <= sizeof(in));
        if (size == 0)
            return; /* the proxy went quiet: the engine waits, then times out */
        size_t take = need < size ? need : size;
        memcpy(in + n, data, take);
        n += take;
        data += take;
        size -= take;
    }
    int rc = nmi_socks_reply_check(in, n, &why);
    FUZZ_CHECK(rc <= 0 && (rc == 0) == (why == NULL));
    if (rc == 0)
        FUZZ_CHECK(n >= 4 + 1 + 1 + 2 && in[0] == 5 && in[1] == 0);
}

static void fuzz_request(const uint8_t *data, size_t size)
{
    char target[300];
    size_t n = size < sizeof(target) - 1 ? size : sizeof(target) - 1;
    memcpy(target, data, n);
    target[n] = '\0';
    uint8_t out[NMI_SOCKS_REQ_MAX + 1];
    out[NMI_SOCKS_REQ_MAX] = 0xa5; /* a canary past the documented size */
    int rc = nmi_socks_request(target, out);
    FUZZ_CHECK(rc < 0 || (rc >= 4 + 1 + 1 + 2 && rc <= NMI_SOCKS_REQ_MAX));
    FUZZ_CHECK(out[NMI_SOCKS_REQ_MAX] == 0xa5);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_replies(data, size);
    fuzz_request(data, size);
    return 0;
}
