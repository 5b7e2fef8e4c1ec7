/*
 * mtrie.c - the subscription trie of PUB/XPUB (see mtrie.h): which pipes get a message.
 *
 * A path-compressed (radix) trie: a node holds a run of bytes, its edge label, in its own
 * allocation, so memory follows the bytes of the prefixes, about one byte per byte plus a
 * constant per node.  A byte-wise trie spends a node (~80 bytes with its table and the
 * allocator's share) on every byte: a hostile subscriber's 25 MiB of distinct 64 KiB
 * prefixes cost it 2 GiB and seconds of work, and cost this trie 400 nodes.  Every node
 * but the root has a label of at least one byte, and one without subscriptions has at
 * least two children: add splits an edge where a new prefix ends or branches inside it;
 * rm and rm_pipe free a node left serving nothing and merge one left with no subscription
 * and one child into that child (should the allocation of a merge fail, the node simply
 * stays: the trie is still right, a node larger).  So there are fewer nodes than twice
 * the distinct prefixes, and walks (below) are bounded by nodes, not bytes.
 *
 * A split does not move the long part of the label: the child keeps the bytes its new
 * parent took as slack in front of its label, and a merge puts them back there, so
 * splitting or joining a 64 KiB edge costs what the short prefix causing it costs, not a
 * 64 KiB copy per subscribe/cancel.  The slack of a node is at most the depth where its
 * label starts, which is at most the length of a prefix subscribed at or below it that
 * can be charged to it alone or with one other node; so slack adds at most twice the
 * distinct prefixes' bytes.
 *
 * A node keeps its children as libzmq does, in a table covering just the range of the
 * first bytes of their labels, from the lowest to the highest: O(1) lookup, one pointer
 * per child for the common runs of similar topics, at most 256 for a sparse fan-out.  The
 * range is trimmed as children go.  Each node holds, sorted by pipe, the (pipe, count)
 * pairs of subscriptions to exactly its prefix.  Nodes point to their parent so removal
 * prunes upwards and whole-trie walks (rm_pipe, destroy) need no recursion or stack,
 * however deep a hostile set of prefixes makes the trie.
 *
 * Deduplication in match: the trie owns one record per subscribed pipe, holding the epoch
 * of the last match that reported it.  Node entries point at their pipe's record, so a
 * match bumps the trie's epoch, walks the path of the data (one child lookup and one label
 * comparison per node) and reports an entry's pipe only if its record's epoch is older,
 * then stamps it: O(path + entries), no allocation, no hashing.  A chained hash (pipe ->
 * record) serves add/rm; add creates a record, and it goes when the pipe's last
 * subscription does.
 *
 * Failure: add reserves every allocation (records, hash, the nodes of a split and a new
 * leaf, array room) before it changes anything, so -ENOMEM leaves the trie as it was.
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
    mtrie_node **kids;  /* kids[i]: the child whose label starts with byte min + i, or NULL */
    mtrie_sub *subs;    /* sorted by record address: add/rm find entries by bisection */
    uint32_t len;       /* bytes of the label: 0 at the root, at least 1 elsewhere */
    uint32_t off;       /* the label is buf[off..off + len); before it, slack from splits */
    uint32_t nsubs;     /* distinct pipes subscribed to exactly this prefix */
    uint32_t capsubs;   /* allocated length of subs */
    uint16_t nkids;     /* non-NULL kids, so emptiness needs no scan */
    uint16_t width;     /* length of kids: the byte range min .. min + width - 1 */
    uint8_t min;        /* first byte kids covers */
    uint8_t buf[];      /* holds the label: what the node adds to its parent's prefix */
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
    size_t keycap;        /* allocated length of key, at least the longest prefix added */
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

/* The edge label; its first byte is the node's slot in the parent's table. */
static inline uint8_t *mtrie_label(const mtrie_node *n)
{
    return (uint8_t *)n->buf + n->off;
}

/* A detached node labelled label[0..len), with no children and no subscriptions. */
static mtrie_node *mtrie_node_new(const uint8_t *label, size_t len)
{
    mtrie_node *n = malloc(sizeof(*n) + len); /* len < 4 GiB: add checks */
    if (n != NULL) {
        memset(n, 0, sizeof(*n));
        n->len = (uint32_t)len;
        if (len > 0) /* the root's label is NULL */
            memcpy(n->buf, label, len);
    }
    return n;
}

static mtrie_node *mtrie_kid(const mtrie_node *n, uint8_t b)
{
    unsigned i = (unsigned)b - n->min; /* wraps past width when b < min */
    return i < n->width ? n->kids[i] : NULL;
}

/* The child with the smallest first byte >= b; looks at no child below b, which may be
 * freed. */
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
    if (n != NULL) {
        free(n->kids);
        free(n->subs);
    }
    free(n);
    return true;
}

/* Joins n, which has no subscription and one child, to that child: the child's label grows
 * by n's in front and it takes n's slot, which its first byte does not change.  Mostly
 * into the child's slack, as n is usually what a split cut from it: O(n's label). */
static void mtrie_node_merge(nmi_mtrie *t, mtrie_node *n)
{
    mtrie_node *c = mtrie_kid_from(n, 0), *p = n->parent;
    if (c->off < n->len) {
        /* Too little slack: the buffer grows to hold the joined label exactly.  realloc
         * may move it, so its children follow (comparing the old address is not C). */
        mtrie_node *k = realloc(c, sizeof(*c) + n->len + c->len);
        if (k == NULL)
            return; /* n stays: a node more than needed, no harm */
        memmove(k->buf + n->len, k->buf + k->off, k->len);
        k->off = n->len;
        for (unsigned i = 0; i < k->width; i++)
            if (k->kids[i] != NULL)
                k->kids[i]->parent = k;
        c = k;
    }
    c->off -= n->len;
    c->len += n->len;
    memcpy(mtrie_label(c), mtrie_label(n), n->len);
    c->parent = p;
    p->kids[mtrie_label(c)[0] - p->min] = c;
    mtrie_node_free(t, n);
}

/* Tidies n once nothing below it will change: frees it if it serves nothing, merges it
 * into its child if it only leads to one.  Never the root.  One step only, as walks still
 * use the parent; true if n is gone. */
static bool mtrie_node_settle(nmi_mtrie *t, mtrie_node *n)
{
    if (n == t->root || n->nsubs > 0 || n->nkids > 1)
        return false;
    if (n->nkids == 1) {
        mtrie_node_merge(t, n);
        return true;
    }
    mtrie_kid_remove(n->parent, mtrie_label(n)[0]);
    return mtrie_node_free(t, n);
}

/* After n lost its last subscription: frees it and each ancestor it leaves empty, then
 * merges the first node that stays if it now leads to one child only. */
static void mtrie_prune(nmi_mtrie *t, mtrie_node *n)
{
    while (n != t->root && n->nsubs == 0 && n->nkids == 0) {
        mtrie_node *p = n->parent;
        mtrie_node_settle(t, n);
        n = p;
    }
    mtrie_node_settle(t, n);
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
        unsigned b = mtrie_label(n)[0];
        *depth -= n->len;
        leave(t, n);
        c = mtrie_kid_from(p, b + 1);
        n = p;
    }
    if (c != NULL) {
        memcpy(t->key + *depth, mtrie_label(c), c->len);
        *depth += c->len;
    }
    return c;
}

/* The node of exactly prefix[0..len), or NULL. */
static mtrie_node *mtrie_find(const nmi_mtrie *t, const uint8_t *prefix, size_t len)
{
    mtrie_node *n = t->root;
    for (size_t at = 0; at < len; at += n->len) {
        mtrie_node *c = mtrie_kid(n, prefix[at]);
        if (c == NULL || c->len > len - at || memcmp(mtrie_label(c), prefix + at, c->len) != 0)
            return NULL;
        n = c;
    }
    return n;
}

/* Length of the common start of a[0..alen) and b[0..blen). */
static size_t mtrie_common(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen, i = 0;
    if (memcmp(a, b, n) == 0)
        return n;
    while (a[i] == b[i])
        i++;
    return i;
}

nmi_mtrie *nmi_mtrie_new(void)
{
    nmi_mtrie *t = calloc(1, sizeof(*t));
    if (t != NULL && (t->root = mtrie_node_new(NULL, 0)) == NULL) {
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

static int mtrie_add(nmi_mtrie *t, const uint8_t *prefix, size_t len, void *pipe, bool once)
{
    /* n: the deepest node whose prefix starts prefix; at is its length.  c: n's child
     * sharing m more bytes with prefix but not its whole label, which must split. */
    mtrie_node *n = t->root, *c = NULL;
    size_t at = 0, m = 0, pos;
    if (len > UINT32_MAX)
        return -ENOMEM; /* labels are counted in 32 bits */
    while (at < len && (c = mtrie_kid(n, prefix[at])) != NULL) {
        m = mtrie_common(mtrie_label(c), c->len, prefix + at, len - at);
        if (m < c->len)
            break;
        n = c;
        at += m;
        c = NULL;
    }
    size_t end = c != NULL ? at + m : at; /* where a new leaf would start */
    mtrie_pipe *p = mtrie_pipe_find(t, pipe);
    bool known = p != NULL;
    if (c == NULL && at == len && known && mtrie_sub_find(n, p, &pos)) {
        if (once)
            return -EEXIST;
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
    /* split: the new parent of c, holding the m shared bytes; leaf: the rest of prefix. */
    mtrie_node *split = NULL, *leaf = NULL, *up = n;
    bool ok = true;
    if (c != NULL) {
        ok = (up = split = mtrie_node_new(mtrie_label(c), m)) != NULL &&
             mtrie_kids_reserve(split, mtrie_label(c)[m]) == 0;
    }
    if (ok && end < len) {
        ok = (leaf = mtrie_node_new(prefix + end, len - end)) != NULL &&
             mtrie_kids_reserve(up, prefix[end]) == 0;
    }
    mtrie_node *target = leaf != NULL ? leaf : up;
    if (!ok || mtrie_subs_reserve(target) != 0) {
        mtrie_node_free(t, split);
        mtrie_node_free(t, leaf);
        if (!known)
            free(p);
        return -ENOMEM;
    }
    /* Nothing below can fail. */
    if (!known) {
        *mtrie_link(t, pipe) = p;
        t->npipes++;
    }
    if (split != NULL) {
        /* c keeps the m bytes as slack rather than moving its label: a long edge costs
         * nothing more to split, or (merge) to join again, than a short one. */
        split->parent = n;
        n->kids[mtrie_label(c)[0] - n->min] = split;
        split->kids[mtrie_label(c)[m] - split->min] = c;
        split->nkids = 1;
        c->parent = split;
        c->off += (uint32_t)m;
        c->len -= (uint32_t)m;
    }
    if (leaf != NULL) {
        leaf->parent = up;
        up->kids[prefix[end] - up->min] = leaf;
        up->nkids++;
    }
    mtrie_sub_find(target, p, &pos);
    memmove(&target->subs[pos + 1], &target->subs[pos],
            (target->nsubs - pos) * sizeof(*target->subs));
    target->subs[pos] = (mtrie_sub){.pipe = p, .count = 1};
    p->nodes++;
    if (target->nsubs++ > 0)
        return 0;
    t->nprefixes++;
    return 1;
}

int nmi_mtrie_add(nmi_mtrie *t, const uint8_t *prefix, size_t len, void *pipe)
{
    return mtrie_add(t, prefix, len, pipe, false);
}

int nmi_mtrie_add_once(nmi_mtrie *t, const uint8_t *prefix, size_t len, void *pipe)
{
    return mtrie_add(t, prefix, len, pipe, true);
}

int nmi_mtrie_rm(nmi_mtrie *t, const uint8_t *prefix, size_t len, void *pipe)
{
    mtrie_node *n = mtrie_find(t, prefix, len);
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

static void mtrie_rm_pipe(nmi_mtrie *t, void *pipe, nmi_mtrie_prefix_cb *cb, void *arg, bool each)
{
    mtrie_pipe *p = mtrie_pipe_find(t, pipe);
    size_t depth = 0, pos;
    if (p == NULL)
        return;
    /* The walk settles nodes (frees or merges them) as it leaves them, when their subtree
     * is done.  It stops once the pipe's last entry is gone and settles the path from
     * there up, which the walk has not left: a node on it may have lost its subscription
     * or all children but one. */
    for (mtrie_node *n = t->root; n != NULL; n = mtrie_walk_next(t, n, &depth, mtrie_node_settle)) {
        if (!mtrie_sub_find(n, p, &pos))
            continue;
        mtrie_sub_remove(t, n, pos);
        if ((each || n->nsubs == 0) && cb != NULL)
            cb(depth > 0 ? t->key : (const uint8_t *)"", depth, arg);
        if (p->nodes == 0) {
            while (n != t->root) {
                mtrie_node *up = n->parent;
                mtrie_node_settle(t, n);
                n = up;
            }
            break;
        }
    }
    mtrie_pipe_free(t, p);
}

void nmi_mtrie_rm_pipe(nmi_mtrie *t, void *pipe, nmi_mtrie_prefix_cb *cb, void *arg)
{
    mtrie_rm_pipe(t, pipe, cb, arg, false);
}

void nmi_mtrie_rm_pipe_each(nmi_mtrie *t, void *pipe, nmi_mtrie_prefix_cb *cb, void *arg)
{
    mtrie_rm_pipe(t, pipe, cb, arg, true);
}

void nmi_mtrie_match(nmi_mtrie *t, const uint8_t *data, size_t len, nmi_mtrie_pipe_cb *cb,
                     void *arg)
{
    uint64_t epoch = ++t->epoch;
    const mtrie_node *n = t->root, *c;
    for (size_t at = 0;; at += c->len, n = c) {
        for (uint32_t j = 0; j < n->nsubs; j++) {
            mtrie_pipe *p = n->subs[j].pipe;
            if (p->epoch != epoch) {
                p->epoch = epoch;
                cb(p->pipe, arg);
            }
        }
        /* The lookup matched label[0]; the rest must match too. */
        if (at == len || (c = mtrie_kid(n, data[at])) == NULL || c->len > len - at ||
            memcmp(mtrie_label(c) + 1, data + at + 1, c->len - 1) != 0)
            break;
    }
}

size_t nmi_mtrie_prefixes(const nmi_mtrie *t)
{
    return t->nprefixes;
}
