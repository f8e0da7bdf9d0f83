/* tok_trie.c — double-array trie construction (breadth-first, free-slot list) and lookups. */
#include "tok_trie.h"
#include "containers.h"

#include <stdlib.h>
#include <string.h>

/* Build state: the arrays being filled plus a doubly linked list of unused slots, so that the
 * search for a base only visits free slots. */
struct builder {
    struct tok_trie *t;
    size_t cap;
    int32_t *next_free, *prev_free; /* (cap): links of the free list; -1 = none */
    int32_t head, tail;             /* free list ends; -1 when empty */
};

static void free_list_remove(struct builder *b, int32_t s)
{
    int32_t p = b->prev_free[s], q = b->next_free[s];
    if (p >= 0)
        b->next_free[p] = q;
    else
        b->head = q;
    if (q >= 0)
        b->prev_free[q] = p;
    else
        b->tail = p;
}

/* Makes sure slots [0, need) exist; new slots are free and appended to the free list. */
static int ensure(struct builder *b, size_t need)
{
    if (need <= b->t->n) return 0;
    if (need > (size_t)INT32_MAX) return -1;
    if (need > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < need)
            cap *= 2;
        if (cap > (size_t)INT32_MAX) cap = (size_t)INT32_MAX;
        int32_t **arrs[5] = {&b->t->base, &b->t->check, &b->t->value, &b->next_free, &b->prev_free};
        for (int i = 0; i < 5; i++) {
            int32_t *p = realloc(*arrs[i], cap * sizeof(int32_t));
            if (!p) return -1;
            *arrs[i] = p;
        }
        b->cap = cap;
    }
    for (size_t s = b->t->n; s < need; s++) {
        b->t->base[s] = 0;
        b->t->check[s] = -1;
        b->t->value[s] = -1;
        b->next_free[s] = -1;
        b->prev_free[s] = b->tail;
        if (b->tail >= 0)
            b->next_free[b->tail] = (int32_t)s;
        else
            b->head = (int32_t)s;
        b->tail = (int32_t)s;
    }
    b->t->n = need;
    return 0;
}

/* Finds base b >= 0 such that every slot b + labels[i] is free (slot 0, the root, is never
 * free). Candidates come from the free list: slot s is tried as the home of labels[0]. */
static int find_base(struct builder *b, const unsigned char *labels, int n_labels, int32_t *out)
{
    for (;;) {
        int32_t s = b->head;
        while (s >= 0) {
            if (s >= labels[0]) {
                int32_t base = s - labels[0];
                if (ensure(b, (size_t)base + labels[n_labels - 1] + 1)) return -1;
                int ok = 1;
                for (int i = 1; i < n_labels && ok; i++)
                    ok = b->t->check[base + labels[i]] == -1;
                if (ok) {
                    *out = base;
                    return 0;
                }
            }
            s = b->next_free[s];
        }
        /* No fit among the current slots: add room at the end and retry there. */
        if (ensure(b, b->t->n + 256)) return -1;
    }
}

static int key_cmp(const void *pa, const void *pb)
{
    const struct tok_trie_key *a = pa, *b = pb;
    size_t n = a->len < b->len ? a->len : b->len;
    int c = n ? memcmp(a->s, b->s, n) : 0;
    if (c) return c;
    if (a->len != b->len) return a->len < b->len ? -1 : 1;
    return 0;
}

struct range {
    int32_t node;
    size_t lo, hi, depth;
};

/* The breadth-first queue of key ranges still to place. */
struct queue {
    struct range *v; /* (cap) */
    size_t cap, head, len;
};

/* Sorts keys[0..*n_keys) in place; of each run of equal keys keeps one, carrying the value of
 * the key given first; drops empty keys. Sets t->max_key_len. -1 on OOM. */
static int sort_unique(struct tok_trie *t, struct tok_trie_key *keys, size_t *n_keys)
{
    size_t n = *n_keys;
    /* a copy whose value field temporarily holds the given index */
    struct tok_trie_key *sorted = malloc((n ? n : 1) * sizeof *sorted);
    if (!sorted) return -1;
    if (n) memcpy(sorted, keys, n * sizeof *sorted);
    for (size_t i = 0; i < n; i++)
        sorted[i].value = (int32_t)i;
    qsort(sorted, n, sizeof *sorted, key_cmp);
    size_t w = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        int32_t first = sorted[i].value;
        while (j < n && key_cmp(&sorted[i], &sorted[j]) == 0) {
            if (sorted[j].value < first) first = sorted[j].value;
            j++;
        }
        if (sorted[i].len > 0) {
            sorted[w] = sorted[i];
            sorted[w].value = keys[first].value;
            if (sorted[w].len > t->max_key_len) t->max_key_len = sorted[w].len;
            w++;
        }
        i = j;
    }
    if (w) memcpy(keys, sorted, w * sizeof *sorted);
    free(sorted);
    *n_keys = w;
    return 0;
}

/* Queues one child range per label of r (keys are sorted, so each label's keys are a run from
 * lo). -1 on OOM. */
static int queue_children(struct queue *q, const struct tok_trie_key *keys, struct range r,
                          size_t lo, int32_t base, const unsigned char *labels, int n_labels)
{
    if (q->head > 4096 && q->head * 2 > q->len) { /* compact the consumed front */
        memmove(q->v, q->v + q->head, (q->len - q->head) * sizeof *q->v);
        q->len -= q->head;
        q->head = 0;
    }
    if (txi_grow((void **)&q->v, &q->cap, q->len + (size_t)n_labels, sizeof *q->v)) return -1;
    size_t i = lo;
    for (int k = 0; k < n_labels; k++) {
        size_t j = i;
        while (j < r.hi && (unsigned char)keys[j].s[r.depth] == labels[k])
            j++;
        q->v[q->len++] = (struct range){base + labels[k], i, j, r.depth + 1};
        i = j;
    }
    return 0;
}

/* Places node r: its value (a key ending here), then its children's slots. -1 on OOM. */
static int place(struct builder *b, const struct tok_trie_key *keys, struct range r,
                 struct queue *q)
{
    struct tok_trie *t = b->t;
    size_t lo = r.lo;
    if (lo < r.hi && keys[lo].len == r.depth) {
        t->value[r.node] = keys[lo].value;
        lo++;
    }
    if (lo >= r.hi) return 0;
    unsigned char labels[256];
    int n_labels = 0;
    for (size_t i = lo; i < r.hi; i++) {
        unsigned char c = (unsigned char)keys[i].s[r.depth];
        if (n_labels == 0 || labels[n_labels - 1] != c) labels[n_labels++] = c;
    }
    int32_t base;
    if (find_base(b, labels, n_labels, &base)) return -1;
    t->base[r.node] = base;
    for (int k = 0; k < n_labels; k++) {
        int32_t s = base + labels[k];
        free_list_remove(b, s);
        t->check[s] = r.node;
    }
    return queue_children(q, keys, r, lo, base, labels, n_labels);
}

tx_status tok_trie_build(struct tok_trie *t, struct tok_trie_key *keys, size_t n_keys)
{
    memset(t, 0, sizeof *t);
    struct builder b = {.t = t, .head = -1, .tail = -1};
    struct queue q = {0};
    int rc = sort_unique(t, keys, &n_keys);
    t->n_keys = n_keys;
    if (!rc) rc = ensure(&b, 256);
    if (!rc) {
        free_list_remove(&b, 0);
        t->check[0] = -2; /* the root is nobody's child */
        rc = txi_grow((void **)&q.v, &q.cap, 1, sizeof *q.v);
    }
    if (!rc) q.v[q.len++] = (struct range){0, 0, n_keys, 0};
    while (!rc && q.head < q.len) {
        struct range r = q.v[q.head++];
        rc = place(&b, keys, r, &q);
    }
    free(q.v);
    free(b.next_free);
    free(b.prev_free);
    if (rc) {
        tok_trie_free(t);
        return TX_ERR_NOMEM;
    }
    return TX_OK;
}

void tok_trie_free(struct tok_trie *t)
{
    free(t->base);
    free(t->check);
    free(t->value);
    memset(t, 0, sizeof *t);
}

size_t tok_trie_longest_prefix(const struct tok_trie *t, const char *s, size_t n, int32_t *value)
{
    size_t best = 0;
    int32_t node = 0;
    for (size_t i = 0; i < n; i++) {
        node = tok_trie_step(t, node, (unsigned char)s[i]);
        if (node < 0) break;
        if (t->value[node] >= 0) {
            best = i + 1;
            if (value) *value = t->value[node];
        }
    }
    return best;
}

int32_t tok_trie_get(const struct tok_trie *t, const char *s, size_t n)
{
    int32_t node = 0;
    if (t->n == 0) return -1;
    for (size_t i = 0; i < n; i++) {
        node = tok_trie_step(t, node, (unsigned char)s[i]);
        if (node < 0) return -1;
    }
    return t->value[node];
}
