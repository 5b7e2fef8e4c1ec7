/*
 * bench_router.c - `nomid bench router ENDPOINT SIZE COUNT CLIENTS [PROCS]`: nomid's
 * sockets for the many-clients ROUTER shape that bench_router_run.c runs (zmq_bench.c
 * plugs libzmq's into the same code).  The server takes each request as one message
 * (routing id and body) and sends it back as it is; a client process holds its DEALERs
 * in one context and waits on them with nm_poll.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "bench_router_run.h"
#include "endpoint.h"
#include "log.h"
#include "nomid.h"
#include "stop.h"

/* One process's library state: the server's ROUTER, or a client's DEALERs. */
struct nb_router {
    nm_ctx_t *ctx;
    nm_sock_t *router;
    nm_sock_t **dealers;
    nm_pollitem_t *items;
    int n;       /* DEALERs */
    size_t size; /* bytes per request */
    void *body;  /* a request's bytes */
};

static int nb_ctx(struct nb_router *b)
{
    int err = nm_ctx_new(&b->ctx);
    if (err < 0) {
        log_msg(NM_LOG_ERROR, "bench", "cannot create a context: %s", nm_strerror(err));
        return -1;
    }
    nm_ctx_set_log(b->ctx, log_stderr_cb, NULL, NM_LOG_WARN);
    return 0;
}

static int nb_serve_open(void *st, const struct router_args *a, char *out, size_t n)
{
    struct nb_router *b = st;
    char real[BENCH_EP_MAX] = "";
    size_t len = sizeof real - 1;

    if (nb_ctx(b) != 0)
        return -1;
    int err = nm_sock_new(&b->router, b->ctx, NM_ROUTER);
    if (err == 0)
        err = nm_sock_setopt_int(b->router, NM_RCVTIMEO, STOP_POLL_MS);
    if (err < 0) {
        log_msg(NM_LOG_ERROR, "bench", "cannot set up a ROUTER: %s", nm_strerror(err));
        return -1;
    }
    err = nm_sock_bind(b->router, a->endpoint);
    if (err < 0) {
        char why[256];
        log_msg(NM_LOG_ERROR, "bench", "cannot bind %s: %s", a->endpoint,
                endpoint_error(a->endpoint, true, err, why, sizeof why));
        return -1;
    }
    if (nm_sock_getopt(b->router, NM_LAST_ENDPOINT, real, &len) < 0 || real[0] == '\0')
        snprintf(real, sizeof real, "%s", a->endpoint);
    bench_connect_endpoint(real, out, n);
    return 0;
}

static int nb_serve_echo(void *st)
{
    struct nb_router *b = st;
    nm_msg_t m;

    nm_msg_init(&m);
    int rc = nm_sock_recv(b->router, &m, 0);
    if (rc == -EAGAIN || rc == -EINTR)
        return stop_requested() ? -2 : 0;
    if (rc == 0)
        rc = nm_sock_send(b->router, &m, 0);
    nm_msg_close(&m);
    if (rc < 0) {
        log_msg(NM_LOG_ERROR, "bench", "ROUTER: %s", nm_strerror(rc));
        return -1;
    }
    return 1;
}

static void nb_close(void *st)
{
    struct nb_router *b = st;

    if (b->router != NULL) {
        nm_sock_setopt_int(b->router, NM_LINGER, 0);
        nm_sock_close(&b->router);
    }
    for (int i = 0; b->dealers != NULL && i < b->n; i++) {
        if (b->dealers[i] != NULL) {
            nm_sock_setopt_int(b->dealers[i], NM_LINGER, 0);
            nm_sock_close(&b->dealers[i]);
        }
    }
    if (b->ctx != NULL)
        nm_ctx_destroy(&b->ctx);
    free(b->dealers);
    free(b->items);
    free(b->body);
    memset(b, 0, sizeof *b);
}

static int nb_client_open(void *st, const struct router_args *a, const char *endpoint, int n)
{
    struct nb_router *b = st;

    b->n = n;
    b->size = a->size;
    b->dealers = calloc((size_t)n, sizeof *b->dealers);
    b->items = calloc((size_t)n, sizeof *b->items);
    b->body = malloc(a->size ? a->size : 1);
    if (b->dealers == NULL || b->items == NULL || b->body == NULL) {
        log_msg(NM_LOG_ERROR, "bench", "client: out of memory");
        return -1;
    }
    memset(b->body, 'n', a->size);
    if (nb_ctx(b) != 0)
        return -1;
    for (int i = 0; i < n; i++) {
        int err = nm_sock_new(&b->dealers[i], b->ctx, NM_DEALER);
        if (err == 0)
            err = nm_sock_connect(b->dealers[i], endpoint);
        if (err < 0) {
            log_msg(NM_LOG_ERROR, "bench", "client: cannot connect a DEALER to %s: %s", endpoint,
                    nm_strerror(err));
            return -1;
        }
        b->items[i] = (nm_pollitem_t){.sock = b->dealers[i], .events = NM_POLLIN};
    }
    return 0;
}

static int nb_client_send(void *st, int i)
{
    struct nb_router *b = st;
    int rc = nm_sock_send_bytes(b->dealers[i], b->body, b->size, 0);

    if (rc < 0) {
        log_msg(NM_LOG_ERROR, "bench", "client: send failed: %s", nm_strerror(rc));
        return -1;
    }
    return 0;
}

static int nb_client_recv(void *st, int i)
{
    struct nb_router *b = st;
    nm_msg_t m;

    nm_msg_init(&m);
    int rc = nm_sock_recv(b->dealers[i], &m, NM_DONTWAIT);
    if (rc == -EAGAIN)
        return 0;
    if (rc < 0) {
        log_msg(NM_LOG_ERROR, "bench", "client: receive failed: %s", nm_strerror(rc));
        return -1;
    }
    bool ok = nm_msg_count(&m) == 1 && nm_msg_size(&m, 0) == b->size;
    if (!ok)
        log_msg(NM_LOG_ERROR, "bench", "client: a reply of %zu frames, %zu bytes", nm_msg_count(&m),
                nm_msg_bytes(&m));
    nm_msg_close(&m);
    return ok ? 1 : -1;
}

static int nb_client_poll(void *st, int timeout_ms)
{
    struct nb_router *b = st;
    int rc = nm_poll(b->items, b->n, timeout_ms);

    if (rc < 0 && rc != -EINTR) {
        log_msg(NM_LOG_ERROR, "bench", "client: poll failed: %s", nm_strerror(rc));
        return -1;
    }
    return 0;
}

static const struct router_ops nb_router_ops = {
    .serve_open = nb_serve_open,
    .serve_echo = nb_serve_echo,
    .serve_close = nb_close,
    .client_open = nb_client_open,
    .client_send = nb_client_send,
    .client_recv = nb_client_recv,
    .client_poll = nb_client_poll,
    .client_close = nb_close,
};

int bench_router_main(int argc, char **argv)
{
    struct nb_router b;

    memset(&b, 0, sizeof b);
    return router_run(argc, argv, &nb_router_ops, &b);
}
