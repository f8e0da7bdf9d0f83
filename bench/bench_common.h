/* bench_common.h — the small helpers the benchmark programs share: a wall clock, a
 * comma-separated list of integers and a --dtype name. Header-only (each bench_*.c is its own
 * program); public API only. */
#ifndef ATTNSERVE_BENCH_COMMON_H
#define ATTNSERVE_BENCH_COMMON_H

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tx.h"

/* Monotonic wall-clock seconds. */
static inline double bench_wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* "1,8,32" -> out (at most max values); returns how many. */
static inline int bench_parse_list(const char *s, int *out, int max)
{
    int n = 0;
    while (*s && n < max) {
        out[n++] = atoi(s);
        const char *c = strchr(s, ',');
        if (!c) break;
        s = c + 1;
    }
    return n;
}

/* A --dtype name: w8a8, int8, f16, f32; anything else is `other`. */
static inline tx_dtype bench_parse_dtype(const char *v, tx_dtype other)
{
    return !strcmp(v, "w8a8")   ? TX_DTYPE_W8A8
           : !strcmp(v, "int8") ? TX_DTYPE_INT8
           : !strcmp(v, "f16")  ? TX_DTYPE_F16
           : !strcmp(v, "f32")  ? TX_DTYPE_F32
           : !strcmp(v, "auto") ? TX_DTYPE_AUTO
                                : other;
}

#endif
