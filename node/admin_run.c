/*
 * admin_run.c - starting a command's admin endpoint (see admin_run.h).
 */
#include <errno.h>
#include <stdio.h>

#include "admin_run.h"
#include "args.h"
#include "log.h"

int admin_run(nma_server **sp, const disc_opts *o, bool on_by_default, nm_ctx_t *ctx,
              nmd_agent *agent)
{
    *sp = NULL;
    bool given = o->admin[0] != '\0';
    if (o->admin_off || (!given && !on_by_default))
        return NODE_EXIT_OK;
    nma_config cfg = {
        .addr = given ? o->admin : NMA_DEFAULT_ADDR,
        .next_free = !given, /* an explicit address is used as it is */
        .token = o->token[0] != '\0' ? o->token : NULL,
        .ctx = ctx,
        .agent = agent,
    };
    int rc = nma_start(sp, &cfg);
    if (rc == -EACCES) {
        log_msg(NM_LOG_ERROR, "admin",
                "--admin %s is not loopback: give --admin-token-file (every request must then "
                "carry the token)",
                cfg.addr);
        return NODE_EXIT_USAGE;
    }
    if (rc < 0) {
        log_msg(NM_LOG_ERROR, "admin", "cannot serve on %s: %s", cfg.addr, nm_strerror(rc));
        return rc == -EINVAL ? NODE_EXIT_USAGE : NODE_EXIT_FAIL;
    }
    fprintf(stderr, "admin %s\n", nma_url(*sp));
    return NODE_EXIT_OK;
}
