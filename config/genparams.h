/* genparams.h — the decoding-option table's mapping onto the core's struct tx_gen_params: the
 * one place that sees both config's plain options and core's public header. */
#ifndef ATTNSERVE_GENPARAMS_H
#define ATTNSERVE_GENPARAMS_H

#include "genopts.h"
#include "tx.h"

/* Writes every field set in o onto p, each row of the table into the tx_gen_params field of
 * the same name (numbers as float, early_stopping 0/1/2 as is). max_length given without
 * max_new_tokens clears p->max_new_tokens, which would otherwise win (transformers:
 * generate(max_length=N) over a generation config with max_new_tokens). Fields not set keep
 * p's values. Thread-safe. */
void cfg_gen_options_to_params(const struct cfg_gen_options *o, struct tx_gen_params *p);

#endif
