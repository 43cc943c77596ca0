#include "report/table2.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <tuple>

namespace libscout::report {

std::string model_display_name(const std::string& model) {
  static const std::map<std::string, std::string> names = {
      {"mobilenet_v1", "MobileNet v1"},     {"mobilenet_v2", "MobileNet v2"},
      {"squeezenet1.1", "SqueezeNet v1.1"}, {"squeezenet1.0", "SqueezeNet v1.0"},
      {"resnet18", "ResNet-18"},
  };
  auto it = names.find(model);
  return it == names.end() ? model : it->second;
}

std::string format_ratio(double ratio) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.2fx", ratio);
  return buffer;
}

std::string format_ratio(const Ratio& ratio) {
  if (!ratio.ci) return format_ratio(ratio.value);
  return format_ratio(ratio.value) + " (" + format_ratio(ratio.ci->lo) + " to " +
         format_ratio(ratio.ci->hi) + ")";
}

std::string thread_phrase(int threads) {
  return std::to_string(threads) + (threads == 1 ? " thread" : " threads");
}

std::string run_phrase(const BackendChoice& choice) {
  std::string text;
  if (choice.device == "gpu") {
    text = "GPU";
  } else {
    text = thread_phrase(choice.threads);
    if (choice.asked_threads != choice.threads && choice.asked_threads > 0)
      text += ", " + std::to_string(choice.asked_threads) + " asked";
  }
  if (choice.batch > 1) text += ", batch " + std::to_string(choice.batch);
  return text;
}

namespace {

std::string choice_phrase(const BackendChoice& choice) {
  return choice.backend + " (" + run_phrase(choice) + ")";
}

BackendChoice choice_of(const RunRow& row) {
  BackendChoice choice;
  choice.backend = row.backend;
  choice.device = row.device;
  choice.threads = row.threads;
  choice.asked_threads = row.asked_threads();
  choice.batch = row.batch;
  choice.ms_per_inference = *row.ms_per_inference();
  choice.ms_ci = row.ms_per_inference_ci();
  const EnergyFigure energy = row.energy_figure();
  choice.mj_per_inference = energy.mj_per_inference;
  choice.mj_ci = energy.ci;
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

// Each backend's best choice by `better`, best first.
template <typename Better>
std::vector<BackendChoice> best_per_backend(const std::vector<BackendChoice>& choices,
                                            Better better) {
  std::map<std::string, BackendChoice> best;
  for (const auto& c : choices) {
    auto it = best.find(c.backend);
    if (it == best.end()) best.emplace(c.backend, c);
    else if (better(c, it->second)) it->second = c;
  }
  std::vector<BackendChoice> out;
  for (auto& [name, c] : best) out.push_back(std::move(c));
  std::sort(out.begin(), out.end(), better);
  return out;
}

// The other backends whose interval overlaps the winner's (both must have one).
std::vector<BackendChoice> ties_of(const std::vector<BackendChoice>& ranked,
                                   std::optional<Interval> BackendChoice::*ci) {
  std::vector<BackendChoice> ties;
  if (ranked.empty() || !(ranked.front().*ci)) return ties;
  const Interval& winner = *(ranked.front().*ci);
  for (std::size_t i = 1; i < ranked.size(); ++i)
    if (ranked[i].*ci && (ranked[i].*ci)->overlaps(winner)) ties.push_back(ranked[i]);
  return ties;
}

std::optional<BackendChoice> find_backend(const std::vector<BackendChoice>& ranked,
                                          const std::string& backend) {
  for (const auto& c : ranked)
    if (c.backend == backend) return c;
  return std::nullopt;
}

// baseline / value, with the interval from the intervals' ends.
std::optional<Ratio> ratio(double baseline, const std::optional<Interval>& baseline_ci,
                           double value, const std::optional<Interval>& value_ci) {
  if (value <= 0) return std::nullopt;
  Ratio r{baseline / value, std::nullopt};
  if (baseline_ci && value_ci && value_ci->lo > 0)
    r.ci = Interval{baseline_ci->lo / value_ci->hi, baseline_ci->hi / value_ci->lo};
  return r;
}

std::optional<Ratio> time_ratio(const BackendChoice& baseline, const BackendChoice& choice) {
  return ratio(baseline.ms_per_inference, baseline.ms_ci, choice.ms_per_inference, choice.ms_ci);
}

std::optional<Ratio> energy_ratio(const std::optional<BackendChoice>& baseline,
                                  const BackendChoice& choice) {
  if (!baseline || !baseline->mj_per_inference || !choice.mj_per_inference) return std::nullopt;
  return ratio(*baseline->mj_per_inference, baseline->mj_ci, *choice.mj_per_inference,
               choice.mj_ci);
}

std::string speed_words(const Ratio& speedup) {
  if (speedup.value >= 1) return format_ratio(speedup) + " faster";
  Ratio inverse{1 / speedup.value, std::nullopt};
  if (speedup.ci) inverse.ci = Interval{1 / speedup.ci->hi, 1 / speedup.ci->lo};
  return format_ratio(inverse) + " slower";
}

std::string energy_words(const Ratio& efficiency) {
  if (efficiency.value >= 1) return format_ratio(efficiency) + " less energy";
  Ratio inverse{1 / efficiency.value, std::nullopt};
  if (efficiency.ci) inverse.ci = Interval{1 / efficiency.ci->hi, 1 / efficiency.ci->lo};
  return format_ratio(inverse) + " more energy";
}

// "xnnpack (2 threads)" or "onednn or xnnpack: within noise".
std::string pick_phrase(const BackendChoice& winner, const std::vector<BackendChoice>& ties) {
  if (ties.empty()) return choice_phrase(winner);
  std::string names = winner.backend;
  for (std::size_t i = 0; i < ties.size(); ++i)
    names += (i + 1 == ties.size() ? " or " : ", ") + ties[i].backend;
  return names + ": within noise";
}

// Why the baseline has no ranked row on this device and model.
std::string baseline_missing_reason(const StudyResults& study, const std::string& model,
                                    std::optional<int> threads, int batch,
                                    const std::string& baseline) {
  for (const auto& run : study.runs) {
    if (run.model != model || run.backend != baseline || run.batch != batch) continue;
    if (threads && run.asked_threads() != *threads) continue;
    if (run.status == RowStatus::ok)
      return "the baseline " + baseline + " did not pass validation on " + study.device.label;
    return "the baseline " + baseline + " " + to_string(run.status) + " (" +
           (run.reason.empty() ? std::string("no reason recorded") : run.reason) + ") on " +
           study.device.label;
  }
  return "the baseline " + baseline + " was not measured" +
         (batch > 1 ? " at batch " + std::to_string(batch) : std::string()) + " on " +
         study.device.label;
}

// "3.10x faster (2.80x to 3.40x) and 2.00x less energy than gemm:openblas (2 threads)"
std::string comparison(const Table2Entry& e, const std::optional<Ratio>& speedup,
                       const std::optional<Ratio>& efficiency, bool energy_first) {
  std::vector<std::string> parts;
  if (speedup) parts.push_back(speed_words(*speedup));
  if (efficiency) parts.push_back(energy_words(*efficiency));
  if (energy_first) std::reverse(parts.begin(), parts.end());
  std::string text;
  for (std::size_t i = 0; i < parts.size(); ++i) text += (i ? " and " : "") + parts[i];
  return text + " than " + e.baseline;
}

bool tied_with_baseline(const std::vector<BackendChoice>& ties, const std::string& baseline) {
  return std::any_of(ties.begin(), ties.end(),
                     [&](const BackendChoice& c) { return c.backend == baseline; });
}

std::string recommend_without_baseline(const Table2Entry& e) {
  char ms[32];
  std::snprintf(ms, sizeof ms, "%.3g", e.fastest->ms_per_inference);
  std::string text = "use " + e.pick + ", the fastest at " + ms + " ms per inference";
  if (e.most_efficient && e.most_efficient->backend != e.fastest->backend)
    text += "; " + choice_phrase(*e.most_efficient) + " used the least energy";
  return text + ". No speed-up is given: " + e.baseline_missing + ".";
}

// The recommendation from its verb on ("use xnnpack ...", "keep the baseline ...").
std::string advise(const Table2Entry& e) {
  std::string text;
  if (!e.fastest) return "no backend produced a validated result, so none is recommended.";
  if (!e.baseline_missing.empty()) {
    text += recommend_without_baseline(e);
  } else {
    const bool fastest_is_baseline =
        e.fastest->backend == e.baseline || tied_with_baseline(e.fastest_ties, e.baseline);
    const bool one_winner = !e.most_efficient || e.most_efficient->backend == e.fastest->backend;
    if (fastest_is_baseline) {
      text += e.fastest->backend == e.baseline
                  ? "keep the baseline " + choice_phrase(*e.fastest) + ": no other backend was faster"
                  : "keep the baseline " + e.baseline + ": " + e.pick + " (the fastest, " +
                        choice_phrase(*e.fastest) + ", is not faster beyond noise)";
      if (one_winner) {
        text += ".";
      } else {
        text += "; use " + choice_phrase(*e.most_efficient) + " for the least energy: " +
                comparison(e, e.efficient_speedup, e.efficient_energy_efficiency, true) + ".";
      }
    } else {
      text += "use " + e.pick + (e.fastest_ties.empty() ? "" : " (" + e.fastest->backend + ": " +
                                                                   run_phrase(*e.fastest) + ")");
      text += (one_winner ? ": " : " for speed: ") +
              comparison(e, e.fastest_speedup, e.fastest_energy_efficiency, false);
      if (!one_winner)
        text += "; use " + choice_phrase(*e.most_efficient) + " for the least energy: " +
                comparison(e, e.efficient_speedup, e.efficient_energy_efficiency, true);
      text += ".";
    }
  }
  if (!e.energy_measured) {
    text += " No energy figure: " + e.energy_none + ".";
  } else if (!e.efficient_ties.empty()) {
    text += " Least energy: " + pick_phrase(*e.most_efficient, e.efficient_ties) + ".";
  } else if (!e.baseline_efficient && e.baseline_missing.empty()) {
    text += " The baseline has no energy figure, so no energy ratio is given.";
  }
  return text;
}

// Why no ranked row of this comparison has an energy figure.
std::string energy_none_reason(const std::vector<const RunRow*>& rows) {
  for (const RunRow* row : rows)
    if (row->energy) return row->energy_figure().none;
  return rows.empty() ? "no validated run" : rows.front()->energy_figure().none;
}

Table2Entry rank(const StudyResults& study, const std::string& model, std::optional<int> threads,
                 int batch, const std::string& baseline) {
  Table2Entry e;
  e.device = study.device.label;
  e.model = model;
  e.threads = threads;
  e.batch = batch;
  e.baseline = baseline;
  std::vector<BackendChoice> choices;
  std::vector<const RunRow*> rows;
  for (const auto& run : study.runs) {
    if (run.model != model || !run.rankable() || run.batch != batch) continue;
    if (threads && run.asked_threads() != *threads) continue;
    choices.push_back(choice_of(run));
    rows.push_back(&run);
    if (choices.back().mj_per_inference) e.energy_measured = true;
  }
  if (!e.energy_measured) e.energy_none = energy_none_reason(rows);
  const auto by_time = best_per_backend(choices, faster);
  if (!by_time.empty()) {
    e.fastest = by_time.front();
    e.fastest_ties = ties_of(by_time, &BackendChoice::ms_ci);
    e.pick = pick_phrase(*e.fastest, e.fastest_ties);
  }
  if (e.energy_measured) {
    auto by_energy = best_per_backend(choices, more_efficient);
    std::erase_if(by_energy, [](const BackendChoice& c) { return !c.mj_per_inference; });
    e.most_efficient = by_energy.front();
    e.efficient_ties = ties_of(by_energy, &BackendChoice::mj_ci);
    e.baseline_efficient = find_backend(by_energy, baseline);
  }
  e.baseline_fastest = find_backend(by_time, baseline);
  if (!e.baseline_fastest) {
    e.baseline_missing = baseline_missing_reason(study, model, threads, batch, baseline);
    if (threads) e.baseline_missing += " at " + thread_phrase(*threads);
  }
  if (e.fastest && e.baseline_fastest) {
    e.fastest_speedup = time_ratio(*e.baseline_fastest, *e.fastest);
    e.fastest_energy_efficiency = energy_ratio(e.baseline_efficient, *e.fastest);
  }
  if (e.most_efficient && e.baseline_fastest) {
    e.efficient_speedup = time_ratio(*e.baseline_fastest, *e.most_efficient);
    e.efficient_energy_efficiency = energy_ratio(e.baseline_efficient, *e.most_efficient);
  }
  e.recommendation = "On " + e.device + ", for " + model_display_name(e.model) +
                     (threads ? " at " + thread_phrase(*threads) : std::string()) +
                     (batch > 1 ? " at batch " + std::to_string(batch) : std::string()) + ", " +
                     advise(e);
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

std::set<int> batches_of(const StudyResults& study, const std::string& model) {
  std::set<int> batches;
  for (const auto& run : study.runs)
    if (run.model == model) batches.insert(run.batch);
  return batches;
}

}  // namespace

std::vector<Table2Entry> compute_table2(const std::vector<StudyResults>& studies,
                                        const std::string& baseline) {
  std::vector<Table2Entry> entries;
  for (const auto& study : studies)
    for (const auto& model : models_in_order(studies, study))
      if (batches_of(study, model).count(1))
        entries.push_back(rank(study, model, std::nullopt, 1, baseline));
  return entries;
}

std::vector<Table2Entry> compute_throughput(const std::vector<StudyResults>& studies,
                                            const std::string& baseline) {
  std::vector<Table2Entry> entries;
  for (const auto& study : studies)
    for (const auto& model : models_in_order(studies, study))
      for (int batch : batches_of(study, model))
        if (batch > 1) entries.push_back(rank(study, model, std::nullopt, batch, baseline));
  return entries;
}

std::vector<Table2Entry> rank_at_equal_threads(const std::vector<StudyResults>& studies,
                                               const std::string& baseline) {
  std::vector<Table2Entry> entries;
  for (const auto& study : studies) {
    for (const auto& model : models_in_order(studies, study)) {
      std::set<int> thread_counts;
      for (const auto& run : study.runs)
        if (run.model == model && run.batch == 1 && run.device != "gpu")
          thread_counts.insert(run.asked_threads());
      for (int threads : thread_counts) entries.push_back(rank(study, model, threads, 1, baseline));
    }
  }
  return entries;
}

namespace {

std::string unranked_run_reason(const RunRow& run) {
  if (run.status != RowStatus::ok) return run.reason;
  if (!run.validation_passed.has_value()) return "not validated";
  if (!*run.validation_passed) {
    if (!run.rel_l2_error) return "output failed validation";
    char buffer[96];
    std::snprintf(buffer, sizeof buffer, "output failed validation (relative L2 error %.3g)",
                  *run.rel_l2_error);
    return buffer;
  }
  return "no latency recorded";
}

std::string asked_phrase(int threads, int asked) {
  std::string text = thread_phrase(threads);
  if (asked != threads && asked > 0) text += " (" + std::to_string(asked) + " asked)";
  return text;
}

}  // namespace

std::vector<UnrankedRow> unranked_rows(const std::vector<StudyResults>& studies) {
  std::vector<UnrankedRow> rows;
  auto add = [&](UnrankedRow row) {
    if (row.reason.empty()) row.reason = "no reason recorded";
    for (const auto& r : rows)
      if (r.device == row.device && r.what == row.what && r.status == row.status &&
          r.reason == row.reason)
        return;
    rows.push_back(std::move(row));
  };
  for (const auto& study : studies) {
    for (const auto& run : study.runs) {
      if (run.rankable()) continue;
      std::string what = model_display_name(run.model) + " on " + run.backend + ", " +
                         (run.device == "gpu" ? std::string("GPU")
                                              : asked_phrase(run.threads, run.asked_threads()));
      if (run.batch > 1) what += ", batch " + std::to_string(run.batch);
      add({study.device.label, what, to_string(run.status), unranked_run_reason(run)});
    }
    // SGEMM: the sizes of one provider and thread count that ended alike form one row.
    using Key = std::tuple<std::string, int, int, std::string, std::string>;
    std::map<Key, std::vector<std::string>> sizes;
    std::vector<Key> order;
    for (const auto& g : study.gemm) {
      if (g.status == RowStatus::ok && g.validation_passed.value_or(false)) continue;
      std::string reason = g.reason;
      if (g.status == RowStatus::ok)
        reason = g.validation_passed ? "output failed validation" : "not validated";
      const Key key{g.provider, g.threads, g.asked_threads(), to_string(g.status), reason};
      if (!sizes.count(key)) order.push_back(key);
      auto& list = sizes[key];
      if (g.m <= 0) continue;
      const std::string size = g.m == g.n && g.n == g.k ? std::to_string(g.m)
                                                        : std::to_string(g.m) + "x" +
                                                              std::to_string(g.n) + "x" +
                                                              std::to_string(g.k);
      if (std::find(list.begin(), list.end(), size) == list.end()) list.push_back(size);
    }
    for (const auto& key : order) {
      const auto& [provider, threads, asked, status, reason] = key;
      std::string list;
      for (const auto& size : sizes[key]) list += (list.empty() ? "" : ", ") + size;
      add({study.device.label,
           "SGEMM " + (list.empty() ? std::string() : list + " ") + "on " + provider + ", " +
               asked_phrase(threads, asked),
           status, reason});
    }
  }
  return rows;
}

}  // namespace libscout::report
