/*
 * version.c - nm_version(): the version of the library actually loaded.
 */
#include "nomid.h"

#define NM_STR_(x) #x
#define NM_STR(x)  NM_STR_(x)

const char *nm_version(int *major, int *minor, int *patch)
{
    if (major != NULL)
        *major = NM_VERSION_MAJOR;
    if (minor != NULL)
        *minor = NM_VERSION_MINOR;
    if (patch != NULL)
        *patch = NM_VERSION_PATCH;
    return NM_STR(NM_VERSION_MAJOR) "." NM_STR(NM_VERSION_MINOR) "." NM_STR(NM_VERSION_PATCH);
}
