/* attnstore.h — /attention results kept for later slices: bounded by bytes and entries
 * (least recently used dropped first) and by age. Entries are immutable and reference-counted,
 * so a reader keeps its entry even if it is evicted meanwhile. Thread-safe. */
#ifndef ATTNSERVE_SRV_ATTNSTORE_H
#define ATTNSERVE_SRV_ATTNSTORE_H

#include <stddef.h>
#include <stdint.h>

#define SRV_ATTN_ID_LEN 32 /* hex characters of an id (128 random bits) */

struct srv_attn_entry {
    char id[SRV_ATTN_ID_LEN + 1];
    char *model;  /* model name */
    int task;     /* srv_task */
    char *output; /* generated text */
    int truncated;
    int n_src;
    char **src_tokens;          /* (n_src) display strings */
    unsigned char *src_special; /* (n_src) 1 = special token (eos, ...) */
    int n_tgt;
    char **tgt_tokens; /* (n_tgt) generated tokens, eos included: rows of cross/decoder maps */
    char **dec_tokens; /* (n_tgt) decoder inputs: start token, then tgt_tokens[0..n_tgt-2] */
    int n_enc_layers, n_dec_layers, n_heads;
    int cross_only;             /* 1: the model has only cross-attention (rnn_seq2seq): no
                                   encoder or decoder maps (their kinds have 0 layers) */
    const char *attention_type; /* the model's (tx_model_info.attention, a static string) */
    float *encoder; /* (n_enc_layers, n_heads, n_src, n_src) */
    float *decoder; /* (n_dec_layers, n_heads, n_tgt, n_tgt) */
    float *cross;   /* (n_dec_layers, n_heads, n_tgt, n_src) */
    size_t bytes;   /* memory accounted to this entry */
    int64_t created_ns;
    /* store bookkeeping (under the store's lock) */
    int refs;
    int in_store;
    struct srv_attn_entry *lru_prev, *lru_next, *hash_next;
};

/* Computes e->bytes from its contents (call once filled). */
void srv_attn_entry_account(struct srv_attn_entry *e);
/* Frees an entry that is in no store. */
void srv_attn_entry_free(struct srv_attn_entry *e);

struct srv_attn_store;

struct srv_attn_store *srv_attn_store_new(size_t max_bytes, int max_entries, int ttl_s);
void srv_attn_store_free(struct srv_attn_store *s);

/* Gives the entry an id and stores it (the store takes ownership), evicting least recently
 * used entries until it fits. On success the caller also holds one reference (release it
 * with srv_attn_store_release when done reading). Returns 0, or -1 when the entry alone
 * exceeds the byte bound or no random id is available (ownership stays with the caller). */
int srv_attn_store_put(struct srv_attn_store *s, struct srv_attn_entry *e);

/* Looks an id up (marks it recently used). Returns a reference (srv_attn_store_release) or
 * NULL when unknown, evicted or expired. */
struct srv_attn_entry *srv_attn_store_get(struct srv_attn_store *s, const char *id);
void srv_attn_store_release(struct srv_attn_store *s, struct srv_attn_entry *e);

struct srv_attn_store_stats {
    size_t bytes, max_bytes;
    int entries;
    uint64_t evictions, expirations;
};
void srv_attn_store_stats(struct srv_attn_store *s, struct srv_attn_store_stats *out);

/* 32 random hex characters + NUL. Returns 0, -1 when no randomness is available. */
int srv_random_id(char out[SRV_ATTN_ID_LEN + 1]);

#endif
