/*
 * binds.h - advertising the binds NOMID_ADVERTISE names when the program makes them.
 *
 * The context's event hook hands every socket event to member_binds_event_cb, on
 * whichever thread raised it (the application thread binding, the I/O thread closing a
 * listener).  It only compares the endpoint with the specs and queues a match: the hook
 * must not block or call into nomid.  The binds thread takes the queue and advertises
 * (a LISTENING event) or withdraws (CLOSED: the listener went, by unbind or close)
 * through the agent; a listener made a CURVE server with the certificate (secure.h) is
 * advertised with its public key, which the hook takes when the bind raises the event.
 */
#ifndef MEMBER_BINDS_H
#define MEMBER_BINDS_H

#include "agent.h"
#include "nomid.h"
#include "spec.h"

typedef struct member_binds member_binds;

/* Starts the binds thread for specs (copied) on agent, which must outlive it. */
int member_binds_start(member_binds **bp, nmd_agent *agent, const member_spec *specs, int nspecs);
/* The context's event hook (arg: the member_binds). */
void member_binds_event_cb(void *arg, const nm_event_info_t *ev);
/* Stops the thread and frees; the hook must be off (no call under way).  What was
 * advertised stays in the agent's table until the agent stops (its goodbye). */
void member_binds_stop(member_binds **bp);

#endif
