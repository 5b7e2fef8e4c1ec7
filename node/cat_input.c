/*
 * cat_input.c - reads `nomid cat --stdin` lines and turns each into a message.  It
 * reads the descriptor itself (poll, then read) rather than through stdio, so that it
 * never blocks for longer than STOP_POLL_MS: cat keeps noticing SIGINT/SIGTERM and
 * --timeout while it waits for input.  A last line without a newline still counts.
 */
#include "cat_input.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stop.h"

/* Smallest read buffer; it doubles while one line does not fit. */
#define CAT_INPUT_CHUNK 65536

/* Makes room for more input after the bytes of the unfinished line. */
static int cat_input_room(struct cat_input *in)
{
    if (in->start > 0)
        memmove(in->buf, in->buf + in->start, in->len - in->start);
    in->len -= in->start;
    in->scanned -= in->start;
    in->start = 0;
    if (in->len < in->cap)
        return 0;
    size_t cap = in->cap < CAT_INPUT_CHUNK ? CAT_INPUT_CHUNK : 2 * in->cap;
    char *buf = realloc(in->buf, cap);
    if (buf == NULL)
        return -ENOMEM;
    in->buf = buf;
    in->cap = cap;
    return 0;
}

/* The next line (without its newline) in *linep and *lenp, valid until the next call. */
static int cat_input_line(struct cat_input *in, int fd, const char **linep, size_t *lenp)
{
    for (;;) {
        char *nl = in->len > in->scanned
                       ? memchr(in->buf + in->scanned, '\n', in->len - in->scanned)
                       : NULL;
        if (nl != NULL || (in->eof && in->start < in->len)) {
            size_t end = nl != NULL ? (size_t)(nl - in->buf) : in->len;
            *linep = in->buf + in->start;
            *lenp = end - in->start;
            in->start = in->scanned = nl != NULL ? end + 1 : end;
            in->lineno++;
            return 1;
        }
        in->scanned = in->len;
        if (in->eof)
            return 0;
        if (cat_input_room(in) < 0)
            return -ENOMEM;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int rc = poll(&p, 1, STOP_POLL_MS);
        if (rc <= 0)
            return rc == 0 || errno == EINTR ? -EAGAIN : -errno;
        ssize_t n = read(fd, in->buf + in->len, in->cap - in->len);
        if (n < 0)
            return errno == EINTR || errno == EAGAIN ? -EAGAIN : -errno;
        in->eof = n == 0;
        in->len += (size_t)n;
    }
}

int cat_input_next(struct cat_input *in, int fd, enum format_kind kind, nm_msg_t *m, char *err,
                   size_t errsz)
{
    const char *line = NULL;
    size_t len = 0;
    char why[256];

    int rc = cat_input_line(in, fd, &line, &len);
    if (rc == -ENOMEM || (rc < 0 && rc != -EAGAIN))
        snprintf(err, errsz, "cannot read stdin: %s", nm_strerror(rc));
    if (rc <= 0)
        return rc;
    rc = format_msg_parse(line, len, kind, m, why, sizeof why);
    if (rc == 0 && nm_msg_count(m) < in->min_frames) {
        snprintf(why, sizeof why, "%zu frame(s): give the routing id and a message",
                 nm_msg_count(m));
        rc = -EINVAL;
    }
    if (rc < 0) {
        nm_msg_close(m);
        snprintf(err, errsz, "stdin line %lld: %s", in->lineno, why);
        return rc;
    }
    return 1;
}

void cat_input_fini(struct cat_input *in)
{
    free(in->buf);
    memset(in, 0, sizeof *in);
}
