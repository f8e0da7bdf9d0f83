/* forward.h — teacher-forced passes that are not part of the public API (internal). */
#ifndef ATTNSERVE_FORWARD_H
#define ATTNSERVE_FORWARD_H

#include "tx.h"

/* Encoder only, for a padded batch: writes first-step logits and hidden states. Used by
 * parity tests of batched padding; arrays borrowed from the session like tx_forward's. */
struct tx_batch_forward_out {
    int n_batch, max_src, vocab, d_model;
    const float *encoder_hidden;   /* (n_batch, max_src, d_model); padded rows meaningless */
    const float *first_step_logits; /* (n_batch, vocab): decoder given only its start token */
};
tx_status txi_forward_batch_first_step(tx_session *s, const int32_t *const *input_ids,
                                       const int *n_src, int n_batch,
                                       struct tx_batch_forward_out *out, struct tx_error *err);

#endif
