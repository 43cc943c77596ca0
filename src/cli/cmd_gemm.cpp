// `libscout gemm`: the SGEMM experiment (the paper's Fig. 3). Every (provider, shape) is validated,
// then timed (measure/gemm_sweep.h states the method); prints GFLOPS with shapes as rows and
// providers as columns, and writes libscout.gemm/1 JSON (docs/json-schemas.md) and CSV.
#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <set>

#include "cli/commands.h"
#include "cli/cpu_options.h"
#include "cli/output.h"
#include "core/error.h"
#include "gemm/gemm_provider.h"
#include "measure/device_info.h"
#include "measure/gemm_sweep.h"

namespace libscout::cli {

namespace {

struct GemmCommandOptions {
  GemmSweepOptions sweep;
  std::string providers = "all";
  std::string sizes;
  std::string device_sizes = "default";
  int min_size = 0, max_size = 0, step = 0;
  std::string shapes_model;
  std::string json_path, csv_path;
  std::vector<std::string> blas_libs;
  CpuChoice cpus;
};

int parse_size(const std::string& text, const char* option) {
  std::size_t used = 0;
  long v = -1;
  try {
    v = std::stol(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || v < 1 || v > 65536) {
    throw Error(std::string(option) + ": '" + text + "' is not a matrix size from 1 to 65536");
  }
  return static_cast<int>(v);
}

std::vector<int> parse_sizes(const std::string& list, const char* option) {
  std::vector<int> sizes;
  for (const std::string& s : split_list(list)) sizes.push_back(parse_size(s, option));
  if (sizes.empty()) throw Error(std::string(option) + ": no sizes given");
  return sizes;
}

// The extra shapes of providers whose operands live on a GPU: by default the larger default sizes
// when the sweep runs on its default sizes, and none when the user chose the shapes.
std::vector<GemmShape> gpu_shapes_from(const GemmCommandOptions& o) {
  if (o.device_sizes == "none") return {};
  if (o.device_sizes != "default") {
    return square_shapes(parse_sizes(o.device_sizes, "--device-sizes"));
  }
  const bool chosen = !o.sizes.empty() || o.min_size > 0 || o.max_size > 0 || o.step > 0 ||
                      !o.shapes_model.empty();
  return chosen ? std::vector<GemmShape>{} : square_shapes(default_gpu_square_sizes());
}

std::vector<GemmShape> shapes_from(const GemmCommandOptions& o) {
  const bool range = o.min_size > 0 || o.max_size > 0 || o.step > 0;
  const int given = int(!o.sizes.empty()) + int(range) + int(!o.shapes_model.empty());
  if (given > 1) throw Error("give only one of --sizes, --min/--max/--step and --shapes");
  if (!o.shapes_model.empty()) return model_gemm_shapes(o.shapes_model);
  if (!o.sizes.empty()) return square_shapes(parse_sizes(o.sizes, "--sizes"));
  if (range) {
    if (o.min_size < 1 || o.max_size < o.min_size || o.step < 1) {
      throw Error("--min, --max and --step need 1 <= min <= max and step >= 1");
    }
    std::vector<int> sizes;
    for (int n = o.min_size; n <= o.max_size; n += o.step) sizes.push_back(n);
    return square_shapes(sizes);
  }
  return square_shapes(default_square_sizes());
}

std::string cell(const GemmResult& r) {
  if (r.status == "ok") {
    std::string s = fixed(r.gflops, r.gflops < 10 ? 2 : 1);
    if (r.gflops_with_transfer) s += " (" + fixed(*r.gflops_with_transfer, 1) + ")";
    return s;
  }
  if (r.status == "failed") return "FAILED";
  if (r.status == "skipped") return "skipped";
  return "n/a";
}

// With a model's shapes, a last row: each provider's GEMM time per inference, the sum over the
// shapes of calls x median time of one call ("incomplete" where a shape did not run or failed).
template <typename ResultAt>
void print_model_total(const std::vector<GemmShape>& shapes,
                       const std::vector<std::string>& providers,
                       const std::vector<std::size_t>& widths, std::size_t shape_width,
                       const ResultAt& result_at) {
  const bool model = !shapes.empty() && std::all_of(shapes.begin(), shapes.end(),
                                                    [](const GemmShape& s) { return s.calls > 0; });
  if (!model) return;
  std::printf("%-*s", int(shape_width), "ms/inference");
  for (std::size_t c = 0; c < providers.size(); ++c) {
    double total = 0;
    bool complete = true;
    for (const GemmShape& s : shapes) {
      const GemmResult* r = result_at(providers[c], s);
      if (r == nullptr || !r->ok()) {
        complete = false;
        break;
      }
      total += s.calls * r->time_ms.median;
    }
    const std::string text = complete ? fixed(total, total < 10 ? 3 : 2) : "incomplete";
    std::printf("%*s", int(widths[c]), text.c_str());
  }
  std::printf("   sum of calls x median time\n");
}

// Shapes as rows (every shape any provider ran, in order of first appearance: GPU providers add
// larger sizes), providers as columns; a provider that did not run a shape has an empty cell.
void print_table(const std::vector<GemmResult>& results,
                 const std::vector<std::string>& providers) {
  std::vector<GemmShape> shapes;
  std::map<std::pair<std::string, std::string>, const GemmResult*> at;
  for (const GemmResult& r : results) {
    const std::string key = r.shape.str();
    const bool seen = std::any_of(shapes.begin(), shapes.end(),
                                  [&](const GemmShape& s) { return s.str() == key; });
    if (!seen) shapes.push_back(r.shape);
    at[{r.provider, key}] = &r;
  }
  auto result_at = [&](const std::string& provider, const GemmShape& s) -> const GemmResult* {
    const auto it = at.find({provider, s.str()});
    return it == at.end() ? nullptr : it->second;
  };
  auto cell_at = [&](const std::string& provider, const GemmShape& s) {
    const GemmResult* r = result_at(provider, s);
    return r == nullptr ? std::string() : cell(*r);
  };
  std::size_t shape_width = 12;
  for (const GemmShape& s : shapes) shape_width = std::max(shape_width, s.str().size() + 1);
  std::vector<std::size_t> widths;
  for (const std::string& p : providers) {
    std::size_t w = std::max<std::size_t>(p.size(), 8);
    for (const GemmShape& s : shapes) w = std::max(w, cell_at(p, s).size());
    widths.push_back(w + 2);
  }
  std::printf("GFLOPS (2*M*N*K / median time)\n%-*s", int(shape_width), "M x N x K");
  for (std::size_t c = 0; c < providers.size(); ++c) {
    std::printf("%*s", int(widths[c]), providers[c].c_str());
  }
  std::printf("\n");
  for (const GemmShape& s : shapes) {
    std::printf("%-*s", int(shape_width), s.str().c_str());
    for (std::size_t c = 0; c < providers.size(); ++c) {
      std::printf("%*s", int(widths[c]), cell_at(providers[c], s).c_str());
    }
    if (s.calls > 0) {
      std::printf("   %d call%s, first in %s", s.calls, s.calls == 1 ? "" : "s", s.where.c_str());
    }
    std::printf("\n");
  }
  print_model_total(shapes, providers, widths, shape_width, result_at);
}

void print_notes(const std::vector<GemmResult>& results, const std::vector<std::string>& providers) {
  bool device_note = false;
  for (const std::string& p : providers) {
    double worst_cv = 0;
    int threads = 0;
    std::string version;
    std::set<std::string> reasons;
    for (const GemmResult& r : results) {
      if (r.provider != p) continue;
      if (r.ok()) {
        worst_cv = std::max(worst_cv, r.time_ms.cv());
        threads = r.threads;
        version = r.version;
        if (r.gflops_with_transfer) device_note = true;
      }
      if (!r.reason.empty()) reasons.insert(r.status + ": " + r.reason);
    }
    std::string line = "  " + p + ":";
    if (threads > 0) {
      line += " " + std::to_string(threads) + " thread" + (threads == 1 ? "" : "s") +
              ", largest spread (stddev/mean) " + fixed(100 * worst_cv, 1) + "%";
      if (!version.empty()) line += ", " + version;
    }
    std::printf("%s\n", line.c_str());
    for (const std::string& why : reasons) std::printf("    %s\n", why.c_str());
  }
  if (device_note) {
    std::printf("Device-memory providers: the device computation alone, then in parentheses the "
                "whole call with host-device transfers.\n");
  }
}

std::string csv_escape(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char ch : s) out += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return out + "\"";
}

std::string to_csv(const std::vector<GemmResult>& results) {
  std::string out =
      "provider,m,n,k,trans_a,trans_b,threads,status,gflops,gflops_with_transfer,median_ms,"
      "min_ms,stddev_ms,iterations,validation,rel_error,reason\n";
  for (const GemmResult& r : results) {
    const bool ok = r.ok();
    out += csv_escape(r.provider) + "," + std::to_string(r.shape.m) + "," +
           std::to_string(r.shape.n) + "," + std::to_string(r.shape.k) + "," +
           (r.shape.trans_a == gemm::Trans::kYes ? "1" : "0") + "," +
           (r.shape.trans_b == gemm::Trans::kYes ? "1" : "0") + "," + std::to_string(r.threads) +
           "," + r.status + "," + (ok ? fixed(r.gflops, 3) : "") + "," +
           (ok && r.gflops_with_transfer ? fixed(*r.gflops_with_transfer, 3) : "") + "," +
           (ok ? fixed(r.time_ms.median, 4) : "") + "," + (ok ? fixed(r.time_ms.min, 4) : "") +
           "," + (ok ? fixed(r.time_ms.stddev, 4) : "") + "," + std::to_string(r.iterations) + "," +
           r.validation.method + "," +
           (r.validation.method.empty() ? "" : std::to_string(r.validation.rel_error)) + "," +
           csv_escape(r.reason) + "\n";
  }
  return out;
}

void run(GemmCommandOptions& o) {
  apply_cpu_choice(o.cpus);
  [[maybe_unused]] const double busy = busy_cores(0.2);  // before any work: the load of everything else
  if (const std::string warning = busy_machine_warning(busy); !warning.empty()) {
    std::fprintf(stderr, "libscout: warning: %s\n", warning.c_str());
  }
  for (const std::string& p : o.blas_libs) gemm::register_blas_library(p);
  if (!o.json_path.empty()) check_writable(o.json_path);
  if (!o.csv_path.empty()) check_writable(o.csv_path);
  o.sweep.shapes = shapes_from(o);
  o.sweep.gpu_shapes = gpu_shapes_from(o);
  o.sweep.providers.clear();
  if (o.providers != "all") {
    o.sweep.providers = split_list(o.providers);
    if (o.sweep.providers.empty()) throw Error("--providers: no provider named");
  }
  o.sweep.progress = [](const std::string& what) {
    std::fprintf(stderr, "libscout gemm: %s\n", what.c_str());
  };
  const std::vector<GemmResult> results = run_gemm_sweep(o.sweep);

  std::vector<std::string> providers;  // in sweep order
  for (const GemmResult& r : results) {
    if (std::find(providers.begin(), providers.end(), r.provider) == providers.end()) {
      providers.push_back(r.provider);
    }
  }
  print_table(results, providers);
  print_notes(results, providers);

  if (!o.json_path.empty()) {
    nlohmann::json device_sizes = nlohmann::json::array();
    for (const GemmShape& g : o.sweep.gpu_shapes) device_sizes.push_back(g.m);
    nlohmann::json j = {{"schema", "libscout.gemm/1"},
                        {"device", device_json()},
                        {"method",
                         {{"threads", o.sweep.threads},
                          {"warmup", o.sweep.warmup},
                          {"min_time_s", o.sweep.min_time_s},
                          {"min_iterations", o.sweep.min_iterations},
                          {"exact_check_macs", o.sweep.exact_check_macs},
                          {"tolerance", o.sweep.tolerance},
                          {"shapes", o.shapes_model.empty() ? "square" : o.shapes_model},
                          {"device_sizes", device_sizes}}},
                        {"results", nlohmann::json::array()}};
    for (const GemmResult& r : results) j["results"].push_back(gemm_result_json(r));
    write_json_file(o.json_path, j);
    std::printf("wrote %s\n", o.json_path.c_str());
  }
  if (!o.csv_path.empty()) {
    write_file_atomic(o.csv_path, to_csv(results));
    std::printf("wrote %s\n", o.csv_path.c_str());
  }
  const auto failed = std::count_if(results.begin(), results.end(),
                                    [](const GemmResult& r) { return r.status == "failed"; });
  if (failed > 0) {
    throw Error(std::to_string(failed) + " (provider, shape) result" + (failed == 1 ? "" : "s") +
                " failed (wrong result, or the provider threw) and " +
                (failed == 1 ? "was" : "were") + " not timed (see the notes)");
  }
}

}  // namespace

void add_gemm_command(CLI::App& app) {
  auto o = std::make_shared<GemmCommandOptions>();
  GemmSweepOptions& s = o->sweep;
  CLI::App* cmd = app.add_subcommand(
      "gemm", "SGEMM throughput of every GEMM provider over matrix sizes (the paper's Fig. 3)");
  cmd->add_option("--providers,-p", o->providers,
                  "Comma-separated providers (libscout list), or all available ones")
      ->capture_default_str();
  cmd->add_option("--sizes", o->sizes,
                  "Comma-separated square sizes; default 32 to 2048 (powers of two and halfway), "
                  "and 3072 to 8192 on providers whose operands live on a GPU");
  cmd->add_option("--device-sizes", o->device_sizes,
                  "Comma-separated square sizes measured in addition on providers whose operands "
                  "live on a GPU, or 'none'; 'default' is 3072,4096,6144,8192 with the default "
                  "sizes and none when the sizes or shapes are given")
      ->capture_default_str();
  cmd->add_option("--min", o->min_size, "Smallest square size (with --max and --step)")
      ->check(CLI::Range(1, 65536));
  cmd->add_option("--max", o->max_size, "Largest square size")->check(CLI::Range(1, 65536));
  cmd->add_option("--step", o->step, "Step between square sizes")->check(CLI::Range(1, 65536));
  cmd->add_option("--shapes", o->shapes_model,
                  "Instead of square sizes, the distinct (M, N, K) that the gemm: backends issue "
                  "for this model (a zoo name such as squeezenet1.1, or an ONNX file)");
  cmd->add_option("--threads,-t", s.threads, "Threads of each provider's library")
      ->check(CLI::Range(1, 1024));
  cmd->add_option("--warmup", s.warmup, "Untimed calls before timing")->check(CLI::Range(0, 100000));
  cmd->add_option("--min-time", s.min_time_s, "Time calls until this many seconds have passed")
      ->check(CLI::Range(0.0, 86400.0))
      ->capture_default_str();
  cmd->add_option("--min-iterations", s.min_iterations, "... and at least this many calls")
      ->check(CLI::Range(1, 10000000));
  cmd->add_option("--max-call-time", s.max_seconds_per_call,
                  "Skip a provider's larger sizes once one call would take longer (seconds)")
      ->check(CLI::Range(0.001, 86400.0))
      ->capture_default_str();
  cmd->add_option("--tolerance", s.tolerance, "Validation bound on the relative error")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--json", o->json_path, "Write the results as JSON (libscout.gemm/1)");
  cmd->add_option("--csv", o->csv_path, "Write the results as CSV, one row per (provider, shape)");
  cmd->add_option("--blas-lib", o->blas_libs, "A CBLAS library by path: provider path:PATH");
  add_cpu_options(cmd, o->cpus);
  cmd->callback([o] { run(*o); });
}

}  // namespace libscout::cli
