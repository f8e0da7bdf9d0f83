/* test_fuzz_inputs.c — every fuzz harness (tests/fuzz/) on its committed inputs: the fixture
 * seeds of tests/fuzz/seeds.list, tests/fuzz/seeds/<harness>/ and the inputs of earlier
 * findings in tests/fuzz/regressions/<harness>/. A harness aborts on a broken invariant, so a
 * regression input that breaks the code again fails this test (and the sanitizer build reports
 * memory errors on them). `make fuzz` explores beyond these inputs. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "testutil.h"

static const struct {
    const char *name;
    int (*run)(const uint8_t *, size_t);
} harnesses[] = {
    {"safetensors", fuzz_safetensors},   {"model_config", fuzz_model_config},
    {"generation_config", fuzz_generation_config}, {"tokenizer_json", fuzz_tokenizer_json},
    {"spm_model", fuzz_spm_model},       {"bpe_files", fuzz_bpe_files},
    {"tokenize", fuzz_tokenize},         {"detokenize", fuzz_detokenize},
    {"langid", fuzz_langid},             {"config", fuzz_config},
    {"request", fuzz_request},           {"config_env_flags", fuzz_config_env_flags},
    {"sharded_index", fuzz_sharded_index},
};

static int run_file(int h, const char *path)
{
    size_t n = 0;
    char *data = tu_read_file(path, &n);
    cr_assert_not_null(data, "cannot read %s", path);
    harnesses[h].run((const uint8_t *)data, n);
    free(data);
    return 1;
}

static int run_dir(int h, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        n += run_file(h, path);
    }
    closedir(d);
    return n;
}

Test(fuzz_inputs, every_harness_keeps_its_invariants_on_the_committed_inputs, .timeout = 300)
{
    FILE *list = fopen("tests/fuzz/seeds.list", "r");
    cr_assert_not_null(list, "tests/fuzz/seeds.list is missing");
    int per[sizeof harnesses / sizeof harnesses[0]] = {0};
    char line[1024], name[128], path[896];
    while (fgets(line, sizeof line, list)) {
        if (line[0] == '#' || sscanf(line, "%127s %895s", name, path) != 2) continue;
        int h = -1;
        for (size_t i = 0; i < sizeof harnesses / sizeof harnesses[0]; i++)
            if (!strcmp(harnesses[i].name, name)) h = (int)i;
        cr_assert_geq(h, 0, "seeds.list names an unknown harness %s", name);
        per[h] += run_file(h, path);
    }
    fclose(list);
    for (size_t h = 0; h < sizeof harnesses / sizeof harnesses[0]; h++) {
        char dir[256];
        snprintf(dir, sizeof dir, "tests/fuzz/seeds/%s", harnesses[h].name);
        per[h] += run_dir((int)h, dir);
        snprintf(dir, sizeof dir, "tests/fuzz/regressions/%s", harnesses[h].name);
        per[h] += run_dir((int)h, dir);
        fprintf(stderr, "fuzz inputs: %s: %d\n", harnesses[h].name, per[h]);
        cr_expect_gt(per[h], 0, "harness %s has no committed input", harnesses[h].name);
    }
}
