// `gemm:cublas`: Caffe's GPU mode, the paper's baseline on NVIDIA GPUs. Convolutions are im2col
// (a CUDA kernel) plus cuBLAS SGEMM, every other op a CUDA kernel; weights are uploaded once in
// prepare() and every intermediate value stays on the device (layer_ops.h, gpu_segment.h). One
// inference is captured into a CUDA graph in prepare() (ExecOptions::cuda_graph) and replayed.
//
// This plugin's backend replaces the CPU-side gemm:cublas that the registry would otherwise build
// from the cublas GEMM provider (which copies every operand to the GPU and back on every call).
#include <memory>
#include <string>

#include "backends/gemm_cublas/cublas_context.h"
#include "backends/gemm_cublas/gpu_segment.h"
#include "backends/gemm_cublas/layer_ops.h"
#include "core/error.h"
#include "core/plugins.h"
#include "cuda/cuda_runtime_util.h"

namespace libscout::gemm_cublas {
namespace {

class GemmCublasBackend final : public Backend {
 public:
  std::string name() const override { return "gemm:cublas"; }
  DeviceKind device() const override { return DeviceKind::kGpu; }

  Support supports(const Graph& g, const Layer& l) const override {
    const std::string why = unsupported_reason(g, l);
    return why.empty() ? Support::yes() : Support::no(why);
  }

  std::unique_ptr<Segment> prepare(const SegmentSpec& spec, const ExecOptions& opts) override {
    if (const std::string why = cuda::unavailable_reason(); !why.empty()) {
      throw Unavailable("gemm:cublas: " + why);
    }
    if (!blas_) blas_ = std::make_shared<CublasContext>();
    auto segment = std::make_unique<GpuSegment>(spec, opts, blas_);
    prepared_ = true;
    graph_ = segment->uses_graph();
    tf32_ = opts.allow_tf32;
    return segment;
  }

  nlohmann::json settings() const override {
    nlohmann::json s = nlohmann::json::object();
    s["convolution"] = "im2col + cuBLAS SGEMM per image (groups: one strided-batched call)";
    if (!prepared_) return s;
    s["cuda_graph"] = graph_ ? "on" : "off";
    s["math"] = tf32_ ? "TF32" : "FP32";
    s["cublas"] = cublas_version();
    // The row's own fields: the library's version, and one host thread driving the GPU.
    s["library_version"] = "cuBLAS " + cublas_version();
    s["threads"] = 1;
    const cuda::GpuDescription gpu = cuda::describe_gpu();
    s["gpu"] = gpu.name;
    s["compute_capability"] =
        std::to_string(gpu.compute_major) + "." + std::to_string(gpu.compute_minor);
    s["cuda_driver"] = cuda::version_string(gpu.driver_version);
    s["cuda_runtime"] = cuda::version_string(gpu.runtime_version);
    return s;
  }

 private:
  std::shared_ptr<CublasContext> blas_;  // shared with the segments, which may outlive us
  bool prepared_ = false, graph_ = false, tf32_ = false;
};

}  // namespace
}  // namespace libscout::gemm_cublas

LIBSCOUT_PLUGIN_PROVIDES("backend", "gemm:cublas");

LIBSCOUT_PLUGIN_ENTRY libscout_register_plugin(libscout::PluginRegistry& registry) {
  libscout::BackendFactory f;
  f.name = "gemm:cublas";
  f.description =
      "Caffe's GPU mode: im2col kernel + cuBLAS SGEMM, every layer on the GPU, CUDA graphs";
  f.unavailable_reason = [] { return libscout::cuda::unavailable_reason(); };
  f.create = [] { return std::make_unique<libscout::gemm_cublas::GemmCublasBackend>(); };
  f.device = libscout::DeviceKind::kGpu;
  registry.add_backend(std::move(f));
}
LIBSCOUT_PLUGIN_PROVIDES("backend", "gemm:cublas");
