/* tokenizer.c — the public tx_tokenizer API: detects which tokenizer kind a model folder holds
 * (Marian, T5, byte-level BPE, plain SentencePiece, tokenizer.json), then loads, encodes and
 * decodes through that kind's table of operations, as transformers 4.35's tokenizers do. */
#include "tok_common.h"
#include "tok_config.h"
#include "txi.h"
#include "utf8.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SPACE_SYMBOL "\xE2\x96\x81" /* U+2581, SentencePiece's whitespace mark */

/* Longest input text accepted (offsets are 32-bit and normalization may expand text). */
#define MAX_TEXT_BYTES ((size_t)256 << 20)

/* ---------------------------------------------------------------------------------------- */
/* Detection and loading                                                                     */
/* ---------------------------------------------------------------------------------------- */

/* The tokenizer files a folder holds. */
struct folder {
    const char *dir;
    int has_tokjson, has_marian, has_spiece, has_merges;
    char model_path[4096]; /* a lone SentencePiece "*.model" file, when found */
};

/* Does dir/name exist? */
static int file_in(const char *dir, const char *name)
{
    char tmp[4096];
    return !txi_path_join(tmp, sizeof tmp, dir, name) && txi_file_exists(tmp);
}

/* Records which tokenizer files dir holds. */
static void scan_folder(struct folder *f, const char *dir)
{
    f->dir = dir;
    f->has_tokjson = file_in(dir, "tokenizer.json");
    f->has_marian = file_in(dir, "source.spm");
    f->has_spiece = file_in(dir, "spiece.model");
    f->has_merges = file_in(dir, "merges.txt") && file_in(dir, "vocab.json");
}

/* A lone "*.model" file in dir (sentencepiece.bpe.model, spm.model, ...), or -1. */
static int find_model_file(const char *dir, char *out, size_t size)
{
    static const char *const names[] = {"spm.model", "sentencepiece.model",
                                        "sentencepiece.bpe.model", "tokenizer.model"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!txi_path_join(out, size, dir, names[i]) && txi_file_exists(out)) return 0;
    return -1;
}

/* The kind a tokenizer_class names, given the files there are; NULL when unsupported. */
static const struct tok_kind_ops *kind_of_class(const char *cls, const struct folder *f)
{
    if (strstr(cls, "Marian")) return &tok_marian_ops;
    if (strstr(cls, "T5")) return f->has_spiece || !f->has_tokjson ? &tok_t5_ops : &tok_json_ops;
    if (strstr(cls, "Bart") || strstr(cls, "Roberta") || strstr(cls, "GPT2")) {
        if (strstr(cls, "MBart")) return f->has_tokjson ? &tok_json_ops : NULL;
        return f->has_merges || !f->has_tokjson ? &tok_byte_bpe_ops : &tok_json_ops;
    }
    return f->has_tokjson ? &tok_json_ops : NULL;
}

/* The kind of a folder without tokenizer_class, by its files; NULL when it has none. */
static const struct tok_kind_ops *kind_of_files(struct folder *f)
{
    if (f->has_marian) return &tok_marian_ops;
    if (f->has_spiece) return &tok_t5_ops;
    if (f->has_merges) return &tok_byte_bpe_ops;
    if (f->has_tokjson) return &tok_json_ops;
    if (!find_model_file(f->dir, f->model_path, sizeof f->model_path)) return &tok_spm_ops;
    return NULL;
}

/* Which kind of tokenizer the folder holds: tokenizer_class first, else its files. */
static tx_status detect_kind(struct folder *f, const char *cls, const char *cfg_path,
                             const struct tok_kind_ops **ops, struct tx_error *err)
{
    if (cls) {
        *ops = kind_of_class(cls, f);
        if (!*ops)
            return txi_fail(err, TX_ERR_UNSUPPORTED,
                            "%s: tokenizer_class \"%s\" is not supported "
                            "(and there is no tokenizer.json)",
                            cfg_path, cls);
        return TX_OK;
    }
    *ops = kind_of_files(f);
    if (!*ops)
        return txi_fail(err, TX_ERR_IO,
                        "%s: no tokenizer files (source.spm, spiece.model, "
                        "vocab.json + merges.txt, tokenizer.json or *.model)",
                        f->dir);
    return TX_OK;
}

/* Reads dir/tokenizer_config.json (an empty object when absent) and detects and loads the kind
 * into tok. */
static tx_status load_folder(struct tx_tokenizer *tok, const char *dir, struct folder *f,
                             struct tx_error *err)
{
    char cfg_path[4096];
    json_t *cfg = NULL;
    if (txi_path_join(cfg_path, sizeof cfg_path, dir, "tokenizer_config.json"))
        return txi_fail(err, TX_ERR_INVALID, "%s: path too long", dir);
    tx_status st = tok_load_json_file(cfg_path, &cfg, err);
    if (st) return st;
    if (!cfg && !(cfg = json_object())) return txi_fail(err, TX_ERR_NOMEM, "out of memory");
    tok->clean_up = tok_cfg_bool(cfg, "clean_up_tokenization_spaces", 1);
    json_t *clsv = json_object_get(cfg, "tokenizer_class");
    struct tok_source src = {dir, cfg, cfg_path,
                             json_is_string(clsv) ? json_string_value(clsv) : NULL, NULL};
    const struct tok_kind_ops *ops;
    scan_folder(f, dir);
    st = detect_kind(f, src.cls, cfg_path, &ops, err);
    if (!st && ops->reads_legacy_files) st = tok_merge_legacy_files(cfg, dir, f->has_tokjson, err);
    if (!st) {
        src.file_path = f->model_path[0] ? f->model_path : NULL;
        tok->ops = ops;
        st = ops->load(tok, &src, err);
    }
    json_decref(cfg);
    return st;
}

tx_status tx_tokenizer_load(const char *dir, tx_tokenizer **out, struct tx_error *err)
{
    if (!dir || !out) return txi_fail(err, TX_ERR_INVALID, "tx_tokenizer_load: NULL argument");
    struct tx_tokenizer *tok = calloc(1, sizeof *tok);
    struct folder *f = calloc(1, sizeof *f);
    tx_status st;
    if (!tok || !f) {
        st = txi_fail(err, TX_ERR_NOMEM, "out of memory");
    } else {
        tok->eos_id = tok->pad_id = tok->bos_id = tok->unk_id = -1;
        tok->clean_up = 1;
        st = load_folder(tok, dir, f, err);
    }
    free(f);
    if (st) {
        tx_tokenizer_free(tok);
        return st;
    }
    *out = tok;
    return TX_OK;
}

void tx_tokenizer_free(tx_tokenizer *tok)
{
    if (!tok) return;
    txi_buf_free(&tok->pool);
    free(tok->piece_off);
    free(tok->piece_len);
    free(tok->special);
    free(tok->added_of_id);
    tok_added_free(&tok->added);
    if (tok->ops) tok->ops->free(tok->impl);
    free(tok);
}

/* ---------------------------------------------------------------------------------------- */
/* Encoding and decoding                                                                     */
/* ---------------------------------------------------------------------------------------- */

tx_status tx_tokenizer_encode(const tx_tokenizer *tok, const char *text, size_t len, tx_side side,
                              struct tx_encoding *out, struct tx_error *err)
{
    if (!tok || !out || (!text && len))
        return txi_fail(err, TX_ERR_INVALID, "tx_tokenizer_encode: NULL argument");
    if (!text) text = "";
    if (len > MAX_TEXT_BYTES)
        return txi_fail(err, TX_ERR_TOO_LONG, "text of %zu bytes exceeds the %zu-byte limit", len,
                        MAX_TEXT_BYTES);
    size_t bad = txi_utf8_validate(text, len);
    if (bad != len) return txi_fail(err, TX_ERR_ENCODING, "invalid UTF-8 at byte %zu", bad);

    struct tok_ids o = {0};
    tx_status st = tok->ops->encode(tok, text, len, side, &o, err);
    if (!st && o.n == 0) { /* keep the arrays non-NULL so callers may index them freely */
        if (tok_ids_push(&o, 0, 0, 0))
            st = txi_fail(err, TX_ERR_NOMEM, "out of memory encoding %zu bytes", len);
        o.n = 0;
    }
    if (st) {
        free(o.ids);
        free(o.offs);
        return st;
    }
    out->ids = o.ids;
    out->offsets = o.offs;
    out->n_ids = (int)o.n;
    return TX_OK;
}

void tx_encoding_free(struct tx_encoding *enc)
{
    if (!enc) return;
    free(enc->ids);
    free(enc->offsets);
    enc->ids = NULL;
    enc->offsets = NULL;
    enc->n_ids = 0;
}

/* clean_up_tokenization of transformers: ten str.replace passes, in this order; the cleaned
 * copy of s[0..n) is appended to out. -1 on OOM. */
static int clean_up_spaces(const char *s, size_t n, struct txi_buf *out)
{
    static const char *const from[10] = {" .",   " ?",  " !",  " ,",   " ' ",
                                         " n't", " 'm", " 's", " 've", " 're"};
    static const char *const to[10] = {".", "?", "!", ",", "'", "n't", "'m", "'s", "'ve", "'re"};
    struct txi_buf a = {0}, b = {0};
    int rc = txi_buf_append(&a, s, n);
    for (int r = 0; r < 10 && !rc; r++) {
        size_t fl = strlen(from[r]), tl = strlen(to[r]);
        b.len = 0;
        rc = txi_buf_reserve(&b, a.len);
        for (size_t i = 0; i < a.len && !rc;) {
            int hit = i + fl <= a.len && memcmp(a.data + i, from[r], fl) == 0;
            rc = hit ? txi_buf_append(&b, to[r], tl) : txi_buf_putc(&b, a.data[i]);
            i += hit ? fl : 1;
        }
        struct txi_buf t = a;
        a = b;
        b = t;
    }
    if (!rc) rc = txi_buf_append(out, a.data ? a.data : "", a.len);
    txi_buf_free(&a);
    txi_buf_free(&b);
    return rc;
}

tx_status tx_tokenizer_decode(const tx_tokenizer *tok, const int32_t *ids, int n_ids,
                              int skip_special, char **out_text, struct tx_error *err)
{
    if (!tok || !out_text || n_ids < 0 || (!ids && n_ids > 0))
        return txi_fail(err, TX_ERR_INVALID, "tx_tokenizer_decode: invalid argument");
    for (int i = 0; i < n_ids; i++)
        if (ids[i] < 0 || ids[i] >= tok->n_ids)
            return txi_fail(err, TX_ERR_INVALID, "ids[%d] = %d is outside the vocabulary [0, %d)",
                            i, ids[i], tok->n_ids);
    struct txi_buf text = {0}, c = {0};
    tx_status st = TX_OK;
    if (txi_buf_reserve(&text, 0)) goto oom;
    st = tok->ops->decode(tok, ids, n_ids, skip_special, &text, err);
    if (st) goto done;
    if (txi_buf_append(&text, "", 0)) goto oom; /* NUL-terminated even when nothing was added */
    if (tok->clean_up) {
        if (clean_up_spaces(text.data, text.len, &c)) goto oom;
        txi_buf_free(&text);
        text = c;
        c = (struct txi_buf){0};
        if (txi_buf_reserve(&text, 0)) goto oom;
    }
    *out_text = text.data;
    text.data = NULL;
    goto done;
oom:
    st = txi_fail(err, TX_ERR_NOMEM, "out of memory decoding %d ids", n_ids);
done:
    txi_buf_free(&text);
    txi_buf_free(&c);
    return st;
}

/* ---------------------------------------------------------------------------------------- */
/* Accessors                                                                                 */
/* ---------------------------------------------------------------------------------------- */

tx_tokenizer_kind tx_tokenizer_get_kind(const tx_tokenizer *tok)
{
    return tok->ops->kind;
}
int tx_tokenizer_vocab_size(const tx_tokenizer *tok)
{
    return tok->n_ids;
}
int32_t tx_tokenizer_eos_id(const tx_tokenizer *tok)
{
    return tok->eos_id;
}
int32_t tx_tokenizer_pad_id(const tx_tokenizer *tok)
{
    return tok->pad_id;
}
int32_t tx_tokenizer_bos_id(const tx_tokenizer *tok)
{
    return tok->bos_id;
}
int32_t tx_tokenizer_unk_id(const tx_tokenizer *tok)
{
    return tok->unk_id;
}

int tx_tokenizer_is_special(const tx_tokenizer *tok, int32_t id)
{
    return id >= 0 && id < tok->n_ids && tok->special[id];
}

const char *tx_tokenizer_id_to_piece(const tx_tokenizer *tok, int32_t id)
{
    size_t len;
    return tok_piece_of(tok, id, &len);
}

/* A bounded writer: counts every byte, stores those that fit (with room for the NUL). */
struct sink {
    char *buf;
    size_t size, n;
};

/* Writes s[0..len) through k (bytes past the buffer only counted). */
static void put(struct sink *k, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++, k->n++)
        if (k->n + 1 < k->size) k->buf[k->n] = s[i];
}

/* Byte-level characters back to bytes; bytes that do not form UTF-8 shown as <0xNN>. */
static void display_byte_level(const struct tok_bpe *bl, const char *p, size_t len, struct sink *k)
{
    struct txi_buf bytes = {0};
    if (tok_bpe_unbyte(bl, p, len, &bytes) == 0) {
        for (size_t i = 0; i < bytes.len;) {
            uint32_t cp;
            int l = txi_utf8_decode(bytes.data + i, bytes.len - i, &cp);
            if (l > 0) {
                put(k, bytes.data + i, (size_t)l);
                i += (size_t)l;
            } else {
                char hx[8];
                snprintf(hx, sizeof hx, "<0x%02X>", (unsigned char)bytes.data[i]);
                put(k, hx, 6);
                i++;
            }
        }
    }
    txi_buf_free(&bytes);
}

/* SentencePiece-style pieces: a printable <0xNN> byte piece as its character, else with every
 * U+2581 as a space. */
static void display_sentencepiece(const char *p, size_t len, struct sink *k)
{
    int b = -1;
    if (len == 6 && !memcmp(p, "<0x", 3) && p[5] == '>') {
        unsigned v;
        if (sscanf(p + 3, "%2X", &v) == 1) b = (int)v;
    }
    if (b >= 0x20 && b < 0x7F) {
        char c = (char)b;
        put(k, &c, 1);
        return;
    }
    for (size_t i = 0; i < len;) {
        int space = i + 3 <= len && !memcmp(p + i, SPACE_SYMBOL, 3);
        put(k, space ? " " : p + i, 1);
        i += space ? 3 : 1;
    }
}

/* NUL-terminates; when truncated, never leaves half a UTF-8 character at the end. */
static void terminate(struct sink *k)
{
    if (k->size == 0) return;
    size_t m = k->n < k->size ? k->n : k->size - 1;
    if (m < k->n && m > 0) {
        size_t last = m - 1;
        while (last > 0 && ((unsigned char)k->buf[last] & 0xC0) == 0x80)
            last--;
        uint32_t cp;
        if (txi_utf8_decode(k->buf + last, m - last, &cp) != (int)(m - last)) m = last;
    }
    k->buf[m] = '\0';
}

size_t tx_tokenizer_display_piece(const tx_tokenizer *tok, int32_t id, char *buf, size_t buf_size)
{
    struct sink k = {buf, buf_size, 0};
    size_t len;
    const char *p = tok_piece_of(tok, id, &len);
    if (!p) p = "", len = 0;
    int added = id >= 0 && id < tok->n_ids && tok->added_of_id[id] >= 0;
    if (added)
        put(&k, p, len);
    else if (tok->byte_level)
        display_byte_level(tok->byte_level, p, len, &k);
    else
        display_sentencepiece(p, len, &k);
    terminate(&k);
    return k.n;
}
