/*
 * engine_harness.c - one run of the real ZMTP engine against bytes from a fuzzer or a
 * seed file, through the public API and real descriptors (see engine_harness.h for the
 * input layout).  The harness plays the remote peer on a plain AF_UNIX socket; what
 * nomid sends back is checked with a small ZMTP parser of its own (not lib/zmtp/, so a
 * codec bug cannot hide itself).
 *
 * Waiting for the engine: after each chunk the harness polls SIOCOUTQ until the kernel
 * has handed every byte to nomid's read(), pumping meanwhile (reading nomid's output,
 * receiving from and sending through the nomid socket).  Outcomes are learnt from the
 * context's event hook (HANDSHAKE_SUCCEEDED / HANDSHAKE_FAILED for this run's unique
 * endpoint) and, at the end, from nomid closing the connection after the half-close.
 */
#include "engine_harness.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "nomid.h"

#define EH_OUT_MAX (4u << 20) /* nomid output kept for parsing; the rest is only counted */
#define EH_REPLIES 4          /* messages sent back per run at most */

/* ZMTP's names for the socket types, by enum nm_sock_type. */
static const char *const eh_type_names[12] = {
    "PAIR",   "PUB",  "SUB",  "REQ",  "REP",  "DEALER",
    "ROUTER", "PULL", "PUSH", "XPUB", "XSUB", "STREAM",
};

/* ---- the process's context and the event hook ------------------------------------ */

static nm_ctx_t *eh_ctx; /* one for the process */
static char eh_dir[64];  /* temporary directory for ipc paths */
static unsigned eh_seq;  /* makes each run's path (and endpoint) unique */
static pthread_mutex_t eh_lock = PTHREAD_MUTEX_INITIALIZER; /* guards the three below */
static char eh_endpoint[128];    /* this run's endpoint; events of others are ignored */
static char eh_fail_reason[128]; /* HANDSHAKE_FAILED's detail */
static atomic_bool eh_verbose;   /* print nomid's warnings */
static atomic_int eh_hs_ok;      /* HANDSHAKE_SUCCEEDED seen */
static atomic_int eh_hs_failed;  /* HANDSHAKE_FAILED seen */

static void eh_event_cb(void *arg, const nm_event_info_t *ev)
{
    (void)arg;
    pthread_mutex_lock(&eh_lock);
    if (eh_endpoint[0] != '\0' && strcmp(ev->endpoint, eh_endpoint) == 0) {
        if (ev->event == NM_EVENT_HANDSHAKE_SUCCEEDED)
            atomic_store(&eh_hs_ok, 1);
        if (ev->event == NM_EVENT_HANDSHAKE_FAILED) {
            if (!atomic_load(&eh_hs_failed))
                snprintf(eh_fail_reason, sizeof(eh_fail_reason), "%s", ev->detail);
            atomic_store(&eh_hs_failed, 1);
        }
    }
    pthread_mutex_unlock(&eh_lock);
}

static void eh_log_cb(void *arg, int level, const char *component, const char *message)
{
    (void)arg;
    (void)level;
    if (atomic_load(&eh_verbose))
        fprintf(stderr, "nomid %s: %s\n", component, message);
}

/* A fuzzer never calls eh_fini: the directory goes at exit if it is empty by then. */
static void eh_rmdir_at_exit(void)
{
    if (eh_dir[0] == '\0')
        return;
    char path[96]; /* the last run's socket file, if its listener is still closing */
    snprintf(path, sizeof(path), "%s/e%u", eh_dir, eh_seq);
    unlink(path);
    rmdir(eh_dir);
}

int eh_init(void)
{
    if (eh_ctx != NULL)
        return 0;
    signal(SIGPIPE, SIG_IGN);
    const char *tmp = getenv("TMPDIR");
    snprintf(eh_dir, sizeof(eh_dir), "%s/nmeh-XXXXXX", tmp && strlen(tmp) < 40 ? tmp : "/tmp");
    if (mkdtemp(eh_dir) == NULL)
        return -errno;
    static bool registered;
    if (!registered && atexit(eh_rmdir_at_exit) == 0)
        registered = true;
    int rc = nm_ctx_new(&eh_ctx);
    if (rc < 0) {
        rmdir(eh_dir);
        return rc;
    }
    nm_ctx_set_event_hook(eh_ctx, eh_event_cb, NULL);
    nm_ctx_set_log(eh_ctx, eh_log_cb, NULL, NM_LOG_WARN);
    return 0;
}

void eh_fini(void)
{
    if (eh_ctx == NULL)
        return;
    nm_ctx_set_event_hook(eh_ctx, NULL, NULL);
    nm_ctx_destroy(&eh_ctx);
    rmdir(eh_dir);
    eh_dir[0] = '\0';
}

/* ---- one run's state ------------------------------------------------------------- */

typedef struct eh_state {
    const eh_opts *o;
    eh_result *r;
    nm_sock_t *s;       /* the nomid socket */
    int fd;             /* the harness's end of the connection, -1 before */
    int twin;           /* the twin connection (EH_B2_TWIN), -1 if none */
    bool twin_phase;    /* fd is the twin: its output is only drained */
    int type;           /* nomid's type */
    uint8_t b0, b1, b2; /* the input's configuration bytes */
    bool eof;           /* nomid closed (EOF or reset) */
    bool wdead;         /* writing failed: nomid is gone */
    bool sent_first;    /* the message sent once the handshake is done */
    int replies;        /* replies still allowed */
    uint8_t *out;       /* nomid's output not yet parsed */
    size_t out_len;     /* its bytes */
    size_t out_total;   /* bytes kept so far (up to EH_OUT_MAX) */
    bool greeted;       /* nomid's greeting parsed */
    bool in_msg;        /* inside a multipart data message from nomid */
} eh_state;

static uint64_t eh_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void eh_bad(eh_state *st, const char *why)
{
    if (!st->r->peer_bad)
        snprintf(st->r->peer_bad_why, sizeof(st->r->peer_bad_why), "%s", why);
    st->r->peer_bad = true;
}

/* ---- nomid's output, parsed independently of lib/zmtp ---------------------------- */

/* READY's properties: Socket-Type must name nomid's type. */
static void eh_parse_ready(eh_state *st, const uint8_t *p, size_t n)
{
    size_t off = 0;
    bool typed = false;
    while (off < n) {
        size_t nl = p[off++];
        if (nl == 0 || n - off < nl + 4) {
            eh_bad(st, "READY: malformed property");
            return;
        }
        const uint8_t *name = p + off;
        off += nl;
        uint32_t vl = (uint32_t)p[off] << 24 | (uint32_t)p[off + 1] << 16 |
                      (uint32_t)p[off + 2] << 8 | p[off + 3];
        off += 4;
        if (n - off < vl) {
            eh_bad(st, "READY: property value overruns");
            return;
        }
        const char *want = eh_type_names[st->type];
        if (nl == 11 && strncasecmp((const char *)name, "Socket-Type", 11) == 0) {
            if (vl != strlen(want) || memcmp(p + off, want, vl) != 0) {
                eh_bad(st, "READY: wrong Socket-Type");
                return;
            }
            typed = true;
        }
        if (nl == 8 && strncasecmp((const char *)name, "Identity", 8) == 0 && vl > 255)
            eh_bad(st, "READY: Identity over 255 bytes");
        off += vl;
    }
    if (!typed)
        eh_bad(st, "READY without Socket-Type");
    else
        st->r->peer_ready = true;
}

static void eh_parse_command(eh_state *st, const uint8_t *p, size_t n)
{
    eh_result *r = st->r;
    if (n < 1 || p[0] == 0 || (size_t)p[0] + 1 > n) {
        eh_bad(st, "malformed command");
        return;
    }
    size_t nl = p[0];
    const char *name = (const char *)p + 1;
    r->peer_cmds++;
#define EH_IS(lit) (nl == sizeof(lit) - 1 && memcmp(name, lit, nl) == 0)
    bool secured = st->b2 & EH_B2_SECURITY;
    bool handshake = EH_IS("HELLO") || EH_IS("WELCOME") || EH_IS("INITIATE");
    if (!r->peer_ready && !EH_IS("READY") && !EH_IS("ERROR") && !(secured && handshake)) {
        eh_bad(st, "command before READY");
        return;
    }
    if (handshake && (r->peer_ready || !secured)) {
        eh_bad(st, "a security handshake command outside a PLAIN or CURVE handshake");
        return;
    }
    if (EH_IS("READY")) {
        if (r->peer_ready)
            eh_bad(st, "second READY");
        else
            eh_parse_ready(st, p + 1 + nl, n - 1 - nl);
    } else if (EH_IS("PING")) {
        r->peer_pings++;
        if (n - 1 - nl < 2 || n - 1 - nl > 2 + 16)
            eh_bad(st, "PING of a bad size");
    } else if (EH_IS("PONG")) {
        r->peer_pongs++;
        if (n - 1 - nl > 16)
            eh_bad(st, "PONG context over 16 bytes");
    } else if (EH_IS("ERROR")) {
        r->peer_errors++;
        if (n - 1 - nl < 1 || (size_t)p[1 + nl] + 1 != n - 1 - nl)
            eh_bad(st, "malformed ERROR");
    } else if (EH_IS("SUBSCRIBE") || EH_IS("CANCEL")) {
        r->peer_subs++;
    }
#undef EH_IS
}

/* Parses every complete greeting/frame in st->out and keeps the incomplete rest. */
static void eh_parse(eh_state *st)
{
    size_t pos = 0;
    while (!st->r->peer_bad) {
        const uint8_t *p = st->out + pos;
        size_t avail = st->out_len - pos;
        if (!st->greeted) {
            if (avail < 64)
                break;
            static const char *const mechs[] = {"NULL", "CURVE", "PLAIN", "NULL"};
            const char *mech = mechs[(st->b2 & EH_B2_SECURITY) >> 2];
            if (p[0] != 0xff || p[9] != 0x7f || p[10] != 3 ||
                memcmp(p + 12, mech, strlen(mech) + 1) != 0) {
                eh_bad(st, "bad greeting");
                break;
            }
            st->greeted = true;
            st->r->peer_greeting = true;
            pos += 64;
            continue;
        }
        if (avail < 2)
            break;
        uint8_t flags = p[0];
        if (flags & ~7u) {
            eh_bad(st, "reserved frame flag bits set");
            break;
        }
        size_t hdr = 2;
        uint64_t size = p[1];
        if (flags & 2) {
            if (avail < 9)
                break;
            hdr = 9;
            size = 0;
            for (int i = 1; i <= 8; i++)
                size = size << 8 | p[i];
            if (size >= EH_OUT_MAX) {
                eh_bad(st, "frame larger than anything the harness sent");
                break;
            }
        }
        if (avail - hdr < size)
            break;
        if (flags & 4) {
            if (flags & 1)
                eh_bad(st, "command with MORE");
            else if (st->in_msg)
                eh_bad(st, "command inside a multipart message");
            else
                eh_parse_command(st, p + hdr, (size_t)size);
        } else {
            if (!st->r->peer_ready)
                eh_bad(st, "data frame before READY");
            st->in_msg = flags & 1;
            if (!st->in_msg)
                st->r->peer_msgs++;
        }
        pos += hdr + (size_t)size;
    }
    memmove(st->out, st->out + pos, st->out_len - pos);
    st->out_len -= pos;
}

/* Reads whatever nomid has sent. */
static void eh_read_peer(eh_state *st)
{
    uint8_t buf[16384];
    if (st->twin >= 0 && !st->twin_phase) /* what nomid sends the twin is not checked */
        while (recv(st->twin, buf, sizeof(buf), MSG_DONTWAIT) > 0)
            ;
    if (st->fd < 0 || st->eof)
        return;
    for (;;) {
        ssize_t n = recv(st->fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            st->eof = true;
            return;
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        if (st->twin_phase)
            continue;
        st->r->peer_bytes += (size_t)n;
        if (st->type == NM_STREAM || st->out_total + (size_t)n > EH_OUT_MAX || st->r->peer_bad)
            continue; /* raw bytes, or past what is worth keeping */
        uint8_t *o = realloc(st->out, st->out_len + (size_t)n);
        if (o == NULL)
            abort(); /* the harness's own failure, not nomid's */
        st->out = o;
        memcpy(st->out + st->out_len, buf, (size_t)n);
        st->out_len += (size_t)n;
        st->out_total += (size_t)n;
        eh_parse(st);
    }
}

/* ---- the nomid socket's side ----------------------------------------------------- */

static int eh_send_frames(eh_state *st, const char *f1, const char *f2)
{
    nm_msg_t m;
    nm_msg_init(&m);
    int rc = nm_msg_add(&m, f1, strlen(f1));
    if (rc == 0 && f2 != NULL)
        rc = nm_msg_add(&m, f2, strlen(f2));
    if (rc == 0)
        rc = nm_sock_send(st->s, &m, NM_DONTWAIT);
    if (rc == 0)
        st->r->nm_sent++;
    nm_msg_close(&m);
    return rc;
}

/* The message a type sends on its own (not as a reply). */
static void eh_send_first(eh_state *st)
{
    switch (st->type) {
    case NM_PAIR:
    case NM_PUSH:
    case NM_REQ:
        eh_send_frames(st, "hello from nomid", NULL);
        break;
    case NM_DEALER:
        eh_send_frames(st, "", "hello from nomid"); /* as a REQ would: multipart */
        break;
    case NM_PUB:
    case NM_XPUB:
        eh_send_frames(st, "a-topic", "body");
        break;
    default: /* XSUB subscribed before connecting (eh_setopts) */
        break;
    }
}

/* What nomid does with a message it received. */
static void eh_reply(eh_state *st, nm_msg_t *m)
{
    if (st->replies <= 0)
        return;
    st->replies--;
    int rc = 0;
    switch (st->type) {
    case NM_REP:
    case NM_ROUTER: /* back where it came from: a ROUTER's first frame is the routing id */
    case NM_PAIR:
    case NM_DEALER:
        rc = nm_sock_send(st->s, m, NM_DONTWAIT);
        break;
    case NM_REQ:
        eh_send_frames(st, "again", NULL);
        return;
    case NM_XPUB:
        eh_send_frames(st, "a-topic", "after a subscription");
        return;
    case NM_STREAM:
        if (nm_msg_count(m) >= 1 && nm_msg_size(m, 0) > 0) {
            nm_msg_t out;
            nm_msg_init(&out);
            rc = nm_msg_add(&out, nm_msg_data(m, 0), nm_msg_size(m, 0));
            if (rc == 0)
                rc = nm_msg_add(&out, "stream reply", 12);
            if (rc == 0 && nm_sock_send(st->s, &out, NM_DONTWAIT) == 0)
                st->r->nm_sent++;
            nm_msg_close(&out);
            if (st->b1 & EH_B1_VARIANT) { /* an empty frame closes the connection */
                nm_msg_init(&out);
                if (nm_msg_add(&out, nm_msg_data(m, 0), nm_msg_size(m, 0)) == 0 &&
                    nm_msg_add(&out, "", 0) == 0)
                    nm_sock_send(st->s, &out, NM_DONTWAIT);
                nm_msg_close(&out);
            }
        }
        return;
    default:
        return;
    }
    if (rc == 0)
        st->r->nm_sent++;
}

/* Receives what the nomid socket has (the first receive blocking up to RCVTIMEO when
 * the application-reads bit asks for it) and answers. */
static void eh_drain(eh_state *st, bool block)
{
    for (int i = 0; i < 16; i++) {
        nm_msg_t m;
        nm_msg_init(&m);
        int rc = nm_sock_recv(st->s, &m, block && i == 0 ? 0 : NM_DONTWAIT);
        if (rc < 0) {
            nm_msg_close(&m);
            return;
        }
        st->r->nm_msgs++;
        eh_reply(st, &m);
        nm_msg_close(&m);
    }
}

static int eh_unread(eh_state *st);

/* One round of everything the harness does while nomid works.  block: the application
 * reads (its receive waits up to RCVTIMEO, reading the connection itself), worth it
 * only once a pipe exists and nomid has bytes to read. */
static void eh_pump(eh_state *st, bool block)
{
    eh_read_peer(st);
    eh_drain(st, block && !st->eof && atomic_load(&eh_hs_ok) && eh_unread(st) > 0);
    if (!st->sent_first && atomic_load(&eh_hs_ok)) {
        st->sent_first = true;
        eh_send_first(st);
    }
    eh_read_peer(st);
}

/* ---- writing the input ----------------------------------------------------------- */

/* Bytes written to nomid that its read() has not taken yet. */
static int eh_unread(eh_state *st)
{
    int q = 0;
    if (st->eof || st->wdead || ioctl(st->fd, SIOCOUTQ, &q) < 0)
        return 0;
    return q;
}

/* Waits until nomid has read everything written (or is gone, or the time is up). */
static void eh_wait_read(eh_state *st)
{
    bool app = st->b1 & EH_B1_APP_READS;
    uint64_t until = eh_now_us() + (uint64_t)st->o->eof_ms * 1000u;
    while (eh_unread(st) > 0 && eh_now_us() < until) {
        eh_pump(st, app);
        if (!app)
            sched_yield();
    }
    eh_pump(st, false);
}

static void eh_write(eh_state *st, const uint8_t *p, size_t n)
{
    uint64_t until = eh_now_us() + (uint64_t)st->o->eof_ms * 1000u;
    while (n > 0 && !st->wdead) {
        ssize_t w = send(st->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && eh_now_us() < until) {
            eh_pump(st, st->b1 & EH_B1_APP_READS);
            sched_yield();
            continue;
        }
        st->wdead = true; /* EPIPE/ECONNRESET: nomid dropped us; or stuck */
    }
}

/* ---- set-up ---------------------------------------------------------------------- */

/* The security the input asks for.  The keys are fixed (the secret key is 32 bytes of
 * 0x01; its public key is what a seed would need to open its boxes). */
static void eh_security(eh_state *st)
{
    nm_sock_t *s = st->s;
    bool server = !(st->b0 & EH_B0_CONNECT);
    uint8_t secret[32], public[32];
    memset(secret, 1, sizeof(secret));
    switch ((st->b2 & EH_B2_SECURITY) >> 2) {
    case 1:
        nm_curve_public(public, secret);
        if (server) {
            nm_sock_setopt_int(s, NM_CURVE_SERVER, 1);
        } else {
            nm_sock_setopt(s, NM_CURVE_SERVERKEY, public, 32);
            nm_sock_setopt(s, NM_CURVE_PUBLICKEY, public, 32);
        }
        nm_sock_setopt(s, NM_CURVE_SECRETKEY, secret, 32);
        break;
    case 2:
        if (server) {
            nm_sock_setopt_int(s, NM_PLAIN_SERVER, 1);
        } else {
            nm_sock_setopt(s, NM_PLAIN_USERNAME, "admin", 5);
            nm_sock_setopt(s, NM_PLAIN_PASSWORD, "secret", 6);
        }
        break;
    case 3:
        nm_sock_setopt(s, NM_ZAP_DOMAIN, "fuzz", 4);
        break;
    default:
        break;
    }
}

static void eh_setopts(eh_state *st)
{
    nm_sock_t *s = st->s;
    bool variant = st->b1 & EH_B1_VARIANT;
    nm_sock_setopt_int(s, NM_LINGER, 0);
    nm_sock_setopt_int(s, NM_RECONNECT_IVL, -1);
    nm_sock_setopt_int(s, NM_BUSY_POLL, 0);
    nm_sock_setopt_int(s, NM_RCVTIMEO, 1);
    if (st->b0 & EH_B0_HEARTBEAT) {
        nm_sock_setopt_int(s, NM_HEARTBEAT_IVL, 1);
        nm_sock_setopt_int(s, NM_HEARTBEAT_TTL, 100);
        nm_sock_setopt_int(s, NM_HEARTBEAT_TIMEOUT, (st->b2 & EH_B2_HB_WAIT) ? 1 : 20);
    }
    if (st->b0 & EH_B0_SMALL_HWM) {
        nm_sock_setopt_int(s, NM_RCVHWM, 2);
        nm_sock_setopt_int(s, NM_SNDHWM, 2);
    }
    if (st->b0 & EH_B0_MAXMSG)
        nm_sock_setopt_int(s, NM_MAXMSGSIZE, 64);
    if (st->b1 & EH_B1_RID)
        nm_sock_setopt(s, NM_ROUTING_ID, "nomid-id", 8);
    eh_security(st);
    switch (st->type) {
    case NM_SUB:
        nm_sock_setopt(s, NM_SUBSCRIBE, "a", variant ? 1 : 0);
        break;
    case NM_XPUB:
        nm_sock_setopt_int(s, NM_XPUB_VERBOSE, variant);
        break;
    case NM_XSUB: /* before any peer, so that nothing it sends is filtered out */
        eh_send_frames(st, variant ? "\001a" : "\001", NULL);
        break;
    case NM_ROUTER:
        nm_sock_setopt_int(s, NM_ROUTER_MANDATORY, variant);
        break;
    case NM_REQ:
        nm_sock_setopt_int(s, NM_REQ_RELAXED, variant);
        nm_sock_setopt_int(s, NM_REQ_CORRELATE, variant);
        break;
    default:
        break;
    }
}

/* The harness's end: connects to nomid's listener, or accepts nomid's connection. */
static int eh_connect(eh_state *st, const char *path, const char *ep)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int rc;
    if (st->b0 & EH_B0_CONNECT) {
        if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(fd, 4) < 0) {
            rc = -errno;
            close(fd);
            return rc;
        }
        rc = nm_sock_connect(st->s, ep);
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int lfd = fd;
        fd = -1;
        if (rc == 0 && poll(&pfd, 1, st->o->eof_ms) == 1)
            fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        rc = fd < 0 ? (rc < 0 ? rc : -ETIMEDOUT) : 0;
        close(lfd);
        unlink(path);
        if (rc < 0)
            return rc;
    } else {
        if ((rc = nm_sock_bind(st->s, ep)) < 0) {
            close(fd);
            return rc;
        }
        if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
            rc = -errno;
            close(fd);
            return rc;
        }
        if (st->b2 & EH_B2_TWIN) {
            int twin = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
            if (twin >= 0 && connect(twin, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
                close(twin);
                twin = -1;
            }
            if (twin >= 0)
                fcntl(twin, F_SETFL, fcntl(twin, F_GETFL) | O_NONBLOCK);
            st->twin = twin;
        }
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    st->fd = fd;
    st->r->connected = true;
    return 0;
}

/* ---- a run ----------------------------------------------------------------------- */

/* Sizes of the chunks the input is written in: 1..2^k bytes from a xorshift PRNG. */
static size_t eh_chunk(uint32_t *rng, unsigned sel)
{
    uint32_t x = *rng;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *rng = x;
    return 1 + x % (1u << (sel & 7));
}

static void eh_settle(eh_state *st, uint64_t us, bool (*done)(eh_state *));
static bool eh_outcome_known(eh_state *st);

/* The twin sends the whole input at once and stays connected; then the run's own
 * connection starts with a clean slate (the twin's handshake events forgotten). */
static void eh_twin(eh_state *st, const uint8_t *in, size_t n)
{
    int fd = st->fd;
    st->fd = st->twin;
    st->twin_phase = true;
    eh_write(st, in, n);
    eh_wait_read(st);
    eh_settle(st, (uint64_t)st->o->settle_us, eh_outcome_known);
    st->twin_phase = false;
    if (st->eof || st->wdead) { /* nomid dropped it */
        close(st->twin);
        st->twin = -1;
    }
    st->fd = fd;
    st->eof = st->wdead = false;
    st->sent_first = false;
    st->replies = EH_REPLIES;
    pthread_mutex_lock(&eh_lock);
    eh_fail_reason[0] = '\0';
    atomic_store(&eh_hs_ok, 0);
    atomic_store(&eh_hs_failed, 0);
    pthread_mutex_unlock(&eh_lock);
}

/* Waits up to us microseconds, pumping, while done(st) is false. */
static void eh_settle(eh_state *st, uint64_t us, bool (*done)(eh_state *))
{
    uint64_t until = eh_now_us() + us;
    while (!done(st) && !st->eof && eh_now_us() < until) {
        eh_pump(st, false);
        sched_yield();
    }
}

static bool eh_outcome_known(eh_state *st)
{
    (void)st;
    return atomic_load(&eh_hs_ok) || atomic_load(&eh_hs_failed);
}

static bool eh_never(eh_state *st)
{
    (void)st;
    return false;
}

/* The output a run expects from nomid has arrived. */
static bool eh_output_seen(eh_state *st)
{
    eh_result *r = st->r;
    bool hb = (st->b0 & EH_B0_HEARTBEAT) && st->type != NM_STREAM;
    bool want_msgs = r->nm_sent > 0 && st->type != NM_XSUB && st->type != NM_STREAM;
    return (!hb || r->peer_pings > 0) && (!want_msgs || r->peer_msgs > 0 || r->peer_subs > 0);
}

/* Waits up to us microseconds for the output a run expects, sending its first message
 * again (every millisecond, within the reply budget) while it has not left: the pipe
 * may not have been attached yet, or a PUB may have had no subscription yet. */
static void eh_settle_output(eh_state *st, uint64_t us)
{
    uint64_t now = eh_now_us(), until = now + us, again = now;
    bool pub = st->type == NM_PUB || st->type == NM_XPUB;
    while (!eh_output_seen(st) && !st->eof && now < until) {
        if (now >= again && st->replies > 0 &&
            (st->r->nm_sent == 0 || (pub && st->r->peer_msgs == 0))) {
            st->replies--;
            eh_send_first(st);
            again = now + 1000;
        }
        eh_pump(st, false);
        sched_yield();
        now = eh_now_us();
    }
}

int eh_run(const uint8_t *data, size_t size, const eh_opts *o, eh_result *r)
{
    memset(r, 0, sizeof(*r));
    if (size < EH_HEADER || eh_ctx == NULL)
        return 1;
    eh_state st = {.o = o,
                   .r = r,
                   .fd = -1,
                   .twin = -1,
                   .b0 = data[0],
                   .b1 = data[1],
                   .b2 = data[2],
                   .replies = EH_REPLIES};
    st.type = (data[0] & 0x0f) % 12;
    r->type = st.type;
    r->connect_role = st.b0 & EH_B0_CONNECT;
    const uint8_t *in = data + EH_HEADER;
    size_t n = size - EH_HEADER;

    char path[96], ep[128];
    snprintf(path, sizeof(path), "%s/e%u", eh_dir, ++eh_seq);
    snprintf(ep, sizeof(ep), "ipc://%s", path);
    pthread_mutex_lock(&eh_lock);
    atomic_store(&eh_verbose, o->verbose);
    snprintf(eh_endpoint, sizeof(eh_endpoint), "%s", ep);
    eh_fail_reason[0] = '\0';
    atomic_store(&eh_hs_ok, 0);
    atomic_store(&eh_hs_failed, 0);
    pthread_mutex_unlock(&eh_lock);

    int rc = nm_sock_new(&st.s, eh_ctx, st.type);
    if (rc < 0)
        goto out;
    eh_setopts(&st);
    if (st.b1 & EH_B1_EARLY)
        eh_send_first(&st); /* before any connection: queued, or refused */
    if ((rc = eh_connect(&st, path, ep)) < 0)
        goto out;
    if (st.twin >= 0)
        eh_twin(&st, in, n);

    bool app = st.b1 & EH_B1_APP_READS;
    unsigned sel = st.b1 & EH_B1_CHUNKS;
    uint32_t rng = 0x9e3779b9u * (sel + 1);
    int waits = 0;
    size_t off = 0;
    while (off < n && !st.wdead) {
        size_t len = n - off;
        bool wait = (sel & EH_B1_CHUNKED) && waits < o->max_waits;
        if (wait) {
            size_t c = eh_chunk(&rng, sel);
            len = c < len ? c : len;
        }
        eh_write(&st, in + off, len);
        off += len;
        if (wait) {
            eh_wait_read(&st);
            waits++;
        } else {
            eh_pump(&st, app);
        }
    }
    eh_wait_read(&st);

    /* The outcome of the handshake, then what nomid should send on its own. */
    eh_settle(&st, (uint64_t)o->settle_us, eh_outcome_known);
    eh_pump(&st, false);
    if (atomic_load(&eh_hs_ok)) {
        uint64_t us = (uint64_t)o->settle_us;
        if ((st.b0 & EH_B0_HEARTBEAT) && us < 5000)
            us = 5000; /* a PING is due after 1 ms */
        eh_settle_output(&st, us);
        if ((st.b0 & EH_B0_HEARTBEAT) && (st.b2 & EH_B2_HB_WAIT))
            eh_settle(&st, 15000, eh_never); /* the peer is silent: nomid should drop it */
    }

    /* Half-close: nomid must notice and close its end. */
    shutdown(st.fd, SHUT_WR);
    uint64_t until = eh_now_us() + (uint64_t)o->eof_ms * 1000u;
    while (!st.eof && eh_now_us() < until) {
        eh_pump(&st, false);
        if (!st.eof) {
            struct pollfd pfd = {.fd = st.fd, .events = POLLIN};
            poll(&pfd, 1, 1);
        }
    }
    r->closed = st.eof;
    eh_drain(&st, false);
    rc = 0;

out:
    if (st.fd >= 0)
        close(st.fd);
    if (st.twin >= 0)
        close(st.twin);
    nm_sock_close(&st.s);
    free(st.out);
    pthread_mutex_lock(&eh_lock);
    eh_endpoint[0] = '\0';
    r->hs_ok = atomic_load(&eh_hs_ok);
    r->hs_failed = atomic_load(&eh_hs_failed);
    snprintf(r->fail_reason, sizeof(r->fail_reason), "%s", eh_fail_reason);
    pthread_mutex_unlock(&eh_lock);
    return rc;
}
