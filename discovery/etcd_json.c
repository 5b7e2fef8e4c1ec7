/*
 * etcd_json.c - the etcd backend's values, keys and gateway JSON (see etcd.h).
 *
 * Everything here reads what a server, or any program able to write to it, sent: each
 * field is checked for presence, type, length and range before it is used, and a value
 * that fails any check is refused whole.  Base64 is libsodium's (strict: a stray
 * character is an error, not skipped).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>
#include <sodium.h>

#include "etcd.h"
#include "nodeid.h"
#include "nomid.h"

/* FNV-1a, 32 bits: names an endpoint in its key; not a security boundary. */
static uint32_t etcd_fnv1a(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s != '\0'; s++) {
        h ^= (uint8_t)*s;
        h *= 16777619u;
    }
    return h;
}

/* Adds "curve_key" (Z85) when svc has a key and "mac" (hex) when mac is not NULL to o:
 * false when memory runs out. */
static bool etcd_put_key_mac(json_t *o, const nmd_service *svc, const uint8_t *mac)
{
    char z85[41], hex[2 * NMD_MAC_SIZE + 1];
    if (svc->has_key && (nm_z85_encode(z85, svc->curve_key, NMD_SVC_KEY_SIZE) == NULL ||
                         json_object_set_new(o, "curve_key", json_string(z85)) < 0))
        return false;
    if (mac != NULL) {
        sodium_bin2hex(hex, sizeof(hex), mac, NMD_MAC_SIZE);
        if (json_object_set_new(o, "mac", json_string(hex)) < 0)
            return false;
    }
    return true;
}

char *nmd_etcd_value_encode(const nmd_service *svc, const uint8_t node[16], const char *node_name,
                            const char *addr, const uint8_t *mac)
{
    const char *type = nm_sock_type_name(svc->type);
    if (type == NULL)
        return NULL;
    char id[33];
    nmd_id_hex(node, id);
    json_t *o =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "name", svc->name, "type", type, "endpoint",
                  svc->endpoint, "node", id, "node_name", node_name, "addr", addr);
    if (o == NULL || !etcd_put_key_mac(o, svc, mac)) {
        json_decref(o);
        return NULL;
    }
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (text != NULL && strlen(text) > NMD_ETCD_VALUE_MAX) {
        free(text);
        return NULL;
    }
    return text;
}

/* Copies string field `name` of o into out (cap bytes with the NUL): 0, -ENOENT when
 * absent, -EPROTO when not a string, empty (unless allow_empty), too long or holding
 * a NUL byte. */
static int etcd_field(const json_t *o, const char *name, char *out, size_t cap, bool allow_empty)
{
    const json_t *v = json_object_get(o, name);
    if (v == NULL)
        return -ENOENT;
    if (!json_is_string(v))
        return -EPROTO;
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if ((n == 0 && !allow_empty) || n >= cap || strlen(s) != n)
        return -EPROTO;
    memcpy(out, s, n + 1);
    return 0;
}

/* "type": a lowercase socket type name, or its number. */
static int etcd_type(const json_t *o, int *type)
{
    const json_t *v = json_object_get(o, "type");
    if (json_is_integer(v)) {
        json_int_t t = json_integer_value(v);
        if (t < 0 || t > NMD_TYPE_MAX || nm_sock_type_name((int)t) == NULL)
            return -EPROTO;
        *type = (int)t;
        return 0;
    }
    char name[16];
    if (etcd_field(o, "type", name, sizeof(name), false) < 0)
        return -EPROTO;
    int t = nm_sock_type_parse(name);
    if (t < 0 || t > NMD_TYPE_MAX)
        return -EPROTO;
    *type = t;
    return 0;
}

/* "curve_key" (40 Z85 characters) into svc, and "mac" (64 hex digits) into out, when
 * present: 0, or -EPROTO when one is malformed. */
static int etcd_key_mac(const json_t *o, nmd_etcd_value *out)
{
    char z85[41], hex[2 * NMD_MAC_SIZE + 1];
    int r = etcd_field(o, "curve_key", z85, sizeof(z85), false);
    if (r == -EPROTO ||
        (r == 0 && (strlen(z85) != 40 || nm_z85_decode(out->svc.curve_key, z85) == NULL)))
        return -EPROTO;
    out->svc.has_key = r == 0;
    r = etcd_field(o, "mac", hex, sizeof(hex), false);
    size_t n = 0;
    if (r == -EPROTO || (r == 0 && (strlen(hex) != 2 * NMD_MAC_SIZE ||
                                    sodium_hex2bin(out->mac, sizeof(out->mac), hex, strlen(hex),
                                                   NULL, &n, NULL) != 0 ||
                                    n != NMD_MAC_SIZE)))
        return -EPROTO;
    out->has_mac = r == 0;
    return 0;
}

int nmd_etcd_value_decode(const char *text, size_t len, nmd_etcd_value *out)
{
    memset(out, 0, sizeof(*out));
    if (len == 0 || len > NMD_ETCD_VALUE_MAX)
        return -EPROTO;
    json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    int rc = -EPROTO;
    char id[40];
    if (!json_is_object(o) ||
        etcd_field(o, "name", out->svc.name, sizeof(out->svc.name), false) < 0 ||
        etcd_field(o, "endpoint", out->svc.endpoint, sizeof(out->svc.endpoint), false) < 0 ||
        strstr(out->svc.endpoint, "://") == NULL || etcd_type(o, &out->svc.type) < 0)
        goto done;
    int r = etcd_field(o, "node", id, sizeof(id), false);
    if (r == -EPROTO || (r == 0 && nmd_id_from_hex(id, strlen(id), out->node) < 0))
        goto done;
    out->has_node = r == 0;
    r = etcd_field(o, "node_name", out->node_name, sizeof(out->node_name), true);
    if (r == -EPROTO)
        goto done;
    r = etcd_field(o, "addr", out->addr, sizeof(out->addr), true);
    if (r == -EPROTO || etcd_key_mac(o, out) < 0)
        goto done;
    rc = 0;
done:
    json_decref(o);
    return rc;
}

int nmd_etcd_key(const char *prefix, const char *fleet, const nmd_service *svc,
                 const uint8_t node[16], char *out, size_t cap)
{
    char id[33];
    nmd_id_hex(node, id);
    int n = snprintf(out, cap, "%s%s/%s/%s/%08x", prefix, fleet, svc->name, id,
                     etcd_fnv1a(svc->endpoint));
    return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

int nmd_etcd_fleet_range(const char *prefix, const char *fleet, char *key, char *end, size_t cap)
{
    int n = snprintf(key, cap, "%s%s/", prefix, fleet);
    if (n < 0 || (size_t)n >= cap)
        return -ENAMETOOLONG;
    memcpy(end, key, (size_t)n + 1);
    end[n - 1]++; /* '/' + 1 = '0': everything under "<prefix><fleet>/" */
    return 0;
}

json_t *nmd_etcd_b64(const void *data, size_t n)
{
    size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
    char *b = malloc(cap);
    if (b == NULL)
        return NULL;
    sodium_bin2base64(b, cap, data, n, sodium_base64_VARIANT_ORIGINAL);
    json_t *s = json_string(b);
    free(b);
    return s;
}

int nmd_etcd_int(const json_t *v, int64_t *out)
{
    if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
        return 0;
    }
    if (!json_is_string(v))
        return -EPROTO;
    const char *s = json_string_value(v);
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0')
        return -EPROTO;
    *out = x;
    return 0;
}

/* Base64 field `name` of obj into out (cap bytes, NUL added): its length, -ENOENT when
 * absent (the gateway omits empty bytes fields), -EMSGSIZE when too long, -EPROTO. */
static ssize_t etcd_b64_field(const json_t *obj, const char *name, char *out, size_t cap)
{
    const json_t *v = json_object_get(obj, name);
    if (v == NULL)
        return -ENOENT;
    if (!json_is_string(v))
        return -EPROTO;
    size_t len = json_string_length(v), n = 0;
    if (len / 4 * 3 > cap - 1 + 2)
        return -EMSGSIZE;
    if (sodium_base642bin((unsigned char *)out, cap - 1, json_string_value(v), len, NULL, &n, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0)
        return len / 4 * 3 > cap - 1 ? -EMSGSIZE : -EPROTO;
    out[n] = '\0';
    return (ssize_t)n;
}

int nmd_etcd_kv_decode(const json_t *obj, bool deleted, nmd_etcd_kv *kv)
{
    kv->deleted = deleted;
    kv->oversize = false;
    kv->value[0] = '\0';
    kv->value_len = 0;
    if (!json_is_object(obj))
        return -EPROTO;
    ssize_t n = etcd_b64_field(obj, "key", kv->key, sizeof(kv->key));
    if (n <= 0 || strlen(kv->key) != (size_t)n)
        return -EPROTO;
    if (deleted)
        return 0;
    n = etcd_b64_field(obj, "value", kv->value, sizeof(kv->value));
    if (n == -EMSGSIZE) {
        kv->oversize = true;
        kv->value[0] = '\0';
        return 0;
    }
    if (n == -EPROTO)
        return -EPROTO;
    kv->value_len = n > 0 ? (size_t)n : 0;
    if (n < 0)
        kv->value[0] = '\0';
    return 0;
}
