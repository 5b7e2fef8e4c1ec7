/*
 * assets.h - the files of the topology page (admin/web/), compiled into the binary by
 * admin/web/embed.cmake (a generated admin_assets.c in the build tree), for the admin
 * server to serve at "/", "/app.js" and "/style.css".
 */
#ifndef NMA_ASSETS_H
#define NMA_ASSETS_H

#include <stddef.h>

typedef struct nma_asset {
    const char *path;          /* "/", "/app.js", ... */
    const char *type;          /* the Content-Type: "text/html; charset=utf-8" */
    const unsigned char *data; /* the file's bytes (followed by a NUL, not counted) */
    size_t size;
} nma_asset;

/* Every asset, ended by an entry whose path is NULL. */
extern const nma_asset nma_assets[];

/* The asset served at path (exact match; "/index.html" is "/"), or NULL. */
const nma_asset *nma_asset_find(const char *path);

#endif
