/*
 * zap_allow.c - the allow-list ZAP handler (see zap_allow.h).
 *
 * Threads: nmd_zap_allow_start makes both sockets and the list, then starts the thread;
 * from then on the thread alone uses `rep`, `ctl_in`, `list` and `loaded_ns`, and the
 * owner alone uses `ctl` (its end of the stop pair).  `count` is written by the thread
 * and read by anyone (atomic).  nmd_zap_allow_stop sends one message on `ctl`, joins
 * the thread, then frees what the thread used.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

#include "cert.h"
#include "dlog.h"
#include "zap_allow.h"

#define ZAP_RELOAD_NS 1000000000u /* a directory is read at most once a second */
#define ZAP_FRAMES    6           /* version, id, domain, address, identity, mechanism */

struct nmd_zap_allow {
    pthread_t thread;   /* answers requests */
    nm_sock_t *rep;     /* bound to NMD_ZAP_ENDPOINT (the thread's) */
    nm_sock_t *ctl;     /* the owner's end of the stop pair */
    nm_sock_t *ctl_in;  /* the thread's end */
    char dir[4096];     /* the allow directory */
    nmd_cert_list list; /* the certificates in force (the thread's) */
    uint64_t loaded_ns; /* when dir was last read (the thread's) */
    atomic_int count;   /* list.n, for anyone */
};

static void zap_skip_cb(void *arg, const char *path, const char *reason)
{
    (void)arg;
    nmd_log(NM_LOG_WARN, "zap", "%s: skipped: %s", path, reason);
}

/* Reads the directory into a new list that replaces the old one when it loads. */
static int zap_load(nmd_zap_allow *z, char *err, size_t errsz)
{
    nmd_cert_list l = {0};
    int rc = nmd_cert_dir_load(&l, z->dir, zap_skip_cb, NULL, err, errsz);
    z->loaded_ns = nm_clock_ns();
    if (rc < 0) {
        nmd_cert_list_fini(&l);
        return rc;
    }
    nmd_cert_list_fini(&z->list);
    z->list = l;
    atomic_store(&z->count, l.n);
    return 0;
}

static bool zap_frame_is(const nm_msg_t *m, size_t i, const char *text)
{
    size_t n = strlen(text);
    return nm_msg_size(m, i) == n && memcmp(nm_msg_data(m, i), text, n) == 0;
}

/* The frame as text for a log line (cut, control bytes left to nmd_log). */
static void zap_frame_text(const nm_msg_t *m, size_t i, char *out, size_t cap)
{
    size_t n = nm_msg_size(m, i) < cap - 1 ? nm_msg_size(m, i) : cap - 1;
    memcpy(out, nm_msg_data(m, i), n);
    out[n] = '\0';
}

/* Decides on request m: the status code, its text and the User-Id (which must hold
 * NMD_CERT_META_VALUE_MAX + 1 bytes). */
static const char *zap_decide(nmd_zap_allow *z, const nm_msg_t *m, const char **text, char *user)
{
    char addr[64], mech[16], z85[NMD_CERT_Z85_LEN + 1];
    user[0] = '\0';
    if (nm_msg_count(m) < ZAP_FRAMES || !zap_frame_is(m, 0, "1.0")) {
        *text = "malformed request";
        return "500";
    }
    zap_frame_text(m, 3, addr, sizeof(addr));
    if (!zap_frame_is(m, 5, "CURVE") || nm_msg_count(m) != ZAP_FRAMES + 1 ||
        nm_msg_size(m, 6) != NMD_CERT_KEY_LEN) {
        zap_frame_text(m, 5, mech, sizeof(mech));
        nmd_log(NM_LOG_WARN, "zap", "refused a %s client from %s: only CURVE keys in %s", mech,
                addr, z->dir);
        *text = "only CURVE clients with a certificate";
        return "400";
    }
    if (nm_clock_ns() - z->loaded_ns >= ZAP_RELOAD_NS) {
        char err[256];
        if (zap_load(z, err, sizeof(err)) < 0)
            nmd_log(NM_LOG_WARN, "zap", "%s (keeping the %d certificates read before)", err,
                    z->list.n);
    }
    const uint8_t *key = nm_msg_data(m, 6);
    const nmd_cert *c = nmd_cert_list_find(&z->list, key);
    nm_z85_encode(z85, key, NMD_CERT_KEY_LEN);
    if (c == NULL) {
        nmd_log(NM_LOG_WARN, "zap", "refused CURVE client %s from %s: no certificate in %s", z85,
                addr, z->dir);
        *text = "no certificate for this key";
        return "400";
    }
    const char *name = nmd_cert_meta_get(c, "name");
    strlcpy(user, name != NULL && name[0] != '\0' ? name : z85, NMD_CERT_META_VALUE_MAX + 1);
    *text = "OK";
    return "200";
}

/* Answers one request; a reply that cannot be sent is logged (the asking socket then
 * waits for its HANDSHAKE_IVL). */
static void zap_answer(nmd_zap_allow *z, const nm_msg_t *req)
{
    char user[NMD_CERT_META_VALUE_MAX + 1];
    const char *text, *code = zap_decide(z, req, &text, user);
    nm_msg_t rep;
    nm_msg_init(&rep);
    int rc = nm_msg_add(&rep, "1.0", 3);
    if (rc == 0)
        rc = nm_msg_count(req) > 1 ? nm_msg_add(&rep, nm_msg_data(req, 1), nm_msg_size(req, 1))
                                   : nm_msg_add(&rep, "", 0);
    if (rc == 0)
        rc = nm_msg_add(&rep, code, 3);
    if (rc == 0)
        rc = nm_msg_add(&rep, text, strlen(text));
    if (rc == 0)
        rc = nm_msg_add(&rep, user, strlen(user));
    if (rc == 0)
        rc = nm_msg_add(&rep, "", 0); /* no metadata */
    if (rc == 0)
        rc = nm_sock_send(z->rep, &rep, 0);
    if (rc < 0)
        nmd_log(NM_LOG_WARN, "zap", "cannot answer a request: %s", nm_strerror(rc));
    nm_msg_close(&rep);
}

static void *zap_thread(void *arg)
{
    nmd_zap_allow *z = arg;
    nm_pollitem_t items[2] = {{.sock = z->rep, .events = NM_POLLIN},
                              {.sock = z->ctl_in, .events = NM_POLLIN}};
    for (;;) {
        int rc = nm_poll(items, 2, -1);
        if (rc < 0 && rc != -EINTR)
            break;
        if (items[1].revents & NM_POLLIN)
            break; /* nmd_zap_allow_stop */
        if (!(items[0].revents & NM_POLLIN))
            continue;
        nm_msg_t req;
        nm_msg_init(&req);
        if (nm_sock_recv(z->rep, &req, NM_DONTWAIT) == 0)
            zap_answer(z, &req);
        nm_msg_close(&req);
    }
    return NULL;
}

static void zap_free(nmd_zap_allow *z)
{
    nm_sock_close(&z->rep);
    nm_sock_close(&z->ctl);
    nm_sock_close(&z->ctl_in);
    nmd_cert_list_fini(&z->list);
    free(z);
}

/* The stop pair: an inproc name of its own, z's address making it unique. */
static int zap_pair(nmd_zap_allow *z, nm_ctx_t *ctx)
{
    char ep[64];
    snprintf(ep, sizeof(ep), "inproc://nomid.zap-allow.%p", (void *)z);
    int rc = nm_sock_new(&z->ctl_in, ctx, NM_PAIR);
    if (rc == 0)
        rc = nm_sock_bind(z->ctl_in, ep);
    if (rc == 0)
        rc = nm_sock_new(&z->ctl, ctx, NM_PAIR);
    if (rc == 0)
        rc = nm_sock_connect(z->ctl, ep);
    return rc;
}

int nmd_zap_allow_start(nmd_zap_allow **zp, nm_ctx_t *ctx, const char *dir, char *err, size_t errsz)
{
    nmd_zap_allow *z = calloc(1, sizeof(*z));
    if (z == NULL) {
        snprintf(err, errsz, "out of memory");
        return -ENOMEM;
    }
    if (strlcpy(z->dir, dir, sizeof(z->dir)) >= sizeof(z->dir)) {
        snprintf(err, errsz, "%.64s...: path too long", dir);
        free(z);
        return -ENAMETOOLONG;
    }
    int rc = zap_load(z, err, errsz);
    if (rc == 0 && (rc = nm_sock_new(&z->rep, ctx, NM_REP)) == 0 &&
        (rc = nm_sock_bind(z->rep, NMD_ZAP_ENDPOINT)) < 0)
        snprintf(err, errsz, "%s: %s (another ZAP handler?)", NMD_ZAP_ENDPOINT, nm_strerror(rc));
    else if (rc == 0 && (rc = zap_pair(z, ctx)) < 0)
        snprintf(err, errsz, "ZAP handler: %s", nm_strerror(rc));
    if (rc == 0 && (rc = -pthread_create(&z->thread, NULL, zap_thread, z)) < 0)
        snprintf(err, errsz, "ZAP handler thread: %s", strerror(-rc));
    if (rc < 0) {
        zap_free(z);
        return rc;
    }
    *zp = z;
    return 0;
}

void nmd_zap_allow_stop(nmd_zap_allow **zp)
{
    nmd_zap_allow *z = *zp;
    if (z == NULL)
        return;
    *zp = NULL;
    /* After nm_ctx_shutdown the send fails with NM_ETERM, and so does the thread's
     * nm_poll, which ends it: join it either way. */
    int rc = nm_sock_send_bytes(z->ctl, "", 0, 0);
    if (rc < 0 && rc != NM_ETERM) { /* a connected inproc pair with room; never hang */
        nmd_log(NM_LOG_ERROR, "zap", "cannot stop the ZAP handler: %s", nm_strerror(rc));
        return;
    }
    pthread_join(z->thread, NULL);
    zap_free(z);
}

int nmd_zap_allow_count(nmd_zap_allow *z)
{
    return atomic_load(&z->count);
}
