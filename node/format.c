/*
 * format.c - renders a message as one line of text or hex for `nomid cat`.  The line
 * is flushed at once so that a reader at the other end of a pipe sees every message
 * the moment it arrives.
 */
#include "format.h"

#include <errno.h>
#include <string.h>

int format_parse(const char *name, enum format_kind *kindp)
{
    if (strcmp(name, "text") == 0)
        *kindp = FORMAT_TEXT;
    else if (strcmp(name, "hex") == 0)
        *kindp = FORMAT_HEX;
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

    /* A line-buffered stream may fail inside any of the calls below; errno keeps why. */
    errno = 0;
    flockfile(f);
    for (size_t i = 0; i < count; i++) {
        if (i > 0)
            fputs(kind == FORMAT_HEX ? ":" : " | ", f);
        format_frame(f, nm_msg_data(m, i), nm_msg_size(m, i), kind);
    }
    fputc('\n', f);
    funlockfile(f);
    if (fflush(f) != 0 || ferror(f))
        return errno != 0 ? -errno : -EIO;
    return 0;
}
