// Every GEMM provider (built in, dlopen'ed, plugins; skipped with the reason where it cannot run)
// on the edge shapes of the GEMM contract, element by element against a double-precision product
// (gemm_native/sgemm_checker.h): M, N or K of 1, primes, sizes just under and over common tiles
// (4, 6, 8, 12, 16, 32), all four transpose combinations, padded leading dimensions, beta 0 over
// NaN, beta 1 and other betas.
#include <gtest/gtest.h>

#include "gemm/gemm_provider.h"
#include "gemm_native/sgemm_checker.h"
#include "support/gemm_providers.h"

namespace libscout::gemm {
namespace {

using testing::SgemmCase;

std::vector<SgemmCase> edge_cases() {
  constexpr Trans kN = Trans::kNo, kT = Trans::kYes;
  const Trans transposes[4][2] = {{kN, kN}, {kN, kT}, {kT, kN}, {kT, kT}};
  const float betas[3] = {0.0f, 1.0f, 0.5f};
  std::vector<SgemmCase> out;
  int index = 0;
  for (const auto& t : transposes) {
    for (int m : {1, 5, 7, 13, 33}) {
      for (int n : {1, 15, 17, 31}) {
        for (int k : {1, 11, 32}) {
          ++index;
          out.push_back({m, n, k, t[0], t[1], index % 4 == 0 ? -1.5f : 1.0f, betas[index % 3],
                         index % 2, index % 3 == 0 ? 2 : 0, index % 5 == 0 ? 3 : 0});
        }
      }
    }
  }
  return out;
}

class ProviderEdgeTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ProviderEdgeTest, MatchesDoublePrecisionElementwise) {
  LIBSCOUT_SKIP_UNLESS_PROVIDER_AVAILABLE(GetParam());
  auto p = create_provider(GetParam());
  for (int threads : {1, 2}) {
    const int used = p->set_threads(threads);
    const std::string label = GetParam() + " (" + std::to_string(used) + " threads)";
    int failures = 0;
    for (const SgemmCase& c : edge_cases()) {
      if (!testing::check_sgemm(c, label, [&](const SgemmArgs& a) { p->sgemm(a); })) {
        if (++failures >= 3) return;  // the first few say enough
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Listed, ProviderEdgeTest,
                         ::testing::ValuesIn(::libscout::testing::listed_providers()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string s;
                           for (char ch : info.param) s += std::isalnum(ch) ? ch : '_';
                           return s;
                         });

}  // namespace
}  // namespace libscout::gemm
