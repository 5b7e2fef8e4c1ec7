/*
 * format.c - renders a message as one line of text, hex or JSON for `nomid cat`, and
 * reads a hex or JSON line back into a message for `nomid cat --stdin`.  A printed line
 * is flushed at once so that a reader at the other end of a pipe sees every message
 * the moment it arrives.
 */
#include "format.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "frames_json.h"

int format_parse(const char *name, enum format_kind *kindp)
{
    if (strcmp(name, "text") == 0)
        *kindp = FORMAT_TEXT;
    else if (strcmp(name, "hex") == 0)
        *kindp = FORMAT_HEX;
    else if (strcmp(name, "json") == 0)
        *kindp = FORMAT_JSON;
    else
        return -EINVAL;
    return 0;
}

static void format_frame(FILE *f, const unsigned char *p, size_t n, enum format_kind kind)
{
    for (size_t i = 0; i < n; i++) {
        if (kind == FORMAT_HEX)
            fprintf(f, "%02x", p[i]);
        else if (p[i] >= 0x20 && p[i] <= 0x7e)
            fputc(p[i], f);
        else
            fprintf(f, "\\x%02x", p[i]);
    }
}

int format_msg_print(FILE *f, const nm_msg_t *m, enum format_kind kind)
{
    size_t count = nm_msg_count(m);
    int rc = 0;

    /* A line-buffered stream may fail inside any of the calls below; errno keeps why. */
    errno = 0;
    flockfile(f);
    if (kind == FORMAT_JSON)
        rc = frames_json_write(f, m);
    for (size_t i = 0; kind != FORMAT_JSON && i < count; i++) {
        if (i > 0)
            fputs(kind == FORMAT_HEX ? ":" : " | ", f);
        format_frame(f, nm_msg_data(m, i), nm_msg_size(m, i), kind);
    }
    if (rc != -ENOMEM) /* nothing was written then */
        fputc('\n', f);
    funlockfile(f);
    if (rc == -ENOMEM)
        return rc;
    if (fflush(f) != 0 || ferror(f))
        return errno != 0 ? -errno : -EIO;
    return 0;
}

/* A hex line: fields separated by ':', each a frame's bytes in hex (maybe empty). */
static int format_hex_parse(const char *line, size_t len, nm_msg_t *m, char *err, size_t errsz)
{
    size_t start = 0, nframe = 1;

    for (size_t i = 0; i <= len; i++) {
        if (i < len && line[i] != ':')
            continue;
        char *field = strndup(line + start, i - start);
        unsigned char *buf = NULL;
        size_t n = 0;
        int rc = field == NULL ? -ENOMEM : args_hex(field, &buf, &n);
        free(field);
        if (rc == -EINVAL || (rc == 0 && memchr(line + start, '\0', i - start) != NULL)) {
            free(buf);
            snprintf(err, errsz, "frame %zu is not an even number of hex digits", nframe);
            return -EINVAL;
        }
        if (rc == 0)
            rc = nm_msg_add(m, buf, n);
        free(buf);
        if (rc < 0) {
            snprintf(err, errsz, "%s", nm_strerror(rc));
            return rc;
        }
        start = i + 1;
        nframe++;
    }
    return 0;
}

int format_msg_parse(const char *line, size_t len, enum format_kind kind, nm_msg_t *m, char *err,
                     size_t errsz)
{
    if (kind == FORMAT_JSON)
        return frames_json_parse(line, len, m, err, errsz);
    if (kind == FORMAT_HEX)
        return format_hex_parse(line, len, m, err, errsz);
    snprintf(err, errsz, "text lines cannot be read back");
    return -EINVAL;
}
