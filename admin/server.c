/*
 * server.c - the admin endpoint's HTTP side (see admin.h): the listening socket (the
 * configured port or, when asked, the next free one), libmicrohttpd with a thread per
 * connection (an event stream blocks its thread), HTTPS when given a certificate (tls.c),
 * and limits against hostile clients, then per request: method, token, route, query,
 * and the view it names.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bsd/string.h>

#include "assets.h"
#include "server_int.h"

#define ADMIN_CONNECTIONS 64          /* at once; more are refused */
#define ADMIN_PER_IP      32          /* from one address */
#define ADMIN_TIMEOUT_S   10          /* an idle (or slow) client is cut off */
#define ADMIN_MEMORY      (32 * 1024) /* per connection: bounds request headers */
#define ADMIN_PORT_TRIES  100         /* with next_free */

/* Parses "ADDR:PORT" ("127.0.0.1:7070", "[::1]:7070", "*:7070" for every address). */
static int server_addr(const char *spec, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[64];
    const char *colon = strrchr(spec, ':');
    if (colon == NULL || (size_t)(colon - spec) >= sizeof(host))
        return -EINVAL;
    memcpy(host, spec, (size_t)(colon - spec));
    host[colon - spec] = '\0';
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end != '\0' || port < 0 || port > 65535 || colon[1] == '\0')
        return -EINVAL;
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    size_t hl = strlen(host);
    if (hl > 2 && host[0] == '[' && host[hl - 1] == ']') {
        host[hl - 1] = '\0';
        if (inet_pton(AF_INET6, host + 1, &in6->sin6_addr) != 1)
            return -EINVAL;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        *len = sizeof(*in6);
        return 0;
    }
    if (strcmp(host, "*") == 0)
        strlcpy(host, "0.0.0.0", sizeof(host));
    if (inet_pton(AF_INET, host, &in4->sin_addr) != 1)
        return -EINVAL;
    in4->sin_family = AF_INET;
    in4->sin_port = htons((uint16_t)port);
    *len = sizeof(*in4);
    return 0;
}

static bool server_loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
    return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

static uint16_t server_port_of(const struct sockaddr_storage *ss)
{
    return ntohs(ss->ss_family == AF_INET ? ((const struct sockaddr_in *)ss)->sin_port
                                          : ((const struct sockaddr_in6 *)ss)->sin6_port);
}

static void server_set_port(struct sockaddr_storage *ss, uint16_t port)
{
    if (ss->ss_family == AF_INET)
        ((struct sockaddr_in *)ss)->sin_port = htons(port);
    else
        ((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
}

/* Binds and listens on ss, or on the next ports when asked; writes the URL. */
static int server_listen(nma_server *s, struct sockaddr_storage *ss, socklen_t len, bool next_free)
{
    uint16_t first = server_port_of(ss);
    int tries = next_free && first != 0 ? ADMIN_PORT_TRIES : 1;
    int rc = -EADDRINUSE;
    for (int i = 0; i < tries && first + i <= 65535; i++) {
        server_set_port(ss, (uint16_t)(first + i));
        int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return -errno;
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, (struct sockaddr *)ss, len) == 0 && listen(fd, 64) == 0) {
            socklen_t sl = len;
            getsockname(fd, (struct sockaddr *)ss, &sl);
            s->fd = fd;
            s->port = server_port_of(ss);
            char host[INET6_ADDRSTRLEN];
            const void *a = ss->ss_family == AF_INET
                                ? (const void *)&((struct sockaddr_in *)ss)->sin_addr
                                : (const void *)&((struct sockaddr_in6 *)ss)->sin6_addr;
            inet_ntop(ss->ss_family, a, host, sizeof(host));
            const char *scheme = s->tls.cert != NULL ? "https" : "http";
            snprintf(s->url, sizeof(s->url),
                     ss->ss_family == AF_INET6 ? "%s://[%s]:%u/" : "%s://%s:%u/", scheme, host,
                     s->port);
            return 0;
        }
        rc = -errno;
        close(fd);
        if (rc != -EADDRINUSE)
            return rc;
    }
    return rc;
}

/* Queues a response with status and content type, freeing it. */
static enum MHD_Result server_send(struct MHD_Connection *conn, unsigned status,
                                   struct MHD_Response *r, const char *type)
{
    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    enum MHD_Result rc = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result server_text(struct MHD_Connection *conn, unsigned status, const char *text)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
    return server_send(conn, status, r, "text/plain; charset=utf-8");
}

/* A JSON error: {"error": "..."}. */
static enum MHD_Result server_error(struct MHD_Connection *conn, unsigned status, const char *msg)
{
    char body[320];
    json_t *j = json_pack("{s:s}", "error", msg);
    char *text = j ? nma_json_text(j) : NULL;
    snprintf(body, sizeof(body), "%s\n", text ? text : "{\"error\":\"?\"}");
    free(text);
    json_decref(j);
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_COPY);
    if (r != NULL && status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    if (r != NULL && status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    return server_send(conn, status, r, "application/json");
}

/* Sends a JSON value (taking it). */
static enum MHD_Result server_json(struct MHD_Connection *conn, json_t *j)
{
    char *text = j ? nma_json_text(j) : NULL;
    json_decref(j);
    if (text == NULL)
        return server_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    return server_send(conn, MHD_HTTP_OK, r, "application/json");
}

/* Constant-time check of "Bearer <token>". */
static bool server_authorized(const nma_server *s, struct MHD_Connection *conn)
{
    if (s->token[0] == '\0')
        return true;
    const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    if (h == NULL || strncmp(h, "Bearer ", 7) != 0)
        return false;
    const char *got = h + 7;
    size_t n = strlen(s->token), m = strlen(got);
    unsigned diff = (unsigned)(n ^ m);
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned)(s->token[i] ^ (i < m ? got[i] : 0));
    return diff == 0;
}

typedef struct server_args {
    int route;     /* the request's route */
    nma_query q;   /* its query */
    char err[160]; /* the first bad parameter */
    bool bad;      /* err is set */
} server_args;

static enum MHD_Result server_arg_cb(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    (void)kind;
    server_args *a = cls;
    if (!a->bad && nma_query_set(&a->q, a->route, key, value, a->err, sizeof(a->err)) < 0)
        a->bad = true;
    return MHD_YES;
}

static enum MHD_Result server_route(nma_server *s, struct MHD_Connection *conn, const char *url)
{
    server_args a = {.route = nma_route_find(url)};
    nma_query_init(&a.q);
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, server_arg_cb, &a);
    if (a.bad)
        return server_error(conn, MHD_HTTP_BAD_REQUEST, a.err);
    switch (a.route) {
    case NMA_ASSET: {
        const nma_asset *as = nma_asset_find(url);
        struct MHD_Response *r =
            MHD_create_response_from_buffer(as->size, (void *)as->data, MHD_RESPMEM_PERSISTENT);
        return server_send(conn, MHD_HTTP_OK, r, as->type);
    }
    case NMA_NODE:
        return server_json(conn, nma_view_node(s));
    case NMA_PEERS:
        return server_json(conn, nma_view_peers(s, &a.q));
    case NMA_SERVICES:
        return server_json(conn, nma_view_services(s));
    case NMA_SOCKETS:
        return server_json(conn, nma_view_sockets(s, &a.q));
    case NMA_SUMMARY:
        return server_json(conn, nma_view_summary(s));
    case NMA_TOPOLOGY:
        return server_json(conn, nma_view_topology(s));
    case NMA_EVENTS:
        return server_send(conn, MHD_HTTP_OK, nma_events_response(s), "text/event-stream");
    case NMA_METRICS: {
        size_t len;
        char *text = nma_metrics_text(s, &len);
        if (text == NULL)
            return server_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
        struct MHD_Response *r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
        return server_send(conn, MHD_HTTP_OK, r, "text/plain; version=0.0.4; charset=utf-8");
    }
    case NMA_HEALTHZ:
        return server_text(conn, MHD_HTTP_OK, "ok\n");
    default:
        return server_error(conn, MHD_HTTP_NOT_FOUND, "no such path");
    }
}

static enum MHD_Result server_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                      const char *method, const char *version, const char *upload,
                                      size_t *upload_size, void **state)
{
    (void)version;
    (void)upload;
    nma_server *s = cls;
    if (*state == NULL) { /* headers only so far: answer once the request is whole */
        *state = s;
        return MHD_YES;
    }
    if (*upload_size > 0) { /* a body: discard it, the answer is 405 anyway */
        *upload_size = 0;
        return MHD_YES;
    }
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return server_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "read-only: GET and HEAD only");
    /* The page's files and /healthz hold no data: a browser loads the page without a
     * header (it then sends the token, from its URL's #token=..., with every API request),
     * and container health checks and load balancers probe /healthz without one. */
    int route = nma_route_find(url);
    if (route != NMA_ASSET && route != NMA_HEALTHZ && !server_authorized(s, conn))
        return server_error(conn, MHD_HTTP_UNAUTHORIZED, "a valid bearer token is required");
    return server_route(s, conn, url);
}

void nma_cond_init(pthread_cond_t *c)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(c, &ca);
    pthread_condattr_destroy(&ca);
}

/* Copies the certificate, key and CA bundle the server keeps. */
static int server_copy_tls(nma_server *s, const nma_config *cfg)
{
    if (cfg->tls != NULL) {
        if (!nma_tls_supported())
            return -ENOTSUP;
        s->tls = *cfg->tls;
        s->tls.cert = strdup(cfg->tls->cert);
        s->tls.key = strdup(cfg->tls->key);
        s->tls.key_size = s->tls.key != NULL ? strlen(s->tls.key) + 1 : 0;
        if (s->tls.cert == NULL || s->tls.key == NULL)
            return -ENOMEM;
    }
    if (cfg->ca != NULL) {
        if ((s->ca = malloc(cfg->ca_len + 1)) == NULL)
            return -ENOMEM;
        memcpy(s->ca, cfg->ca, cfg->ca_len);
        s->ca[cfg->ca_len] = '\0';
        s->ca_len = cfg->ca_len;
    }
    return 0;
}

static struct MHD_Daemon *server_daemon(nma_server *s)
{
    bool https = s->tls.cert != NULL;
    struct MHD_OptionItem opts[] = {
        {MHD_OPTION_LISTEN_SOCKET, s->fd, NULL},
        {MHD_OPTION_CONNECTION_LIMIT, ADMIN_CONNECTIONS, NULL},
        {MHD_OPTION_PER_IP_CONNECTION_LIMIT, ADMIN_PER_IP, NULL},
        {MHD_OPTION_CONNECTION_TIMEOUT, ADMIN_TIMEOUT_S, NULL},
        {MHD_OPTION_CONNECTION_MEMORY_LIMIT, ADMIN_MEMORY, NULL},
        /* Over HTTP the list ends here. */
        {https ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, s->tls.cert},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, s->tls.key},
        {MHD_OPTION_END, 0, NULL},
    };
    return MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                                MHD_USE_POLL | (https ? MHD_USE_TLS : 0),
                            0, NULL, NULL, server_handler, s, MHD_OPTION_ARRAY, opts,
                            MHD_OPTION_END);
}

static void server_free(nma_server *s)
{
    nma_tls_fini(&s->tls);
    free(s->ca);
    free(s);
}

int nma_start(nma_server **sp, const nma_config *cfg)
{
    struct sockaddr_storage ss;
    socklen_t len;
    if (server_addr(cfg->addr != NULL ? cfg->addr : NMA_DEFAULT_ADDR, &ss, &len) < 0 ||
        (cfg->token != NULL && strlen(cfg->token) >= sizeof(((nma_server *)0)->token)) ||
        (cfg->curve_public != NULL && strlen(cfg->curve_public) != NMA_CURVE_KEY_LEN))
        return -EINVAL;
    if (!server_loopback(&ss) && (cfg->token == NULL || cfg->token[0] == '\0'))
        return -EACCES;
    nma_server *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return -ENOMEM;
    s->ctx = cfg->ctx;
    s->agent = cfg->agent;
    s->fd = -1;
    s->started_ns = nm_clock_ns();
    if (cfg->token != NULL)
        strlcpy(s->token, cfg->token, sizeof(s->token));
    if (cfg->curve_public != NULL)
        strlcpy(s->curve_key, cfg->curve_public, sizeof(s->curve_key));
    int rc = server_copy_tls(s, cfg);
    if (rc == 0)
        rc = server_listen(s, &ss, len, cfg->next_free);
    if (rc == 0)
        rc = nma_events_start(s);
    if (rc == 0)
        rc = nma_topology_start(s);
    if (rc == 0 && (s->mhd = server_daemon(s)) == NULL)
        rc = -ENOMEM;
    if (rc < 0) {
        nma_topology_stop(s);
        nma_events_stop(s);
        nma_events_free(s);
        if (s->fd >= 0)
            close(s->fd);
        server_free(s);
        return rc;
    }
    char host[NI_MAXHOST] = "";
    if (s->agent != NULL &&
        getnameinfo((struct sockaddr *)&ss, len, host, sizeof(host), NULL, 0, NI_NUMERICHOST) == 0)
        nmd_agent_set_admin(s->agent, host, s->port, s->tls.cert != NULL ? s->tls.pin : NULL);
    *sp = s;
    return 0;
}

const char *nma_url(const nma_server *s)
{
    return s->url;
}

const uint8_t *nma_tls_pin(const nma_server *s)
{
    return s->tls.cert != NULL ? s->tls.pin : NULL;
}

void nma_stop(nma_server **sp)
{
    nma_server *s = *sp;
    if (s == NULL)
        return;
    *sp = NULL;
    if (s->agent != NULL)
        nmd_agent_set_admin(s->agent, NULL, 0, NULL);
    nma_events_stop(s);      /* ends the event streams, so their threads can finish */
    MHD_stop_daemon(s->mhd); /* closes the listening socket too */
    nma_events_free(s);
    nma_topology_stop(s);
    server_free(s);
}
