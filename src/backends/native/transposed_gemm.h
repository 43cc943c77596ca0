// The convolution GEMM with its roles swapped: C (M x N) = A (M x K, the weights) * B (K x N, the
// activations) computed as C^T = B^T A^T on the same micro-kernel, with pixels (columns of C) as
// the kernel's MR rows and output channels as its NR columns; each finished tile is transposed
// into C with the bias and activation (SimdKernels::transposed_epilogue). It pays where N is a
// multiple of MR but not of NR (MobileNet's 14 x 14 = 196 pixels: 14 panels of MR = 14, against
// 6 1/8 panels of NR = 32) and the depth is large enough to hide the transposes.
// Each tile takes the full depth in one kernel call (no K slices, no partial sums): a block of
// weight panels sized for L2 is reused by every pixel panel, the packed pixel panel stays in L1.
#pragma once

#include <cstddef>
#include <memory>

#include "backends/native/packed_gemm.h"

namespace libscout::native_nn {

// A (M x K) as the NR-wide panels of A^T, full depth: panel q holds rows [q*NR, q*NR + NR) of A
// as K groups of NR floats (rows past M are zeros).
class PackedColumns {
 public:
  PackedColumns() = default;
  PackedColumns(const float* a, int m, int k, std::size_t lda, int nr);
  int m() const { return m_; }
  int k() const { return k_; }
  int panels() const { return panels_; }
  const float* panel(int q) const { return data_.get() + static_cast<std::size_t>(q) * nr_ * k_; }

 private:
  int m_ = 0, k_ = 0, nr_ = 1, panels_ = 0;
  std::unique_ptr<float[], AlignedFree> data_;
};

// C := A * B (+ epilogue), as gemm_packed_a, with A packed for gemm.kernel->nr.
void gemm_transposed(const PackedGemm& gemm, const PackedColumns& a, const float* b,
                     std::size_t ldb, int n, float* c, std::size_t ldc, const Epilogue& epilogue,
                     gemm::native::ThreadPool& pool, GemmScratch& scratch);

// Whether C = A B (M x N, depth K) should run transposed on this kernel: its tiles cover the
// product with less padding, by more than 2%, and the depth is at least kTransposedMinDepth (a
// tile's transpose costs about as much as 100 steps of depth).
inline constexpr int kTransposedMinDepth = 128;
bool prefer_transposed(const gemm::native::SgemmUkernel& kernel, int m, int n, int k);

}  // namespace libscout::native_nn
