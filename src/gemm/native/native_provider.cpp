// The `native` provider: the native SGEMM framework behind the Provider interface.
#include "gemm/native/native_provider.h"

#include <string>

#include "gemm/native/sgemm_native.h"

namespace libscout::gemm {
namespace {

class NativeProvider final : public Provider {
 public:
  NativeProvider()
      : kernel_(native::best_sgemm_ukernel()), blocking_(native::sgemm_blocking(kernel_)) {}

  std::string name() const override { return "native"; }

  // There is no release number to report: the version names the micro-kernel and block sizes in
  // use, which is what distinguishes one native build from another.
  std::string version() const override {
    const auto& blk = blocking_;
    return "ukernel " + std::string(kernel_.name) + ", mc=" + std::to_string(blk.mc) +
           " kc=" + std::to_string(blk.kc) + " nc=" + std::to_string(blk.nc);
  }

  int set_threads(int threads) override {
    pool_ = std::make_unique<native::ThreadPool>(threads);
    return pool_->threads();
  }

  void sgemm(const SgemmArgs& args) override {
    native::check_sgemm_args(args);
    native::sgemm_native(args, kernel_, blocking_, *pool_, workspace_);
  }

 private:
  const native::SgemmUkernel& kernel_;
  const native::SgemmBlocking blocking_;  // from this machine's cache sizes
  std::unique_ptr<native::ThreadPool> pool_ = std::make_unique<native::ThreadPool>(1);
  native::SgemmWorkspace workspace_;
};

}  // namespace

std::unique_ptr<Provider> make_native_provider() { return std::make_unique<NativeProvider>(); }

}  // namespace libscout::gemm
