/*
 * endpoint.h - binding and connecting the endpoints a user typed, with errors in words a
 * newcomer can act on ("no transport: did you mean tcp://127.0.0.1:5596?") rather than a
 * bare errno string, and the `bound ENDPOINT` line every bind prints.
 */
#ifndef NODE_ENDPOINT_H
#define NODE_ENDPOINT_H

#include <stdbool.h>
#include <stddef.h>

#include "nomid.h"

/* Why binding (bind true) or connecting ep failed with rc, into buf[cap]; returns buf. */
const char *endpoint_error(const char *ep, bool bind, int rc, char *buf, size_t cap);

/* Binds or connects s to ep.  A bind prints `bound ENDPOINT` on stderr (`bound
 * ENDPOINT as svc://NAME` for a service name); a failure is logged as component's error,
 * explained.  Returns 0 or the negative code. */
int endpoint_attach(nm_sock_t *s, const char *ep, bool bind, const char *component);

/* The exit code (enum node_exit) for an endpoint_attach failure: a malformed endpoint is
 * a usage error, anything else a runtime failure. */
int endpoint_exit_code(int rc);

#endif /* NODE_ENDPOINT_H */
