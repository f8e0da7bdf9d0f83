/* registry.h — the served models: what each is, how a request picks one, and the decoding
 * parameters a request gets (checkpoint defaults < configured defaults < request options). */
#ifndef ATTNSERVE_SRV_REGISTRY_H
#define ATTNSERVE_SRV_REGISTRY_H

#include <jansson.h>
#include <stdatomic.h>

#include "config.h"
#include "errors.h"
#include "tx.h"

struct srv_model {
    int index;
    const struct cfg_model *cfg; /* borrowed from the configuration */
    const char *name;            /* = cfg->name */
    cfg_task task;
    tx_model *model;           /* owned; NULL until loaded */
    tx_tokenizer *tok;         /* owned; NULL until loaded */
    struct tx_model_info info; /* copy (its strings borrowed from model) */
    char *prefix;              /* owned: configured prefix, else the checkpoint's; or NULL */
    int max_input_tokens;      /* min(limit of config, limit of the model) */
    int max_new_tokens_cap;    /* min(limits.max_output_tokens, decoder positions - 1) */
    struct tx_gen_params base; /* the checkpoint's generation defaults */
    double load_ms;
    /* a multilingual model (cfg->n_languages > 0): ">>xx<< " + prefix per language, owned */
    char **lang_prefix;
    /* Set (release) by srv_registry_load once every field above is final; HTTP threads that
     * describe the model while models load read it (acquire) before the fields it guards. */
    atomic_int loaded;
};

struct srv_registry {
    struct srv_model *models; /* (n) */
    int n;
};

/* Fills r from the configuration without loading anything (handles NULL). Returns 0/-1. */
int srv_registry_init(struct srv_registry *r, const struct cfg_config *cfg);
/* Loads model i (weights + tokenizer); on failure writes a message for the log (it may name
 * files) and returns -1. Thread-safe for distinct i. */
int srv_registry_load(struct srv_registry *r, int i, const struct cfg_config *cfg, char *msg,
                      size_t msg_size);
/* The extractor that condenses long documents for summarize model m: the first loaded han
 * model of the summarize task whose language matches m's (either unset counts as a match);
 * m itself when it is one. NULL when none is served. */
const struct srv_model *srv_registry_extractor(const struct srv_registry *r,
                                               const struct srv_model *m);
/* Frees the handles and the array. */
void srv_registry_free(struct srv_registry *r);

/* Picks the model of a request. task: SRV_TASK_* (request.h) or -1 (any). name, src, tgt may
 * be NULL; src_auto: the source language is to be inferred (LibreTranslate "auto").
 * Errors: 404 model_not_found, 422 wrong_task / invalid_value / missing_field. */
int srv_registry_pick(const struct srv_registry *r, int task, const char *name, const char *src,
                      const char *tgt, int src_auto, const struct srv_model **out,
                      struct srv_err *err);

/* Effective decoding parameters of a request on model m. Checks what needs the model's
 * figures: num_return_sequences against the effective num_beams, lengths against what the
 * model can produce. Returns 0 or -1 (422) with err. */
int srv_effective_params(const struct srv_model *m, const struct cfg_gen_options *req,
                         struct tx_gen_params *out, struct srv_err *err);

/* The effective defaults of m (no request options) as a JSON object. Owned. */
json_t *srv_params_to_json(const struct tx_gen_params *g);

/* One /models entry. Owned. */
json_t *srv_model_to_json(const struct srv_model *m);

#endif
