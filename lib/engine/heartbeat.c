/*
 * heartbeat.c - ZMTP PING/PONG (RFC 37): finding dead peers on quiet connections.
 *
 * With HEARTBEAT_IVL set, a connection sends a PING (carrying HEARTBEAT_TTL, in tenths
 * of a second) every interval; if nothing at all arrives within HEARTBEAT_TIMEOUT
 * after a PING, the peer is taken for dead and the connection is closed (a connecting
 * socket then reconnects).  A peer's PING is answered with a PONG echoing its context,
 * whatever ZMTP minor version the peer announced, and its TTL is honoured: silence
 * longer than that TTL closes the connection too.  Any received byte counts as a sign
 * of life, so a busy connection never times out.  Runs on the I/O thread.
 */
#include <errno.h>
#include <stdio.h>

#include "engine/engine.h"

#define HB_NS_PER_MS 1000000ull

void nmi_hb_start(nmi_conn *c)
{
    int ivl = c->opts.heartbeat_ivl;
    c->ping_at = ivl > 0 ? nmi_clock_ns() + (uint64_t)ivl * HB_NS_PER_MS : 0;
    c->hb_deadline = 0;
}

void nmi_hb_traffic(nmi_conn *c, uint64_t now)
{
    /* Deadlines only move later here; the timer re-arms itself when it fires early. */
    c->hb_deadline = 0;
    if (c->peer_ttl_ms != 0)
        c->ttl_deadline = now + c->peer_ttl_ms * HB_NS_PER_MS;
}

/* Queues a command frame and flushes it, taking the writer from the application. */
static void hb_send(nmi_conn *c, const uint8_t *frame, int len)
{
    if (len <= 0 || atomic_load(&c->state) != NMI_CONN_ACTIVE)
        return;
    nmi_conn_take_writer(c);
    NMI_ASSERT(c->io_owns && atomic_load(&c->wowner) == 1);
    if (nmi_conn_out_frame(c, frame, (size_t)len) < 0)
        nmi_log(c->sock->ctx, NM_LOG_DEBUG, "zmtp", "%s: no room for a heartbeat", c->endpoint);
    nmi_conn_flush(c, true);
}

/* True if a deadline for the peer's traffic has passed. */
static bool hb_overdue(nmi_conn *c, uint64_t now)
{
    return (c->hb_deadline != 0 && c->hb_deadline <= now) ||
           (c->ttl_deadline != 0 && c->ttl_deadline <= now);
}

bool nmi_hb_timer(nmi_conn *c, uint64_t now)
{
    char why[96];
    /* The deadlines count from the last read, and the I/O thread runs its timers before
     * it reads: after this process was stopped or starved, the peer's traffic may be
     * waiting in the socket.  Read it before judging (libzmq restarts its TTL timer on
     * every message); any of it moves the deadlines on. */
    if (hb_overdue(c, now)) {
        nmi_conn_read(c);
        if (atomic_load(&c->state) != NMI_CONN_ACTIVE)
            return false;
    }
    if (c->hb_deadline != 0 && c->hb_deadline <= now) {
        snprintf(why, sizeof(why), "heartbeat timed out: no traffic %d ms after a PING",
                 c->opts.heartbeat_timeout >= 0 ? c->opts.heartbeat_timeout
                                                : c->opts.heartbeat_ivl);
        nmi_conn_reject(c, why);
        return false;
    }
    if (c->ttl_deadline != 0 && c->ttl_deadline <= now) {
        snprintf(why, sizeof(why), "heartbeat timed out: peer silent past its TTL of %u ms",
                 c->peer_ttl_ms);
        nmi_conn_reject(c, why);
        return false;
    }
    if (c->ping_at != 0 && c->ping_at <= now) {
        int timeout =
            c->opts.heartbeat_timeout >= 0 ? c->opts.heartbeat_timeout : c->opts.heartbeat_ivl;
        uint8_t frame[16];
        int ttl_ds = c->opts.heartbeat_ttl / 100;
        hb_send(c, frame, nmi_zmtp_ping_encode(frame, sizeof(frame), (uint16_t)ttl_ds, NULL, 0));
        if (atomic_load(&c->state) != NMI_CONN_ACTIVE)
            return false;
        c->ping_at = now + (uint64_t)c->opts.heartbeat_ivl * HB_NS_PER_MS;
        if (c->hb_deadline == 0 && timeout > 0)
            c->hb_deadline = now + (uint64_t)timeout * HB_NS_PER_MS;
    }
    return true;
}

int nmi_hb_ping(nmi_conn *c, const uint8_t *data, size_t len)
{
    uint16_t ttl_ds;
    const uint8_t *ctx;
    size_t ctx_len;
    if (nmi_zmtp_ping_parse(data, len, &ttl_ds, &ctx, &ctx_len) < 0) {
        nmi_conn_reject(c, "malformed PING");
        return -1;
    }
    if (ttl_ds != 0 && c->peer_ttl_ms == 0) {
        c->peer_ttl_ms = ttl_ds * 100u;
        c->ttl_deadline = nmi_clock_ns() + c->peer_ttl_ms * HB_NS_PER_MS;
        nmi_conn_timers_update(c);
    }
    uint8_t frame[32];
    hb_send(c, frame, nmi_zmtp_pong_encode(frame, sizeof(frame), ctx, ctx_len));
    return atomic_load(&c->state) == NMI_CONN_ACTIVE ? 0 : -1;
}
