/*
 * frames_json.c - encodes a message as a JSON array of frames and parses such an
 * array back, for `nomid cat --format json` (the encoding is described in
 * frames_json.h).  jansson does the JSON: json_stringn accepts exactly the valid UTF-8
 * byte sequences (no overlong forms, surrogates or code points past U+10FFFF) and its
 * dump escapes NUL and control characters, so a frame it accepts is printed as a
 * string; libsodium does the base64 of the other frames.
 */
#include "frames_json.h"

#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define FRAMES_JSON_B64 sodium_base64_VARIANT_ORIGINAL /* standard alphabet, padded */

/* {"base64": "..."} holding p[0..n), or NULL when out of memory. */
static json_t *frames_json_b64(const unsigned char *p, size_t n)
{
    size_t cap = sodium_base64_encoded_len(n, FRAMES_JSON_B64);
    char *b64 = malloc(cap);
    if (b64 == NULL)
        return NULL;
    sodium_bin2base64(b64, cap, p, n, FRAMES_JSON_B64);
    json_t *o = json_pack("{s:s}", "base64", b64);
    free(b64);
    return o;
}

/* One frame as a JSON value.  json_stringn fails on invalid UTF-8 (or, rarely, when
 * out of memory: the frame then goes as base64, which decodes to the same bytes). */
static json_t *frames_json_frame(const unsigned char *p, size_t n)
{
    json_t *s = n == 0 ? json_string("") : json_stringn((const char *)p, n);
    return s != NULL ? s : frames_json_b64(p, n);
}

int frames_json_write(FILE *f, const nm_msg_t *m)
{
    json_t *arr = json_array();
    if (arr == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < nm_msg_count(m); i++) {
        if (json_array_append_new(arr, frames_json_frame(nm_msg_data(m, i), nm_msg_size(m, i))) !=
            0) {
            json_decref(arr);
            return -ENOMEM;
        }
    }
    int rc = json_dumpf(arr, f, JSON_COMPACT);
    json_decref(arr);
    return rc == 0 ? 0 : -EIO;
}

static int frames_json_bad(char *err, size_t errsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int frames_json_bad(char *err, size_t errsz, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, errsz, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

/* Appends the frame that JSON value v stands for (element i of the array) to m. */
static int frames_json_add(nm_msg_t *m, json_t *v, size_t i, char *err, size_t errsz)
{
    if (json_is_string(v))
        return nm_msg_add(m, json_string_value(v), json_string_length(v));
    json_t *b = json_object_get(v, "base64");
    if (!json_is_object(v) || json_object_size(v) != 1 || !json_is_string(b))
        return frames_json_bad(err, errsz,
                               "frame %zu is neither a string nor {\"base64\": \"...\"}", i + 1);
    const char *b64 = json_string_value(b);
    size_t b64len = json_string_length(b);
    size_t cap = b64len / 4 * 3; /* 3 bytes per 4 characters, less the padding */
    unsigned char *buf = malloc(cap + 1);
    if (buf == NULL)
        return -ENOMEM;
    size_t n;
    int rc = b64len % 4 == 0 &&
                     sodium_base642bin(buf, cap, b64, b64len, NULL, &n, NULL, FRAMES_JSON_B64) == 0
                 ? nm_msg_add(m, buf, n)
                 : frames_json_bad(err, errsz, "frame %zu is not padded standard base64", i + 1);
    free(buf);
    return rc;
}

int frames_json_parse(const char *text, size_t len, nm_msg_t *m, char *err, size_t errsz)
{
    json_error_t jerr;
    /* JSON_ALLOW_NUL: "\u0000" is a NUL byte of the frame, as the encoder writes it. */
    json_t *arr = json_loadb(text, len, JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, &jerr);
    if (arr == NULL)
        return frames_json_bad(err, errsz, "column %d: %s", jerr.column, jerr.text);
    int rc = 0;
    if (!json_is_array(arr))
        rc = frames_json_bad(err, errsz, "not a JSON array of frames");
    else if (json_array_size(arr) == 0)
        rc = frames_json_bad(err, errsz, "a message needs at least one frame");
    for (size_t i = 0; rc == 0 && i < json_array_size(arr); i++)
        rc = frames_json_add(m, json_array_get(arr, i), i, err, errsz);
    if (rc < 0 && rc != -EINVAL)
        snprintf(err, errsz, "%s", nm_strerror(rc));
    json_decref(arr);
    return rc;
}
