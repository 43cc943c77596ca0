// SGEMM micro-kernels for 64-bit ARM (AArch64 Advanced SIMD, always present there): an 8 x 12 tile
// of C in 24 q-register accumulators; per step of k it loads the 8-value A column (2 q) and the
// 12-value B row (3 q) and issues 24 fused multiply-adds by lane. 29 of the 32 vector registers.
// The same body with B read in place (the strided-B contract: only the rows asked for are stored)
// and with the epilogue (bias and clamp as the tile is stored); the 8 x 4 tile (one B vector) and
// the 8 x 1 tile (vectorized along the A panel) for a last, partial column panel
// (sgemm_ukernel.h states the contracts).
#if defined(__aarch64__)
#include <arm_neon.h>

#include "gemm/native/sgemm_neon_store.h"
#include "gemm/native/sgemm_ukernel.h"

namespace libscout::gemm::native {
namespace {

constexpr int kMr = 8;

using neon::Clamp;

// Row `Lane` of a 4-row group: acc[j] += b[j] * a[Lane]. The lane is a template parameter because
// the fmla-by-element instruction takes it as an immediate.
template <int Lane, int kVecs>
inline void fma_row(float32x4_t (&acc)[kVecs], float32x4_t a, const float32x4_t (&b)[kVecs]) {
#pragma GCC unroll 3
  for (int j = 0; j < kVecs; ++j) acc[j] = vfmaq_laneq_f32(acc[j], b[j], a, Lane);
}

// The first `rows` rows of an 8 x (4 kVecs) tile; B's rows are ldb floats apart (4 kVecs: the
// packed panel). All 8 rows are computed (the packed A panel always holds 8), `rows` stored.
template <int kVecs, bool kEpilogue>
inline void kernel_8(int rows, std::size_t kc, const float* a, const float* b, std::size_t ldb,
                     float* c, std::size_t ldc, float beta, Clamp e = {}) {
  float32x4_t acc[kMr][kVecs];
  for (auto& row : acc)
    for (float32x4_t& v : row) v = vdupq_n_f32(0.0f);

  for (std::size_t p = 0; p < kc; ++p) {
    const float32x4_t a0 = vld1q_f32(a), a1 = vld1q_f32(a + 4);
    float32x4_t bv[kVecs];
#pragma GCC unroll 3
    for (int j = 0; j < kVecs; ++j) bv[j] = vld1q_f32(b + 4 * j);
    fma_row<0>(acc[0], a0, bv);
    fma_row<1>(acc[1], a0, bv);
    fma_row<2>(acc[2], a0, bv);
    fma_row<3>(acc[3], a0, bv);
    fma_row<0>(acc[4], a1, bv);
    fma_row<1>(acc[5], a1, bv);
    fma_row<2>(acc[6], a1, bv);
    fma_row<3>(acc[7], a1, bv);
    a += kMr;
    b += ldb;
  }

  neon::store_tile<kEpilogue>(acc, rows, c, ldc, beta, e);
}

}  // namespace

void sgemm_ukernel_neon_8x12(std::size_t kc, const float* a, const float* b, float* c,
                             std::size_t ldc, float beta) {
  kernel_8<3, false>(kMr, kc, a, b, 12, c, ldc, beta);
}

void sgemm_ukernel_neon_8x12_strided_b(std::size_t rows, std::size_t kc, const float* a,
                                       const float* b, std::size_t ldb, float* c, std::size_t ldc,
                                       float beta) {
  kernel_8<3, false>(static_cast<int>(rows), kc, a, b, ldb, c, ldc, beta);
}

void sgemm_ukernel_neon_8x12_epilogue(std::size_t kc, const float* a, const float* b,
                                      std::size_t ldb, float* c, std::size_t ldc, float beta,
                                      const float* bias, float lo, float hi) {
  kernel_8<3, true>(kMr, kc, a, b, ldb, c, ldc, beta, {bias, lo, hi});
}

void sgemm_ukernel_neon_8x4(std::size_t kc, const float* a, const float* b, float* c,
                            std::size_t ldc, float beta) {
  kernel_8<1, false>(kMr, kc, a, b, 4, c, ldc, beta);
}

// One column: per step of k the A column (2 q) times B's one value, four steps in flight.
void sgemm_ukernel_neon_8x1(std::size_t kc, const float* a, const float* b, float* c,
                            std::size_t ldc, float beta) {
  float32x4_t acc[4][2];
  for (auto& pair : acc) pair[0] = pair[1] = vdupq_n_f32(0.0f);
  std::size_t p = 0;
  for (; p + 4 <= kc; p += 4) {
    const float32x4_t bq = vld1q_f32(b + p);
    const float* ap = a + p * kMr;
    acc[0][0] = vfmaq_laneq_f32(acc[0][0], vld1q_f32(ap), bq, 0);
    acc[0][1] = vfmaq_laneq_f32(acc[0][1], vld1q_f32(ap + 4), bq, 0);
    acc[1][0] = vfmaq_laneq_f32(acc[1][0], vld1q_f32(ap + 8), bq, 1);
    acc[1][1] = vfmaq_laneq_f32(acc[1][1], vld1q_f32(ap + 12), bq, 1);
    acc[2][0] = vfmaq_laneq_f32(acc[2][0], vld1q_f32(ap + 16), bq, 2);
    acc[2][1] = vfmaq_laneq_f32(acc[2][1], vld1q_f32(ap + 20), bq, 2);
    acc[3][0] = vfmaq_laneq_f32(acc[3][0], vld1q_f32(ap + 24), bq, 3);
    acc[3][1] = vfmaq_laneq_f32(acc[3][1], vld1q_f32(ap + 28), bq, 3);
  }
  for (; p < kc; ++p) {
    acc[0][0] = vfmaq_n_f32(acc[0][0], vld1q_f32(a + p * kMr), b[p]);
    acc[0][1] = vfmaq_n_f32(acc[0][1], vld1q_f32(a + p * kMr + 4), b[p]);
  }
  float sums[kMr];
  vst1q_f32(sums, vaddq_f32(vaddq_f32(acc[0][0], acc[1][0]), vaddq_f32(acc[2][0], acc[3][0])));
  vst1q_f32(sums + 4, vaddq_f32(vaddq_f32(acc[0][1], acc[1][1]), vaddq_f32(acc[2][1], acc[3][1])));
  for (int r = 0; r < kMr; ++r) c[r * ldc] = beta == 0.0f ? sums[r] : sums[r] + beta * c[r * ldc];
}

}  // namespace libscout::gemm::native
#endif  // __aarch64__
