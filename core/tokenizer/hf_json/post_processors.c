/* post_processors.c — tokenizer.json post-processors (RobertaProcessing, BertProcessing,
 * TemplateProcessing, ByteLevel; Sequence flattened): the special ids around one sequence. */
#include "hf_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* cls before, sep after. */
static tx_status add_cls_sep(const struct tok_jctx *c, struct tok_json *j, json_t *o,
                             const char *where)
{
    json_t *cls = json_object_get(o, "cls"), *sep = json_object_get(o, "sep");
    if (!json_is_integer(json_array_get(cls, 1)) || !json_is_integer(json_array_get(sep, 1)))
        return tok_jctx_bad(c, where, "cls/sep must be [token, id]");
    free(j->pre_ids);
    free(j->post_ids);
    j->pre_ids = malloc(sizeof *j->pre_ids);
    j->post_ids = malloc(sizeof *j->post_ids);
    if (!j->pre_ids || !j->post_ids) return tok_jctx_oom(c);
    j->pre_ids[0] = (int32_t)json_integer_value(json_array_get(cls, 1));
    j->post_ids[0] = (int32_t)json_integer_value(json_array_get(sep, 1));
    j->n_pre = j->n_post = 1;
    return TX_OK;
}

/* Appends the ids of one SpecialToken piece of a template: before the sequence, or after it
 * once the template's Sequence piece was seen. */
static tx_status add_template_ids(const struct tok_jctx *c, struct tok_json *j, json_t *ids,
                                  int after)
{
    int32_t **arr = after ? &j->post_ids : &j->pre_ids;
    int *cnt = after ? &j->n_post : &j->n_pre;
    for (size_t k = 0; k < json_array_size(ids); k++) {
        int32_t *na = realloc(*arr, (size_t)(*cnt + 1) * sizeof **arr);
        if (!na) return tok_jctx_oom(c);
        *arr = na;
        na[(*cnt)++] = (int32_t)json_integer_value(json_array_get(ids, k));
    }
    return TX_OK;
}

/* TemplateProcessing's "single" template. */
static tx_status add_template(const struct tok_jctx *c, struct tok_json *j, json_t *o,
                              const char *where)
{
    json_t *single = json_object_get(o, "single"), *specials = json_object_get(o, "special_tokens");
    if (!json_is_array(single))
        return tok_jctx_bad(c, where, "TemplateProcessing without \"single\"");
    int seen_seq = 0;
    for (size_t i = 0; i < json_array_size(single); i++) {
        json_t *piece = json_array_get(single, i);
        json_t *sp = json_object_get(piece, "SpecialToken");
        if (json_object_get(piece, "Sequence")) {
            seen_seq = 1;
            continue;
        }
        if (!sp)
            return tok_jctx_bad(c, where, "template piece is neither Sequence nor SpecialToken");
        json_t *name = json_object_get(sp, "id");
        json_t *entry =
            json_is_string(name) ? json_object_get(specials, json_string_value(name)) : NULL;
        json_t *ids = json_object_get(entry, "ids");
        if (!json_is_array(ids))
            return tok_jctx_bad(c, where, "special token missing from special_tokens");
        tx_status st = add_template_ids(c, j, ids, seen_seq);
        if (st) return st;
    }
    return TX_OK;
}

tx_status tok_jpost_add(const struct tok_jctx *c, struct tok_json *j, json_t *o, const char *where)
{
    const char *t = tok_json_type(o);
    if (!t) return tok_jctx_bad(c, where, "no \"type\"");
    if (!strcmp(t, "Sequence")) {
        json_t *list = json_object_get(o, "processors");
        for (size_t i = 0; i < json_array_size(list); i++) {
            char sub[200];
            snprintf(sub, sizeof sub, "%s.processors[%zu]", where, i);
            tx_status st = tok_jpost_add(c, j, json_array_get(list, i), sub);
            if (st) return st;
        }
        return TX_OK;
    }
    if (!strcmp(t, "ByteLevel")) return TX_OK; /* offsets trimming only */
    if (!strcmp(t, "RobertaProcessing") || !strcmp(t, "BertProcessing"))
        return add_cls_sep(c, j, o, where);
    if (!strcmp(t, "TemplateProcessing")) return add_template(c, j, o, where);
    char what[96];
    snprintf(what, sizeof what, "post-processor type \"%.60s\"", t);
    return tok_jctx_unsupported(c, where, what);
}
