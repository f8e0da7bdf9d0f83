/* tok_spm.c — SentencePiece processor: model checks, encode (unigram or BPE), decode. */
#include "tok_spm.h"
#include "txi.h"
#include "utf8.h"

#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SPACE_SYMBOL "\xE2\x96\x81"
#define MAX_MODEL_BYTES ((size_t)1 << 30)

static int piece_to_byte(const char *p, size_t n)
{
    /* "<0xNN>" with upper-case hex digits, as ByteToPiece writes them */
    static const char hex[] = "0123456789ABCDEF";
    if (n != 6 || memcmp(p, "<0x", 3) != 0 || p[5] != '>') return -1;
    const char *h = strchr(hex, p[3]), *l = strchr(hex, p[4]);
    if (!h || !l || !p[3] || !p[4]) return -1;
    return (int)((h - hex) * 16 + (l - hex));
}

tx_status tok_spm_load(struct tok_spm *m, const char *path, struct tx_error *err)
{
    char *data;
    size_t size;
    tx_status st = txi_read_file(path, MAX_MODEL_BYTES, &data, &size, err);
    if (st) {
        memset(m, 0, sizeof *m);
        return st;
    }
    return tok_spm_load_buffer(m, data, size, path, err);
}

/* The tries' keys gathered while indexing the pieces. */
struct piece_index {
    struct tok_trie_key *keys; /* (n) normal, user-defined and unused pieces */
    struct tok_trie_key *user; /* (n) user-defined pieces */
    size_t n_keys, n_user;
    int byte_found; /* distinct bytes with a byte piece */
};

/* A piece's text: non-empty, valid UTF-8. */
static tx_status check_piece_text(const struct tok_spm *m, const struct spm_piece *sp, int i,
                                  struct tx_error *err)
{
    if (sp->piece.size == 0)
        return txi_fail(err, TX_ERR_FORMAT, "%s: pieces[%d] is empty", m->name, i);
    if (sp->piece.size > INT32_MAX ||
        txi_utf8_validate(sp->piece.data, sp->piece.size) != sp->piece.size)
        return txi_fail(err, TX_ERR_FORMAT, "%s: pieces[%d] is not valid UTF-8", m->name, i);
    return TX_OK;
}

/* A BYTE piece: allowed with byte_fallback only, "<0xNN>", recorded in byte_id. */
static tx_status add_byte_piece(struct tok_spm *m, const struct spm_piece *sp, int i,
                                struct piece_index *ix, struct tx_error *err)
{
    int shown = (int)(sp->piece.size > 16 ? 16 : sp->piece.size);
    if (!m->proto.byte_fallback)
        return txi_fail(err, TX_ERR_FORMAT,
                        "%s: byte piece pieces[%d] \"%.*s\" is found although byte_fallback "
                        "is false",
                        m->name, i, shown, sp->piece.data);
    int b = piece_to_byte(sp->piece.data, sp->piece.size);
    if (b < 0)
        return txi_fail(err, TX_ERR_FORMAT, "%s: byte piece pieces[%d] \"%.*s\" is invalid",
                        m->name, i, shown, sp->piece.data);
    if (m->byte_id[b] < 0) ix->byte_found++;
    m->byte_id[b] = i;
    return TX_OK;
}

/* The flags, unk id and score range a piece of this type contributes. */
static tx_status add_piece_type(struct tok_spm *m, const struct spm_piece *sp, int i,
                                struct piece_index *ix, struct tx_error *err)
{
    if (sp->type == SPM_USER_DEFINED) {
        ix->user[ix->n_user++] = (struct tok_trie_key){sp->piece.data, sp->piece.size, i};
        m->uni_flags[i] |= UNI_USER_DEFINED;
    }
    if (sp->type == SPM_UNUSED) m->uni_flags[i] |= UNI_UNUSED;
    if (sp->type == SPM_UNKNOWN) {
        if (m->unk_id >= 0)
            return txi_fail(err, TX_ERR_FORMAT,
                            "%s: pieces[%d]: unk is already defined (pieces[%d])", m->name, i,
                            m->unk_id);
        m->unk_id = i;
    }
    if (sp->type == SPM_BYTE) return add_byte_piece(m, sp, i, ix, err);
    if (sp->type == SPM_NORMAL) {
        if (sp->score < m->unigram.min_score) m->unigram.min_score = sp->score;
        if (sp->score > m->unigram.max_score) m->unigram.max_score = sp->score;
    }
    return TX_OK;
}

/* Indexes piece i: its score, its string (normal and reserved pieces apart; a repeated one is
 * an error) and what its type implies. */
static tx_status add_piece(struct tok_spm *m, int i, struct piece_index *ix, struct tx_error *err)
{
    const struct spm_piece *sp = &m->proto.pieces[i];
    tx_status st = check_piece_text(m, sp, i, err);
    if (st) return st;
    m->scores[i] = sp->score;
    int normal = sp->type == SPM_NORMAL || sp->type == SPM_USER_DEFINED || sp->type == SPM_UNUSED;
    struct txi_strmap *map = normal ? &m->pieces : &m->reserved;
    int32_t prev;
    if (txi_strmap_get(map, sp->piece.data, sp->piece.size, &prev))
        return txi_fail(err, TX_ERR_FORMAT,
                        "%s: pieces[%d] \"%.*s\" is already defined (pieces[%d])", m->name, i,
                        (int)(sp->piece.size > 64 ? 64 : sp->piece.size), sp->piece.data, prev);
    if (txi_strmap_put(map, sp->piece.data, sp->piece.size, i, 0)) return TX_ERR_NOMEM;
    if (normal) ix->keys[ix->n_keys++] = (struct tok_trie_key){sp->piece.data, sp->piece.size, i};
    return add_piece_type(m, sp, i, ix, err);
}

/* What the whole vocabulary must have: an unk piece, all 256 byte pieces with byte_fallback,
 * a normal piece. */
static tx_status check_pieces(const struct tok_spm *m, const struct piece_index *ix,
                              struct tx_error *err)
{
    if (m->unk_id < 0)
        return txi_fail(err, TX_ERR_FORMAT, "%s: unk is not defined (no piece of type UNKNOWN)",
                        m->name);
    if (m->proto.byte_fallback && ix->byte_found != 256)
        return txi_fail(err, TX_ERR_FORMAT,
                        "%s: there are %d byte pieces, not 256, although byte_fallback is true",
                        m->name, ix->byte_found);
    if (ix->n_keys == 0)
        return txi_fail(err, TX_ERR_FORMAT, "%s: no normal pieces (nothing to segment with)",
                        m->name);
    return TX_OK;
}

/* ModelInterface::InitializePieces and the unigram Model constructor. */
static tx_status init_pieces(struct tok_spm *m, struct tx_error *err)
{
    int n = m->proto.n_pieces;
    struct piece_index ix = {0};
    tx_status st = TX_OK;

    m->unk_id = -1;
    for (int b = 0; b < 256; b++)
        m->byte_id[b] = -1;
    m->scores = malloc((size_t)n * sizeof *m->scores);
    m->uni_flags = calloc((size_t)n, 1);
    ix.keys = malloc((size_t)n * sizeof *ix.keys);
    ix.user = malloc((size_t)n * sizeof *ix.user);
    if (!m->scores || !m->uni_flags || !ix.keys || !ix.user) st = TX_ERR_NOMEM;

    m->unigram.min_score = FLT_MAX;
    m->unigram.max_score = FLT_MIN;
    for (int i = 0; i < n && !st; i++)
        st = add_piece(m, i, &ix, err);
    if (!st) st = check_pieces(m, &ix, err);
    if (!st && (tok_trie_build(&m->trie, ix.keys, ix.n_keys) ||
                tok_trie_build(&m->user_symbols, ix.user, ix.n_user)))
        st = TX_ERR_NOMEM;
    if (st == TX_ERR_NOMEM)
        st = txi_fail(err, TX_ERR_NOMEM, "%s: out of memory indexing %d pieces", m->name, n);
    if (!st) {
        m->unigram.trie = &m->trie;
        m->unigram.scores = m->scores;
        m->unigram.flags = m->uni_flags;
        m->unigram.n_pieces = n;
        m->unigram.unk_id = m->unk_id;
    }
    free(ix.keys);
    free(ix.user);
    return st;
}

static tx_status init_normalizer(struct tok_normalizer *nm, const struct spm_normalizer_spec *spec,
                                 int ws_suffix, const struct tok_trie *user, const char *name,
                                 const char *msg, struct tx_error *err)
{
    memset(nm, 0, sizeof *nm);
    nm->add_dummy_prefix = spec->add_dummy_prefix;
    nm->remove_extra_whitespaces = spec->remove_extra_whitespaces;
    nm->escape_whitespaces = spec->escape_whitespaces;
    nm->treat_whitespace_as_suffix = ws_suffix;
    nm->user_symbols = user;
    if (spec->precompiled_charsmap.size > 0) {
        char what[300];
        snprintf(what, sizeof what, "%s: %s", name, msg);
        tx_status st = tok_charsmap_init(&nm->charsmap, spec->precompiled_charsmap.data,
                                         spec->precompiled_charsmap.size, what, err);
        if (st) return st;
        nm->has_charsmap = 1;
    }
    return TX_OK;
}

tx_status tok_spm_load_buffer(struct tok_spm *m, char *data, size_t size, const char *name,
                              struct tx_error *err)
{
    memset(m, 0, sizeof *m);
    snprintf(m->name, sizeof m->name, "%s", name);
    tx_status st = tok_spm_proto_parse(&m->proto, data, size, m->name, err);
    if (st) return st;
    if (m->proto.model_type != SPM_MODEL_UNIGRAM && m->proto.model_type != SPM_MODEL_BPE) {
        st = txi_fail(err, TX_ERR_UNSUPPORTED,
                      "%s: trainer_spec.model_type %d (%s) is not supported (only UNIGRAM and BPE)",
                      m->name, m->proto.model_type,
                      m->proto.model_type == SPM_MODEL_WORD ? "WORD" : "CHAR");
        goto fail;
    }
    st = init_pieces(m, err);
    if (!st)
        st = init_normalizer(&m->normalizer, &m->proto.normalizer,
                             m->proto.treat_whitespace_as_suffix, &m->user_symbols, m->name,
                             "normalizer_spec.precompiled_charsmap", err);
    if (!st && m->proto.denormalizer.present && m->proto.denormalizer.precompiled_charsmap.size) {
        st = init_normalizer(&m->denormalizer, &m->proto.denormalizer, 0, NULL, m->name,
                             "denormalizer_spec.precompiled_charsmap", err);
        m->has_denormalizer = 1;
    }
    if (st) goto fail;
    return TX_OK;
fail:
    tok_spm_free(m);
    return st;
}

void tok_spm_free(struct tok_spm *m)
{
    tok_spm_proto_free(&m->proto);
    txi_strmap_free(&m->pieces);
    txi_strmap_free(&m->reserved);
    tok_trie_free(&m->trie);
    tok_trie_free(&m->user_symbols);
    free(m->scores);
    free(m->uni_flags);
    memset(m, 0, sizeof *m);
}

int32_t tok_spm_piece_to_id(const struct tok_spm *m, const char *piece, size_t len)
{
    int32_t id;
    if (txi_strmap_get(&m->reserved, piece, len, &id)) return id;
    if (txi_strmap_get(&m->pieces, piece, len, &id)) return id;
    return m->unk_id;
}

/* ---- BPE (bpe_model.cc, Model::SampleEncode without dropout) ---- */

struct bpe_symbol {
    int32_t prev, next;
    int freeze;
    uint32_t b, len; /* piece = norm[b, b + len); len 0 = merged away */
};

struct bpe_pair {
    int32_t left, right;
    float score;
    uint32_t size;
};

struct bpe_rev { /* rev_merge entry: merged piece -> its two halves */
    uint32_t lb, llen, rb, rlen;
};

struct bpe_scratch {
    struct bpe_symbol *sym;
    size_t sym_cap;
    struct bpe_pair *pairs;
    size_t pairs_cap, n_pairs;
    int32_t *heap; /* indices into pairs */
    size_t heap_cap, n_heap;
    struct bpe_rev *rev;
    size_t rev_cap, n_rev;
    struct txi_strmap rev_map; /* merged piece -> index into rev */
    uint32_t *stack;           /* resegmentation work stack: (b, len) pairs */
    size_t stack_cap;
};

/* Agenda order: higher score first; equal scores: smaller left index first. */
static int pair_before(const struct bpe_pair *a, const struct bpe_pair *b)
{
    if (a->score != b->score) return a->score > b->score;
    return a->left < b->left;
}

static void heap_up(struct bpe_scratch *s, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!pair_before(&s->pairs[s->heap[i]], &s->pairs[s->heap[p]])) break;
        int32_t t = s->heap[i];
        s->heap[i] = s->heap[p];
        s->heap[p] = t;
        i = p;
    }
}

static void heap_down(struct bpe_scratch *s, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < s->n_heap && pair_before(&s->pairs[s->heap[l]], &s->pairs[s->heap[m]])) m = l;
        if (r < s->n_heap && pair_before(&s->pairs[s->heap[r]], &s->pairs[s->heap[m]])) m = r;
        if (m == i) return;
        int32_t t = s->heap[i];
        s->heap[i] = s->heap[m];
        s->heap[m] = t;
        i = m;
    }
}

/* MaybeAddNewSymbolPair: returns -1 on OOM. */
static int bpe_add_pair(const struct tok_spm *m, const char *norm, struct bpe_scratch *s,
                        int32_t left, int32_t right)
{
    if (left < 0 || right < 0 || s->sym[left].freeze || s->sym[right].freeze) return 0;
    uint32_t b = s->sym[left].b, len = s->sym[left].len + s->sym[right].len;
    int32_t id;
    if (!txi_strmap_get(&m->pieces, norm + b, len, &id)) return 0;
    if (txi_grow((void **)&s->pairs, &s->pairs_cap, s->n_pairs + 1, sizeof *s->pairs) ||
        txi_grow((void **)&s->heap, &s->heap_cap, s->n_heap + 1, sizeof *s->heap))
        return -1;
    s->pairs[s->n_pairs] = (struct bpe_pair){left, right, m->scores[id], len};
    s->heap[s->n_heap++] = (int32_t)s->n_pairs++;
    heap_up(s, s->n_heap - 1);
    if (m->uni_flags[id] & UNI_UNUSED) { /* remember how to split it again */
        if (txi_grow((void **)&s->rev, &s->rev_cap, s->n_rev + 1, sizeof *s->rev) ||
            txi_strmap_put(&s->rev_map, norm + b, len, (int32_t)s->n_rev, 1))
            return -1;
        s->rev[s->n_rev++] =
            (struct bpe_rev){b, s->sym[left].len, s->sym[right].b, s->sym[right].len};
    }
    return 0;
}

/* Splits norm[0..n) into the initial symbols, linked in order: characters, and user-defined
 * symbols as single frozen ones; *n_sym gets their number. -1 on OOM. */
static int bpe_split(const struct tok_spm *m, const char *norm, size_t n, struct bpe_scratch *s,
                     size_t *n_sym)
{
    *n_sym = 0;
    for (size_t pos = 0; pos < n;) {
        size_t k = *n_sym;
        if (txi_grow((void **)&s->sym, &s->sym_cap, k + 1, sizeof *s->sym)) return -1;
        size_t len = m->user_symbols.n_keys
                         ? tok_trie_longest_prefix(&m->user_symbols, norm + pos, n - pos, NULL)
                         : 0;
        int freeze = len > 0;
        if (!len) {
            len = (size_t)txi_utf8_lead_len((unsigned char)norm[pos]);
            if (len > n - pos) len = n - pos;
        }
        s->sym[k] = (struct bpe_symbol){(int32_t)k - 1, -1, freeze, (uint32_t)pos, (uint32_t)len};
        if (k > 0) s->sym[k - 1].next = (int32_t)k;
        (*n_sym)++;
        pos += len;
    }
    return 0;
}

/* Main loop: applies the best pair still valid, then looks at the two new neighbours. -1 on
 * OOM. */
static int bpe_merge_all(const struct tok_spm *m, const char *norm, struct bpe_scratch *s)
{
    while (s->n_heap > 0) {
        struct bpe_pair top = s->pairs[s->heap[0]];
        s->heap[0] = s->heap[--s->n_heap];
        heap_down(s, 0);
        struct bpe_symbol *l = &s->sym[top.left], *r = &s->sym[top.right];
        if (l->len == 0 || r->len == 0 || l->len + r->len != top.size) continue;
        l->len += r->len;
        l->next = r->next;
        if (r->next >= 0) s->sym[r->next].prev = top.left;
        r->len = 0;
        if (bpe_add_pair(m, norm, s, l->prev, top.left) ||
            bpe_add_pair(m, norm, s, top.left, s->sym[top.left].next))
            return -1;
    }
    return 0;
}

/* Appends the pieces of final symbol i, splitting unused pieces back into the pieces they were
 * merged from. -1 on OOM. */
static int bpe_emit(const struct tok_spm *m, const char *norm, struct bpe_scratch *s, int32_t i,
                    struct tok_spm_encoding *enc)
{
    size_t sp = 0;
    if (txi_grow((void **)&s->stack, &s->stack_cap, 2, sizeof *s->stack)) return -1;
    s->stack[sp++] = s->sym[i].b;
    s->stack[sp++] = s->sym[i].len;
    while (sp > 0) {
        uint32_t len = s->stack[--sp], b = s->stack[--sp];
        int32_t id = tok_spm_piece_to_id(m, norm + b, len), ri;
        if ((m->uni_flags[id] & UNI_UNUSED) && txi_strmap_get(&s->rev_map, norm + b, len, &ri)) {
            if (txi_grow((void **)&s->stack, &s->stack_cap, sp + 4, sizeof *s->stack)) return -1;
            /* push right first so the left half comes out first */
            s->stack[sp++] = s->rev[ri].rb;
            s->stack[sp++] = s->rev[ri].rlen;
            s->stack[sp++] = s->rev[ri].lb;
            s->stack[sp++] = s->rev[ri].llen;
            continue;
        }
        if (txi_grow((void **)&enc->uni.segs, &enc->uni.segs_cap, enc->uni.n_segs + 1,
                     sizeof *enc->uni.segs))
            return -1;
        enc->uni.segs[enc->uni.n_segs++] = (struct tok_seg){b, b + len, id};
    }
    return 0;
}

/* SentencePiece BPE (bpe_model.cc) of normalized text norm[0..n) into enc->uni.segs. */
static tx_status bpe_encode(const struct tok_spm *m, const char *norm, size_t n,
                            struct tok_spm_encoding *enc, struct tx_error *err)
{
    struct bpe_scratch *s = enc->bpe_scratch;
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s) goto oom;
        enc->bpe_scratch = s;
    }
    s->n_pairs = s->n_heap = s->n_rev = 0;
    if (s->rev_map.n) txi_strmap_free(&s->rev_map);
    enc->uni.n_segs = 0;
    if (n == 0) return TX_OK;
    if (n >= (size_t)INT32_MAX)
        return txi_fail(err, TX_ERR_TOO_LONG, "%s: input too long", m->name);

    size_t n_sym;
    if (bpe_split(m, norm, n, s, &n_sym)) goto oom;
    for (size_t i = 1; i < n_sym; i++)
        if (bpe_add_pair(m, norm, s, (int32_t)i - 1, (int32_t)i)) goto oom;
    if (bpe_merge_all(m, norm, s)) goto oom;
    for (int32_t i = 0; i != -1; i = s->sym[i].next)
        if (bpe_emit(m, norm, s, i, enc)) goto oom;
    return TX_OK;
oom:
    return txi_fail(err, TX_ERR_NOMEM, "%s: out of memory in BPE", m->name);
}

static void bpe_scratch_free(struct bpe_scratch *s)
{
    if (!s) return;
    free(s->sym);
    free(s->pairs);
    free(s->heap);
    free(s->rev);
    txi_strmap_free(&s->rev_map);
    free(s->stack);
    free(s);
}

/* ---- encode ---- */

static int push_piece(struct tok_spm_encoding *enc, struct tok_spm_piece p)
{
    if (txi_grow((void **)&enc->pieces, &enc->cap, enc->n_pieces + 1, sizeof *enc->pieces))
        return -1;
    enc->pieces[enc->n_pieces++] = p;
    return 0;
}

tx_status tok_spm_encode(const struct tok_spm *m, const char *text, size_t len,
                         struct tok_spm_encoding *enc, struct tx_error *err)
{
    enc->n_pieces = 0;
    tx_status st =
        tok_normalize(&m->normalizer, text, len, &enc->norm, &enc->n2o, &enc->n2o_cap, err);
    if (st) return st;
    const char *norm = enc->norm.data;
    size_t n = enc->norm.len;
    if (m->proto.model_type == SPM_MODEL_BPE)
        st = bpe_encode(m, norm, n, enc, err);
    else
        st = tok_unigram_encode(&m->unigram, norm, n, &enc->uni, err);
    if (st) return st;

    /* PopulateSentencePieceText: control pieces take no text; unknown pieces become bytes
     * under byte_fallback, otherwise runs of them merge into one piece. */
    const uint32_t *n2o = enc->n2o;
    uint32_t consumed = 0;
    int prev_unk = 0;
    for (size_t k = 0; k < enc->uni.n_segs; k++) {
        const struct tok_seg *sg = &enc->uni.segs[k];
        int32_t id = sg->id;
        int type = m->proto.pieces[id].type;
        int is_unk = type == SPM_UNKNOWN;
        uint32_t w = sg->end - sg->begin;
        if (type == SPM_CONTROL) {
            if (push_piece(enc, (struct tok_spm_piece){id, sg->begin, sg->end, -1, n2o[consumed],
                                                       n2o[consumed]}))
                goto oom;
        } else {
            uint32_t ob = n2o[consumed], oe = n2o[consumed + w];
            if (oe < ob) oe = ob;
            if (is_unk && m->proto.byte_fallback) {
                for (uint32_t i = 0; i < w; i++) {
                    int b = (unsigned char)norm[sg->begin + i];
                    int last = i == w - 1;
                    if (push_piece(enc, (struct tok_spm_piece){m->byte_id[b], 0, 0, b, ob,
                                                               last ? oe : ob}))
                        goto oom;
                }
            } else if (prev_unk && is_unk) {
                struct tok_spm_piece *p = &enc->pieces[enc->n_pieces - 1];
                p->ne = sg->end;
                p->oe = oe;
            } else {
                if (push_piece(enc, (struct tok_spm_piece){id, sg->begin, sg->end, -1, ob, oe}))
                    goto oom;
            }
            consumed += w;
        }
        prev_unk = is_unk;
    }
    if (consumed != n)
        return txi_fail(err, TX_ERR_FORMAT,
                        "%s: not all normalized characters were consumed "
                        "(a control piece matched text)",
                        m->name);
    return TX_OK;
oom:
    return txi_fail(err, TX_ERR_NOMEM, "%s: out of memory", m->name);
}

void tok_spm_encoding_free(struct tok_spm_encoding *enc)
{
    txi_buf_free(&enc->norm);
    free(enc->n2o);
    tok_unigram_scratch_free(&enc->uni);
    free(enc->pieces);
    bpe_scratch_free(enc->bpe_scratch);
    memset(enc, 0, sizeof *enc);
}

const char *tok_spm_piece_text(const struct tok_spm_encoding *enc, size_t i, char tmp[8],
                               size_t *len)
{
    const struct tok_spm_piece *p = &enc->pieces[i];
    if (p->byte >= 0) {
        snprintf(tmp, 8, "<0x%02X>", (unsigned)(p->byte & 0xFF));
        *len = 6;
        return tmp;
    }
    *len = p->ne - p->nb;
    return enc->norm.data + p->nb;
}

/* ---- decode ---- */

/* Appends the UTF-8 text of accumulated byte pieces; an invalid byte becomes U+FFFD. */
static int flush_bytes(struct txi_buf *out, const unsigned char *bytes, size_t n)
{
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        int len = txi_utf8_decode((const char *)bytes + i, n - i, &cp);
        if (len == 0) {
            if (txi_buf_append(out, "\xEF\xBF\xBD", 3)) return -1;
            i++;
        } else {
            if (txi_buf_append(out, bytes + i, (size_t)len)) return -1;
            i += (size_t)len;
        }
    }
    return 0;
}

/* The text decode_pieces builds, with its pending byte pieces and the state of the leading
 * whitespace (is_bos_ws: no text yet, so a dummy-prefix space may still be dropped). */
struct spm_text {
    struct txi_buf text;
    unsigned char *bytes; /* (bytes_cap) byte pieces not yet flushed */
    size_t n_bytes, bytes_cap;
    int is_bos_ws, bos_ws_seen;
};

/* Appends an unknown piece: the unk surface for the unk piece itself, else the text it holds. */
static int append_unknown(const struct tok_spm *m, int32_t id, const char *p, size_t len,
                          struct txi_buf *text)
{
    struct spm_bytes own = m->proto.pieces[id].piece;
    if (own.size == len && memcmp(own.data, p, len) == 0)
        return txi_buf_append(text, m->proto.unk_surface.data, m->proto.unk_surface.size);
    return txi_buf_append(text, p, len);
}

/* Appends a normal piece: the leading U+2581 of the first one dropped when the normalizer
 * added it, every other U+2581 as a space. */
static int append_normal(const struct tok_spm *m, const char *p, size_t len, struct spm_text *t)
{
    const struct spm_normalizer_spec *ns = &m->proto.normalizer;
    if (t->is_bos_ws && (ns->add_dummy_prefix || ns->remove_extra_whitespaces)) {
        if (len >= 3 && memcmp(p, SPACE_SYMBOL, 3) == 0) {
            p += 3;
            len -= 3;
            t->bos_ws_seen = 1;
        }
        if (ns->remove_extra_whitespaces) t->bos_ws_seen = 0;
    }
    for (size_t k = 0; k < len;) {
        int space = k + 3 <= len && memcmp(p + k, SPACE_SYMBOL, 3) == 0;
        if (txi_buf_putc(&t->text, space ? ' ' : p[k])) return -1;
        k += space ? 3 : 1;
    }
    return 0;
}

/* Appends one piece by its type. -1 on OOM. */
static int append_piece(const struct tok_spm *m, const char *p, size_t len, struct spm_text *t)
{
    int32_t id = tok_spm_piece_to_id(m, p, len);
    int type = m->proto.pieces[id].type;
    if (type == SPM_BYTE) {
        if (txi_grow((void **)&t->bytes, &t->bytes_cap, t->n_bytes + 1, 1)) return -1;
        t->bytes[t->n_bytes++] = (unsigned char)piece_to_byte(m->proto.pieces[id].piece.data, 6);
        return 0;
    }
    if (flush_bytes(&t->text, t->bytes, t->n_bytes)) return -1;
    t->n_bytes = 0;
    if (t->bos_ws_seen || t->text.len > 0) t->is_bos_ws = 0;
    t->bos_ws_seen = 0;
    if (type == SPM_CONTROL) return 0; /* <s>, </s>: invisible */
    if (type == SPM_UNKNOWN) return append_unknown(m, id, p, len, &t->text);
    return append_normal(m, p, len, t);
}

/* The denormalizer's rules over *text, when the model has them. */
static tx_status denormalize(const struct tok_spm *m, struct txi_buf *text, struct tx_error *err)
{
    if (!m->has_denormalizer) return TX_OK;
    struct txi_buf dn = {0};
    uint32_t *n2o = NULL;
    size_t cap = 0;
    tx_status st = tok_normalize(&m->denormalizer, text->data, text->len, &dn, &n2o, &cap, err);
    free(n2o);
    if (st) {
        txi_buf_free(&dn);
        return st;
    }
    txi_buf_free(text);
    *text = dn;
    return TX_OK;
}

tx_status tok_spm_decode_pieces(const struct tok_spm *m, const struct spm_bytes *pieces, size_t n,
                                struct txi_buf *out, struct tx_error *err)
{
    struct spm_text t = {{0}, NULL, 0, 0, 1, 0};
    tx_status st = TX_OK;
    int nomem = txi_buf_reserve(&t.text, 0);
    for (size_t i = 0; i < n && !nomem; i++)
        nomem = append_piece(m, pieces[i].data, pieces[i].size, &t);
    if (!nomem) nomem = flush_bytes(&t.text, t.bytes, t.n_bytes);
    free(t.bytes);
    if (!nomem) st = denormalize(m, &t.text, err);
    if (!nomem && !st) nomem = txi_buf_append(out, t.text.data ? t.text.data : "", t.text.len);
    txi_buf_free(&t.text);
    if (nomem) return txi_fail(err, TX_ERR_NOMEM, "%s: out of memory decoding", m->name);
    return st;
}
