/* model_load.c — loading and freeing the served checkpoints (the registry's core calls). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry.h"

/* A multilingual model (configured languages): checks that its tokenizer has the target token
 * ">>xx<<" of every language as one token, and builds the prefixes ">>xx<< " + m->prefix. */
static int lang_tokens(struct srv_model *m, char *msg, size_t msg_size)
{
    int n = m->cfg->n_languages;
    m->lang_prefix = calloc((size_t)n, sizeof *m->lang_prefix);
    if (!m->lang_prefix) {
        snprintf(msg, msg_size, "model %s: out of memory", m->name);
        return -1;
    }
    for (int k = 0; k < n; k++) {
        char token[TX_LANG_CODE_SIZE + 16];
        snprintf(token, sizeof token, ">>%s<<", m->cfg->languages[k]);
        struct tx_encoding enc;
        struct tx_error e;
        memset(&enc, 0, sizeof enc);
        memset(&e, 0, sizeof e);
        tx_status st = tx_tokenizer_encode(m->tok, token, strlen(token), TX_SIDE_SOURCE, &enc, &e);
        const char *piece =
            st == TX_OK && enc.n_ids > 0 ? tx_tokenizer_id_to_piece(m->tok, enc.ids[0]) : NULL;
        int ok = piece && !strcmp(piece, token) && enc.ids[0] != tx_tokenizer_unk_id(m->tok);
        tx_encoding_free(&enc);
        if (!ok) {
            snprintf(msg, msg_size,
                     "model %s: languages lists %s, but its tokenizer has no target-language "
                     "token %s (a multilingual OPUS-MT model has one per target language)",
                     m->name, m->cfg->languages[k], token);
            return -1;
        }
        size_t len = strlen(token) + 2 + (m->prefix ? strlen(m->prefix) : 0);
        m->lang_prefix[k] = malloc(len);
        if (!m->lang_prefix[k]) {
            snprintf(msg, msg_size, "model %s: out of memory", m->name);
            return -1;
        }
        snprintf(m->lang_prefix[k], len, "%s %s", token, m->prefix ? m->prefix : "");
    }
    return 0;
}

int srv_registry_load(struct srv_registry *r, int i, const struct cfg_config *cfg, char *msg,
                      size_t msg_size)
{
    struct srv_model *m = &r->models[i];
    struct tx_error e;
    memset(&e, 0, sizeof e);
    struct tx_load_params lp = tx_load_default_params();
    lp.dtype = m->cfg->dtype == CFG_DTYPE_INT8  ? TX_DTYPE_INT8
               : m->cfg->dtype == CFG_DTYPE_F16 ? TX_DTYPE_F16
               : m->cfg->dtype == CFG_DTYPE_F32 ? TX_DTYPE_F32
               : m->cfg->dtype == CFG_DTYPE_W8A8 ? TX_DTYPE_W8A8
                                                : TX_DTYPE_AUTO;
    tx_status st = tx_model_load_ex(m->cfg->path, &lp, &m->model, &e);
    if (st != TX_OK) {
        snprintf(msg, msg_size, "model %s: %s", m->name, e.message);
        return -1;
    }
    st = tx_tokenizer_load(m->cfg->path, &m->tok, &e);
    if (st != TX_OK) {
        snprintf(msg, msg_size, "model %s: tokenizer: %s", m->name, e.message);
        tx_model_free(m->model);
        m->model = NULL;
        return -1;
    }
    m->info = *tx_model_get_info(m->model);
    m->load_ms = m->info.load_ms;
    /* as transformers' pipeline(task) (and attnserve-cli): the checkpoint's
     * task_specific_params for the served task over its generation config */
    char task_key[128] = "";
    if (m->task == CFG_TASK_SUMMARIZE)
        snprintf(task_key, sizeof task_key, "summarization");
    else if (m->cfg->source_lang && m->cfg->target_lang)
        snprintf(task_key, sizeof task_key, "translation_%.40s_to_%.40s", m->cfg->source_lang,
                 m->cfg->target_lang);
    m->base = tx_model_gen_params(m->model);
    if (task_key[0] && tx_model_task_gen_params(m->model, task_key, &m->base, &e) != TX_OK) {
        snprintf(msg, msg_size, "model %s: %s", m->name, e.message);
        tx_tokenizer_free(m->tok);
        tx_model_free(m->model);
        m->tok = NULL;
        m->model = NULL;
        return -1;
    }
    if (!m->prefix && m->task == CFG_TASK_SUMMARIZE) {
        const char *p = tx_model_task_prefix(m->model, "summarization");
        if (p) m->prefix = strdup(p);
    }
    if (m->info.max_source_positions > 0 && m->max_input_tokens > m->info.max_source_positions)
        m->max_input_tokens = m->info.max_source_positions;
    if (m->info.max_target_positions > 1 &&
        m->max_new_tokens_cap > m->info.max_target_positions - 1)
        m->max_new_tokens_cap = m->info.max_target_positions - 1;
    if (m->cfg->n_languages > 0 && lang_tokens(m, msg, msg_size)) {
        tx_tokenizer_free(m->tok);
        tx_model_free(m->model);
        m->tok = NULL;
        m->model = NULL;
        return -1;
    }
    (void)cfg;
    atomic_store_explicit(&m->loaded, 1, memory_order_release);
    return 0;
}

void srv_registry_free(struct srv_registry *r)
{
    for (int i = 0; i < r->n; i++) {
        if (r->models[i].tok) tx_tokenizer_free(r->models[i].tok);
        if (r->models[i].model) tx_model_free(r->models[i].model);
        free(r->models[i].prefix);
        for (int k = 0; r->models[i].lang_prefix && k < r->models[i].cfg->n_languages; k++)
            free(r->models[i].lang_prefix[k]);
        free(r->models[i].lang_prefix);
    }
    free(r->models);
    memset(r, 0, sizeof *r);
}
