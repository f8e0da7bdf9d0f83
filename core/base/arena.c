/* arena.c — a session's bump allocator (see arena.h). */
#include "arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_ALIGN 64

struct txi_arena_chunk {
    struct txi_arena_chunk *next;
    size_t size;
    /* data follows, aligned by the allocation below */
};

static size_t align_up(size_t n)
{
    return (n + (ARENA_ALIGN - 1)) & ~(size_t)(ARENA_ALIGN - 1);
}

void txi_arena_init(struct txi_arena *a, size_t max_bytes)
{
    memset(a, 0, sizeof *a);
    a->max_bytes = max_bytes;
}

static void free_extra(struct txi_arena *a)
{
    struct txi_arena_chunk *c = a->extra;
    while (c) {
        struct txi_arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->extra = NULL;
    a->extra_bytes = 0;
}

int txi_arena_reset(struct txi_arena *a, size_t min_bytes)
{
    size_t need = a->wanted > min_bytes ? a->wanted : min_bytes;
    need = align_up(need);
    if (a->max_bytes && need > a->max_bytes) need = a->max_bytes & ~(size_t)(ARENA_ALIGN - 1);
    free_extra(a);
    a->used = 0;
    a->wanted = 0;
    if (need > a->cap) {
        free(a->base);
        a->cap = 0;
        a->base = aligned_alloc(ARENA_ALIGN, need);
        if (!a->base) return -1;
        a->cap = need;
    }
    return 0;
}

void *txi_arena_alloc(struct txi_arena *a, size_t n_elems, size_t elem_size)
{
    if (elem_size && n_elems > SIZE_MAX / elem_size) return NULL;
    size_t n = n_elems * elem_size;
    if (n > SIZE_MAX - 2 * ARENA_ALIGN) return NULL;
    n = align_up(n ? n : 1);
    a->wanted += n;
    if (a->used + n <= a->cap) {
        void *p = a->base + a->used;
        a->used += n;
        return p;
    }
    /* Overflow: a chunk of its own (the main region keeps serving smaller requests). */
    size_t held = a->cap + a->extra_bytes;
    size_t chunk = n + ARENA_ALIGN;
    if (a->max_bytes && (held > a->max_bytes || chunk > a->max_bytes - held)) return NULL;
    struct txi_arena_chunk *c = aligned_alloc(ARENA_ALIGN, chunk);
    if (!c) return NULL;
    c->next = a->extra;
    c->size = chunk;
    a->extra = c;
    a->extra_bytes += chunk;
    return (unsigned char *)c + ARENA_ALIGN;
}

void *txi_arena_calloc(struct txi_arena *a, size_t n_elems, size_t elem_size)
{
    void *p = txi_arena_alloc(a, n_elems, elem_size);
    if (p) memset(p, 0, n_elems * elem_size);
    return p;
}

size_t txi_arena_size(const struct txi_arena *a)
{
    return a->cap + a->extra_bytes;
}

void txi_arena_free(struct txi_arena *a)
{
    free_extra(a);
    free(a->base);
    memset(a, 0, sizeof *a);
}
