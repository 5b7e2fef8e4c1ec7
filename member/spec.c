/*
 * spec.c - parsing and matching `--advertise NAME=ENDPOINT` (see spec.h).
 */
#include "spec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

/* A tcp endpoint split at its last ':' into host and port. */
typedef struct spec_tcp {
    char host[NMD_ENDPOINT_MAX + 1]; /* "*", "0.0.0.0", "127.0.0.1", "[::1]" */
    const char *port;                /* what follows the ':' (points into the endpoint) */
} spec_tcp;

static bool spec_tcp_split(const char *ep, spec_tcp *t)
{
    if (strncmp(ep, "tcp://", 6) != 0)
        return false;
    const char *hp = ep + 6, *colon = strrchr(hp, ':');
    if (colon == NULL || colon == hp || colon[1] == '\0' || (size_t)(colon - hp) >= sizeof(t->host))
        return false;
    memcpy(t->host, hp, (size_t)(colon - hp));
    t->host[colon - hp] = '\0';
    t->port = colon + 1;
    return true;
}

/* A port as given: "*" or digits from 0 to 65535 (0 and * stand for any). */
static bool spec_port_valid(const char *p)
{
    if (strcmp(p, "*") == 0)
        return true;
    size_t n = strspn(p, "0123456789");
    return n > 0 && n <= 5 && p[n] == '\0' && strtol(p, NULL, 10) <= 65535;
}

static bool spec_port_any(const char *p)
{
    return strcmp(p, "*") == 0 || strtol(p, NULL, 10) == 0;
}

static bool spec_host_wild(const char *h)
{
    return strcmp(h, "*") == 0 || strcmp(h, "0.0.0.0") == 0 || strcmp(h, "[::]") == 0;
}

int member_spec_parse(const char *text, member_spec *s, const char **why)
{
    const char *eq = strchr(text, '=');
    const char *ep = eq != NULL ? eq + 1 : "";
    spec_tcp t;
    *why = NULL;
    for (const char *p = text; *p != '\0' && *why == NULL; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == ',')
            *why = "no commas or control characters";
    if (*why != NULL)
        return -EINVAL;
    if (eq == NULL)
        *why = "not NAME=ENDPOINT (e.g. camera=tcp://*:5556)";
    else if (eq == text || (size_t)(eq - text) > NMD_SVC_NAME_MAX)
        *why = "the NAME must be 1 to 128 bytes";
    else if (strlen(ep) > NMD_ENDPOINT_MAX)
        *why = "the ENDPOINT must be at most 200 bytes";
    else if (strncmp(ep, "ipc://", 6) == 0 && ep[6] != '\0')
        *why = NULL;
    else if (!spec_tcp_split(ep, &t) || !spec_port_valid(t.port))
        *why = "the ENDPOINT must be tcp://HOST:PORT (HOST or PORT may be *) or ipc://PATH";
    if (*why != NULL)
        return -EINVAL;
    memcpy(s->name, text, (size_t)(eq - text));
    s->name[eq - text] = '\0';
    strlcpy(s->endpoint, ep, sizeof(s->endpoint));
    return 0;
}

bool member_spec_match(const member_spec *s, const char *bound)
{
    if (strncmp(s->endpoint, "ipc://", 6) == 0)
        return strncmp(bound, "ipc://", 6) == 0 &&
               (strcmp(s->endpoint, "ipc://*") == 0 || strcmp(s->endpoint, bound) == 0);
    spec_tcp want, got;
    if (!spec_tcp_split(s->endpoint, &want) || !spec_tcp_split(bound, &got))
        return false;
    bool host =
        spec_host_wild(want.host) ? spec_host_wild(got.host) : strcmp(want.host, got.host) == 0;
    return host &&
           (spec_port_any(want.port) || strtol(want.port, NULL, 10) == strtol(got.port, NULL, 10));
}
