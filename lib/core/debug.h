/*
 * debug.h - NMI_ASSERT, the check of an internal invariant.
 *
 * Active in builds without NDEBUG (Debug, and the sanitizer builds the tests run), where
 * a broken invariant prints where and aborts; compiled to nothing in Release (the
 * condition is not evaluated).  Asserts guard bugs, never input: bad bytes from the
 * network, a file or a command line are an error code and a log line (DESIGN.md).
 */
#ifndef NMI_DEBUG_H
#define NMI_DEBUG_H

#ifndef NDEBUG
#include <stdio.h>
#include <stdlib.h>

static inline _Noreturn void nmi_assert_fail(const char *cond, const char *file, int line)
{
    fprintf(stderr, "nomid: %s:%d: internal invariant broken: %s\n", file, line, cond);
    abort();
}

#define NMI_ASSERT(cond) ((cond) ? (void)0 : nmi_assert_fail(#cond, __FILE__, __LINE__))
#else
/* sizeof keeps the condition's variables "used" without evaluating it. */
#define NMI_ASSERT(cond) ((void)sizeof((cond) ? 1 : 0))
#endif

#endif
