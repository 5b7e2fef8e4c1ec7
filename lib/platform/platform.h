/*
 * platform.h - the few OS services the core uses: a monotonic clock, an event counter
 * a thread can sleep on (the signaler), and the readiness loop of the I/O thread.
 * platform/linux.c implements them with eventfd and epoll; another OS gets its own
 * file, selected by CMake.
 */
#ifndef NMI_PLATFORM_H
#define NMI_PLATFORM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

uint64_t nmi_clock_ns(void);

/* Asymmetric barriers, for a handshake between threads that pass often (each call on a
 * socket) and one that comes rarely (the context's end): the rare side's
 * nmi_barrier_slow makes every thread of the process run a full barrier (membarrier),
 * so the frequent side's nmi_barrier_fast is only a compiler barrier; where the kernel
 * cannot, both are full fences.  nmi_barrier_init finds out, once per process. */
void nmi_barrier_init(void);
void nmi_barrier_slow(void);
extern atomic_bool nmi_barrier_asym;
static inline void nmi_barrier_fast(void)
{
    if (atomic_load_explicit(&nmi_barrier_asym, memory_order_relaxed))
        atomic_signal_fence(memory_order_seq_cst);
    else
        atomic_thread_fence(memory_order_seq_cst);
}

/* Bytes the kernel holds for reading on a stream descriptor (0 if it cannot tell). */
size_t nmi_fd_queued(int fd);

/* The credentials of a local (Unix-domain) stream peer, taken when it connected: 0,
 * or a negative errno-style code where the OS cannot tell. */
int nmi_fd_peer_cred(int fd, uint32_t *uid, uint32_t *gid, uint32_t *pid);

/* A wakeable event: any thread may signal, one thread waits. */
typedef struct nmi_signaler {
    int fd; /* eventfd, also usable in poll() */
} nmi_signaler;

int nmi_signaler_init(nmi_signaler *s);
void nmi_signaler_fini(nmi_signaler *s);
void nmi_signaler_send(nmi_signaler *s);
/* Waits until signalled or timeout_ms passes (-1 = forever); consumes the signal.
 * Returns 0 if signalled, -EAGAIN on timeout. */
int nmi_signaler_wait(nmi_signaler *s, int timeout_ms);
/* Waits until signalled (1, the signal consumed), fd is readable or in error (2), or
 * timeout_ms passes (0). */
int nmi_signaler_wait_fd(nmi_signaler *s, int fd, int timeout_ms);

/* The poller of the I/O thread: edge-triggered readiness on file descriptors. */
#define NMI_POLL_IN  1u
#define NMI_POLL_OUT 2u
#define NMI_POLL_ERR 4u

typedef struct nmi_pollable nmi_pollable;
typedef void(nmi_poll_cb)(nmi_pollable *p, unsigned events);
struct nmi_pollable {
    int fd;          /* the descriptor watched */
    nmi_poll_cb *cb; /* called on the I/O thread with NMI_POLL_* bits */
};

int nmi_poller_new(int *pfd);
/* Watches p->fd, edge-triggered, for input and, if out, output readiness (errors
 * always); set changes that (any thread: callers serialize changes to one p). */
int nmi_poller_add(int pfd, nmi_pollable *p, bool out);
void nmi_poller_set(int pfd, nmi_pollable *p, bool in, bool out);
void nmi_poller_del(int pfd, nmi_pollable *p);
/* Waits up to timeout_ms and dispatches ready pollables; returns how many. */
int nmi_poller_wait(int pfd, int timeout_ms);

#endif
