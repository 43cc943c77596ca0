#include "backends/native/lowering.h"

#include <algorithm>

#include "backends/native/conv_kernels.h"

namespace libscout::native_nn {

namespace {

// floor(a / b) for b > 0.
int floor_div(int a, int b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

}  // namespace

Lowering::Lowering(const Shape& in, const Shape& out, const Conv2dParams& p)
    : in_(in), out_(out), p_(p), stride_(p.stride_w) {
  phase_w_ = (in.w + stride_ - 1) / stride_;
}

std::size_t Lowering::phase_floats() const {
  return stride_ == 1 ? 0 : static_cast<std::size_t>(in_.c) * in_.h * stride_ * phase_w_;
}

// Phase q of row y of channel c at phases + ((c * h + y) * stride + q) * phase_w.
void Lowering::split(const SimdKernels& simd, const float* in, float* phases,
                     gemm::native::ThreadPool& pool) const {
  if (stride_ == 1) return;
  const long w = in_.w, rows = static_cast<long>(in_.c) * in_.h;
  parallel_chunks(pool, static_cast<int>(rows), [&](int, int r0, int r1) {
    if (stride_ == 2) {
      simd.deinterleave_rows({in + r0 * w, w, phases + r0 * 2 * phase_w_,
                              phases + (r0 * 2 + 1) * phase_w_, 2L * phase_w_, r1 - r0, w / 2});
      if (w % 2 == 0) return;
      for (long r = r0; r < r1; ++r) phases[r * 2 * phase_w_ + w / 2] = in[r * w + w - 1];
      return;
    }
    for (long r = r0; r < r1; ++r) {
      for (long x = 0; x < w; ++x) {
        phases[(r * stride_ + x % stride_) * phase_w_ + x / stride_] = in[r * w + x];
      }
    }
  });
}

void Lowering::fill(const SimdKernels& simd, const float* source, int oy0, int oy1, float* dst,
                    int c0, int c1) const {
  const long band = static_cast<long>(oy1 - oy0) * out_.w;
  // Rows of the source: input rows (stride 1) or phase rows, `step` floats per input row.
  const long step = stride_ == 1 ? in_.w : static_cast<long>(stride_) * phase_w_;
  dst += static_cast<long>(c0) * p_.kernel_h * p_.kernel_w * band;
  for (int c = c0; c < c1; ++c) {
    for (int ky = 0; ky < p_.kernel_h; ++ky) {
      // Output rows [ya, yb) of the band read input rows inside the plane.
      const int dy = ky * p_.dilation_h - p_.pad_top;
      const int ya = std::clamp(floor_div(-dy + p_.stride_h - 1, p_.stride_h), oy0, oy1);
      const int yb = std::clamp(floor_div(in_.h - dy + p_.stride_h - 1, p_.stride_h), ya, oy1);
      for (int kx = 0; kx < p_.kernel_w; ++kx, dst += band) {
        const int dx = kx * p_.dilation_w - p_.pad_left;
        const int q = floor_div(dx, stride_), phase = dx - q * stride_;
        const int length = (in_.w - phase + stride_ - 1) / stride_;  // elements of the phase
        const int lo = std::clamp(-q, 0, out_.w), hi = std::clamp(length - q, lo, out_.w);
        std::fill(dst, dst + static_cast<long>(ya - oy0) * out_.w, 0.0f);
        std::fill(dst + static_cast<long>(yb - oy0) * out_.w, dst + band, 0.0f);
        if (ya == yb) continue;
        float* out = dst + static_cast<long>(ya - oy0) * out_.w;
        for (int oy = ya; oy < yb; ++oy) {
          float* row = out + static_cast<long>(oy - ya) * out_.w;
          std::fill(row, row + lo, 0.0f);
          std::fill(row + hi, row + out_.w, 0.0f);
        }
        if (hi == lo) continue;
        const int iy = ya * p_.stride_h + dy;
        const float* src = source + (static_cast<long>(c) * in_.h + iy) * step +
                           (stride_ == 1 ? 0 : static_cast<long>(phase) * phase_w_) + lo + q;
        simd.copy_rows({src, step * p_.stride_h, out + lo, nullptr, out_.w, yb - ya, hi - lo});
      }
    }
  }
}

}  // namespace libscout::native_nn
