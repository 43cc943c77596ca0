// Every GEMM provider (skipped with the reason where it cannot run) against a double-precision
// product: all transpose combinations, alpha and beta, padded leading dimensions, odd and
// degenerate sizes, several thread counts.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/engine.h"
#include "core/error.h"
#include "gemm/gemm_provider.h"
#include "models/graph_builder.h"
#include "support/backend_check.h"
#include "support/gemm_providers.h"

namespace libscout::gemm {
namespace {

struct Case {
  int m, n, k;
  Trans ta, tb;
  float alpha, beta;
  int pad;  // extra columns in every leading dimension
};

std::vector<float> random_matrix(std::size_t count, std::uint64_t seed) {
  SeededRandom rng(seed);
  std::vector<float> v(count);
  for (float& x : v) x = rng.uniform(-1.0f, 1.0f);
  return v;
}

void check(Provider& p, const Case& c, int threads) {
  const int a_rows = c.ta == Trans::kNo ? c.m : c.k, a_cols = c.ta == Trans::kNo ? c.k : c.m;
  const int b_rows = c.tb == Trans::kNo ? c.k : c.n, b_cols = c.tb == Trans::kNo ? c.n : c.k;
  const int lda = a_cols + c.pad, ldb = b_cols + c.pad, ldc = c.n + c.pad;
  const auto a = random_matrix(std::size_t(a_rows) * lda, 1);
  const auto b = random_matrix(std::size_t(b_rows) * ldb, 2);
  auto cm = random_matrix(std::size_t(c.m) * ldc, 3);
  if (c.beta == 0.0f) {  // beta == 0: C must be overwritten, never read
    for (float& x : cm) x = std::numeric_limits<float>::quiet_NaN();
  }
  std::vector<double> want(std::size_t(c.m) * c.n);
  for (int i = 0; i < c.m; ++i) {
    for (int j = 0; j < c.n; ++j) {
      double acc = 0;
      for (int l = 0; l < c.k; ++l) {
        const double av = c.ta == Trans::kNo ? a[std::size_t(i) * lda + l] : a[std::size_t(l) * lda + i];
        const double bv = c.tb == Trans::kNo ? b[std::size_t(l) * ldb + j] : b[std::size_t(j) * ldb + l];
        acc += av * bv;
      }
      const double old = c.beta == 0.0f ? 0.0 : c.beta * double(cm[std::size_t(i) * ldc + j]);
      want[std::size_t(i) * c.n + j] = c.alpha * acc + old;
    }
  }
  p.set_threads(threads);
  const std::vector<float> before = cm;
  p.sgemm({c.ta, c.tb, c.m, c.n, c.k, c.alpha, a.data(), lda, b.data(), ldb, c.beta, cm.data(), ldc});
  double err2 = 0, ref2 = 0;
  for (int i = 0; i < c.m; ++i) {
    for (int j = 0; j < c.n; ++j) {
      const double d = cm[std::size_t(i) * ldc + j] - want[std::size_t(i) * c.n + j];
      err2 += d * d;
      ref2 += want[std::size_t(i) * c.n + j] * want[std::size_t(i) * c.n + j];
    }
    for (int j = c.n; j < ldc; ++j) {  // padding columns untouched
      const float x = cm[std::size_t(i) * ldc + j], y = before[std::size_t(i) * ldc + j];
      ASSERT_TRUE(x == y || (std::isnan(x) && std::isnan(y))) << "padding written at " << i << "," << j;
    }
  }
  const double rel = ref2 > 0 ? std::sqrt(err2 / ref2) : std::sqrt(err2);
  EXPECT_LE(rel, 1e-5) << p.name() << " m=" << c.m << " n=" << c.n << " k=" << c.k
                       << " ta=" << int(c.ta) << " tb=" << int(c.tb) << " alpha=" << c.alpha
                       << " beta=" << c.beta << " pad=" << c.pad << " threads=" << threads;
}

std::vector<Case> cases() {
  std::vector<Case> out;
  for (Trans ta : {Trans::kNo, Trans::kYes}) {
    for (Trans tb : {Trans::kNo, Trans::kYes}) {
      out.push_back({17, 23, 31, ta, tb, 1.0f, 0.0f, 0});
      out.push_back({64, 48, 80, ta, tb, 0.5f, 1.0f, 3});
      out.push_back({1, 1000, 256, ta, tb, 1.0f, 0.0f, 0});  // a fully connected layer
      out.push_back({96, 3025, 27, ta, tb, 1.0f, 0.0f, 0});  // SqueezeNet's first convolution
      out.push_back({5, 7, 1, ta, tb, -2.0f, 0.25f, 1});
    }
  }
  return out;
}

class ProviderTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ProviderTest, MatchesDoublePrecisionProduct) {
  LIBSCOUT_SKIP_UNLESS_PROVIDER_AVAILABLE(GetParam());
  auto p = create_provider(GetParam());
  for (const Case& c : cases()) check(*p, c, 1);
  for (const Case& c : cases()) check(*p, c, 2);
}

TEST_P(ProviderTest, DescribesItself) {
  LIBSCOUT_SKIP_UNLESS_PROVIDER_AVAILABLE(GetParam());
  auto p = create_provider(GetParam());
  EXPECT_EQ(p->name(), GetParam());
  EXPECT_GE(p->set_threads(2), 1);
}

std::vector<std::string> available_providers() {
  std::vector<std::string> out;
  for (const ProviderInfo& p : list_providers()) {
    if (p.available) out.push_back(p.name);
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(Listed, ProviderTest,
                         ::testing::ValuesIn(::libscout::testing::listed_providers()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return testing::test_name(info.param);
                         });

TEST(Providers, NaiveAndEigenAreAlwaysAvailable) {
  const auto names = available_providers();
  EXPECT_NE(std::find(names.begin(), names.end(), "naive"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "eigen"), names.end());
}

TEST(Providers, UnknownNameIsAnError) { EXPECT_THROW(create_provider("no_such_blas"), Error); }

TEST(Providers, ALibraryThatIsNotThereIsUnavailableWithTheReason) {
  register_blas_library("/nonexistent/libcblas.so");
  bool listed = false;
  for (const ProviderInfo& p : list_providers()) {
    if (p.name == "path:/nonexistent/libcblas.so") {
      listed = true;
      EXPECT_FALSE(p.available);
      EXPECT_FALSE(p.reason.empty());
    }
  }
  EXPECT_TRUE(listed);
  EXPECT_THROW(create_provider("path:/nonexistent/libcblas.so"), Unavailable);
}

}  // namespace
}  // namespace libscout::gemm
