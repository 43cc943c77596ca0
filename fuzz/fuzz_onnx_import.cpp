// The importer's fuzz target: arbitrary bytes as an ONNX model. Every input must end in a graph
// or in a libscout::Error, within the memory limit and without a hang; a small graph that imports
// is also run once on the reference backend, so that an importer that builds an inconsistent
// graph (weights or shapes that do not match) shows up as an out-of-bounds access under ASan.
//
// Built with libFuzzer by the clang build of fuzz/CMakeLists.txt (LIBSCOUT_FUZZ=ON); the regular
// build links the same entry point into fuzz_onnx_seeds, which feeds it the seed corpus.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "backends/reference/reference_backend.h"
#include "core/engine.h"
#include "core/error.h"
#include "core/passes.h"
#include "fuzz/fuzz_entry.h"
#include "onnx/onnx_import.h"

namespace libscout::fuzz {

namespace {

constexpr std::size_t kMemoryLimit = std::size_t(256) << 20;
constexpr double kMaxRunWork = 2e6;  // multiply-adds, window reads and copies of one inference

// The reference's work for one inference, estimated from above: a run is a check of the
// graph's consistency, so only small graphs run (a big pooling window is work too).
double work(const Graph& g) {
  double total = 0;
  for (const Layer& l : g.layers) {
    const Shape in = g.input_shape(l), out = g.output_shape(l);
    double w = static_cast<double>(out.elements()) + static_cast<double>(in.elements());
    if (l.op == OpKind::kMaxPool || l.op == OpKind::kAvgPool) {
      w *= double(std::min(l.pool().kernel_h, in.h)) * double(std::min(l.pool().kernel_w, in.w));
    }
    total += w + static_cast<double>(count_layer_macs(g, l));
  }
  return total;
}

}  // namespace

ImportOutcome import_one(const std::uint8_t* data, std::size_t size) {
  OnnxImportOptions options;
  options.memory_limit = kMemoryLimit;
  try {
    Graph g = import_onnx_bytes(data, size, options, "fuzz input");
    optimize_for_inference(g);
    if (work(g) > kMaxRunWork) return ImportOutcome::kImported;
    auto reference = make_reference_backend();
    Engine engine(g, *reference, nullptr, ExecOptions{1});
    engine.run();  // the input buffer holds zeros
    return ImportOutcome::kRan;
  } catch (const Error&) {
    return ImportOutcome::kRefused;
  }
}

}  // namespace libscout::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  libscout::fuzz::import_one(data, size);
  return 0;
}
