/* test_forward.c — teacher-forced forward pass against transformers 4.35.2 (hf-tiny fixtures):
 * logits, encoder output and every attention probability within 1e-4; padded batch first step. */
#include <criterion/criterion.h>
#include <string.h>

#include "fixture_cases.h"
#include "forward.h"
#include "tx.h"

#define TOL 1e-4

static void check_case(tx_session *s, const json_t *c, const char *model)
{
    const char *name = json_string_value(json_object_get(c, "name"));
    int n_src, n_tgt;
    int32_t *src = fx_ints(json_object_get(c, "input_ids"), &n_src);
    int32_t *tgt = fx_ints(json_object_get(c, "decoder_input_ids"), &n_tgt);
    struct tx_forward_out o;
    struct tx_error e = {0};
    tx_status st =
        tx_forward(s, src, n_src, tgt, n_tgt, TX_FORWARD_ATTENTIONS | TX_FORWARD_HIDDEN, &o, &e);
    cr_assert_eq(st, TX_OK, "%s/%s: %s", model, name, e.message);
    cr_assert_eq(o.n_src, n_src);
    cr_assert_eq(o.n_tgt, n_tgt);
    static const struct {
        const char *field;
        size_t off;
    } fields[] = {
        {"logits", offsetof(struct tx_forward_out, logits)},
        {"encoder_last_hidden_state", offsetof(struct tx_forward_out, encoder_hidden)},
        {"encoder_attentions", offsetof(struct tx_forward_out, encoder_attentions)},
        {"decoder_attentions", offsetof(struct tx_forward_out, decoder_attentions)},
        {"cross_attentions", offsetof(struct tx_forward_out, cross_attentions)},
    };
    size_t expect_n[] = {
        (size_t)n_tgt * o.vocab,
        (size_t)n_src * o.d_model,
        (size_t)o.n_enc_layers * o.n_heads * n_src * n_src,
        (size_t)o.n_dec_layers * o.n_heads * n_tgt * n_tgt,
        (size_t)o.n_dec_layers * o.n_heads * n_tgt * n_src,
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        size_t n;
        double *want = fx_numbers(json_object_get(c, fields[i].field), &n);
        cr_assert_eq(n, expect_n[i], "%s/%s: %s has %zu values, expected %zu", model, name,
                     fields[i].field, n, expect_n[i]);
        const float *got = *(const float *const *)((const char *)&o + fields[i].off);
        cr_assert_not_null(got, "%s not returned", fields[i].field);
        char what[128];
        snprintf(what, sizeof what, "%s/%s %s", model, name, fields[i].field);
        fx_assert_close(got, want, n, TOL, what);
        free(want);
    }
    free(src);
    free(tgt);
}

static void check_batch(tx_session *s, const json_t *b, const char *model)
{
    const json_t *ids = json_object_get(b, "input_ids");
    const json_t *mask = json_object_get(b, "attention_mask");
    int n_batch = (int)json_array_size(ids);
    const int32_t *rows[8];
    int32_t *owned[8];
    int lens[8];
    cr_assert(n_batch > 1 && n_batch <= 8);
    for (int r = 0; r < n_batch; r++) {
        int n, nm;
        owned[r] = fx_ints(json_array_get(ids, r), &n);
        int32_t *m = fx_ints(json_array_get(mask, r), &nm);
        lens[r] = 0;
        for (int i = 0; i < nm; i++)
            lens[r] += m[i];
        free(m);
        rows[r] = owned[r];
    }
    struct tx_batch_forward_out o;
    struct tx_error e = {0};
    tx_status st = txi_forward_batch_first_step(s, rows, lens, n_batch, &o, &e);
    cr_assert_eq(st, TX_OK, "%s batch: %s", model, e.message);
    size_t n;
    double *want = fx_numbers(json_object_get(b, "first_step_logits"), &n);
    cr_assert_eq(n, (size_t)n_batch * o.vocab);
    fx_assert_close(o.first_step_logits, want, n, TOL, "batch first_step_logits");
    free(want);
    want = fx_numbers(json_object_get(b, "encoder_last_hidden_state"), &n);
    cr_assert_eq(n, (size_t)n_batch * o.max_src * o.d_model);
    for (int r = 0; r < n_batch; r++) {
        size_t off = (size_t)r * o.max_src * o.d_model; /* only unpadded positions count */
        fx_assert_close(o.encoder_hidden + off, want + off, (size_t)lens[r] * o.d_model, TOL,
                        "batch encoder_last_hidden_state");
    }
    free(want);
    for (int r = 0; r < n_batch; r++)
        free(owned[r]);
}

static void check_model(const char *dir)
{
    const char *model = strrchr(dir, '/') + 1;
    tx_model *m = NULL;
    struct tx_error e = {0};
    cr_assert_eq(tx_model_load(dir, &m, &e), TX_OK, "%s: %s", dir, e.message);
    tx_session *s = NULL;
    cr_assert_eq(tx_session_new(m, 0, &s, &e), TX_OK, "%s", e.message);
    json_t *root = fx_load_cases(dir);
    const json_t *cases = json_object_get(root, "cases");
    cr_assert(json_array_size(cases) >= 2);
    for (size_t i = 0; i < json_array_size(cases); i++)
        check_case(s, json_array_get(cases, i), model);
    if (json_object_get(root, "batch")) check_batch(s, json_object_get(root, "batch"), model);
    json_decref(root);
    tx_session_free(s);
    tx_model_free(m);
}

Test(forward, marian_matches_transformers)
{
    check_model(FIXTURE_DIR "/marian");
}
Test(forward, marian_f16_matches_transformers)
{
    check_model(FIXTURE_DIR "/marian-f16");
}
Test(forward, bart_matches_transformers)
{
    check_model(FIXTURE_DIR "/bart");
}
Test(forward, t5_matches_transformers)
{
    check_model(FIXTURE_DIR "/t5");
}
Test(forward, mbart_prenorm_with_final_layer_norms_matches_transformers)
{
    check_model(VARIANTS_DIR "/mbart");
}
Test(forward, t5_gated_gelu_untied_head_matches_transformers)
{
    check_model(VARIANTS_DIR "/t5-gated");
}
Test(forward, marian_with_separate_embeddings_matches_transformers)
{
    check_model(VARIANTS_DIR "/marian-sep");
}
Test(forward, marian_with_6_encoder_and_3_decoder_layers_matches_transformers)
{
    check_model(VARIANTS_DIR "/marian-6-3");
}
Test(forward, t5_with_4_encoder_and_2_decoder_blocks_matches_transformers)
{
    check_model(VARIANTS_DIR "/t5-4-2");
}

/* Attention capture is off by default and costs no memory when off: a session capped just
 * above what a long forward pass needs without attentions runs it, and fails with NOMEM when
 * the attentions (3 x layers x heads x 200 x 200 floats) are asked for. */
Test(forward, attentions_are_only_computed_and_stored_when_asked)
{
    tx_model *m = NULL;
    struct tx_error e = {0};
    cr_assert_eq(tx_model_load(FIXTURE_DIR "/t5", &m, &e), TX_OK, "%s", e.message);
    enum { N = 200 };
    int32_t src[N], dec[N];
    for (int i = 0; i < N; i++) {
        src[i] = 3 + (i * 37) % 120;
        dec[i] = i ? 3 + (i * 11) % 120 : 0;
    }
    tx_session *s = NULL;
    cr_assert_eq(tx_session_new(m, 0, &s, &e), TX_OK);
    struct tx_forward_out o;
    for (int i = 0; i < 2; i++) /* the second call runs in one region sized by the first */
        cr_assert_eq(tx_forward(s, src, N, dec, N, 0, &o, &e), TX_OK, "%s", e.message);
    cr_assert_null(o.encoder_attentions);
    cr_assert_null(o.decoder_attentions);
    cr_assert_null(o.cross_attentions);
    cr_assert_null(o.encoder_hidden);
    cr_assert_not_null(o.logits);
    size_t without = tx_session_arena_size(s);
    tx_session_free(s);

    size_t att_bytes = (size_t)3 * 2 * 4 * N * N * sizeof(float);
    cr_assert_eq(tx_session_new(m, without + 65536, &s, &e), TX_OK);
    cr_assert_eq(tx_forward(s, src, N, dec, N, 0, &o, &e), TX_OK, "%s", e.message);
    cr_assert_lt(without + 65536, without + att_bytes);
    cr_assert_eq(tx_forward(s, src, N, dec, N, TX_FORWARD_ATTENTIONS, &o, &e), TX_ERR_NOMEM,
                 "attentions fit in an arena sized without them (%zu bytes)", without);
    tx_session_free(s);
    tx_model_free(m);
}
