/*
 * test_conn_reader.c - handing a connection's reader (conn->rowner) between an
 * application thread reading it directly (conn_direct.c) and the I/O thread.
 *
 * These drive the protocol's functions on a connection made by hand (no descriptor,
 * no I/O thread: its command list is looked at instead).  When the I/O thread claims
 * the reader (to close the connection) while the application's turn ends, it gets the
 * reader back whichever way the turn lets go: to nobody (taken by the claim), or
 * handed back with work (NMI_CMD_READ, which the claim must not wait for: only the I/O
 * thread itself would run it).
 */
#include "../core/testutil.h"

#include "engine/engine.h"

typedef struct reader_fixture {
    nmi_sock sock; /* its signaler is all the claim touches */
    nmi_io io;     /* its command list receives NMI_CMD_READ */
    nmi_pipe pipe; /* only looked at for NULL */
    nmi_conn conn;
} reader_fixture;

static reader_fixture *fixture_new(void)
{
    reader_fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    TU_OK(nmi_signaler_init(&f->sock.sig));
    TU_OK(nmi_signaler_init(&f->io.sig));
    nmi_cmdq_init(&f->io.cmds);
    nmi_conn *c = &f->conn;
    c->pollable.fd = -1;
    c->sock = &f->sock;
    c->io = &f->io;
    c->pipe = &f->pipe;
    atomic_init(&c->refs, 1);
    atomic_init(&c->state, NMI_CONN_ACTIVE);
    atomic_init(&c->rowner, NMI_READER_NONE);
    pthread_mutex_init(&c->watch_lock, NULL);
    return f;
}

static void fixture_free(reader_fixture *f)
{
    free(f->conn.stash);
    pthread_mutex_destroy(&f->conn.watch_lock);
    nmi_cmdq_fini(&f->io.cmds);
    nmi_signaler_fini(&f->io.sig);
    nmi_signaler_fini(&f->sock.sig);
    free(f);
}

/* The I/O thread's side: claim the reader on a thread of its own. */
typedef struct claim_run {
    nmi_conn *c;
    bool took; /* what nmi_conn_claim_reader returned */
} claim_run;

static void *claim_main(void *arg)
{
    claim_run *r = arg;
    r->took = nmi_conn_claim_reader(r->c);
    return NULL;
}

/* Starts a claim and waits until it asks the application to let go. */
static pthread_t claim_start(claim_run *r)
{
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, claim_main, r), 0);
    int64_t deadline = tu_now_ms() + 2000;
    while (!atomic_load(&r->c->rreclaim) && tu_now_ms() < deadline)
        tu_sleep_ms(1);
    assert_true(atomic_load(&r->c->rreclaim));
    tu_sleep_ms(20); /* let it spin */
    return t;
}

/* The turn ends with nothing left over: the claim takes the reader. */
static void test_claim_takes_released_reader(void **state)
{
    (void)state;
    reader_fixture *f = fixture_new();
    nmi_conn *c = &f->conn;
    assert_true(nmi_conn_direct_begin(c));
    claim_run r = {.c = c};
    pthread_t t = claim_start(&r);
    nmi_conn_direct_end(c);
    tu_join(t, 2000);
    assert_true(r.took);
    assert_int_equal(atomic_load(&c->rowner), NMI_READER_IO);
    assert_int_equal(atomic_load(&c->rreclaim), 0);
    assert_false(atomic_load(&f->io.cmds.pending));
    fixture_free(f);
}

/* The turn stopped at a command frame: the stash goes to the I/O thread with
 * NMI_CMD_READ, queued behind the claim.  The claim returns (not taken by it) and the
 * command is there to give the reader back. */
static void test_claim_meets_handover(void **state)
{
    (void)state;
    reader_fixture *f = fixture_new();
    nmi_conn *c = &f->conn;
    assert_true(nmi_conn_direct_begin(c));
    claim_run r = {.c = c};
    pthread_t t = claim_start(&r);
    c->stash = malloc(4);
    assert_non_null(c->stash);
    c->stash_len = 4;
    nmi_conn_direct_end(c);
    tu_join(t, 2000);
    assert_false(r.took);
    assert_int_equal(atomic_load(&c->rowner), NMI_READER_IO);
    assert_int_equal(atomic_load(&c->rreclaim), 0);
    assert_int_equal(atomic_load(&c->refs), 2); /* the command's reference */
    nmi_cmd *cmds;
    size_t n = nmi_cmdq_take(&f->io.cmds, &cmds);
    assert_int_equal(n, 1);
    assert_int_equal(cmds[0].type, NMI_CMD_READ);
    assert_ptr_equal(cmds[0].obj, c);
    free(cmds);
    fixture_free(f);
}

/* While a claim waits, a new turn is refused. */
static void test_no_turn_while_claimed(void **state)
{
    (void)state;
    reader_fixture *f = fixture_new();
    nmi_conn *c = &f->conn;
    assert_true(nmi_conn_direct_begin(c));
    claim_run r = {.c = c};
    pthread_t t = claim_start(&r);
    nmi_conn_direct_end(c);
    tu_join(t, 2000);
    assert_true(r.took);
    assert_false(nmi_conn_direct_begin(c)); /* the I/O thread holds it */
    atomic_store(&c->rowner, NMI_READER_NONE);
    assert_true(nmi_conn_direct_begin(c));
    nmi_conn_direct_end(c);
    assert_int_equal(atomic_load(&c->rowner), NMI_READER_NONE);
    fixture_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_claim_takes_released_reader),
        cmocka_unit_test(test_claim_meets_handover),
        cmocka_unit_test(test_no_turn_while_claimed),
    };
    return cmocka_run_group_tests_name("conn_reader", tests, NULL, NULL);
}
