// `armcl-neon` and `armcl-cl`: whole layers through the Arm Compute Library's NEON and OpenCL
// functions (convolution, depthwise convolution, pooling, fully connected, activation, concat,
// softmax, batch norm, addition), built on ARM targets only (Debian ships ACL 20.08 for arm64 and
// armhf). armcl_network.h says how layers reach the library and why that code is a separate,
// C++17 translation unit.
//
// supports() asks ACL's own validate() (through a throw-away configuration of the one layer), so
// a layer the library cannot run with Caffe's semantics is declined with ACL's reason before the
// engine plans the segments, and runs on the fallback backend. prepare() configures the whole
// segment once (weights reshaped, algorithms chosen, tensors allocated); Segment::run() imports
// the values read from outside the segment (NCHW -> NHWC), runs the functions and exports the
// values read outside it (NHWC -> NCHW): the conversions are timed, as an application pays them.
//
// Threads: armcl-neon sizes ACL's NEON scheduler (one process-wide CPPScheduler) to
// ExecOptions::threads; the segment restores that count before it runs, since another engine may
// have changed it. armcl-cl runs on the OpenCL device's own parallelism; the host side (format
// conversions, enqueueing) is one thread.
#include <algorithm>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "backends/armcl/armcl_network.h"
#include "core/error.h"
#include "core/plugins.h"

namespace libscout {
namespace {

armcl::Act to_act(Activation a) {
  switch (a) {
    case Activation::kNone: return armcl::Act::kNone;
    case Activation::kRelu: return armcl::Act::kRelu;
    case Activation::kRelu6: return armcl::Act::kRelu6;
  }
  return armcl::Act::kNone;
}

armcl::Dims to_dims(const Shape& s) { return {s.n, s.c, s.h, s.w}; }

// The engine's layer as the ACL side describes it; pointers into the graph's constants.
armcl::LayerDesc describe(const Graph& g, const Layer& l) {
  armcl::LayerDesc d;
  d.name = l.name;
  d.inputs = l.inputs;
  for (ValueId v : l.inputs) d.input_dims.push_back(to_dims(g.shape(v)));
  d.output = l.output;
  d.output_dims = to_dims(g.shape(l.output));
  switch (l.op) {
    case OpKind::kConv2d: {
      const Conv2dParams& p = l.conv();
      d.kind = armcl::Kind::kConv;
      d.kernel_h = p.kernel_h, d.kernel_w = p.kernel_w;
      d.stride_h = p.stride_h, d.stride_w = p.stride_w;
      d.pad_top = p.pad_top, d.pad_left = p.pad_left;
      d.pad_bottom = p.pad_bottom, d.pad_right = p.pad_right;
      d.dilation_h = p.dilation_h, d.dilation_w = p.dilation_w;
      d.groups = p.groups, d.out_channels = p.out_channels;
      d.act = to_act(p.activation);
      break;
    }
    case OpKind::kMaxPool:
    case OpKind::kAvgPool: {
      const Pool2dParams& p = l.pool();
      d.kind = l.op == OpKind::kMaxPool ? armcl::Kind::kMaxPool : armcl::Kind::kAvgPool;
      d.kernel_h = p.kernel_h, d.kernel_w = p.kernel_w;
      d.stride_h = p.stride_h, d.stride_w = p.stride_w;
      d.pad_top = d.pad_bottom = p.pad_h;
      d.pad_left = d.pad_right = p.pad_w;
      d.ceil_mode = p.ceil_mode, d.count_include_pad = p.count_include_pad;
      break;
    }
    case OpKind::kGlobalAvgPool: d.kind = armcl::Kind::kGlobalAvgPool; break;
    case OpKind::kConcat: d.kind = armcl::Kind::kConcat; break;
    case OpKind::kFullyConnected:
      d.kind = armcl::Kind::kFullyConnected;
      d.out_channels = l.fc().out_features;
      d.act = to_act(l.fc().activation);
      break;
    case OpKind::kSoftmax: d.kind = armcl::Kind::kSoftmax; break;
    case OpKind::kBatchNorm: {
      const BatchNormParams& p = l.batch_norm();
      d.kind = armcl::Kind::kBatchNorm;
      d.mean = p.mean.data(), d.variance = p.variance.data();
      d.gamma = p.gamma.data(), d.beta = p.beta.data();
      d.epsilon = p.epsilon;
      break;
    }
    case OpKind::kAdd:
      d.kind = armcl::Kind::kAdd;
      d.act = to_act(l.add().activation);
      break;
    case OpKind::kFlatten: d.kind = armcl::Kind::kFlatten; break;
    case OpKind::kRelu: d.kind = armcl::Kind::kRelu; break;
    case OpKind::kRelu6: d.kind = armcl::Kind::kRelu6; break;
    case OpKind::kReshape: break;  // declined by supports()
  }
  if (!l.weight.empty()) d.weight = l.weight.data();
  if (!l.bias.empty()) d.bias = l.bias.data();
  return d;
}

class ArmclSegment final : public Segment {
 public:
  ArmclSegment(const std::string& backend, const SegmentSpec& spec, armcl::Target target,
               int threads)
      : network_(target, threads) {
    const Graph& g = *spec.graph;
    std::vector<bool> available(g.values.size(), false);  // produced or imported so far
    for (LayerId id : spec.layers) {
      const Layer& l = g.layers[id];
      Step step;
      step.layer = id;
      for (ValueId v : l.inputs) {
        if (available[v]) continue;
        network_.add_input(v, to_dims(g.shape(v)));
        step.imports.push_back(v);
        available[v] = true;
      }
      try {
        step.index = network_.add(describe(g, l));
      } catch (const std::runtime_error& e) {
        throw Error(backend + ": " + e.what());
      }
      available[l.output] = true;
      if (spec.exported[l.output]) step.exports.push_back(l.output);
      steps_.push_back(std::move(step));
    }
    try {
      network_.finish();
    } catch (const std::runtime_error& e) {
      throw Error(backend + ": preparing the segment failed: " + e.what());
    }
  }

  void run(const ExecContext& ctx) override {
    network_.ensure_threads();
    for (const Step& s : steps_) {
      if (ctx.profiler) ctx.profiler->begin(s.layer);
      for (ValueId v : s.imports) network_.import_nchw(v, ctx.data(v));
      network_.run_layer(s.index);
      for (ValueId v : s.exports) network_.export_nchw(v, ctx.data(v));
      if (ctx.profiler) {
        network_.sync();  // OpenCL: the layer's time, not its enqueueing
        ctx.profiler->end(s.layer);
      }
    }
    network_.sync();
  }

 private:
  struct Step {
    LayerId layer = -1;
    int index = -1;
    std::vector<ValueId> imports, exports;
  };
  armcl::Network network_;
  std::vector<Step> steps_;
};

class ArmclBackend final : public Backend {
 public:
  ArmclBackend(std::string name, armcl::Target target) : name_(std::move(name)), target_(target) {}

  std::string name() const override { return name_; }

  Support supports(const Graph& g, const Layer& l) const override {
    if (l.op == OpKind::kReshape) return Support::no("reshape (a copy) is left to the baseline");
    if ((l.op == OpKind::kMaxPool || l.op == OpKind::kAvgPool) && !l.pool().symmetric()) {
      return Support::no("asymmetric pooling padding is not mapped");
    }
    const std::string why = armcl::check_layer(target_, describe(g, l));
    if (why.empty()) return Support::yes();
    return Support::no(why);
  }

  std::unique_ptr<Segment> prepare(const SegmentSpec& spec, const ExecOptions& opts) override {
    const std::string why = armcl::unavailable_reason(target_);
    if (!why.empty()) throw Unavailable(name_ + ": " + why);
    try {
      return std::make_unique<ArmclSegment>(name_, spec, target_, std::max(1, opts.threads));
    } catch (const std::runtime_error& e) {
      if (dynamic_cast<const Error*>(&e) != nullptr) throw;
      throw Error(name_ + ": " + e.what());  // e.g. OpenCL initialization
    }
  }

 private:
  std::string name_;
  armcl::Target target_;
};

}  // namespace
}  // namespace libscout

LIBSCOUT_PLUGIN_PROVIDES("backend", "armcl-neon");
LIBSCOUT_PLUGIN_PROVIDES("backend", "armcl-cl");
LIBSCOUT_PLUGIN_ENTRY libscout_register_plugin(libscout::PluginRegistry& registry) {
  using libscout::armcl::Target;
  registry.add_backend(
      {"armcl-neon",
       libscout::armcl::version(Target::kNeon) +
           ": NEON functions in NHWC (convolution, depthwise, pooling, fully connected, ...), "
           "its CPPScheduler threads",
       [] { return libscout::armcl::unavailable_reason(Target::kNeon); },
       [] { return std::make_unique<libscout::ArmclBackend>("armcl-neon", Target::kNeon); }});
  registry.add_backend(
      {"armcl-cl",
       libscout::armcl::version(Target::kOpenCL) +
           ": OpenCL functions in NHWC on the first OpenCL device (a Mali GPU on the paper's "
           "boards)",
       [] { return libscout::armcl::unavailable_reason(Target::kOpenCL); },
       [] { return std::make_unique<libscout::ArmclBackend>("armcl-cl", Target::kOpenCL); }});
}
