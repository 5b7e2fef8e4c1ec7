/*
 * service.h - a service `nomid node` advertises for another program (an endpoint a
 * pyzmq app bound, say), given as NAME=TYPE@ENDPOINT with --service or in the config
 * file's "services" list.  One parser serves both, so they accept the same things.
 */
#ifndef NODE_SERVICE_H
#define NODE_SERVICE_H

#include "nomid.h"
#include "beacon.h"

/* Most services one node advertises from its command line and config file. */
#define NODE_SERVICES_MAX 256

typedef struct node_service {
    char name[NMD_SVC_NAME_MAX + 1];     /* service name */
    int type;                            /* enum nm_sock_type */
    char endpoint[NMD_ENDPOINT_MAX + 1]; /* where it is */
} node_service;

/* Parses NAME=TYPE@ENDPOINT (TYPE a lowercase socket type, ENDPOINT with "://") into s:
 * 0, or -EINVAL with s unspecified and *why saying what is wrong. */
int node_service_parse(const char *spec, node_service *s, const char **why);

#define NODE_STR_(x) #x
#define NODE_STR(x)  NODE_STR_(x) /* a numeric macro as a string literal */

#endif /* NODE_SERVICE_H */
