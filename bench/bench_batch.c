/* bench_batch.c — sentences per second of the engine when sentences are decoded together: the
 * same N sentences through tx_text_generate as one batch (a tx_generate call over N inputs: one
 * decode group whose members all join at once), for several N, greedy and beam search; and
 * through one long-lived decode group fed continuously (members join as others finish, at most
 * N rows), which is what a continuous-batching server does. Uses only the public API (tx.h), so
 * the same file builds against an older library for a side-by-side comparison.
 *
 *   bench_batch --model DIR --text FILE [--n 400] [--batch 1,8,32] [--beams 1,4] [--threads 1]
 *               [--dtype auto|f32|f16|int8] [--no-group]
 *
 * FILE holds one sentence a line (plain or the first --n lines of it). Prints one line per
 * (beams, batch): sentences/s, generated tokens/s, and the wall time. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_common.h"
#include "tx.h"

/* Reads up to max lines of path (newlines stripped); returns how many. */
static int read_lines(const char *path, char **lines, int max)
{
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    int n = 0;
    char *buf = NULL;
    size_t cap = 0;
    ssize_t len;
    while (n < max && (len = getline(&buf, &cap, f)) > 0) {
        while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
            buf[--len] = 0;
        if (len == 0) continue;
        lines[n++] = strdup(buf);
    }
    free(buf);
    fclose(f);
    return n;
}

/* All sentences, batch by batch, through tx_text_generate. Returns generated tokens. */
static long run_batches(tx_session *s, const tx_tokenizer *tok, char **lines, int n, int batch,
                        const struct tx_text_params *tp)
{
    long tokens = 0;
    size_t *lens = malloc((size_t)batch * sizeof *lens);
    for (int i0 = 0; i0 < n; i0 += batch) {
        int nb = n - i0 < batch ? n - i0 : batch;
        for (int i = 0; i < nb; i++)
            lens[i] = strlen(lines[i0 + i]);
        struct tx_text_result *res;
        struct tx_error e = {0};
        if (tx_text_generate(s, tok, (const char *const *)lines + i0, lens, nb, tp, &res, &e) !=
            TX_OK) {
            fprintf(stderr, "bench_batch: %s\n", e.message);
            exit(1);
        }
        for (int i = 0; i < res->n_items; i++)
            tokens += res->items[i].n_output_tokens;
        tx_text_result_free(res);
    }
    free(lens);
    return tokens;
}

#ifndef BENCH_BATCH_NO_GROUP
/* All sentences through one decode group of at most `rows` rows: each joins as soon as it fits
 * (in order), finished ones leave. Returns generated tokens. */
static long run_group(tx_session *s, const tx_tokenizer *tok, char **lines, int n, int rows,
                      const struct tx_gen_params *p)
{
    int per = p->num_beams > 1 ? p->num_beams : 1;
    struct tx_group_params gp = {.max_rows = rows < per ? per : rows,
                                 .max_member_rows = per,
                                 .max_members = rows < per ? 1 : rows / per,
                                 .max_length = p->max_length,
                                 .max_src_tokens = 512 * (rows < per ? 1 : rows / per)};
    tx_group *g;
    struct tx_error e = {0};
    if (tx_group_new(s, &gp, &g, &e) != TX_OK) {
        fprintf(stderr, "bench_batch: %s\n", e.message);
        exit(1);
    }
    struct tx_encoding *enc = calloc((size_t)n, sizeof *enc);
    for (int i = 0; i < n; i++)
        if (tx_tokenizer_encode(tok, lines[i], strlen(lines[i]), TX_SIDE_SOURCE, &enc[i], &e) !=
            TX_OK) {
            fprintf(stderr, "bench_batch: %s\n", e.message);
            exit(1);
        }
    uint64_t *ids = calloc((size_t)n, sizeof *ids);
    long tokens = 0;
    int next = 0, done = 0;
    while (done < n) {
        while (next < n && tx_group_fits(g, enc[next].n_ids, p)) {
            if (tx_group_add(g, enc[next].ids, enc[next].n_ids, p, &ids[next], &e) != TX_OK) {
                fprintf(stderr, "bench_batch: %s\n", e.message);
                exit(1);
            }
            next++;
        }
        tx_group_step(g, NULL, &e);
        for (int i = done; i < next; i++) {
            if (!ids[i] || tx_group_state(g, ids[i], NULL) != TX_MEMBER_DONE) continue;
            struct tx_gen_out o;
            tx_group_result(g, ids[i], &o, &e);
            tokens += o.hyps[0].n_ids - 1;
            tx_group_remove(g, ids[i]);
            ids[i] = 0;
        }
        while (done < next && !ids[done])
            done++;
    }
    for (int i = 0; i < n; i++)
        tx_encoding_free(&enc[i]);
    free(enc);
    free(ids);
    tx_group_free(g);
    return tokens;
}
#endif

int main(int argc, char **argv)
{
    const char *dir = NULL, *text = NULL;
    int n = 400, batches[16] = {1, 8, 32}, n_batches = 3, beams[8] = {1, 4}, n_beams = 2;
    int threads = 1, group = 1;
    struct tx_load_params lp = tx_load_default_params();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
        if (!strcmp(a, "--model"))
            dir = v, i++;
        else if (!strcmp(a, "--text"))
            text = v, i++;
        else if (!strcmp(a, "--n"))
            n = atoi(v), i++;
        else if (!strcmp(a, "--batch"))
            n_batches = bench_parse_list(v, batches, 16), i++;
        else if (!strcmp(a, "--beams"))
            n_beams = bench_parse_list(v, beams, 8), i++;
        else if (!strcmp(a, "--threads"))
            threads = atoi(v), i++;
        else if (!strcmp(a, "--no-group"))
            group = 0;
        else if (!strcmp(a, "--dtype")) {
            lp.dtype = bench_parse_dtype(v, TX_DTYPE_AUTO);
            i++;
        } else {
            fprintf(stderr, "bench_batch: unknown argument %s\n", a);
            return 2;
        }
    }
    if (!dir || !text || n < 1) {
        fprintf(stderr, "usage: bench_batch --model DIR --text FILE [--n 400] [--batch 1,8,32] "
                        "[--beams 1,4] [--threads 1] [--dtype auto|f32|f16|int8] [--no-group]\n");
        return 2;
    }
    tx_blas_set_threads(threads);
    char **lines = calloc((size_t)n, sizeof *lines);
    n = read_lines(text, lines, n);
    if (n <= 0) {
        fprintf(stderr, "bench_batch: no lines in %s\n", text);
        return 1;
    }
    tx_model *m;
    tx_tokenizer *tok;
    tx_session *s;
    struct tx_error e = {0};
    if (tx_model_load_ex(dir, &lp, &m, &e) != TX_OK || tx_tokenizer_load(dir, &tok, &e) != TX_OK ||
        tx_session_new(m, 0, &s, &e) != TX_OK) {
        fprintf(stderr, "bench_batch: %s\n", e.message);
        return 1;
    }
    printf("model %s (%s), %d sentences of %s, %d BLAS thread%s\n", dir,
           tx_model_get_info(m)->dtype, n, text, threads, threads > 1 ? "s" : "");
    for (int b = 0; b < n_beams; b++) {
        struct tx_text_params tp = {0};
        tp.gen = tx_model_gen_params(m);
        tp.gen.num_beams = beams[b];
        tp.gen.num_return_sequences = 1;
        tp.gen.do_sample = 0;
        tp.truncate = 1;
        for (int k = 0; k < n_batches; k++) {
            run_batches(s, tok, lines, n < batches[k] ? n : batches[k], batches[k], &tp); /* warm */
            double t0 = bench_wall_s();
            long toks = run_batches(s, tok, lines, n, batches[k], &tp);
            double t = bench_wall_s() - t0;
            printf("beams %d batch %3d: %7.1f sentences/s %8.1f tokens/s (%.2f s)\n", beams[b],
                   batches[k], n / t, toks / t, t);
            fflush(stdout);
        }
#ifndef BENCH_BATCH_NO_GROUP
        if (!group) continue;
        for (int k = 0; k < n_batches; k++) {
            int rows = batches[k] * beams[b];
            double t0 = bench_wall_s();
            long toks = run_group(s, tok, lines, n, rows, &tp.gen);
            double t = bench_wall_s() - t0;
            printf("beams %d group of %3d rows: %7.1f sentences/s %8.1f tokens/s (%.2f s)\n",
                   beams[b], rows, n / t, toks / t, t);
            fflush(stdout);
        }
#endif
    }
    tx_session_free(s);
    tx_tokenizer_free(tok);
    tx_model_free(m);
    for (int i = 0; i < n; i++)
        free(lines[i]);
    free(lines);
    return 0;
}
