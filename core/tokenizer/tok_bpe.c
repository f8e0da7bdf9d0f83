/* tok_bpe.c — BPE by merge rank (GPT-2's bpe()), byte-to-unicode alphabet, GPT-2 pattern. */
#include "tok_bpe.h"
#include "txi.h"
#include "utf8.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FILE_BYTES ((size_t)1 << 30)

int32_t tok_bpe_symbol(struct tok_bpe *b, const char *s, size_t n)
{
    int32_t idx;
    if (txi_strmap_get(&b->syms, s, n, &idx)) return idx;
    if (b->syms.n >= (size_t)INT32_MAX - 1) return -1;
    idx = (int32_t)b->syms.n;
    if (txi_strmap_put(&b->syms, s, n, idx, 0)) return -1;
    return idx;
}

int tok_bpe_add_merge(struct tok_bpe *b, const char *l, size_t ll, const char *r, size_t rl,
                      size_t strip, int32_t rank)
{
    int32_t li = tok_bpe_symbol(b, l, ll), ri = tok_bpe_symbol(b, r, rl);
    if (li < 0 || ri < 0) return -1;
    if (strip > rl) strip = rl;
    size_t tl = rl - strip;
    char small[256];
    char *cat = ll + tl <= sizeof small ? small : malloc(ll + tl + 1);
    if (!cat) return -1;
    memcpy(cat, l, ll);
    memcpy(cat + ll, r + strip, tl);
    int32_t mi = tok_bpe_symbol(b, cat, ll + tl);
    if (cat != small) free(cat);
    if (mi < 0) return -1;
    return txi_u64map_put(&b->merges, (uint64_t)(uint32_t)li << 32 | (uint32_t)ri, rank, mi);
}

int tok_bpe_init_byte_level(struct tok_bpe *b)
{
    /* bytes_to_unicode(): printable Latin-1 bytes stand for themselves, the other 68 bytes are
     * mapped in order to U+0100, U+0101, ... */
    int n = 0;
    for (int c = 0; c < 512; c++)
        b->char_byte[c] = -1;
    for (int byte = 0; byte < 256; byte++) {
        int printable = (byte >= '!' && byte <= '~') || (byte >= 0xA1 && byte <= 0xAC) ||
                        (byte >= 0xAE && byte <= 0xFF);
        uint32_t cp = printable ? (uint32_t)byte : (uint32_t)(256 + n++);
        char buf[4];
        int len = txi_utf8_encode(cp, buf);
        memcpy(b->byte_char[byte], buf, (size_t)len);
        b->byte_char_len[byte] = (unsigned char)len;
        b->char_byte[cp] = (int16_t)byte;
        b->byte_sym[byte] = tok_bpe_symbol(b, buf, (size_t)len);
        if (b->byte_sym[byte] < 0) return -1;
    }
    b->byte_level = 1;
    return 0;
}

int tok_bpe_finish(struct tok_bpe *b)
{
    if (txi_grow((void **)&b->sym_id, &b->sym_id_cap, b->syms.n ? b->syms.n : 1, sizeof *b->sym_id))
        return -1;
    for (size_t i = 0; i < b->syms.n; i++) {
        int32_t id;
        b->sym_id[i] =
            txi_strmap_get(&b->vocab, txi_strmap_key(&b->syms, i), b->syms.entries[i].len, &id)
                ? id
                : -1;
    }
    return 0;
}

void tok_bpe_free(struct tok_bpe *b)
{
    txi_strmap_free(&b->vocab);
    txi_strmap_free(&b->syms);
    free(b->sym_id);
    txi_u64map_free(&b->merges);
    memset(b, 0, sizeof *b);
}

/* ---- files ---- */

static tx_status load_vocab_json(struct tok_bpe *b, const char *path, struct tx_error *err)
{
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    if (!root) {
        if (!txi_file_exists(path)) return txi_fail(err, TX_ERR_IO, "%s: no such file", path);
        return txi_fail(err, TX_ERR_FORMAT, "%s: line %d column %d: %s", path, je.line, je.column,
                        je.text);
    }
    tx_status st = TX_OK;
    if (!json_is_object(root)) {
        st = txi_fail(err, TX_ERR_FORMAT, "%s: not a JSON object of token -> id", path);
        goto done;
    }
    const char *key;
    json_t *v;
    b->max_id = -1;
    json_object_foreach(root, key, v)
    {
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) >= TOK_MAX_ID) {
            st = txi_fail(err, TX_ERR_FORMAT,
                          "%s: the id of token \"%.64s\" is not an integer in "
                          "[0, 2^22)",
                          path, key);
            goto done;
        }
        int32_t id = (int32_t)json_integer_value(v);
        if (txi_strmap_put(&b->vocab, key, strlen(key), id, 1)) {
            st = txi_fail(err, TX_ERR_NOMEM, "%s: out of memory", path);
            goto done;
        }
        if (id > b->max_id) b->max_id = id;
    }
done:
    json_decref(root);
    return st;
}

/* Python str.split() field boundaries: runs of str.isspace() characters. */
static size_t skip_space(const char *s, size_t i, size_t end, int want_space)
{
    while (i < end) {
        uint32_t cp;
        int n = txi_utf8_decode(s + i, end - i, &cp);
        if (n <= 0) n = 1, cp = 0xFFFD;
        if (txi_utf8_is_py_space(cp) != want_space) break;
        i += (size_t)n;
    }
    return i;
}

tx_status tok_bpe_load_files(struct tok_bpe *b, const char *vocab_path, const char *merges_path,
                             struct tx_error *err)
{
    memset(b, 0, sizeof *b);
    b->unk_id = -1;
    char *text = NULL;
    size_t size;
    tx_status st = load_vocab_json(b, vocab_path, err);
    if (st) goto fail;
    st = txi_read_file(merges_path, MAX_FILE_BYTES, &text, &size, err);
    if (st) goto fail;
    if (txi_utf8_validate(text, size) != size) {
        st = txi_fail(err, TX_ERR_ENCODING, "%s: invalid UTF-8 at byte %zu", merges_path,
                      txi_utf8_validate(text, size));
        goto fail;
    }
    if (tok_bpe_init_byte_level(b)) goto oom;
    /* read().split("\n")[1:-1]: lines strictly between the first and the last newline-ended
     * piece; the rank of a line is its index in that list. */
    {
        size_t line_start = 0, line_no = 0;
        int32_t rank = 0;
        for (size_t i = 0; i <= size; i++) {
            if (i < size && text[i] != '\n') continue;
            if (i == size) break; /* the part after the last "\n" is dropped */
            if (line_no > 0) {
                size_t f1 = skip_space(text, line_start, i, 1);
                size_t e1 = skip_space(text, f1, i, 0);
                size_t f2 = skip_space(text, e1, i, 1);
                size_t e2 = skip_space(text, f2, i, 0);
                size_t f3 = skip_space(text, e2, i, 1);
                if (e1 > f1 && e2 > f2 && f3 == i) {
                    if (tok_bpe_add_merge(b, text + f1, e1 - f1, text + f2, e2 - f2, 0, rank))
                        goto oom;
                }
                if (rank == INT32_MAX) {
                    st = txi_fail(err, TX_ERR_TOO_LONG, "%s: too many lines", merges_path);
                    goto fail;
                }
                rank++;
            }
            line_no++;
            line_start = i + 1;
        }
    }
    free(text);
    text = NULL;
    if (tok_bpe_finish(b)) goto oom;
    return TX_OK;
oom:
    st = txi_fail(err, TX_ERR_NOMEM, "%s: out of memory", merges_path);
fail:
    free(text);
    tok_bpe_free(b);
    return st;
}

/* ---- merging ---- */

static int entry_before(const struct tok_bpe_entry *a, const struct tok_bpe_entry *b)
{
    return a->rank != b->rank ? a->rank < b->rank : a->pos < b->pos;
}

static int heap_push(struct tok_bpe_scratch *sc, struct tok_bpe_entry e)
{
    if (txi_grow((void **)&sc->heap, &sc->heap_cap, sc->n_heap + 1, sizeof *sc->heap)) return -1;
    size_t i = sc->n_heap++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!entry_before(&e, &sc->heap[p])) break;
        sc->heap[i] = sc->heap[p];
        i = p;
    }
    sc->heap[i] = e;
    return 0;
}

static struct tok_bpe_entry heap_pop(struct tok_bpe_scratch *sc)
{
    struct tok_bpe_entry top = sc->heap[0], last = sc->heap[--sc->n_heap];
    size_t i = 0, n = sc->n_heap;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const struct tok_bpe_entry *best = &last;
        if (l < n && entry_before(&sc->heap[l], best)) m = l, best = &sc->heap[l];
        if (r < n && entry_before(&sc->heap[r], best)) m = r;
        if (m == i) break;
        sc->heap[i] = sc->heap[m];
        i = m;
    }
    if (n > 0) sc->heap[i] = last;
    return top;
}

static int push_pair(const struct tok_bpe *b, struct tok_bpe_scratch *sc, int32_t l, int32_t r)
{
    if (l < 0 || r < 0) return 0;
    int32_t ls = sc->s[l].sym, rs = sc->s[r].sym;
    const int32_t *m = txi_u64map_get(&b->merges, (uint64_t)(uint32_t)ls << 32 | (uint32_t)rs);
    if (!m) return 0;
    return heap_push(sc, (struct tok_bpe_entry){m[0], l, ls, rs});
}

/* Pops the round's batch: every queued occurrence of the lowest rank (Rust order: just the
 * first). Returns its size, or -1 on OOM. */
static long pop_round(const struct tok_bpe *b, struct tok_bpe_scratch *sc)
{
    size_t nb = 0;
    int32_t rank = sc->heap[0].rank;
    while (sc->n_heap > 0 && sc->heap[0].rank == rank && (nb == 0 || !b->rust_order)) {
        if (txi_grow((void **)&sc->batch, &sc->batch_cap, nb + 1, sizeof *sc->batch)) return -1;
        sc->batch[nb++] = heap_pop(sc);
    }
    return (long)nb;
}

/* Applies the batch's occurrences in text order, skipping stale ones (symbols changed);
 * returns how many were applied, their positions left in batch[0..). */
static size_t apply_round(const struct tok_bpe *b, struct tok_bpe_scratch *sc, size_t nb)
{
    size_t n_done = 0;
    for (size_t k = 0; k < nb; k++) {
        struct tok_bpe_entry e = sc->batch[k];
        struct tok_bpe_sym *l = &sc->s[e.pos];
        if (l->sym != e.left || l->next < 0 || sc->s[l->next].sym != e.right) continue;
        const int32_t *m =
            txi_u64map_get(&b->merges, (uint64_t)(uint32_t)e.left << 32 | (uint32_t)e.right);
        struct tok_bpe_sym *r = &sc->s[l->next];
        l->sym = m[1];
        l->next = r->next;
        if (r->next >= 0) sc->s[r->next].prev = e.pos;
        r->sym = -1;
        sc->batch[n_done++].pos = e.pos; /* remember which symbols changed */
    }
    return n_done;
}

/* The final symbols, with their spans in initial-symbol indices, into sc->out. -1 on OOM. */
static int collect_out(struct tok_bpe_scratch *sc, size_t n)
{
    for (int32_t i = 0; i != -1; i = sc->s[i].next) {
        if (txi_grow((void **)&sc->out, &sc->out_cap, sc->n_out + 1, sizeof *sc->out)) return -1;
        sc->out[sc->n_out].sym = sc->s[i].sym;
        sc->out[sc->n_out].start = sc->s[i].start;
        sc->out[sc->n_out].end = sc->s[i].next >= 0 ? sc->s[sc->s[i].next].start : (uint32_t)n;
        sc->n_out++;
    }
    return 0;
}

int tok_bpe_merge(const struct tok_bpe *b, struct tok_bpe_scratch *sc, const int32_t *syms,
                  size_t n)
{
    sc->n_out = 0;
    sc->n_heap = 0;
    if (n == 0) return 0;
    if (n >= (size_t)INT32_MAX) return -1;
    if (txi_grow((void **)&sc->s, &sc->s_cap, n, sizeof *sc->s)) return -1;
    for (size_t i = 0; i < n; i++)
        sc->s[i] = (struct tok_bpe_sym){syms[i], (int32_t)i - 1, i + 1 < n ? (int32_t)i + 1 : -1,
                                        (uint32_t)i};
    for (size_t i = 0; i + 1 < n; i++)
        if (push_pair(b, sc, (int32_t)i, (int32_t)i + 1)) return -1;

    /* Rounds: take every queued occurrence of the lowest rank (one pair, since ranks are unique
     * per pair) in text order; an occurrence whose symbols changed is stale and skipped. New
     * neighbour pairs are queued only after the round, as GPT-2 rescans after a full pass. */
    while (sc->n_heap > 0) {
        long nb = pop_round(b, sc);
        if (nb < 0) return -1;
        size_t n_done = apply_round(b, sc, (size_t)nb);
        for (size_t k = 0; k < n_done; k++) {
            int32_t p = sc->batch[k].pos;
            if (sc->s[p].sym < 0) continue;
            if (push_pair(b, sc, sc->s[p].prev, p) || push_pair(b, sc, p, sc->s[p].next)) return -1;
        }
    }
    return collect_out(sc, n);
}

void tok_bpe_scratch_free(struct tok_bpe_scratch *sc)
{
    free(sc->s);
    free(sc->heap);
    free(sc->batch);
    free(sc->out);
    memset(sc, 0, sizeof *sc);
}

/* ---- GPT-2 pre-tokenization ---- */

enum { CH_LETTER, CH_NUMBER, CH_SPACE, CH_OTHER };

static int char_class(const char *s, size_t n, size_t *len)
{
    uint32_t cp;
    int l = txi_utf8_decode(s, n, &cp);
    if (l <= 0) {
        *len = 1;
        return CH_OTHER;
    }
    *len = (size_t)l;
    if (txi_utf8_is_letter(cp)) return CH_LETTER;
    if (txi_utf8_is_number(cp)) return CH_NUMBER;
    if (txi_utf8_is_white_space(cp)) return CH_SPACE;
    return CH_OTHER;
}

/* Length of the run of characters of class cls starting at s[i]. */
static size_t run_of(const char *s, size_t n, size_t i, int cls)
{
    size_t j = i, l;
    while (j < n && char_class(s + j, n - j, &l) == cls)
        j += l;
    return j - i;
}

size_t tok_gpt2_pretok_next(const char *s, size_t n)
{
    /* 's|'t|'re|'ve|'m|'ll|'d (case-sensitive, as the original pattern) */
    if (s[0] == '\'' && n >= 2) {
        char c = s[1];
        if (c == 's' || c == 't' || c == 'm' || c == 'd') return 2;
        if (n >= 3 &&
            ((c == 'r' && s[2] == 'e') || (c == 'v' && s[2] == 'e') || (c == 'l' && s[2] == 'l')))
            return 3;
    }
    size_t l0;
    int c0 = char_class(s, n, &l0);
    /* ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`: an optional leading space joins the run
     * that follows it */
    size_t start = 0;
    int cls = c0;
    if (s[0] == ' ' && n > 1) {
        size_t l1;
        int c1 = char_class(s + 1, n - 1, &l1);
        if (c1 != CH_SPACE) {
            start = 1;
            cls = c1;
        }
    }
    if (cls != CH_SPACE) return start + run_of(s, n, start, cls);
    /* `\s+(?!\S)` then `\s+`: a whitespace run, minus its last character when a non-space
     * follows and the run is longer than one character */
    size_t end = run_of(s, n, 0, CH_SPACE);
    if (end == n) return n;
    size_t last = end - 1;
    while (last > 0 && ((unsigned char)s[last] & 0xC0) == 0x80)
        last--;
    return last > 0 ? last : end;
}

int tok_bpe_unbyte(const struct tok_bpe *b, const char *s, size_t n, struct txi_buf *out)
{
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        int l = txi_utf8_decode(s + i, n - i, &cp);
        if (l <= 0) {
            if (txi_buf_putc(out, s[i])) return -1;
            i++;
            continue;
        }
        if (b->byte_level && cp < 512 && b->char_byte[cp] >= 0) {
            if (txi_buf_putc(out, (char)b->char_byte[cp])) return -1;
        } else if (txi_buf_append(out, s + i, (size_t)l)) {
            return -1;
        }
        i += (size_t)l;
    }
    return 0;
}
