// One small SGEMM interface over every GEMM library libscout measures:
//   C := alpha * op(A) * op(B) + beta * C, row-major, op(X) = X or X^T.
// When beta == 0, C is written without being read (it may hold NaN), as BLAS requires.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace libscout::gemm {

enum class Trans { kNo, kYes };

struct SgemmArgs {
  Trans trans_a = Trans::kNo, trans_b = Trans::kNo;
  int m = 0, n = 0, k = 0;
  float alpha = 1.0f;
  const float* a = nullptr;
  int lda = 0;
  const float* b = nullptr;
  int ldb = 0;
  float beta = 0.0f;
  float* c = nullptr;
  int ldc = 0;
};

class Provider {
 public:
  virtual ~Provider() = default;
  virtual std::string name() const = 0;
  // The library's own version string where it reports one, else the package's.
  virtual std::string version() const { return {}; }
  // Sets the thread count of the library's own threading. Returns the count it will really use
  // (1 for single-threaded libraries).
  virtual int set_threads(int threads) = 0;
  virtual void sgemm(const SgemmArgs& args) = 0;
  // Whether operands live in device memory that sgemm() must copy to and from (OpenCL, CUDA).
  virtual bool has_device_memory() const { return false; }
  // Whether that device memory is a GPU's (cuBLAS; OpenCL on a GPU): the SGEMM sweep measures
  // larger default sizes there.
  virtual bool operands_on_gpu() const { return false; }
};

// How to get a provider: registered by name; `available` and `reason` say whether it loads here.
struct ProviderInfo {
  std::string name;
  std::string description;
  bool available = false;
  std::string reason;  // why not, when unavailable
};

// Every provider libscout knows, in a fixed order, with availability on this machine.
std::vector<ProviderInfo> list_providers();
// Creates a provider by name; throws Unavailable with the reason when it cannot be loaded.
std::unique_ptr<Provider> create_provider(const std::string& name);
// A CBLAS library the user names by path (--blas-lib PATH); its provider name is "path:<PATH>".
void register_blas_library(const std::string& path);

}  // namespace libscout::gemm
