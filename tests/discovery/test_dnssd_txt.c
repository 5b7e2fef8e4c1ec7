/*
 * test_dnssd_txt.c - unit tests for the pure half of the DNS-SD backend
 * (discovery/dnssd_txt.c): the TXT record's round trip and wire layout (txtvers=1 first,
 * lowercase keys of at most 9 bytes), RFC 6763 decoding rules (case-insensitive keys,
 * the first occurrence wins, '=' inside values, empty strings and unknown keys
 * skipped), rejection of missing, empty, overlong and ill-typed values and of strings
 * running past the end, every truncation and many bit flips of a valid record decoded
 * without a crash, a CURVE key (ck=) and MAC (mac=) and their malformed forms, and the
 * instance name, subtype and port helpers.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dnssd_txt.h"
#include "nomid.h"

#define NODE_HEX "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf"

static void make_txt(nmd_dnssd_txt *t)
{
    memset(t, 0, sizeof(*t));
    strcpy(t->svc.name, "camera.front");
    t->svc.type = 1; /* pub */
    strcpy(t->svc.endpoint, "tcp://*:5599");
    for (int i = 0; i < 16; i++)
        t->node[i] = (uint8_t)(0xa0 + i);
    strcpy(t->fleet, "default");
    strcpy(t->node_name, "robot1");
}

/* Builds a record in wire form from NULL-terminated C strings. */
static size_t wire(uint8_t *out, ...)
{
    va_list ap;
    size_t n = 0;
    va_start(ap, out);
    for (const char *s; (s = va_arg(ap, const char *)) != NULL;) {
        size_t len = strlen(s);
        assert_true(len <= 255);
        out[n++] = (uint8_t)len;
        memcpy(out + n, s, len);
        n += len;
    }
    va_end(ap);
    return n;
}

/* The valid strings of a record, which tests replace one at a time. */
#define VALID "txtvers=1", "name=cam", "type=pub", "ep=tcp://*:5599", "node=" NODE_HEX, "fleet=f1"

static void test_round_trip(void **state)
{
    (void)state;
    nmd_dnssd_txt t, u;
    uint8_t buf[NMD_DNSSD_TXT_MAX];
    for (int type = 0; type <= NMD_TYPE_MAX; type++) {
        make_txt(&t);
        t.svc.type = type;
        int n = nmd_dnssd_txt_encode(&t, buf, sizeof(buf));
        assert_true(n > 0);
        assert_int_equal(nmd_dnssd_txt_decode(buf, (size_t)n, &u, NULL), 0);
        assert_memory_equal(&t, &u, sizeof(t));
    }
    /* No node name: no nodename key, decoded as "". */
    make_txt(&t);
    memset(t.node_name, 0, sizeof(t.node_name));
    int n = nmd_dnssd_txt_encode(&t, buf, sizeof(buf));
    assert_true(n > 0);
    assert_null(memmem(buf, (size_t)n, "nodename", 8));
    assert_int_equal(nmd_dnssd_txt_decode(buf, (size_t)n, &u, NULL), 0);
    assert_memory_equal(&t, &u, sizeof(t));
    /* Largest fields still fit. */
    memset(t.svc.name, 'n', NMD_SVC_NAME_MAX);
    t.svc.name[NMD_SVC_NAME_MAX] = '\0';
    memcpy(t.svc.endpoint, "tcp://", 6);
    memset(t.svc.endpoint + 6, 'e', NMD_ENDPOINT_MAX - 6);
    t.svc.endpoint[NMD_ENDPOINT_MAX] = '\0';
    memset(t.fleet, 'f', NMD_FLEET_MAX);
    memset(t.node_name, 'm', NMD_NAME_MAX);
    t.svc.has_key = t.has_mac = true; /* and a key and a MAC */
    memset(t.svc.curve_key, 0xee, sizeof(t.svc.curve_key));
    memset(t.mac, 0x99, sizeof(t.mac));
    n = nmd_dnssd_txt_encode(&t, buf, sizeof(buf));
    assert_true(n > 0);
    assert_int_equal(nmd_dnssd_txt_decode(buf, (size_t)n, &u, NULL), 0);
    assert_memory_equal(&t, &u, sizeof(t));
}

/* A CURVE server's record: ck= (Z85) and mac= (hex) after the other keys, read back;
 * the MAC is nmd_record_mac over the endpoint as written (wildcard kept); a malformed ck
 * or mac makes the record malformed, as do keys without values. */
static void test_key_and_mac(void **state)
{
    (void)state;
    static const uint8_t fleet_key[32] = "0123456789abcdef0123456789abcdef";
    nmd_dnssd_txt t, u;
    make_txt(&t);
    t.svc.has_key = true;
    for (int i = 0; i < 32; i++)
        t.svc.curve_key[i] = (uint8_t)(0x11 * i);
    assert_true(nmd_record_mac(t.node, &t.svc, fleet_key, 32, t.mac));
    t.has_mac = true;
    uint8_t buf[NMD_DNSSD_TXT_MAX], want[NMD_DNSSD_TXT_MAX];
    int n = nmd_dnssd_txt_encode(&t, buf, sizeof(buf));
    char ck[4 + 40 + 1] = "ck=", mac[5 + 64 + 1] = "mac=";
    assert_non_null(nm_z85_encode(ck + 3, t.svc.curve_key, 32));
    for (int i = 0; i < 32; i++)
        snprintf(mac + 4 + 2 * i, 3, "%02x", t.mac[i]);
    size_t m = wire(want, "txtvers=1", "name=camera.front", "type=pub", "ep=tcp://*:5599",
                    "node=" NODE_HEX, "fleet=default", "nodename=robot1", ck, mac, NULL);
    assert_int_equal(n, m);
    assert_memory_equal(buf, want, m);
    assert_int_equal(nmd_dnssd_txt_decode(buf, (size_t)n, &u, NULL), 0);
    assert_memory_equal(&t, &u, sizeof(t));
    assert_true(nmd_record_mac_ok(u.node, &u.svc, fleet_key, 32, u.mac));
    u.svc.curve_key[0] ^= 1;
    assert_false(nmd_record_mac_ok(u.node, &u.svc, fleet_key, 32, u.mac));
    /* Keys compare case-insensitively here too. */
    m = wire(want, VALID, "CK=rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7", NULL);
    assert_int_equal(nmd_dnssd_txt_decode(want, m, &u, NULL), 0);
    assert_true(u.svc.has_key && !u.has_mac);
    assert_int_equal(u.svc.curve_key[0], 0x54);
    const char *bad[] = {
        "ck=rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf",   /* 39 characters */
        "ck=rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7A", /* 41 */
        "ck=rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]y 7",  /* not Z85 */
        "ck",
        "ck=",
        "mac=00ff",
        "mac=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1g",
        "mac=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f00",
        "mac",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *why = NULL;
        m = wire(want, VALID, bad[i], NULL);
        if (nmd_dnssd_txt_decode(want, m, &u, &why) != -EPROTO)
            fail_msg("accepted %s", bad[i]);
        assert_non_null(why);
    }
}

static void test_layout(void **state)
{
    (void)state;
    nmd_dnssd_txt t;
    make_txt(&t);
    uint8_t buf[NMD_DNSSD_TXT_MAX], want[NMD_DNSSD_TXT_MAX];
    int n = nmd_dnssd_txt_encode(&t, buf, sizeof(buf));
    size_t m = wire(want, "txtvers=1", "name=camera.front", "type=pub", "ep=tcp://*:5599",
                    "node=" NODE_HEX, "fleet=default", "nodename=robot1", NULL);
    assert_int_equal(n, m);
    assert_memory_equal(buf, want, m);
    /* Every key lowercase, at most 9 bytes (RFC 6763 6.4). */
    for (size_t off = 0; off < m; off += 1 + buf[off]) {
        const uint8_t *s = buf + off + 1, *eq = memchr(s, '=', buf[off]);
        assert_non_null(eq);
        assert_true(eq - s >= 1 && eq - s <= 9);
        for (const uint8_t *k = s; k < eq; k++)
            assert_true(*k >= 'a' && *k <= 'z');
    }
}

static void test_missing_keys(void **state)
{
    (void)state;
    static const char *const valid[] = {VALID};
    uint8_t buf[1024];
    nmd_dnssd_txt t;
    const char *why;
    /* Drop each key in turn: only txtvers may be left out. */
    for (size_t drop = 0; drop < 6; drop++) {
        const char *s[6];
        for (size_t i = 0, k = 0; i < 6; i++)
            s[k++] = i == drop ? "other=1" : valid[i];
        size_t n = wire(buf, s[0], s[1], s[2], s[3], s[4], s[5], NULL);
        why = NULL;
        int rc = nmd_dnssd_txt_decode(buf, n, &t, &why);
        if (drop == 0) {
            assert_int_equal(rc, 0);
            assert_null(why);
        } else {
            assert_int_equal(rc, -EPROTO);
            assert_non_null(why);
        }
    }
    /* A key with no '=' (a boolean attribute) has no value. */
    size_t n = wire(buf, "txtvers=1", "name", "type=pub", "ep=tcp://*:1", "node=" NODE_HEX,
                    "fleet=f", NULL);
    assert_int_equal(nmd_dnssd_txt_decode(buf, n, &t, NULL), -EPROTO);
    /* An empty required value. */
    n = wire(buf, "txtvers=1", "name=", "type=pub", "ep=tcp://*:1", "node=" NODE_HEX, "fleet=f",
             NULL);
    assert_int_equal(nmd_dnssd_txt_decode(buf, n, &t, NULL), -EPROTO);
    n = wire(buf, "txtvers=1", "name=a", "type=pub", "ep=tcp://*:1", "node=" NODE_HEX,
             "fleet=", NULL);
    assert_int_equal(nmd_dnssd_txt_decode(buf, n, &t, NULL), -EPROTO);
}

static void test_duplicate_keys(void **state)
{
    (void)state;
    uint8_t buf[1024];
    nmd_dnssd_txt t;
    /* The first occurrence wins, keys compare case-insensitively. */
    size_t n = wire(buf, VALID, "name=second", "NAME=third", "Fleet=f2", NULL);
    assert_int_equal(nmd_dnssd_txt_decode(buf, n, &t, NULL), 0);
    assert_string_equal(t.svc.name, "cam");
    assert_string_equal(t.fleet, "f1");
    n = wire(buf, "TXTVERS=1", "Name=upper", "TYPE=sub", "Ep=tcp://h:1", "NODE=" NODE_HEX,
             "fLeEt=x", "name=lower", NULL);
    assert_int_equal(nmd_dnssd_txt_decode(buf, n, &t, NULL), 0);
    assert_string_equal(t.svc.name, "upper");
    assert_int_equal(t.svc.type, 2);
    /* A first occurrence without a value wins too, and makes the record malformed. */
    n = wire(buf, "txtvers=1", "type", "name=a", "type=pub", "ep=tcp://*:1", "node=" NODE_HEX,
             "fleet=f", NULL);
    assert_int_equal(nmd_dnssd_txt_decode(buf, n, &t, NULL), -EPROTO);
}

static void test_equals_in_values(void **state)
{
    (void)state;
    uint8_t buf[1024];
    nmd_dnssd_txt t;
    size_t n = wire(buf, "txtvers=1", "name=a=b=c", "type=req", "ep=tcp://h:1/?x=y",
                    "node=" NODE_HEX, "fleet==f", "nodename=n=1", NULL);
    assert_int_equal(nmd_dnssd_txt_decode(buf, n, &t, NULL), 0);
    assert_string_equal(t.svc.name, "a=b=c");
    assert_string_equal(t.svc.endpoint, "tcp://h:1/?x=y");
    assert_string_equal(t.fleet, "=f");
    assert_string_equal(t.node_name, "n=1");
    /* Strings with no key ("=x") and empty strings are skipped; unknown keys ignored. */
    n = wire(buf, "", "=name=x", "", "future=1", "flag", VALID, NULL);
    assert_int_equal(nmd_dnssd_txt_decode(buf, n, &t, NULL), 0);
    assert_string_equal(t.svc.name, "cam");
}

static void test_overlong(void **state)
{
    (void)state;
    uint8_t buf[1024];
    char name[8 + NMD_SVC_NAME_MAX], ep[8 + NMD_ENDPOINT_MAX], fleet[8 + NMD_FLEET_MAX],
        nodename[12 + NMD_NAME_MAX];
    nmd_dnssd_txt t;
    /* At the limit: accepted. */
    snprintf(name, sizeof(name), "name=%0*d", NMD_SVC_NAME_MAX, 0);
    snprintf(ep, sizeof(ep), "ep=tcp://%0*d", NMD_ENDPOINT_MAX - 6, 0);
    snprintf(fleet, sizeof(fleet), "fleet=%0*d", NMD_FLEET_MAX, 0);
    snprintf(nodename, sizeof(nodename), "nodename=%0*d", NMD_NAME_MAX, 0);
    size_t n =
        wire(buf, "txtvers=1", name, "type=pub", ep, "node=" NODE_HEX, fleet, nodename, NULL);
    assert_int_equal(nmd_dnssd_txt_decode(buf, n, &t, NULL), 0);
    assert_int_equal(strlen(t.svc.name), NMD_SVC_NAME_MAX);
    assert_int_equal(strlen(t.svc.endpoint), NMD_ENDPOINT_MAX);
    /* One byte more, each in turn: rejected. */
    char big[4][300];
    snprintf(big[0], sizeof(big[0]), "name=%0*d", NMD_SVC_NAME_MAX + 1, 0);
    snprintf(big[1], sizeof(big[1]), "ep=tcp://%0*d", NMD_ENDPOINT_MAX - 5, 0);
    snprintf(big[2], sizeof(big[2]), "fleet=%0*d", NMD_FLEET_MAX + 1, 0);
    snprintf(big[3], sizeof(big[3]), "nodename=%0*d", NMD_NAME_MAX + 1, 0);
    for (int i = 0; i < 4; i++) {
        n = wire(buf, "txtvers=1", i == 0 ? big[0] : name, "type=pub", i == 1 ? big[1] : ep,
                 "node=" NODE_HEX, i == 2 ? big[2] : fleet, i == 3 ? big[3] : nodename, NULL);
        assert_int_equal(nmd_dnssd_txt_decode(buf, n, &t, NULL), -EPROTO);
    }
    /* Node ids of the wrong length or not hex. */
    const char *nodes[] = {"node=" NODE_HEX "0", "node=a0a1a2a3a4a5a6a7a8a9aaabacadae",
                           "node=g0a1a2a3a4a5a6a7a8a9aaabacadaeaf", "node="};
    for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
        n = wire(buf, "name=a", "type=pub", "ep=tcp://*:1", nodes[i], "fleet=f", NULL);
        assert_int_equal(nmd_dnssd_txt_decode(buf, n, &t, NULL), -EPROTO);
    }
    /* Upper-case hex is accepted. */
    n = wire(buf, "name=a", "type=pub", "ep=tcp://*:1", "node=A0A1A2A3A4A5A6A7A8A9AAABACADAEAF",
             "fleet=f", NULL);
    assert_int_equal(nmd_dnssd_txt_decode(buf, n, &t, NULL), 0);
    assert_int_equal(t.node[15], 0xaf);
    /* A length byte running past the end. */
    n = wire(buf, VALID, NULL);
    buf[n++] = 10;
    buf[n++] = 'x';
    assert_int_equal(nmd_dnssd_txt_decode(buf, n, &t, NULL), -EPROTO);
    /* Encoding what cannot be decoded back, or into too little room. */
    make_txt(&t);
    t.svc.type = NMD_TYPE_MAX + 1;
    assert_int_equal(nmd_dnssd_txt_encode(&t, buf, sizeof(buf)), -EINVAL);
    t.svc.type = -1;
    assert_int_equal(nmd_dnssd_txt_encode(&t, buf, sizeof(buf)), -EINVAL);
    make_txt(&t);
    strcpy(t.svc.endpoint, "no-scheme");
    assert_int_equal(nmd_dnssd_txt_encode(&t, buf, sizeof(buf)), -EINVAL);
    make_txt(&t);
    t.fleet[0] = '\0';
    assert_int_equal(nmd_dnssd_txt_encode(&t, buf, sizeof(buf)), -EINVAL);
    make_txt(&t);
    strcpy(t.svc.name, "line\nbreak");
    assert_int_equal(nmd_dnssd_txt_encode(&t, buf, sizeof(buf)), -EINVAL);
    make_txt(&t);
    assert_int_equal(nmd_dnssd_txt_encode(&t, buf, 20), -ENOBUFS);
}

static void test_wrong_type(void **state)
{
    (void)state;
    uint8_t buf[1024];
    nmd_dnssd_txt t;
    const char *types[] = {"type=PUB", "type=", "type=nonsense", "type=pub ", "type=pu"};
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        size_t n = wire(buf, "name=a", types[i], "ep=tcp://*:1", "node=" NODE_HEX, "fleet=f", NULL);
        assert_int_equal(nmd_dnssd_txt_decode(buf, n, &t, NULL), -EPROTO);
    }
    /* Every type name decodes. */
    const char *names[] = {"pair",   "pub",  "sub",  "req",  "rep",  "dealer",
                           "router", "pull", "push", "xpub", "xsub", "stream"};
    for (int i = 0; i < 12; i++) {
        char ty[32];
        snprintf(ty, sizeof(ty), "type=%s", names[i]);
        size_t n = wire(buf, "name=a", ty, "ep=tcp://*:1", "node=" NODE_HEX, "fleet=f", NULL);
        assert_int_equal(nmd_dnssd_txt_decode(buf, n, &t, NULL), 0);
        assert_int_equal(t.svc.type, i);
    }
    /* An endpoint without a scheme, a value with a control character or NUL. */
    size_t n = wire(buf, "name=a", "type=pub", "ep=localhost:1", "node=" NODE_HEX, "fleet=f", NULL);
    assert_int_equal(nmd_dnssd_txt_decode(buf, n, &t, NULL), -EPROTO);
    n = wire(buf, "name=a\nb", "type=pub", "ep=tcp://*:1", "node=" NODE_HEX, "fleet=f", NULL);
    assert_int_equal(nmd_dnssd_txt_decode(buf, n, &t, NULL), -EPROTO);
    n = wire(buf, "name=ab", "type=pub", "ep=tcp://*:1", "node=" NODE_HEX, "fleet=f", NULL);
    buf[1 + 6] = '\0'; /* name=a\0 */
    assert_int_equal(nmd_dnssd_txt_decode(buf, n, &t, NULL), -EPROTO);
    /* Another txtvers. */
    n = wire(buf, "txtvers=2", "name=a", "type=pub", "ep=tcp://*:1", "node=" NODE_HEX, "fleet=f",
             NULL);
    assert_int_equal(nmd_dnssd_txt_decode(buf, n, &t, NULL), -EPROTONOSUPPORT);
    n = wire(buf, "txtvers", "name=a", "type=pub", "ep=tcp://*:1", "node=" NODE_HEX, "fleet=f",
             NULL);
    assert_int_equal(nmd_dnssd_txt_decode(buf, n, &t, NULL), -EPROTONOSUPPORT);
}

static void test_empty(void **state)
{
    (void)state;
    nmd_dnssd_txt t;
    const char *why = NULL;
    assert_int_equal(nmd_dnssd_txt_decode(NULL, 0, &t, &why), -EPROTO);
    assert_non_null(why);
    uint8_t one = 0; /* an empty TXT record is one empty string (RFC 6763 6.1) */
    assert_int_equal(nmd_dnssd_txt_decode(&one, 1, &t, NULL), -EPROTO);
    uint8_t buf[64];
    size_t n = wire(buf, "", "", "", NULL);
    assert_int_equal(nmd_dnssd_txt_decode(buf, n, &t, NULL), -EPROTO);
    assert_int_equal(nmd_dnssd_txt_decode(buf, n, NULL, NULL), -EPROTO);
}

/* Every truncation and single-bit flip of a valid record decodes or fails cleanly. */
static void test_mangled(void **state)
{
    (void)state;
    nmd_dnssd_txt t;
    make_txt(&t);
    uint8_t buf[NMD_DNSSD_TXT_MAX], copy[NMD_DNSSD_TXT_MAX];
    int n = nmd_dnssd_txt_encode(&t, buf, sizeof(buf));
    assert_true(n > 0);
    for (int len = 0; len < n; len++) {
        uint8_t *exact = malloc((size_t)len + 1); /* ASan sees any read past len */
        memcpy(exact, buf, (size_t)len);
        int rc = nmd_dnssd_txt_decode(exact, (size_t)len, &t, NULL);
        assert_true(rc == 0 || rc == -EPROTO || rc == -EPROTONOSUPPORT);
        free(exact);
    }
    for (int bit = 0; bit < n * 8; bit++) {
        memcpy(copy, buf, (size_t)n);
        copy[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        int rc = nmd_dnssd_txt_decode(copy, (size_t)n, &t, NULL);
        assert_true(rc == 0 || rc == -EPROTO || rc == -EPROTONOSUPPORT);
    }
}

static void test_instance_name(void **state)
{
    (void)state;
    uint8_t id[16];
    for (int i = 0; i < 16; i++)
        id[i] = (uint8_t)(0xa0 + i);
    char out[NMD_DNSSD_INSTANCE_MAX + 1];
    nmd_dnssd_instance_name("cam", "robot1", id, out);
    assert_string_equal(out, "cam@robot1");
    nmd_dnssd_instance_name("cam", "", id, out);
    assert_string_equal(out, "cam@a0a1a2a3");
    nmd_dnssd_instance_name("cam", NULL, id, out);
    assert_string_equal(out, "cam@a0a1a2a3");
    /* A long service name is cut so that the whole is one DNS label (63 bytes). */
    char svc[NMD_SVC_NAME_MAX + 1];
    memset(svc, 's', NMD_SVC_NAME_MAX);
    svc[NMD_SVC_NAME_MAX] = '\0';
    nmd_dnssd_instance_name(svc, "robot1", id, out);
    assert_int_equal(strlen(out), NMD_DNSSD_INSTANCE_MAX);
    assert_string_equal(out + strlen(out) - 7, "@robot1");
    /* ... never inside a UTF-8 character: 55 bytes left for 2-byte characters take 27. */
    svc[0] = '\0';
    for (int i = 0; i < 40; i++)
        strcat(svc, "\xc3\xa9");
    nmd_dnssd_instance_name(svc, "robot1x", id, out);
    assert_int_equal(strlen(out), 54 + 8);
    assert_int_equal((unsigned char)out[53], 0xa9);
    assert_int_equal(out[54], '@');
    /* A long node name leaves room for some of the service name. */
    char node[NMD_NAME_MAX + 1];
    memset(node, 'n', NMD_NAME_MAX);
    node[NMD_NAME_MAX] = '\0';
    nmd_dnssd_instance_name("camera", node, id, out);
    assert_true(strlen(out) <= NMD_DNSSD_INSTANCE_MAX);
    assert_memory_equal(out, "camera@nnn", 10);
}

static void test_subtype_and_port(void **state)
{
    (void)state;
    char sub[NMD_DNSSD_SUBTYPE_MAX];
    assert_int_equal(nmd_dnssd_subtype("Camera.Front_1", sub), 0);
    assert_string_equal(sub, "_camera-front-1._sub._nomid._tcp");
    assert_int_equal(nmd_dnssd_subtype("", sub), -EINVAL);
    char svc[NMD_SVC_NAME_MAX + 1];
    memset(svc, 'x', NMD_SVC_NAME_MAX);
    svc[NMD_SVC_NAME_MAX] = '\0';
    assert_int_equal(nmd_dnssd_subtype(svc, sub), 0);
    assert_int_equal(strlen(sub), 1 + 62 + strlen("._sub._nomid._tcp"));

    assert_int_equal(nmd_dnssd_port("tcp://*:5599"), 5599);
    assert_int_equal(nmd_dnssd_port("tcp://10.0.0.1:1"), 1);
    assert_int_equal(nmd_dnssd_port("tcp://[::1]:65535"), 65535);
    assert_int_equal(nmd_dnssd_port("tcp://h:65536"), 0);
    assert_int_equal(nmd_dnssd_port("tcp://h:"), 0);
    assert_int_equal(nmd_dnssd_port("tcp://h:12a"), 0);
    assert_int_equal(nmd_dnssd_port("tcp://h"), 0);
    assert_int_equal(nmd_dnssd_port("ipc:///tmp/x:5"), 0);
    assert_int_equal(nmd_dnssd_port("inproc://a"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),       cmocka_unit_test(test_layout),
        cmocka_unit_test(test_missing_keys),     cmocka_unit_test(test_duplicate_keys),
        cmocka_unit_test(test_equals_in_values), cmocka_unit_test(test_overlong),
        cmocka_unit_test(test_wrong_type),       cmocka_unit_test(test_empty),
        cmocka_unit_test(test_mangled),          cmocka_unit_test(test_instance_name),
        cmocka_unit_test(test_subtype_and_port), cmocka_unit_test(test_key_and_mac),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
