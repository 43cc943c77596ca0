// Run-time choice among the builds of simd_kernels.inc: a set is usable when the native SGEMM
// micro-kernel of the same instruction set is (its CPU check covers CPUID / HWCAP and the OS's
// register state), so both parts of the backend agree on what this CPU runs.
#include <string_view>

#include "backends/native/simd_kernels.h"
#include "gemm/native/sgemm_ukernels.h"

namespace libscout::native_nn {
namespace {

bool sgemm_kernel_runs(std::string_view name) {
  const gemm::native::SgemmUkernel* k = gemm::native::find_sgemm_ukernel(name);
  return k != nullptr && k->is_supported();
}

struct Entry {
  const SimdKernels* kernels;
  const char* sgemm_kernel;  // nullptr: runs everywhere
};

const Entry kEntries[] = {
#if defined(__x86_64__)
    {&avx512::kKernels, "avx512_14x32"},
    {&avx2::kKernels, "avx2_fma_6x16"},
#endif
#if defined(__aarch64__)
    {&neon::kKernels, "neon_8x12"},
#elif defined(__arm__)
    {&neon::kKernels, "neon_armv7_6x8"},
#endif
    {&portable::kKernels, nullptr},
};

}  // namespace

int supported_simd_kernels(const SimdKernels** out, int capacity) {
  int n = 0;
  for (const Entry& e : kEntries) {
    if (n < capacity && (e.sgemm_kernel == nullptr || sgemm_kernel_runs(e.sgemm_kernel))) {
      out[n++] = e.kernels;
    }
  }
  return n;
}

const SimdKernels& simd_kernels_for(const gemm::native::SgemmUkernel& chosen) {
  const auto all = gemm::native::sgemm_ukernels();
  for (const Entry& e : kEntries) {
    if (e.sgemm_kernel == nullptr) return *e.kernels;
    const gemm::native::SgemmUkernel* k = gemm::native::find_sgemm_ukernel(e.sgemm_kernel);
    if (k != nullptr && k->is_supported() && k - all.data() >= &chosen - all.data()) {
      return *e.kernels;
    }
  }
  return portable::kKernels;
}

const SimdKernels& best_simd_kernels() {
  static const SimdKernels& best = simd_kernels_for(gemm::native::best_sgemm_ukernel());
  return best;
}

}  // namespace libscout::native_nn
