/* tok_spm_proto.c — protobuf wire-format reader for SentencePiece .model files. */
#include "tok_spm_proto.h"
#include "containers.h"
#include "txi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Wire types (protobuf encoding spec). */
enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_SGROUP = 3, WT_EGROUP = 4, WT_I32 = 5 };

struct reader {
    const unsigned char *base; /* start of the file, for offsets in messages */
    size_t pos, end;           /* current position and end of the current message */
    const char *name;          /* file name for errors */
    struct tx_error *err;
};

static tx_status bad(struct reader *r, size_t at, const char *what, const char *fact)
{
    return txi_fail(r->err, TX_ERR_FORMAT, "%s: byte %zu: %s: %s", r->name, at, what, fact);
}

static tx_status read_varint(struct reader *r, const char *what, uint64_t *out)
{
    uint64_t v = 0;
    size_t start = r->pos;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->pos >= r->end) return bad(r, start, what, "varint runs past the end of its message");
        unsigned char b = r->base[r->pos++];
        v |= (uint64_t)(b & 0x7F) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return TX_OK;
        }
    }
    return bad(r, start, what, "varint longer than 10 bytes");
}

/* Reads a field key; *field = 0 at the end of the message. */
static tx_status read_key(struct reader *r, uint32_t *field, int *wt)
{
    *field = 0;
    *wt = 0;
    if (r->pos >= r->end) {
        *field = 0;
        return TX_OK;
    }
    size_t at = r->pos;
    uint64_t key = 0;
    tx_status st = read_varint(r, "field key", &key);
    if (st) return st;
    if ((key >> 3) == 0 || (key >> 3) > 0x1FFFFFFF)
        return bad(r, at, "field key", "field number 0 or out of range");
    *field = (uint32_t)(key >> 3);
    *wt = (int)(key & 7);
    if (*wt == WT_SGROUP || *wt == WT_EGROUP)
        return txi_fail(r->err, TX_ERR_UNSUPPORTED,
                        "%s: byte %zu: field %u uses protobuf groups, "
                        "which a SentencePiece model never contains",
                        r->name, at, *field);
    if (*wt > WT_I32) return bad(r, at, "field key", "unknown wire type");
    return TX_OK;
}

static tx_status read_len(struct reader *r, const char *what, size_t *start, size_t *len)
{
    size_t at = r->pos;
    uint64_t n = 0;
    *start = *len = 0;
    tx_status st = read_varint(r, what, &n);
    if (st) return st;
    if (n > r->end - r->pos) {
        char fact[160];
        snprintf(fact, sizeof fact, "length %llu runs past the end of its message (byte %zu)",
                 (unsigned long long)n, r->end);
        return bad(r, at, what, fact);
    }
    *start = r->pos;
    *len = (size_t)n;
    r->pos += (size_t)n;
    return TX_OK;
}

static tx_status skip_field(struct reader *r, int wt, const char *what)
{
    uint64_t v = 0;
    size_t s = 0, n = 0;
    switch (wt) {
    case WT_VARINT:
        return read_varint(r, what, &v);
    case WT_LEN:
        return read_len(r, what, &s, &n);
    case WT_I64:
    case WT_I32: {
        size_t k = wt == WT_I64 ? 8 : 4;
        if (r->end - r->pos < k) return bad(r, r->pos, what, "fixed-width value runs past the end");
        r->pos += k;
        return TX_OK;
    }
    }
    return bad(r, r->pos, what, "unknown wire type");
}

static tx_status expect(struct reader *r, int wt, int want, size_t at, const char *what)
{
    if (wt == want) return TX_OK;
    return bad(r, at, what, "unexpected wire type for this field");
}

static tx_status read_bool(struct reader *r, int wt, size_t at, const char *what, int *out)
{
    uint64_t v = 0;
    tx_status st = expect(r, wt, WT_VARINT, at, what);
    if (!st) st = read_varint(r, what, &v);
    if (!st) *out = v != 0;
    return st;
}

static tx_status read_bytes(struct reader *r, int wt, size_t at, const char *what,
                            struct spm_bytes *out)
{
    size_t s = 0, n = 0;
    tx_status st = expect(r, wt, WT_LEN, at, what);
    if (!st) st = read_len(r, what, &s, &n);
    if (!st) {
        out->data = (const char *)r->base + s;
        out->size = n;
    }
    return st;
}

/* Runs fn over the fields of the sub-message [start, start+len) of r. */
#define SUBREADER(r, s, n)                                                                         \
    {                                                                                              \
        (r)->base, (s), (s) + (n), (r)->name, (r)->err                                             \
    }

static tx_status parse_piece(struct reader *parent, size_t s, size_t n, struct spm_piece *p,
                             int index)
{
    struct reader r = SUBREADER(parent, s, n);
    char what[64];
    p->piece.data = NULL;
    p->piece.size = 0;
    p->score = 0.0f;
    p->type = SPM_NORMAL;
    for (;;) {
        uint32_t field = 0;
        int wt = 0;
        size_t at = r.pos;
        tx_status st = read_key(&r, &field, &wt);
        if (st || field == 0) return st;
        if (field == 1) {
            snprintf(what, sizeof what, "pieces[%d].piece", index);
            st = read_bytes(&r, wt, at, what, &p->piece);
        } else if (field == 2) {
            snprintf(what, sizeof what, "pieces[%d].score", index);
            st = expect(&r, wt, WT_I32, at, what);
            if (!st) {
                if (r.end - r.pos < 4) return bad(&r, at, what, "float runs past the end");
                uint32_t bits = (uint32_t)r.base[r.pos] | (uint32_t)r.base[r.pos + 1] << 8 |
                                (uint32_t)r.base[r.pos + 2] << 16 |
                                (uint32_t)r.base[r.pos + 3] << 24;
                memcpy(&p->score, &bits, 4);
                r.pos += 4;
            }
        } else if (field == 3) {
            uint64_t v = 0;
            snprintf(what, sizeof what, "pieces[%d].type", index);
            st = expect(&r, wt, WT_VARINT, at, what);
            if (!st) st = read_varint(&r, what, &v);
            /* proto2 keeps the previous value for an enum number it does not know */
            if (!st && v >= SPM_NORMAL && v <= SPM_BYTE) p->type = (int)v;
        } else {
            snprintf(what, sizeof what, "pieces[%d] field %u", index, field);
            st = skip_field(&r, wt, what);
        }
        if (st) return st;
    }
}

static tx_status parse_trainer(struct reader *parent, size_t s, size_t n, struct spm_model_proto *m)
{
    struct reader r = SUBREADER(parent, s, n);
    for (;;) {
        uint32_t field = 0;
        int wt = 0;
        size_t at = r.pos;
        tx_status st = read_key(&r, &field, &wt);
        if (st || field == 0) return st;
        if (field == 3) {
            uint64_t v = 0;
            st = expect(&r, wt, WT_VARINT, at, "trainer_spec.model_type");
            if (!st) st = read_varint(&r, "trainer_spec.model_type", &v);
            if (!st && v >= SPM_MODEL_UNIGRAM && v <= SPM_MODEL_CHAR) m->model_type = (int)v;
        } else if (field == 35) {
            st = read_bool(&r, wt, at, "trainer_spec.byte_fallback", &m->byte_fallback);
        } else if (field == 24) {
            st = read_bool(&r, wt, at, "trainer_spec.treat_whitespace_as_suffix",
                           &m->treat_whitespace_as_suffix);
        } else if (field == 44) {
            st = read_bytes(&r, wt, at, "trainer_spec.unk_surface", &m->unk_surface);
            m->has_unk_surface = 1;
        } else {
            char what[64];
            snprintf(what, sizeof what, "trainer_spec field %u", field);
            st = skip_field(&r, wt, what);
        }
        if (st) return st;
    }
}

static tx_status parse_normalizer(struct reader *parent, size_t s, size_t n,
                                  struct spm_normalizer_spec *ns, const char *msg)
{
    struct reader r = SUBREADER(parent, s, n);
    char what[96];
    ns->present = 1;
    for (;;) {
        uint32_t field = 0;
        int wt = 0;
        size_t at = r.pos;
        tx_status st = read_key(&r, &field, &wt);
        if (st || field == 0) return st;
        switch (field) {
        case 1:
            snprintf(what, sizeof what, "%s.name", msg);
            st = read_bytes(&r, wt, at, what, &ns->name);
            break;
        case 2:
            snprintf(what, sizeof what, "%s.precompiled_charsmap", msg);
            st = read_bytes(&r, wt, at, what, &ns->precompiled_charsmap);
            break;
        case 3:
            snprintf(what, sizeof what, "%s.add_dummy_prefix", msg);
            st = read_bool(&r, wt, at, what, &ns->add_dummy_prefix);
            break;
        case 4:
            snprintf(what, sizeof what, "%s.remove_extra_whitespaces", msg);
            st = read_bool(&r, wt, at, what, &ns->remove_extra_whitespaces);
            break;
        case 5:
            snprintf(what, sizeof what, "%s.escape_whitespaces", msg);
            st = read_bool(&r, wt, at, what, &ns->escape_whitespaces);
            break;
        default:
            snprintf(what, sizeof what, "%s field %u", msg, field);
            st = skip_field(&r, wt, what);
        }
        if (st) return st;
    }
}

static void normalizer_defaults(struct spm_normalizer_spec *ns)
{
    memset(ns, 0, sizeof *ns);
    ns->add_dummy_prefix = 1;
    ns->remove_extra_whitespaces = 1;
    ns->escape_whitespaces = 1;
}

tx_status tok_spm_proto_parse(struct spm_model_proto *m, char *data, size_t size, const char *name,
                              struct tx_error *err)
{
    memset(m, 0, sizeof *m);
    m->file = data;
    m->file_size = size;
    m->model_type = SPM_MODEL_UNIGRAM;
    m->unk_surface.data = " \xE2\x81\x87 ";
    m->unk_surface.size = 5;
    normalizer_defaults(&m->normalizer);
    normalizer_defaults(&m->denormalizer);

    struct reader r = {(const unsigned char *)data, 0, size, name, err};
    size_t cap = 0;
    tx_status st = TX_OK;
    if (size == 0) {
        st = txi_fail(err, TX_ERR_FORMAT, "%s: empty file (not a SentencePiece model)", name);
        goto fail;
    }
    for (;;) {
        uint32_t field = 0;
        int wt = 0;
        size_t at = r.pos, s = 0, n = 0;
        st = read_key(&r, &field, &wt);
        if (st || field == 0) break;
        if (field == 1) {
            char what[48];
            snprintf(what, sizeof what, "pieces[%d]", m->n_pieces);
            st = expect(&r, wt, WT_LEN, at, what);
            if (!st) st = read_len(&r, what, &s, &n);
            if (st) break;
            if (m->n_pieces == INT32_MAX - 1 ||
                txi_grow((void **)&m->pieces, &cap, (size_t)m->n_pieces + 1, sizeof *m->pieces)) {
                st = txi_fail(err, TX_ERR_NOMEM, "%s: out of memory reading %d pieces", name,
                              m->n_pieces);
                break;
            }
            st = parse_piece(&r, s, n, &m->pieces[m->n_pieces], m->n_pieces);
            if (st) break;
            m->n_pieces++;
        } else if (field == 2 || field == 3 || field == 5) {
            const char *what = field == 2   ? "trainer_spec"
                               : field == 3 ? "normalizer_spec"
                                            : "denormalizer_spec";
            st = expect(&r, wt, WT_LEN, at, what);
            if (!st) st = read_len(&r, what, &s, &n);
            if (st) break;
            if (field == 2)
                st = parse_trainer(&r, s, n, m);
            else if (field == 3)
                st = parse_normalizer(&r, s, n, &m->normalizer, what);
            else
                st = parse_normalizer(&r, s, n, &m->denormalizer, what);
            if (st) break;
        } else {
            char what[48];
            snprintf(what, sizeof what, "field %u", field);
            st = skip_field(&r, wt, what);
            if (st) break;
        }
    }
    if (st) goto fail;
    if (m->n_pieces == 0) {
        st = txi_fail(err, TX_ERR_FORMAT, "%s: no pieces (not a SentencePiece model?)", name);
        goto fail;
    }
    return TX_OK;
fail:
    tok_spm_proto_free(m);
    return st;
}

void tok_spm_proto_free(struct spm_model_proto *m)
{
    free(m->file);
    free(m->pieces);
    memset(m, 0, sizeof *m);
}
