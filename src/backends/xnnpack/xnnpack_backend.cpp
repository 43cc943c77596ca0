// `xnnpack`: whole layers through XNNPACK's operator API (create -> setup -> run), in NHWC.
//
// prepare() creates one XNNPACK operator per layer (packing the weights), plans the segment's
// NHWC activation buffers (reused once their last reader has run) and sets every operator up on
// its fixed buffers, so run() only calls xnn_run_operator. The NCHW <-> NHWC conversions at the
// segment's edges (inputs read from outside it, values exported to other segments or the caller)
// are part of run() and timed, as an application pays them per inference.
//
// Threads: one pthreadpool of ExecOptions::threads threads per backend, passed to every operator
// and to the layout conversions; XNNPACK starts no threads of its own.
//
// Caffe's semantics on XNNPACK's operators:
// - pooling output sizes (ceil mode) come from extra bottom/right padding;
// - XNNPACK's average pooling divides by the number of input pixels in the window (padding
//   excluded). Caffe's count_include_pad counts the window clipped to the padded input, so the
//   padding is made real with a constant-pad operator (zeros) before the pooling;
// - a batch norm left unfolded runs as a 1x1 depthwise convolution (XNNPACK's channelwise
//   multiply-add kernel); ReLU and ReLU6 left unfused run as clamps.
#include <pthreadpool.h>
#include <xnnpack.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "backends/common/buffer_pool.h"
#include "core/error.h"
#include "core/plugins.h"
#include "platform/packages.h"

namespace libscout {
namespace {

const char* status_name(xnn_status s) {
  switch (s) {
    case xnn_status_success: return "success";
    case xnn_status_uninitialized: return "uninitialized";
    case xnn_status_invalid_parameter: return "invalid parameter";
    case xnn_status_invalid_state: return "invalid state";
    case xnn_status_unsupported_parameter: return "unsupported parameter";
    case xnn_status_unsupported_hardware: return "unsupported hardware";
    case xnn_status_out_of_memory: return "out of memory";
  }
  return "unknown status";
}

// Empty when XNNPACK initialized; otherwise why not (xnn_initialize is called once).
const std::string& init_error() {
  static const std::string error = [] {
    const xnn_status s = xnn_initialize(nullptr);
    if (s == xnn_status_success) return std::string();
    if (s == xnn_status_unsupported_hardware) {
      return std::string("xnn_initialize failed: this CPU lacks the instruction set XNNPACK needs");
    }
    return std::string("xnn_initialize failed: ") + status_name(s);
  }();
  return error;
}

struct Range {
  float min, max;
};

Range clamp_range(Activation a) {
  constexpr float inf = std::numeric_limits<float>::infinity();
  switch (a) {
    case Activation::kNone: return {-inf, inf};
    case Activation::kRelu: return {0.0f, inf};
    case Activation::kRelu6: return {0.0f, 6.0f};
  }
  return {-inf, inf};
}

// Bottom/right padding that makes XNNPACK's floor((in + before + after - k) / s) + 1 equal the
// Caffe output size `out`; -1 when none does.
int padding_after(int in, int kernel, int stride, int before, int out) {
  for (int after = 0; after < kernel + stride; ++after) {
    const int padded = in + before + after;
    if (padded >= kernel && (padded - kernel) / stride + 1 == out) return after;
  }
  return -1;
}

// The last pooling window must overlap the input, or the library's output differs from Caffe's.
Support pool_support(const Graph& g, const Layer& l) {
  const Pool2dParams& p = l.pool();
  const Shape in = g.input_shape(l), out = g.output_shape(l);
  if (p.kernel_h == 1 && p.kernel_w == 1) {
    if (p.stride_h == 1 && p.stride_w == 1 && p.pad_h == 0 && p.pad_w == 0) return Support::yes();
    return Support::no("XNNPACK has no 1x1 pooling (only the identity, stride 1, is mapped)");
  }
  if ((out.h - 1) * p.stride_h - p.pad_h >= in.h || (out.w - 1) * p.stride_w - p.pad_w >= in.w) {
    return Support::no("the last pooling window lies outside the input");
  }
  // Average pooling that counts the padding pads the input with real zeros first (add_pool).
  const bool real_pad =
      l.op == OpKind::kAvgPool && p.count_include_pad && (p.pad_h > 0 || p.pad_w > 0);
  const int src_h = real_pad ? in.h + 2 * p.pad_h : in.h, before_h = real_pad ? 0 : p.pad_h;
  const int src_w = real_pad ? in.w + 2 * p.pad_w : in.w, before_w = real_pad ? 0 : p.pad_w;
  if (padding_after(src_h, p.kernel_h, p.stride_h, before_h, out.h) < 0 ||
      padding_after(src_w, p.kernel_w, p.stride_w, before_w, out.w) < 0) {
    return Support::no("no padding gives Caffe's pooled size");
  }
  return Support::yes();
}

// NCHW <-> NHWC on the pool. `pixel_stride` is the NHWC side's distance between pixels (>= c).
void nchw_to_nhwc(pthreadpool_t pool, const float* src, float* dst, int n, int c, std::size_t hw,
                  std::size_t pixel_stride) {
  for (int b = 0; b < n; ++b) {
    const float* s = src + static_cast<std::size_t>(b) * c * hw;
    float* d = dst + b * hw * pixel_stride;
    pthreadpool_parallelize_2d_tile_2d(
        pool,
        [&](std::size_t p0, std::size_t c0, std::size_t np, std::size_t nc) {
          for (std::size_t p = p0; p < p0 + np; ++p) {
            for (std::size_t ch = c0; ch < c0 + nc; ++ch) d[p * pixel_stride + ch] = s[ch * hw + p];
          }
        },
        hw, static_cast<std::size_t>(c), 32, 32);
  }
}

void nhwc_to_nchw(pthreadpool_t pool, const float* src, float* dst, int n, int c, std::size_t hw,
                  std::size_t pixel_stride) {
  for (int b = 0; b < n; ++b) {
    const float* s = src + b * hw * pixel_stride;
    float* d = dst + static_cast<std::size_t>(b) * c * hw;
    if (hw == 1 && pixel_stride == static_cast<std::size_t>(c)) {
      std::memcpy(d, s, sizeof(float) * c);
      continue;
    }
    pthreadpool_parallelize_2d_tile_2d(
        pool,
        [&](std::size_t c0, std::size_t p0, std::size_t nc, std::size_t np) {
          for (std::size_t ch = c0; ch < c0 + nc; ++ch) {
            for (std::size_t p = p0; p < p0 + np; ++p) d[ch * hw + p] = s[p * pixel_stride + ch];
          }
        },
        static_cast<std::size_t>(c), hw, 32, 32);
  }
}

struct OperatorDeleter {
  void operator()(xnn_operator_t op) const { xnn_delete_operator(op); }
};
using Operator = std::unique_ptr<xnn_operator, OperatorDeleter>;

// A value as the segment holds it: NHWC, `data` at (n 0, h 0, w 0, c 0), pixels `stride` floats
// apart (`c`, except for a convolution's output written straight into its concat's slice).
struct View {
  float* data = nullptr;
  int n = 0, h = 0, w = 0, c = 0;
  std::size_t stride = 0;
  std::size_t pixels() const { return static_cast<std::size_t>(n) * h * w; }
};

class XnnSegment final : public Segment {
 public:
  using Step = std::function<void(const ExecContext&)>;

  XnnSegment(const SegmentSpec& spec, pthreadpool_t pool) : spec_(spec), pool_(pool) {
    build();
  }

  void run(const ExecContext& ctx) override {
    for (const LayerSteps& l : layers_) {
      if (ctx.profiler) ctx.profiler->begin(l.id);
      for (const Step& s : l.steps) s(ctx);
      if (ctx.profiler) ctx.profiler->end(l.id);
    }
    park_workers();
  }

 private:
  struct LayerSteps {
    LayerId id;
    std::vector<Step> steps;
  };

  const Graph& graph() const { return *spec_.graph; }

  // After the segment, the pool's workers go to sleep instead of spinning for the next operator
  // (pthreadpool's default): in a plan the next segment is another library's, whose threads they
  // would otherwise take the cores from (SqueezeNet v1.1 at 2 threads on 2 cores, native measured
  // in the same process as xnnpack: 7.2 ms, against 3.4 ms without). A no-op loop with one item
  // per thread and the yield flag, as XNNPACK's runtime API does after its last operator.
  void park_workers() const {
    const std::size_t threads = pthreadpool_get_threads_count(pool_);
    if (threads <= 1) return;
    pthreadpool_parallelize_1d(
        pool_, [](void*, std::size_t) {}, nullptr, threads, PTHREADPOOL_FLAG_YIELD_WORKERS);
  }

  [[noreturn]] void fail(const Layer& l, const char* what, xnn_status s) const {
    throw Error("xnnpack: layer '" + l.name + "' (" + op_name(l.op) + "): " + what + " failed: " +
                status_name(s));
  }
  void check(const Layer& l, const char* what, xnn_status s) const {
    if (s != xnn_status_success) fail(l, what, s);
  }

  // Adds a step that runs `op` (already set up).
  void add_operator(const Layer& l, std::vector<Step>& steps, xnn_operator_t raw) {
    operators_.emplace_back(raw);
    steps.push_back([this, raw, &l](const ExecContext&) {
      const xnn_status s = xnn_run_operator(raw, pool_);
      if (s != xnn_status_success) fail(l, "xnn_run_operator", s);
    });
  }

  View new_value(ValueId v, const Shape& s) {
    const int id = buffers_.acquire(s.elements());
    buffer_of_[v] = id;
    return {buffers_.data(id), s.n, s.h, s.w, s.c, static_cast<std::size_t>(s.c)};
  }

  // Concats whose inputs are all convolutions of this segment read by nothing else: those write
  // their outputs into the concat's channel slices (XNNPACK's output stride), and the concat
  // itself costs nothing.
  void plan_concats() {
    const Graph& g = graph();
    const auto consumers = g.consumers();
    std::vector<LayerId> producer(g.values.size(), -1);
    for (LayerId id : spec_.layers) producer[g.layers[id].output] = id;
    slot_.assign(g.values.size(), {-1, 0});
    for (LayerId id : spec_.layers) {
      const Layer& l = g.layers[id];
      if (l.op != OpKind::kConcat) continue;
      bool fits = true;
      for (std::size_t i = 0; i < l.inputs.size(); ++i) {
        const ValueId v = l.inputs[i];
        fits = fits && producer[v] >= 0 && g.layers[producer[v]].op == OpKind::kConv2d &&
               consumers[v].size() == 1 && !spec_.exported[v] &&
               std::count(l.inputs.begin(), l.inputs.end(), v) == 1;
      }
      if (!fits) continue;
      int offset = 0;
      for (ValueId v : l.inputs) {
        slot_[v] = {l.output, offset};
        offset += g.shape(v).c;
      }
    }
  }

  // A convolution's output: its own buffer, or its slice of the concat planned above.
  View conv_output(ValueId v, const Shape& s) {
    const auto [concat, offset] = slot_[v];
    if (concat < 0) return new_value(v, s);
    if (views_[concat].data == nullptr) views_[concat] = new_value(concat, graph().shape(concat));
    const View whole = views_[concat];
    return {whole.data + offset, s.n, s.h, s.w, s.c, whole.stride};
  }

  void build() {
    const Graph& g = graph();
    const std::size_t count = spec_.layers.size();
    // Last layer (index in the segment) reading each value; values aliased by flatten share it.
    std::vector<int> last_use(g.values.size(), -1);
    std::vector<bool> produced(g.values.size(), false);
    alias_.assign(g.values.size(), -1);
    plan_concats();
    for (std::size_t i = 0; i < count; ++i) {
      const Layer& l = g.layers[spec_.layers[i]];
      for (ValueId v : l.inputs) last_use[root(v)] = static_cast<int>(i);
      produced[l.output] = true;
      if (l.op == OpKind::kFlatten && g.input_shape(l).plane() == 1) alias_[l.output] = root(l.inputs[0]);
    }
    buffer_of_.assign(g.values.size(), -1);
    views_.assign(g.values.size(), View{});
    for (std::size_t i = 0; i < count; ++i) {
      const LayerId id = spec_.layers[i];
      const Layer& l = g.layers[id];
      LayerSteps ls{id, {}};
      for (ValueId v : l.inputs) {
        if (!produced[v] && views_[v].data == nullptr) import_value(v, ls.steps);
      }
      add_layer(l, ls.steps);
      if (spec_.exported[l.output]) export_value(l.output, ls.steps);
      // Free the buffers whose last reader this layer was.
      for (ValueId v : l.inputs) {
        const ValueId r = root(v);
        if (last_use[r] == static_cast<int>(i) && buffer_of_[r] >= 0) {
          buffers_.release(buffer_of_[r]);
          buffer_of_[r] = -1;
        }
      }
      if (last_use[root(l.output)] < 0 && buffer_of_[l.output] >= 0 && alias_[l.output] < 0) {
        buffers_.release(buffer_of_[l.output]);  // read by nothing in the segment: exported only
        buffer_of_[l.output] = -1;
      }
      layers_.push_back(std::move(ls));
    }
  }

  ValueId root(ValueId v) const { return alias_[v] >= 0 ? alias_[v] : v; }

  // A value from outside the segment: NCHW in the engine's buffer, converted to NHWC.
  void import_value(ValueId v, std::vector<Step>& steps) {
    const Shape s = graph().shape(v);
    const View dst = new_value(v, s);
    views_[v] = dst;
    steps.push_back([this, v, dst](const ExecContext& ctx) {
      nchw_to_nhwc(pool_, ctx.data(v), dst.data, dst.n, dst.c, dst.h * std::size_t(dst.w), dst.c);
    });
  }

  void export_value(ValueId v, std::vector<Step>& steps) {
    const View src = views_[v];
    steps.push_back([this, v, src](const ExecContext& ctx) {
      nhwc_to_nchw(pool_, src.data, ctx.data(v), src.n, src.c, src.h * std::size_t(src.w), src.c);
    });
  }

  void add_layer(const Layer& l, std::vector<Step>& steps) {
    const Graph& g = graph();
    const Shape out_shape = g.output_shape(l);
    const View in = views_[l.inputs[0]];
    xnn_operator_t op = nullptr;
    switch (l.op) {
      case OpKind::kConv2d: {
        const Conv2dParams& p = l.conv();
        const int gic = in.c / p.groups, goc = p.out_channels / p.groups;
        const int kk = p.kernel_h * p.kernel_w;
        // (Cout, Cin/groups, KH, KW) -> XNNPACK's (groups, Cout/groups, KH, KW, Cin/groups).
        std::vector<float> kernel(l.weight.size());
        for (int o = 0; o < p.out_channels; ++o) {
          for (int ic = 0; ic < gic; ++ic) {
            for (int k = 0; k < kk; ++k) {
              kernel[(static_cast<std::size_t>(o) * kk + k) * gic + ic] =
                  l.weight[(static_cast<std::size_t>(o) * gic + ic) * kk + k];
            }
          }
        }
        const Range r = clamp_range(p.activation);
        const View out = conv_output(l.output, out_shape);
        const std::size_t out_stride = out.stride;
        check(l, "xnn_create_convolution2d_nhwc_f32",
              xnn_create_convolution2d_nhwc_f32(
                  p.pad_top, p.pad_right, p.pad_bottom, p.pad_left, p.kernel_h, p.kernel_w,
                  p.stride_h, p.stride_w, p.dilation_h, p.dilation_w, p.groups, gic, goc,
                  in.stride, out_stride, kernel.data(),
                  l.bias.empty() ? nullptr : l.bias.data(), r.min, r.max, 0, &op));
        check(l, "xnn_setup_convolution2d_nhwc_f32",
              xnn_setup_convolution2d_nhwc_f32(op, in.n, in.h, in.w, in.data, out.data, pool_));
        views_[l.output] = out;
        break;
      }
      case OpKind::kBatchNorm: {
        // y = x * scale + shift, per channel: a 1x1 depthwise convolution.
        const BatchNormParams& p = l.batch_norm();
        std::vector<float> scale(in.c), shift(in.c);
        for (int c = 0; c < in.c; ++c) {
          scale[c] = p.gamma[c] / std::sqrt(p.variance[c] + p.epsilon);
          shift[c] = p.beta[c] - p.mean[c] * scale[c];
        }
        const Range r = clamp_range(Activation::kNone);
        check(l, "xnn_create_convolution2d_nhwc_f32",
              xnn_create_convolution2d_nhwc_f32(0, 0, 0, 0, 1, 1, 1, 1, 1, 1, in.c, 1, 1, in.c,
                                                in.c, scale.data(), shift.data(), r.min, r.max, 0,
                                                &op));
        const View out = new_value(l.output, out_shape);
        check(l, "xnn_setup_convolution2d_nhwc_f32",
              xnn_setup_convolution2d_nhwc_f32(op, in.n, in.h, in.w, in.data, out.data, pool_));
        views_[l.output] = out;
        break;
      }
      case OpKind::kMaxPool:
      case OpKind::kAvgPool: {
        add_pool(l, in, steps);
        return;
      }
      case OpKind::kGlobalAvgPool: {
        const Range r = clamp_range(Activation::kNone);
        check(l, "xnn_create_global_average_pooling_nwc_f32",
              xnn_create_global_average_pooling_nwc_f32(in.c, in.c, in.c, r.min, r.max, 0, &op));
        const View out = new_value(l.output, out_shape);
        check(l, "xnn_setup_global_average_pooling_nwc_f32",
              xnn_setup_global_average_pooling_nwc_f32(op, in.n, in.h * std::size_t(in.w), in.data,
                                                       out.data, pool_));
        views_[l.output] = out;
        break;
      }
      case OpKind::kConcat: {
        if (slot_[l.inputs[0]].first == l.output) return;  // written in place by its inputs
        const View out = new_value(l.output, out_shape);
        int offset = 0;
        for (ValueId v : l.inputs) {
          const View src = views_[v];
          xnn_operator_t copy = nullptr;
          check(l, "xnn_create_copy_nc_x32",
                xnn_create_copy_nc_x32(src.c, src.c, out.c, 0, &copy));
          check(l, "xnn_setup_copy_nc_x32",
                xnn_setup_copy_nc_x32(copy, src.pixels(), src.data, out.data + offset, pool_));
          add_operator(l, steps, copy);
          offset += src.c;
        }
        views_[l.output] = out;
        return;
      }
      case OpKind::kFullyConnected: {
        const FullyConnectedParams& p = l.fc();
        const std::size_t hw = static_cast<std::size_t>(in.h) * in.w;
        const std::size_t features = hw * in.c;
        // The weights read the input in NCHW order; the segment holds it in NHWC.
        std::vector<float> kernel(l.weight.size());
        for (int o = 0; o < p.out_features; ++o) {
          const float* src = l.weight.data() + o * features;
          float* dst = kernel.data() + o * features;
          for (int c = 0; c < in.c; ++c) {
            for (std::size_t q = 0; q < hw; ++q) dst[q * in.c + c] = src[c * hw + q];
          }
        }
        const Range r = clamp_range(p.activation);
        check(l, "xnn_create_fully_connected_nc_f32",
              xnn_create_fully_connected_nc_f32(features, p.out_features, features,
                                                p.out_features, kernel.data(),
                                                l.bias.empty() ? nullptr : l.bias.data(), r.min,
                                                r.max, 0, &op));
        const View out = new_value(l.output, out_shape);
        check(l, "xnn_setup_fully_connected_nc_f32",
              xnn_setup_fully_connected_nc_f32(op, in.n, in.data, out.data, pool_));
        views_[l.output] = out;
        break;
      }
      case OpKind::kFlatten: {
        if (in.h * in.w == 1) {  // NHWC and NCHW agree: the same buffer
          views_[l.output] = in;
          return;
        }
        // The flattened vector is in NCHW order (what the next layer's weights expect).
        const View out = new_value(l.output, out_shape);
        views_[l.output] = out;
        steps.push_back([this, in, out](const ExecContext&) {
          nhwc_to_nchw(pool_, in.data, out.data, in.n, in.c, in.h * std::size_t(in.w), in.c);
        });
        return;
      }
      case OpKind::kSoftmax: {
        check(l, "xnn_create_softmax_nc_f32", xnn_create_softmax_nc_f32(in.c, in.c, in.c, 0, &op));
        const View out = new_value(l.output, out_shape);
        check(l, "xnn_setup_softmax_nc_f32",
              xnn_setup_softmax_nc_f32(op, in.pixels(), in.data, out.data, pool_));
        views_[l.output] = out;
        break;
      }
      case OpKind::kAdd: {
        const View b = views_[l.inputs[1]];
        const Range r = clamp_range(l.add().activation);
        check(l, "xnn_create_add_nd_f32", xnn_create_add_nd_f32(r.min, r.max, 0, &op));
        const View out = new_value(l.output, out_shape);
        const std::size_t shape[2] = {in.pixels(), static_cast<std::size_t>(in.c)};
        check(l, "xnn_setup_add_nd_f32",
              xnn_setup_add_nd_f32(op, 2, shape, 2, shape, in.data, b.data, out.data, pool_));
        views_[l.output] = out;
        break;
      }
      case OpKind::kRelu:
      case OpKind::kRelu6: {
        const Range r =
            clamp_range(l.op == OpKind::kRelu ? Activation::kRelu : Activation::kRelu6);
        check(l, "xnn_create_clamp_nc_f32",
              xnn_create_clamp_nc_f32(in.c, in.c, in.c, r.min, r.max, 0, &op));
        const View out = new_value(l.output, out_shape);
        check(l, "xnn_setup_clamp_nc_f32",
              xnn_setup_clamp_nc_f32(op, in.pixels(), in.data, out.data, pool_));
        views_[l.output] = out;
        break;
      }
      case OpKind::kReshape:  // declined by supports()
        throw Error("xnnpack: no mapping for reshape");
    }
    add_operator(l, steps, op);
  }

  void add_pool(const Layer& l, const View& in, std::vector<Step>& steps) {
    const Pool2dParams& p = l.pool();
    const Shape out_shape = graph().output_shape(l);
    const bool is_max = l.op == OpKind::kMaxPool;
    const Range r = clamp_range(Activation::kNone);
    xnn_operator_t op = nullptr;
    if (p.kernel_h == 1 && p.kernel_w == 1) {  // identity (stride 1, no padding: supports())
      check(l, "xnn_create_copy_nc_x32", xnn_create_copy_nc_x32(in.c, in.c, in.c, 0, &op));
      const View out = new_value(l.output, out_shape);
      check(l, "xnn_setup_copy_nc_x32",
            xnn_setup_copy_nc_x32(op, in.pixels(), in.data, out.data, pool_));
      views_[l.output] = out;
      add_operator(l, steps, op);
      return;
    }
    View src = in;
    int pad_h = p.pad_h, pad_w = p.pad_w;
    if (!is_max && p.count_include_pad && (pad_h > 0 || pad_w > 0)) {
      // Caffe counts the padding: make it real zeros, so XNNPACK counts it as input.
      const Shape padded{in.n, in.c, in.h + 2 * pad_h, in.w + 2 * pad_w};
      const int id = buffers_.acquire(padded.elements());
      scratch_.push_back(id);
      src = {buffers_.data(id), padded.n, padded.h, padded.w, padded.c,
             static_cast<std::size_t>(padded.c)};
      static const float zero = 0.0f;
      xnn_operator_t pad = nullptr;
      check(l, "xnn_create_constant_pad_nd_x32", xnn_create_constant_pad_nd_x32(&zero, 0, &pad));
      const std::size_t shape[4] = {std::size_t(in.n), std::size_t(in.h), std::size_t(in.w),
                                    std::size_t(in.c)};
      const std::size_t before[4] = {0, std::size_t(pad_h), std::size_t(pad_w), 0};
      check(l, "xnn_setup_constant_pad_nd_x32",
            xnn_setup_constant_pad_nd_x32(pad, 4, shape, before, before, in.data, src.data, pool_));
      add_operator(l, steps, pad);
      pad_h = pad_w = 0;
    }
    const int bottom = padding_after(src.h, p.kernel_h, p.stride_h, pad_h, out_shape.h);
    const int right = padding_after(src.w, p.kernel_w, p.stride_w, pad_w, out_shape.w);
    if (bottom < 0 || right < 0) throw Error("xnnpack: layer '" + l.name + "': pooled size");
    if (is_max) {
      check(l, "xnn_create_max_pooling2d_nhwc_f32",
            xnn_create_max_pooling2d_nhwc_f32(pad_h, right, bottom, pad_w, p.kernel_h, p.kernel_w,
                                              p.stride_h, p.stride_w, 1, 1, src.c, src.c, src.c,
                                              r.min, r.max, 0, &op));
    } else {
      check(l, "xnn_create_average_pooling2d_nhwc_f32",
            xnn_create_average_pooling2d_nhwc_f32(pad_h, right, bottom, pad_w, p.kernel_h,
                                                  p.kernel_w, p.stride_h, p.stride_w, src.c,
                                                  src.c, src.c, r.min, r.max, 0, &op));
    }
    const View out = new_value(l.output, out_shape);
    if (is_max) {
      check(l, "xnn_setup_max_pooling2d_nhwc_f32",
            xnn_setup_max_pooling2d_nhwc_f32(op, src.n, src.h, src.w, src.data, out.data, pool_));
    } else {
      check(l, "xnn_setup_average_pooling2d_nhwc_f32",
            xnn_setup_average_pooling2d_nhwc_f32(op, src.n, src.h, src.w, src.data, out.data,
                                                 pool_));
    }
    views_[l.output] = out;
    add_operator(l, steps, op);
    // The padded copy is only read by this layer.
    for (int id : scratch_) buffers_.release(id);
    scratch_.clear();
  }

  SegmentSpec spec_;
  pthreadpool_t pool_;
  BufferPool buffers_{XNN_EXTRA_BYTES / sizeof(float) + 16};
  std::vector<int> buffer_of_;  // by value: its buffer while live, -1 otherwise
  std::vector<ValueId> alias_;  // by value: the value whose buffer it shares, -1 for none
  std::vector<int> scratch_;
  std::vector<View> views_;
  std::vector<std::pair<ValueId, int>> slot_;  // by value: (its concat, channel offset) or -1
  std::vector<Operator> operators_;
  std::vector<LayerSteps> layers_;
};

struct PoolDeleter {
  void operator()(pthreadpool_t p) const { pthreadpool_destroy(p); }
};

class XnnpackBackend final : public Backend {
 public:
  std::string name() const override { return "xnnpack"; }

  Support supports(const Graph& g, const Layer& l) const override {
    switch (l.op) {
      case OpKind::kMaxPool:
      case OpKind::kAvgPool:
        if (!l.pool().symmetric()) return Support::no("asymmetric pooling padding is not mapped");
        return pool_support(g, l);
      case OpKind::kReshape: return Support::no("reshape (a copy) is left to the baseline");
      default: return Support::yes();
    }
  }

  std::unique_ptr<Segment> prepare(const SegmentSpec& spec, const ExecOptions& opts) override {
    if (!init_error().empty()) throw Unavailable("xnnpack: " + init_error());
    const int threads = std::max(1, opts.threads);
    auto& pool = pools_[threads];
    if (!pool) {
      pool.reset(pthreadpool_create(threads));
      if (!pool) throw Error("xnnpack: pthreadpool_create(" + std::to_string(threads) + ") failed");
    }
    threads_ = static_cast<int>(pthreadpool_get_threads_count(pool.get()));
    return std::make_unique<XnnSegment>(spec, pool.get());
  }

  // XNNPACK has no version call: its library file and package. Threads: the pool's own count.
  nlohmann::json settings() const override {
    nlohmann::json j = {
        {"library_version",
         platform::library_version_from_file(reinterpret_cast<void*>(&xnn_initialize))},
        {"pthreadpool", platform::library_version_from_file(
                            reinterpret_cast<void*>(&pthreadpool_get_threads_count))}};
    if (threads_ > 0) j["threads"] = threads_;
    return j;
  }

 private:
  int threads_ = 0;
  // One pool per thread count; segments keep a pointer, the backend outlives its engines.
  std::map<int, std::unique_ptr<pthreadpool, PoolDeleter>> pools_;
};

}  // namespace
}  // namespace libscout

LIBSCOUT_PLUGIN_PROVIDES("backend", "xnnpack");
LIBSCOUT_PLUGIN_ENTRY libscout_register_plugin(libscout::PluginRegistry& registry) {
  registry.add_backend({"xnnpack",
                        "XNNPACK operators in NHWC (convolution, pooling, fully connected, ...), "
                        "pthreadpool threads",
                        [] { return libscout::init_error(); },
                        [] { return std::make_unique<libscout::XnnpackBackend>(); }});
}
