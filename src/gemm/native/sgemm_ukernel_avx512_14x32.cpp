// SGEMM micro-kernel for AVX-512F: a 14 x 32 tile of C in 28 zmm accumulators; per step of k it
// loads one 32-wide row of the B panel (2 zmm) and broadcasts the 14 values of the A column
// (28 FMAs for 2 vector loads and 14 scalar broadcasts; 31 of the 32 zmm registers in use).
// Compiled with -mavx512f; called only when the CPU and OS report AVX-512F (sgemm_ukernels.cpp).
#include <immintrin.h>

#include "gemm/native/sgemm_ukernel.h"

namespace libscout::gemm::native {

void sgemm_ukernel_avx512_14x32(std::size_t kc, const float* a, const float* b, float* c,
                                std::size_t ldc, float beta) {
  constexpr int kMr = 14, kNr = 32;
  __m512 acc[kMr][2];
#pragma GCC unroll 14
  for (int i = 0; i < kMr; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_ps();

  for (std::size_t p = 0; p < kc; ++p) {
    const __m512 b0 = _mm512_load_ps(b);
    const __m512 b1 = _mm512_load_ps(b + 16);
#pragma GCC unroll 14
    for (int i = 0; i < kMr; ++i) {
      const __m512 ai = _mm512_set1_ps(a[i]);
      acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
    }
    a += kMr;
    b += kNr;
  }

  if (beta == 0.0f) {
#pragma GCC unroll 14
    for (int i = 0; i < kMr; ++i) {
      _mm512_storeu_ps(c + i * ldc, acc[i][0]);
      _mm512_storeu_ps(c + i * ldc + 16, acc[i][1]);
    }
  } else {
    const __m512 vbeta = _mm512_set1_ps(beta);
#pragma GCC unroll 14
    for (int i = 0; i < kMr; ++i) {
      float* row = c + i * ldc;
      _mm512_storeu_ps(row, _mm512_fmadd_ps(vbeta, _mm512_loadu_ps(row), acc[i][0]));
      _mm512_storeu_ps(row + 16, _mm512_fmadd_ps(vbeta, _mm512_loadu_ps(row + 16), acc[i][1]));
    }
  }
}

}  // namespace libscout::gemm::native
