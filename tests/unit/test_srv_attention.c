/* test_srv_attention.c — the attention store (LRU by bytes and count, TTL, references) and
 * its views (slices against naive loops, JSON shapes, alignment, SVG). */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attnsel.h"
#include "attnstore.h"
#include "attnview.h"
#include "testutil.h"

static char **labels(int n, const char *prefix)
{
    char **v = calloc((size_t)n, sizeof *v);
    for (int i = 0; i < n; i++) {
        char b[32];
        snprintf(b, sizeof b, "%s%d", prefix, i);
        v[i] = strdup(b);
    }
    return v;
}

/* An entry with random row-stochastic maps: Le=2, Ld=3, H=4, S=5, T=3 by default. */
static struct srv_attn_entry *make(int S, int T, uint64_t seed)
{
    struct srv_attn_entry *e = calloc(1, sizeof *e);
    e->model = strdup("m");
    e->output = strdup("out");
    e->n_enc_layers = 2;
    e->n_dec_layers = 3;
    e->n_heads = 4;
    e->n_src = S;
    e->n_tgt = T;
    e->src_tokens = labels(S, "s");
    e->src_special = calloc((size_t)S, 1);
    e->tgt_tokens = labels(T, "t");
    e->dec_tokens = labels(T, "d");
    size_t ne = 2u * 4u * (size_t)(S * S), nd = 3u * 4u * (size_t)(T * T),
           nc = 3u * 4u * (size_t)(T * S);
    e->encoder = malloc(ne * sizeof(float));
    e->decoder = malloc(nd * sizeof(float));
    e->cross = malloc(nc * sizeof(float));
    uint64_t st = seed;
    float *maps[3] = {e->encoder, e->decoder, e->cross};
    size_t sizes[3] = {ne, nd, nc};
    int cols[3] = {S, T, S};
    for (int k = 0; k < 3; k++)
        for (size_t r = 0; r < sizes[k] / (size_t)cols[k]; r++) {
            float sum = 0;
            for (int c = 0; c < cols[k]; c++)
                sum += maps[k][r * (size_t)cols[k] + (size_t)c] = tu_rand_uniform(&st, 0.0f, 1.0f);
            for (int c = 0; c < cols[k]; c++)
                maps[k][r * (size_t)cols[k] + (size_t)c] /= sum;
        }
    srv_attn_entry_account(e);
    return e;
}

Test(srv_attention, a_stored_entry_is_found_by_its_id_and_unknown_ids_are_not)
{
    struct srv_attn_store *s = srv_attn_store_new(1 << 20, 10, 60);
    struct srv_attn_entry *e = make(5, 3, 1);
    cr_assert_eq(srv_attn_store_put(s, e), 0);
    cr_assert_eq(strlen(e->id), SRV_ATTN_ID_LEN);
    char id[SRV_ATTN_ID_LEN + 1];
    memcpy(id, e->id, sizeof id);
    srv_attn_store_release(s, e);
    struct srv_attn_entry *g = srv_attn_store_get(s, id);
    cr_assert_eq(g, e);
    srv_attn_store_release(s, g);
    cr_assert_null(srv_attn_store_get(s, "00000000000000000000000000000000"));
    cr_assert_null(srv_attn_store_get(s, "short"));
    srv_attn_store_free(s);
}

Test(srv_attention, ids_are_distinct_random_hex)
{
    char a[SRV_ATTN_ID_LEN + 1], b[SRV_ATTN_ID_LEN + 1];
    cr_assert_eq(srv_random_id(a), 0);
    cr_assert_eq(srv_random_id(b), 0);
    cr_assert_str_neq(a, b);
    for (int i = 0; i < SRV_ATTN_ID_LEN; i++)
        cr_assert(strchr("0123456789abcdef", a[i]));
}

Test(srv_attention, the_least_recently_used_entry_goes_first_when_the_count_is_full)
{
    struct srv_attn_store *s = srv_attn_store_new(1 << 20, 2, 60);
    struct srv_attn_entry *e[3];
    char ids[3][SRV_ATTN_ID_LEN + 1];
    for (int i = 0; i < 2; i++) {
        e[i] = make(5, 3, (uint64_t)i + 1);
        cr_assert_eq(srv_attn_store_put(s, e[i]), 0);
        memcpy(ids[i], e[i]->id, sizeof ids[i]);
        srv_attn_store_release(s, e[i]);
    }
    /* touch the first, so the second is the least recently used */
    srv_attn_store_release(s, srv_attn_store_get(s, ids[0]));
    e[2] = make(5, 3, 9);
    cr_assert_eq(srv_attn_store_put(s, e[2]), 0);
    srv_attn_store_release(s, e[2]);
    struct srv_attn_entry *g0 = srv_attn_store_get(s, ids[0]);
    cr_assert_not_null(g0);
    srv_attn_store_release(s, g0);
    cr_assert_null(srv_attn_store_get(s, ids[1]));
    struct srv_attn_store_stats st;
    srv_attn_store_stats(s, &st);
    cr_assert_eq(st.entries, 2);
    cr_assert_eq(st.evictions, 1);
    srv_attn_store_free(s);
}

Test(srv_attention, the_byte_bound_holds_and_an_oversized_entry_is_refused)
{
    struct srv_attn_entry *probe = make(5, 3, 1);
    size_t one = probe->bytes;
    srv_attn_entry_free(probe);
    struct srv_attn_store *s = srv_attn_store_new(one * 2 + one / 2, 100, 60);
    for (int i = 0; i < 6; i++) {
        struct srv_attn_entry *e = make(5, 3, (uint64_t)i + 1);
        cr_assert_eq(srv_attn_store_put(s, e), 0);
        srv_attn_store_release(s, e);
        struct srv_attn_store_stats st;
        srv_attn_store_stats(s, &st);
        cr_assert_leq(st.bytes, st.max_bytes);
        cr_assert_leq(st.entries, 2);
    }
    struct srv_attn_entry *big = make(40, 30, 3);
    cr_assert_gt(big->bytes, one * 3);
    cr_assert_eq(srv_attn_store_put(s, big), -1);
    srv_attn_entry_free(big);
    srv_attn_store_free(s);
}

Test(srv_attention, a_reader_keeps_its_entry_after_eviction)
{
    struct srv_attn_store *s = srv_attn_store_new(1 << 20, 1, 60);
    struct srv_attn_entry *a = make(5, 3, 1);
    cr_assert_eq(srv_attn_store_put(s, a), 0); /* held by us */
    struct srv_attn_entry *b = make(5, 3, 2);
    cr_assert_eq(srv_attn_store_put(s, b), 0); /* evicts a while we hold it */
    srv_attn_store_release(s, b);
    cr_assert_eq(a->in_store, 0);
    cr_assert_str_eq(a->src_tokens[4], "s4"); /* still readable (ASan would object) */
    srv_attn_store_release(s, a);             /* freed here */
    srv_attn_store_free(s);
}

Test(srv_attention, entries_expire_after_their_ttl)
{
    struct srv_attn_store *s = srv_attn_store_new(1 << 20, 10, 1);
    struct srv_attn_entry *e = make(5, 3, 1);
    cr_assert_eq(srv_attn_store_put(s, e), 0);
    char id[SRV_ATTN_ID_LEN + 1];
    memcpy(id, e->id, sizeof id);
    srv_attn_store_release(s, e);
    e->created_ns -= 2000000000LL; /* pretend it is two seconds old */
    cr_assert_null(srv_attn_store_get(s, id));
    struct srv_attn_store_stats st;
    srv_attn_store_stats(s, &st);
    cr_assert_eq(st.expirations, 1);
    cr_assert_eq(st.entries, 0);
    srv_attn_store_free(s);
}

Test(srv_attention, slices_match_naive_mean_and_max_over_heads)
{
    struct srv_attn_entry *e = make(7, 4, 5);
    float out[64];
    for (int layer = 0; layer < 3; layer++) {
        srv_attn_slice(e, SRV_KIND_CROSS, layer, 0, SRV_AGG_MEAN, out);
        for (int t = 0; t < 4; t++)
            for (int s = 0; s < 7; s++) {
                double sum = 0, mx = -1;
                for (int h = 0; h < 4; h++) {
                    double v =
                        e->cross[(((size_t)layer * 4 + (size_t)h) * 4 + (size_t)t) * 7 + (size_t)s];
                    sum += v;
                    mx = v > mx ? v : mx;
                }
                cr_assert_float_eq(out[t * 7 + s], sum / 4, 1e-6);
                (void)mx;
            }
        srv_attn_slice(e, SRV_KIND_CROSS, layer, 0, SRV_AGG_MAX, out);
        for (int t = 0; t < 4; t++)
            for (int s = 0; s < 7; s++) {
                double mx = -1;
                for (int h = 0; h < 4; h++) {
                    double v =
                        e->cross[(((size_t)layer * 4 + (size_t)h) * 4 + (size_t)t) * 7 + (size_t)s];
                    mx = v > mx ? v : mx;
                }
                cr_assert_float_eq(out[t * 7 + s], mx, 1e-7);
            }
        srv_attn_slice(e, SRV_KIND_ENCODER, layer % 2, 3, SRV_AGG_NONE, out);
        cr_assert_float_eq(out[10], e->encoder[(((size_t)(layer % 2) * 4 + 3) * 7 + 1) * 7 + 3], 0);
    }
    srv_attn_entry_free(e);
}

Test(srv_attention, selected_maps_have_the_requested_shape_and_four_decimals)
{
    struct srv_attn_entry *e = make(5, 3, 7);
    struct srv_buf b;
    srv_buf_init(&b);
    int layers[] = {2, 0}, heads[] = {1, 3, 0};
    srv_attn_write_maps(&b, e, SRV_KIND_DECODER, layers, 2, heads, 3, SRV_AGG_NONE);
    json_error_t je;
    json_t *j = json_loads(b.data, 0, &je);
    cr_assert_not_null(j, "%s", je.text);
    cr_assert_eq(json_array_size(j), 2);
    cr_assert_eq(json_array_size(json_array_get(j, 0)), 3);
    json_t *m = json_array_get(json_array_get(j, 0), 1); /* layer 2, head 3 */
    cr_assert_eq(json_array_size(m), 3);
    cr_assert_eq(json_array_size(json_array_get(m, 0)), 3);
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 3; c++) {
            double want = e->decoder[(((size_t)2 * 4 + 3) * 3 + (size_t)r) * 3 + (size_t)c];
            double got = json_number_value(json_array_get(json_array_get(m, (size_t)r), (size_t)c));
            cr_assert_float_eq(got, want, 0.5e-4 + 1e-9);
            cr_assert_float_eq(got * 1e4, round(got * 1e4), 1e-6); /* at most 4 decimals */
        }
    json_decref(j);
    srv_buf_free(&b);
    /* the mean as one pseudo-head per layer, all layers */
    srv_buf_init(&b);
    srv_attn_write_maps(&b, e, SRV_KIND_ENCODER, NULL, 0, NULL, 0, SRV_AGG_MEAN);
    j = json_loads(b.data, 0, &je);
    cr_assert_eq(json_array_size(j), 2);
    cr_assert_eq(json_array_size(json_array_get(j, 1)), 1);
    cr_assert_eq(json_array_size(json_array_get(json_array_get(j, 1), 0)), 5);
    json_decref(j);
    srv_buf_free(&b);
    srv_attn_entry_free(e);
}

Test(srv_attention, alignment_takes_the_most_attended_source_skipping_special_tokens)
{
    struct srv_attn_entry *e = make(3, 2, 1);
    /* every layer and head: target 0 looks at source 2 (special), then 1; target 1 at 0 and 1 */
    for (int k = 0; k < 12; k++) {
        float *m = e->cross + (size_t)k * 6;
        m[0] = 0.1f, m[1] = 0.3f, m[2] = 0.6f;
        m[3] = 0.45f, m[4] = 0.40f, m[5] = 0.15f;
    }
    e->src_special[2] = 1;
    struct srv_buf b;
    srv_buf_init(&b);
    srv_attn_write_alignment(&b, e);
    cr_assert_str_eq(b.data, "[{\"target\":0,\"source\":[1]},{\"target\":1,\"source\":[0,1]}]");
    srv_buf_free(&b);
    srv_attn_entry_free(e);
}

Test(srv_attention, selections_beyond_the_model_are_refused)
{
    struct srv_attn_entry *e = make(3, 2, 1);
    struct srv_err err;
    int ok_layers[] = {1};
    cr_assert_eq(srv_attn_check_selection(e, SRV_KIND_ENCODER, ok_layers, 1, NULL, 0, &err), 0);
    int layers[] = {2};
    cr_assert_eq(
        srv_attn_check_selection(e, SRV_KIND_ENCODER | SRV_KIND_CROSS, layers, 1, NULL, 0, &err),
        -1);
    cr_assert(strstr(err.message, "the encoder attention of model \"m\" has 2 layers"), "%s",
              err.message);
    int heads[] = {4};
    cr_assert_eq(srv_attn_check_selection(e, SRV_KIND_CROSS, NULL, 0, heads, 1, &err), -1);
    cr_assert(strstr(err.message, "heads[0] is 4, but model \"m\" has 4 heads (0-3)"));
    srv_attn_entry_free(e);
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

Test(srv_attention, the_svg_heatmap_has_a_cell_per_value_and_escaped_labels)
{
    struct srv_attn_entry *e = make(5, 3, 2);
    free(e->src_tokens[1]);
    e->src_tokens[1] = strdup("<b>&\"x\"");
    free(e->tgt_tokens[0]);
    e->tgt_tokens[0] = strdup("bad\xff");
    struct srv_buf b;
    srv_buf_init(&b);
    srv_attn_write_svg(&b, e, SRV_KIND_CROSS, 1, 2, SRV_AGG_NONE);
    cr_assert_eq(strncmp(b.data, "<svg xmlns=\"http://www.w3.org/2000/svg\"", 39), 0);
    cr_assert(strstr(b.data, "</svg>"));
    cr_assert_eq(count(b.data, "data-row="), 15);
    cr_assert(strstr(b.data, "&lt;b&gt;&amp;&quot;x&quot;"));
    cr_assert_null(strstr(b.data, "<b>"));
    cr_assert(strstr(b.data, "bad\xEF\xBF\xBD")); /* invalid UTF-8 replaced */
    cr_assert(strstr(b.data, "cross attention &#183; layer 1 &#183; head 2"));
    cr_assert(strstr(b.data, "linearGradient")); /* the legend */
    srv_buf_free(&b);
    srv_attn_entry_free(e);
}

/* ---------------------------------------------------------------------------------------- */
/* Selections (attnsel.c): one parser for the body and the query                            */
/* ---------------------------------------------------------------------------------------- */

/* Parses a query string "k=v&..." with the server's form decoder. */
static int parse_query(const char *q, struct srv_attn_query *out, struct srv_err *e)
{
    struct srv_form f;
    cr_assert_eq(srv_form_parse(q, strlen(q), &f, e), 0, "%s", e->message);
    int rc = srv_attn_query_parse(&f, out, e);
    srv_form_free(&f);
    return rc;
}

Test(srv_attnsel, the_body_and_the_query_accept_the_same_kind_names)
{
    static const char *const names[] = {"cross", "encoder", "decoder", "self", "Cross", ""};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        struct srv_err e;
        char q[64], body[64];
        snprintf(q, sizeof q, "kind=%s", names[i]);
        snprintf(body, sizeof body, "[\"%s\"]", names[i]);
        json_t *v = json_loads(body, 0, NULL);
        unsigned kinds = 0;
        struct srv_attn_query sel;
        int body_ok = srv_attn_kinds_from_json(v, &kinds, &e) == 0;
        int query_ok = parse_query(q, &sel, &e) == 0;
        cr_assert_eq(body_ok, query_ok, "kind \"%s\"", names[i]);
        if (body_ok) cr_assert_eq(kinds, sel.kind, "kind \"%s\"", names[i]);
        cr_assert_eq(srv_attn_kind_parse(names[i]) != 0, body_ok);
        json_decref(v);
    }
}

Test(srv_attnsel, an_empty_query_asks_for_the_cross_mean_of_the_last_layer_as_json)
{
    struct srv_err e;
    struct srv_attn_query q;
    cr_assert_eq(parse_query("", &q, &e), 0, "%s", e.message);
    cr_assert_eq(q.kind, SRV_KIND_CROSS);
    cr_assert_eq(q.layer, -1);
    cr_assert_eq(q.agg, SRV_AGG_MEAN);
    cr_assert_eq(q.svg, 0);
    cr_assert_eq(parse_query("kind=decoder&layer=2&head=3&format=svg&api_key=k", &q, &e), 0);
    cr_assert_eq(q.kind, SRV_KIND_DECODER);
    cr_assert_eq(q.layer, 2);
    cr_assert_eq(q.head, 3);
    cr_assert_eq(q.agg, SRV_AGG_NONE);
    cr_assert_eq(q.svg, 1);
}

Test(srv_attnsel, bad_query_values_are_named_and_unknown_parameters_come_first)
{
    struct srv_err e;
    struct srv_attn_query q;
    cr_assert_eq(parse_query("layer=x&colour=red", &q, &e), -1);
    cr_assert_eq(e.code, SRV_E_UNKNOWN_FIELD);
    cr_assert(strstr(e.message, "colour"), "%s", e.message);
    cr_assert_eq(parse_query("head=-1", &q, &e), -1);
    cr_assert_eq(e.code, SRV_E_INVALID_VALUE);
    cr_assert(strstr(e.message, "head must be"), "%s", e.message);
    cr_assert_eq(parse_query("layer=1234567", &q, &e), -1);
    cr_assert(strstr(e.message, "layer must be"), "%s", e.message);
    cr_assert_eq(parse_query("format=png", &q, &e), -1);
    cr_assert(strstr(e.message, "format must be"), "%s", e.message);
}

Test(srv_attnsel, body_heads_take_an_index_list_or_an_aggregate)
{
    struct srv_err e;
    int heads[SRV_MAX_SELECT], n = 0, agg = SRV_AGG_NONE;
    json_t *v = json_loads("\"max\"", JSON_DECODE_ANY, NULL);
    cr_assert_eq(srv_attn_heads_from_json(v, heads, &n, &agg, &e), 0);
    cr_assert_eq(agg, SRV_AGG_MAX);
    json_decref(v);
    v = json_loads("[3, 1]", 0, NULL);
    cr_assert_eq(srv_attn_heads_from_json(v, heads, &n, &agg, &e), 0);
    cr_assert_eq(n, 2);
    cr_assert_eq(heads[0], 3);
    json_decref(v);
    v = json_loads("[1, 1]", 0, NULL);
    cr_assert_eq(srv_attn_heads_from_json(v, heads, &n, &agg, &e), -1);
    cr_assert(strstr(e.message, "heads lists 1 twice"), "%s", e.message);
    json_decref(v);
    v = json_loads("\"median\"", JSON_DECODE_ANY, NULL);
    cr_assert_eq(srv_attn_heads_from_json(v, heads, &n, &agg, &e), -1);
    json_decref(v);
}
