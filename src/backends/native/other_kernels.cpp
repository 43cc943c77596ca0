#include "backends/native/other_kernels.h"

#include <algorithm>
#include <vector>

#include "backends/common/layer_gemm.h"
#include "backends/reference/reference_ops.h"
#include "gemm/native/sgemm_native.h"

namespace libscout::native_nn {
namespace {

// y (batch x out) = x (batch x in) W^T on the native SGEMM, then bias and activation.
class FullyConnected final : public LayerKernel {
 public:
  FullyConnected(const Layer& l, const KernelEnv& env) : layer_(l), env_(env) {}

  void run(const ExecContext& ctx) override {
    gemm::native::sgemm_native(fully_connected_gemm(*ctx.graph, layer_, ctx), *env_.gemm.kernel,
                               env_.gemm.blocking, *env_.pool, workspace_);
    fully_connected_epilogue(*ctx.graph, layer_, ctx);
  }

 private:
  const Layer& layer_;
  KernelEnv env_;
  gemm::native::SgemmWorkspace workspace_;
};

// Element-wise sum of two same-shaped values with the fused activation, in one pass (a loop the
// compiler vectorizes; the reference's generic loop switches on the activation per element).
class Add final : public LayerKernel {
 public:
  Add(const Graph& g, const Layer& l, const KernelEnv& env)
      : layer_(l), env_(env), size_(g.output_shape(l).elements()) {
    activation_bounds(l.add().activation, lo_, hi_);
  }

  void run(const ExecContext& ctx) override {
    const float* a = ctx.data(layer_.inputs[0]);
    const float* b = ctx.data(layer_.inputs[1]);
    float* y = ctx.data(layer_.output);
    const int chunks = static_cast<int>(std::min<std::size_t>(64, (size_ + 4095) / 4096));
    parallel_chunks(*env_.pool, chunks, [&](int, int c0, int c1) {
      const std::size_t begin = size_ * c0 / chunks, end = size_ * c1 / chunks;
      for (std::size_t i = begin; i < end; ++i) y[i] = std::min(std::max(a[i] + b[i], lo_), hi_);
    });
  }

 private:
  const Layer& layer_;
  KernelEnv env_;
  std::size_t size_;
  float lo_ = 0, hi_ = 0;
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
  if (l.op == OpKind::kFullyConnected) return std::make_unique<FullyConnected>(l, env);
  if (l.op == OpKind::kAdd && g.input_shape(l, 0) == g.input_shape(l, 1)) {
    return std::make_unique<Add>(g, l, env);
  }
  return std::make_unique<PortableOp>(l);
}

}  // namespace libscout::native_nn
