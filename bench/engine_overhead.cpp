// The engine's overhead on the paper's baseline: the share of an inference of SqueezeNet v1.1 on
// gemm:openblas spent outside the SGEMM calls (im2col, bias and activation, pooling, concat,
// softmax, and the engine's own dispatch). Counters: total_ms, sgemm_ms, outside_pct
// (target: under 5%). Usage: build/bench/bench_engine_overhead [--benchmark_repetitions=5]
#include <chrono>
#include <benchmark/benchmark.h>

#include "backends/gemm/gemm_backend.h"
#include "backends/registry.h"
#include "core/engine.h"
#include "models/zoo.h"

namespace {

using namespace libscout;

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
