/*
 * mtrie.c - the subscription trie of PUB/XPUB (see mtrie.h): which pipes get a message.
 *
 * A byte-wise prefix trie.  A node keeps its children as libzmq does, in a table covering
 * just the range of bytes from its lowest to its highest child: O(1) lookup, one pointer
 * per child for the common runs of similar topics, at most 256 for a sparse fan-out.  The
 * range is trimmed as children go.  Each node holds, sorted by pipe, the (pipe, count)
 * pairs of subscriptions to exactly its prefix; a node with neither subscriptions nor
 * children is freed at once, so memory follows the live subscriptions, not their history.
 * Nodes point to their parent so removal prunes upwards and whole-trie walks (rm_pipe,
 * destroy) need no recursion or stack.
 *
 * Deduplication in match: the trie owns one record per subscribed pipe, holding the epoch
 * of the last match that reported it.  Node entries point at their pipe's record, so a
 * match bumps the trie's epoch, walks the path of the data and reports an entry's pipe
 * only if its record's epoch is older, then stamps it: O(path + entries), no allocation,
 * no hashing.  A chained hash (pipe -> record) serves add/rm; add creates a record, and it
 * goes when the pipe's last subscription does.
 *
 * Failure: add reserves every allocation (records, hash, a detached chain of new nodes,
 * array room) before it changes anything, so -ENOMEM leaves the trie as it was.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/mtrie.h"

typedef struct mtrie_pipe mtrie_pipe;
typedef struct {
    mtrie_pipe *pipe; /* the record, so match reaches the epoch without a hash lookup */
    uint32_t count;   /* subscriptions of that pipe to exactly this prefix */
} mtrie_sub;

typedef struct mtrie_node mtrie_node;
struct mtrie_node {
    mtrie_node *parent; /* for pruning upwards and stack-free walks; NULL at root */
    mtrie_node **kids;  /* kids[i]: the child on byte min + i, or NULL */
    mtrie_sub *subs;    /* sorted by record address: add/rm find entries by bisection */
    uint32_t nsubs;     /* distinct pipes subscribed to exactly this prefix */
    uint32_t capsubs;   /* allocated length of subs */
    uint16_t nkids;     /* non-NULL kids, so emptiness needs no scan */
    uint16_t width;     /* length of kids: the byte range min .. min + width - 1 */
    uint8_t min;        /* first byte kids covers */
    uint8_t byte;       /* edge label from parent; rm_pipe rebuilds prefixes from it */
};

struct mtrie_pipe {
    void *pipe;       /* the subscriber */
    uint64_t epoch;   /* last match that reported the pipe, for deduplication */
    uint32_t nodes;   /* nodes with an entry for the pipe; the record goes at 0 */
    mtrie_pipe *next; /* hash chain */
};

struct nmi_mtrie {
    mtrie_node *root;     /* the empty prefix; always there so walks need no special case */
    mtrie_pipe **buckets; /* chained hash pipe -> record; records never move */
    size_t nbuckets;      /* power of two (or 0), kept at least npipes */
    size_t npipes;        /* records in the hash */
    uint64_t epoch;       /* bumped by each match; 64 bits never wrap in practice */
    uint8_t *key;         /* rm_pipe's prefix buffer: add grows it so rm_pipe cannot fail */
    size_t keycap;        /* allocated length of key, at least the deepest node's depth */
    size_t nprefixes;     /* nodes with nsubs > 0 */
};

/* The link that points to pipe's record, or the chain's terminating NULL. */
static mtrie_pipe **mtrie_link(const nmi_mtrie *t, const void *pipe)
{
    uint64_t x = (uint64_t)(uintptr_t)pipe * UINT64_C(0x9e3779b97f4a7c15);
    mtrie_pipe **pp = &t->buckets[(x >> 32) & (t->nbuckets - 1)];
    while (*pp != NULL && (*pp)->pipe != pipe)
        pp = &(*pp)->next;
    return pp;
}

static mtrie_pipe *mtrie_pipe_find(const nmi_mtrie *t, const void *pipe)
{
    return t->nbuckets > 0 ? *mtrie_link(t, pipe) : NULL;
}

/* A record for a new pipe, with room in the hash; add links it in only once nothing else
 * can fail. */
static mtrie_pipe *mtrie_pipe_new(nmi_mtrie *t, void *pipe)
{
    if (t->npipes == t->nbuckets) {
        mtrie_pipe **old = t->buckets, *p, *next;
        size_t n = t->nbuckets, cap = n ? n * 2 : 16;
        if ((t->buckets = calloc(cap, sizeof(*old))) == NULL) {
            t->buckets = old;
            return NULL;
        }
        t->nbuckets = cap;
        for (size_t i = 0; i < n; i++)
            for (p = old[i]; p != NULL; p = next) {
                next = p->next;
                p->next = NULL;
                *mtrie_link(t, p->pipe) = p;
            }
        free(old);
    }
    mtrie_pipe *p = calloc(1, sizeof(*p));
    if (p != NULL)
        p->pipe = pipe;
    return p;
}

static void mtrie_pipe_free(nmi_mtrie *t, mtrie_pipe *p)
{
    *mtrie_link(t, p->pipe) = p->next;
    t->npipes--;
    free(p);
}

static mtrie_node *mtrie_kid(const mtrie_node *n, uint8_t b)
{
    unsigned i = (unsigned)b - n->min; /* wraps past width when b < min */
    return i < n->width ? n->kids[i] : NULL;
}

/* The child with the smallest byte >= b; looks at no child below b, which may be freed. */
static mtrie_node *mtrie_kid_from(const mtrie_node *n, unsigned b)
{
    for (unsigned i = b > n->min ? b - n->min : 0; i < n->width; i++)
        if (n->kids[i] != NULL)
            return n->kids[i];
    return NULL;
}

/* Widens the range to cover b.  It only adds empty slots, so add may do it before it
 * knows it will succeed. */
static int mtrie_kids_reserve(mtrie_node *n, uint8_t b)
{
    unsigned lo = b, hi = b, w = n->width;
    if (w > 0) {
        lo = n->min < lo ? n->min : lo;
        hi = n->min + w - 1u > hi ? n->min + w - 1u : hi;
    }
    if (hi - lo + 1 == w)
        return 0;
    mtrie_node **k = reallocarray(n->kids, hi - lo + 1, sizeof(*k));
    if (k == NULL)
        return -ENOMEM;
    unsigned shift = w > 0 ? n->min - lo : 0;
    memmove(&k[shift], k, w * sizeof(*k));
    memset(k, 0, shift * sizeof(*k));
    memset(&k[shift + w], 0, (hi - lo + 1 - shift - w) * sizeof(*k));
    n->kids = k;
    n->min = (uint8_t)lo;
    n->width = (uint16_t)(hi - lo + 1);
    return 0;
}

static void mtrie_kid_remove(mtrie_node *n, uint8_t b)
{
    n->kids[b - n->min] = NULL;
    if (--n->nkids == 0) {
        free(n->kids);
        n->kids = NULL;
        n->width = 0;
        return;
    }
    /* Trim empty ends so the range follows the children, not their history. */
    unsigned lo = 0, hi = n->width;
    while (n->kids[lo] == NULL)
        lo++;
    while (n->kids[hi - 1] == NULL)
        hi--;
    if (lo == 0 && hi == n->width)
        return;
    memmove(n->kids, &n->kids[lo], (hi - lo) * sizeof(*n->kids));
    n->min = (uint8_t)(n->min + lo);
    n->width = (uint16_t)(hi - lo);
    mtrie_node **k = realloc(n->kids, n->width * sizeof(*k));
    if (k != NULL) /* if not, the old block is as good */
        n->kids = k;
}

/* Bisection on record address; *pos is where p's entry is or would go. */
static bool mtrie_sub_find(const mtrie_node *n, const mtrie_pipe *p, size_t *pos)
{
    size_t lo = 0, hi = n->nsubs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if ((uintptr_t)n->subs[mid].pipe < (uintptr_t)p)
            lo = mid + 1;
        else
            hi = mid;
    }
    *pos = lo;
    return lo < n->nsubs && n->subs[lo].pipe == p;
}

static int mtrie_subs_reserve(mtrie_node *n)
{
    if (n->nsubs < n->capsubs)
        return 0;
    uint32_t cap = n->capsubs ? n->capsubs * 2 : 1;
    mtrie_sub *s = n->capsubs <= UINT32_MAX / 2 ? reallocarray(n->subs, cap, sizeof(*s)) : NULL;
    if (s == NULL)
        return -ENOMEM;
    n->subs = s;
    n->capsubs = cap;
    return 0;
}

static void mtrie_sub_remove(nmi_mtrie *t, mtrie_node *n, size_t pos)
{
    n->subs[pos].pipe->nodes--;
    n->nsubs--;
    memmove(&n->subs[pos], &n->subs[pos + 1], (n->nsubs - pos) * sizeof(*n->subs));
    if (n->nsubs == 0) {
        free(n->subs);
        n->subs = NULL;
        n->capsubs = 0;
        t->nprefixes--;
    }
}

static bool mtrie_node_free(nmi_mtrie *t, mtrie_node *n)
{
    (void)t;
    free(n->kids);
    free(n->subs);
    free(n);
    return true;
}

/* Frees n if it serves nothing any more; one step only, as walks still use the parent. */
static bool mtrie_node_drop(nmi_mtrie *t, mtrie_node *n)
{
    if (n == t->root || n->nsubs > 0 || n->nkids > 0)
        return false;
    mtrie_kid_remove(n->parent, n->byte);
    return mtrie_node_free(t, n);
}

static void mtrie_prune(nmi_mtrie *t, mtrie_node *n)
{
    while (n != t->root) {
        mtrie_node *p = n->parent;
        if (!mtrie_node_drop(t, n))
            break;
        n = p;
    }
}

/* Detached chain of nodes for key[0..len), the last with room for a subscription: built
 * whole before it is linked in, so a failed allocation leaves the trie alone.  Returns
 * the head, *leaf the last node. */
static mtrie_node *mtrie_chain_new(mtrie_node *parent, const uint8_t *key, size_t len,
                                   mtrie_node **leaf)
{
    mtrie_node *head = NULL, *n = parent;
    for (size_t i = 0; i < len; i++) {
        mtrie_node *c = calloc(1, sizeof(*c));
        if (c == NULL ||
            (i + 1 < len ? mtrie_kids_reserve(c, key[i + 1]) : mtrie_subs_reserve(c)) != 0) {
            free(c);
            while (head != NULL) {
                n = head->nkids > 0 ? head->kids[0] : NULL;
                mtrie_node_free(NULL, head);
                head = n;
            }
            return NULL;
        }
        c->parent = n;
        c->byte = key[i];
        if (head == NULL)
            head = c;
        else
            n->kids[n->nkids++] = c;
        n = c;
    }
    *leaf = n;
    return head;
}

/* One step of a depth-first walk: to n's first child or else to the next sibling of n or
 * of its nearest ancestor with one, calling leave on each node stepped out of and keeping
 * t->key[0..*depth) the prefix of the node returned.  NULL once back at the root. */
static mtrie_node *mtrie_walk_next(nmi_mtrie *t, mtrie_node *n, size_t *depth,
                                   bool (*leave)(nmi_mtrie *, mtrie_node *))
{
    mtrie_node *c = mtrie_kid_from(n, 0);
    while (c == NULL && n != t->root) {
        mtrie_node *p = n->parent;
        unsigned b = n->byte;
        leave(t, n);
        --*depth;
        c = mtrie_kid_from(p, b + 1);
        n = p;
    }
    if (c != NULL)
        t->key[(*depth)++] = c->byte;
    return c;
}

nmi_mtrie *nmi_mtrie_new(void)
{
    nmi_mtrie *t = calloc(1, sizeof(*t));
    if (t != NULL && (t->root = calloc(1, sizeof(*t->root))) == NULL) {
        free(t);
        return NULL;
    }
    return t;
}

void nmi_mtrie_destroy(nmi_mtrie **tp)
{
    nmi_mtrie *t = tp != NULL ? *tp : NULL;
    if (t == NULL)
        return;
    size_t depth = 0;
    for (mtrie_node *n = t->root; n != NULL;)
        n = mtrie_walk_next(t, n, &depth, mtrie_node_free);
    mtrie_node_free(t, t->root);
    for (size_t i = 0; i < t->nbuckets; i++)
        while (t->buckets[i] != NULL)
            mtrie_pipe_free(t, t->buckets[i]);
    free(t->buckets);
    free(t->key);
    free(t);
    *tp = NULL;
}

int nmi_mtrie_add(nmi_mtrie *t, const uint8_t *prefix, size_t len, void *pipe)
{
    mtrie_node *n = t->root, *c, *leaf = n, *chain = NULL;
    size_t i = 0, pos;
    for (; i < len && (c = mtrie_kid(n, prefix[i])) != NULL; i++)
        leaf = n = c;
    mtrie_pipe *p = mtrie_pipe_find(t, pipe);
    bool known = p != NULL;
    if (i == len && known && mtrie_sub_find(n, p, &pos)) {
        if (n->subs[pos].count == UINT32_MAX)
            return -ENOMEM;
        n->subs[pos].count++;
        return 0;
    }
    if (len > t->keycap) {
        uint8_t *k = realloc(t->key, len);
        if (k == NULL)
            return -ENOMEM;
        t->key = k;
        t->keycap = len;
    }
    if (!known && (p = mtrie_pipe_new(t, pipe)) == NULL)
        return -ENOMEM;
    if (i == len ? mtrie_subs_reserve(n) != 0
                 : mtrie_kids_reserve(n, prefix[i]) != 0 ||
                       (chain = mtrie_chain_new(n, prefix + i, len - i, &leaf)) == NULL) {
        if (!known)
            free(p);
        return -ENOMEM;
    }
    /* Nothing below can fail. */
    if (!known) {
        *mtrie_link(t, pipe) = p;
        t->npipes++;
    }
    if (chain != NULL) {
        n->kids[chain->byte - n->min] = chain;
        n->nkids++;
    }
    mtrie_sub_find(leaf, p, &pos);
    memmove(&leaf->subs[pos + 1], &leaf->subs[pos], (leaf->nsubs - pos) * sizeof(*leaf->subs));
    leaf->subs[pos] = (mtrie_sub){.pipe = p, .count = 1};
    p->nodes++;
    if (leaf->nsubs++ > 0)
        return 0;
    t->nprefixes++;
    return 1;
}

int nmi_mtrie_rm(nmi_mtrie *t, const uint8_t *prefix, size_t len, void *pipe)
{
    mtrie_node *n = t->root;
    for (size_t i = 0; i < len && n != NULL; i++)
        n = mtrie_kid(n, prefix[i]);
    mtrie_pipe *p = mtrie_pipe_find(t, pipe);
    size_t pos = 0;
    if (n == NULL || p == NULL || !mtrie_sub_find(n, p, &pos))
        return -ENOENT;
    if (--n->subs[pos].count > 0)
        return 0;
    mtrie_sub_remove(t, n, pos);
    if (p->nodes == 0)
        mtrie_pipe_free(t, p);
    if (n->nsubs > 0)
        return 0;
    mtrie_prune(t, n);
    return 1;
}

void nmi_mtrie_rm_pipe(nmi_mtrie *t, void *pipe, nmi_mtrie_prefix_cb *cb, void *arg)
{
    mtrie_pipe *p = mtrie_pipe_find(t, pipe);
    size_t depth = 0, pos;
    if (p == NULL)
        return;
    /* The walk prunes emptied nodes as it leaves them; it stops once the pipe's last
     * entry is gone, pruning from there, as nodes above still have children. */
    for (mtrie_node *n = t->root; n != NULL; n = mtrie_walk_next(t, n, &depth, mtrie_node_drop)) {
        if (!mtrie_sub_find(n, p, &pos))
            continue;
        mtrie_sub_remove(t, n, pos);
        if (n->nsubs == 0 && cb != NULL)
            cb(depth > 0 ? t->key : (const uint8_t *)"", depth, arg);
        if (p->nodes == 0) {
            mtrie_prune(t, n);
            break;
        }
    }
    mtrie_pipe_free(t, p);
}

void nmi_mtrie_match(nmi_mtrie *t, const uint8_t *data, size_t len, nmi_mtrie_pipe_cb *cb,
                     void *arg)
{
    uint64_t epoch = ++t->epoch;
    mtrie_node *n = t->root;
    for (size_t i = 0;; i++) {
        for (uint32_t j = 0; j < n->nsubs; j++) {
            mtrie_pipe *p = n->subs[j].pipe;
            if (p->epoch != epoch) {
                p->epoch = epoch;
                cb(p->pipe, arg);
            }
        }
        if (i == len || (n = mtrie_kid(n, data[i])) == NULL)
            break;
    }
}

size_t nmi_mtrie_prefixes(const nmi_mtrie *t)
{
    return t->nprefixes;
}
