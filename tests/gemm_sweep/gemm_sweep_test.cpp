// The SGEMM sweep (measure/gemm_sweep.h): results of real providers, validation that catches
// wrong providers (by the exact check and by the projection check), skipping of slow providers,
// unavailable and unknown providers, the GEMM shapes of a model, the JSON record.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "core/error.h"
#include "core/graph.h"
#include "gemm/gemm_provider.h"
#include "measure/gemm_sweep.h"
#include "models/zoo.h"

namespace libscout {
namespace {

GemmSweepOptions quick(std::vector<std::string> providers, std::vector<int> sizes) {
  GemmSweepOptions o;
  o.providers = std::move(providers);
  o.shapes = square_shapes(sizes);
  o.warmup = 1;
  o.min_time_s = 0.01;
  o.min_iterations = 3;
  return o;
}

TEST(GemmSweep, ValidatesAndTimesRealProviders) {
  const auto results = run_gemm_sweep(quick({"naive", "eigen"}, {17, 64}));
  ASSERT_EQ(results.size(), 4u);
  for (const GemmResult& r : results) {
    SCOPED_TRACE(r.provider + " " + r.shape.str());
    EXPECT_EQ(r.status, "ok") << r.reason;
    EXPECT_TRUE(r.validation.passed);
    EXPECT_EQ(r.validation.method, "exact");
    EXPECT_LE(r.validation.rel_error, 1e-5);
    EXPECT_GE(r.iterations, 3);
    EXPECT_GT(r.time_ms.median, 0);
    EXPECT_NEAR(r.gflops, r.shape.flops() / (r.time_ms.median * 1e6), 1e-9 * r.gflops);
    EXPECT_FALSE(r.gflops_with_transfer.has_value());
  }
  EXPECT_EQ(results[0].provider, "naive");  // provider-major order
  EXPECT_EQ(results[1].shape.m, 64);
}

TEST(GemmSweep, LargeShapesUseTheProjectionCheck) {
  GemmSweepOptions o = quick({"eigen"}, {96});
  o.exact_check_macs = 1000;
  const auto results = run_gemm_sweep(o);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].validation.method, "projection");
  EXPECT_TRUE(results[0].ok()) << results[0].reason;
  EXPECT_LE(results[0].validation.rel_error, 1e-5);
}

// Deliberately wrong providers (there is no real library that is wrong on purpose).
class WrongProvider final : public gemm::Provider {
 public:
  enum class Fault { kDropsLastK, kReadsCUnderBetaZero, kOneWrongElement };
  explicit WrongProvider(Fault f) : fault_(f) {}
  std::string name() const override { return "wrong"; }
  int set_threads(int) override { return 1; }
  void sgemm(const gemm::SgemmArgs& g) override {
    const int k = fault_ == Fault::kDropsLastK ? g.k - 1 : g.k;
    for (int i = 0; i < g.m; ++i) {
      for (int j = 0; j < g.n; ++j) {
        float acc = 0;
        for (int p = 0; p < k; ++p) acc += g.a[i * g.lda + p] * g.b[p * g.ldb + j];
        float& c = g.c[i * g.ldc + j];
        c = fault_ == Fault::kReadsCUnderBetaZero ? c + g.alpha * acc : g.alpha * acc;
      }
    }
    if (fault_ == Fault::kOneWrongElement) g.c[(g.m / 2) * g.ldc + g.n / 3] += 1.0f;
  }

 private:
  Fault fault_;
};

TEST(GemmSweep, AWrongProviderFailsAndIsNotTimed) {
  GemmShape s;
  s.m = s.n = s.k = 40;
  for (auto fault : {WrongProvider::Fault::kDropsLastK, WrongProvider::Fault::kReadsCUnderBetaZero,
                     WrongProvider::Fault::kOneWrongElement}) {
    for (double exact_limit : {1e9, 0.0}) {  // exact check, then projection check
      WrongProvider p(fault);
      GemmSweepOptions o = quick({}, {});
      o.exact_check_macs = exact_limit;
      const GemmResult r = measure_gemm(p, s, o);
      SCOPED_TRACE("fault " + std::to_string(int(fault)) + " method " + r.validation.method);
      EXPECT_EQ(r.status, "failed");
      EXPECT_FALSE(r.validation.passed);
      EXPECT_FALSE(r.reason.empty());
      EXPECT_EQ(r.iterations, 0);
      const auto j = gemm_result_json(r);
      EXPECT_TRUE(j["gflops"].is_null());
      EXPECT_TRUE(j["time_ms"].is_null());
      EXPECT_FALSE(j["validation"]["passed"].get<bool>());
    }
  }
}

TEST(GemmSweep, SkipsSizesThatWouldTakeTooLong) {
  GemmSweepOptions o = quick({"naive"}, {64, 512});
  o.max_seconds_per_call = 1e-6;
  const auto results = run_gemm_sweep(o);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].status, "ok");
  EXPECT_EQ(results[1].status, "skipped");
  EXPECT_NE(results[1].reason.find("64x64x64"), std::string::npos) << results[1].reason;
}

TEST(GemmSweep, UnknownProviderIsAnErrorAndMissingLibraryIsUnavailable) {
  EXPECT_THROW(run_gemm_sweep(quick({"no_such_blas"}, {8})), Error);
  gemm::register_blas_library("/nonexistent/libblas-for-sweep.so");
  const auto results = run_gemm_sweep(quick({"path:/nonexistent/libblas-for-sweep.so"}, {8, 16}));
  ASSERT_EQ(results.size(), 2u);
  for (const GemmResult& r : results) {
    EXPECT_EQ(r.status, "unavailable");
    EXPECT_FALSE(r.reason.empty());
    EXPECT_TRUE(gemm_result_json(r)["validation"].is_null());
  }
}

TEST(GemmSweep, RejectsEmptyShapes) {
  auto p = gemm::create_provider("naive");
  GemmShape s;
  s.m = 0;
  s.n = s.k = 4;
  EXPECT_THROW(measure_gemm(*p, s, quick({}, {})), Error);
}

TEST(GemmSweep, ModelShapesAccountForEveryMac) {
  for (const char* model : {"squeezenet1.1", "mobilenet_v1"}) {
    SCOPED_TRACE(model);
    const auto shapes = model_gemm_shapes(model);
    ASSERT_FALSE(shapes.empty());
    double macs = 0;
    for (const GemmShape& s : shapes) {
      EXPECT_GE(s.calls, 1);
      EXPECT_FALSE(s.where.empty());
      macs += double(s.m) * s.n * s.k * s.calls;
    }
    EXPECT_EQ(macs, double(count_macs(load_model(model))));
  }
  // SqueezeNet v1.1's first convolution: 64 filters of 3x3x3 over a 111x111 output.
  const auto sq = model_gemm_shapes("squeezenet1.1");
  EXPECT_EQ(sq[0].m, 64);
  EXPECT_EQ(sq[0].n, 111 * 111);
  EXPECT_EQ(sq[0].k, 27);
  EXPECT_THROW(model_gemm_shapes("no_such_model"), Error);
}

TEST(GemmSweep, ResultJsonHasTheSchemaFields) {
  const auto results = run_gemm_sweep(quick({"naive"}, {8}));
  ASSERT_EQ(results.size(), 1u);
  const auto j = gemm_result_json(results[0]);
  for (const char* key : {"provider", "m", "n", "k", "threads", "status", "gflops",
                          "gflops_with_transfer", "time_ms", "validation"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j["provider"], "naive");
  EXPECT_GT(j["gflops"].get<double>(), 0);
  EXPECT_TRUE(j["gflops_with_transfer"].is_null());
  EXPECT_TRUE(j["validation"]["passed"].get<bool>());
}

// Providers with device memory (clblast over OpenCL, where a platform exists) report the rate of
// the computation and, separately, of the whole call with transfers.
TEST(GemmSweep, DeviceProvidersReportBothRates) {
  int tested = 0;
  for (const gemm::ProviderInfo& info : gemm::list_providers()) {
    if (!info.available) continue;
    auto p = gemm::create_provider(info.name);
    if (!p->has_device_memory()) continue;
    ++tested;
    GemmShape s;
    s.m = s.n = s.k = 128;
    const GemmResult r = measure_gemm(*p, s, quick({}, {}));
    SCOPED_TRACE(info.name);
    ASSERT_TRUE(r.ok()) << r.reason;
    ASSERT_TRUE(r.gflops_with_transfer.has_value());
    EXPECT_GE(r.gflops, *r.gflops_with_transfer);
    const auto j = gemm_result_json(r);
    EXPECT_TRUE(j["gflops_with_transfer"].is_number());
  }
  if (tested == 0) GTEST_SKIP() << "no provider with device memory is available here";
}

}  // namespace
}  // namespace libscout
