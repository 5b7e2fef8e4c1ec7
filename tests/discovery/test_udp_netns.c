/*
 * test_udp_netns.c - beacon sockets between two network namespaces joined by a veth
 * pair: IPv6 link-local multicast (addresses carry the interface as zone), and per-link
 * isolation of IPv4 broadcast and multicast sockets (a socket on the veth never hears
 * loopback and the other way round).
 *
 * The namespaces are named after the pid (nmu6a<pid>, nmu6b<pid>) and deleted by the
 * group teardown; a guard process deletes them too should this process die first.  Each
 * side runs in a forked child that setns()es into its namespace and writes its findings
 * to a pipe; the parent checks them.  Without root or `ip netns` every test is skipped.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "udp.h"

#define NS_ADDR_A "10.211.0.1" /* IPv4 address of the veth end in namespace a */
#define NS_ADDR_B "10.211.0.2" /* and of the one in namespace b */

/* The two namespaces and the veth pair between them. */
typedef struct ns_env {
    bool ok;       /* everything was set up: the tests can run */
    char a[16];    /* name of namespace a */
    char b[16];    /* name of namespace b */
    char va[16];   /* veth end in a */
    char vb[16];   /* veth end in b */
    int guard_fd;  /* write end of the guard's pipe; its closing deletes the namespaces */
    pid_t guard;   /* the guard process, or -1 */
    uint16_t port; /* beacon port of the tests */
} ns_env;

/* What one side found, written by a child to its pipe. */
typedef struct ns_result {
    int rc;                            /* 0, or the -errno of the failing step */
    int line;                          /* the failing step's line */
    char addr[NMD_UDP_ADDRSTRLEN];     /* the socket's own address */
    char host[NMD_UDP_ADDRSTRLEN + 2]; /* its nmd_udp_endpoint_host() */
    char dest[NMD_UDP_ADDRSTRLEN];     /* where its beacons go */
    char log[4][160];                  /* per socket: "data@source;" per datagram */
} ns_result;

typedef int ns_fn(const ns_env *e, int out, ns_result *r);

static ns_env env;

/* Runs a shell command built from fmt; true when it exited 0. */
static bool sh(const char *fmt, ...)
{
    char cmd[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    int st = system(cmd);
    return st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static void ns_delete(const ns_env *e)
{
    sh("ip netns del %s 2>/dev/null; ip netns del %s 2>/dev/null; true", e->a, e->b);
}

/* Forks a process that deletes the namespaces once the pipe's write end, held by this
 * process only, closes: at teardown, or when this process dies in any way. */
static void ns_guard(ns_env *e)
{
    int p[2];
    e->guard = -1;
    e->guard_fd = -1;
    if (pipe(p) < 0)
        return;
    pid_t pid = fork();
    if (pid == 0) {
        close(p[1]);
        setsid(); /* survives a signal sent to the test's process group */
        char c;
        while (read(p[0], &c, 1) != 0 && errno == EINTR)
            ;
        ns_delete(e);
        _exit(0);
    }
    close(p[0]);
    if (pid < 0) {
        close(p[1]);
        return;
    }
    fcntl(p[1], F_SETFD, FD_CLOEXEC);
    e->guard = pid;
    e->guard_fd = p[1];
}

static int group_setup(void **state)
{
    (void)state;
    ns_env *e = &env;
    memset(e, 0, sizeof(*e));
    int pid = (int)getpid();
    snprintf(e->a, sizeof(e->a), "nmu6a%d", pid);
    snprintf(e->b, sizeof(e->b), "nmu6b%d", pid);
    snprintf(e->va, sizeof(e->va), "nmva%d", pid);
    snprintf(e->vb, sizeof(e->vb), "nmvb%d", pid);
    e->port = (uint16_t)(20000 + pid % 20000);
    e->guard = -1;
    e->guard_fd = -1;
    if (geteuid() != 0 || !sh("ip netns add %s 2>/dev/null", e->a))
        return 0;
    ns_guard(e);
    /* No DAD, so the link-local addresses are usable as soon as the links are up. */
    e->ok =
        sh("ip netns add %s", e->b) &&
        sh("ip link add %s netns %s type veth peer name %s netns %s", e->va, e->a, e->vb, e->b) &&
        sh("ip netns exec %s sysctl -qw net.ipv6.conf.%s.accept_dad=0", e->a, e->va) &&
        sh("ip netns exec %s sysctl -qw net.ipv6.conf.%s.accept_dad=0", e->b, e->vb) &&
        sh("ip -n %s addr add %s/24 brd + dev %s", e->a, NS_ADDR_A, e->va) &&
        sh("ip -n %s addr add %s/24 brd + dev %s", e->b, NS_ADDR_B, e->vb) &&
        sh("ip -n %s link set lo up && ip -n %s link set %s up", e->a, e->a, e->va) &&
        sh("ip -n %s link set lo up && ip -n %s link set %s up", e->b, e->b, e->vb);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    ns_delete(&env);
    if (env.guard_fd >= 0)
        close(env.guard_fd);
    if (env.guard > 0)
        waitpid(env.guard, NULL, 0);
    return 0;
}

static void skip_unless_ready(void)
{
    if (!env.ok) {
        print_message("skipped: needs root and `ip netns` with veth pairs\n");
        skip();
    }
}

/* Runs fn in a child inside namespace ns; returns the child, *rfd its pipe. */
static pid_t ns_run(const char *ns, ns_fn *fn, int *rfd)
{
    int p[2];
    if (pipe(p) < 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        ns_result r;
        memset(&r, 0, sizeof(r));
        char path[64];
        snprintf(path, sizeof(path), "/var/run/netns/%s", ns);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
            r.rc = -errno;
            r.line = __LINE__;
            (void)!write(p[1], "R", 1);
        } else {
            fn(&env, p[1], &r);
        }
        (void)!write(p[1], &r, sizeof(r));
        _exit(0);
    }
    close(p[1]);
    if (pid < 0) {
        close(p[0]);
        return -1;
    }
    *rfd = p[0];
    return pid;
}

/* Reads exactly n bytes from fd within ms milliseconds. */
static bool ns_read(int fd, void *buf, size_t n, int ms)
{
    size_t got = 0;
    while (got < n) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, ms) <= 0)
            return false;
        ssize_t k = read(fd, (char *)buf + got, n - got);
        if (k <= 0)
            return false;
        got += (size_t)k;
    }
    return true;
}

/* Collects a child's result and reaps it (killing it if it is late). */
static void ns_finish(pid_t pid, int fd, ns_result *r)
{
    memset(r, 0, sizeof(*r));
    if (!ns_read(fd, r, sizeof(*r), 10000)) {
        r->rc = -ETIMEDOUT;
        kill(pid, SIGKILL);
    }
    close(fd);
    waitpid(pid, NULL, 0);
}

#define NS_TRY(r, expr)                                                                            \
    do {                                                                                           \
        int rc_ = (expr);                                                                          \
        if (rc_ < 0) {                                                                             \
            (r)->rc = rc_;                                                                         \
            (r)->line = __LINE__;                                                                  \
            return rc_;                                                                            \
        }                                                                                          \
    } while (0)

static uint64_t ns_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Waits up to 3 s for dev's link-local address (the link may still be coming up). */
static int ns_wait_ll(const char *dev, char *addr)
{
    uint64_t until = ns_ms() + 3000;
    int rc;
    while ((rc = nmd_udp_ifaddr(dev, AF_INET6, addr, NMD_UDP_ADDRSTRLEN, NULL)) == -ENODEV &&
           ns_ms() < until)
        usleep(20000);
    return rc;
}

/* Appends every datagram waiting on u to log, for up to ms milliseconds while
 * fewer than want have arrived. */
static void ns_collect(nmd_udp *u, char *log, size_t cap, int want, int ms)
{
    uint64_t until = ns_ms() + (uint64_t)ms;
    int got = 0;
    for (;;) {
        char buf[64], src[NMD_UDP_ADDRSTRLEN];
        ssize_t n = nmd_udp_recv(u, buf, sizeof(buf) - 1, src, sizeof(src));
        if (n >= 0) {
            buf[n] = '\0';
            size_t l = strlen(log);
            snprintf(log + l, cap - l, "%s@%s;", buf, src);
            got++;
            continue;
        }
        uint64_t now = ns_ms();
        if (got >= want || now >= until)
            return;
        struct pollfd p = {.fd = u->fd, .events = POLLIN};
        poll(&p, 1, (int)(until - now));
    }
}

static void ns_describe(const nmd_udp *u, ns_result *r)
{
    snprintf(r->addr, sizeof(r->addr), "%s", u->addr);
    nmd_udp_endpoint_host(u, r->host, sizeof(r->host));
    getnameinfo((const struct sockaddr *)&u->dest, u->destlen, r->dest, sizeof(r->dest), NULL, 0,
                NI_NUMERICHOST);
}

/* ---- IPv6 link-local multicast ---- */

/* Namespace b: opens by address (link-local with zone), reports what arrives. */
static int v6_receiver(const ns_env *e, int out, ns_result *r)
{
    char addr[NMD_UDP_ADDRSTRLEN];
    nmd_udp u;
    int rc = ns_wait_ll(e->vb, addr);
    if (rc == 0)
        rc = nmd_udp_open(&u, addr, NMD_UDP_GROUP6, e->port, 1);
    (void)!write(out, "R", 1);
    NS_TRY(r, rc);
    ns_describe(&u, r);
    ns_collect(&u, r->log[0], sizeof(r->log[0]), 1, 3000);
    nmd_udp_close(&u);
    return 0;
}

/* Namespace a: opens by name, sends once, reports its own looped-back datagram. */
static int v6_sender(const ns_env *e, int out, ns_result *r)
{
    char addr[NMD_UDP_ADDRSTRLEN];
    nmd_udp u;
    (void)!write(out, "R", 1);
    NS_TRY(r, ns_wait_ll(e->va, addr));
    NS_TRY(r, nmd_udp_open(&u, e->va, NMD_UDP_GROUP6, e->port, 1));
    ns_describe(&u, r);
    int rc = nmd_udp_send(&u, "hello6", 6);
    if (rc == 0)
        ns_collect(&u, r->log[0], sizeof(r->log[0]), 1, 2000);
    nmd_udp_close(&u);
    NS_TRY(r, rc);
    return 0;
}

/* Whether s ends with "%" dev. */
static bool ends_with_zone(const char *s, const char *dev)
{
    const char *pct = strrchr(s, '%');
    return pct != NULL && strcmp(pct + 1, dev) == 0;
}

static void test_ipv6_link_local(void **state)
{
    (void)state;
    skip_unless_ready();
    int rfd, sfd;
    char c;
    pid_t rpid = ns_run(env.b, v6_receiver, &rfd);
    assert_true(rpid > 0);
    assert_true(ns_read(rfd, &c, 1, 5000)); /* the receiver is listening */
    pid_t spid = ns_run(env.a, v6_sender, &sfd);
    assert_true(spid > 0);
    assert_true(ns_read(sfd, &c, 1, 5000));
    ns_result rr, sr;
    ns_finish(spid, sfd, &sr);
    ns_finish(rpid, rfd, &rr);
    print_message("sender %s (rc %d line %d), receiver %s (rc %d line %d) got \"%s\"\n", sr.addr,
                  sr.rc, sr.line, rr.addr, rr.rc, rr.line, rr.log[0]);
    assert_int_equal(sr.rc, 0);
    assert_int_equal(rr.rc, 0);

    /* Own addresses: link-local, zoned with the veth's name. */
    assert_memory_equal(sr.addr, "fe80:", 5);
    assert_true(ends_with_zone(sr.addr, env.va));
    assert_true(ends_with_zone(rr.addr, env.vb));
    char host[sizeof(sr.host)];
    snprintf(host, sizeof(host), "[%s]", sr.addr);
    assert_string_equal(sr.host, host);
    char dest[64];
    snprintf(dest, sizeof(dest), "%s%%%s", NMD_UDP_GROUP6, env.va);
    assert_string_equal(sr.dest, dest);

    /* The receiver saw the sender's address, zoned with its own interface. */
    char want[160];
    size_t pl = (size_t)(strchr(sr.addr, '%') - sr.addr);
    snprintf(want, sizeof(want), "hello6@%.*s%%%s;", (int)pl, sr.addr, env.vb);
    assert_string_equal(rr.log[0], want);
    /* And the sender its own datagram, looped back. */
    snprintf(want, sizeof(want), "hello6@%s;", sr.addr);
    assert_string_equal(sr.log[0], want);
}

/* ---- IPv4: each socket hears its own link only ---- */

/* Namespace b: broadcast and multicast sockets on the veth and on loopback.  Waits for
 * a's datagrams on the veth, then sends on loopback, then logs what each socket got. */
static int v4_listener(const ns_env *e, int out, ns_result *r)
{
    nmd_udp u[4];
    const char *ifs[4] = {e->vb, e->vb, "lo", "lo"};
    const char *groups[4] = {NMD_UDP_BROADCAST, NMD_UDP_GROUP, NMD_UDP_BROADCAST, NMD_UDP_GROUP};
    int n = 0, rc = 0;
    for (; n < 4 && rc == 0; n++)
        rc = nmd_udp_open(&u[n], ifs[n], groups[n], e->port, 1);
    (void)!write(out, "R", 1);
    if (rc == 0) {
        ns_describe(&u[0], r);
        ns_collect(&u[0], r->log[0], sizeof(r->log[0]), 1, 3000);
        ns_collect(&u[1], r->log[1], sizeof(r->log[1]), 1, 3000);
        if ((rc = nmd_udp_send(&u[2], "bc-lo", 5)) == 0)
            rc = nmd_udp_send(&u[3], "mc-lo", 5);
        for (int i = 0; i < 4 && rc == 0; i++)
            ns_collect(&u[i], r->log[i] + strlen(r->log[i]), sizeof(r->log[i]) - strlen(r->log[i]),
                       i >= 2 ? 1 : 0, 300);
    }
    for (int i = 0; i < n; i++)
        nmd_udp_close(&u[i]); /* a failed open left fd -1 */
    NS_TRY(r, rc);
    return 0;
}

/* Namespace a: a broadcast and a multicast beacon on the veth; logs its broadcast
 * socket's looped-back copy. */
static int v4_sender(const ns_env *e, int out, ns_result *r)
{
    nmd_udp b, m;
    (void)!write(out, "R", 1);
    NS_TRY(r, nmd_udp_open(&b, NS_ADDR_A, NMD_UDP_BROADCAST, e->port, 1));
    int rc = nmd_udp_open(&m, e->va, NMD_UDP_GROUP, e->port, 1);
    if (rc == 0) {
        ns_describe(&b, r);
        if ((rc = nmd_udp_send(&b, "bc-a", 4)) == 0 && (rc = nmd_udp_send(&m, "mc-a", 4)) == 0)
            ns_collect(&b, r->log[0], sizeof(r->log[0]), 1, 2000);
        nmd_udp_close(&m);
    }
    nmd_udp_close(&b);
    NS_TRY(r, rc);
    return 0;
}

static void test_ipv4_links_apart(void **state)
{
    (void)state;
    skip_unless_ready();
    int rfd, sfd;
    char c;
    pid_t rpid = ns_run(env.b, v4_listener, &rfd);
    assert_true(rpid > 0);
    assert_true(ns_read(rfd, &c, 1, 5000));
    pid_t spid = ns_run(env.a, v4_sender, &sfd);
    assert_true(spid > 0);
    assert_true(ns_read(sfd, &c, 1, 5000));
    ns_result rr, sr;
    ns_finish(spid, sfd, &sr);
    ns_finish(rpid, rfd, &rr);
    print_message("sender rc %d line %d, listener rc %d line %d\n", sr.rc, sr.line, rr.rc, rr.line);
    for (int i = 0; i < 4; i++)
        print_message("listener socket %d: %s\n", i, rr.log[i]);
    assert_int_equal(sr.rc, 0);
    assert_int_equal(rr.rc, 0);

    assert_string_equal(sr.addr, NS_ADDR_A);
    assert_string_equal(sr.host, NS_ADDR_A);
    assert_string_equal(sr.dest, "10.211.0.255");
    assert_string_equal(sr.log[0], "bc-a@" NS_ADDR_A ";");
    assert_string_equal(rr.addr, NS_ADDR_B);
    assert_string_equal(rr.dest, "10.211.0.255");
    assert_string_equal(rr.log[0], "bc-a@" NS_ADDR_A ";"); /* veth, broadcast */
    assert_string_equal(rr.log[1], "mc-a@" NS_ADDR_A ";"); /* veth, multicast */
    assert_string_equal(rr.log[2], "bc-lo@127.0.0.1;");    /* loopback, broadcast */
    assert_string_equal(rr.log[3], "mc-lo@127.0.0.1;");    /* loopback, multicast */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipv6_link_local),
        cmocka_unit_test(test_ipv4_links_apart),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
