#include "backends/native/conv_kernels.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "backends/native/lowering.h"
#include "backends/native/plane_layout.h"
#include "backends/native/transposed_gemm.h"
#include "backends/native/winograd.h"

namespace libscout::native_nn {

const char* conv_algorithm_name(ConvAlgorithm a) {
  switch (a) {
    case ConvAlgorithm::kGemm: return "gemm";
    case ConvAlgorithm::kDepthwise: return "depthwise3x3";
    case ConvAlgorithm::kDepthwiseBlocked:
      return "depthwise3x3_blocked";
    case ConvAlgorithm::kDirect:
      return "direct3x3";
    case ConvAlgorithm::kGemmTransposed:
      return "gemm_transposed";
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

bool depthwise_blocked_applies(const Graph& g, const Layer& l, int lanes) {
  const Shape in = g.input_shape(l);
  return depthwise_applies(g, l) && in.c % lanes == 0 && in.w <= kDepthwiseBlockedMaxWidth;
}

bool direct_applies(const Graph& g, const Layer& l) {
  const Conv2dParams& p = l.conv();
  return p.groups == 1 && g.input_shape(l).c <= kDirectMaxInputChannels && p.kernel_h == 3 &&
         p.kernel_w == 3 && p.stride_h == p.stride_w && (p.stride_h == 1 || p.stride_h == 2) &&
         p.dilation_h == 1 && p.dilation_w == 1 && g.output_shape(l).w >= 16;
}

ConvAlgorithm choose_conv_algorithm(const Graph& g, const Layer& l,
                                    const gemm::native::SgemmUkernel& kernel) {
  if (depthwise_applies(g, l)) return ConvAlgorithm::kDepthwise;
  if (winograd_applies(g, l)) return ConvAlgorithm::kWinograd;
  if (direct_applies(g, l)) return ConvAlgorithm::kDirect;
  const Conv2dParams& p = l.conv();
  const int k = g.input_shape(l).c / p.groups * p.kernel_h * p.kernel_w;
  const Shape out = g.output_shape(l);
  if (prefer_transposed(kernel, out.c / p.groups, static_cast<int>(out.plane()), k)) {
    return ConvAlgorithm::kGemmTransposed;
  }
  return ConvAlgorithm::kGemm;
}

namespace {

// Convolution as GEMM per image and group: weights (Cout/groups x Cin/groups*KH*KW) packed once;
// the activations are B as they are (1x1, stride 1, no padding) or lowered (lowering.h). Lowered
// with enough output rows, bands of rows are lowered and multiplied on each thread, each band's
// B in L2; otherwise the whole lowered plane goes through the threaded GEMM. Transposed: the same
// product as C^T = B^T A^T (transposed_gemm.h).
class GemmConv final : public LayerKernel {
 public:
  GemmConv(const Graph& g, const Layer& l, const KernelEnv& env, bool transposed)
      : layer_(l),
        env_(env),
        in_(g.input_shape(l)),
        out_(g.output_shape(l)),
        lowering_({1, in_.c / l.conv().groups, in_.h, in_.w}, out_, l.conv()) {
    const Conv2dParams& p = l.conv();
    cin_g_ = in_.c / p.groups;
    cout_g_ = out_.c / p.groups;
    k_ = cin_g_ * p.kernel_h * p.kernel_w;
    lowered_ = !p.is_pointwise();
    for (int grp = 0; grp < p.groups; ++grp) {
      const float* w = l.weight.data() + static_cast<std::size_t>(grp) * cout_g_ * k_;
      if (transposed) {
        columns_.emplace_back(w, cout_g_, k_, k_, env.gemm.kernel->nr);
      } else {
        weights_.emplace_back(w, cout_g_, k_, k_, env.gemm.kernel->mr, env.gemm.blocking.kc);
      }
    }
    const std::size_t row_bytes = sizeof(float) * k_ * out_.w;
    band_rows_ = std::clamp(static_cast<int>(kBandBytes / row_bytes), 1, out_.h);
    const int bands = (out_.h + band_rows_ - 1) / band_rows_;
    banded_ = lowered_ && !transposed && bands >= 2 * env.pool->threads();
    if (banded_) {
      task_floats_ = whole_lines(static_cast<std::size_t>(k_) * band_rows_ * out_.w) +
                     whole_lines(gemm_buffer_floats(env.gemm, weights_[0]));
    }
  }

  std::size_t workspace_bytes() const override {
    if (!lowered_) return 0;
    const std::size_t phases = whole_lines(lowering_.phase_floats());
    if (banded_) return sizeof(float) * (phases + task_floats_ * env_.pool->threads());
    return sizeof(float) * (phases + static_cast<std::size_t>(k_) * out_.plane());
  }

  void run(const ExecContext& ctx) override {
    const Conv2dParams& p = layer_.conv();
    const float* x = ctx.data(layer_.inputs[0]);
    float* y = ctx.data(layer_.output);
    for (int n = 0; n < in_.n; ++n) {
      for (int grp = 0; grp < p.groups; ++grp) {
        const float* in = x + (static_cast<std::size_t>(n) * in_.c + grp * cin_g_) * in_.plane();
        float* out = y + (static_cast<std::size_t>(n) * out_.c + grp * cout_g_) * out_.plane();
        const Epilogue e{layer_.bias.empty() ? nullptr : layer_.bias.data() + grp * cout_g_,
                         p.activation};
        if (!lowered_) {
          multiply(grp, in, out, e);
          continue;
        }
        float* phases = ctx.workspace;
        float* rest = phases + whole_lines(lowering_.phase_floats());
        lowering_.split(*env_.simd, in, phases, *env_.pool);
        const float* source = lowering_.phase_floats() > 0 ? phases : in;
        if (banded_) {
          run_bands(grp, source, out, e, rest);
        } else {
          // The whole plane lowered, threads taking ranges of input channels.
          parallel_chunks(*env_.pool, cin_g_, [&](int, int c0, int c1) {
            lowering_.fill(*env_.simd, source, 0, out_.h, rest, c0, c1);
          });
          multiply(grp, rest, out, e);
        }
      }
    }
  }

 private:
  static constexpr std::size_t kBandBytes = 256 << 10;  // one band's lowered B

  // C = W B for the whole plane, B (K x pixels) at b, on the pool's threads.
  void multiply(int grp, const float* b, float* out, const Epilogue& e) const {
    const int pixels = static_cast<int>(out_.plane());
    if (!columns_.empty()) {
      gemm_transposed(env_.gemm, columns_[grp], b, pixels, pixels, out, pixels, e, *env_.pool,
                      *env_.scratch);
    } else {
      gemm_packed_a(env_.gemm, weights_[grp], b, pixels, pixels, out, pixels, e, *env_.pool,
                    *env_.scratch);
    }
  }

  // Bands of band_rows_ output rows, each lowered and multiplied by one task.
  void run_bands(int grp, const float* source, float* out, const Epilogue& e, float* tasks) const {
    const int bands = (out_.h + band_rows_ - 1) / band_rows_;
    parallel_chunks(*env_.pool, bands, [&](int task, int b0, int b1) {
      float* b = tasks + task * task_floats_;
      float* buf = b + whole_lines(static_cast<std::size_t>(k_) * band_rows_ * out_.w);
      for (int band = b0; band < b1; ++band) {
        const int oy0 = band * band_rows_, oy1 = std::min(out_.h, oy0 + band_rows_);
        const int n = (oy1 - oy0) * out_.w;
        lowering_.fill(*env_.simd, source, oy0, oy1, b, 0, cin_g_);
        gemm_packed_a_serial(env_.gemm, weights_[grp], b, n, n,
                             out + static_cast<std::size_t>(oy0) * out_.w, out_.plane(), e, buf);
      }
    });
  }

  const Layer& layer_;
  KernelEnv env_;
  Shape in_, out_;
  Lowering lowering_;
  int cin_g_ = 0, cout_g_ = 0, k_ = 0, band_rows_ = 1;
  bool lowered_ = true, banded_ = false;
  std::size_t task_floats_ = 0;
  std::vector<PackedMatrix> weights_;  // or, transposed:
  std::vector<PackedColumns> columns_;
};

class DepthwiseConv final : public LayerKernel {
 public:
  DepthwiseConv(const Graph& g, const Layer& l, const KernelEnv& env)
      : layer_(l),
        env_(env),
        in_(g.input_shape(l)),
        out_(g.output_shape(l)),
        layout_(in_, out_, l.conv(), env.simd->lanes) {
    activation_bounds(l.conv().activation, lo_, hi_);
    const Conv2dParams& p = l.conv();
    const bool stride1 = p.stride_w == 1 && p.pad_bottom == 1 && p.pad_right == 1;
    const bool stride2 = p.stride_w == 2 && 2 * out_.h <= in_.h && 2 * out_.w <= in_.w;
    // Rows narrower than a vector need planes of at least one (the input's: two with stride 2).
    const std::size_t lanes = env.simd->lanes;
    const bool planes_fit = out_.plane() >= lanes && (stride1 || in_.plane() >= 2 * lanes);
    const bool rows_fit = out_.w >= static_cast<int>(lanes) || planes_fit;
    same_ = p.pad_top == 1 && p.pad_left == 1 && (stride1 || stride2) && rows_fit;
  }

  std::size_t workspace_bytes() const override {
    if (same_) return sizeof(float) * (in_.w + 1);
    return sizeof(float) * layout_.task_floats() * env_.pool->threads();
  }

  void run(const ExecContext& ctx) override {
    if (same_) {
      run_same(ctx);
      return;
    }
    layout_.run_planes(env_, env_.simd->depthwise3x3, ctx.data(layer_.inputs[0]), in_.plane(),
                       ctx.data(layer_.output), out_.plane(), in_.n * in_.c, ctx.workspace, 0.0f,
                       lo_, hi_, [&](DepthwisePlane& plane, int nc) {
                         const int c = nc % in_.c;
                         plane.w = layer_.weight.data() + 9 * c;
                         plane.bias = layer_.bias.empty() ? 0.0f : layer_.bias[c];
                       });
  }

 private:
  // Each plane straight from the input (SimdKernels::depthwise3x3_same).
  void run_same(const ExecContext& ctx) const {
    std::fill_n(ctx.workspace, in_.w + 1, 0.0f);
    const float* x = ctx.data(layer_.inputs[0]);
    float* y = ctx.data(layer_.output);
    parallel_chunks(*env_.pool, in_.n * in_.c, [&](int, int begin, int end) {
      for (int nc = begin; nc < end; ++nc) {
        const int c = nc % in_.c;
        env_.simd->depthwise3x3_same({x + nc * in_.plane(), in_.h, in_.w, layer_.conv().stride_w,
                                      layer_.weight.data() + 9 * c,
                                      layer_.bias.empty() ? 0.0f : layer_.bias[c], lo_, hi_,
                                      ctx.workspace, y + nc * out_.plane(), out_.h, out_.w});
      }
    });
  }

  const Layer& layer_;
  KernelEnv env_;
  Shape in_, out_;
  PlaneLayout layout_;
  float lo_ = 0, hi_ = 0;
  bool same_ = false;
};

// 3x3 depthwise on small planes, vectorized across blocks of `lanes` channels
// (SimdKernels::depthwise_blocked); the weights regrouped tap-major per block in prepare.
class DepthwiseBlockedConv final : public LayerKernel {
 public:
  DepthwiseBlockedConv(const Graph& g, const Layer& l, const KernelEnv& env)
      : layer_(l), env_(env), in_(g.input_shape(l)), out_(g.output_shape(l)) {
    const int lanes = env.simd->lanes, blocks = in_.c / lanes;
    weights_ = allocate_floats(static_cast<std::size_t>(blocks) * 10 * lanes);
    for (int b = 0; b < blocks; ++b) {
      float* w = weights_.get() + static_cast<std::size_t>(b) * 10 * lanes;
      for (int i = 0; i < lanes; ++i) {
        const int c = b * lanes + i;
        for (int t = 0; t < 9; ++t) w[t * lanes + i] = l.weight[c * 9 + t];
        w[9 * lanes + i] = l.bias.empty() ? 0.0f : l.bias[c];
      }
    }
    const int s = l.conv().stride_w;
    task_floats_ = depthwise_blocked_floats(out_.h, out_.w, s, lanes);
    padded_floats_ = static_cast<std::size_t>(depthwise_blocked_rows(out_.h, s)) *
                     depthwise_blocked_rows(out_.w, s) * lanes;
    activation_bounds(l.conv().activation, lo_, hi_);
  }

  std::size_t workspace_bytes() const override {
    return sizeof(float) * task_floats_ * env_.pool->threads();
  }

  void run(const ExecContext& ctx) override {
    const Conv2dParams& p = layer_.conv();
    const int lanes = env_.simd->lanes, blocks = in_.c / lanes;
    const float* x = ctx.data(layer_.inputs[0]);
    float* y = ctx.data(layer_.output);
    parallel_chunks(*env_.pool, in_.n * blocks, [&](int task, int begin, int end) {
      float* scratch = ctx.workspace + task * task_floats_;
      std::fill_n(scratch, padded_floats_, 0.0f);
      for (int nb = begin; nb < end; ++nb) {
        const int n = nb / blocks, c0 = nb % blocks * lanes;
        const float* w = weights_.get() + static_cast<std::size_t>(nb % blocks) * 10 * lanes;
        env_.simd->depthwise_blocked(
            {x + (static_cast<std::size_t>(n) * in_.c + c0) * in_.plane(),
             static_cast<long>(in_.plane()), in_.h, in_.w, p.pad_top, p.pad_left, p.stride_w,
             out_.h, out_.w, w, w + 9 * lanes, lo_, hi_, scratch,
             y + (static_cast<std::size_t>(n) * out_.c + c0) * out_.plane(),
             static_cast<long>(out_.plane())});
      }
    });
  }

 private:
  const Layer& layer_;
  KernelEnv env_;
  Shape in_, out_;
  std::unique_ptr<float[], AlignedFree> weights_;  // per block: 9 taps, then the biases
  std::size_t task_floats_ = 0, padded_floats_ = 0;
  float lo_ = 0, hi_ = 0;
};

// Dense 3x3 convolutions with few input channels (a network's first layer, where im2col + GEMM
// has a depth of 27 and the GEMM's tiles are mostly overhead): each input channel packed once as
// for the depthwise kernel, then every output channel computed straight from the packed planes,
// threads taking ranges of output rows.
class DirectConv final : public LayerKernel {
 public:
  DirectConv(const Graph& g, const Layer& l, const KernelEnv& env)
      : layer_(l),
        env_(env),
        in_(g.input_shape(l)),
        out_(g.output_shape(l)),
        layout_(in_, out_, l.conv(), env.simd->lanes),
        taps_(static_cast<std::size_t>(in_.c) * 9),
        plane_floats_(layout_.plane_floats()) {
    activation_bounds(l.conv().activation, lo_, hi_);
  }

  std::size_t workspace_bytes() const override { return sizeof(float) * plane_floats_ * in_.c; }

  void run(const ExecContext& ctx) override {
    const float* x = ctx.data(layer_.inputs[0]);
    float* y = ctx.data(layer_.output);
    std::fill_n(ctx.workspace, plane_floats_ * in_.c, 0.0f);
    for (int ci = 0; ci < in_.c; ++ci) {
      for (int t = 0; t < 9; ++t)
        taps_[ci * 9 + t] = layout_.tap(ctx.workspace + ci * plane_floats_, t);
    }
    DirectConvRows rows{taps_.data(),
                        in_.c,
                        out_.c,
                        layout_.pitch(),
                        out_.w,
                        0,
                        0,
                        layer_.weight.data(),
                        layer_.bias.empty() ? nullptr : layer_.bias.data(),
                        lo_,
                        hi_,
                        nullptr,
                        static_cast<long>(out_.plane())};
    for (int n = 0; n < in_.n; ++n) {
      const float* image = x + static_cast<std::size_t>(n) * in_.c * in_.plane();
      parallel_chunks(*env_.pool, in_.c, [&](int, int begin, int end) {
        for (int ci = begin; ci < end; ++ci) {
          layout_.pack(*env_.simd, image + ci * in_.plane(), ctx.workspace + ci * plane_floats_);
        }
      });
      rows.out = y + static_cast<std::size_t>(n) * out_.c * out_.plane();
      parallel_chunks(*env_.pool, out_.h, [&](int, int begin, int end) {
        DirectConvRows task = rows;
        task.row_begin = begin;
        task.row_end = end;
        env_.simd->direct3x3(task);
      });
    }
  }

 private:
  const Layer& layer_;
  KernelEnv env_;
  Shape in_, out_;
  PlaneLayout layout_;
  std::vector<const float*> taps_;
  std::size_t plane_floats_ = 0;
  float lo_ = 0, hi_ = 0;
};

}  // namespace

std::unique_ptr<LayerKernel> make_conv_kernel(const Graph& g, const Layer& l, ConvAlgorithm a,
                                              const KernelEnv& env) {
  switch (a) {
    case ConvAlgorithm::kDepthwise: return std::make_unique<DepthwiseConv>(g, l, env);
    case ConvAlgorithm::kDepthwiseBlocked:
      return std::make_unique<DepthwiseBlockedConv>(g, l, env);
    case ConvAlgorithm::kDirect:
      return std::make_unique<DirectConv>(g, l, env);
    case ConvAlgorithm::kWinograd: return make_winograd_conv(g, l, env);
    case ConvAlgorithm::kGemmTransposed:
      return std::make_unique<GemmConv>(g, l, env, true);
    case ConvAlgorithm::kGemm: break;
  }
  return std::make_unique<GemmConv>(g, l, env, false);
}

}  // namespace libscout::native_nn
