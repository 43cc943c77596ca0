#include "study/pooling.h"

#include <algorithm>
#include <set>
#include <vector>

#include "measure/stats.h"
#include "study/study_settings.h"

namespace libscout::study {

using nlohmann::json;

namespace {

// Fields of a result that each round has for itself; the rest describe what ran and are the
// same in every round.
const std::set<std::string>& per_round_fields() {
  static const std::set<std::string> fields = {
      "latency_ms", "samples_ms", "iterations", "ci",     "energy", "energy_error",
      "busy_cores_at_start", "step", "status", "reason", "validation"};
  return fields;
}

double median_of(std::vector<double> v) { return summarize(std::move(v)).median; }

// Pools one energy object per round: sums for the window's extent, medians for the rest.
json pool_energy_objects(const std::vector<const json*>& objects) {
  static const std::set<std::string> summed = {"window_s", "inferences", "energy_j", "samples"};
  json out = json::object();
  std::set<std::string> keys;
  for (const json* o : objects) {
    for (const auto& [k, v] : o->items()) keys.insert(k);
  }
  for (const std::string& k : keys) {
    std::vector<double> numbers;
    std::vector<const json*> children;
    const json* first = nullptr;
    for (const json* o : objects) {
      const auto it = o->find(k);
      if (it == o->end()) continue;
      if (first == nullptr) first = &*it;
      if (it->is_number()) numbers.push_back(it->get<double>());
      if (it->is_object()) children.push_back(&*it);
    }
    if (!children.empty()) {
      out[k] = pool_energy_objects(children);
    } else if (!numbers.empty()) {
      double sum = 0;
      for (double v : numbers) sum += v;
      out[k] = summed.count(k) ? sum : median_of(numbers);
    } else {
      out[k] = *first;  // strings, booleans, nulls: as the first round has them
    }
  }
  return out;
}

json pooled_energy(const json& rounds, std::uint64_t seed) {
  std::vector<const json*> windows;
  std::vector<double> gross, net;
  for (const json& r : rounds) {
    if (r.value("status", "") != "ok" || !r.contains("energy") || !r["energy"].is_object()) continue;
    windows.push_back(&r["energy"]);
    if (r["energy"].value("mj_per_inference", json()).is_number()) {
      gross.push_back(r["energy"]["mj_per_inference"].get<double>());
    }
    if (r["energy"].value("net_mj_per_inference", json()).is_number()) {
      net.push_back(r["energy"]["net_mj_per_inference"].get<double>());
    }
  }
  if (windows.empty()) return nullptr;
  json e = pool_energy_objects(windows);
  e["rounds"] = windows.size();
  auto interval = [&](const std::vector<double>& v, const char* low, const char* high) {
    e[low] = e[high] = nullptr;
    if (v.size() < 2) return;
    const MedianInterval ci = bootstrap_median_interval(v, seed);
    e[low] = ci.low;
    e[high] = ci.high;
  };
  interval(gross, "mj_per_inference_ci_low", "mj_per_inference_ci_high");
  interval(net, "net_mj_per_inference_ci_low", "net_mj_per_inference_ci_high");
  return e;
}

// The worst validation over the rounds that were validated.
json pooled_validation(const json& rounds) {
  json v = nullptr;
  for (const json& r : rounds) {
    const json& rv = r.value("validation", json());
    if (!rv.is_object()) continue;
    if (v.is_null()) {
      v = rv;
      continue;
    }
    v["passed"] = v.value("passed", false) && rv.value("passed", false);
    v["failed_after_timing"] =
        v.value("failed_after_timing", false) || rv.value("failed_after_timing", false);
    for (const char* k : {"rel_l2_error", "rel_l2_error_after_timing"}) {
      if (rv.value(k, json()).is_number() &&
          (!v.value(k, json()).is_number() || rv[k].get<double>() > v[k].get<double>())) {
        v[k] = rv[k];
      }
    }
  }
  return v;
}

// The row's status: the worst round's (invalid, then failed or crashed), else ok when a round
// is ok, else skipped. The reason names the round.
void pooled_status(json& row, const json& rounds) {
  const json* worst = nullptr;
  int ok = 0;
  for (const json& r : rounds) {
    const std::string s = r.value("status", "");
    if (s == "ok") ++ok;
    if (s == "invalid" && (worst == nullptr || worst->value("status", "") != "invalid")) worst = &r;
    if ((s == "failed" || s == "crashed") && worst == nullptr) worst = &r;
  }
  row["rounds_ok"] = ok;
  if (worst != nullptr) {
    row["status"] = (*worst)["status"];
    row["reason"] = rounds.size() > 1 ? "round " + std::to_string((*worst).value("round", 0)) +
                                            ": " + worst->value("reason", "")
                                      : worst->value("reason", "");
  } else if (ok > 0) {
    row["status"] = "ok";
    row["reason"] = "";
  } else {
    row["status"] = "skipped";
    row["reason"] = rounds.empty() ? "not measured yet" : rounds.back().value("reason", "");
  }
}

}  // namespace

bool round_was_busy(const json& entry) {
  const json& busy = entry.value("busy_cores_at_start", json());
  return busy.is_number() && busy.get<double>() >= kBusyThresholdCores;
}

json round_entry(int round, const std::string& step, const std::string& status,
                 const std::string& reason, const json& result) {
  json e = {{"round", round},          {"step", step},       {"status", status},
            {"reason", reason},        {"median_ms", nullptr}, {"iterations", 0},
            {"busy_cores_at_start", nullptr}, {"remeasured", false},
            {"mj_per_inference", nullptr}, {"samples_ms", json::array()},
            {"validation", nullptr}};
  if (!result.is_object()) return e;
  for (const char* k : {"iterations", "busy_cores_at_start", "samples_ms", "validation"}) {
    if (result.contains(k)) e[k] = result[k];
  }
  if (result.value("latency_ms", json()).is_object()) e["median_ms"] = result["latency_ms"]["median"];
  if (result.contains("energy")) {
    e["energy"] = result["energy"];
    if (result["energy"].is_object()) e["mj_per_inference"] = result["energy"]["mj_per_inference"];
  }
  if (result.contains("energy_error")) e["energy_error"] = result["energy_error"];
  if (status != "ok") e["samples_ms"] = json::array();  // timings of a failed round count nowhere
  return e;
}

void add_round(json& row, json entry, const json& result, std::uint64_t seed) {
  if (!row.contains("rounds")) row["rounds"] = json::array();
  json& rounds = row["rounds"];
  const int number = entry.value("round", 0);
  auto it = std::find_if(rounds.begin(), rounds.end(),
                         [&](const json& r) { return r.value("round", 0) == number; });
  if (it != rounds.end()) {
    entry["remeasured"] = true;
    entry["replaced"] = {{"step", (*it)["step"]},
                         {"status", (*it)["status"]},
                         {"median_ms", (*it)["median_ms"]},
                         {"busy_cores_at_start", (*it)["busy_cores_at_start"]}};
    *it = std::move(entry);
  } else {
    rounds.push_back(std::move(entry));
    std::sort(rounds.begin(), rounds.end(), [](const json& a, const json& b) {
      return a.value("round", 0) < b.value("round", 0);
    });
  }
  // What ran is the same in every round: taken from the first result that says it.
  if (result.is_object() && !row.contains("threads_source")) {
    for (const auto& [k, v] : result.items()) {
      if (!per_round_fields().count(k)) row[k] = v;
    }
  }
  pool_rounds(row, seed);
}

void pool_rounds(json& row, std::uint64_t seed) {
  const json& rounds = row["rounds"];
  pooled_status(row, rounds);
  std::vector<std::vector<double>> groups;
  double busiest = -1;
  bool busy = false;
  for (const json& r : rounds) {
    if (r.value("busy_cores_at_start", json()).is_number()) {
      busiest = std::max(busiest, r["busy_cores_at_start"].get<double>());
    }
    if (r.value("status", "") != "ok") continue;
    busy = busy || round_was_busy(r);
    groups.push_back(r["samples_ms"].get<std::vector<double>>());
  }
  row["busy"] = busy;
  row["busy_cores_at_start"] = busiest >= 0 ? json(busiest) : json();
  row["validation"] = pooled_validation(rounds);
  std::vector<double> all;
  for (const auto& g : groups) all.insert(all.end(), g.begin(), g.end());
  row["iterations"] = all.size();
  row["latency_ms"] = nullptr;
  row["ci"] = nullptr;
  if (!all.empty() && row["status"] != "invalid") {
    const MedianInterval ci = hierarchical_bootstrap_median_interval(groups, seed);
    row["latency_ms"] = latency_json(summarize(all));
    row["latency_ms"]["ci_low"] = ci.low;
    row["latency_ms"]["ci_high"] = ci.high;
    row["ci"] = ci.method_json();
  }
  bool any_energy_key = false;
  for (const json& r : rounds) any_energy_key = any_energy_key || r.contains("energy");
  if (any_energy_key) {
    row["energy"] = pooled_energy(rounds, seed);
    if (row["energy"].is_null()) {
      for (const json& r : rounds) {
        if (r.contains("energy_error")) row["energy_error"] = r["energy_error"];
      }
    } else {
      row.erase("energy_error");
    }
  }
}

}  // namespace libscout::study
