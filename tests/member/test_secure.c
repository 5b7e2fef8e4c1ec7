/*
 * test_secure.c - a member program's binds and connects with a certificate
 * (member/secure.c), on a real context over tcp: a bind an --advertise spec names is a
 * CURVE server with the certificate (its key reaches the event hook, the socket's
 * mechanism is NULL again after it), the allow list's handler admits a client whose
 * certificate is in the directory and refuses another; a bind no spec names, and a
 * socket on which the program chose PLAIN, are left as they are; a svc:// connect gets
 * the certificate's pair and connects over CURVE to an instance whose key the resolver
 * gives; the handler stops once the context is shut down, so destroy does not wait.
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
#include "secure.h"

typedef struct fixture {
    char dir[64];           /* the allow directory */
    nm_ctx_t *ctx;          /* the member context */
    nmd_cert mine;          /* the program's certificate (in the directory) */
    nmd_cert client;        /* a client's (in the directory) */
    disc_opts opts;         /* as NOMID_CURVE_CERT and NOMID_CURVE_ALLOW set them */
    member_spec spec;       /* --advertise cam=tcp://127.0.0.1:* */
    bool listening;         /* the hook saw a LISTENING event */
    bool keyed;             /* ... with a key from member_secure_bind_key */
    uint8_t key[32];        /* that key */
    const char *svc_ep;     /* the instance the resolver reports, or NULL */
    const uint8_t *svc_key; /* its key */
} fixture;

static void save_cert(const char *dir, const char *name, nmd_cert *c)
{
    char path[160], err[256];
    assert_int_equal(nmd_cert_generate(c), 0);
    assert_int_equal(nmd_cert_set_meta(c, "name", name), 0);
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    assert_int_equal(nmd_cert_save(c, path, false, err, sizeof(err)), 0);
    strcat(path, NMD_CERT_SECRET_SUFFIX); /* an allow directory holds public halves */
    assert_int_equal(unlink(path), 0);
}

static void hook_cb(void *arg, const nm_event_info_t *ev)
{
    fixture *f = arg;
    if (ev->event != NM_EVENT_LISTENING)
        return;
    const uint8_t *key = member_secure_bind_key();
    f->listening = true;
    f->keyed = key != NULL;
    if (key != NULL)
        memcpy(f->key, key, sizeof(f->key));
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    strcpy(f->dir, "/tmp/nomid-secure-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    save_cert(f->dir, "mine", &f->mine);
    save_cert(f->dir, "client", &f->client);
    f->opts.cert = f->mine;
    f->opts.has_cert = true;
    strcpy(f->opts.allow, f->dir);
    const char *why;
    assert_int_equal(member_spec_parse("cam=tcp://127.0.0.1:*", &f->spec, &why), 0);
    assert_int_equal(nm_ctx_new(&f->ctx), 0);
    nm_ctx_set_event_hook(f->ctx, hook_cb, f);
    assert_int_equal(member_secure_start(f->ctx, &f->opts, &f->spec, 1), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    nm_ctx_shutdown(f->ctx);
    member_secure_stop(); /* after the shutdown: the handler's sockets close */
    nm_ctx_destroy(&f->ctx);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static int mechanism(nm_sock_t *s)
{
    int v = -1;
    assert_int_equal(nm_sock_getopt_int(s, NM_MECHANISM, &v), 0);
    return v;
}

/* A PULL connecting to ep, a CURVE client of server_key with pair c (NULL: NULL
 * mechanism), with a handshake done within ms (1) or not (-EAGAIN). */
static int peers_of_client(fixture *f, const char *ep, const uint8_t *server_key, const nmd_cert *c,
                           int ms)
{
    nm_sock_t *s;
    assert_int_equal(nm_sock_new(&s, f->ctx, NM_PULL), 0);
    if (c != NULL) {
        assert_int_equal(nm_sock_setopt(s, NM_CURVE_SERVERKEY, server_key, 32), 0);
        assert_int_equal(nm_sock_setopt(s, NM_CURVE_PUBLICKEY, c->public_key, 32), 0);
        assert_int_equal(nm_sock_setopt(s, NM_CURVE_SECRETKEY, c->secret_key, 32), 0);
    }
    assert_int_equal(nm_sock_connect(s, ep), 0);
    int n = nm_sock_wait_peers(s, 1, ms);
    nm_sock_setopt_int(s, NM_LINGER, 0);
    nm_sock_close(&s);
    return n;
}

static void last_endpoint(nm_sock_t *s, char *ep, size_t cap)
{
    assert_int_equal(nm_sock_getopt(s, NM_LAST_ENDPOINT, ep, &cap), 0);
}

static void test_advertised_bind_is_a_curve_server(void **state)
{
    fixture *f = *state;
    nm_sock_t *s;
    char ep[128];
    assert_int_equal(nm_sock_new(&s, f->ctx, NM_PUSH), 0);
    assert_int_equal(member_secure_endpoint(s, "tcp://127.0.0.1:*", true), 0);
    assert_true(f->listening && f->keyed);
    assert_memory_equal(f->key, f->mine.public_key, 32);
    assert_null(member_secure_bind_key()); /* only inside the bind */
    assert_int_equal(mechanism(s), NM_MECH_NULL);
    last_endpoint(s, ep, sizeof(ep));
    assert_int_equal(peers_of_client(f, ep, f->mine.public_key, &f->client, 5000), 1);
    nmd_cert stranger;
    assert_int_equal(nmd_cert_generate(&stranger), 0);
    assert_int_equal(peers_of_client(f, ep, f->mine.public_key, &stranger, 500), -EAGAIN);
    assert_int_equal(peers_of_client(f, ep, NULL, NULL, 500), -EAGAIN);
    nm_sock_close(&s);
}

static void test_other_bind_is_left_alone(void **state)
{
    fixture *f = *state;
    nm_sock_t *s;
    char ep[128];
    assert_int_equal(nm_sock_new(&s, f->ctx, NM_PUSH), 0);
    assert_int_equal(member_secure_endpoint(s, NULL, true), -EINVAL); /* the program's bug */
    assert_int_equal(member_secure_endpoint(s, NULL, false), -EINVAL);
    assert_int_equal(member_secure_endpoint(s, "tcp://127.0.0.2:*", true), 0);
    assert_true(f->listening && !f->keyed);
    assert_int_equal(mechanism(s), NM_MECH_NULL);
    last_endpoint(s, ep, sizeof(ep));
    assert_int_equal(peers_of_client(f, ep, NULL, NULL, 5000), 1);
    nm_sock_close(&s);
}

static void test_program_mechanism_is_kept(void **state)
{
    fixture *f = *state;
    nm_sock_t *s;
    assert_int_equal(nm_sock_new(&s, f->ctx, NM_PUSH), 0);
    assert_int_equal(nm_sock_setopt_int(s, NM_PLAIN_SERVER, 1), 0);
    assert_int_equal(member_secure_endpoint(s, "tcp://127.0.0.1:*", true), 0);
    assert_true(f->listening && !f->keyed);
    assert_int_equal(mechanism(s), NM_MECH_PLAIN);
    nm_sock_close(&s);
}

static int watch_cb(void *arg, const char *name, nm_svc_watch_t *w, void **cookie)
{
    fixture *f = arg;
    (void)name;
    *cookie = NULL;
    if (f->svc_ep != NULL)
        nm_svc_update_key(w, f->svc_ep, NM_PUSH, true, f->svc_key);
    return 0;
}

static void unwatch_cb(void *arg, nm_svc_watch_t *w, void *cookie)
{
    (void)arg, (void)w, (void)cookie;
}

static void test_svc_connect_uses_the_pair(void **state)
{
    fixture *f = *state;
    nm_sock_t *server, *client, *plain;
    char ep[128];
    nm_resolver_t r = {.watch = watch_cb, .unwatch = unwatch_cb, .arg = f};
    nm_ctx_set_resolver(f->ctx, &r);
    assert_int_equal(nm_sock_new(&server, f->ctx, NM_PUSH), 0);
    assert_int_equal(member_secure_endpoint(server, "tcp://127.0.0.1:*", true), 0);
    last_endpoint(server, ep, sizeof(ep));
    f->svc_ep = ep;
    f->svc_key = f->mine.public_key;
    assert_int_equal(nm_sock_new(&client, f->ctx, NM_PULL), 0);
    assert_int_equal(member_secure_endpoint(client, "svc://cam", false), 0);
    assert_int_equal(mechanism(client), NM_MECH_NULL);
    uint8_t pub[32];
    size_t len = sizeof(pub);
    assert_int_equal(nm_sock_getopt(client, NM_CURVE_PUBLICKEY, pub, &len), 0);
    assert_memory_equal(pub, f->mine.public_key, 32);
    /* Admitted: the pair is the certificate's, which the allow directory holds. */
    assert_int_equal(nm_sock_wait_peers(client, 1, 5000), 1);
    /* A tcp connect is left as the program set it: no pair given. */
    assert_int_equal(nm_sock_new(&plain, f->ctx, NM_PULL), 0);
    assert_int_equal(member_secure_endpoint(plain, "tcp://127.0.0.1:1", false), 0);
    len = sizeof(pub);
    assert_int_equal(nm_sock_getopt(plain, NM_CURVE_PUBLICKEY, pub, &len), 0);
    static const uint8_t zero[32];
    assert_memory_equal(pub, zero, 32);
    nm_sock_close(&plain);
    nm_sock_close(&client);
    nm_sock_close(&server);
    nm_ctx_set_resolver(f->ctx, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_advertised_bind_is_a_curve_server, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_bind_is_left_alone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_program_mechanism_is_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_svc_connect_uses_the_pair, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
