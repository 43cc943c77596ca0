#include "backends/reference/reference_ops.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "core/error.h"

namespace libscout::reference {

namespace {

template <typename Acc>
Acc activate(Acc x, Activation a) {
  switch (a) {
    case Activation::kNone: return x;
    case Activation::kRelu: return std::max(x, Acc(0));
    case Activation::kRelu6: return std::min(std::max(x, Acc(0)), Acc(6));
  }
  return x;
}

template <typename Acc>
void conv2d(const Graph& g, const Layer& l, const float* x, float* y) {
  const Conv2dParams& p = l.conv();
  const Shape in = g.input_shape(l), out = g.output_shape(l);
  const int cin_g = in.c / p.groups, cout_g = out.c / p.groups;
  const float* w = l.weight.data();
  for (int n = 0; n < in.n; ++n) {
    for (int oc = 0; oc < out.c; ++oc) {
      const int grp = oc / cout_g;
      for (int oy = 0; oy < out.h; ++oy) {
        for (int ox = 0; ox < out.w; ++ox) {
          Acc acc = l.bias.empty() ? Acc(0) : Acc(l.bias[oc]);
          for (int ic = 0; ic < cin_g; ++ic) {
            const int c = grp * cin_g + ic;
            for (int ky = 0; ky < p.kernel_h; ++ky) {
              const int iy = oy * p.stride_h - p.pad_top + ky * p.dilation_h;
              if (iy < 0 || iy >= in.h) continue;
              for (int kx = 0; kx < p.kernel_w; ++kx) {
                const int ix = ox * p.stride_w - p.pad_left + kx * p.dilation_w;
                if (ix < 0 || ix >= in.w) continue;
                acc += static_cast<Acc>(
                           w[((static_cast<std::size_t>(oc) * cin_g + ic) * p.kernel_h + ky) *
                                 p.kernel_w +
                             kx]) *
                       x[((static_cast<std::size_t>(n) * in.c + c) * in.h + iy) * in.w + ix];
              }
            }
          }
          y[((static_cast<std::size_t>(n) * out.c + oc) * out.h + oy) * out.w + ox] =
              static_cast<float>(activate<Acc>(acc, p.activation));
        }
      }
    }
  }
}

// The float path of pooling (what the gemm backends run): per output row, first reduce the
// window's input rows column by column (contiguous, vectorised), then reduce across each window's
// columns, whose clipped bounds are computed once per layer. Same window clipping and divisor as
// the plain version below.
template <bool kMax>
void pool2d_rows(const Graph& g, const Layer& l, const float* x, float* y) {
  const Pool2dParams& p = l.pool();
  const Shape in = g.input_shape(l), out = g.output_shape(l);
  const float init = kMax ? -std::numeric_limits<float>::infinity() : 0.0f;
  const int pad_bottom = p.pad_bottom(), pad_right = p.pad_right();
  struct Span {
    int begin, end, padded;  // clipped to the input; width clipped to the padded input
  };
  std::vector<Span> xspan(out.w);
  for (int ox = 0; ox < out.w; ++ox) {
    const int x0 = ox * p.stride_w - p.pad_w, x1 = std::min(x0 + p.kernel_w, in.w + pad_right);
    xspan[ox] = {std::max(x0, 0), std::min(x1, in.w), x1 - x0};
  }
  // Outputs [interior_begin, interior_end) have windows wholly inside the input row.
  int interior_begin = out.w, interior_end = out.w;
  for (int ox = 0; ox < out.w; ++ox) {
    const int x0 = ox * p.stride_w - p.pad_w;
    if (x0 >= 0 && x0 + p.kernel_w <= in.w) {
      if (interior_begin == out.w) interior_begin = ox;
      interior_end = ox + 1;
    }
  }
  const std::size_t phase_len = static_cast<std::size_t>(in.w + p.stride_w - 1) / p.stride_w + 1;
  std::vector<float> cols(in.w), phases(phase_len * p.stride_w);
  for (int nc = 0; nc < in.n * in.c; ++nc) {
    const float* xp = x + static_cast<std::size_t>(nc) * in.plane();
    float* yp = y + static_cast<std::size_t>(nc) * out.plane();
    for (int oy = 0; oy < out.h; ++oy) {
      const int y0 = oy * p.stride_h - p.pad_h, y1 = std::min(y0 + p.kernel_h, in.h + pad_bottom);
      const int ys = std::max(y0, 0), ye = std::min(y1, in.h);
      std::fill(cols.begin(), cols.end(), init);
      for (int iy = ys; iy < ye; ++iy) {
        const float* row = xp + static_cast<std::size_t>(iy) * in.w;
        for (int ix = 0; ix < in.w; ++ix) {
          cols[ix] = kMax ? std::max(cols[ix], row[ix]) : cols[ix] + row[ix];
        }
      }
      float* yrow = yp + static_cast<std::size_t>(oy) * out.w;
      // Interior outputs, whose whole window lies inside the row: reduce across the window with
      // contiguous loads from the stride's phases of `cols` (phase r holds columns r, r+s, ...).
      if (interior_end > interior_begin) {
        const float* phase0 = cols.data();
        if (p.stride_w > 1) {
          for (int r = 0; r < p.stride_w; ++r) {
            float* ph = phases.data() + static_cast<std::size_t>(r) * phase_len;
            for (int j = 0, ix = r; ix < in.w; ++j, ix += p.stride_w) ph[j] = cols[ix];
          }
          phase0 = phases.data();
        }
        std::fill(yrow + interior_begin, yrow + interior_end, init);
        for (int k = 0; k < p.kernel_w; ++k) {
          const int d = k - p.pad_w;
          const int r = ((d % p.stride_w) + p.stride_w) % p.stride_w, q = (d - r) / p.stride_w;
          const float* src = phase0 + static_cast<std::size_t>(r) * phase_len + q;
          for (int ox = interior_begin; ox < interior_end; ++ox) {
            yrow[ox] = kMax ? std::max(yrow[ox], src[ox]) : yrow[ox] + src[ox];
          }
        }
        if constexpr (!kMax) {
          const int count = p.count_include_pad ? (y1 - y0) * p.kernel_w : (ye - ys) * p.kernel_w;
          const float inv = count > 0 ? 1.0f / static_cast<float>(count) : 0.0f;
          for (int ox = interior_begin; ox < interior_end; ++ox) yrow[ox] *= inv;
        }
      }
      for (int ox = 0; ox < out.w; ++ox) {
        if (ox == interior_begin && interior_end > interior_begin) ox = interior_end;
        if (ox >= out.w) break;
        const Span s = xspan[ox];
        float acc = init;
        for (int ix = s.begin; ix < s.end; ++ix) {
          acc = kMax ? std::max(acc, cols[ix]) : acc + cols[ix];
        }
        if constexpr (!kMax) {
          const int count = p.count_include_pad ? (y1 - y0) * s.padded
                                                : (ye - ys) * (s.end - s.begin);
          acc = count > 0 ? acc / static_cast<float>(count) : 0.0f;
        }
        yrow[ox] = acc;
      }
    }
  }
}

template <typename Acc>
void pool2d(const Graph& g, const Layer& l, const float* x, float* y) {
  if constexpr (std::is_same_v<Acc, float>) {
    return l.op == OpKind::kMaxPool ? pool2d_rows<true>(g, l, x, y) : pool2d_rows<false>(g, l, x, y);
  }
  const Pool2dParams& p = l.pool();
  const Shape in = g.input_shape(l), out = g.output_shape(l);
  const bool is_max = l.op == OpKind::kMaxPool;
  for (int nc = 0; nc < in.n * in.c; ++nc) {
    const float* xp = x + static_cast<std::size_t>(nc) * in.plane();
    float* yp = y + static_cast<std::size_t>(nc) * out.plane();
    for (int oy = 0; oy < out.h; ++oy) {
      for (int ox = 0; ox < out.w; ++ox) {
        const int y0 = oy * p.stride_h - p.pad_h, x0 = ox * p.stride_w - p.pad_w;
        // Window clipped to the padded input (Caffe), then to the input itself.
        const int y1 = std::min(y0 + p.kernel_h, in.h + p.pad_bottom());
        const int x1 = std::min(x0 + p.kernel_w, in.w + p.pad_right());
        const int padded_count = (y1 - y0) * (x1 - x0);
        const int ys = std::max(y0, 0), xs = std::max(x0, 0);
        const int ye = std::min(y1, in.h), xe = std::min(x1, in.w);
        Acc acc = is_max ? -std::numeric_limits<Acc>::infinity() : Acc(0);
        for (int iy = ys; iy < ye; ++iy) {
          for (int ix = xs; ix < xe; ++ix) {
            const Acc v = xp[iy * in.w + ix];
            acc = is_max ? std::max(acc, v) : acc + v;
          }
        }
        if (!is_max) {
          const int count = p.count_include_pad ? padded_count : (ye - ys) * (xe - xs);
          acc = count > 0 ? acc / static_cast<Acc>(count) : Acc(0);
        }
        yp[oy * out.w + ox] = static_cast<float>(acc);
      }
    }
  }
}

template <typename Acc>
void global_avgpool(const Graph& g, const Layer& l, const float* x, float* y) {
  const Shape in = g.input_shape(l);
  for (int nc = 0; nc < in.n * in.c; ++nc) {
    Acc acc = 0;
    const float* xp = x + static_cast<std::size_t>(nc) * in.plane();
    for (std::size_t i = 0; i < in.plane(); ++i) acc += xp[i];
    y[nc] = static_cast<float>(acc / static_cast<Acc>(in.plane()));
  }
}

template <typename Acc>
void concat(const Graph& g, const Layer& l, std::span<const float* const> xs, float* y) {
  const Shape out = g.output_shape(l);
  for (int n = 0; n < out.n; ++n) {
    std::size_t at = static_cast<std::size_t>(n) * out.image_elements();
    for (std::size_t i = 0; i < xs.size(); ++i) {
      const std::size_t len = g.shape(l.inputs[i]).image_elements();
      std::copy_n(xs[i] + n * len, len, y + at);
      at += len;
    }
  }
}

template <typename Acc>
void fully_connected(const Graph& g, const Layer& l, const float* x, float* y) {
  const Shape in = g.input_shape(l);
  const int out_f = l.fc().out_features;
  const std::size_t in_f = in.image_elements();
  for (int n = 0; n < in.n; ++n) {
    for (int o = 0; o < out_f; ++o) {
      Acc acc = l.bias.empty() ? Acc(0) : Acc(l.bias[o]);
      const float* w = l.weight.data() + o * in_f;
      const float* xp = x + n * in_f;
      for (std::size_t i = 0; i < in_f; ++i) acc += static_cast<Acc>(w[i]) * xp[i];
      y[static_cast<std::size_t>(n) * out_f + o] =
          static_cast<float>(activate<Acc>(acc, l.fc().activation));
    }
  }
}

template <typename Acc>
void softmax(const Graph& g, const Layer& l, const float* x, float* y) {
  const Shape s = g.input_shape(l);
  const std::size_t plane = s.plane();
  for (int n = 0; n < s.n; ++n) {
    for (std::size_t i = 0; i < plane; ++i) {
      const std::size_t base = static_cast<std::size_t>(n) * s.image_elements() + i;
      Acc mx = -std::numeric_limits<Acc>::infinity();
      for (int c = 0; c < s.c; ++c) mx = std::max(mx, static_cast<Acc>(x[base + c * plane]));
      Acc sum = 0;
      for (int c = 0; c < s.c; ++c) sum += std::exp(x[base + c * plane] - mx);
      for (int c = 0; c < s.c; ++c) {
        y[base + c * plane] = static_cast<float>(std::exp(x[base + c * plane] - mx) / sum);
      }
    }
  }
}

template <typename Acc>
void batch_norm(const Graph& g, const Layer& l, const float* x, float* y) {
  const Shape s = g.input_shape(l);
  const BatchNormParams& p = l.batch_norm();
  for (int n = 0; n < s.n; ++n) {
    for (int c = 0; c < s.c; ++c) {
      const Acc scale = p.gamma[c] / std::sqrt(static_cast<Acc>(p.variance[c]) + p.epsilon);
      const std::size_t base = (static_cast<std::size_t>(n) * s.c + c) * s.plane();
      for (std::size_t i = 0; i < s.plane(); ++i) {
        y[base + i] = static_cast<float>((x[base + i] - p.mean[c]) * scale + p.beta[c]);
      }
    }
  }
}

}  // namespace

template <typename Acc>
void forward(const Graph& g, const Layer& l, std::span<const float* const> in, float* out) {
  const std::size_t size = g.output_shape(l).elements();
  switch (l.op) {
    case OpKind::kConv2d: return conv2d<Acc>(g, l, in[0], out);
    case OpKind::kMaxPool:
    case OpKind::kAvgPool: return pool2d<Acc>(g, l, in[0], out);
    case OpKind::kGlobalAvgPool: return global_avgpool<Acc>(g, l, in[0], out);
    case OpKind::kConcat: return concat<Acc>(g, l, in, out);
    case OpKind::kFullyConnected: return fully_connected<Acc>(g, l, in[0], out);
    case OpKind::kSoftmax: return softmax<Acc>(g, l, in[0], out);
    case OpKind::kBatchNorm: return batch_norm<Acc>(g, l, in[0], out);
    case OpKind::kFlatten:
    case OpKind::kReshape: std::copy_n(in[0], size, out); return;
    case OpKind::kRelu:
    case OpKind::kRelu6: {
      const Activation a = l.op == OpKind::kRelu ? Activation::kRelu : Activation::kRelu6;
      for (std::size_t i = 0; i < size; ++i) out[i] = static_cast<float>(activate<Acc>(in[0][i], a));
      return;
    }
    case OpKind::kAdd:
      for (std::size_t i = 0; i < size; ++i) {
        out[i] = static_cast<float>(
            activate<Acc>(static_cast<Acc>(in[0][i]) + in[1][i], l.add().activation));
      }
      return;
  }
  throw Error(std::string("reference: no implementation of ") + op_name(l.op));
}

template void forward<double>(const Graph&, const Layer&, std::span<const float* const>, float*);
template void forward<float>(const Graph&, const Layer&, std::span<const float* const>, float*);

}  // namespace libscout::reference
