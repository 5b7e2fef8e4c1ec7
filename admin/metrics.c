/*
 * metrics.c - /metrics in the Prometheus text format (version 0.0.4): the node's
 * discovery counters and, per socket (labels socket and type: bounded by the number of
 * sockets, never by messages or peers), its pipes summed.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_int.h"

typedef struct metrics_buf {
    char *p;    /* the text */
    size_t len; /* its length */
    size_t cap; /* allocated */
    bool oom;   /* an allocation failed */
} metrics_buf;

__attribute__((format(printf, 2, 3))) static void metrics_add(metrics_buf *b, const char *fmt, ...)
{
    for (int pass = 0; pass < 2 && !b->oom; pass++) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = true;
            return;
        }
        if (b->p != NULL && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = (b->cap + (size_t)n + 1) * 2;
        char *p = realloc(b->p, cap);
        if (p == NULL) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
}

/* A metric family: # HELP and # TYPE lines. */
static void metrics_family(metrics_buf *b, const char *name, const char *type, const char *help)
{
    metrics_add(b, "# HELP nomid_%s %s\n# TYPE nomid_%s %s\n", name, help, name, type);
}

/* One family, one sample per socket: the socket's own field, or the sum of its pipes'. */
static void metrics_per_socket(metrics_buf *b, json_t *socks, const char *name, const char *type,
                               const char *help, const char *field)
{
    metrics_family(b, name, type, help);
    size_t i, k;
    json_t *sock, *p;
    json_array_foreach(socks, i, sock)
    {
        double sum = json_number_value(json_object_get(sock, field)); /* a socket's own */
        json_array_foreach(json_object_get(sock, "pipes"), k, p)
        {
            json_t *v = json_object_get(p, field);
            sum += json_is_integer(v) ? (double)json_integer_value(v) : json_number_value(v);
        }
        /* 15 digits: counters exact up to 10^15, rounded seconds printed short. */
        metrics_add(b, "nomid_%s{socket=\"%lld\",type=\"%s\"} %.15g\n", name,
                    (long long)json_integer_value(json_object_get(sock, "id")),
                    json_string_value(json_object_get(sock, "type")), sum);
    }
}

char *nma_metrics_text(nma_server *s, size_t *len)
{
    metrics_buf b = {0};
    json_t *node = nma_view_node(s);
    metrics_family(&b, "uptime_seconds", "gauge", "Seconds since the admin endpoint started.");
    metrics_add(&b, "nomid_uptime_seconds %.3f\n",
                json_real_value(json_object_get(node, "uptime")));
    json_t *beacons = json_object_get(node, "beacons");
    if (beacons != NULL) {
        const char *names[] = {"sent", "received", "dropped"};
        for (int i = 0; i < 3; i++) {
            char fam[40], help[80];
            snprintf(fam, sizeof(fam), "beacons_%s_total", names[i]);
            snprintf(help, sizeof(help), "Discovery beacons %s.", names[i]);
            metrics_family(&b, fam, "counter", help);
            metrics_add(&b, "nomid_%s %lld\n", fam,
                        (long long)json_integer_value(json_object_get(beacons, names[i])));
        }
        json_t *peers = nma_peers_json(s), *p;
        size_t i, alive = 0, silent = 0;
        json_array_foreach(peers, i, p)
        {
            if (strcmp(json_string_value(json_object_get(p, "state")), "alive") == 0)
                alive++;
            else
                silent++;
        }
        json_decref(peers);
        metrics_family(&b, "peers", "gauge", "Peers known, by state.");
        metrics_add(&b, "nomid_peers{state=\"alive\"} %zu\nnomid_peers{state=\"silent\"} %zu\n",
                    alive, silent);
    }
    json_decref(node);
    json_t *socks = nma_sockets_json(s, false);
    metrics_family(&b, "socket_pipes", "gauge", "Pipes (peer connections) of a socket.");
    size_t i;
    json_t *sock;
    json_array_foreach(socks, i, sock)
    {
        metrics_add(&b, "nomid_socket_pipes{socket=\"%lld\",type=\"%s\"} %zu\n",
                    (long long)json_integer_value(json_object_get(sock, "id")),
                    json_string_value(json_object_get(sock, "type")),
                    json_array_size(json_object_get(sock, "pipes")));
    }
    static const char *const fields[][4] = {
        {"queued_in", "gauge", "Messages received, not yet read.", "queued_in"},
        {"queued_out", "gauge", "Messages sent, not yet written.", "queued_out"},
        {"messages_in_total", "counter", "Messages received.", "msgs_in"},
        {"messages_out_total", "counter", "Messages written.", "msgs_out"},
        {"bytes_in_total", "counter", "Payload bytes received.", "bytes_in"},
        {"bytes_out_total", "counter", "Payload bytes written.", "bytes_out"},
        {"drops_total", "counter", "Messages dropped.", "drops"},
        {"hwm_hits_total", "counter", "Times a pipe was found full.", "hwm_hits"},
        {"blocked_seconds_total", "counter", "Time senders spent blocked.", "blocked"},
        {"subscriptions", "gauge", "Subscriptions held for subscribers (PUB, XPUB).",
         "subscriptions"},
        {"peers_dropped_total", "counter",
         "Connections dropped for breaking the protocol or a limit.", "peers_dropped"},
        {"handshakes_failed_total", "counter",
         "Connections dropped in their handshake (wrong keys, ZAP refusals...).",
         "handshakes_failed"},
    };
    for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
        char name[64];
        snprintf(name, sizeof(name), "socket_%s", fields[f][0]);
        metrics_per_socket(&b, socks, name, fields[f][1], fields[f][2], fields[f][3]);
    }
    json_decref(socks);
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    *len = b.len;
    return b.p;
}
