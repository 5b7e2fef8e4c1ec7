/*
 * proxy.c - `nomid proxy`: a forwarding device (libzmq's zmq_proxy_steerable) from a
 * shell.  It opens the frontend, backend and optional capture sockets on a private
 * context, binds or connects each as its TYPE@EP / TYPE>EP spec says, and runs nm_proxy
 * in the main thread until SIGINT/SIGTERM or a TERMINATE command.
 *
 * nm_proxy takes one control socket, so nomid always hands it the same one: one end of
 * an inproc PAIR pair.  A watcher thread owns the other end.  It turns a stop signal
 * into TERMINATE, and when the user gave --control (a rep or pair) it serves that socket
 * too: it checks each command, passes it on over the PAIR, relays the STATISTICS reply
 * and answers a rep's other commands with an empty message (as libzmq 4.3.5 does), so
 * a user's REQ never hangs.  SIGINT/SIGTERM are blocked everywhere but in the watcher,
 * so nm_proxy never sees EINTR.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "endpoint.h"
#include "log.h"
#include "nomid.h"
#include "stop.h"

/* How long the proxy's sockets may keep sending queued messages after a stop. */
#define PROXY_LINGER_MS 1000
/* The watcher's end of the control PAIR and the proxy's end (one private context). */
#define PROXY_CONTROL_EP "inproc://nomid-proxy-control"
/* Attempts (STOP_POLL_MS apart) to answer the user's control socket before giving up. */
#define PROXY_REPLY_TRIES 20

enum { PROXY_FRONTEND, PROXY_BACKEND, PROXY_CAPTURE, PROXY_CONTROL, PROXY_NSIDES };

/* One of --frontend, --backend, --capture, --control. */
struct proxy_side {
    const char *option; /* "--frontend", ... */
    const char *spec;   /* TYPE@EP[,EP...] as given; NULL = not given */
    int type;           /* enum nm_sock_type */
    char *eps;          /* malloc'd copy of the endpoint list, split in place */
    nm_sock_t *sock;    /* the socket, once open */
};

/* A running proxy. */
struct proxy {
    struct proxy_side side[PROXY_NSIDES]; /* the sockets the user asked for */
    int log_level;                        /* library messages up to this level are logged */
    nm_ctx_t *ctx;                        /* private context */
    nm_sock_t *ctl_proxy;                 /* control end given to nm_proxy */
    nm_sock_t *ctl_watch;                 /* control end owned by the watcher thread */
    atomic_bool done;                     /* nm_proxy returned: the watcher must end */
};

static void proxy_usage(FILE *f)
{
    fputs("usage: nomid proxy --frontend SPEC --backend SPEC [--capture SPEC]\n"
          "                   [--control SPEC] [-v]\n"
          "\n"
          "Forwards messages between the frontend and the backend in both directions, as\n"
          "zmq_proxy does (xsub/xpub for pub-sub, router/dealer for req-rep, pull/push for\n"
          "pipelines), until SIGINT/SIGTERM or a TERMINATE command.\n"
          "\n"
          "  --frontend SPEC, --backend SPEC  the two sockets (required)\n"
          "  --capture SPEC    also send a copy of every message there (push, pub, ...)\n"
          "  --control SPEC    a rep or pair taking PAUSE, RESUME, TERMINATE and STATISTICS\n"
          "                    (answered with 8 uint64 frames: frontend msgs in, bytes in,\n"
          "                    msgs out, bytes out, then the same for the backend); a rep\n"
          "                    answers the other commands with an empty message\n"
          "  -v, --verbose     more library logging (repeat for debug)\n"
          "\n"
          "SPEC is TYPE@EP[,EP...] to bind or TYPE>EP[,EP...] to connect (CZMQ's\n"
          "convention; quote '>' from the shell).  One endpoint may override with its own\n"
          "@ or > prefix: 'xsub@tcp://*:5555,>ipc:///tmp/upstream'.\n"
          "\n"
          "Every bind prints `bound ENDPOINT` on stderr.  Exit: 0 after a signal or\n"
          "TERMINATE, 1 failure (bind, connect, proxy error), 2 bad arguments.\n",
          f);
}

static int proxy_bad(const char *option, const char *spec, const char *problem)
{
    log_msg(NM_LOG_ERROR, "proxy", "%s '%s': %s (see 'nomid proxy --help')", option, spec, problem);
    return NODE_EXIT_USAGE;
}

/* Checks one spec and fills the side's type and endpoint list; 0 or an exit code. */
static int proxy_parse_spec(struct proxy_side *sd)
{
    const char *sep = strpbrk(sd->spec, "@>");
    char name[16];

    if (sep == NULL)
        return proxy_bad(sd->option, sd->spec, "missing @ (bind) or > (connect) after TYPE");
    size_t n = (size_t)(sep - sd->spec);
    if (n == 0 || n >= sizeof name)
        return proxy_bad(sd->option, sd->spec, "missing or unknown socket TYPE");
    memcpy(name, sd->spec, n);
    name[n] = '\0';
    sd->type = nm_sock_type_parse(name);
    if (sd->type < 0)
        return proxy_bad(sd->option, sd->spec, "unknown or unsupported socket TYPE");
    if (strcmp(sd->option, "--control") == 0 && sd->type != NM_REP && sd->type != NM_PAIR)
        return proxy_bad(sd->option, sd->spec, "the control socket is a rep or a pair");
    /* Keep the separator: it is the default direction of every endpoint. */
    sd->eps = strdup(sep);
    if (sd->eps == NULL) {
        log_msg(NM_LOG_ERROR, "proxy", "out of memory");
        return NODE_EXIT_FAIL;
    }
    for (const char *p = sep + 1;; p++) {
        const char *end = strchr(p, ',');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        if (len > 0 && (*p == '@' || *p == '>')) {
            p++;
            len--;
        }
        if (len == 0)
            return proxy_bad(sd->option, sd->spec, "empty endpoint");
        if (end == NULL)
            break;
        p = end;
    }
    return 0;
}

static int proxy_parse(struct proxy *px, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"frontend", required_argument, NULL, 'f'},
        {"backend", required_argument, NULL, 'b'},
        {"capture", required_argument, NULL, 'c'},
        {"control", required_argument, NULL, 'k'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static const char *const names[PROXY_NSIDES] = {"--frontend", "--backend", "--capture",
                                                    "--control"};
    int opt;

    for (int i = 0; i < PROXY_NSIDES; i++)
        px->side[i].option = names[i];
    px->log_level = NM_LOG_WARN;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":vh", longopts, NULL)) != -1) {
        switch (opt) {
        case 'h':
            proxy_usage(stdout);
            return -1;
        case 'f':
        case 'b':
        case 'c':
        case 'k':
            px->side[opt == 'f'   ? PROXY_FRONTEND
                     : opt == 'b' ? PROXY_BACKEND
                     : opt == 'c' ? PROXY_CAPTURE
                                  : PROXY_CONTROL]
                .spec = optarg;
            break;
        case 'v':
            if (px->log_level < NM_LOG_DEBUG)
                px->log_level++;
            break;
        case ':':
            log_msg(NM_LOG_ERROR, "proxy", "option '%s' needs a value (see 'nomid proxy --help')",
                    argv[optind - 1]);
            return NODE_EXIT_USAGE;
        default:
            log_msg(NM_LOG_ERROR, "proxy", "unknown option '%s' (see 'nomid proxy --help')",
                    argv[optind - 1]);
            return NODE_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        log_msg(NM_LOG_ERROR, "proxy", "unexpected argument '%s' (see 'nomid proxy --help')",
                argv[optind]);
        return NODE_EXIT_USAGE;
    }
    if (px->side[PROXY_FRONTEND].spec == NULL || px->side[PROXY_BACKEND].spec == NULL) {
        log_msg(NM_LOG_ERROR, "proxy",
                "give both --frontend and --backend (see 'nomid proxy --help')");
        return NODE_EXIT_USAGE;
    }
    for (int i = 0; i < PROXY_NSIDES; i++) {
        int rc = px->side[i].spec != NULL ? proxy_parse_spec(&px->side[i]) : 0;
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Binds or connects one endpoint, printing `bound ENDPOINT` for a bind. */
static int proxy_attach_one(nm_sock_t *s, const char *ep, bool bind)
{
    int rc = endpoint_attach(s, ep, bind, "proxy");
    return rc == 0 ? 0 : endpoint_exit_code(rc);
}

/* Opens one side's socket and attaches every endpoint of its list. */
static int proxy_open_side(struct proxy *px, struct proxy_side *sd)
{
    int rc = nm_sock_new(&sd->sock, px->ctx, sd->type);
    if (rc < 0) {
        log_msg(NM_LOG_ERROR, "proxy", "%s: cannot create a %s socket: %s", sd->option,
                nm_sock_type_name(sd->type), nm_strerror(rc));
        return NODE_EXIT_FAIL;
    }
    rc = nm_sock_setopt_int(sd->sock, NM_LINGER, PROXY_LINGER_MS);
    /* Only the watcher uses the user's control socket: short timeouts let it notice a
     * stop; nm_proxy's own sockets block as nm_proxy wants. */
    if (rc == 0 && sd == &px->side[PROXY_CONTROL])
        rc = nm_sock_setopt_int(sd->sock, NM_RCVTIMEO, STOP_POLL_MS);
    if (rc == 0 && sd == &px->side[PROXY_CONTROL])
        rc = nm_sock_setopt_int(sd->sock, NM_SNDTIMEO, STOP_POLL_MS);
    if (rc < 0) {
        log_msg(NM_LOG_ERROR, "proxy", "%s: cannot set socket options: %s", sd->option,
                nm_strerror(rc));
        return NODE_EXIT_FAIL;
    }
    /* eps is "@ep,ep..." or ">ep,...": its first character is the default direction. */
    bool dflt_bind = sd->eps[0] == '@';
    for (char *save = NULL, *ep = strtok_r(sd->eps + 1, ",", &save); ep != NULL;
         ep = strtok_r(NULL, ",", &save)) {
        bool bind = dflt_bind;
        if (*ep == '@' || *ep == '>')
            bind = *ep++ == '@';
        rc = proxy_attach_one(sd->sock, ep, bind);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* The internal control PAIR pair: ctl_proxy for nm_proxy, ctl_watch for the watcher. */
static int proxy_open_control(struct proxy *px)
{
    int rc = nm_sock_new(&px->ctl_proxy, px->ctx, NM_PAIR);
    if (rc == 0)
        rc = nm_sock_new(&px->ctl_watch, px->ctx, NM_PAIR);
    if (rc == 0)
        rc = nm_sock_setopt_int(px->ctl_watch, NM_RCVTIMEO, STOP_POLL_MS);
    if (rc == 0)
        rc = nm_sock_setopt_int(px->ctl_watch, NM_SNDTIMEO, STOP_POLL_MS);
    if (rc == 0)
        rc = nm_sock_setopt_int(px->ctl_watch, NM_LINGER, 0);
    if (rc == 0)
        rc = nm_sock_setopt_int(px->ctl_proxy, NM_LINGER, 0);
    if (rc == 0)
        rc = nm_sock_bind(px->ctl_proxy, PROXY_CONTROL_EP);
    if (rc == 0)
        rc = nm_sock_connect(px->ctl_watch, PROXY_CONTROL_EP);
    if (rc < 0) {
        log_msg(NM_LOG_ERROR, "proxy", "cannot set up the internal control socket (%s): %s",
                PROXY_CONTROL_EP, nm_strerror(rc));
        return NODE_EXIT_FAIL;
    }
    return 0;
}

/* Sends *m on s, retrying on timeouts until the proxy is done or `tries` attempts
 * were made (tries <= 0: no limit). */
static int proxy_send(struct proxy *px, nm_sock_t *s, nm_msg_t *m, int tries)
{
    for (int i = 1;; i++) {
        int rc = nm_sock_send(s, m, 0);
        if ((rc != -EAGAIN && rc != -EINTR) || (tries > 0 && i >= tries) || atomic_load(&px->done))
            return rc;
    }
}

/* Receives into the empty *m from the watcher's control end while the proxy runs. */
static int proxy_recv_reply(struct proxy *px, nm_msg_t *m)
{
    int rc;
    do {
        rc = nm_sock_recv(px->ctl_watch, m, 0);
    } while ((rc == -EAGAIN || rc == -EINTR) && !atomic_load(&px->done));
    return rc;
}

static bool proxy_is_command(const nm_msg_t *m, const char *name)
{
    size_t n = strlen(name);
    return nm_msg_count(m) == 1 && nm_msg_size(m, 0) == n &&
           memcmp(nm_msg_data(m, 0), name, n) == 0;
}

/* Serves one command from the user's control socket, if one arrives within
 * STOP_POLL_MS.  Returns true after passing on TERMINATE. */
static bool proxy_serve_control(struct proxy *px)
{
    nm_sock_t *user = px->side[PROXY_CONTROL].sock;
    bool rep = px->side[PROXY_CONTROL].type == NM_REP;
    nm_msg_t cmd, reply;

    nm_msg_init(&cmd);
    nm_msg_init(&reply);
    int rc = nm_sock_recv(user, &cmd, 0);
    if (rc == -EAGAIN || rc == -EINTR)
        return false; /* nothing within STOP_POLL_MS */
    if (rc < 0) {
        log_msg(NM_LOG_WARN, "proxy", "control: receive failed: %s", nm_strerror(rc));
        stop_sleep_ms(STOP_POLL_MS); /* do not spin on a broken socket */
        return false;
    }
    bool stats = proxy_is_command(&cmd, "STATISTICS");
    bool term = proxy_is_command(&cmd, "TERMINATE");
    if (stats || term || proxy_is_command(&cmd, "PAUSE") || proxy_is_command(&cmd, "RESUME")) {
        rc = proxy_send(px, px->ctl_watch, &cmd, 0);
        if (rc == 0 && stats)
            rc = proxy_recv_reply(px, &reply);
        if (rc < 0 && !atomic_load(&px->done))
            log_msg(NM_LOG_WARN, "proxy", "control: cannot reach the proxy: %s", nm_strerror(rc));
    } else {
        log_msg(NM_LOG_WARN, "proxy",
                "control: ignoring a message that is not PAUSE, RESUME, TERMINATE or "
                "STATISTICS (%zu frames, %zu bytes)",
                nm_msg_count(&cmd), nm_msg_bytes(&cmd));
    }
    /* A rep must answer every request; a pair gets only the statistics. */
    if (rep && nm_msg_count(&reply) == 0)
        rc = nm_msg_add(&reply, "", 0);
    if (rc == 0 && nm_msg_count(&reply) > 0) {
        rc = proxy_send(px, user, &reply, PROXY_REPLY_TRIES);
        if (rc < 0)
            log_msg(NM_LOG_WARN, "proxy", "control: cannot answer: %s", nm_strerror(rc));
    }
    nm_msg_close(&cmd);
    nm_msg_close(&reply);
    return term;
}

/* The watcher thread: turns a stop signal into TERMINATE and serves --control. */
static void *proxy_watch_cb(void *arg)
{
    struct proxy *px = arg;
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    while (!atomic_load(&px->done)) {
        if (stop_requested()) {
            nm_msg_t m;
            nm_msg_init(&m);
            int rc = nm_msg_add(&m, "TERMINATE", 9);
            if (rc == 0)
                rc = proxy_send(px, px->ctl_watch, &m, 0);
            nm_msg_close(&m);
            if (rc < 0 && !atomic_load(&px->done))
                log_msg(NM_LOG_ERROR, "proxy", "cannot stop the proxy: %s", nm_strerror(rc));
            break;
        }
        if (px->side[PROXY_CONTROL].sock == NULL)
            stop_sleep_ms(STOP_POLL_MS);
        else if (proxy_serve_control(px))
            break;
    }
    return NULL;
}

/* Opens everything, runs nm_proxy with the watcher beside it; returns the exit code. */
static int proxy_run(struct proxy *px)
{
    pthread_t watcher;

    int rc = nm_ctx_new(&px->ctx);
    if (rc < 0) {
        log_msg(NM_LOG_ERROR, "proxy", "cannot create a context: %s", nm_strerror(rc));
        return NODE_EXIT_FAIL;
    }
    nm_ctx_set_log(px->ctx, log_stderr_cb, NULL, px->log_level);
    int code = 0;
    for (int i = 0; code == 0 && i < PROXY_NSIDES; i++)
        if (px->side[i].spec != NULL)
            code = proxy_open_side(px, &px->side[i]);
    if (code == 0)
        code = proxy_open_control(px);
    if (code == 0) {
        int err = pthread_create(&watcher, NULL, proxy_watch_cb, px);
        if (err != 0) {
            log_msg(NM_LOG_ERROR, "proxy", "cannot start a thread: %s", strerror(err));
            code = NODE_EXIT_FAIL;
        }
    }
    if (code != 0)
        return code;

    rc = nm_proxy(px->side[PROXY_FRONTEND].sock, px->side[PROXY_BACKEND].sock,
                  px->side[PROXY_CAPTURE].sock, px->ctl_proxy);
    atomic_store(&px->done, true);
    pthread_join(watcher, NULL);
    if (rc < 0) {
        log_msg(NM_LOG_ERROR, "proxy", "proxy failed: %s", nm_strerror(rc));
        return NODE_EXIT_FAIL;
    }
    return NODE_EXIT_OK;
}

static void proxy_close(struct proxy *px, int code)
{
    for (int i = 0; i < PROXY_NSIDES; i++) {
        if (px->side[i].sock != NULL && code != NODE_EXIT_OK)
            nm_sock_setopt_int(px->side[i].sock, NM_LINGER, 0);
        if (px->side[i].sock != NULL)
            nm_sock_close(&px->side[i].sock);
        free(px->side[i].eps);
    }
    if (px->ctl_proxy != NULL)
        nm_sock_close(&px->ctl_proxy);
    if (px->ctl_watch != NULL)
        nm_sock_close(&px->ctl_watch);
    if (px->ctx != NULL)
        nm_ctx_destroy(&px->ctx);
}

int proxy_main(int argc, char **argv)
{
    struct proxy px;
    sigset_t set;

    memset(&px, 0, sizeof px);
    atomic_init(&px.done, false);
    int code = proxy_parse(&px, argc, argv);
    if (code < 0) { /* --help */
        proxy_close(&px, NODE_EXIT_OK);
        return NODE_EXIT_OK;
    }
    if (code == 0) {
        /* Block the stop signals before the context starts its threads, which inherit
         * the mask; the watcher unblocks them for itself. */
        sigemptyset(&set);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &set, NULL);
        code = proxy_run(&px);
    }
    proxy_close(&px, code);
    return code;
}
