#include "report/table2.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

namespace libscout::report {

std::string model_display_name(const std::string& model) {
  static const std::map<std::string, std::string> names = {
      {"mobilenet_v1", "MobileNet v1"},       {"mobilenet-v1", "MobileNet v1"},
      {"mobilenetv1", "MobileNet v1"},        {"squeezenet_v1_1", "SqueezeNet v1.1"},
      {"squeezenet_v1.1", "SqueezeNet v1.1"}, {"squeezenet-v1.1", "SqueezeNet v1.1"},
      {"squeezenet1_1", "SqueezeNet v1.1"},   {"squeezenet1.1", "SqueezeNet v1.1"},
  };
  auto it = names.find(model);
  return it == names.end() ? model : it->second;
}

std::string format_ratio(double ratio) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.2fx", ratio);
  return buffer;
}

namespace {

std::string thread_phrase(int threads) {
  return std::to_string(threads) + (threads == 1 ? " thread" : " threads");
}

std::string choice_phrase(const BackendChoice& choice) {
  return choice.backend + " (" + thread_phrase(choice.threads) + ")";
}

BackendChoice choice_of(const RunRow& row) {
  BackendChoice choice{row.backend, row.threads, *row.ms_per_inference(), std::nullopt};
  if (row.energy) choice.mj_per_inference = row.energy->mj_per_inference;
  return choice;
}

// Faster wins; equal times go to fewer threads (the cheaper configuration).
bool faster(const BackendChoice& a, const BackendChoice& b) {
  if (a.ms_per_inference != b.ms_per_inference) return a.ms_per_inference < b.ms_per_inference;
  return a.threads < b.threads;
}

// Less energy wins (rows without energy never win); equal energy goes to the faster.
bool more_efficient(const BackendChoice& a, const BackendChoice& b) {
  if (!a.mj_per_inference) return false;
  if (!b.mj_per_inference) return true;
  if (*a.mj_per_inference != *b.mj_per_inference) return *a.mj_per_inference < *b.mj_per_inference;
  return faster(a, b);
}

// Picks the best choice by `better` among those of `backend` (or among all if backend is empty).
template <typename Better>
std::optional<BackendChoice> best(const std::vector<BackendChoice>& choices,
                                  const std::string& backend, Better better) {
  std::optional<BackendChoice> winner;
  for (const auto& c : choices) {
    if (!backend.empty() && c.backend != backend) continue;
    if (!winner || better(c, *winner)) winner = c;
  }
  return winner;
}

std::optional<double> ratio(std::optional<double> baseline, std::optional<double> value) {
  if (!baseline || !value || *value <= 0) return std::nullopt;
  return *baseline / *value;
}

std::string speed_words(double speedup) {
  return speedup >= 1 ? format_ratio(speedup) + " faster" : format_ratio(1 / speedup) + " slower";
}

std::string energy_words(double efficiency) {
  return efficiency >= 1 ? format_ratio(efficiency) + " less energy"
                         : format_ratio(1 / efficiency) + " more energy";
}

// Why the baseline has no ranked row on this device and model.
std::string baseline_missing_reason(const StudyResults& study, const std::string& model,
                                    std::optional<int> threads, const std::string& baseline) {
  for (const auto& run : study.runs) {
    if (run.model != model || run.backend != baseline) continue;
    if (threads && run.threads != *threads) continue;
    std::string why = to_string(run.status);
    if (run.status == RowStatus::ok) why = "did not pass validation";
    return "the baseline " + baseline + " " + (run.status == RowStatus::ok ? why : why + " (" +
           (run.reason.empty() ? std::string("no reason recorded") : run.reason) + ")") +
           " on " + study.device.label;
  }
  return "the baseline " + baseline + " was not measured on " + study.device.label;
}

std::string recommend(const Table2Entry& e, bool device_has_meter) {
  const std::string head = "On " + e.device + ", for " + model_display_name(e.model) +
                           (e.threads ? " at " + thread_phrase(*e.threads) : std::string()) + ", ";
  if (!e.fastest) return head + "no backend produced a validated result, so none is recommended.";

  const std::string no_energy =
      device_has_meter ? " Energy was not measured for these runs."
                       : " Energy was not measured (no power meter on this device).";
  if (!e.baseline_missing.empty()) {
    char ms[32];
    std::snprintf(ms, sizeof ms, "%.3g", e.fastest->ms_per_inference);
    std::string text = head + "use " + choice_phrase(*e.fastest) + ", the fastest at " + ms +
                       " ms per inference";
    if (e.most_efficient && e.most_efficient->backend != e.fastest->backend)
      text += "; " + choice_phrase(*e.most_efficient) + " used the least energy";
    text += ". No speed-up is given: " + e.baseline_missing + ".";
    if (!e.energy_measured) text += no_energy;
    return text;
  }

  // "4.10x faster and 3.20x less energy than gemm:openblas (4 threads)"
  auto comparison = [&](std::optional<double> speedup, std::optional<double> efficiency,
                        bool energy_first) {
    std::vector<std::string> parts;
    if (speedup) parts.push_back(speed_words(*speedup));
    if (efficiency) parts.push_back(energy_words(*efficiency));
    if (energy_first) std::reverse(parts.begin(), parts.end());
    std::string text;
    for (std::size_t i = 0; i < parts.size(); ++i) text += (i ? " and " : "") + parts[i];
    return text + " than " + e.baseline;
  };

  const bool fastest_is_baseline = e.fastest->backend == e.baseline;
  const bool one_winner = !e.most_efficient || e.most_efficient->backend == e.fastest->backend;
  std::string text = head;
  if (fastest_is_baseline && one_winner) {
    text += "keep the baseline " + choice_phrase(*e.fastest) + ": no other backend was faster" +
            (e.energy_measured ? " or used less energy." : ".");
  } else if (fastest_is_baseline) {
    text += "keep the baseline " + choice_phrase(*e.fastest) + " for speed; use " +
            choice_phrase(*e.most_efficient) + " for the least energy: " +
            comparison(e.efficient_speedup, e.efficient_energy_efficiency, true) + ".";
  } else if (one_winner) {
    text += "use " + choice_phrase(*e.fastest) + ": " +
            comparison(e.fastest_speedup, e.fastest_energy_efficiency, false) + ".";
  } else {
    text += "use " + choice_phrase(*e.fastest) + " for speed: " +
            comparison(e.fastest_speedup, e.fastest_energy_efficiency, false) + "; use " +
            choice_phrase(*e.most_efficient) + " for the least energy: " +
            comparison(e.efficient_speedup, e.efficient_energy_efficiency, true) + ".";
  }
  if (!e.energy_measured) {
    text += no_energy;
  } else if (!e.baseline_efficient) {
    text += " The baseline's energy was not measured, so no energy ratio is given.";
  }
  return text;
}

Table2Entry rank(const StudyResults& study, const std::string& model, std::optional<int> threads,
                 const std::string& baseline) {
  Table2Entry e;
  e.device = study.device.label;
  e.model = model;
  e.threads = threads;
  e.baseline = baseline;
  std::vector<BackendChoice> choices;
  for (const auto& run : study.runs) {
    if (run.model != model || !run.rankable()) continue;
    if (threads && run.threads != *threads) continue;
    choices.push_back(choice_of(run));
    if (choices.back().mj_per_inference) e.energy_measured = true;
  }
  e.fastest = best(choices, "", faster);
  if (e.energy_measured) e.most_efficient = best(choices, "", more_efficient);
  e.baseline_fastest = best(choices, baseline, faster);
  if (e.energy_measured) {
    e.baseline_efficient = best(choices, baseline, more_efficient);
    if (e.baseline_efficient && !e.baseline_efficient->mj_per_inference) e.baseline_efficient.reset();
  }
  if (!e.baseline_fastest) {
    e.baseline_missing = baseline_missing_reason(study, model, threads, baseline);
    if (threads) e.baseline_missing += " at " + thread_phrase(*threads);
  }
  if (e.fastest && e.baseline_fastest) {
    e.fastest_speedup = ratio(e.baseline_fastest->ms_per_inference, e.fastest->ms_per_inference);
    if (e.baseline_efficient)
      e.fastest_energy_efficiency =
          ratio(e.baseline_efficient->mj_per_inference, e.fastest->mj_per_inference);
  }
  if (e.most_efficient && e.baseline_fastest) {
    e.efficient_speedup =
        ratio(e.baseline_fastest->ms_per_inference, e.most_efficient->ms_per_inference);
    if (e.baseline_efficient)
      e.efficient_energy_efficiency =
          ratio(e.baseline_efficient->mj_per_inference, e.most_efficient->mj_per_inference);
  }
  e.recommendation = recommend(e, study.has_energy());
  return e;
}

// The models of `study`, in the order they first appear over all studies, so that merged devices
// list their models alike.
std::vector<std::string> models_in_order(const std::vector<StudyResults>& studies,
                                         const StudyResults& study) {
  std::vector<std::string> models;
  for (const auto& s : studies)
    for (const auto& run : s.runs)
      if (std::find(models.begin(), models.end(), run.model) == models.end())
        models.push_back(run.model);
  std::erase_if(models, [&](const std::string& model) {
    return std::none_of(study.runs.begin(), study.runs.end(),
                        [&](const RunRow& run) { return run.model == model; });
  });
  return models;
}

}  // namespace

std::vector<Table2Entry> compute_table2(const std::vector<StudyResults>& studies,
                                        const std::string& baseline) {
  std::vector<Table2Entry> entries;
  for (const auto& study : studies)
    for (const auto& model : models_in_order(studies, study))
      entries.push_back(rank(study, model, std::nullopt, baseline));
  return entries;
}

std::vector<Table2Entry> rank_at_equal_threads(const std::vector<StudyResults>& studies,
                                               const std::string& baseline) {
  std::vector<Table2Entry> entries;
  for (const auto& study : studies) {
    for (const auto& model : models_in_order(studies, study)) {
      std::set<int> thread_counts;
      for (const auto& run : study.runs)
        if (run.model == model) thread_counts.insert(run.threads);
      for (int threads : thread_counts) entries.push_back(rank(study, model, threads, baseline));
    }
  }
  return entries;
}

std::vector<UnrankedRow> unranked_rows(const std::vector<StudyResults>& studies) {
  std::vector<UnrankedRow> rows;
  for (const auto& study : studies) {
    for (const auto& run : study.runs) {
      if (run.rankable()) continue;
      std::string reason = run.reason;
      if (run.status == RowStatus::ok) {
        if (!run.validation_passed.has_value()) {
          reason = "not validated";
        } else if (!*run.validation_passed) {
          char buffer[96];
          std::snprintf(buffer, sizeof buffer, "output failed validation (relative L2 error %.3g)",
                        run.rel_l2_error.value_or(-1));
          reason = run.rel_l2_error ? buffer : "output failed validation";
        } else {
          reason = "no latency recorded";
        }
      }
      rows.push_back({study.device.label,
                      model_display_name(run.model) + " on " + run.backend + ", " +
                          thread_phrase(run.threads),
                      to_string(run.status), reason.empty() ? "no reason recorded" : reason});
    }
    for (const auto& g : study.gemm) {
      if (g.status == RowStatus::ok && g.validation_passed.value_or(false)) continue;
      std::string reason = g.reason;
      if (g.status == RowStatus::ok)
        reason = g.validation_passed ? "output failed validation" : "not validated";
      const std::string size = g.m == g.n && g.n == g.k
                                   ? std::to_string(g.m)
                                   : std::to_string(g.m) + "x" + std::to_string(g.n) + "x" +
                                         std::to_string(g.k);
      rows.push_back({study.device.label,
                      "SGEMM " + (g.m > 0 ? size + " " : std::string()) + "on " + g.provider + ", " + thread_phrase(g.threads),
                      to_string(g.status), reason.empty() ? "no reason recorded" : reason});
    }
  }
  return rows;
}

}  // namespace libscout::report
