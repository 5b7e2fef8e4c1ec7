/*
 * bench_idle_clients.h - the raw ZMTP clients of the idle-connections benchmark
 * (`nomid bench idle`, `zmq_bench idle`, `raw_bench idle`): processes that open many
 * plain TCP connections to one server, complete a ZMTP 3.1 NULL handshake on each as a
 * DEALER would, report to the parent and then stay idle until it lets them go; plus the
 * handshake bytes and parser that the raw server shares, and the RSS probe.  Uses no
 * messaging library, so tests/bench/zmq_bench.c and raw_bench.c link it too.
 */
#ifndef NODE_BENCH_IDLE_CLIENTS_H
#define NODE_BENCH_IDLE_CLIENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

/* Connections per client process, and most client processes. */
#define IDLE_PER_PROC  5000
#define IDLE_PROCS_MAX 64
/* Most connections one benchmark run accepts. */
#define IDLE_CONNS_MAX ((long)IDLE_PER_PROC * IDLE_PROCS_MAX)
/* Room for idle_hello's output: the 64-byte greeting and a READY command. */
#define IDLE_HELLO_MAX 128

/* The client processes, seen from the parent. */
struct idle_clients {
    int nprocs;                 /* client processes */
    pid_t pids[IDLE_PROCS_MAX]; /* their pids; 0 once reaped */
    int ep_fds[IDLE_PROCS_MAX]; /* write ends of their endpoint pipes (-1: closed) */
    int report_fd;              /* read end: one report per process */
    int hold_fd;                /* write end: the processes keep their connections until EOF */
    long want;                  /* connections asked for */
    long done;                  /* handshakes reported done */
    int reported;               /* processes that reported */
};

/* Reading what a peer sends first: its greeting and its first command (READY). */
struct idle_hs {
    uint32_t got;           /* bytes seen so far */
    uint32_t need;          /* bytes up to the end of the command (0: not known yet) */
    unsigned char head[80]; /* the first bytes: greeting, frame header, command name */
};

/* Raises the soft RLIMIT_NOFILE to the hard limit; returns the soft limit now. */
/* tcp://HOST:PORT (HOST numeric, [v6], or * for any) into an address: 0 or -1. */
int idle_tcp_resolve(const char *ep, struct sockaddr_storage *ss, socklen_t *len);

long idle_raise_nofile(void);

/* Forks the client processes that will open n connections (IDLE_PER_PROC at most per
 * process).  Call it before this process starts threads: each child waits on a pipe of
 * its own for the endpoint (idle_clients_start); without one it exits.  0 or -1. */
int idle_clients_fork(struct idle_clients *c, long n);

/* Hands every client process the endpoint (tcp://HOST:PORT): they start connecting,
 * a few dozen handshakes in flight each.  0 or -1. */
int idle_clients_start(struct idle_clients *c, const char *endpoint);

/* Collects reports for up to timeout_ms: 1 once every process reported all its
 * handshakes done, 0 not yet, -1 a process failed or exited. */
int idle_clients_poll(struct idle_clients *c, int timeout_ms);

/* Lets the client processes go (their connections close) and reaps them; 0 when all
 * of them exited cleanly.  Safe after a failed idle_clients_fork. */
int idle_clients_stop(struct idle_clients *c);

/* Writes the ZMTP 3.1 NULL greeting (as-server 0) and a READY command announcing
 * socket_type (e.g. "DEALER") into buf (IDLE_HELLO_MAX bytes); returns the length. */
size_t idle_hello(unsigned char *buf, const char *socket_type);

/* Feeds n bytes the peer sent: 1 once its greeting (ZMTP 3.x, NULL) and a READY
 * command have arrived, 0 when more are needed, -1 when it is not that. */
int idle_hs_feed(struct idle_hs *h, const unsigned char *p, size_t n);

/* This process's resident memory in bytes (/proc/self/statm), or -1. */
long idle_rss_bytes(void);

#endif /* NODE_BENCH_IDLE_CLIENTS_H */
