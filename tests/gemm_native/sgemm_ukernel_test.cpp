// Every native SGEMM micro-kernel that this CPU supports, against the reference micro-kernel, on
// the kernel contract of gemm/native/sgemm_ukernel.h: depths kc through 0, 1, primes and large,
// beta 0 (C holds NaN, must not be read), 1 and other, C with a row stride wider than the tile;
// the strided-B variants on every row count, B at an unaligned stride; the kernels' own packing.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "gemm/native/sgemm_ukernels.h"

namespace libscout::gemm::native {
namespace {

class SgemmUkernelTest : public ::testing::TestWithParam<SgemmUkernel> {};

// Aligned like the framework's packed panels (64 bytes).
struct AlignedFloats {
  explicit AlignedFloats(size_t n) : data(n + 16) {}
  float* get() {
    auto address = reinterpret_cast<std::uintptr_t>(data.data());
    return data.data() + ((64 - address % 64) % 64) / sizeof(float);
  }
  std::vector<float> data;
};

// One packed-contract kernel (MR x NR tile) against the reference kernel.
void expect_matches_reference(std::string_view name, int mr, int nr, SgemmUkernelFn fn) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);

  for (size_t kc : {0, 1, 2, 3, 7, 8, 16, 17, 61, 256, 641}) {
    for (float beta : {0.0f, 1.0f, -0.75f}) {
      for (int extra_ldc : {0, 5}) {
        const size_t ldc = nr + extra_ldc;
        AlignedFloats a(kc * mr + 1), b(kc * nr + 1);
        for (size_t i = 0; i < kc * mr; ++i) a.get()[i] = dist(rng);
        for (size_t i = 0; i < kc * nr; ++i) b.get()[i] = dist(rng);
        // C: the tile, padded on the right with a sentinel that must survive.
        std::vector<float> c0(mr * ldc, -999.0f);
        for (int i = 0; i < mr; ++i)
          for (int j = 0; j < nr; ++j) c0[i * ldc + j] = beta == 0.0f ? nan : dist(rng);
        std::vector<float> expected = c0, actual = c0;
        sgemm_ukernel_ref(mr, nr, kc, a.get(), b.get(), nr, expected.data(), ldc, beta);
        fn(kc, a.get(), b.get(), actual.data(), ldc, beta);

        for (int i = 0; i < mr; ++i) {
          for (size_t j = 0; j < ldc; ++j) {
            const size_t idx = i * ldc + j;
            if (j >= static_cast<size_t>(nr)) {
              ASSERT_EQ(actual[idx], -999.0f) << "kernel " << name << " wrote past its tile at ("
                                              << i << ", " << j << "), kc=" << kc;
              continue;
            }
            // Both kernels sum in the same order; they differ by fused vs separate rounding.
            double magnitude = std::fabs(beta * (beta == 0.0f ? 0.0f : c0[idx]));
            for (size_t p = 0; p < kc; ++p) magnitude += std::fabs(a.get()[p * mr + i] * b.get()[p * nr + j]);
            const double tolerance = 2.0 * (kc + 2) * std::numeric_limits<float>::epsilon() * magnitude;
            const bool ok = std::fabs(static_cast<double>(actual[idx]) - expected[idx]) <= tolerance;
            ASSERT_TRUE(ok) << "kernel " << name << " (" << mr << "x" << nr << "), kc=" << kc
                            << " beta=" << beta << " ldc=" << ldc << ": C(" << i << ", " << j
                            << ") = " << actual[idx] << ", reference " << expected[idx];
          }
        }
      }
    }
  }
}

TEST_P(SgemmUkernelTest, MatchesReferenceKernel) {
  const SgemmUkernel& kernel = GetParam();
  if (!kernel.is_supported()) GTEST_SKIP() << kernel.name << " is not supported by this CPU";
  expect_matches_reference(kernel.name, kernel.mr, kernel.nr, kernel.fn);
}

// The narrower tiles for last column panels: the same contract at their own NR, narrower than
// the main tile and widest first.
TEST_P(SgemmUkernelTest, NarrowTilesMatchReferenceKernel) {
  const SgemmUkernel& kernel = GetParam();
  if (!kernel.is_supported()) GTEST_SKIP() << kernel.name << " is not supported by this CPU";
  int previous = kernel.nr;
  for (const SgemmNarrowUkernel& narrow : kernel.narrow) {
    if (narrow.nr == 0) continue;
    ASSERT_LT(narrow.nr, previous) << kernel.name;
    ASSERT_NE(narrow.fn, nullptr) << kernel.name;
    previous = narrow.nr;
    const std::string name = std::string(kernel.name) + " narrow " + std::to_string(narrow.nr);
    expect_matches_reference(name, kernel.mr, narrow.nr, narrow.fn);
  }
}

// The full tile with the epilogue (bias per row, clamp) applied as it is stored: the reference
// kernel's tile, then the bias and clamp, with and without bias, after beta 0 and 1, B packed and
// in place.
TEST_P(SgemmUkernelTest, EpilogueMatchesReferenceKernel) {
  const SgemmUkernel& kernel = GetParam();
  if (!kernel.is_supported()) GTEST_SKIP() << kernel.name << " is not supported by this CPU";
  if (kernel.with_epilogue == nullptr) GTEST_SKIP() << kernel.name << " has no epilogue variant";
  const int mr = kernel.mr, nr = kernel.nr;
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-2.0f, 2.0f);
  for (size_t kc : {1, 17, 300}) {
    for (float beta : {0.0f, 1.0f}) {
      for (int with_bias_and_ldb = 0; with_bias_and_ldb < 4; ++with_bias_and_ldb) {
        const bool with_bias = (with_bias_and_ldb & 1) != 0;
        // B packed (rows NR apart) or in place (rows wider, not aligned).
        const size_t ldb = (with_bias_and_ldb & 2) != 0 ? nr + 3 : nr;
        AlignedFloats a(kc * mr + 1), b(kc * ldb + 1);
        for (size_t i = 0; i < kc * mr; ++i) a.get()[i] = dist(rng);
        for (size_t i = 0; i < kc * ldb; ++i) b.get()[i] = dist(rng);
        std::vector<float> bias(mr), expected(mr * nr), actual(mr * nr);
        for (float& v : bias) v = dist(rng);
        for (float& v : expected) v = dist(rng);
        actual = expected;
        sgemm_ukernel_ref(mr, nr, kc, a.get(), b.get(), ldb, expected.data(), nr, beta);
        kernel.with_epilogue(kc, a.get(), b.get(), ldb, actual.data(), nr, beta,
                             with_bias ? bias.data() : nullptr, 0.0f, 6.0f);
        for (int i = 0; i < mr; ++i) {
          for (int j = 0; j < nr; ++j) {
            const float want =
                std::min(std::max(expected[i * nr + j] + (with_bias ? bias[i] : 0.0f), 0.0f), 6.0f);
            ASSERT_NEAR(actual[i * nr + j], want, 1e-4f * (1 + kc / 64.0f))
                << kernel.name << " kc=" << kc << " beta=" << beta << " bias=" << with_bias
                << " ldb=" << ldb
                << " at (" << i << ", " << j << ")";
          }
        }
      }
    }
  }
}

// The strided-B variant: rows 1..MR, B rows at a stride wider than NR and not aligned; rows of C
// from `rows` on must stay untouched, and with beta == 0 C (NaN) must not be read.
TEST_P(SgemmUkernelTest, StridedBMatchesReferenceKernel) {
  const SgemmUkernel& kernel = GetParam();
  if (!kernel.is_supported()) GTEST_SKIP() << kernel.name << " is not supported by this CPU";
  if (kernel.strided_b == nullptr) GTEST_SKIP() << kernel.name << " has no strided-B kernel";
  const int mr = kernel.mr, nr = kernel.nr;
  const float nan = std::numeric_limits<float>::quiet_NaN(), sentinel = -999.0f;
  std::mt19937 rng(43);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (size_t kc : {0, 1, 3, 8, 17, 256}) {
    for (int rows = 1; rows <= mr; ++rows) {
      for (float beta : {0.0f, 1.0f, -0.75f}) {
        const size_t ldb = nr + 3, ldc = nr + 2;
        AlignedFloats a(kc * mr + 1);
        std::vector<float> b(kc * ldb + 1);
        for (size_t i = 0; i < kc * mr; ++i) a.get()[i] = dist(rng);
        for (float& v : b) v = dist(rng);
        std::vector<float> c0(mr * ldc, sentinel);
        for (int i = 0; i < rows; ++i)
          for (int j = 0; j < nr; ++j) c0[i * ldc + j] = beta == 0.0f ? nan : dist(rng);
        std::vector<float> expected = c0, actual = c0;
        sgemm_ukernel_ref(mr, nr, kc, a.get(), b.data() + 1, ldb, expected.data(), ldc, beta);
        kernel.strided_b(rows, kc, a.get(), b.data() + 1, ldb, actual.data(), ldc, beta);
        for (int i = 0; i < mr; ++i) {
          for (size_t j = 0; j < ldc; ++j) {
            const size_t idx = i * ldc + j;
            if (i >= rows || j >= static_cast<size_t>(nr)) {
              ASSERT_EQ(actual[idx], sentinel) << "kernel " << kernel.name << " strided-B, rows="
                                               << rows << ": wrote outside at (" << i << ", " << j
                                               << "), kc=" << kc;
              continue;
            }
            const double tolerance = 2.0 * (kc + 2) * std::numeric_limits<float>::epsilon() *
                                     (std::fabs(expected[idx]) + kc + 1.0);
            ASSERT_NEAR(actual[idx], expected[idx], tolerance)
                << "kernel " << kernel.name << " strided-B, rows=" << rows << " kc=" << kc
                << " beta=" << beta << ": C(" << i << ", " << j << ")";
          }
        }
      }
    }
  }
}

// A kernel's own packing of A against the contract, bit for bit: every row count, depths around
// its vector width, a leading dimension wider than kc, alpha 1 and not; nothing written past the
// panel.
TEST_P(SgemmUkernelTest, PackAMatchesContract) {
  const SgemmUkernel& kernel = GetParam();
  if (!kernel.is_supported()) GTEST_SKIP() << kernel.name << " is not supported by this CPU";
  if (kernel.pack_a == nullptr) GTEST_SKIP() << kernel.name << " has no packing routine";
  const size_t mr = kernel.mr;
  const float sentinel = -999.0f;
  std::mt19937 rng(44);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (size_t kc : {0, 1, 7, 8, 9, 16, 17, 64, 67}) {
    for (size_t rows = 1; rows <= mr; ++rows) {
      for (float alpha : {1.0f, -0.5f}) {
        const size_t lda = kc + 3;
        std::vector<float> a(rows * lda);
        for (float& v : a) v = dist(rng);
        std::vector<float> dst(mr * kc + 8, sentinel);
        kernel.pack_a(rows, kc, a.data(), lda, alpha, dst.data());
        for (size_t p = 0; p < kc; ++p) {
          for (size_t r = 0; r < mr; ++r) {
            const float expected = r < rows ? alpha * a[r * lda + p] : 0.0f;
            ASSERT_EQ(dst[p * mr + r], expected) << "kernel " << kernel.name << " pack_a rows="
                                                 << rows << " kc=" << kc << " at (" << r << ", "
                                                 << p << ")";
          }
        }
        for (size_t i = mr * kc; i < dst.size(); ++i)
          ASSERT_EQ(dst[i], sentinel) << "kernel " << kernel.name << " pack_a rows=" << rows
                                      << " kc=" << kc << " wrote past the panel at " << i;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllKernels, SgemmUkernelTest, ::testing::ValuesIn(sgemm_ukernels().begin(), sgemm_ukernels().end()),
                         [](const ::testing::TestParamInfo<SgemmUkernel>& info) {
                           return std::string(info.param.name);
                         });

// Block sizes from cache sizes: multiples of the tile, within bounds, growing with the caches; an
// unknown cache keeps the table's value.
TEST(SgemmUkernelTable, BlockingFollowsCacheSizes) {
  for (const SgemmUkernel& kernel : sgemm_ukernels()) {
    const CacheSizes zen3{32 << 10, 512 << 10, 4 << 20}, big{48 << 10, 2 << 20, 32 << 20};
    for (const CacheSizes& caches : {zen3, big, cpu_cache_sizes()}) {
      const SgemmBlocking blk = blocking_for_caches(kernel, caches);
      EXPECT_EQ(blk.mc % kernel.mr, 0) << kernel.name;
      EXPECT_EQ(blk.nc % kernel.nr, 0) << kernel.name;
      EXPECT_GE(blk.kc, 8) << kernel.name;
      EXPECT_GE(blk.mc, kernel.mr) << kernel.name;
      EXPECT_GE(blk.nc, kernel.nr) << kernel.name;
      EXPECT_EQ(blk.strided_b_max_m, kernel.blocking.strided_b_max_m) << kernel.name;
    }
    const SgemmBlocking small = blocking_for_caches(kernel, zen3);
    const SgemmBlocking large = blocking_for_caches(kernel, big);
    EXPECT_LE(small.kc, large.kc) << kernel.name;
    EXPECT_LE(small.kc * small.mc, large.kc * large.mc) << kernel.name;
    // L1d holds one kc x NR micro-panel of B; half of L2 one mc x kc block of A.
    EXPECT_LE(small.kc * kernel.nr * 4, 32 << 10) << kernel.name;
    EXPECT_LE(small.kc * small.mc * 4, 256 << 10) << kernel.name;
    const SgemmBlocking unknown = blocking_for_caches(kernel, CacheSizes{});
    EXPECT_EQ(unknown.mc, kernel.blocking.mc) << kernel.name;
    EXPECT_EQ(unknown.kc, kernel.blocking.kc) << kernel.name;
    EXPECT_EQ(unknown.nc, kernel.blocking.nc) << kernel.name;
  }
}

TEST(SgemmUkernelTable, BestKernelIsSupportedAndReferenceIsLast) {
  EXPECT_TRUE(best_sgemm_ukernel().is_supported());
  EXPECT_EQ(sgemm_ukernels().back().name.substr(0, 4), "ref_");
  EXPECT_EQ(find_sgemm_ukernel(best_sgemm_ukernel().name), &best_sgemm_ukernel());
  EXPECT_EQ(find_sgemm_ukernel("no_such_kernel"), nullptr);
}

// LIBSCOUT_NATIVE_KERNEL's choice: a supported kernel by name, otherwise the fastest.
TEST(SgemmUkernelTable, ChosenByNameWhenSupported) {
  const SgemmUkernel& fastest = choose_sgemm_ukernel(nullptr);
  EXPECT_TRUE(fastest.is_supported());
  EXPECT_EQ(&choose_sgemm_ukernel(""), &fastest);
  EXPECT_EQ(&choose_sgemm_ukernel("no_such_kernel"), &fastest);
  for (const SgemmUkernel& k : sgemm_ukernels()) {
    const std::string name(k.name);
    EXPECT_EQ(&choose_sgemm_ukernel(name.c_str()), k.is_supported() ? &k : &fastest) << name;
  }
}

}  // namespace
}  // namespace libscout::gemm::native
