// libscout's native SGEMM against a double-precision product: the framework with every supported
// micro-kernel on small block sizes (so that shapes just under, at and over MR, NR, mc, kc and nc
// stay cheap), the real block sizes around their edges, and the `native` provider itself; all four
// transpose combinations, padded leading dimensions, alpha != 1, beta 0 over NaN and beta 1; one
// and two threads.
#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/error.h"
#include "gemm/native/native_provider.h"
#include "gemm/native/sgemm_native.h"
#include "gemm_native/sgemm_checker.h"

namespace libscout::gemm::native {
namespace {

using testing::SgemmCase;
using testing::check_sgemm;

constexpr Trans kN = Trans::kNo, kT = Trans::kYes;

// Sizes around the tile `tile` and the block `block`, plus 1 and primes.
std::vector<int> edge_sizes(int tile, int block) {
  std::set<int> sizes{1, 2, 7, tile - 1, tile, tile + 1, block - 1, block, block + 1,
                      2 * block + 3};
  std::vector<int> out;
  for (int s : sizes)
    if (s >= 1) out.push_back(s);
  return out;
}

// Column counts: edge_sizes, and for each narrower tile of width t a last panel of t and of t + 1
// columns (run as that tile and the one-column tile where the kernel has one).
std::vector<int> column_sizes(const SgemmUkernel& kernel, int block) {
  std::vector<int> out = edge_sizes(kernel.nr, block);
  for (const SgemmNarrowUkernel& narrow : kernel.narrow) {
    if (narrow.nr == 0) continue;
    out.push_back(kernel.nr + narrow.nr);
    out.push_back(kernel.nr + narrow.nr + 1);
  }
  return out;
}

// Small blocks for a kernel: two tiles per mc and nc block, a depth of 8 per kc block; every
// thread gets a task however small the product.
SgemmBlocking small_blocking(const SgemmUkernel& kernel) {
  return {2 * kernel.mr, 8, 2 * kernel.nr, 0, 0};
}

struct KernelAndThreads {
  const SgemmUkernel* kernel;
  int threads;
};

class NativeSgemmTest : public ::testing::TestWithParam<KernelAndThreads> {
 protected:
  void SetUp() override {
    if (!GetParam().kernel->is_supported())
      GTEST_SKIP() << GetParam().kernel->name << " is not supported by this CPU";
    pool_ = std::make_unique<ThreadPool>(GetParam().threads);
  }
  std::string label(const SgemmBlocking& blk) const {
    return "kernel " + std::string(GetParam().kernel->name) + " threads " +
           std::to_string(pool_->threads()) + " blocks mc=" + std::to_string(blk.mc) +
           " kc=" + std::to_string(blk.kc) + " nc=" + std::to_string(blk.nc);
  }
  bool run(const SgemmCase& tc, const SgemmBlocking& blk, unsigned seed = 1) {
    return check_sgemm(tc, label(blk), [&](const SgemmArgs& args) {
      check_sgemm_args(args);
      sgemm_native(args, *GetParam().kernel, blk, *pool_, workspace_);
    }, seed);
  }

  std::unique_ptr<ThreadPool> pool_;
  SgemmWorkspace workspace_;
};

TEST_P(NativeSgemmTest, EdgeShapesOnSmallBlocks) {
  const SgemmUkernel& kernel = *GetParam().kernel;
  const SgemmBlocking blk = small_blocking(kernel);
  const Trans transposes[4][2] = {{kN, kN}, {kN, kT}, {kT, kN}, {kT, kT}};
  const float betas[3] = {0.0f, 1.0f, -0.5f};
  unsigned index = 0;
  for (int m : edge_sizes(kernel.mr, blk.mc)) {
    for (int n : column_sizes(kernel, blk.nc)) {
      for (int k : {1, 3, 7, 8, 9, 17, 31}) {
        // Every shape in all four transpose combinations; beta, alpha and padding rotate.
        for (const auto& t : transposes) {
          ++index;
          SgemmCase tc{m, n, k, t[0], t[1], index % 2 ? 1.0f : -1.25f, betas[index % 3],
                       static_cast<int>(index % 3), static_cast<int>(index % 5 == 0),
                       static_cast<int>(index % 4)};
          if (!run(tc, blk, index)) return;
        }
      }
    }
  }
}

// The strided-B path for skinny products (B read in place, partial row tiles computed directly,
// the partial column block packed): every m up to past strided_b_max_m, n around NR, k around kc,
// op(A) either way; op(B) transposed must take the packed path instead.
TEST_P(NativeSgemmTest, StridedBPathEdgeShapes) {
  const SgemmUkernel& kernel = *GetParam().kernel;
  if (kernel.strided_b == nullptr) GTEST_SKIP() << kernel.name << " has no strided-B kernel";
  SgemmBlocking blk = small_blocking(kernel);
  blk.strided_b_max_m = 3 * kernel.mr;
  const float betas[3] = {0.0f, 1.0f, -0.5f};
  unsigned index = 0;
  for (int m = 1; m <= blk.strided_b_max_m + 1; ++m) {
    for (int n : {1, kernel.nr - 1, kernel.nr, kernel.nr + 1, 2 * kernel.nr + 3, 5 * kernel.nr}) {
      for (int k : {1, 7, 8, 9, 17}) {
        ++index;
        const Trans ta = index % 2 ? kN : kT, tb = index % 7 == 0 ? kT : kN;
        SgemmCase tc{m, n, k, ta, tb, index % 3 ? 1.0f : 0.5f, betas[index % 3],
                     static_cast<int>(index % 3), static_cast<int>(index % 4),
                     static_cast<int>(index % 5)};
        if (!run(tc, blk, index)) return;
      }
    }
  }
}

TEST_P(NativeSgemmTest, BetaZeroNeverReadsNanAndBetaOneAccumulates) {
  const SgemmUkernel& kernel = *GetParam().kernel;
  const SgemmBlocking blk = small_blocking(kernel);
  for (float beta : {0.0f, 1.0f}) {
    for (int k : {1, 8, 20}) {  // one kc block, exactly one, three (beta then accumulate)
      SgemmCase tc{2 * kernel.mr + 1, 2 * kernel.nr + 1, k, kN, kN, 0.5f, beta, 1, 2, 3};
      EXPECT_TRUE(run(tc, blk));
    }
  }
}

TEST_P(NativeSgemmTest, AroundRealBlockSizes) {
  const SgemmUkernel& kernel = *GetParam().kernel;
  SgemmBlocking blk = sgemm_blocking(kernel);  // this machine's, from its cache sizes
  blk.min_task_kmacs = 0;
  const std::vector<SgemmCase> cases = {
      {blk.mc + 1, 2 * kernel.nr + 3, blk.kc + 1, kN, kN, 1.0f, 0.0f, 0, 0, 0},
      {blk.mc - 1, kernel.nr + 1, 2 * blk.kc + 5, kT, kN, 0.75f, 1.0f, 3, 0, 1},
      {kernel.mr + 2, blk.nc + 1, blk.kc - 1, kN, kT, 1.0f, 0.0f, 0, 1, 0},
      {97, 101, 103, kT, kT, -1.0f, 0.25f, 2, 2, 2},
      // More than one group of 8 B panels packed row by row, the last group partial.
      {blk.strided_b_max_m + 7, 17 * kernel.nr + 5, 33, kN, kN, 1.0f, 0.0f, 1, 3, 2},
  };
  for (const auto& tc : cases) EXPECT_TRUE(run(tc, blk));
}

TEST_P(NativeSgemmTest, DegenerateShapes) {
  const SgemmUkernel& kernel = *GetParam().kernel;
  const SgemmBlocking blk = small_blocking(kernel);
  // k == 0 and alpha == 0: C := beta * C (zeros over NaN when beta == 0).
  EXPECT_TRUE(run({5, 7, 0, kN, kN, 1.0f, 0.0f, 0, 0, 1}, blk));
  EXPECT_TRUE(run({5, 7, 0, kN, kN, 1.0f, 2.0f, 0, 0, 1}, blk));
  EXPECT_TRUE(run({5, 7, 3, kN, kN, 0.0f, 0.5f, 0, 0, 1}, blk));
  EXPECT_TRUE(run({0, 7, 3, kN, kN, 1.0f, 0.0f, 0, 0, 0}, blk));
  EXPECT_TRUE(run({5, 0, 3, kN, kN, 1.0f, 0.0f, 0, 0, 0}, blk));
}

std::vector<KernelAndThreads> kernel_thread_pairs() {
  std::vector<KernelAndThreads> out;
  for (const auto& k : sgemm_ukernels())
    for (int threads : {1, 2}) out.push_back({&k, threads});
  return out;
}

INSTANTIATE_TEST_SUITE_P(AllKernels, NativeSgemmTest, ::testing::ValuesIn(kernel_thread_pairs()),
                         [](const ::testing::TestParamInfo<KernelAndThreads>& info) {
                           return std::string(info.param.kernel->name) + "_threads" +
                                  std::to_string(info.param.threads);
                         });

// The provider as the registry hands it out: best kernel, its real blocks, its own pool.
class NativeProviderTest : public ::testing::TestWithParam<int> {};

TEST_P(NativeProviderTest, MatchesDoublePrecisionProduct) {
  auto provider = gemm::make_native_provider();
  ASSERT_EQ(provider->name(), "native");
  const int threads = provider->set_threads(GetParam());
  EXPECT_GE(threads, 1);
  EXPECT_LE(threads, GetParam());
  const std::string label = "provider native (" + provider->version() + ") threads " +
                            std::to_string(threads);
  auto sgemm = [&](const SgemmArgs& args) { provider->sgemm(args); };
  const std::vector<SgemmCase> cases = {
      {1, 1, 1, kN, kN, 1.0f, 0.0f},
      {1, 257, 300, kN, kT, 2.0f, 1.0f, 1, 1, 1},
      {263, 1, 129, kT, kN, 1.0f, 0.0f, 4},
      {64, 64, 1, kT, kT, -1.0f, 1.0f, 0, 3, 5},
      {131, 67, 257, kN, kN, 1.0f, 0.0f},
      {200, 300, 100, kT, kT, 0.5f, -1.0f, 7, 7, 7},
      {512, 48, 600, kN, kN, 1.0f, 1.0f},
      {37, 1031, 19, kT, kN, 1.0f, 0.0f, 0, 1, 2},
      // One row, B not transposed: the row path (kernels of more than 8 rows), full and partial
      // column blocks.
      {1, 3137, 9, kN, kN, 1.0f, 0.0f, 0, 3, 1},
      {1, 517, 300, kT, kN, 0.5f, 1.0f, 2, 1, 3},
  };
  for (const auto& tc : cases) EXPECT_TRUE(check_sgemm(tc, label, sgemm));
}

INSTANTIATE_TEST_SUITE_P(Threads, NativeProviderTest, ::testing::Values(1, 2));

TEST(NativeProvider, RejectsInvalidArgumentsWithAMessage) {
  auto provider = gemm::make_native_provider();
  std::vector<float> a(4), b(4), c(4);
  SgemmArgs args;
  args.m = args.n = args.k = 2;
  args.a = a.data();
  args.b = b.data();
  args.c = c.data();
  args.lda = 1;  // a row of A holds k = 2 values
  args.ldb = 2;
  args.ldc = 2;
  EXPECT_THROW(provider->sgemm(args), libscout::Error);
  args.lda = 2;
  args.m = -1;
  EXPECT_THROW(provider->sgemm(args), libscout::Error);
  args.m = 2;
  EXPECT_NO_THROW(provider->sgemm(args));
}

}  // namespace
}  // namespace libscout::gemm::native
