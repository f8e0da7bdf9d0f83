/* tok_spm_proto.h — a SentencePiece ModelProto (sentencepiece_model.proto, proto2) read from its
 * protobuf wire format by hand: the pieces, the trainer options encoding needs and the
 * normalizer/denormalizer specs. */
#ifndef ATTNSERVE_TOK_SPM_PROTO_H
#define ATTNSERVE_TOK_SPM_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "tx.h"

/* ModelProto.SentencePiece.Type */
enum {
    SPM_NORMAL = 1,
    SPM_UNKNOWN = 2,
    SPM_CONTROL = 3,
    SPM_USER_DEFINED = 4,
    SPM_UNUSED = 5,
    SPM_BYTE = 6,
};

/* TrainerSpec.ModelType */
enum { SPM_MODEL_UNIGRAM = 1, SPM_MODEL_BPE = 2, SPM_MODEL_WORD = 3, SPM_MODEL_CHAR = 4 };

/* A byte string inside the model file buffer. */
struct spm_bytes {
    const char *data;
    size_t size;
};

struct spm_piece {
    struct spm_bytes piece;
    float score;
    int type;
};

/* NormalizerSpec, proto defaults applied (add_dummy_prefix, remove_extra_whitespaces and
 * escape_whitespaces default to true). */
struct spm_normalizer_spec {
    int present; /* the message occurred in the file */
    struct spm_bytes name;
    struct spm_bytes precompiled_charsmap;
    int add_dummy_prefix;
    int remove_extra_whitespaces;
    int escape_whitespaces;
};

struct spm_model_proto {
    char *file; /* owned: the whole file; every spm_bytes points into it */
    size_t file_size;
    struct spm_piece *pieces; /* (n_pieces), owned */
    int n_pieces;
    /* TrainerSpec fields used at encode/decode time (proto defaults applied) */
    int model_type;
    int byte_fallback;
    int treat_whitespace_as_suffix;
    int has_unk_surface;
    struct spm_bytes unk_surface; /* default " \xE2\x81\x87 " (U+2047 between spaces) */
    struct spm_normalizer_spec normalizer;
    struct spm_normalizer_spec denormalizer;
};

/* Parses data (size bytes; the proto takes ownership of data, which must come from malloc,
 * also on failure). name is used in error messages ("source.spm: byte 1234: ..."). Errors:
 * TX_ERR_FORMAT naming the byte offset and field for truncated or malformed input,
 * TX_ERR_UNSUPPORTED for wire features a ModelProto never uses (groups). */
tx_status tok_spm_proto_parse(struct spm_model_proto *m, char *data, size_t size, const char *name,
                              struct tx_error *err);
void tok_spm_proto_free(struct spm_model_proto *m);

#endif
