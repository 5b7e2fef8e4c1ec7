/*
 * fuzz_engine.c - libFuzzer target for the ZMTP engine (lib/engine/) as a whole: the
 * input is what a remote peer sends to a nomid socket of any type (greeting, READY,
 * frames, commands, heartbeats, or raw bytes for STREAM), written over a real AF_UNIX
 * connection to the real I/O thread, with the socket's pipes and protocol behind it.
 * engine_harness.h describes the input's three configuration bytes and what a run does.
 *
 * Besides ASan/UBSan reports, a run aborts (a crash for libFuzzer) when nomid's own
 * output is not valid ZMTP (bad greeting, data before READY, a READY of the wrong type),
 * when a handshake both succeeded and failed, when a successful handshake left no READY
 * on the wire, or when nomid does not close its end within NOMID_ENGINE_EOF_MS (default
 * 5000) of the peer's half-close (a stuck connection).  NOMID_ENGINE_VERBOSE=1 prints
 * nomid's warnings and each run's outcome; NOMID_ENGINE_SETTLE_US (default 300) is how
 * long a run waits for a handshake outcome or for nomid's output still pending.
 *
 * Build (from the repository root):
 *   clang-14 -g -O1 -std=c11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined
 *            -Ilib/include -Ilib tests/fuzz/fuzz_engine.c tests/fuzz/engine_harness.c
 *            and every .c of lib/core, lib/engine, lib/zmtp, lib/protocol, lib/transport
 *            and lib/platform, -lbsd -lpthread (tests/run.sh does this).
 * Seeds: tests/fuzz/corpus/engine/ (tests/fuzz/engine_seeds.py writes them);
 * dictionary: tests/fuzz/engine.dict.
 */
#include <stdio.h>
#include <stdlib.h>

#include "engine_harness.h"

static eh_opts fuzz_opts = {.settle_us = 300, .eof_ms = 5000, .max_waits = 48};

static void fuzz_fail(const char *what, const eh_result *r)
{
    fprintf(stderr, "fuzz_engine: %s (type %d, %s; %s)\n", what, r->type,
            r->connect_role ? "nomid connects" : "nomid binds",
            r->peer_bad ? r->peer_bad_why : r->fail_reason);
    abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *v = getenv("NOMID_ENGINE_VERBOSE");
    fuzz_opts.verbose = v != NULL && v[0] == '1';
    const char *eof = getenv("NOMID_ENGINE_EOF_MS");
    if (eof != NULL && atoi(eof) > 0)
        fuzz_opts.eof_ms = atoi(eof);
    const char *settle = getenv("NOMID_ENGINE_SETTLE_US");
    if (settle != NULL && atoi(settle) >= 0)
        fuzz_opts.settle_us = atoi(settle);
    if (eh_init() < 0) {
        fprintf(stderr, "fuzz_engine: cannot create the context\n");
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    eh_result r;
    int rc = eh_run(data, size, &fuzz_opts, &r);
    if (rc < 0) {
        fprintf(stderr, "fuzz_engine: harness failure %d\n", rc);
        abort();
    }
    if (rc > 0)
        return 0;
    if (fuzz_opts.verbose)
        fprintf(stderr,
                "run: type %d %s hs_ok %d failed %d (%s) ready %d msgs in %d out %d/%d "
                "pings %d pongs %d errors %d closed %d\n",
                r.type, r.connect_role ? "connect" : "bind", r.hs_ok, r.hs_failed, r.fail_reason,
                r.peer_ready, r.nm_msgs, r.nm_sent, r.peer_msgs, r.peer_pings, r.peer_pongs,
                r.peer_errors, r.closed);
    if (r.peer_bad)
        fuzz_fail("nomid sent invalid ZMTP", &r);
    if (r.hs_ok && r.hs_failed)
        fuzz_fail("handshake both succeeded and failed", &r);
    if (!r.closed)
        fuzz_fail("nomid did not close its end after the peer's half-close", &r);
    if (r.hs_ok && r.type != 11 && !r.peer_ready)
        fuzz_fail("handshake succeeded but nomid's READY never arrived", &r);
    return 0;
}
