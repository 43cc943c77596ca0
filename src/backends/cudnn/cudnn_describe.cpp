// CudnnSegment::describe: the settings that record what ran (library versions, math mode, CUDA
// graph, GPU, every layer's measured candidates, kernels per inference).
#include <map>
#include <string>

#include "backends/cudnn/cudnn_segment.h"

namespace libscout::cudnn {

namespace {

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

void CudnnSegment::describe(const ExecOptions& opts) {
  const cuda::GpuDescription gpu = cuda::describe_gpu();
  nlohmann::json& j = settings_;
  j["gpu"] = gpu.name + " (compute capability " + std::to_string(gpu.compute_major) + "." +
             std::to_string(gpu.compute_minor) + ")";
  j["cuda_runtime"] = cuda::version_string(gpu.runtime_version);
  const std::string cudnn = cudnn_version(), cublas = cublas_version(lib_->blas());
  j["cudnn_version"] = cudnn;
  j["cublas_version"] = cublas;
  // The row's own fields: the library's version, and one host thread driving the GPU.
  j["library_version"] = "cuDNN " + cudnn + ", cuBLAS " + cublas;
  j["threads"] = 1;
  j["math"] = opts.allow_tf32 ? "TF32 allowed (CUDNN_DEFAULT_MATH, CUBLAS_TF32_TENSOR_OP_MATH)"
                              : "FP32 (CUDNN_FMA_MATH, CUBLAS_DEFAULT_MATH: no TF32)";
  j["cuda_graph"] = opts.cuda_graph ? "on" : "off";
  j["graph_api_candidates"] = graph_api_enabled() ? "on" : "off (LIBSCOUT_CUDNN_GRAPH_API=0)";
  j["activation_memory"] = mib(build_.plan->arena_floats() * sizeof(float));
  j["workspace"] = mib(workspace_.bytes() + side_workspace_.bytes());
  j["concat_inputs_written_in_place"] = build_.plan->free_concat_inputs();
  int absorbed = 0;
  for (const PlannedLayer& pl : build_.plan->layers()) absorbed += !pl.runs;
  j["layers_absorbed"] = absorbed;
  j["micro_batches"] = micro_batch_report_;
  j["branch_concurrency"] = build_.streams_report;
  std::map<std::string, int> by_method;
  double sum_us = 0;
  for (const Op& op : build_.ops) {
    const Layer& l = build_.plan->graph().layers[op.id];
    j["layer." + l.name] = op.choice.report;
    sum_us += op.choice.device_us;
    if (l.op == OpKind::kConv2d) ++by_method[op.choice.name];
  }
  std::string methods;
  for (const auto& [name, count] : by_method) {
    methods += (methods.empty() ? "" : "; ") + std::to_string(count) + "x " + name;
  }
  j["convolutions"] = methods;
  j["layers_sum_us"] = sum_us;  // micro-batched layers: one micro-batch
  j["prepare_measured_ms"] = build_.ms;
  const std::string nodes = count_graph_nodes(
      [this](cudaStream_t s) { enqueue(s, build_, build_.two_streams); });
  if (!nodes.empty()) j["graph"] = nodes;
}

}  // namespace libscout::cudnn
