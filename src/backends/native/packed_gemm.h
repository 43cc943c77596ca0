// The native backend's GEMM for convolutions: C (M x N) = A (M x K, the weights, packed once in
// prepare) * B (K x N, activations read in place, row-major) with the bias per row of C and the
// activation applied to each tile of C while it is still in L1 (no second pass over the output).
// It drives the native SGEMM's micro-kernels (gemm/native/sgemm_ukernels.h) directly: A is packed
// into the kernel's MR-tall panels for the whole depth once, B is packed per (kc x nc) block,
// threads take contiguous column ranges (rows when there are too few columns) on the native
// SGEMM's thread pool.
#pragma once

#include <algorithm>
#include <cstddef>
#include <memory>
#include <vector>

#include "backends/native/simd_kernels.h"
#include "core/graph.h"
#include "core/tensor.h"
#include "gemm/native/sgemm_ukernels.h"
#include "gemm/native/thread_pool.h"

namespace libscout::native_nn {

// Bias per output row (may be null) and the activation, applied when a tile of C is final.
struct Epilogue {
  const float* bias = nullptr;
  Activation activation = Activation::kNone;
};

// Clamp bounds of an activation.
inline void activation_bounds(Activation a, float& lo, float& hi) {
  lo = a == Activation::kNone ? -3.4e38f : 0.0f;
  hi = a == Activation::kRelu6 ? 6.0f : 3.4e38f;
}

// A (M x K) packed into MR-tall panels of the micro-kernel, in depth slices of kc (the GEMM's
// slices: kc is balanced_kc(K, blocking kc)): slice s holds, for every panel p, rows
// [p*MR, p*MR + MR) over the depth [s*kc, s*kc + kc) as kc groups of MR floats (rows past M are
// zeros). The panels of one slice are contiguous, so a block of panels streams from memory as one
// sequential run (weights are read cold on every inference of a whole network).
class PackedMatrix {
 public:
  PackedMatrix() = default;
  PackedMatrix(const float* a, int m, int k, std::size_t lda, int mr, int kc);
  int m() const { return m_; }
  int k() const { return k_; }
  int kc() const { return kc_; }
  int panels() const { return panels_; }
  // Panel p over the depth [k0, k0 + kc) (k0 a multiple of kc).
  const float* slice(int p, int k0) const {
    const int depth = std::min(kc_, k_ - k0);
    return data_.get() + static_cast<std::size_t>(k0) * panels_ * mr_ +
           static_cast<std::size_t>(p) * mr_ * depth;
  }

 private:
  int m_ = 0, k_ = 0, mr_ = 1, kc_ = 1, panels_ = 0;
  std::unique_ptr<float[], AlignedFree> data_;
};

// The depth of the GEMM's slices of K: at most `kc`, all slices equally deep but the last.
inline int balanced_kc(int k, int kc) {
  const int slices = std::max(1, (k + kc - 1) / kc);
  return std::max(1, (k + slices - 1) / slices);
}

// Packing buffers of each task, kept between runs.
class GemmScratch {
 public:
  float* task_buffer(int task, std::size_t floats);

 private:
  std::vector<std::unique_ptr<float[], AlignedFree>> buffers_;
  std::vector<std::size_t> sizes_;
};

struct PackedGemm {
  const gemm::native::SgemmUkernel* kernel = nullptr;
  gemm::native::SgemmBlocking blocking;
  const SimdKernels* simd = nullptr;  // its tile_epilogue applies the epilogue
};

// The micro-kernel and block sizes the native SGEMM provider uses on this CPU, and the fastest
// vector kernels.
PackedGemm default_packed_gemm();

// The threads worth waking for an M x N x K product: at most `threads`, one per
// blocking.min_task_kmacs thousand multiply-adds, at least one.
int gemm_tasks(const PackedGemm& gemm, int m, int n, int k, int threads);

// C := A * B (+ epilogue). B is K x N with row stride ldb; C is M x N with row stride ldc.
// A must be packed with gemm.kernel->mr and balanced_kc(K, gemm.blocking.kc). Call from one
// thread at a time (the scratch is shared).
void gemm_packed_a(const PackedGemm& gemm, const PackedMatrix& a, const float* b, std::size_t ldb,
                   int n, float* c, std::size_t ldc, const Epilogue& epilogue,
                   gemm::native::ThreadPool& pool, GemmScratch& scratch);

// The same product on the calling thread only, with `buf` (gemm_buffer_floats floats) for the
// packing of B; for callers that run many independent products in parallel.
std::size_t gemm_buffer_floats(const PackedGemm& gemm, const PackedMatrix& a);
void gemm_packed_a_serial(const PackedGemm& gemm, const PackedMatrix& a, const float* b,
                          std::size_t ldb, int n, float* c, std::size_t ldc,
                          const Epilogue& epilogue, float* buf);

}  // namespace libscout::native_nn
