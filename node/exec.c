/*
 * exec.c - `nomid exec [node flags] -- COMMAND...`: runs an unchanged ZeroMQ program on
 * nomid's libzmq.so.5 (the drop-in) as a member of the fleet.  It checks the flags with
 * the same code the program's membership library will use, puts the drop-in's
 * directory first on LD_LIBRARY_PATH, passes the flags down as the environment contract
 * of member/env.h (NOMID_MEMBER=1, NOMID_NAME, NOMID_ADVERTISE...), and execs COMMAND:
 * same pid, so signals, exit status and a supervisor see the program itself.
 *
 * The drop-in's directory: NOMID_DROPIN_DIR when set; else next to this executable, the
 * build tree's lib/compat or the installed LIBDIR/nomid (NOMID_DROPIN_REL, from BINDIR).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>

#include "args.h"
#include "commands.h"
#include "curve.h"
#include "disc_opts.h"
#include "env.h"
#include "log.h"
#include "service.h"

#ifndef NOMID_DROPIN_REL
#error "NOMID_DROPIN_REL: the installed drop-in's directory relative to BINDIR (CMakeLists.txt)"
#endif

#define EXEC_VALUE_MAX MEMBER_ENV_MAX /* a variable's value, as the library reads it */

static const struct option exec_longs[] = {
    {"advertise", required_argument, NULL, MEMBER_OPT_ADVERTISE},
    {"join", required_argument, NULL, MEMBER_OPT_JOIN},
    {"help", no_argument, NULL, 'h'},
    DISC_LONG_OPTIONS,
    DISC_NAME_OPTION,
    DISC_CURVE_OPTIONS,
    DISC_CURVE_TRUST_OPTION,
    {NULL, 0, NULL, 0},
};

static void exec_usage(FILE *f)
{
    fputs("usage: nomid exec [--advertise NAME=ENDPOINT]... [--name NAME] [--join auto|self]\n"
          "                  [discovery options] -- COMMAND [ARG]...\n\n"
          "Runs COMMAND, an unchanged ZeroMQ program, on nomid's libzmq.so.5 as a member of\n"
          "the fleet: svc://NAME endpoints work in its binds and connects, the binds named\n"
          "by --advertise are advertised when it makes them, and its sockets appear on the\n"
          "fleet's topology page.  The settings travel in the environment (NOMID_MEMBER=1,\n"
          "NOMID_NAME...: see README); COMMAND replaces nomid (same pid).  Its admin\n"
          "endpoint listens on 127.0.0.1 and a free port unless --admin says otherwise,\n"
          "and it prints 'admin URL' on stderr.\n\n"
          "  --advertise NAME=ENDPOINT  a bind the program will make (repeatable):\n"
          "                         tcp://HOST:PORT or ipc://PATH; HOST or PORT * matches\n"
          "                         any (a wildcard bind is announced with each\n"
          "                         interface's address)\n"
          "  --name NAME            the process's node name (default HOST/PROGRAM-PID)\n"
          "  --join auto|self       auto (default): through this host's nomid node of the\n"
          "                         fleet when one runs (it beacons for the program, whose\n"
          "                         interface, key and backend settings are then the\n"
          "                         node's), else with discovery of its own; self: always\n"
          "                         on its own\n" DISC_HELP DISC_HELP_CURVE DISC_HELP_CURVE_TRUST
          "  (with --curve-cert, the advertised and svc:// binds are CURVE servers and the\n"
          "  svc:// connects CURVE clients, on sockets where the program chose no mechanism)\n",
          f);
}

/* The contract's row for option code, or NULL. */
static const member_env_var *exec_var(int code)
{
    for (size_t i = 0; i < member_env_nvars; i++)
        if (member_env_vars[i].code == code)
            return &member_env_vars[i];
    return NULL;
}

/* Appends value to the variable's text (a list's entries joined with commas); a file
 * name is made absolute, since the program may change directory. */
static int exec_add(char *text, const member_env_var *v, const char *value)
{
    char abs[EXEC_VALUE_MAX] = "";
    if (v->path && value[0] != '/') {
        if (getcwd(abs, sizeof(abs)) == NULL)
            return -errno;
        strlcat(abs, "/", sizeof(abs));
    }
    strlcat(abs, value, sizeof(abs));
    if (v->list && strchr(value, ',') != NULL) {
        log_msg(NM_LOG_ERROR, "exec", "--%s '%s': no commas (the environment's separator)", v->flag,
                value);
        return -EINVAL;
    }
    if (text[0] != '\0' && !v->list)
        text[0] = '\0'; /* given again: the last one counts, as for the other commands */
    if ((text[0] != '\0' && strlcat(text, ",", EXEC_VALUE_MAX) >= EXEC_VALUE_MAX) ||
        strlcat(text, abs, EXEC_VALUE_MAX) >= EXEC_VALUE_MAX) {
        log_msg(NM_LOG_ERROR, "exec", "--%s: the values exceed %d bytes in all", v->flag,
                EXEC_VALUE_MAX - 1);
        return -EINVAL;
    }
    return 0;
}

/* Checks a flag as the library will, and adds it to its variable's text. */
static int exec_flag(disc_opts *o, int *nspecs, char (*texts)[EXEC_VALUE_MAX], int code,
                     const char *arg)
{
    const member_env_var *v = exec_var(code);
    if (v == NULL)
        return -EINVAL;
    if (code == MEMBER_OPT_ADVERTISE) {
        member_spec spec;
        const char *why = "at most " NODE_STR(MEMBER_SPEC_MAX);
        if (*nspecs == MEMBER_SPEC_MAX || member_spec_parse(arg, &spec, &why) < 0) {
            log_msg(NM_LOG_ERROR, "exec", "--advertise '%s': %s", arg, why);
            return -EINVAL;
        }
        (*nspecs)++;
    } else if (code == MEMBER_OPT_JOIN) {
        bool self;
        if (member_join_parse(arg, &self) < 0)
            return -EINVAL;
    } else if (disc_opt(o, code, arg) <= 0) {
        return -EINVAL;
    }
    return exec_add(texts[v - member_env_vars], v, v->bare ? "1" : arg);
}

static bool exec_dropin_ok(const char *dir)
{
    char path[PATH_MAX];
    return snprintf(path, sizeof(path), "%s/libzmq.so.5", dir) < (int)sizeof(path) &&
           access(path, R_OK) == 0 &&
           snprintf(path, sizeof(path), "%s/libnomid_member.so", dir) < (int)sizeof(path) &&
           access(path, R_OK) == 0;
}

/* Finds the directory holding libzmq.so.5 and libnomid_member.so (see the header). */
static int exec_dropin_dir(char *dir, size_t cap)
{
    const char *env = getenv("NOMID_DROPIN_DIR");
    if (env != NULL && env[0] != '\0') {
        if (realpath(env, dir) != NULL && exec_dropin_ok(dir))
            return 0;
        log_msg(NM_LOG_ERROR, "exec",
                "NOMID_DROPIN_DIR=%s holds no libzmq.so.5 and libnomid_member.so", env);
        return -ENOENT;
    }
    char exe[PATH_MAX], cand[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    char *slash = n > 0 ? memrchr(exe, '/', (size_t)n) : NULL;
    if (slash == NULL) {
        log_msg(NM_LOG_ERROR, "exec", "cannot tell where nomid lies: set NOMID_DROPIN_DIR");
        return -ENOENT;
    }
    *slash = '\0';
    const char *rels[] = {"lib/compat", NOMID_DROPIN_REL};
    for (size_t i = 0; i < sizeof(rels) / sizeof(rels[0]); i++) {
        if (snprintf(cand, sizeof(cand), "%s/%s", exe, rels[i]) < (int)sizeof(cand) &&
            realpath(cand, dir) != NULL && strlen(dir) < cap && exec_dropin_ok(dir))
            return 0;
    }
    log_msg(NM_LOG_ERROR, "exec",
            "no drop-in found (libzmq.so.5 and libnomid_member.so in %s/lib/compat or %s/%s): "
            "set NOMID_DROPIN_DIR",
            exe, exe, NOMID_DROPIN_REL);
    return -ENOENT;
}

/* The environment of the program: the contract's variables as given (every other one
 * of them unset, so that only the flags count), and the drop-in first on the path. */
static int exec_environ(char (*texts)[EXEC_VALUE_MAX], const char *dropin)
{
    for (size_t i = 0; i < member_env_nvars; i++) {
        const char *var = member_env_vars[i].var;
        if ((texts[i][0] != '\0' ? setenv(var, texts[i], 1) : unsetenv(var)) < 0)
            return -errno;
    }
    const char *old = getenv("LD_LIBRARY_PATH");
    char path[2 * PATH_MAX];
    if (snprintf(path, sizeof(path), "%s%s%s", dropin, old && old[0] ? ":" : "", old ? old : "") >=
        (int)sizeof(path))
        return -E2BIG;
    if (setenv("LD_LIBRARY_PATH", path, 1) < 0 || setenv(MEMBER_ENV_SWITCH, "1", 1) < 0)
        return -errno;
    return 0;
}

int exec_main(int argc, char **argv)
{
    static char texts[MEMBER_ENV_NVARS][EXEC_VALUE_MAX];
    disc_opts o;
    int c, nspecs = 0;
    disc_opts_init(&o);
    opterr = 0;
    optind = 0; /* glibc: 0 starts the scan afresh */
    while ((c = getopt_long(argc, argv, "+h", exec_longs, NULL)) != -1) {
        if (c == 'h') {
            exec_usage(stdout);
            return NODE_EXIT_OK;
        }
        if (c == '?' || c == ':') {
            log_msg(NM_LOG_ERROR, "exec", "unknown or incomplete option '%s'", argv[optind - 1]);
            exec_usage(stderr);
            return NODE_EXIT_USAGE;
        }
        if (exec_flag(&o, &nspecs, texts, c, optarg) < 0)
            return NODE_EXIT_USAGE;
    }
    if (curve_check(&o) < 0)
        return NODE_EXIT_USAGE;
    if (optind >= argc) {
        log_msg(NM_LOG_ERROR, "exec", "no COMMAND to run (nomid exec [options] -- COMMAND...)");
        return NODE_EXIT_USAGE;
    }
    char dropin[PATH_MAX];
    int rc = exec_dropin_dir(dropin, sizeof(dropin));
    if (rc < 0)
        return NODE_EXIT_FAIL;
    if ((rc = exec_environ(texts, dropin)) < 0) {
        log_msg(NM_LOG_ERROR, "exec", "cannot set the environment: %s", strerror(-rc));
        return NODE_EXIT_FAIL;
    }
    execvp(argv[optind], argv + optind);
    int err = errno;
    log_msg(NM_LOG_ERROR, "exec", "%s: %s", argv[optind], strerror(err));
    return err == ENOENT ? 127 : 126; /* as env(1) and the shells */
}
