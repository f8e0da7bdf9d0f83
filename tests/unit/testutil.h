/* testutil.h — helpers shared by the Criterion unit tests (fixture paths, JSON, random). */
#ifndef ATTNSERVE_TESTUTIL_H
#define ATTNSERVE_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tx.h"

/* Path of the shared reference fixtures (../shared/fixtures relative to the source root), or
 * NULL when that folder is absent (tests must then skip visibly with cr_skip_test). */
const char *tu_shared_fixtures(void);

/* Skips the running Criterion test with a message that also goes to stderr: Criterion prints
 * skip messages only with --verbose, and tests/run_unit.sh shows the SKIP lines of the logs.
 * Messages start with "SKIP: ". */
#define TU_SKIP(...)                                                                               \
    do {                                                                                           \
        fprintf(stderr, __VA_ARGS__);                                                              \
        fputc('\n', stderr);                                                                       \
        cr_skip_test(__VA_ARGS__);                                                                 \
    } while (0)

/* Reads a whole file; owned, free with free(). NULL on failure. */
char *tu_read_file(const char *path, size_t *len_out);

/* Loads the checkpoint folder dir with weights kept as dtype; fails the running test (naming dir
 * and the error) when it does not load. Owned: tx_model_free. */
tx_model *tu_load_model(const char *dir, tx_dtype dtype);

/* Deterministic xorshift random numbers for tests. */
uint64_t tu_rand_u64(uint64_t *state);
float tu_rand_uniform(uint64_t *state, float lo, float hi);

#endif
