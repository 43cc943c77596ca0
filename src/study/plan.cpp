// Planning a study: which steps, with which timing settings, in which order (study.h).
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <random>
#include <set>

#include "backends/registry.h"
#include "core/error.h"
#include "gemm/gemm_provider.h"
#include "measure/device_info.h"
#include "measure/stats.h"
#include "study/study.h"
#include "study/study_settings.h"

namespace libscout::study {

namespace {

int online_cores() {
  const long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<int>(n) : 1;
}

std::string file_key(std::string key) {
  for (char& c : key) {
    if (c == '/' || c == ':' || c == ' ' || c == '#') c = '_';
  }
  return key;
}

std::string fixed(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
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

std::string plural_threads(int n) {
  return std::to_string(n) + " thread" + (n == 1 ? "" : "s");
}

// The thread counts worth measuring for `provider` ("" for a library backend, swept at every
// count): one per distinct answer of set_threads. Adds what it leaves out to `not_swept`.
std::vector<int> useful_counts(const std::vector<int>& counts, const ThreadAnswers& answers,
                               const std::string& provider, const char* kind,
                               const std::string& name, nlohmann::json& not_swept) {
  const auto it = answers.find(provider);
  if (provider.empty() || it == answers.end()) return counts;
  std::vector<int> out;
  std::map<int, int> first_asked;  // used -> the first request that gave it
  for (int n : counts) {
    const auto answer = it->second.find(n);
    if (answer == it->second.end()) {
      out.push_back(n);
      continue;
    }
    const auto [seen, fresh] = first_asked.emplace(answer->second, n);
    if (fresh) {
      out.push_back(n);
      continue;
    }
    const nlohmann::json entry = {
        {kind, name}, {"threads_requested", n}, {"threads", answer->second},
        {"reason", provider + " uses " + plural_threads(answer->second) + " when asked for " +
                       std::to_string(n) + ", as when asked for " + std::to_string(seen->second) +
                       ": measured once, at the request for " + std::to_string(seen->second)}};
    if (std::find(not_swept.begin(), not_swept.end(), entry) == not_swept.end()) {
      not_swept.push_back(entry);
    }
  }
  return out;
}

// Fisher-Yates with the generator's raw output, so an order is the same on every platform.
std::vector<std::string> shuffled(std::vector<std::string> keys, std::uint64_t seed, int round) {
  std::mt19937_64 rng(seed * 1000003u + static_cast<std::uint64_t>(round));
  for (std::size_t i = keys.size(); i > 1; --i) std::swap(keys[i - 1], keys[rng() % i]);
  return keys;
}

nlohmann::json list_or_all(const std::vector<std::string>& given) {
  return given.empty() ? nlohmann::json::array({"all"}) : nlohmann::json(given);
}

bool runs_on_gpu(const std::vector<BackendInfo>& infos, const std::string& name) {
  for (const BackendInfo& i : infos) {
    if (i.name == name) return i.device == DeviceKind::kGpu;
  }
  return false;
}

// Batch sizes of GPU rows: 1 and the throughput batch (none when --gpu-batch is 1).
std::vector<int> gpu_batches(const StudyOptions& o) {
  if (o.gpu_batch < 1 || o.gpu_batch > 4096) {
    throw Error("--gpu-batch must be in [1, 4096], got " + std::to_string(o.gpu_batch));
  }
  return o.gpu_batch == 1 ? std::vector<int>{1} : std::vector<int>{1, o.gpu_batch};
}

// One row: model `m` on backend `b` with `n` threads at `batch` (the round is set later).
Step run_step(const StudyOptions& o, const Timing& t, const std::vector<std::string>& common,
              const std::string& m, const std::string& b, int n, int batch) {
  Step s;
  s.kind = "run";
  s.row = "run/" + m + "/" + b + "/t" + std::to_string(n);
  s.label = m + " on " + b + ", " + plural_threads(n);
  if (batch > 1) {
    s.row += "/b" + std::to_string(batch);
    s.label = m + " on " + b + ", batch " + std::to_string(batch);
  }
  s.args = {"run", m, "--backend", b, "--threads", std::to_string(n), "--batch",
            std::to_string(batch), "--min-time", fixed(t.min_time_s), "--min-iterations",
            std::to_string(t.min_iterations), "--warmup", std::to_string(t.warmup),
            "--reference-cache", kReferenceDirArg};
  if (o.energy != "off") {
    s.args.insert(s.args.end(), {"--energy", "--energy-min-time", fixed(t.energy_window_s),
                                 "--idle-time", fixed(t.idle_s), "--cooldown",
                                 fixed(t.cooldown_s)});
    if (!o.meter.empty()) s.args.insert(s.args.end(), {"--meter", o.meter});
  }
  s.args.insert(s.args.end(), common.begin(), common.end());
  s.estimate_s = o.quick ? 1.5 : 2.5;
  s.identity = {{"model", m}, {"backend", b}, {"threads", n}, {"threads_requested", n},
                {"batch", batch}};
  return s;
}

// The SGEMM sweep of provider `p` at `n` threads.
Step gemm_step(const StudyOptions& o, const Timing& t, const std::vector<std::string>& common,
               const std::string& p, int n) {
  Step s;
  s.key = "gemm/" + p + "/t" + std::to_string(n);
  s.kind = "gemm";
  s.label = "SGEMM sweep on " + p + ", " + plural_threads(n);
  s.raw_file = "raw/" + file_key(s.key) + ".json";
  s.args = {"gemm", "--providers", p, "--threads", std::to_string(n), "--sizes", t.gemm_sizes,
            "--min-time", fixed(t.gemm_min_time_s), "--max-call-time", fixed(t.gemm_max_call_s),
            "--json", s.raw_file};
  // Providers whose operands live on a GPU also run these (libscout gemm --device-sizes).
  if (!o.quick) s.args.insert(s.args.end(), {"--device-sizes", "3072,4096,6144,8192"});
  s.args.insert(s.args.end(), common.begin(), common.end());
  s.estimate_s = o.quick ? 2 : 15;
  s.identity = {{"provider", p}, {"threads", n}, {"threads_requested", n}};
  return s;
}

// The study's backends that a plan may place layers on: the available CPU backends but the
// reference and gemm:naive (as the planner's own default) and auto itself.
std::vector<std::string> plan_candidates(const std::vector<BackendInfo>& infos,
                                         const std::vector<std::string>& backends) {
  std::vector<std::string> out;
  for (const std::string& b : backends) {
    const auto it = std::find_if(infos.begin(), infos.end(),
                                 [&](const BackendInfo& i) { return i.name == b; });
    if (it == infos.end() || !it->available || it->device != DeviceKind::kCpu) continue;
    if (b != "reference" && b != "gemm:naive" && b != kAutoBackend) out.push_back(b);
  }
  return out;
}

// --quick plans over fewer backends: the whole-layer libraries and the baseline, which stands for
// the other Caffe-style gemm: backends (each costs the planner a validation and three whole
// inferences before it is measured layer by layer); all of them when that leaves fewer than two.
std::vector<std::string> quick_candidates(const std::vector<std::string>& all,
                                          const std::string& baseline) {
  std::vector<std::string> out;
  for (const std::string& b : all) {
    if (b.rfind("gemm:", 0) != 0 || b == baseline) out.push_back(b);
  }
  return out.size() >= 2 ? out : all;
}

std::string comma_list(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& i : items) out += (out.empty() ? "" : ",") + i;
  return out;
}

// The plan of model `m` at `n` threads over `candidates` (none: the planner's default, all).
Step plan_step(const StudyOptions& o, const Timing& t, const std::vector<std::string>& common,
               const std::string& m, int n, const std::vector<std::string>& candidates) {
  Step s;
  s.kind = "plan";
  s.key = "plan/" + m + "/t" + std::to_string(n);
  s.label = "plan of " + m + " (auto), " + plural_threads(n);
  s.raw_file = s.plan_file = "plans/" + file_key(m) + "-t" + std::to_string(n) + ".json";
  s.args = {"plan", m, "--threads", std::to_string(n), "--backends",
            candidates.empty() ? "all" : comma_list(candidates), "--repeats",
            std::to_string(t.plan_repeats), "--rounds", std::to_string(t.plan_rounds),
            "--reference-cache", kReferenceDirArg, "--out", s.raw_file};
  s.args.insert(s.args.end(), common.begin(), common.end());
  s.env = {kPassiveWaitPolicy};
  s.estimate_s = o.quick ? 5 : 25;
  s.identity = {{"model", m},           {"threads", n},
                {"backends", candidates}, {"file", s.plan_file},
                {"omp_wait_policy", "PASSIVE"}};
  return s;
}

// The `auto` row of model `m` at `n` threads: the plan of `plan` run like any backend.
Step auto_step(const StudyOptions& o, const Timing& t, const std::vector<std::string>& common,
               const Step& plan) {
  const std::string m = plan.identity.at("model");
  const int n = plan.identity.at("threads");
  Step s = run_step(o, t, common, m, kAutoBackend, n, 1);
  s.label = m + " on auto (per-layer plan), " + plural_threads(n);
  s.args.insert(s.args.end(), {"--plan", plan.plan_file});
  s.plan_file = plan.plan_file;
  s.plan_step = plan.key;
  s.env = plan.env;
  return s;
}

// How OpenMP runtimes wait in the children: PASSIVE in plan steps and `auto` rows (set by the
// study), else as the study's own environment has it (null: unset, each library's default).
nlohmann::json wait_policy_json() {
  const char* env = std::getenv("OMP_WAIT_POLICY");
  return {{"auto", "PASSIVE"}, {"other_rows", env ? nlohmann::json(env) : nlohmann::json()}};
}

}  // namespace

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

Timing timing_for(const StudyOptions& o) {
  Timing t;
  t.rounds = o.rounds > 0 ? o.rounds : o.quick ? 1 : 3;
  if (t.rounds > 100) throw Error("--rounds must be at most 100, got " + std::to_string(t.rounds));
  // The same measuring time in total, whatever the rounds: shorter rounds, never below a floor.
  const double total = o.quick ? 0.2 : 1.2, energy_total = o.quick ? 0.5 : 3.0;
  auto ms = [](double s) { return std::round(s * 1000) / 1000; };  // whole milliseconds
  t.min_time_s = ms(std::max(0.1, total / t.rounds));
  t.min_iterations = o.quick ? 2 : 3;
  t.warmup = 1;
  t.energy_window_s = ms(std::max(0.2, energy_total / t.rounds));
  t.idle_s = t.energy_window_s;
  t.cooldown_s = o.quick ? 0.3 : 1.0;
  t.gemm_sizes = o.quick ? "64,128,256" : "64,128,256,512,1024,2048";
  t.gemm_min_time_s = o.quick ? 0.05 : 0.3;
  t.gemm_max_call_s = o.quick ? 0.2 : 1.0;
  t.run_timeout_s = o.quick ? 60 : 300;
  t.gemm_timeout_s = o.quick ? 60 : 600;
  t.quiet_wait_s = o.quiet_wait_s >= 0 ? o.quiet_wait_s : o.quick ? 0.5 : 5;
  t.plan_repeats = o.quick ? 2 : 5;
  t.plan_rounds = o.quick ? 2 : 3;
  return t;
}

nlohmann::json config_json(const StudyOptions& o) {
  return {{"models", o.models},         {"backends", list_or_all(o.backends)},
          {"providers", list_or_all(o.providers)}, {"threads", thread_counts(o)},
          {"rounds", timing_for(o).rounds}, {"seed", o.seed},
          {"energy", o.energy},         {"meter", o.meter},
          {"baseline", o.baseline},     {"quick", o.quick},
          {"gpu_batch", o.gpu_batch},
          {"gemm", !o.skip_gemm},       {"blas_libs", o.blas_libs},
          {"cpu_args", o.child_args}};
}

nlohmann::json method_json(const StudyOptions& o) {
  const Timing t = timing_for(o);
  const bool energy = o.energy != "off";
  nlohmann::json j = {
      {"warmup", t.warmup},
      {"min_time_s", t.min_time_s},
      {"min_iterations", t.min_iterations},
      {"rounds", t.rounds},
      {"seed", o.seed},
      {"ci_method", "hierarchical-bootstrap-median"},
      {"ci_level", kIntervalLevel},
      {"bootstrap_resamples", kBootstrapResamples},
      {"energy_min_time_s", energy ? nlohmann::json(t.energy_window_s) : nlohmann::json()},
      {"idle_s", energy ? nlohmann::json(t.idle_s) : nlohmann::json()},
      {"cooldown_s", energy ? nlohmann::json(t.cooldown_s) : nlohmann::json()},
      {"gemm_sizes", t.gemm_sizes},
      {"gemm_min_time_s", t.gemm_min_time_s},
      {"gemm_max_call_time_s", t.gemm_max_call_s},
      {"plan_repeats", t.plan_repeats},
      {"plan_rounds", t.plan_rounds},
      {"omp_wait_policy", wait_policy_json()},
      {"quiet_wait_s", t.quiet_wait_s},
      {"busy_threshold_cores", kBusyThresholdCores},
      {"slow_row_rule",
       "a row whose round-1 median is over " + fixed(kSlowRowMs) + " ms is timed on one "
       "inference without warm-up in later rounds, and is measured in round 1 only when that "
       "median is also over " + fixed(kSlowRowFactor) + " times the fastest row of its model and "
       "round 1 was not taken while other work kept the CPUs busy"},
      {"clock", "std::chrono::steady_clock around each whole inference"}};
  const nlohmann::json cpu = cpu_setup_json();
  for (const auto& [key, value] : cpu.items()) j[key] = value;
  return j;
}

StudyPlan plan_study(const StudyOptions& o, const ThreadAnswers& answers) {
  const Timing t = timing_for(o);
  const std::vector<int> threads = thread_counts(o);
  std::vector<std::string> common;
  for (const std::string& lib : o.blas_libs) common.insert(common.end(), {"--blas-lib", lib});
  common.insert(common.end(), o.child_args.begin(), o.child_args.end());

  StudyPlan plan;
  plan.config = config_json(o);
  plan.method = method_json(o);
  plan.not_swept = nlohmann::json::array();
  if (!o.skip_gemm) {
    for (const std::string& p : pick(gemm::list_providers(), o.providers, "GEMM provider")) {
      for (int n : useful_counts(threads, answers, p, "provider", p, plan.not_swept)) {
        plan.steps.push_back(gemm_step(o, t, common, p, n));
      }
    }
  }
  // The rows, then R rounds of them in shuffled orders. GPU backends: host threads do not matter,
  // so one thread, at batch 1 (latency) and at the throughput batch (--gpu-batch).
  std::map<std::string, Step> rows;
  std::vector<std::string> keys;
  const std::vector<BackendInfo> infos = list_backends();
  std::vector<std::string> wanted = o.backends;
  const bool auto_named = std::erase(wanted, std::string(kAutoBackend)) > 0;
  const auto backends = auto_named && wanted.empty()
                            ? std::vector<std::string>{}
                            : pick(infos, wanted, "backend", {"reference"});
  const std::vector<std::string> candidates = plan_candidates(infos, backends);
  const bool all = wanted.empty() || (wanted.size() == 1 && wanted[0] == "all");
  const bool with_auto = auto_named || (all && candidates.size() >= 2);
  auto add_row = [&](Step s) {
    keys.push_back(s.row);
    rows.emplace(s.row, std::move(s));
  };
  for (const std::string& m : o.models) {
    for (std::size_t i = 0; with_auto && i < threads.size(); ++i) {
      plan.steps.push_back(plan_step(o, t, common, m, threads[i],
                                     o.quick ? quick_candidates(candidates, o.baseline)
                                             : candidates));
      add_row(auto_step(o, t, common, plan.steps.back()));
    }
    for (const std::string& b : backends) {
      if (runs_on_gpu(infos, b)) {
        for (int batch : gpu_batches(o)) add_row(run_step(o, t, common, m, b, 1, batch));
        continue;
      }
      const std::string provider = b.rfind("gemm:", 0) == 0 ? b.substr(5) : "";
      for (int n : useful_counts(threads, answers, provider, "backend", b, plan.not_swept)) {
        add_row(run_step(o, t, common, m, b, n, 1));
      }
    }
  }
  plan.round_order = nlohmann::json::array();
  for (int round = 1; round <= t.rounds; ++round) {
    const std::vector<std::string> order = shuffled(keys, o.seed, round);
    plan.round_order.push_back(order);
    for (const std::string& key : order) {
      Step s = rows.at(key);
      s.round = round;
      s.key = key + "/r" + std::to_string(round);
      s.raw_file = "raw/" + file_key(s.key) + ".json";
      s.args.insert(s.args.end(), {"--json", s.raw_file});
      if (t.rounds > 1) s.label += ", round " + std::to_string(round);
      plan.steps.push_back(std::move(s));
    }
  }
  return plan;
}

}  // namespace libscout::study
