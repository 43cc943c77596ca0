// Runs one model on one backend the way every libscout figure is obtained:
//   1. prepare the engine (packing, layouts, algorithm choice: not timed);
//   2. validate: the backend's outputs on a seeded input against the reference backend's
//      (relative L2 error of every output; the worst is reported); a backend that fails is
//      never timed;
//   3. warm up, then time whole inferences with std::chrono::steady_clock, for a fixed count or
//      until a minimum time has passed; quote the median and the spread;
//   4. optionally (--per-layer) a separate profiled pass, so ordinary timings carry no probes.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/engine.h"
#include "measure/stats.h"
#include "models/zoo.h"

namespace libscout {

struct BenchmarkOptions {
  std::string model;
  ModelOptions model_options;
  std::string backend;
  int threads = 1;
  int warmup = 3;
  int iterations = 0;       // > 0: exactly this many timed runs
  double min_time_s = 2.0;  // when iterations == 0: time runs until this much has passed
  int min_iterations = 5;   // ... and at least this many
  bool per_layer = false;
  double tolerance = 1e-4;  // relative L2 error bound of validation
  // Where reference outputs are kept between runs (a study's children share them); "" = none.
  std::string reference_cache_dir;
};

struct LayerTiming {
  std::string name, op, output_shape, backend, fallback_reason;
  double median_ms = 0;
  double gflops = 0;  // 2 * MACs / time; 0 for layers without MACs
};

struct Validation {
  bool passed = false;
  double rel_l2_error = 0;
  double tolerance = 0;
};

struct BenchmarkResult {
  std::string model, backend;
  int threads = 1, batch = 1, warmup = 0, iterations = 0;
  std::int64_t macs = 0;
  Validation validation;
  Summary latency_ms;
  std::vector<LayerTiming> layers;  // filled with --per-layer
  std::vector<std::string> backends_used;  // distinct backends that ran layers
  int fallback_layers = 0;
  nlohmann::json extra = nlohmann::json::object();  // e.g. "energy", added by callers
};

// The reference outputs of a graph on an input, to validate several backends against.
std::vector<Tensor> reference_outputs(const Graph& g, const Tensor& input);

// reference_outputs(), read from `cache_dir` when a previous run stored them for the same model,
// options and input, else computed and stored there (atomically). A damaged file is recomputed.
std::vector<Tensor> cached_reference_outputs(const Graph& g, const Tensor& input,
                                             const std::string& cache_dir, const std::string& key);

// Called with the prepared, validated engine after timing (energy measurement hooks in here).
using EngineHook = std::function<void(Engine&, BenchmarkResult&)>;

// Throws Error / Unavailable when the model or backend cannot be set up. A backend whose outputs
// fail validation returns with validation.passed == false and no timings.
BenchmarkResult benchmark_model(const BenchmarkOptions& opts,
                                const std::vector<Tensor>* reference = nullptr,
                                const EngineHook& after_timing = nullptr);

// The libscout.run/1 result object.
nlohmann::json result_json(const BenchmarkResult& r);

}  // namespace libscout
