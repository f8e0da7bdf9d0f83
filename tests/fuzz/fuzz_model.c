/* fuzz_model.c — the files of a checkpoint folder, one fuzzed at a time beside valid others
 * (tests/fixtures/hf-tiny/marian): model.safetensors (header, tensor table, offsets, dtypes),
 * config.json, generation_config.json, model.safetensors.index.json (sharded). Invariants: a failed load returns no model and says why
 * (status and message set); a model that loads runs a forward pass (its logits may be anything:
 * fuzzed weights may hold NaN), or refuses it with a message. */
#include "fuzz.h"

#include <string.h>

#include "tx.h"

#define FIXTURE "tests/fixtures/hf-tiny/marian/"

static void lay_out(const char *sub, const char *fuzzed, const uint8_t *data, size_t size)
{
    static const char *files[] = {"config.json", "generation_config.json", "model.safetensors"};
    char name[128];
    for (int i = 0; i < 3; i++) {
        snprintf(name, sizeof name, "%s/%s", sub, files[i]);
        if (strcmp(files[i], fuzzed)) {
            char src[256];
            snprintf(src, sizeof src, FIXTURE "%s", files[i]);
            static int copied[3][3]; /* once per harness and file */
            int h = sub[0] == 's' ? 0 : sub[0] == 'c' ? 1 : 2;
            if (!copied[h][i]) fuzz_copy(src, name), copied[h][i] = 1;
        }
    }
    snprintf(name, sizeof name, "%s/%s", sub, fuzzed);
    FUZZ_CHECK(fuzz_write(name, data, size) == 0);
}

static void load_and_run(const char *sub)
{
    char dir[512];
    fuzz_path(sub, dir, sizeof dir);
    tx_model *m = NULL;
    struct tx_error e;
    memset(&e, 0, sizeof e);
    tx_status st = tx_model_load(dir, &m, &e);
    FUZZ_CHECK((st == TX_OK) == (m != NULL));
    if (st != TX_OK) {
        FUZZ_CHECK(e.status == st && e.message[0] != '\0');
        return;
    }
    const struct tx_model_info *in = tx_model_get_info(m);
    FUZZ_CHECK(in->n_params > 0 && in->vocab_size > 0);
    tx_session *s = NULL;
    if (tx_session_new(m, (size_t)64 << 20, &s, &e) == TX_OK) {
        struct tx_gen_params g = tx_model_gen_params(m);
        int32_t src[3] = {1 % in->vocab_size, 2 % in->vocab_size, 0};
        if (g.eos_token_id >= 0) src[2] = g.eos_token_id;
        int32_t dec[2] = {g.decoder_start_token_id >= 0 ? g.decoder_start_token_id : 0,
                          3 % in->vocab_size};
        struct tx_forward_out o;
        if (tx_forward(s, src, 3, dec, 2, 0, &o, &e) == TX_OK)
            FUZZ_CHECK(o.n_tgt == 2 && o.vocab == in->vocab_size && o.logits);
        else
            FUZZ_CHECK(e.message[0] != '\0');
        tx_session_free(s);
    }
    tx_model_free(m);
}

int fuzz_safetensors(const uint8_t *data, size_t size)
{
    lay_out("st", "model.safetensors", data, size);
    load_and_run("st");
    return 0;
}

int fuzz_model_config(const uint8_t *data, size_t size)
{
    lay_out("cfg", "config.json", data, size);
    load_and_run("cfg");
    return 0;
}

int fuzz_generation_config(const uint8_t *data, size_t size)
{
    lay_out("gen", "generation_config.json", data, size);
    load_and_run("gen");
    return 0;
}

/* model.safetensors.index.json: the index is fuzzed beside the fixture's config files and two
 * shards that both hold every tensor of the fixture (so any split the index names can load).
 * There is no model.safetensors in the folder, so the loader goes through the index. */
int fuzz_sharded_index(const uint8_t *data, size_t size)
{
    static int laid_out;
    if (!laid_out) {
        fuzz_copy(FIXTURE "config.json", "idx/config.json");
        fuzz_copy(FIXTURE "generation_config.json", "idx/generation_config.json");
        fuzz_copy(FIXTURE "model.safetensors", "idx/model-00001-of-00002.safetensors");
        fuzz_copy(FIXTURE "model.safetensors", "idx/model-00002-of-00002.safetensors");
        laid_out = 1;
    }
    FUZZ_CHECK(fuzz_write("idx/model.safetensors.index.json", data, size) == 0);
    load_and_run("idx");
    return 0;
}
