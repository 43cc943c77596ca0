// The portable reference SGEMM micro-kernel: the contract of sgemm_ukernel.h in plain loops, for
// any tile size. It is the fallback on CPUs without a vectorized kernel and the oracle the
// vectorized kernels are tested against.

#include "gemm/native/sgemm_ukernel.h"

namespace libscout::gemm::native {

void sgemm_ukernel_ref(int mr, int nr, std::size_t kc, const float* a, const float* b,
                       std::size_t ldb, float* c, std::size_t ldc, float beta) {
  for (int i = 0; i < mr; ++i) {
    for (int j = 0; j < nr; ++j) {
      float sum = 0.0f;
      for (std::size_t p = 0; p < kc; ++p) sum += a[p * mr + i] * b[p * ldb + j];
      float& out = c[i * ldc + j];
      out = beta == 0.0f ? sum : sum + beta * out;
    }
  }
}

void sgemm_ukernel_ref_8x8_strided_b(std::size_t rows, std::size_t kc, const float* a,
                                     const float* b, std::size_t ldb, float* c, std::size_t ldc,
                                     float beta) {
  constexpr int kMr = 8, kNr = 8;
  for (std::size_t i = 0; i < rows; ++i) {
    for (int j = 0; j < kNr; ++j) {
      float sum = 0.0f;
      for (std::size_t p = 0; p < kc; ++p) sum += a[p * kMr + i] * b[p * ldb + j];
      float& out = c[i * ldc + j];
      out = beta == 0.0f ? sum : sum + beta * out;
    }
  }
}

void sgemm_ukernel_ref_8x8(std::size_t kc, const float* a, const float* b, float* c,
                           std::size_t ldc, float beta) {
  // Fixed tile size so that the compiler keeps the 64 sums in registers where it can.
  constexpr int kMr = 8, kNr = 8;
  float acc[kMr][kNr] = {};
  for (std::size_t p = 0; p < kc; ++p) {
    const float* ap = a + p * kMr;
    const float* bp = b + p * kNr;
    for (int i = 0; i < kMr; ++i)
      for (int j = 0; j < kNr; ++j) acc[i][j] += ap[i] * bp[j];
  }
  for (int i = 0; i < kMr; ++i) {
    float* row = c + i * ldc;
    if (beta == 0.0f) {
      for (int j = 0; j < kNr; ++j) row[j] = acc[i][j];
    } else {
      for (int j = 0; j < kNr; ++j) row[j] = acc[i][j] + beta * row[j];
    }
  }
}

}  // namespace libscout::gemm::native
