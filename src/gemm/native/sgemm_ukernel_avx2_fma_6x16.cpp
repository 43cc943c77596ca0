// SGEMM micro-kernels for AVX2 + FMA: a 6 x 16 tile of C in 12 ymm accumulators; per step of k
// they load one 16-wide row of B (2 ymm) and broadcast the 6 values of the packed A column. The
// packed kernel reads B from its packed panel; the strided-B kernel reads the rows of B in place
// and computes only the rows asked for; the packing routine builds the 6-tall A panels
// (sgemm_ukernel.h states the contracts); the 6 x 8 and 6 x 1 kernels are the narrow tiles for a
// last, partial column panel. Compiled with -mavx2 -mfma; called only when the CPU reports both
// (sgemm_ukernels.cpp).
#include <immintrin.h>

#include "gemm/native/sgemm_ukernel.h"

namespace libscout::gemm::native {
namespace {

constexpr int kMr = 6, kNr = 16;

void prefetch(const float* p) { _mm_prefetch(reinterpret_cast<const char*>(p), _MM_HINT_T0); }

// C is read (beta != 0) or written only after the whole depth: fetching its rows into L1 first
// lets the misses overlap the arithmetic instead of stalling at the end.
template <int kRows>
void prefetch_c(const float* c, std::size_t ldc) {
#pragma GCC unroll 6
  for (int i = 0; i < kRows; ++i) {
    prefetch(c + i * ldc);
    prefetch(c + i * ldc + kNr - 1);
  }
}

// The shared body for the first kRows rows of the tile; ldb == kNr with aligned rows is the packed
// panel.
// Bias per row and clamp for the epilogue contract (sgemm_ukernel.h).
struct Clamp {
  const float* bias;
  float lo, hi;
};

template <int kRows, bool kPackedB, bool kEpilogue = false>
inline void ukernel_6x16(std::size_t kc, const float* a, const float* b, std::size_t ldb, float* c,
                         std::size_t ldc, float beta, Clamp e = {}) {
  prefetch_c<kRows>(c, ldc);
  __m256 acc[kRows][2];
#pragma GCC unroll 6
  for (int i = 0; i < kRows; ++i) acc[i][0] = acc[i][1] = _mm256_setzero_ps();

#pragma GCC unroll 4
  for (std::size_t p = 0; p < kc; ++p) {
    const __m256 b0 = kPackedB ? _mm256_load_ps(b) : _mm256_loadu_ps(b);
    const __m256 b1 = kPackedB ? _mm256_load_ps(b + 8) : _mm256_loadu_ps(b + 8);
    if constexpr (!kPackedB) prefetch(b + 2 * kNr);  // rows in place: the next block's row
#pragma GCC unroll 6
    for (int i = 0; i < kRows; ++i) {
      const __m256 ai = _mm256_broadcast_ss(a + i);
      acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
      acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
    }
    a += kMr;
    b += kPackedB ? kNr : ldb;
  }

  if (beta != 0.0f) {
    const __m256 vbeta = _mm256_set1_ps(beta);
#pragma GCC unroll 6
    for (int i = 0; i < kRows; ++i) {
      const float* row = c + i * ldc;
      acc[i][0] = _mm256_fmadd_ps(vbeta, _mm256_loadu_ps(row), acc[i][0]);
      acc[i][1] = _mm256_fmadd_ps(vbeta, _mm256_loadu_ps(row + 8), acc[i][1]);
    }
  }
  if constexpr (kEpilogue) {
    const __m256 lo = _mm256_set1_ps(e.lo), hi = _mm256_set1_ps(e.hi);
#pragma GCC unroll 6
    for (int i = 0; i < kRows; ++i) {
      const __m256 bias = _mm256_set1_ps(e.bias != nullptr ? e.bias[i] : 0.0f);
      for (int v = 0; v < 2; ++v) {
        acc[i][v] = _mm256_min_ps(_mm256_max_ps(_mm256_add_ps(acc[i][v], bias), lo), hi);
      }
    }
  }
#pragma GCC unroll 6
  for (int i = 0; i < kRows; ++i) {
    _mm256_storeu_ps(c + i * ldc, acc[i][0]);
    _mm256_storeu_ps(c + i * ldc + 8, acc[i][1]);
  }
}

// Stores column pairs of a 6 x 8 block: x[q] holds rows 0-3 of columns q (low half) and q + 4
// (high half); lo45 rows 4-5 of columns 0, 1 (low) and 4, 5 (high); hi45 of 2, 3 and 6, 7.
void store_6x8_columns(const __m256 x[4], __m256 lo45, __m256 hi45, float* dst) {
  const __m128 pairs[4] = {_mm256_castps256_ps128(lo45), _mm256_castps256_ps128(hi45),
                           _mm256_extractf128_ps(lo45, 1), _mm256_extractf128_ps(hi45, 1)};
#pragma GCC unroll 4
  for (int q = 0; q < 4; ++q) {
    float* low = dst + q * kMr;       // column q
    float* high = dst + (q + 4) * kMr;  // column q + 4
    _mm_storeu_ps(low, _mm256_castps256_ps128(x[q]));
    _mm_storeu_ps(high, _mm256_extractf128_ps(x[q], 1));
    // Rows 4-5: column q is pair q % 2 of pairs[q / 2]; column q + 4 of pairs[2 + q / 2].
    const __m128 p_low = pairs[q / 2], p_high = pairs[2 + q / 2];
    if (q % 2 == 0) {
      _mm_storel_pi(reinterpret_cast<__m64*>(low + 4), p_low);
      _mm_storel_pi(reinterpret_cast<__m64*>(high + 4), p_high);
    } else {
      _mm_storeh_pi(reinterpret_cast<__m64*>(low + 4), p_low);
      _mm_storeh_pi(reinterpret_cast<__m64*>(high + 4), p_high);
    }
  }
}

}  // namespace

void sgemm_pack_a_avx2_6(std::size_t rows, std::size_t kc, const float* a, std::size_t lda,
                         float alpha, float* dst) {
  const __m256 valpha = _mm256_set1_ps(alpha);
  std::size_t p = 0;
  for (; p + 8 <= kc; p += 8) {
    __m256 v[kMr];
#pragma GCC unroll 6
    for (int r = 0; r < kMr; ++r)
      v[r] = static_cast<std::size_t>(r) < rows
                 ? _mm256_mul_ps(valpha, _mm256_loadu_ps(a + r * lda + p))
                 : _mm256_setzero_ps();
    // Rows 0-3: a 4 x 8 transpose within 128-bit halves; rows 4-5: interleaved pairs.
    const __m256 t0 = _mm256_unpacklo_ps(v[0], v[1]), t1 = _mm256_unpackhi_ps(v[0], v[1]);
    const __m256 t2 = _mm256_unpacklo_ps(v[2], v[3]), t3 = _mm256_unpackhi_ps(v[2], v[3]);
    const __m256 x[4] = {_mm256_shuffle_ps(t0, t2, 0x44), _mm256_shuffle_ps(t0, t2, 0xEE),
                         _mm256_shuffle_ps(t1, t3, 0x44), _mm256_shuffle_ps(t1, t3, 0xEE)};
    store_6x8_columns(x, _mm256_unpacklo_ps(v[4], v[5]), _mm256_unpackhi_ps(v[4], v[5]),
                      dst + p * kMr);
  }
  for (; p < kc; ++p)
    for (std::size_t r = 0; r < static_cast<std::size_t>(kMr); ++r)
      dst[p * kMr + r] = r < rows ? alpha * a[r * lda + p] : 0.0f;
}

void sgemm_ukernel_avx2_fma_6x16(std::size_t kc, const float* a, const float* b, float* c,
                                 std::size_t ldc, float beta) {
  ukernel_6x16<kMr, true>(kc, a, b, kNr, c, ldc, beta);
}

void sgemm_ukernel_avx2_fma_6x16_epilogue(std::size_t kc, const float* a, const float* b,
                                          std::size_t ldb, float* c, std::size_t ldc, float beta,
                                          const float* bias, float lo, float hi) {
  if (ldb == kNr) return ukernel_6x16<kMr, true, true>(kc, a, b, kNr, c, ldc, beta, {bias, lo, hi});
  ukernel_6x16<kMr, false, true>(kc, a, b, ldb, c, ldc, beta, {bias, lo, hi});
}

void sgemm_ukernel_avx2_fma_6x16_strided_b(std::size_t rows, std::size_t kc, const float* a,
                                           const float* b, std::size_t ldb, float* c,
                                           std::size_t ldc, float beta) {
  switch (rows) {
    case 1: return ukernel_6x16<1, false>(kc, a, b, ldb, c, ldc, beta);
    case 2: return ukernel_6x16<2, false>(kc, a, b, ldb, c, ldc, beta);
    case 3: return ukernel_6x16<3, false>(kc, a, b, ldb, c, ldc, beta);
    case 4: return ukernel_6x16<4, false>(kc, a, b, ldb, c, ldc, beta);
    case 5: return ukernel_6x16<5, false>(kc, a, b, ldb, c, ldc, beta);
    default: return ukernel_6x16<kMr, false>(kc, a, b, ldb, c, ldc, beta);
  }
}

void sgemm_ukernel_avx2_fma_6x8(std::size_t kc, const float* a, const float* b, float* c,
                                std::size_t ldc, float beta) {
  __m256 acc[kMr];
#pragma GCC unroll 6
  for (int i = 0; i < kMr; ++i) acc[i] = _mm256_setzero_ps();
#pragma GCC unroll 4
  for (std::size_t p = 0; p < kc; ++p) {
    const __m256 bv = _mm256_load_ps(b + p * 8);
#pragma GCC unroll 6
    for (int i = 0; i < kMr; ++i) acc[i] = _mm256_fmadd_ps(_mm256_broadcast_ss(a + i), bv, acc[i]);
    a += kMr;
  }
  const __m256 vbeta = _mm256_set1_ps(beta);
#pragma GCC unroll 6
  for (int i = 0; i < kMr; ++i) {
    float* row = c + i * ldc;
    _mm256_storeu_ps(row,
                     beta == 0.0f ? acc[i] : _mm256_fmadd_ps(vbeta, _mm256_loadu_ps(row), acc[i]));
  }
}

// The one-column tile, vectorized along the packed A panel instead of along B's row: four steps
// of k are 24 consecutive floats of the panel (element i is row i % 6 of step i / 6), multiplied
// by B's four values spread to match (3 loads, 3 permutes, 3 FMAs for what the 6 x 8 tile does in
// 24 FMAs); row r of C is then the sum of elements r, r + 6, r + 12 and r + 18.
void sgemm_ukernel_avx2_fma_6x1(std::size_t kc, const float* a, const float* b, float* c,
                                std::size_t ldc, float beta) {
  const __m256i spread[3] = {_mm256_setr_epi32(0, 0, 0, 0, 0, 0, 1, 1),
                             _mm256_setr_epi32(1, 1, 1, 1, 2, 2, 2, 2),
                             _mm256_setr_epi32(2, 2, 3, 3, 3, 3, 3, 3)};
  __m256 acc[2][3];
  for (auto& chain : acc)
    for (__m256& v : chain) v = _mm256_setzero_ps();
  std::size_t p = 0;
  for (; p + 8 <= kc; p += 8) {  // two independent chains hide the FMA latency
#pragma GCC unroll 2
    for (int h = 0; h < 2; ++h) {
      const __m256 bq = _mm256_castps128_ps256(_mm_loadu_ps(b + p + 4 * h));
      const float* ap = a + (p + 4 * h) * kMr;
#pragma GCC unroll 3
      for (int v = 0; v < 3; ++v)
        acc[h][v] = _mm256_fmadd_ps(_mm256_loadu_ps(ap + 8 * v),
                                    _mm256_permutevar8x32_ps(bq, spread[v]), acc[h][v]);
    }
  }
  for (; p + 4 <= kc; p += 4) {
    const __m256 bq = _mm256_castps128_ps256(_mm_loadu_ps(b + p));
#pragma GCC unroll 3
    for (int v = 0; v < 3; ++v)
      acc[0][v] = _mm256_fmadd_ps(_mm256_loadu_ps(a + p * kMr + 8 * v),
                                  _mm256_permutevar8x32_ps(bq, spread[v]), acc[0][v]);
  }
  alignas(32) float sums[24];
#pragma GCC unroll 3
  for (int v = 0; v < 3; ++v) _mm256_store_ps(sums + 8 * v, _mm256_add_ps(acc[0][v], acc[1][v]));
  for (int r = 0; r < kMr; ++r) {
    float sum = (sums[r] + sums[r + 6]) + (sums[r + 12] + sums[r + 18]);
    for (std::size_t q = p; q < kc; ++q) sum += a[q * kMr + r] * b[q];
    c[r * ldc] = beta == 0.0f ? sum : sum + beta * c[r * ldc];
  }
}

}  // namespace libscout::gemm::native
