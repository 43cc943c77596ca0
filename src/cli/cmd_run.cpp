// `libscout run MODEL --backend NAME`: validates the backend against the reference on the same
// input, then times whole inferences; prints the latency statistics and, with --json, writes a
// libscout.run/1 file (docs/json-schemas.md).
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <sstream>
#include <vector>

#include "backends/registry.h"
#include "cli/commands.h"
#include "cli/cpu_options.h"
#include "cli/output.h"
#include "cli/planned_backend.h"
#include "core/error.h"
#include "gemm/gemm_provider.h"
#include "measure/device_info.h"
#include "measure/model_benchmark.h"
#include "onnx/npy.h"
#include "onnx/onnx_import.h"
#include "power/energy.h"
#include "power/meter.h"

namespace libscout::cli {

namespace {

struct RunCommandOptions {
  BenchmarkOptions bench;
  std::string json_path;
  std::vector<std::string> blas_libs;
  bool energy = false;
  std::string meter = "auto";
  power::MeterOptions meter_options;
  power::EnergyOptions energy_options;
  CpuChoice cpus;
  std::string input_shape, input_npy, output_npy;
  std::string plan_path;  // --plan, with --backend auto
};

void print_layers(const BenchmarkResult& r) {
  std::printf("\n%-28s %-24s %-14s %-16s %9s %8s\n", "layer", "op", "output", "backend", "ms",
              "GFLOPS");
  double total = 0;
  for (const LayerTiming& t : r.layers) {
    std::printf("%-28s %-24s %-14s %-16s %9.3f %8.2f\n", t.name.c_str(), t.op.c_str(),
                t.output_shape.c_str(), t.backend.c_str(), t.median_ms, t.gflops);
    total += t.median_ms;
  }
  std::printf("%-28s %-24s %-14s %-16s %9.3f\n", "(sum of layer medians)", "", "", "", total);
  for (const LayerTiming& t : r.layers) {
    if (!t.fallback_reason.empty()) {
      std::printf("  %s ran on %s: %s\n", t.name.c_str(), t.backend.c_str(),
                  t.fallback_reason.c_str());
    }
  }
}

// Test-only fault injection, for the study's robustness tests: LIBSCOUT_INJECT_FAULT=KIND:BACKEND
// makes `run` on that backend crash (KIND crash), allocate without bound (oom) or hang (hang), as
// a broken library would.
// Several faults are separated by commas: crash:gemm:eigen,oom:gemm:blis.
void inject_fault(const std::string& backend) {
  const char* env = std::getenv("LIBSCOUT_INJECT_FAULT");
  if (env == nullptr) return;
  std::string kind;
  std::stringstream specs(env);
  for (std::string spec; std::getline(specs, spec, ',');) {
    const auto colon = spec.find(':');
    if (colon != std::string::npos && spec.substr(colon + 1) == backend) {
      kind = spec.substr(0, colon);
    }
  }
  if (kind == "crash") std::raise(SIGSEGV);
  if (kind == "hang") {
    for (;;) pause();
  }
  if (kind == "oom") {
    std::vector<std::unique_ptr<char[]>> hog;
    for (;;) {
      hog.emplace_back(new char[64 << 20]);
      std::memset(hog.back().get(), 1, 64 << 20);
    }
  }
}

// The dimensions of value v as the user sees them: the model file's, else NCHW.
std::vector<std::int64_t> user_dims(const Graph& g, ValueId v) {
  const Value& value = g.values[v];
  if (!value.file_dims.empty()) return {value.file_dims.begin(), value.file_dims.end()};
  return {value.shape.n, value.shape.c, value.shape.h, value.shape.w};
}

std::string dims_text(const std::vector<std::int64_t>& dims) {
  std::string s = "(";
  for (std::size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + ")";
}

// out.npy for the first output, out.1.npy, out.2.npy, ... for the others.
std::string output_path(const std::string& path, std::size_t i) {
  if (i == 0) return path;
  const std::size_t dot = path.rfind(".npy");
  const std::string stem = dot != std::string::npos && dot + 4 == path.size() ? path.substr(0, dot) : path;
  return stem + "." + std::to_string(i) + ".npy";
}

// --input / --output: one inference on the given input (or the seeded one) on the backend,
// checked against the reference on that input; the outputs written as .npy files.
void run_user_io(const RunCommandOptions& o) {
  const BenchmarkOptions& b = o.bench;
  const Graph g = load_model(b.model, b.model_options);
  Tensor input = make_input(g);
  if (!o.input_npy.empty()) {
    const NpyArray a = read_npy(o.input_npy, default_model_memory_limit());
    if (a.shape != user_dims(g, g.input)) {
      throw Error("--input " + o.input_npy + " has shape " + dims_text(a.shape) + ", the model's input '" +
                  g.values[g.input].name + "' is " + dims_text(user_dims(g, g.input)));
    }
    std::copy(a.data.begin(), a.data.end(), input.data());
  }
  auto backend = create_backend(b.backend);
  auto fallback = b.backend == "reference" ? nullptr : create_fallback_backend();
  ExecOptions exec;
  exec.threads = b.threads;
  exec.cuda_graph = b.cuda_graph;
  exec.allow_tf32 = b.allow_tf32;
  Engine engine(g, *backend, fallback.get(), exec);
  engine.set_input(input);
  engine.run();
  const std::vector<Tensor> reference = reference_outputs(g, input);
  for (std::size_t i = 0; i < g.outputs.size(); ++i) {
    const Tensor out = engine.output_tensor(static_cast<int>(i));
    const double err = relative_l2_error(out.span(), reference[i].span());
    if (!(err <= b.tolerance)) {
      throw Error("backend '" + backend->name() + "' differs from the reference on " +
                  (o.input_npy.empty() ? "the seeded input" : o.input_npy) + " (output '" +
                  g.values[g.outputs[i]].name + "', relative L2 error " + std::to_string(err) + ")");
    }
    if (o.output_npy.empty()) continue;
    const std::string path = output_path(o.output_npy, i);
    const std::vector<std::int64_t> dims = user_dims(g, g.outputs[i]);
    write_npy(path, dims, out.span());
    std::printf("wrote %s: output '%s' %s on %s, %s input\n", path.c_str(),
                g.values[g.outputs[i]].name.c_str(), dims_text(dims).c_str(), backend->name().c_str(),
                o.input_npy.empty() ? "the seeded" : "the given");
  }
}

// The run document's `method`: how its result was obtained (docs/json-schemas.md).
nlohmann::json method_json(const RunCommandOptions& o) {
  const BenchmarkOptions& b = o.bench;
  nlohmann::json j = {
      {"warmup", b.warmup},
      {"iterations", b.iterations > 0 ? nlohmann::json(b.iterations) : nlohmann::json()},
      {"min_time_s", b.iterations > 0 ? nlohmann::json() : nlohmann::json(b.min_time_s)},
      {"min_iterations", b.iterations > 0 ? b.iterations : b.min_iterations},
      {"tolerance", b.tolerance},
      {"clock", "std::chrono::steady_clock around each whole inference"},
      {"energy", nullptr}};
  if (o.energy) {
    j["energy"] = {{"min_window_s", o.energy_options.min_window_s},
                   {"idle_s", o.energy_options.idle_s},
                   {"cooldown_s", o.energy_options.cooldown_s},
                   {"meter", o.meter}};
  }
  const nlohmann::json cpu = cpu_setup_json();
  for (const auto& [key, value] : cpu.items()) j[key] = value;
  return j;
}

// The result for a person: what ran, validation, latency, device time, energy, layers.
void print_result(const BenchmarkResult& r, const power::EnergyOutcome& energy, bool energy_asked) {
  std::printf("%s on %s: %d thread%s, batch %d, %.1fM MACs per inference\n", r.model.c_str(),
              r.backend.c_str(), r.threads, r.threads == 1 ? "" : "s", r.batch, r.macs / 1e6);
  if (!r.model_sha256.empty()) std::printf("model file %s, SHA-256 %s\n", r.model.c_str(), r.model_sha256.c_str());
  if (r.threads != r.threads_requested) {
    std::printf("note: %d thread%s asked, the library uses %d\n", r.threads_requested,
                r.threads_requested == 1 ? "" : "s", r.threads);
  }
  if (r.fallback_layers > 0) {
    std::printf("note: %d layer(s) ran on the fallback %s", r.fallback_layers,
                r.fallback_backend.c_str());
    if (r.fallback_time_share) {
      std::printf(", %.0f%% of the inference time", 100 * *r.fallback_time_share);
    }
    std::printf(" (--per-layer shows which)\n");
  }
  std::printf("validation: %s (relative L2 error %.3g, bound %.0e)\n",
              r.validation.passed || r.validation.failed_after_timing ? "passed" : "FAILED",
              r.validation.rel_l2_error, r.validation.tolerance);
  if (r.validation.failed_after_timing) {
    std::printf("validation after timing: FAILED (relative L2 error %.3g)\n",
                *r.validation.rel_l2_error_after_timing);
  }
  if (r.validation.passed) {
    const Summary& s = r.latency_ms;
    std::printf("latency over %d runs after %d warm-up (ms): min %.3f  median %.3f  mean %.3f  "
                "p90 %.3f  p99 %.3f  stddev %.3f\n",
                r.iterations, r.warmup, s.min, s.median, s.mean, s.p90, s.p99, s.stddev);
    std::printf("median %.3f ms, %.0f%% interval %.3f to %.3f ms (%s)\n", s.median,
                100 * r.latency_ci.level, r.latency_ci.low, r.latency_ci.high,
                r.latency_ci.method.c_str());
    std::printf("throughput at the median: %.2f images/s, %.2f GFLOPS\n",
                1e3 * r.batch / s.median, 2.0 * r.macs / (s.median * 1e6));
    if (r.device_ms.count > 0) {
      const Summary& d = r.device_ms;
      std::printf("device time (CUDA events, ms): min %.4f  median %.4f  p90 %.4f; "
                  "%.0f images/s at the device median\n",
                  d.min, d.median, d.p90, 1e3 * r.batch / d.median);
    }
    if (energy.report) {
      std::printf("%s\n", power::summary_line(*energy.report).c_str());
    } else if (energy_asked) {
      std::printf("energy: not measured: %s\n", energy.error.c_str());
    }
    if (!r.layers.empty()) print_layers(r);
  }
}

int run(RunCommandOptions& o) {
  inject_fault(o.bench.backend);
  if (o.bench.backend == "auto") quiet_idle_threads_for_a_mix(o.bench.threads);
  if (!o.input_shape.empty()) o.bench.model_options.input_shape = parse_input_shape(o.input_shape);
  const std::vector<int> cores = apply_cpu_choice(o.cpus);
  const double busy = busy_cores(0.2);  // before any work: the load of everything else
  if (const std::string warning = busy_machine_warning(busy); !warning.empty()) {
    std::fprintf(stderr, "libscout: warning: %s\n", warning.c_str());
  }
  if (o.cpus.given() && o.bench.threads > static_cast<int>(cores.size())) {
    std::fprintf(stderr, "libscout: note: %d threads on %zu core(s)\n", o.bench.threads,
                 cores.size());
  }
  for (const std::string& p : o.blas_libs) gemm::register_blas_library(p);
  if (!o.json_path.empty()) check_writable(o.json_path);
  if (o.bench.backend == "auto") {
    if (!o.input_npy.empty() || !o.output_npy.empty()) {
      throw Error("--input and --output run one backend; with --backend auto, time the plan "
                  "here and run its backends' layers with --per-layer");
    }
    resolve_planned_backend(o.bench, o.plan_path);
  } else if (!o.plan_path.empty()) {
    throw Error("--plan is for --backend auto (got --backend " + o.bench.backend + ")");
  }
  const BenchmarkOptions& b = o.bench;
  if (!o.input_npy.empty() || !o.output_npy.empty()) run_user_io(o);
  // The meter is opened before any work, so a bad --meter fails at once.
  std::unique_ptr<power::Meter> meter;
  power::EnergyOutcome energy;
  EngineHook hook;
  if (o.energy) {
    meter = power::create_meter(o.meter, o.meter_options,
                                device_kind_name(backend_device(b.backend)));
    hook = power::energy_hook(*meter, o.energy_options, &energy);
  }
  BenchmarkResult r = benchmark_model(b, nullptr, hook);
  r.extra["busy_cores_at_start"] = busy;
  // How OpenMP runtimes waited in this process (libgomp read it when it loaded).
  const char* wait_policy = std::getenv("OMP_WAIT_POLICY");
  if (!r.settings.is_object()) r.settings = nlohmann::json::object();
  r.settings["omp_wait_policy"] = wait_policy != nullptr ? wait_policy : "unset";
  if (o.energy && !r.validation.passed) r.extra["energy"] = nullptr;  // never measured
  print_result(r, energy, o.energy);
  if (!o.json_path.empty()) {
    nlohmann::json j = {{"schema", "libscout.run/1"},
                        {"device", device_json()},
                        {"method", method_json(o)},
                        {"results", nlohmann::json::array({result_json(r)})}};
    write_json_file(o.json_path, j);
    std::printf("wrote %s\n", o.json_path.c_str());
  }
  if (r.validation.failed_after_timing) {
    throw Error("backend '" + r.backend + "' failed validation on " + r.model +
                " after timing: the output of its last timed inference differs from the "
                "reference (its timings are not valid)");
  }
  if (!r.validation.passed) {
    throw Error("backend '" + r.backend + "' failed validation on " + r.model +
                ": its output differs from the reference (not timed)");
  }
  return 0;
}

}  // namespace

void add_run_command(CLI::App& app) {
  auto o = std::make_shared<RunCommandOptions>();
  BenchmarkOptions& b = o->bench;
  b.backend = "gemm:openblas";  // the paper's baseline: Caffe-style convolution on OpenBLAS
  CLI::App* cmd = app.add_subcommand("run", "Validate, then time, one model on one backend");
  cmd->add_option("model", b.model, "Model: a zoo name (libscout list) or an ONNX file")->required();
  cmd->add_option("--input-shape", o->input_shape,
                  "The input's shape, e.g. 1,3,224,224 (default: the model file's, a symbolic "
                  "batch taking --batch; for the zoo, sets --batch and --resolution)");
  cmd->add_option("--input", o->input_npy,
                  "Run once on this input (.npy, float32), checked against the reference, "
                  "before timing");
  cmd->add_option("--output", o->output_npy,
                  "Write the outputs of that run as .npy (FILE.npy, then FILE.1.npy, ...)");
  cmd->add_option("--backend,-b", b.backend,
                  "Backend (libscout list), or auto: a per-layer plan mixing backends; default: "
                  "the baseline")
      ->capture_default_str();
  cmd->add_option("--plan", o->plan_path,
                  "With --backend auto: the per-layer plan to run (libscout plan); without it, "
                  "the model is planned first");
  cmd->add_option("--threads,-t", b.threads, "Threads of the backend's library")
      ->check(CLI::Range(1, 1024));
  cmd->add_option("--batch", b.model_options.batch, "Batch size")->check(CLI::Range(1, 4096));
  cmd->add_option("--resolution", b.model_options.resolution, "Input height and width")
      ->check(CLI::Range(32, 4096));
  cmd->add_option("--width", b.model_options.width, "Width multiplier (MobileNets)")
      ->check(CLI::Range(0.01, 4.0));
  cmd->add_option("--warmup", b.warmup, "Untimed runs before timing")->check(CLI::Range(0, 100000));
  auto* iters = cmd->add_option("--iterations,-n", b.iterations, "Timed runs (fixed count)")
                    ->check(CLI::Range(1, 10000000));
  cmd->add_option("--min-time", b.min_time_s, "Time runs until this many seconds have passed")
      ->check(CLI::Range(0.0, 86400.0))
      ->excludes(iters);
  cmd->add_option("--min-iterations", b.min_iterations,
                  "With --min-time: time at least this many runs")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000000))
      ->excludes(iters);
  cmd->add_option("--tolerance", b.tolerance,
                  "Validation bound on the relative L2 error, below 1 (zeros have error 1)")
      ->capture_default_str()
      ->check(CLI::Validator(
          [](std::string& s) {
            const double v = std::strtod(s.c_str(), nullptr);
            return v >= 0 && v < 1 ? std::string()
                                   : "must be at least 0 and below 1 (an output of zeros has a "
                                     "relative error of exactly 1), got " + s;
          },
          "[0, 1)"));
  cmd->add_option("--cuda-graph", b.cuda_graph,
                  "GPU backends: replay one captured CUDA graph per inference (on|off)")
      ->transform(CLI::CheckedTransformer(std::map<std::string, std::string>{{"on", "1"},
                                                                          {"off", "0"}}))
      ->capture_default_str();
  cmd->add_flag("--allow-tf32", b.allow_tf32,
                "GPU backends: allow TF32 tensor-core math (default: IEEE FP32), recorded");
  cmd->add_flag("--per-layer", b.per_layer, "Add a per-layer table (separate profiled pass)");
  cmd->add_option("--json", o->json_path, "Write the result as JSON (libscout.run/1)");
  cmd->add_flag("--energy", o->energy, "Measure energy per inference with a power meter");
  cmd->add_option("--meter", o->meter,
                  "Power meter: auto, rapl, nvml, hwmon, ina231, external:FILE, none "
                  "(libscout meters)")->capture_default_str();
  cmd->add_option("--energy-min-time", o->energy_options.min_window_s,
                  "Energy window: repeat inferences at least this long, seconds")
      ->capture_default_str()->check(CLI::Range(0.1, 3600.0));
  cmd->add_option("--idle-time", o->energy_options.idle_s,
                  "Idle power measured this long before the window, seconds (0: skip)")
      ->capture_default_str()->check(CLI::Range(0.0, 3600.0));
  o->energy_options.cooldown_s = 2.0;  // idle power is not measured right after a load
  cmd->add_option("--cooldown", o->energy_options.cooldown_s,
                  "Pause before the idle measurement, seconds (0: none)")
      ->capture_default_str()->check(CLI::Range(0.0, 3600.0));
  cmd->add_option("--sample-hz", o->meter_options.sample_hz, "Sampling rate of sampled meters")
      ->capture_default_str()->check(CLI::Range(1.0, 10000.0));
  cmd->add_option("--blas-lib", o->blas_libs, "A CBLAS library by path: backend gemm:path:PATH");
  cmd->add_option("--reference-cache", b.reference_cache_dir,
                  "Keep the reference outputs in this folder and reuse them (used by the study)");
  add_cpu_options(cmd, o->cpus);
  cmd->callback([o] { run(*o); });
}

}  // namespace libscout::cli
