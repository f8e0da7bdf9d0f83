/* registry.c — model table, request-to-model choice, effective decoding parameters. */
#include "registry.h"

#include <stdlib.h>
#include <string.h>

#include "genparams.h"
#include "langroute.h"
#include "request.h"

int srv_registry_init(struct srv_registry *r, const struct cfg_config *cfg)
{
    memset(r, 0, sizeof *r);
    r->models = calloc(cfg->n_models > 0 ? (size_t)cfg->n_models : 1, sizeof *r->models);
    if (!r->models) return -1;
    r->n = cfg->n_models;
    for (int i = 0; i < cfg->n_models; i++) {
        struct srv_model *m = &r->models[i];
        m->index = i;
        m->cfg = &cfg->models[i];
        m->name = cfg->models[i].name;
        m->task = cfg->models[i].task;
        m->max_input_tokens = cfg->models[i].max_input_tokens > 0 ? cfg->models[i].max_input_tokens
                                                                  : cfg->limits.max_input_tokens;
        m->max_new_tokens_cap = cfg->limits.max_output_tokens;
        if (cfg->models[i].prefix) m->prefix = strdup(cfg->models[i].prefix);
    }
    return 0;
}

static void list_names(const struct srv_registry *r, int task, char *buf, size_t n)
{
    size_t o = 0;
    buf[0] = '\0';
    for (int i = 0; i < r->n && o + 70 < n; i++) {
        const struct srv_model *m = &r->models[i];
        if (task >= 0 &&
            (int)m->task != (task == SRV_TASK_TRANSLATE ? CFG_TASK_TRANSLATE : CFG_TASK_SUMMARIZE))
            continue;
        o += (size_t)snprintf(buf + o, n - o, "%s%s", o ? ", " : "", m->name);
    }
    if (!o) snprintf(buf, n, "none");
}

static void list_pairs(const struct srv_registry *r, char *buf, size_t n)
{
    size_t o = 0;
    buf[0] = '\0';
    for (int i = 0; i < r->n && o + 150 < n; i++) {
        const struct srv_model *m = &r->models[i];
        if (m->task != CFG_TASK_TRANSLATE) continue;
        char pairs[160];
        srv_model_describe_pairs(m, pairs, sizeof pairs);
        o += (size_t)snprintf(buf + o, n - o, "%s%s", o ? ", " : "", pairs);
    }
    if (!o) snprintf(buf, n, "none");
}

const struct srv_model *srv_registry_extractor(const struct srv_registry *r,
                                               const struct srv_model *m)
{
    for (int i = 0; i < r->n; i++) {
        const struct srv_model *x = &r->models[i];
        if (x->task != CFG_TASK_SUMMARIZE || !atomic_load_explicit(&x->loaded, memory_order_acquire))
            continue;
        if (x->info.arch != TX_ARCH_HAN) continue;
        const char *a = m ? m->cfg->language : NULL, *b = x->cfg->language;
        if (a && b && strcmp(a, b)) continue;
        return x;
    }
    return NULL;
}

int srv_registry_pick(const struct srv_registry *r, int task, const char *name, const char *src,
                      const char *tgt, int src_auto, const struct srv_model **out,
                      struct srv_err *err)
{
    char names[400];
    if (name) {
        const struct srv_model *m = NULL;
        for (int i = 0; i < r->n; i++)
            if (!strcmp(r->models[i].name, name)) m = &r->models[i];
        if (!m) {
            list_names(r, task, names, sizeof names);
            return srv_fail(err, SRV_E_MODEL_NOT_FOUND, "no model named \"%.64s\" (available: %s)",
                            name, names);
        }
        if (task == SRV_TASK_TRANSLATE && m->task != CFG_TASK_TRANSLATE)
            return srv_fail(err, SRV_E_WRONG_TASK,
                            "model \"%s\" summarizes; use POST /summarize (or task "
                            "\"summarize\")",
                            m->name);
        if (task == SRV_TASK_SUMMARIZE && m->task != CFG_TASK_SUMMARIZE)
            return srv_fail(err, SRV_E_WRONG_TASK,
                            "model \"%s\" translates; use POST /translate (or task "
                            "\"translate\")",
                            m->name);
        if (m->task == CFG_TASK_TRANSLATE && m->cfg->n_languages > 0) {
            char pairs[160];
            srv_model_describe_pairs(m, pairs, sizeof pairs);
            if ((src || tgt) && !srv_model_serves(m, src, tgt))
                return srv_fail(err, SRV_E_INVALID_VALUE,
                                "model \"%s\" translates among %s, not %.64s to %.64s", m->name,
                                pairs, src ? src : "any language", tgt ? tgt : "any language");
        } else if (m->task == CFG_TASK_TRANSLATE) {
            if (src && strcmp(src, m->cfg->source_lang))
                return srv_fail(err, SRV_E_INVALID_VALUE,
                                "model \"%s\" translates from %s, but source_lang is \"%.64s\"",
                                m->name, m->cfg->source_lang, src);
            if (tgt && strcmp(tgt, m->cfg->target_lang))
                return srv_fail(err, SRV_E_INVALID_VALUE,
                                "model \"%s\" translates into %s, but target_lang is \"%.64s\"",
                                m->name, m->cfg->target_lang, tgt);
        }
        *out = m;
        return 0;
    }
    if (task < 0)
        return srv_fail(err, SRV_E_MISSING_FIELD,
                        "task (\"translate\" or \"summarize\") or model is required");
    if (task == SRV_TASK_SUMMARIZE) {
        for (int i = 0; i < r->n; i++)
            if (r->models[i].task == CFG_TASK_SUMMARIZE) {
                *out = &r->models[i];
                return 0;
            }
        return srv_fail(err, SRV_E_MODEL_NOT_FOUND, "no summarization model is served");
    }
    /* translate: the first configured model whose languages match what was given */
    for (int i = 0; i < r->n; i++) {
        const struct srv_model *m = &r->models[i];
        if (m->task != CFG_TASK_TRANSLATE) continue;
        if (!srv_model_serves(m, src && !src_auto ? src : NULL, tgt)) continue;
        *out = m;
        return 0;
    }
    list_pairs(r, names, sizeof names);
    if (src && tgt && !src_auto)
        return srv_fail(err, SRV_E_MODEL_NOT_FOUND,
                        "no model translates %.64s to %.64s (available: %s)", src, tgt, names);
    if (tgt)
        return srv_fail(err, SRV_E_MODEL_NOT_FOUND,
                        "no model translates into %.64s (available: %s)", tgt, names);
    if (src)
        return srv_fail(err, SRV_E_MODEL_NOT_FOUND,
                        "no model translates from %.64s (available: %s)", src, names);
    return srv_fail(err, SRV_E_MODEL_NOT_FOUND, "no translation model is served");
}

int srv_effective_params(const struct srv_model *m, const struct cfg_gen_options *req,
                         struct tx_gen_params *out, struct srv_err *err)
{
    struct tx_gen_params g = m->base;
    struct cfg_gen_options o = m->cfg->defaults;
    cfg_gen_options_overlay(&o, req);
    /* checkpoint defaults < configured defaults < request, mapped by the option table */
    cfg_gen_options_to_params(&o, &g);
    int cap = m->max_new_tokens_cap;

    /* maximum length: a request asking for more than the model can produce is refused; the
     * checkpoint's or the configuration's defaults are silently capped */
    int max_new = g.max_new_tokens > 0 ? g.max_new_tokens : g.max_length - 1;
    if (max_new > cap) {
        if (req->set & CFG_OPT_MAX_NEW_TOKENS)
            return srv_fail(err, SRV_E_INVALID_VALUE,
                            "options.max_new_tokens (%d) exceeds what model \"%s\" may generate "
                            "(%d)",
                            req->max_new_tokens, m->name, cap);
        if (req->set & CFG_OPT_MAX_LENGTH)
            return srv_fail(err, SRV_E_INVALID_VALUE,
                            "options.max_length (%d) exceeds what model \"%s\" may generate (%d); "
                            "max_length counts the decoder start token, so at most %d",
                            req->max_length, m->name, cap, cap + 1);
        max_new = cap;
    }
    if (max_new < 1) max_new = 1;
    g.max_new_tokens = max_new;
    g.max_length = max_new + 1;
    /* min_length counts the decoder start token, as max_length does (transformers) */
    if ((o.set & CFG_OPT_MIN_LENGTH) && o.min_length > g.max_length)
        return srv_fail(err, SRV_E_INVALID_VALUE,
                        "options.min_length (%d) must not exceed the maximum length (%d, counting "
                        "the decoder start token as transformers does)",
                        o.min_length, g.max_length);
    if (g.min_length > g.max_length) g.min_length = g.max_length;
    if (g.num_beams < 1) g.num_beams = 1;
    if (g.num_beams > CFG_MAX_BEAMS) g.num_beams = CFG_MAX_BEAMS;
    g.num_return_sequences = (o.set & CFG_OPT_NUM_RETURN_SEQUENCES) ? o.num_return_sequences : 1;
    if (!g.do_sample && g.num_return_sequences > g.num_beams)
        return srv_fail(err, SRV_E_INVALID_VALUE,
                        "options.num_return_sequences (%d) must not exceed num_beams (%d) "
                        "unless do_sample is true",
                        g.num_return_sequences, g.num_beams);
    g.cancel = NULL;
    g.cancel_user = NULL;
    *out = g;
    return 0;
}

json_t *srv_params_to_json(const struct tx_gen_params *g)
{
    int max_new = g->max_new_tokens > 0 ? g->max_new_tokens : g->max_length - 1;
    return json_pack("{s:i, s:i, s:i, s:f, s:i, s:f, s:b, s:f, s:i, s:f, s:b}", "num_beams",
                     g->num_beams, "max_new_tokens", max_new, "min_length", g->min_length,
                     "length_penalty", (double)g->length_penalty, "no_repeat_ngram_size",
                     g->no_repeat_ngram_size, "repetition_penalty", (double)g->repetition_penalty,
                     "do_sample", g->do_sample, "temperature", (double)g->temperature, "top_k",
                     g->top_k, "top_p", (double)g->top_p, "early_stopping", g->early_stopping != 0);
}

json_t *srv_model_to_json(const struct srv_model *m)
{
    static const char *const arch_names[] = {"marian", "bart", "mbart", "t5", "rnn_seq2seq", "han"};
    /* The server answers while models load: until srv_registry_load publishes a model, its
     * checkpoint facts are unknown (all zeros, which would read as a Marian model with
     * nonsense default options), so only what the configuration says is described. */
    static const struct tx_model_info unknown;
    int known = atomic_load_explicit(&m->loaded, memory_order_acquire);
    const struct tx_model_info *in = known ? &m->info : &unknown;
    json_t *o = json_object();
    if (!o) return NULL;
    json_object_set_new(o, "name", json_string(m->name));
    json_object_set_new(o, "task", json_string(cfg_task_name(m->task)));
    if (m->task == CFG_TASK_TRANSLATE && m->cfg->n_languages == 0) {
        json_object_set_new(o, "source_lang", json_string(m->cfg->source_lang));
        json_object_set_new(o, "target_lang", json_string(m->cfg->target_lang));
    }
    if (m->task == CFG_TASK_TRANSLATE) {
        json_t *langs = json_array(), *pairs = json_array();
        for (int k = 0; k < m->cfg->n_languages; k++)
            json_array_append_new(langs, json_string(m->cfg->languages[k]));
        int np = srv_model_n_pairs(m);
        for (int k = 0; k < np; k++) {
            const char *s, *t;
            srv_model_pair(m, k, &s, &t);
            json_array_append_new(pairs, json_pack("{s:s, s:s}", "source", s, "target", t));
        }
        if (m->cfg->n_languages > 0)
            json_object_set_new(o, "languages", langs);
        else
            json_decref(langs);
        json_object_set_new(o, "language_pairs", pairs);
    }
    if (m->cfg->language) json_object_set_new(o, "language", json_string(m->cfg->language));
    int a = known ? (int)in->arch : -1;
    json_object_set_new(o, "architecture",
                        json_string(a >= 0 && a < 6 ? arch_names[a] : "unknown"));
    if (known) {
        /* what a viewer of the attention needs to know: which maps exist and what they are */
        json_object_set_new(o, "attention",
                            json_string(in->attention ? in->attention : "unknown"));
        json_object_set_new(o, "self_attention", json_boolean(in->self_attention));
        if (in->cell) json_object_set_new(o, "cell", json_string(in->cell));
    }
    json_object_set_new(o, "parameters", json_integer(in->n_params));
    json_object_set_new(o, "dtype", json_string(in->dtype ? in->dtype : "unknown"));
    json_object_set_new(o, "encoder_layers", json_integer(in->n_encoder_layers));
    json_object_set_new(o, "decoder_layers", json_integer(in->n_decoder_layers));
    json_object_set_new(o, "heads", json_integer(in->n_heads));
    json_object_set_new(o, "d_model", json_integer(in->d_model));
    json_object_set_new(o, "vocab_size", json_integer(in->vocab_size));
    json_object_set_new(o, "max_input_tokens", json_integer(m->max_input_tokens));
    json_object_set_new(o, "max_output_tokens", json_integer(m->max_new_tokens_cap));
    if (known && m->prefix) json_object_set_new(o, "prefix", json_string(m->prefix));
    struct tx_gen_params g;
    struct cfg_gen_options none;
    struct srv_err e;
    memset(&none, 0, sizeof none);
    if (known && srv_effective_params(m, &none, &g, &e) == 0)
        json_object_set_new(o, "default_options", srv_params_to_json(&g));
    json_object_set_new(o, "load_ms", json_real(known ? m->load_ms : 0.0));
    return o;
}
