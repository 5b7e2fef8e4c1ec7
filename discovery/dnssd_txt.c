/*
 * dnssd_txt.c - the TXT record, instance name, subtype and port of a `_nomid._tcp`
 * instance (see dnssd_txt.h).
 *
 * The decoder walks the record once, remembering where the first occurrence of each
 * key it knows starts, then checks the values; it never reads past in[n) and never
 * trusts a length byte: a record is network input.  Values may hold any byte but NUL
 * and ASCII control characters (they end up on `nomid resolve`'s output lines).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "dnssd_txt.h"
#include "nodeid.h"
#include "nomid.h"

/* The keys we read, in the order we write them. */
enum dnssd_key {
    DNSSD_TXTVERS = 0,
    DNSSD_NAME,
    DNSSD_TYPE,
    DNSSD_EP,
    DNSSD_NODE,
    DNSSD_FLEET,
    DNSSD_NODENAME,
    DNSSD_CK,
    DNSSD_MAC,
    DNSSD_NKEYS,
};

static const char *const dnssd_keys[DNSSD_NKEYS] = {
    "txtvers", "name", "type", "ep", "node", "fleet", "nodename", "ck", "mac",
};

/* Where a key's first occurrence is in the record. */
typedef struct dnssd_value {
    bool seen;         /* the key occurred */
    bool has_value;    /* ... with '=' */
    const uint8_t *at; /* its value */
    size_t len;        /* the value's length */
} dnssd_value;

/* True if s[0..len) has no NUL and no ASCII control character. */
static bool dnssd_clean(const uint8_t *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

/* Appends one "key=value" string; false when it does not fit. */
static bool dnssd_put(uint8_t *out, size_t cap, size_t *off, const char *key, const char *value)
{
    size_t klen = strlen(key), vlen = strlen(value), len = klen + 1 + vlen;
    if (len > 255 || *off + 1 + len > cap)
        return false;
    out[(*off)++] = (uint8_t)len;
    memcpy(out + *off, key, klen);
    out[*off + klen] = '=';
    memcpy(out + *off + klen + 1, value, vlen);
    *off += len;
    return true;
}

/* Checks a text field to be encoded: min..max bytes, decodable. */
static bool dnssd_text_ok(const char *s, size_t min, size_t max)
{
    size_t len = strlen(s);
    return len >= min && len <= max && dnssd_clean((const uint8_t *)s, len);
}

int nmd_dnssd_txt_encode(const nmd_dnssd_txt *t, uint8_t *out, size_t cap)
{
    if (t == NULL || out == NULL)
        return -EINVAL;
    const char *type = nm_sock_type_name(t->svc.type);
    if (type == NULL || !dnssd_text_ok(t->svc.name, 1, NMD_SVC_NAME_MAX) ||
        !dnssd_text_ok(t->svc.endpoint, 1, NMD_ENDPOINT_MAX) ||
        strstr(t->svc.endpoint, "://") == NULL || !dnssd_text_ok(t->fleet, 1, NMD_FLEET_MAX) ||
        !dnssd_text_ok(t->node_name, 0, NMD_NAME_MAX))
        return -EINVAL;
    char node[33], ck[41], mac[2 * NMD_MAC_SIZE + 1];
    nmd_id_hex(t->node, node);
    if (t->svc.has_key && nm_z85_encode(ck, t->svc.curve_key, NMD_SVC_KEY_SIZE) == NULL)
        return -EINVAL;
    if (t->has_mac)
        sodium_bin2hex(mac, sizeof(mac), t->mac, NMD_MAC_SIZE);
    size_t off = 0;
    bool ok =
        dnssd_put(out, cap, &off, "txtvers", "1") &&
        dnssd_put(out, cap, &off, "name", t->svc.name) && dnssd_put(out, cap, &off, "type", type) &&
        dnssd_put(out, cap, &off, "ep", t->svc.endpoint) &&
        dnssd_put(out, cap, &off, "node", node) && dnssd_put(out, cap, &off, "fleet", t->fleet) &&
        (t->node_name[0] == '\0' || dnssd_put(out, cap, &off, "nodename", t->node_name)) &&
        (!t->svc.has_key || dnssd_put(out, cap, &off, "ck", ck)) &&
        (!t->has_mac || dnssd_put(out, cap, &off, "mac", mac));
    return ok ? (int)off : -ENOBUFS;
}

/* Copies a required (min >= 1) or optional text value of at most max bytes into dst. */
static bool dnssd_get_text(const dnssd_value *v, size_t min, size_t max, char *dst)
{
    dst[0] = '\0';
    if (!v->seen)
        return min == 0;
    if (!v->has_value || v->len < min || v->len > max || !dnssd_clean(v->at, v->len))
        return false;
    memcpy(dst, v->at, v->len);
    dst[v->len] = '\0';
    return true;
}

static bool dnssd_get_node(const dnssd_value *v, uint8_t id[16])
{
    return v->seen && v->has_value && nmd_id_from_hex((const char *)v->at, v->len, id) == 0;
}

static bool dnssd_get_type(const dnssd_value *v, int *type)
{
    if (!v->seen || !v->has_value)
        return false;
    for (int i = 0; i <= NMD_TYPE_MAX; i++) {
        const char *name = nm_sock_type_name(i);
        if (name != NULL && strlen(name) == v->len && memcmp(name, v->at, v->len) == 0) {
            *type = i;
            return true;
        }
    }
    return false;
}

/* ck: absent, or 40 Z85 characters (a CURVE key) into svc. */
static bool dnssd_get_ck(const dnssd_value *v, nmd_service *svc)
{
    char z85[41];
    svc->has_key = v->seen;
    if (!v->seen)
        return true;
    if (!v->has_value || v->len != 40)
        return false;
    memcpy(z85, v->at, 40);
    z85[40] = '\0';
    return nm_z85_decode(svc->curve_key, z85) != NULL;
}

/* mac: absent, or 64 hex digits into t. */
static bool dnssd_get_mac(const dnssd_value *v, nmd_dnssd_txt *t)
{
    size_t n = 0;
    t->has_mac = v->seen;
    return !v->seen || (v->has_value && v->len == 2 * NMD_MAC_SIZE &&
                        sodium_hex2bin(t->mac, sizeof(t->mac), (const char *)v->at, v->len, NULL,
                                       &n, NULL) == 0 &&
                        n == NMD_MAC_SIZE);
}

/* Splits the record into the first occurrence of each known key. */
static bool dnssd_scan(const uint8_t *in, size_t n, dnssd_value vals[DNSSD_NKEYS])
{
    size_t off = 0;
    while (off < n) {
        size_t len = in[off++];
        if (len > n - off)
            return false; /* runs past the end */
        const uint8_t *s = in + off, *eq = memchr(s, '=', len);
        size_t klen = eq != NULL ? (size_t)(eq - s) : len;
        off += len;
        if (klen == 0)
            continue; /* an empty string, or one with no key: ignored (RFC 6763 6.4) */
        for (int k = 0; k < DNSSD_NKEYS; k++) {
            if (strlen(dnssd_keys[k]) != klen ||
                strncasecmp(dnssd_keys[k], (const char *)s, klen) != 0)
                continue;
            if (!vals[k].seen) /* the first occurrence wins (RFC 6763 6.4) */
                vals[k] =
                    (dnssd_value){true, eq != NULL, eq ? eq + 1 : NULL, eq ? len - klen - 1 : 0};
            break;
        }
    }
    return true;
}

int nmd_dnssd_txt_decode(const uint8_t *in, size_t n, nmd_dnssd_txt *t, const char **why)
{
    const char *dummy;
    if (why == NULL)
        why = &dummy;
    *why = "bad arguments";
    if (t == NULL || (in == NULL && n > 0))
        return -EPROTO;
    memset(t, 0, sizeof(*t));
    dnssd_value v[DNSSD_NKEYS];
    memset(v, 0, sizeof(v));
    if (!dnssd_scan(in, n, v)) {
        *why = "a string runs past the end of the record";
        return -EPROTO;
    }
    if (v[DNSSD_TXTVERS].seen && (!v[DNSSD_TXTVERS].has_value || v[DNSSD_TXTVERS].len != 1 ||
                                  v[DNSSD_TXTVERS].at[0] != '1')) {
        *why = "txtvers is not 1";
        return -EPROTONOSUPPORT;
    }
    if (!dnssd_get_text(&v[DNSSD_NAME], 1, NMD_SVC_NAME_MAX, t->svc.name))
        *why = "name missing, empty, too long or not text";
    else if (!dnssd_get_type(&v[DNSSD_TYPE], &t->svc.type))
        *why = "type missing or not a socket type";
    else if (!dnssd_get_text(&v[DNSSD_EP], 1, NMD_ENDPOINT_MAX, t->svc.endpoint) ||
             strstr(t->svc.endpoint, "://") == NULL)
        *why = "ep missing, too long or not an endpoint";
    else if (!dnssd_get_node(&v[DNSSD_NODE], t->node))
        *why = "node missing or not 32 hex digits";
    else if (!dnssd_get_text(&v[DNSSD_FLEET], 1, NMD_FLEET_MAX, t->fleet))
        *why = "fleet missing, empty, too long or not text";
    else if (!dnssd_get_text(&v[DNSSD_NODENAME], 0, NMD_NAME_MAX, t->node_name))
        *why = "nodename too long or not text";
    else if (!dnssd_get_ck(&v[DNSSD_CK], &t->svc))
        *why = "ck not a CURVE key (40 Z85 characters)";
    else if (!dnssd_get_mac(&v[DNSSD_MAC], t))
        *why = "mac not 64 hex digits";
    else {
        *why = NULL;
        return 0;
    }
    return -EPROTO;
}

/* Length of the longest prefix of s[0..max) that ends on a UTF-8 character boundary. */
static size_t dnssd_utf8_cut(const char *s, size_t max)
{
    size_t len = strlen(s);
    if (len <= max)
        return len;
    while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
        max--; /* s[max] continues a character: cut before that character */
    return max;
}

void nmd_dnssd_instance_name(const char *service, const char *node_name, const uint8_t id[16],
                             char out[NMD_DNSSD_INSTANCE_MAX + 1])
{
    char node[NMD_NAME_MAX + 1];
    if (node_name != NULL && node_name[0] != '\0') {
        snprintf(node, sizeof(node), "%s", node_name);
    } else {
        char hex[33];
        nmd_id_hex(id, hex);
        snprintf(node, sizeof(node), "%.8s", hex);
    }
    /* Keep at least a few bytes of the service name when the node name is long. */
    size_t nlen = dnssd_utf8_cut(node, NMD_DNSSD_INSTANCE_MAX - 1 - 16);
    node[nlen] = '\0';
    size_t slen = dnssd_utf8_cut(service, NMD_DNSSD_INSTANCE_MAX - 1 - nlen);
    memcpy(out, service, slen);
    out[slen] = '@';
    memcpy(out + slen + 1, node, nlen + 1);
}

int nmd_dnssd_subtype(const char *service, char out[NMD_DNSSD_SUBTYPE_MAX])
{
    char label[63];
    size_t len = 0;
    for (const char *p = service; *p != '\0' && len < sizeof(label) - 1; p++) {
        char c = *p;
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        label[len++] = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ? c : '-';
    }
    label[len] = '\0';
    if (len == 0)
        return -EINVAL;
    snprintf(out, NMD_DNSSD_SUBTYPE_MAX, "_%s._sub.%s", label, NMD_DNSSD_TYPE);
    return 0;
}

uint16_t nmd_dnssd_port(const char *endpoint)
{
    if (strncmp(endpoint, "tcp://", 6) != 0)
        return 0;
    const char *colon = strrchr(endpoint + 6, ':');
    if (colon == NULL || colon[1] == '\0')
        return 0;
    unsigned long port = 0;
    for (const char *p = colon + 1; *p != '\0'; p++) {
        if (*p < '0' || *p > '9' || (port = port * 10 + (unsigned long)(*p - '0')) > 65535)
            return 0;
    }
    return (uint16_t)port;
}
