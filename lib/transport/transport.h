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

typedef struct nmi_transport_ops {
    const char *scheme; /* "tcp", "ipc" */
    /* Parses the part after "scheme://"; -EINVAL if malformed. */
    int (*resolve)(const char *addr, bool for_bind, const struct nmi_opts *o, nmi_addr *out);
    /* Binds and listens (backlog, buffers, device from o); writes the endpoint really
     * bound into ep[0..cap), and into *idp what identifies the file it made (ipc: the
     * bind's generation, ipc.c; 0 when none), for unlisten. */
    int (*listen)(const nmi_addr *a, const struct nmi_opts *o, int *fdp, char *ep, size_t cap,
                  uint64_t *idp);
    /* Writes the endpoint a listening descriptor is bound to into ep[0..cap) (a
     * descriptor given with NM_USE_FD); -EINVAL when it is not of this transport. */
    int (*bound_name)(int fd, char *ep, size_t cap);
    /* Starts a non-blocking connect (buffers, TOS, device from o); 0 if done or in
     * progress. */
    int (*connect)(const nmi_addr *a, const struct nmi_opts *o, int *fdp);
    /* Per-connection options once connected: TCP_NODELAY, keepalive, TCP_USER_TIMEOUT. */
    void (*tune)(int fd, const struct nmi_opts *o);
    /* Undoes what listen left behind (an ipc path), if it is still there: a bind of the
     * same path since then made a file of its own (id tells them apart). */
    void (*unlisten)(const char *ep, uint64_t id);
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
/* Takes a descriptor the application bound and made listen (NM_USE_FD): checks that it
 * is a listening socket of tp's, makes it non-blocking and close-on-exec, and writes
 * the endpoint it is bound to. */
int nmi_stream_adopt(const nmi_transport_ops *tp, int fd, char *ep, size_t cap);

#endif
