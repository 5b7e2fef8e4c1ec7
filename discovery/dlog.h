/*
 * dlog.h - logging for the discovery threads: `LEVEL component: message` lines on
 * stderr, the shape of the nomid program's own log.  Text from the network may end up
 * in a message, so control characters are replaced: one call is one line.
 */
#ifndef NMD_DLOG_H
#define NMD_DLOG_H

#include "nomid.h" /* enum nm_log_level */

/* level: enum nm_log_level (nomid.h); lines above nmd_log_level are dropped. */
void nmd_log(int level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Highest level written (default NM_LOG_INFO). */
void nmd_log_set_level(int level);

#endif
