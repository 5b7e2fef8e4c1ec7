/*
 * cat_input.h - the messages `nomid cat --stdin` sends: one per line of standard
 * input, in the hex or JSON form that cat prints (format.h), so that what one cat
 * receives another can send again byte for byte.
 */
#ifndef NODE_CAT_INPUT_H
#define NODE_CAT_INPUT_H

#include <stdbool.h>
#include <stddef.h>

#include "format.h"
#include "nomid.h"

/* A line reader over a file descriptor; zeroed to start. */
struct cat_input {
    char *buf;         /* bytes read and not yet returned as lines */
    size_t len;        /* bytes in buf */
    size_t cap;        /* size of buf */
    size_t start;      /* where the next line begins in buf */
    size_t scanned;    /* buf[start..scanned) holds no newline */
    long long lineno;  /* lines returned so far */
    bool eof;          /* read() reported the end of input */
    size_t min_frames; /* frames a message needs (2 for a router's routing id + data) */
};

/* Reads the next line of fd into the empty *m.  1: a message; 0: end of input; -EAGAIN:
 * no whole line within STOP_POLL_MS (or a signal came): call again; -EINVAL: the line is
 * not a message in kind's form (err says which line and why); another negative errno
 * when fd cannot be read or memory runs out (err says so).  *m holds frames only on 1. */
int cat_input_next(struct cat_input *in, int fd, enum format_kind kind, nm_msg_t *m, char *err,
                   size_t errsz);
/* Frees the buffer. */
void cat_input_fini(struct cat_input *in);

#endif /* NODE_CAT_INPUT_H */
