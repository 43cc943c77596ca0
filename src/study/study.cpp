#include "study/study.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "backends/registry.h"
#include "core/error.h"
#include "gemm/gemm_provider.h"
#include "measure/device_info.h"
#include "report/report_writer.h"
#include "report/study_results.h"
#include "study/child_process.h"
#include "study/progress.h"
#include "study/results_file.h"

namespace libscout::study {

namespace fs = std::filesystem;

namespace {

// Stands for the study's reference cache folder in a step's arguments (made absolute at run time).
constexpr const char* kReferenceDirArg = "@reference-cache@";

int online_cores() {
  const long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<int>(n) : 1;
}

std::size_t default_memory_limit_mb() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page <= 0) return 4096;
  return static_cast<std::size_t>(pages) * static_cast<std::size_t>(page) / (1u << 20) * 3 / 4;
}

std::string file_key(std::string key) {
  for (char& c : key) {
    if (c == '/' || c == ':' || c == ' ') c = '_';
  }
  return key;
}

template <typename Info>
std::vector<std::string> pick(const std::vector<Info>& all, const std::vector<std::string>& wanted,
                              const char* what, std::vector<std::string> exclude = {}) {
  std::vector<std::string> out;
  if (wanted.empty() || (wanted.size() == 1 && wanted[0] == "all")) {
    for (const Info& i : all) {
      if (i.available && std::find(exclude.begin(), exclude.end(), i.name) == exclude.end()) {
        out.push_back(i.name);
      }
    }
    return out;
  }
  for (const std::string& name : wanted) {
    const auto it = std::find_if(all.begin(), all.end(), [&](const Info& i) { return i.name == name; });
    if (it == all.end()) {
      std::string known;
      for (const Info& i : all) known += (known.empty() ? "" : ", ") + i.name;
      throw Error(std::string("unknown ") + what + " '" + name + "' (known: " + known + ")");
    }
    out.push_back(name);  // an unavailable one is kept: its row says why
  }
  return out;
}

std::vector<int> thread_counts(const StudyOptions& o) {
  std::vector<int> t = o.threads;
  if (t.empty() && o.quick) t = {1};  // --quick: one thread count, to stay short
  if (t.empty()) t = {1, o.cores > 0 ? o.cores : online_cores()};
  for (int n : t) {
    if (n < 1 || n > 1024) throw Error("thread counts must be in [1, 1024], got " + std::to_string(n));
  }
  std::sort(t.begin(), t.end());
  t.erase(std::unique(t.begin(), t.end()), t.end());
  return t;
}

// Measurement settings passed to every child.
struct Timing {
  std::string min_time, warmup, sizes, gemm_min_time;
  double run_timeout, gemm_timeout;
};

Timing timing_for(const StudyOptions& o) {
  if (o.quick) return {"0.2", "1", "64,128,256", "0.05", 60, 60};
  return {"1.0", "2", "64,128,256,512,1024,2048", "0.3", 300, 600};
}

}  // namespace

std::vector<Step> plan_study(const StudyOptions& o) {
  const Timing t = timing_for(o);
  const std::vector<int> threads = thread_counts(o);
  std::vector<std::string> common;
  for (const std::string& lib : o.blas_libs) common.insert(common.end(), {"--blas-lib", lib});
  common.insert(common.end(), o.child_args.begin(), o.child_args.end());

  std::vector<Step> steps;
  if (!o.skip_gemm) {
    for (const std::string& p : pick(gemm::list_providers(), o.providers, "GEMM provider")) {
      for (int n : threads) {
        Step s;
        s.key = "gemm/" + p + "/t" + std::to_string(n);
        s.kind = "gemm";
        s.label = "SGEMM sweep on " + p + ", " + std::to_string(n) + " thread" + (n > 1 ? "s" : "");
        s.raw_file = "raw/" + file_key(s.key) + ".json";
        s.args = {"gemm", "--providers", p, "--threads", std::to_string(n), "--sizes", t.sizes,
                  "--min-time", t.gemm_min_time, "--json", s.raw_file};
        s.args.insert(s.args.end(), common.begin(), common.end());
        s.estimate_s = o.quick ? 2 : 20;
        s.identity = {{"provider", p}, {"threads", n}};
        steps.push_back(std::move(s));
      }
    }
  }
  const auto backends = pick(list_backends(), o.backends, "backend", {"reference"});
  for (const std::string& m : o.models) {
    for (const std::string& b : backends) {
      for (int n : threads) {
        Step s;
        s.key = "run/" + m + "/" + b + "/t" + std::to_string(n);
        s.kind = "run";
        s.label = m + " on " + b + ", " + std::to_string(n) + " thread" + (n > 1 ? "s" : "");
        s.raw_file = "raw/" + file_key(s.key) + ".json";
        s.args = {"run", m, "--backend", b, "--threads", std::to_string(n), "--min-time",
                  t.min_time, "--warmup", t.warmup, "--json", s.raw_file, "--reference-cache",
                  kReferenceDirArg};
        if (o.energy != "off") {
          s.args.push_back("--energy");
          if (!o.meter.empty()) s.args.insert(s.args.end(), {"--meter", o.meter});
        }
        s.args.insert(s.args.end(), common.begin(), common.end());
        s.estimate_s = o.quick ? 1.5 : 6;
        s.identity = {{"model", m}, {"backend", b}, {"threads", n}};
        steps.push_back(std::move(s));
      }
    }
  }
  return steps;
}

int run_study(const StudyOptions& o) {
  if (o.energy != "auto" && o.energy != "off") {
    throw Error("--energy takes auto or off, got '" + o.energy + "'");
  }
  const fs::path dir = o.out_dir;
  ResultsFile results(dir / "results.json");
  if (results.exists() && !o.resume) {
    throw Error("'" + dir.string() + "' already holds a study (results.json): add --resume to " +
                "continue it, or choose another --out");
  }
  std::error_code ec;
  fs::create_directories(dir / "raw", ec);
  if (ec) throw Error("cannot create '" + (dir / "raw").string() + "': " + ec.message());

  const std::vector<Step> steps = plan_study(o);
  nlohmann::json config = {{"models", o.models},       {"threads", thread_counts(o)},
                           {"energy", o.energy},       {"meter", o.meter},
                           {"baseline", o.baseline},   {"quick", o.quick}};
  if (results.exists()) {
    results.load();
  } else {
    results.start(device_json(), config);
  }
  const std::set<std::string> done = results.finished_steps();
  std::vector<const Step*> todo;
  for (const Step& s : steps) {
    if (!done.count(s.key)) todo.push_back(&s);
  }
  if (o.resume) {
    std::fprintf(stderr, "libscout study: resuming in %s: %zu of %zu steps already done\n",
                 dir.c_str(), steps.size() - todo.size(), steps.size());
  }

  const Timing t = timing_for(o);
  const ChildLimits run_limits{o.timeout_s > 0 ? o.timeout_s : t.run_timeout,
                               o.memory_limit_mb ? o.memory_limit_mb : default_memory_limit_mb()};
  ChildLimits gemm_limits = run_limits;
  gemm_limits.timeout_s = o.timeout_s > 0 ? o.timeout_s : t.gemm_timeout;

  install_interrupt_handler();
  const std::string exe = self_executable();
  std::vector<double> estimates;
  for (const Step* s : todo) estimates.push_back(s->estimate_s);
  Progress progress(estimates);
  int not_ok = 0;
  for (std::size_t i = 0; i < todo.size(); ++i) {
    const Step& s = *todo[i];
    progress.begin_step(i, s.label);
    const fs::path raw = fs::absolute(dir / s.raw_file);
    std::vector<std::string> argv = {exe};
    const fs::path reference_dir = fs::absolute(dir / "reference");
    for (const std::string& a : s.args) {
      argv.push_back(a == s.raw_file ? raw.string() : a == kReferenceDirArg ? reference_dir.string() : a);
    }
    fs::remove(raw, ec);
    const ChildResult r = run_child(argv, s.kind == "gemm" ? gemm_limits : run_limits);
    if (r.interrupted) {
      progress.finish();
      std::fprintf(stderr,
                   "libscout study: interrupted; %zu step(s) saved in %s; continue with --resume\n",
                   done.size() + i, (dir / "results.json").c_str());
      return -1;
    }
    const std::string status = results.add_step(s.key, s.kind, s.identity, raw, r);
    if (status != "ok") ++not_ok;
    progress.end_step(i, status == "ok" ? "ok" : status + ": " + results.last_reason(), r.wall_s);
  }
  progress.finish();
  results.finish();
  results.write_csv(dir / "results.csv");
  report::ReportOptions ro;
  ro.baseline = o.baseline;
  const report::ReportFiles files = report::write_report({report::load_study(dir)}, dir, ro);
  std::fprintf(stderr, "libscout study: %zu steps, %d not ok; results in %s, report in %s\n",
               steps.size(), not_ok, (dir / "results.json").c_str(),
               files.html.c_str());
  return not_ok;
}

}  // namespace libscout::study
