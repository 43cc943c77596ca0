// The Arm Compute Library side of the `armcl-neon` provider (armcl_negemm.h). Compiled as C++17:
// ACL 20.08's headers name a namespace `requires`, a keyword in C++20, so this file includes no
// libscout header that needs C++20 and armcl_gemm_provider.cpp includes no ACL header.
#include "gemm/armcl/armcl_negemm.h"

#include <arm_compute/core/Types.h>
#include <arm_compute/core/Version.h>
#include <arm_compute/runtime/NEON/NEFunctions.h>
#include <arm_compute/runtime/NEON/NEScheduler.h>
#include <arm_compute/runtime/Tensor.h>

#include <map>
#include <stdexcept>
#include <tuple>

namespace libscout::gemm::armcl {
namespace {

namespace acl = arm_compute;

// Copies rows x cols values of op(X) (element (r, c) at src[r * ld + c], or src[c * ld + r] when
// transposed) into a 2-D F32 tensor of shape (cols, rows).
void copy_in(acl::Tensor& t, const float* src, int rows, int cols, int ld, bool transposed) {
  auto* base = t.buffer() + t.info()->offset_first_element_in_bytes();
  const std::size_t stride = t.info()->strides_in_bytes()[1];
  for (int r = 0; r < rows; ++r) {
    auto* row = reinterpret_cast<float*>(base + r * stride);
    if (!transposed) {
      const float* s = src + static_cast<std::size_t>(r) * ld;
      for (int c = 0; c < cols; ++c) row[c] = s[c];
    } else {
      for (int c = 0; c < cols; ++c) row[c] = src[static_cast<std::size_t>(c) * ld + r];
    }
  }
}

void copy_out(acl::Tensor& t, float* dst, int rows, int cols, int ld) {
  const auto* base = t.buffer() + t.info()->offset_first_element_in_bytes();
  const std::size_t stride = t.info()->strides_in_bytes()[1];
  for (int r = 0; r < rows; ++r) {
    const auto* row = reinterpret_cast<const float*>(base + r * stride);
    float* d = dst + static_cast<std::size_t>(r) * ld;
    for (int c = 0; c < cols; ++c) d[c] = row[c];
  }
}

acl::TensorInfo matrix_info(int rows, int cols) {
  return acl::TensorInfo(acl::TensorShape(cols, rows), 1, acl::DataType::F32);
}

// One configured NEGEMM with its tensors.
struct Configured {
  acl::Tensor a, b, c, d;
  acl::NEGEMM gemm;
  bool has_c = false;
};

}  // namespace

struct NeonGemm::Impl {
  std::map<std::tuple<int, int, int, float, float>, std::unique_ptr<Configured>> cache;

  Configured& configured(int m, int n, int k, float alpha, float beta) {
    const auto key = std::make_tuple(m, n, k, alpha, beta);
    auto it = cache.find(key);
    if (it != cache.end()) return *it->second;
    auto f = std::make_unique<Configured>();
    f->has_c = beta != 0.0f;
    f->a.allocator()->init(matrix_info(m, k));
    f->b.allocator()->init(matrix_info(k, n));
    f->d.allocator()->init(matrix_info(m, n));
    if (f->has_c) f->c.allocator()->init(matrix_info(m, n));
    const acl::GEMMInfo info(false, false, /*reshape_b_only_on_first_run=*/false);
    const acl::Status status = acl::NEGEMM::validate(
        f->a.info(), f->b.info(), f->has_c ? f->c.info() : nullptr, f->d.info(), alpha, beta, info);
    if (!bool(status)) {
      throw std::runtime_error("NEGEMM rejects m=" + std::to_string(m) + " n=" +
                               std::to_string(n) + " k=" + std::to_string(k) + ": " +
                               status.error_description());
    }
    f->gemm.configure(&f->a, &f->b, f->has_c ? &f->c : nullptr, &f->d, alpha, beta, info);
    f->a.allocator()->allocate();
    f->b.allocator()->allocate();
    f->d.allocator()->allocate();
    if (f->has_c) f->c.allocator()->allocate();
    return *cache.emplace(key, std::move(f)).first->second;
  }
};

NeonGemm::NeonGemm() : impl_(std::make_unique<Impl>()) {}
NeonGemm::~NeonGemm() = default;

std::string NeonGemm::version() {
  // ACL 20.08's ARM_COMPUTE_VERSION_STR names macros its headers never define; the library
  // reports its version at run time: "arm_compute_version=v20.08 Build options: ...".
  std::string v = arm_compute::build_information();
  const std::size_t eq = v.find('=');
  v = eq == std::string::npos ? "(unknown version)" : v.substr(eq + 1, v.find(' ', eq) - eq - 1);
  if (!v.empty() && v[0] == 'v') v.erase(0, 1);
  return "Arm Compute Library " + v + " (NEON)";
}

int NeonGemm::set_threads(int threads) {
  acl::NEScheduler::get().set_num_threads(threads < 1 ? 1 : threads);
  return static_cast<int>(acl::NEScheduler::get().num_threads());
}

void NeonGemm::run(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a,
                   int lda, const float* b, int ldb, float beta, float* c, int ldc) {
  Configured& f = impl_->configured(m, n, k, alpha, beta);
  copy_in(f.a, a, m, k, lda, trans_a);
  copy_in(f.b, b, k, n, ldb, trans_b);
  if (f.has_c) copy_in(f.c, c, m, n, ldc, false);
  f.gemm.run();
  copy_out(f.d, c, m, n, ldc);
}

}  // namespace libscout::gemm::armcl
