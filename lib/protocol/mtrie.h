/*
 * mtrie.h - subscriptions of a publisher: a prefix trie whose nodes hold, per pipe, a
 * count of subscriptions to exactly that prefix.
 *
 * PUB and XPUB keep one; a message goes to every pipe with a subscription that is a
 * prefix of the message's first frame.  Subscriptions are counted: two subscribes of
 * the same prefix by one pipe need two cancels.  Matching allocates nothing and visits
 * each pipe once however many of its prefixes match.
 */
#ifndef NMI_MTRIE_H
#define NMI_MTRIE_H

#include <stddef.h>
#include <stdint.h>

typedef struct nmi_mtrie nmi_mtrie;

typedef void(nmi_mtrie_pipe_cb)(void *pipe, void *arg);
typedef void(nmi_mtrie_prefix_cb)(const uint8_t *prefix, size_t len, void *arg);

nmi_mtrie *nmi_mtrie_new(void);
void nmi_mtrie_destroy(nmi_mtrie **tp);

/* Adds one subscription of `pipe` to prefix.  Returns 1 if no pipe had a subscription to
 * this exact prefix before (XPUB passes such "new" subscriptions on), 0 otherwise, or
 * -ENOMEM. */
int nmi_mtrie_add(nmi_mtrie *t, const uint8_t *prefix, size_t len, void *pipe);
/* The same, but a pipe holds a prefix at most once (libzmq's XPUB: a set of subscribers
 * per prefix): -EEXIST, nothing changed, if pipe already holds it. */
int nmi_mtrie_add_once(nmi_mtrie *t, const uint8_t *prefix, size_t len, void *pipe);

/* Removes one subscription of `pipe` to prefix.  Returns 1 if no pipe is left with a
 * subscription to this exact prefix, 0 if some still are, -ENOENT if pipe had none. */
int nmi_mtrie_rm(nmi_mtrie *t, const uint8_t *prefix, size_t len, void *pipe);

/* Removes every subscription of pipe; calls cb for each prefix that no pipe is then
 * subscribed to (cb may be NULL). */
void nmi_mtrie_rm_pipe(nmi_mtrie *t, void *pipe, nmi_mtrie_prefix_cb *cb, void *arg);
/* The same, calling cb for every prefix pipe was subscribed to (XPUB_MANUAL tells the
 * application of each: it set its own subscriptions for them). */
void nmi_mtrie_rm_pipe_each(nmi_mtrie *t, void *pipe, nmi_mtrie_prefix_cb *cb, void *arg);

/* Calls cb once per pipe that has a subscription which is a prefix of data[0..len)
 * (the empty prefix matches everything).  cb must not change the trie. */
void nmi_mtrie_match(nmi_mtrie *t, const uint8_t *data, size_t len, nmi_mtrie_pipe_cb *cb,
                     void *arg);

/* Number of distinct prefixes with at least one subscriber (for statistics). */
size_t nmi_mtrie_prefixes(const nmi_mtrie *t);

#endif
