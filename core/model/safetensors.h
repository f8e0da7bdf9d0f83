/* safetensors.h — read-only memory-mapped safetensors files with a fully validated header. */
#ifndef ATTNSERVE_SAFETENSORS_H
#define ATTNSERVE_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "tx.h"

#define TXI_ST_MAX_DIMS 8

typedef enum { TXI_DT_F32 = 0, TXI_DT_F16, TXI_DT_BF16, TXI_DT_I8, TXI_DT_OTHER } txi_dtype;

struct txi_st_tensor {
    const char *name;   /* borrowed from the file (valid until txi_st_close) */
    char dtype_name[8]; /* as written in the header: "F32", "I64", ... */
    txi_dtype dtype;    /* TXI_DT_OTHER for the dtypes the model code cannot use */
    int n_dims;
    int64_t shape[TXI_ST_MAX_DIMS];
    int64_t n_elems;
    const unsigned char *data; /* into the read-only mapping; n_bytes long */
    size_t n_bytes;
};

struct txi_st_file {
    char *name; /* display name used in messages (e.g. "model.safetensors"); owned */
    void *map;  /* whole file, PROT_READ */
    size_t map_size;
    size_t data_start;             /* 8 + header length */
    struct txi_st_tensor *tensors; /* (n_tensors), sorted by name */
    int n_tensors;
    char *names; /* storage of the tensor names */
};

/* Maps `path` and validates its header: length within the file, JSON object, every entry's
 * dtype known, shape non-negative with no overflow, data_offsets inside the data area, sized
 * exactly shape x dtype, and no two tensors overlapping. Errors name `display` and the fact
 * (TX_ERR_IO: cannot open/map; TX_ERR_FORMAT: anything wrong in the file). On success *f owns
 * the mapping: release with txi_st_close. Thread-safe. */
tx_status txi_st_open(const char *path, const char *display, struct txi_st_file *f,
                      struct tx_error *err);
void txi_st_close(struct txi_st_file *f);

/* The tensor called `name`, or NULL. Borrowed from f. */
const struct txi_st_tensor *txi_st_find(const struct txi_st_file *f, const char *name);

/* Bytes per element of a safetensors dtype name, 0 when unknown. */
size_t txi_st_dtype_size(const char *dtype_name);

/* IEEE half and bfloat16 to float (exact). */
float txi_f16_to_f32(uint16_t h);
float txi_bf16_to_f32(uint16_t b);

#endif
