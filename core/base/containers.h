/* containers.h — small containers (the tokenizers use them most): growable buffers, a
 * string->int map, a 64-bit-key map, file reading. Internal to the core. */
#ifndef ATTNSERVE_CONTAINERS_H
#define ATTNSERVE_CONTAINERS_H

#include <stddef.h>
#include <stdint.h>

#include "tx.h"

/* A growable byte string; data is NUL-terminated whenever len > 0 or after any append. */
struct txi_buf {
    char *data;
    size_t len, cap;
};

/* Each returns 0, or -1 when memory runs out (the buffer is then unchanged). */
int txi_buf_reserve(struct txi_buf *b, size_t extra);
int txi_buf_append(struct txi_buf *b, const void *p, size_t n);
int txi_buf_putc(struct txi_buf *b, char c);
void txi_buf_free(struct txi_buf *b);

/* Grows *ptr (an array of elem_size-byte elements, *cap of them) to hold at least need
 * elements, doubling. Returns 0, or -1 on overflow/OOM (*ptr and *cap unchanged). */
int txi_grow(void **ptr, size_t *cap, size_t need, size_t elem_size);

/* Reads a whole file into an owned buffer (NUL-terminated, free with free()). TX_ERR_IO with
 * the path and errno text on failure; files over max_size bytes -> TX_ERR_TOO_LONG. */
tx_status txi_read_file(const char *path, size_t max_size, char **out, size_t *out_len,
                        struct tx_error *err);

/* Joins dir and name into buf ("dir/name"); returns 0, or -1 when it does not fit. */
int txi_path_join(char *buf, size_t size, const char *dir, const char *name);
int txi_file_exists(const char *path);

/* String -> int32 map with owned copies of the keys (open addressing, FNV-1a). */
struct txi_strmap {
    uint32_t *slots; /* (n_slots): 0 = empty, else entry index + 1 */
    size_t n_slots;
    struct txi_strmap_entry {
        size_t off; /* key bytes at pool.data + off, NUL-terminated */
        uint32_t len;
        int32_t value;
    } * entries;
    size_t n, cap;
    struct txi_buf pool;
};

/* Inserts key -> value; an existing key gets the new value when overwrite, else keeps its old
 * one. Returns 0, or -1 on OOM or a key longer than UINT32_MAX. */
int txi_strmap_put(struct txi_strmap *m, const char *key, size_t len, int32_t value, int overwrite);
/* Returns 1 and sets *value when key is present, else 0. */
int txi_strmap_get(const struct txi_strmap *m, const char *key, size_t len, int32_t *value);
void txi_strmap_free(struct txi_strmap *m);
static inline const char *txi_strmap_key(const struct txi_strmap *m, size_t i)
{
    return m->pool.data + m->entries[i].off;
}

/* uint64 -> (int32, int32) map; keys must not be UINT64_MAX (the empty marker). */
struct txi_u64map {
    uint64_t *keys; /* (n_slots) */
    int32_t (*vals)[2];
    size_t n_slots, n;
};
int txi_u64map_put(struct txi_u64map *m, uint64_t key, int32_t v0, int32_t v1);
/* Returns the value pair for key, or NULL. Borrowed until the next put. */
const int32_t *txi_u64map_get(const struct txi_u64map *m, uint64_t key);
void txi_u64map_free(struct txi_u64map *m);

#endif
