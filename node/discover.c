/*
 * discover.c - `nomid resolve NAME` and `nomid peers`: ask discovery from a shell.
 *
 * Both listen passively (a discovery agent that sends nothing), so they need no running
 * node, like avahi-browse.  resolve prints one endpoint per line: after --timeout
 * seconds (default 3), as soon as --wait N instances are up, or, with --watch, as
 * `+ ENDPOINT` / `- ENDPOINT` lines the moment instances join and leave, until stopped.
 * peers prints one line per node seen: id, name, address, state.  Nothing found in
 * time: exit 3.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_run.h"
#include "args.h"
#include "commands.h"
#include "disc_opts.h"
#include "log.h"
#include "nodeid.h"
#include "nomid.h"
#include "stop.h"

#define DISCOVER_TICK_MS 20

typedef struct discover {
    const char *name;                     /* the service asked for */
    bool verbose;                         /* add backend and node id */
    char seen[256][NMD_ENDPOINT_MAX + 1]; /* endpoints printed (each instance once) */
    int nseen;                            /* their count */
} discover;

static void discover_print(discover *d, const char *prefix, const nmd_peer *p, const nmd_service *s)
{
    char id[33];
    nmd_id_hex(p->id, id);
    if (d->verbose)
        printf("%s%s %s %s\n", prefix, s->endpoint, nmd_backend_name(p->backend), id);
    else
        printf("%s%s\n", prefix, s->endpoint);
}

/* --watch: runs on the agent thread as instances come and go. */
static void discover_watch_cb(void *arg, int ev, const nmd_peer *p, const nmd_service *s)
{
    discover *d = arg;
    if (s == NULL || strcmp(s->name, d->name) != 0)
        return;
    if (ev == NMD_EV_SERVICE_UP || ev == NMD_EV_SERVICE_DOWN)
        discover_print(d, ev == NMD_EV_SERVICE_UP ? "+ " : "- ", p, s);
}

/* Collects each distinct endpoint once. */
static void discover_collect_cb(void *arg, const nmd_peer *p, const nmd_service *s)
{
    discover *d = arg;
    for (int i = 0; i < d->nseen; i++)
        if (strcmp(d->seen[i], s->endpoint) == 0)
            return;
    if (d->nseen < 256) {
        snprintf(d->seen[d->nseen++], sizeof(d->seen[0]), "%s", s->endpoint);
        discover_print(d, "", p, s);
    }
}

static void discover_count_cb(void *arg, const nmd_peer *p, const nmd_service *s)
{
    (void)p;
    (void)s;
    (*(int *)arg)++;
}

static void discover_peer_cb(void *arg, const nmd_peer *p)
{
    (void)arg;
    char id[33];
    nmd_id_hex(p->id, id);
    printf("%s %s %s %s\n", id, p->name[0] ? p->name : "(unnamed)", p->addr,
           p->state == NMD_PEER_ALIVE ? "alive" : "silent");
}

static void discover_usage(FILE *f, bool peers)
{
    if (peers)
        fputs("usage: nomid peers [--timeout SEC] [discovery options]\n\n"
              "Listens for beacons and prints one line per node seen: id, name, address,\n"
              "state.  Exit 3 when no node was seen.\n\n",
              f);
    else
        fputs("usage: nomid resolve NAME [--wait N | --watch] [--timeout SEC] [--verbose]\n"
              "                     [discovery options]\n\n"
              "Prints one endpoint per line for each live instance of service NAME: after\n"
              "--timeout seconds (default 3), as soon as --wait N are up, or with --watch as\n"
              "'+ ENDPOINT' / '- ENDPOINT' lines as they join and leave, until stopped.\n"
              "Exit 3 when nothing was found in time.\n\n",
              f);
    fputs("  --timeout SEC          how long to listen (default 3)\n", f);
    if (!peers)
        fputs("  --wait N               print as soon as N instances are up\n"
              "  --watch                print '+'/'-' lines as instances come and go, until\n"
              "                         stopped\n"
              "  -v, --verbose          also print each instance's backend and node id\n",
              f);
    fputs("\nIt only listens (sends no beacon, so it takes no --name); --admin serves the\n"
          "admin endpoint (peers, services, the live page) while it listens.\n"
          "Discovery options:\n" DISC_HELP,
          f);
}

/* The options of both commands: 'w' --wait, 'W' --watch, 't' --timeout, 'v' --verbose. */
static int discover_args(int argc, char **argv, bool peers, disc_opts *o, int *timeout_ms,
                         long long *wait, bool *watch, bool *verbose)
{
    static const struct option longs[] = {
        {"wait", required_argument, NULL, 'w'},
        {"watch", no_argument, NULL, 'W'},
        {"timeout", required_argument, NULL, 't'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        DISC_LONG_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "hv", longs, NULL)) != -1) {
        int taken = disc_opt(o, c, optarg);
        if (taken < 0)
            return NODE_EXIT_USAGE;
        if (taken > 0)
            continue;
        bool resolve_only = c == 'w' || c == 'W' || c == 'v';
        if (c == 'h') {
            discover_usage(stdout, peers);
            return -1;
        } else if (c == '?' || c == ':' || (peers && resolve_only)) {
            log_msg(NM_LOG_ERROR, argv[0], "unknown or incomplete option '%s'", argv[optind - 1]);
            discover_usage(stderr, peers);
            return NODE_EXIT_USAGE;
        } else if (c == 't' && args_seconds_ms(optarg, timeout_ms) != 0) {
            log_msg(NM_LOG_ERROR, argv[0], "--timeout '%s' is not a number of seconds", optarg);
            return NODE_EXIT_USAGE;
        } else if (c == 'w' && args_count(optarg, 1, 100000, wait) != 0) {
            log_msg(NM_LOG_ERROR, argv[0], "--wait '%s' is not a count of at least 1", optarg);
            return NODE_EXIT_USAGE;
        } else if (c == 'W') {
            *watch = true;
        } else if (c == 'v') {
            *verbose = true;
        }
    }
    o->cfg.passive = true;
    return NODE_EXIT_OK;
}

/* Starts the passive agent, and admin when --admin asks for it. */
static int discover_start(nmd_agent **ap, nma_server **admin, disc_opts *o, const char *cmd)
{
    int rc = nmd_agent_start(ap, &o->cfg);
    if (rc < 0) {
        log_msg(NM_LOG_ERROR, cmd, "cannot start discovery: %s", nm_strerror(rc));
        return rc == -ENODEV || rc == -EINVAL ? NODE_EXIT_USAGE : NODE_EXIT_FAIL;
    }
    if ((rc = admin_run(admin, o, false, NULL, *ap)) != NODE_EXIT_OK)
        nmd_agent_stop(ap);
    return rc;
}

int resolve_main(int argc, char **argv)
{
    disc_opts o;
    disc_opts_init(&o);
    int timeout_ms = 3000;
    long long wait = 0;
    bool watch = false, verbose = false;
    int rc = discover_args(argc, argv, false, &o, &timeout_ms, &wait, &watch, &verbose);
    if (rc != NODE_EXIT_OK)
        return rc < 0 ? NODE_EXIT_OK : rc;
    if (optind + 1 != argc || (watch && wait > 0)) {
        log_msg(NM_LOG_ERROR, "resolve",
                optind + 1 != argc ? "one service NAME is needed"
                                   : "--wait and --watch exclude each other");
        return NODE_EXIT_USAGE;
    }
    discover *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return NODE_EXIT_FAIL;
    d->name = argv[optind];
    d->verbose = verbose;
    if (watch) {
        o.cfg.event_cb = discover_watch_cb;
        o.cfg.event_arg = d;
    }
    nmd_agent *a = NULL;
    nma_server *admin = NULL;
    if ((rc = discover_start(&a, &admin, &o, "resolve")) != NODE_EXIT_OK) {
        free(d);
        return rc;
    }
    uint64_t deadline = nm_clock_ns() + (uint64_t)timeout_ms * 1000000u;
    rc = NODE_EXIT_TIMEOUT;
    while (!stop_requested()) {
        if (watch) {
            stop_sleep_ms(STOP_POLL_MS);
            continue;
        }
        int n = 0;
        nmd_agent_resolve(a, d->name, discover_count_cb, &n);
        if ((wait > 0 && n >= wait) || nm_clock_ns() >= deadline) {
            nmd_agent_resolve(a, d->name, discover_collect_cb, d);
            rc = d->nseen > 0 && (wait == 0 || n >= wait) ? NODE_EXIT_OK : NODE_EXIT_TIMEOUT;
            if (rc == NODE_EXIT_TIMEOUT) {
                char what[512];
                disc_describe(a, timeout_ms / 1000.0, what, sizeof(what));
                if (d->nseen == 0)
                    log_msg(NM_LOG_ERROR, "resolve", "no instance of '%s' found: %s", d->name,
                            what);
                else
                    log_msg(NM_LOG_ERROR, "resolve", "found %d of %lld instances of '%s': %s",
                            d->nseen, wait, d->name, what);
            }
            break;
        }
        stop_sleep_ms(DISCOVER_TICK_MS);
    }
    if (watch || stop_requested())
        rc = NODE_EXIT_OK;
    nma_stop(&admin);
    nmd_agent_stop(&a);
    free(d);
    return rc;
}

int peers_main(int argc, char **argv)
{
    disc_opts o;
    disc_opts_init(&o);
    int timeout_ms = 3000;
    long long wait = 0;
    bool watch = false, verbose = false;
    int rc = discover_args(argc, argv, true, &o, &timeout_ms, &wait, &watch, &verbose);
    if (rc != NODE_EXIT_OK)
        return rc < 0 ? NODE_EXIT_OK : rc;
    if (optind != argc) {
        log_msg(NM_LOG_ERROR, "peers", "unexpected argument '%s'", argv[optind]);
        return NODE_EXIT_USAGE;
    }
    nmd_agent *a = NULL;
    nma_server *admin = NULL;
    if ((rc = discover_start(&a, &admin, &o, "peers")) != NODE_EXIT_OK)
        return rc;
    stop_sleep_ms(timeout_ms);
    size_t n = nmd_agent_peers(a, discover_peer_cb, NULL);
    if (n == 0 && !stop_requested()) {
        char what[512];
        disc_describe(a, timeout_ms / 1000.0, what, sizeof(what));
        log_msg(NM_LOG_ERROR, "peers", "no node found: %s", what);
    }
    nma_stop(&admin);
    nmd_agent_stop(&a);
    return n > 0 ? NODE_EXIT_OK : NODE_EXIT_TIMEOUT;
}
