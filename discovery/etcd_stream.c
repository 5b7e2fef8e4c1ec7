/*
 * etcd_stream.c - cuts the gateway's streaming watch response into JSON objects (see
 * etcd.h).
 *
 * The gateway writes one object per line, but TCP and HTTP chunking may cut anywhere,
 * so objects are found by scanning: nesting depth outside strings, with escapes, kept
 * across calls, so every byte is scanned once however the stream is cut.  A complete
 * span is then handed whole to jansson.  What the scan cannot start an object with is
 * skipped to the end of its line, so one bad line costs one line, not the watch.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "etcd.h"

void nmd_etcd_stream_init(nmd_etcd_stream *s, size_t max)
{
    memset(s, 0, sizeof(*s));
    s->max = max;
}

void nmd_etcd_stream_fini(nmd_etcd_stream *s)
{
    free(s->buf);
    s->buf = NULL;
    s->len = s->cap = 0;
}

void nmd_etcd_stream_reset(nmd_etcd_stream *s)
{
    s->len = s->scan = 0;
    s->depth = 0;
    s->in_string = s->escape = s->skipping = false;
}

/* Drops the first n bytes of the buffer. */
static void stream_consume(nmd_etcd_stream *s, size_t n)
{
    memmove(s->buf, s->buf + n, s->len - n);
    s->len -= n;
    s->scan = 0;
}

/* Scans from s->scan: returns the length of the complete top-level value at the start
 * of the buffer, or 0 if it is not complete yet.  The buffer starts with '{' or '['. */
static size_t stream_scan(nmd_etcd_stream *s)
{
    for (; s->scan < s->len; s->scan++) {
        char c = s->buf[s->scan];
        if (s->in_string) {
            if (s->escape)
                s->escape = false;
            else if (c == '\\')
                s->escape = true;
            else if (c == '"')
                s->in_string = false;
        } else if (c == '"') {
            s->in_string = true;
        } else if (c == '{' || c == '[') {
            s->depth++;
        } else if ((c == '}' || c == ']') && --s->depth == 0) {
            return ++s->scan;
        }
    }
    return 0;
}

/* Skips whitespace and garbage at the start of the buffer, up to where an object starts
 * (true) or the buffer ends (false). */
static bool stream_skip(nmd_etcd_stream *s)
{
    size_t i = 0;
    for (; i < s->len; i++) {
        char c = s->buf[i];
        if (s->skipping) {
            if (c == '\n')
                s->skipping = false;
        } else if (c == '{' || c == '[') {
            break;
        } else if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
            s->skipping = true;
            s->garbage++;
        }
    }
    stream_consume(s, i);
    return s->len > 0;
}

static int stream_append(nmd_etcd_stream *s, const char *data, size_t n)
{
    if (s->len + n > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < s->len + n)
            cap *= 2;
        char *b = realloc(s->buf, cap);
        if (b == NULL)
            return -ENOMEM;
        s->buf = b;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, data, n);
    s->len += n;
    return 0;
}

int nmd_etcd_stream_feed(nmd_etcd_stream *s, const char *data, size_t n, nmd_etcd_stream_cb *cb,
                         void *arg)
{
    while (n > 0) {
        /* Take at most what may still complete an object, so the buffer stays bounded. */
        size_t room = s->max + 1 > s->len ? s->max + 1 - s->len : 1;
        size_t take = n < room ? n : room;
        if (stream_append(s, data, take) < 0)
            return -ENOMEM;
        data += take;
        n -= take;
        for (;;) {
            if (s->scan == 0 && !stream_skip(s))
                break;
            size_t end = stream_scan(s);
            if (end == 0) {
                if (s->len > s->max) {
                    nmd_etcd_stream_reset(s);
                    return -EMSGSIZE;
                }
                break;
            }
            json_t *v = json_loadb(s->buf, end, 0, NULL);
            s->depth = 0;
            s->in_string = s->escape = false;
            stream_consume(s, end);
            if (v == NULL) {
                s->garbage++;
                continue;
            }
            s->objects++;
            int rc = cb(arg, v);
            json_decref(v);
            if (rc != 0)
                return rc;
        }
    }
    return 0;
}
