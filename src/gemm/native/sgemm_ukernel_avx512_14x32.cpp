// SGEMM micro-kernels for AVX-512F with 14 rows: the main 14 x 32 tile in 28 zmm accumulators
// (per step of k it loads one 32-wide row of the B panel, 2 zmm, and broadcasts the 14 values of
// the A column: 28 FMAs for 2 vector loads and 14 scalar broadcasts; 31 of the 32 zmm registers in
// use), and the narrower 14 x 16 and 14 x 1 tiles for a last column panel of at most 16 columns or
// of one, instead of computing mostly padding in a 32-wide one. (No 8-wide tile: where
// the core has full-width 512-bit FMA units, an 8-wide FMA costs as much as a 16-wide one.)
// Compiled with -mavx512f; called only when the CPU and OS report AVX-512F (sgemm_ukernels.cpp).
#include <immintrin.h>

#include "gemm/native/sgemm_ukernel.h"

namespace libscout::gemm::native {
namespace {

// The operations of the vector type (one template for both tile widths).
struct Zmm {
  using V = __m512;
  static constexpr int kLanes = 16;
  static V zero() { return _mm512_setzero_ps(); }
  static V loadu(const float* p) { return _mm512_loadu_ps(p); }
  static void storeu(float* p, V v) { _mm512_storeu_ps(p, v); }
  static V splat(float x) { return _mm512_set1_ps(x); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V add(V a, V b) { return _mm512_add_ps(a, b); }
  static V min(V a, V b) { return _mm512_min_ps(a, b); }
  static V max(V a, V b) { return _mm512_max_ps(a, b); }
};

// Bias per row and the clamp, applied to the finished tile as it is stored (the epilogue
// contract of sgemm_ukernel.h); kNone stores the plain sum.
struct Clamp {
  const float* bias;
  float lo, hi;
};

// The first kRows rows of the tile; B's rows are ldb floats apart (ldb == NR: the packed panel).
template <typename T, int kVecs, bool kEpilogue, int kRows = 14>
inline void kernel_14(std::size_t kc, const float* a, const float* b, float* c, std::size_t ldc,
                      float beta, Clamp e = {}, std::size_t ldb = kVecs * T::kLanes) {
  constexpr int kMr = kRows;
  typename T::V acc[kMr][kVecs];
#pragma GCC unroll 14
  for (int i = 0; i < kMr; ++i) {
    for (int v = 0; v < kVecs; ++v) acc[i][v] = T::zero();
  }

  for (std::size_t p = 0; p < kc; ++p) {
    typename T::V bv[kVecs];
    for (int v = 0; v < kVecs; ++v) bv[v] = T::loadu(b + v * T::kLanes);
#pragma GCC unroll 14
    for (int i = 0; i < kMr; ++i) {
      const typename T::V ai = T::splat(a[i]);
      for (int v = 0; v < kVecs; ++v) acc[i][v] = T::fma(ai, bv[v], acc[i][v]);
    }
    a += 14;
    b += ldb;
  }

  if (beta != 0.0f) {
    const typename T::V vbeta = T::splat(beta);
#pragma GCC unroll 14
    for (int i = 0; i < kMr; ++i) {
      for (int v = 0; v < kVecs; ++v) {
        acc[i][v] = T::fma(vbeta, T::loadu(c + i * ldc + v * T::kLanes), acc[i][v]);
      }
    }
  }
  if constexpr (kEpilogue) {
    const typename T::V lo = T::splat(e.lo), hi = T::splat(e.hi);
#pragma GCC unroll 14
    for (int i = 0; i < kMr; ++i) {
      const typename T::V bias = T::splat(e.bias != nullptr ? e.bias[i] : 0.0f);
      for (int v = 0; v < kVecs; ++v) acc[i][v] = T::min(T::max(T::add(acc[i][v], bias), lo), hi);
    }
  }
#pragma GCC unroll 14
  for (int i = 0; i < kMr; ++i) {
    for (int v = 0; v < kVecs; ++v) T::storeu(c + i * ldc + v * T::kLanes, acc[i][v]);
  }
}

}  // namespace

void sgemm_ukernel_avx512_14x32(std::size_t kc, const float* a, const float* b, float* c,
                                std::size_t ldc, float beta) {
  kernel_14<Zmm, 2, false>(kc, a, b, c, ldc, beta);
}

void sgemm_ukernel_avx512_14x32_epilogue(std::size_t kc, const float* a, const float* b,
                                         std::size_t ldb, float* c, std::size_t ldc, float beta,
                                         const float* bias, float lo, float hi) {
  kernel_14<Zmm, 2, true>(kc, a, b, c, ldc, beta, {bias, lo, hi}, ldb);
}

void sgemm_ukernel_avx512_14x32_strided_b(std::size_t rows, std::size_t kc, const float* a,
                                          const float* b, std::size_t ldb, float* c,
                                          std::size_t ldc, float beta) {
  switch (rows) {
#define LIBSCOUT_ROWS(n) \
  case n:                \
    return kernel_14<Zmm, 2, false, n>(kc, a, b, c, ldc, beta, {}, ldb);
    LIBSCOUT_ROWS(1)
    LIBSCOUT_ROWS(2) LIBSCOUT_ROWS(3) LIBSCOUT_ROWS(4) LIBSCOUT_ROWS(5) LIBSCOUT_ROWS(6)
        LIBSCOUT_ROWS(7) LIBSCOUT_ROWS(8) LIBSCOUT_ROWS(9) LIBSCOUT_ROWS(10) LIBSCOUT_ROWS(11)
            LIBSCOUT_ROWS(12) LIBSCOUT_ROWS(13)
#undef LIBSCOUT_ROWS
                default : return kernel_14<Zmm, 2, false>(kc, a, b, c, ldc, beta, {}, ldb);
  }
}

void sgemm_ukernel_avx512_14x16(std::size_t kc, const float* a, const float* b, float* c,
                                std::size_t ldc, float beta) {
  kernel_14<Zmm, 1, false>(kc, a, b, c, ldc, beta);
}

// The one-column tile, vectorized along the packed A panel: eight steps of k are 112 consecutive
// floats of the panel (element i is row i % 14 of step i / 14), 7 zmm multiplied by B's eight
// values spread to match (7 FMAs where the 14 x 16 tile spends 112); row r of C is the sum of
// elements r + 14 q, q < 8.
namespace {

constexpr int kOneColumnSteps = 8, kOneColumnVecs = 14 * kOneColumnSteps / 16;

// Lane l of vector v of the one-column tile holds step (16 v + l) / 14 of k.
struct SpreadTable {
  alignas(64) int step[kOneColumnVecs][16];
};
constexpr SpreadTable spread_table() {
  SpreadTable t{};
  for (int v = 0; v < kOneColumnVecs; ++v)
    for (int l = 0; l < 16; ++l) t.step[v][l] = (16 * v + l) / 14;
  return t;
}
constexpr SpreadTable kSpread = spread_table();

}  // namespace

void sgemm_ukernel_avx512_14x1(std::size_t kc, const float* a, const float* b, float* c,
                               std::size_t ldc, float beta) {
  constexpr int kMr = 14, kSteps = kOneColumnSteps, kVecs = kOneColumnVecs;
  __m512i spread[kVecs];
  for (int v = 0; v < kVecs; ++v) spread[v] = _mm512_load_si512(kSpread.step[v]);
  __m512 acc[kVecs];
  for (__m512& x : acc) x = _mm512_setzero_ps();
  std::size_t p = 0;
  for (; p + kSteps <= kc; p += kSteps) {
    const __m512 b8 = _mm512_castps256_ps512(_mm256_loadu_ps(b + p));
    const float* ap = a + p * kMr;
#pragma GCC unroll 7
    for (int v = 0; v < kVecs; ++v)
      acc[v] = _mm512_fmadd_ps(_mm512_loadu_ps(ap + 16 * v), _mm512_permutexvar_ps(spread[v], b8),
                               acc[v]);
  }
  alignas(64) float sums[kMr * kSteps];
  for (int v = 0; v < kVecs; ++v) _mm512_store_ps(sums + 16 * v, acc[v]);
  for (int r = 0; r < kMr; ++r) {
    float sum = 0.0f;
    for (int q = 0; q < kSteps; ++q) sum += sums[q * kMr + r];
    for (std::size_t q = p; q < kc; ++q) sum += a[q * kMr + r] * b[q];
    c[r * ldc] = beta == 0.0f ? sum : sum + beta * c[r * ldc];
  }
}

}  // namespace libscout::gemm::native
