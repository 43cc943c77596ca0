// Plugin "onednn_gemm": the GEMM provider `onednn`, oneDNN's dnnl_sgemm (row-major, the same
// contract as gemm_provider.h). Debian's oneDNN runs its CPU kernels on OpenMP, so the thread
// count is OpenMP's for the calling thread, set before every call (another provider in the same
// process may have changed it).
#include <dnnl.h>
#include <omp.h>

#include <string>

#include "core/error.h"
#include "core/plugins.h"

namespace libscout::gemm {
namespace {

class OnednnGemmProvider final : public Provider {
 public:
  std::string name() const override { return "onednn"; }

  std::string version() const override {
    const dnnl_version_t* v = dnnl_version();
    return "oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
           std::to_string(v->patch) + (v->hash != nullptr ? std::string(" (") + v->hash + ")" : "");
  }

  int set_threads(int threads) override {
    threads_ = threads < 1 ? 1 : threads;
    return threads_;
  }

  void sgemm(const SgemmArgs& g) override {
    omp_set_num_threads(threads_);
    const dnnl_status_t status =
        dnnl_sgemm(g.trans_a == Trans::kYes ? 'T' : 'N', g.trans_b == Trans::kYes ? 'T' : 'N', g.m,
                   g.n, g.k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta, g.c, g.ldc);
    if (status != dnnl_success) {
      throw Error("onednn: dnnl_sgemm failed with status " + std::to_string(status) + " (m=" +
                  std::to_string(g.m) + " n=" + std::to_string(g.n) + " k=" + std::to_string(g.k) +
                  ")");
    }
  }

 private:
  int threads_ = 1;
};

}  // namespace
}  // namespace libscout::gemm

LIBSCOUT_PLUGIN_PROVIDES("provider", "onednn");
LIBSCOUT_PLUGIN_ENTRY libscout_register_plugin(libscout::PluginRegistry& registry) {
  registry.add_provider({"onednn", "oneDNN's SGEMM (dnnl_sgemm, OpenMP threads)", nullptr,
                         [] { return std::make_unique<libscout::gemm::OnednnGemmProvider>(); }});
}
