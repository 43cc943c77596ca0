#include "backends/native/other_kernels.h"

#include <vector>

#include "backends/reference/reference_ops.h"
#include "gemm/native/sgemm_native.h"

namespace libscout::native_nn {
namespace {

// y (batch x out) = x (batch x in) W^T on the native SGEMM, then bias and activation.
class FullyConnected final : public LayerKernel {
 public:
  FullyConnected(const Graph& g, const Layer& l, const KernelEnv& env)
      : layer_(l), env_(env), in_(g.input_shape(l)) {}

  void run(const ExecContext& ctx) override {
    const int in_f = static_cast<int>(in_.image_elements()), out_f = layer_.fc().out_features;
    gemm::SgemmArgs args;
    args.trans_b = gemm::Trans::kYes;
    args.m = in_.n;
    args.n = out_f;
    args.k = in_f;
    args.a = ctx.data(layer_.inputs[0]);
    args.lda = in_f;
    args.b = layer_.weight.data();
    args.ldb = in_f;
    args.c = ctx.data(layer_.output);
    args.ldc = out_f;
    gemm::native::sgemm_native(args, *env_.gemm.kernel, env_.gemm.blocking, *env_.pool,
                               workspace_);
    float lo, hi;
    activation_bounds(layer_.fc().activation, lo, hi);
    for (int n = 0; n < in_.n; ++n) {
      float* y = args.c + static_cast<std::size_t>(n) * out_f;
      for (int o = 0; o < out_f; ++o) {
        const float v = y[o] + (layer_.bias.empty() ? 0.0f : layer_.bias[o]);
        y[o] = std::min(std::max(v, lo), hi);
      }
    }
  }

 private:
  const Layer& layer_;
  KernelEnv env_;
  Shape in_;
  gemm::native::SgemmWorkspace workspace_;
};

// Any other op on the reference's float code (reference::forward<float>).
class PortableOp final : public LayerKernel {
 public:
  explicit PortableOp(const Layer& l) : layer_(l) {}

  void run(const ExecContext& ctx) override {
    inputs_.clear();
    for (ValueId v : layer_.inputs) inputs_.push_back(ctx.data(v));
    reference::forward<float>(*ctx.graph, layer_, inputs_, ctx.data(layer_.output));
  }

 private:
  const Layer& layer_;
  std::vector<const float*> inputs_;
};

}  // namespace

std::unique_ptr<LayerKernel> make_other_kernel(const Graph& g, const Layer& l,
                                               const KernelEnv& env) {
  if (l.op == OpKind::kFullyConnected) return std::make_unique<FullyConnected>(g, l, env);
  return std::make_unique<PortableOp>(l);
}

}  // namespace libscout::native_nn
