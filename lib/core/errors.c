/*
 * errors.c - names for the error codes nomid returns.
 */
#include <string.h>

#include "include/nomid.h"

const char *nm_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
    case NM_EFSM:
        return "operation not valid in the socket's current state";
    case NM_ETERM:
        return "context was shut down";
    case NM_EPROTO:
        return "protocol error";
    default:
        return strerror(err < 0 ? -err : err);
    }
}
