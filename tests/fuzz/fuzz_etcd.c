/*
 * fuzz_etcd.c - libFuzzer target for the etcd backend's parsers of what a server (or any
 * program writing to it) sends (discovery/etcd_json.c, discovery/etcd_stream.c).
 *
 * The first byte picks the parser: a service value (an accepted value must hold its
 * limits and survive encode + decode unchanged), a gateway key-value object (its key
 * must be NUL-free and bounded, its value then goes through the value decoder), or the
 * watch stream splitter fed in chunks whose sizes come from the input (the buffer must
 * stay under its cap, and every object it delivers must be an object or an array).
 * Socket type names come from a stub here, so that the target needs no libnomid.
 *
 * Build (from the repository root):
 *   clang-14 -g -O1 -fsanitize=fuzzer,address,undefined -Ilib/include -Idiscovery
 *            tests/fuzz/fuzz_etcd.c discovery/etcd_json.c discovery/etcd_stream.c
 *            discovery/nodeid.c lib/core/keys.c -ljansson -lsodium
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "etcd.h"
#include "nomid.h"

#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

static const char *const fuzz_types[] = {"pair",   "pub",  "sub",  "req",  "rep",  "dealer",
                                         "router", "pull", "push", "xpub", "xsub", "stream"};

int nm_sock_type_parse(const char *name)
{
    for (int i = 0; i < 12; i++)
        if (strcmp(fuzz_types[i], name) == 0)
            return i;
    return -EINVAL;
}

const char *nm_sock_type_name(int type)
{
    return type >= 0 && type < 12 ? fuzz_types[type] : NULL;
}

static void fuzz_value(const char *text, size_t n)
{
    nmd_etcd_value v;
    if (nmd_etcd_value_decode(text, n, &v) < 0)
        return;
    size_t name = strlen(v.svc.name), ep = strlen(v.svc.endpoint);
    FUZZ_CHECK(name >= 1 && name <= NMD_SVC_NAME_MAX);
    FUZZ_CHECK(ep >= 1 && ep <= NMD_ENDPOINT_MAX && strstr(v.svc.endpoint, "://") != NULL);
    FUZZ_CHECK(v.svc.type >= 0 && v.svc.type <= NMD_TYPE_MAX);
    FUZZ_CHECK(strlen(v.node_name) <= NMD_NAME_MAX && strlen(v.addr) <= NMD_ETCD_ADDR_MAX);
    char *again =
        nmd_etcd_value_encode(&v.svc, v.node, v.node_name, v.addr, v.has_mac ? v.mac : NULL);
    if (again == NULL)
        return; /* escaping made it longer than NMD_ETCD_VALUE_MAX */
    nmd_etcd_value w;
    FUZZ_CHECK(nmd_etcd_value_decode(again, strlen(again), &w) == 0);
    FUZZ_CHECK(strcmp(w.svc.name, v.svc.name) == 0 && strcmp(w.svc.endpoint, v.svc.endpoint) == 0);
    FUZZ_CHECK(w.svc.type == v.svc.type && memcmp(w.node, v.node, 16) == 0 && w.has_node);
    FUZZ_CHECK(strcmp(w.node_name, v.node_name) == 0 && strcmp(w.addr, v.addr) == 0);
    FUZZ_CHECK(w.svc.has_key == v.svc.has_key && w.has_mac == v.has_mac);
    FUZZ_CHECK(!v.svc.has_key || memcmp(w.svc.curve_key, v.svc.curve_key, 32) == 0);
    FUZZ_CHECK(!v.has_mac || memcmp(w.mac, v.mac, sizeof(v.mac)) == 0);
    free(again);
}

static void fuzz_kv(const char *text, size_t n)
{
    json_t *o = json_loadb(text, n, 0, NULL);
    if (o == NULL)
        return;
    nmd_etcd_kv kv;
    if (nmd_etcd_kv_decode(o, (n & 1) != 0, &kv) == 0) {
        size_t k = strlen(kv.key);
        FUZZ_CHECK(k >= 1 && k <= NMD_ETCD_KEY_MAX);
        FUZZ_CHECK(kv.value_len <= NMD_ETCD_VALUE_MAX && kv.value[kv.value_len] == '\0');
        FUZZ_CHECK(!kv.oversize || kv.value_len == 0);
        fuzz_value(kv.value, kv.value_len);
    }
    int64_t i;
    (void)nmd_etcd_int(json_object_get(o, "revision"), &i);
    json_decref(o);
}

static int fuzz_stream_cb(void *arg, json_t *obj)
{
    FUZZ_CHECK(json_is_object(obj) || json_is_array(obj));
    (*(int *)arg)++;
    return 0;
}

static void fuzz_stream(const uint8_t *data, size_t n)
{
    if (n < 1)
        return;
    size_t step = (size_t)data[0] % 64 + 1; /* chunk size */
    data++;
    n--;
    nmd_etcd_stream s;
    nmd_etcd_stream_init(&s, 512);
    int objects = 0;
    for (size_t off = 0; off < n; off += step) {
        size_t len = n - off < step ? n - off : step;
        int rc = nmd_etcd_stream_feed(&s, (const char *)data + off, len, fuzz_stream_cb, &objects);
        FUZZ_CHECK(rc == 0 || rc == -EMSGSIZE);
        FUZZ_CHECK(s.len <= s.max + 1);
        if (rc == -EMSGSIZE)
            nmd_etcd_stream_reset(&s);
    }
    FUZZ_CHECK((uint64_t)objects == s.objects);
    nmd_etcd_stream_fini(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *text = (const char *)data + 1;
    switch (data[0] % 3) {
    case 0:
        fuzz_value(text, size - 1);
        break;
    case 1:
        fuzz_kv(text, size - 1);
        break;
    default:
        fuzz_stream(data + 1, size - 1);
        break;
    }
    return 0;
}
