// The store of a finished NEON micro-kernel tile, shared by the AArch64 and ARMv7 kernels: beta,
// then the epilogue contract's bias and clamp (sgemm_ukernel.h). Included only by the NEON kernel
// files, which are compiled with the instruction-set flags it needs.
#pragma once

#include <arm_neon.h>

#include <cstddef>

namespace libscout::gemm::native::neon {

// Bias per row and the clamp of the epilogue contract.
struct Clamp {
  const float* bias;
  float lo, hi;
};

// C[0:rows, 0:4 kVecs] := acc + beta * C (C read only when beta != 0), then with kEpilogue
// min(max(. + bias[i], lo), hi) for each row i, before it is stored.
template <bool kEpilogue, int kRows, int kVecs>
inline void store_tile(const float32x4_t (&acc)[kRows][kVecs], int rows, float* c, std::size_t ldc,
                       float beta, Clamp e) {
  for (int i = 0; i < rows; ++i) {
    float* row = c + i * ldc;
    float32x4_t bias = vdupq_n_f32(0.0f), lo = bias, hi = bias;
    if (kEpilogue) {
      bias = vdupq_n_f32(e.bias != nullptr ? e.bias[i] : 0.0f);
      lo = vdupq_n_f32(e.lo);
      hi = vdupq_n_f32(e.hi);
    }
    for (int j = 0; j < kVecs; ++j) {
      float32x4_t v = acc[i][j];
      if (beta != 0.0f) v = vmlaq_n_f32(v, vld1q_f32(row + 4 * j), beta);
      if (kEpilogue) v = vminq_f32(vmaxq_f32(vaddq_f32(v, bias), lo), hi);
      vst1q_f32(row + 4 * j, v);
    }
  }
}

}  // namespace libscout::gemm::native::neon
