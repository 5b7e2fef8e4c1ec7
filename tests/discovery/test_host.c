/*
 * test_host.c - the host channel (discovery/host.h): its codec, then agents in one
 * process beaconing on loopback every 100 ms: a node serving its host's members, a
 * remote node, and members joined through the first.  A member resolves the fleet's
 * instances and the node's own services, and its services reach the remote node through
 * the node's beacons while the member sends none; members resolve each other; a member
 * that leaves is withdrawn at once; a second node of the fleet cannot serve the same
 * host; a hostile client is dropped while the node keeps serving; a member follows its
 * node through a restart.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "host.h"

#define MS 1000000ull

static char fleet[32]; /* unique per run: the channel's name is per network namespace */

/* ---- the codec ---- */

static nmd_host_msg msg, back;
static uint8_t buf[NMD_HOST_MSG_MAX];

static void fill_member(nmd_host_msg *m)
{
    memset(m, 0, sizeof(*m));
    m->type = NMD_HOST_MEMBER;
    memset(m->id, 9, 16);
    m->incarnation = 77;
    strcpy(m->name, "host/python3-42");
    strcpy(m->admin_host, "10.0.0.1");
    m->admin_port = 40000;
    m->nservices = 2;
    strcpy(m->services[0].name, "camera");
    m->services[0].type = 1;
    strcpy(m->services[0].endpoint, "tcp://0.0.0.0:5556");
    strcpy(m->services[1].name, "cmd");
    m->services[1].type = 4;
    strcpy(m->services[1].endpoint, "ipc:///tmp/cmd");
    m->services[1].has_key = true;
    memset(m->services[1].curve_key, 3, 32);
}

static void test_codec_round_trip(void **state)
{
    (void)state;
    fill_member(&msg);
    int n = nmd_host_encode(&msg, buf, sizeof(buf));
    assert_true(n > 0);
    assert_int_equal(nmd_host_decode(buf, (size_t)n, &back), 0);
    assert_int_equal(back.type, NMD_HOST_MEMBER);
    assert_memory_equal(back.id, msg.id, 16);
    assert_int_equal(back.incarnation, 77);
    assert_string_equal(back.name, "host/python3-42");
    assert_int_equal(back.admin_port, 40000);
    assert_string_equal(back.admin_host, "10.0.0.1");
    assert_int_equal(back.nservices, 2);
    assert_true(nmd_service_same(&back.services[1], &msg.services[1]));

    memset(&msg, 0, sizeof(msg));
    msg.type = NMD_HOST_WELCOME;
    strcpy(msg.name, "robot1");
    strcpy(msg.fleet, "default");
    msg.nifaces = 2;
    strcpy(msg.ifaces[0], "eth0");
    strcpy(msg.ifaces[1], "broadcast:wlan0");
    n = nmd_host_encode(&msg, buf, sizeof(buf));
    assert_int_equal(nmd_host_decode(buf, (size_t)n, &back), 0);
    assert_string_equal(back.fleet, "default");
    assert_int_equal(back.nifaces, 2);
    assert_string_equal(back.ifaces[1], "broadcast:wlan0");

    msg.fleet[0] = '\0'; /* a fleet is never empty */
    assert_int_equal(nmd_host_encode(&msg, buf, sizeof(buf)), -EINVAL);
}

static void test_codec_hostile(void **state)
{
    (void)state;
    fill_member(&msg);
    int n = nmd_host_encode(&msg, buf, sizeof(buf));
    for (int cut = 0; cut < n; cut++) /* every truncation */
        assert_int_equal(nmd_host_decode(buf, (size_t)cut, &back), -EPROTO);
    buf[n] = 0; /* a trailing byte */
    assert_int_equal(nmd_host_decode(buf, (size_t)n + 1, &back), -EPROTO);
    buf[4] = 2; /* another version */
    assert_int_equal(nmd_host_decode(buf, (size_t)n, &back), -EPROTONOSUPPORT);
    buf[4] = 1;
    buf[5] = 9; /* an unknown type */
    assert_int_equal(nmd_host_decode(buf, (size_t)n, &back), -EPROTONOSUPPORT);
    buf[5] = NMD_HOST_MEMBER;
    buf[6 + 16 + 4 + 1] = '\n'; /* a control character in the name */
    assert_int_equal(nmd_host_decode(buf, (size_t)n, &back), -EPROTO);
    /* A count beyond the limit, whatever follows. */
    msg.type = NMD_HOST_UP;
    msg.nservices = 1;
    n = nmd_host_encode(&msg, buf, sizeof(buf));
    buf[6] = 0;
    buf[7] = NMD_HOST_SERVICES + 1;
    assert_int_equal(nmd_host_decode(buf, (size_t)n, &back), -EPROTO);
    msg.nservices = NMD_HOST_SERVICES + 1;
    assert_int_equal(nmd_host_encode(&msg, buf, sizeof(buf)), -EINVAL);
    /* One service, encoded without a message: the same bytes. */
    fill_member(&msg);
    msg.type = NMD_HOST_DOWN;
    msg.nservices = 1;
    msg.services[0] = msg.services[1]; /* the keyed one */
    n = nmd_host_encode(&msg, buf, sizeof(buf));
    uint8_t one[NMD_HOST_ONE_MAX];
    assert_int_equal(nmd_host_encode_one(NMD_HOST_DOWN, &msg.services[0], one, sizeof(one)), n);
    assert_memory_equal(one, buf, (size_t)n);
    assert_int_equal(nmd_host_encode_one(NMD_HOST_MEMBER, &msg.services[0], one, sizeof(one)),
                     -EINVAL);
}

/* ---- agents ---- */

static uint16_t test_port(void)
{
    return (uint16_t)(20000 + (getpid() + 13) % 20000);
}

static void config(nmd_agent_config *cfg, const char *name)
{
    nmd_agent_config_init(cfg);
    snprintf(cfg->name, sizeof(cfg->name), "%s", name);
    snprintf(cfg->fleet, sizeof(cfg->fleet), "%s", fleet);
    cfg->interval_ns = 100 * MS;
    cfg->port = test_port();
}

static nmd_agent *start_node(const char *name)
{
    nmd_agent_config cfg;
    config(&cfg, name);
    nmd_agent *a = NULL;
    assert_int_equal(nmd_agent_start(&a, &cfg), 0);
    return a;
}

/* A member agent joined through the host's node, as the membership library makes one. */
static nmd_agent *start_member(const char *name, nmd_host_link **link)
{
    nmd_host_msg *w = &back;
    assert_int_equal(nmd_host_join(link, fleet, w, 1000), 0);
    assert_string_equal(w->fleet, fleet);
    assert_int_equal(w->nifaces, 1);
    assert_string_equal(w->ifaces[0], "127.0.0.1");
    nmd_agent_config cfg;
    config(&cfg, name);
    cfg.beacon = false;
    cfg.nbackends = 1;
    cfg.backends[0].ops = &nmd_host_backend;
    cfg.backends[0].ctx = *link;
    nmd_agent *a = NULL;
    assert_int_equal(nmd_agent_start(&a, &cfg), 0);
    return a;
}

static char last_ep[256];

static void remember_cb(void *arg, const nmd_peer *p, const nmd_service *s)
{
    (void)arg;
    (void)p;
    snprintf(last_ep, sizeof(last_ep), "%s", s->endpoint);
}

/* Polls until `name` resolves to want instances on a, within ms. */
static bool wait_resolve(nmd_agent *a, const char *name, size_t want, long ms)
{
    for (long el = 0; el <= ms; el += 10) {
        if (nmd_agent_resolve(a, name, remember_cb, NULL) == want)
            return true;
        usleep(10000);
    }
    return false;
}

typedef struct count_peers {
    int host; /* peers of backend "host" */
    uint8_t id[16];
} count_peers;

static void count_cb(void *arg, const nmd_peer *p)
{
    count_peers *c = arg;
    if (p->backend == NMD_BACKEND_HOST) {
        c->host++;
        memcpy(c->id, p->id, 16);
    }
}

static int host_peers(nmd_agent *a, uint8_t id[16])
{
    count_peers c = {0};
    nmd_agent_peers(a, count_cb, &c);
    if (id != NULL)
        memcpy(id, c.id, 16);
    return c.host;
}

/* Polls until node has want peers of backend "host", within ms. */
static bool wait_host_peers(nmd_agent *node, int want, long ms)
{
    for (long el = 0; el <= ms; el += 10) {
        if (host_peers(node, NULL) == want)
            return true;
        usleep(10000);
    }
    return false;
}

static void test_no_node(void **state)
{
    (void)state;
    nmd_host_link *l = NULL;
    assert_int_equal(nmd_host_join(&l, "no-node-of-this-fleet", &back, 100), -ECONNREFUSED);
    assert_null(l);
}

static void test_members(void **state)
{
    (void)state;
    nmd_agent *node = start_node("node"), *remote = start_node("remote");
    assert_int_equal(nmd_agent_advertise(node, "nodesvc", 4, "tcp://*:7001", NULL), 0);
    assert_int_equal(nmd_agent_advertise(remote, "remotesvc", 4, "tcp://127.0.0.1:7002", NULL), 0);
    nmd_host *h = NULL, *second = NULL;
    assert_int_equal(nmd_host_start(&h, node), 0);
    assert_int_equal(nmd_host_start(&second, remote), -EADDRINUSE); /* one per host */

    nmd_host_link *l1 = NULL, *l2 = NULL;
    nmd_agent *m1 = start_member("m1", &l1);
    /* The fleet's instances, and the node's own service with this host's address. */
    assert_true(wait_resolve(m1, "remotesvc", 1, 3000));
    assert_string_equal(last_ep, "tcp://127.0.0.1:7002");
    assert_true(wait_resolve(m1, "nodesvc", 1, 1000));
    assert_string_equal(last_ep, "tcp://127.0.0.1:7001");

    /* Its service goes out in the node's beacons; the member sends none. */
    assert_int_equal(nmd_agent_advertise(m1, "m1svc", 2, "tcp://0.0.0.0:7003", NULL), 0);
    assert_true(wait_resolve(remote, "m1svc", 1, 3000));
    assert_string_equal(last_ep, "tcp://127.0.0.1:7003");
    nmd_agent_stats st;
    nmd_agent_get_stats(m1, &st);
    assert_int_equal(st.sent, 0);
    uint8_t id[16], mine[16];
    uint32_t inc;
    assert_true(wait_host_peers(node, 1, 1000));
    assert_int_equal(host_peers(node, id), 1);
    nmd_agent_identity(m1, mine, &inc);
    assert_memory_equal(id, mine, 16);

    /* Members resolve each other; a member does not get its own service back. */
    nmd_agent *m2 = start_member("m2", &l2);
    assert_true(wait_resolve(m2, "m1svc", 1, 3000));
    assert_string_equal(last_ep, "tcp://127.0.0.1:7003");
    assert_int_equal(nmd_agent_resolve(m1, "m1svc", NULL, NULL), 0);

    /* A member that leaves is gone at once, here and for the remote node. */
    nmd_agent_stop(&m1);
    nmd_host_link_close(&l1);
    assert_true(wait_resolve(m2, "m1svc", 0, 1000));
    assert_true(wait_resolve(remote, "m1svc", 0, 1000));
    assert_true(wait_host_peers(node, 1, 1000)); /* m2 */

    /* The node restarts its channel: m2 forgets, then follows it. */
    nmd_host_stop(&h);
    assert_true(wait_resolve(m2, "remotesvc", 0, 1000));
    assert_int_equal(nmd_host_start(&h, node), 0);
    assert_true(wait_resolve(m2, "remotesvc", 1, 3000));
    assert_true(wait_host_peers(node, 1, 3000)); /* m2 told the new channel who it is */

    nmd_agent_stop(&m2);
    nmd_host_link_close(&l2);
    nmd_host_stop(&h);
    nmd_agent_stop(&remote);
    nmd_agent_stop(&node);
}

/* A client that speaks nonsense is dropped; the node goes on serving. */
static void test_hostile_client(void **state)
{
    (void)state;
    nmd_agent *node = start_node("node");
    nmd_host *h = NULL;
    assert_int_equal(nmd_host_start(&h, node), 0);
    const char *junk[] = {"NMDH\x01\x03", "garbage", "NMDH\x01\x02short"};
    for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
        struct sockaddr_un sa;
        socklen_t len = nmd_host_sockaddr(fleet, &sa);
        int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
        assert_int_equal(connect(fd, (struct sockaddr *)&sa, len), 0);
        ssize_t n = recv(fd, buf, sizeof(buf), 0); /* the welcome */
        assert_int_equal(nmd_host_decode(buf, (size_t)n, &back), 0);
        assert_int_equal(back.type, NMD_HOST_WELCOME);
        /* the welcome's UP messages may follow; then EOF after the junk */
        assert_true(send(fd, junk[i], strlen(junk[i]), 0) > 0);
        while ((n = recv(fd, buf, sizeof(buf), 0)) > 0)
            ;
        assert_int_equal(n, 0);
        close(fd);
    }
    assert_int_equal(host_peers(node, NULL), 0);
    nmd_host_link *l = NULL;
    nmd_agent *m = start_member("m", &l);
    assert_int_equal(nmd_agent_advertise(m, "msvc", 2, "tcp://0.0.0.0:7004", NULL), 0);
    assert_true(wait_host_peers(node, 1, 3000));
    nmd_agent_stop(&m);
    nmd_host_link_close(&l);
    nmd_host_stop(&h);
    nmd_agent_stop(&node);
}

int main(void)
{
    snprintf(fleet, sizeof(fleet), "test-host-%d", (int)getpid());
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codec_round_trip), cmocka_unit_test(test_codec_hostile),
        cmocka_unit_test(test_no_node),          cmocka_unit_test(test_members),
        cmocka_unit_test(test_hostile_client),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
