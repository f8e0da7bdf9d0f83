/* genopts_table.h — the one table of decoding options: name, type, ranges per surface, help,
 * and (through the name) the struct tx_gen_params field each one sets. */
#ifndef ATTNSERVE_GENOPTS_TABLE_H
#define ATTNSERVE_GENOPTS_TABLE_H

/* Server limits that other code also needs (LibreTranslate's "alternatives" are bounded by
 * the returned sequences). They are the table's srv_hi of those rows, not a second definition. */
#define CFG_MAX_BEAMS 16
#define CFG_MAX_RETURN_SEQUENCES 16
#define CFG_MAX_SEED 9007199254740991LL /* 2^53 - 1: exact in every JSON implementation */

/* Surfaces an option exists on: the server (request "options" and configuration files'
 * models[].default_options) and attnserve-cli's flags. */
#define CFG_GEN_SRV 1u
#define CFG_GEN_CLI 2u
#define CFG_GEN_ALL (CFG_GEN_SRV | CFG_GEN_CLI)

/* Upper bounds that depend on limits.max_output_tokens (the server's srv_hi only). */
#define CFG_HI_OUT (-1.0)   /* = limits.max_output_tokens */
#define CFG_HI_OUT_1 (-2.0) /* = limits.max_output_tokens + 1 (counts the decoder start token) */

/*
 * X(ID, key, kind, lo, lo_open, hi, srv_lo, srv_hi, surfaces, help)
 *   key        JSON key, attnserve-cli flag (--key with '-' for '_') and the field of
 *              struct tx_gen_params (core/include/tx.h) it sets, with transformers' meaning
 *              (config/genparams.c maps it by this name: a key that is no field fails to build).
 *   kind       INT, NUM (float in tx_gen_params), BOOL (a flag on the CLI), SEED (uint64) or
 *              EARLY (JSON true/false; the CLI also takes transformers' "never" = 2).
 *   lo..hi     the range attnserve-cli accepts (the core's own, core/decode/generate.c);
 *              lo_open: lo itself is excluded.
 *   srv_lo..srv_hi  the server's range (requests and default_options): the per-surface limit.
 *   help       one sentence for --help of both binaries and the description in openapi.yaml
 *              (tests/integration/check-openapi.mjs compares the two).
 * The order is the order of --help, of openapi.yaml and of the CFG_OPT_* bits.
 */
#define CFG_GEN_OPTIONS(X)                                                                         \
    X(NUM_BEAMS, num_beams, INT, 1, 0, 256, 1, CFG_MAX_BEAMS, CFG_GEN_ALL,                         \
      "Beam width (1 = greedy or sampling).")                                                      \
    X(NUM_RETURN_SEQUENCES, num_return_sequences, INT, 1, 0, 256, 1, CFG_MAX_RETURN_SEQUENCES,     \
      CFG_GEN_ALL,                                                                                 \
      "Hypotheses returned per text (the best first, the others as alternatives); at most "        \
      "num_beams unless sampling. Default 1.")                                                     \
    X(MAX_NEW_TOKENS, max_new_tokens, INT, 1, 0, 100000, 1, CFG_HI_OUT, CFG_GEN_ALL,               \
      "Most tokens to generate, end-of-sequence included, the decoder start token not counted "    \
      "(the friendly limit; it wins over max_length). The server allows at most "                  \
      "limits.max_output_tokens and what the model's positions allow.")                            \
    X(MAX_LENGTH, max_length, INT, 1, 0, 100000, 1, CFG_HI_OUT_1, CFG_GEN_ALL,                     \
      "transformers' max_length: the longest output counting the decoder start token, so "         \
      "max_length N = max_new_tokens N-1 (give one of the two).")                                  \
    X(MIN_LENGTH, min_length, INT, 0, 0, 100000, 0, CFG_HI_OUT_1, CFG_GEN_ALL,                     \
      "transformers' min_length: end-of-sequence is banned while the output, decoder start "       \
      "token included, is shorter than this.")                                                     \
    X(LENGTH_PENALTY, length_penalty, NUM, -100, 0, 100, -10, 10, CFG_GEN_ALL,                     \
      "Beam scores are divided by length^length_penalty.")                                         \
    X(NO_REPEAT_NGRAM_SIZE, no_repeat_ngram_size, INT, 0, 0, 1000, 0, 16, CFG_GEN_ALL,             \
      "No n-gram of this size occurs twice (0 = off).")                                            \
    X(REPETITION_PENALTY, repetition_penalty, NUM, 0, 1, 1000, 0, 10, CFG_GEN_ALL,                 \
      "CTRL-style penalty of tokens already present (1 = off).")                                   \
    X(DO_SAMPLE, do_sample, BOOL, 0, 0, 1, 0, 1, CFG_GEN_ALL, "Sample instead of searching.")      \
    X(TEMPERATURE, temperature, NUM, 0, 1, 1000, 0, 10, CFG_GEN_ALL, "Sampling temperature.")      \
    X(TOP_K, top_k, INT, 0, 0, 100000000, 0, 1000, CFG_GEN_ALL,                                    \
      "Sample among the k most likely tokens (0 = off).")                                          \
    X(TOP_P, top_p, NUM, 0, 1, 1, 0, 1, CFG_GEN_ALL, "Nucleus sampling mass (1 = off).")           \
    X(SEED, seed, SEED, 0, 0, 18446744073709551615.0, 0, CFG_MAX_SEED, CFG_GEN_ALL,                \
      "Sampling seed: the same seed gives the same output.")                                       \
    X(EARLY_STOPPING, early_stopping, EARLY, 0, 0, 2, 0, 1, CFG_GEN_ALL,                           \
      "Beam search stops once num_beams hypotheses are finished (attnserve-cli also takes "        \
      "never, transformers' third rule).")                                                         \
    X(DECODER_START_TOKEN_ID, decoder_start_token_id, INT, -1, 0, 100000000, 0, 0, CFG_GEN_CLI,    \
      "Token the decoder starts from.")                                                            \
    X(EOS_TOKEN_ID, eos_token_id, INT, -1, 0, 100000000, 0, 0, CFG_GEN_CLI,                        \
      "End-of-sequence token (-1 = none).")                                                        \
    X(FORCED_BOS_TOKEN_ID, forced_bos_token_id, INT, -1, 0, 100000000, 0, 0, CFG_GEN_CLI,          \
      "Token forced first after the start token (-1 = none).")                                     \
    X(FORCED_EOS_TOKEN_ID, forced_eos_token_id, INT, -1, 0, 100000000, 0, 0, CFG_GEN_CLI,          \
      "Token forced when max_length is reached (-1 = none).")

#endif
