/*
 * linux.c - platform.h on Linux: CLOCK_MONOTONIC, eventfd signalers and epoll.
 */
#include <errno.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <poll.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "platform/platform.h"

uint64_t nmi_clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int nmi_signaler_init(nmi_signaler *s)
{
    s->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    return s->fd < 0 ? -errno : 0;
}

void nmi_signaler_fini(nmi_signaler *s)
{
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
}

void nmi_signaler_send(nmi_signaler *s)
{
    uint64_t one = 1;
    /* EAGAIN means the counter is saturated: the waiter will wake anyway. */
    while (write(s->fd, &one, sizeof(one)) < 0 && errno == EINTR)
        ;
}

int nmi_signaler_wait(nmi_signaler *s, int timeout_ms)
{
    uint64_t v;
    if (read(s->fd, &v, sizeof(v)) == sizeof(v))
        return 0;
    struct pollfd pfd = {.fd = s->fd, .events = POLLIN};
    int rc = poll(&pfd, 1, timeout_ms);
    if (rc < 0 && errno == EINTR)
        return -EINTR;
    if (rc <= 0)
        return -EAGAIN;
    return read(s->fd, &v, sizeof(v)) == sizeof(v) ? 0 : -EAGAIN;
}

int nmi_signaler_wait_fd(nmi_signaler *s, int fd, int timeout_ms)
{
    uint64_t v;
    struct pollfd pfd[2] = {{.fd = s->fd, .events = POLLIN}, {.fd = fd, .events = POLLIN}};
    int rc = poll(pfd, 2, timeout_ms);
    if (rc < 0 && errno == EINTR)
        return -EINTR;
    if (rc <= 0)
        return 0;
    if (pfd[0].revents & POLLIN)
        return read(s->fd, &v, sizeof(v)) == sizeof(v) ? 1 : 0;
    return pfd[1].revents ? 2 : 0;
}

int nmi_poller_new(int *pfd)
{
    *pfd = epoll_create1(EPOLL_CLOEXEC);
    return *pfd < 0 ? -errno : 0;
}

static uint32_t poller_events(bool in, bool out)
{
    return (in ? EPOLLIN | EPOLLRDHUP : 0) | (out ? EPOLLOUT : 0) | EPOLLET;
}

int nmi_poller_add(int pfd, nmi_pollable *p, bool out)
{
    struct epoll_event ev = {.events = poller_events(true, out), .data.ptr = p};
    return epoll_ctl(pfd, EPOLL_CTL_ADD, p->fd, &ev) < 0 ? -errno : 0;
}

void nmi_poller_set(int pfd, nmi_pollable *p, bool in, bool out)
{
    struct epoll_event ev = {.events = poller_events(in, out), .data.ptr = p};
    epoll_ctl(pfd, EPOLL_CTL_MOD, p->fd, &ev);
}

void nmi_poller_del(int pfd, nmi_pollable *p)
{
    epoll_ctl(pfd, EPOLL_CTL_DEL, p->fd, NULL);
}

int nmi_poller_wait(int pfd, int timeout_ms)
{
    struct epoll_event evs[64];
    int n = epoll_wait(pfd, evs, 64, timeout_ms);
    for (int i = 0; i < n; i++) {
        unsigned e = 0;
        if (evs[i].events & (EPOLLIN | EPOLLRDHUP))
            e |= NMI_POLL_IN;
        if (evs[i].events & EPOLLOUT)
            e |= NMI_POLL_OUT;
        if (evs[i].events & (EPOLLERR | EPOLLHUP))
            e |= NMI_POLL_ERR | NMI_POLL_IN;
        nmi_pollable *p = evs[i].data.ptr;
        p->cb(p, e);
    }
    return n < 0 ? 0 : n;
}

size_t nmi_fd_queued(int fd)
{
    int n = 0;
    return ioctl(fd, FIONREAD, &n) == 0 && n > 0 ? (size_t)n : 0;
}

int nmi_fd_peer_cred(int fd, uint32_t *uid, uint32_t *gid, uint32_t *pid)
{
    struct ucred cred;
    socklen_t len = sizeof(cred);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
        return -errno;
    *uid = (uint32_t)cred.uid;
    *gid = (uint32_t)cred.gid;
    *pid = (uint32_t)cred.pid;
    return 0;
}

atomic_bool nmi_barrier_asym;
static pthread_once_t barrier_once = PTHREAD_ONCE_INIT;

static void barrier_register(void)
{
    if (syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0)
        atomic_store(&nmi_barrier_asym, true);
}

void nmi_barrier_init(void)
{
    pthread_once(&barrier_once, barrier_register);
}

void nmi_barrier_slow(void)
{
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load(&nmi_barrier_asym))
        (void)syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
}
