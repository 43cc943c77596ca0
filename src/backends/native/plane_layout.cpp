#include "backends/native/plane_layout.h"

#include <algorithm>

namespace libscout::native_nn {

PlaneLayout::PlaneLayout(const Shape& in, const Shape& out, const Conv2dParams& p, int lanes)
    : in_(in), p_(p), stride_(p.stride_w), out_h_(out.h), out_w_(out.w) {
  rows_ = (out.h - 1) * stride_ + 3;
  cols_ = (out.w - 1) * stride_ + 3;
  lo_ = std::min(cols_, p.pad_left);
  hi_ = std::max(lo_, std::min(cols_, p.pad_left + in.w));
  const int sub_rows = stride_ == 1 ? rows_ : out.h + 1;
  const int min_pitch = stride_ == 1 ? cols_ - std::min(lo_, cols_ - hi_) : out.w + 1;
  // Narrow rows (the kernel's flat grid): as compact as possible. Wide ones (computed row by
  // row): whole cache lines, so that the loads of tap column 0 are aligned.
  pitch_ = out.w < lanes ? min_pitch : (std::max(min_pitch, cols_) + 15) / 16 * 16;
  sub_floats_ = static_cast<long>(sub_rows) * pitch_ + 80;
  for (int ky = 0; ky < 3; ++ky) {
    for (int kx = 0; kx < 3; ++kx) {
      taps_[ky * 3 + kx] = stride_ == 1
                               ? ky * pitch_ + kx
                               : ((ky % 2) * 2 + kx % 2) * sub_floats_ + (ky / 2) * pitch_ + kx / 2;
    }
  }
}

void PlaneLayout::pack(const SimdKernels& simd, const float* x, float* buf) const {
  const int y0 = std::max(0, p_.pad_top), y1 = std::min(rows_, p_.pad_top + in_.h);
  if (y1 <= y0 || hi_ <= lo_) return;
  // Row y, padded column c of the plane is x[(y - pad_top) * in.w + c - pad_left].
  auto input = [&](int y, int c) { return x + (y - p_.pad_top) * in_.w + (c - p_.pad_left); };
  if (stride_ == 1) {
    simd.copy_rows(
        {input(y0, lo_), in_.w, buf + y0 * pitch_ + lo_, nullptr, pitch_, y1 - y0, hi_ - lo_});
    return;
  }
  // Columns lo, lo + 1 form the first pair: their phases are lo % 2 and the other one.
  const int first = lo_ % 2, pairs = (hi_ - lo_) / 2;
  for (int parity = 0; parity < 2; ++parity) {
    const int ya = y0 + (y0 % 2 == parity ? 0 : 1);
    if (ya >= y1) continue;
    const int count = (y1 - ya + 1) / 2;
    float* sub = buf + parity * 2 * sub_floats_ + (ya / 2) * pitch_;
    float* a = sub + first * sub_floats_ + lo_ / 2;
    float* b = sub + (1 - first) * sub_floats_ + (lo_ + 1) / 2;
    simd.deinterleave_rows({input(ya, lo_), 2L * in_.w, a, b, pitch_, count, pairs});
    if ((hi_ - lo_) % 2 == 0) continue;
    const int c = hi_ - 1;  // the last column, unpaired
    for (int r = 0; r < count; ++r) {
      sub[(c % 2) * sub_floats_ + r * pitch_ + c / 2] = *input(ya + 2 * r, c);
    }
  }
}

}  // namespace libscout::native_nn
