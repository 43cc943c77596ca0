// SGEMM micro-kernel for AVX2 + FMA: a 6 x 16 tile of C in 12 ymm accumulators; per step of k it
// loads one 16-wide row of the B panel (2 ymm) and broadcasts the 6 values of the A column.
// Compiled with -mavx2 -mfma; called only when the CPU reports both (sgemm_ukernels.cpp).
#include <immintrin.h>

#include "gemm/native/sgemm_ukernel.h"

namespace libscout::gemm::native {

void sgemm_ukernel_avx2_fma_6x16(std::size_t kc, const float* a, const float* b, float* c,
                                 std::size_t ldc, float beta) {
  constexpr int kMr = 6, kNr = 16;
  // C is read (beta != 0) or written only after the whole depth: fetch its 6 rows into L1 now, so
  // that the misses overlap the arithmetic instead of stalling at the end.
#pragma GCC unroll 6
  for (int i = 0; i < kMr; ++i) {
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + kNr - 1), _MM_HINT_T0);
  }
  __m256 acc[kMr][2];
#pragma GCC unroll 6
  for (int i = 0; i < kMr; ++i) acc[i][0] = acc[i][1] = _mm256_setzero_ps();

#pragma GCC unroll 4
  for (std::size_t p = 0; p < kc; ++p) {
    const __m256 b0 = _mm256_load_ps(b);
    const __m256 b1 = _mm256_load_ps(b + 8);
#pragma GCC unroll 6
    for (int i = 0; i < kMr; ++i) {
      const __m256 ai = _mm256_broadcast_ss(a + i);
      acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
      acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
    }
    a += kMr;
    b += kNr;
  }

  if (beta == 0.0f) {
#pragma GCC unroll 6
    for (int i = 0; i < kMr; ++i) {
      _mm256_storeu_ps(c + i * ldc, acc[i][0]);
      _mm256_storeu_ps(c + i * ldc + 8, acc[i][1]);
    }
  } else {
    const __m256 vbeta = _mm256_set1_ps(beta);
#pragma GCC unroll 6
    for (int i = 0; i < kMr; ++i) {
      float* row = c + i * ldc;
      _mm256_storeu_ps(row, _mm256_fmadd_ps(vbeta, _mm256_loadu_ps(row), acc[i][0]));
      _mm256_storeu_ps(row + 8, _mm256_fmadd_ps(vbeta, _mm256_loadu_ps(row + 8), acc[i][1]));
    }
  }
}

}  // namespace libscout::gemm::native
