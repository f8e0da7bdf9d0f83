/* tok_util.c — growable buffers, hash maps and file reading for the tokenizers. */
#include "containers.h"
#include "txi.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int txi_buf_reserve(struct txi_buf *b, size_t extra)
{
    if (extra > SIZE_MAX - b->len - 1) return -1;
    size_t need = b->len + extra + 1; /* + NUL */
    if (need <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *p = realloc(b->data, cap);
    if (!p) return -1;
    b->data = p;
    b->cap = cap;
    return 0;
}

int txi_buf_append(struct txi_buf *b, const void *p, size_t n)
{
    if (txi_buf_reserve(b, n)) return -1;
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int txi_buf_putc(struct txi_buf *b, char c)
{
    return txi_buf_append(b, &c, 1);
}

void txi_buf_free(struct txi_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

int txi_grow(void **ptr, size_t *cap, size_t need, size_t elem_size)
{
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap : 16;
    while (c < need) {
        if (c > SIZE_MAX / 2) {
            c = need;
            break;
        }
        c *= 2;
    }
    if (c > SIZE_MAX / elem_size) return -1;
    void *p = realloc(*ptr, c * elem_size);
    if (!p) return -1;
    *ptr = p;
    *cap = c;
    return 0;
}

tx_status txi_read_file(const char *path, size_t max_size, char **out, size_t *out_len,
                        struct tx_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) return txi_fail(err, TX_ERR_IO, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return txi_fail(err, TX_ERR_IO, "%s: not a regular file", path);
    }
    if ((uint64_t)st.st_size > (uint64_t)max_size) {
        fclose(f);
        return txi_fail(err, TX_ERR_TOO_LONG, "%s: %lld bytes, more than the %zu allowed", path,
                        (long long)st.st_size, max_size);
    }
    size_t size = (size_t)st.st_size;
    char *buf = malloc(size + 1);
    if (!buf) {
        fclose(f);
        return txi_fail(err, TX_ERR_NOMEM, "%s: cannot allocate %zu bytes", path, size + 1);
    }
    size_t got = size ? fread(buf, 1, size, f) : 0;
    int bad = ferror(f);
    fclose(f);
    if (bad || got != size) {
        free(buf);
        return txi_fail(err, TX_ERR_IO, "%s: read %zu of %zu bytes", path, got, size);
    }
    buf[size] = '\0';
    *out = buf;
    *out_len = size;
    return TX_OK;
}

int txi_path_join(char *buf, size_t size, const char *dir, const char *name)
{
    int n = snprintf(buf, size, "%s/%s", dir, name);
    return (n < 0 || (size_t)n >= size) ? -1 : 0;
}

int txi_file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* ---- string map ---- */

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a, 64-bit */
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ull;
    }
    return h ^ (h >> 29);
}

static size_t strmap_find(const struct txi_strmap *m, const char *key, size_t len, uint64_t h)
{
    size_t mask = m->n_slots - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        uint32_t s = m->slots[i];
        if (s == 0) return i;
        const struct txi_strmap_entry *e = &m->entries[s - 1];
        if (e->len == len && memcmp(m->pool.data + e->off, key, len) == 0) return i;
    }
}

static int strmap_rehash(struct txi_strmap *m, size_t n_slots)
{
    uint32_t *slots = calloc(n_slots, sizeof *slots);
    if (!slots) return -1;
    uint32_t *old = m->slots;
    m->slots = slots;
    m->n_slots = n_slots;
    for (size_t k = 0; k < m->n; k++) {
        const struct txi_strmap_entry *e = &m->entries[k];
        size_t i = strmap_find(m, m->pool.data + e->off, e->len,
                               hash_bytes(m->pool.data + e->off, e->len));
        slots[i] = (uint32_t)(k + 1);
    }
    free(old);
    return 0;
}

int txi_strmap_put(struct txi_strmap *m, const char *key, size_t len, int32_t value, int overwrite)
{
    if (len > UINT32_MAX || m->n >= UINT32_MAX - 1) return -1;
    if ((m->n + 1) * 2 > m->n_slots) {
        size_t ns = m->n_slots ? m->n_slots * 2 : 64;
        if (strmap_rehash(m, ns)) return -1;
    }
    uint64_t h = hash_bytes(key, len);
    size_t i = strmap_find(m, key, len, h);
    if (m->slots[i]) {
        if (overwrite) m->entries[m->slots[i] - 1].value = value;
        return 0;
    }
    if (txi_grow((void **)&m->entries, &m->cap, m->n + 1, sizeof *m->entries)) return -1;
    size_t off = m->pool.len;
    if (txi_buf_append(&m->pool, key, len) || txi_buf_putc(&m->pool, '\0')) return -1;
    m->entries[m->n].off = off;
    m->entries[m->n].len = (uint32_t)len;
    m->entries[m->n].value = value;
    m->n++;
    m->slots[i] = (uint32_t)m->n;
    return 0;
}

int txi_strmap_get(const struct txi_strmap *m, const char *key, size_t len, int32_t *value)
{
    if (m->n == 0) return 0;
    size_t i = strmap_find(m, key, len, hash_bytes(key, len));
    if (!m->slots[i]) return 0;
    *value = m->entries[m->slots[i] - 1].value;
    return 1;
}

void txi_strmap_free(struct txi_strmap *m)
{
    free(m->slots);
    free(m->entries);
    txi_buf_free(&m->pool);
    memset(m, 0, sizeof *m);
}

/* ---- uint64 map ---- */

static size_t u64_slot(uint64_t key, size_t mask)
{
    uint64_t h = key * 0x9E3779B97F4A7C15ull;
    return (size_t)(h ^ (h >> 32)) & mask;
}

static int u64map_rehash(struct txi_u64map *m, size_t n_slots)
{
    uint64_t *keys = malloc(n_slots * sizeof *keys);
    int32_t(*vals)[2] = malloc(n_slots * sizeof *vals);
    if (!keys || !vals) {
        free(keys);
        free(vals);
        return -1;
    }
    memset(keys, 0xFF, n_slots * sizeof *keys);
    size_t mask = n_slots - 1;
    for (size_t k = 0; k < m->n_slots; k++) {
        if (m->keys[k] == UINT64_MAX) continue;
        size_t i = u64_slot(m->keys[k], mask);
        while (keys[i] != UINT64_MAX)
            i = (i + 1) & mask;
        keys[i] = m->keys[k];
        vals[i][0] = m->vals[k][0];
        vals[i][1] = m->vals[k][1];
    }
    free(m->keys);
    free(m->vals);
    m->keys = keys;
    m->vals = vals;
    m->n_slots = n_slots;
    return 0;
}

int txi_u64map_put(struct txi_u64map *m, uint64_t key, int32_t v0, int32_t v1)
{
    if ((m->n + 1) * 2 > m->n_slots) {
        if (m->n_slots > SIZE_MAX / 4) return -1;
        if (u64map_rehash(m, m->n_slots ? m->n_slots * 2 : 64)) return -1;
    }
    size_t mask = m->n_slots - 1;
    size_t i = u64_slot(key, mask);
    while (m->keys[i] != UINT64_MAX && m->keys[i] != key)
        i = (i + 1) & mask;
    if (m->keys[i] == UINT64_MAX) m->n++;
    m->keys[i] = key;
    m->vals[i][0] = v0;
    m->vals[i][1] = v1;
    return 0;
}

const int32_t *txi_u64map_get(const struct txi_u64map *m, uint64_t key)
{
    if (m->n == 0) return NULL;
    size_t mask = m->n_slots - 1;
    for (size_t i = u64_slot(key, mask);; i = (i + 1) & mask) {
        if (m->keys[i] == key) return m->vals[i];
        if (m->keys[i] == UINT64_MAX) return NULL;
    }
}

void txi_u64map_free(struct txi_u64map *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}
