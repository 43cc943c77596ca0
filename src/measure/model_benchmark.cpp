#include "measure/model_benchmark.h"

#include <algorithm>
#include <chrono>
#include <set>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "backends/reference/reference_backend.h"
#include "backends/registry.h"
#include "core/error.h"

namespace libscout {

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

class TimingProfiler final : public LayerProfiler {
 public:
  explicit TimingProfiler(std::size_t layers) : samples_(layers), start_(layers) {}
  void begin(LayerId l) override { start_[l] = Clock::now(); }
  void end(LayerId l) override { samples_[l].push_back(ms_since(start_[l])); }
  const std::vector<std::vector<double>>& samples() const { return samples_; }

 private:
  std::vector<std::vector<double>> samples_;
  std::vector<Clock::time_point> start_;
};

}  // namespace

std::vector<Tensor> reference_outputs(const Graph& g, const Tensor& input) {
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

BenchmarkResult benchmark_model(const BenchmarkOptions& opts, const std::vector<Tensor>* reference,
                                const EngineHook& after_timing) {
  if (opts.threads < 1) throw Error("thread count must be >= 1");
  if (opts.warmup < 0 || opts.iterations < 0) throw Error("warm-up and iterations must be >= 0");
  ModelOptions mo = opts.model_options;
  const Graph graph = load_model(opts.model, mo);
  const Tensor input = make_input(graph);

  std::unique_ptr<Backend> backend = create_backend(opts.backend);
  std::unique_ptr<Backend> fallback;
  if (opts.backend != "reference") fallback = create_fallback_backend();
  ExecOptions exec;
  exec.threads = opts.threads;
  Engine engine(graph, *backend, fallback.get(), exec);

  BenchmarkResult r;
  r.model = opts.model;
  r.backend = backend->name();
  r.threads = opts.threads;
  r.batch = mo.batch;
  r.warmup = opts.warmup;
  r.macs = count_macs(graph);
  std::set<std::string> used;
  for (const LayerPlacement& p : engine.placements()) {
    used.insert(p.backend);
    if (!p.fallback_reason.empty()) ++r.fallback_layers;
  }
  r.backends_used.assign(used.begin(), used.end());

  // Validation, on the same input as the reference.
  std::vector<Tensor> own_reference;
  if (reference == nullptr && !opts.reference_cache_dir.empty()) {
    char key[160];
    std::snprintf(key, sizeof key, "%s-b%d-r%d-w%g-c%d-s%llu", opts.model.c_str(), mo.batch,
                  mo.resolution, mo.width, mo.classes, static_cast<unsigned long long>(mo.seed));
    own_reference = cached_reference_outputs(graph, input, opts.reference_cache_dir, key);
    reference = &own_reference;
  } else if (reference == nullptr) {
    own_reference = reference_outputs(graph, input);
    reference = &own_reference;
  }
  engine.set_input(input);
  engine.run();
  r.validation.tolerance = opts.tolerance;
  for (std::size_t i = 0; i < graph.outputs.size(); ++i) {
    const Tensor out = engine.output_tensor(static_cast<int>(i));
    r.validation.rel_l2_error =
        std::max(r.validation.rel_l2_error, relative_l2_error(out.span(), (*reference)[i].span()));
  }
  r.validation.passed = r.validation.rel_l2_error <= opts.tolerance;
  if (!r.validation.passed) return r;

  // Timing.
  for (int i = 0; i < opts.warmup; ++i) engine.run();
  std::vector<double> samples;
  const auto start = Clock::now();
  for (;;) {
    const auto t0 = Clock::now();
    engine.run();
    samples.push_back(ms_since(t0));
    const int n = static_cast<int>(samples.size());
    if (opts.iterations > 0) {
      if (n >= opts.iterations) break;
    } else if (n >= opts.min_iterations && ms_since(start) >= opts.min_time_s * 1e3) {
      break;
    }
  }
  r.iterations = static_cast<int>(samples.size());
  r.latency_ms = summarize(samples);

  if (opts.per_layer) {
    TimingProfiler profiler(graph.layers.size());
    const int runs = std::clamp(r.iterations, 3, 20);
    for (int i = 0; i < runs; ++i) engine.run(&profiler);
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
      r.layers.push_back(std::move(t));
    }
  }
  if (after_timing) after_timing(engine, r);
  return r;
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
      {"latency_ms", r.validation.passed ? latency_json(r.latency_ms) : nlohmann::json(nullptr)},
      {"validation",
       {{"passed", r.validation.passed},
        {"rel_l2_error", r.validation.rel_l2_error},
        {"tolerance", r.validation.tolerance}}},
      {"backends_used", r.backends_used},
      {"fallback_layers", r.fallback_layers},
  };
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
