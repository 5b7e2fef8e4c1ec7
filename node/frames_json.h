/*
 * frames_json.h - the JSON form of a message used by `nomid cat --format json`: one
 * JSON array per message, one element per frame.  A frame whose bytes are valid UTF-8
 * is a JSON string of exactly those characters; any other frame is an object
 * {"base64": "..."} holding its bytes in standard base64 with padding (RFC 4648, 4).
 * Every byte sequence (empty, NUL, newline, invalid UTF-8) thus round-trips exactly,
 * and a line never holds a raw newline.
 */
#ifndef NODE_FRAMES_JSON_H
#define NODE_FRAMES_JSON_H

#include <stddef.h>
#include <stdio.h>

#include "nomid.h"

/* Writes m as one compact JSON array (no newline) to f; 0, -ENOMEM or -EIO. */
int frames_json_write(FILE *f, const nm_msg_t *m);
/* Appends to m the frames of the JSON array in text[0..len) (strings and
 * {"base64": ...} objects, at least one).  0, or -EINVAL with why in err, or -ENOMEM;
 * on error m may hold some of the frames. */
int frames_json_parse(const char *text, size_t len, nm_msg_t *m, char *err, size_t errsz);

#endif /* NODE_FRAMES_JSON_H */
