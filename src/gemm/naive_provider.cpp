// `naive`: the textbook triple loop in float, single-threaded. The floor every library is
// compared against, and a provider that exists on every machine.
#include "gemm/builtin_providers.h"

namespace libscout::gemm {

namespace {

class NaiveProvider final : public Provider {
 public:
  std::string name() const override { return "naive"; }
  std::string version() const override { return "built into libscout"; }
  int set_threads(int) override { return 1; }

  void sgemm(const SgemmArgs& g) override {
    auto at = [&](int i, int p) {
      return g.trans_a == Trans::kNo ? g.a[static_cast<std::size_t>(i) * g.lda + p]
                                     : g.a[static_cast<std::size_t>(p) * g.lda + i];
    };
    auto bt = [&](int p, int j) {
      return g.trans_b == Trans::kNo ? g.b[static_cast<std::size_t>(p) * g.ldb + j]
                                     : g.b[static_cast<std::size_t>(j) * g.ldb + p];
    };
    for (int i = 0; i < g.m; ++i) {
      float* c = g.c + static_cast<std::size_t>(i) * g.ldc;
      for (int j = 0; j < g.n; ++j) c[j] = g.beta == 0.0f ? 0.0f : g.beta * c[j];
      for (int p = 0; p < g.k; ++p) {
        const float a = g.alpha * at(i, p);
        for (int j = 0; j < g.n; ++j) c[j] += a * bt(p, j);
      }
    }
  }
};

}  // namespace

std::unique_ptr<Provider> make_naive_provider() { return std::make_unique<NaiveProvider>(); }

}  // namespace libscout::gemm
