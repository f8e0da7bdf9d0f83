/* tok_added.c — splitting input text on literal added/special tokens (slow and fast semantics). */
#include "tok_added.h"
#include "txi.h"
#include "utf8.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

tx_status tok_added_add(struct tok_added *a, const char *content, size_t len, int32_t id,
                        int lstrip, int rstrip, int single_word, int special)
{
    int at = -1; /* the trie is only rebuilt by tok_added_finish: search linearly */
    for (int i = 0; i < a->n && at < 0; i++)
        if (a->tokens[i].len == len && memcmp(a->tokens[i].content, content, len) == 0) at = i;
    if (at < 0) {
        if (txi_grow((void **)&a->tokens, &a->cap, (size_t)a->n + 1, sizeof *a->tokens))
            return TX_ERR_NOMEM;
        char *c = malloc(len + 1);
        if (!c) return TX_ERR_NOMEM;
        memcpy(c, content, len);
        c[len] = '\0';
        at = a->n++;
        a->tokens[at].content = c;
        a->tokens[at].len = len;
        a->tokens[at].additional = 0;
    }
    struct tok_added_token *t = &a->tokens[at];
    t->id = id;
    t->lstrip = lstrip;
    t->rstrip = rstrip;
    t->single_word = single_word;
    t->special = special;
    t->normalized = 0;
    return TX_OK;
}

tx_status tok_added_finish(struct tok_added *a)
{
    tok_trie_free(&a->trie);
    if (a->n == 0) return TX_OK;
    struct tok_trie_key *keys = malloc((size_t)a->n * sizeof *keys);
    if (!keys) return TX_ERR_NOMEM;
    for (int i = 0; i < a->n; i++)
        keys[i] = (struct tok_trie_key){a->tokens[i].content, a->tokens[i].len, i};
    tx_status st = tok_trie_build(&a->trie, keys, (size_t)a->n);
    free(keys);
    return st;
}

void tok_added_free(struct tok_added *a)
{
    for (int i = 0; i < a->n; i++)
        free(a->tokens[i].content);
    free(a->tokens);
    tok_trie_free(&a->trie);
    memset(a, 0, sizeof *a);
}

int tok_added_find(const struct tok_added *a, const char *s, size_t n)
{
    if (a->trie.n == 0) return -1;
    return tok_trie_get(&a->trie, s, n);
}

int tok_added_find_id(const struct tok_added *a, int32_t id)
{
    for (int i = 0; i < a->n; i++)
        if (a->tokens[i].id == id) return i;
    return -1;
}

void tok_split_free(struct tok_split *s)
{
    free(s->bytes);
    free(s->off);
    free(s->segs);
    memset(s, 0, sizeof *s);
}

/* Appends a copy of pool bytes [pos, pos + n) with their offsets; returns the new position or
 * SIZE_MAX on OOM. (Positions, not pointers: the pool may move.) */
static size_t pool_copy(struct tok_split *s, size_t pos, size_t n)
{
    if (txi_grow((void **)&s->bytes, &s->pool_cap, s->pool_len + n + 1, 1) ||
        txi_grow((void **)&s->off, &s->off_cap, s->pool_len + n + 1, sizeof *s->off))
        return SIZE_MAX;
    size_t at = s->pool_len;
    memmove(s->bytes + at, s->bytes + pos, n);
    memmove(s->off + at, s->off + pos, n * sizeof *s->off);
    s->pool_len += n;
    return at;
}

static int push_seg(struct tok_split *s, int added, size_t pos, size_t len)
{
    if (txi_grow((void **)&s->segs, &s->segs_cap, s->n_segs + 1, sizeof *s->segs)) return -1;
    struct tok_segment *g = &s->segs[s->n_segs++];
    g->added = added;
    g->pos = pos;
    g->len = len;
    tok_split_span(s, pos, len, &g->ob, &g->oe);
    return 0;
}

/* Fills the pool with the input (and an optional leading space) and cuts it at the
 * leftmost-longest matches of the added tokens (at character starts); empty text pieces between
 * matches are not kept. */
static int cut(const struct tok_added *a, const char *text, size_t len, int prefix_space,
               struct tok_split *s)
{
    s->pool_len = 0;
    s->n_segs = 0;
    size_t total = len + (prefix_space ? 1 : 0);
    if (txi_grow((void **)&s->bytes, &s->pool_cap, total + 1, 1) ||
        txi_grow((void **)&s->off, &s->off_cap, total + 1, sizeof *s->off))
        return -1;
    if (prefix_space) {
        s->bytes[0] = ' ';
        s->off[0] = 0;
    }
    size_t base = prefix_space ? 1 : 0;
    if (len) memcpy(s->bytes + base, text, len);
    for (size_t i = 0; i < len; i++)
        s->off[base + i] = (uint32_t)i;
    s->pool_len = total;

    size_t start = 0, i = 0;
    while (i < total) {
        int32_t idx = -1;
        size_t m = a->n ? tok_trie_longest_prefix(&a->trie, s->bytes + i, total - i, &idx) : 0;
        if (m > 0) {
            if (i > start && push_seg(s, -1, start, i - start)) return -1;
            if (push_seg(s, idx, i, m)) return -1;
            i += m;
            start = i;
        } else {
            size_t step = (size_t)txi_utf8_lead_len((unsigned char)s->bytes[i]);
            i += step < total - i ? step : total - i;
        }
    }
    if (total > start && push_seg(s, -1, start, total - start)) return -1;
    return 0;
}

/* Python str.lstrip()/rstrip() on a pool segment (Unicode whitespace, per str.isspace). */
static void seg_lstrip(const struct tok_split *s, struct tok_segment *g)
{
    while (g->len > 0) {
        uint32_t cp;
        int n = txi_utf8_decode(s->bytes + g->pos, g->len, &cp);
        if (n <= 0 || !txi_utf8_is_py_space(cp)) break;
        g->pos += (size_t)n;
        g->len -= (size_t)n;
    }
}

static void seg_rstrip(const struct tok_split *s, struct tok_segment *g)
{
    while (g->len > 0) {
        size_t k = g->len - 1;
        while (k > 0 && ((unsigned char)s->bytes[g->pos + k] & 0xC0) == 0x80)
            k--;
        uint32_t cp;
        int n = txi_utf8_decode(s->bytes + g->pos + k, g->len - k, &cp);
        if (n <= 0 || !txi_utf8_is_py_space(cp)) break;
        g->len = k;
    }
}

/* Replaces segment dst by the concatenation of a and b (as text). */
static int seg_concat(struct tok_split *s, size_t dst, struct tok_segment x, struct tok_segment y)
{
    size_t at = pool_copy(s, x.pos, x.len);
    if (at == SIZE_MAX) return -1;
    if (pool_copy(s, y.pos, y.len) == SIZE_MAX) return -1;
    struct tok_segment *g = &s->segs[dst];
    g->added = -1;
    g->pos = at;
    g->len = x.len + y.len;
    tok_split_span(s, g->pos, g->len, &g->ob, &g->oe);
    return 0;
}

tx_status tok_added_split_slow(const struct tok_added *a, const char *text, size_t len,
                               int prefix_space, struct tok_split *s, struct tx_error *err)
{
    if (cut(a, text, len, prefix_space, s)) goto oom;
    /* PreTrainedTokenizer.tokenize, transformers 4.35: left/right are the neighbours as they
     * are when token i is reached (earlier steps may have changed them); the single_word tests
     * look at those captured values, the joins at the already stripped ones. */
    for (size_t i = 0; i < s->n_segs; i++) {
        struct tok_segment cur = s->segs[i];
        if (cur.added < 0) continue;
        const struct tok_added_token *t = &a->tokens[cur.added];
        int has_left = i > 0 && s->segs[i - 1].len > 0;
        int has_right = i + 1 < s->n_segs && s->segs[i + 1].len > 0;
        struct tok_segment left = has_left ? s->segs[i - 1] : cur;
        struct tok_segment right = has_right ? s->segs[i + 1] : cur;
        if (t->rstrip && has_right) {
            seg_lstrip(s, &s->segs[i + 1]);
            if (s->segs[i + 1].len != right.len) s->segs[i + 1].added = -1;
        }
        if (t->lstrip && has_left) {
            seg_rstrip(s, &s->segs[i - 1]);
            if (s->segs[i - 1].len != left.len) s->segs[i - 1].added = -1;
        }
        if (t->single_word && has_left && s->bytes[left.pos + left.len - 1] != ' ') {
            if (seg_concat(s, i - 1, s->segs[i - 1], cur)) goto oom;
            s->segs[i].added = -1;
            s->segs[i].len = 0;
        } else if (t->single_word && has_right && s->bytes[right.pos] != ' ') {
            if (seg_concat(s, i + 1, cur, s->segs[i + 1])) goto oom;
            s->segs[i].added = -1;
            s->segs[i].len = 0;
        }
    }
    /* Drop the segments that ended up empty. */
    size_t w = 0;
    for (size_t i = 0; i < s->n_segs; i++)
        if (s->segs[i].len > 0) s->segs[w++] = s->segs[i];
    s->n_segs = w;
    return TX_OK;
oom:
    return txi_fail(err, TX_ERR_NOMEM, "out of memory splitting special tokens");
}

/* \w of the Rust regex crate: Alphabetic, marks, decimal digits, connector punctuation and the
 * join controls (approximated from utf8proc categories). */
static int is_word_char(uint32_t cp)
{
    if (cp == 0x200C || cp == 0x200D) return 1;
    utf8proc_category_t c = utf8proc_category((utf8proc_int32_t)cp);
    return (c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_LO) ||
           (c >= UTF8PROC_CATEGORY_MN && c <= UTF8PROC_CATEGORY_ME) || c == UTF8PROC_CATEGORY_ND ||
           c == UTF8PROC_CATEGORY_NL || c == UTF8PROC_CATEGORY_PC;
}

static int last_char(const char *s, size_t end, size_t *start, uint32_t *cp)
{
    size_t k = end - 1;
    while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80)
        k--;
    *start = k;
    return txi_utf8_decode(s + k, end - k, cp) > 0;
}

/* single_word: is the match bytes[start, stop) between word boundaries? */
static int at_word_bounds(const char *bytes, size_t len, size_t start, size_t stop)
{
    uint32_t cp;
    size_t cs;
    int start_space = start == 0 || !(last_char(bytes, start, &cs, &cp) && is_word_char(cp));
    int stop_space =
        stop == len || !(txi_utf8_decode(bytes + stop, len - stop, &cp) > 0 && is_word_char(cp));
    return start_space && stop_space;
}

/* lstrip/rstrip: the match [*start, *stop) swallows the whitespace around it (not before
 * start_offset, the end of the previous match). */
static void swallow_spaces(const struct tok_added_token *t, const char *bytes, size_t len,
                           size_t start_offset, size_t *start, size_t *stop)
{
    uint32_t cp;
    size_t cs;
    if (t->lstrip) {
        size_t ns = *start;
        while (ns > 0 && last_char(bytes, ns, &cs, &cp) && txi_utf8_is_white_space(cp))
            ns = cs;
        *start = ns > start_offset ? ns : start_offset;
    }
    if (t->rstrip) {
        int n;
        while (*stop < len && (n = txi_utf8_decode(bytes + *stop, len - *stop, &cp)) > 0 &&
               txi_utf8_is_white_space(cp))
            *stop += (size_t)n;
    }
}

/* AddedVocabulary::find_matches over the raw matches raw[0..n_raw): rebuilds s's segment list.
 * -1 on OOM. */
static int rebuild_fast(const struct tok_added *a, const struct tok_segment *raw, size_t n_raw,
                        size_t len, struct tok_split *s)
{
    size_t start_offset = 0;
    for (size_t k = 0; k < n_raw; k++) {
        if (raw[k].added < 0) continue;
        const struct tok_added_token *t = &a->tokens[raw[k].added];
        size_t start = raw[k].pos, stop = raw[k].pos + raw[k].len;
        if (t->single_word && !at_word_bounds(s->bytes, len, start, stop)) continue;
        swallow_spaces(t, s->bytes, len, start_offset, &start, &stop);
        if (start_offset < start && push_seg(s, -1, start_offset, start - start_offset)) return -1;
        if (push_seg(s, raw[k].added, start, stop - start)) return -1;
        start_offset = stop;
    }
    if (start_offset < len && push_seg(s, -1, start_offset, len - start_offset)) return -1;
    return 0;
}

tx_status tok_added_split_fast(const struct tok_added *a, const char *text, size_t len,
                               struct tok_split *s, struct tx_error *err)
{
    if (cut(a, text, len, 0, s)) goto oom;
    size_t n_raw = s->n_segs;
    struct tok_segment *raw = malloc((n_raw ? n_raw : 1) * sizeof *raw);
    if (!raw) goto oom;
    if (n_raw) memcpy(raw, s->segs, n_raw * sizeof *raw);
    s->n_segs = 0;
    int rc = rebuild_fast(a, raw, n_raw, len, s);
    free(raw);
    if (rc) goto oom;
    return TX_OK;
oom:
    return txi_fail(err, TX_ERR_NOMEM, "out of memory splitting added tokens");
}
