// `cudnn`: whole CNN inference on an NVIDIA GPU through cuDNN 9 and cuBLAS, the paper's TX2
// baseline. Every layer of the engine's op set runs on the GPU; the segment (cudnn_segment.h)
// chooses each layer's method by measuring it in prepare(), keeps every intermediate on the
// device, and replays one CUDA graph per inference.
//
// FP32 by default: convolutions with CUDNN_FMA_MATH and cuBLAS in its default math, so no TF32
// tensor-core rounding; ExecOptions::allow_tf32 lets both use TF32. settings() records the
// library versions, the math mode, CUDA graphs on or off, the GPU and each layer's choice with
// the measured time of every candidate.
#include <algorithm>
#include <memory>
#include <string>

#include "backends/cudnn/cudnn_segment.h"
#include "core/plugins.h"

namespace libscout::cudnn {
namespace {

class CudnnBackend final : public Backend {
 public:
  std::string name() const override { return "cudnn"; }
  DeviceKind device() const override { return DeviceKind::kGpu; }

  Support supports(const Graph& g, const Layer& l) const override {
    // The segment runs every value as `batch` images of the input's batch (micro-batches split
    // them): a value that an imported model regroups across the batch axis (a reshape from
    // [3, 4, 5] to [1, 60], say) is left to another backend.
    const int batch = g.shape(g.input).n;
    const bool regrouped =
        g.shape(l.output).n != batch ||
        std::any_of(l.inputs.begin(), l.inputs.end(),
                    [&](ValueId v) { return g.shape(v).n != batch; });
    if (regrouped) {
      return Support::no("a tensor whose batch dimension differs from the input's (" +
                         std::to_string(batch) + "): values regrouped across images are not mapped");
    }
    switch (l.op) {
      case OpKind::kConv2d:
      case OpKind::kRelu:
      case OpKind::kRelu6:
      case OpKind::kGlobalAvgPool:
      case OpKind::kConcat:
      case OpKind::kFullyConnected:
      case OpKind::kSoftmax:
      case OpKind::kBatchNorm:
      case OpKind::kAdd:
      case OpKind::kFlatten: return Support::yes();
      case OpKind::kMaxPool:
      case OpKind::kAvgPool:
        if (l.pool().symmetric()) return Support::yes();
        return Support::no("asymmetric pooling padding is not mapped");
      case OpKind::kReshape: break;
    }
    return Support::no(std::string("no cuDNN mapping for ") + op_name(l.op));
  }

  std::unique_ptr<Segment> prepare(const SegmentSpec& spec, const ExecOptions& opts) override {
    if (!lib_ || lib_->allow_tf32() != opts.allow_tf32) {
      lib_ = std::make_shared<Library>(opts.allow_tf32);
      side_lib_ = std::make_shared<Library>(opts.allow_tf32);  // a second stream's handles
    }
    auto segment = std::make_unique<CudnnSegment>(spec, opts, lib_, side_lib_);
    for (const auto& [key, value] : segment->settings().items()) settings_[key] = value;
    return segment;
  }

  nlohmann::json settings() const override { return settings_; }

 private:
  std::shared_ptr<Library> lib_, side_lib_;
  nlohmann::json settings_ = nlohmann::json::object();
};

std::string unavailable_reason() {
  const std::size_t loaded = cudnnGetVersion();
  if (loaded / 10000 != CUDNN_MAJOR) {
    return "cuDNN " + cudnn_version() + " is loaded, this plugin was built for cuDNN " +
           std::to_string(CUDNN_MAJOR);
  }
  return cuda::unavailable_reason();
}

}  // namespace
}  // namespace libscout::cudnn

LIBSCOUT_PLUGIN_ENTRY libscout_register_plugin(libscout::PluginRegistry& registry) {
  registry.add_backend(
      {"cudnn",
       "cuDNN " + libscout::cudnn::cudnn_version() +
           " on the GPU: convolution algorithms measured in prepare (find call, fused "
           "bias+activation, cuBLAS for 1x1), concat in place, one CUDA graph per inference",
       [] { return libscout::cudnn::unavailable_reason(); },
       [] { return std::make_unique<libscout::cudnn::CudnnBackend>(); },
       libscout::DeviceKind::kGpu});
}
LIBSCOUT_PLUGIN_PROVIDES("backend", "cudnn");
