/*
 * commands.h - the subcommands of the nomid program.  Each takes the arguments after
 * "nomid" (argv[0] is the subcommand's name) and returns the process exit code
 * (enum node_exit in args.h).
 */
#ifndef NODE_COMMANDS_H
#define NODE_COMMANDS_H

/* nomid cat TYPE (--bind EP | --connect EP)... [options] */
int cat_main(int argc, char **argv);
/* nomid bench thr|lat ENDPOINT SIZE COUNT */
int bench_main(int argc, char **argv);
/* nomid proxy --frontend TYPE@EP --backend TYPE@EP [--capture ...] [--control ...] */
int proxy_main(int argc, char **argv);

/* nomid node [--service NAME=TYPE@ENDPOINT]... [discovery options] */
int node_main(int argc, char **argv);
/* nomid resolve NAME [--wait N | --watch] [--timeout SEC] [--verbose] */
int resolve_main(int argc, char **argv);
/* nomid peers [--timeout SEC] */
int peers_main(int argc, char **argv);

/* nomid exec [--advertise NAME=ENDPOINT]... [discovery options] -- COMMAND... */
int exec_main(int argc, char **argv);

/* nomid keygen NAME [--force] [--meta NAME=VALUE]... / nomid keygen --print FILE|DIR */
int keygen_main(int argc, char **argv);

#endif /* NODE_COMMANDS_H */
