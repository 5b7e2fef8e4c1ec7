/*
 * router.c - ROUTER: every received message is prefixed with its peer's routing id;
 * every sent message names its destination in its first frame (RFC 28).
 *
 * Routing ids come from the peer's Identity or are generated (0x00 + a 4-byte
 * counter, as libzmq does).  A peer announcing a routing id in use is refused, or
 * with ROUTER_HANDOVER takes it over (conn_cmd.c).  A message for an unknown or full
 * peer is dropped and counted, unless ROUTER_MANDATORY asks for -EHOSTUNREACH /
 * -EAGAIN instead; a STREAM always answers so, as libzmq's does.  A STREAM's own
 * NM_ROUTING_ID reads back the id it generated for its latest peer (libzmq's way for a
 * connecter to learn it).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/sys/tree.h>

#include "protocol/pipeset.h"

static int router_cmp(nmi_pipe *a, nmi_pipe *b)
{
    if (a->rid_len != b->rid_len)
        return a->rid_len < b->rid_len ? -1 : 1;
    return memcmp(a->rid, b->rid, a->rid_len);
}

RB_HEAD(router_tree, nmi_pipe);
/* libbsd's RB_GENERATE_STATIC relies on a disabled __unused: spell the attribute out. */
RB_GENERATE_INTERNAL(router_tree, nmi_pipe, rid_entry, router_cmp, __attribute__((unused)) static)

typedef struct router_state {
    nmi_pipeset fq;           /* incoming */
    struct router_tree peers; /* outgoing, by routing id */
} router_state;

static int router_init(nmi_sock *s)
{
    router_state *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return -ENOMEM;
    nmi_pipeset_init(&r->fq, false);
    RB_INIT(&r->peers);
    s->pdata = r;
    return 0;
}

static void router_fini(nmi_sock *s)
{
    router_state *r = s->pdata;
    nmi_pipeset_fini(&r->fq);
    free(r);
}

/* A pipe already holding p's routing id is on its way out (the I/O thread refuses a
 * routing id in use, or hands it over and closes its holder): p takes its place in the
 * tree; what the old one brought is still read, under the same routing id. */
static void router_attach(nmi_sock *s, nmi_pipe *p)
{
    router_state *r = s->pdata;
    nmi_pipe *old = RB_INSERT(router_tree, &r->peers, p);
    if (old != NULL) {
        RB_REMOVE(router_tree, &r->peers, old);
        RB_INSERT(router_tree, &r->peers, p);
    }
    nmi_pipeset_add(&r->fq, p);
    /* A generated id (0x00 first; a peer's or CONNECT_ROUTING_ID's never is). */
    if ((s->proto->flags & NMI_PROTO_RAW) && p->rid_len > 0 && p->rid[0] == 0) {
        memcpy(s->opts.routing_id, p->rid, p->rid_len);
        s->opts.routing_id_len = p->rid_len;
    }
}

/* Whether a send to a missing or full peer fails rather than drops. */
static bool router_mandatory(const nmi_sock *s)
{
    return s->opts.router_mandatory || (s->proto->flags & NMI_PROTO_RAW);
}

static void router_detach(nmi_sock *s, nmi_pipe *p)
{
    router_state *r = s->pdata;
    if (RB_FIND(router_tree, &r->peers, p) == p)
        RB_REMOVE(router_tree, &r->peers, p);
    nmi_pipeset_remove(&r->fq, p);
}

static void router_in_ready(nmi_sock *s, nmi_pipe *p)
{
    nmi_pipeset_activate(&((router_state *)s->pdata)->fq, p);
}

static void router_out_ready(nmi_sock *s, nmi_pipe *p)
{
    (void)s;
    (void)p;
}

static int router_recv(nmi_sock *s, nmi_msg *m)
{
    router_state *r = s->pdata;
    nmi_pipe *from;
    int rc = nmi_fq_recv(s, &r->fq, m, &from);
    if (rc < 0)
        return rc;
    if (nm_msg_prepend((nm_msg_t *)m, from->rid, from->rid_len) < 0) {
        nmi_msg_clear(m);
        return -ENOMEM;
    }
    return 0;
}

/* The peer named rid (len <= NMI_RID_MAX), or NULL; key is the caller's scratch. */
static nmi_pipe *router_find(router_state *r, nmi_pipe *key, const void *rid, size_t len)
{
    key->rid_len = (uint8_t)len;
    memcpy(key->rid, rid, len);
    return RB_FIND(router_tree, &r->peers, key);
}

/* Only a mandatory router refuses a message for a missing or full peer (router_send). */
static int router_send_ready(nmi_sock *s, const void *rid, size_t len)
{
    if (!router_mandatory(s) || len > NMI_RID_MAX)
        return 0; /* a too long id fails when the message is sent */
    nmi_pipe key;
    nmi_pipe *p = router_find(s->pdata, &key, rid, len);
    if (p == NULL || atomic_load(&p->gone))
        return -EHOSTUNREACH;
    int rc = nmi_pipe_wait_room(p); /* a full pipe asks for OUT_READY, as a send does */
    return rc == -EPIPE ? -EHOSTUNREACH : rc;
}

static int router_send(nmi_sock *s, nmi_msg *m)
{
    router_state *r = s->pdata;
    if (m->first.size > NMI_RID_MAX)
        return -EINVAL;
    if (m->n < 2) { /* a routing id and no message: nothing to send, as in libzmq */
        nmi_msg_clear(m);
        return 0;
    }
    nmi_pipe key;
    nmi_pipe *p = router_find(r, &key, nmi_frame_data(&m->first), m->first.size);
    if (p == NULL || atomic_load(&p->gone)) {
        if (router_mandatory(s))
            return -EHOSTUNREACH;
        nmi_msg_clear(m);
        return 0;
    }
    nm_msg_pop_front((nm_msg_t *)m); /* the routing id; key keeps a copy */
    int rc = nmi_pipe_write(p, m);
    if (rc == 0)
        return 0;
    if (router_mandatory(s)) {
        nm_msg_prepend((nm_msg_t *)m, key.rid, key.rid_len);
        return rc == -EPIPE ? -EHOSTUNREACH : rc;
    }
    nmi_pipe_drop(p, "pipe full");
    nmi_msg_clear(m);
    return 0;
}

/* ROUTER and STREAM differ only in type and flags: the engine speaks raw TCP for STREAM. */
#define ROUTER_OPS(sock_type, proto_flags)                                                         \
    {                                                                                              \
        .type = (sock_type), .flags = (proto_flags), .can_send = true, .can_recv = true,           \
        .needs_rid = true, .init = router_init, .fini = router_fini, .attach = router_attach,      \
        .detach = router_detach, .in_ready = router_in_ready, .out_ready = router_out_ready,       \
        .send = router_send, .recv = router_recv, .has_out = nmi_proto_never_blocks,               \
        .send_ready = router_send_ready,                                                           \
    }

const nmi_proto_ops nmi_router_ops = ROUTER_OPS(NM_ROUTER, NMI_PROTO_SENDS_RID);

/* STREAM: a ROUTER over raw TCP.  The engine turns connections, reads and an empty
 * message into the peer's events, reads and a close (conn.c, conn_read.c, conn_write.c). */
const nmi_proto_ops nmi_stream_ops = ROUTER_OPS(NM_STREAM, NMI_PROTO_RAW);
