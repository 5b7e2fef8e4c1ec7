/*
 * test_ctx_opts.c - context options: NM_CTX_IO_THREADS really runs several I/O threads
 * and spreads the sockets (their listeners and connections) over them; NM_CTX_MAX_SOCKETS
 * caps the sockets open at once; bad values are refused.
 */
#include <dirent.h>

#include "core/core.h"
#include "testutil.h"

/* How many of this process's threads are named nomid-io/N. */
static int io_threads_running(void)
{
    DIR *d = opendir("/proc/self/task");
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char path[300], name[32] = "";
        snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
        FILE *f = fopen(path, "r");
        if (f == NULL)
            continue;
        n += fgets(name, sizeof(name), f) != NULL && strncmp(name, "nomid-io/", 9) == 0;
        fclose(f);
    }
    closedir(d);
    return n;
}

static void test_io_threads(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    int v = 0;
    TU_OK(nm_ctx_get(ctx, NM_CTX_IO_THREADS, &v));
    assert_int_equal(v, 1);
    assert_int_equal(io_threads_running(), 1);
    TU_OK(nm_ctx_set(ctx, NM_CTX_IO_THREADS, 4));
    TU_OK(nm_ctx_get(ctx, NM_CTX_IO_THREADS, &v));
    assert_int_equal(v, 4);
    assert_int_equal(io_threads_running(), 4);

    /* Eight PUSH -> PULL pairs over tcp: sixteen sockets, four on each thread, all
     * passing messages. */
    enum { PAIRS = 8 };
    nm_sock_t *pull[PAIRS], *push[PAIRS];
    int per_io[4] = {0};
    for (int i = 0; i < PAIRS; i++) {
        char ep[TU_EP_MAX];
        pull[i] = tu_sock(ctx, NM_PULL);
        push[i] = tu_sock(ctx, NM_PUSH);
        tu_bind_tcp(pull[i], ep, sizeof(ep));
        TU_OK(nm_sock_connect(push[i], ep));
        per_io[((nmi_sock *)pull[i])->io->index]++;
        per_io[((nmi_sock *)push[i])->io->index]++;
    }
    for (int t = 0; t < 4; t++)
        assert_int_equal(per_io[t], 4);
    for (int round = 0; round < 100; round++)
        for (int i = 0; i < PAIRS; i++)
            tu_send_str(push[i], "spread");
    for (int round = 0; round < 100; round++)
        for (int i = 0; i < PAIRS; i++)
            tu_recv_strs(pull[i], 1, "spread");
    for (int i = 0; i < PAIRS; i++) {
        nm_sock_close(&push[i]);
        nm_sock_close(&pull[i]);
    }
    /* Fewer for new sockets: the threads keep running, new sockets use io[0] only. */
    TU_OK(nm_ctx_set(ctx, NM_CTX_IO_THREADS, 1));
    nm_sock_t *s = tu_sock(ctx, NM_PAIR);
    assert_int_equal(((nmi_sock *)s)->io->index, 0);
    assert_int_equal(io_threads_running(), 4);
    nm_sock_close(&s);
    TU_RC(nm_ctx_set(ctx, NM_CTX_IO_THREADS, 0), -EINVAL);
    TU_RC(nm_ctx_set(ctx, NM_CTX_IO_THREADS, 65), -EINVAL);
    TU_RC(nm_ctx_set(ctx, 99, 1), -EINVAL);
    TU_RC(nm_ctx_get(ctx, 99, &v), -EINVAL);
    tu_ctx_destroy(&ctx);
    assert_int_equal(io_threads_running(), 0);
}

static void test_max_sockets(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    int v = -1;
    TU_OK(nm_ctx_get(ctx, NM_CTX_MAX_SOCKETS, &v));
    assert_int_equal(v, 0);
    TU_OK(nm_ctx_set(ctx, NM_CTX_MAX_SOCKETS, 2));
    nm_sock_t *a = tu_sock(ctx, NM_PAIR), *b = tu_sock(ctx, NM_PUSH), *c = NULL;
    TU_RC(nm_sock_new(&c, ctx, NM_PAIR), -EMFILE);
    nm_sock_close(&b);
    tu_wait_gone(ctx, NM_PUSH); /* freed on the I/O thread */
    TU_OK(nm_sock_new(&c, ctx, NM_PAIR));
    TU_RC(nm_ctx_set(ctx, NM_CTX_MAX_SOCKETS, -1), -EINVAL);
    /* NM_CTX_IPV6: the default of the sockets made after it. */
    TU_OK(nm_ctx_set(ctx, NM_CTX_MAX_SOCKETS, 0));
    TU_OK(nm_ctx_set(ctx, NM_CTX_IPV6, 1));
    TU_OK(nm_ctx_get(ctx, NM_CTX_IPV6, &v));
    assert_int_equal(v, 1);
    nm_sock_t *six = tu_sock(ctx, NM_PAIR);
    TU_OK(nm_sock_getopt_int(six, NM_IPV6, &v));
    assert_int_equal(v, 1);
    TU_OK(nm_sock_getopt_int(a, NM_IPV6, &v));
    assert_int_equal(v, 0);
    nm_sock_close(&six);
    TU_RC(nm_ctx_set(ctx, NM_CTX_IPV6, 2), -EINVAL);
    nm_sock_close(&a);
    nm_sock_close(&c);
    tu_ctx_destroy(&ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_io_threads),
        cmocka_unit_test(test_max_sockets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
