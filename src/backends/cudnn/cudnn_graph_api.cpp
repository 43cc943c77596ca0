#include "backends/cudnn/cudnn_graph_api.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>

namespace libscout::cudnn {

namespace {

// One backend descriptor, destroyed with its last owner.
class BackendDesc {
 public:
  explicit BackendDesc(cudnnBackendDescriptorType_t type) {
    check(cudnnBackendCreateDescriptor(type, &d_), "cudnnBackendCreateDescriptor");
  }
  ~BackendDesc() { cudnnBackendDestroyDescriptor(d_); }
  BackendDesc(const BackendDesc&) = delete;
  BackendDesc& operator=(const BackendDesc&) = delete;
  cudnnBackendDescriptor_t get() const { return d_; }

  template <class T>
  void set(cudnnBackendAttributeName_t name, cudnnBackendAttributeType_t type, std::int64_t count,
           const T* values, const char* what) {
    check(cudnnBackendSetAttribute(d_, name, type, count, values), what);
  }
  void set_desc(cudnnBackendAttributeName_t name, const BackendDesc& value, const char* what) {
    cudnnBackendDescriptor_t v = value.get();
    check(cudnnBackendSetAttribute(d_, name, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &v), what);
  }
  void finalize(const char* what) { check(cudnnBackendFinalize(d_), what); }

 private:
  cudnnBackendDescriptor_t d_ = nullptr;
};
using Desc = std::shared_ptr<BackendDesc>;

Desc make(cudnnBackendDescriptorType_t type) { return std::make_shared<BackendDesc>(type); }

enum Uid : std::int64_t { kX = 1, kW, kConvOut, kBias, kBiasOut, kY };

// The largest power of two up to 16 that divides every image's start address (a concat slice
// may start anywhere a float can).
std::int64_t alignment_of(const void* base, std::int64_t batch_stride_floats) {
  const auto bits = reinterpret_cast<std::uintptr_t>(base) |
                    static_cast<std::uintptr_t>(batch_stride_floats * sizeof(float)) | 16u;
  return static_cast<std::int64_t>(bits & (~bits + 1));
}

Desc tensor(std::int64_t uid, const std::vector<std::int64_t>& dims,
            const std::vector<std::int64_t>& strides, bool is_virtual,
            std::int64_t alignment = 16) {
  Desc t = make(CUDNN_BACKEND_TENSOR_DESCRIPTOR);
  const cudnnDataType_t f32 = CUDNN_DATA_FLOAT;
  t->set(CUDNN_ATTR_TENSOR_DATA_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &f32, "tensor data type");
  t->set(CUDNN_ATTR_TENSOR_DIMENSIONS, CUDNN_TYPE_INT64, 4, dims.data(), "tensor dimensions");
  t->set(CUDNN_ATTR_TENSOR_STRIDES, CUDNN_TYPE_INT64, 4, strides.data(), "tensor strides");
  t->set(CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, 1, &uid, "tensor id");
  t->set(CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT, CUDNN_TYPE_INT64, 1, &alignment, "tensor alignment");
  const bool v = is_virtual;
  t->set(CUDNN_ATTR_TENSOR_IS_VIRTUAL, CUDNN_TYPE_BOOLEAN, 1, &v, "tensor virtual flag");
  t->finalize("finalizing a tensor descriptor");
  return t;
}

Desc view_tensor(std::int64_t uid, const DeviceView& v, bool is_virtual) {
  const std::int64_t hw = static_cast<std::int64_t>(v.h) * v.w;
  const std::int64_t batch = is_virtual ? v.c * hw : v.batch_stride;
  return tensor(uid, {v.n, v.c, v.h, v.w}, {batch, hw, v.w, 1}, is_virtual,
                alignment_of(v.base, v.batch_stride));
}

Desc pointwise(cudnnPointwiseMode_t mode, Act act) {
  Desc d = make(CUDNN_BACKEND_POINTWISE_DESCRIPTOR);
  const cudnnDataType_t f32 = CUDNN_DATA_FLOAT;
  d->set(CUDNN_ATTR_POINTWISE_MODE, CUDNN_TYPE_POINTWISE_MODE, 1, &mode, "pointwise mode");
  d->set(CUDNN_ATTR_POINTWISE_MATH_PREC, CUDNN_TYPE_DATA_TYPE, 1, &f32, "pointwise precision");
  if (mode == CUDNN_POINTWISE_RELU_FWD) {
    const double lower = 0.0;
    const double upper = act == Act::kRelu6 ? 6.0 : double(std::numeric_limits<float>::max());
    d->set(CUDNN_ATTR_POINTWISE_RELU_LOWER_CLIP, CUDNN_TYPE_DOUBLE, 1, &lower, "relu lower clip");
    d->set(CUDNN_ATTR_POINTWISE_RELU_UPPER_CLIP, CUDNN_TYPE_DOUBLE, 1, &upper, "relu upper clip");
  }
  d->finalize("finalizing a pointwise descriptor");
  return d;
}

Desc pointwise_op(const Desc& pw, const Desc& x, const Desc* b, const Desc& y) {
  Desc op = make(CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR);
  op->set_desc(CUDNN_ATTR_OPERATION_POINTWISE_PW_DESCRIPTOR, *pw, "pointwise op descriptor");
  op->set_desc(CUDNN_ATTR_OPERATION_POINTWISE_XDESC, *x, "pointwise op x");
  if (b != nullptr) op->set_desc(CUDNN_ATTR_OPERATION_POINTWISE_BDESC, **b, "pointwise op b");
  op->set_desc(CUDNN_ATTR_OPERATION_POINTWISE_YDESC, *y, "pointwise op y");
  op->finalize("finalizing a pointwise operation");
  return op;
}

Desc conv_op(const ConvProblem& pr, const Desc& x, const Desc& w, const Desc& y) {
  const Conv2dParams& p = *pr.params;
  Desc conv = make(CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR);
  const std::int64_t dims = 2;
  const cudnnDataType_t f32 = CUDNN_DATA_FLOAT;
  const cudnnConvolutionMode_t mode = CUDNN_CROSS_CORRELATION;
  const std::int64_t pre[] = {p.pad_top, p.pad_left}, post[] = {p.pad_bottom, p.pad_right};
  const std::int64_t dil[] = {p.dilation_h, p.dilation_w}, str[] = {p.stride_h, p.stride_w};
  conv->set(CUDNN_ATTR_CONVOLUTION_SPATIAL_DIMS, CUDNN_TYPE_INT64, 1, &dims, "spatial dims");
  conv->set(CUDNN_ATTR_CONVOLUTION_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &f32, "compute type");
  conv->set(CUDNN_ATTR_CONVOLUTION_CONV_MODE, CUDNN_TYPE_CONVOLUTION_MODE, 1, &mode, "conv mode");
  conv->set(CUDNN_ATTR_CONVOLUTION_PRE_PADDINGS, CUDNN_TYPE_INT64, 2, pre, "pre paddings");
  conv->set(CUDNN_ATTR_CONVOLUTION_POST_PADDINGS, CUDNN_TYPE_INT64, 2, post, "post paddings");
  conv->set(CUDNN_ATTR_CONVOLUTION_DILATIONS, CUDNN_TYPE_INT64, 2, dil, "dilations");
  conv->set(CUDNN_ATTR_CONVOLUTION_FILTER_STRIDES, CUDNN_TYPE_INT64, 2, str, "strides");
  conv->finalize("finalizing the convolution descriptor");
  Desc op = make(CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR);
  const float alpha = 1.0f, beta = 0.0f;
  op->set_desc(CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_X, *x, "conv op x");
  op->set_desc(CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_W, *w, "conv op w");
  op->set_desc(CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_Y, *y, "conv op y");
  op->set_desc(CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_CONV_DESC, *conv, "conv op descriptor");
  op->set(CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_ALPHA, CUDNN_TYPE_FLOAT, 1, &alpha, "alpha");
  op->set(CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_BETA, CUDNN_TYPE_FLOAT, 1, &beta, "beta");
  op->finalize("finalizing the convolution operation");
  return op;
}

// The operations of one graph and every descriptor they need kept alive.
struct OpGraph {
  std::vector<Desc> keep;
  Desc graph;
  bool fused = false;  // bias and activation inside; else the convolution alone
};

OpGraph build_graph(const ConvProblem& pr, cudnnHandle_t handle, bool fused) {
  const Conv2dParams& p = *pr.params;
  OpGraph g;
  g.fused = fused;
  const Desc x = view_tensor(kX, pr.x, false);
  const Desc w = tensor(kW, {p.out_channels, pr.x.c / p.groups, p.kernel_h, p.kernel_w},
                        {static_cast<std::int64_t>(pr.x.c / p.groups) * p.kernel_h * p.kernel_w,
                         p.kernel_h * p.kernel_w, p.kernel_w, 1},
                        false);
  std::vector<Desc> ops;
  if (!fused) {
    const Desc y = view_tensor(kY, pr.y, false);
    ops.push_back(conv_op(pr, x, w, y));
    g.keep = {x, w, y};
  } else {
    const Desc conv_out = view_tensor(kConvOut, pr.y, true);
    const Desc bias = tensor(kBias, {1, pr.y.c, 1, 1}, {pr.y.c, 1, 1, 1}, false);
    const Desc y = view_tensor(kY, pr.y, false);
    ops.push_back(conv_op(pr, x, w, conv_out));
    const Desc add = pointwise(CUDNN_POINTWISE_ADD, Act::kNone);
    if (pr.act == Act::kNone) {
      ops.push_back(pointwise_op(add, conv_out, &bias, y));
      g.keep = {x, w, conv_out, bias, y, add};
    } else {
      const Desc biased = view_tensor(kBiasOut, pr.y, true);
      const Desc relu = pointwise(CUDNN_POINTWISE_RELU_FWD, pr.act);
      ops.push_back(pointwise_op(add, conv_out, &bias, biased));
      ops.push_back(pointwise_op(relu, biased, nullptr, y));
      g.keep = {x, w, conv_out, bias, y, add, biased, relu};
    }
  }
  g.graph = make(CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR);
  std::vector<cudnnBackendDescriptor_t> raw;
  for (const Desc& op : ops) raw.push_back(op->get());
  g.graph->set(CUDNN_ATTR_OPERATIONGRAPH_HANDLE, CUDNN_TYPE_HANDLE, 1, &handle, "graph handle");
  g.graph->set(CUDNN_ATTR_OPERATIONGRAPH_OPS, CUDNN_TYPE_BACKEND_DESCRIPTOR,
               static_cast<std::int64_t>(raw.size()), raw.data(), "graph operations");
  g.graph->finalize("finalizing the operation graph");
  g.keep.insert(g.keep.end(), ops.begin(), ops.end());
  return g;
}

// Engine configurations from one heuristics mode, best first.
std::vector<Desc> heuristic_configs(const OpGraph& g, cudnnBackendHeurMode_t mode) {
  Desc heur = make(CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR);
  heur->set_desc(CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH, *g.graph, "heuristics graph");
  heur->set(CUDNN_ATTR_ENGINEHEUR_MODE, CUDNN_TYPE_HEUR_MODE, 1, &mode, "heuristics mode");
  heur->finalize("finalizing the heuristics query");
  std::int64_t count = 0;
  check(cudnnBackendGetAttribute(heur->get(), CUDNN_ATTR_ENGINEHEUR_RESULTS,
                                 CUDNN_TYPE_BACKEND_DESCRIPTOR, 0, &count, nullptr),
        "counting heuristics results");
  std::vector<Desc> configs;
  std::vector<cudnnBackendDescriptor_t> raw;
  for (std::int64_t i = 0; i < count; ++i) {
    configs.push_back(make(CUDNN_BACKEND_ENGINECFG_DESCRIPTOR));
    raw.push_back(configs.back()->get());
  }
  if (count > 0) {
    check(cudnnBackendGetAttribute(heur->get(), CUDNN_ATTR_ENGINEHEUR_RESULTS,
                                   CUDNN_TYPE_BACKEND_DESCRIPTOR, count, &count, raw.data()),
          "reading heuristics results");
  }
  configs.resize(static_cast<std::size_t>(count));
  return configs;
}

struct EngineInfo {
  std::int64_t index = -1;
  bool tensor_core = false, reduced_precision = false, runtime_compiled = false;
};

EngineInfo engine_info(const Desc& config) {
  Desc engine = make(CUDNN_BACKEND_ENGINE_DESCRIPTOR);
  cudnnBackendDescriptor_t raw = engine->get();
  std::int64_t n = 0;
  check(cudnnBackendGetAttribute(config->get(), CUDNN_ATTR_ENGINECFG_ENGINE,
                                 CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &n, &raw),
        "reading an engine config's engine");
  EngineInfo info;
  check(cudnnBackendGetAttribute(raw, CUDNN_ATTR_ENGINE_GLOBAL_INDEX, CUDNN_TYPE_INT64, 1, &n,
                                 &info.index),
        "reading an engine index");
  cudnnBackendNumericalNote_t notes[CUDNN_NUMERICAL_NOTE_TYPE_COUNT];
  const cudnnStatus_t got_notes =
      cudnnBackendGetAttribute(raw, CUDNN_ATTR_ENGINE_NUMERICAL_NOTE, CUDNN_TYPE_NUMERICAL_NOTE,
                               CUDNN_NUMERICAL_NOTE_TYPE_COUNT, &n, notes);
  if (got_notes == CUDNN_STATUS_SUCCESS) {
    for (std::int64_t i = 0; i < n; ++i) {
      info.tensor_core |= notes[i] == CUDNN_NUMERICAL_NOTE_TENSOR_CORE;
      info.reduced_precision |= notes[i] == CUDNN_NUMERICAL_NOTE_DOWN_CONVERT_INPUTS ||
                                notes[i] == CUDNN_NUMERICAL_NOTE_REDUCED_PRECISION_REDUCTION;
    }
  }
  cudnnBackendBehaviorNote_t behavior[CUDNN_BEHAVIOR_NOTE_TYPE_COUNT];
  if (cudnnBackendGetAttribute(raw, CUDNN_ATTR_ENGINE_BEHAVIOR_NOTE, CUDNN_TYPE_BEHAVIOR_NOTE,
                               CUDNN_BEHAVIOR_NOTE_TYPE_COUNT, &n, behavior) ==
      CUDNN_STATUS_SUCCESS) {
    for (std::int64_t i = 0; i < n; ++i) {
      info.runtime_compiled |= behavior[i] == CUDNN_BEHAVIOR_NOTE_RUNTIME_COMPILATION;
    }
  }
  return info;
}

Candidate failing(std::string name, std::string why) {
  return {std::move(name), 0, [why](const Exec&) -> void { throw Error(why); }};
}

// A finalized execution plan of one engine config, run with a variant pack built per call (the
// workspace's address is only final when the segment captures its graph).
Candidate plan_candidate(const ConvProblem& pr, const OpGraph& g, const Desc& config,
                         const EngineInfo& info, cudnnHandle_t handle) {
  Desc plan = make(CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR);
  plan->set(CUDNN_ATTR_EXECUTION_PLAN_HANDLE, CUDNN_TYPE_HANDLE, 1, &handle, "plan handle");
  plan->set_desc(CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG, *config, "plan engine config");
  plan->finalize("finalizing the execution plan");
  std::int64_t workspace = 0, n = 0;
  check(cudnnBackendGetAttribute(plan->get(), CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE,
                                 CUDNN_TYPE_INT64, 1, &n, &workspace),
        "reading the plan's workspace size");
  Candidate c;
  c.name = "cudnn graph engine " + std::to_string(info.index) +
           (g.fused ? " fused conv+bias" + std::string(pr.act == Act::kRelu6  ? "+relu6"
                                                       : pr.act == Act::kRelu ? "+relu"
                                                                              : "")
                    : " conv" + std::string(pr.has_bias || pr.act != Act::kNone
                                                ? " + bias/activation kernel"
                                                : ""));
  c.workspace = static_cast<std::size_t>(workspace);
  std::vector<Desc> keep = g.keep;
  keep.push_back(g.graph);
  keep.push_back(config);
  const bool fused = g.fused;
  c.run = [pr, plan, keep, fused](const Exec& e) {
    const std::int64_t uids[4] = {kX, kW, kY, kBias};
    const DeviceView x = at(pr.x, e), y = at(pr.y, e);
    void* ptrs[4] = {x.base, const_cast<float*>(pr.weight), y.base, const_cast<float*>(pr.bias)};
    const std::int64_t count = fused ? 4 : 3;
    void* ws = e.workspace->data();
    BackendDesc pack(CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR);
    pack.set(CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, CUDNN_TYPE_INT64, count, uids, "pack ids");
    pack.set(CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS, CUDNN_TYPE_VOID_PTR, count, ptrs,
             "pack pointers");
    pack.set(CUDNN_ATTR_VARIANT_PACK_WORKSPACE, CUDNN_TYPE_VOID_PTR, 1, &ws, "pack workspace");
    pack.finalize("finalizing the variant pack");
    check(cudnnBackendExecute(e.lib->dnn(), plan->get(), pack.get()), "cudnnBackendExecute");
    if (!fused) bias_activation(y, pr.has_bias ? pr.bias : nullptr, pr.act, e.stream);
  };
  return c;
}

}  // namespace

std::vector<Candidate> graph_api_conv_candidates(const ConvProblem& pr, Library& lib,
                                                 int max_per_graph) {
  std::vector<Candidate> out;
  for (bool fused : {true, false}) {
    const char* what = fused ? "cudnn graph conv+bias+activation" : "cudnn graph conv";
    OpGraph g;
    try {
      g = build_graph(pr, lib.dnn(), fused);
    } catch (const Error& e) {
      out.push_back(failing(what, std::string("no operation graph: ") + e.what()));
      continue;
    }
    int taken = 0, runtime_compiled = 0;
    std::vector<std::int64_t> seen;
    for (cudnnBackendHeurMode_t mode : {CUDNN_HEUR_MODE_A, CUDNN_HEUR_MODE_FALLBACK}) {
      std::vector<Desc> configs;
      try {
        configs = heuristic_configs(g, mode);
      } catch (const Error& e) {
        out.push_back(failing(what, std::string("heuristics: ") + e.what()));
        continue;
      }
      for (const Desc& config : configs) {
        if (taken >= max_per_graph) break;
        try {
          const EngineInfo info = engine_info(config);
          if (std::find(seen.begin(), seen.end(), info.index) != seen.end()) continue;
          seen.push_back(info.index);
          if (info.reduced_precision) continue;
          if (info.tensor_core && !lib.allow_tf32()) continue;
          // Runtime-compiled engines compile with NVRTC when their plan is built: seconds each,
          // a minute for a network. They are left out (and counted in the report).
          if (info.runtime_compiled) {
            ++runtime_compiled;
            continue;
          }
          out.push_back(plan_candidate(pr, g, config, info, lib.dnn()));
          ++taken;
        } catch (const Error& e) {
          out.push_back(failing(what, e.what()));
        }
      }
    }
    if (runtime_compiled > 0) {
      out.push_back(failing(std::string(what) + ": " + std::to_string(runtime_compiled) +
                                " runtime-compiled engine(s)",
                            "not tried (NVRTC compilation in prepare takes seconds each)"));
    }
    if (taken == 0) {
      out.push_back(failing(what, "cuDNN's heuristics proposed no FP32 engine for this graph"));
    }
  }
  return out;
}

}  // namespace libscout::cudnn
