/*
 * host_msg.h - the messages of the host channel (host.h) between a node and the
 * programs that join the fleet through it: pure functions over byte buffers, no
 * sockets, no allocation.  Format in discovery/BEACON.md, "The host channel".
 *
 * Each message is one datagram of a SOCK_SEQPACKET connection: "NMDH", version 1, a
 * type byte, then the type's fields (integers big-endian, strings as a length byte and
 * that many bytes, services as in a beacon).
 */
#ifndef NMD_HOST_MSG_H
#define NMD_HOST_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "agent.h"
#include "beacon.h"

#define NMD_HOST_MAGIC    "NMDH"
#define NMD_HOST_VERSION  1
#define NMD_HOST_SERVICES 64 /* most services in one message (a member's whole table) */
#define NMD_HOST_IFACES   8  /* most interfaces in a welcome (NMD_IFACE_MAX) */
#define NMD_HOST_IFNAME   64 /* longest interface spec in a welcome */
#define NMD_HOST_MSG_MAX  (16 + 2 * 256 + NMD_HOST_SERVICES * NMD_SERVICE_MAX)

enum nmd_host_type {
    NMD_HOST_WELCOME = 1, /* node -> member, first: who the node is, its interfaces */
    NMD_HOST_MEMBER = 2,  /* member -> node, on every change: who it is, its whole table */
    NMD_HOST_UP = 3,      /* node -> member: instances of the fleet that can be used */
    NMD_HOST_DOWN = 4,    /* node -> member: instances that went away */
};

typedef struct nmd_host_msg {
    int type;                      /* enum nmd_host_type */
    uint8_t id[16];                /* WELCOME: the node's id; MEMBER: the member's */
    uint32_t incarnation;          /* WELCOME, MEMBER: restart counter */
    char name[NMD_NAME_MAX + 1];   /* WELCOME, MEMBER: node or member name */
    char fleet[NMD_FLEET_MAX + 1]; /* WELCOME: the node's fleet */
    int nifaces;                   /* WELCOME: the interfaces it announces on */
    char ifaces[NMD_HOST_IFACES][NMD_HOST_IFNAME + 1];
    char admin_host[NMD_ADMIN_HOST_MAX + 1]; /* MEMBER: the address its admin listens on, */
    uint16_t admin_port;                     /* ... its port (0: none), */
    bool admin_tls;                          /* ... serves HTTPS, */
    uint8_t admin_pin[NMD_PIN_SIZE];         /* ... with this certificate key hash */
    size_t nservices;                        /* MEMBER, UP, DOWN: entries in services[] */
    nmd_service services[NMD_HOST_SERVICES];
} nmd_host_msg;

/* The channel's address for fleet: the abstract unix name "\0nomid-host/FLEET" (host.h)
 * in *sa; returns its length. */
socklen_t nmd_host_sockaddr(const char *fleet, struct sockaddr_un *sa);

/* Encodes m into out[0..cap) (cap >= NMD_HOST_MSG_MAX always suffices).  Returns the
 * length, or -EINVAL for a field out of range. */
int nmd_host_encode(const nmd_host_msg *m, uint8_t *out, size_t cap);

/* UP or DOWN (type) of the one service svc into out[0..cap) (cap >= NMD_HOST_ONE_MAX
 * suffices): what nmd_host_encode makes of such a message, without building one.
 * Returns the length, or -EINVAL. */
#define NMD_HOST_ONE_MAX (6 + 2 + NMD_SERVICE_MAX)
int nmd_host_encode_one(int type, const nmd_service *svc, uint8_t *out, size_t cap);

/* Decodes in[0..n) into *m (contents unspecified on error).  0, -EPROTO for a
 * malformed message (too short, too long, a bad count, string or service, trailing
 * bytes), -EPROTONOSUPPORT for another version or an unknown type. */
int nmd_host_decode(const uint8_t *in, size_t n, nmd_host_msg *m);

#endif
