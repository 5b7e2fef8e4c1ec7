/*
 * admin_run.h - starting the admin endpoint of a command from its --admin and
 * --admin-token-file flags (disc_opts.h): the default, "off", the next free port, the
 * token rule, and the `admin http://ADDR:PORT/` line on stderr.
 */
#ifndef NODE_ADMIN_RUN_H
#define NODE_ADMIN_RUN_H

#include <stdbool.h>

#include "admin.h"
#include "disc_opts.h"

/* Starts admin unless --admin off, or unless no --admin was given and on_by_default is
 * false (*sp stays NULL then).  Without --admin it listens on NMA_DEFAULT_ADDR or the
 * next free port.  Returns a NODE_EXIT_* code (the problem logged). */
int admin_run(nma_server **sp, const disc_opts *o, bool on_by_default, nm_ctx_t *ctx,
              nmd_agent *agent);

#endif
