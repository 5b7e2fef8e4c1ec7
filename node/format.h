/*
 * format.h - how `nomid cat` prints a received message on stdout: one line per
 * message, as text (frames joined by " | ", unprintable bytes as \xNN) or as hex
 * (each frame lowercase hex, frames joined by ':').
 */
#ifndef NODE_FORMAT_H
#define NODE_FORMAT_H

#include <stdio.h>

#include "nomid.h"

enum format_kind {
    FORMAT_TEXT = 0, /* frames as text joined by " | " */
    FORMAT_HEX = 1,  /* frames as lowercase hex joined by ':' */
};

/* "text" or "hex"; -EINVAL otherwise. */
int format_parse(const char *name, enum format_kind *kindp);
/* Writes m as one line and flushes f; 0 or a negative errno (-EPIPE when the reader left). */
int format_msg_print(FILE *f, const nm_msg_t *m, enum format_kind kind);

#endif /* NODE_FORMAT_H */
