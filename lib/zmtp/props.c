/*
 * props.c - ZMTP metadata properties and the READY command that carries them.
 *
 * A property is a name-size byte, the name, a 4-byte big-endian value size and the
 * value.  Parsing is bounds-checked at every step because the bytes come from the peer.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "zmtp/zmtp.h"
#include "zmtp/zmtp_int.h"

/* ASCII-only folding: property names are ASCII, and the locale must not matter. */
static bool props_name_eq(const char *a, size_t alen, const char *b)
{
    size_t blen = strlen(b);
    if (alen != blen)
        return false;
    for (size_t i = 0; i < alen; i++) {
        unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
        if (x >= 'A' && x <= 'Z')
            x += 'a' - 'A';
        if (y >= 'A' && y <= 'Z')
            y += 'a' - 'A';
        if (x != y)
            return false;
    }
    return true;
}

/* Names are taken with strlen (name_len is ignored on encode, as documented). */
static int props_size(const nmi_zmtp_prop *props, size_t nprops, size_t *size)
{
    size_t data_len = 0;
    for (size_t i = 0; i < nprops; i++) {
        size_t nlen = props[i].name ? strlen(props[i].name) : 0;
        if (nlen == 0 || nlen > UINT8_MAX || props[i].value_len > UINT32_MAX ||
            (props[i].value == NULL && props[i].value_len > 0))
            return -EINVAL;
        size_t plen = 1 + nlen + 4 + props[i].value_len;
        /* Too big to ever fit an int-sized frame; cmd_start reports it as -ENOBUFS. */
        if (plen > SIZE_MAX / 2 - data_len)
            return -ENOBUFS;
        data_len += plen;
    }
    *size = data_len;
    return 0;
}

int nmi_zmtp_props_encode(uint8_t *out, size_t cap, const nmi_zmtp_prop *props, size_t nprops)
{
    size_t size, pos = 0;
    int rc = props_size(props, nprops, &size);
    if (rc < 0)
        return rc;
    if (size > cap || size > INT_MAX)
        return -ENOBUFS;
    for (size_t i = 0; i < nprops; i++) {
        size_t nlen = strlen(props[i].name);
        out[pos++] = (uint8_t)nlen;
        memcpy(out + pos, props[i].name, nlen);
        pos += nlen;
        nmi_zmtp_put_be(out + pos, props[i].value_len, 4);
        pos += 4;
        if (props[i].value_len > 0)
            memcpy(out + pos, props[i].value, props[i].value_len);
        pos += props[i].value_len;
    }
    return (int)pos;
}

int nmi_zmtp_ready_encode(uint8_t *out, size_t cap, const nmi_zmtp_prop *props, size_t nprops)
{
    size_t size;
    int rc = props_size(props, nprops, &size);
    if (rc < 0)
        return rc;
    int off = nmi_zmtp_cmd_start(out, cap, "READY", size);
    if (off < 0)
        return off;
    rc = nmi_zmtp_props_encode(out + off, cap - (size_t)off, props, nprops);
    return rc < 0 ? rc : off + rc;
}

int nmi_zmtp_prop_next(const uint8_t *data, size_t len, size_t *off, nmi_zmtp_prop *p)
{
    if (*off == len)
        return 0;
    if (*off > len)
        return -EPROTO;
    const uint8_t *q = data + *off;
    size_t left = len - *off;
    size_t nlen = q[0];
    if (nlen == 0 || left < 1 + nlen + 4)
        return -EPROTO;
    uint64_t vlen = nmi_zmtp_get_be(q + 1 + nlen, 4);
    if (vlen > left - (1 + nlen + 4))
        return -EPROTO;

    p->name = (const char *)q + 1;
    p->name_len = nlen;
    p->value = q + 1 + nlen + 4;
    p->value_len = (size_t)vlen;
    *off += 1 + nlen + 4 + (size_t)vlen;
    return 1;
}

/* Walks every property even after a match, so malformed data is rejected whichever
 * name is asked for. */
int nmi_zmtp_prop_find(const uint8_t *data, size_t len, const char *name, nmi_zmtp_prop *p)
{
    size_t off = 0;
    nmi_zmtp_prop cur;
    int found = 0, rc;
    while ((rc = nmi_zmtp_prop_next(data, len, &off, &cur)) == 1) {
        if (!found && props_name_eq(cur.name, cur.name_len, name)) {
            *p = cur;
            found = 1;
        }
    }
    return rc < 0 ? rc : found;
}

int nmi_zmtp_ready_parse(const uint8_t *data, size_t len, nmi_zmtp_ready *r, const char **why)
{
    nmi_zmtp_prop type, identity;
    int rc = len > NMI_ZMTP_METADATA_MAX ? 0 : nmi_zmtp_prop_find(data, len, "Socket-Type", &type);
    *why = NULL;
    if (len > NMI_ZMTP_METADATA_MAX)
        *why = "READY metadata too large";
    else if (rc < 0)
        *why = "malformed READY properties";
    else if (rc == 0)
        *why = "READY without a Socket-Type";
    else if (nmi_zmtp_prop_find(data, len, "Identity", &identity) == 0)
        identity.value_len = 0;
    else if (identity.value_len > NMI_ZMTP_IDENTITY_MAX)
        *why = "peer identity longer than 255 bytes";
    if (*why != NULL)
        return -EPROTO;
    r->type = nmi_zmtp_type_parse(type.value, type.value_len);
    r->identity = identity.value_len > 0 ? identity.value : NULL;
    r->identity_len = identity.value_len;
    return 0;
}
