/* genopts.h — decoding options ("options" objects of requests, models' default_options and
 * attnserve-cli's flags), driven by the one table of genopts_table.h: parsing from JSON (key
 * path in every message) and from command-line text, overlaying, checking, rendering back to
 * JSON, and the table itself for --help and --print-gen-options. */
#ifndef ATTNSERVE_GENOPTS_H
#define ATTNSERVE_GENOPTS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "genopts_table.h"

/* CFG_OPT_IDX_<ID>: row of the table; CFG_GEN_N_OPTIONS rows. */
enum {
#define X(ID, key, kind, lo, lo_open, hi, srv_lo, srv_hi, surf, help) CFG_OPT_IDX_##ID,
    CFG_GEN_OPTIONS(X)
#undef X
        CFG_GEN_N_OPTIONS
};

/* Bits of cfg_gen_options.set: which fields were given. */
enum {
#define X(ID, key, kind, lo, lo_open, hi, srv_lo, srv_hi, surf, help)                              \
    CFG_OPT_##ID = 1u << CFG_OPT_IDX_##ID,
    CFG_GEN_OPTIONS(X)
#undef X
};

typedef enum { CFG_GEN_INT, CFG_GEN_NUM, CFG_GEN_BOOL, CFG_GEN_SEED, CFG_GEN_EARLY } cfg_gen_kind;

/* The C type of a kind's value in struct cfg_gen_options. */
#define CFG_GEN_CTYPE_INT int
#define CFG_GEN_CTYPE_NUM double
#define CFG_GEN_CTYPE_BOOL int
#define CFG_GEN_CTYPE_SEED uint64_t
#define CFG_GEN_CTYPE_EARLY int

/* Decoding options with transformers' semantics (lengths count the decoder start token except
 * max_new_tokens), one field per row of the table, named as in struct tx_gen_params. */
struct cfg_gen_options {
    unsigned set; /* CFG_OPT_* of the fields below that hold a value */
#define X(ID, key, kind, lo, lo_open, hi, srv_lo, srv_hi, surf, help) CFG_GEN_CTYPE_##kind key;
    CFG_GEN_OPTIONS(X)
#undef X
};

/* One row of the table, as data (for help, the OpenAPI dump and the parsers). */
struct cfg_gen_option {
    const char *key; /* JSON key and struct tx_gen_params field; the CLI flag is --key with '-' */
    unsigned bit;    /* CFG_OPT_* */
    cfg_gen_kind kind;
    size_t off;            /* of the value in struct cfg_gen_options */
    double lo, hi;         /* attnserve-cli's range */
    int lo_open;           /* lo excluded (both surfaces) */
    double srv_lo, srv_hi; /* the server's range; srv_hi may be CFG_HI_OUT or CFG_HI_OUT_1 */
    unsigned surfaces;     /* CFG_GEN_SRV | CFG_GEN_CLI */
    const char *help;
};

/* The table (static storage, CFG_GEN_N_OPTIONS rows in CFG_OPT_IDX_* order). */
extern const struct cfg_gen_option cfg_gen_option_table[CFG_GEN_N_OPTIONS];

/* The row whose CLI flag is `flag` ("--num-beams" for num_beams), or NULL. */
const struct cfg_gen_option *cfg_gen_option_by_flag(const char *flag);

/* Writes the CLI flag of a row ("--num-beams") to buf. Returns buf. */
const char *cfg_gen_option_flag(const struct cfg_gen_option *op, char *buf, size_t buf_size);

/* The server's upper bound of a row for a given limits.max_output_tokens. */
double cfg_gen_option_srv_hi(const struct cfg_gen_option *op, int max_output_tokens);

/* Parses an "options" object with the server's ranges. `path` names it in messages
 * ("options", "models[0].default_options"); max_output_tokens bounds max_new_tokens (and, + 1,
 * max_length and min_length). Unknown keys (and CLI-only ones), wrong types and out-of-range
 * values are errors. On success fills *out (its `set` says which fields were present) and
 * returns 0; on the first error writes a message such as "options.num_beams must be an integer
 * between 1 and 16, got 0" to msg and returns -1 (*out is then unspecified). obj may be NULL
 * (no options). Thread-safe. */
int cfg_gen_options_parse(const json_t *obj, const char *path, int max_output_tokens,
                          struct cfg_gen_options *out, char *msg, size_t msg_size);

/* Parses the text value of one CLI flag (attnserve-cli's ranges) into *out and marks it set;
 * `value` is ignored for CFG_GEN_BOOL (the flag alone means true). Returns 0, or -1 with a
 * message such as "--num-beams needs an integer in [1, 256], got '0'". */
int cfg_gen_option_parse_text(const struct cfg_gen_option *op, const char *value,
                              struct cfg_gen_options *out, char *msg, size_t msg_size);

/* Copies every field set in `top` over `base` (top wins). A layer that gives one of
 * max_length / max_new_tokens replaces the other of the layer below, as transformers'
 * generate(max_length=...) replaces a generation config's max_new_tokens. */
void cfg_gen_options_overlay(struct cfg_gen_options *base, const struct cfg_gen_options *top);

/* Checks the combination: max_length and max_new_tokens not both set, min_length <= the
 * maximum length (both counting the decoder start token), num_return_sequences <= num_beams
 * when not sampling. `path` prefixes messages ("options", or "" for CLI flags). Returns 0, or
 * -1 with a message. */
int cfg_gen_options_check(const struct cfg_gen_options *o, const char *path, char *msg,
                          size_t msg_size);

/* Checks the set lengths against a final limits.max_output_tokens (configuration defaults are
 * parsed before the limits are known). Returns 0, or -1 with a message naming path. */
int cfg_gen_options_check_limit(const struct cfg_gen_options *o, const char *path,
                                int max_output_tokens, char *msg, size_t msg_size);

/* The set fields as a JSON object (owned, json_decref). NULL on allocation failure. */
json_t *cfg_gen_options_to_json(const struct cfg_gen_options *o);

/* The server's options as JSON Schema properties in table order, what openapi.yaml's
 * GenerationOptions must say: {"num_beams": {"type": "integer", "minimum": 1, "maximum": 16,
 * "description": ...}, ...}. Owned; NULL on allocation failure. */
json_t *cfg_gen_options_schema(int max_output_tokens);

/* Writes the options of `surface` (CFG_GEN_SRV or CFG_GEN_CLI) as help lines: for the CLI its
 * flags with their ranges, for the server the JSON keys with the server's ranges. */
void cfg_gen_options_print_help(FILE *f, unsigned surface, int max_output_tokens);

/* Writes a short description of a JSON value for messages: `"abc"`, `4.5`, `true`, `null`,
 * `a list`, `an object` (strings are cut at 40 bytes and escaped). Returns buf. */
const char *cfg_json_describe(const json_t *v, char *buf, size_t buf_size);

/* The JSON type of v for messages: "an object", "a list", "a string", "a number",
 * "a boolean", "null". Static storage. */
const char *cfg_json_type_name(const json_t *v);

#endif
