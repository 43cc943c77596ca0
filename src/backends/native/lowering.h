// im2col for the native backend's GEMM convolutions, by bands of output rows: the lowered matrix
// (K = Cin * KH * KW rows, one column per output pixel) of a few output rows at a time, so that
// the GEMM's B stays in L2 instead of a whole layer's lowered input going through memory (ResNet's
// 7x7 first layer: 7.4 MB).
// With stride s, each input row is first split into s column phases (phase q holds columns
// q, q + s, q + 2s, ...), so that every row of the lowered matrix is a contiguous copy of a phase
// row: tap (ky, kx) of output column ox reads column ox * s + kx * dilation - pad_left, which is
// element ox + offset of one phase.
#pragma once

#include <cstddef>

#include "backends/native/simd_kernels.h"
#include "core/graph.h"
#include "core/tensor.h"
#include "gemm/native/thread_pool.h"

namespace libscout::native_nn {

class Lowering {
 public:
  // `in`: one image's input planes of the group (in.c channels), `out` its output plane size.
  Lowering(const Shape& in, const Shape& out, const Conv2dParams& p);

  int depth() const { return in_.c * p_.kernel_h * p_.kernel_w; }
  // The phase planes of one image and group (none with stride 1: the input is read in place).
  std::size_t phase_floats() const;
  // Splits the planes of `in` into phases (for stride > 1), on the pool's threads.
  void split(const SimdKernels& simd, const float* in, float* phases,
             gemm::native::ThreadPool& pool) const;
  // Output rows [oy0, oy1) of the lowered matrix into dst (depth() rows of (oy1 - oy0) * out.w
  // floats, dense); `source` is the input with stride 1, the phases otherwise. Only the rows of
  // input channels [c0, c1) are written (threads may take ranges of channels).
  void fill(const SimdKernels& simd, const float* source, int oy0, int oy1, float* dst, int c0,
            int c1) const;

 private:
  Shape in_, out_;
  Conv2dParams p_;
  int stride_ = 1, phase_w_ = 0;  // phase_w_: floats per phase row
};

}  // namespace libscout::native_nn
