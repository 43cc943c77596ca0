#include "backends/native/other_kernels.h"

#include <algorithm>
#include <limits>
#include <vector>

#include "backends/common/layer_gemm.h"
#include "backends/native/plane_layout.h"
#include "backends/reference/reference_ops.h"
#include "gemm/native/sgemm_native.h"

namespace libscout::native_nn {
namespace {

// y (batch x out) = x (batch x in) W^T on the native SGEMM, then bias and activation; at batch 1
// a matrix-vector product on the vector kernels with the bias and activation fused
// (SimdKernels::gemv), the output rows split between the threads.
class FullyConnected final : public LayerKernel {
 public:
  FullyConnected(const Layer& l, const KernelEnv& env) : layer_(l), env_(env) {}

  void run(const ExecContext& ctx) override {
    const Shape& in = ctx.graph->input_shape(layer_);
    if (in.n == 1) {
      float lo = 0, hi = 0;
      activation_bounds(layer_.fc().activation, lo, hi);
      const long k = static_cast<long>(in.image_elements());
      const float* bias = layer_.bias.empty() ? nullptr : layer_.bias.data();
      parallel_chunks(*env_.pool, layer_.fc().out_features, [&](int, int begin, int end) {
        env_.simd->gemv({layer_.weight.data() + begin * k, ctx.data(layer_.inputs[0]), k,
                         end - begin, bias ? bias + begin : nullptr, lo, hi,
                         ctx.data(layer_.output) + begin});
      });
      return;
    }
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

// 3x3 max pooling, stride 1 or 2 (any padding, Caffe's ceil mode: the graph's output shape says
// how far the windows reach) per channel plane, on the window kernel of the depthwise
// convolution with the plane's padding holding the lowest float: windows that reach past the
// input take the maximum of what they cover, as the reference's clipped windows do.
class MaxPool3x3 final : public LayerKernel {
 public:
  MaxPool3x3(const Graph& g, const Layer& l, const KernelEnv& env)
      : layer_(l),
        env_(env),
        in_(g.input_shape(l)),
        out_(g.output_shape(l)),
        layout_(in_, out_, window_params(l.pool()), env.simd->lanes) {
    const Pool2dParams& p = l.pool();
    same_ = p.stride_h == 2 && p.pad_h == 0 && p.pad_w == 0 && 2 * out_.h < in_.h &&
            2 * out_.w < in_.w && out_.w >= env.simd->lanes;
  }

  static bool applies(const Layer& l) {
    if (l.op != OpKind::kMaxPool) return false;
    const Pool2dParams& p = l.pool();
    return p.kernel_h == 3 && p.kernel_w == 3 && p.stride_h == p.stride_w &&
           (p.stride_h == 1 || p.stride_h == 2);
  }

  std::size_t workspace_bytes() const override {
    return same_ ? 0 : sizeof(float) * layout_.task_floats() * env_.pool->threads();
  }

  void run(const ExecContext& ctx) override {
    constexpr float kLowest = std::numeric_limits<float>::lowest();
    const float* x = ctx.data(layer_.inputs[0]);
    float* y = ctx.data(layer_.output);
    if (same_) {  // every window inside the plane: straight from the input
      parallel_chunks(*env_.pool, in_.n * in_.c, [&](int, int begin, int end) {
        for (int nc = begin; nc < end; ++nc) {
          env_.simd->maxpool3x3_same({x + nc * in_.plane(), in_.h, in_.w, 2, nullptr, 0.0f, 0.0f,
                                      0.0f, nullptr, y + nc * out_.plane(), out_.h, out_.w});
        }
      });
      return;
    }
    layout_.run_planes(env_, env_.simd->maxpool3x3, x, in_.plane(), y, out_.plane(), in_.n * in_.c,
                       ctx.workspace, kLowest, kLowest, std::numeric_limits<float>::max(),
                       [](DepthwisePlane&, int) {});
  }

 private:
  static Conv2dParams window_params(const Pool2dParams& p) {
    Conv2dParams c;
    c.kernel_h = c.kernel_w = 3;
    c.stride_h = c.stride_w = p.stride_h;
    c.pad_top = p.pad_h;
    c.pad_left = p.pad_w;
    c.pad_bottom = p.pad_bottom();
    c.pad_right = p.pad_right();
    return c;
  }

  const Layer& layer_;
  KernelEnv env_;
  Shape in_, out_;
  PlaneLayout layout_;
  bool same_ = false;  // stride 2, no padding, no window past the plane: read in place
};

// The mean of each channel plane, in float with eight partial sums (a loop the compiler
// vectorizes; the reference sums in one dependent chain).
class GlobalAvgPool final : public LayerKernel {
 public:
  GlobalAvgPool(const Graph& g, const Layer& l, const KernelEnv& env)
      : layer_(l), env_(env), in_(g.input_shape(l)) {}

  void run(const ExecContext& ctx) override {
    const float* x = ctx.data(layer_.inputs[0]);
    float* y = ctx.data(layer_.output);
    const std::size_t size = in_.plane();
    parallel_chunks(*env_.pool, in_.n * in_.c, [&](int, int begin, int end) {
      for (int nc = begin; nc < end; ++nc) {
        const float* plane = x + nc * size;
        float part[8] = {};
        std::size_t i = 0;
        for (; i + 8 <= size; i += 8) {
          for (int j = 0; j < 8; ++j) part[j] += plane[i + j];
        }
        float sum = 0.0f;
        for (; i < size; ++i) sum += plane[i];
        for (float p : part) sum += p;
        y[nc] = sum / static_cast<float>(size);
      }
    });
  }

 private:
  const Layer& layer_;
  KernelEnv env_;
  Shape in_;
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
  if (MaxPool3x3::applies(l)) return std::make_unique<MaxPool3x3>(g, l, env);
  if (l.op == OpKind::kGlobalAvgPool) return std::make_unique<GlobalAvgPool>(g, l, env);
  if (l.op == OpKind::kAdd && g.input_shape(l, 0) == g.input_shape(l, 1)) {
    return std::make_unique<Add>(g, l, env);
  }
  return std::make_unique<PortableOp>(l);
}

}  // namespace libscout::native_nn
