#include "backends/gemm/gemm_backend.h"

#include <algorithm>
#include <chrono>
#include <cstring>

#include "backends/common/layer_gemm.h"
#include "backends/common/layer_segment.h"
#include "backends/reference/reference_ops.h"
#include "core/error.h"

namespace libscout {

void im2col(const float* in, int channels, int h, int w, const Conv2dParams& p, int out_h,
            int out_w, float* col) {
  for (int c = 0; c < channels; ++c) {
    const float* plane = in + static_cast<std::size_t>(c) * h * w;
    for (int ky = 0; ky < p.kernel_h; ++ky) {
      for (int kx = 0; kx < p.kernel_w; ++kx) {
        float* row = col;
        col += static_cast<std::size_t>(out_h) * out_w;
        for (int oy = 0; oy < out_h; ++oy) {
          const int iy = oy * p.stride_h - p.pad_top + ky * p.dilation_h;
          float* dst = row + static_cast<std::size_t>(oy) * out_w;
          if (iy < 0 || iy >= h) {
            std::fill_n(dst, out_w, 0.0f);
            continue;
          }
          const float* src = plane + static_cast<std::size_t>(iy) * w;
          const int x0 = kx * p.dilation_w - p.pad_left;
          // Output columns whose input column lies inside the row: [lo, hi); zeros around them.
          const int lo = x0 >= 0 ? 0 : std::min(out_w, (-x0 + p.stride_w - 1) / p.stride_w);
          const int hi = w - x0 <= 0 ? lo
                                     : std::max(lo, std::min(out_w, (w - x0 + p.stride_w - 1) / p.stride_w));
          std::fill_n(dst, lo, 0.0f);
          if (p.stride_w == 1) {
            std::memcpy(dst + lo, src + lo + x0, sizeof(float) * (hi - lo));
          } else {
            const float* s = src + x0;
            for (int ox = lo; ox < hi; ++ox) dst[ox] = s[ox * p.stride_w];
          }
          std::fill_n(dst + hi, out_w - hi, 0.0f);
        }
      }
    }
  }
}

namespace {

// Adds the per-row bias and applies the activation over a (rows, cols) block, in one pass.
void bias_activation(float* y, int rows, std::size_t cols, std::size_t row_stride,
                     const float* bias, Activation act) {
  for (int r = 0; r < rows; ++r) {
    float* p = y + r * row_stride;
    const float b = bias ? bias[r] : 0.0f;
    switch (act) {
      case Activation::kNone:
        if (bias) for (std::size_t i = 0; i < cols; ++i) p[i] += b;
        break;
      case Activation::kRelu:
        for (std::size_t i = 0; i < cols; ++i) p[i] = std::max(p[i] + b, 0.0f);
        break;
      case Activation::kRelu6:
        for (std::size_t i = 0; i < cols; ++i) p[i] = std::min(std::max(p[i] + b, 0.0f), 6.0f);
        break;
    }
  }
}

class GemmBackend;

// Calls the provider, timing the call when the account is enabled.
class TimedProvider {
 public:
  TimedProvider(gemm::Provider& p, GemmTimeAccount& account) : p_(p), account_(account) {}
  void sgemm(const gemm::SgemmArgs& args) {
    if (!account_.enabled) return p_.sgemm(args);
    const auto t0 = std::chrono::steady_clock::now();
    p_.sgemm(args);
    account_.seconds +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ++account_.calls;
  }

 private:
  gemm::Provider& p_;
  GemmTimeAccount& account_;
};

class ConvKernel final : public LayerKernel {
 public:
  ConvKernel(const Graph& g, const Layer& l, TimedProvider provider)
      : layer_(l), provider_(provider), in_(g.input_shape(l)), out_(g.output_shape(l)) {
    const Conv2dParams& p = l.conv();
    cin_g_ = in_.c / p.groups;
    cout_g_ = out_.c / p.groups;
    k_ = cin_g_ * p.kernel_h * p.kernel_w;
    lowered_ = !p.is_pointwise();
  }

  std::size_t workspace_bytes() const override {
    return lowered_ ? sizeof(float) * static_cast<std::size_t>(k_) * out_.plane() : 0;
  }

  void run(const ExecContext& ctx) override {
    const Conv2dParams& p = layer_.conv();
    const float* x = ctx.data(layer_.inputs[0]);
    float* y = ctx.data(layer_.output);
    const int hw = static_cast<int>(out_.plane());
    for (int n = 0; n < in_.n; ++n) {
      for (int g = 0; g < p.groups; ++g) {
        const float* in = x + (static_cast<std::size_t>(n) * in_.c + g * cin_g_) * in_.plane();
        float* out = y + (static_cast<std::size_t>(n) * out_.c + g * cout_g_) * out_.plane();
        const float* b = in;
        if (lowered_) {
          im2col(in, cin_g_, in_.h, in_.w, p, out_.h, out_.w, ctx.workspace);
          b = ctx.workspace;
        }
        gemm::SgemmArgs args;
        args.m = cout_g_;
        args.n = hw;
        args.k = k_;
        args.a = layer_.weight.data() + static_cast<std::size_t>(g) * cout_g_ * k_;
        args.lda = k_;
        args.b = b;
        args.ldb = hw;
        args.c = out;
        args.ldc = hw;
        provider_.sgemm(args);
        bias_activation(out, cout_g_, out_.plane(), out_.plane(),
                        layer_.bias.empty() ? nullptr : layer_.bias.data() + g * cout_g_,
                        p.activation);
      }
    }
  }

 private:
  const Layer& layer_;
  TimedProvider provider_;
  Shape in_, out_;
  int cin_g_ = 0, cout_g_ = 0, k_ = 0;
  bool lowered_ = true;
};

class FullyConnectedKernel final : public LayerKernel {
 public:
  FullyConnectedKernel(const Layer& l, TimedProvider provider) : layer_(l), provider_(provider) {}

  void run(const ExecContext& ctx) override {
    provider_.sgemm(fully_connected_gemm(*ctx.graph, layer_, ctx));
    fully_connected_epilogue(*ctx.graph, layer_, ctx);
  }

 private:
  const Layer& layer_;
  TimedProvider provider_;
};

class GemmBackend final : public Backend {
 public:
  explicit GemmBackend(std::unique_ptr<gemm::Provider> provider)
      : provider_(std::move(provider)) {}

  std::string name() const override { return "gemm:" + provider_->name(); }
  Support supports(const Graph&, const Layer&) const override { return Support::yes(); }

  std::unique_ptr<Segment> prepare(const SegmentSpec& spec, const ExecOptions& opts) override {
    threads_used_ = provider_->set_threads(opts.threads);
    auto segment = std::make_unique<LayerSegment>();
    for (LayerId id : spec.layers) {
      const Layer& l = spec.graph->layers[id];
      TimedProvider timed(*provider_, account_);
      if (l.op == OpKind::kConv2d) {
        segment->add(id, std::make_unique<ConvKernel>(*spec.graph, l, timed));
      } else if (l.op == OpKind::kFullyConnected) {
        segment->add(id, std::make_unique<FullyConnectedKernel>(l, timed));
      } else {
        segment->add(id, make_kernel(l, [](const ExecContext& ctx, const Layer& layer) {
          const float* in[4] = {};
          std::size_t count = std::min<std::size_t>(layer.inputs.size(), 4);
          if (layer.inputs.size() > 4) {
            std::vector<const float*> many;
            for (ValueId v : layer.inputs) many.push_back(ctx.data(v));
            return reference::forward<float>(*ctx.graph, layer, many, ctx.data(layer.output));
          }
          for (std::size_t i = 0; i < count; ++i) in[i] = ctx.data(layer.inputs[i]);
          reference::forward<float>(*ctx.graph, layer, {in, count}, ctx.data(layer.output));
        }));
      }
    }
    return segment;
  }

  // The provider's version, whether it copies every operand to an OpenCL or CUDA device and back,
  // and its own answer to set_threads() (the count it really uses: 1 for single-threaded
  // libraries), once a segment was prepared.
  nlohmann::json settings() const override {
    nlohmann::json j = {{"provider", provider_->name()},
                        {"library_version", provider_->version()},
                        {"operands_on_device", provider_->has_device_memory()}};
    if (threads_used_ > 0) j["threads"] = threads_used_;
    return j;
  }

  GemmTimeAccount account_;

 private:
  std::unique_ptr<gemm::Provider> provider_;
  int threads_used_ = 0;
};

}  // namespace

std::unique_ptr<Backend> make_gemm_backend(std::unique_ptr<gemm::Provider> provider) {
  return std::make_unique<GemmBackend>(std::move(provider));
}

GemmTimeAccount& gemm_time_account(Backend& backend) {
  auto* gb = dynamic_cast<GemmBackend*>(&backend);
  if (gb == nullptr) throw Error("gemm_time_account: '" + backend.name() + "' is not gemm:*");
  return gb->account_;
}

}  // namespace libscout
