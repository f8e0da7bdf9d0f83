/* fuzz.h — what the fuzz harnesses share. Each tests/fuzz/fuzz_<name>.c defines
 * int fuzz_<name>(const uint8_t *data, size_t size), run by libFuzzer (make fuzz, make
 * fuzz-smoke: clang, -fsanitize=fuzzer,address,undefined) and, on the committed seeds and
 * regression inputs, by the Criterion test tests/unit/test_fuzz_inputs.c in make test. Inputs
 * the code under test must reject are fine; a crash, a sanitizer report or a broken invariant
 * (FUZZ_CHECK) is a finding. Harnesses run from the source root (fixture paths are relative). */
#ifndef ATTNSERVE_FUZZ_H
#define ATTNSERVE_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* An invariant the code under test must keep on every input: abort (a libFuzzer crash, a
 * failed Criterion test) with the condition and its place. */
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz invariant broken: %s (%s:%d)\n", #cond, __FILE__, __LINE__);     \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* A folder of this process's own (made once, removed at exit), for harnesses whose code under
 * test reads files: they lay the input and fixed fixture files out in it. */
const char *fuzz_dir(void);

/* fuzz_dir()/sub into buf (size n): each harness keeps its files in a subfolder of its own, so
 * that harnesses run in one process (the Criterion replay) do not see each other's files. */
void fuzz_path(const char *sub, char *buf, size_t n);

/* Writes data into fuzz_dir()/name (replacing it; name may be "sub/file": the subfolder is
 * made). 0, or -1 on an I/O error. */
int fuzz_write(const char *name, const void *data, size_t n);

/* Copies the fixture at path (relative to the source root) into fuzz_dir()/name; aborts when
 * the fixture is missing (the harness cannot run without it). */
void fuzz_copy(const char *path, const char *name);

/* Removes fuzz_dir()/name if it exists. */
void fuzz_remove(const char *name);

/* Splits data at the first occurrence of the byte sep: part 1 is [0, *n1), part 2 the rest
 * after sep (or empty). Lets one input carry two files. */
void fuzz_split(const uint8_t *data, size_t n, uint8_t sep, size_t *n1, const uint8_t **p2,
                size_t *n2);

/* The harnesses (one per entry point that takes untrusted bytes). */
int fuzz_safetensors(const uint8_t *data, size_t size);
int fuzz_model_config(const uint8_t *data, size_t size);
int fuzz_generation_config(const uint8_t *data, size_t size);
int fuzz_tokenizer_json(const uint8_t *data, size_t size);
int fuzz_spm_model(const uint8_t *data, size_t size);
int fuzz_bpe_files(const uint8_t *data, size_t size);
int fuzz_tokenize(const uint8_t *data, size_t size);
int fuzz_detokenize(const uint8_t *data, size_t size);
int fuzz_langid(const uint8_t *data, size_t size);
int fuzz_config(const uint8_t *data, size_t size);
int fuzz_config_env_flags(const uint8_t *data, size_t size);
int fuzz_sharded_index(const uint8_t *data, size_t size);
int fuzz_request(const uint8_t *data, size_t size);

#endif
