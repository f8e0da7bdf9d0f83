/* test_f16.c — F16- and BF16-resident weights (TX_DTYPE_F16, and TX_DTYPE_AUTO on BF16
 * checkpoints; int8 quantized from their rows): the half <-> float conversions against
 * every half value and the IEEE rounding cases, every reduced-precision product (F16 and int8)
 * on every few-rows kernel forced in turn (AVX-512, AVX2, portable) and the blocked path,
 * against a naive double loop over the converted matrix, and whole models kept as F16 against
 * the same models widened to F32 (F16 checkpoints: the same weight values, so logits agree to
 * rounding of the summation order and translations are identical). */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model.h"
#include "ops.h"
#include "quant.h"
#include "testutil.h"
#include "tx.h"

static uint32_t bits_of(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

Test(f16, every_half_value_converts_to_float_and_back_unchanged)
{
    for (uint32_t h = 0; h < 65536; h++) {
        float f = txi_h2f((uint16_t)h);
        int nan = (h & 0x7c00) == 0x7c00 && (h & 0x3ff);
        if (nan) {
            cr_assert(isnan(f), "half 0x%04x is a NaN, got %g", h, f);
            cr_assert(isnan(txi_h2f(txi_f2h(f))));
            continue;
        }
        cr_assert_eq(txi_f2h(f), h, "half 0x%04x -> %g -> 0x%04x", h, f, txi_f2h(f));
    }
    /* values a hand can check */
    cr_expect_eq(txi_h2f(0x3c00), 1.0f);
    cr_expect_eq(txi_h2f(0xc000), -2.0f);
    cr_expect_eq(txi_h2f(0x7bff), 65504.0f);
    cr_expect_eq(txi_h2f(0x0001), ldexpf(1.0f, -24)); /* smallest subnormal */
    cr_expect_eq(txi_h2f(0x0400), ldexpf(1.0f, -14)); /* smallest normal */
}

Test(f16, floats_round_to_the_nearest_half_with_ties_to_even)
{
    cr_expect_eq(txi_f2h(1.0f + ldexpf(1.0f, -11)), 0x3c00);         /* tie, even below */
    cr_expect_eq(txi_f2h(1.0f + 3 * ldexpf(1.0f, -11)), 0x3c02);     /* tie, even above */
    cr_expect_eq(txi_f2h(1.0f + ldexpf(1.0f, -11) * 1.01f), 0x3c01); /* past the tie */
    cr_expect_eq(txi_f2h(65519.0f), 0x7bff);                         /* below the overflow tie */
    cr_expect_eq(txi_f2h(65520.0f), 0x7c00);                         /* rounds to infinity */
    cr_expect_eq(txi_f2h(-1e9f), 0xfc00);
    cr_expect_eq(txi_f2h(ldexpf(1.0f, -25)), 0x0000);     /* half the smallest: tie to 0 */
    cr_expect_eq(txi_f2h(3 * ldexpf(1.0f, -26)), 0x0001); /* 0.75 of the smallest: up */
    cr_expect_eq(txi_f2h(3 * ldexpf(1.0f, -25)), 0x0002); /* 1.5: tie, to even */
    cr_expect_eq(txi_f2h(ldexpf(1.0f, -14) * (1.0f - ldexpf(1.0f, -12))),
                 0x0400); /* rounds up into the smallest normal */
    cr_expect_eq(txi_f2h(-0.0f), 0x8000);
    cr_expect_eq(bits_of(txi_h2f(0x8000)), 0x80000000u);
}

/* A bfloat16's value, written out independently of txi_bf2f: (-1)^s 2^(e-127) (1 + m/128), or
 * 2^-126 m/128 for e = 0 (the 16 upper bits of a float). */
static float bf16_value(uint16_t b)
{
    int sign = b >> 15, e = b >> 7 & 0xff, m = b & 0x7f;
    double v = e ? ldexp(1.0 + m / 128.0, e - 127) : ldexp(m / 128.0, -126);
    return (float)(sign ? -v : v);
}

Test(bf16, every_bfloat16_converts_to_its_value_and_back_unchanged)
{
    for (uint32_t b = 0; b < 65536; b++) {
        float f = txi_bf2f((uint16_t)b);
        if ((b & 0x7f80) == 0x7f80 && (b & 0x7f)) { /* NaN */
            cr_assert(isnan(f));
            continue;
        }
        if ((b & 0x7fff) == 0x7f80) { /* infinities */
            cr_assert(isinf(f) && (f < 0) == (b >> 15 == 1));
            cr_assert_eq(txi_f2bf(f), b);
            continue;
        }
        cr_assert_eq(f, bf16_value((uint16_t)b), "bf16 0x%04x: %g, expected %g", b, f,
                     bf16_value((uint16_t)b));
        cr_assert_eq(txi_f2bf(f), b, "bf16 0x%04x -> %g -> 0x%04x", b, f, txi_f2bf(f));
    }
    cr_expect_eq(txi_f2bf(1.0f), 0x3f80);
    cr_expect_eq(txi_f2bf(1.0f + ldexpf(1.0f, -8)), 0x3f80);     /* tie, even below */
    cr_expect_eq(txi_f2bf(1.0f + 3 * ldexpf(1.0f, -8)), 0x3f82); /* tie, even above */
    cr_expect_eq(txi_f2bf(1.0f + ldexpf(1.0f, -8) * 1.01f), 0x3f81);
    cr_expect(isnan(txi_bf2f(txi_f2bf(NAN))));
}

static void naive(txi_wfmt f, int m, int n, int k, float alpha, const float *a, const void *w,
                  const float *scale, float beta, const float *bias, const float *c0, double *c)
{
    float *row = malloc((size_t)k * sizeof *row);
    for (int j = 0; j < n; j++) {
        for (int t = 0; t < k; t++)
            row[t] = f == TXI_W_Q8     ? (float)((const int8_t *)w)[(size_t)j * k + t] * scale[j]
                     : f == TXI_W_BF16 ? bf16_value(((const uint16_t *)w)[(size_t)j * k + t])
                                       : txi_h2f(((const uint16_t *)w)[(size_t)j * k + t]);
        for (int i = 0; i < m; i++) {
            double d = 0;
            for (int t = 0; t < k; t++)
                d += (double)row[t] * a[(size_t)i * k + t];
            c[(size_t)i * n + j] = alpha * d + beta * c0[(size_t)i * n + j] + (bias ? bias[j] : 0);
        }
    }
    free(row);
}

enum path { WITH_WS, NO_WS, PORTABLE };

static void check(txi_wfmt f, int m, int n, int k, enum path path, uint64_t *rng)
{
    float *a = malloc((size_t)m * k * sizeof *a), *w = malloc((size_t)n * k * sizeof *w);
    float *c = malloc((size_t)m * n * sizeof *c), *c0 = malloc((size_t)m * n * sizeof *c0);
    float *bias = malloc((size_t)n * sizeof *bias), *scale = malloc((size_t)n * sizeof *scale);
    void *q = malloc((size_t)n * k * 2);
    double *ref = malloc((size_t)m * n * sizeof *ref);
    cr_assert(a && w && c && c0 && bias && scale && q && ref);
    for (int i = 0; i < m * k; i++)
        a[i] = tu_rand_uniform(rng, -1, 1);
    for (int i = 0; i < n * k; i++)
        w[i] = tu_rand_uniform(rng, -0.2f, 0.2f);
    for (int i = 0; i < m * n; i++)
        c0[i] = c[i] = tu_rand_uniform(rng, -1, 1);
    for (int j = 0; j < n; j++)
        bias[j] = tu_rand_uniform(rng, -1, 1);
    if (f == TXI_W_Q8)
        txi_q8_quantize(w, n, k, q, scale);
    else if (f == TXI_W_BF16)
        for (int i = 0; i < n * k; i++)
            ((uint16_t *)q)[i] = txi_f2bf(w[i]);
    else
        txi_f16_convert(w, (size_t)n * k, q);
    const float *sc = f == TXI_W_Q8 ? scale : NULL;
    float alpha = 0.75f, beta = path == WITH_WS ? 0.0f : 0.5f;
    const float *b = (m + n) % 2 ? bias : NULL;
    size_t n_ws = txi_gemm_ws_floats(m, n, k) + txi_q8_ws_floats(m, n, k);
    float *buf = n_ws ? malloc(n_ws * sizeof *buf) : NULL;
    struct txi_gemm_ws ws = {buf, n_ws, 0, NULL};
    if (path == PORTABLE)
        txi_lp_small_m_portable(f, m, n, k, alpha, a, k, q, sc, beta, b, c, n);
    else
        txi_lp_matmul_nt(f, m, n, k, alpha, a, k, q, sc, beta, b, c, n,
                         path == WITH_WS ? &ws : NULL);
    naive(f, m, n, k, alpha, a, q, scale, beta, b, c0, ref);
    for (int i = 0; i < m * n; i++)
        cr_assert(fabs(c[i] - ref[i]) <= 1e-5 * (1 + fabs(ref[i])) * sqrt(k),
                  "fmt %d m=%d n=%d k=%d path %d: c[%d] = %.7g, expected %.7g", f, m, n, k, path, i,
                  c[i], ref[i]);
    free(a), free(w), free(c), free(c0), free(bias), free(scale), free(q), free(ref), free(buf);
}

Test(f16, reduced_precision_products_equal_a_naive_loop_on_every_kernel_path_and_shape)
{
    uint64_t rng = 42;
    const int ms[] = {1, 2, 3, 4, 5, 7, 16, 17, 33, 100};
    const int ns[] = {1, 3, 5, 64, 130};
    const int ks[] = {1, 7, 16, 33, 64, 257};
    const int forced[] = {TXI_LP_PATH_AVX512, TXI_LP_PATH_AVX2, TXI_LP_PATH_PORTABLE};
    const txi_wfmt fmts[] = {TXI_W_F16, TXI_W_Q8, TXI_W_BF16};
    for (size_t p = 0; p < 3; p++) {
        txi_lp_force_path(forced[p]);
        for (size_t fi = 0; fi < 3; fi++)
            for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++)
                for (size_t j = 0; j < sizeof ns / sizeof ns[0]; j++)
                    for (size_t t = 0; t < sizeof ks / sizeof ks[0]; t++) {
                        check(fmts[fi], ms[i], ns[j], ks[t], WITH_WS, &rng);
                        check(fmts[fi], ms[i], ns[j], ks[t], NO_WS, &rng);
                        if (ms[i] <= 16 && p == 0)
                            check(fmts[fi], ms[i], ns[j], ks[t], PORTABLE, &rng);
                    }
    }
    txi_lp_force_path(TXI_LP_PATH_BEST);
}

Test(f16, a_linear_layer_with_f16_weights_adds_its_bias)
{
    uint64_t rng = 7;
    float w[6 * 20], x[3 * 20], b[6], y[18];
    uint16_t h[6 * 20];
    for (int i = 0; i < 120; i++)
        w[i] = tu_rand_uniform(&rng, -1, 1);
    for (int i = 0; i < 60; i++)
        x[i] = tu_rand_uniform(&rng, -1, 1);
    for (int i = 0; i < 6; i++)
        b[i] = (float)i;
    txi_f16_convert(w, 120, h);
    struct txi_linear l = {NULL, b, 20, 6, h, NULL, 1, 0, 0};
    txi_linear_fwd(&l, x, 3, y, NULL);
    for (int r = 0; r < 3; r++)
        for (int j = 0; j < 6; j++) {
            double d = b[j];
            for (int t = 0; t < 20; t++)
                d += (double)txi_h2f(h[j * 20 + t]) * x[r * 20 + t];
            cr_expect(fabs(y[r * 6 + j] - d) < 1e-5, "y[%d][%d] = %g, expected %g", r, j,
                      y[r * 6 + j], d);
        }
}

/* Logits of dir loaded as da and as db on one input: largest difference and |logit|. */
static void logits_two_ways(const char *dir, tx_dtype da, tx_dtype db, double *max_diff,
                            double *max_abs, int *bit_equal)
{
    tx_model *ma = tu_load_model(dir, da), *mb = tu_load_model(dir, db);
    if (db == TX_DTYPE_F16) cr_expect_str_eq(tx_model_get_info(mb)->dtype, "f16");
    int V = tx_model_get_info(ma)->vocab_size;
    const int32_t src_ids[] = {12, 40, 77, 3, 91, 15, 33, 20, 2};
    int32_t src[9];
    for (int i = 0; i < 9; i++)
        src[i] = src_ids[i] % V;
    const int32_t dec[] = {tx_model_gen_params(ma).decoder_start_token_id, 5, 9, 14};
    tx_session *sa = NULL, *sb = NULL;
    struct tx_error e = {0};
    cr_assert_eq(tx_session_new(ma, 0, &sa, &e), TX_OK, "%s", e.message);
    cr_assert_eq(tx_session_new(mb, 0, &sb, &e), TX_OK, "%s", e.message);
    struct tx_forward_out oa, ob;
    cr_assert_eq(tx_forward(sa, src, 9, dec, 4, 0, &oa, &e), TX_OK, "%s", e.message);
    cr_assert_eq(tx_forward(sb, src, 9, dec, 4, 0, &ob, &e), TX_OK, "%s", e.message);
    *max_diff = *max_abs = 0;
    for (int i = 0; i < oa.n_tgt * oa.vocab; i++) {
        *max_diff = fmax(*max_diff, fabs(oa.logits[i] - ob.logits[i]));
        *max_abs = fmax(*max_abs, fabs(oa.logits[i]));
    }
    *bit_equal = !memcmp(oa.logits, ob.logits, (size_t)oa.n_tgt * oa.vocab * sizeof(float));
    tx_session_free(sa), tx_session_free(sb);
    tx_model_free(ma), tx_model_free(mb);
}

/* Largest |logit difference| and |logit| between the model loaded both ways, on one input. */
static void compare_logits(const char *dir, double *max_diff, double *max_abs)
{
    int same;
    logits_two_ways(dir, TX_DTYPE_F32, TX_DTYPE_F16, max_diff, max_abs, &same);
    fprintf(stderr, "%s: f16-resident logits differ by %.4g, largest %.4g\n", dir, *max_diff,
            *max_abs);
}

Test(f16, f16_checkpoints_kept_as_f16_give_the_f32_logits_up_to_summation_order)
{
    /* the same weight values both ways (F16 -> F32 is exact): only the order of the sums in
     * the products may differ, a few float32 roundings, not a weight's 1e-3 */
    static const char *dirs[] = {"tests/fixtures/hf-tiny/marian-f16", "models/marian-en-de",
                                 "models/marian-headlines"};
    for (size_t d = 0; d < sizeof dirs / sizeof dirs[0]; d++) {
        double diff, mx;
        compare_logits(dirs[d], &diff, &mx);
        cr_expect_leq(diff, 1e-5 * (1 + mx), "%s: logits differ by %g (largest %g)", dirs[d], diff,
                      mx);
    }
}

static void copy_file(const char *from, const char *to)
{
    size_t n = 0;
    char *data = tu_read_file(from, &n);
    if (!data) return; /* optional files (generation_config.json) */
    FILE *f = fopen(to, "wb");
    cr_assert_not_null(f, "%s", to);
    cr_assert_eq(fwrite(data, 1, n, f), n);
    fclose(f);
    free(data);
}

/* Writes an F16 copy of the F32 checkpoint in src into a new temporary folder (its path into
 * out): every F32 tensor rounded to F16, laid out end to end after a one-value tensor, so every
 * matrix starts 2 bytes past a 4-byte boundary (as in published checkpoints whose odd-length
 * final_logits_bias comes first); config files copied. */
static void write_half_copy(const char *src, char *out, size_t n_out, int bf16)
{
    snprintf(out, n_out, "/tmp/attnserve-f16-XXXXXX");
    cr_assert_not_null(mkdtemp(out));
    char path[512], to[512];
    snprintf(path, sizeof path, "%s/model.safetensors", src);
    size_t n = 0;
    unsigned char *buf = (unsigned char *)tu_read_file(path, &n);
    cr_assert_not_null(buf, "%s", path);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | buf[i];
    json_error_t je;
    json_t *h = json_loadb((const char *)buf + 8, hlen, 0, &je);
    cr_assert_not_null(h, "%s: %s", path, je.text);
    const unsigned char *data = buf + 8 + hlen;
    unsigned char *outd = malloc(n + 2);
    uint16_t one = bf16 ? txi_f2bf(1.0f) : txi_f2h(1.0f);
    memcpy(outd, &one, 2);
    size_t used = 2;
    const char *key;
    json_t *v;
    json_object_foreach(h, key, v)
    {
        if (!strcmp(key, "__metadata__")) continue;
        json_t *off = json_object_get(v, "data_offsets");
        size_t b = (size_t)json_integer_value(json_array_get(off, 0));
        size_t e = (size_t)json_integer_value(json_array_get(off, 1));
        size_t start = used;
        if (!strcmp(json_string_value(json_object_get(v, "dtype")), "F32")) {
            for (size_t i = b; i < e; i += 4) {
                float f;
                memcpy(&f, data + i, 4);
                uint16_t hv = bf16 ? txi_f2bf(f) : txi_f2h(f);
                memcpy(outd + used, &hv, 2);
                used += 2;
            }
            json_object_set_new(v, "dtype", json_string(bf16 ? "BF16" : "F16"));
        } else {
            memcpy(outd + used, data + b, e - b);
            used += e - b;
        }
        json_object_set_new(v, "data_offsets",
                            json_pack("[II]", (json_int_t)start, (json_int_t)used));
    }
    json_object_set_new(
        h, "attnserve_test.first",
        json_pack("{s:s, s:[i], s:[i,i]}", "dtype", bf16 ? "BF16" : "F16", "shape", 1,
                  "data_offsets", 0, 2));
    char *text = json_dumps(h, JSON_COMPACT);
    size_t tl = strlen(text), padded = (tl + 7) / 8 * 8;
    snprintf(to, sizeof to, "%s/model.safetensors", out);
    FILE *f = fopen(to, "wb");
    cr_assert_not_null(f);
    unsigned char len[8];
    for (int i = 0; i < 8; i++)
        len[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    fwrite(len, 1, 8, f);
    fwrite(text, 1, tl, f);
    for (size_t i = tl; i < padded; i++)
        fputc(' ', f);
    fwrite(outd, 1, used, f);
    fclose(f);
    free(text), free(outd), free(buf);
    json_decref(h);
    for (int i = 0; i < 2; i++) {
        const char *name = i ? "generation_config.json" : "config.json";
        snprintf(path, sizeof path, "%s/%s", src, name);
        snprintf(to, sizeof to, "%s/%s", out, name);
        copy_file(path, to);
    }
}

static void write_f16_copy(const char *src, char *out, size_t n_out)
{
    write_half_copy(src, out, n_out, 0);
}

static void remove_copy(const char *tmp)
{
    char path[128];
    const char *files[] = {"model.safetensors", "config.json", "generation_config.json"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", tmp, files[i]);
        unlink(path);
    }
    rmdir(tmp);
}

Test(bf16, bf16_copies_of_every_architecture_kept_as_bf16_give_the_f32_logits)
{
    /* BF16 checkpoints made from the F32 fixtures: their matrices are used in place from the
     * mapping as BF16 (converted in registers, exactly), so the logits equal those of the same
     * checkpoint widened to F32 up to the order of the sums */
    static const char *dirs[] = {"tests/fixtures/hf-tiny/bart", "tests/fixtures/hf-tiny/t5",
                                 "tests/fixtures/variants/t5-gated",
                                 "tests/fixtures/variants/mbart", "tests/fixtures/hf-tiny/marian"};
    for (size_t d = 0; d < sizeof dirs / sizeof dirs[0]; d++) {
        char tmp[64];
        write_half_copy(dirs[d], tmp, sizeof tmp, 1);
        double diff, mx;
        int same;
        logits_two_ways(tmp, TX_DTYPE_F32, TX_DTYPE_AUTO, &diff, &mx, &same);
        fprintf(stderr, "%s as BF16: bf16-resident logits differ by %.4g, largest %.4g\n", dirs[d],
                diff, mx);
        cr_expect_leq(diff, 1e-5 * (1 + mx), "%s as BF16: logits differ by %g (largest %g)",
                      dirs[d], diff, mx);
        tx_model *a = tu_load_model(tmp, TX_DTYPE_AUTO);
        cr_expect_str_eq(tx_model_get_info(a)->dtype, "BF16");
        cr_expect(a->lm_head_q && a->lm_head_fmt == TXI_W_BF16 && !a->lm_head,
                  "%s as BF16: the output projection was widened", dirs[d]);
        cr_expect(a->enc.layers[0].self_attn.q.q && a->enc.layers[0].self_attn.q.q_bf16 &&
                      !a->enc.layers[0].self_attn.q.w,
                  "%s as BF16: a linear layer was widened", dirs[d]);
        tx_model_free(a);
        remove_copy(tmp);
    }
}

Test(bf16, int8_from_half_precision_rows_equals_int8_from_the_widened_checkpoint)
{
    /* an F16 and a BF16 copy quantized straight from the mapping, row by row, against the same
     * values written out as F32 (exact) and quantized whole: bit-identical logits */
    for (int bf16 = 0; bf16 <= 1; bf16++) {
        char half[64];
        write_half_copy("tests/fixtures/hf-tiny/bart", half, sizeof half, bf16);
        tx_model *mh = tu_load_model(half, TX_DTYPE_INT8);
        tx_model *mw = tu_load_model(half, TX_DTYPE_F32); /* the widened values ... */
        cr_expect_str_eq(tx_model_get_info(mh)->dtype, "int8");
        /* ... quantized here the way the loader quantizes F32 checkpoints */
        struct tx_error e = {0};
        cr_assert_eq(txi_model_reduce(mw, TXI_W_Q8, 0, &e), TX_OK, "%s", e.message);
        const int32_t src[] = {12, 40, 77, 3, 91, 15, 33, 20, 2};
        const int32_t dec[] = {tx_model_gen_params(mh).decoder_start_token_id, 5, 9, 14};
        tx_session *sh = NULL, *sw = NULL;
        cr_assert_eq(tx_session_new(mh, 0, &sh, &e), TX_OK, "%s", e.message);
        cr_assert_eq(tx_session_new(mw, 0, &sw, &e), TX_OK, "%s", e.message);
        struct tx_forward_out oh, ow;
        cr_assert_eq(tx_forward(sh, src, 9, dec, 4, 0, &oh, &e), TX_OK, "%s", e.message);
        cr_assert_eq(tx_forward(sw, src, 9, dec, 4, 0, &ow, &e), TX_OK, "%s", e.message);
        cr_expect(!memcmp(oh.logits, ow.logits, (size_t)oh.n_tgt * oh.vocab * sizeof(float)),
                  "%s: int8 from the 16-bit rows differs from int8 from F32",
                  bf16 ? "BF16" : "F16");
        tx_session_free(sh), tx_session_free(sw);
        tx_model_free(mh), tx_model_free(mw);
        remove_copy(half);
    }
}

Test(f16, f16_copies_of_every_architecture_kept_as_f16_give_the_f32_logits)
{
    /* F16 checkpoints of BART, T5 (with and without the gated feed-forward) and mBART, made
     * from the F32 fixtures: their matrices are used in place from the mapping, everything else
     * (norms, biases, positions, T5's bias table, final_logits_bias) widened as before */
    static const char *dirs[] = {"tests/fixtures/hf-tiny/bart", "tests/fixtures/hf-tiny/t5",
                                 "tests/fixtures/variants/t5-gated",
                                 "tests/fixtures/variants/mbart", "tests/fixtures/hf-tiny/marian"};
    for (size_t d = 0; d < sizeof dirs / sizeof dirs[0]; d++) {
        char tmp[64], path[128];
        write_f16_copy(dirs[d], tmp, sizeof tmp);
        double diff, mx;
        compare_logits(tmp, &diff, &mx);
        cr_expect_leq(diff, 1e-5 * (1 + mx), "%s as F16: logits differ by %g (largest %g)", dirs[d],
                      diff, mx);
        tx_model *a =
            tu_load_model(tmp, TX_DTYPE_AUTO); /* the 2-byte aligned matrices used in place */
        cr_expect(a->lm_head_q && a->lm_head_fmt == TXI_W_F16 && !a->lm_head,
                  "%s as F16: the output projection was widened", dirs[d]);
        cr_expect(a->enc.layers[0].self_attn.q.q && a->enc.layers[0].self_attn.q.q_f16,
                  "%s as F16: a linear layer was widened", dirs[d]);
        tx_model_free(a);
        const char *files[] = {"model.safetensors", "config.json", "generation_config.json"};
        for (int i = 0; i < 3; i++) {
            snprintf(path, sizeof path, "%s/%s", tmp, files[i]);
            unlink(path);
        }
        rmdir(tmp);
    }
}

Test(f16, f32_checkpoints_kept_as_f16_give_logits_close_to_f32)
{
    /* F32 weights rounded to F16 keep 11 significant bits: the logits of these random tiny
     * models move by well under 1% of their largest value; a misread layer moves them ~100% */
    static const char *dirs[] = {"tests/fixtures/hf-tiny/marian", "tests/fixtures/hf-tiny/bart",
                                 "tests/fixtures/hf-tiny/t5", "tests/fixtures/variants/t5-gated",
                                 "tests/fixtures/variants/mbart"};
    for (size_t d = 0; d < sizeof dirs / sizeof dirs[0]; d++) {
        double diff, mx;
        compare_logits(dirs[d], &diff, &mx);
        cr_expect_lt(diff, 0.01 * mx, "%s: logits differ by %g (largest %g)", dirs[d], diff, mx);
        cr_expect_gt(diff, 0.0, "%s: f16 changed nothing: were the weights converted?", dirs[d]);
    }
}

Test(f16, the_shipped_translator_kept_as_f16_translates_exactly_like_f32, .timeout = 120)
{
    static const char *texts[] = {"A man in a blue shirt is standing on a ladder.",
                                  "Two dogs play in the snow.",
                                  "Where is the train station?",
                                  "I would like a cup of coffee, please.",
                                  "A group of children are playing football in the park.",
                                  "The woman is reading a book on the bench.",
                                  "A little girl climbs into a wooden playhouse.",
                                  "Three people are sitting at a table in a restaurant."};
    const char *dir = "models/marian-en-de";
    tx_model *mf = tu_load_model(dir, TX_DTYPE_F32), *mh = tu_load_model(dir, TX_DTYPE_F16);
    tx_tokenizer *tok = NULL;
    struct tx_error e = {0};
    cr_assert_eq(tx_tokenizer_load(dir, &tok, &e), TX_OK, "%s", e.message);
    tx_session *sf = NULL, *sh = NULL;
    cr_assert_eq(tx_session_new(mf, 0, &sf, &e), TX_OK, "%s", e.message);
    cr_assert_eq(tx_session_new(mh, 0, &sh, &e), TX_OK, "%s", e.message);
    for (int beams = 1; beams <= 4; beams += 3)
        for (int i = 0; i < 8; i++) {
            struct tx_encoding enc;
            cr_assert_eq(
                tx_tokenizer_encode(tok, texts[i], strlen(texts[i]), TX_SIDE_SOURCE, &enc, &e),
                TX_OK, "%s", e.message);
            struct tx_gen_params p = tx_model_gen_params(mf);
            p.num_beams = beams;
            p.max_new_tokens = 64;
            const int32_t *src[1] = {enc.ids};
            int n[1] = {enc.n_ids};
            struct tx_gen_out of, oh;
            cr_assert_eq(tx_generate(sf, src, n, 1, &p, &of, &e), TX_OK, "%s", e.message);
            int nf = of.hyps[0].n_ids;
            int32_t ids[128];
            cr_assert_leq(nf, 128);
            memcpy(ids, of.hyps[0].ids, (size_t)nf * sizeof *ids);
            cr_assert_eq(tx_generate(sh, src, n, 1, &p, &oh, &e), TX_OK, "%s", e.message);
            cr_expect(nf == oh.hyps[0].n_ids &&
                          !memcmp(ids, oh.hyps[0].ids, (size_t)nf * sizeof *ids),
                      "\"%s\", %d beams: the f16 translation differs", texts[i], beams);
            tx_encoding_free(&enc);
        }
    tx_session_free(sf), tx_session_free(sh);
    tx_tokenizer_free(tok);
    tx_model_free(mf), tx_model_free(mh);
}

Test(f16, auto_keeps_f16_matrices_in_place_and_leaves_f32_checkpoints_alone)
{
    tx_model *h = tu_load_model("tests/fixtures/hf-tiny/marian-f16", TX_DTYPE_AUTO);
    cr_expect_str_eq(tx_model_get_info(h)->dtype, "F16");
    cr_expect_not_null(h->lm_head_q, "the F16 output projection was widened");
    cr_expect_eq(h->lm_head_fmt, TXI_W_F16);
    cr_expect_null(h->lm_head);
    cr_expect(h->dec.layers[0].fc1.q && h->dec.layers[0].fc1.q_f16 && !h->dec.layers[0].fc1.w,
              "a decoder feed-forward matrix was widened");
    tx_model_free(h);
    tx_model *f = tu_load_model("tests/fixtures/hf-tiny/marian", TX_DTYPE_AUTO);
    cr_expect_str_eq(tx_model_get_info(f)->dtype, "F32");
    cr_expect_null(f->lm_head_q);
    cr_expect(f->dec.layers[0].fc1.w && !f->dec.layers[0].fc1.q);
    tx_model_free(f);
}
