/*
 * proxy.c - nm_proxy: the forwarding device (zmq_proxy_steerable's shape).
 *
 * Messages read from one side are sent to the other, whole, in both directions; each
 * is first copied to the capture socket when there is one.  As in libzmq, a side is
 * read only while the other side and the capture socket have room: messages for a full
 * or peerless destination wait in their own queue, and the proxy keeps serving its
 * control socket and the other direction meanwhile.  (Within a batch the copy never
 * blocks: one for a capture socket that filled up is dropped.)  The control socket
 * takes PAUSE, RESUME, TERMINATE and STATISTICS; a REP control socket gets an answer to
 * every command (the statistics, or the command's own name) so its peer's REQ can go on.
 *
 * The proxy is one call on each of its sockets for as long as it runs (nmi_sock_enter),
 * so nm_ctx_destroy never closes them under it; a shutdown ends it with NM_ETERM from
 * whichever wait or send it is in.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "core/core.h"

#define PROXY_BATCH 256 /* messages moved per side before polling again */

typedef struct proxy_side {
    nm_sock_t *sock;    /* the socket */
    uint64_t msgs_in;   /* messages read from it */
    uint64_t bytes_in;  /* their bytes */
    uint64_t msgs_out;  /* messages written to it */
    uint64_t bytes_out; /* their bytes */
} proxy_side;

/* Moves up to PROXY_BATCH waiting messages from `from` to `to`. */
static int proxy_forward(proxy_side *from, proxy_side *to, nm_sock_t *capture)
{
    for (int i = 0; i < PROXY_BATCH; i++) {
        nm_msg_t m;
        nm_msg_init(&m);
        int rc = nm_sock_recv(from->sock, &m, NM_DONTWAIT);
        if (rc == -EAGAIN)
            return 0;
        if (rc < 0)
            return rc;
        size_t bytes = nm_msg_bytes(&m);
        from->msgs_in++;
        from->bytes_in += bytes;
        if (capture != NULL) {
            nm_msg_t copy;
            if (nm_msg_copy(&copy, &m) == 0 && nm_sock_send(capture, &copy, NM_DONTWAIT) < 0)
                nm_msg_close(&copy);
        }
        rc = nm_sock_send(to->sock, &m, 0);
        if (rc < 0) {
            nm_msg_close(&m);
            return rc;
        }
        to->msgs_out++;
        to->bytes_out += bytes;
    }
    return 0;
}

static void proxy_reply(nm_sock_t *control, const char *text)
{
    int type = 0;
    if (nm_sock_getopt_int(control, NM_TYPE, &type) == 0 && type == NM_REP)
        nm_sock_send_bytes(control, text, strlen(text), 0);
}

static void proxy_statistics(nm_sock_t *control, const proxy_side *side)
{
    nm_msg_t m;
    nm_msg_init(&m);
    for (int i = 0; i < 2; i++) {
        uint64_t v[4] = {side[i].msgs_in, side[i].bytes_in, side[i].msgs_out, side[i].bytes_out};
        for (int k = 0; k < 4; k++)
            nm_msg_add(&m, &v[k], sizeof(v[k]));
    }
    if (nm_sock_send(control, &m, 0) < 0)
        nm_msg_close(&m);
}

/* Runs one control command; returns 1 to terminate. */
static int proxy_control(nm_sock_t *control, const proxy_side *side, bool *paused)
{
    nm_msg_t m;
    nm_msg_init(&m);
    if (nm_sock_recv(control, &m, NM_DONTWAIT) < 0)
        return 0;
    size_t n = nm_msg_count(&m) > 0 ? nm_msg_size(&m, 0) : 0;
    const char *cmd = n > 0 ? nm_msg_data(&m, 0) : "";
    int stop = 0;
    if (n == 5 && memcmp(cmd, "PAUSE", 5) == 0) {
        *paused = true;
        proxy_reply(control, "PAUSE");
    } else if (n == 6 && memcmp(cmd, "RESUME", 6) == 0) {
        *paused = false;
        proxy_reply(control, "RESUME");
    } else if (n == 9 && memcmp(cmd, "TERMINATE", 9) == 0) {
        proxy_reply(control, "TERMINATE");
        stop = 1;
    } else if (n == 10 && memcmp(cmd, "STATISTICS", 10) == 0) {
        proxy_statistics(control, side);
    } else {
        proxy_reply(control, "UNKNOWN");
    }
    nm_msg_close(&m);
    return stop;
}

/* What the proxy waits for (proxy_run): room on the sockets whose lack of it holds
 * messages back, and messages on the sides not held back. */
typedef struct proxy_wants {
    bool held[2];  /* side i has messages it may not forward yet */
    bool room[2];  /* wait for room on side i (its peer side is held for it) */
    bool cap_room; /* wait for room on the capture socket */
} proxy_wants;

static int proxy_run(nm_sock_t *frontend, nm_sock_t *backend, nm_sock_t *capture,
                     nm_sock_t *control)
{
    proxy_side side[2] = {{.sock = frontend}, {.sock = backend}};
    bool same = frontend == backend; /* one socket both ways: room is never asked */
    int nsides = same ? 1 : 2;
    proxy_wants w = {{false, false}, {false, false}, false};
    bool paused = false;
    for (;;) {
        nm_pollitem_t wait[4];
        int nw = 0;
        for (int i = 0; i < nsides && !paused; i++)
            wait[nw++] = (nm_pollitem_t){
                .sock = side[i].sock,
                .events = (short)((w.held[i] ? 0 : NM_POLLIN) | (w.room[i] ? NM_POLLOUT : 0))};
        if (w.cap_room && !paused)
            wait[nw++] = (nm_pollitem_t){.sock = capture, .events = NM_POLLOUT};
        int ci = nw;
        if (control != NULL)
            wait[nw++] = (nm_pollitem_t){.sock = control, .events = NM_POLLIN};
        int rc = nm_poll(wait, nw, -1);
        if (rc < 0)
            return rc;
        if (control != NULL && (wait[ci].revents & NM_POLLIN) &&
            proxy_control(control, side, &paused))
            return 0;
        if (paused)
            continue;
        /* As libzmq, whose sends to the other side and to the capture socket block: a
         * side's messages are read only while both have room.  Here nothing blocks, so a
         * full or peerless destination holds messages in their queue while the proxy
         * goes on serving its control socket and the other direction. */
        nm_pollitem_t now[3] = {{.sock = frontend, .events = NM_POLLIN | NM_POLLOUT},
                                {.sock = backend, .events = NM_POLLIN | NM_POLLOUT},
                                {.sock = capture, .events = NM_POLLOUT}};
        if ((rc = nm_poll(now, nsides, 0)) < 0 ||
            (capture != NULL && (rc = nm_poll(now + 2, 1, 0)) < 0))
            return rc;
        bool cap_room = capture == NULL || (now[2].revents & NM_POLLOUT);
        w = (proxy_wants){{false, false}, {false, false}, false};
        for (int i = 0; i < nsides; i++) {
            bool in = now[i].revents & NM_POLLIN;
            bool dst_room = same || (now[1 - i].revents & NM_POLLOUT);
            w.held[i] = in && !(dst_room && cap_room);
            w.room[1 - i] |= in && !dst_room;
            w.cap_room |= in && !cap_room;
            if (in && !w.held[i] && (rc = proxy_forward(&side[i], &side[1 - i], capture)) < 0)
                return rc;
        }
    }
}

int nm_proxy(nm_sock_t *frontend, nm_sock_t *backend, nm_sock_t *capture, nm_sock_t *control)
{
    if (frontend == NULL || backend == NULL)
        return -EINVAL;
    nm_sock_t *socks[4] = {frontend, backend, capture, control};
    int n = 0, rc = 0;
    for (; n < 4 && rc == 0; n++) {
        if (socks[n] != NULL && (rc = nmi_sock_enter((nmi_sock *)socks[n])) < 0)
            break;
    }
    if (rc == 0)
        rc = proxy_run(frontend, backend, capture, control);
    while (n-- > 0) {
        if (socks[n] != NULL)
            nmi_sock_leave((nmi_sock *)socks[n], rc);
    }
    return rc;
}
