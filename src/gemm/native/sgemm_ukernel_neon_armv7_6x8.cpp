// SGEMM micro-kernel for 32-bit ARM with NEON (ARMv7-A, compiled with -mfpu=neon): a 6 x 8 tile
// of C in 12 q-register accumulators; per step of k it loads the 6-value A column (3 d) and the
// 8-value B row (2 q) and issues 12 multiply-accumulates by lane (vmla: ARMv7 NEON without VFPv4
// has no fused multiply-add). The same body with B read in place (the strided-B contract: only the
// rows asked for are stored) and with the epilogue (bias and clamp as the tile is stored); the
// 6 x 4 tile (one B vector) for a last, partial column panel (sgemm_ukernel.h states the
// contracts). Called only when the kernel reports NEON (sgemm_ukernels.cpp).
#if defined(__arm__) && defined(__ARM_NEON)
#include <arm_neon.h>

#include "gemm/native/sgemm_neon_store.h"
#include "gemm/native/sgemm_ukernel.h"

namespace libscout::gemm::native {
namespace {

constexpr int kMr = 6;

using neon::Clamp;

template <int Lane, int kVecs>
inline void mla_row(float32x4_t (&acc)[kVecs], float32x2_t a, const float32x4_t (&b)[kVecs]) {
  for (int j = 0; j < kVecs; ++j) acc[j] = vmlaq_lane_f32(acc[j], b[j], a, Lane);
}

// The first `rows` rows of a 6 x (4 kVecs) tile; B's rows are ldb floats apart (4 kVecs: the
// packed panel). All 6 rows are computed (the packed A panel always holds 6), `rows` stored.
template <int kVecs, bool kEpilogue>
inline void kernel_6(int rows, std::size_t kc, const float* a, const float* b, std::size_t ldb,
                     float* c, std::size_t ldc, float beta, Clamp e = {}) {
  float32x4_t acc[kMr][kVecs];
  for (auto& row : acc)
    for (float32x4_t& v : row) v = vdupq_n_f32(0.0f);

  for (std::size_t p = 0; p < kc; ++p) {
    const float32x2_t a01 = vld1_f32(a), a23 = vld1_f32(a + 2), a45 = vld1_f32(a + 4);
    float32x4_t bv[kVecs];
    for (int j = 0; j < kVecs; ++j) bv[j] = vld1q_f32(b + 4 * j);
    mla_row<0>(acc[0], a01, bv);
    mla_row<1>(acc[1], a01, bv);
    mla_row<0>(acc[2], a23, bv);
    mla_row<1>(acc[3], a23, bv);
    mla_row<0>(acc[4], a45, bv);
    mla_row<1>(acc[5], a45, bv);
    a += kMr;
    b += ldb;
  }

  neon::store_tile<kEpilogue>(acc, rows, c, ldc, beta, e);
}

}  // namespace

void sgemm_ukernel_neon_armv7_6x8(std::size_t kc, const float* a, const float* b, float* c,
                                  std::size_t ldc, float beta) {
  kernel_6<2, false>(kMr, kc, a, b, 8, c, ldc, beta);
}

void sgemm_ukernel_neon_armv7_6x8_strided_b(std::size_t rows, std::size_t kc, const float* a,
                                            const float* b, std::size_t ldb, float* c,
                                            std::size_t ldc, float beta) {
  kernel_6<2, false>(static_cast<int>(rows), kc, a, b, ldb, c, ldc, beta);
}

void sgemm_ukernel_neon_armv7_6x8_epilogue(std::size_t kc, const float* a, const float* b,
                                           std::size_t ldb, float* c, std::size_t ldc, float beta,
                                           const float* bias, float lo, float hi) {
  kernel_6<2, true>(kMr, kc, a, b, ldb, c, ldc, beta, {bias, lo, hi});
}

void sgemm_ukernel_neon_armv7_6x4(std::size_t kc, const float* a, const float* b, float* c,
                                  std::size_t ldc, float beta) {
  kernel_6<1, false>(kMr, kc, a, b, 4, c, ldc, beta);
}

}  // namespace libscout::gemm::native
#endif  // __arm__ && __ARM_NEON
