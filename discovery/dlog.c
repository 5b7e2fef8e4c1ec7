/*
 * dlog.c - discovery's log lines (see dlog.h).
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>

#include "dlog.h"
#include "nomid.h"

static atomic_int dlog_level = NM_LOG_INFO;

void nmd_log_set_level(int level)
{
    atomic_store(&dlog_level, level);
}

void nmd_log(int level, const char *component, const char *fmt, ...)
{
    static const char *const names[] = {"ERROR", "WARN", "INFO", "DEBUG"};
    if (level > atomic_load(&dlog_level))
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    for (char *c = line; *c != '\0'; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = '?';
    fprintf(stderr, "%s %s: %s\n", names[level >= 0 && level < 4 ? level : 3], component, line);
}
