/* genopts.h — decoding options ("options" objects of requests and model defaults): parsing
 * from JSON with key-path error messages, overlaying, and rendering back to JSON. */
#ifndef ATTNSERVE_GENOPTS_H
#define ATTNSERVE_GENOPTS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Bits of cfg_gen_options.set: which fields were given. */
enum {
    CFG_OPT_NUM_BEAMS = 1u << 0,
    CFG_OPT_NUM_RETURN_SEQUENCES = 1u << 1,
    CFG_OPT_MAX_NEW_TOKENS = 1u << 2,
    CFG_OPT_MIN_LENGTH = 1u << 3,
    CFG_OPT_MAX_LENGTH = 1u << 4,
    CFG_OPT_LENGTH_PENALTY = 1u << 5,
    CFG_OPT_NO_REPEAT_NGRAM_SIZE = 1u << 6,
    CFG_OPT_REPETITION_PENALTY = 1u << 7,
    CFG_OPT_DO_SAMPLE = 1u << 8,
    CFG_OPT_TEMPERATURE = 1u << 9,
    CFG_OPT_TOP_K = 1u << 10,
    CFG_OPT_TOP_P = 1u << 11,
    CFG_OPT_SEED = 1u << 12,
    CFG_OPT_EARLY_STOPPING = 1u << 13,
};

/* Hard limits of the option values (the same for requests and configuration). */
#define CFG_MAX_BEAMS 16
#define CFG_MAX_RETURN_SEQUENCES 16
#define CFG_MAX_NGRAM 16
#define CFG_MAX_TOP_K 1000
#define CFG_MAX_SEED 9007199254740991LL /* 2^53 - 1: exact in every JSON implementation */

/* Decoding options. Lengths count generated tokens (eos included, decoder start token
 * excluded): min_length = at least that many tokens before eos may end the output;
 * max_length is a synonym of max_new_tokens (both given is an error). */
struct cfg_gen_options {
    unsigned set; /* CFG_OPT_* of the fields below that hold a value */
    int num_beams;
    int num_return_sequences;
    int max_new_tokens;
    int min_length;
    int max_length;
    double length_penalty;
    int no_repeat_ngram_size;
    double repetition_penalty;
    int do_sample;
    double temperature;
    int top_k;
    double top_p;
    uint64_t seed;
    int early_stopping;
};

/* Parses an "options" object. `path` names it in messages ("options",
 * "models[0].default_options"); max_output_tokens bounds max_new_tokens/min_length/max_length.
 * Unknown keys, wrong types and out-of-range values are errors. On success fills *out (its
 * `set` says which fields were present) and returns 0; on the first error writes a message
 * such as "options.num_beams must be an integer between 1 and 16, got 0" to msg and returns
 * -1 (*out is then unspecified). obj may be NULL (no options). Thread-safe. */
int cfg_gen_options_parse(const json_t *obj, const char *path, int max_output_tokens,
                          struct cfg_gen_options *out, char *msg, size_t msg_size);

/* Copies every field set in `top` over `base` (top wins). */
void cfg_gen_options_overlay(struct cfg_gen_options *base, const struct cfg_gen_options *top);

/* Checks the combination: max_length and max_new_tokens not both set, min_length <= the
 * maximum, num_return_sequences <= num_beams when not sampling. `path` prefixes messages.
 * Returns 0, or -1 with a message. */
int cfg_gen_options_check(const struct cfg_gen_options *o, const char *path, char *msg,
                          size_t msg_size);

/* The set fields as a JSON object (owned, json_decref). NULL on allocation failure. */
json_t *cfg_gen_options_to_json(const struct cfg_gen_options *o);

/* Writes a short description of a JSON value for messages: `"abc"`, `4.5`, `true`, `null`,
 * `a list`, `an object` (strings are cut at 40 bytes and escaped). Returns buf. */
const char *cfg_json_describe(const json_t *v, char *buf, size_t buf_size);

#endif
