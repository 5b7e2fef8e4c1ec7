/*
 * errors.c - libzmq's error convention on top of nomid's: -1 and errno, with libzmq's
 * numbers, from one table of the codes that differ; zmq_errno and zmq_strerror.
 *
 * nomid returns -errno for the POSIX conditions, which keep their numbers (Linux has
 * all those libzmq uses); its own codes map onto libzmq's ZMQ_HAUSNUMERO ones.
 */
#include <errno.h>
#include <string.h>

#include "compat/compat.h"

typedef struct zc_err_row {
    int nm;           /* nomid's code */
    int zmq;          /* libzmq's errno for it */
    const char *text; /* libzmq's text for its own codes, NULL for strerror's */
} zc_err_row;

static const zc_err_row zc_errs[] = {
    {NM_EFSM, EFSM, "Operation cannot be accomplished in current state"},
    {NM_ETERM, ETERM, "Context was terminated"},
    {NM_EPROTO, EPROTO, NULL},
    {0, ENOCOMPATPROTO, "The protocol is not compatible with the socket type"},
    {0, EMTHREAD, "No thread available"},
};

#define ZC_NERRS (sizeof(zc_errs) / sizeof(zc_errs[0]))

int zc_errno(int e)
{
    errno = e;
    return -1;
}

int zc_fail(int nm_err)
{
    for (size_t i = 0; i < ZC_NERRS; i++)
        if (zc_errs[i].nm != 0 && zc_errs[i].nm == nm_err)
            return zc_errno(zc_errs[i].zmq);
    return zc_errno(nm_err < 0 ? -nm_err : EINVAL);
}

int zmq_errno(void)
{
    return errno;
}

const char *zmq_strerror(int errnum_)
{
    for (size_t i = 0; i < ZC_NERRS; i++)
        if (zc_errs[i].zmq == errnum_ && zc_errs[i].text != NULL)
            return zc_errs[i].text;
    return strerror(errnum_);
}
