/* Prints one core's float32 fused multiply-add ceiling in GFLOP/s: 12 independent
 * accumulators of FMAs on registers, no memory traffic, in AVX-512 (16 lanes) and AVX2
 * (8 lanes). The frameworks' throughputs, converted to GFLOP/s, are set against it in the
 * README (Performance): no convolution can run faster than this on the host. Timed in
 * process CPU time, so that another process sharing the core does not lower it.
 *
 *   cc -O3 -mavx512f -mfma scripts/bench/fma_peak.c -o /tmp/fma_peak && /tmp/fma_peak
 *   (two cores: start two at once, e.g. `/tmp/fma_peak & /tmp/fma_peak; wait`)
 */
#include <immintrin.h>
#include <stdio.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

#define ACCUMULATORS 12
#define ITERATIONS 200000000L

static double avx512(void) {
    __m512 acc[ACCUMULATORS], a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
    for (int i = 0; i < ACCUMULATORS; i++) acc[i] = _mm512_set1_ps((float)i);
    double start = now();
    for (long n = 0; n < ITERATIONS; n++)
        for (int i = 0; i < ACCUMULATORS; i++) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
    double seconds = now() - start;
    float sink = 0;
    for (int i = 0; i < ACCUMULATORS; i++) sink += _mm512_reduce_add_ps(acc[i]);
    if (sink == 42) puts("");
    return 2.0 * 16 * ACCUMULATORS * ITERATIONS / seconds / 1e9;
}

static double avx2(void) {
    __m256 acc[ACCUMULATORS], a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
    for (int i = 0; i < ACCUMULATORS; i++) acc[i] = _mm256_set1_ps((float)i);
    double start = now();
    for (long n = 0; n < ITERATIONS; n++)
        for (int i = 0; i < ACCUMULATORS; i++) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
    double seconds = now() - start;
    float sink = 0, lanes[8];
    for (int i = 0; i < ACCUMULATORS; i++) { _mm256_storeu_ps(lanes, acc[i]); for (int j = 0; j < 8; j++) sink += lanes[j]; }
    if (sink == 42) puts("");
    return 2.0 * 8 * ACCUMULATORS * ITERATIONS / seconds / 1e9;
}

int main(void) {
    printf("{\"bench\":\"fma_peak\",\"avx512_gflops\":%.1f,\"avx2_gflops\":%.1f}\n", avx512(), avx2());
    return 0;
}
