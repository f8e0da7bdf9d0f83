/* tok_json.c — tokenizer.json (Hugging Face tokenizers format) pipelines. */
#include "tok_api.h"
#include "txi.h"

#include <stdlib.h>

struct tok_json {
    int dummy;
};

tx_status tok_json_load(struct tx_tokenizer *tok, const char *path, const char *config_path,
                        struct tx_error *err)
{
    (void)tok;
    (void)config_path;
    return txi_fail(err, TX_ERR_UNSUPPORTED, "%s: not implemented yet", path);
}

void tok_json_free(struct tok_json *j)
{
    free(j);
}

tx_status tok_json_encode(const struct tx_tokenizer *tok, const char *text, size_t len,
                          int32_t **ids, uint32_t **offs, size_t *n, size_t *cap,
                          struct tx_error *err)
{
    (void)tok, (void)text, (void)len, (void)ids, (void)offs, (void)n, (void)cap;
    return txi_fail(err, TX_ERR_UNSUPPORTED, "tokenizer.json: not implemented yet");
}

tx_status tok_json_decode(const struct tx_tokenizer *tok, const int32_t *ids, int n_ids,
                          int skip_special, struct tok_buf *out, struct tx_error *err)
{
    (void)tok, (void)ids, (void)n_ids, (void)skip_special, (void)out;
    return txi_fail(err, TX_ERR_UNSUPPORTED, "tokenizer.json: not implemented yet");
}
