#include <stdint.h>

/* Vector kernels for the CPUs that have them, chosen at run time (the Swift code is built for
   baseline x86-64, which has no 64-bit vector multiply). Each returns 0 when this CPU cannot
   run it, and the caller then uses its portable loop. */

/* Dropout of Self2Self's U-Net, bit for bit the Swift loop's draws: element i (0-based from the
   start of the tensor) is dropped when 16-bit lane (i mod 4) of SplitMix64(key + (i/4)·φ) is
   below `threshold`, else scaled by `scale`. `first` must be a multiple of 4 and `count` of 32.
   AVX-512 (F, DQ, BW): 32 elements per step. */
int sf_dropout_avx512(const float *x, float *y, int64_t first, int64_t count, uint64_t key, uint32_t threshold, float scale);
