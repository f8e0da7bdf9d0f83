/* test_rnn.c — the rnn_seq2seq architecture against its PyTorch reference (tools/train/rnn.py,
 * fixtures by tools/train/make_rnn_fixtures.py in tests/fixtures/rnn/): every variant (LSTM/GRU,
 * additive/dot/general, input feeding on/off, uni/bidirectional, stacked layers, local window and
 * top-k hard attention): teacher-forced logits and the attention map within 1e-4, greedy and beam
 * ids exactly (transformers' search rules), and each decoded inside a decode group of others
 * bit for bit as alone. Broken files name the file and field. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fixture_cases.h"
#include "testutil.h"
#include "tx.h"

#define RNN_DIR "tests/fixtures/rnn"
#define TOL 1e-4

static const char *const variants[] = {"lstm-additive",    "lstm-dot-feed",
                                       "lstm-general",     "gru-additive-uni",
                                       "gru-general-feed", "lstm-general-local-top2"};
#define N_VARIANTS (sizeof variants / sizeof variants[0])

static json_t *load_cases(const char *dir)
{
    char path[512];
    snprintf(path, sizeof path, "%s/cases.json", dir);
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    cr_assert_not_null(root, "%s: %s (line %d)", path, je.text, je.line);
    return root;
}

static void check_ids(const struct tx_hypothesis *h, const json_t *want, const char *what)
{
    int n;
    int32_t *w = fx_ints(want, &n);
    cr_assert_eq(h->n_ids, n, "%s: %d ids, reference %d", what, h->n_ids, n);
    for (int i = 0; i < n; i++)
        cr_assert_eq(h->ids[i], w[i], "%s: id %d is %d, reference %d", what, i, h->ids[i], w[i]);
    free(w);
}

static void run_variant(const char *name, tx_dtype dtype)
{
    char dir[256];
    snprintf(dir, sizeof dir, RNN_DIR "/%s", name);
    tx_model *m = tu_load_model(dir, dtype);
    const struct tx_model_info *in = tx_model_get_info(m);
    cr_assert_eq(in->arch, TX_ARCH_RNN);
    cr_assert_eq(in->self_attention, 0);
    cr_assert_not_null(in->cell);
    tx_session *s;
    struct tx_error e = {0};
    cr_assert_eq(tx_session_new(m, 0, &s, &e), TX_OK, "%s", e.message);
    json_t *root = load_cases(dir);
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(root, "cases"), i, c)
    {
        char what[160];
        int n_src, n_tgt;
        int32_t *src = fx_ints(json_object_get(c, "input_ids"), &n_src);
        int32_t *tgt = fx_ints(json_object_get(c, "decoder_input_ids"), &n_tgt);
        struct tx_forward_out o;
        cr_assert_eq(tx_forward(s, src, n_src, tgt, n_tgt, TX_FORWARD_ATTENTIONS, &o, &e), TX_OK,
                     "%s: %s", name, e.message);
        cr_assert_eq(o.n_enc_layers, 0);
        cr_assert_eq(o.n_dec_layers, 1);
        cr_assert_eq(o.n_heads, 1);
        size_t n;
        double *want = fx_numbers(json_object_get(c, "logits"), &n);
        cr_assert_eq(n, (size_t)n_tgt * o.vocab);
        snprintf(what, sizeof what, "%s case %zu logits", name, i);
        fx_assert_close(o.logits, want, n, TOL, what);
        free(want);
        want = fx_numbers(json_object_get(c, "cross_attentions"), &n);
        cr_assert_eq(n, (size_t)n_tgt * n_src);
        snprintf(what, sizeof what, "%s case %zu attention", name, i);
        fx_assert_close(o.cross_attentions, want, n, TOL, what);
        free(want);

        struct tx_gen_params p = tx_model_gen_params(m);
        p.max_length = (int)json_integer_value(json_object_get(c, "max_length"));
        const int32_t *srcs[1] = {src};
        struct tx_gen_out g;
        p.num_beams = 1;
        cr_assert_eq(tx_generate(s, srcs, &n_src, 1, &p, &g, &e), TX_OK, "%s", e.message);
        snprintf(what, sizeof what, "%s case %zu greedy", name, i);
        check_ids(&g.hyps[0], json_object_get(c, "greedy_ids"), what);
        p.num_beams = (int)json_integer_value(json_object_get(c, "num_beams"));
        cr_assert_eq(tx_generate(s, srcs, &n_src, 1, &p, &g, &e), TX_OK, "%s", e.message);
        snprintf(what, sizeof what, "%s case %zu beam", name, i);
        check_ids(&g.hyps[0], json_object_get(c, "beam_ids"), what);
        double ws = json_number_value(json_object_get(c, "beam_score"));
        cr_assert(fabs(g.hyps[0].score - ws) <= TOL, "%s: score %.7g, reference %.7g", what,
                  (double)g.hyps[0].score, ws);
        free(src);
        free(tgt);
    }
    json_decref(root);
    tx_session_free(s);
    tx_model_free(m);
}

Test(rnn, every_variant_matches_the_pytorch_reference)
{
    for (size_t v = 0; v < N_VARIANTS; v++)
        run_variant(variants[v], TX_DTYPE_F32);
}

Test(rnn, every_variant_matches_with_weights_as_stored)
{
    for (size_t v = 0; v < N_VARIANTS; v++)
        run_variant(variants[v], TX_DTYPE_AUTO);
}

/* All cases of a variant decoded together (greedy and beam members joining one decode group
 * at different steps) must equal each alone, bit for bit: the recurrent state of a row is its
 * slot's, and every product is row-wise. In F32, int8 and w8a8. */
static void group_equals_alone(tx_dtype dtype);
Test(rnn, members_of_a_decode_group_equal_each_alone)
{
    group_equals_alone(TX_DTYPE_F32);
    group_equals_alone(TX_DTYPE_INT8);
    group_equals_alone(TX_DTYPE_W8A8);
}

static void group_equals_alone(tx_dtype dtype)
{
    for (size_t v = 0; v < N_VARIANTS; v++) {
        char dir[256];
        snprintf(dir, sizeof dir, RNN_DIR "/%s", variants[v]);
        tx_model *m = tu_load_model(dir, dtype);
        tx_session *s;
        struct tx_error e = {0};
        cr_assert_eq(tx_session_new(m, 0, &s, &e), TX_OK, "%s", e.message);
        json_t *root = load_cases(dir);
        const json_t *cases = json_object_get(root, "cases");
        int nc = (int)json_array_size(cases);
        int32_t *src[8];
        int n_src[8];
        struct tx_hypothesis alone[8];
        int32_t *alone_ids[8];
        struct tx_gen_params p[8];
        for (int k = 0; k < 2 * nc; k++) { /* each case greedy, then with 3 beams */
            const json_t *c = json_array_get(cases, (size_t)(k % nc));
            src[k] = fx_ints(json_object_get(c, "input_ids"), &n_src[k]);
            p[k] = tx_model_gen_params(m);
            p[k].max_length = 12;
            p[k].num_beams = k < nc ? 1 : 3;
            struct tx_gen_out g;
            const int32_t *one[1] = {src[k]};
            cr_assert_eq(tx_generate(s, one, &n_src[k], 1, &p[k], &g, &e), TX_OK, "%s",
                         e.message);
            alone[k] = g.hyps[0];
            alone_ids[k] = malloc((size_t)g.hyps[0].n_ids * sizeof(int32_t));
            memcpy(alone_ids[k], g.hyps[0].ids, (size_t)g.hyps[0].n_ids * sizeof(int32_t));
        }
        struct tx_group_params gp = {.max_rows = 16,
                                     .max_member_rows = 3,
                                     .max_members = 8,
                                     .max_length = 12,
                                     .max_src_tokens = 64};
        tx_group *grp;
        cr_assert_eq(tx_group_new(s, &gp, &grp, &e), TX_OK, "%s", e.message);
        uint64_t ids[8];
        int added = 0, done = 0;
        for (int stepno = 0; done < 2 * nc && stepno < 200; stepno++) {
            if (added < 2 * nc && stepno % 2 == 0) { /* one joins every other step */
                cr_assert_eq(tx_group_add(grp, src[added], n_src[added], &p[added], &ids[added],
                                          &e),
                             TX_OK, "%s", e.message);
                added++;
            }
            int rows;
            cr_assert_eq(tx_group_step(grp, &rows, &e), TX_OK, "%s", e.message);
            done = 0;
            for (int k = 0; k < added; k++)
                if (tx_group_state(grp, ids[k], NULL) == TX_MEMBER_DONE) done++;
        }
        cr_assert_eq(done, 2 * nc, "%s: members did not finish", variants[v]);
        for (int k = 0; k < 2 * nc; k++) {
            struct tx_gen_out g;
            cr_assert_eq(tx_group_result(grp, ids[k], &g, &e), TX_OK, "%s", e.message);
            cr_assert_eq(g.hyps[0].n_ids, alone[k].n_ids, "%s member %d", variants[v], k);
            cr_assert_eq(memcmp(g.hyps[0].ids, alone_ids[k],
                                (size_t)alone[k].n_ids * sizeof(int32_t)),
                         0, "%s member %d: ids differ from alone", variants[v], k);
            cr_assert_eq(memcmp(&g.hyps[0].score, &alone[k].score, sizeof(float)), 0,
                         "%s member %d: score %.9g alone %.9g", variants[v], k,
                         (double)g.hyps[0].score, (double)alone[k].score);
            free(src[k]);
            free(alone_ids[k]);
        }
        json_decref(root);
        tx_session_free(s);
        tx_model_free(m);
    }
}

/* A broken config or a missing tensor is an error naming the file and the field/tensor. */
Test(rnn, broken_folders_name_the_file_and_field)
{
    char tmp[] = "/tmp/attnserve-rnn-XXXXXX";
    cr_assert_not_null(mkdtemp(tmp));
    char path[512], cmd[2048];
    snprintf(cmd, sizeof cmd, "cp " RNN_DIR "/lstm-additive/*.json " RNN_DIR
                              "/lstm-additive/model.safetensors %s/", tmp);
    cr_assert_eq(system(cmd), 0);
    snprintf(path, sizeof path, "%s/config.json", tmp);
    static const struct {
        const char *sed, *want;
    } cases[] = {
        {"s/\"attention\": \"additive\"/\"attention\": \"cosine\"/", "\"attention\""},
        {"s/\"cell\": \"lstm\"/\"cell\": \"rnn\"/", "\"cell\""},
        {"s/\"hidden_size\": 12/\"hidden_size\": 13/", "hidden_size"},
        {"s/\"attention\": \"additive\"/\"attention\": \"general\"/", "decoder.attention.W"},
        {"s/\"encoder_layers\": 2/\"encoder_layers\": 3/", "encoder.rnn.weight_ih_l2"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(cmd, sizeof cmd,
                 "cp " RNN_DIR "/lstm-additive/config.json %s && sed -i '%s' %s && "
                 "grep -q . %s",
                 path, cases[i].sed, path, path);
        cr_assert_eq(system(cmd), 0);
        tx_model *m = NULL;
        struct tx_error e = {0};
        cr_assert_neq(tx_model_load(tmp, &m, &e), TX_OK, "case %zu loaded", i);
        cr_assert_not_null(strstr(e.message, cases[i].want), "case %zu: \"%s\" lacks %s", i,
                           e.message, cases[i].want);
    }
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    cr_assert_eq(system(cmd), 0);
}
