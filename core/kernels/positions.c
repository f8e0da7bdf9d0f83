/* positions.c — absolute position tables (see positions.h). */
#include "positions.h"
#include "ops.h"

#include <math.h>
#include <stddef.h>

void txi_pos_sinusoidal(float *table, int n_pos, int d, txi_sinusoid_layout layout)
{
    int sentinel = (d + 1) / 2; /* columns of sines in the split layout */
    for (int j = 0; j < d; j++) {
        /* column by column: one pow per column, the division kept as numpy does it */
        double denom = pow(10000.0, 2.0 * (double)(j / 2) / d);
        int col = layout == TXI_SINUSOID_INTERLEAVED ? j
                  : (j % 2 == 0)                     ? j / 2 /* sines first, then cosines */
                                                     : sentinel + j / 2;
        for (int p = 0; p < n_pos; p++) {
            double angle = p / denom;
            table[(size_t)p * d + col] = (float)((j % 2 == 0) ? sin(angle) : cos(angle));
        }
    }
}

void txi_pos_add_learned(float *x, int n, int d, const float *table, int pos0, int offset)
{
    for (int i = 0; i < n; i++)
        txi_add(x + (size_t)i * d, table + (size_t)(pos0 + offset + i) * d, (size_t)d);
}
