/*
 * stop.h - SIGINT/SIGTERM handling for the nomid program.  A signal only sets a flag;
 * loops poll it between short (~100 ms) blocking calls and then close cleanly.
 */
#ifndef NODE_STOP_H
#define NODE_STOP_H

#include <stdbool.h>

/* Polling period of every blocking loop, and the socket SNDTIMEO/RCVTIMEO used for it. */
#define STOP_POLL_MS 100

/* Installs the SIGINT/SIGTERM handlers (no SA_RESTART; a second signal kills) and
 * ignores SIGPIPE. */
void stop_install(void);
/* True once SIGINT or SIGTERM arrived. */
bool stop_requested(void);
/* Sleeps ms milliseconds in slices of at most STOP_POLL_MS, returning early on a stop. */
void stop_sleep_ms(int ms);

#endif /* NODE_STOP_H */
