// The report's method table: the devices and how each study measured. A setting is read from the
// study's `method` (libscout study), else from the run documents' `method` (libscout run --json),
// else from the rows themselves; "not recorded" only where none of them holds it.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

#include "report/report_tables.h"

namespace libscout::report {

namespace {

using nlohmann::json;

// A JSON value in one short line: strings unquoted, objects as "key=value" pairs.
std::string compact(const json& value) {
  if (value.is_null()) return "–";
  if (value.is_string()) return value.get<std::string>();
  if (value.is_array()) {
    std::string out;
    for (const auto& item : value)
      out += (out.empty() ? "" : item.is_object() ? "; " : ", ") + compact(item);
    return out.empty() ? "–" : out;
  }
  if (value.is_object()) {
    std::string out;
    for (const auto& [key, item] : value.items())
      out += (out.empty() ? "" : " ") + key + "=" +
             (item.is_array() ? "[" + compact(item) + "]" : compact(item));
    return out;
  }
  if (value.is_number_float()) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%g", value.get<double>());
    return buffer;
  }
  return value.dump();
}

std::string join_ints_text(const std::set<int>& values) {
  std::string out;
  for (int v : values) out += (out.empty() ? "" : ", ") + std::to_string(v);
  return out.empty() ? "–" : out;
}

// The method field `key` (or, in a run document's method, energy.`energy_key`); nullptr when
// absent. A present null is returned as such: the study says the setting does not apply.
const json* method_field(const StudyResults& s, const char* key, const char* energy_key = nullptr) {
  if (!s.method.is_object()) return nullptr;
  if (auto it = s.method.find(key); it != s.method.end()) return &*it;
  if (energy_key) {
    auto energy = s.method.find("energy");
    if (energy != s.method.end() && energy->is_object()) {
      if (auto it = energy->find(energy_key); it != energy->end()) return &*it;
    }
  }
  return nullptr;
}

std::string setting(const StudyResults& s, const char* key, const std::string& unit,
                    const char* when_null, const char* energy_key = nullptr) {
  const json* value = method_field(s, key, energy_key);
  if (!value) return "not recorded";
  if (value->is_null()) return when_null;
  return compact(*value) + unit;
}

// A range over the rows' values ("3" or "2 to 5"), or empty when no row holds one.
template <typename Get>
std::string row_range(const StudyResults& s, Get get) {
  double lo = INFINITY, hi = -INFINITY;
  for (const auto& r : s.runs)
    if (auto v = get(r)) lo = std::min(lo, double(*v)), hi = std::max(hi, double(*v));
  if (hi < lo) return "";
  return lo == hi ? measure(lo) : measure(lo) + " to " + measure(hi);
}

std::string warmup_cell(const StudyResults& s) {
  std::string text = setting(s, "warmup", "", "none");
  if (text != "not recorded") return text + (s.method.contains("rounds") ? " per round" : "");
  text = row_range(s, [](const RunRow& r) { return r.warmup; });
  return text.empty() ? "not recorded" : text;
}

std::string timing_cell(const StudyResults& s) {
  const json* min_time = method_field(s, "min_time_s");
  const json* min_iterations = method_field(s, "min_iterations");
  std::string text;
  if (min_time && min_time->is_number()) text = "at least " + compact(*min_time) + " s";
  if (min_iterations && min_iterations->is_number())
    text += (text.empty() ? "at least " : " and ") + compact(*min_iterations) + " inferences";
  if (text.empty()) {
    const std::string rows = row_range(s, [](const RunRow& r) { return r.min_time_s; });
    if (rows.empty()) return "not recorded";
    text = "at least " + rows + " s";
  }
  return text + (s.method.contains("rounds") ? " per round" : " per run");
}

std::string interval_cell(const StudyResults& s) {
  const json* method = method_field(s, "ci_method");
  const json* level = method_field(s, "ci_level");
  std::string name;
  std::optional<double> row_level;
  if (method && method->is_string()) name = method->get<std::string>();
  for (const auto& r : s.runs)
    if (name.empty() && !r.ci_method.empty()) name = r.ci_method, row_level = r.ci_level;
  if (name.empty()) return "not recorded (no interval: ties cannot be told from noise)";
  std::string text = name;
  if (level && level->is_number()) text += ", level " + compact(*level);
  else if (row_level) text += ", level " + measure(*row_level);
  if (const json* n = method_field(s, "bootstrap_resamples"); n && n->is_number())
    text += ", " + compact(*n) + " resamples";
  return text;
}

std::string smt_cell(const StudyResults& s) {
  const json* used = method_field(s, "smt_siblings_used");
  if (!used) return "not recorded";
  std::string text = used->is_null()      ? "unknown (the topology does not say)"
                     : used->get<bool>() ? "yes: two hardware threads of one core were used"
                                         : "no";
  if (const json* cores = method_field(s, "physical_cores"); cores && cores->is_number())
    text += " (" + compact(*cores) + " physical cores)";
  return text;
}

std::string meters_cell(const StudyResults& s) {
  std::vector<std::string> meters;
  for (const auto& r : s.runs) {
    if (!r.energy) continue;
    const std::string m = r.energy->meter + " (sees " +
                          (r.energy->covers.empty() ? "unknown" : r.energy->covers) + ")";
    if (std::find(meters.begin(), meters.end(), m) == meters.end()) meters.push_back(m);
  }
  std::string text;
  for (const auto& m : meters) text += (text.empty() ? "" : ", ") + m;
  if (!text.empty()) return text;
  for (const auto& r : s.runs)
    if (!r.energy_error.empty()) return "none: " + r.energy_error;
  return "none: energy not measured";
}

// "all: AMD EPYC, CPUs 0, 1" per cluster ("; " between clusters), with the top frequency when known.
std::string clusters_cell(const json& clusters) {
  if (!clusters.is_array() || clusters.empty()) return compact(clusters);
  std::string text;
  for (const auto& c : clusters) {
    if (!c.is_object()) return compact(clusters);
    std::string item = compact(c.value("name", json("cluster"))) + ": " +
                       compact(c.value("core_name", json("unknown cores"))) + ", CPUs " +
                       compact(c.value("cpus", json::array()));
    if (c.contains("max_freq_khz") && c["max_freq_khz"].is_number())
      item += ", up to " + std::to_string(c["max_freq_khz"].get<long long>() / 1000) + " MHz";
    text += (text.empty() ? "" : "; ") + item;
  }
  return text;
}

// How OpenMP runtimes waited: the study sets PASSIVE for `auto` and its plans, and leaves the
// other rows to its own environment (null: unset).
std::string wait_policy_cell(const StudyResults& s) {
  const json* policy = method_field(s, "omp_wait_policy");
  if (policy == nullptr || !policy->is_object()) return "not recorded";
  const json other = policy->value("other_rows", json());
  return "auto and its plans: " + compact(policy->value("auto", json("not recorded"))) +
         "; other rows: " +
         (other.is_null() ? std::string("unset (each library's default)") : compact(other));
}

// Every option the study recorded in `config` that the rows above do not already show.
std::string options_cell(const StudyResults& s) {
  static const std::set<std::string> shown = {"models", "threads"};
  std::string text;
  if (s.config.is_object())
    for (const auto& [key, value] : s.config.items())
      if (!shown.count(key)) text += (text.empty() ? "" : "; ") + key + "=" + compact(value);
  return text.empty() ? "not recorded" : text;
}

}  // namespace

Table method_table(const std::vector<StudyResults>& studies) {
  Table t;
  t.first_column_is_header = true;
  t.header.push_back("");
  for (const auto& s : studies) t.header.push_back(s.device.label);
  auto row = [&](std::string name, auto cell) {
    std::vector<std::string> r{std::move(name)};
    for (const auto& s : studies) {
      std::string value = cell(s);
      r.push_back(value.empty() ? "not recorded" : value);
    }
    t.rows.push_back(std::move(r));
  };
  row("Results read from", [](const StudyResults& s) { return s.source; });
  row("CPU", [](const StudyResults& s) { return s.device.cpu_model; });
  row("Cores", [](const StudyResults& s) {
    return s.device.cores ? std::to_string(*s.device.cores) : std::string();
  });
  row("Architecture", [](const StudyResults& s) { return s.device.architecture; });
  row("Board", [](const StudyResults& s) { return s.device.board.value_or("none named"); });
  row("Clusters", [](const StudyResults& s) { return clusters_cell(s.device.clusters); });
  row("CPUs used", [](const StudyResults& s) { return compact(s.device.cores_used); });
  row("Operating system", [](const StudyResults& s) { return s.device.os; });
  row("Compiler", [](const StudyResults& s) { return s.device.compiler; });
  row("CPU frequency governor", [](const StudyResults& s) {
    return setting(s, "cpu_governor", "", "unknown (no cpufreq on this machine)");
  });
  row("SMT siblings used", smt_cell);
  row("Thread counts asked (models)", [](const StudyResults& s) {
    std::set<int> threads;
    for (const auto& r : s.runs)
      if (r.device != "gpu") threads.insert(r.asked_threads());
    return join_ints_text(threads);
  });
  row("Batch sizes", [](const StudyResults& s) {
    std::set<int> batches;
    for (const auto& r : s.runs) batches.insert(r.batch);
    return join_ints_text(batches);
  });
  row("Rounds per row", [](const StudyResults& s) {
    return setting(s, "rounds", " (order shuffled per round)", "1");
  });
  row("Warm-up inferences", warmup_cell);
  row("Timing rule", timing_cell);
  row("Timed inferences per row", [](const StudyResults& s) {
    long long lo = -1, hi = -1;
    for (const auto& r : s.runs) {
      if (!r.rankable() || !r.iterations) continue;
      lo = lo < 0 ? *r.iterations : std::min(lo, *r.iterations);
      hi = std::max(hi, *r.iterations);
    }
    if (lo < 0) return std::string("not recorded");
    return lo == hi ? std::to_string(lo) : std::to_string(lo) + " to " + std::to_string(hi);
  });
  row("Confidence interval of each median", interval_cell);
  row("Clock", [](const StudyResults& s) { return setting(s, "clock", "", "not recorded"); });
  row("Power meter", meters_cell);
  auto energy_setting = [](const char* key, const char* run_key) {
    return [key, run_key](const StudyResults& s) {
      std::string text = setting(s, key, " s", "no energy measured", run_key);
      if (!s.has_energy() && text != "not recorded" && text != "no energy measured")
        text += " (set, but no meter measured)";
      return text;
    };
  };
  row("Energy window (minimum)", energy_setting("energy_min_time_s", "min_window_s"));
  row("Idle power measured for", energy_setting("idle_s", "idle_s"));
  row("Cool-down before the idle measurement", energy_setting("cooldown_s", "cooldown_s"));
  row("Busy machine", [](const StudyResults& s) {
    const std::string threshold = setting(s, "busy_threshold_cores", " cores of other work", "–");
    const std::string wait = setting(s, "quiet_wait_s", " s", "none");
    if (threshold == "not recorded") return std::string("a run is marked busy at 0.5 cores of other work");
    return "marked busy from " + threshold + "; waited up to " + wait +
           " for a quieter machine, then re-measured busy rounds";
  });
  row("OpenMP wait policy", wait_policy_cell);
  row("Study options", options_cell);
  return t;
}

}  // namespace libscout::report
