// Vector loops for swift-mocca's own tensor ops, compiled for each x86-64 instruction set
// and chosen at run time.
//
// Swift compiles the package for baseline x86-64 (SSE2), so its own loops run four lanes
// wide while oneDNN's JIT kernels use AVX2 or AVX-512. These C loops are compiled three
// times, for baseline x86-64, AVX2 and AVX-512 (`__attribute__((target))`), and the caller
// names the instruction set: MOCCACore passes the one oneDNN runs (after
// ONEDNN_MAX_CPU_ISA), so that capping oneDNN caps these too. Every variant computes the
// same values, bit for bit: they select, compare, add and multiply element by element, with
// floating-point contraction off.
#ifndef MOCCA_KERNELS_H
#define MOCCA_KERNELS_H

#include <stdint.h>

/// The instruction set a kernel runs.
typedef enum {
    MOCCA_ISA_BASELINE = 0,
    MOCCA_ISA_AVX2 = 1,
    MOCCA_ISA_AVX512 = 2,
} mocca_isa;

/// 2×2 max pooling, stride 2, of `planes` planes of a channel-blocked map (`block` lanes per
/// pixel, 8 or 16; `2·height × 2·width` pixels in, `height × width` out). The first maximum
/// of a window wins ties; NaN wins. With `activate`, a leaky ReLU of `slope` follows
/// (`x > 0 ? x : x·slope`). `positions` (may be NULL) receives each maximum's window
/// position, 0 to 3, ORed with 4 where `activate` and the maximum is above zero.
void mocca_max_pool_2x2(mocca_isa isa, const float *src, float *dst, int32_t *positions,
                        long planes, long height, long width, long block, int activate, float slope);

/// The gradient of `mocca_max_pool_2x2`: each output gradient, times `slope` where
/// `activate` and its maximum was not above zero, goes to its maximum; the other three
/// window positions get zero.
void mocca_max_pool_2x2_backward(mocca_isa isa, const float *dy, const int32_t *positions, float *dx,
                                 long planes, long height, long width, long block, int activate, float slope);

/// Inference: `leaky((max − center[c])·scale[c] + shift[c])` per 2×2 window, in that order of
/// operations (oneDNN's binary post-ops: add −center, multiply, add shift), the first maximum
/// winning and NaN winning as in `mocca_max_pool_2x2`. The planes are `first_plane ..<
/// first_plane + planes` of a map with `blocks` channel blocks per sample; `center`, `scale`
/// and `shift` hold `blocks·block` values (the padding channels' are zero); a NULL `shift`
/// is not added (which keeps the sign of a zero, as oneDNN does without that post-op).
void mocca_max_pool_2x2_affine_leaky(mocca_isa isa, const float *src, float *dst, long first_plane, long planes,
                                     long height, long width, long block, long blocks,
                                     const float *center, const float *scale, const float *shift, float slope);

#endif
