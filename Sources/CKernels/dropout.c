#include "ckernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

__attribute__((target("avx512f,avx512dq,avx512bw")))
static void dropout_avx512(const float *x, float *y, int64_t first, int64_t count, uint64_t key, uint32_t threshold, float scale) {
    const __m512i golden = _mm512_set1_epi64((long long)0x9E3779B97F4A7C15ULL);
    const __m512i m1 = _mm512_set1_epi64((long long)0xBF58476D1CE4E5B9ULL);
    const __m512i m2 = _mm512_set1_epi64((long long)0x94D049BB133111EBULL);
    const __m512i base = _mm512_set1_epi64((long long)key);
    const __m512i lanes = _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0);
    const __m512i limit = _mm512_set1_epi16((short)threshold);
    const __m512 factor = _mm512_set1_ps(scale);
    for (int64_t i = 0; i < count; i += 32) {
        /* Words (first + i)/4 … +7: eight SplitMix64 outputs, 32 16-bit draws in element order. */
        __m512i w = _mm512_add_epi64(_mm512_set1_epi64((first + i) >> 2), lanes);
        __m512i z = _mm512_add_epi64(_mm512_add_epi64(base, _mm512_mullo_epi64(w, golden)), golden);
        z = _mm512_mullo_epi64(_mm512_xor_si512(z, _mm512_srli_epi64(z, 30)), m1);
        z = _mm512_mullo_epi64(_mm512_xor_si512(z, _mm512_srli_epi64(z, 27)), m2);
        z = _mm512_xor_si512(z, _mm512_srli_epi64(z, 31));
        __mmask32 keep = _mm512_cmpge_epu16_mask(z, limit);
        _mm512_storeu_ps(y + i, _mm512_maskz_mul_ps((__mmask16)keep, _mm512_loadu_ps(x + i), factor));
        _mm512_storeu_ps(y + i + 16, _mm512_maskz_mul_ps((__mmask16)(keep >> 16), _mm512_loadu_ps(x + i + 16), factor));
    }
}

int sf_dropout_avx512(const float *x, float *y, int64_t first, int64_t count, uint64_t key, uint32_t threshold, float scale) {
    static int supported = -1;
    if (supported < 0) {
        __builtin_cpu_init();
        supported = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw");
    }
    if (!supported || threshold > 0xFFFF) return 0;
    dropout_avx512(x, y, first, count, key, threshold, scale);
    return 1;
}
#else
int sf_dropout_avx512(const float *x, float *y, int64_t first, int64_t count, uint64_t key, uint32_t threshold, float scale) {
    (void)x; (void)y; (void)first; (void)count; (void)key; (void)threshold; (void)scale;
    return 0;
}
#endif
