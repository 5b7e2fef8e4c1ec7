/*
 * table.h - the service-table exchange: a node whose table does not fit in its beacon
 * serves the whole table over TCP on its control port, and peers fetch it from there.
 *
 * Three parts, each usable on its own:
 *   - the codec of the "table" message (format in discovery/BEACON.md): pure functions;
 *   - nmd_table_server: a listening socket that writes the current message to every
 *     client that connects, then closes; non-blocking, driven from the caller's poll();
 *   - nmd_table_fetch: one client fetch as a non-blocking state machine, likewise.
 * Nothing here blocks or starts a thread.  Times are CLOCK_MONOTONIC nanoseconds.
 */
#ifndef NMD_TABLE_H
#define NMD_TABLE_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "beacon.h"

#define NMD_TABLE_MAGIC      "NMDT"
#define NMD_TABLE_VERSION    1
#define NMD_TABLE_SERVICES   4096          /* most services in one message */
#define NMD_TABLE_MSG_MAX    (1536 * 1024) /* largest message, length prefix included */
#define NMD_TABLE_CLIENTS    16            /* clients a server writes to at once */
#define NMD_TABLE_TIMEOUT_NS 1000000000u   /* a server drops a client not done by then */
#define NMD_TABLE_FETCH_NS   3000000000u   /* a fetch fails when not done by then */

/* A decoded table message. */
typedef struct nmd_table_msg {
    uint8_t node_id[16];   /* the serving node's id */
    uint32_t incarnation;  /* and its incarnation */
    uint8_t digest[8];     /* nmd_table_digest() of services[], checked by the decoder */
    nmd_service *services; /* the whole table, n entries (malloc'd; NULL when n is 0) */
    size_t n;              /* the number of services */
} nmd_table_msg;

/* Encodes the table message for table[0..n) (n <= NMD_TABLE_SERVICES), signed when key
 * is not NULL (keylen >= NMD_KEY_MIN), into a malloc'd buffer *out the caller frees.
 * Returns its length (length prefix included), -EINVAL for a bad argument or service,
 * -ENOMEM. */
ssize_t nmd_table_encode(const uint8_t node_id[16], uint32_t incarnation, const nmd_service *table,
                         size_t n, const uint8_t *key, size_t keylen, uint8_t **out);

/* Decodes one whole message in[0..len), length prefix included, into *m (to be freed
 * with nmd_table_msg_free(); zeroed on error).  Returns 0, -EMSGSIZE when longer than
 * NMD_TABLE_MSG_MAX, -EPROTO when malformed (the digest not matching the services
 * included), -EPROTONOSUPPORT for another version, -EACCES when key is given and the
 * message is unsigned or its MAC wrong, -EINVAL, -ENOMEM.  Without a key a signed
 * message is accepted unchecked.  The caller still checks that node_id and digest are
 * those of the beacon that sent it here. */
int nmd_table_decode(const uint8_t *in, size_t len, const uint8_t *key, size_t keylen,
                     nmd_table_msg *m);
void nmd_table_msg_free(nmd_table_msg *m);

/* ---- server ---- */

typedef struct nmd_table_buf nmd_table_buf; /* a shared, reference-counted message */

/* One client being written to. */
typedef struct nmd_table_conn {
    int fd;               /* the connection, -1 for a free slot */
    nmd_table_buf *buf;   /* the message it gets (holds a reference) */
    size_t off;           /* bytes of it already written */
    uint64_t deadline_ns; /* dropped when not done by then */
} nmd_table_conn;

typedef struct nmd_table_server {
    int fd;                                  /* the listening socket: poll it for POLLIN */
    uint16_t port;                           /* the port it is bound to */
    nmd_table_buf *cur;                      /* the latest message (holds a reference) */
    uint64_t timeout_ns;                     /* client time limit (NMD_TABLE_TIMEOUT_NS) */
    nmd_table_conn conns[NMD_TABLE_CLIENTS]; /* clients still being written to */
    uint64_t served;                         /* clients sent the whole message */
    uint64_t dropped;                        /* clients refused, failed or too slow */
} nmd_table_server;

/* Listens on bind_addr (an interface address as text: "10.0.0.5", "fe80::1%eth0"),
 * port chosen by the system and written to *port_out.  0 or -errno (-EINVAL for an
 * address that does not parse). */
int nmd_table_server_open(nmd_table_server *srv, const char *bind_addr, uint16_t *port_out);

/* Call when srv->fd is readable: accepts every pending connection and starts writing
 * msg[0..len) (an nmd_table_encode() result, copied once per distinct content) to
 * each.  A client beyond NMD_TABLE_CLIENTS is closed at once.  0 or -errno when
 * accept() fails for a reason other than having no connection left (-EMFILE...). */
int nmd_table_server_on_readable(nmd_table_server *srv, const uint8_t *msg, size_t len);

/* Drops clients past their deadline, then adds one {fd, POLLOUT} per remaining client
 * to out[0..max); returns how many it added.  Call before every poll(). */
int nmd_table_server_pollfds(nmd_table_server *srv, struct pollfd *out, int max);

/* Call with a client pollfd from nmd_table_server_pollfds() that has revents: writes
 * more, closing the client once done or failed.  Other fds are ignored. */
void nmd_table_server_on_event(nmd_table_server *srv, const struct pollfd *p);

/* Closes the listening socket and every client.  Safe on a closed server. */
void nmd_table_server_close(nmd_table_server *srv);

/* ---- client ---- */

/* One fetch: connect, read the length prefix, then the message. */
typedef struct nmd_table_fetch {
    int fd;               /* the connection, -1 once done or failed */
    bool connected;       /* connect() has completed */
    uint8_t prefix[4];    /* the length prefix, as read so far */
    uint8_t *msg;         /* the whole message, prefix included, once its length is known */
    size_t len;           /* its length (prefix included), 0 until known */
    size_t got;           /* bytes of it read so far, prefix included */
    uint64_t deadline_ns; /* the fetch has failed when not done by then */
} nmd_table_fetch;

/* Starts connecting to addr ("10.0.0.5", "fe80::1%eth0", "[fe80::1%eth0]") port port,
 * without blocking; the deadline is now + NMD_TABLE_FETCH_NS (the caller may change it).
 * 0 or -errno; on error nothing is left to close. */
int nmd_table_fetch_start(nmd_table_fetch *f, const char *addr, uint16_t port);

/* The poll events to wait for on f->fd: POLLOUT while connecting, then POLLIN. */
short nmd_table_fetch_events(const nmd_table_fetch *f);

/* Call when f->fd is ready: 0 = more to do, 1 = done (f->msg[0..f->len) holds the
 * message for nmd_table_decode()), -errno = failed (-ECONNREFUSED..., -EMSGSIZE for a
 * length prefix above NMD_TABLE_MSG_MAX, -EPROTO for one too short to be a message,
 * -ECONNRESET when the server closed early).  f->fd is closed once done or failed. */
int nmd_table_fetch_step(nmd_table_fetch *f);

/* Whether the fetch is past its deadline (the caller then closes it as failed). */
bool nmd_table_fetch_expired(const nmd_table_fetch *f, uint64_t now_ns);

/* Closes the connection and frees the message.  Safe to call twice. */
void nmd_table_fetch_close(nmd_table_fetch *f);

#endif
