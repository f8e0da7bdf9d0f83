/* genparams.c — decoding options onto struct tx_gen_params, by the table's names. */
#include "genparams.h"

#include <stddef.h>

/* The row's field in tx_gen_params: offsetof fails to compile for a key that is no field, and
 * the static assertions below for a field of another type than the kind says. */
static const size_t tx_off[CFG_GEN_N_OPTIONS] = {
#define X(ID, key, kind, lo, lo_open, hi, srv_lo, srv_hi, surf, help)                              \
    [CFG_OPT_IDX_##ID] = offsetof(struct tx_gen_params, key),
    CFG_GEN_OPTIONS(X)
#undef X
};

#define TX_CTYPE_INT int
#define TX_CTYPE_NUM float
#define TX_CTYPE_BOOL int
#define TX_CTYPE_SEED uint64_t
#define TX_CTYPE_EARLY int
#define X(ID, key, kind, lo, lo_open, hi, srv_lo, srv_hi, surf, help)                              \
    _Static_assert(sizeof(((struct tx_gen_params *)0)->key) == sizeof(TX_CTYPE_##kind),            \
                   #key ": the table's kind does not match struct tx_gen_params");
CFG_GEN_OPTIONS(X)
#undef X

void cfg_gen_options_to_params(const struct cfg_gen_options *o, struct tx_gen_params *p)
{
    if ((o->set & CFG_OPT_MAX_LENGTH) && !(o->set & CFG_OPT_MAX_NEW_TOKENS)) p->max_new_tokens = 0;
    for (size_t i = 0; i < CFG_GEN_N_OPTIONS; i++) {
        const struct cfg_gen_option *op = &cfg_gen_option_table[i];
        if (!(o->set & op->bit)) continue;
        const char *src = (const char *)o + op->off;
        char *dst = (char *)p + tx_off[i];
        switch (op->kind) {
        case CFG_GEN_NUM:
            *(float *)(void *)dst = (float)*(const double *)(const void *)src;
            break;
        case CFG_GEN_SEED:
            *(uint64_t *)(void *)dst = *(const uint64_t *)(const void *)src;
            break;
        case CFG_GEN_INT:
        case CFG_GEN_BOOL:
        case CFG_GEN_EARLY:
            *(int *)(void *)dst = *(const int *)(const void *)src;
            break;
        }
    }
}
