/*
 * conn_cmd.c - ZMTP commands a peer sends, on the I/O thread: its READY, which ends the
 * handshake (type check, routing id, the pipe), SUBSCRIBE and CANCEL (counted against
 * the peer's limits), PING and ERROR.  Every field comes from the peer: lengths are
 * the codec's to check (lib/zmtp), text goes to logs escaped, and any violation closes
 * this connection with a logged reason and nothing else.
 */
#include <stdio.h>
#include <string.h>

#include "engine/engine.h"

/* ---- handshake ------------------------------------------------------------------- */

/* Peer bytes as text a log line can carry: printable ASCII as it is, the rest as \xNN,
 * so a peer cannot forge lines or send terminal escapes through our logs. */
void nmi_conn_printable(char *out, size_t cap, const uint8_t *in, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 5 < cap; i++) {
        if (in[i] >= 0x20 && in[i] < 0x7f && in[i] != '\\')
            out[o++] = (char)in[i];
        else
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", in[i]);
    }
    out[o] = '\0';
}

/* The other live connection of this socket that uses routing id rid, or NULL. */
static nmi_conn *conn_rid_owner(nmi_conn *c, const uint8_t *rid, size_t len)
{
    nmi_conn *o;
    LIST_FOREACH(o, &c->sock->conns, sock_entry)
    {
        if (o != c && o->pipe != NULL && atomic_load(&o->state) == NMI_CONN_ACTIVE &&
            o->pipe->rid_len == len && memcmp(o->pipe->rid, rid, len) == 0)
            return o;
    }
    return NULL;
}

/* Batches of references the reader takes to its connection's properties. */
#define CONN_META_BATCH 1024u

void nmi_conn_meta_give(nmi_conn *c, nmi_msg *m)
{
    if (c->meta == NULL)
        return;
    if (c->meta_credit == 0) {
        atomic_fetch_add_explicit(&c->meta->refs, CONN_META_BATCH, memory_order_relaxed);
        c->meta_credit = CONN_META_BATCH;
    }
    c->meta_credit--;
    m->meta = c->meta;
}

void nmi_conn_meta_drop(nmi_conn *c)
{
    nmi_meta_release(c->meta, c->meta_credit + 1);
    c->meta = NULL;
    c->meta_credit = 0;
}

/* The numeric address of a tcp peer ("tcp://ADDR:PORT", "tcp://[ADDR]:PORT") into out,
 * or "" for another transport. */
void nmi_conn_peer_address(nmi_conn *c, char *out, size_t cap)
{
    char peer[NMI_EP_MAX];
    c->tp->sock_name(c->pollable.fd, false, peer, sizeof(peer));
    out[0] = '\0';
    if (strncmp(peer, "tcp://", 6) != 0)
        return;
    const char *a = peer + 6, *colon = strrchr(a, ':');
    if (colon == NULL)
        return;
    size_t n = (size_t)(colon - a);
    if (a[0] == '[' && n >= 2 && a[n - 1] == ']') {
        a++;
        n -= 2;
    }
    if (n < cap) {
        memcpy(out, a, n);
        out[n] = '\0';
    }
}

int nmi_conn_established(nmi_conn *c, const uint8_t *rid, size_t rid_len, const uint8_t *props,
                         size_t props_len)
{
    nmi_sock *s = c->sock;
    if (rid_len > NMI_RID_MAX) { /* the codec's limit; checked again where it is copied */
        nmi_conn_reject(c, "peer identity longer than 255 bytes");
        return -1;
    }
    if ((s->proto->flags & NMI_PROTO_SINGLE_PEER) && s->nlive > 0) {
        nmi_conn_reject(c, "PAIR socket already has a peer");
        return -1;
    }
    bool new_pipe = c->pipe == NULL;
    if (c->connect_rid != NULL) { /* CONNECT_ROUTING_ID wins */
        rid = c->connect_rid;
        rid_len = c->connect_rid_len;
    }
    bool rid_used = s->proto->needs_rid && new_pipe && rid_len > 0;
    /* Judged before the pipe exists: a pipe the socket never attached would be lost.  A
     * routing id in use is refused, or with ROUTER_HANDOVER taken from its holder. */
    nmi_conn *holder = rid_used && rid[0] != 0 ? conn_rid_owner(c, rid, rid_len) : NULL;
    bool handover = atomic_load_explicit(&s->router_handover, memory_order_relaxed);
    const char *bad = !rid_used                     ? NULL
                      : rid[0] == 0                 ? "peer identity starts with a zero byte"
                      : holder != NULL && !handover ? "peer identity already in use"
                                                    : NULL;
    if (bad != NULL) {
        nmi_conn_reject(c, bad);
        return -1;
    }
    char addr[NMI_EP_MAX];
    nmi_conn_peer_address(c, addr, sizeof(addr));
    nmi_conn_meta_drop(c); /* none: it went with the last connection */
    if ((c->meta = nmi_meta_new(c->pollable.fd, props, props_len, addr)) == NULL) {
        nmi_conn_reject(c, "out of memory");
        return -1;
    }
    if (new_pipe && (c->pipe = nmi_pipe_new(s, c, c->endpoint)) == NULL) {
        nmi_conn_reject(c, "out of memory");
        return -1;
    }
    /* The holder's DETACH reaches the socket before our ATTACH: the router's tree then
     * names the newcomer (router_attach). */
    if (holder != NULL)
        nmi_conn_broken(holder, "routing id handed over to a new peer");
    nmi_pipe *p = c->pipe;
    if (s->proto->needs_rid && new_pipe) {
        if (rid_used) {
            memcpy(p->rid, rid, rid_len);
            p->rid_len = (uint8_t)rid_len;
        } else {
            uint32_t n = ++s->next_rid;
            uint8_t rid[5] = {0, (uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8),
                              (uint8_t)n};
            memcpy(p->rid, rid, sizeof(rid));
            p->rid_len = sizeof(rid);
        }
    }
    size_t ulen = 0;
    const char *user = nm_props_get((const nm_props_t *)c->meta, "User-Id", &ulen);
    pthread_mutex_lock(&s->ctx->reg_lock);
    c->tp->sock_name(c->pollable.fd, false, p->peer, sizeof(p->peer));
    c->tp->sock_name(c->pollable.fd, true, p->local, sizeof(p->local));
    p->mechanism = (uint8_t)(c->opts.sec != NULL ? c->opts.sec->mechanism : NM_MECH_NULL);
    memcpy(p->peer_key, c->peer_key, sizeof(p->peer_key));
    ulen = user == NULL ? 0 : ulen < sizeof(p->user_id) ? ulen : sizeof(p->user_id) - 1;
    memcpy(p->user_id, user != NULL ? user : "", ulen);
    p->user_id[ulen] = '\0';
    pthread_mutex_unlock(&s->ctx->reg_lock);
    atomic_store(&p->state, NM_PIPE_ACTIVE);
    s->nlive++;
    c->ivl = c->opts.reconnect_ivl;
    c->handshake_at = 0;
    nmi_conn_handshake_end(c, true);
    nmi_hb_start(c);
    nmi_conn_timers_update(c);
    atomic_store(&c->state, NMI_CONN_ACTIVE);
    nmi_conn_log(c, NM_LOG_DEBUG, "connected to %s", p->peer);
    nmi_monitor(s, NM_EVENT_HANDSHAKE_SUCCEEDED, 0, c->endpoint, "");
    if (new_pipe)
        nmi_sock_post(s, NMI_CMD_ATTACH, p);
    /* PROBE_ROUTER: an empty one-frame message, straight onto the wire (the pipe's
     * queue is the application's to fill), ahead of anything queued. */
    static const uint8_t probe[2] = {0, 0};
    if (c->opts.probe_router && !(s->proto->flags & NMI_PROTO_RAW) &&
        nmi_conn_out_frame(c, probe, sizeof(probe)) < 0) {
        nmi_conn_reject(c, "out of memory");
        return -1;
    }
    nmi_conn_flush(c, true);
    return atomic_load(&c->state) == NMI_CONN_ACTIVE ? 0 : -1;
}

int nmi_conn_peer_ready(nmi_conn *c, const uint8_t *props, size_t len)
{
    nmi_zmtp_ready r;
    const char *bad;
    if (nmi_zmtp_ready_parse(props, len, &r, &bad) < 0) {
        nmi_conn_fail(c, NM_EVENT_HANDSHAKE_FAILED, NM_PROTOCOL_ERROR_ZMTP_INVALID_METADATA, bad);
        return -1;
    }
    if (r.type < 0 || !nmi_zmtp_types_compatible(c->sock->type, r.type)) {
        char why[64];
        const char *name = r.type < 0 ? "unknown" : nmi_zmtp_type_name(r.type);
        snprintf(why, sizeof(why), "incompatible peer socket type %s", name);
        uint8_t err[300];
        int n = nmi_zmtp_error_encode(err, sizeof(err), "Invalid socket type");
        if (n > 0 && nmi_conn_out_bytes(c, err, (size_t)n) == 0)
            nmi_conn_flush(c, true);
        nmi_conn_reject(c, why);
        return -1;
    }
    return nmi_conn_established(c, r.identity, r.identity_len, props, len);
}

/* A subscription or a cancel (either form) for a publisher counts against its peer's
 * limits while it is queued, and a subscription while the protocol keeps it (pub.c
 * gives back what it does not keep).  Cancels may take the limits once more, so that a
 * peer at its limit may cancel everything at once.  The reason the peer goes past a
 * limit, or NULL. */
const char *nmi_conn_sub_count(nmi_conn *c, size_t prefix_len, bool cancel)
{
    nmi_pipe *p = c->pipe;
    uint64_t n = atomic_fetch_add(&p->subs, 1) + 1;
    uint64_t bytes = atomic_fetch_add(&p->sub_bytes, prefix_len) + prefix_len;
    uint64_t times = cancel ? 2 : 1;
    if (c->opts.subs_max > 0 && n > times * (uint64_t)c->opts.subs_max)
        return "too many subscriptions (over NM_SUBSCRIPTIONS_MAX)";
    if (c->opts.subs_maxbytes >= 0 && bytes > times * (uint64_t)c->opts.subs_maxbytes)
        return "subscriptions too large (over NM_SUBSCRIPTIONS_MAXBYTES)";
    return NULL;
}

/* A ZMTP 3.1 SUBSCRIBE or CANCEL reaches the publisher's protocol as the 3.0 form: a
 * message of 0x01 (or 0x00) followed by the prefix.  Other socket types ignore them. */
static int conn_subscription(nmi_conn *c, const nmi_zmtp_cmd *cmd)
{
    if (!(c->sock->proto->flags & NMI_PROTO_TAKES_SUBS))
        return 0;
    bool cancel = cmd->name_len != 9; /* SUBSCRIBE or CANCEL */
    const char *over = nmi_conn_sub_count(c, cmd->data_len, cancel);
    if (over != NULL) {
        nmi_conn_reject(c, over);
        return -1;
    }
    nmi_msg m = {0};
    nmi_frame *f = nmi_msg_push_frame(&m);
    uint8_t *d = f ? nmi_frame_alloc(f, cmd->data_len + 1) : NULL;
    if (d == NULL) {
        nmi_msg_clear(&m);
        nmi_conn_reject(c, "out of memory");
        return -1;
    }
    d[0] = !cancel;
    memcpy(d + 1, cmd->data, cmd->data_len);
    if (nmi_queue_push(c->pipe->in, &m) < 0) {
        nmi_msg_clear(&m);
        nmi_conn_reject(c, "out of memory"); /* its count is gone with the pipe */
        return -1;
    }
    return 0;
}

/* libzmq 4.3's PLAIN server names its ERROR "\x5eRROR" (in its source "\x05ERROR", a hex
 * escape that took the E along); its PLAIN client reads that, and so does ours. */
static bool conn_plain_error_431(nmi_conn *c, const uint8_t *body, size_t len)
{
    return c->mech != NULL && c->mech->mechanism == NM_MECH_PLAIN && !c->mech->server && len >= 6 &&
           memcmp(body, "\x5eRROR", 5) == 0;
}

int nmi_conn_command(nmi_conn *c, uint8_t *body, size_t len)
{
    nmi_zmtp_cmd cmd;
    uint8_t fixed[1 + 5 + 1 + 255];
    if (conn_plain_error_431(c, body, len) && len - 5 <= sizeof(fixed) - 6) {
        memcpy(fixed,
               "\x05"
               "ERROR",
               6);
        memcpy(fixed + 6, body + 5, len - 5);
        body = fixed;
        len++;
    }
    if (nmi_zmtp_cmd_parse(body, len, &cmd) < 0) {
        nmi_conn_reject(c, "malformed command");
        return -1;
    }
    int st = atomic_load(&c->state);
    if (nmi_zmtp_cmd_is(&cmd, "ERROR")) {
        char reason[4 * 255 + 1], why[sizeof(reason) + 32];
        size_t rlen = cmd.data_len > 0 ? cmd.data[0] : 0;
        if (rlen > cmd.data_len - (cmd.data_len > 0))
            rlen = 0;
        nmi_conn_printable(reason, sizeof(reason), cmd.data + 1, rlen);
        snprintf(why, sizeof(why), "peer sent ERROR: %s", reason);
        /* A server's ZAP handler refused us: its status code, as libzmq reports it.  A
         * handshake the server ended is not tried again (as libzmq: it would fail
         * again). */
        if (st == NMI_CONN_READY && rlen == 3 && reason[0] >= '3' && reason[0] <= '5' &&
            reason[1] == '0' && reason[2] == '0')
            nmi_monitor(c->sock, NM_EVENT_HANDSHAKE_FAILED_AUTH, (uint32_t)(reason[0] - '0') * 100,
                        c->endpoint, why);
        c->refused = st == NMI_CONN_READY;
        nmi_conn_broken(c, why);
        return -1;
    }
    if (st == NMI_CONN_READY && c->mech != NULL)
        return nmi_conn_mech_command(c, body, len);
    if (st == NMI_CONN_READY) {
        if (!nmi_zmtp_cmd_is(&cmd, "READY")) {
            nmi_conn_fail(c, NM_EVENT_HANDSHAKE_FAILED, NM_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND,
                          "expected READY");
            return -1;
        }
        return nmi_conn_peer_ready(c, cmd.data, cmd.data_len);
    }
    if (nmi_zmtp_cmd_is(&cmd, "READY")) {
        nmi_conn_reject(c, "READY after the handshake");
        return -1;
    }
    if (nmi_zmtp_cmd_is(&cmd, "SUBSCRIBE") || nmi_zmtp_cmd_is(&cmd, "CANCEL"))
        return conn_subscription(c, &cmd);
    if (nmi_zmtp_cmd_is(&cmd, "PING"))
        return nmi_hb_ping(c, cmd.data, cmd.data_len);
    /* PONG only proves the peer alive, as any traffic does; unknown commands are
     * ignored, as RFC 37 asks. */
    return 0;
}
