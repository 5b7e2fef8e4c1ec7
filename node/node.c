/*
 * node.c - `nomid node`: run a node.  For now that is its discovery agent: it beacons
 * the services given with --service NAME=TYPE@ENDPOINT (endpoints owned by other
 * programs: a pyzmq app can be found by name too) and those of the programs that join
 * through it (host.h: `nomid exec`) until SIGINT/SIGTERM, then says goodbye so peers
 * drop it at once.  Prints `ready` on stderr once beaconing.
 * Settings come from an optional --config FILE (config.c) with the flags on top.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "admin_run.h"
#include "args.h"
#include "commands.h"
#include "config.h"
#include "curve.h"
#include "disc_opts.h"
#include "host.h"
#include "log.h"
#include "nomid.h"
#include "service.h"
#include "stop.h"

/* The options of `nomid node`: 'c' --config, 's' --service, and the discovery flags. */
static const struct option node_longs[] = {
    {"config", required_argument, NULL, 'c'},
    {"service", required_argument, NULL, 's'},
    {"help", no_argument, NULL, 'h'},
    DISC_LONG_OPTIONS,
    DISC_NAME_OPTION,
    DISC_CURVE_OPTIONS,
    {NULL, 0, NULL, 0},
};

static void node_usage(FILE *f)
{
    fputs("usage: nomid node [--config FILE] [--service NAME=TYPE@ENDPOINT]...\n"
          "                  [discovery options]\n\n"
          "Runs a node: beacons its services on the given interfaces until SIGINT or\n"
          "SIGTERM, then says goodbye.  Prints 'ready' on stderr once it beacons.\n\n"
          "  --config FILE          settings from a JSON file (see README); flags override\n"
          "                         it, and --interface, --discovery or --service given as\n"
          "                         flags replace the file's list instead of adding to it\n"
          "  --service NAME=TYPE@ENDPOINT  advertise an endpoint (repeatable); TYPE is a\n"
          "                         lowercase socket type; a wildcard host (tcp://*:5555)\n"
          "                         is announced with each interface's address\n" DISC_HELP
              DISC_HELP_NAME DISC_HELP_CURVE
          "  (a certified node's --service entries carry its key: the programs behind\n"
          "  them serve CURVE with its certificate and admit --curve-allow's holders;\n"
          "  the node checks the directory at start)\n",
          f);
}

/* Pass one over argv: finds --config FILE, which the other flags then override. */
static int node_config_arg(int argc, char **argv, const char **path)
{
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+h", node_longs, NULL)) != -1) {
        if (c == 'h') {
            *path = NULL; /* pass two prints the usage; no file needed for that */
            return NODE_EXIT_OK;
        }
        if (c == 'c' && *path != NULL) {
            log_msg(NM_LOG_ERROR, "node", "--config given twice ('%s', '%s')", *path, optarg);
            return NODE_EXIT_USAGE;
        }
        if (c == 'c')
            *path = optarg;
    }
    return NODE_EXIT_OK;
}

/* Reads the config file, then the flags over it.  A list flag (--interface, --discovery,
 * --service) replaces the file's list the first time it appears, then adds to it.
 * Returns NODE_EXIT_OK to run, -1 after --help, or the exit code of a bad argument. */
static int node_args(int argc, char **argv, disc_opts *o, node_service *svcs, int *nsvcs)
{
    bool ifaces = false, backends = false, services = false; /* list flags seen */
    const char *config = NULL;
    int c, rc = node_config_arg(argc, argv, &config);
    if (rc != NODE_EXIT_OK)
        return rc;
    if (config != NULL && node_config_load(config, o, svcs, nsvcs, NODE_SERVICES_MAX) < 0)
        return NODE_EXIT_USAGE;
    optind = 0; /* glibc: 0 starts the scan afresh */
    while ((c = getopt_long(argc, argv, "+h", node_longs, NULL)) != -1) {
        /* The first flag of a list drops the file's list. */
        if (c == DISC_OPT_IFACE && !ifaces) {
            ifaces = true;
            disc_opt_reset(o, c);
        } else if (c == DISC_OPT_BACKEND && !backends) {
            backends = true;
            disc_opt_reset(o, c);
        } else if (c == 's' && !services) {
            services = true;
            *nsvcs = 0;
        }
        int taken = disc_opt(o, c, optarg);
        if (taken < 0)
            return NODE_EXIT_USAGE;
        if (taken > 0 || c == 'c')
            continue;
        if (c == 'h') {
            node_usage(stdout);
            return -1;
        }
        const char *why = "too many (at most " NODE_STR(NODE_SERVICES_MAX) ")";
        if (c == 's' && *nsvcs < NODE_SERVICES_MAX &&
            node_service_parse(optarg, &svcs[*nsvcs], &why) == 0) {
            (*nsvcs)++;
            continue;
        }
        if (c == 's') {
            log_msg(NM_LOG_ERROR, "node", "--service '%s': %s", optarg, why);
            return NODE_EXIT_USAGE;
        }
        log_msg(NM_LOG_ERROR, "node", "unknown or incomplete option '%s'", argv[optind - 1]);
        node_usage(stderr);
        return NODE_EXIT_USAGE;
    }
    if (optind != argc) {
        log_msg(NM_LOG_ERROR, "node", "unexpected argument '%s'", argv[optind]);
        return NODE_EXIT_USAGE;
    }
    return NODE_EXIT_OK;
}

int node_main(int argc, char **argv)
{
    static node_service services[NODE_SERVICES_MAX];
    int nservices = 0;
    disc_opts o;
    disc_opts_init(&o);
    int parsed = node_args(argc, argv, &o, services, &nservices);
    if (parsed != NODE_EXIT_OK)
        return parsed < 0 ? NODE_EXIT_OK : parsed;
    disc_default_name(&o, NULL);
    if (curve_check(&o) < 0)
        return NODE_EXIT_USAGE;
    nmd_agent *a = NULL;
    int rc = nmd_agent_start(&a, &o.cfg);
    if (rc < 0) {
        log_msg(NM_LOG_ERROR, "node", "cannot start discovery: %s", nm_strerror(rc));
        return rc == -ENODEV ? NODE_EXIT_USAGE : NODE_EXIT_FAIL;
    }
    for (int i = 0; i < nservices; i++)
        nmd_agent_advertise(a, services[i].name, services[i].type, services[i].endpoint,
                            o.has_cert ? o.cert.public_key : NULL);
    /* The host's programs join the fleet through this node (host.h). */
    nmd_host *host = NULL;
    if ((rc = nmd_host_start(&host, a)) == -EADDRINUSE)
        log_msg(NM_LOG_INFO, "node",
                "another node of fleet '%s' runs on this host: programs join through it",
                o.cfg.fleet);
    else if (rc < 0)
        log_msg(NM_LOG_WARN, "node", "programs cannot join through this node: %s", nm_strerror(rc));
    nma_server *admin;
    if ((rc = admin_run(&admin, &o, true, NULL, a)) != NODE_EXIT_OK) {
        nmd_host_stop(&host);
        nmd_agent_stop(&a);
        return rc;
    }
    fprintf(stderr, "ready\n");
    while (!stop_requested())
        stop_sleep_ms(STOP_POLL_MS);
    nma_stop(&admin);
    nmd_host_stop(&host);
    nmd_agent_stop(&a);
    return NODE_EXIT_OK;
}
