/*
 * main.c - entry point of the nomid program: sets up stdout (line-buffered, data only)
 * and the stop signals, then dispatches to a subcommand.  An unknown subcommand prints
 * the usage on stderr and exits 2.
 */
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "log.h"
#include "nomid.h"
#include "stop.h"

static void main_usage(FILE *f)
{
    fputs("usage: nomid COMMAND [ARGS]\n"
          "\n"
          "commands:\n"
          "  cat TYPE (--bind EP | --connect EP)... [options]\n"
          "                        speak any socket type from a shell\n"
          "  bench thr|lat ENDPOINT SIZE COUNT\n"
          "                        throughput / latency, like libzmq's perf tools\n"
          "  bench fanout ENDPOINT SIZE COUNT SUBS\n"
          "                        pub-sub fan-out to SUBS subscriber processes\n"
          "  bench idle ENDPOINT N  memory per idle connection, N connections\n"
          "  proxy --frontend TYPE@EP --backend TYPE@EP [--capture ...] [--control ...]\n"
          "                        a forwarding device (TYPE>EP connects)\n"
          "\n"
          "  node [--service NAME=TYPE@ENDPOINT]... [discovery options]\n"
          "                        run a node: beacon its services on the LAN\n"
          "  resolve NAME [--wait N | --watch] [--timeout SEC] [--verbose]\n"
          "                        print the endpoints of a service found by name\n"
          "  peers [--timeout SEC]  print the nodes seen\n"
          "  exec [--advertise NAME=ENDPOINT]... [discovery options] -- COMMAND...\n"
          "                        run a ZeroMQ program on nomid's libzmq as a fleet member\n"
          "\n"
          "  keygen NAME [--force] [--meta NAME=VALUE]...\n"
          "                        a CURVE key pair as CZMQ certificates NAME, NAME_secret\n"
          "  keygen --print FILE|DIR\n"
          "                        print a certificate's (or an allow list's) keys, metadata\n\n"
          "  nomid COMMAND --help  options of one command\n"
          "  nomid --version       print the version\n",
          f);
}

int main(int argc, char **argv)
{
    /* stdout carries only data, a line at a time, also into a pipe. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    stop_install();

    if (argc < 2) {
        log_msg(NM_LOG_ERROR, "nomid", "missing command");
        main_usage(stderr);
        return NODE_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        main_usage(stdout);
        return NODE_EXIT_OK;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) {
        printf("nomid %s\n", nm_version(NULL, NULL, NULL));
        return NODE_EXIT_OK;
    }
    if (strcmp(cmd, "cat") == 0)
        return cat_main(argc - 1, argv + 1);
    if (strcmp(cmd, "bench") == 0)
        return bench_main(argc - 1, argv + 1);
    if (strcmp(cmd, "proxy") == 0)
        return proxy_main(argc - 1, argv + 1);
    if (strcmp(cmd, "node") == 0)
        return node_main(argc - 1, argv + 1);
    if (strcmp(cmd, "resolve") == 0)
        return resolve_main(argc - 1, argv + 1);
    if (strcmp(cmd, "peers") == 0)
        return peers_main(argc - 1, argv + 1);
    if (strcmp(cmd, "exec") == 0)
        return exec_main(argc - 1, argv + 1);
    if (strcmp(cmd, "keygen") == 0)
        return keygen_main(argc - 1, argv + 1);

    log_msg(NM_LOG_ERROR, "nomid", "unknown command '%s'", cmd);
    main_usage(stderr);
    return NODE_EXIT_USAGE;
}
