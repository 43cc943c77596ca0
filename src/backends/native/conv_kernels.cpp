#include "backends/native/conv_kernels.h"

#include <algorithm>
#include <cstring>

#include "backends/gemm/gemm_backend.h"
#include "backends/native/winograd.h"

namespace libscout::native_nn {

const char* conv_algorithm_name(ConvAlgorithm a) {
  switch (a) {
    case ConvAlgorithm::kGemm: return "gemm";
    case ConvAlgorithm::kDepthwise: return "depthwise3x3";
    case ConvAlgorithm::kWinograd: return "winograd_f4x4";
  }
  return "?";
}

bool depthwise_applies(const Graph& g, const Layer& l) {
  const Conv2dParams& p = l.conv();
  const int cin = g.input_shape(l).c;
  return p.groups == cin && p.out_channels == cin && cin > 1 && p.kernel_h == 3 &&
         p.kernel_w == 3 && p.stride_h == p.stride_w && (p.stride_h == 1 || p.stride_h == 2) &&
         p.dilation_h == 1 && p.dilation_w == 1;
}

ConvAlgorithm choose_conv_algorithm(const Graph& g, const Layer& l) {
  if (depthwise_applies(g, l)) return ConvAlgorithm::kDepthwise;
  if (winograd_applies(g, l)) return ConvAlgorithm::kWinograd;
  return ConvAlgorithm::kGemm;
}

namespace {

// Convolution as GEMM per image and group: weights (Cout/groups x Cin/groups*KH*KW) packed once;
// the activations are B as they are (1x1, stride 1, no padding) or after im2col.
class GemmConv final : public LayerKernel {
 public:
  GemmConv(const Graph& g, const Layer& l, const KernelEnv& env)
      : layer_(l), env_(env), in_(g.input_shape(l)), out_(g.output_shape(l)) {
    const Conv2dParams& p = l.conv();
    cin_g_ = in_.c / p.groups;
    cout_g_ = out_.c / p.groups;
    k_ = cin_g_ * p.kernel_h * p.kernel_w;
    lowered_ = !p.is_pointwise();
    for (int grp = 0; grp < p.groups; ++grp) {
      weights_.emplace_back(l.weight.data() + static_cast<std::size_t>(grp) * cout_g_ * k_,
                            cout_g_, k_, k_, env.gemm.kernel->mr);
    }
  }

  std::size_t workspace_bytes() const override {
    return lowered_ ? sizeof(float) * static_cast<std::size_t>(k_) * out_.plane() : 0;
  }

  void run(const ExecContext& ctx) override {
    const Conv2dParams& p = layer_.conv();
    const float* x = ctx.data(layer_.inputs[0]);
    float* y = ctx.data(layer_.output);
    for (int n = 0; n < in_.n; ++n) {
      for (int grp = 0; grp < p.groups; ++grp) {
        const float* in = x + (static_cast<std::size_t>(n) * in_.c + grp * cin_g_) * in_.plane();
        float* out = y + (static_cast<std::size_t>(n) * out_.c + grp * cout_g_) * out_.plane();
        const float* b = in;
        if (lowered_) {
          im2col(in, cin_g_, in_.h, in_.w, p, out_.h, out_.w, ctx.workspace);
          b = ctx.workspace;
        }
        const Epilogue e{layer_.bias.empty() ? nullptr : layer_.bias.data() + grp * cout_g_,
                         p.activation};
        gemm_packed_a(env_.gemm, weights_[grp], b, out_.plane(), static_cast<int>(out_.plane()),
                      out, out_.plane(), e, *env_.pool, *env_.scratch);
      }
    }
  }

 private:
  const Layer& layer_;
  KernelEnv env_;
  Shape in_, out_;
  int cin_g_ = 0, cout_g_ = 0, k_ = 0;
  bool lowered_ = true;
  std::vector<PackedMatrix> weights_;
};

// Copies one channel plane into a buffer laid out as DepthwisePlane describes (zero padding
// made real, columns split into `stride` phases). The buffer's padding is zeroed once per run and
// never written here: every plane of a layer has the same geometry, so only the input's own rows
// and columns are copied.
DepthwisePlane pack_depthwise_plane(const SimdKernels& simd, const float* x, const Shape& in,
                                    const Shape& out, const Conv2dParams& p, float* buf,
                                    long pitch) {
  const int s = p.stride_w, rows = (out.h - 1) * p.stride_h + 3, cols = (out.w - 1) * s + 3;
  const std::size_t phase_floats = static_cast<std::size_t>(rows) * pitch;
  const int y0 = std::max(0, p.pad_top), y1 = std::min(rows, p.pad_top + in.h);
  const int lo = std::min(cols, p.pad_left), hi = std::max(lo, std::min(cols, p.pad_left + in.w));
  for (int y = y0; y < y1; ++y) {
    const float* src = x + static_cast<std::size_t>(y - p.pad_top) * in.w - p.pad_left;
    float* dst = buf + y * pitch;
    if (s == 1) {
      for (int c = lo; c < hi; ++c) dst[c] = src[c];
      continue;
    }
    // Phase r holds padded columns 2i + r; both phases share the indices [i0, i1).
    int first[2], last[2];
    for (int r = 0; r < 2; ++r) {
      first[r] = (lo - r + 1) / 2;
      last[r] = std::max(first[r], (hi - r + 1) / 2);
    }
    const int i0 = std::max(first[0], first[1]), i1 = std::max(i0, std::min(last[0], last[1]));
    simd.deinterleave(src + 2 * i0, i1 - i0, dst + i0, dst + phase_floats + i0);
    for (int r = 0; r < 2; ++r) {
      float* d = dst + r * phase_floats;
      for (int i = first[r]; i < std::min(i0, last[r]); ++i) d[i] = src[2 * i + r];
      for (int i = std::max(i1, first[r]); i < last[r]; ++i) d[i] = src[2 * i + r];
    }
  }
  DepthwisePlane plane{};
  plane.phases[0] = buf;
  plane.phases[1] = buf + phase_floats;
  plane.pitch = pitch;
  plane.stride = s;
  plane.out_h = out.h;
  plane.out_w = out.w;
  return plane;
}

class DepthwiseConv final : public LayerKernel {
 public:
  DepthwiseConv(const Graph& g, const Layer& l, const KernelEnv& env)
      : layer_(l), env_(env), in_(g.input_shape(l)), out_(g.output_shape(l)) {
    const Conv2dParams& p = l.conv();
    const int s = p.stride_w, cols = (out_.w - 1) * s + 3;
    pitch_ = ((cols + s - 1) / s + 4 * 16 + 2 + 15) / 16 * 16;
    plane_floats_ = 2 * static_cast<std::size_t>((out_.h - 1) * p.stride_h + 3) * pitch_ + pitch_;
    activation_bounds(p.activation, lo_, hi_);
  }

  std::size_t workspace_bytes() const override {
    return sizeof(float) * plane_floats_ * env_.pool->threads();
  }

  void run(const ExecContext& ctx) override {
    const float* x = ctx.data(layer_.inputs[0]);
    float* y = ctx.data(layer_.output);
    const int planes = in_.n * in_.c;
    parallel_chunks(*env_.pool, planes, [&](int task, int begin, int end) {
      float* buf = ctx.workspace + task * plane_floats_;
      std::fill_n(buf, plane_floats_, 0.0f);
      for (int nc = begin; nc < end; ++nc) {
        const int c = nc % in_.c;
        DepthwisePlane plane = pack_depthwise_plane(*env_.simd, x + nc * in_.plane(), in_, out_,
                                                    layer_.conv(), buf, pitch_);
        plane.w = layer_.weight.data() + 9 * c;
        plane.bias = layer_.bias.empty() ? 0.0f : layer_.bias[c];
        plane.lo = lo_;
        plane.hi = hi_;
        plane.out = y + nc * out_.plane();
        env_.simd->depthwise3x3(plane);
      }
    });
  }

 private:
  const Layer& layer_;
  KernelEnv env_;
  Shape in_, out_;
  long pitch_ = 0;
  std::size_t plane_floats_ = 0;
  float lo_ = 0, hi_ = 0;
};

}  // namespace

std::unique_ptr<LayerKernel> make_conv_kernel(const Graph& g, const Layer& l, ConvAlgorithm a,
                                              const KernelEnv& env) {
  switch (a) {
    case ConvAlgorithm::kDepthwise: return std::make_unique<DepthwiseConv>(g, l, env);
    case ConvAlgorithm::kWinograd: return make_winograd_conv(g, l, env);
    case ConvAlgorithm::kGemm: break;
  }
  return std::make_unique<GemmConv>(g, l, env);
}

}  // namespace libscout::native_nn
