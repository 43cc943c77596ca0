#include "study/study.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <thread>

#include "core/error.h"
#include "measure/device_info.h"
#include "report/report_writer.h"
#include "report/study_results.h"
#include "study/child_process.h"
#include "study/pooling.h"
#include "study/progress.h"
#include "study/results_file.h"
#include "study/study_settings.h"

namespace libscout::study {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::size_t default_memory_limit_mb() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page <= 0) return 4096;
  return static_cast<std::size_t>(pages) * static_cast<std::size_t>(page) / (1u << 20) * 3 / 4;
}

// Waits for other work to keep fewer than kBusyThresholdCores busy: at most `limit_s`, and only
// while the study's waiting budget lasts (spent here). Returns the last reading (-1: unknown).
double wait_for_quiet(double limit_s, double& budget_s) {
  double busy = busy_cores(0.1);
  double waited = 0;
  while (busy >= kBusyThresholdCores && waited < limit_s && budget_s > 0 && !interrupted()) {
    busy = busy_cores(0.5);
    waited += 0.5;
    budget_s -= 0.5;
  }
  return busy;
}

// What each GEMM provider answers to set_threads for each count, asked in a child process
// (`libscout list --threads`) so that a library that misbehaves cannot take the study down.
// Empty when the child fails: then every count is swept.
ThreadAnswers probe_threads(const StudyOptions& o, const fs::path& dir, const ChildLimits& limits) {
  const std::vector<int> counts = thread_counts(o);
  std::string list;
  for (int n : counts) list += (list.empty() ? "" : ",") + std::to_string(n);
  const fs::path out = fs::absolute(dir / "raw" / "provider_threads.json");
  std::vector<std::string> argv = {self_executable(), "list", "--threads", list, "--json-file",
                                   out.string()};
  for (const std::string& lib : o.blas_libs) argv.insert(argv.end(), {"--blas-lib", lib});
  const ChildResult r = run_child(argv, limits);
  ThreadAnswers answers;
  std::ifstream f(out);
  if (!r.ok() || !f) {
    std::fprintf(stderr, "libscout study: note: could not ask the providers for their thread "
                         "counts (%s); every count is swept\n", r.describe().c_str());
    return answers;
  }
  try {
    const json j = json::parse(f);
    for (const auto& [provider, counts_json] : j.at("provider_threads").at("answers").items()) {
      for (const auto& [asked, used] : counts_json.items()) {
        answers[provider][std::stoi(asked)] = used.get<int>();
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "libscout study: note: unreadable thread answers (%s)\n", e.what());
    answers.clear();
  }
  return answers;
}

json answers_json(const ThreadAnswers& answers) {
  json j = json::object();
  for (const auto& [provider, counts] : answers) {
    for (const auto& [asked, used] : counts) j[provider][std::to_string(asked)] = used;
  }
  return j;
}

ThreadAnswers answers_from(const json& j) {
  ThreadAnswers answers;
  if (!j.is_object()) return answers;
  for (const auto& [provider, counts] : j.items()) {
    for (const auto& [asked, used] : counts.items()) {
      answers[provider][std::stoi(asked)] = used.get<int>();
    }
  }
  return answers;
}

double round_median(const json& row, int round) {
  for (const json& r : row.value("rounds", json::array())) {
    if (r.value("round", 0) == round && r.value("status", "") == "ok" &&
        r.value("median_ms", json()).is_number()) {
      return r["median_ms"].get<double>();
    }
  }
  return -1;
}

const json* round_entry_of(const json& row, int round) {
  for (const json& r : row["rounds"]) {
    if (r.value("round", 0) == round) return &r;
  }
  return nullptr;
}

// A later round of a row that took over kSlowRowMs per inference in round 1: `skip` with the
// reason when round 1 was also over kSlowRowFactor times the fastest row of its model and not
// taken on a busy machine (it teaches nothing more), else `light` (time one inference after
// validation, no warm-up: the machine was busy, the row may be slow only because of it).
struct SlowRow {
  std::string skip;
  bool light = false;
};

SlowRow slow_row(const ResultsFile& results, const Step& s) {
  SlowRow out;
  const json* row = s.round >= 2 ? results.run_row(s.row) : nullptr;
  if (row == nullptr) return out;
  const double own = round_median(*row, 1);
  if (own < kSlowRowMs) return out;
  out.light = true;
  const json* first = round_entry_of(*row, 1);
  if (first == nullptr || round_was_busy(*first)) return out;
  double fastest = std::numeric_limits<double>::infinity();
  for (const json& other : results.document().at("runs")) {
    if (other.value("model", "") != row->value("model", "")) continue;
    if (const double m = round_median(other, 1); m > 0) fastest = std::min(fastest, m);
  }
  if (!(own > kSlowRowFactor * fastest)) return out;
  std::ostringstream os;
  os.precision(3);
  os << "one inference takes " << own << " ms in round 1, over " << kSlowRowFactor
     << " times the fastest backend's " << fastest << " ms: round 1 ranks it";
  out.skip = os.str();
  return out;
}

// The arguments of a light round: no warm-up, one timed inference (validation warms up).
std::vector<std::string> light_args(std::vector<std::string> args) {
  for (std::size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == "--warmup") args[i + 1] = "0";
    if (args[i] == "--min-iterations") args[i + 1] = "1";
  }
  return args;
}

// The child never ran libscout: exec failed, or the loader could not load libscout itself (a
// build replacing the executable or libscout_core.so). Never a result of the measured library,
// whose plugins are loaded later, with dlopen.
bool could_not_start(const ChildResult& r) {
  return r.exit_code == 127 &&
         (r.stderr_tail.find("cannot start the measurement process") != std::string::npos ||
          r.stderr_tail.find("error while loading shared libraries") != std::string::npos);
}

class StudyRunner {
 public:
  StudyRunner(const StudyOptions& o, const fs::path& dir, ResultsFile& results)
      : o_(o), dir_(dir), results_(results), timing_(timing_for(o)), exe_(self_executable()) {
    run_limits_ = {o.timeout_s > 0 ? o.timeout_s : timing_.run_timeout_s,
                   o.memory_limit_mb ? o.memory_limit_mb : default_memory_limit_mb()};
    gemm_limits_ = run_limits_;
    gemm_limits_.timeout_s = o.timeout_s > 0 ? o.timeout_s : timing_.gemm_timeout_s;
    wait_budget_s_ = 10 * timing_.quiet_wait_s;
  }

  const ChildLimits& run_limits() const { return run_limits_; }

  // Runs the step (under `key`, which differs from s.key for a re-measurement); false when the
  // study was interrupted.
  bool run(const Step& s, const std::string& key, std::string& outcome, double& wall_s,
           bool light = false) {
    const double busy = wait_for_quiet(timing_.quiet_wait_s, wait_budget_s_);
    const std::string raw_rel = key == s.key ? s.raw_file
                                             : s.raw_file.substr(0, s.raw_file.size() - 5) +
                                                   "_remeasured.json";
    const fs::path raw = fs::absolute(dir_ / raw_rel);
    const fs::path reference_dir = fs::absolute(dir_ / "reference");
    // Files of the study are named relative to its folder in the step, absolute for the child.
    auto resolved = [&](const std::string& a) {
      if (a == s.raw_file) return raw.string();
      if (a == kReferenceDirArg) return reference_dir.string();
      if (!s.plan_file.empty() && a == s.plan_file) return fs::absolute(dir_ / a).string();
      return a;
    };
    std::vector<std::string> argv = {exe_};
    for (const std::string& a : light ? light_args(s.args) : s.args) argv.push_back(resolved(a));
    std::error_code ec;
    fs::remove(raw, ec);
    const ChildLimits& limits = s.kind == "gemm" ? gemm_limits_ : run_limits_;
    ChildResult r = run_child(argv, limits, s.env);
    for (int retry = 0; retry < 2 && could_not_start(r) && !interrupted(); ++retry) {
      std::this_thread::sleep_for(std::chrono::seconds(2));  // say, while a build replaces it
      r = run_child(argv, limits, s.env);
    }
    if (r.interrupted) return false;
    ResultsFile::StepRecord rec{key, s.kind, s.row, s.round, s.identity, raw, r, busy};
    const std::string status = results_.add_step(rec);
    outcome = status == "ok" ? "ok" : status + ": " + results_.last_reason();
    wall_s = r.wall_s;
    return true;
  }

  // Records the step as not run: "skipped", or "failed" (an `auto` row without its plan).
  void skip(const Step& s, const std::string& reason, const std::string& status = "skipped") {
    ResultsFile::StepRecord rec{s.key, s.kind, s.row, s.round, s.identity, {}, {}, -1};
    results_.skip_step(rec, reason, status);
  }

  bool machine_quiet_now() {
    return wait_for_quiet(timing_.quiet_wait_s, wait_budget_s_) < kBusyThresholdCores;
  }

 private:
  const StudyOptions& o_;
  fs::path dir_;
  ResultsFile& results_;
  Timing timing_;
  std::string exe_;
  ChildLimits run_limits_, gemm_limits_;
  double wait_budget_s_ = 0;
};

// The planned steps not done yet, in order. Returns false when interrupted.
bool run_planned(const std::vector<const Step*>& todo, ResultsFile& results, StudyRunner& runner,
                 int& not_ok) {
  std::vector<double> estimates;
  for (const Step* s : todo) estimates.push_back(s->estimate_s);
  Progress progress(estimates);
  for (std::size_t i = 0; i < todo.size(); ++i) {
    const Step& s = *todo[i];
    progress.begin_step(i, s.label);
    if (const std::string why = results.plan_missing(s.plan_step); !why.empty()) {
      runner.skip(s, why, "failed");
      ++not_ok;
      progress.end_step(i, "failed: " + why, 0);
      continue;
    }
    const SlowRow slow = s.kind == "run" ? slow_row(results, s) : SlowRow{};
    if (!slow.skip.empty()) {
      runner.skip(s, slow.skip);
      progress.end_step(i, "skipped: " + slow.skip, 0);
      continue;
    }
    std::string outcome;
    double wall_s = 0;
    if (!runner.run(s, s.key, outcome, wall_s, slow.light)) {
      progress.finish();
      return false;
    }
    if (outcome != "ok") ++not_ok;
    progress.end_step(i, outcome, wall_s);
  }
  progress.finish();
  return true;
}

// Measures again, once, each round that was taken while other work kept the CPUs busy, if the
// machine is quieter now. Returns false when interrupted.
bool remeasure_busy_rounds(const StudyPlan& plan, ResultsFile& results, StudyRunner& runner) {
  std::vector<const Step*> busy;
  for (const Step& s : plan.steps) {
    const json* row = s.kind == "run" ? results.run_row(s.row) : nullptr;
    if (row == nullptr) continue;
    for (const json& r : (*row)["rounds"]) {
      if (r.value("step", "") == s.key && r.value("status", "") == "ok" && round_was_busy(r) &&
          !r.value("remeasured", false)) {
        busy.push_back(&s);
      }
    }
  }
  if (busy.empty()) return true;
  std::fprintf(stderr, "libscout study: %zu round(s) were measured while other work kept the "
                       "CPUs busy: measuring them again where the machine is quieter\n",
               busy.size());
  std::size_t again = 0;
  for (const Step* s : busy) {
    if (!runner.machine_quiet_now()) continue;  // as busy as before: the row stays marked
    std::string outcome;
    double wall_s = 0;
    // A light round is measured again as light: the same arguments as the round it replaces.
    if (!runner.run(*s, s->key + "#2", outcome, wall_s, slow_row(results, *s).light)) return false;
    ++again;
  }
  std::fprintf(stderr, "libscout study: measured %zu of them again; rows still busy are marked "
                       "\"busy\"\n", again);
  return true;
}

}  // namespace

int run_study(const StudyOptions& o) {
  if (o.energy != "auto" && o.energy != "off") {
    throw Error("--energy takes auto or off, got '" + o.energy + "'");
  }
  if (o.rounds < 0) throw Error("--rounds must be at least 1");
  const fs::path dir = o.out_dir;
  ResultsFile results(dir / "results.json");
  if (results.exists() && !o.resume) {
    throw Error("'" + dir.string() + "' already holds a study (results.json): add --resume to " +
                "continue it, or choose another --out");
  }
  for (const char* sub : {"raw", "plans"}) {
    std::error_code ec;
    fs::create_directories(dir / sub, ec);
    if (ec) throw Error("cannot create '" + (dir / sub).string() + "': " + ec.message());
  }

  StudyRunner runner(o, dir, results);
  install_interrupt_handler();
  ThreadAnswers answers;
  if (results.exists()) {
    results.load();
    results.check_same_config(config_json(o));
    answers = answers_from(results.document().value("provider_threads", json()));
  } else {
    answers = probe_threads(o, dir, runner.run_limits());
  }
  const StudyPlan plan = plan_study(o, answers);
  if (!results.exists()) {
    results.start(device_json(), {{"config", plan.config},
                                  {"method", plan.method},
                                  {"round_order", plan.round_order},
                                  {"not_swept", plan.not_swept},
                                  {"provider_threads", answers_json(answers)}});
  }
  const std::set<std::string> done = results.finished_steps();
  std::vector<const Step*> todo;
  for (const Step& s : plan.steps) {
    if (!done.count(s.key)) todo.push_back(&s);
  }
  if (o.resume) {
    std::fprintf(stderr, "libscout study: resuming in %s: %zu of %zu steps already done\n",
                 dir.c_str(), plan.steps.size() - todo.size(), plan.steps.size());
  }
  int not_ok = 0;
  if (!run_planned(todo, results, runner, not_ok) ||
      !remeasure_busy_rounds(plan, results, runner)) {
    std::fprintf(stderr, "libscout study: interrupted; what finished is saved in %s; continue "
                         "with --resume\n", (dir / "results.json").c_str());
    return -1;
  }
  results.finish();
  results.write_csv(dir / "results.csv");
  report::ReportOptions ro;
  ro.baseline = o.baseline;
  const report::ReportFiles files = report::write_report({report::load_study(dir)}, dir, ro);
  std::fprintf(stderr, "libscout study: %zu steps, %d not ok; results in %s, report in %s\n",
               plan.steps.size(), not_ok, (dir / "results.json").c_str(), files.html.c_str());
  return not_ok;
}

}  // namespace libscout::study
