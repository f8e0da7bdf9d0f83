/* test_quant.c — int8 weights: the quantizer against hand-computed values, every int8 product
 * path (few rows on each CPU kernel, blocked with scratch, without scratch) against a naive
 * double loop over the dequantized matrix, and whole models loaded as int8 against the same
 * models in F32 (logits close, translations of the shipped translator mostly the same). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"
#include "quant.h"
#include "testutil.h"
#include "tx.h"

Test(quant, quantizes_each_row_symmetrically_to_its_own_scale)
{
    const float w[3][4] = {
        {0.0f, 1.0f, -2.0f, 0.5f}, {0.0f, 0.0f, 0.0f, 0.0f}, {127.0f, -63.5f, 1.0f, 0.4f}};
    int8_t q[12];
    float s[3];
    txi_q8_quantize(&w[0][0], 3, 4, q, s);
    /* row 0: max |w| = 2 -> scale 2/127; 1 / (2/127) = 63.5 rounds away from zero to 64 */
    cr_expect_float_eq(s[0], 2.0f / 127.0f, 1e-9f);
    const int8_t q0[4] = {0, 64, -127, 32};
    cr_expect_arr_eq(q, q0, 4);
    /* an all-zero row keeps scale 1 and zeros */
    cr_expect_eq(s[1], 1.0f);
    for (int t = 4; t < 8; t++)
        cr_expect_eq(q[t], 0);
    /* row 2: scale 1 exactly; -63.5 -> -64, 0.4 -> 0 */
    cr_expect_eq(s[2], 1.0f);
    const int8_t q2[4] = {127, -64, 1, 0};
    cr_expect_arr_eq(q + 8, q2, 4);
    float row[4];
    txi_q8_row(q, s, 4, 2, 2.0f, row);
    cr_expect_eq(row[0], 254.0f);
    cr_expect_eq(row[1], -128.0f);
}

/* c (m, n) by a double-precision loop over the dequantized weights (q[j][t] * scale[j]). */
static void naive(int m, int n, int k, float alpha, const float *a, const int8_t *q,
                  const float *scale, float beta, const float *bias, const float *c0, double *c)
{
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            double d = 0;
            for (int t = 0; t < k; t++)
                d += (double)((float)q[(size_t)j * k + t] * scale[j]) * a[(size_t)i * k + t];
            c[(size_t)i * n + j] = alpha * d + beta * c0[(size_t)i * n + j] + (bias ? bias[j] : 0);
        }
}

enum path { WITH_WS, NO_WS, PORTABLE };

static void check(int m, int n, int k, enum path path, uint64_t *rng)
{
    float *a = malloc((size_t)m * k * sizeof *a), *w = malloc((size_t)n * k * sizeof *w);
    float *c = malloc((size_t)m * n * sizeof *c), *c0 = malloc((size_t)m * n * sizeof *c0);
    float *bias = malloc((size_t)n * sizeof *bias), *scale = malloc((size_t)n * sizeof *scale);
    int8_t *q = malloc((size_t)n * k);
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
    txi_q8_quantize(w, n, k, q, scale);
    float alpha = 0.75f, beta = path == WITH_WS ? 0.0f : 0.5f;
    const float *b = (m + n) % 2 ? bias : NULL;
    size_t n_ws = txi_gemm_ws_floats(m, n, k) + txi_q8_ws_floats(m, n, k);
    float *buf = n_ws ? malloc(n_ws * sizeof *buf) : NULL;
    struct txi_gemm_ws ws = {buf, n_ws, 0, NULL};
    if (path == PORTABLE)
        txi_q8_small_m_portable(m, n, k, alpha, a, k, q, scale, beta, b, c, n);
    else
        txi_q8_matmul_nt(m, n, k, alpha, a, k, q, scale, beta, b, c, n,
                         path == WITH_WS ? &ws : NULL);
    naive(m, n, k, alpha, a, q, scale, beta, b, c0, ref);
    for (int i = 0; i < m * n; i++)
        cr_assert(fabs(c[i] - ref[i]) <= 1e-5 * (1 + fabs(ref[i])) * sqrt(k),
                  "m=%d n=%d k=%d path %d: c[%d] = %.7g, expected %.7g", m, n, k, path, i, c[i],
                  ref[i]);
    free(a), free(w), free(c), free(c0), free(bias), free(scale), free(q), free(ref), free(buf);
}

Test(quant, int8_products_equal_a_naive_loop_on_every_path_and_shape)
{
    uint64_t rng = 42;
    const int ms[] = {1, 2, 3, 4, 5, 7, 16, 17, 33, 100};
    const int ns[] = {1, 3, 5, 64, 130};
    const int ks[] = {1, 7, 16, 33, 64, 257};
    for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++)
        for (size_t j = 0; j < sizeof ns / sizeof ns[0]; j++)
            for (size_t t = 0; t < sizeof ks / sizeof ks[0]; t++) {
                check(ms[i], ns[j], ks[t], WITH_WS, &rng);
                check(ms[i], ns[j], ks[t], NO_WS, &rng);
                if (ms[i] <= 16) check(ms[i], ns[j], ks[t], PORTABLE, &rng);
            }
}

Test(quant, a_linear_layer_with_int8_weights_adds_its_bias)
{
    uint64_t rng = 7;
    float w[6 * 20], x[3 * 20], b[6], y[18], scale[6];
    int8_t q[6 * 20];
    for (int i = 0; i < 120; i++)
        w[i] = tu_rand_uniform(&rng, -1, 1);
    for (int i = 0; i < 60; i++)
        x[i] = tu_rand_uniform(&rng, -1, 1);
    for (int i = 0; i < 6; i++)
        b[i] = (float)i;
    txi_q8_quantize(w, 6, 20, q, scale);
    struct txi_linear l = {NULL, b, 20, 6, q, scale, 0, 0, 0};
    txi_linear_fwd(&l, x, 3, y, NULL);
    for (int r = 0; r < 3; r++)
        for (int j = 0; j < 6; j++) {
            double d = b[j];
            for (int t = 0; t < 20; t++)
                d += (double)((float)q[j * 20 + t] * scale[j]) * x[r * 20 + t];
            cr_expect(fabs(y[r * 6 + j] - d) < 1e-5, "y[%d][%d] = %g, expected %g", r, j,
                      y[r * 6 + j], d);
        }
}

Test(quant, int8_models_give_logits_close_to_f32_for_every_architecture)
{
    /* t5-gated has a gated feed-forward (wi_0, wi_1): its gate must be quantized and used */
    static const char *dirs[] = {
        "tests/fixtures/hf-tiny/marian",    "tests/fixtures/hf-tiny/bart",
        "tests/fixtures/hf-tiny/t5",        "tests/fixtures/hf-tiny/marian-f16",
        "tests/fixtures/variants/t5-gated", "tests/fixtures/variants/mbart"};
    const int32_t src_ids[] = {12, 40, 77, 3, 91, 15, 33, 20, 2};
    for (size_t d = 0; d < sizeof dirs / sizeof dirs[0]; d++) {
        tx_model *mf = tu_load_model(dirs[d], TX_DTYPE_AUTO),
                 *mq = tu_load_model(dirs[d], TX_DTYPE_INT8);
        cr_expect_str_eq(tx_model_get_info(mq)->dtype, "int8");
        int V = tx_model_get_info(mf)->vocab_size;
        int32_t src[9];
        for (int i = 0; i < 9; i++)
            src[i] = src_ids[i] % V;
        const int32_t dec[] = {tx_model_gen_params(mf).decoder_start_token_id, 5, 9, 14};
        tx_session *sf = NULL, *sq = NULL;
        struct tx_error e = {0};
        cr_assert_eq(tx_session_new(mf, 0, &sf, &e), TX_OK, "%s", e.message);
        cr_assert_eq(tx_session_new(mq, 0, &sq, &e), TX_OK, "%s", e.message);
        struct tx_forward_out of, oq;
        cr_assert_eq(tx_forward(sf, src, 9, dec, 4, 0, &of, &e), TX_OK, "%s", e.message);
        cr_assert_eq(tx_forward(sq, src, 9, dec, 4, 0, &oq, &e), TX_OK, "%s", e.message);
        double max_diff = 0, max_abs = 0;
        for (int i = 0; i < of.n_tgt * of.vocab; i++) {
            max_diff = fmax(max_diff, fabs(of.logits[i] - oq.logits[i]));
            max_abs = fmax(max_abs, fabs(of.logits[i]));
        }
        /* per-row int8 keeps about 2.5 significant digits per weight; on these random tiny
         * models the logits move by 1-9% of their largest value (9%: t5-gated, whose gate
         * multiplies two quantized products), while a skipped or misread layer moves them by
         * about 100% (the gate skipped: 106%) */
        fprintf(stderr, "%s: int8 logits differ by %.4g, largest %.4g\n", dirs[d], max_diff,
                max_abs);
        cr_expect_lt(max_diff, 0.12 * max_abs, "%s: logits differ by %g (largest |logit| %g)",
                     dirs[d], max_diff, max_abs);
        cr_expect_gt(max_diff, 0.0, "%s: int8 changed nothing: were the weights quantized?",
                     dirs[d]);
        tx_session_free(sf), tx_session_free(sq);
        tx_model_free(mf), tx_model_free(mq);
    }
}

Test(quant, the_shipped_translator_in_int8_translates_like_f32, .timeout = 120)
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
    tx_model *mf = tu_load_model(dir, TX_DTYPE_AUTO), *mq = tu_load_model(dir, TX_DTYPE_INT8);
    tx_tokenizer *tok = NULL;
    struct tx_error e = {0};
    cr_assert_eq(tx_tokenizer_load(dir, &tok, &e), TX_OK, "%s", e.message);
    tx_session *sf = NULL, *sq = NULL;
    cr_assert_eq(tx_session_new(mf, 0, &sf, &e), TX_OK, "%s", e.message);
    cr_assert_eq(tx_session_new(mq, 0, &sq, &e), TX_OK, "%s", e.message);
    int same = 0;
    for (int i = 0; i < 8; i++) {
        struct tx_encoding enc;
        cr_assert_eq(tx_tokenizer_encode(tok, texts[i], strlen(texts[i]), TX_SIDE_SOURCE, &enc, &e),
                     TX_OK, "%s", e.message);
        struct tx_gen_params p = tx_model_gen_params(mf);
        p.num_beams = 4;
        p.max_new_tokens = 64;
        const int32_t *src[1] = {enc.ids};
        int n[1] = {enc.n_ids};
        struct tx_gen_out of, oq;
        cr_assert_eq(tx_generate(sf, src, n, 1, &p, &of, &e), TX_OK, "%s", e.message);
        /* copy the F32 result: the session's next call reuses its memory */
        int nf = of.hyps[0].n_ids;
        int32_t ids[128];
        cr_assert_leq(nf, 128);
        memcpy(ids, of.hyps[0].ids, (size_t)nf * sizeof *ids);
        cr_assert_eq(tx_generate(sq, src, n, 1, &p, &oq, &e), TX_OK, "%s", e.message);
        same += nf == oq.hyps[0].n_ids && !memcmp(ids, oq.hyps[0].ids, (size_t)nf * sizeof *ids);
        tx_encoding_free(&enc);
    }
    fprintf(stderr, "int8: %d of 8 translations identical to F32\n", same);
    cr_expect_geq(same, 6, "only %d of 8 int8 translations equal the F32 ones", same);
    tx_session_free(sf), tx_session_free(sq);
    tx_tokenizer_free(tok);
    tx_model_free(mf), tx_model_free(mq);
}

/* w8a8 (int8 weights, int8 activations, VNNI): against a reference written from the contract
 * in quant.h (each row of A quantized alone: s = max|a| / 127, round to nearest even, clamp to
 * +-127; exact integer dot products; (float)dot * (s * scale)), bit for bit, over shapes with
 * and without a 64-byte tail, 1 to 40 rows, with a bias; and within the quantization error of
 * the F32 product. */
/* c (m, n) against the contract of txi_w8a8_matmul_nt (quant.h) computed here from the row-major
 * int8 q (scales ss): bit for bit; and against the F32 product with w within the rounding of the
 * weights and activations. */
static void expect_w8a8_reference(int m, int n, int k, const float *a, const float *w,
                                  const int8_t *q, const float *ss, const float *bias,
                                  const float *c)
{
    for (int r = 0; r < m; r++) {
        const float *ar = a + (size_t)r * k;
        float amax = 0.0f;
        for (int t = 0; t < k; t++)
            amax = fabsf(ar[t]) > amax ? fabsf(ar[t]) : amax;
        float s = amax > 0.0f ? amax / 127.0f : 1.0f, inv = 1.0f / s;
        for (int j = 0; j < n; j++) {
            long dot = 0;
            double f32 = bias[j];
            for (int t = 0; t < k; t++) {
                float v = nearbyintf(ar[t] * inv);
                v = v > 127.0f ? 127.0f : v < -127.0f ? -127.0f : v;
                dot += (long)v * q[(size_t)j * k + t];
                f32 += (double)ar[t] * w[(size_t)j * k + t];
            }
            float want = (float)dot * (s * ss[j]) + bias[j];
            float got = c[(size_t)r * n + j];
            cr_assert_eq(got, want, "m %d n %d k %d [%d][%d]: %.9g vs %.9g", m, n, k, r, j, got,
                         want);
            /* weight and activation rounding: at most half a step each per term */
            double bound = 0.5 * (double)s * k * 0.5 + 0.5 * (double)ss[j] * k * 3.0 + 1e-3;
            cr_assert(fabs(got - f32) <= bound, "far from F32: %g vs %g", got, f32);
        }
    }
}

/* A random (n, k) matrix w, its int8 rows q (row-major, then the packing after them: n k +
 * txi_w8a8_packed_bytes bytes) and ss (scales, then row sums), as dtype w8a8 loads them. */
static void make_w8a8(int n, int k, uint64_t *rs, float **w, int8_t **q, float **ss)
{
    *w = malloc((size_t)n * k * sizeof(float));
    *q = malloc((size_t)n * k + txi_w8a8_packed_bytes(n, k));
    *ss = malloc((size_t)n * 2 * sizeof(float));
    cr_assert(*w && *q && *ss);
    for (size_t i = 0; i < (size_t)n * k; i++)
        (*w)[i] = tu_rand_uniform(rs, -0.5f, 0.5f);
    txi_q8_quantize(*w, n, k, *q, *ss);
    txi_w8a8_pack(*q, n, k, *q + (size_t)n * k);
    for (int j = 0; j < n; j++) {
        long sum = 0;
        for (int t = 0; t < k; t++)
            sum += (*q)[(size_t)j * k + t];
        (*ss)[n + j] = (float)sum;
    }
}

/* dtype w8a8 keeps only the packing: an embedding row read out of it (txi_lp_row) is the int8
 * row's, bit for bit, for rows in every position of the 64-row blocks and k not a multiple of
 * 4. */
Test(w8a8, a_row_read_out_of_the_packing_equals_the_int8_row)
{
    const int shapes[][2] = {{1, 4}, {70, 130}, {130, 257}, {64, 512}};
    uint64_t rs = 5;
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        int n = shapes[si][0], k = shapes[si][1];
        float *w, *ss;
        int8_t *q;
        make_w8a8(n, k, &rs, &w, &q, &ss);
        float *got = malloc((size_t)k * sizeof(float)), *want = malloc((size_t)k * sizeof(float));
        for (int j = 0; j < n; j++) {
            txi_lp_row(TXI_W_Q8A8, q + (size_t)n * k, ss, k, j, 16.0f, got);
            txi_lp_row(TXI_W_Q8, q, ss, k, j, 16.0f, want);
            cr_assert_eq(memcmp(got, want, (size_t)k * sizeof(float)), 0, "n %d k %d row %d", n, k,
                         j);
            cr_assert_eq(want[k - 1], (float)q[(size_t)j * k + k - 1] * ss[j] * 16.0f);
        }
        free(w), free(q), free(ss), free(got), free(want);
    }
}

/* Where the VNNI kernel cannot run (k past TXI_W8A8_MAX_K here; any k on CPUs without it), a
 * TXI_W_Q8A8 product still gives the contract's numbers, through a scalar loop. */
Test(w8a8, past_the_kernel_a_scalar_loop_gives_the_same_numbers)
{
    int m = 3, n = 19, k = TXI_W8A8_MAX_K + 5;
    uint64_t rs = 17;
    float *w, *ss;
    int8_t *q;
    make_w8a8(n, k, &rs, &w, &q, &ss);
    float *a = malloc((size_t)m * k * sizeof(float)), *bias = malloc((size_t)n * sizeof(float));
    float *c = malloc((size_t)m * n * sizeof(float));
    for (int i = 0; i < m * k; i++)
        a[i] = tu_rand_uniform(&rs, -3.0f, 3.0f);
    for (int j = 0; j < n; j++)
        bias[j] = tu_rand_uniform(&rs, -1.0f, 1.0f);
    a[k] = 0.0f; /* the second row all zero: scale 1 */
    memset(a + k, 0, (size_t)k * sizeof(float));
    cr_assert_eq(txi_w8a8_matmul_nt(m, n, k, 1.0f, a, k, q + (size_t)n * k, ss, 0.0f, bias, c, n),
                 0, "the kernel declines k > TXI_W8A8_MAX_K");
    txi_lp_matmul_nt(TXI_W_Q8A8, m, n, k, 1.0f, a, k, q + (size_t)n * k, ss, 0.0f, bias, c, n,
                     NULL);
    expect_w8a8_reference(m, n, k, a, w, q, ss, bias, c);
    free(w), free(q), free(ss), free(a), free(bias), free(c);
}

Test(w8a8, matches_the_reference_bit_for_bit_and_f32_within_quantization_error)
{
    if (!txi_w8a8_available()) TU_SKIP("SKIP: this CPU has no AVX-512 VNNI");
    const int shapes[][3] = {{1, 8, 64}, {3, 13, 100}, {17, 40, 256}, {40, 9, 130}, {5, 70, 512}};
    uint64_t rs = 99;
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        int m = shapes[si][0], n = shapes[si][1], k = shapes[si][2];
        float *a = malloc((size_t)m * k * sizeof(float)), *w = malloc((size_t)n * k * sizeof(float));
        float *bias = malloc((size_t)n * sizeof(float));
        for (int i = 0; i < m * k; i++)
            a[i] = tu_rand_uniform(&rs, -3.0f, 3.0f);
        for (int i = 0; i < n * k; i++)
            w[i] = tu_rand_uniform(&rs, -0.5f, 0.5f);
        for (int j = 0; j < n; j++)
            bias[j] = tu_rand_uniform(&rs, -1.0f, 1.0f);
        a[0] = 0.0f; /* a zero and an extreme value in the first row */
        a[1] = -7.5f;
        int8_t *q = malloc((size_t)n * k + txi_w8a8_packed_bytes(n, k));
        float *ss = malloc((size_t)n * 2 * sizeof(float));
        txi_q8_quantize(w, n, k, q, ss);
        txi_w8a8_pack(q, n, k, q + (size_t)n * k);
        for (int j = 0; j < n; j++) {
            long sum = 0;
            for (int t = 0; t < k; t++)
                sum += q[(size_t)j * k + t];
            ss[n + j] = (float)sum;
        }
        float *c = malloc((size_t)m * n * sizeof(float));
        const int8_t *packed = q + (size_t)n * k;
        cr_assert(txi_w8a8_matmul_nt(m, n, k, 1.0f, a, k, packed, ss, 0.0f, bias, c, n));
        expect_w8a8_reference(m, n, k, a, w, q, ss, bias, c);
        /* txi_lp_matmul_nt runs it for TXI_W_Q8A8, and m rows give each row what it gives alone */
        float *c2 = malloc((size_t)m * n * sizeof(float));
        txi_lp_matmul_nt(TXI_W_Q8A8, m, n, k, 1.0f, a, k, packed, ss, 0.0f, bias, c2, n, NULL);
        cr_assert_eq(memcmp(c, c2, (size_t)m * n * sizeof(float)), 0);
        for (int r = 0; r < m; r++) {
            txi_lp_matmul_nt(TXI_W_Q8A8, 1, n, k, 1.0f, a + (size_t)r * k, k, packed, ss, 0.0f,
                             bias, c2, n, NULL);
            cr_assert_eq(memcmp(c + (size_t)r * n, c2, (size_t)n * sizeof(float)), 0);
        }
        free(a), free(w), free(bias), free(q), free(ss), free(c), free(c2);
    }
}
