/*
 * spec.h - `--advertise NAME=ENDPOINT` of `nomid exec` (NOMID_ADVERTISE): a bind the
 * program will make, advertised as service NAME when it makes it.  Parsed by nomid exec
 * (to refuse a bad one before the program starts) and by the member library (from the
 * environment); matched by the member against each endpoint the program listens on.
 *
 * ENDPOINT is tcp://HOST:PORT or ipc://PATH as the program binds it.  A host `*`
 * (or 0.0.0.0, [::]) matches a wildcard bind, announced with each interface's address;
 * a port `*` or 0 matches any port (the one the bind got is announced); ipc://\* any
 * ipc bind.  A host is compared as an address: a name (localhost) never matches.
 */
#ifndef MEMBER_SPEC_H
#define MEMBER_SPEC_H

#include <stdbool.h>

#include "beacon.h"

#define MEMBER_SPEC_MAX 16 /* --advertise given at most this many times */

typedef struct member_spec {
    char name[NMD_SVC_NAME_MAX + 1];     /* the service name */
    char endpoint[NMD_ENDPOINT_MAX + 1]; /* the bind it names, as given */
} member_spec;

/* Parses NAME=ENDPOINT into *s.  0, or -EINVAL with *why saying what is wrong.  Neither
 * part may hold a comma (the environment's list separator) or a control character. */
int member_spec_parse(const char *text, member_spec *s, const char **why);

/* True when `bound`, an endpoint a socket listens on (tcp://0.0.0.0:5556 for a bind
 * of tcp://\*:5556, as the core reports it), is the bind s names. */
bool member_spec_match(const member_spec *s, const char *bound);

#endif
