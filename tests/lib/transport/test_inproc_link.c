/*
 * test_inproc_link.c - the life of an inproc link (transport/inproc.c) when one side
 * goes or cannot be joined.
 *
 * A reader draining a link whose writer filled it and then closed never wakes the
 * closed (freed) socket: under AddressSanitizer such a wakeup is a use after free.
 * Inproc joins any two types, as libzmq does, early connects included.
 */
#include "../core/testutil.h"

/* PUSH fills the link (its sends fail and it asks for room), closes and is freed; the
 * PULL then drains what it left.  Each read that makes room must not wake the PUSH. */
static void test_inproc_drain_after_writer_freed(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *pull = tu_sock(ctx, NM_PULL);
    nm_sock_t *push = tu_sock(ctx, NM_PUSH);
    TU_OK(nm_sock_setopt_int(pull, NM_RCVHWM, 2));
    TU_OK(nm_sock_setopt_int(push, NM_SNDHWM, 2));
    TU_OK(nm_sock_bind(pull, "inproc://drain-after-close"));
    TU_OK(nm_sock_connect(push, "inproc://drain-after-close"));
    int sent = 0, rc;
    while ((rc = nm_sock_send_bytes(push, "fill", 4, NM_DONTWAIT)) == 0)
        sent++;
    TU_RC(rc, -EAGAIN);
    assert_true(sent >= 2);
    nm_sock_close(&push);
    tu_wait_gone(ctx, NM_PUSH);
    tu_sleep_ms(20); /* the registry lets go just before the memory does */
    /* A socket made now may get the freed one's eventfd number. */
    nm_sock_t *other = tu_sock(ctx, NM_PULL);
    for (int i = 0; i < sent; i++)
        tu_recv_str(pull, "fill");
    tu_recv_none(pull, 20);
    nm_sock_close(&other);
    tu_ctx_destroy(&ctx);
}

/* As libzmq, inproc joins any two types: a PAIR that connected before the bind and
 * queued a message, and one that connects after, both feed the PULL that binds. */
static void test_inproc_joins_any_types(void **state)
{
    (void)state;
    nm_ctx_t *ctx = tu_ctx();
    nm_sock_t *early = tu_sock(ctx, NM_PAIR), *late = tu_sock(ctx, NM_PAIR);
    TU_OK(nm_sock_connect(early, "inproc://any-types"));
    TU_OK(nm_sock_send_bytes(early, "early", 5, NM_DONTWAIT));
    nm_sock_t *pull = tu_sock(ctx, NM_PULL);
    TU_OK(nm_sock_bind(pull, "inproc://any-types"));
    TU_OK(nm_sock_connect(late, "inproc://any-types"));
    nm_msg_t m;
    TU_OK(tu_recv_wait(pull, &m, 1000));
    tu_assert_strs(&m, 1, "early");
    nm_msg_close(&m);
    tu_send_str(late, "late");
    tu_recv_str(pull, "late");
    tu_ctx_destroy(&ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inproc_drain_after_writer_freed),
        cmocka_unit_test(test_inproc_joins_any_types),
    };
    return cmocka_run_group_tests_name("inproc_link", tests, NULL, NULL);
}
