/*
 * env.h - the environment contract between `nomid exec` (or a unit file, a container's
 * environment) and the membership library inside a program on the drop-in (README,
 * "Existing ZeroMQ programs join the mesh").
 *
 * NOMID_MEMBER=1 asks for membership; without it (unset, empty or 0) the drop-in reads
 * nothing else and does nothing more than the plain drop-in.  Each other variable stands
 * for one flag of `nomid exec` and takes that flag's value, checked by the same code;
 * a repeatable flag's values are joined with commas (NOMID_INTERFACE=eth0,wlan0), a flag
 * without a value is 1 when given (NOMID_CURVE_TRUST_UNSIGNED_KEYS=1).  An unset or
 * empty variable keeps the flag's default.
 */
#ifndef MEMBER_ENV_H
#define MEMBER_ENV_H

#include <stdbool.h>
#include <stddef.h>

#include "disc_opts.h"
#include "spec.h"

#define MEMBER_ENV_SWITCH    "NOMID_MEMBER" /* "1": be a member (read by the drop-in) */
#define MEMBER_ENV_MAX       4096           /* longest value read */
#define MEMBER_OPT_ADVERTISE 0x2000         /* --advertise's code (not a discovery flag) */
#define MEMBER_OPT_JOIN      0x2001         /* --join's code */

/* One variable of the contract. */
typedef struct member_env_var {
    const char *var;  /* NOMID_FLEET */
    const char *flag; /* fleet: the long option of nomid exec it stands for */
    int code;         /* disc_opt's code for it (DISC_OPT_*), or MEMBER_OPT_ADVERTISE */
    bool list;        /* repeatable: values joined with commas */
    bool path;        /* a file name (nomid exec passes it absolute) */
    bool bare;        /* a flag without a value: the variable is 1 when it is given */
} member_env_var;

#define MEMBER_ENV_NVARS 18 /* rows of member_env_vars */
extern const member_env_var member_env_vars[MEMBER_ENV_NVARS];
extern const size_t member_env_nvars;

/* What the environment asks for: the discovery settings and the binds to advertise.
 * disc_opts keeps pointers into strings, so this lives as long as they are used. */
typedef struct member_env {
    disc_opts opts;                     /* as nomid exec's flags would set them */
    member_spec specs[MEMBER_SPEC_MAX]; /* NOMID_ADVERTISE's entries */
    int nspecs;                         /* their count */
    bool join_self;                     /* NOMID_JOIN=self: never through the host's node */
    char strings[4 * MEMBER_ENV_MAX];   /* the list entries opts points to */
    size_t used;                        /* bytes of strings taken */
} member_env;

/* --join's value: "auto" (through the host's node when one runs, else on its own) or
 * "self" (always on its own: *self).  0, or -EINVAL after logging why. */
int member_join_parse(const char *value, bool *self);

/* Reads every variable of the contract into *e (initialised here).  0, or -EINVAL after
 * logging which variable is wrong and why. */
int member_env_read(member_env *e);

#endif
