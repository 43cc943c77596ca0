// `native`: whole layers on libscout's own kernels, NCHW at the segment's boundary and inside.
//
// Convolutions (conv_kernels.h): 3x3 depthwise and 3x3 with few input channels with direct vector
// kernels; the others as a GEMM (1x1 straight on the activations, others through im2col, either way
// round) or, 3x3 stride 1, Winograd F(4x4, 3x3), whichever of them is fastest on this CPU, timed in
// prepare (conv_select.h). All GEMMs run the native SGEMM's micro-kernel on weights packed once in
// prepare, with bias and activation applied to each output tile as it is finished. Fully connected
// layers: a matrix-vector kernel at batch 1, the native SGEMM otherwise; 3x3 max pooling, global
// average pooling and additions have kernels of their own (other_kernels.h); concats are done by
// the engine in place where it can (the producers write their slices of the output), other concats,
// softmax and the rest run on the portable float ops of the reference (reference_ops.h), as the
// gemm:* backends do.
// Threads: one native SGEMM thread pool of ExecOptions::threads per backend, shared by every
// kernel; the vector kernels are the fastest build this CPU runs (simd_kernels.h).
#include <map>
#include <string>

#include "backends/common/layer_segment.h"
#include "backends/native/conv_select.h"
#include "backends/native/other_kernels.h"
#include "core/plugins.h"

namespace libscout {
namespace {

using native_nn::ConvAlgorithm;

class NativeBackend final : public Backend {
 public:
  std::string name() const override { return "native"; }

  Support supports(const Graph&, const Layer&) const override { return Support::yes(); }
  bool concat_in_place() const override { return true; }  // NCHW everywhere

  std::unique_ptr<Segment> prepare(const SegmentSpec& spec, const ExecOptions& opts) override {
    const int threads = std::max(1, opts.threads);
    auto& pool = pools_[threads];
    if (!pool) {
      using Pool = gemm::native::ThreadPool;
      pool = std::make_unique<Pool>(threads, Pool::Wait::kSpin);  // layer after layer
    }
    threads_ = pool->threads();
    native_nn::KernelEnv env{pool.get(), native_nn::default_packed_gemm(),
                             &native_nn::best_simd_kernels(), &scratch_};
    auto segment = std::make_unique<LayerSegment>();
    for (LayerId id : spec.layers) {
      const Layer& l = spec.graph->layers[id];
      if (l.op == OpKind::kConv2d) {
        ConvAlgorithm a = ConvAlgorithm::kGemm;
        auto kernel = choices_.make(*spec.graph, l, env, a);
        ++algorithm_counts_[native_nn::conv_algorithm_name(a)];
        segment->add(id, std::move(kernel));
      } else {
        segment->add(id, native_nn::make_other_kernel(*spec.graph, l, env));
      }
    }
    ukernel_ = std::string(env.gemm.kernel->name);
    simd_ = env.simd->name;
    return segment;
  }

  // The kernels chosen: the SGEMM micro-kernel, the vector build, and how many convolutions of
  // the prepared segments use each algorithm ("winograd_f4x4 13, gemm 7").
  nlohmann::json settings() const override {
    nlohmann::json j = {{"library_version", "libscout native 1"}};
    if (threads_ > 0) j["threads"] = threads_;
    if (threads_ > 1) j["pool_wait"] = "spin";  // workers spin between layers (ThreadPool::Wait)
    if (!ukernel_.empty()) j["ukernel"] = ukernel_;
    if (!simd_.empty()) j["simd"] = simd_;
    std::string convs;
    for (const auto& [name, count] : algorithm_counts_) {
      convs += (convs.empty() ? "" : ", ") + name + " " + std::to_string(count);
    }
    if (!convs.empty()) j["conv_algorithms"] = convs;
    return j;
  }

 private:
  int threads_ = 0;
  std::string ukernel_, simd_;
  std::map<std::string, int> algorithm_counts_;
  // One pool per thread count; segments keep pointers, the backend outlives its engines.
  std::map<int, std::unique_ptr<gemm::native::ThreadPool>> pools_;
  native_nn::GemmScratch scratch_;
  native_nn::ConvChoices choices_;
};

}  // namespace
}  // namespace libscout

LIBSCOUT_PLUGIN_PROVIDES("backend", "native");
LIBSCOUT_PLUGIN_ENTRY libscout_register_plugin(libscout::PluginRegistry& registry) {
  registry.add_backend({"native",
                        "libscout's own kernels in NCHW: Winograd F(4x4,3x3), direct depthwise, "
                        "GEMM on packed weights (native SGEMM micro-kernels and thread pool)",
                        [] { return std::string(); },
                        [] { return std::make_unique<libscout::NativeBackend>(); }});
}
