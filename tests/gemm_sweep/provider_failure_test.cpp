// The SGEMM sweep against providers that throw (issue 13: "records a provider that throws, or runs
// out of memory, as failed and goes on"): at creation, in version(), in set_threads(), in the
// validated call, a warm-up call or a timed call, with a library error, std::bad_alloc, a GPU
// out-of-memory error or an exception that is not a std::exception. Also: the larger sizes that the
// sweep adds only for providers whose operands live on a GPU.
#include <gtest/gtest.h>

#include <functional>
#include <new>
#include <stdexcept>

#include "core/error.h"
#include "gemm/gemm_provider.h"
#include "measure/gemm_sweep.h"

namespace libscout {
namespace {

using gemm::SgemmArgs;

// A correct provider (a plain triple loop over A * B, no transposes: what the sweep's square shapes
// need) that throws where it is told to: how a library that fails, or runs out of memory, behaves.
class ThrowingProvider final : public gemm::Provider {
 public:
  enum class Where { kNowhere, kVersion, kSetThreads, kCall, kFromSize };
  ThrowingProvider(Where where, std::function<void()> raise, int at = 0)
      : where_(where), raise_(std::move(raise)), at_(at) {}
  std::string name() const override { return "throwing"; }
  std::string version() const override {
    if (where_ == Where::kVersion) raise_();
    return "test provider 1.0";
  }
  int set_threads(int) override {
    if (where_ == Where::kSetThreads) raise_();
    return 1;
  }
  // With kCall, call number `at` (1: the validated call) throws; with kFromSize, every call with
  // m >= `at`.
  void sgemm(const SgemmArgs& g) override {
    ++calls_;
    if ((where_ == Where::kCall && calls_ == at_) || (where_ == Where::kFromSize && g.m >= at_)) {
      raise_();
    }
    for (int i = 0; i < g.m; ++i) {
      for (int j = 0; j < g.n; ++j) {
        float acc = 0;
        for (int p = 0; p < g.k; ++p) acc += g.a[i * g.lda + p] * g.b[p * g.ldb + j];
        g.c[i * g.ldc + j] = g.alpha * acc;
      }
    }
  }
  bool has_device_memory() const override { return on_gpu_; }
  bool operands_on_gpu() const override { return on_gpu_; }
  // Stands in for a GPU provider in the size-list test (its operands really stay on the host).
  void claim_gpu() { on_gpu_ = true; }

 private:
  Where where_;
  std::function<void()> raise_;
  int at_;
  int calls_ = 0;
  bool on_gpu_ = false;
};

void library_error() { throw Error("the library reports an internal error"); }
void gpu_out_of_memory() { throw Error("cudaMalloc: out of memory (out of GPU memory)"); }
void host_out_of_memory() { throw std::bad_alloc(); }
void not_a_std_exception() { throw 42; }

GemmSweepOptions counted_calls_options(std::vector<std::string> providers, std::vector<int> sizes) {
  GemmSweepOptions o;
  o.providers = std::move(providers);
  o.shapes = square_shapes(sizes);
  o.warmup = 1;  // calls: 1 validated, 2 warm-up, 3 and on timed
  o.min_time_s = 0.0;
  o.min_iterations = 3;
  return o;
}

GemmShape square(int n) { return square_shapes({n})[0]; }

void expect_failed(const GemmResult& r, const std::string& stage, const std::string& message) {
  SCOPED_TRACE(r.reason);
  EXPECT_EQ(r.status, "failed");
  EXPECT_EQ(r.reason.find(stage), 0u) << "the reason should start with the stage: " << stage;
  EXPECT_NE(r.reason.find(message), std::string::npos) << message;
  EXPECT_EQ(r.iterations, 0);
  EXPECT_FALSE(r.gflops_with_transfer.has_value());
  const auto j = gemm_result_json(r);
  EXPECT_EQ(j["status"], "failed");
  EXPECT_TRUE(j["gflops"].is_null());
  EXPECT_TRUE(j["time_ms"].is_null());
}

TEST(GemmSweepFailures, EveryStageThatThrowsIsAFailureNamingIt) {
  using W = ThrowingProvider::Where;
  struct Case {
    W where;
    int at;
    const char* stage;
  };
  const Case cases[] = {{W::kVersion, 0, "version()"},
                        {W::kSetThreads, 0, "set_threads()"},
                        {W::kCall, 1, "the validated sgemm call"},
                        {W::kCall, 2, "a warm-up sgemm call"},
                        {W::kCall, 3, "a timed sgemm call"},
                        {W::kCall, 5, "a timed sgemm call"}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.stage);
    ThrowingProvider p(c.where, library_error, c.at);
    expect_failed(measure_gemm(p, square(24), counted_calls_options({}, {})), c.stage,
                  "threw: the library reports an internal error");
  }
  ThrowingProvider fine(W::kNowhere, library_error);
  EXPECT_TRUE(measure_gemm(fine, square(24), counted_calls_options({}, {})).ok());
}

TEST(GemmSweepFailures, OutOfMemoryIsAFailureWithTheReason) {
  using W = ThrowingProvider::Where;
  ThrowingProvider host(W::kCall, host_out_of_memory, 1);
  expect_failed(measure_gemm(host, square(16), counted_calls_options({}, {})), "the validated sgemm call",
                "out of host memory");
  ThrowingProvider gpu(W::kCall, gpu_out_of_memory, 3);
  expect_failed(measure_gemm(gpu, square(16), counted_calls_options({}, {})), "a timed sgemm call",
                "out of GPU memory");
  ThrowingProvider odd(W::kCall, not_a_std_exception, 1);
  expect_failed(measure_gemm(odd, square(16), counted_calls_options({}, {})), "the validated sgemm call",
                "not a std::exception");
}

// One sweep over a provider that cannot be created, one that is unavailable, one that runs out of
// memory from size 48 on, and the real `naive` provider: every row is there, and naive is timed.
TEST(GemmSweepFailures, TheSweepGoesOnAfterAProviderThrows) {
  const ProviderMaker make = [](const std::string& name) -> std::unique_ptr<gemm::Provider> {
    if (name == "broken") throw std::runtime_error("no device context");
    if (name == "absent") throw Unavailable("libabsent.so is not installed");
    if (name == "oom") {
      return std::make_unique<ThrowingProvider>(ThrowingProvider::Where::kFromSize,
                                                gpu_out_of_memory, 48);
    }
    return gemm::create_provider(name);
  };
  const auto results =
      run_gemm_sweep(counted_calls_options({"broken", "absent", "oom", "naive"}, {32, 48, 64}), make);
  ASSERT_EQ(results.size(), 12u);
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(results[i].status, "failed");
    EXPECT_EQ(results[i].reason, "creating the provider threw: no device context");
    EXPECT_EQ(results[3 + i].status, "unavailable");
    EXPECT_EQ(results[3 + i].reason, "libabsent.so is not installed");
    EXPECT_EQ(results[9 + i].status, "ok") << results[9 + i].reason;
    EXPECT_EQ(results[9 + i].provider, "naive");
  }
  EXPECT_EQ(results[6].status, "ok") << results[6].reason;
  expect_failed(results[7], "the validated sgemm call", "out of GPU memory");
  expect_failed(results[8], "the validated sgemm call", "out of GPU memory");
  EXPECT_EQ(results[8].shape.m, 64);
}

TEST(GemmSweepFailures, OnlyGpuProvidersGetTheLargerSizes) {
  const ProviderMaker make = [](const std::string& name) -> std::unique_ptr<gemm::Provider> {
    if (name != "gpu") return gemm::create_provider(name);
    auto p = std::make_unique<ThrowingProvider>(ThrowingProvider::Where::kNowhere, library_error);
    p->claim_gpu();
    return p;
  };
  GemmSweepOptions o = counted_calls_options({"naive", "gpu"}, {8, 16});
  o.gpu_shapes = square_shapes({40});
  const auto results = run_gemm_sweep(o, make);
  ASSERT_EQ(results.size(), 5u);
  EXPECT_EQ(results[0].provider, "naive");
  EXPECT_EQ(results[1].shape.m, 16);
  EXPECT_EQ(results[2].provider, "throwing");
  EXPECT_EQ(results[4].shape.m, 40);
  for (const GemmResult& r : results) EXPECT_TRUE(r.ok()) << r.provider << " " << r.reason;
  EXPECT_EQ(default_gpu_square_sizes().back(), 8192);
  EXPECT_EQ(default_square_sizes().back(), 2048);
}

}  // namespace
}  // namespace libscout
