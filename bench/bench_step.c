/* bench_step.c — what one decoder step costs as rows are added: the roofline of batching.
 * For each row count R (a multiple of --beams), R / beams copies of one source go through one
 * tx_generate call with eos banned (every step runs, every row stays), for --steps steps; a
 * 1-step run of the same inputs (encoder, cross K/V, first step) is subtracted. Prints ms per
 * step, microseconds per row and the step's cost relative to the first row count's: batching
 * can raise a server's throughput at most by rows / relative cost.
 *
 *   bench_step --model DIR [--rows 4,8,16,32,64] [--beams 4] [--src 16] [--steps 24]
 *              [--reps 5] [--dtype auto|f32|f16|int8|w8a8] [--threads 1]
 *
 * The source is --src token ids spread over the vocabulary (not text: the step's cost depends
 * on lengths, not on words). Uses only the public API (tx.h). */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_common.h"
#include "tx.h"

/* Best of reps wall time of tx_generate over n copies of src (S tokens) with p; < 0 on error. */
static double best_time(tx_session *s, const int32_t **srcs, const int *lens, int n,
                        const struct tx_gen_params *p, int reps)
{
    struct tx_gen_out o;
    struct tx_error e = {0};
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double t0 = bench_wall_s();
        if (tx_generate(s, srcs, lens, n, p, &o, &e) != TX_OK) {
            fprintf(stderr, "bench_step: %s\n", e.message);
            return -1;
        }
        double t = bench_wall_s() - t0;
        if (t < best) best = t;
    }
    return best;
}

int main(int argc, char **argv)
{
    const char *dir = NULL;
    int rows[16] = {4, 8, 16, 32, 64}, n_rows = 5, beams = 4, S = 16, steps = 24, reps = 5;
    int threads = 1;
    struct tx_load_params lp = tx_load_default_params();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
        if (!strcmp(a, "--model"))
            dir = v, i++;
        else if (!strcmp(a, "--rows"))
            n_rows = bench_parse_list(v, rows, 16), i++;
        else if (!strcmp(a, "--beams"))
            beams = atoi(v), i++;
        else if (!strcmp(a, "--src"))
            S = atoi(v), i++;
        else if (!strcmp(a, "--steps"))
            steps = atoi(v), i++;
        else if (!strcmp(a, "--reps"))
            reps = atoi(v), i++;
        else if (!strcmp(a, "--threads"))
            threads = atoi(v), i++;
        else if (!strcmp(a, "--dtype")) {
            lp.dtype = bench_parse_dtype(v, TX_DTYPE_AUTO);
            i++;
        } else {
            fprintf(stderr, "bench_step: unknown argument %s\n", a);
            return 2;
        }
    }
    if (!dir || beams < 1 || S < 1 || steps < 2 || reps < 1 || n_rows < 1) {
        fprintf(stderr, "usage: bench_step --model DIR [--rows 4,8,16,32,64] [--beams 4] "
                        "[--src 16] [--steps 24] [--reps 5] [--dtype ...] [--threads 1]\n");
        return 2;
    }
    tx_blas_set_threads(threads);
    tx_model *m;
    tx_session *s;
    struct tx_error e = {0};
    if (tx_model_load_ex(dir, &lp, &m, &e) != TX_OK || tx_session_new(m, 0, &s, &e) != TX_OK) {
        fprintf(stderr, "bench_step: %s\n", e.message);
        return 1;
    }
    int vocab = tx_model_get_info(m)->vocab_size;
    int32_t *ids = malloc((size_t)S * sizeof *ids);
    for (int i = 0; i < S; i++)
        ids[i] = (int32_t)(5 + (i * 7919) % (vocab - 10));
    int max_inputs = 1;
    for (int k = 0; k < n_rows; k++)
        if (rows[k] / beams > max_inputs) max_inputs = rows[k] / beams;
    const int32_t **srcs = malloc((size_t)max_inputs * sizeof *srcs);
    int *lens = malloc((size_t)max_inputs * sizeof *lens);
    for (int i = 0; i < max_inputs; i++)
        srcs[i] = ids, lens[i] = S;
    printf("model %s (%s), beams %d, %d-token source, %d steps, best of %d, %d BLAS thread%s\n",
           dir, tx_model_get_info(m)->dtype, beams, S, steps, reps, threads,
           threads > 1 ? "s" : "");
    double base = 0;
    for (int k = 0; k < n_rows; k++) {
        int n = rows[k] / beams;
        if (n < 1) continue;
        struct tx_gen_params p = tx_model_gen_params(m);
        p.num_beams = beams;
        p.num_return_sequences = 1;
        p.do_sample = 0;
        p.forced_eos_token_id = -1;
        p.max_new_tokens = steps;
        p.min_length = steps + 1; /* eos banned: every step runs */
        best_time(s, srcs, lens, n, &p, 1); /* warm */
        double full = best_time(s, srcs, lens, n, &p, reps);
        p.max_new_tokens = 1;
        p.min_length = 0;
        double one = best_time(s, srcs, lens, n, &p, reps);
        if (full < 0 || one < 0) return 1;
        double step_ms = (full - one) / (steps - 1) * 1e3;
        if (base == 0) base = step_ms / (n * beams);
        int r = n * beams;
        printf("rows %3d: %.3f ms/step, %6.1f us/row, %.2fx the first count's cost per row\n", r,
               step_ms, step_ms * 1e3 / r, step_ms / r / base);
        fflush(stdout);
    }
    free(ids), free(srcs), free(lens);
    tx_session_free(s);
    tx_model_free(m);
    return 0;
}
