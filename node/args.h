/*
 * args.h - exit codes and command-line value parsers shared by the nomid subcommands.
 * The parsers return 0 or a negative errno-style code; the caller names the option in
 * its message, so bad input is always reported, never asserted.
 */
#ifndef NODE_ARGS_H
#define NODE_ARGS_H

#include <stddef.h>

/* Exit codes of every subcommand (DESIGN.md, "Conventions for every subcommand"). */
enum node_exit {
    NODE_EXIT_OK = 0,      /* success, also after SIGINT/SIGTERM */
    NODE_EXIT_FAIL = 1,    /* runtime failure: bind/connect error, peer refused... */
    NODE_EXIT_USAGE = 2,   /* bad arguments, with a message naming the problem */
    NODE_EXIT_TIMEOUT = 3, /* nothing happened for --timeout seconds */
};

/* Largest number of seconds accepted, so that milliseconds fit an int. */
#define ARGS_SECONDS_MAX 2000000.0

/* Decimal seconds ("2", "0.2") into whole milliseconds, rounded; >= 0. */
int args_seconds_ms(const char *text, int *msp);
/* A decimal integer in [min, max]; no sign, no spaces. */
int args_count(const char *text, long long min, long long max, long long *out);
/* Hex digits (either case, even count, may be empty) into a malloc'd buffer. */
int args_hex(const char *text, unsigned char **bufp, size_t *lenp);

#endif /* NODE_ARGS_H */
