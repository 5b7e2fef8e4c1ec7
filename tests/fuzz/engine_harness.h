/*
 * engine_harness.h - drives the real ZMTP engine (lib/engine/) from a byte string, as a
 * remote peer would: shared by the libFuzzer target (fuzz_engine.c) and the unit test
 * that replays the seed corpus (tests/lib/engine/test_engine_corpus.c).
 *
 * One nomid context per process.  Each run creates a nomid socket of the type the
 * input's first byte names, binds it on a fresh ipc:// path and connects a plain
 * AF_UNIX socket to it (or listens itself and lets nomid connect), writes the input's
 * bytes to nomid in chunks the input chooses (waiting until the engine has read each
 * one, so partial greetings, headers and bodies are exercised), half-closes, and reads
 * what nomid sends until nomid closes the connection.  Meanwhile it drains the nomid
 * socket and sends a message or two from it, so the output side and the pipes work too.
 *
 * Input layout (tests/fuzz/engine_seeds.py writes seeds in it):
 *   byte 0  bits 0-3  socket type (enum nm_sock_type; 12..15 wrap to 0..3)
 *           bit 4     nomid connects (the harness listens); else nomid binds
 *           bit 5     heartbeats: HEARTBEAT_IVL 1 ms, TTL 100 ms, TIMEOUT 20 ms
 *           bit 6     RCVHWM and SNDHWM 2 (the reader pauses and resumes)
 *           bit 7     MAXMSGSIZE 64
 *   byte 1  bit 3     chunks: the input goes in chunks of 1..2^k bytes (k: bits 0-2; sizes
 *                     from a small PRNG seeded with bits 0-3), each read by nomid before
 *                     the next; without it everything is written at once
 *           bit 4     application reads: blocking receives with a 1 ms timeout, so the
 *                     application thread decodes its connection itself (conn_direct.c)
 *           bit 5     nomid sends before the connection exists (queued on its pipe)
 *           bit 6     variant: SUB/XSUB subscribe "a" (not everything), XPUB_VERBOSE,
 *                     ROUTER_MANDATORY, REQ_RELAXED + REQ_CORRELATE, STREAM closes the
 *                     connection (empty frame) after its reply
 *           bit 7     nomid announces a routing id ("nomid-id")
 *   byte 2  bit 0     twin: when nomid binds, a first connection sends the same bytes (all
 *                     at once) and stays open while the run's own connection goes through
 *                     (a second PAIR peer, a ROUTER identity already in use, two pipes)
 *           bit 1     heartbeat timeout: HEARTBEAT_TIMEOUT 1 ms, and the run waits up to
 *                     15 ms for nomid to drop the silent peer
 *           bits 2-3  security: 1 CURVE (nomid binds: a server with a fixed key pair;
 *                     nomid connects: a client of that key), 2 PLAIN (server without a
 *                     ZAP handler, or client admin/secret), 3 NULL with a ZAP domain
 *           bits 4-7  unused
 *   bytes 3.. what the peer sends: greeting, READY, frames (or raw bytes for STREAM).
 */
#ifndef ENGINE_HARNESS_H
#define ENGINE_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EH_HEADER 3 /* bytes of the input that configure the run */

#define EH_B0_CONNECT   0x10
#define EH_B0_HEARTBEAT 0x20
#define EH_B0_SMALL_HWM 0x40
#define EH_B0_MAXMSG    0x80
#define EH_B1_CHUNKS    0x0f /* bit 3: chunked; bits 0-2: log2 of the largest chunk */
#define EH_B1_CHUNKED   0x08
#define EH_B1_APP_READS 0x10
#define EH_B1_EARLY     0x20
#define EH_B1_VARIANT   0x40
#define EH_B1_RID       0x80
#define EH_B2_TWIN      0x01
#define EH_B2_HB_WAIT   0x02
#define EH_B2_SECURITY  0x0c /* 1 << 2 CURVE, 2 << 2 PLAIN, 3 << 2 NULL with a ZAP domain */

/* How patient a run is. */
typedef struct eh_opts {
    int settle_us; /* after the input: wait this long for an outcome still pending */
    int eof_ms;    /* after the half-close: nomid must close within this */
    int max_waits; /* chunks whose reading is waited for (the rest go at once) */
    bool verbose;  /* log nomid's warnings to stderr */
} eh_opts;

/* What one run saw. */
typedef struct eh_result {
    int type;              /* nomid's socket type */
    bool connect_role;     /* nomid connected (else it bound) */
    bool connected;        /* the harness's descriptor got connected/accepted */
    bool hs_ok;            /* HANDSHAKE_SUCCEEDED for this run's endpoint */
    bool hs_failed;        /* HANDSHAKE_FAILED for it */
    char fail_reason[128]; /* the failure's detail */
    bool peer_greeting;    /* nomid's greeting parsed: ZMTP 3.x, NULL */
    bool peer_ready;       /* nomid's READY parsed, Socket-Type = its type */
    bool peer_bad;         /* nomid's output is not valid ZMTP (a bug) */
    char peer_bad_why[96]; /* what was wrong with it */
    int peer_cmds;         /* commands nomid sent */
    int peer_pings;        /* ... of which PING */
    int peer_pongs;        /* ... PONG */
    int peer_errors;       /* ... ERROR */
    int peer_subs;         /* ... SUBSCRIBE or CANCEL */
    int peer_msgs;         /* data messages nomid sent */
    size_t peer_bytes;     /* bytes nomid sent */
    int nm_msgs;           /* messages the nomid socket received */
    int nm_sent;           /* messages sent through the nomid socket */
    bool closed;           /* nomid closed the connection before eof_ms */
} eh_result;

/* Creates the process's context and temporary directory; 0 or -errno. */
int eh_init(void);
/* Runs one input (size >= EH_HEADER; shorter inputs do nothing and return 1); 0 on a
 * completed run, -errno when the harness itself failed (no socket, no descriptor). */
int eh_run(const uint8_t *data, size_t size, const eh_opts *o, eh_result *r);
/* Destroys the context and removes the temporary directory. */
void eh_fini(void);

#endif
