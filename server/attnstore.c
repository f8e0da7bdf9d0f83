/* attnstore.c — LRU + TTL store of attention results (hash table + doubly linked list). */
#include "attnstore.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "pool.h"

struct srv_attn_store {
    pthread_mutex_t mu;
    size_t max_bytes, bytes;
    int max_entries, entries;
    int64_t ttl_ns;
    struct srv_attn_entry **buckets; /* (n_buckets) */
    size_t n_buckets;
    struct srv_attn_entry *head, *tail; /* head = most recently used */
    uint64_t evictions, expirations;
};

static void free_strings(char **v, int n)
{
    if (!v) return;
    for (int i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void srv_attn_entry_free(struct srv_attn_entry *e)
{
    if (!e) return;
    free(e->model);
    free(e->output);
    free_strings(e->src_tokens, e->n_src);
    free(e->src_special);
    free_strings(e->tgt_tokens, e->n_tgt);
    free_strings(e->dec_tokens, e->n_tgt);
    free(e->encoder);
    free(e->decoder);
    free(e->cross);
    free(e);
}

void srv_attn_entry_account(struct srv_attn_entry *e)
{
    size_t S = (size_t)e->n_src, T = (size_t)e->n_tgt, H = (size_t)e->n_heads;
    size_t b = sizeof *e;
    b += sizeof(float) * H *
         ((size_t)e->n_enc_layers * S * S + (size_t)e->n_dec_layers * T * T +
          (size_t)e->n_dec_layers * T * S);
    b += (e->model ? strlen(e->model) : 0) + (e->output ? strlen(e->output) : 0) + 2;
    for (int i = 0; i < e->n_src; i++)
        b += sizeof(char *) + 1 +
             (e->src_tokens && e->src_tokens[i] ? strlen(e->src_tokens[i]) + 1 : 0);
    for (int i = 0; i < e->n_tgt; i++) {
        b += 2 * sizeof(char *);
        if (e->tgt_tokens && e->tgt_tokens[i]) b += strlen(e->tgt_tokens[i]) + 1;
        if (e->dec_tokens && e->dec_tokens[i]) b += strlen(e->dec_tokens[i]) + 1;
    }
    e->bytes = b;
}

int srv_random_id(char out[SRV_ATTN_ID_LEN + 1])
{
    unsigned char r[SRV_ATTN_ID_LEN / 2];
    size_t got = 0;
    while (got < sizeof r) {
        ssize_t n = getrandom(r + got, sizeof r - got, 0);
        if (n <= 0) break;
        got += (size_t)n;
    }
    if (got < sizeof r) {
        int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
        if (fd < 0) return -1;
        while (got < sizeof r) {
            ssize_t n = read(fd, r + got, sizeof r - got);
            if (n <= 0) break;
            got += (size_t)n;
        }
        close(fd);
        if (got < sizeof r) return -1;
    }
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < sizeof r; i++) {
        out[2 * i] = hex[r[i] >> 4];
        out[2 * i + 1] = hex[r[i] & 15];
    }
    out[SRV_ATTN_ID_LEN] = '\0';
    return 0;
}

static size_t hash_id(const char *id, size_t n_buckets)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (const char *p = id; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    return (size_t)(h & (n_buckets - 1));
}

struct srv_attn_store *srv_attn_store_new(size_t max_bytes, int max_entries, int ttl_s)
{
    struct srv_attn_store *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->max_bytes = max_bytes;
    s->max_entries = max_entries > 0 ? max_entries : 1;
    s->ttl_ns = (int64_t)ttl_s * 1000000000LL;
    s->n_buckets = 16;
    while (s->n_buckets < (size_t)s->max_entries * 2 && s->n_buckets < (1u << 20))
        s->n_buckets *= 2;
    s->buckets = calloc(s->n_buckets, sizeof *s->buckets);
    if (!s->buckets) {
        free(s);
        return NULL;
    }
    pthread_mutex_init(&s->mu, NULL);
    return s;
}

/* Unlinks e from list and hash; frees it when no reader holds it. Lock held. */
static void remove_locked(struct srv_attn_store *s, struct srv_attn_entry *e)
{
    if (e->lru_prev)
        e->lru_prev->lru_next = e->lru_next;
    else
        s->head = e->lru_next;
    if (e->lru_next)
        e->lru_next->lru_prev = e->lru_prev;
    else
        s->tail = e->lru_prev;
    struct srv_attn_entry **pp = &s->buckets[hash_id(e->id, s->n_buckets)];
    while (*pp && *pp != e)
        pp = &(*pp)->hash_next;
    if (*pp) *pp = e->hash_next;
    e->lru_prev = e->lru_next = e->hash_next = NULL;
    e->in_store = 0;
    s->bytes -= e->bytes;
    s->entries--;
    if (e->refs == 0) srv_attn_entry_free(e);
}

void srv_attn_store_free(struct srv_attn_store *s)
{
    if (!s) return;
    while (s->head)
        remove_locked(s, s->head);
    pthread_mutex_destroy(&s->mu);
    free(s->buckets);
    free(s);
}

int srv_attn_store_put(struct srv_attn_store *s, struct srv_attn_entry *e)
{
    if (!e->bytes) srv_attn_entry_account(e);
    if (e->bytes > s->max_bytes) return -1;
    if (srv_random_id(e->id)) return -1;
    e->created_ns = srv_now_ns();
    pthread_mutex_lock(&s->mu);
    while (s->tail && (s->bytes + e->bytes > s->max_bytes || s->entries + 1 > s->max_entries)) {
        s->evictions++;
        remove_locked(s, s->tail);
    }
    e->refs = 1; /* the caller's */
    e->in_store = 1;
    e->lru_prev = NULL;
    e->lru_next = s->head;
    if (s->head) s->head->lru_prev = e;
    s->head = e;
    if (!s->tail) s->tail = e;
    size_t b = hash_id(e->id, s->n_buckets);
    e->hash_next = s->buckets[b];
    s->buckets[b] = e;
    s->bytes += e->bytes;
    s->entries++;
    pthread_mutex_unlock(&s->mu);
    return 0;
}

struct srv_attn_entry *srv_attn_store_get(struct srv_attn_store *s, const char *id)
{
    if (strlen(id) != SRV_ATTN_ID_LEN) return NULL;
    pthread_mutex_lock(&s->mu);
    struct srv_attn_entry *e = s->buckets[hash_id(id, s->n_buckets)];
    while (e && strcmp(e->id, id))
        e = e->hash_next;
    if (e && srv_now_ns() - e->created_ns > s->ttl_ns) {
        s->expirations++;
        remove_locked(s, e);
        e = NULL;
    }
    if (e) {
        e->refs++;
        if (e != s->head) { /* move to the front */
            e->lru_prev->lru_next = e->lru_next;
            if (e->lru_next)
                e->lru_next->lru_prev = e->lru_prev;
            else
                s->tail = e->lru_prev;
            e->lru_prev = NULL;
            e->lru_next = s->head;
            s->head->lru_prev = e;
            s->head = e;
        }
    }
    pthread_mutex_unlock(&s->mu);
    return e;
}

void srv_attn_store_release(struct srv_attn_store *s, struct srv_attn_entry *e)
{
    if (!e) return;
    pthread_mutex_lock(&s->mu);
    int free_it = --e->refs == 0 && !e->in_store;
    pthread_mutex_unlock(&s->mu);
    if (free_it) srv_attn_entry_free(e);
}

void srv_attn_store_stats(struct srv_attn_store *s, struct srv_attn_store_stats *out)
{
    pthread_mutex_lock(&s->mu);
    out->bytes = s->bytes;
    out->max_bytes = s->max_bytes;
    out->entries = s->entries;
    out->evictions = s->evictions;
    out->expirations = s->expirations;
    pthread_mutex_unlock(&s->mu);
}
