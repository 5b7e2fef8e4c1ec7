/*
 * stop.c - owns the process-wide stop flag set by SIGINT and SIGTERM.  The handler
 * does nothing but set the flag (a second signal kills the process, for when a clean
 * close takes too long); SIGPIPE is ignored so that a closed stdout pipe
 * shows up as an EPIPE write error the caller can handle.
 */
#include "stop.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>

static volatile sig_atomic_t stop_flag;

static void stop_signal_cb(int sig)
{
    (void)sig;
    stop_flag = 1;
}

void stop_install(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = stop_signal_cb;
    /* The first signal closes cleanly (waiting up to LINGER); a second one kills. */
    sa.sa_flags = SA_RESETHAND;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sa.sa_flags = 0;
    sigaction(SIGPIPE, &sa, NULL);
}

bool stop_requested(void)
{
    return stop_flag != 0;
}

void stop_sleep_ms(int ms)
{
    while (ms > 0 && !stop_requested()) {
        int slice = ms < STOP_POLL_MS ? ms : STOP_POLL_MS;
        struct timespec ts = {.tv_sec = slice / 1000, .tv_nsec = (long)(slice % 1000) * 1000000};
        /* An interrupting signal just ends this slice early; the loop re-checks. */
        if (nanosleep(&ts, NULL) != 0 && errno != EINTR)
            return;
        ms -= slice;
    }
}
