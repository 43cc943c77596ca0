// Where the 3x3 window kernels (depthwise, direct, max pooling) keep a channel plane: its input
// copied into a buffer whose padding is real, laid out so that every output is the same 9 taps at
// fixed offsets from its flat index (simd_kernels.h, DepthwisePlane).
#pragma once

#include <algorithm>
#include <cstddef>

#include "backends/native/conv_kernels.h"
#include "backends/native/simd_kernels.h"
#include "core/graph.h"
#include "core/tensor.h"

namespace libscout::native_nn {

// Stride 1: one plane of padded rows `pitch` floats apart, where pitch may be less than the padded
// width: the right padding of one row and the left padding of the next then share the same (zero)
// floats. Stride 2: four sub-planes by the padded row's and column's parity, `pitch` = out_w + 1,
// so that tap (ky, kx) of output (oy, ox) is at sub-plane [ky % 2][kx % 2], row oy + ky / 2, column
// ox + kx / 2. Either way each tap is a fixed offset from the flat index oy * pitch + ox. Padding
// is never written: the buffer is filled with the padding value (zero; the lowest float for max
// pooling) once per run, and every plane of a layer writes the same floats.
class PlaneLayout {
 public:
  PlaneLayout(const Shape& in, const Shape& out, const Conv2dParams& p, int lanes);

  long pitch() const { return pitch_; }
  std::size_t floats() const { return static_cast<std::size_t>(sub_floats_) * stride_ * stride_; }
  const float* tap(const float* buf, int t) const { return buf + taps_[t]; }

  // Copies the input rows of one channel plane x into buf.
  void pack(const SimdKernels& simd, const float* x, float* buf) const;

  // The floats one task needs to run a window kernel over planes: the packed plane (a multiple of
  // 16) and the kernel's scratch.
  std::size_t plane_floats() const { return whole_lines(floats()); }
  std::size_t task_floats() const { return plane_floats() + depthwise_scratch_floats(pitch_); }

  // Runs `kernel` over planes [0, planes) of x (channel-major, in_plane floats each) into y
  // (out_plane floats each) on the pool's threads, each task on its own slice of workspace (its
  // packed buffer filled with `padding` once): per plane, packs it, calls set(plane, index) for
  // the per-channel fields (weights, bias), then the kernel. `plane` arrives with the geometry,
  // taps, clamp and scratch filled in.
  template <typename Set>
  void run_planes(const KernelEnv& env, void (*kernel)(const DepthwisePlane&), const float* x,
                  std::size_t in_plane, float* y, std::size_t out_plane, int planes,
                  float* workspace, float padding, float lo, float hi, Set&& set) const {
    parallel_chunks(*env.pool, planes, [&](int task, int begin, int end) {
      float* buf = workspace + task * task_floats();
      std::fill_n(buf, plane_floats(), padding);
      DepthwisePlane plane{};
      plane.pitch = pitch_;
      plane.out_h = out_h_;
      plane.out_w = out_w_;
      plane.lo = lo;
      plane.hi = hi;
      plane.scratch = buf + plane_floats();
      for (int t = 0; t < 9; ++t) plane.taps[t] = tap(buf, t);
      for (int i = begin; i < end; ++i) {
        pack(*env.simd, x + i * in_plane, buf);
        set(plane, i);
        plane.out = y + i * out_plane;
        kernel(plane);
      }
    });
  }

 private:
  Shape in_;
  Conv2dParams p_;
  int stride_, rows_ = 0, cols_ = 0, lo_ = 0, hi_ = 0, out_h_ = 0, out_w_ = 0;
  long pitch_ = 0, sub_floats_ = 0;
  long taps_[9] = {};
};

}  // namespace libscout::native_nn
