/*
 * transport.h - the ops table every stream transport (tcp, ipc) provides.
 *
 * A transport turns the address part of an endpoint into a socket address, opens
 * listening and connecting descriptors (non-blocking, close-on-exec) and names the
 * endpoint a bind really got.  The core sees only this table; ZMTP runs the same
 * over every transport.
 */
#ifndef NMI_TRANSPORT_H
#define NMI_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct nmi_addr {
    struct sockaddr_storage ss;  /* resolved address */
    socklen_t len;               /* its length */
    struct sockaddr_storage src; /* connect: the local address to bind first */
    socklen_t srclen;            /* its length, 0 = let the kernel choose */
} nmi_addr;

struct nmi_opts; /* core.h: the socket's options (transport tuning among them) */

/* What a listen left behind, for its unlisten: the ipc file it made (0s for none).  A
 * later bind to the same path replaces the file; the first listener's unlisten then
 * finds another file there, and leaves it to its owner. */
typedef struct nmi_listen_mark {
    uint64_t dev, ino; /* the file's identity */
} nmi_listen_mark;

typedef struct nmi_transport_ops {
    const char *scheme; /* "tcp", "ipc" */
    /* Parses the part after "scheme://"; -EINVAL if malformed. */
    int (*resolve)(const char *addr, bool for_bind, const struct nmi_opts *o, nmi_addr *out);
    /* Binds and listens (backlog, buffers, device from o); writes the endpoint really
     * bound into ep[0..cap), and what unlisten needs into *mark. */
    int (*listen)(const nmi_addr *a, const struct nmi_opts *o, int *fdp, char *ep, size_t cap,
                  nmi_listen_mark *mark);
    /* Starts a non-blocking connect (buffers, TOS, device from o); 0 if done or in
     * progress. */
    int (*connect)(const nmi_addr *a, const struct nmi_opts *o, int *fdp);
    /* Per-connection options once connected: TCP_NODELAY, keepalive, TCP_USER_TIMEOUT. */
    void (*tune)(int fd, const struct nmi_opts *o);
    /* Undoes what listen left behind (an ipc path, if still the file it made); called
     * while the listening descriptor is still open, so that file cannot be reused. */
    void (*unlisten)(const char *ep, const nmi_listen_mark *mark);
    /* Writes the peer's address (local false) or ours (local true) as text. */
    void (*sock_name)(int fd, bool local, char *buf, size_t cap);
} nmi_transport_ops;

extern const nmi_transport_ops nmi_tcp_ops;
extern const nmi_transport_ops nmi_ipc_ops;

/* Splits "scheme://rest": the transport for scheme and a pointer to rest.
 * -EPROTONOSUPPORT for an unknown scheme, -EINVAL without "://". */
int nmi_transport_find(const char *endpoint, const nmi_transport_ops **ops, const char **rest);

/* Shared helpers for stream sockets. */
int nmi_stream_listen(const nmi_addr *a, const struct nmi_opts *o, int *fdp);
int nmi_stream_connect(const nmi_addr *a, const struct nmi_opts *o, int *fdp);

#endif
