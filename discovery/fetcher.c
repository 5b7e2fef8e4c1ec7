/*
 * fetcher.c - running table fetches for the agent (see fetcher.h).
 */
#include <string.h>

#include <bsd/string.h>

#include "fetcher.h"

void nmd_fetcher_init(nmd_fetcher *fr, const uint8_t *key, size_t keylen)
{
    memset(fr, 0, sizeof(*fr));
    fr->key = key;
    fr->keylen = keylen;
}

static void fetcher_end(nmd_fetcher *fr, nmd_fetch_slot *s, bool ok)
{
    nmd_table_fetch_close(&s->f);
    s->busy = false;
    if (ok)
        fr->done++;
    else
        fr->failed++;
}

void nmd_fetcher_start(nmd_fetcher *fr, const uint8_t id[16], const uint8_t *digest,
                       const char *addr, uint16_t port, const char *dev)
{
    nmd_fetch_slot *free_slot = NULL;
    for (int i = 0; i < NMD_FETCH_MAX; i++) {
        nmd_fetch_slot *s = &fr->slots[i];
        if (s->busy && memcmp(s->id, id, sizeof(s->id)) == 0)
            return; /* under way */
        if (!s->busy && free_slot == NULL)
            free_slot = s;
    }
    if (free_slot == NULL || port == 0)
        return; /* retried on a later beacon */
    if (nmd_table_fetch_start(&free_slot->f, addr, port) < 0) {
        fr->failed++;
        return;
    }
    free_slot->busy = true;
    memcpy(free_slot->id, id, sizeof(free_slot->id));
    memcpy(free_slot->digest, digest, sizeof(free_slot->digest));
    strlcpy(free_slot->dev, dev, sizeof(free_slot->dev));
}

int nmd_fetcher_pollfds(nmd_fetcher *fr, struct pollfd *out, int max, uint64_t now_ns)
{
    int n = 0;
    for (int i = 0; i < NMD_FETCH_MAX; i++) {
        nmd_fetch_slot *s = &fr->slots[i];
        if (s->busy && nmd_table_fetch_expired(&s->f, now_ns))
            fetcher_end(fr, s, false);
        if (s->busy && n < max)
            out[n++] = (struct pollfd){.fd = s->f.fd, .events = nmd_table_fetch_events(&s->f)};
    }
    return n;
}

/* Decodes a completed fetch and checks it is the table that was announced. */
static bool fetcher_finish(nmd_fetcher *fr, nmd_fetch_slot *s, nmd_fetched_cb *cb, void *arg)
{
    nmd_table_msg m;
    if (nmd_table_decode(s->f.msg, s->f.len, fr->key, fr->keylen, &m) < 0)
        return false;
    bool ok = memcmp(m.node_id, s->id, sizeof(s->id)) == 0 &&
              memcmp(m.digest, s->digest, sizeof(s->digest)) == 0;
    if (ok)
        cb(arg, &m, s->dev);
    nmd_table_msg_free(&m);
    return ok;
}

void nmd_fetcher_on_events(nmd_fetcher *fr, const struct pollfd *pfds, int n, nmd_fetched_cb *cb,
                           void *arg)
{
    for (int k = 0; k < n; k++) {
        if (pfds[k].revents == 0)
            continue;
        for (int i = 0; i < NMD_FETCH_MAX; i++) {
            nmd_fetch_slot *s = &fr->slots[i];
            if (!s->busy || s->f.fd != pfds[k].fd)
                continue;
            int rc = nmd_table_fetch_step(&s->f);
            if (rc != 0)
                fetcher_end(fr, s, rc == 1 && fetcher_finish(fr, s, cb, arg));
            break;
        }
    }
}

void nmd_fetcher_fini(nmd_fetcher *fr)
{
    for (int i = 0; i < NMD_FETCH_MAX; i++)
        if (fr->slots[i].busy)
            nmd_table_fetch_close(&fr->slots[i].f);
}
