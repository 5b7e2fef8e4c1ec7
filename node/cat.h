/*
 * cat.h - what `nomid cat` was asked to do, shared by its option parser (cat_args.c)
 * and its runtime (cat.c).
 */
#ifndef NODE_CAT_H
#define NODE_CAT_H

#include <stdbool.h>
#include <stddef.h>

#include "disc_opts.h"
#include "format.h"

/* Default LINGER of cat: how long queued messages may keep leaving after the last send. */
#define CAT_LINGER_DEFAULT_MS 2000
/* Largest --heartbeat: its TTL (three intervals) must fit NM_HEARTBEAT_TTL's 6553500 ms. */
#define CAT_HEARTBEAT_MAX_MS 2184500

/* One --bind or --connect, in command-line order. */
struct cat_endpoint {
    bool bind;            /* --bind rather than --connect */
    const char *endpoint; /* as given */
};

/* One frame of the message to send (--data or --hex-data). */
struct cat_frame {
    unsigned char *data; /* frame bytes; malloc'd when owned */
    size_t size;         /* frame size in bytes */
    bool owned;          /* data was decoded from hex and must be freed */
};

/* Everything the command line asked for. */
struct cat_opts {
    const char *type_name;    /* TYPE as given */
    int type;                 /* enum nm_sock_type */
    struct cat_endpoint *eps; /* --bind / --connect, in order */
    int neps;                 /* entries in eps */
    struct cat_frame *frames; /* the message to send (--data, --hex-data) */
    int nframes;              /* entries in frames */
    bool stdin_input;         /* --stdin: send one message per line of stdin */
    bool sends;               /* a message to send: frames or --stdin; else receive */
    const char **subs;        /* --subscribe prefixes */
    int nsubs;                /* entries in subs */
    const char **unsubs;      /* --unsubscribe prefixes, applied after every --subscribe */
    int nunsubs;              /* entries in unsubs */
    long long count;          /* -n: messages to send or receive; -1 = default */
    int interval_ms;          /* --interval between sends; -1 = none */
    int timeout_ms;           /* --timeout; -1 = none */
    int linger_ms;            /* --linger */
    int sndhwm;               /* --sndhwm; -1 = library default */
    int rcvhwm;               /* --rcvhwm; -1 = library default */
    const char *identity;     /* --identity; NULL = none */
    int heartbeat_ms;         /* --heartbeat: PING interval and timeout; 0 = off */
    bool echo;                /* --echo */
    enum format_kind format;  /* --format */
    int log_level;            /* library messages up to this level are logged */
    const char *advertise;    /* --advertise NAME; NULL = none */
    disc_opts disc;           /* discovery flags (used when a node is embedded) */
};

/* Outcome of a step; mapped to an exit code once at the end. */
enum cat_rc {
    CAT_OK = 0,  /* go on */
    CAT_STOP,    /* a signal arrived or stdout's reader left: close cleanly */
    CAT_TIMEOUT, /* nothing for --timeout seconds */
    CAT_FAIL,    /* runtime failure, already logged */
    CAT_USAGE,   /* bad arguments, already logged */
};

/* Parses and checks the command line into o (which must be zeroed).  CAT_STOP means
 * --help was printed; CAT_USAGE that an error naming the problem was logged. */
enum cat_rc cat_opts_parse(struct cat_opts *o, int argc, char **argv);
/* Frees what cat_opts_parse allocated, also after a failure. */
void cat_opts_free(struct cat_opts *o);

#endif /* NODE_CAT_H */
