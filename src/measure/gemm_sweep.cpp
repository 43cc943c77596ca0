#include "measure/gemm_sweep.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <new>
#include <tuple>

#include "backends/gemm/gemm_backend.h"
#include "core/engine.h"
#include "core/error.h"
#include "models/graph_builder.h"
#include "models/zoo.h"

namespace libscout {

DeviceComputeTimer::~DeviceComputeTimer() = default;

namespace {

using Clock = std::chrono::steady_clock;
using gemm::Trans;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// The operands of one shape: op(A) is m x k, op(B) is k x n, C is m x n, all dense row-major.
struct Operands {
  Operands(const GemmShape& s, std::uint64_t seed) : shape(s) {
    a_rows = s.trans_a == Trans::kNo ? s.m : s.k;
    lda = s.trans_a == Trans::kNo ? s.k : s.m;
    b_rows = s.trans_b == Trans::kNo ? s.k : s.n;
    ldb = s.trans_b == Trans::kNo ? s.n : s.k;
    a.resize(std::size_t(a_rows) * lda);
    b.resize(std::size_t(b_rows) * ldb);
    c.resize(std::size_t(s.m) * s.n);
    SeededRandom rng(seed);
    for (float& x : a) x = rng.uniform(-1.0f, 1.0f);
    for (float& x : b) x = rng.uniform(-1.0f, 1.0f);
  }
  float op_a(int i, int p) const {
    return shape.trans_a == Trans::kNo ? a[std::size_t(i) * lda + p] : a[std::size_t(p) * lda + i];
  }
  float op_b(int p, int j) const {
    return shape.trans_b == Trans::kNo ? b[std::size_t(p) * ldb + j] : b[std::size_t(j) * ldb + p];
  }
  gemm::SgemmArgs args() {
    gemm::SgemmArgs g;
    g.trans_a = shape.trans_a;
    g.trans_b = shape.trans_b;
    g.m = shape.m;
    g.n = shape.n;
    g.k = shape.k;
    g.a = a.data();
    g.lda = std::max(1, lda);
    g.b = b.data();
    g.ldb = std::max(1, ldb);
    g.c = c.data();
    g.ldc = std::max(1, shape.n);
    return g;
  }

  GemmShape shape;
  int a_rows = 0, lda = 0, b_rows = 0, ldb = 0;
  std::vector<float> a, b, c;
};

// ||C - A B|| / ||A B|| with A B in double, every element.
double exact_error(const Operands& o) {
  const GemmShape& s = o.shape;
  double err2 = 0, ref2 = 0;
  std::vector<double> row(s.n);
  for (int i = 0; i < s.m; ++i) {
    std::fill(row.begin(), row.end(), 0.0);
    for (int p = 0; p < s.k; ++p) {
      const double av = o.op_a(i, p);
      for (int j = 0; j < s.n; ++j) row[j] += av * o.op_b(p, j);
    }
    for (int j = 0; j < s.n; ++j) {
      const double d = o.c[std::size_t(i) * s.n + j] - row[j];
      err2 += d * d;
      ref2 += row[j] * row[j];
    }
  }
  return ref2 > 0 ? std::sqrt(err2 / ref2) : std::sqrt(err2);
}

// ||C t - A (B t)|| / ||A (B t)|| for a random t, in double: O(mn + nk + mk).
double projection_error(const Operands& o) {
  const GemmShape& s = o.shape;
  SeededRandom rng(0x5eed);
  std::vector<double> t(s.n), u(s.k, 0.0);
  for (double& x : t) x = rng.uniform(-1.0f, 1.0f);
  for (int p = 0; p < s.k; ++p) {
    double acc = 0;
    for (int j = 0; j < s.n; ++j) acc += o.op_b(p, j) * t[j];
    u[p] = acc;
  }
  double err2 = 0, ref2 = 0;
  for (int i = 0; i < s.m; ++i) {
    double z = 0, y = 0;
    for (int p = 0; p < s.k; ++p) z += o.op_a(i, p) * u[p];
    const float* c = o.c.data() + std::size_t(i) * s.n;
    for (int j = 0; j < s.n; ++j) y += c[j] * t[j];
    err2 += (y - z) * (y - z);
    ref2 += z * z;
  }
  return ref2 > 0 ? std::sqrt(err2 / ref2) : std::sqrt(err2);
}

// Records the shapes of the sgemm calls a gemm: backend makes, attributing each to the layer the
// engine is running (reported through the profiler hooks). Computes nothing: C gets zeros.
class ShapeRecorder final : public gemm::Provider, public LayerProfiler {
 public:
  explicit ShapeRecorder(const Graph& g) : graph_(g) {}
  std::string name() const override { return "shape-recorder"; }
  int set_threads(int) override { return 1; }
  void sgemm(const gemm::SgemmArgs& g) override {
    for (int i = 0; i < g.m; ++i) std::fill_n(g.c + std::size_t(i) * g.ldc, g.n, 0.0f);
    const auto key = std::make_tuple(g.m, g.n, g.k, g.trans_a, g.trans_b);
    auto it = index_.find(key);
    if (it == index_.end()) {
      GemmShape s;
      s.m = g.m;
      s.n = g.n;
      s.k = g.k;
      s.trans_a = g.trans_a;
      s.trans_b = g.trans_b;
      s.where = layer_ >= 0 ? graph_.layers[layer_].name : std::string();
      it = index_.emplace(key, shapes_.size()).first;
      shapes_.push_back(s);
    }
    ++shapes_[it->second].calls;
  }
  void begin(LayerId l) override { layer_ = static_cast<int>(l); }
  void end(LayerId) override { layer_ = -1; }
  std::vector<GemmShape> take() { return std::move(shapes_); }

 private:
  const Graph& graph_;
  int layer_ = -1;
  std::map<std::tuple<int, int, int, Trans, Trans>, std::size_t> index_;
  std::vector<GemmShape> shapes_;
};

// The provider that ShapeRecorder hands to the backend (the backend owns its provider).
class ForwardingProvider final : public gemm::Provider {
 public:
  explicit ForwardingProvider(gemm::Provider& p) : p_(p) {}
  std::string name() const override { return p_.name(); }
  int set_threads(int t) override { return p_.set_threads(t); }
  void sgemm(const gemm::SgemmArgs& g) override { p_.sgemm(g); }

 private:
  gemm::Provider& p_;
};

GemmResult not_run(const std::string& provider, const GemmShape& s, const std::string& status,
                   const std::string& reason) {
  GemmResult r;
  r.provider = provider;
  r.shape = s;
  r.status = status;
  r.reason = reason;
  return r;
}

}  // namespace

std::string GemmShape::str() const {
  std::string out = std::to_string(m) + "x" + std::to_string(n) + "x" + std::to_string(k);
  if (trans_a == Trans::kYes || trans_b == Trans::kYes) {
    out += std::string(" (") + (trans_a == Trans::kYes ? "A^T" : "") +
           (trans_a == Trans::kYes && trans_b == Trans::kYes ? "," : "") +
           (trans_b == Trans::kYes ? "B^T" : "") + ")";
  }
  return out;
}

std::vector<GemmShape> square_shapes(const std::vector<int>& sizes) {
  std::vector<GemmShape> out;
  for (int n : sizes) {
    GemmShape s;
    s.m = s.n = s.k = n;
    out.push_back(s);
  }
  return out;
}

std::vector<int> default_square_sizes() {
  return {32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048};
}

std::vector<int> default_gpu_square_sizes() { return {3072, 4096, 6144, 8192}; }

std::vector<GemmShape> model_gemm_shapes(const std::string& model) {
  const Graph graph = load_model(model, {});
  ShapeRecorder recorder(graph);
  auto backend = make_gemm_backend(std::make_unique<ForwardingProvider>(recorder));
  ExecOptions exec;
  exec.threads = 1;
  Engine engine(graph, *backend, nullptr, exec);
  engine.set_input(make_input(graph));
  engine.run(&recorder);
  return recorder.take();
}

namespace {

// The stage a (provider, shape) measurement is in, for the reason of a failure.
struct Stage {
  const char* what = "";
};

// Step 1: one call on C full of NaN (beta == 0 must not read it), checked in double. Returns
// false, with the reason in `r`, when the result is wrong.
bool validate(gemm::Provider& provider, Operands& o, const GemmSweepOptions& opts, GemmResult& r,
              Stage& stage) {
  const GemmShape& shape = o.shape;
  std::fill(o.c.begin(), o.c.end(), std::numeric_limits<float>::quiet_NaN());
  stage.what = "the validated sgemm call";
  provider.sgemm(o.args());
  stage.what = "checking the result";
  const bool exact = double(shape.m) * shape.n * shape.k <= opts.exact_check_macs;
  r.validation.method = exact ? "exact" : "projection";
  r.validation.tolerance = opts.tolerance;
  const bool finite = std::all_of(o.c.begin(), o.c.end(), [](float x) { return std::isfinite(x); });
  r.validation.rel_error = finite ? (exact ? exact_error(o) : projection_error(o))
                                  : std::numeric_limits<double>::infinity();
  r.validation.passed = finite && r.validation.rel_error <= opts.tolerance;
  if (r.validation.passed) return true;
  r.status = "failed";
  r.reason = finite ? "result differs from the double-precision " +
                          std::string(exact ? "product" : "projection check") +
                          " (relative error " + std::to_string(r.validation.rel_error) + ")"
                    : "result holds NaN or infinity";
  return false;
}

// Steps 2 and 3: warm-up, timed calls, rates at the median.
void time_calls(gemm::Provider& provider, Operands& o, const GemmSweepOptions& opts, GemmResult& r,
                Stage& stage) {
  auto* device_timer = dynamic_cast<DeviceComputeTimer*>(&provider);
  const bool device = provider.has_device_memory();
  const gemm::SgemmArgs args = o.args();
  stage.what = "a warm-up sgemm call";
  for (int i = 0; i < opts.warmup; ++i) provider.sgemm(args);
  stage.what = "a timed sgemm call";
  std::vector<double> call_ms, compute_ms;
  const auto start = Clock::now();
  while (static_cast<int>(call_ms.size()) < opts.min_iterations ||
         seconds_since(start) < opts.min_time_s) {
    const auto t0 = Clock::now();
    provider.sgemm(args);
    call_ms.push_back(seconds_since(t0) * 1e3);
    if (device && device_timer != nullptr) {
      compute_ms.push_back(device_timer->last_compute_seconds() * 1e3);
    }
  }

  r.status = "ok";
  r.warmup = opts.warmup;
  r.iterations = static_cast<int>(call_ms.size());
  r.time_ms = summarize(call_ms);
  const double call_gflops = o.shape.flops() / (r.time_ms.median * 1e6);
  r.gflops = call_gflops;
  if (device) {
    r.gflops_with_transfer = call_gflops;
    if (!compute_ms.empty()) {
      r.compute_time_ms = summarize(compute_ms);
      r.gflops = o.shape.flops() / (r.compute_time_ms->median * 1e6);
    } else {
      r.reason = "the provider does not report its compute time: gflops includes transfers";
    }
  }
}

// A measurement that stopped because the provider (or an allocation) threw: "<stage><why>".
void record_throw(GemmResult& r, const Stage& stage, const std::string& why) {
  r.status = "failed";
  r.reason = stage.what + why;
  r.warmup = r.iterations = 0;
  r.gflops = 0;
  r.gflops_with_transfer.reset();
  r.compute_time_ms.reset();
}

}  // namespace

GemmResult measure_gemm(gemm::Provider& provider, const GemmShape& shape,
                        const GemmSweepOptions& opts) {
  if (shape.m < 1 || shape.n < 1 || shape.k < 1) {
    throw Error("GEMM shape " + shape.str() + ": every dimension must be at least 1");
  }
  GemmResult r;
  r.provider = provider.name();
  r.shape = shape;
  // Every call into the provider, and the operands of a large shape, may throw (a library error,
  // out of host or device memory): the result is then "failed" with the stage and the message.
  Stage stage;
  try {
    stage.what = "version()";
    r.version = provider.version();
    stage.what = "set_threads()";
    r.threads = provider.set_threads(opts.threads);
    stage.what = "allocating the operands";
    const auto seed = static_cast<std::uint64_t>(shape.m * 131 + shape.n * 17 + shape.k);
    Operands o(shape, 0x9e3779b9u ^ seed);
    if (validate(provider, o, opts, r, stage)) time_calls(provider, o, opts, r, stage);
  } catch (const std::bad_alloc&) {
    record_throw(r, stage, ": out of host memory");
  } catch (const std::exception& e) {
    record_throw(r, stage, std::string(" threw: ") + e.what());
  } catch (...) {
    record_throw(r, stage, " threw an exception that is not a std::exception");
  }
  return r;
}

namespace {

// Creates one provider; on failure, the status ("unavailable" or "failed") and the reason.
std::unique_ptr<gemm::Provider> create_or_explain(const std::string& name,
                                                  const ProviderMaker& make, std::string& status,
                                                  std::string& reason) {
  try {
    return make(name);
  } catch (const Unavailable& e) {
    status = "unavailable";
    reason = e.what();
  } catch (const std::exception& e) {
    status = "failed";
    reason = std::string("creating the provider threw: ") + e.what();
  } catch (...) {
    status = "failed";
    reason = "creating the provider threw an exception that is not a std::exception";
  }
  return nullptr;
}

// Whether a provider's operands live on a GPU; false when the provider cannot say.
bool on_gpu(const gemm::Provider& p) {
  try {
    return p.operands_on_gpu();
  } catch (...) {
    return false;
  }
}

}  // namespace

std::vector<GemmResult> run_gemm_sweep(const GemmSweepOptions& opts, const ProviderMaker& make) {
  std::vector<GemmResult> out;
  for (const std::string& name : opts.providers) {
    std::string status, why;
    const std::unique_ptr<gemm::Provider> provider = create_or_explain(name, make, status, why);
    std::vector<GemmShape> shapes = opts.shapes;
    if (provider && on_gpu(*provider)) {
      shapes.insert(shapes.end(), opts.gpu_shapes.begin(), opts.gpu_shapes.end());
    }
    double seconds_per_flop = 0;  // from the last shape this provider ran
    std::string slow_at;
    for (const GemmShape& shape : shapes) {
      if (!provider) {
        out.push_back(not_run(name, shape, status, why));
        continue;
      }
      const double estimate = seconds_per_flop * shape.flops();
      if (estimate > opts.max_seconds_per_call) {
        out.push_back(not_run(name, shape, "skipped",
                              "about " + std::to_string(static_cast<int>(estimate)) +
                                  " s per call, judging by " + slow_at + " (limit " +
                                  std::to_string(opts.max_seconds_per_call) + " s)"));
        continue;
      }
      if (opts.progress) {
        opts.progress(name + " " + shape.str() + ", " + std::to_string(opts.threads) + " thread" +
                      (opts.threads == 1 ? "" : "s"));
      }
      GemmResult r = measure_gemm(*provider, shape, opts);
      if (r.ok()) {
        seconds_per_flop = r.time_ms.median * 1e-3 / shape.flops();
        slow_at = shape.str();
      }
      out.push_back(std::move(r));
    }
  }
  return out;
}

std::vector<GemmResult> run_gemm_sweep(const GemmSweepOptions& opts) {
  GemmSweepOptions resolved = opts;
  const std::vector<gemm::ProviderInfo> known = gemm::list_providers();
  if (resolved.providers.empty()) {
    for (const gemm::ProviderInfo& p : known) {
      if (p.available) resolved.providers.push_back(p.name);
    }
  }
  for (const std::string& n : resolved.providers) {
    const bool found = std::any_of(known.begin(), known.end(),
                                   [&](const gemm::ProviderInfo& p) { return p.name == n; });
    if (!found) {
      std::string list;
      for (const gemm::ProviderInfo& p : known) list += (list.empty() ? "" : ", ") + p.name;
      throw Error("unknown GEMM provider '" + n + "' (known: " + list + ")");
    }
  }
  return run_gemm_sweep(resolved,
                        [](const std::string& name) { return gemm::create_provider(name); });
}

nlohmann::json gemm_result_json(const GemmResult& r) {
  using nlohmann::json;
  const bool ok = r.ok();
  json j = {
      {"provider", r.provider},
      {"version", r.version},
      {"m", r.shape.m},
      {"n", r.shape.n},
      {"k", r.shape.k},
      {"trans_a", r.shape.trans_a == Trans::kYes},
      {"trans_b", r.shape.trans_b == Trans::kYes},
      {"threads", r.threads},
      {"status", r.status},
      {"reason", r.reason},
      {"gflops", ok ? json(r.gflops) : json(nullptr)},
      {"gflops_with_transfer",
       ok && r.gflops_with_transfer ? json(*r.gflops_with_transfer) : json(nullptr)},
      {"time_ms", ok ? latency_json(r.time_ms) : json(nullptr)},
      {"compute_time_ms",
       ok && r.compute_time_ms ? latency_json(*r.compute_time_ms) : json(nullptr)},
      {"warmup", r.warmup},
      {"iterations", r.iterations},
      {"validation",
       r.validation.method.empty()
           ? json(nullptr)
           : json{{"passed", r.validation.passed},
                  {"method", r.validation.method},
                  {"rel_error", std::isfinite(r.validation.rel_error) ? json(r.validation.rel_error)
                                                                      : json(nullptr)},
                  {"tolerance", r.validation.tolerance}}},
  };
  if (r.shape.calls > 0) {
    j["calls_per_inference"] = r.shape.calls;
    j["first_layer"] = r.shape.where;
  }
  return j;
}

}  // namespace libscout
