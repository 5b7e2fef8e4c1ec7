/*
 * test_etcd_json.c - the etcd backend's values and keys: a value encodes and decodes
 * back; values written by other programs with only the required fields decode; every
 * kind of bad value (not JSON, not an object, a field missing, of the wrong type, too
 * long, with a NUL byte, a type out of range, a bad node id) is refused; keys and the
 * fleet's range have the documented layout; the gateway's base64 key-values decode,
 * and hostile ones (bad base64, a NUL in the key, an overlong value) are refused or
 * flagged.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "etcd.h"
#include "nodeid.h"
#include "nomid.h"

static const uint8_t node_id[16] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
                                    0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10};

static nmd_service svc(const char *name, int type, const char *ep)
{
    nmd_service s;
    memset(&s, 0, sizeof(s));
    snprintf(s.name, sizeof(s.name), "%s", name);
    s.type = type;
    snprintf(s.endpoint, sizeof(s.endpoint), "%s", ep);
    return s;
}

static int decode(const char *text, nmd_etcd_value *v)
{
    return nmd_etcd_value_decode(text, strlen(text), v);
}

static void value_round_trip(void **state)
{
    (void)state;
    nmd_service s = svc("camera.front", NM_PUB, "tcp://10.1.2.3:5555");
    char *text = nmd_etcd_value_encode(&s, node_id, "robot1", "10.1.2.3", NULL);
    assert_non_null(text);
    assert_string_equal(text,
                        "{\"name\":\"camera.front\",\"type\":\"pub\",\"endpoint\":"
                        "\"tcp://10.1.2.3:5555\",\"node\":\"0123456789abcdeffedcba9876543210\","
                        "\"node_name\":\"robot1\",\"addr\":\"10.1.2.3\"}");
    nmd_etcd_value v;
    assert_int_equal(decode(text, &v), 0);
    assert_string_equal(v.svc.name, "camera.front");
    assert_int_equal(v.svc.type, NM_PUB);
    assert_string_equal(v.svc.endpoint, "tcp://10.1.2.3:5555");
    assert_true(v.has_node);
    assert_memory_equal(v.node, node_id, 16);
    assert_string_equal(v.node_name, "robot1");
    assert_string_equal(v.addr, "10.1.2.3");
    free(text);
}

/* A CURVE server's value carries "curve_key" (Z85) and, signed, "mac" (hex of
 * nmd_record_mac over node, name, type, endpoint and key): both decode back, the MAC
 * checks with the fleet key and not with another, and any change to a field it covers
 * (the key above all) makes it fail, while node_name and addr are not covered. */
static void keyed_value(void **state)
{
    (void)state;
    static const uint8_t fleet[32] = "0123456789abcdef0123456789abcdef";
    static const uint8_t other[32] = "0123456789abcdef0123456789abcdeX";
    nmd_service s = svc("api", NM_REP, "tcp://10.1.2.3:7000");
    s.has_key = true;
    for (int i = 0; i < 32; i++)
        s.curve_key[i] = (uint8_t)(i * 7);
    uint8_t mac[NMD_MAC_SIZE];
    assert_true(nmd_record_mac(node_id, &s, fleet, 32, mac));
    char *text = nmd_etcd_value_encode(&s, node_id, "robot1", "10.1.2.3", mac);
    assert_non_null(text);
    char z85[41], hex[65];
    assert_non_null(nm_z85_encode(z85, s.curve_key, 32));
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", mac[i]);
    char want[512];
    snprintf(want, sizeof(want),
             "{\"name\":\"api\",\"type\":\"rep\",\"endpoint\":\"tcp://10.1.2.3:7000\","
             "\"node\":\"0123456789abcdeffedcba9876543210\",\"node_name\":\"robot1\","
             "\"addr\":\"10.1.2.3\",\"curve_key\":\"%s\",\"mac\":\"%s\"}",
             z85, hex);
    assert_string_equal(text, want);
    nmd_etcd_value v;
    assert_int_equal(decode(text, &v), 0);
    assert_true(v.svc.has_key && v.has_mac);
    assert_memory_equal(v.svc.curve_key, s.curve_key, 32);
    assert_memory_equal(v.mac, mac, 32);
    assert_true(nmd_record_mac_ok(v.node, &v.svc, fleet, 32, v.mac));
    assert_false(nmd_record_mac_ok(v.node, &v.svc, other, 32, v.mac));
    free(text);
    /* Each covered field changed: the MAC no longer checks. */
    for (int f = 0; f < 5; f++) {
        nmd_service t = s;
        uint8_t id[16];
        memcpy(id, node_id, 16);
        if (f == 0)
            t.curve_key[31] ^= 1;
        else if (f == 1)
            t.has_key = false;
        else if (f == 2)
            t.type = NM_ROUTER;
        else if (f == 3)
            t.endpoint[strlen(t.endpoint) - 1] = '1';
        else
            id[0] ^= 1;
        if (nmd_record_mac_ok(id, &t, fleet, 32, mac))
            fail_msg("MAC still checks with field %d changed", f);
    }
    nmd_service t = s;
    t.name[0] = 'b';
    assert_false(nmd_record_mac_ok(node_id, &t, fleet, 32, mac));
    /* Unsigned, unkeyed: neither field. */
    s.has_key = false;
    text = nmd_etcd_value_encode(&s, node_id, "robot1", "10.1.2.3", NULL);
    assert_null(strstr(text, "curve_key"));
    assert_null(strstr(text, "mac"));
    assert_int_equal(decode(text, &v), 0);
    assert_false(v.svc.has_key || v.has_mac);
    free(text);
}

static void foreign_value_with_required_fields(void **state)
{
    (void)state;
    nmd_etcd_value v;
    assert_int_equal(decode("{\"name\":\"x\",\"type\":\"rep\",\"endpoint\":\"tcp://h:1\"}", &v), 0);
    assert_int_equal(v.svc.type, NM_REP);
    assert_false(v.has_node);
    assert_string_equal(v.node_name, "");
    assert_string_equal(v.addr, "");
    /* a numeric type, unknown fields, an empty node name */
    assert_int_equal(decode("{\"name\":\"x\",\"type\":8,\"endpoint\":\"ipc:///tmp/a\","
                            "\"extra\":[1,2],\"node_name\":\"\"}",
                            &v),
                     0);
    assert_int_equal(v.svc.type, NM_PUSH);
    assert_false(v.svc.has_key || v.has_mac);
    /* libzmq's example server key, unsigned */
    assert_int_equal(decode("{\"name\":\"x\",\"type\":\"rep\",\"endpoint\":\"tcp://h:1\","
                            "\"curve_key\":\"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\"}",
                            &v),
                     0);
    assert_true(v.svc.has_key && !v.has_mac);
    assert_int_equal(v.svc.curve_key[0], 0x54);
}

static void bad_values_are_refused(void **state)
{
    (void)state;
    char longname[300], longep[300], longaddr[200];
    snprintf(longname, sizeof(longname),
             "{\"name\":\"%0129d\",\"type\":\"pub\",\"endpoint\":\"tcp://h:1\"}", 0);
    snprintf(longep, sizeof(longep),
             "{\"name\":\"x\",\"type\":\"pub\",\"endpoint\":\"tcp://%0195d\"}", 0);
    snprintf(longaddr, sizeof(longaddr),
             "{\"name\":\"x\",\"type\":\"pub\",\"endpoint\":\"tcp://h:1\",\"addr\":\"%064d\"}", 0);
    const char *bad[] = {
        "",
        "not json",
        "{\"name\":\"x\",\"type\":\"pub\",\"endpoint\":\"tcp://h:1\"",
        "[1,2,3]",
        "\"a string\"",
        "{}",
        "{\"type\":\"pub\",\"endpoint\":\"tcp://h:1\"}",
        "{\"name\":\"x\",\"endpoint\":\"tcp://h:1\"}",
        "{\"name\":\"x\",\"type\":\"pub\"}",
        "{\"name\":\"\",\"type\":\"pub\",\"endpoint\":\"tcp://h:1\"}",
        "{\"name\":\"x\",\"type\":\"pub\",\"endpoint\":\"\"}",
        "{\"name\":\"x\",\"type\":\"pub\",\"endpoint\":\"no scheme\"}",
        "{\"name\":7,\"type\":\"pub\",\"endpoint\":\"tcp://h:1\"}",
        "{\"name\":\"x\",\"type\":\"pub\",\"endpoint\":[\"tcp://h:1\"]}",
        "{\"name\":\"x\",\"type\":\"PUB\",\"endpoint\":\"tcp://h:1\"}",
        "{\"name\":\"x\",\"type\":\"nosuch\",\"endpoint\":\"tcp://h:1\"}",
        "{\"name\":\"x\",\"type\":12,\"endpoint\":\"tcp://h:1\"}",
        "{\"name\":\"x\",\"type\":-1,\"endpoint\":\"tcp://h:1\"}",
        "{\"name\":\"x\",\"type\":1.5,\"endpoint\":\"tcp://h:1\"}",
        "{\"name\":\"x\",\"type\":true,\"endpoint\":\"tcp://h:1\"}",
        "{\"name\":\"x\\u0000y\",\"type\":\"pub\",\"endpoint\":\"tcp://h:1\"}",
        "{\"name\":\"x\",\"type\":\"pub\",\"endpoint\":\"tcp://h:1\",\"node\":\"abc\"}",
        "{\"name\":\"x\",\"type\":\"pub\",\"endpoint\":\"tcp://h:1\",\"node\":"
        "\"0123456789abcdeffedcba987654321g\"}",
        "{\"name\":\"x\",\"type\":\"pub\",\"endpoint\":\"tcp://h:1\",\"node\":5}",
        "{\"name\":\"x\",\"type\":\"pub\",\"endpoint\":\"tcp://h:1\",\"node_name\":null}",
        "{\"name\":\"x\",\"type\":\"pub\",\"endpoint\":\"tcp://h:1\",\"name\":\"y\"}",
        /* curve_key: not 40 Z85 characters, not a string; mac: not 64 hex digits */
        "{\"name\":\"x\",\"type\":\"pub\",\"endpoint\":\"tcp://h:1\",\"curve_key\":\"abc\"}",
        "{\"name\":\"x\",\"type\":\"pub\",\"endpoint\":\"tcp://h:1\",\"curve_key\":"
        "\"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf\"}", /* 39 characters */
        "{\"name\":\"x\",\"type\":\"pub\",\"endpoint\":\"tcp://h:1\",\"curve_key\":"
        "\"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]y 7\"}", /* a space: not Z85 */
        "{\"name\":\"x\",\"type\":\"pub\",\"endpoint\":\"tcp://h:1\",\"curve_key\":7}",
        "{\"name\":\"x\",\"type\":\"pub\",\"endpoint\":\"tcp://h:1\",\"curve_key\":\"\"}",
        "{\"name\":\"x\",\"type\":\"pub\",\"endpoint\":\"tcp://h:1\",\"mac\":\"00ff\"}",
        "{\"name\":\"x\",\"type\":\"pub\",\"endpoint\":\"tcp://h:1\",\"mac\":"
        "\"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1g\"}",
        "{\"name\":\"x\",\"type\":\"pub\",\"endpoint\":\"tcp://h:1\",\"mac\":null}",
        longname,
        longep,
        longaddr,
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        nmd_etcd_value v;
        if (decode(bad[i], &v) != -EPROTO)
            fail_msg("accepted bad value #%zu: %s", i, bad[i]);
    }
    /* longer than NMD_ETCD_VALUE_MAX, even if it would parse */
    size_t n = NMD_ETCD_VALUE_MAX + 100;
    char *big = malloc(n + 1);
    assert_non_null(big);
    int k = snprintf(big, n + 1,
                     "{\"name\":\"x\",\"type\":\"pub\",\"endpoint\":\"tcp://h:1\",\"p\":\"");
    memset(big + k, 'a', n - (size_t)k - 2);
    memcpy(big + n - 2, "\"}", 3);
    nmd_etcd_value v;
    assert_int_equal(nmd_etcd_value_decode(big, n, &v), -EPROTO);
    free(big);
}

static void key_layout(void **state)
{
    (void)state;
    nmd_service s = svc("cam", NM_PUB, "tcp://127.0.0.1:5599");
    char key[NMD_ETCD_KEY_MAX + 1];
    assert_int_equal(nmd_etcd_key("/nomid/", "default", &s, node_id, key, sizeof(key)), 0);
    assert_int_equal(strncmp(key, "/nomid/default/cam/0123456789abcdeffedcba9876543210/", 52), 0);
    assert_int_equal(strlen(key), 52 + 8);
    char other[NMD_ETCD_KEY_MAX + 1];
    s = svc("cam", NM_PUB, "tcp://127.0.0.1:5600");
    assert_int_equal(nmd_etcd_key("/nomid/", "default", &s, node_id, other, sizeof(other)), 0);
    assert_string_not_equal(key, other);
    assert_int_equal(nmd_etcd_key("/nomid/", "default", &s, node_id, other, 20), -ENAMETOOLONG);

    char k[64], e[64];
    assert_int_equal(nmd_etcd_fleet_range("/nomid/", "x", k, e, sizeof(k)), 0);
    assert_string_equal(k, "/nomid/x/");
    assert_string_equal(e, "/nomid/x0");
    assert_int_equal(nmd_etcd_fleet_range("/nomid/", "a-long-fleet-name", k, e, 10), -ENAMETOOLONG);

    char hex[33];
    uint8_t back[16];
    nmd_id_hex(node_id, hex);
    assert_string_equal(hex, "0123456789abcdeffedcba9876543210");
    assert_int_equal(nmd_id_from_hex(hex, strlen(hex), back), 0);
    assert_memory_equal(back, node_id, 16);
    assert_int_equal(nmd_id_from_hex("0123", strlen("0123"), back), -EINVAL);
}

static json_t *parse(const char *text)
{
    json_t *j = json_loads(text, 0, NULL);
    assert_non_null(j);
    return j;
}

static void gateway_key_values(void **state)
{
    (void)state;
    nmd_etcd_kv kv;
    /* "/nomid/a" = "{\"x\":1}" */
    json_t *j =
        parse("{\"key\":\"L25vbWlkL2E=\",\"create_revision\":\"2\",\"value\":\"eyJ4IjoxfQ==\"}");
    assert_int_equal(nmd_etcd_kv_decode(j, false, &kv), 0);
    assert_string_equal(kv.key, "/nomid/a");
    assert_string_equal(kv.value, "{\"x\":1}");
    assert_int_equal(kv.value_len, 7);
    assert_false(kv.oversize);
    json_decref(j);
    /* a delete carries only the key */
    j = parse("{\"key\":\"L25vbWlkL2E=\",\"mod_revision\":\"3\"}");
    assert_int_equal(nmd_etcd_kv_decode(j, true, &kv), 0);
    assert_true(kv.deleted);
    assert_string_equal(kv.key, "/nomid/a");
    json_decref(j);
    /* an empty value is omitted by the gateway */
    j = parse("{\"key\":\"L25vbWlkL2E=\"}");
    assert_int_equal(nmd_etcd_kv_decode(j, false, &kv), 0);
    assert_int_equal(kv.value_len, 0);
    json_decref(j);

    const char *bad[] = {
        "{\"value\":\"eyJ4IjoxfQ==\"}",        /* no key */
        "{\"key\":\"\"}",                      /* empty key */
        "{\"key\":\"not base64!\"}",           /* bad base64 */
        "{\"key\":5}",                         /* wrong type */
        "{\"key\":\"YQBi\"}",                  /* "a\0b" */
        "{\"key\":\"L2E=\",\"value\":\"@@\"}", /* bad value base64 */
        "[1]",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        j = parse(bad[i]);
        if (nmd_etcd_kv_decode(j, false, &kv) != -EPROTO)
            fail_msg("accepted bad key-value #%zu: %s", i, bad[i]);
        json_decref(j);
    }

    /* an overlong value is flagged, the key kept */
    size_t n = NMD_ETCD_VALUE_MAX + 10;
    char *raw = calloc(1, n);
    assert_non_null(raw);
    memset(raw, 'v', n);
    json_t *o =
        json_pack("{s:o, s:o}", "key", nmd_etcd_b64("/k", 2), "value", nmd_etcd_b64(raw, n));
    assert_non_null(o);
    assert_int_equal(nmd_etcd_kv_decode(o, false, &kv), 0);
    assert_true(kv.oversize);
    assert_string_equal(kv.key, "/k");
    assert_int_equal(kv.value_len, 0);
    json_decref(o);
    /* the longest value accepted */
    o = json_pack("{s:o, s:o}", "key", nmd_etcd_b64("/k", 2), "value",
                  nmd_etcd_b64(raw, NMD_ETCD_VALUE_MAX));
    assert_int_equal(nmd_etcd_kv_decode(o, false, &kv), 0);
    assert_false(kv.oversize);
    assert_int_equal(kv.value_len, NMD_ETCD_VALUE_MAX);
    json_decref(o);
    free(raw);
}

static void gateway_integers(void **state)
{
    (void)state;
    int64_t v;
    json_t *j =
        parse("{\"a\":\"5007618040317588998\",\"b\":42,\"c\":\"12x\",\"d\":null,\"e\":\"\"}");
    assert_int_equal(nmd_etcd_int(json_object_get(j, "a"), &v), 0);
    assert_true(v == 5007618040317588998LL);
    assert_int_equal(nmd_etcd_int(json_object_get(j, "b"), &v), 0);
    assert_int_equal(v, 42);
    assert_int_equal(nmd_etcd_int(json_object_get(j, "c"), &v), -EPROTO);
    assert_int_equal(nmd_etcd_int(json_object_get(j, "d"), &v), -EPROTO);
    assert_int_equal(nmd_etcd_int(json_object_get(j, "e"), &v), -EPROTO);
    assert_int_equal(nmd_etcd_int(json_object_get(j, "missing"), &v), -EPROTO);
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(value_round_trip),
        cmocka_unit_test(keyed_value),
        cmocka_unit_test(foreign_value_with_required_fields),
        cmocka_unit_test(bad_values_are_refused),
        cmocka_unit_test(key_layout),
        cmocka_unit_test(gateway_key_values),
        cmocka_unit_test(gateway_integers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
