// Arm Compute Library's NEGEMM behind a small interface that needs neither ACL's headers nor
// C++20 (see armcl_negemm.cpp). NEGEMM computes D := alpha * A * B + beta * C on its own tensors
// and has no transpose flags, so run() copies op(A), op(B) (and C when beta != 0) into tensors
// the library allocated (with whatever padding it wants) and D back into C: O(n^2) copies beside
// the O(n^3) product. One configured NEGEMM is kept per (m, n, k, alpha, beta), so configuration
// (kernel choice, work buffers) happens on the first call of a shape only; B is reshaped on every
// run, since the caller may change it between calls.
#pragma once

#include <memory>
#include <string>

namespace libscout::gemm::armcl {

class NeonGemm {
 public:
  NeonGemm();
  ~NeonGemm();
  static std::string version();
  // ACL's NEON scheduler threads; returns the count it uses.
  static int set_threads(int threads);
  // Row-major C := alpha * op(A) * op(B) + beta * C for m, n, k >= 1. Throws std::runtime_error
  // when NEGEMM rejects the shape.
  void run(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
           const float* b, int ldb, float beta, float* c, int ldc);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace libscout::gemm::armcl
