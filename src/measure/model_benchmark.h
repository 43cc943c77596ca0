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
  // backend "auto": the backend of each layer, in order (a per-layer plan's placement), and the
  // plan's file or description, recorded in the result's settings.
  std::vector<std::string> layer_backends;
  std::string plan_source;
  int threads = 1;
  int warmup = 3;
  int iterations = 0;       // > 0: exactly this many timed runs
  double min_time_s = 2.0;  // when iterations == 0: time runs until this much has passed
  int min_iterations = 5;   // ... and at least this many
  bool per_layer = false;
  double tolerance = 1e-4;  // relative L2 error bound of validation, in [0, 1)
  bool cuda_graph = true;   // GPU backends: replay one captured CUDA graph per inference
  bool allow_tf32 = false;  // GPU backends: TF32 tensor-core math instead of IEEE FP32
  // Where reference outputs are kept between runs (a study's children share them); "" = none.
  std::string reference_cache_dir;
};

struct LayerTiming {
  std::string name, op, output_shape, backend, fallback_reason;
  double median_ms = 0;
  double gflops = 0;  // 2 * MACs / time; 0 for layers without MACs
};

struct Validation {
  bool passed = false;  // both checks within tolerance
  double rel_l2_error = 0;
  double tolerance = 0;
  // The same check on the outputs of the last timed inference; absent when not timed.
  std::optional<double> rel_l2_error_after_timing;
  bool failed_after_timing = false;
};

struct BenchmarkResult {
  std::string model, backend;
  // A model read from a file: the SHA-256 of its content (with the name, what identifies it).
  std::string model_sha256;
  int threads = 1, batch = 1, warmup = 0, iterations = 0;
  std::int64_t macs = 0;
  Validation validation;
  std::string device = "cpu";  // where the primary backend runs: "cpu" or "gpu"
  // Host wall time per inference, upload and download included: what an application pays.
  Summary latency_ms;
  // GPU backends: device time per inference from CUDA events (count == 0 on the CPU).
  Summary device_ms;
  nlohmann::json settings = nlohmann::json::object();  // Backend::settings(): what really ran
  std::vector<LayerTiming> layers;  // filled with --per-layer
  std::vector<std::string> backends_used;  // distinct backends that ran layers
  int fallback_layers = 0;
  // What really ran (docs/json-schemas.md, libscout.run/1). `threads` above is the count the
  // library reports it uses ("library") or, when it cannot say, the requested one ("requested").
  int threads_requested = 1;
  std::string threads_source = "requested";
  std::string library_version;
  nlohmann::json library_versions = nlohmann::json::object();  // backend -> version
  std::string fallback_backend;                                // "" when no layer fell back
  std::vector<std::string> fallback_layer_names;
  std::optional<double> fallback_time_share;  // absent when not timed
  int fallback_profile_runs = 0;
  // Timing rule and raw timings.
  double min_time_s = -1;  // < 0 when a fixed iteration count was asked
  int min_iterations = 0;
  std::vector<double> samples_ms;
  MedianInterval latency_ci;
  nlohmann::json extra = nlohmann::json::object();  // e.g. "energy", added by callers
};

// The reference outputs of a graph on an input, to validate several backends against.
std::vector<Tensor> reference_outputs(const Graph& g, const Tensor& input);

// reference_outputs(), read from `cache_dir` when a previous run stored them for the same model,
// options and input, else computed and stored there (atomically). A damaged file is recomputed.
std::vector<Tensor> cached_reference_outputs(const Graph& g, const Tensor& input,
                                             const std::string& cache_dir, const std::string& key);

// The name of a model's reference outputs in such a cache: the model (a file by its name and
// content hash), the options that shape it and its input shape.
std::string reference_cache_key(const Graph& g, const ModelOptions& mo);

// Called with the prepared, validated engine after timing (energy measurement hooks in here).
using EngineHook = std::function<void(Engine&, BenchmarkResult&)>;

// Throws Error / Unavailable when the model or backend cannot be set up. A backend whose outputs
// fail validation returns with validation.passed == false and no timings.
BenchmarkResult benchmark_model(const BenchmarkOptions& opts,
                                const std::vector<Tensor>* reference = nullptr,
                                const EngineHook& after_timing = nullptr);

// The libscout.run/1 result object, and its "validation" member.
nlohmann::json result_json(const BenchmarkResult& r);
nlohmann::json validation_json(const Validation& v);

}  // namespace libscout
