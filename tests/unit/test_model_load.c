/* test_model_load.c — loading checkpoints: every corrupt, truncated or mismatched
 * safetensors/config file gives its status and a message naming the file and the fact; valid
 * variants (sharded, duplicated tied tensors, BF16, reordered data) load and compute the same. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "tx.h"

#define FIXTURE "tests/fixtures/hf-tiny"

/* A checkpoint in memory: its parsed header and its data area. */
struct ckpt {
    json_t *header;
    unsigned char *data;
    size_t data_size;
};

static unsigned char *read_all(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc((size_t)size + 1);
    cr_assert_not_null(buf);
    cr_assert_eq(fread(buf, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    *n = (size_t)size;
    return buf;
}

static void write_all(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "cannot create %s", path);
    cr_assert_eq(fwrite(data, 1, n, f), n);
    fclose(f);
}

static void ckpt_read(const char *model, struct ckpt *c)
{
    char path[256];
    snprintf(path, sizeof path, FIXTURE "/%s/model.safetensors", model);
    size_t n;
    unsigned char *buf = read_all(path, &n);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | buf[i];
    json_error_t e;
    c->header = json_loadb((const char *)buf + 8, hlen, 0, &e);
    cr_assert_not_null(c->header, "fixture header: %s", e.text);
    c->data_size = n - 8 - hlen;
    c->data = malloc(c->data_size + 1);
    memcpy(c->data, buf + 8 + hlen, c->data_size);
    free(buf);
}

static void ckpt_free(struct ckpt *c)
{
    json_decref(c->header);
    free(c->data);
}

/* Writes header + data as a safetensors file; header_len_override != 0 replaces the length. */
static void ckpt_write_raw(const char *path, const char *header_text, const unsigned char *data,
                           size_t data_size, uint64_t header_len_override)
{
    size_t hl = strlen(header_text);
    size_t padded = (hl + 7) / 8 * 8;
    size_t total = 8 + padded + data_size;
    unsigned char *buf = malloc(total);
    uint64_t v = header_len_override ? header_len_override : padded;
    for (int i = 0; i < 8; i++)
        buf[i] = (unsigned char)(v >> (8 * i));
    memcpy(buf + 8, header_text, hl);
    memset(buf + 8 + hl, ' ', padded - hl);
    memcpy(buf + 8 + padded, data, data_size);
    write_all(path, buf, total);
    free(buf);
}

static void ckpt_write(const char *dir, const char *file, const json_t *header,
                       const unsigned char *data, size_t data_size)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    char *text = json_dumps(header, JSON_COMPACT);
    ckpt_write_raw(path, text, data, data_size, 0);
    free(text);
}

static char tmpdirs[64][64];
static int n_tmpdirs;

/* A fresh temp folder with the model's config files (removed by cleanup). */
static const char *make_dir(const char *model)
{
    cr_assert(n_tmpdirs < 64);
    char *d = tmpdirs[n_tmpdirs++];
    strcpy(d, "/tmp/attnserve-load-XXXXXX");
    cr_assert_not_null(mkdtemp(d));
    const char *files[] = {"config.json", "generation_config.json"};
    for (int i = 0; i < 2; i++) {
        char src[256], dst[512];
        snprintf(src, sizeof src, FIXTURE "/%s/%s", model, files[i]);
        snprintf(dst, sizeof dst, "%s/%s", d, files[i]);
        size_t n;
        unsigned char *buf = read_all(src, &n);
        write_all(dst, buf, n);
        free(buf);
    }
    return d;
}

static void cleanup(void)
{
    for (int i = 0; i < n_tmpdirs; i++) {
        DIR *dir = opendir(tmpdirs[i]);
        if (!dir) continue;
        struct dirent *de;
        while ((de = readdir(dir)) != NULL) {
            if (de->d_name[0] == '.') continue;
            char path[512];
            if (snprintf(path, sizeof path, "%s/%s", tmpdirs[i], de->d_name) < (int)sizeof path)
                unlink(path);
        }
        closedir(dir);
        rmdir(tmpdirs[i]);
    }
    n_tmpdirs = 0;
}

TestSuite(load, .fini = cleanup);

/* Writes `text` to dir/file. */
static void put_text(const char *dir, const char *file, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    write_all(path, text, strlen(text));
}

/* Loads dir expecting failure with `want`; the message must contain every given fragment. */
static void expect_fail(const char *dir, tx_status want, const char *frag1, const char *frag2)
{
    tx_model *m = NULL;
    struct tx_error e = {0};
    tx_status st = tx_model_load(dir, &m, &e);
    cr_assert_eq(st, want, "status %s, expected %s (%s)", tx_status_name(st), tx_status_name(want),
                 e.message);
    cr_assert_null(m, "out-param written on failure");
    cr_assert_eq(e.status, want);
    cr_assert_not_null(strstr(e.message, frag1), "message \"%s\" lacks \"%s\"", e.message, frag1);
    if (frag2)
        cr_assert_not_null(strstr(e.message, frag2), "message \"%s\" lacks \"%s\"", e.message,
                           frag2);
}

/* Writes a copy of `model` with header modified by `edit` into a new folder. */
static const char *variant(const char *model, void (*edit)(json_t *h))
{
    struct ckpt c;
    ckpt_read(model, &c);
    edit(c.header);
    const char *d = make_dir(model);
    ckpt_write(d, "model.safetensors", c.header, c.data, c.data_size);
    ckpt_free(&c);
    return d;
}

static json_t *entry(json_t *h, const char *name)
{
    json_t *e = json_object_get(h, name);
    cr_assert_not_null(e, "fixture lacks %s", name);
    return e;
}

#define FC1 "model.encoder.layers.0.fc1.weight"

Test(load, header_length_past_end_of_file_is_a_format_error)
{
    struct ckpt c;
    ckpt_read("marian", &c);
    const char *d = make_dir("marian");
    char path[512], *text = json_dumps(c.header, JSON_COMPACT);
    snprintf(path, sizeof path, "%s/model.safetensors", d);
    ckpt_write_raw(path, text, c.data, c.data_size, 1ull << 40);
    free(text);
    ckpt_free(&c);
    expect_fail(d, TX_ERR_FORMAT, "model.safetensors", "header length 1099511627776 runs past");
}

Test(load, file_shorter_than_the_length_prefix_is_a_format_error)
{
    const char *d = make_dir("marian");
    put_text(d, "model.safetensors", "abc");
    expect_fail(d, TX_ERR_FORMAT, "model.safetensors", "too short");
}

Test(load, truncated_data_area_is_a_format_error)
{
    struct ckpt c;
    ckpt_read("marian", &c);
    const char *d = make_dir("marian");
    ckpt_write(d, "model.safetensors", c.header, c.data, c.data_size / 2);
    ckpt_free(&c);
    expect_fail(d, TX_ERR_FORMAT, "model.safetensors", "run past the end of the data");
}

static void edit_offsets_past_end(json_t *h)
{
    json_t *o = json_object_get(entry(h, FC1), "data_offsets");
    json_int_t b = json_integer_value(json_array_get(o, 0));
    json_array_set_new(o, 0, json_integer(b + 100000000));
    json_array_set_new(o, 1, json_integer(b + 100000000 + 128 * 64 * 4));
}

Test(load, offsets_out_of_range_are_a_format_error)
{
    expect_fail(variant("marian", edit_offsets_past_end), TX_ERR_FORMAT, FC1,
                "run past the end of the data");
}

static void edit_offsets_negative(json_t *h)
{
    json_t *o = json_object_get(entry(h, FC1), "data_offsets");
    json_array_set_new(o, 0, json_integer(-8));
}

Test(load, negative_offsets_reaching_into_the_header_are_a_format_error)
{
    expect_fail(variant("marian", edit_offsets_negative), TX_ERR_FORMAT, FC1,
                "not non-negative integers");
}

static void edit_offsets_reversed(json_t *h)
{
    json_t *o = json_object_get(entry(h, FC1), "data_offsets");
    json_t *b = json_incref(json_array_get(o, 0));
    json_array_set(o, 0, json_array_get(o, 1));
    json_array_set_new(o, 1, b);
}

Test(load, offsets_ending_before_they_begin_are_a_format_error)
{
    expect_fail(variant("marian", edit_offsets_reversed), TX_ERR_FORMAT, FC1, "end before");
}

static void edit_overlap(json_t *h)
{
    /* fc1 claims the bytes of fc2 (same size: 128x64 vs 64x128) */
    json_t *o2 = json_object_get(entry(h, "model.encoder.layers.0.fc2.weight"), "data_offsets");
    json_object_set_new(entry(h, FC1), "data_offsets", json_deep_copy(o2));
}

Test(load, overlapping_tensors_are_a_format_error)
{
    expect_fail(variant("marian", edit_overlap), TX_ERR_FORMAT, "model.safetensors", "overlap");
}

static void edit_dtype_f64(json_t *h)
{
    json_object_set_new(entry(h, FC1), "dtype", json_string("F64"));
}

Test(load, dtype_disagreeing_with_the_data_size_is_a_format_error)
{
    expect_fail(variant("marian", edit_dtype_f64), TX_ERR_FORMAT, FC1, "F64 with 8192 elements");
}

static void edit_dtype_i32(json_t *h)
{
    json_object_set_new(entry(h, FC1), "dtype", json_string("I32"));
}

Test(load, integer_dtype_for_a_weight_is_unsupported)
{
    expect_fail(variant("marian", edit_dtype_i32), TX_ERR_UNSUPPORTED, FC1, "dtype I32");
}

static void edit_dtype_unknown(json_t *h)
{
    json_object_set_new(entry(h, FC1), "dtype", json_string("Q4_K"));
}

Test(load, unknown_dtype_is_a_format_error)
{
    expect_fail(variant("marian", edit_dtype_unknown), TX_ERR_FORMAT, FC1,
                "unknown dtype \"Q4_K\"");
}

static void edit_shape_transposed(json_t *h)
{
    json_object_set_new(entry(h, FC1), "shape", json_pack("[ii]", 64, 128));
}

Test(load, shape_disagreeing_with_the_config_is_a_format_error)
{
    expect_fail(variant("marian", edit_shape_transposed), TX_ERR_FORMAT,
                "model.safetensors: tensor " FC1, "is 64x128, config says 128x64");
}

Test(load, config_dimension_disagreeing_with_the_weights_is_a_format_error)
{
    const char *d = make_dir("bart");
    struct ckpt c;
    ckpt_read("bart", &c);
    ckpt_write(d, "model.safetensors", c.header, c.data, c.data_size);
    ckpt_free(&c);
    json_t *cfg = json_load_file(FIXTURE "/bart/config.json", 0, NULL);
    json_object_set_new(cfg, "encoder_ffn_dim", json_integer(256));
    char path[512];
    snprintf(path, sizeof path, "%s/config.json", d);
    json_dump_file(cfg, path, 0);
    json_decref(cfg);
    expect_fail(d, TX_ERR_FORMAT, "tensor model.encoder.layers.0.fc1.weight is 128x64",
                "config says 256x64");
}

static void edit_remove_fc1(json_t *h)
{
    json_object_del(h, FC1);
}

Test(load, missing_tensor_is_a_format_error)
{
    expect_fail(variant("marian", edit_remove_fc1), TX_ERR_FORMAT, "model.safetensors",
                "tensor " FC1 " is missing");
}

static void edit_remove_t5_bias(json_t *h)
{
    json_object_del(h, "decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight");
}

Test(load, missing_t5_relative_bias_is_a_format_error)
{
    expect_fail(variant("t5", edit_remove_t5_bias), TX_ERR_FORMAT,
                "decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight",
                "is missing");
}

Test(load, header_that_is_not_json_is_a_format_error)
{
    struct ckpt c;
    ckpt_read("marian", &c);
    const char *d = make_dir("marian");
    char path[512];
    snprintf(path, sizeof path, "%s/model.safetensors", d);
    ckpt_write_raw(path, "{\"a\": [1, 2", c.data, c.data_size, 0);
    ckpt_free(&c);
    expect_fail(d, TX_ERR_FORMAT, "model.safetensors", "header is not valid JSON");
}

Test(load, header_that_is_not_an_object_is_a_format_error)
{
    struct ckpt c;
    ckpt_read("marian", &c);
    const char *d = make_dir("marian");
    char path[512];
    snprintf(path, sizeof path, "%s/model.safetensors", d);
    ckpt_write_raw(path, "[1, 2, 3]", c.data, c.data_size, 0);
    ckpt_free(&c);
    expect_fail(d, TX_ERR_FORMAT, "model.safetensors", "not a JSON object");
}

static void edit_entry_without_offsets(json_t *h)
{
    json_object_del(entry(h, FC1), "data_offsets");
}

Test(load, header_entry_without_offsets_is_a_format_error)
{
    expect_fail(variant("marian", edit_entry_without_offsets), TX_ERR_FORMAT, FC1, "data_offsets");
}

/* A folder whose weights are the fixture's and whose config.json is `config_text`. */
static const char *with_config(const char *model, const char *config_text)
{
    const char *d = make_dir(model);
    struct ckpt c;
    ckpt_read(model, &c);
    ckpt_write(d, "model.safetensors", c.header, c.data, c.data_size);
    ckpt_free(&c);
    put_text(d, "config.json", config_text);
    return d;
}

/* The fixture's config.json with `key` set to `value` (NULL removes it). */
static char *config_with(const char *model, const char *key, json_t *value)
{
    char path[256];
    snprintf(path, sizeof path, FIXTURE "/%s/config.json", model);
    json_t *cfg = json_load_file(path, 0, NULL);
    cr_assert_not_null(cfg);
    if (value)
        json_object_set_new(cfg, key, value);
    else
        json_object_del(cfg, key);
    char *text = json_dumps(cfg, JSON_INDENT(2));
    json_decref(cfg);
    return text;
}

Test(load, config_that_is_not_json_is_a_format_error_with_its_position)
{
    const char *d = with_config("marian", "{\n  \"model_type\": \"marian\",\n  \"d_model\": ,\n}");
    expect_fail(d, TX_ERR_FORMAT, "config.json", "line 3");
}

Test(load, unknown_model_type_is_unsupported_naming_the_field)
{
    char *text = config_with("marian", "model_type", json_string("gpt2"));
    const char *d = with_config("marian", text);
    free(text);
    expect_fail(d, TX_ERR_UNSUPPORTED, "config.json", "model_type \"gpt2\" is not supported");
}

Test(load, missing_model_type_is_a_format_error)
{
    char *text = config_with("t5", "model_type", NULL);
    const char *d = with_config("t5", text);
    free(text);
    expect_fail(d, TX_ERR_FORMAT, "config.json", "\"model_type\" is missing");
}

Test(load, missing_config_field_is_a_format_error_naming_it)
{
    char *text = config_with("bart", "d_model", NULL);
    const char *d = with_config("bart", text);
    free(text);
    expect_fail(d, TX_ERR_FORMAT, "config.json", "\"d_model\" is missing");
}

Test(load, mistyped_config_field_is_a_format_error_naming_it)
{
    char *text = config_with("t5", "num_heads", json_string("four"));
    const char *d = with_config("t5", text);
    free(text);
    expect_fail(d, TX_ERR_FORMAT, "config.json", "\"num_heads\" must be an integer");
}

Test(load, unsupported_activation_names_the_field)
{
    char *text = config_with("bart", "activation_function", json_string("mish"));
    const char *d = with_config("bart", text);
    free(text);
    expect_fail(d, TX_ERR_UNSUPPORTED, "config.json", "activation_function \"mish\"");
}

Test(load, unsupported_feed_forward_proj_names_the_field)
{
    char *text = config_with("t5", "feed_forward_proj", json_string("gated-gelu-x"));
    const char *d = with_config("t5", text);
    free(text);
    expect_fail(d, TX_ERR_UNSUPPORTED, "config.json", "feed_forward_proj");
}

Test(load, bad_generation_config_is_a_format_error_naming_the_file)
{
    const char *d = with_config("bart", "{}");
    put_text(d, "generation_config.json", "{\"num_beams\": \"four\"}");
    char *text = config_with("bart", "model_type", json_string("bart"));
    put_text(d, "config.json", text);
    free(text);
    expect_fail(d, TX_ERR_FORMAT, "generation_config.json", "\"num_beams\" must be an integer");
}

Test(load, folder_without_weights_is_an_io_error)
{
    const char *d = make_dir("marian");
    expect_fail(d, TX_ERR_IO, d, "no model.safetensors");
}

Test(load, folder_without_config_is_an_io_error)
{
    struct ckpt c;
    ckpt_read("marian", &c);
    const char *d = make_dir("marian");
    ckpt_write(d, "model.safetensors", c.header, c.data, c.data_size);
    ckpt_free(&c);
    char path[512];
    snprintf(path, sizeof path, "%s/config.json", d);
    cr_assert_eq(unlink(path), 0);
    expect_fail(d, TX_ERR_IO, "config.json", NULL);
}

Test(load, missing_folder_is_an_io_error)
{
    expect_fail("/nonexistent/attnserve-model", TX_ERR_IO, "/nonexistent/attnserve-model", NULL);
}

/* ---- valid variants: must load and give the fixture model's logits ---------------------- */

static float *logits_of(const char *dir, int *n_out)
{
    tx_model *m = NULL;
    struct tx_error e = {0};
    cr_assert_eq(tx_model_load(dir, &m, &e), TX_OK, "%s: %s", dir, e.message);
    tx_session *s = NULL;
    cr_assert_eq(tx_session_new(m, 0, &s, &e), TX_OK);
    const int32_t src[] = {5, 17, 42, 9, 3}, tgt[] = {2, 7, 8};
    int start = tx_model_gen_params(m).decoder_start_token_id;
    int32_t dec[3] = {start, tgt[1], tgt[2]};
    struct tx_forward_out o;
    cr_assert_eq(tx_forward(s, src, 5, dec, 3, 0, &o, &e), TX_OK, "%s", e.message);
    int n = o.n_tgt * o.vocab;
    float *copy = malloc((size_t)n * sizeof *copy);
    memcpy(copy, o.logits, (size_t)n * sizeof *copy);
    tx_session_free(s);
    tx_model_free(m);
    *n_out = n;
    return copy;
}

static void assert_same_logits(const char *model, const char *dir)
{
    char ref_dir[256];
    snprintf(ref_dir, sizeof ref_dir, FIXTURE "/%s", model);
    int n1, n2;
    float *a = logits_of(ref_dir, &n1), *b = logits_of(dir, &n2);
    cr_assert_eq(n1, n2);
    for (int i = 0; i < n1; i++)
        cr_assert_eq(a[i], b[i], "logit %d differs", i);
    free(a);
    free(b);
}

Test(load, sharded_checkpoint_with_index_loads_the_same_weights)
{
    struct ckpt c;
    ckpt_read("bart", &c);
    const char *d = make_dir("bart");
    /* two shards: tensors alternate between them; each shard keeps only its own bytes */
    json_t *shard[2] = {json_object(), json_object()};
    json_t *map = json_object();
    unsigned char *buf[2] = {malloc(c.data_size), malloc(c.data_size)};
    size_t used[2] = {0, 0};
    const char *names[2] = {"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"};
    const char *key;
    json_t *v;
    int i = 0;
    json_object_foreach(c.header, key, v)
    {
        if (!strcmp(key, "__metadata__")) continue;
        int s = i++ % 2;
        json_t *o = json_object_get(v, "data_offsets");
        size_t b = (size_t)json_integer_value(json_array_get(o, 0));
        size_t e = (size_t)json_integer_value(json_array_get(o, 1));
        memcpy(buf[s] + used[s], c.data + b, e - b);
        json_t *nv = json_deep_copy(v);
        json_object_set_new(nv, "data_offsets",
                            json_pack("[II]", (json_int_t)used[s], (json_int_t)(used[s] + e - b)));
        json_object_set_new(shard[s], key, nv);
        json_object_set_new(map, key, json_string(names[s]));
        used[s] += e - b;
    }
    for (int s = 0; s < 2; s++) {
        ckpt_write(d, names[s], shard[s], buf[s], used[s]);
        json_decref(shard[s]);
        free(buf[s]);
    }
    json_t *index = json_pack("{s:{s:I}, s:o}", "metadata", "total_size", (json_int_t)c.data_size,
                              "weight_map", map);
    char *text = json_dumps(index, JSON_INDENT(2));
    put_text(d, "model.safetensors.index.json", text);
    free(text);
    json_decref(index);
    ckpt_free(&c);
    assert_same_logits("bart", d);

    /* a shard named by the index but absent -> io error naming it */
    char path[512];
    snprintf(path, sizeof path, "%s/%s", d, names[1]);
    cr_assert_eq(unlink(path), 0);
    expect_fail(d, TX_ERR_IO, names[1], "cannot open");
}

Test(load, sharded_index_that_is_not_json_or_names_bad_shards_is_a_format_error)
{
    /* a folder with an index and no model.safetensors: the index decides */
    const char *d = make_dir("bart");
    put_text(d, "model.safetensors.index.json", "{\"weight_map\": {\"a\": \"x.safetensors\",}");
    expect_fail(d, TX_ERR_FORMAT, "model.safetensors.index.json", "invalid JSON at line 1");
    put_text(d, "model.safetensors.index.json", "{\"metadata\": {}}");
    expect_fail(d, TX_ERR_FORMAT, "model.safetensors.index.json", "no \"weight_map\" object");
    put_text(d, "model.safetensors.index.json",
             "{\"weight_map\": {\"model.shared.weight\": \"../model.safetensors\"}}");
    expect_fail(d, TX_ERR_FORMAT, "\"../model.safetensors\"", "is not a file in the folder");
    put_text(d, "model.safetensors.index.json", "{\"weight_map\": {\"model.shared.weight\": 7}}");
    expect_fail(d, TX_ERR_FORMAT, "weight_map[\"model.shared.weight\"]", "not a file name");
    /* an index entry whose shard does not hold that tensor */
    struct ckpt c;
    ckpt_read("bart", &c);
    ckpt_write(d, "only.safetensors", c.header, c.data, c.data_size);
    ckpt_free(&c);
    put_text(d, "model.safetensors.index.json",
             "{\"weight_map\": {\"model.shared.weight\": \"only.safetensors\", "
             "\"model.encoder.layers.9.fc1.weight\": \"only.safetensors\"}}");
    expect_fail(d, TX_ERR_FORMAT, "model.encoder.layers.9.fc1.weight",
                "is listed in model.safetensors.index.json but not stored there");
}

static void edit_duplicate_tied(json_t *h)
{
    /* what some converters write: the tied copies under every name, data shared or not */
    json_t *shared = entry(h, "model.shared.weight");
    json_object_set_new(h, "model.encoder.embed_tokens.weight", json_deep_copy(shared));
    json_object_set_new(h, "model.decoder.embed_tokens.weight", json_deep_copy(shared));
    json_object_set_new(h, "lm_head.weight", json_deep_copy(shared));
}

static void edit_only_encoder_embedding(json_t *h)
{
    json_t *shared = json_incref(entry(h, "model.shared.weight"));
    json_object_del(h, "model.shared.weight");
    json_object_set_new(h, "model.encoder.embed_tokens.weight", shared);
}

Test(load, tied_embedding_stored_once_under_another_name_loads)
{
    assert_same_logits("bart", variant("bart", edit_only_encoder_embedding));
}

Test(load, tied_embedding_aliases_in_the_header_are_rejected_as_overlap)
{
    /* the safetensors format forbids two entries sharing bytes; duplicates must be real copies */
    expect_fail(variant("marian", edit_duplicate_tied), TX_ERR_FORMAT, "overlap", NULL);
}

Test(load, tied_embedding_duplicated_as_copies_loads)
{
    struct ckpt c;
    ckpt_read("marian", &c);
    json_t *shared = entry(c.header, "model.shared.weight");
    json_t *o = json_object_get(shared, "data_offsets");
    size_t b = (size_t)json_integer_value(json_array_get(o, 0));
    size_t e = (size_t)json_integer_value(json_array_get(o, 1));
    const char *copies[] = {"model.encoder.embed_tokens.weight",
                            "model.decoder.embed_tokens.weight", "lm_head.weight"};
    size_t n = c.data_size + 3 * (e - b);
    unsigned char *data = malloc(n);
    memcpy(data, c.data, c.data_size);
    for (int i = 0; i < 3; i++) {
        size_t at = c.data_size + (size_t)i * (e - b);
        memcpy(data + at, c.data + b, e - b);
        json_t *nv = json_deep_copy(shared);
        json_object_set_new(nv, "data_offsets",
                            json_pack("[II]", (json_int_t)at, (json_int_t)(at + e - b)));
        json_object_set_new(c.header, copies[i], nv);
    }
    const char *d = make_dir("marian");
    ckpt_write(d, "model.safetensors", c.header, data, n);
    free(data);
    ckpt_free(&c);
    assert_same_logits("marian", d);
}

Test(load, data_blocks_in_reverse_order_load)
{
    struct ckpt c;
    ckpt_read("t5", &c);
    unsigned char *data = malloc(c.data_size);
    size_t at = c.data_size;
    const char *key;
    json_t *v;
    json_object_foreach(c.header, key, v)
    {
        if (!strcmp(key, "__metadata__")) continue;
        json_t *o = json_object_get(v, "data_offsets");
        size_t b = (size_t)json_integer_value(json_array_get(o, 0));
        size_t e = (size_t)json_integer_value(json_array_get(o, 1));
        at -= e - b;
        memcpy(data + at, c.data + b, e - b);
        json_object_set_new(v, "data_offsets",
                            json_pack("[II]", (json_int_t)at, (json_int_t)(at + e - b)));
    }
    const char *d = make_dir("t5");
    ckpt_write(d, "model.safetensors", c.header, data + at, c.data_size - at);
    /* offsets were computed from the end; shift them so the data area starts at `at` */
    json_object_foreach(c.header, key, v)
    {
        if (!strcmp(key, "__metadata__")) continue;
        json_t *o = json_object_get(v, "data_offsets");
        json_int_t b = json_integer_value(json_array_get(o, 0)) - (json_int_t)at;
        json_int_t e = json_integer_value(json_array_get(o, 1)) - (json_int_t)at;
        json_object_set_new(v, "data_offsets", json_pack("[II]", b, e));
    }
    ckpt_write(d, "model.safetensors", c.header, data + at, c.data_size - at);
    free(data);
    ckpt_free(&c);
    assert_same_logits("t5", d);
}

/* float -> bfloat16, round to nearest even (finite inputs) */
static uint16_t to_bf16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    x += 0x7fffu + ((x >> 16) & 1u);
    return (uint16_t)(x >> 16);
}

Test(load, bf16_weights_compute_as_their_f32_values)
{
    /* Two checkpoints with the same bf16-representable values, one stored as BF16 and one as
     * F32: their logits must be identical (BF16 is widened exactly). */
    struct ckpt c;
    ckpt_read("marian", &c);
    size_t n_f = c.data_size / 4;
    float *f32 = malloc(c.data_size);
    uint16_t *b16 = malloc(n_f * 2);
    memcpy(f32, c.data, c.data_size);
    for (size_t i = 0; i < n_f; i++) {
        b16[i] = to_bf16(f32[i]);
        uint32_t x = (uint32_t)b16[i] << 16;
        memcpy(&f32[i], &x, 4);
    }
    json_t *h16 = json_deep_copy(c.header);
    const char *key;
    json_t *v;
    json_object_foreach(h16, key, v)
    {
        if (!strcmp(key, "__metadata__")) continue;
        json_t *o = json_object_get(v, "data_offsets");
        json_int_t b = json_integer_value(json_array_get(o, 0)) / 2;
        json_int_t e = json_integer_value(json_array_get(o, 1)) / 2;
        json_object_set_new(v, "data_offsets", json_pack("[II]", b, e));
        json_object_set_new(v, "dtype", json_string("BF16"));
    }
    const char *d32 = make_dir("marian"), *d16 = make_dir("marian");
    ckpt_write(d32, "model.safetensors", c.header, (unsigned char *)f32, c.data_size);
    ckpt_write(d16, "model.safetensors", h16, (unsigned char *)b16, n_f * 2);
    json_decref(h16);
    free(f32);
    free(b16);
    ckpt_free(&c);
    int n1, n2;
    float *a = logits_of(d32, &n1), *b = logits_of(d16, &n2);
    cr_assert_eq(n1, n2);
    for (int i = 0; i < n1; i++)
        cr_assert_eq(a[i], b[i], "logit %d differs", i);
    free(a);
    free(b);
    tx_model *m = NULL;
    cr_assert_eq(tx_model_load(d16, &m, NULL), TX_OK);
    cr_assert_str_eq(tx_model_get_info(m)->dtype, "BF16");
    tx_model_free(m);
}

/* ---- model facts -------------------------------------------------------------------------- */

Test(load, info_reports_the_fixture_dimensions_and_dtype)
{
    static const struct {
        const char *model, *type, *dtype;
        tx_arch arch;
        int max_pos;
    } want[] = {{"marian", "marian", "F32", TX_ARCH_MARIAN, 64},
                {"marian-f16", "marian", "F16", TX_ARCH_MARIAN, 64},
                {"bart", "bart", "F32", TX_ARCH_BART, 64},
                {"t5", "t5", "F32", TX_ARCH_T5, 0}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        char dir[256];
        snprintf(dir, sizeof dir, FIXTURE "/%s", want[i].model);
        tx_model *m = NULL;
        struct tx_error e = {0};
        cr_assert_eq(tx_model_load(dir, &m, &e), TX_OK, "%s", e.message);
        const struct tx_model_info *in = tx_model_get_info(m);
        cr_assert_eq(in->arch, want[i].arch);
        cr_assert_str_eq(in->model_type, want[i].type);
        cr_assert_str_eq(in->dtype, want[i].dtype);
        cr_assert_eq(in->d_model, 64);
        cr_assert_eq(in->n_encoder_layers, 2);
        cr_assert_eq(in->n_decoder_layers, 2);
        cr_assert_eq(in->n_heads, 4);
        cr_assert_eq(in->vocab_size, 128);
        cr_assert_eq(in->max_source_positions, want[i].max_pos);
        cr_assert_gt(in->n_params, 100000);
        cr_assert_gt(in->weight_bytes, 0);
        tx_model_free(m);
    }
}

Test(load, info_reports_unequal_encoder_and_decoder_depths)
{
    /* the default models' shapes: Marian 6 + 3 layers, T5 4 + 2 blocks (variants made with
     * transformers, see tests/fixtures/variants/make_variants.py) */
    static const struct {
        const char *dir;
        int enc, dec;
    } want[] = {{"tests/fixtures/variants/marian-6-3", 6, 3},
                {"tests/fixtures/variants/t5-4-2", 4, 2},
                {"tests/fixtures/variants/t5-gated", 2, 3}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        tx_model *m = NULL;
        struct tx_error e = {0};
        cr_assert_eq(tx_model_load(want[i].dir, &m, &e), TX_OK, "%s: %s", want[i].dir, e.message);
        cr_assert_eq(tx_model_get_info(m)->n_encoder_layers, want[i].enc, "%s", want[i].dir);
        cr_assert_eq(tx_model_get_info(m)->n_decoder_layers, want[i].dec, "%s", want[i].dir);
        tx_model_free(m);
    }
}

Test(load, marian_parameter_count_counts_the_shared_embedding_once)
{
    /* shared 128x64 + final_logits_bias 128 + per encoder layer 4*(64*64+64) + 2*64*2 (norms)
     * + 128*64+128 + 64*128+64; per decoder layer: two attentions */
    long long d = 64, f = 128, v = 128;
    long long attn = 4 * (d * d + d), norm = 2 * d, ffn = d * f + f + f * d + d;
    long long enc = attn + norm + ffn + norm, dec = 2 * attn + 2 * norm + ffn + norm;
    long long want = v * d + v + 2 * enc + 2 * dec;
    tx_model *m = NULL;
    cr_assert_eq(tx_model_load(FIXTURE "/marian", &m, NULL), TX_OK);
    cr_assert_eq(tx_model_get_info(m)->n_params, want);
    cr_assert_eq(tx_model_get_info(m)->weight_bytes, want * 4);
    tx_model_free(m);
}

Test(load, generation_defaults_come_from_generation_config)
{
    tx_model *m = NULL;
    cr_assert_eq(tx_model_load(FIXTURE "/bart", &m, NULL), TX_OK);
    struct tx_gen_params g = tx_model_gen_params(m);
    cr_assert_eq(g.decoder_start_token_id, 2);
    cr_assert_eq(g.eos_token_id, 2);
    cr_assert_eq(g.pad_token_id, 1);
    cr_assert_eq(g.forced_bos_token_id, 0);
    cr_assert_eq(g.forced_eos_token_id, 2);
    cr_assert_eq(g.min_length, 8);
    cr_assert_eq(g.max_length, 48);
    cr_assert_eq(g.no_repeat_ngram_size, 3);
    cr_assert_eq(g.num_beams, 4);
    cr_assert_float_eq(g.length_penalty, 2.0f, 0);
    cr_assert_eq(g.early_stopping, 1);
    tx_model_free(m);
    cr_assert_eq(tx_model_load(FIXTURE "/marian", &m, NULL), TX_OK);
    g = tx_model_gen_params(m);
    cr_assert_eq(g.decoder_start_token_id, 127);
    cr_assert_eq(g.n_bad_words, 1);
    cr_assert_eq(g.bad_words_len[0], 1);
    cr_assert_eq(g.bad_words[0][0], 127);
    cr_assert_eq(g.forced_bos_token_id, -1);
    cr_assert_eq(g.forced_eos_token_id, 0);
    tx_model_free(m);
    cr_assert_eq(tx_model_load(FIXTURE "/t5", &m, NULL), TX_OK);
    g = tx_model_gen_params(m);
    cr_assert_eq(g.max_length, 20); /* GenerationConfig default */
    cr_assert_eq(g.decoder_start_token_id, 0);
    cr_assert_eq(g.eos_token_id, 1);
    cr_assert_eq(g.top_k, 50);
    tx_model_free(m);
}

Test(load, without_generation_config_the_config_class_defaults_apply)
{
    /* BartConfig defaults forced_eos_token_id=2 etc. when config.json does not say otherwise */
    char *text = config_with("bart", "forced_eos_token_id", NULL);
    const char *d = with_config("bart", text);
    free(text);
    char path[512];
    snprintf(path, sizeof path, "%s/generation_config.json", d);
    cr_assert_eq(unlink(path), 0);
    tx_model *m = NULL;
    struct tx_error e = {0};
    cr_assert_eq(tx_model_load(d, &m, &e), TX_OK, "%s", e.message);
    struct tx_gen_params g = tx_model_gen_params(m);
    cr_assert_eq(g.forced_eos_token_id, 2);
    cr_assert_eq(g.min_length, 8); /* from config.json */
    cr_assert_eq(g.num_beams, 4);
    tx_model_free(m);
}

Test(load, unimplemented_generation_options_are_unsupported_naming_the_field)
{
    static const struct {
        const char *key, *json, *frag;
    } cases[] = {{"num_beam_groups", "2", "num_beam_groups = 2"},
                 {"typical_p", "0.9", "typical_p = 0.9"},
                 {"suppress_tokens", "[5, 6]", "suppress_tokens"},
                 {"forced_decoder_ids", "[[1, 5]]", "forced_decoder_ids"},
                 {"renormalize_logits", "true", "renormalize_logits"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *d = with_config("marian", "{}");
        char *text = config_with("marian", "model_type", json_string("marian"));
        put_text(d, "config.json", text);
        free(text);
        char gen[256];
        snprintf(gen, sizeof gen, "{\"decoder_start_token_id\": 127, \"%s\": %s}", cases[i].key,
                 cases[i].json);
        put_text(d, "generation_config.json", gen);
        expect_fail(d, TX_ERR_UNSUPPORTED, "generation_config.json", cases[i].frag);
    }
    /* their defaults (as older config.json files list them) are fine */
    const char *d = with_config("marian", "{}");
    char *text = config_with("marian", "diversity_penalty", json_real(0.0));
    put_text(d, "config.json", text);
    free(text);
    put_text(d, "generation_config.json",
             "{\"num_beam_groups\": 1, \"typical_p\": 1.0, \"suppress_tokens\": null, "
             "\"forced_decoder_ids\": null, \"renormalize_logits\": false}");
    tx_model *m = NULL;
    struct tx_error e = {0};
    cr_assert_eq(tx_model_load(d, &m, &e), TX_OK, "%s", e.message);
    tx_model_free(m);
}

Test(load, task_prefix_comes_from_task_specific_params)
{
    char *text = config_with("t5", "task_specific_params",
                             json_pack("{s:{s:s}}", "summarization", "prefix", "summarize: "));
    const char *d = with_config("t5", text);
    free(text);
    tx_model *m = NULL;
    cr_assert_eq(tx_model_load(d, &m, NULL), TX_OK);
    cr_assert_str_eq(tx_model_task_prefix(m, "summarization"), "summarize: ");
    cr_assert_null(tx_model_task_prefix(m, "translation_en_to_de"));
    tx_model_free(m);
}

Test(load, task_generation_options_apply_over_the_generation_config)
{
    /* t5-small's summarization entry, as transformers' pipeline("summarization") applies it */
    json_t *task = json_pack("{s:{s:b,s:f,s:i,s:i,s:i,s:i,s:s}}", "summarization", "early_stopping",
                             1, "length_penalty", 2.0, "max_length", 200, "min_length", 30,
                             "no_repeat_ngram_size", 3, "num_beams", 4, "prefix", "summarize: ");
    char *text = config_with("t5", "task_specific_params", task);
    const char *d = with_config("t5", text);
    free(text);
    tx_model *m = NULL;
    struct tx_error e = {0};
    cr_assert_eq(tx_model_load(d, &m, &e), TX_OK, "%s", e.message);
    struct tx_gen_params g;
    cr_assert_eq(tx_model_task_gen_params(m, "summarization", &g, &e), TX_OK, "%s", e.message);
    cr_assert_eq(g.num_beams, 4);
    cr_assert_eq(g.max_length, 200);
    cr_assert_eq(g.min_length, 30);
    cr_assert_eq(g.no_repeat_ngram_size, 3);
    cr_assert_eq(g.early_stopping, 1);
    cr_assert_float_eq(g.length_penalty, 2.0f, 0);
    cr_assert_eq(g.decoder_start_token_id, 0, "generation_config.json values stay");
    cr_assert_eq(g.eos_token_id, 1);
    /* a task the config does not list: the plain defaults */
    cr_assert_eq(tx_model_task_gen_params(m, "translation_en_to_de", &g, &e), TX_OK);
    cr_assert_eq(g.num_beams, tx_model_gen_params(m).num_beams);
    cr_assert_eq(g.max_length, 20);
    tx_model_free(m);

    /* a bad or unimplemented option is named with its place */
    text = config_with("t5", "task_specific_params",
                       json_pack("{s:{s:s}}", "summarization", "num_beams", "four"));
    d = with_config("t5", text);
    free(text);
    cr_assert_eq(tx_model_load(d, &m, &e), TX_OK, "%s", e.message);
    struct tx_gen_params untouched;
    memset(&untouched, 0x5a, sizeof untouched);
    g = untouched;
    cr_assert_eq(tx_model_task_gen_params(m, "summarization", &g, &e), TX_ERR_FORMAT);
    cr_assert(strstr(e.message, "task_specific_params.summarization") &&
                  strstr(e.message, "\"num_beams\" must be an integer"),
              "%s", e.message);
    cr_assert_eq(memcmp(&g, &untouched, sizeof g), 0, "out written on failure");
    tx_model_free(m);
    text = config_with("t5", "task_specific_params",
                       json_pack("{s:{s:i}}", "summarization", "num_beam_groups", 2));
    d = with_config("t5", text);
    free(text);
    cr_assert_eq(tx_model_load(d, &m, &e), TX_OK, "%s", e.message);
    cr_assert_eq(tx_model_task_gen_params(m, "summarization", &g, &e), TX_ERR_UNSUPPORTED);
    cr_assert(strstr(e.message, "num_beam_groups = 2"), "%s", e.message);
    tx_model_free(m);
}

Test(load, random_corruptions_of_the_header_fail_cleanly_or_load)
{
    /* Flips bytes of the length prefix and the JSON header of the T5 fixture: every load must
     * either fail with a message or succeed; never crash or read out of bounds (the sanitizer
     * build checks the latter). */
    size_t n;
    unsigned char *orig = read_all(FIXTURE "/t5/model.safetensors", &n);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | orig[i];
    unsigned char *buf = malloc(n);
    const char *d = make_dir("t5");
    char path[512];
    snprintf(path, sizeof path, "%s/model.safetensors", d);
    uint64_t rng = 99;
    int failed = 0;
    for (int iter = 0; iter < 150; iter++) {
        memcpy(buf, orig, n);
        int flips = 1 + (int)(tu_rand_u64(&rng) % 4);
        for (int f = 0; f < flips; f++) {
            size_t at = (size_t)(tu_rand_u64(&rng) % (8 + hlen));
            buf[at] = (unsigned char)tu_rand_u64(&rng);
        }
        write_all(path, buf, n);
        tx_model *m = NULL;
        struct tx_error e = {0};
        tx_status st = tx_model_load(d, &m, &e);
        if (st != TX_OK) {
            failed++;
            cr_assert_null(m);
            cr_assert(strlen(e.message) > 0, "failure without a message");
        } else {
            tx_model_free(m);
        }
    }
    cr_assert_gt(failed, 75, "most corruptions should be detected (%d of 150)", failed);
    free(buf);
    free(orig);
}

/* The parity tests read the copies in tests/fixtures/hf-tiny; when ../shared/fixtures is there,
 * the copies must be byte for byte the reference, and every reference model must be one the
 * parity tests (test_forward.c, test_generate.c) cover. */
Test(load, fixture_copies_are_the_shared_reference_models)
{
    const char *shared = tu_shared_fixtures();
    if (!shared)
        TU_SKIP("SKIP: ../shared/fixtures is absent; the copies are used as they are");
    static const char *covered[] = {"marian", "marian-f16", "bart", "t5"};
    char ref_dir[512];
    snprintf(ref_dir, sizeof ref_dir, "%s/hf-tiny", shared);
    DIR *d = opendir(ref_dir);
    cr_assert_not_null(d, "%s", ref_dir);
    int n_models = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        int known = 0;
        for (size_t i = 0; i < sizeof covered / sizeof covered[0]; i++)
            known |= !strcmp(de->d_name, covered[i]);
        cr_expect(known, "%s/%s is not covered by the parity tests", ref_dir, de->d_name);
        static const char *files[] = {"config.json", "generation_config.json", "model.safetensors",
                                      "cases.json"};
        for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
            char a[1024], b[1024];
            snprintf(a, sizeof a, "%s/%s/%s", ref_dir, de->d_name, files[f]);
            snprintf(b, sizeof b, FIXTURE "/%s/%s", de->d_name, files[f]);
            size_t na, nb;
            unsigned char *x = read_all(a, &na), *y = read_all(b, &nb);
            cr_expect(na == nb && !memcmp(x, y, na), "%s differs from %s", b, a);
            free(x);
            free(y);
        }
        n_models++;
    }
    closedir(d);
    cr_expect_eq(n_models, 4);
}
