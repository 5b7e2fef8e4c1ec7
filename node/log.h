/*
 * log.h - the nomid program's stderr logger.  Every line reads `LEVEL component:
 * message`; stdout is left to data.  log_stderr_cb is installed on each context with
 * nm_ctx_set_log, and log_msg writes the program's own diagnostics in the same shape.
 */
#ifndef NODE_LOG_H
#define NODE_LOG_H

#include <stdbool.h>

/* An nm_log_cb: one line per call; safe from any thread (one stdio call per line). */
void log_stderr_cb(void *arg, int level, const char *component, const char *message);
/* printf-style line at level (enum nm_log_level) from component. */
void log_msg(int level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* While on, log_msg drops its lines: for a caller that reports a failure in its own
 * words, as the config file does for values it checks with the flags' validators.  For
 * the main thread before others start (their log_msg lines would be dropped too). */
void log_mute(bool on);

#endif /* NODE_LOG_H */
