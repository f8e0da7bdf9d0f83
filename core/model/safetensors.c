/* safetensors.c — read-only memory-mapped safetensors files with a fully validated header.
 * Format: 8-byte little-endian header length N, N bytes of JSON
 * {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}},
 * then the data area; offsets are relative to the start of the data area. */
#include "safetensors.h"
#include "txi.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* A header above this is not a real checkpoint's (the reference implementation uses 100 MB). */
#define ST_MAX_HEADER ((uint64_t)100 << 20)

size_t txi_st_dtype_size(const char *d)
{
    static const struct {
        const char *name;
        size_t size;
    } table[] = {{"F64", 8}, {"F32", 4}, {"F16", 2},  {"BF16", 2},    {"I64", 8},
                 {"I32", 4}, {"I16", 2}, {"I8", 1},   {"U64", 8},     {"U32", 4},
                 {"U16", 2}, {"U8", 1},  {"BOOL", 1}, {"F8_E5M2", 1}, {"F8_E4M3", 1}};
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (!strcmp(d, table[i].name)) return table[i].size;
    return 0;
}

float txi_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t man = h & 0x3ffu;
    uint32_t bits;
    if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else { /* subnormal: normalise */
            int e = -1;
            do {
                e++;
                man <<= 1;
            } while (!(man & 0x400u));
            bits = sign | (uint32_t)(127 - 15 - e) << 23 | (man & 0x3ffu) << 13;
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | man << 13;
    } else {
        bits = sign | (exp + 127 - 15) << 23 | man << 13;
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

float txi_bf16_to_f32(uint16_t b)
{
    uint32_t bits = (uint32_t)b << 16;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static int cmp_tensor_name(const void *a, const void *b)
{
    return strcmp(((const struct txi_st_tensor *)a)->name, ((const struct txi_st_tensor *)b)->name);
}

static int cmp_tensor_data(const void *a, const void *b)
{
    const struct txi_st_tensor *x = *(const struct txi_st_tensor *const *)a;
    const struct txi_st_tensor *y = *(const struct txi_st_tensor *const *)b;
    if (x->data != y->data) return x->data < y->data ? -1 : 1;
    return x->n_bytes < y->n_bytes ? -1 : x->n_bytes > y->n_bytes;
}

/* A JSON integer in [0, max], else -1. */
static int64_t json_index(const json_t *v, int64_t max)
{
    if (!json_is_integer(v)) return -1;
    json_int_t x = json_integer_value(v);
    if (x < 0 || x > max) return -1;
    return (int64_t)x;
}

/* Validates one header entry and fills t (name set by the caller). */
static tx_status parse_entry(const struct txi_st_file *f, const char *key, json_t *v,
                             size_t data_size, struct txi_st_tensor *t, struct tx_error *err)
{
    const char *fn = f->name;
    if (!json_is_object(v))
        return txi_fail(err, TX_ERR_FORMAT, "%s: header entry \"%s\" is not an object", fn, key);
    json_t *jd = json_object_get(v, "dtype");
    json_t *js = json_object_get(v, "shape");
    json_t *jo = json_object_get(v, "data_offsets");
    if (!json_is_string(jd))
        return txi_fail(err, TX_ERR_FORMAT, "%s: tensor %s has no string \"dtype\"", fn, key);
    if (!json_is_array(js))
        return txi_fail(err, TX_ERR_FORMAT, "%s: tensor %s has no \"shape\" array", fn, key);
    if (!json_is_array(jo) || json_array_size(jo) != 2)
        return txi_fail(err, TX_ERR_FORMAT, "%s: tensor %s has no \"data_offsets\" [begin, end]",
                        fn, key);
    const char *dn = json_string_value(jd);
    size_t el = txi_st_dtype_size(dn);
    if (!el || strlen(dn) >= sizeof t->dtype_name)
        return txi_fail(err, TX_ERR_FORMAT, "%s: tensor %s has unknown dtype \"%s\"", fn, key, dn);
    strcpy(t->dtype_name, dn);
    t->dtype = !strcmp(dn, "F32")    ? TXI_DT_F32
               : !strcmp(dn, "F16")  ? TXI_DT_F16
               : !strcmp(dn, "BF16") ? TXI_DT_BF16
               : !strcmp(dn, "I8")   ? TXI_DT_I8
                                     : TXI_DT_OTHER;
    size_t nd = json_array_size(js);
    if (nd > TXI_ST_MAX_DIMS)
        return txi_fail(err, TX_ERR_FORMAT, "%s: tensor %s has %zu dimensions (at most %d)", fn,
                        key, nd, TXI_ST_MAX_DIMS);
    t->n_dims = (int)nd;
    uint64_t n = 1;
    for (size_t i = 0; i < nd; i++) {
        int64_t d = json_index(json_array_get(js, i), INT64_MAX);
        if (d < 0)
            return txi_fail(err, TX_ERR_FORMAT,
                            "%s: tensor %s: shape[%zu] is not a non-negative integer", fn, key, i);
        t->shape[i] = d;
        if (d && n > (uint64_t)INT64_MAX / (uint64_t)d)
            return txi_fail(err, TX_ERR_FORMAT, "%s: tensor %s: shape overflows", fn, key);
        n *= (uint64_t)d;
    }
    if (n > SIZE_MAX / el)
        return txi_fail(err, TX_ERR_FORMAT, "%s: tensor %s: shape overflows", fn, key);
    t->n_elems = (int64_t)n;
    int64_t b = json_index(json_array_get(jo, 0), INT64_MAX);
    int64_t e = json_index(json_array_get(jo, 1), INT64_MAX);
    if (b < 0 || e < 0)
        return txi_fail(err, TX_ERR_FORMAT,
                        "%s: tensor %s: data_offsets are not non-negative integers", fn, key);
    if (b > e)
        return txi_fail(err, TX_ERR_FORMAT,
                        "%s: tensor %s: data_offsets [%lld, %lld] end before they begin", fn, key,
                        (long long)b, (long long)e);
    if ((uint64_t)e > data_size)
        return txi_fail(err, TX_ERR_FORMAT,
                        "%s: tensor %s: data_offsets [%lld, %lld] run past the end of the data "
                        "(%zu bytes after the header)",
                        fn, key, (long long)b, (long long)e, data_size);
    if ((uint64_t)(e - b) != n * el)
        return txi_fail(err, TX_ERR_FORMAT,
                        "%s: tensor %s: data_offsets span %lld bytes, but %s with %llu elements "
                        "needs %llu",
                        fn, key, (long long)(e - b), dn, (unsigned long long)n,
                        (unsigned long long)(n * el));
    t->data = (const unsigned char *)f->map + f->data_start + (size_t)b;
    t->n_bytes = (size_t)(e - b);
    return TX_OK;
}

static tx_status parse_header(struct txi_st_file *f, struct tx_error *err)
{
    const char *fn = f->name;
    const unsigned char *p = f->map;
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | p[i];
    if (hlen > f->map_size - 8)
        return txi_fail(err, TX_ERR_FORMAT,
                        "%s: header length %llu runs past the end of the file (%zu bytes)", fn,
                        (unsigned long long)hlen, f->map_size);
    if (hlen > ST_MAX_HEADER)
        return txi_fail(err, TX_ERR_FORMAT, "%s: header length %llu is implausibly large", fn,
                        (unsigned long long)hlen);
    f->data_start = 8 + (size_t)hlen;
    size_t data_size = f->map_size - f->data_start;

    json_error_t jerr;
    json_t *root = json_loadb((const char *)p + 8, (size_t)hlen, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return txi_fail(err, TX_ERR_FORMAT, "%s: header is not valid JSON: %s (at byte %d)", fn,
                        jerr.text, jerr.position + 8);
    tx_status st = TX_OK;
    struct txi_st_tensor **by_data = NULL;
    if (!json_is_object(root)) {
        st = txi_fail(err, TX_ERR_FORMAT, "%s: header is not a JSON object", fn);
        goto done;
    }
    size_t n = 0, names_size = 0;
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v)
    {
        if (!strcmp(key, "__metadata__")) continue;
        n++;
        names_size += strlen(key) + 1;
    }
    if (n > INT32_MAX) {
        st = txi_fail(err, TX_ERR_FORMAT, "%s: too many tensors", fn);
        goto done;
    }
    f->tensors = calloc(n ? n : 1, sizeof *f->tensors);
    f->names = malloc(names_size ? names_size : 1);
    by_data = malloc((n ? n : 1) * sizeof *by_data);
    if (!f->tensors || !f->names || !by_data) {
        st = txi_fail(err, TX_ERR_NOMEM, "%s: out of memory reading the header", fn);
        goto done;
    }
    size_t i = 0, off = 0;
    json_object_foreach(root, key, v)
    {
        if (!strcmp(key, "__metadata__")) continue;
        struct txi_st_tensor *t = &f->tensors[i];
        size_t kl = strlen(key) + 1;
        memcpy(f->names + off, key, kl);
        t->name = f->names + off;
        off += kl;
        st = parse_entry(f, key, v, data_size, t, err);
        if (st != TX_OK) goto done;
        by_data[i] = t;
        i++;
    }
    f->n_tensors = (int)n;

    /* No two tensors may share bytes (the format forbids it; a crafted file could alias). */
    qsort(by_data, n, sizeof *by_data, cmp_tensor_data);
    for (size_t k = 1; k < n; k++) {
        const struct txi_st_tensor *a = by_data[k - 1], *b = by_data[k];
        if (a->n_bytes && b->n_bytes && b->data < a->data + a->n_bytes) {
            st = txi_fail(err, TX_ERR_FORMAT, "%s: tensors %s and %s overlap in the data area", fn,
                          a->name, b->name);
            goto done;
        }
    }
    qsort(f->tensors, n, sizeof *f->tensors, cmp_tensor_name);
done:
    free(by_data);
    json_decref(root);
    return st;
}

tx_status txi_st_open(const char *path, const char *display, struct txi_st_file *f,
                      struct tx_error *err)
{
    memset(f, 0, sizeof *f);
    f->name = strdup(display ? display : path);
    if (!f->name) return txi_fail(err, TX_ERR_NOMEM, "%s: out of memory", path);
    tx_status st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        st = txi_fail(err, TX_ERR_IO, "%s: cannot open: %s", f->name, strerror(errno));
        goto fail;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        st = txi_fail(err, TX_ERR_IO, "%s: not a regular file", f->name);
        close(fd);
        goto fail;
    }
    if (sb.st_size < 8) {
        st = txi_fail(err, TX_ERR_FORMAT,
                      "%s: file is %lld bytes, too short for the 8-byte header length", f->name,
                      (long long)sb.st_size);
        close(fd);
        goto fail;
    }
    if ((uint64_t)sb.st_size > SIZE_MAX) {
        st = txi_fail(err, TX_ERR_IO, "%s: file too large to map", f->name);
        close(fd);
        goto fail;
    }
    f->map_size = (size_t)sb.st_size;
    void *map = mmap(NULL, f->map_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) {
        st = txi_fail(err, TX_ERR_IO, "%s: cannot map: %s", f->name, strerror(errno));
        goto fail;
    }
    f->map = map;
    st = parse_header(f, err);
    if (st != TX_OK) goto fail;
    return TX_OK;
fail:
    txi_st_close(f);
    return st;
}

void txi_st_close(struct txi_st_file *f)
{
    if (f->map) munmap(f->map, f->map_size);
    free(f->tensors);
    free(f->names);
    free(f->name);
    memset(f, 0, sizeof *f);
}

const struct txi_st_tensor *txi_st_find(const struct txi_st_file *f, const char *name)
{
    struct txi_st_tensor key;
    key.name = name;
    if (!f->n_tensors) return NULL;
    return bsearch(&key, f->tensors, (size_t)f->n_tensors, sizeof key, cmp_tensor_name);
}
