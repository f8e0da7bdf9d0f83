/* arena.h — a session's bump allocator: everything of one call is released together. */
#ifndef ATTNSERVE_ARENA_H
#define ATTNSERVE_ARENA_H

#include <stddef.h>

/* The arena hands out 64-byte aligned blocks from one malloc'd region. When a call needs more
 * than the region holds, further chunks are malloc'd (all before the call's decode loop, since
 * every buffer is sized up front); the next txi_arena_reset merges them into one region of the
 * combined size, so a repeated request of the same shape never mallocs again. */
struct txi_arena_chunk;

struct txi_arena {
    unsigned char *base; /* main region (cap bytes) */
    size_t cap, used;
    struct txi_arena_chunk *extra; /* overflow chunks of the current call, newest first */
    size_t extra_bytes;            /* bytes held by the overflow chunks */
    size_t wanted;                 /* bytes the current call asked for (incl. alignment) */
    size_t max_bytes;              /* 0 = no cap */
};

/* Initialises an empty arena that never holds more than max_bytes (0 = no cap). */
void txi_arena_init(struct txi_arena *a, size_t max_bytes);

/* Releases everything handed out. Merges overflow chunks into one main region big enough for
 * the previous call and for at least min_bytes. Returns 0, or -1 when that region cannot be
 * allocated (the arena is then empty but usable). */
int txi_arena_reset(struct txi_arena *a, size_t min_bytes);

/* n_elems * elem_size bytes, 64-byte aligned, uninitialised; NULL when the size overflows,
 * the cap would be exceeded or malloc fails. Valid until the next reset. */
void *txi_arena_alloc(struct txi_arena *a, size_t n_elems, size_t elem_size);

/* Like txi_arena_alloc, zero-filled. */
void *txi_arena_calloc(struct txi_arena *a, size_t n_elems, size_t elem_size);

/* Bytes currently held (main region + overflow chunks). */
size_t txi_arena_size(const struct txi_arena *a);

void txi_arena_free(struct txi_arena *a);

#endif
