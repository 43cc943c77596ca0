#include "measure/model_benchmark.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <thread>

#include <unistd.h>

#include "backends/reference/reference_backend.h"
#include "backends/registry.h"
#include "core/error.h"
#include "measure/layer_timer.h"

namespace libscout {

namespace {

constexpr const char* kPlannedBackend = "auto";

using Clock = std::chrono::steady_clock;


}  // namespace

namespace {

std::vector<Tensor> reference_outputs_serial(const Graph& g, const Tensor& input) {
  auto reference = make_reference_backend();
  Engine engine(g, *reference, nullptr, {});
  engine.set_input(input);
  engine.run();
  std::vector<Tensor> out;
  for (std::size_t i = 0; i < g.outputs.size(); ++i) {
    out.push_back(engine.output_tensor(static_cast<int>(i)));
  }
  return out;
}

}  // namespace

// Every op works on each image alone, so a batch is the images computed independently: on
// several cores, one image per task (the plain-loop reference at batch 64 would otherwise take
// minutes).
std::vector<Tensor> reference_outputs(const Graph& g, const Tensor& input) {
  const int batch = input.shape().n;
  const int workers =
      std::min<int>(batch, static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  if (batch <= 1 || workers <= 1) return reference_outputs_serial(g, input);
  Graph single = g.clone();
  single.set_batch(1);
  std::vector<Tensor> out;
  for (ValueId v : g.outputs) out.emplace_back(g.shape(v));
  const std::size_t in_image = input.size() / batch;
  std::atomic<int> next{0};
  std::vector<std::exception_ptr> errors(workers);
  auto work = [&](int w) {
    try {
      // One engine per worker, prepared once and fed image after image.
      auto reference = make_reference_backend();
      Engine engine(single, *reference, nullptr, {});
      for (int i = next++; i < batch; i = next++) {
        std::memcpy(engine.input(), input.data() + i * in_image, in_image * sizeof(float));
        engine.run();
        for (std::size_t o = 0; o < out.size(); ++o) {
          const std::size_t n = single.shape(single.outputs[o]).elements();
          std::memcpy(out[o].data() + i * n, engine.output(static_cast<int>(o)),
                      n * sizeof(float));
        }
      }
    } catch (...) {
      errors[w] = std::current_exception();
    }
  };
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w) threads.emplace_back(work, w);
  for (std::thread& t : threads) t.join();
  for (const std::exception_ptr& e : errors) {
    if (e) std::rethrow_exception(e);
  }
  return out;
}

namespace {

constexpr char kReferenceMagic[8] = {'L', 'S', 'R', 'E', 'F', '0', '1', '\n'};

bool read_reference(const std::filesystem::path& file, const Graph& g, std::vector<Tensor>& out) {
  std::ifstream f(file, std::ios::binary);
  if (!f) return false;
  char magic[8];
  if (!f.read(magic, 8) || std::memcmp(magic, kReferenceMagic, 8) != 0) return false;
  for (ValueId v : g.outputs) {
    Shape s;
    if (!f.read(reinterpret_cast<char*>(&s), sizeof s) || !(s == g.shape(v))) return false;
    Tensor t(s);
    if (!f.read(reinterpret_cast<char*>(t.data()), t.size() * sizeof(float))) return false;
    out.push_back(std::move(t));
  }
  return f.peek() == std::char_traits<char>::eof();
}

void write_reference(const std::filesystem::path& file, const std::vector<Tensor>& outputs) {
  std::error_code ec;
  std::filesystem::create_directories(file.parent_path(), ec);
  const std::filesystem::path tmp = file.string() + ".tmp" + std::to_string(::getpid());
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) return;  // a cache that cannot be written only costs time
    f.write(kReferenceMagic, 8);
    for (const Tensor& t : outputs) {
      const Shape s = t.shape();
      f.write(reinterpret_cast<const char*>(&s), sizeof s);
      f.write(reinterpret_cast<const char*>(t.data()), t.size() * sizeof(float));
    }
    if (!f) {
      std::filesystem::remove(tmp, ec);
      return;
    }
  }
  std::filesystem::rename(tmp, file, ec);
}

}  // namespace

std::vector<Tensor> cached_reference_outputs(const Graph& g, const Tensor& input,
                                             const std::string& cache_dir, const std::string& key) {
  const std::filesystem::path file = std::filesystem::path(cache_dir) / (key + ".ref");
  std::vector<Tensor> out;
  if (read_reference(file, g, out)) return out;
  out = reference_outputs(g, input);
  write_reference(file, out);
  return out;
}

std::string reference_cache_key(const Graph& g, const ModelOptions& mo) {
  // A model file is keyed by its name and content hash (its path may hold '/'), and every model
  // by its input shape (--input-shape, a file's own).
  char key[200];
  std::snprintf(key, sizeof key, "%s-b%d-r%d-w%g-c%d-s%llu-i%s", model_identity(g).c_str(),
                mo.batch, mo.resolution, mo.width, mo.classes,
                static_cast<unsigned long long>(mo.seed), g.shape(g.input).str().c_str());
  return key;
}

namespace {

double max_output_error(const Engine& engine, const std::vector<Tensor>& reference) {
  double worst = 0;
  for (std::size_t i = 0; i < reference.size(); ++i) {
    const Tensor out = engine.output_tensor(static_cast<int>(i));
    worst = std::max(worst, relative_l2_error(out.span(), reference[i].span()));
  }
  return worst;
}

// Times whole inferences after the warm-up, by the count or the minimum-time rule. The warm-up is
// left out when the validation inference alone (`first_run_ms`) took longer than the minimum
// time: at seconds per inference, that run has warmed the backend up.
void time_inferences(Engine& engine, const BenchmarkOptions& opts, double first_run_ms,
                     BenchmarkResult& r) {
  r.warmup = opts.iterations == 0 && first_run_ms >= opts.min_time_s * 1e3 ? 0 : opts.warmup;
  for (int i = 0; i < r.warmup; ++i) engine.run();
  std::vector<double> device_samples;
  const auto start = Clock::now();
  for (;;) {
    const auto t0 = Clock::now();
    engine.run();
    r.samples_ms.push_back(ms_since(t0));
    if (const double d = engine.last_device_ms(); d >= 0) device_samples.push_back(d);
    const int n = static_cast<int>(r.samples_ms.size());
    if (opts.iterations > 0) {
      if (n >= opts.iterations) break;
    } else if (n >= opts.min_iterations && ms_since(start) >= opts.min_time_s * 1e3) {
      break;
    }
  }
  r.iterations = static_cast<int>(r.samples_ms.size());
  r.latency_ms = summarize(r.samples_ms);
  r.latency_ci = bootstrap_median_interval(r.samples_ms);
  if (!device_samples.empty()) r.device_ms = summarize(device_samples);
}

// Median time of every layer over `runs` profiled inferences (a separate pass: the timed runs
// carry no probes).
std::vector<LayerTiming> profile_layers(Engine& engine, int runs) {
  const Graph& graph = engine.graph();
  LayerTimer profiler(graph.layers.size());
  for (int i = 0; i < runs; ++i) engine.run(&profiler);
  std::vector<LayerTiming> out;
  for (std::size_t l = 0; l < graph.layers.size(); ++l) {
    const Layer& layer = graph.layers[l];
    LayerTiming t;
    t.name = layer.name;
    t.op = op_name(layer.op);
    if (layer.activation() != Activation::kNone) {
      t.op += std::string("+") + activation_name(layer.activation());
    }
    t.output_shape = graph.output_shape(layer).str();
    t.backend = engine.placements()[l].backend;
    t.fallback_reason = engine.placements()[l].fallback_reason;
    t.median_ms = summarize(profiler.samples()[l]).median;
    const double macs = static_cast<double>(count_layer_macs(graph, layer));
    t.gflops = t.median_ms > 0 ? 2.0 * macs / (t.median_ms * 1e6) : 0;
    out.push_back(std::move(t));
  }
  return out;
}

// The share of the inference time spent in fallback layers, from per-layer medians.
double fallback_share(const std::vector<LayerTiming>& layers) {
  double all = 0, fallback = 0;
  for (const LayerTiming& t : layers) {
    all += t.median_ms;
    if (!t.fallback_reason.empty()) fallback += t.median_ms;
  }
  return all > 0 ? fallback / all : 0;
}

// What really ran: the library's own thread count and version (Backend::settings() keys
// "threads" and "library_version"), and which layers the fallback took.
void record_what_ran(const Engine& engine, const Backend& primary, const Backend* fallback,
                     BenchmarkResult& r) {
  r.settings = primary.settings();
  if (const auto it = r.settings.find("threads"); it != r.settings.end() && it->is_number()) {
    r.threads = it->get<int>();
    r.threads_source = "library";
  }
  r.library_version = r.settings.value("library_version", "");
  std::set<std::string> used;
  for (std::size_t l = 0; l < engine.placements().size(); ++l) {
    const LayerPlacement& p = engine.placements()[l];
    if (p.backend != kInPlaceConcat) used.insert(p.backend);  // the engine's, not a backend
    if (p.fallback_reason.empty()) continue;
    ++r.fallback_layers;
    r.fallback_backend = p.backend;
    r.fallback_layer_names.push_back(engine.graph().layers[l].name);
  }
  r.backends_used.assign(used.begin(), used.end());
  r.library_versions[r.backend] = r.library_version;
  if (fallback != nullptr && used.count(fallback->name())) {
    r.library_versions[fallback->name()] = fallback->settings().value("library_version", "");
  }
}

// The backends an engine runs on, and the engine.
struct EngineSetup {
  std::vector<std::unique_ptr<Backend>> backends;  // the requested one first
  std::unique_ptr<Backend> fallback;
  std::unique_ptr<Engine> engine;
};

EngineSetup single_setup(const Graph& graph, const BenchmarkOptions& opts, const ExecOptions& exec) {
  EngineSetup s;
  s.backends.push_back(create_backend(opts.backend));
  if (opts.backend != "reference") s.fallback = create_fallback_backend();
  s.engine = std::make_unique<Engine>(graph, *s.backends.front(), s.fallback.get(), exec);
  return s;
}

// Every layer on the backend the plan names (each backend created once).
EngineSetup planned_setup(const Graph& graph, const BenchmarkOptions& opts, const ExecOptions& exec) {
  if (opts.layer_backends.size() != graph.layers.size()) {
    throw Error("backend auto needs a plan: the backend of each of the model's " +
                std::to_string(graph.layers.size()) + " layers");
  }
  EngineSetup s;
  std::map<std::string, Backend*> by_name;
  std::vector<LayerAssignment> placement;
  for (const std::string& name : opts.layer_backends) {
    if (name == kInPlaceConcat) {
      placement.push_back({nullptr, {}, false, true});
      continue;
    }
    if (!by_name.count(name)) {
      s.backends.push_back(create_backend(name));
      by_name[name] = s.backends.back().get();
    }
    placement.push_back({by_name[name], {}, false});
  }
  if (s.backends.empty()) throw Error("a plan must place at least one layer on a backend");
  s.engine = std::make_unique<Engine>(graph, placement, exec);
  return s;
}

// What ran under a plan: each backend's version, how many layers it took, the plan.
void record_planned(const Engine& engine, const EngineSetup& setup, const BenchmarkOptions& opts,
                    BenchmarkResult& r) {
  std::map<std::string, int> layers;
  for (const LayerPlacement& p : engine.placements()) ++layers[p.backend];
  nlohmann::json versions = nlohmann::json::object();
  for (const auto& b : setup.backends) {
    versions[b->name()] = b->settings().value("library_version", "");
    r.backends_used.push_back(b->name());
  }
  std::sort(r.backends_used.begin(), r.backends_used.end());
  r.library_versions = versions;
  r.settings = {{"plan", opts.plan_source}, {"layers_per_backend", layers}};
}

}  // namespace

BenchmarkResult benchmark_model(const BenchmarkOptions& opts, const std::vector<Tensor>* reference,
                                const EngineHook& after_timing) {
  if (opts.threads < 1) throw Error("thread count must be >= 1");
  if (opts.warmup < 0 || opts.iterations < 0) throw Error("warm-up and iterations must be >= 0");
  if (!(opts.tolerance >= 0 && opts.tolerance < 1)) {
    throw Error("the validation tolerance must be in [0, 1): an output of zeros has a relative "
                "error of exactly 1");
  }
  ModelOptions mo = opts.model_options;
  const Graph graph = load_model(opts.model, mo);
  const Tensor input = make_input(graph);

  ExecOptions exec;
  exec.threads = opts.threads;
  exec.cuda_graph = opts.cuda_graph;
  exec.allow_tf32 = opts.allow_tf32;
  EngineSetup setup = opts.backend == kPlannedBackend ? planned_setup(graph, opts, exec)
                                                      : single_setup(graph, opts, exec);
  Engine& engine = *setup.engine;
  Backend& backend = *setup.backends.front();

  BenchmarkResult r;
  r.model = opts.model;
  r.model_sha256 = graph.content_sha256;
  r.backend = opts.backend == kPlannedBackend ? kPlannedBackend : backend.name();
  r.threads = r.threads_requested = opts.threads;
  r.batch = mo.batch;
  r.warmup = opts.warmup;
  r.min_time_s = opts.iterations > 0 ? -1 : opts.min_time_s;
  r.min_iterations = opts.iterations > 0 ? opts.iterations : opts.min_iterations;
  r.macs = count_macs(graph);
  r.device = device_kind_name(backend.device());
  if (opts.backend == kPlannedBackend) {
    record_planned(engine, setup, opts, r);
  } else {
    record_what_ran(engine, backend, setup.fallback.get(), r);
  }

  // Validation, on the same input as the reference.
  std::vector<Tensor> own_reference;
  if (reference == nullptr && !opts.reference_cache_dir.empty()) {
    own_reference = cached_reference_outputs(graph, input, opts.reference_cache_dir,
                                             reference_cache_key(graph, mo));
    reference = &own_reference;
  } else if (reference == nullptr) {
    own_reference = reference_outputs(graph, input);
    reference = &own_reference;
  }
  engine.set_input(input);
  const auto first_run = Clock::now();
  engine.run();
  const double first_run_ms = ms_since(first_run);
  r.validation.tolerance = opts.tolerance;
  r.validation.rel_l2_error = max_output_error(engine, *reference);
  r.validation.passed = r.validation.rel_l2_error <= opts.tolerance;
  if (!r.validation.passed) return r;

  time_inferences(engine, opts, first_run_ms, r);
  // The outputs of the last timed inference, checked again: a backend that goes wrong while it
  // is timed (a race, a corrupted buffer) is invalid however fast it was.
  r.validation.rel_l2_error_after_timing = max_output_error(engine, *reference);
  if (!(*r.validation.rel_l2_error_after_timing <= opts.tolerance)) {
    r.validation.passed = false;
    r.validation.failed_after_timing = true;
    return r;
  }

  const int profile_runs = std::clamp(r.iterations, 3, 20);
  if (opts.per_layer) {
    r.layers = profile_layers(engine, profile_runs);
    if (r.fallback_layers > 0) r.fallback_profile_runs = profile_runs;
    r.fallback_time_share = fallback_share(r.layers);
  } else if (r.fallback_layers > 0) {
    const int runs = std::clamp(r.iterations, 3, 10);
    r.fallback_profile_runs = runs;
    r.fallback_time_share = fallback_share(profile_layers(engine, runs));
  } else {
    r.fallback_time_share = 0;
  }
  if (after_timing) after_timing(engine, r);
  return r;
}

nlohmann::json validation_json(const Validation& v) {
  nlohmann::json j = {{"passed", v.passed},
                      {"rel_l2_error", v.rel_l2_error},
                      {"tolerance", v.tolerance},
                      {"rel_l2_error_after_timing", nullptr},
                      {"failed_after_timing", v.failed_after_timing}};
  if (v.rel_l2_error_after_timing) j["rel_l2_error_after_timing"] = *v.rel_l2_error_after_timing;
  return j;
}

nlohmann::json result_json(const BenchmarkResult& r) {
  nlohmann::json j = {
      {"model", r.model},
      {"backend", r.backend},
      {"threads", r.threads},
      {"batch", r.batch},
      {"warmup", r.warmup},
      {"iterations", r.iterations},
      {"macs", r.macs},
      {"device", r.device},
      {"settings", r.settings},
      {"threads_requested", r.threads_requested},
      {"threads_source", r.threads_source},
      {"library_version", r.library_version},
      {"library_versions", r.library_versions},
      {"min_time_s", r.min_time_s >= 0 ? nlohmann::json(r.min_time_s) : nlohmann::json(nullptr)},
      {"min_iterations", r.min_iterations},
      {"latency_ms", nullptr},
      {"ci", nullptr},
      {"samples_ms", r.samples_ms},
      {"validation", validation_json(r.validation)},
      {"backends_used", r.backends_used},
      {"fallback_layers", r.fallback_layers},
      {"fallback_backend", r.fallback_backend.empty() ? nlohmann::json(nullptr)
                                                      : nlohmann::json(r.fallback_backend)},
      {"fallback_layer_names", r.fallback_layer_names},
      {"fallback_time_share", r.fallback_time_share ? nlohmann::json(*r.fallback_time_share)
                                                    : nlohmann::json(nullptr)},
      {"fallback_profile_runs", r.fallback_profile_runs},
  };
  if (!r.model_sha256.empty()) j["model_sha256"] = r.model_sha256;
  // A result that failed validation, before or after timing, carries no latency figure.
  if (r.validation.passed && r.iterations > 0) {
    j["latency_ms"] = latency_json(r.latency_ms);
    j["latency_ms"]["ci_low"] = r.latency_ci.low;
    j["latency_ms"]["ci_high"] = r.latency_ci.high;
    j["ci"] = r.latency_ci.method_json();
  }
  if (r.device_ms.count > 0) {
    j["device_time_ms"] = latency_json(r.device_ms);
    j["latency_clock"] = "host wall time per inference, upload and download included";
    j["device_time_clock"] = "CUDA events around one inference on the device";
  }
  if (!r.layers.empty()) {
    nlohmann::json layers = nlohmann::json::array();
    for (const LayerTiming& t : r.layers) {
      layers.push_back({{"name", t.name},
                        {"op", t.op},
                        {"output_shape", t.output_shape},
                        {"backend", t.backend},
                        {"fallback_reason", t.fallback_reason},
                        {"median_ms", t.median_ms},
                        {"gflops", t.gflops}});
    }
    j["layers"] = std::move(layers);
  }
  for (auto& [k, v] : r.extra.items()) j[k] = v;
  return j;
}

}  // namespace libscout
