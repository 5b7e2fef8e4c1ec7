/*
 * format.h - how `nomid cat` prints a received message on stdout and reads one from
 * stdin (--stdin): one line per message, as text (frames joined by " | ", unprintable
 * bytes as \xNN; printed only, since it cannot be read back), as hex (each frame
 * lowercase hex, frames joined by ':') or as JSON (an array of frames, frames_json.h).
 */
#ifndef NODE_FORMAT_H
#define NODE_FORMAT_H

#include <stddef.h>
#include <stdio.h>

#include "nomid.h"

enum format_kind {
    FORMAT_TEXT = 0, /* frames as text joined by " | " */
    FORMAT_HEX = 1,  /* frames as lowercase hex joined by ':' */
    FORMAT_JSON = 2, /* a JSON array: UTF-8 frames as strings, others {"base64": ...} */
};

/* "text", "hex" or "json"; -EINVAL otherwise. */
int format_parse(const char *name, enum format_kind *kindp);
/* Writes m as one line and flushes f; 0 or a negative errno (-EPIPE when the reader left). */
int format_msg_print(FILE *f, const nm_msg_t *m, enum format_kind kind);
/* Appends to the empty m the frames of one line (without its newline) in hex or JSON;
 * 0, or -EINVAL with why in err, or -ENOMEM.  On error m may hold some frames. */
int format_msg_parse(const char *line, size_t len, enum format_kind kind, nm_msg_t *m, char *err,
                     size_t errsz);

#endif /* NODE_FORMAT_H */
