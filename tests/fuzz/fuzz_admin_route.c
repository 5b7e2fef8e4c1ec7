/*
 * fuzz_admin_route.c - libFuzzer target for the admin endpoint's request routing and
 * query parameters (admin/route.c): the input is a request target, "PATH?k=v&k=v...",
 * split like a server would (no percent-decoding: libmicrohttpd does that before us).
 * Whatever the bytes, routing must not crash, and an accepted query must stay within
 * its bounds.
 *
 * Build (from the repository root, after the CMake build made the page's table):
 *   clang-14 -g -O1 -fsanitize=fuzzer,address,undefined -Iadmin tests/fuzz/fuzz_admin_route.c
 *            admin/route.c admin/assets.c build-test/generated/admin_assets.c
 * Seeds: tests/fuzz/corpus/admin_route/.
 */
#include <stdlib.h>
#include <string.h>

#include "route.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    char *s = malloc(size + 1);
    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    char *query = strchr(s, '?');
    if (query != NULL)
        *query++ = '\0';
    int route = nma_route_find(s);
    nma_query q;
    nma_query_init(&q);
    char err[160];
    for (char *kv = query ? strtok(query, "&") : NULL; kv != NULL; kv = strtok(NULL, "&")) {
        char *eq = strchr(kv, '=');
        if (eq != NULL)
            *eq++ = '\0';
        if (nma_query_set(&q, route, kv, eq, err, sizeof(err)) < 0 && err[0] == '\0')
            abort(); /* a refusal always says why */
    }
    if (q.limit == 0 || q.limit > NMA_LIMIT_MAX || q.sort < NMA_SORT_ID || q.sort > NMA_SORT_TYPE)
        abort();
    free(s);
    return 0;
}
