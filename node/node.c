/*
 * node.c - `nomid node`: run a node.  For now that is its discovery agent: it beacons
 * the services given with --service NAME=TYPE@ENDPOINT (endpoints owned by other
 * programs: a pyzmq app can be found by name too) until SIGINT/SIGTERM, then says
 * goodbye so peers drop it at once.  Prints `ready` on stderr once beaconing.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "disc_opts.h"
#include "log.h"
#include "nomid.h"
#include "stop.h"

#define NODE_SERVICES_MAX 256

typedef struct node_service {
    char name[NMD_SVC_NAME_MAX + 1];     /* service name */
    int type;                            /* enum nm_sock_type */
    char endpoint[NMD_ENDPOINT_MAX + 1]; /* where it is */
} node_service;

static void node_usage(FILE *f)
{
    fputs("usage: nomid node [--service NAME=TYPE@ENDPOINT]... [discovery options]\n\n"
          "Runs a node: beacons its services on the given interfaces until SIGINT or\n"
          "SIGTERM, then says goodbye.  Prints 'ready' on stderr once it beacons.\n\n"
          "  --service NAME=TYPE@ENDPOINT  advertise an endpoint (repeatable); TYPE is a\n"
          "                         lowercase socket type; a wildcard host (tcp://*:5555)\n"
          "                         is announced with each interface's address\n" DISC_HELP,
          f);
}

/* Parses NAME=TYPE@ENDPOINT. */
static int node_service_parse(const char *spec, node_service *s)
{
    const char *eq = strchr(spec, '='), *at = eq ? strchr(eq, '@') : NULL;
    if (eq == NULL || at == NULL || eq == spec || (size_t)(eq - spec) > NMD_SVC_NAME_MAX ||
        strlen(at + 1) == 0 || strlen(at + 1) > NMD_ENDPOINT_MAX || strstr(at + 1, "://") == NULL)
        return -EINVAL;
    char type[16];
    size_t tlen = (size_t)(at - eq - 1);
    if (tlen == 0 || tlen >= sizeof(type))
        return -EINVAL;
    memcpy(type, eq + 1, tlen);
    type[tlen] = '\0';
    if ((s->type = nm_sock_type_parse(type)) < 0)
        return -EINVAL;
    memcpy(s->name, spec, (size_t)(eq - spec));
    s->name[eq - spec] = '\0';
    snprintf(s->endpoint, sizeof(s->endpoint), "%s", at + 1);
    return 0;
}

int node_main(int argc, char **argv)
{
    static const struct option longs[] = {
        {"service", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        DISC_LONG_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    static node_service services[NODE_SERVICES_MAX];
    int nservices = 0, c;
    disc_opts o;
    disc_opts_init(&o);
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+h", longs, NULL)) != -1) {
        int taken = disc_opt(&o, c, optarg);
        if (taken < 0)
            return NODE_EXIT_USAGE;
        if (taken > 0)
            continue;
        if (c == 'h') {
            node_usage(stdout);
            return NODE_EXIT_OK;
        }
        if (c == 's' && nservices < NODE_SERVICES_MAX &&
            node_service_parse(optarg, &services[nservices]) == 0) {
            nservices++;
            continue;
        }
        if (c == 's')
            log_msg(NM_LOG_ERROR, "node", "--service '%s' is not NAME=TYPE@ENDPOINT", optarg);
        else
            log_msg(NM_LOG_ERROR, "node", "unknown or incomplete option '%s'", argv[optind - 1]);
        node_usage(stderr);
        return NODE_EXIT_USAGE;
    }
    if (optind != argc) {
        log_msg(NM_LOG_ERROR, "node", "unexpected argument '%s'", argv[optind]);
        return NODE_EXIT_USAGE;
    }
    nmd_agent *a = NULL;
    int rc = nmd_agent_start(&a, &o.cfg);
    if (rc < 0) {
        log_msg(NM_LOG_ERROR, "node", "cannot start discovery: %s", nm_strerror(rc));
        return rc == -ENODEV ? NODE_EXIT_USAGE : NODE_EXIT_FAIL;
    }
    for (int i = 0; i < nservices; i++)
        nmd_agent_advertise(a, services[i].name, services[i].type, services[i].endpoint);
    fprintf(stderr, "ready\n");
    while (!stop_requested())
        stop_sleep_ms(STOP_POLL_MS);
    nmd_agent_stop(&a);
    return NODE_EXIT_OK;
}
