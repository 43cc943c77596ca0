#include "backends/cudnn/cudnn_segment.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>

#include "backends/cudnn/cudnn_layers.h"

namespace libscout::cudnn {

namespace {

// cuDNN's find call may use up to this much scratch memory per convolution (less when the GPU
// has less free).
constexpr std::size_t kWorkspaceLimit = std::size_t(256) << 20;

std::string memory_state() {
  std::size_t free_b = 0, total_b = 0;
  if (cudaMemGetInfo(&free_b, &total_b) != cudaSuccess) {
    cudaGetLastError();
    return "GPU memory unknown";
  }
  return mib(free_b) + " free of " + mib(total_b);
}

// Nodes of the CUDA graph that one inference records into (kernels, copies), by capturing it once
// more; "" where capture fails.
std::string count_graph_nodes(const std::function<void(cudaStream_t)>& enqueue) {
  cuda::Stream stream;
  if (cudaStreamBeginCapture(stream.get(), cudaStreamCaptureModeThreadLocal) != cudaSuccess) {
    return "";
  }
  cudaGraph_t graph = nullptr;
  try {
    enqueue(stream.get());
  } catch (const Error&) {
  }
  if (cudaStreamEndCapture(stream.get(), &graph) != cudaSuccess || graph == nullptr) {
    cudaGetLastError();
    return "";
  }
  std::size_t count = 0;
  cudaGraphGetNodes(graph, nullptr, &count);
  std::vector<cudaGraphNode_t> nodes(count);
  cudaGraphGetNodes(graph, nodes.data(), &count);
  int kernels = 0, copies = 0;
  for (cudaGraphNode_t n : nodes) {
    cudaGraphNodeType t{};
    cudaGraphNodeGetType(n, &t);
    kernels += t == cudaGraphNodeTypeKernel;
    copies += t == cudaGraphNodeTypeMemcpy;
  }
  cudaGraphDestroy(graph);
  return std::to_string(count) + " nodes: " + std::to_string(kernels) + " kernels, " +
         std::to_string(copies) + " copies, " + std::to_string(count - kernels - copies) +
         " other";
}

}  // namespace

CudnnSegment::CudnnSegment(const SegmentSpec& spec, const ExecOptions& opts,
                           std::shared_ptr<Library> lib, std::shared_ptr<Library> side_lib)
    : plan_(spec), lib_(std::move(lib)), side_lib_(std::move(side_lib)) {
  allocate(spec);
  choose_all(opts);
  choose_concurrency(opts);
  describe(opts);
}

void CudnnSegment::allocate(const SegmentSpec& spec) {
  const Graph& g = plan_.graph();
  const int batch = g.shape(g.input).n;
  try {
    arena_.resize(std::max<std::size_t>(plan_.arena_floats(), 1));
  } catch (const Error& e) {
    throw Error("cudnn: out of GPU memory: the activations of this model at batch " +
                std::to_string(batch) + " need " + mib(plan_.arena_floats() * sizeof(float)) +
                " on the GPU (" + memory_state() + "); use a smaller batch (" + e.what() + ")");
  }
  std::size_t free_b = 0, total_b = 0;
  check(cudaMemGetInfo(&free_b, &total_b), "cudaMemGetInfo");
  try {
    workspace_.buffer.resize(std::min(kWorkspaceLimit, free_b / 4));
    for (ValueId v : plan_.uploads()) {
      uploads_.push_back({v, plan_.view(v, arena_.get()),
                          cuda::PinnedBuffer<float>(g.shape(v).elements())});
    }
    for (ValueId v : plan_.downloads()) {
      downloads_.push_back({v, plan_.view(v, arena_.get()),
                            cuda::PinnedBuffer<float>(g.shape(v).elements())});
    }
  } catch (const Error& e) {
    throw Error(std::string("cudnn: out of memory at batch ") + std::to_string(batch) + " (" +
                memory_state() + "): " + e.what());
  }
  (void)spec;
}

void CudnnSegment::choose_all(const ExecOptions& opts) {
  // Candidates must agree with the check within this relative L2 error (TF32 rounds to 10 bits).
  const double tolerance = opts.allow_tf32 ? 5e-3 : 1e-5;
  Chooser chooser(*lib_, workspace_, opts.cuda_graph, tolerance);
  std::size_t workspace_used = 0;
  for (const PlannedLayer& pl : plan_.layers()) {
    if (!pl.runs) continue;
    const Layer& l = *pl.layer;
    if (l.op == OpKind::kConcat &&
        std::none_of(pl.copy_input.begin(), pl.copy_input.end(), [](bool b) { return b; })) {
      continue;  // every input was written in place: nothing left to do
    }
    LayerContext ctx{pl, {}, plan_.view(pl.output, arena_.get()), *lib_, workspace_,
                     chooser.stream()};
    for (ValueId v : l.inputs) ctx.inputs.push_back(plan_.view(v, arena_.get()));
    try {
      std::vector<Candidate> candidates;
      switch (l.op) {
        case OpKind::kConv2d: candidates = conv_candidates(ctx); break;
        case OpKind::kFullyConnected: candidates = fully_connected_candidates(ctx); break;
        case OpKind::kMaxPool:
        case OpKind::kAvgPool:
        case OpKind::kGlobalAvgPool: candidates = pool_candidates(ctx); break;
        default: candidates = other_candidates(ctx); break;
      }
      Choice c = chooser.choose(std::move(candidates), ctx.inputs, ctx.output,
                                static_cast<std::uint32_t>(pl.id) * 2654435761U);
      workspace_used = std::max(workspace_used, c.workspace);
      ops_.push_back({pl.id, std::move(c), pl.concurrent_with_next});
    } catch (const Error& e) {
      throw Error("cudnn: layer '" + l.name + "' (" + op_name(l.op) + "): " + e.what());
    }
  }
  workspace_.buffer.resize(workspace_used);  // the graph records the final address
}

// One inference on stream s; with `concurrent`, the second convolution of each independent pair
// runs on the side stream (forked after everything before the pair, joined before what follows).
void CudnnSegment::enqueue(cudaStream_t s, bool concurrent) {
  lib_->bind(s);
  const Exec e{lib_.get(), s, &workspace_};
  const Exec side{side_lib_.get(), side_stream_.get(), &side_workspace_};
  if (concurrent) side_lib_->bind(side.stream);
  for (const Transfer& t : uploads_) {
    check(cudaMemcpyAsync(t.view.base, t.staging.get(), t.staging.size() * sizeof(float),
                          cudaMemcpyHostToDevice, s),
          "uploading the input");
  }
  for (std::size_t k = 0; k < ops_.size(); ++k) {
    if (concurrent && ops_[k].concurrent_with_next && k + 1 < ops_.size()) {
      fork_.record(s);
      check(cudaStreamWaitEvent(side.stream, fork_.get(), 0), "cudaStreamWaitEvent");
      ops_[k + 1].choice.run(side);
      ops_[k].choice.run(e);
      join_.record(side.stream);
      check(cudaStreamWaitEvent(s, join_.get(), 0), "cudaStreamWaitEvent");
      ++k;
      continue;
    }
    ops_[k].choice.run(e);
  }
  for (const Transfer& t : downloads_) {
    const DeviceView& v = t.view;
    check(cudaMemcpy2DAsync(t.staging.get(), v.image_elements() * sizeof(float), v.base,
                            v.batch_stride * sizeof(float), v.image_elements() * sizeof(float),
                            v.n, cudaMemcpyDeviceToHost, s),
          "downloading an output");
  }
}

// The inference recorded on one stream and, where the plan found independent pairs, on two; the
// two-stream version is kept when it gives exactly the same outputs and is faster.
void CudnnSegment::choose_concurrency(const ExecOptions& opts) {
  auto one = std::make_unique<cuda::ReplayableWork>(
      [this](cudaStream_t s) { enqueue(s, false); }, opts.cuda_graph);
  if (plan_.concurrent_pairs() == 0 || !side_lib_) {
    work_ = std::move(one);
    concurrency_ = "off: no independent convolutions to overlap";
    return;
  }
  std::size_t side_bytes = 0;
  for (std::size_t k = 0; k + 1 < ops_.size(); ++k) {
    if (ops_[k].concurrent_with_next) {
      side_bytes = std::max(side_bytes, ops_[k + 1].choice.workspace);
    }
  }
  side_workspace_.buffer.resize(side_bytes);
  auto two = std::make_unique<cuda::ReplayableWork>(
      [this](cudaStream_t s) { enqueue(s, true); }, opts.cuda_graph);
  std::uint32_t state = 12345;
  for (Transfer& t : uploads_) {
    for (std::size_t i = 0; i < t.staging.size(); ++i) {
      state = state * 1664525u + 1013904223u;
      t.staging.get()[i] = static_cast<float>(state >> 8) / 8388608.0f - 1.0f;
    }
  }
  auto outputs = [this] {
    std::vector<float> all;
    for (const Transfer& t : downloads_) {
      all.insert(all.end(), t.staging.get(), t.staging.get() + t.staging.size());
    }
    return all;
  };
  auto best_ms = [](cuda::ReplayableWork& w) {
    double best = w.run_and_wait();
    for (int i = 0; i < 10; ++i) best = std::min(best, w.run_and_wait());
    return best;
  };
  const double one_ms = best_ms(*one);
  const std::vector<float> want = outputs();
  const double two_ms = best_ms(*two);
  const bool same = outputs() == want;
  char buf[200];
  std::snprintf(buf, sizeof buf,
                "%d pairs of independent convolutions: %.4f ms on two streams, %.4f ms on one%s",
                plan_.concurrent_pairs(), two_ms, one_ms,
                same ? "" : "; two streams gave other outputs");
  const bool use_two = same && two_ms < one_ms;
  concurrency_ = std::string(use_two ? "on: " : "off: ") + buf;
  work_ = use_two ? std::move(two) : std::move(one);
}

void CudnnSegment::run(const ExecContext& ctx) {
  for (Transfer& t : uploads_) {
    std::memcpy(t.staging.get(), ctx.data(t.value), t.staging.size() * sizeof(float));
  }
  if (ctx.profiler != nullptr) {
    run_profiled(ctx);
  } else {
    last_ms_ = work_->run_and_wait();
  }
  for (Transfer& t : downloads_) {
    std::memcpy(ctx.data(t.value), t.staging.get(), t.staging.size() * sizeof(float));
  }
}

// Layer by layer, waiting for each: the per-layer table's times (absorbed layers take none).
void CudnnSegment::run_profiled(const ExecContext& ctx) {
  const cudaStream_t s = work_->stream();
  lib_->bind(s);
  const Exec e{lib_.get(), s, &workspace_};
  start_.record(s);
  for (const Transfer& t : uploads_) {
    check(cudaMemcpyAsync(t.view.base, t.staging.get(), t.staging.size() * sizeof(float),
                          cudaMemcpyHostToDevice, s),
          "uploading the input");
  }
  check(cudaStreamSynchronize(s), "cudaStreamSynchronize");
  auto op = ops_.begin();
  for (const PlannedLayer& pl : plan_.layers()) {
    ctx.profiler->begin(pl.id);
    if (op != ops_.end() && op->id == pl.id) {
      op->choice.run(e);
      ++op;
      check(cudaStreamSynchronize(s), "cudaStreamSynchronize");
    }
    ctx.profiler->end(pl.id);
  }
  for (const Transfer& t : downloads_) {
    const DeviceView& v = t.view;
    check(cudaMemcpy2DAsync(t.staging.get(), v.image_elements() * sizeof(float), v.base,
                            v.batch_stride * sizeof(float), v.image_elements() * sizeof(float),
                            v.n, cudaMemcpyDeviceToHost, s),
          "downloading an output");
  }
  stop_.record(s);
  check(cudaStreamSynchronize(s), "cudaStreamSynchronize");
  last_ms_ = cuda::elapsed_ms(start_, stop_);
  lib_->bind(work_->stream());
}

void CudnnSegment::describe(const ExecOptions& opts) {
  const cuda::GpuDescription gpu = cuda::describe_gpu();
  nlohmann::json& j = settings_;
  j["gpu"] = gpu.name + " (compute capability " + std::to_string(gpu.compute_major) + "." +
             std::to_string(gpu.compute_minor) + ")";
  j["cuda_runtime"] = cuda::version_string(gpu.runtime_version);
  j["cudnn_version"] = cudnn_version();
  j["cublas_version"] = cublas_version(lib_->blas());
  j["math"] = opts.allow_tf32 ? "TF32 allowed (CUDNN_DEFAULT_MATH, CUBLAS_TF32_TENSOR_OP_MATH)"
                              : "FP32 (CUDNN_FMA_MATH, CUBLAS_DEFAULT_MATH: no TF32)";
  j["cuda_graph"] = opts.cuda_graph ? "on" : "off";
  j["graph_api_candidates"] = graph_api_enabled() ? "on" : "off (LIBSCOUT_CUDNN_GRAPH_API=0)";
  j["activation_memory"] = mib(plan_.arena_floats() * sizeof(float));
  j["workspace"] = mib(workspace_.bytes());
  j["concat_inputs_written_in_place"] = plan_.free_concat_inputs();
  int absorbed = 0;
  for (const PlannedLayer& pl : plan_.layers()) absorbed += !pl.runs;
  j["layers_absorbed"] = absorbed;
  std::map<std::string, int> by_method;
  double sum_us = 0;
  for (const Op& op : ops_) {
    const Layer& l = plan_.graph().layers[op.id];
    j["layer." + l.name] = op.choice.report;
    sum_us += op.choice.device_us;
    if (l.op == OpKind::kConv2d) ++by_method[op.choice.name];
  }
  std::string methods;
  for (const auto& [name, count] : by_method) {
    methods += (methods.empty() ? "" : "; ") + std::to_string(count) + "x " + name;
  }
  j["convolutions"] = methods;
  j["layers_sum_us"] = sum_us;
  j["branch_concurrency"] = concurrency_;
  const bool two = concurrency_.rfind("on", 0) == 0;
  const std::string nodes = count_graph_nodes([this, two](cudaStream_t s) { enqueue(s, two); });
  if (!nodes.empty()) j["graph"] = nodes;
}

}  // namespace libscout::cudnn
