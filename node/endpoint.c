/*
 * endpoint.c - binding and connecting with plain-spoken errors (see endpoint.h).
 */
#include "endpoint.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "log.h"

#define ENDPOINT_FORMS "tcp://HOST:PORT, ipc://PATH, inproc://NAME or svc://NAME"

/* Explains -EINVAL for a tcp:// endpoint: the part that is wrong. */
static const char *endpoint_tcp_error(const char *rest, char *buf, size_t cap)
{
    const char *colon = strrchr(rest, ':');
    if (colon == NULL || (rest[0] == '[' && colon < strchr(rest, ']')))
        return "tcp:// needs a port: tcp://HOST:PORT (tcp://*:0 or tcp://127.0.0.1:0 for a "
               "free one)";
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end != '\0')
        snprintf(buf, cap, "the port '%s' is not a number (0..65535; 0 or * picks a free one)",
                 colon + 1);
    else if (port < 0 || port > 65535)
        snprintf(buf, cap, "the port %ld is out of range (0..65535)", port);
    else
        snprintf(buf, cap,
                 "the host '%.*s' is not an address, *, or a name this machine can resolve",
                 (int)(colon - rest), rest);
    return buf;
}

const char *endpoint_error(const char *ep, bool bind, int rc, char *buf, size_t cap)
{
    const char *sep = strstr(ep, "://");
    const char *why = NULL;
    if (sep == NULL) {
        bool hostport = strchr(ep, ':') != NULL && strchr(ep, '/') == NULL;
        if (hostport)
            snprintf(buf, cap, "no transport: did you mean tcp://%s?", ep);
        else
            snprintf(buf, cap, "no transport: endpoints are " ENDPOINT_FORMS);
        return buf;
    }
    bool tcp = strncmp(ep, "tcp://", 6) == 0, ipc = strncmp(ep, "ipc://", 6) == 0;
    switch (rc) {
    case -EPROTONOSUPPORT:
        snprintf(buf, cap, "unknown transport '%.*s://': endpoints are " ENDPOINT_FORMS,
                 (int)(sep - ep), ep);
        return buf;
    case -EINVAL:
        if (tcp)
            return endpoint_tcp_error(ep + 6, buf, cap);
        why = sep[3] == '\0' ? "nothing after '://'" : "malformed endpoint";
        break;
    case -ENOTSUP:
        why = strncmp(ep, "svc://", 6) == 0 ? "svc:// names need discovery, which this command "
                                              "does not run"
                                            : NULL;
        break;
    case -EADDRINUSE:
        why = tcp ? "the address is in use: another program listens there (port 0 picks a "
                    "free one)"
                  : "the address is in use";
        break;
    case -EADDRNOTAVAIL:
        why = "no interface of this machine has that address (see `ip -br addr`)";
        break;
    case -EACCES:
        why = tcp && bind ? "permission denied (ports below 1024 need privileges)"
                          : "permission denied";
        break;
    case -ENOENT:
        why = ipc ? "the directory of the ipc path does not exist" : NULL;
        break;
    case -ENAMETOOLONG:
        why = ipc ? "the ipc path is too long (at most 107 bytes)" : NULL;
        break;
    default:
        break;
    }
    snprintf(buf, cap, "%s", why != NULL ? why : nm_strerror(rc));
    return buf;
}

int endpoint_attach(nm_sock_t *s, const char *ep, bool bind, const char *component)
{
    int rc = bind ? nm_sock_bind(s, ep) : nm_sock_connect(s, ep);
    if (rc < 0) {
        char why[256];
        log_msg(NM_LOG_ERROR, component, "cannot %s %s: %s", bind ? "bind" : "connect", ep,
                endpoint_error(ep, bind, rc, why, sizeof(why)));
        return rc;
    }
    if (bind) {
        char real[256] = {0};
        size_t len = sizeof real - 1;
        if (nm_sock_getopt(s, NM_LAST_ENDPOINT, real, &len) < 0 || real[0] == '\0')
            snprintf(real, sizeof real, "%s", ep);
        if (strcmp(real, ep) != 0 && strncmp(ep, "svc://", 6) == 0)
            fprintf(stderr, "bound %s as %s\n", real, ep);
        else
            fprintf(stderr, "bound %s\n", real);
    }
    return 0;
}

int endpoint_exit_code(int rc)
{
    return rc == -EINVAL || rc == -EPROTONOSUPPORT ? NODE_EXIT_USAGE : NODE_EXIT_FAIL;
}
