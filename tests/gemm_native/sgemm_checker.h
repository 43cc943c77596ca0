// Test support for libscout's native SGEMM: random operands with NaN-filled padding, a
// double-precision reference product, and a comparison that names the shape, the index, both
// values and the kernel on failure.
#pragma once

#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "gemm/gemm_provider.h"

namespace libscout::gemm::testing {

struct SgemmCase {
  int m = 1, n = 1, k = 1;
  Trans trans_a = Trans::kNo, trans_b = Trans::kNo;
  float alpha = 1.0f, beta = 0.0f;
  int pad_a = 0, pad_b = 0, pad_c = 0;  // leading dimension beyond the minimum

  std::string describe() const {
    char text[200];
    std::snprintf(text, sizeof text, "m=%d n=%d k=%d op(A)=%s op(B)=%s alpha=%g beta=%g lda+%d ldb+%d ldc+%d",
                  m, n, k, trans_a == Trans::kYes ? "T" : "N", trans_b == Trans::kYes ? "T" : "N",
                  alpha, beta, pad_a, pad_b, pad_c);
    return text;
  }
};

// Runs `sgemm` on random operands for one case and checks every element of C against a
// double-precision product within the float error bound (k + 4) * eps * (|alpha| sum|a||b| +
// |beta c|). Padding of A and B holds NaN (reading it shows up in C); C's padding holds a sentinel
// that must survive; with beta == 0 C starts as NaN. Reports the first mismatch and returns false.
inline bool check_sgemm(const SgemmCase& tc, const std::string& label,
                        const std::function<void(const SgemmArgs&)>& sgemm, unsigned seed = 1) {
  const bool ta = tc.trans_a == Trans::kYes, tb = tc.trans_b == Trans::kYes;
  const int a_rows = ta ? tc.k : tc.m, a_cols = ta ? tc.m : tc.k;
  const int b_rows = tb ? tc.n : tc.k, b_cols = tb ? tc.k : tc.n;
  const int lda = std::max(1, a_cols) + tc.pad_a, ldb = std::max(1, b_cols) + tc.pad_b;
  const int ldc = std::max(1, tc.n) + tc.pad_c;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float sentinel = -12345.0f;

  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  auto fill = [&](int rows, int cols, int ld, float pad_value) {
    std::vector<float> x(static_cast<size_t>(std::max(rows, 1)) * ld, pad_value);
    for (int r = 0; r < rows; ++r)
      for (int c = 0; c < cols; ++c) x[static_cast<size_t>(r) * ld + c] = dist(rng);
    return x;
  };
  const std::vector<float> a = fill(a_rows, a_cols, lda, nan);
  const std::vector<float> b = fill(b_rows, b_cols, ldb, nan);
  std::vector<float> c0 = fill(tc.m, tc.n, ldc, sentinel);
  if (tc.beta == 0.0f)
    for (int i = 0; i < tc.m; ++i)
      for (int j = 0; j < tc.n; ++j) c0[static_cast<size_t>(i) * ldc + j] = nan;

  std::vector<float> c = c0;
  SgemmArgs args;
  args.trans_a = tc.trans_a;
  args.trans_b = tc.trans_b;
  args.m = tc.m;
  args.n = tc.n;
  args.k = tc.k;
  args.alpha = tc.alpha;
  args.a = a.data();
  args.lda = lda;
  args.b = b.data();
  args.ldb = ldb;
  args.beta = tc.beta;
  args.c = c.data();
  args.ldc = ldc;
  sgemm(args);

  auto at_a = [&](int i, int p) { return ta ? a[static_cast<size_t>(p) * lda + i] : a[static_cast<size_t>(i) * lda + p]; };
  auto at_b = [&](int p, int j) { return tb ? b[static_cast<size_t>(j) * ldb + p] : b[static_cast<size_t>(p) * ldb + j]; };
  const double eps = std::numeric_limits<float>::epsilon();
  for (int i = 0; i < tc.m; ++i) {
    for (int j = 0; j < ldc; ++j) {
      const size_t idx = static_cast<size_t>(i) * ldc + j;
      if (j >= tc.n) {  // padding of C
        if (c[idx] != sentinel) {
          ADD_FAILURE() << label << ": " << tc.describe() << ": wrote C padding at (" << i << ", "
                        << j << "): " << c[idx];
          return false;
        }
        continue;
      }
      double sum = 0.0, magnitude = 0.0;
      for (int p = 0; p < tc.k; ++p) {
        sum += static_cast<double>(at_a(i, p)) * at_b(p, j);
        magnitude += std::fabs(static_cast<double>(at_a(i, p)) * at_b(p, j));
      }
      double expected = tc.alpha * sum;
      magnitude *= std::fabs(tc.alpha);
      if (tc.beta != 0.0f) {
        expected += static_cast<double>(tc.beta) * c0[idx];
        magnitude += std::fabs(static_cast<double>(tc.beta) * c0[idx]);
      }
      const double tolerance = (tc.k + 4) * eps * magnitude + 1e-30;
      if (!(std::fabs(c[idx] - expected) <= tolerance)) {
        ADD_FAILURE() << label << ": " << tc.describe() << ": C(" << i << ", " << j << ") = "
                      << c[idx] << ", expected " << expected << " (tolerance " << tolerance << ")";
        return false;
      }
    }
  }
  return true;
}

}  // namespace libscout::gemm::testing
