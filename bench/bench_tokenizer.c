/* bench_tokenizer.c — tokenizer throughput (MB/s of UTF-8 input) next to Debian's spm_encode on
 * the same text file and SentencePiece model, with the ratio.
 *
 *   bench_tokenizer [--spm MODEL.spm] [--model DIR] --input TEXT [--repeat N] [--spm-encode PATH]
 *   bench_tokenizer [--spm MODEL.spm] [--model DIR] --long-word [--repeat N]
 *
 * Each line of TEXT is encoded on its own (as spm_encode does). Reported per engine: wall-clock
 * and CPU-time throughput. "attnserve spm" is the bare SentencePiece pipeline (normalize +
 * segment + ids, written as decimal text to /dev/null) on MODEL, the same work as
 * `spm_encode --output_format=id`; "attnserve
 * tokenizer" (with --model) is the full tx_tokenizer_encode of a model folder (special tokens,
 * vocabulary mapping). spm_encode runs as a child process reading TEXT and writing ids to
 * /dev/null; its fixed cost (start-up and model loading, measured on an empty input) is reported
 * and subtracted for the encode-only figure. The ratio uses CPU time, which the other load on a
 * shared machine disturbs least.
 *
 * --long-word times one line that is a single word of random letters, 64 KB to 4 MB: the time
 * per byte must stay flat (linear time), where a quadratic segmentation would grow 4x per row. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tok_spm.h"
#include "tx.h"

static double now(clockid_t c)
{
    struct timespec t;
    clock_gettime(c, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

struct lines {
    char *data;
    size_t size;
    size_t *start, *len;
    size_t n;
};

static int read_lines(const char *path, struct lines *l)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    size_t cap = 1 << 20;
    l->data = malloc(cap);
    l->size = 0;
    size_t got;
    while (l->data && (got = fread(l->data + l->size, 1, cap - l->size, f)) > 0) {
        l->size += got;
        if (l->size == cap) {
            cap *= 2;
            char *p = realloc(l->data, cap);
            if (!p) {
                free(l->data);
                l->data = NULL;
            }
            l->data = p;
        }
    }
    fclose(f);
    if (!l->data) return -1;
    size_t n = 0;
    for (size_t i = 0; i < l->size; i++)
        n += l->data[i] == '\n';
    n++;
    l->start = malloc(n * sizeof *l->start);
    l->len = malloc(n * sizeof *l->len);
    if (!l->start || !l->len) return -1;
    l->n = 0;
    size_t s = 0;
    for (size_t i = 0; i <= l->size; i++) {
        if (i == l->size || l->data[i] == '\n') {
            if (i > s || i < l->size) {
                l->start[l->n] = s;
                l->len[l->n] = i - s;
                l->n++;
            }
            s = i + 1;
        }
    }
    return 0;
}

/* Runs spm_encode on input (or /dev/null) and returns its CPU seconds (user + sys) and wall. */
static int run_spm_encode(const char *exe, const char *model, const char *input, double *cpu,
                          double *wall)
{
    char model_arg[4096];
    snprintf(model_arg, sizeof model_arg, "--model=%s", model);
    double t0 = now(CLOCK_MONOTONIC);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        int in = open(input, O_RDONLY), out = open("/dev/null", O_WRONLY);
        if (in < 0 || out < 0) _exit(127);
        dup2(in, 0);
        dup2(out, 1);
        execlp(exe, exe, model_arg, "--output_format=id", (char *)NULL);
        _exit(127);
    }
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) != pid) return -1;
    *wall = now(CLOCK_MONOTONIC) - t0;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return -1;
    *cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
    return 0;
}

/* --long-word: CPU time to encode one word of n random letters, n = 64 KB .. 4 MB. */
static int long_word(const char *spm_path, const char *model_dir, int repeat)
{
    struct tx_error err = {0};
    struct tok_spm m;
    tx_tokenizer *tok = NULL;
    if (spm_path && tok_spm_load(&m, spm_path, &err)) {
        fprintf(stderr, "bench_tokenizer: %s\n", err.message);
        return 1;
    }
    if (model_dir && tx_tokenizer_load(model_dir, &tok, &err)) {
        fprintf(stderr, "bench_tokenizer: %s\n", err.message);
        if (spm_path) tok_spm_free(&m);
        return 1;
    }
    size_t max = (size_t)4 << 20;
    char *s = malloc(max);
    if (!s) return 1;
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < max; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s[i] = (char)('a' + x % 26);
    }
    printf("one word of random letters, no space; best of %d runs, CPU time\n", repeat);
    printf("%-22s %10s %10s %10s %14s\n", "engine", "bytes", "ms", "MB/s", "ns/byte (x)");
    for (int which = 0; which < 2; which++) {
        if ((which == 0 && !spm_path) || (which == 1 && !tok)) continue;
        double first_ns = 0;
        for (size_t n = (size_t)64 << 10; n <= max; n *= 4) {
            double best = 1e30;
            for (int r = 0; r < repeat; r++) {
                double c0 = now(CLOCK_PROCESS_CPUTIME_ID);
                if (which == 0) {
                    struct tok_spm_encoding enc;
                    memset(&enc, 0, sizeof enc);
                    if (tok_spm_encode(&m, s, n, &enc, &err)) {
                        fprintf(stderr, "bench_tokenizer: %s\n", err.message);
                        return 1;
                    }
                    tok_spm_encoding_free(&enc);
                } else {
                    struct tx_encoding enc;
                    if (tx_tokenizer_encode(tok, s, n, TX_SIDE_SOURCE, &enc, &err)) {
                        fprintf(stderr, "bench_tokenizer: %s\n", err.message);
                        return 1;
                    }
                    tx_encoding_free(&enc);
                }
                double c = now(CLOCK_PROCESS_CPUTIME_ID) - c0;
                if (c < best) best = c;
            }
            double ns = best * 1e9 / (double)n;
            if (!first_ns) first_ns = ns;
            printf("%-22s %10zu %10.2f %10.2f %9.1f (x%.2f)\n",
                   which ? "attnserve tokenizer" : "attnserve spm", n, best * 1e3,
                   (double)n / 1e6 / best, ns, ns / first_ns);
        }
    }
    printf("linear time: ns/byte stays within a small factor of the 64 KB row (quadratic: x4 "
           "per row)\n");
    free(s);
    if (tok) tx_tokenizer_free(tok);
    if (spm_path) tok_spm_free(&m);
    return 0;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: bench_tokenizer [--spm MODEL.spm] [--model DIR] --input TEXT [--repeat N] "
            "[--spm-encode PATH]  (--spm and/or --model)\n"
            "       bench_tokenizer [--spm MODEL.spm] [--model DIR] --long-word [--repeat N]\n");
}

int main(int argc, char **argv)
{
    const char *spm_path = NULL, *input = NULL, *model_dir = NULL, *exe = "spm_encode";
    int repeat = 3, long_word_mode = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--long-word"))
            long_word_mode = 1;
        else if (!strcmp(argv[i], "--spm") && i + 1 < argc)
            spm_path = argv[++i];
        else if (!strcmp(argv[i], "--input") && i + 1 < argc)
            input = argv[++i];
        else if (!strcmp(argv[i], "--model") && i + 1 < argc)
            model_dir = argv[++i];
        else if (!strcmp(argv[i], "--repeat") && i + 1 < argc)
            repeat = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--spm-encode") && i + 1 < argc)
            exe = argv[++i];
        else {
            usage();
            return 2;
        }
    }
    if ((!spm_path && !model_dir) || (!input && !long_word_mode) || repeat < 1) {
        usage();
        return 2;
    }
    if (long_word_mode) return long_word(spm_path, model_dir, repeat);
    struct lines l;
    if (read_lines(input, &l)) {
        fprintf(stderr, "bench_tokenizer: cannot read %s: %s\n", input, strerror(errno));
        return 1;
    }
    double mb = (double)l.size / 1e6;
    printf("input: %s, %zu lines, %.2f MB; best of %d runs\n", input, l.n, mb, repeat);

    struct tx_error err = {0};
    double t0, load_ms, best_wall, best_cpu, ours_cpu_mbs = 0;
    size_t n_ids = 0;
    if (!spm_path) goto whole_tokenizer;

    /* attnserve: bare SentencePiece */
    struct tok_spm m;
    t0 = now(CLOCK_MONOTONIC);
    if (tok_spm_load(&m, spm_path, &err)) {
        fprintf(stderr, "bench_tokenizer: %s\n", err.message);
        return 1;
    }
    load_ms = (now(CLOCK_MONOTONIC) - t0) * 1e3;
    struct tok_spm_encoding enc;
    memset(&enc, 0, sizeof enc);
    best_wall = best_cpu = 1e30;
    FILE *devnull = fopen("/dev/null", "w");
    char out[1 << 16];
    if (!devnull) return 1;
    for (int r = 0; r < repeat; r++) {
        double w0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_PROCESS_CPUTIME_ID);
        n_ids = 0;
        for (size_t i = 0; i < l.n; i++) {
            if (tok_spm_encode(&m, l.data + l.start[i], l.len[i], &enc, &err)) {
                fprintf(stderr, "bench_tokenizer: line %zu: %s\n", i + 1, err.message);
                return 1;
            }
            n_ids += enc.n_pieces;
            /* ids as "5 17 1\n", as spm_encode --output_format=id prints them */
            size_t o = 0;
            for (size_t k = 0; k < enc.n_pieces; k++) {
                if (o + 16 > sizeof out) {
                    fwrite(out, 1, o, devnull);
                    o = 0;
                }
                char digits[12];
                int nd = 0;
                uint32_t v = (uint32_t)enc.pieces[k].id;
                do
                    digits[nd++] = (char)('0' + v % 10);
                while ((v /= 10) > 0);
                if (k) out[o++] = ' ';
                while (nd)
                    out[o++] = digits[--nd];
            }
            out[o++] = '\n';
            fwrite(out, 1, o, devnull);
        }
        double w = now(CLOCK_MONOTONIC) - w0, c = now(CLOCK_PROCESS_CPUTIME_ID) - c0;
        if (w < best_wall) best_wall = w;
        if (c < best_cpu) best_cpu = c;
    }
    fclose(devnull);
    tok_spm_encoding_free(&enc);
    tok_spm_free(&m);
    ours_cpu_mbs = mb / best_cpu;
    printf("%-22s %8.2f MB/s wall  %8.2f MB/s cpu   (%zu ids, model load %.1f ms)\n",
           "attnserve spm", mb / best_wall, ours_cpu_mbs, n_ids, load_ms);

whole_tokenizer:
    /* attnserve: whole tokenizer of a model folder */
    if (model_dir) {
        tx_tokenizer *tok = NULL;
        t0 = now(CLOCK_MONOTONIC);
        if (tx_tokenizer_load(model_dir, &tok, &err)) {
            fprintf(stderr, "bench_tokenizer: %s\n", err.message);
            return 1;
        }
        load_ms = (now(CLOCK_MONOTONIC) - t0) * 1e3;
        best_wall = best_cpu = 1e30;
        for (int r = 0; r < repeat; r++) {
            double w0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_PROCESS_CPUTIME_ID);
            n_ids = 0;
            for (size_t i = 0; i < l.n; i++) {
                struct tx_encoding e;
                if (tx_tokenizer_encode(tok, l.data + l.start[i], l.len[i], TX_SIDE_SOURCE, &e,
                                        &err)) {
                    fprintf(stderr, "bench_tokenizer: line %zu: %s\n", i + 1, err.message);
                    return 1;
                }
                n_ids += (size_t)e.n_ids;
                tx_encoding_free(&e);
            }
            double w = now(CLOCK_MONOTONIC) - w0, c = now(CLOCK_PROCESS_CPUTIME_ID) - c0;
            if (w < best_wall) best_wall = w;
            if (c < best_cpu) best_cpu = c;
        }
        printf("%-22s %8.2f MB/s wall  %8.2f MB/s cpu   (%zu ids, load %.1f ms, %s)\n",
               "attnserve tokenizer", mb / best_wall, mb / best_cpu, n_ids, load_ms, model_dir);
        tx_tokenizer_free(tok);
    }

    if (!spm_path) goto out;
    /* spm_encode */
    double base_cpu = 1e30, base_wall = 1e30, full_cpu = 1e30, full_wall = 1e30;
    for (int r = 0; r < repeat; r++) {
        double c, w;
        if (run_spm_encode(exe, spm_path, "/dev/null", &c, &w) ||
            (c < base_cpu ? (base_cpu = c, 0) : 0) || (w < base_wall ? (base_wall = w, 0) : 0) ||
            run_spm_encode(exe, spm_path, input, &c, &w)) {
            printf("%-22s not available (%s could not run); no comparison\n", "spm_encode", exe);
            free(l.data);
            free(l.start);
            free(l.len);
            return 0;
        }
        if (c < full_cpu) full_cpu = c;
        if (w < full_wall) full_wall = w;
    }
    double enc_cpu = full_cpu - base_cpu > 1e-6 ? full_cpu - base_cpu : 1e-6;
    double spm_cpu_mbs = mb / enc_cpu;
    printf("%-22s %8.2f MB/s wall  %8.2f MB/s cpu   (end to end; start-up + load %.1f ms cpu)\n",
           "spm_encode", mb / full_wall, mb / full_cpu, base_cpu * 1e3);
    printf("%-22s %8s            %8.2f MB/s cpu   (start-up and load subtracted)\n", "spm_encode",
           "", spm_cpu_mbs);
    printf("ratio attnserve spm / spm_encode (cpu, encode only): %.2fx\n",
           ours_cpu_mbs / spm_cpu_mbs);
out:
    free(l.data);
    free(l.start);
    free(l.len);
    return 0;
}
