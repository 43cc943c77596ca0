// SGEMM micro-kernel for 32-bit ARM with NEON (ARMv7-A, compiled with -mfpu=neon): a 6 x 8 tile
// of C in 12 q-register accumulators; per step of k it loads the 6-value A column (3 d) and the
// 8-value B row (2 q) and issues 12 multiply-accumulates by lane (vmla: ARMv7 NEON without VFPv4
// has no fused multiply-add). Called only when the kernel reports NEON (sgemm_ukernels.cpp).
#if defined(__arm__) && defined(__ARM_NEON)
#include <arm_neon.h>

#include "gemm/native/sgemm_ukernel.h"

namespace libscout::gemm::native {
namespace {

template <int Lane>
inline void mla_row(float32x4_t (&acc)[2], float32x2_t a, float32x4_t b0, float32x4_t b1) {
  acc[0] = vmlaq_lane_f32(acc[0], b0, a, Lane);
  acc[1] = vmlaq_lane_f32(acc[1], b1, a, Lane);
}

}  // namespace

void sgemm_ukernel_neon_armv7_6x8(std::size_t kc, const float* a, const float* b, float* c,
                                  std::size_t ldc, float beta) {
  constexpr int kMr = 6, kNr = 8;
  float32x4_t acc[kMr][2];
  for (int i = 0; i < kMr; ++i) acc[i][0] = acc[i][1] = vdupq_n_f32(0.0f);

  for (std::size_t p = 0; p < kc; ++p) {
    const float32x2_t a01 = vld1_f32(a), a23 = vld1_f32(a + 2), a45 = vld1_f32(a + 4);
    const float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4);
    mla_row<0>(acc[0], a01, b0, b1);
    mla_row<1>(acc[1], a01, b0, b1);
    mla_row<0>(acc[2], a23, b0, b1);
    mla_row<1>(acc[3], a23, b0, b1);
    mla_row<0>(acc[4], a45, b0, b1);
    mla_row<1>(acc[5], a45, b0, b1);
    a += kMr;
    b += kNr;
  }

  for (int i = 0; i < kMr; ++i) {
    float* row = c + i * ldc;
    for (int j = 0; j < 2; ++j) {
      if (beta == 0.0f) {
        vst1q_f32(row + 4 * j, acc[i][j]);
      } else {
        vst1q_f32(row + 4 * j, vmlaq_n_f32(acc[i][j], vld1q_f32(row + 4 * j), beta));
      }
    }
  }
}

}  // namespace libscout::gemm::native
#endif  // __arm__ && __ARM_NEON
