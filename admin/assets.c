/*
 * assets.c - looks up the embedded page files (the table is generated: admin/web/
 * embed.cmake).  Exact matches only: no path normalisation, so "/../etc/passwd" or
 * "/app.js?x" is simply not found.
 */
#include "assets.h"

#include <string.h>

const nma_asset *nma_asset_find(const char *path)
{
    if (path == NULL)
        return NULL;
    if (strcmp(path, "/index.html") == 0)
        path = "/";
    for (const nma_asset *a = nma_assets; a->path != NULL; a++) {
        if (strcmp(a->path, path) == 0)
            return a;
    }
    return NULL;
}
