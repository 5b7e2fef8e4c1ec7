/*
 * cat_args.c - the command line of `nomid cat`: getopt_long parsing into struct
 * cat_opts, then the checks that reject option combinations a socket type cannot honour
 * (rep sending first, push receiving, --echo on pub...).  Every problem is logged with
 * the option or value it concerns and becomes exit code 2.
 */
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cat.h"
#include "log.h"
#include "nomid.h"

#define CAT_COUNT(a) (sizeof(a) / sizeof((a)[0]))

enum {
    CAT_OPT_BIND = 256,
    CAT_OPT_CONNECT,
    CAT_OPT_HEX_DATA,
    CAT_OPT_INTERVAL,
    CAT_OPT_ECHO,
    CAT_OPT_SUBSCRIBE,
    CAT_OPT_FORMAT,
    CAT_OPT_TIMEOUT,
    CAT_OPT_IDENTITY,
    CAT_OPT_SNDHWM,
    CAT_OPT_RCVHWM,
    CAT_OPT_LINGER,
    CAT_OPT_UNSUBSCRIBE,
    CAT_OPT_HEARTBEAT,
    CAT_OPT_ADVERTISE,
    CAT_OPT_STDIN,
};

static const struct option cat_longopts[] = {
    {"bind", required_argument, NULL, CAT_OPT_BIND},
    {"connect", required_argument, NULL, CAT_OPT_CONNECT},
    {"data", required_argument, NULL, 'd'},
    {"hex-data", required_argument, NULL, CAT_OPT_HEX_DATA},
    {"stdin", no_argument, NULL, CAT_OPT_STDIN},
    {"count", required_argument, NULL, 'n'},
    {"interval", required_argument, NULL, CAT_OPT_INTERVAL},
    {"echo", no_argument, NULL, CAT_OPT_ECHO},
    {"subscribe", required_argument, NULL, CAT_OPT_SUBSCRIBE},
    {"unsubscribe", required_argument, NULL, CAT_OPT_UNSUBSCRIBE},
    {"heartbeat", required_argument, NULL, CAT_OPT_HEARTBEAT},
    {"format", required_argument, NULL, CAT_OPT_FORMAT},
    {"timeout", required_argument, NULL, CAT_OPT_TIMEOUT},
    {"identity", required_argument, NULL, CAT_OPT_IDENTITY},
    {"sndhwm", required_argument, NULL, CAT_OPT_SNDHWM},
    {"rcvhwm", required_argument, NULL, CAT_OPT_RCVHWM},
    {"linger", required_argument, NULL, CAT_OPT_LINGER},
    {"advertise", required_argument, NULL, CAT_OPT_ADVERTISE},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    DISC_LONG_OPTIONS,
    DISC_NAME_OPTION,
    DISC_CURVE_OPTIONS,
    DISC_CURVE_TRUST_OPTION,
    {NULL, 0, NULL, 0},
};

static void cat_usage(FILE *f)
{
    fputs("usage: nomid cat TYPE (--bind EP | --connect EP)... [options]\n"
          "\n"
          "TYPE: req rep dealer router pub sub xpub xsub push pull pair stream\n"
          "\n"
          "  --bind EP, --connect EP  endpoints (repeatable, mixable; at least one)\n"
          "  -d, --data TEXT          append a frame to the message to send (repeatable)\n"
          "  --hex-data HEX           append a frame given in hex (repeatable)\n"
          "  --stdin                  send each line of stdin, a message written as\n"
          "                           --format json or hex prints it (up to -n lines)\n"
          "  -n, --count N            send N times (default 1) or receive N messages\n"
          "                           (default: until stopped)\n"
          "  --interval SEC           pause between sends; without -n: send until stopped\n"
          "  --echo                   send every received message back (rep, router,\n"
          "                           dealer, pair)\n"
          "  --subscribe PREFIX       sub/xsub subscription (repeatable; default: all)\n"
          "  --unsubscribe PREFIX     cancel one --subscribe of PREFIX (repeatable; applied\n"
          "                           after all of them; subscriptions are counted)\n"
          "  --format text|hex|json   how messages are printed and read (default text)\n"
          "  --timeout SEC            exit 3 when nothing arrives or leaves for SEC seconds\n"
          "  --identity ID            routing id announced to peers\n"
          "  --sndhwm N, --rcvhwm N   high-water marks in messages\n"
          "  --linger SEC             wait for queued messages at exit (default 2)\n"
          "  --heartbeat SEC          send a PING every SEC and drop a peer silent for SEC\n"
          "                           after one; ask peers to drop us after 3*SEC\n"
          "  -v, --verbose            more library logging (repeat for debug)\n"
          "  --advertise NAME         advertise the bound endpoints as service NAME\n"
          "\n"
          "With --advertise, a svc://NAME endpoint (--connect svc://NAME follows every\n"
          "instance of NAME; --bind svc://NAME listens on a free port of each --interface's\n"
          "address, 127.0.0.1 by default, and advertises it) or --admin, cat runs a node\n"
          "(discovery, and admin when asked), configured with:\n" DISC_HELP
          "  --name NAME            this node's name (default: HOST/cat-PID)\n" DISC_HELP_CURVE
              DISC_HELP_CURVE_TRUST
          "  (with --curve-cert, --connect takes svc:// names only, whose servers'\n"
          "  keys discovery gives)\n\n"
          "pub and xpub send like push (default once): a PUB drops what it sends before a\n"
          "subscriber has connected and subscribed (the slow joiner), so send repeatedly\n"
          "with --interval.  xpub without a message receives and prints the subscriptions\n"
          "(\\x01PREFIX subscribe, \\x00PREFIX cancel); sub and xsub subscribe with\n"
          "--subscribe; an xsub with a message sends it as is (\\x01PREFIX subscribes).\n"
          "\n"
          "--format json prints each message as one JSON array, a frame of valid UTF-8 as a\n"
          "string, any other as {\"base64\":\"...\"} (standard alphabet, padded), so that\n"
          "every byte sequence round-trips: [\"key\",\"\",{\"base64\":\"AP8=\"}] is \"key\", an\n"
          "empty frame and the bytes 00 ff.  text (frames joined by \" | \") is for eyes only.\n"
          "\n"
          "Seconds are decimals (0.2). Exit: 0 ok or stopped, 1 failure, 2 bad arguments,\n"
          "3 timeout.\n",
          f);
}

/* Logs a usage error and returns CAT_USAGE. */
static enum cat_rc cat_bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static enum cat_rc cat_bad(const char *fmt, ...)
{
    char line[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    log_msg(NM_LOG_ERROR, "cat", "%s (see 'nomid cat --help')", line);
    return CAT_USAGE;
}

static enum cat_rc cat_parse_opt(struct cat_opts *o, int opt, const char *arg)
{
    long long v;

    switch (opt) {
    case CAT_OPT_BIND:
    case CAT_OPT_CONNECT:
        o->eps[o->neps].bind = opt == CAT_OPT_BIND;
        o->eps[o->neps++].endpoint = arg;
        break;
    case 'd':
        o->frames[o->nframes].data = (unsigned char *)arg;
        o->frames[o->nframes].owned = false;
        o->frames[o->nframes++].size = strlen(arg);
        break;
    case CAT_OPT_HEX_DATA:
        if (args_hex(arg, &o->frames[o->nframes].data, &o->frames[o->nframes].size) != 0)
            return cat_bad("--hex-data '%s' is not an even number of hex digits", arg);
        o->frames[o->nframes++].owned = true;
        break;
    case 'n':
        if (args_count(arg, 1, LLONG_MAX, &o->count) != 0)
            return cat_bad("-n '%s' is not a count of at least 1", arg);
        break;
    case CAT_OPT_INTERVAL:
        if (args_seconds_ms(arg, &o->interval_ms) != 0)
            return cat_bad("--interval '%s' is not a number of seconds", arg);
        break;
    case CAT_OPT_ECHO:
        o->echo = true;
        break;
    case CAT_OPT_SUBSCRIBE:
        o->subs[o->nsubs++] = arg;
        break;
    case CAT_OPT_UNSUBSCRIBE:
        o->unsubs[o->nunsubs++] = arg;
        break;
    case CAT_OPT_HEARTBEAT:
        if (args_seconds_ms(arg, &o->heartbeat_ms) != 0 || o->heartbeat_ms < 1 ||
            o->heartbeat_ms > CAT_HEARTBEAT_MAX_MS)
            return cat_bad("--heartbeat '%s' is not a number of seconds from 0.001 to %d", arg,
                           CAT_HEARTBEAT_MAX_MS / 1000);
        break;
    case CAT_OPT_STDIN:
        o->stdin_input = true;
        break;
    case CAT_OPT_FORMAT:
        if (format_parse(arg, &o->format) != 0)
            return cat_bad("--format '%s' is not text, hex or json", arg);
        break;
    case CAT_OPT_TIMEOUT:
        if (args_seconds_ms(arg, &o->timeout_ms) != 0)
            return cat_bad("--timeout '%s' is not a number of seconds", arg);
        break;
    case CAT_OPT_IDENTITY:
        if (strlen(arg) < 1 || strlen(arg) > 255)
            return cat_bad("--identity '%s' must be 1 to 255 bytes", arg);
        o->identity = arg;
        break;
    case CAT_OPT_SNDHWM:
    case CAT_OPT_RCVHWM:
        if (args_count(arg, 0, INT_MAX, &v) != 0)
            return cat_bad("high-water mark '%s' is not a count of messages", arg);
        *(opt == CAT_OPT_SNDHWM ? &o->sndhwm : &o->rcvhwm) = (int)v;
        break;
    case CAT_OPT_LINGER:
        if (args_seconds_ms(arg, &o->linger_ms) != 0)
            return cat_bad("--linger '%s' is not a number of seconds", arg);
        break;
    case 'v':
        if (o->log_level < NM_LOG_DEBUG)
            o->log_level++;
        break;
    case CAT_OPT_ADVERTISE:
        if (arg[0] == '\0' || strlen(arg) > NMD_SVC_NAME_MAX)
            return cat_bad("--advertise '%s': a service name of 1 to %d bytes", arg,
                           NMD_SVC_NAME_MAX);
        o->advertise = arg;
        break;
    default:
        return disc_opt(&o->disc, opt, arg) > 0 ? CAT_OK : CAT_USAGE;
    }
    return CAT_OK;
}

/* Fills o from argv; the arrays are sized by argc, an upper bound for each list. */
static enum cat_rc cat_parse(struct cat_opts *o, int argc, char **argv)
{
    o->eps = calloc((size_t)argc, sizeof *o->eps);
    o->frames = calloc((size_t)argc, sizeof *o->frames);
    o->subs = calloc((size_t)argc, sizeof *o->subs);
    o->unsubs = calloc((size_t)argc, sizeof *o->unsubs);
    if (o->eps == NULL || o->frames == NULL || o->subs == NULL || o->unsubs == NULL) {
        log_msg(NM_LOG_ERROR, "cat", "out of memory");
        return CAT_FAIL;
    }
    o->count = -1;
    o->interval_ms = -1;
    o->timeout_ms = -1;
    o->linger_ms = CAT_LINGER_DEFAULT_MS;
    o->sndhwm = -1;
    o->rcvhwm = -1;
    o->log_level = NM_LOG_WARN;
    disc_opts_init(&o->disc);

    optind = 1;
    opterr = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, ":d:n:vh", cat_longopts, NULL)) != -1) {
        if (opt == 'h') {
            cat_usage(stdout);
            return CAT_STOP;
        }
        if (opt == '?' && optopt != 0) {
            char name[3] = {'-', (char)optopt, '\0'};
            return cat_bad("unknown option '%s'", name);
        }
        if (opt == '?')
            return cat_bad("unknown option '%s'", argv[optind - 1]);
        if (opt == ':')
            return cat_bad("option '%s' needs a value", argv[optind - 1]);
        enum cat_rc rc = cat_parse_opt(o, opt, optarg);
        if (rc != CAT_OK)
            return rc;
    }
    if (optind >= argc)
        return cat_bad("missing socket TYPE");
    if (optind + 1 < argc)
        return cat_bad("unexpected argument '%s'", argv[optind + 1]);
    o->type_name = argv[optind];
    o->type = nm_sock_type_parse(o->type_name);
    if (o->type < 0)
        return cat_bad("unknown socket type '%s'", o->type_name);
    return CAT_OK;
}

static bool cat_type_in(int type, const int *types, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (types[i] == type)
            return true;
    return false;
}

/* Rejects combinations of options that make no sense for the socket type. */
static enum cat_rc cat_check(const struct cat_opts *o)
{
    static const int echoers[] = {NM_REP, NM_ROUTER, NM_DEALER, NM_PAIR};
    static const int mute[] = {NM_PULL, NM_SUB, NM_REP};
    static const int deaf[] = {NM_PUSH, NM_PUB};
    bool sends = o->sends;
    const char *t = o->type_name;

    if (o->neps == 0)
        return cat_bad("give at least one --bind or --connect");
    if (o->echo && !cat_type_in(o->type, echoers, CAT_COUNT(echoers)))
        return cat_bad("--echo needs rep, router, dealer or pair, not %s", t);
    if (o->stdin_input && o->nframes > 0)
        return cat_bad("--stdin sends the lines of stdin: drop --data/--hex-data");
    if (o->stdin_input && o->format == FORMAT_TEXT)
        return cat_bad("--stdin reads lines of --format json or hex (text cannot be read back)");
    if (o->echo && sends)
        return cat_bad("--echo sends back what it receives: drop --data/--hex-data/--stdin");
    if (sends && o->type == NM_REP)
        return cat_bad("%s cannot send first, it answers requests: use --echo", t);
    if (sends && cat_type_in(o->type, mute, CAT_COUNT(mute)))
        return cat_bad("%s cannot send: drop --data/--hex-data/--stdin", t);
    if (!sends && o->type == NM_REQ)
        return cat_bad("%s sends first: give the request with --data or --hex-data", t);
    if (!sends && !o->echo && o->type == NM_REP)
        return cat_bad("%s must answer every request: use --echo", t);
    if (!sends && cat_type_in(o->type, deaf, CAT_COUNT(deaf)))
        return cat_bad("%s cannot receive: give a message with --data or --hex-data", t);
    if (o->nframes == 1 && (o->type == NM_ROUTER || o->type == NM_STREAM))
        return cat_bad("%s sends to the routing id in the first frame: give it and a message", t);
    if (o->nsubs > 0 && o->type != NM_SUB && o->type != NM_XSUB)
        return cat_bad("--subscribe needs sub or xsub, not %s", t);
    if (o->nunsubs > 0 && o->type != NM_SUB && o->type != NM_XSUB)
        return cat_bad("--unsubscribe needs sub or xsub, not %s", t);
    if (o->interval_ms >= 0 && !sends)
        return cat_bad("--interval needs a message to send (--data or --hex-data)");
    bool binds = false;
    for (int i = 0; i < o->neps; i++)
        binds |= o->eps[i].bind && strncmp(o->eps[i].endpoint, "inproc://", 9) != 0;
    if (o->advertise != NULL && !binds)
        return cat_bad("--advertise needs a tcp or ipc --bind");
    for (int i = 0; o->disc.has_cert && i < o->neps; i++)
        if (!o->eps[i].bind && strncmp(o->eps[i].endpoint, "svc://", 6) != 0 &&
            strncmp(o->eps[i].endpoint, "inproc://", 9) != 0)
            return cat_bad("--curve-cert: --connect %s needs its server's key; connect to a "
                           "svc:// name, whose key discovery gives",
                           o->eps[i].endpoint);
    return CAT_OK;
}

enum cat_rc cat_opts_parse(struct cat_opts *o, int argc, char **argv)
{
    enum cat_rc rc = cat_parse(o, argc, argv);
    o->sends = o->nframes > 0 || o->stdin_input;
    disc_default_name(&o->disc, "cat");
    return rc == CAT_OK ? cat_check(o) : rc;
}

void cat_opts_free(struct cat_opts *o)
{
    for (int i = 0; o->frames != NULL && i < o->nframes; i++)
        if (o->frames[i].owned)
            free(o->frames[i].data);
    free(o->frames);
    free(o->eps);
    free(o->subs);
    free(o->unsubs);
}
