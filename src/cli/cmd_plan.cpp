// `libscout plan MODEL --out PLAN.json`: measures every layer on every candidate backend and
// writes the per-layer placement that runs the whole network fastest (src/placement/planner.h);
// `libscout run MODEL --backend auto [--plan PLAN.json]` runs it.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "backends/registry.h"
#include "cli/commands.h"
#include "cli/cpu_options.h"
#include "cli/output.h"
#include "cli/planned_backend.h"
#include "core/engine.h"
#include "core/error.h"
#include "gemm/gemm_provider.h"
#include "placement/plan_file.h"
#include "placement/planner.h"

namespace libscout::cli {

namespace {

struct PlanCommandOptions {
  placement::PlanOptions plan;
  std::string backends = "all";
  std::string out, input_shape;
  CpuChoice cpus;
  std::vector<std::string> blas_libs;
};

const placement::Contender* find_contender(const placement::Plan& p, const std::string& name) {
  for (const placement::Contender& c : p.contenders) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

// The fastest single backend of the final comparison.
const placement::Contender* best_single(const placement::Plan& p) {
  const placement::Contender* best = nullptr;
  for (const placement::Contender& c : p.contenders) {
    if (c.name.rfind("plan", 0) == 0) continue;  // a planned mix
    if (best == nullptr || c.median_ms < best->median_ms) best = &c;
  }
  return best;
}

void print_layers(const placement::Plan& p) {
  std::printf("%-28s %-14s %-16s %9s  %s\n", "layer", "op", "backend", "ms", "fastest alone (ms)");
  for (const placement::PlannedLayer& l : p.layers) {
    double chosen_ms = -1;
    const placement::Alternative* fastest = nullptr;
    for (const placement::Alternative& a : l.alternatives) {
      if (a.backend == l.backend) chosen_ms = a.in_context_ms;
      if (a.in_context_ms >= 0 && (fastest == nullptr || a.in_context_ms < fastest->in_context_ms)) {
        fastest = &a;
      }
    }
    std::printf("%-28s %-14s %-16s %9s  %s\n", l.name.c_str(), l.op.c_str(), l.backend.c_str(),
                chosen_ms >= 0 ? fixed(chosen_ms, 3).c_str() : "-",
                fastest ? (fastest->backend + " " + fixed(fastest->in_context_ms, 3)).c_str() : "-");
  }
}

// This process's arguments, as the kernel keeps them.
std::vector<std::string> own_arguments() {
  std::ifstream f("/proc/self/cmdline", std::ios::binary);
  std::vector<std::string> args;
  for (std::string a; std::getline(f, a, '\0');) args.push_back(a);
  return args;
}

}  // namespace

void quiet_idle_threads_for_a_mix(int threads) {
  // OpenBLAS's workers spin for 2^28 cycles after each call by default: in a mix they took the
  // cores from the next segment's threads (SqueezeNet v1.1, 2 threads on 2 cores, native measured
  // in the same process as gemm:openblas: 8.8 ms, against 3.5 ms with this). OpenBLAS is loaded
  // later (dlopen), so setting it here is enough.
  if (threads > 1 && std::getenv("OPENBLAS_THREAD_TIMEOUT") == nullptr) {
    setenv("OPENBLAS_THREAD_TIMEOUT", "4", 1);
  }
  if (threads <= 1 || std::getenv("OMP_WAIT_POLICY") != nullptr) return;
  const std::vector<std::string> args = own_arguments();
  if (!args.empty() && setenv("OMP_WAIT_POLICY", "PASSIVE", 1) == 0) {
    std::vector<char*> argv;
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    std::fflush(nullptr);
    execv("/proc/self/exe", argv.data());
    unsetenv("OMP_WAIT_POLICY");  // still this process: its OpenMP runtime keeps its default
  }
  std::fprintf(stderr, "libscout: note: could not start again with OMP_WAIT_POLICY=PASSIVE (%s): "
                       "at %d threads, OpenMP libraries spin between the segments of a mix; set "
                       "it before libscout starts\n", std::strerror(errno), threads);
}

void print_plan_summary(const placement::Plan& p) {
  std::printf("\nplan for %s, input %s, %d thread%s (%.1f s to plan)\n", p.model.c_str(),
              p.input_shape.c_str(), p.threads, p.threads == 1 ? "" : "s", p.planning_s);
  std::printf("%-24s %10s %22s %12s\n", "contender", "median ms", "95% interval", "predicted");
  for (const placement::Contender& c : p.contenders) {
    std::printf("%-24s %10.3f %10.3f to %8.3f %12s%s\n", c.name.c_str(), c.median_ms, c.ci_low_ms,
                c.ci_high_ms, c.predicted_ms >= 0 ? fixed(c.predicted_ms, 3).c_str() : "",
                c.name == p.chosen ? "  <- chosen" : "");
  }
  for (const auto& [backend, why] : p.not_considered) {
    std::printf("  not considered: %s: %s\n", backend.c_str(), why.c_str());
  }
  const placement::Contender* chosen = find_contender(p, p.chosen);
  const placement::Contender* single = best_single(p);
  if (chosen != nullptr && single != nullptr && chosen != single) {
    std::printf("the plan runs %.2fx as fast as the fastest single backend, %s (medians; "
                "intervals %s)\n", single->median_ms / chosen->median_ms, single->name.c_str(),
                chosen->ci_high_ms < single->ci_low_ms ? "apart" : "overlap: within noise");
  } else if (chosen != nullptr) {
    std::printf("no mix beat %s alone: the plan runs it on every layer it supports\n",
                chosen->name.c_str());
  }
}

void resolve_planned_backend(BenchmarkOptions& b, const std::string& plan_path) {
  placement::Plan plan;
  if (!plan_path.empty()) {
    plan = placement::read_plan(plan_path);
    b.plan_source = plan_path;
  } else {
    std::fprintf(stderr, "libscout: --backend auto without --plan: planning %s first\n",
                 b.model.c_str());
    placement::PlanOptions po;
    po.model = b.model;
    po.model_options = b.model_options;
    po.threads = b.threads;
    po.tolerance = b.tolerance;
    po.log = [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); };
    plan = placement::make_plan(po);
    print_plan_summary(plan);
    std::printf("\n");
    b.plan_source = "planned for this run";
  }
  ModelOptions mo = b.model_options;
  const Graph g = load_model(b.model, mo);
  b.layer_backends = placement::plan_placement(plan, g);
  std::map<std::string, std::string> versions;
  for (const std::string& name : b.layer_backends) {
    if (name != kInPlaceConcat && !versions.count(name)) {
      versions[name] = create_backend(name)->settings().value("library_version", "");
    }
  }
  for (const std::string& w : placement::plan_warnings(plan, g, b.threads, versions)) {
    std::fprintf(stderr, "libscout: warning: %s\n", w.c_str());
  }
}

void add_plan_command(CLI::App& app) {
  auto o = std::make_shared<PlanCommandOptions>();
  placement::PlanOptions& p = o->plan;
  CLI::App* cmd = app.add_subcommand(
      "plan", "Measure every layer on every backend and write the fastest per-layer placement");
  cmd->add_option("model", p.model, "Model: a zoo name (libscout list) or an ONNX file")->required();
  cmd->add_option("--out,-o", o->out, "The plan file to write (libscout.plan/1)")->required();
  cmd->add_option("--backends", o->backends,
                  "Candidate backends, comma-separated, or all (every available CPU backend but "
                  "the reference and gemm:naive)")->capture_default_str();
  cmd->add_option("--threads,-t", p.threads, "Threads of every library")->check(CLI::Range(1, 1024));
  cmd->add_option("--batch", p.model_options.batch, "Batch size")->check(CLI::Range(1, 4096));
  cmd->add_option("--resolution", p.model_options.resolution, "Input height and width")
      ->check(CLI::Range(32, 4096));
  cmd->add_option("--width", p.model_options.width, "Width multiplier (MobileNets)")
      ->check(CLI::Range(0.01, 4.0));
  cmd->add_option("--input-shape", o->input_shape, "The input's shape, e.g. 1,3,224,224");
  cmd->add_option("--repeats", p.repeats, "Profiled inferences per backend and layout")
      ->capture_default_str()->check(CLI::Range(1, 1000));
  cmd->add_option("--rounds", p.verify_rounds,
                  "Interleaved rounds comparing the plan with every single backend")
      ->capture_default_str()->check(CLI::Range(1, 1000));
  cmd->add_option("--reference-cache", p.reference_cache_dir,
                  "Keep the reference outputs in this folder and reuse them (used by the study)");
  cmd->add_option("--blas-lib", o->blas_libs, "A CBLAS library by path (provider path:PATH)");
  add_cpu_options(cmd, o->cpus);
  cmd->callback([o] {
    quiet_idle_threads_for_a_mix(o->plan.threads);
    apply_cpu_choice(o->cpus);
    check_writable(o->out);
    for (const std::string& lib : o->blas_libs) gemm::register_blas_library(lib);
    placement::PlanOptions opts = o->plan;
    if (!o->input_shape.empty()) opts.model_options.input_shape = parse_input_shape(o->input_shape);
    if (o->backends != "all") opts.backends = split_list(o->backends);
    opts.log = [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); };
    const placement::Plan plan = placement::make_plan(opts);
    print_layers(plan);
    print_plan_summary(plan);
    write_json_file(o->out, placement::plan_json(plan));
    std::printf("wrote %s\n", o->out.c_str());
  });
}

}  // namespace libscout::cli
