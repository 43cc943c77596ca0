// Plugin "armcl_gemm": the GEMM provider `armcl-neon`, Arm Compute Library's NEGEMM (NEON), built
// on ARM targets only (Debian ships libarm-compute for arm64 and armhf). armcl_negemm.h says how
// operands reach the library. Threads: ACL's NEON scheduler.
#include <stdexcept>
#include <string>

#include "core/error.h"
#include "core/plugins.h"
#include "gemm/armcl/armcl_negemm.h"

namespace libscout::gemm {
namespace {

class ArmclNeonProvider final : public Provider {
 public:
  std::string name() const override { return "armcl-neon"; }
  std::string version() const override { return armcl::NeonGemm::version(); }
  int set_threads(int threads) override { return armcl::NeonGemm::set_threads(threads); }

  void sgemm(const SgemmArgs& g) override {
    if (g.m < 0 || g.n < 0 || g.k < 0) throw Error("armcl-neon: negative GEMM size");
    if (g.m == 0 || g.n == 0) return;
    if (g.k == 0 || g.alpha == 0.0f) {  // NEGEMM needs k >= 1: C := beta * C here
      for (int i = 0; i < g.m; ++i) {
        float* row = g.c + static_cast<std::size_t>(i) * g.ldc;
        for (int j = 0; j < g.n; ++j) row[j] = g.beta == 0.0f ? 0.0f : g.beta * row[j];
      }
      return;
    }
    try {
      gemm_.run(g.trans_a == Trans::kYes, g.trans_b == Trans::kYes, g.m, g.n, g.k, g.alpha, g.a,
                g.lda, g.b, g.ldb, g.beta, g.c, g.ldc);
    } catch (const std::runtime_error& e) {
      throw Error(std::string("armcl-neon: ") + e.what());
    }
  }

 private:
  armcl::NeonGemm gemm_;
};

}  // namespace
}  // namespace libscout::gemm

LIBSCOUT_PLUGIN_PROVIDES("provider", "armcl-neon");
LIBSCOUT_PLUGIN_ENTRY libscout_register_plugin(libscout::PluginRegistry& registry) {
  registry.add_provider({"armcl-neon", "Arm Compute Library's NEGEMM (NEON)", nullptr,
                         [] { return std::make_unique<libscout::gemm::ArmclNeonProvider>(); }});
}
