/*
 * log.c - writes library and program diagnostics to stderr as `LEVEL component:
 * message`.  It formats each line whole and writes it with one stdio call, so lines
 * from the I/O thread and the main thread never interleave.
 */
#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>

#include "nomid.h"

static const char *log_level_name(int level)
{
    switch (level) {
    case NM_LOG_ERROR:
        return "ERROR";
    case NM_LOG_WARN:
        return "WARN";
    case NM_LOG_INFO:
        return "INFO";
    default:
        return "DEBUG";
    }
}

/* log_mute's switch; atomic, so that a line logged by another thread is no data race. */
static atomic_bool log_muted;

void log_stderr_cb(void *arg, int level, const char *component, const char *message)
{
    (void)arg;
    fprintf(stderr, "%s %s: %s\n", log_level_name(level), component, message);
}

void log_msg(int level, const char *component, const char *fmt, ...)
{
    char line[1024];
    va_list ap;

    if (atomic_load_explicit(&log_muted, memory_order_relaxed))
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    log_stderr_cb(NULL, level, component, line);
}

void log_mute(bool on)
{
    atomic_store_explicit(&log_muted, on, memory_order_relaxed);
}
