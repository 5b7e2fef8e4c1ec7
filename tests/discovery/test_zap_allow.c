/*
 * test_zap_allow.c - the allow-list ZAP handler (discovery/zap_allow.c) in front of a
 * real CURVE server socket over tcp: a client whose certificate is in the directory is
 * served and its messages carry the certificate's name as User-Id; an unknown key is
 * refused (HANDSHAKE_FAILED_AUTH, nothing delivered); a certificate copied into the
 * directory admits its holder a second later without a restart, one removed refuses it;
 * a second handler in the same context is refused; stop is prompt.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cert.h"
#include "nomid.h"
#include "zap_allow.h"

typedef struct fixture {
    char dir[64];       /* the allow directory */
    char spare[80];     /* a certificate kept outside it */
    nm_ctx_t *ctx;      /* one context for handler and sockets */
    nmd_zap_allow *zap; /* the handler */
    nm_sock_t *server;  /* CURVE server, bound */
    char ep[64];        /* where */
    nmd_cert scert;     /* server's certificate */
} fixture;

static void save_cert(const char *path, const char *name, nmd_cert *c)
{
    char err[256];
    assert_int_equal(nmd_cert_generate(c), 0);
    if (name != NULL)
        assert_int_equal(nmd_cert_set_meta(c, "name", name), 0);
    int rc = nmd_cert_save(c, path, false, err, sizeof(err));
    if (rc != 0)
        fail_msg("%s", err);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    strcpy(f->dir, "/tmp/nomid-zap-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->spare, sizeof(f->spare), "%s.spare", f->dir);
    assert_int_equal(nm_ctx_new(&f->ctx), 0);
    assert_int_equal(nm_sock_new(&f->server, f->ctx, NM_PULL), 0);
    assert_int_equal(nmd_cert_generate(&f->scert), 0);
    assert_int_equal(nm_sock_setopt_int(f->server, NM_CURVE_SERVER, 1), 0);
    assert_int_equal(nm_sock_setopt(f->server, NM_CURVE_SECRETKEY, f->scert.secret_key, 32), 0);
    assert_int_equal(nm_sock_bind(f->server, "tcp://127.0.0.1:*"), 0);
    size_t len = sizeof(f->ep);
    assert_int_equal(nm_sock_getopt(f->server, NM_LAST_ENDPOINT, f->ep, &len), 0);
    *state = f;
    return 0;
}

static void rm_cert(const char *path)
{
    char secret[160];
    snprintf(secret, sizeof(secret), "%s_secret", path);
    unlink(path);
    unlink(secret);
}

static int teardown(void **state)
{
    fixture *f = *state;
    nm_sock_close(&f->server);
    nmd_zap_allow_stop(&f->zap);
    nm_ctx_destroy(&f->ctx);
    char path[128];
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s/client%d", f->dir, i);
        rm_cert(path);
    }
    rm_cert(f->spare);
    rmdir(f->dir);
    free(f);
    return 0;
}

/* A PUSH client with c's keys and the server's key, connected, with a monitor. */
static nm_sock_t *client(fixture *f, const nmd_cert *c)
{
    nm_sock_t *s;
    assert_int_equal(nm_sock_new(&s, f->ctx, NM_PUSH), 0);
    assert_int_equal(nm_sock_setopt(s, NM_CURVE_SERVERKEY, f->scert.public_key, 32), 0);
    assert_int_equal(nm_sock_setopt(s, NM_CURVE_PUBLICKEY, c->public_key, 32), 0);
    assert_int_equal(nm_sock_setopt(s, NM_CURVE_SECRETKEY, c->secret_key, 32), 0);
    assert_int_equal(nm_sock_setopt_int(s, NM_LINGER, 0), 0);
    assert_int_equal(nm_sock_connect(s, f->ep), 0);
    return s;
}

/* Sends text from a client with c's keys: the User-Id the server saw it with, or NULL
 * (into user) when nothing arrived within a second. */
static bool deliver(fixture *f, const nmd_cert *c, const char *text, char *user, size_t cap)
{
    nm_sock_t *s = client(f, c);
    /* A refused client may have no pipe to queue on: its send then times out. */
    assert_int_equal(nm_sock_setopt_int(s, NM_SNDTIMEO, 1000), 0);
    int rc = nm_sock_send_bytes(s, text, strlen(text), 0);
    if (rc == -EAGAIN) {
        nm_sock_close(&s);
        return false;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(nm_sock_setopt_int(f->server, NM_RCVTIMEO, 1000), 0);
    nm_msg_t m;
    nm_msg_init(&m);
    rc = nm_sock_recv(f->server, &m, 0);
    bool got = rc == 0;
    if (got) {
        assert_int_equal(nm_msg_size(&m, 0), strlen(text));
        assert_memory_equal(nm_msg_data(&m, 0), text, strlen(text));
        size_t n;
        const char *u = nm_props_get(nm_msg_props(&m), "User-Id", &n);
        assert_non_null(u);
        assert_true(n < cap);
        memcpy(user, u, n);
        user[n] = '\0';
    } else {
        assert_int_equal(rc, -EAGAIN);
    }
    nm_msg_close(&m);
    nm_sock_close(&s);
    return got;
}

static void failed_cb(void *arg, const nm_sock_stats_t *st)
{
    if (st->type == NM_PULL)
        *(uint64_t *)arg += st->handshakes_failed;
}

/* Handshakes the server (the context's only PULL) refused. */
static uint64_t handshakes_failed(fixture *f)
{
    uint64_t n = 0;
    assert_int_equal(nm_ctx_stats(f->ctx, failed_cb, NULL, &n), 0);
    return n;
}

static void test_admits_only_certificates_in_dir(void **state)
{
    fixture *f = *state;
    char path[128], err[256], user[128];
    nmd_cert known, named, stranger;
    snprintf(path, sizeof(path), "%s/client0", f->dir);
    save_cert(path, NULL, &known);
    snprintf(path, sizeof(path), "%s/client1", f->dir);
    save_cert(path, "camera-front", &named);
    save_cert(f->spare, "stranger", &stranger);
    assert_int_equal(nmd_zap_allow_start(&f->zap, f->ctx, f->dir, err, sizeof(err)), 0);
    assert_int_equal(nmd_zap_allow_count(f->zap), 2);

    assert_true(deliver(f, &named, "one", user, sizeof(user)));
    assert_string_equal(user, "camera-front");
    char z85[41];
    assert_true(deliver(f, &known, "two", user, sizeof(user)));
    assert_string_equal(user, nm_z85_encode(z85, known.public_key, 32));

    uint64_t failed = handshakes_failed(f);
    assert_false(deliver(f, &stranger, "three", user, sizeof(user)));
    assert_true(handshakes_failed(f) > failed);
}

static void copy_file(const char *from, const char *to)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", from, to);
    assert_int_equal(system(cmd), 0);
}

static void test_directory_read_again(void **state)
{
    fixture *f = *state;
    char path[128], err[256], user[128];
    nmd_cert late;
    save_cert(f->spare, "late", &late);
    assert_int_equal(nmd_zap_allow_start(&f->zap, f->ctx, f->dir, err, sizeof(err)), 0);
    assert_int_equal(nmd_zap_allow_count(f->zap), 0);
    assert_false(deliver(f, &late, "before", user, sizeof(user)));

    snprintf(path, sizeof(path), "%s/client2", f->dir);
    copy_file(f->spare, path); /* the public file only */
    usleep(1100 * 1000);
    assert_true(deliver(f, &late, "after", user, sizeof(user)));
    assert_string_equal(user, "late");
    assert_int_equal(nmd_zap_allow_count(f->zap), 1);

    unlink(path);
    usleep(1100 * 1000);
    assert_false(deliver(f, &late, "removed", user, sizeof(user)));
    assert_int_equal(nmd_zap_allow_count(f->zap), 0);
}

static void test_one_handler_per_context(void **state)
{
    fixture *f = *state;
    char err[256];
    nmd_zap_allow *second = NULL;
    assert_int_equal(nmd_zap_allow_start(&f->zap, f->ctx, f->dir, err, sizeof(err)), 0);
    assert_int_equal(nmd_zap_allow_start(&second, f->ctx, f->dir, err, sizeof(err)), -EADDRINUSE);
    assert_null(second);
    assert_non_null(strstr(err, "zeromq.zap.01"));
    assert_int_equal(nmd_zap_allow_start(&second, f->ctx, "/nonexistent/nomid", err, sizeof(err)),
                     -ENOENT);
    assert_non_null(strstr(err, "/nonexistent/nomid"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_admits_only_certificates_in_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_directory_read_again, setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_handler_per_context, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
