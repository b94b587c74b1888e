// Each kernel body is written once as a macro and instantiated per instruction set (and
// per channel block, so that the lane loop has a constant trip count and vectorises).
#include "MOCCAKernels.h"

#include <stddef.h>

// Contraction would fuse a multiply and an add into one rounding on the FMA targets only.
#pragma clang fp contract(off)

#define TARGET_BASELINE
#if defined(__x86_64__)
#define TARGET_AVX2 __attribute__((target("avx2")))
#define TARGET_AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq")))
#else
// Elsewhere every variant is the compiler's default target.
#define TARGET_AVX2
#define TARGET_AVX512
#endif

// --- 2×2 max pooling (+ leaky ReLU) --------------------------------------------------

#define DEFINE_POOL(NAME, TARGET, BLOCK)                                                          \
    TARGET static void NAME(const float *restrict src, float *restrict dst, int32_t *restrict positions, \
                            long planes, long height, long width, int activate, float slope) {   \
        const long row = 2 * width * BLOCK;                                                       \
        for (long plane = 0; plane < planes; plane++) {                                           \
            for (long i = 0; i < height; i++) {                                                   \
                for (long j = 0; j < width; j++) {                                                \
                    const float *f = src + ((plane * 2 * height + 2 * i) * 2 * width + 2 * j) * BLOCK; \
                    const long c = ((plane * height + i) * width + j) * BLOCK;                    \
                    float best[BLOCK];                                                            \
                    int32_t where[BLOCK];                                                         \
                    for (int l = 0; l < BLOCK; l++) {                                             \
                        float b = f[l], x;                                                        \
                        int32_t k = 0;                                                            \
                        x = f[BLOCK + l]; if (x > b || x != x) { b = x; k = 1; }                  \
                        x = f[row + l]; if (x > b || x != x) { b = x; k = 2; }                    \
                        x = f[row + BLOCK + l]; if (x > b || x != x) { b = x; k = 3; }            \
                        if (activate) { int above = b > 0; k |= above ? 4 : 0; b = above ? b : b * slope; } \
                        best[l] = b;                                                              \
                        where[l] = k;                                                             \
                    }                                                                             \
                    for (int l = 0; l < BLOCK; l++) dst[c + l] = best[l];                         \
                    if (positions)                                                                \
                        for (int l = 0; l < BLOCK; l++) positions[c + l] = where[l];              \
                }                                                                                 \
            }                                                                                     \
        }                                                                                         \
    }

#define DEFINE_POOL_BACKWARD(NAME, TARGET, BLOCK)                                                 \
    TARGET static void NAME(const float *restrict dy, const int32_t *restrict positions, float *restrict dx, \
                            long planes, long height, long width, int activate, float slope) {   \
        const long row = 2 * width * BLOCK;                                                       \
        for (long plane = 0; plane < planes; plane++) {                                           \
            for (long i = 0; i < height; i++) {                                                   \
                for (long j = 0; j < width; j++) {                                                \
                    float *f = dx + ((plane * 2 * height + 2 * i) * 2 * width + 2 * j) * BLOCK;   \
                    const long c = ((plane * height + i) * width + j) * BLOCK;                    \
                    for (int l = 0; l < BLOCK; l++) {                                             \
                        float g = dy[c + l];                                                      \
                        int32_t k = positions[c + l];                                             \
                        if (activate) { g = (k & 4) ? g : g * slope; k &= 3; }                    \
                        f[l] = k == 0 ? g : 0.0f;                                                 \
                        f[BLOCK + l] = k == 1 ? g : 0.0f;                                         \
                        f[row + l] = k == 2 ? g : 0.0f;                                           \
                        f[row + BLOCK + l] = k == 3 ? g : 0.0f;                                   \
                    }                                                                             \
                }                                                                                 \
            }                                                                                     \
        }                                                                                         \
    }

#define DEFINE_POOL_AFFINE(NAME, TARGET, BLOCK)                                                   \
    TARGET static void NAME(const float *restrict src, float *restrict dst, long first_plane, long planes, \
                            long height, long width, long blocks, const float *restrict center,  \
                            const float *restrict scale, const float *restrict shift, float slope) { \
        const long row = 2 * width * BLOCK;                                                       \
        for (long plane = first_plane; plane < first_plane + planes; plane++) {                   \
            const long channel = plane % blocks * BLOCK;                                          \
            for (long i = 0; i < height; i++) {                                                   \
                for (long j = 0; j < width; j++) {                                                \
                    const float *f = src + ((plane * 2 * height + 2 * i) * 2 * width + 2 * j) * BLOCK; \
                    float *o = dst + ((plane * height + i) * width + j) * BLOCK;                  \
                    for (int l = 0; l < BLOCK; l++) {                                             \
                        float b = f[l], x;                                                        \
                        x = f[BLOCK + l]; if (x > b || x != x) b = x;                             \
                        x = f[row + l]; if (x > b || x != x) b = x;                               \
                        x = f[row + BLOCK + l]; if (x > b || x != x) b = x;                       \
                        b = (b + -center[channel + l]) * scale[channel + l];                      \
                        if (shift) b = b + shift[channel + l];                                    \
                        o[l] = b > 0 ? b : b * slope;                                             \
                    }                                                                             \
                }                                                                                 \
            }                                                                                     \
        }                                                                                         \
    }

#define DEFINE_FOR_ISA(ISA, TARGET)                                                               \
    DEFINE_POOL(pool8_##ISA, TARGET, 8)                                                           \
    DEFINE_POOL(pool16_##ISA, TARGET, 16)                                                         \
    DEFINE_POOL_BACKWARD(pool_backward8_##ISA, TARGET, 8)                                         \
    DEFINE_POOL_BACKWARD(pool_backward16_##ISA, TARGET, 16)                                       \
    DEFINE_POOL_AFFINE(pool_affine8_##ISA, TARGET, 8)                                             \
    DEFINE_POOL_AFFINE(pool_affine16_##ISA, TARGET, 16)

DEFINE_FOR_ISA(baseline, TARGET_BASELINE)
DEFINE_FOR_ISA(avx2, TARGET_AVX2)
DEFINE_FOR_ISA(avx512, TARGET_AVX512)

typedef void (*pool_kernel)(const float *, float *, int32_t *, long, long, long, int, float);
typedef void (*pool_backward_kernel)(const float *, const int32_t *, float *, long, long, long, int, float);

void mocca_max_pool_2x2(mocca_isa isa, const float *src, float *dst, int32_t *positions,
                        long planes, long height, long width, long block, int activate, float slope) {
    static const pool_kernel kernels[3][2] = {
        {pool8_baseline, pool16_baseline}, {pool8_avx2, pool16_avx2}, {pool8_avx512, pool16_avx512}};
    kernels[isa][block == 16](src, dst, positions, planes, height, width, activate, slope);
}

void mocca_max_pool_2x2_backward(mocca_isa isa, const float *dy, const int32_t *positions, float *dx,
                                 long planes, long height, long width, long block, int activate, float slope) {
    static const pool_backward_kernel kernels[3][2] = {
        {pool_backward8_baseline, pool_backward16_baseline},
        {pool_backward8_avx2, pool_backward16_avx2},
        {pool_backward8_avx512, pool_backward16_avx512}};
    kernels[isa][block == 16](dy, positions, dx, planes, height, width, activate, slope);
}

typedef void (*pool_affine_kernel)(const float *, float *, long, long, long, long, long, const float *, const float *,
                                   const float *, float);

void mocca_max_pool_2x2_affine_leaky(mocca_isa isa, const float *src, float *dst, long first_plane, long planes,
                                     long height, long width, long block, long blocks,
                                     const float *center, const float *scale, const float *shift, float slope) {
    static const pool_affine_kernel kernels[3][2] = {
        {pool_affine8_baseline, pool_affine16_baseline},
        {pool_affine8_avx2, pool_affine16_avx2},
        {pool_affine8_avx512, pool_affine16_avx512}};
    kernels[isa][block == 16](src, dst, first_plane, planes, height, width, blocks, center, scale, shift, slope);
}
