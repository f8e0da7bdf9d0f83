/* generate.c — tx_generate: greedy, sampling and beam search with transformers' semantics. */
#include "tx.h"
#include "txi.h"

struct tx_gen_params tx_gen_default_params(void)
{
    struct tx_gen_params g = {0};
    g.max_length = 20;
    g.num_beams = 1;
    g.num_return_sequences = 1;
    g.length_penalty = 1.0f;
    g.repetition_penalty = 1.0f;
    g.temperature = 1.0f;
    g.top_k = 50;
    g.top_p = 1.0f;
    g.decoder_start_token_id = -1;
    g.eos_token_id = -1;
    g.pad_token_id = -1;
    g.forced_bos_token_id = -1;
    g.forced_eos_token_id = -1;
    return g;
}

tx_status tx_generate(tx_session *s, const int32_t *const *input_ids, const int *n_src,
                      int n_inputs, const struct tx_gen_params *params, struct tx_gen_out *out,
                      struct tx_error *err)
{
    (void)s; (void)input_ids; (void)n_src; (void)n_inputs; (void)params; (void)out;
    return txi_fail(err, TX_ERR_UNSUPPORTED, "not yet");
}
