// The `cublas` GEMM provider (src/gemm/cublas/): listed with the reason where it cannot run; on a
// GPU its version line, FP32 (not TF32) arithmetic, compute time inside the call time, device
// buffers kept and grown over the sweep's sizes, and an allocation the GPU cannot hold as an error
// it recovers from. The element-wise contract (transposes, padding, beta over NaN) is checked for
// every provider by tests/gemm_sweep/provider_edge_test.cpp and tests/engine/gemm_provider_test.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "core/error.h"
#include "gemm/gemm_provider.h"
#include "measure/gemm_sweep.h"
#include "support/gemm_providers.h"

namespace libscout::gemm {
namespace {

const char kName[] = "cublas";

const ProviderInfo* listed() {
  static const std::vector<ProviderInfo> all = list_providers();
  for (const ProviderInfo& p : all) {
    if (p.name == kName) return &p;
  }
  return nullptr;
}

const char kNotBuilt[] = "the cublas plugin is not built here (no CUDA toolkit)";

#define SKIP_UNLESS_CUBLAS_RUNS_HERE()                 \
  if (listed() == nullptr) GTEST_SKIP() << kNotBuilt; \
  LIBSCOUT_SKIP_UNLESS_PROVIDER_AVAILABLE(kName)

TEST(Cublas, ListedAvailableOrUnavailableWithTheReason) {
  const ProviderInfo* info = listed();
  if (info == nullptr) GTEST_SKIP() << kNotBuilt;
  EXPECT_FALSE(info->description.empty());
  if (info->available) {
    EXPECT_EQ(create_provider(kName)->name(), kName);
    return;
  }
  EXPECT_FALSE(info->reason.empty());
  try {
    create_provider(kName);
    ADD_FAILURE() << "creating an unavailable provider should throw Unavailable";
  } catch (const Unavailable& e) {
    EXPECT_NE(std::string(e.what()).find(info->reason), std::string::npos) << e.what();
  }
}

TEST(Cublas, SaysWhichMathModeAndGpuRan) {
  SKIP_UNLESS_CUBLAS_RUNS_HERE();
  auto p = create_provider(kName);
  const std::string v = p->version();
  for (const char* part : {"cuBLAS ", "FP32", "no TF32", " on ", "driver ", "runtime "}) {
    EXPECT_NE(v.find(part), std::string::npos) << "'" << part << "' missing from: " << v;
  }
  EXPECT_TRUE(p->has_device_memory());
  EXPECT_TRUE(p->operands_on_gpu());
  EXPECT_EQ(p->set_threads(8), 1);
  EXPECT_NE(dynamic_cast<DeviceComputeTimer*>(p.get()), nullptr);
}

// A = 1 + 2^-13 everywhere, B = 1: every product needs 14 significant bits, so C = k (1 + 2^-13)
// exactly in FP32, while TF32 (10 mantissa bits) would round A to 1 and give C = k.
TEST(Cublas, ComputesInFp32NotTf32) {
  SKIP_UNLESS_CUBLAS_RUNS_HERE();
  auto p = create_provider(kName);
  const int m = 32, n = 48, k = 64;
  const float a_value = 1.0f + std::ldexp(1.0f, -13);
  std::vector<float> a(std::size_t(m) * k, a_value), b(std::size_t(k) * n, 1.0f);
  std::vector<float> c(std::size_t(m) * n, std::numeric_limits<float>::quiet_NaN());
  p->sgemm({Trans::kNo, Trans::kNo, m, n, k, 1.0f, a.data(), k, b.data(), n, 0.0f, c.data(), n});
  const float want = k * a_value;
  ASSERT_NE(want, float(k));
  for (std::size_t i = 0; i < c.size(); ++i) {
    ASSERT_EQ(c[i], want) << "element " << i << " (TF32 would give " << k << ")";
  }
}

TEST(Cublas, ReportsTheComputeTimeInsideTheCallTime) {
  SKIP_UNLESS_CUBLAS_RUNS_HERE();
  auto p = create_provider(kName);
  GemmSweepOptions o;
  o.min_time_s = 0.05;
  const GemmResult r = measure_gemm(*p, square_shapes({512})[0], o);
  ASSERT_TRUE(r.ok()) << r.reason;
  EXPECT_TRUE(r.validation.passed);
  ASSERT_TRUE(r.compute_time_ms.has_value());
  ASSERT_TRUE(r.gflops_with_transfer.has_value());
  EXPECT_GT(r.compute_time_ms->median, 0.0);
  EXPECT_LT(r.compute_time_ms->median, r.time_ms.median);
  EXPECT_GT(r.gflops, *r.gflops_with_transfer);
  EXPECT_NE(r.version.find("cuBLAS"), std::string::npos);
}

// The sweep's default sizes, then the GPU sizes: one provider, buffers grown to 2048 and reused at
// a smaller size afterwards; the large ones are validated by the projection check.
TEST(Cublas, KeepsAndGrowsItsBuffersOverTheSweepSizes) {
  SKIP_UNLESS_CUBLAS_RUNS_HERE();
  GemmSweepOptions o;
  o.providers = {kName};
  o.shapes = square_shapes({64, 256});
  o.gpu_shapes = square_shapes({2048, 96});
  o.min_time_s = 0.02;
  const auto results = run_gemm_sweep(o);
  ASSERT_EQ(results.size(), 4u);
  const int want[] = {64, 256, 2048, 96};
  for (std::size_t i = 0; i < results.size(); ++i) {
    SCOPED_TRACE(results[i].shape.str());
    EXPECT_EQ(results[i].shape.m, want[i]);
    EXPECT_TRUE(results[i].ok()) << results[i].reason;
  }
  EXPECT_EQ(results[2].validation.method, "projection");
}

// C of 400000 x 400000 floats (640 GB) fits on no GPU: the allocation fails before any operand is
// copied (so the small host C is never touched), the error says so, and the provider works after.
TEST(Cublas, AnAllocationTheGpuCannotHoldIsAnErrorItRecoversFrom) {
  SKIP_UNLESS_CUBLAS_RUNS_HERE();
  auto p = create_provider(kName);
  const int big = 400000;
  std::vector<float> a(big, 1.0f), b(big, 1.0f), c(1, 0.0f);
  try {
    p->sgemm({Trans::kNo, Trans::kNo, big, big, 1, 1.0f, a.data(), 1, b.data(), big, 0.0f,
              c.data(), big});
    FAIL() << "a 640 GB C should not fit on a GPU";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("out of GPU memory"), std::string::npos) << e.what();
  }
  GemmSweepOptions o;
  o.min_time_s = 0.0;
  const GemmResult r = measure_gemm(*p, square_shapes({64})[0], o);
  EXPECT_TRUE(r.ok()) << r.reason;
}

}  // namespace
}  // namespace libscout::gemm
