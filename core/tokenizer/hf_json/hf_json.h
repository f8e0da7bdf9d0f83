/* hf_json.h — the tokenizer.json pipeline (normalizers, pre-tokenizers, Unigram/BPE models,
 * decoders, post-processors) as the Rust tokenizers library 0.15 runs it (internal). */
#ifndef ATTNSERVE_HF_JSON_H
#define ATTNSERVE_HF_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "tok_common.h"
#include "tok_spm.h"
#include "tok_trie.h"
#include "tok_unigram.h"

#include <jansson.h>

enum {
    N_PRECOMPILED,
    N_REPLACE,
    N_REPLACE_SPACES,
    N_NFC,
    N_NFD,
    N_NFKC,
    N_NFKD,
    N_LOWERCASE,
    N_STRIP,
    N_PREPEND
};
enum { P_METASPACE, P_WHITESPACE_SPLIT, P_BYTE_LEVEL };
enum { D_METASPACE, D_BYTE_LEVEL, D_REPLACE, D_BYTE_FALLBACK, D_FUSE, D_STRIP };
enum { PREPEND_ALWAYS, PREPEND_FIRST, PREPEND_NEVER };

struct jnorm {
    int type;
    char *blob; /* Precompiled: the decoded charsmap (owned) */
    struct tok_charsmap cm;
    char *from, *to; /* Replace / Prepend (owned) */
    size_t from_len, to_len;
    int min_spaces;  /* N_REPLACE_SPACES: runs of at least this many ' ' */
    int left, right; /* Strip */
};

struct jpre {
    int type;
    char repl[5];
    size_t repl_len;
    int add_prefix_space; /* P_BYTE_LEVEL: -1 = split only, no byte mapping (Split) */
    int prepend_scheme;
    int use_regex;
    int no_split; /* Metaspace "split": false */
};

struct jdec {
    int type;
    char repl[5]; /* Metaspace replacement / Strip content */
    size_t repl_len;
    int add_prefix_space;
    char *from, *to; /* Replace (owned) */
    size_t from_len, to_len;
    int start, stop; /* Strip */
};

struct tok_jmodel_ops;

/* The tokenizer.json kind's state (tx_tokenizer.impl). */
struct tok_json {
    struct jnorm *norms; /* (n_norms) */
    int n_norms;
    struct jpre *pres; /* (n_pres) */
    int n_pres;
    struct jdec *decs; /* (n_decs) */
    int n_decs, has_decoder;
    const struct tok_jmodel_ops *model;
    struct tok_added raw_added, norm_added;
    struct tok_bpe bytes; /* only its byte-level alphabet tables (ByteLevel steps) */
    int byte_fallback;
    int32_t byte_id[256]; /* id of the piece <0xNN>, or -1 */
    /* Unigram */
    struct tok_trie trie;
    double *scores;
    struct tok_unigram uni;
    /* BPE */
    struct tok_bpe bpe;
    int32_t bpe_unk_sym;
    char *cont_prefix, *eow_suffix;
    int fuse_unk;
    int32_t bpe_unk_id;
    /* post-processor: ids before and after the sequence */
    int32_t *pre_ids, *post_ids;
    int n_pre, n_post;
};

/* The file being loaded and where errors go. */
struct tok_jctx {
    const char *path;
    struct tx_error *err;
};
/* TX_ERR_UNSUPPORTED "path: where: what is not supported". */
tx_status tok_jctx_unsupported(const struct tok_jctx *c, const char *where, const char *what);
/* TX_ERR_FORMAT "path: where: what". */
tx_status tok_jctx_bad(const struct tok_jctx *c, const char *where, const char *what);
/* TX_ERR_NOMEM "path: out of memory". */
tx_status tok_jctx_oom(const struct tok_jctx *c);
/* The "type" string of a component object, or NULL. */
const char *tok_json_type(json_t *o);
/* A one-character string field o[key] (def when absent) into out (NUL-terminated). -1 when it
 * is not exactly one UTF-8 character. */
int tok_json_read_char(json_t *o, const char *key, const char *def, char out[5], size_t *len);
/* Replace's pattern: {"String": s} (*str owned) or {"Regex": r}, where only the regexes " {N,}"
 * (runs of spaces, what transformers' SentencePiece converters write) are understood
 * (*str NULL, *min_spaces N). */
tx_status tok_json_read_pattern(const struct tok_jctx *c, json_t *o, const char *where, char **str,
                                size_t *len, int *min_spaces);
/* An owned copy of the string s (n bytes, NUL-terminated), or NULL on OOM. */
char *tok_json_strdup(const char *s, size_t n);

/* A string whose every byte knows the original span [ob, oe) it came from. */
struct nstr {
    char *s;           /* (n + 1) NUL-terminated */
    uint32_t *ob, *oe; /* (n) */
    size_t n, cap;
};
/* Room for extra more bytes. -1 on OOM. */
int tok_ns_reserve(struct nstr *x, size_t extra);
/* Appends p[0..n), every byte with the span [ob, oe). -1 on OOM. */
int tok_ns_put(struct nstr *x, const char *p, size_t n, uint32_t ob, uint32_t oe);
/* Appends bytes [b, e) of src with their spans. -1 on OOM. */
int tok_ns_copy(struct nstr *x, const struct nstr *src, size_t b, size_t e);
void tok_ns_free(struct nstr *x);
/* Span of bytes [b, e); an empty range is the empty span where it stands. */
void tok_ns_span(const struct nstr *x, size_t b, size_t e, uint32_t *ob, uint32_t *oe);
/* Bytes of the UTF-8 character at s (at most n). */
size_t tok_char_len_at(const char *s, size_t n);

/* Pre-tokenized state: pieces (byte ranges) of one aligned pool. */
struct pieces {
    struct nstr pool;
    struct range {
        size_t b, e;
    } * r; /* (n) */
    size_t n, cap;
};
/* Adds piece [b, e) of the pool; empty ones are dropped. -1 on OOM. */
int tok_pc_add(struct pieces *p, size_t b, size_t e);
void tok_pc_free(struct pieces *p);

/* Scratch of one encode call. */
struct jscratch {
    struct nstr a, b;
    struct pieces p, q;
    struct tok_split split;
    struct tok_unigram_scratch uni;
    struct tok_bpe_scratch bpe;
    int32_t *syms;     /* (syms_cap) BPE initial symbols */
    uint32_t *sym_len; /* (sym_len_cap) bytes each initial symbol covers */
    size_t syms_cap, sym_len_cap;
    int first_split; /* Metaspace prepend_scheme "first": no piece seen yet */
};

/* Normalizers (normalizers.c): parses o (a Sequence is flattened) into j->norms. */
tx_status tok_jnorm_add(const struct tok_jctx *c, struct tok_json *j, json_t *o, const char *where);
/* Runs one normalizer from in to out (reset first). -1 on OOM. */
int tok_jnorm_apply(const struct jnorm *nm, const struct nstr *in, struct nstr *out);
void tok_jnorm_free(struct jnorm *nm);

/* Pre-tokenizers (pre_tokenizers.c): parses o (a Sequence is flattened) into j->pres. */
tx_status tok_jpre_add(const struct tok_jctx *c, struct tok_json *j, json_t *o, const char *where);
/* Runs one pre-tokenizer over every piece of in into out (reset first); byte_chars holds the
 * byte-level alphabet. -1 on OOM. */
int tok_jpre_apply(const struct jpre *pt, const struct tok_bpe *byte_chars, const struct pieces *in,
                   struct pieces *out, int *first_split);

/* Decoders (decoders.c). Token strings of a decoder chain: one txi_buf of NUL-free text plus
 * (start, len) pairs. */
struct toks {
    struct txi_buf text;
    size_t (*t)[2]; /* (n) */
    size_t n, cap;
};
/* Appends token s[0..n). -1 on OOM. */
int tok_toks_add(struct toks *x, const char *s, size_t n);
void tok_toks_free(struct toks *x);
/* Parses o (a Sequence is flattened) into j->decs. */
tx_status tok_jdec_add(const struct tok_jctx *c, struct tok_json *j, json_t *o, const char *where);
/* Runs one decoder from in to out (reset first). -1 on OOM. */
int tok_jdec_apply(const struct tok_json *j, const struct jdec *d, const struct toks *in,
                   struct toks *out);
void tok_jdec_free(struct jdec *d);

/* Post-processors (post_processors.c): the special token ids around a single sequence. */
tx_status tok_jpost_add(const struct tok_jctx *c, struct tok_json *j, json_t *o, const char *where);

/* Models (model_unigram.c, model_bpe.c). */
struct tok_jmodel_ops {
    const char *type; /* tokenizer.json's model.type */
    /* Reads model object m: the vocabulary into j and tok's per-id tables, tok->unk_id. */
    tx_status (*load)(const struct tok_jctx *c, struct tx_tokenizer *tok, struct tok_json *j,
                      json_t *m);
    /* Tokenizes one pre-token, pool bytes [b, e) of x, appending ids with their spans. */
    tx_status (*encode)(const struct tok_json *j, const struct nstr *x, size_t b, size_t e,
                        struct jscratch *sc, struct tok_ids *o, struct tx_error *err);
    /* The id of token string s[0..n) in the model's vocabulary, or -1. */
    int32_t (*token_id)(const struct tok_json *j, const char *s, size_t n);
};
extern const struct tok_jmodel_ops tok_jmodel_unigram;
extern const struct tok_jmodel_ops tok_jmodel_bpe;

#endif
