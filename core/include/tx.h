/* tx.h — attnserve core: the one public header of the transformer library. */
#ifndef ATTNSERVE_TX_H
#define ATTNSERVE_TX_H

/*
 * Conventions (see shared STYLE.md):
 * - Fallible calls return tx_status. Out-params are written only on TX_OK. The optional last
 *   argument `struct tx_error *err` (may be NULL) receives a message naming the input and the
 *   fact, e.g. "model.safetensors: tensor model.decoder.layers.3.fc1.weight is 512x2048,
 *   config says 512x1024".
 * - A tx_model and a tx_tokenizer are read-only after load and may be shared by any number of
 *   threads. A tx_session is used by one thread at a time and owns all scratch memory of the
 *   requests it runs (an arena; no malloc in the decode loop).
 * - Every pointer-returning function says whether the result is owned, borrowed or stolen.
 * - The core never prints, exits or calls getenv.
 */

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------- */
/* Status and errors                                                                        */
/* ---------------------------------------------------------------------------------------- */

typedef enum {
    TX_OK = 0,
    TX_ERR_INVALID,     /* an argument is out of range or inconsistent */
    TX_ERR_IO,          /* a file is missing or cannot be read / mapped */
    TX_ERR_FORMAT,      /* a file is corrupt, truncated, or disagrees with the config */
    TX_ERR_UNSUPPORTED, /* a model_type, dtype or option this library does not implement */
    TX_ERR_NOMEM,       /* an allocation failed or a session arena is exhausted */
    TX_ERR_TOO_LONG,    /* an input exceeds a model limit (e.g. max_position_embeddings) */
    TX_ERR_CANCELLED,   /* the caller's cancel callback asked to stop */
    TX_ERR_ENCODING,    /* text is not valid UTF-8 */
} tx_status;

#define TX_ERROR_MESSAGE_SIZE 512

struct tx_error {
    tx_status status;
    char message[TX_ERROR_MESSAGE_SIZE]; /* NUL-terminated, human-readable */
};

/* Short constant name of a status ("invalid", "io", ...). Borrowed, static storage. */
const char *tx_status_name(tx_status st);

/* Sets the number of OpenBLAS threads for the whole process. Call once at start-up, before
 * any model runs (BLAS parallelism is chosen once: several workers with 1 BLAS thread each,
 * or one worker with BLAS threads = cores). Not thread-safe. */
void tx_blas_set_threads(int n_threads);

/* ---------------------------------------------------------------------------------------- */
/* Models                                                                                   */
/* ---------------------------------------------------------------------------------------- */

typedef struct tx_model tx_model;

typedef enum {
    TX_ARCH_MARIAN = 0,
    TX_ARCH_BART,
    TX_ARCH_MBART,
    TX_ARCH_T5,
    TX_ARCH_RNN, /* rnn_seq2seq: recurrent encoder-decoder with one attention (docs/rnn_seq2seq.md) */
    TX_ARCH_HAN, /* han: hierarchical attention network scoring a document's sentences
                    (tx_salience); not a generator */
} tx_arch;

/* Facts about a loaded model, all borrowed from the model (valid until tx_model_free). */
struct tx_model_info {
    tx_arch arch;
    const char *model_type; /* config.json "model_type": "marian", "bart", "mbart", "t5" */
    const char *dtype;      /* storage dtype of the weights: "F32", "F16", "BF16" (or "mixed");
                               "int8"/"f16"/"f32" when loaded with TX_DTYPE_INT8/F16/F32 */
    int d_model;
    int n_encoder_layers;
    int n_decoder_layers;
    int n_heads;              /* attention heads (encoder and decoder use the same count) */
    const char *attention;    /* "scaled dot-product, multi-head" for the Transformers; for
                                 rnn_seq2seq its one cross-attention: "additive (Bahdanau)",
                                 "dot (Luong)" or "general (Luong)" */
    const char *cell;         /* rnn_seq2seq: "lstm" or "gru"; else NULL */
    int self_attention;       /* 1 when the model has encoder/decoder self-attention (the
                                 Transformers); rnn_seq2seq has only cross-attention */
    int vocab_size;           /* rows of the output projection */
    int max_source_positions; /* longest source the model accepts; 0 = unbounded (T5) */
    int max_target_positions; /* longest decoder sequence; 0 = unbounded (T5) */
    int64_t n_params;         /* parameters, shared tensors counted once */
    int64_t weight_bytes;     /* bytes of tensor data mapped from disk */
    double load_ms;           /* wall time of tx_model_load */
};

/* Loads a Hugging Face checkpoint folder: config.json, generation_config.json when present,
 * model.safetensors or model.safetensors.index.json + shards. Weights are mmap'd read-only;
 * every offset, dtype and shape is checked before use. On success *out is owned by the
 * caller (free with tx_model_free). Thread-safe (touches no shared state). */
tx_status tx_model_load(const char *dir, tx_model **out, struct tx_error *err);

/* How weights are kept in memory. TX_DTYPE_AUTO: as stored where the kernels read it — F32
 * tensors and the F16 weight matrices (linear layers, embeddings, output projection) are used
 * in place from the mapping, F16 matrices converted in registers (exact: the outputs are the
 * widened-F32 ones up to summation order); BF16 tensors and F16 vectors (norms, biases,
 * positions) are widened to F32 once at load. TX_DTYPE_F32: everything widened to F32 (what
 * AUTO did before F16 kernels; for comparisons). TX_DTYPE_INT8: every linear layer, the token
 * embeddings and the output projection are quantized at load to int8 with one symmetric scale per
 * output row (norms, biases and position tables stay F32); products dequantize in registers and
 * accumulate in F32. Outputs then differ slightly from transformers' (measured in the README's
 * benchmark section). TX_DTYPE_F16: the same tensors are kept as IEEE half (2 bytes a weight) and
 * converted in registers; exact for F16 checkpoints (only the summation order may differ from the
 * F32 path's), rounded to nearest for F32/BF16 ones. */
typedef enum {
    TX_DTYPE_AUTO = 0,
    TX_DTYPE_INT8,
    TX_DTYPE_F16,
    TX_DTYPE_F32,
    TX_DTYPE_W8A8, /* TX_DTYPE_INT8's weights, and each product quantizes its activations to int8
                      too, row by row (one scale per row), multiplying with AVX-512 VNNI's integer
                      dot products (a quarter of the instructions); CPUs without VNNI run it as
                      TX_DTYPE_INT8. Outputs differ more from F32 than int8's (measured in the
                      model cards) */
} tx_dtype;

struct tx_load_params {
    tx_dtype dtype;
};

/* {TX_DTYPE_AUTO}: what tx_model_load does. */
struct tx_load_params tx_load_default_params(void);

/* tx_model_load with load parameters (NULL params: TX_ERR_INVALID). */
tx_status tx_model_load_ex(const char *dir, const struct tx_load_params *params, tx_model **out,
                           struct tx_error *err);
void tx_model_free(tx_model *model);
const struct tx_model_info *tx_model_get_info(const tx_model *model);

/* Task prefix from config.json "task_specific_params" (T5): task is e.g. "summarization" or
 * "translation_en_to_de". Returns a borrowed string, or NULL when the config has none. */
const char *tx_model_task_prefix(const tx_model *model, const char *task);

/* ---------------------------------------------------------------------------------------- */
/* Generation parameters (transformers' semantics)                                          */
/* ---------------------------------------------------------------------------------------- */

#define TX_MAX_BAD_WORDS 64
#define TX_MAX_BAD_WORD_LEN 8

/* Called between decode steps; return nonzero to stop with TX_ERR_CANCELLED. */
typedef int (*tx_cancel_fn)(void *user);

struct tx_gen_params {
    int max_length;     /* total decoder length incl. start token (HF max_length) */
    int max_new_tokens; /* if > 0, overrides max_length: max_length = 1 + max_new_tokens */
    int min_length;     /* eos banned while length (start token incl.) < min_length */
    int num_beams;      /* 1 = greedy or sampling */
    int num_return_sequences;
    float length_penalty;
    int early_stopping; /* 1 = True, 0 = False, 2 = "never" (HF's three beam stopping rules) */
    int no_repeat_ngram_size;
    float repetition_penalty; /* 1.0 = off */
    int do_sample;
    float temperature;
    int top_k;     /* 0 = off */
    float top_p;   /* 1.0 = off */
    uint64_t seed; /* sampling is reproducible for a given seed (the library's own
                      generator: not torch's numbers); an input's samples do not depend
                      on the other inputs of the batch */
    int decoder_start_token_id;
    int eos_token_id;
    int pad_token_id;
    int forced_bos_token_id; /* -1 = none */
    int forced_eos_token_id; /* -1 = none */
    int n_bad_words;         /* bad_words_ids: sequences that must never be generated */
    int bad_words_len[TX_MAX_BAD_WORDS];
    int32_t bad_words[TX_MAX_BAD_WORDS][TX_MAX_BAD_WORD_LEN];
    tx_cancel_fn cancel; /* optional */
    void *cancel_user;
    /* new fields are appended here */
};

/* Built-in defaults, as transformers' GenerationConfig (greedy, max_length 20, ...). */
struct tx_gen_params tx_gen_default_params(void);

/* Defaults of this checkpoint: generation_config.json (or config.json) over the built-in
 * defaults, exactly as transformers resolves them. */
struct tx_gen_params tx_model_gen_params(const tx_model *model);

/* Defaults of this checkpoint for a task ("summarization", "translation_en_to_de", ...):
 * tx_model_gen_params() with config.json's task_specific_params[task] applied over it, as
 * transformers' pipeline(task) does (generation_config.update(**task_specific_params[task]);
 * e.g. t5-small's summarization: num_beams 4, max_length 200, min_length 30,
 * no_repeat_ngram_size 3, length_penalty 2, early_stopping). Keys that are not generation
 * options ("prefix") are ignored. Writes *out on TX_OK; a task the config does not list gives
 * the plain defaults. TX_ERR_FORMAT / TX_ERR_UNSUPPORTED for a value that is invalid or not
 * implemented, naming "config.json task_specific_params.<task>" and the field. Thread-safe. */
tx_status tx_model_task_gen_params(const tx_model *model, const char *task,
                                   struct tx_gen_params *out, struct tx_error *err);

/* ---------------------------------------------------------------------------------------- */
/* Sessions, forward pass and generation                                                    */
/* ---------------------------------------------------------------------------------------- */

typedef struct tx_session tx_session;

/* Creates a session for `model` (borrowed; must outlive the session). arena_bytes = 0 picks a
 * default sized from the model; the arena grows in chunks up to max_arena_bytes (0 = no cap)
 * and is reset at the start of each call. Owned: free with tx_session_free. */
tx_status tx_session_new(const tx_model *model, size_t max_arena_bytes, tx_session **out,
                         struct tx_error *err);
void tx_session_free(tx_session *s);

/* Engine threads: the session's large matrix products (linear layers, the output projection,
 * the cross-attention keys and values; decode steps and the encoder) are split by output
 * columns between n_threads threads, the calling one and n_threads - 1 helpers the session
 * starts and keeps (between products they spin up to 200 us, then sleep). Every output is
 * computed by the same code on the same inputs whatever the split, so results are bit-identical
 * for any n_threads. 1 (the default) stops the helpers. Worth it when the cores are otherwise
 * idle: with as many busy workers as cores, the helpers' spinning only takes time from them.
 * TX_ERR_INVALID for n_threads outside [1, TX_MAX_ENGINE_THREADS]; TX_ERR_NOMEM when a thread
 * cannot be started (the session then keeps its previous setting). Call between calls on the
 * session (not while a decode group is alive). */
#define TX_MAX_ENGINE_THREADS 64
tx_status tx_session_set_threads(tx_session *s, int n_threads, struct tx_error *err);

/* The session's engine threads (1 when none were set). */
int tx_session_threads(const tx_session *s);

/* Bytes the session's arena currently holds (for metrics). */
size_t tx_session_arena_size(const tx_session *s);

/* The model a session runs (borrowed). */
const tx_model *tx_session_get_model(const tx_session *s);

enum {
    TX_FORWARD_ATTENTIONS = 1u << 0, /* fill the three attention arrays */
    TX_FORWARD_HIDDEN = 1u << 1,     /* fill encoder_hidden */
};

/* One teacher-forced pass over a single source and decoder prefix. All arrays are borrowed
 * from the session, valid until the next call on it. Probabilities are softmax outputs. */
struct tx_forward_out {
    int n_src, n_tgt, vocab, d_model, n_enc_layers, n_dec_layers, n_heads;
    const float *logits;             /* (n_tgt, vocab), incl. final_logits_bias */
    const float *encoder_hidden;     /* (n_src, d_model), or NULL */
    const float *encoder_attentions; /* (n_enc_layers, n_heads, n_src, n_src), or NULL */
    const float *decoder_attentions; /* (n_dec_layers, n_heads, n_tgt, n_tgt), or NULL */
    const float *cross_attentions;   /* (n_dec_layers, n_heads, n_tgt, n_src), or NULL */
};

tx_status tx_forward(tx_session *s, const int32_t *input_ids, int n_src, const int32_t *decoder_ids,
                     int n_tgt, unsigned flags, struct tx_forward_out *out, struct tx_error *err);

/* Sentence salience of one document with a hierarchical attention network (model_type "han",
 * Yang et al. 2016 with a SummaRuNNer-style head; tools/train/han.py): sentence i is tokens
 * sent_ids[i] (n_tok[i] >= 1 ids). Arrays borrowed from the session (valid until its next
 * call). TX_ERR_UNSUPPORTED for models of other types; tx_generate/tx_forward refuse han. */
struct tx_salience_out {
    int n_sent;
    const float *scores;             /* (n_sent) logits: sigmoid = P(sentence in a summary) */
    const float *sentence_attention; /* (n_sent) the document vector's attention, sums to 1 */
    const float *word_attention;     /* (sum n_tok) each sentence's attention over its tokens,
                                        sentence after sentence; each sentence's sums to 1 */
};
tx_status tx_salience(tx_session *s, const int32_t *const *sent_ids, const int *n_tok, int n_sent,
                      struct tx_salience_out *out, struct tx_error *err);

/* One generated hypothesis. Arrays borrowed from the session (valid until its next call). */
struct tx_hypothesis {
    const int32_t *ids; /* decoder start token first, up to and including eos if produced */
    int n_ids;
    float score;                 /* beam: sum_logprobs / len^length_penalty (HF sequences_scores);
                                    greedy/sampling: sum of processed log-probs of generated tokens */
    const float *token_logprobs; /* (n_ids - 1): log-softmax of raw logits at the chosen
                                    token (greedy/sampling); NULL for beam search */
    const float *token_scores;   /* (n_ids - 1): log-softmax after logits processors
                                    (HF compute_transition_scores, normalize_logits);
                                    beam search: the processed log-prob each token added
                                    to its beam's score */
};

struct tx_gen_out {
    int n_inputs;
    int n_return;                     /* hypotheses per input */
    const struct tx_hypothesis *hyps; /* (n_inputs, n_return), best first per input */
};

/* Generates for n_inputs sources at once (padded into one batch; every row's result equals
 * what it gives alone). params NULL = tx_model_gen_params(model). */
tx_status tx_generate(tx_session *s, const int32_t *const *input_ids, const int *n_src,
                      int n_inputs, const struct tx_gen_params *params, struct tx_gen_out *out,
                      struct tx_error *err);

/* ---------------------------------------------------------------------------------------- */
/* Decode groups: step-wise generation of sequences that join and leave between steps       */
/* ---------------------------------------------------------------------------------------- */

/* A decode group runs many generations ("members") on one session, one decoder pass per step
 * for the rows of all of them: each member has its own source, its own tx_gen_params (greedy,
 * sampling with its seed, beam search with its beams as rows) and its own length; members are
 * added and removed between steps (continuous batching). tx_generate itself runs on a group.
 *
 * Batch invariance: a member's tokens, scores and log-probabilities are bit for bit what it
 * gives alone (tx_generate with that one input), whichever members run beside it and whenever
 * it joined: sources are encoded one at a time, and every product of a step computes each row
 * with an order of summation fixed by the weights' shape (txi_gemm_ws.rowwise).
 *
 * Memory: everything is taken from the session arena by tx_group_new (KV cache slots of
 * max_length - 1 positions for max_rows rows, cross-attention K/V for max_src_tokens, the
 * buffers of every search); a step allocates nothing. The group owns its session until
 * tx_group_free: no other call may run on that session meanwhile. One thread at a time. */
typedef struct tx_group tx_group;

struct tx_group_params {
    int max_rows;        /* decoding rows at once (KV cache slots): beams and samples count each */
    int max_member_rows; /* most rows of one member (num_beams, or num_return_sequences when
                            sampling); <= max_rows */
    int max_members;     /* members at once */
    int max_length;      /* longest member max_length (decoder tokens incl. the start token) */
    int max_src_tokens;  /* source tokens of all members at once */
};

typedef enum {
    TX_MEMBER_NONE = 0, /* no such member (never added, or removed) */
    TX_MEMBER_WAITING,  /* added; its source is encoded at the next step */
    TX_MEMBER_RUNNING,
    TX_MEMBER_DONE,   /* finished: tx_group_result gives its hypotheses */
    TX_MEMBER_FAILED, /* stopped with an error (cancelled, or its search failed) */
} tx_member_state;

/* Creates a group on s (resets s's arena and takes it). TX_ERR_INVALID for sizes < 1 or
 * max_member_rows > max_rows, TX_ERR_NOMEM when the arena cannot hold it (its cap). Owned: free
 * with tx_group_free (which leaves the session usable again). */
tx_status tx_group_new(tx_session *s, const struct tx_group_params *gp, tx_group **out,
                       struct tx_error *err);
void tx_group_free(tx_group *g);

/* 1 when a member with this source length and these parameters (NULL: the model's defaults)
 * would fit now: free rows, a member place, room for its source, max_length within the group's.
 * Parameters are not validated here. */
int tx_group_fits(const tx_group *g, int n_src, const struct tx_gen_params *params);

/* Adds a member: checks params (NULL: the model's) and the source as tx_generate does (errors
 * name "input_ids" and the parameter), copies the source, and writes its id (never 0, never
 * reused). TX_ERR_NOMEM when it does not fit now (tx_group_fits); the group is unchanged on any
 * error. It runs from the next tx_group_step. */
tx_status tx_group_add(tx_group *g, const int32_t *input_ids, int n_src,
                       const struct tx_gen_params *params, uint64_t *id, struct tx_error *err);

/* One step: encodes the sources of waiting members, then one decoder pass for the rows of
 * every running member, each extended by one token (its logits processors, warpers, beam
 * scorer); members whose search ends become DONE, members whose params.cancel asks to stop
 * FAILED (TX_ERR_CANCELLED). *n_rows (may be NULL) gets the rows the pass ran (0: nothing was
 * running). Returns TX_OK; a failing member does not fail the step. */
tx_status tx_group_step(tx_group *g, int *n_rows, struct tx_error *err);

/* A member's state; *n_tokens (may be NULL) gets the tokens generated so far. */
tx_member_state tx_group_state(const tx_group *g, uint64_t id, int *n_tokens);

/* The tokens so far of a running or done member's first row (greedy, sampling: its sequence;
 * beam search: the best running beam, which may still change), decoder start token first.
 * Borrowed until the next step or removal. TX_ERR_INVALID for an unknown member. */
tx_status tx_group_tokens(const tx_group *g, uint64_t id, const int32_t **ids, int *n_ids,
                          struct tx_error *err);

/* For streaming: tokens so far that the member's best result will start with, decoder start
 * token first. Greedy and sampling: its first row's sequence; beam search: the longest common
 * prefix of its running beams and the finished hypotheses it keeps (every hypothesis it can
 * still return continues one of them); a DONE member: its best hypothesis. Borrowed until the
 * next step or removal. TX_ERR_INVALID for an unknown member. */
tx_status tx_group_stable_tokens(const tx_group *g, uint64_t id, const int32_t **ids,
                                 int *n_ids, struct tx_error *err);

/* A DONE member's hypotheses as tx_generate gives them for one input (out->n_inputs 1),
 * borrowed until it is removed. A FAILED member: its error (status and message). Otherwise
 * TX_ERR_INVALID. */
tx_status tx_group_result(const tx_group *g, uint64_t id, struct tx_gen_out *out,
                          struct tx_error *err);

/* Removes a member in any state (a running one is cancelled), freeing its rows and source room
 * for others. Unknown ids are ignored. */
void tx_group_remove(tx_group *g, uint64_t id);

/* Streaming attention: a member can keep the cross-attention of each of its decode steps, so
 * that the rows of the tokens its result will start with can be read while it runs. Row t is
 * decoder input t (the start token for t = 0), the step that chose generated token t: all
 * decoder layers and heads over the member's source, (n_dec_layers, n_heads, n_src) floats,
 * which is row t of the cross-attention a teacher-forced tx_forward of the result gives
 * (tx_attention_maps.cross), up to float rounding (the step runs as one row of a batch).
 * Greedy search, sampling with one sequence (row 0) and beam search (every beam: where a
 * result's rows come from is known only when its tokens are stable). Off by default: a member
 * without it costs nothing more, and a step with one allocates nothing (the buffer is the
 * caller's, given before the member starts).
 *
 * tx_group_capture_size: the bytes member id needs: (max_length - 1) positions x beams (or 1)
 * x n_dec_layers x n_heads x its source tokens floats, plus a beam's (max_length - 1) x
 * num_beams ints; 0 for an unknown member or a size that overflows. */
size_t tx_group_capture_size(const tx_group *g, uint64_t id);

/* Turns capture on for a WAITING member (added, not yet stepped) with buf (size bytes,
 * aligned as malloc's; borrowed until the member is removed). TX_ERR_INVALID for an unknown or
 * started member or a short buffer; TX_ERR_UNSUPPORTED for sampling several sequences. */
tx_status tx_group_capture_cross(tx_group *g, uint64_t id, void *buf, size_t size,
                                 struct tx_error *err);

/* Rows of a capturing member known to belong to its result: t such that tokens 0 .. t + 1 are
 * its stable tokens (tx_group_stable_tokens; a DONE beam search: the tokens its best
 * hypothesis shares with its first beam). 0 when not capturing. */
int tx_group_cross_ready(const tx_group *g, uint64_t id);

/* Copies rows [first, first + n) (first + n <= tx_group_cross_ready) into out (n, n_dec_layers,
 * n_heads, n_src). Linear in the steps since row first (a beam's rows are found by following
 * its first beam's ancestry). TX_ERR_INVALID otherwise. */
tx_status tx_group_cross_rows(const tx_group *g, uint64_t id, int first, int n, float *out,
                              struct tx_error *err);

/* ---------------------------------------------------------------------------------------- */
/* Attention analysis                                                                       */
/* ---------------------------------------------------------------------------------------- */

/* Attention rollout (Abnar & Zuidema 2020) over a stack of per-layer maps already averaged
 * over heads: A_l' = 0.5 * A_l + 0.5 * I, rows renormalised, then R = A_L' ... A_1'.
 * att: (n_layers, n, n); out: (n, n), caller-provided. Returns TX_OK; TX_ERR_INVALID for NULL
 * arrays or sizes < 1; TX_ERR_NOMEM when its two n x n scratch matrices cannot be allocated
 * (out untouched on failure). Thread-safe. */
tx_status tx_attention_rollout(const float *att, int n_layers, int n, float *out);

/* ---------------------------------------------------------------------------------------- */
/* Tokenizers                                                                               */
/* ---------------------------------------------------------------------------------------- */

typedef struct tx_tokenizer tx_tokenizer;

typedef enum { TX_SIDE_SOURCE = 0, TX_SIDE_TARGET = 1 } tx_side;

typedef enum {
    TX_TOKENIZER_MARIAN = 0, /* source.spm/target.spm + vocab.json */
    TX_TOKENIZER_T5,         /* spiece.model + <extra_id_N> */
    TX_TOKENIZER_BYTE_BPE,   /* vocab.json + merges.txt (GPT-2/RoBERTa/BART) */
    TX_TOKENIZER_SPM,        /* a plain SentencePiece model */
    TX_TOKENIZER_JSON,       /* tokenizer.json (HF tokenizers: Unigram or BPE) */
} tx_tokenizer_kind;

/* Loads the tokenizer of a model folder, detected from its files and tokenizer_config.json.
 * tokenizer_class (Marian..., T5..., Bart..., Roberta..., GPT2...) picks the kind; without
 * one the files do (source.spm, spiece.model, vocab.json + merges.txt, tokenizer.json, a lone
 * *.model). The slow-tokenizer files win over tokenizer.json when both are present (they
 * define transformers' reference behaviour). Errors name the file and field (TX_ERR_IO,
 * _FORMAT, _UNSUPPORTED with the JSON path of a tokenizer.json section not implemented).
 * Owned: free with tx_tokenizer_free. Read-only after load; thread-safe. */
tx_status tx_tokenizer_load(const char *dir, tx_tokenizer **out, struct tx_error *err);
void tx_tokenizer_free(tx_tokenizer *tok);
tx_tokenizer_kind tx_tokenizer_get_kind(const tx_tokenizer *tok);
/* Number of valid ids, [0, n): transformers' len(tokenizer) (vocabulary plus added tokens, e.g.
 * 8100 for a T5 spiece.model of 8000 pieces and 100 sentinels). */
int tx_tokenizer_vocab_size(const tx_tokenizer *tok);

/* Token ids with the byte span of input text each came from ([start, end) into the text as
 * given; special tokens added by the tokenizer have start == end). Owned by the caller:
 * release with tx_encoding_free. */
struct tx_encoding {
    int32_t *ids;
    uint32_t *offsets; /* (n_ids, 2) */
    int n_ids;
};
void tx_encoding_free(struct tx_encoding *enc);

/* Encodes UTF-8 text (len bytes, need not be NUL-terminated) as transformers'
 * tokenizer(text).input_ids: special tokens included. side selects a Marian model's target
 * vocabulary (ignored by other kinds). Invalid UTF-8 -> TX_ERR_ENCODING naming the byte
 * offset; more than 256 MiB -> TX_ERR_TOO_LONG. Linear time in len. */
tx_status tx_tokenizer_encode(const tx_tokenizer *tok, const char *text, size_t len, tx_side side,
                              struct tx_encoding *out, struct tx_error *err);

/* Decodes ids as transformers' decode(ids, skip_special_tokens=skip_special) (with
 * clean_up_tokenization_spaces as the tokenizer config says). *out_text is owned by the
 * caller (free with free()). Ids outside the vocabulary -> TX_ERR_INVALID. */
tx_status tx_tokenizer_decode(const tx_tokenizer *tok, const int32_t *ids, int n_ids,
                              int skip_special, char **out_text, struct tx_error *err);

/* The piece string of an id, as stored in the vocabulary ("▁Hello", "Ġthe", "</s>").
 * Borrowed from the tokenizer; NULL for an id out of range. */
const char *tx_tokenizer_id_to_piece(const tx_tokenizer *tok, int32_t id);

/* A human-readable form of one token for display (U+2581 / byte-level marks turned back
 * into a leading space, byte pieces into their characters where possible; bytes that are not
 * a whole UTF-8 character show as "<0xNN>"). Written to buf (NUL-terminated, truncated to
 * buf_size at a character boundary); returns the length it needed (excluding the NUL). */
size_t tx_tokenizer_display_piece(const tx_tokenizer *tok, int32_t id, char *buf, size_t buf_size);

/* Special ids (-1 when the tokenizer has none). */
int32_t tx_tokenizer_eos_id(const tx_tokenizer *tok);
int32_t tx_tokenizer_pad_id(const tx_tokenizer *tok);
int32_t tx_tokenizer_bos_id(const tx_tokenizer *tok);
int32_t tx_tokenizer_unk_id(const tx_tokenizer *tok);
int tx_tokenizer_is_special(const tx_tokenizer *tok, int32_t id);

/* ---------------------------------------------------------------------------------------- */
/* Text pipeline: text in, text out (what the CLI and the server call)                      */
/* ---------------------------------------------------------------------------------------- */

/* Splits UTF-8 text into sentences (after . ! ? … and their closing quotes/brackets when
 * followed by whitespace and an upper-case letter, digit or quote; newlines always split).
 * Writes up to max_spans [start, end) byte spans (whitespace between sentences excluded) and
 * returns how many sentences there are (which may exceed max_spans). */
int tx_split_sentences(const char *text, size_t len, uint32_t (*spans)[2], int max_spans);

enum {
    TX_WANT_TOKENS = 1u << 0,    /* source/target display tokens and ids */
    TX_WANT_ATTENTION = 1u << 1, /* attention maps of the best hypothesis (no sentence split) */
    /* with TX_WANT_ATTENTION, in a tx_text_batch: keep each decode step's cross-attention for
     * tx_text_batch_partial_attention (tx_group_capture_cross; greedy search, one sample or
     * beam search); elsewhere ignored */
    TX_WANT_STEP_ATTENTION = 1u << 2,
};

struct tx_text_params {
    struct tx_gen_params gen; /* start from tx_model_gen_params() or tx_model_task_gen_params() */
    const char *prefix;       /* prepended to every source text (T5 task prefix), or NULL */
    int max_input_tokens;     /* 0 = the model's limit */
    int truncate;             /* 1: cut longer inputs to the limit and report it;
                                 0: fail with TX_ERR_TOO_LONG */
    int split_sentences;      /* 1: split each text into sentences, generate them as one batch,
                                 rejoin with the whitespace of the input */
    unsigned want;            /* TX_WANT_* */
    /* TX_WANT_STEP_ATTENTION: the most bytes a segment's capture may take
     * (tx_group_capture_size); a segment that needs more, or whose buffer cannot be allocated,
     * runs without it (tx_text_batch_partial_attention reports 0 rows for it: its rows come
     * with the result only). 0 = no limit */
    size_t step_attention_max_bytes;
    /* new fields are appended here */
};

/* Attention probabilities behind one output, decoder start token as target row 0. */
struct tx_attention_maps {
    int n_enc_layers, n_dec_layers, n_heads;
    int n_src;      /* source tokens (incl. special tokens the tokenizer added) */
    int n_tgt;      /* decoder inputs: start token + generated tokens except the final one */
    float *encoder; /* (n_enc_layers, n_heads, n_src, n_src) */
    float *decoder; /* (n_dec_layers, n_heads, n_tgt, n_tgt) */
    float *cross;   /* (n_dec_layers, n_heads, n_tgt, n_src) */
};

struct tx_text_alternative {
    char *text;  /* decoded, special tokens skipped */
    float score; /* tx_hypothesis.score */
    int n_ids;
    int32_t *ids;  /* generated ids (decoder start token excluded) */
    char **tokens; /* (n_ids) display pieces, when TX_WANT_TOKENS; else NULL */
};

/* A sentence of an input scored by an extractive (han) model: tx_text_extract. */
struct tx_text_sentence {
    uint32_t start, end; /* byte span in the input text */
    float score;         /* salience logit (sigmoid = P(in a summary)) */
    float attention;     /* the document vector's attention on it */
    int selected;        /* 1: in the summary */
    int first_word;      /* its words: tx_text_item.words[first_word .. first_word + n_words) */
    int n_words;
};

/* A whitespace-delimited word of a scored sentence and the word-level attention on it: the sum
 * of the attention on the tokens that start inside it. A sentence's word weights sum to 1 less
 * the weight on its end token; words past the pieces the model read
 * (TX_EXTRACT_MAX_PIECES) weigh 0. */
struct tx_text_word {
    uint32_t start, end; /* byte span in the input text */
    float weight;
};

struct tx_text_item {
    int n_alternatives; /* num_return_sequences; [0] is the best */
    struct tx_text_alternative *alternatives;
    int n_input_tokens;          /* after truncation, incl. special tokens, summed over sentences */
    int n_input_tokens_original; /* before truncation */
    int truncated;
    int n_output_tokens; /* generated tokens of the best alternative, summed over sentences */
    int n_source_tokens; /* when TX_WANT_TOKENS (and not split): source display tokens */
    char **source_tokens;
    int32_t *source_ids;
    struct tx_attention_maps *attention; /* when TX_WANT_ATTENTION; else NULL */
    int n_sentences;                    /* tx_text_extract: the input's sentences; else 0 */
    struct tx_text_sentence *sentences; /* (n_sentences) or NULL */
    int n_words;                        /* tx_text_extract: the words of those sentences */
    struct tx_text_word *words;         /* (n_words) or NULL */
};

struct tx_text_result {
    int n_items;
    struct tx_text_item *items;
    double tokenize_ms, generate_ms, attention_ms;
};

/* Runs tokenizer -> tx_generate -> decode for n_texts texts in one batch. The result is owned
 * by the caller (tx_text_result_free) and independent of the session. Errors name the input
 * ("text[2]: invalid UTF-8 at byte 17"). */
tx_status tx_text_generate(tx_session *s, const tx_tokenizer *tok, const char *const *texts,
                           const size_t *lens, int n_texts, const struct tx_text_params *params,
                           struct tx_text_result **out, struct tx_error *err);
void tx_text_result_free(struct tx_text_result *res);
/* Frees the arrays of one item and zeroes it (tx_text_result_free does this for each). */
void tx_text_item_clear(struct tx_text_item *it);

/* Extractive summaries with a han model (tx_salience): each text is split into sentences
 * (tx_split_sentences), each sentence tokenized (cut to its first TX_EXTRACT_MAX_PIECES
 * pieces, the end token kept, as the model was trained), the document scored, and the
 * max_sentences best sentences, in document order, joined by a space, are the item's one
 * alternative (best score first, skipping a sentence that shares a word trigram with one
 * already chosen, unless too few are left: trigram blocking). Items list every sentence with
 * its score (sentences, n_sentences);
 * n_input_tokens counts the pieces scored. Documents of more than TX_EXTRACT_MAX_SENTENCES
 * sentences are scored on their first ones (truncated = 1). Errors name the text. */
#define TX_EXTRACT_MAX_PIECES 50
#define TX_EXTRACT_MAX_SENTENCES 512
tx_status tx_text_extract(tx_session *s, const tx_tokenizer *tok, const char *const *texts,
                          const size_t *lens, int n_texts, int max_sentences,
                          struct tx_text_result **out, struct tx_error *err);

/* tx_text_extract on one text whose sentences are given (spans [start, end) into text, in
 * order; more than TX_EXTRACT_MAX_SENTENCES: the first ones, truncated = 1) into *out (zeroed
 * first; free its arrays with tx_text_item_clear).
 * For callers with their own sentence boundaries (attnserve-cli extract --tabs). */
tx_status tx_text_extract_spans(tx_session *s, const tx_tokenizer *tok, const char *text,
                                size_t len, uint32_t (*spans)[2], int n_spans, int max_sentences,
                                struct tx_text_item *out, struct tx_error *err);

/* Whole documents for an abstractive model whose input holds max_tokens pieces of tok (prefix
 * and the tokenizer's own tokens included): the sentences of an item of tx_text_extract, best
 * score first, each kept when its pieces (counted alone) fit what is left; the kept ones in
 * document order, joined by a space, are checked by tokenizing the whole (prefix + text) and
 * the lowest-scored dropped until it fits. At least the best sentence is kept (cut by the model's
 * truncation if it alone is too long). Sets each sentence's selected to 1 when kept, else 0.
 * *out (malloc'd, NUL-terminated, *out_len bytes) is the condensed text; returns the number of
 * sentences kept via *n_used. text is the input it was extracted from. */
tx_status tx_text_condense(const tx_tokenizer *tok, const char *prefix, const char *text,
                           struct tx_text_item *it, int max_tokens, char **out, size_t *out_len,
                           int *n_used, struct tx_error *err);

/* Continuous batching of text requests: jobs (a list of texts, as tx_text_generate takes them)
 * whose segments (texts, or their sentences) decode together in one decode group, joining as rows
 * free up and leaving when done; each job's result is what tx_text_generate gives for it (bit
 * for bit: the group's batch invariance), whatever ran beside it. One thread at a time. */
typedef struct tx_text_batch tx_text_batch;

/* A batch on session s (taken for the batch's life, as tx_group_new) with tok (borrowed). gp
 * sizes its decode group: a job's gen params must fit it (num_beams or samples <=
 * max_member_rows, max_length <= its max_length). aux (may be NULL): a session of the same model
 * for the teacher-forced pass of TX_WANT_ATTENTION jobs, run when such a job's generation ends;
 * without one those jobs fail with TX_ERR_UNSUPPORTED. Owned: tx_text_batch_free. */
tx_status tx_text_batch_new(tx_session *s, tx_session *aux, const tx_tokenizer *tok,
                            const struct tx_group_params *gp, tx_text_batch **out,
                            struct tx_error *err);
/* Frees the batch and every job not taken (their results are dropped). */
void tx_text_batch_free(tx_text_batch *b);

/* Adds a job: texts are split and tokenized now (errors as tx_text_generate's, and
 * TX_ERR_INVALID for params that do not fit the group, naming them); texts, lens and params are
 * borrowed until the job is taken back. Its segments join the group in order, after those of
 * jobs added before (FIFO). user is the caller's tag, given back by tx_text_batch_take. */
tx_status tx_text_batch_add(tx_text_batch *b, const char *const *texts, const size_t *lens,
                            int n_texts, const struct tx_text_params *params, void *user,
                            struct tx_error *err);

/* Segments of added jobs still waiting for rows (0: another job would start at the next step). */
int tx_text_batch_waiting(const tx_text_batch *b);

/* Jobs added and not yet taken. */
int tx_text_batch_jobs(const tx_text_batch *b);

/* One step: waiting segments join while they fit (in order), one tx_group_step, finished
 * segments are collected; a job whose params.gen.cancel asks to stop (asked once per step) or
 * one of whose segments failed ends with that error. *n_rows (may be NULL): rows decoded. */
tx_status tx_text_batch_step(tx_text_batch *b, int *n_rows, struct tx_error *err);

/* Tags of the jobs whose first tokens came out in the last step (each job once): up to max into
 * users; returns how many (time-to-first-token). */
int tx_text_batch_first_tokens(const tx_text_batch *b, void **users, int max);

/* Tags of the running jobs that have started (up to max into users); returns how many. */
int tx_text_batch_users(const tx_text_batch *b, void **users, int max);

/* The text so far of item `item` of the running job tagged user (streaming): its segments'
 * outputs in order, the finished ones' best hypotheses and the first unfinished one's tokens so
 * far that its result will start with (tx_group_stable_tokens: for beam search the common
 * prefix of its beams), decoded and joined with the input's whitespace as the final result will
 * be; it ends there. For greedy and beam search it is a prefix of the final text's tokens. *text is malloc'd; *n_tokens (may be NULL) the generated tokens it holds.
 * TX_ERR_INVALID for an unknown or ended job or item. */
tx_status tx_text_batch_partial(const tx_text_batch *b, void *user, int item, char **text,
                                int *n_tokens, struct tx_error *err);

/* Streaming attention of a running job added with TX_WANT_ATTENTION | TX_WANT_STEP_ATTENTION:
 * *n_rows gets how many rows of item's cross-attention are known to be final (tx_group_cross_ready:
 * row t, decoder input t, is row t of the item's tx_attention_maps.cross once generated token t
 * is stable), *src_ids and *n_src (each may be NULL) the item's source ids after truncation
 * (the rows' columns; borrowed until the job is taken) and their count. 0 rows before the
 * item's segment runs, or for a job that does not capture. TX_ERR_INVALID for an unknown or
 * ended job or item. */
tx_status tx_text_batch_partial_attention(const tx_text_batch *b, void *user, int item,
                                          int *n_rows, const int32_t **src_ids, int *n_src,
                                          struct tx_error *err);

/* Copies rows [first, first + n) of that capture (first + n <= *n_rows above) into cross
 * (n, n_dec_layers, n_heads, n_src) and, when tokens is not NULL, the generated token of each
 * row (the token row t chose) into tokens (n). TX_ERR_INVALID otherwise. */
tx_status tx_text_batch_attention_rows(const tx_text_batch *b, void *user, int item, int first,
                                       int n, float *cross, int32_t *tokens,
                                       struct tx_error *err);

/* Takes back one ended job: *user its tag; *res its result (owned: tx_text_result_free) when
 * *st is TX_OK, else NULL with the error in *job_err (may be NULL). Returns 1, or 0 when no job
 * has ended. */
int tx_text_batch_take(tx_text_batch *b, void **user, struct tx_text_result **res, tx_status *st,
                       struct tx_error *job_err);

/* ---------------------------------------------------------------------------------------- */
/* Language identification                                                                  */
/* ---------------------------------------------------------------------------------------- */

/* Identifies which of a fixed set of languages a text is in (core/langid/langid.c: CLD2 when
 * it is reliable and names one of them, else the nearest libexttextcat fingerprint). */
typedef struct tx_langid tx_langid;

#define TX_LANG_CODE_SIZE 8 /* "en", "pt-PT": at most 7 bytes + NUL */
#define TX_LANGID_MAX_LANGS 64
#define TX_LANGID_DEFAULT_DATA "/usr/share/libexttextcat" /* Debian's libexttextcat-data */

struct tx_lang_guess {
    char lang[TX_LANG_CODE_SIZE]; /* one of the codes given to tx_langid_new */
    int confidence;               /* 0..100 */
};

/* An identifier restricted to langs (n_langs codes such as "en", 1..TX_LANGID_MAX_LANGS;
 * copied). data_dir holds libexttextcat fingerprints named <code>.lm (NULL:
 * TX_LANGID_DEFAULT_DATA). TX_ERR_UNSUPPORTED names a language without a fingerprint,
 * TX_ERR_INVALID a malformed code. *out is owned: free with tx_langid_free. Read-only after
 * creation: any number of threads may call tx_langid_detect on it. */
tx_status tx_langid_new(const char *const *langs, int n_langs, const char *data_dir,
                        tx_langid **out, struct tx_error *err);

/* Writes up to max_out guesses for text[0..len) (UTF-8; the first 4 KB decide), best first,
 * and their number to *n_out; *n_out = 0 means undecided: the text has no letters, or neither
 * library is sure (CLD2 not reliable and no fingerprint at least 50% likely). Confidence: when
 * CLD2 decides, its share of the text in each language (the others are CLD2's other served
 * languages); else the fingerprints' probability, a language 3% farther from the text than the
 * best weighing e^-1 as much. TX_ERR_ENCODING for invalid UTF-8 (the message names the byte). */
tx_status tx_langid_detect(const tx_langid *id, const char *text, size_t len,
                           struct tx_lang_guess *out, int max_out, int *n_out,
                           struct tx_error *err);

/* The number of languages, and the i-th code (borrowed from id; NULL when out of range). */
int tx_langid_count(const tx_langid *id);
const char *tx_langid_language(const tx_langid *id, int i);

void tx_langid_free(tx_langid *id);

#ifdef __cplusplus
}
#endif
#endif /* ATTNSERVE_TX_H */
