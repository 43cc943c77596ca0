// The engine's overhead on the paper's baseline, SqueezeNet v1.1 (and MobileNet v1) on
// gemm:openblas. Counters:
//   outside_pct  share of an inference spent outside the SGEMM calls: the Caffe-style work
//                (im2col, bias and activation, pooling, concat, softmax) plus the engine's own
//                dispatch (target: under 5%);
//   engine_pct   the engine's own share: time outside every layer's kernel (segment dispatch,
//                buffer handling), from a second, profiled pass;
//   total_ms, sgemm_ms, sgemm_calls per inference.
// Usage: build/bench/bench_engine_overhead [--benchmark_repetitions=5]
#include <algorithm>
#include <chrono>
#include <benchmark/benchmark.h>

#include "backends/gemm/gemm_backend.h"
#include "backends/registry.h"
#include "core/engine.h"
#include "models/zoo.h"

namespace {

using namespace libscout;

// Sums the time spent inside layer kernels.
class KernelTime final : public LayerProfiler {
 public:
  void begin(LayerId) override { t0_ = std::chrono::steady_clock::now(); }
  void end(LayerId) override {
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
  }
  double seconds = 0;

 private:
  std::chrono::steady_clock::time_point t0_;
};

void BM_EngineOverhead(benchmark::State& state, const std::string& model,
                       const std::string& backend_name) {
  const int threads = static_cast<int>(state.range(0));
  const Graph g = load_model(model);
  std::unique_ptr<Backend> backend;
  try {
    backend = create_backend(backend_name);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  Engine engine(g, *backend, nullptr, ExecOptions{threads});
  engine.set_input(make_input(g));
  engine.run();  // warm-up
  GemmTimeAccount& account = gemm_time_account(*backend);
  account = {};
  account.enabled = true;
  double total = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    engine.run();
    total += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  account.enabled = false;
  const double n = static_cast<double>(state.iterations());
  // Profiled pass: time inside the layer kernels against the whole run.
  KernelTime kernels;
  double profiled_total = 0;
  const int profiled_runs = std::max(5, static_cast<int>(state.iterations()));
  for (int i = 0; i < profiled_runs; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    engine.run(&kernels);
    profiled_total += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  state.counters["engine_pct"] = 100.0 * (profiled_total - kernels.seconds) / profiled_total;
  state.counters["total_ms"] = 1e3 * total / n;
  state.counters["sgemm_ms"] = 1e3 * account.seconds / n;
  state.counters["outside_pct"] = 100.0 * (total - account.seconds) / total;
  state.counters["sgemm_calls"] = static_cast<double>(account.calls) / n;
}

BENCHMARK_CAPTURE(BM_EngineOverhead, squeezenet1_1_openblas, "squeezenet1.1", "gemm:openblas")
    ->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);
BENCHMARK_CAPTURE(BM_EngineOverhead, mobilenet_v1_openblas, "mobilenet_v1", "gemm:openblas")
    ->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);

}  // namespace

BENCHMARK_MAIN();
