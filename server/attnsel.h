/* attnsel.h — which part of an attention result a request asks for (kinds, layers, heads),
 * parsed in one place for POST /attention's JSON body and GET /attention/{id}'s query. */
#ifndef ATTNSERVE_SRV_ATTNSEL_H
#define ATTNSERVE_SRV_ATTNSEL_H

#include <jansson.h>

#include "errors.h"
#include "form.h"

/* Kinds of attention map, as bits of a mask. */
enum { SRV_KIND_CROSS = 1u << 0, SRV_KIND_ENCODER = 1u << 1, SRV_KIND_DECODER = 1u << 2 };
#define SRV_KIND_ALL (SRV_KIND_CROSS | SRV_KIND_ENCODER | SRV_KIND_DECODER)
/* One head, or an aggregate over all heads. */
enum { SRV_AGG_NONE = 0, SRV_AGG_MEAN, SRV_AGG_MAX };
#define SRV_MAX_SELECT 64 /* entries of "layers" / "heads" lists */

/* "cross", "encoder", "decoder" -> its SRV_KIND_* bit; 0 for anything else (NULL too). */
unsigned srv_attn_kind_parse(const char *s);
/* "mean", "max" -> SRV_AGG_MEAN, SRV_AGG_MAX; SRV_AGG_NONE for anything else (NULL too). */
int srv_attn_agg_parse(const char *s);

/* JSON body fields. Each leaves its outputs alone when v is NULL or null, and returns 0, or
 * -1 with a 422 err naming the field. */
/* "kinds": a non-empty list of distinct kind names -> *kinds (a mask). */
int srv_attn_kinds_from_json(const json_t *v, unsigned *kinds, struct srv_err *err);
/* "layers": a list of 1 to SRV_MAX_SELECT distinct indices -> layers[], *n_layers. */
int srv_attn_layers_from_json(const json_t *v, int *layers, int *n_layers, struct srv_err *err);
/* "heads": a list of distinct indices (heads[], *n_heads), or "mean" / "max" (*agg). */
int srv_attn_heads_from_json(const json_t *v, int *heads, int *n_heads, int *agg,
                             struct srv_err *err);

/* The query of GET /attention/{id}: one 2-D slice. */
struct srv_attn_query {
    unsigned kind; /* one SRV_KIND_* bit; default cross */
    int layer;     /* -1 = the last layer of the kind */
    int head;      /* with agg SRV_AGG_NONE */
    int agg;       /* SRV_AGG_*; default mean */
    int svg;       /* format=svg (else JSON) */
};
/* Parses the decoded query arguments (kind, layer, head, format, api_key). Indices are
 * checked against the result later. Returns 0, or -1 with a 422 err. */
int srv_attn_query_parse(const struct srv_form *q, struct srv_attn_query *out, struct srv_err *err);

#endif
