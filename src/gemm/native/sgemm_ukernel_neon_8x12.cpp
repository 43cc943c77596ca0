// SGEMM micro-kernel for 64-bit ARM (AArch64 Advanced SIMD, always present there): an 8 x 12 tile
// of C in 24 q-register accumulators; per step of k it loads the 8-value A column (2 q) and the
// 12-value B row (3 q) and issues 24 fused multiply-adds by lane. 29 of the 32 vector registers.
#if defined(__aarch64__)
#include <arm_neon.h>

#include "gemm/native/sgemm_ukernel.h"

namespace libscout::gemm::native {
namespace {

// Row `Lane` of a 4-row group: acc[j] += b[j] * a[Lane]. The lane is a template parameter because
// the fmla-by-element instruction takes it as an immediate.
template <int Lane>
inline void fma_row(float32x4_t (&acc)[3], float32x4_t a, float32x4_t b0, float32x4_t b1,
                    float32x4_t b2) {
  acc[0] = vfmaq_laneq_f32(acc[0], b0, a, Lane);
  acc[1] = vfmaq_laneq_f32(acc[1], b1, a, Lane);
  acc[2] = vfmaq_laneq_f32(acc[2], b2, a, Lane);
}

}  // namespace

void sgemm_ukernel_neon_8x12(std::size_t kc, const float* a, const float* b, float* c,
                             std::size_t ldc, float beta) {
  constexpr int kMr = 8, kNr = 12;
  float32x4_t acc[kMr][3];
  for (int i = 0; i < kMr; ++i) acc[i][0] = acc[i][1] = acc[i][2] = vdupq_n_f32(0.0f);

  for (std::size_t p = 0; p < kc; ++p) {
    const float32x4_t a0 = vld1q_f32(a), a1 = vld1q_f32(a + 4);
    const float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4), b2 = vld1q_f32(b + 8);
    fma_row<0>(acc[0], a0, b0, b1, b2);
    fma_row<1>(acc[1], a0, b0, b1, b2);
    fma_row<2>(acc[2], a0, b0, b1, b2);
    fma_row<3>(acc[3], a0, b0, b1, b2);
    fma_row<0>(acc[4], a1, b0, b1, b2);
    fma_row<1>(acc[5], a1, b0, b1, b2);
    fma_row<2>(acc[6], a1, b0, b1, b2);
    fma_row<3>(acc[7], a1, b0, b1, b2);
    a += kMr;
    b += kNr;
  }

  for (int i = 0; i < kMr; ++i) {
    float* row = c + i * ldc;
    for (int j = 0; j < 3; ++j) {
      if (beta == 0.0f) {
        vst1q_f32(row + 4 * j, acc[i][j]);
      } else {
        vst1q_f32(row + 4 * j, vfmaq_n_f32(acc[i][j], vld1q_f32(row + 4 * j), beta));
      }
    }
  }
}

}  // namespace libscout::gemm::native
#endif  // __aarch64__
