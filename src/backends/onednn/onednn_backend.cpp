// `onednn`: whole layers through oneDNN primitives, in the memory formats oneDNN chooses.
//
// prepare() creates one primitive per layer with `format_tag::any` where oneDNN may choose
// (convolution source, weights and destination; pooling and fully connected destinations), so a
// convolution's output stays in the blocked layout (nChw8c, nChw16c) that the next layer reads.
// Weights are reordered into the chosen layout once, there. A reorder is added only where a
// layout really changes: a value read from outside the segment (NCHW) into a primitive that
// wants another layout, two inputs of an add that disagree, and the values exported to other
// segments or to the caller (back to NCHW). Those reorders run in run() and are timed.
//
// Threads: Debian's oneDNN uses OpenMP (DNNL_CPU_RUNTIME OMP); the segment sets the calling
// thread's OpenMP team size (omp_set_num_threads) to ExecOptions::threads before it creates its
// primitives (oneDNN sizes some kernels' work split then) and before every run.
//
// Caffe's pooling on oneDNN: the ceil-mode output size comes from extra right padding. oneDNN's
// "include padding" average divides by the whole window, Caffe's by the window clipped to the
// padded input; where these differ (a ceil-mode window past the padding) the layer is declined
// and falls back, unless there is no padding at all, where "exclude padding" is Caffe's count.
#include <oneapi/dnnl/dnnl.hpp>
#ifdef LIBSCOUT_ONEDNN_OPENMP
#include <omp.h>
#endif

#include <algorithm>
#include <cmath>
#include <string>
#include <unordered_map>
#include <vector>

#include "backends/common/buffer_pool.h"
#include "core/error.h"
#include "core/plugins.h"

namespace libscout {
namespace {

using dnnl::algorithm;
using dnnl::memory;
using dnnl::prop_kind;
using tag = memory::format_tag;
constexpr auto f32 = memory::data_type::f32;

void set_threads(int threads) {
#ifdef LIBSCOUT_ONEDNN_OPENMP
  omp_set_num_threads(std::max(1, threads));
#else
  (void)threads;
#endif
}

// The team size OpenMP really gives a parallel region of this thread (after set_threads): what
// oneDNN's primitives run on. 0 when oneDNN does not use OpenMP here.
int openmp_team_size() {
#ifdef LIBSCOUT_ONEDNN_OPENMP
  int team = 0;
#pragma omp parallel
  {
#pragma omp single
    team = omp_get_num_threads();
  }
  return team;
#else
  return 0;
#endif
}

std::string runtime_version() {
  const dnnl_version_t* v = dnnl_version();
  return "oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
         std::to_string(v->patch) + (v->hash != nullptr ? std::string(" (") + v->hash + ")" : "");
}

std::string engine_error() {
  try {
    if (dnnl::engine::get_count(dnnl::engine::kind::cpu) == 0) return "oneDNN reports no CPU engine";
    dnnl::engine e(dnnl::engine::kind::cpu, 0);
    return {};
  } catch (const dnnl::error& e) {
    return std::string("oneDNN CPU engine: ") + e.what();
  }
}

memory::dims dims4(const Shape& s) { return {s.n, s.c, s.h, s.w}; }

// The engine's NCHW layout for a memory of the given dimensions (2-D values are (N, C)).
memory::desc plain_desc(const memory::dims& d) {
  return memory::desc(d, f32, d.size() == 2 ? tag::nc : tag::nchw);
}

// The right padding that makes oneDNN's floor((in + left + right - k) / s) + 1 equal Caffe's
// output size; -1 when none below the kernel size does (oneDNN's limit).
int right_padding(int in, int kernel, int stride, int left, int out) {
  for (int right = 0; right < kernel; ++right) {
    const int padded = in + left + right;
    if (padded >= kernel && (padded - kernel) / stride + 1 == out) return right;
  }
  return -1;
}

struct PoolPlan {
  algorithm alg = algorithm::pooling_max;
  int pad_bottom = 0, pad_right = 0;
  std::string why_not;  // non-empty: oneDNN cannot give Caffe's result
};

PoolPlan plan_pool(const Graph& g, const Layer& l) {
  const Pool2dParams& p = l.pool();
  const Shape in = g.input_shape(l), out = g.output_shape(l);
  PoolPlan plan;
  if (p.pad_h >= p.kernel_h || p.pad_w >= p.kernel_w) {
    plan.why_not = "oneDNN pooling needs padding smaller than the window";
    return plan;
  }
  plan.pad_bottom = right_padding(in.h, p.kernel_h, p.stride_h, p.pad_h, out.h);
  plan.pad_right = right_padding(in.w, p.kernel_w, p.stride_w, p.pad_w, out.w);
  if (plan.pad_bottom < 0 || plan.pad_right < 0) {
    plan.why_not = "no oneDNN padding gives Caffe's pooled size";
    return plan;
  }
  if (l.op == OpKind::kMaxPool) return plan;
  if (!p.count_include_pad || (p.pad_h == 0 && p.pad_w == 0)) {
    // Without padding Caffe's count is the window clipped to the input: oneDNN's exclude count.
    plan.alg = algorithm::pooling_avg_exclude_padding;
    return plan;
  }
  if (plan.pad_bottom > p.pad_h || plan.pad_right > p.pad_w) {
    plan.why_not =
        "average pooling counting padding with a ceil-mode window past the padding: oneDNN "
        "divides by the whole window, Caffe by the part inside the padded input";
    return plan;
  }
  plan.alg = algorithm::pooling_avg_include_padding;
  return plan;
}

void add_activation(dnnl::post_ops& po, Activation a) {
  if (a == Activation::kRelu) po.append_eltwise(1.0f, algorithm::eltwise_relu, 0.0f, 0.0f);
  if (a == Activation::kRelu6) po.append_eltwise(1.0f, algorithm::eltwise_clip, 0.0f, 6.0f);
}

dnnl::primitive_attr activation_attr(Activation a) {
  dnnl::post_ops po;
  add_activation(po, a);
  dnnl::primitive_attr attr;
  attr.set_post_ops(po);
  return attr;
}

class DnnlSegment final : public Segment {
 public:
  DnnlSegment(const SegmentSpec& spec, const ExecOptions& opts, const dnnl::engine& engine)
      : spec_(spec), threads_(std::max(1, opts.threads)), engine_(engine), stream_(engine) {
    set_threads(threads_);
    try {
      build();
    } catch (const dnnl::error& e) {
      throw Error(std::string("onednn: ") + e.what() + " (while preparing layer '" + current_ +
                  "')");
    }
  }

  void run(const ExecContext& ctx) override {
    set_threads(threads_);
    for (auto& [mem, v] : bound_) {
      if (mem.get_data_handle() != ctx.data(v)) mem.set_data_handle(ctx.data(v));
    }
    for (LayerExecs& l : layers_) {
      if (ctx.profiler) ctx.profiler->begin(l.id);
      for (Exec& e : l.execs) e.primitive.execute(stream_, e.args);
      if (ctx.profiler) {
        stream_.wait();
        ctx.profiler->end(l.id);
      }
    }
    stream_.wait();
  }

 private:
  struct Exec {
    dnnl::primitive primitive;
    std::unordered_map<int, memory> args;
  };
  struct LayerExecs {
    LayerId id;
    std::vector<Exec> execs;
  };
  struct Reordered {
    ValueId value;
    memory::desc desc;
    memory mem;
  };

  const Graph& graph() const { return *spec_.graph; }

  void build() {
    const Graph& g = graph();
    std::vector<int> last_use(g.values.size(), -1);
    for (std::size_t i = 0; i < spec_.layers.size(); ++i) {
      for (ValueId v : g.layers[spec_.layers[i]].inputs) last_use[v] = static_cast<int>(i);
    }
    values_.assign(g.values.size(), memory());
    buffer_of_.assign(g.values.size(), -1);
    for (std::size_t i = 0; i < spec_.layers.size(); ++i) {
      const Layer& l = g.layers[spec_.layers[i]];
      current_ = l.name;
      LayerExecs le{spec_.layers[i], {}};
      add_layer(l, le.execs);
      if (spec_.exported[l.output]) {
        const memory src = values_[l.output];
        memory dst(plain_desc(src.get_desc().dims()), engine_, DNNL_MEMORY_NONE);
        bound_.emplace_back(dst, l.output);
        le.execs.push_back({dnnl::reorder(src, dst), {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, dst}}});
      }
      for (ValueId v : l.inputs) {
        if (last_use[v] == static_cast<int>(i) && buffer_of_[v] >= 0) {
          buffers_.release(buffer_of_[v]);
          buffer_of_[v] = -1;
        }
      }
      if (last_use[l.output] < 0 && buffer_of_[l.output] >= 0) {  // exported only
        buffers_.release(buffer_of_[l.output]);
        buffer_of_[l.output] = -1;
      }
      layers_.push_back(std::move(le));
    }
    stream_.wait();
  }

  // A layer's output in the pooled activation buffers.
  memory new_value(ValueId v, const memory::desc& desc) {
    const int id = buffers_.acquire((desc.get_size() + sizeof(float) - 1) / sizeof(float));
    buffer_of_[v] = id;
    values_[v] = memory(desc, engine_, buffers_.data(id));
    return values_[v];
  }

  // A value as its producer left it; values from outside the segment are the engine's NCHW.
  memory source(ValueId v) {
    if (values_[v]) return values_[v];
    memory m(plain_desc(dims4(graph().shape(v))), engine_, DNNL_MEMORY_NONE);
    bound_.emplace_back(m, v);
    values_[v] = m;
    return m;
  }

  // `v` in the layout `want`, reordered (in run()) where it is held in another.
  memory as(ValueId v, const memory::desc& want, std::vector<Exec>& execs) {
    memory m = source(v);
    if (m.get_desc() == want) return m;
    for (const Reordered& r : reordered_) {
      if (r.value == v && r.desc == want) return r.mem;
    }
    memory dst(want, engine_);
    execs.push_back({dnnl::reorder(m, dst), {{DNNL_ARG_FROM, m}, {DNNL_ARG_TO, dst}}});
    reordered_.push_back({v, want, dst});
    return dst;
  }

  // Constant data (weights, bias) reordered once, now, into the layout the primitive chose.
  memory constant(const memory::desc& user, const float* data, const memory::desc& want) {
    memory src(user, engine_, const_cast<float*>(data));
    memory dst(want, engine_);
    dnnl::reorder(src, dst).execute(stream_, src, dst);
    stream_.wait();
    constants_.push_back(dst);
    return dst;
  }

  memory vector_constant(const std::vector<float>& values) {
    const memory::desc d({static_cast<memory::dim>(values.size())}, f32, tag::x);
    return constant(d, values.data(), d);
  }

  void add_layer(const Layer& l, std::vector<Exec>& execs) {
    const Graph& g = graph();
    const Shape in = g.input_shape(l), out = g.output_shape(l);
    switch (l.op) {
      case OpKind::kConv2d: return add_conv(l, execs);
      case OpKind::kMaxPool:
      case OpKind::kAvgPool:
      case OpKind::kGlobalAvgPool: return add_pool(l, execs);
      case OpKind::kConcat: {
        std::vector<memory::desc> descs;
        std::vector<memory> srcs;
        for (ValueId v : l.inputs) {
          srcs.push_back(source(v));
          descs.push_back(srcs.back().get_desc());
        }
        dnnl::concat::primitive_desc pd(1, descs, engine_);
        Exec e{dnnl::concat(pd), {}};
        for (std::size_t i = 0; i < srcs.size(); ++i) {
          e.args[DNNL_ARG_MULTIPLE_SRC + static_cast<int>(i)] = srcs[i];
        }
        e.args[DNNL_ARG_DST] = new_value(l.output, pd.dst_desc());
        execs.push_back(std::move(e));
        return;
      }
      case OpKind::kFullyConnected: {
        const FullyConnectedParams& p = l.fc();
        const memory src = source(l.inputs[0]);
        const bool four_d = src.get_desc().dims().size() == 4;
        const memory::dims wdims = four_d ? memory::dims{p.out_features, in.c, in.h, in.w}
                                          : memory::dims{p.out_features, in.c * in.h * in.w};
        const memory::dims odims{in.n, p.out_features};
        const memory::desc wany(wdims, f32, tag::any), dany(odims, f32, tag::any);
        const memory::desc bdesc({p.out_features}, f32, tag::x);
        auto desc = l.bias.empty()
                        ? dnnl::inner_product_forward::desc(prop_kind::forward_inference,
                                                            src.get_desc(), wany, dany)
                        : dnnl::inner_product_forward::desc(prop_kind::forward_inference,
                                                            src.get_desc(), wany, bdesc, dany);
        dnnl::inner_product_forward::primitive_desc pd(desc, activation_attr(p.activation),
                                                       engine_);
        Exec e{dnnl::inner_product_forward(pd), {}};
        e.args[DNNL_ARG_SRC] = as(l.inputs[0], pd.src_desc(), execs);
        e.args[DNNL_ARG_WEIGHTS] = constant(
            memory::desc(wdims, f32, four_d ? tag::oihw : tag::oi), l.weight.data(),
            pd.weights_desc());
        if (!l.bias.empty()) {
          e.args[DNNL_ARG_BIAS] = constant(bdesc, l.bias.data(), pd.bias_desc());
        }
        e.args[DNNL_ARG_DST] = new_value(l.output, pd.dst_desc());
        execs.push_back(std::move(e));
        return;
      }
      case OpKind::kFlatten: {
        // To NCHW (a reorder, or a copy when it is NCHW already), seen as (N, C*H*W).
        const memory src = source(l.inputs[0]);
        const memory::dims d = src.get_desc().dims();
        memory::dim features = 1;
        for (std::size_t i = 1; i < d.size(); ++i) features *= d[i];
        const memory::desc flat({d[0], features}, f32, tag::nc);
        const memory dst = new_value(l.output, flat);
        const memory plain(plain_desc(d), engine_, dst.get_data_handle());
        execs.push_back(
            {dnnl::reorder(src, plain), {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, plain}}});
        return;
      }
      case OpKind::kSoftmax: {
        const memory::desc want = plain_desc(source(l.inputs[0]).get_desc().dims());
        const memory src = as(l.inputs[0], want, execs);
        dnnl::softmax_forward::primitive_desc pd(
            dnnl::softmax_forward::desc(prop_kind::forward_inference, want, 1), engine_);
        execs.push_back({dnnl::softmax_forward(pd),
                         {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, new_value(l.output, pd.dst_desc())}}});
        return;
      }
      case OpKind::kAdd: {
        const memory a = source(l.inputs[0]);
        const memory b = as(l.inputs[1], a.get_desc(), execs);
        dnnl::binary::primitive_desc pd(
            dnnl::binary::desc(algorithm::binary_add, a.get_desc(), a.get_desc(), a.get_desc()),
            activation_attr(l.add().activation), engine_);
        execs.push_back({dnnl::binary(pd),
                         {{DNNL_ARG_SRC_0, a},
                          {DNNL_ARG_SRC_1, b},
                          {DNNL_ARG_DST, new_value(l.output, pd.dst_desc())}}});
        return;
      }
      case OpKind::kRelu:
      case OpKind::kRelu6: {
        const memory src = source(l.inputs[0]);
        const bool relu = l.op == OpKind::kRelu;
        dnnl::eltwise_forward::primitive_desc pd(
            dnnl::eltwise_forward::desc(prop_kind::forward_inference,
                                        relu ? algorithm::eltwise_relu : algorithm::eltwise_clip,
                                        src.get_desc(), 0.0f, relu ? 0.0f : 6.0f),
            engine_);
        execs.push_back({dnnl::eltwise_forward(pd),
                         {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, new_value(l.output, pd.dst_desc())}}});
        return;
      }
      case OpKind::kBatchNorm: {
        const BatchNormParams& p = l.batch_norm();
        const memory src = source(l.inputs[0]);
        const auto flags = dnnl::normalization_flags::use_global_stats |
                           dnnl::normalization_flags::use_scale |
                           dnnl::normalization_flags::use_shift;
        dnnl::batch_normalization_forward::primitive_desc pd(
            dnnl::batch_normalization_forward::desc(prop_kind::forward_inference, src.get_desc(),
                                                    p.epsilon, flags),
            engine_);
        execs.push_back({dnnl::batch_normalization_forward(pd),
                         {{DNNL_ARG_SRC, src},
                          {DNNL_ARG_MEAN, vector_constant(p.mean)},
                          {DNNL_ARG_VARIANCE, vector_constant(p.variance)},
                          {DNNL_ARG_SCALE, vector_constant(p.gamma)},
                          {DNNL_ARG_SHIFT, vector_constant(p.beta)},
                          {DNNL_ARG_DST, new_value(l.output, pd.dst_desc())}}});
        return;
      }
      case OpKind::kReshape: break;  // declined by supports()
    }
    (void)out;
    throw Error("onednn: no mapping for op " + std::string(op_name(l.op)));
  }

  void add_conv(const Layer& l, std::vector<Exec>& execs) {
    const Conv2dParams& p = l.conv();
    const Shape in = graph().input_shape(l), out = graph().output_shape(l);
    const memory::dims wdims =
        p.groups == 1 ? memory::dims{p.out_channels, in.c, p.kernel_h, p.kernel_w}
                      : memory::dims{p.groups, p.out_channels / p.groups, in.c / p.groups,
                                     p.kernel_h, p.kernel_w};
    const memory::desc src_any(dims4(in), f32, tag::any), dst_any(dims4(out), f32, tag::any);
    const memory::desc w_any(wdims, f32, tag::any), bdesc({p.out_channels}, f32, tag::x);
    const memory::dims strides{p.stride_h, p.stride_w};
    const memory::dims dilates{p.dilation_h - 1, p.dilation_w - 1};
    const memory::dims pad_l{p.pad_top, p.pad_left}, pad_r{p.pad_bottom, p.pad_right};
    auto desc = l.bias.empty()
                    ? dnnl::convolution_forward::desc(
                          prop_kind::forward_inference, algorithm::convolution_direct, src_any,
                          w_any, dst_any, strides, dilates, pad_l, pad_r)
                    : dnnl::convolution_forward::desc(
                          prop_kind::forward_inference, algorithm::convolution_direct, src_any,
                          w_any, bdesc, dst_any, strides, dilates, pad_l, pad_r);
    dnnl::convolution_forward::primitive_desc pd(desc, activation_attr(p.activation), engine_);
    Exec e{dnnl::convolution_forward(pd), {}};
    e.args[DNNL_ARG_SRC] = as(l.inputs[0], pd.src_desc(), execs);
    e.args[DNNL_ARG_WEIGHTS] =
        constant(memory::desc(wdims, f32, p.groups == 1 ? tag::oihw : tag::goihw),
                 l.weight.data(), pd.weights_desc());
    if (!l.bias.empty()) e.args[DNNL_ARG_BIAS] = constant(bdesc, l.bias.data(), pd.bias_desc());
    e.args[DNNL_ARG_DST] = new_value(l.output, pd.dst_desc());
    execs.push_back(std::move(e));
  }

  void add_pool(const Layer& l, std::vector<Exec>& execs) {
    const Shape in = graph().input_shape(l), out = graph().output_shape(l);
    memory::dims kernel{in.h, in.w}, strides{1, 1}, pad_l{0, 0}, pad_r{0, 0};
    algorithm alg = algorithm::pooling_avg_exclude_padding;
    if (l.op != OpKind::kGlobalAvgPool) {
      const Pool2dParams& p = l.pool();
      const PoolPlan plan = plan_pool(graph(), l);
      if (!plan.why_not.empty()) throw Error("onednn: layer '" + l.name + "': " + plan.why_not);
      kernel = {p.kernel_h, p.kernel_w};
      strides = {p.stride_h, p.stride_w};
      pad_l = {p.pad_h, p.pad_w};
      pad_r = {plan.pad_bottom, plan.pad_right};
      alg = plan.alg;
    }
    const memory src = source(l.inputs[0]);
    const memory::desc dst_any(dims4(out), f32, tag::any);
    dnnl::pooling_forward::primitive_desc pd(
        dnnl::pooling_forward::desc(prop_kind::forward_inference, alg, src.get_desc(), dst_any,
                                    strides, kernel, pad_l, pad_r),
        engine_);
    execs.push_back({dnnl::pooling_forward(pd),
                     {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, new_value(l.output, pd.dst_desc())}}});
  }

  SegmentSpec spec_;
  int threads_;
  dnnl::engine engine_;
  dnnl::stream stream_;
  BufferPool buffers_;
  std::vector<int> buffer_of_;
  std::vector<memory> values_;  // by value: as its producer left it (or the engine's NCHW)
  std::vector<Reordered> reordered_;
  std::vector<memory> constants_;
  std::vector<std::pair<memory, ValueId>> bound_;  // memories on the engine's buffers
  std::vector<LayerExecs> layers_;
  std::string current_;
};

class OnednnBackend final : public Backend {
 public:
  OnednnBackend() : engine_(dnnl::engine::kind::cpu, 0) {}

  std::string name() const override { return "onednn"; }

  Support supports(const Graph& g, const Layer& l) const override {
    if (l.op == OpKind::kReshape) return Support::no("reshape (a copy) is left to the baseline");
    if (l.op == OpKind::kMaxPool || l.op == OpKind::kAvgPool) {
      if (!l.pool().symmetric()) return Support::no("asymmetric pooling padding is not mapped");
      const PoolPlan plan = plan_pool(g, l);
      if (!plan.why_not.empty()) return Support::no(plan.why_not);
    }
    return Support::yes();
  }

  std::unique_ptr<Segment> prepare(const SegmentSpec& spec, const ExecOptions& opts) override {
    auto segment = std::make_unique<DnnlSegment>(spec, opts, engine_);
    team_ = openmp_team_size();  // the segment has just set this thread's team size
    return segment;
  }

  nlohmann::json settings() const override {
    nlohmann::json j = {{"library_version", runtime_version()}};
    if (team_ > 0) j["threads"] = team_;
    return j;
  }

 private:
  dnnl::engine engine_;
  int team_ = 0;
};

}  // namespace
}  // namespace libscout

LIBSCOUT_PLUGIN_PROVIDES("backend", "onednn");
LIBSCOUT_PLUGIN_ENTRY libscout_register_plugin(libscout::PluginRegistry& registry) {
  registry.add_backend({"onednn",
                        "oneDNN " + std::to_string(DNNL_VERSION_MAJOR) + "." +
                            std::to_string(DNNL_VERSION_MINOR) +
                            " primitives in its blocked layouts, OpenMP threads",
                        [] { return libscout::engine_error(); },
                        [] { return std::make_unique<libscout::OnednnBackend>(); }});
}
