#include "report/report_tables.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

namespace libscout::report {

namespace {

std::string fixed(double value, int decimals) {
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

std::string join(const std::vector<std::string>& items, const std::string& separator = ", ") {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? separator : "") + items[i];
  return out;
}

std::string ratio_cell(const std::optional<Ratio>& value) {
  return value ? format_ratio(*value) : "–";
}

std::string passed(const std::optional<bool>& value) {
  return value ? (*value ? "passed" : "FAILED") : "not validated";
}

std::string status_cell(RowStatus status, const std::string& reason) {
  return to_string(status) + (reason.empty() || status == RowStatus::ok ? "" : ": " + reason);
}

std::string choice_cell(const std::optional<BackendChoice>& c) {
  return c ? c->backend + " (" + run_phrase(*c) + ")" : "none valid";
}

std::string pick_cell(const Table2Entry& e) {
  if (!e.fastest) return "none valid";
  return e.fastest_ties.empty() ? choice_cell(e.fastest) : e.pick;
}

std::string efficient_cell(const Table2Entry& e) {
  if (!e.energy_measured) return "no energy figure: " + e.energy_none;
  if (!e.most_efficient) return "none valid";
  if (e.efficient_ties.empty()) return choice_cell(e.most_efficient);
  std::string names = e.most_efficient->backend;
  for (const auto& t : e.efficient_ties) names += " or " + t.backend;
  return names + ": within noise";
}

template <typename Row>
void add_energy_rows(Row& row, const std::string& baseline) {
  auto no_baseline = [](const Table2Entry& e) { return !e.baseline_missing.empty(); };
  row("Fastest: energy efficiency over " + baseline, [&](const Table2Entry& e) {
    if (!e.energy_measured) return "no energy figure: " + e.energy_none;
    if (no_baseline(e)) return std::string("no baseline");
    if (!e.baseline_efficient) return std::string("baseline has no energy figure");
    return ratio_cell(e.fastest_energy_efficiency);
  });
  row("Least energy", efficient_cell);
  row("Least energy: energy efficiency over " + baseline, [&](const Table2Entry& e) {
    if (!e.energy_measured || !e.most_efficient) return std::string("–");
    if (no_baseline(e)) return std::string("no baseline");
    return e.baseline_efficient ? ratio_cell(e.efficient_energy_efficiency)
                                : std::string("baseline has no energy figure");
  });
}


}  // namespace

std::string measure(double value) {
  const double magnitude = std::abs(value);
  if (magnitude >= 100) return fixed(value, 0);
  if (magnitude >= 10) return fixed(value, 1);
  if (magnitude >= 1) return fixed(value, 2);
  if (magnitude >= 0.001 || value == 0) return fixed(value, 3);
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, "%.2e", value);
  return buffer;
}

std::string measure(const std::optional<double>& value, const char* missing) {
  return value ? measure(*value) : missing;
}

std::string with_interval(double value, const std::optional<Interval>& ci) {
  if (!ci) return measure(value);
  return measure(value) + " (" + measure(ci->lo) + " to " + measure(ci->hi) + ")";
}

Table paper_table(const std::vector<Table2Entry>& entries, const std::string& baseline) {
  Table t;
  t.first_column_is_header = true;
  t.groups.push_back({"Device", 1});
  t.header.push_back("Model");
  for (std::size_t i = 0; i < entries.size();) {
    std::size_t j = i;
    while (j < entries.size() && entries[j].device == entries[i].device) {
      t.header.push_back(model_display_name(entries[j].model));
      ++j;
    }
    t.groups.push_back({entries[i].device, static_cast<int>(j - i)});
    i = j;
  }
  auto row = [&](std::string name, auto cell) {
    std::vector<std::string> r{std::move(name)};
    for (const auto& e : entries) r.push_back(cell(e));
    t.rows.push_back(std::move(r));
  };
  auto no_baseline = [](const Table2Entry& e) { return !e.baseline_missing.empty(); };
  row("Best library (fastest)", pick_cell);
  row("Speed-up over " + baseline + " (95% interval)", [&](const Table2Entry& e) {
    return no_baseline(e) ? std::string("no baseline") : ratio_cell(e.fastest_speedup);
  });
  const bool energy = std::any_of(entries.begin(), entries.end(),
                                  [](const Table2Entry& e) { return e.energy_measured; });
  if (energy) add_energy_rows(row, baseline);
  row("Fastest: ms / inference", [](const Table2Entry& e) {
    return e.fastest ? with_interval(e.fastest->ms_per_inference, e.fastest->ms_ci) : "–";
  });
  row("Baseline: ms / inference", [](const Table2Entry& e) {
    return e.baseline_fastest ? with_interval(e.baseline_fastest->ms_per_inference,
                                              e.baseline_fastest->ms_ci) +
                                    " (" + run_phrase(*e.baseline_fastest) + ")"
                              : e.baseline_missing;
  });
  return t;
}

Table detail_table(const std::vector<Table2Entry>& entries, bool with_threads) {
  Table t;
  t.header = {"Device", "Model"};
  if (with_threads) t.header.push_back("Threads asked");
  const bool energy = std::any_of(entries.begin(), entries.end(),
                                  [](const Table2Entry& e) { return e.energy_measured; });
  for (const char* h : {"Fastest", "ms / inference", "Speed-up"}) t.header.push_back(h);
  if (energy)
    for (const char* h : {"Least energy", "mJ / inference", "Energy eff."}) t.header.push_back(h);
  t.header.push_back("Baseline");
  for (const auto& e : entries) {
    std::vector<std::string> r{e.device, model_display_name(e.model)};
    if (with_threads) r.push_back(e.threads ? std::to_string(*e.threads) : "–");
    const bool base = e.baseline_missing.empty();
    r.push_back(pick_cell(e));
    r.push_back(e.fastest ? with_interval(e.fastest->ms_per_inference, e.fastest->ms_ci) : "–");
    r.push_back(base ? ratio_cell(e.fastest_speedup) : "no baseline");
    if (energy) {
      r.push_back(efficient_cell(e));
      r.push_back(e.most_efficient && e.most_efficient->mj_per_inference
                      ? with_interval(*e.most_efficient->mj_per_inference, e.most_efficient->mj_ci)
                      : "–");
      r.push_back(base ? ratio_cell(e.efficient_energy_efficiency) : "no baseline");
    }
    r.push_back(base ? choice_cell(e.baseline_fastest) : e.baseline_missing);
    t.rows.push_back(std::move(r));
  }
  return t;
}

Table throughput_table(const std::vector<Table2Entry>& entries) {
  Table t;
  t.header = {"Device", "Model", "Batch", "Highest throughput", "Images / s", "Over baseline",
              "Baseline images / s"};
  for (const auto& e : entries) {
    auto images = [](const std::optional<BackendChoice>& c) {
      if (!c) return std::string("–");
      std::optional<Interval> ci;
      if (c->ms_ci && c->ms_ci->lo > 0) ci = Interval{1000 / c->ms_ci->hi, 1000 / c->ms_ci->lo};
      return with_interval(c->images_per_s(), ci);
    };
    t.rows.push_back({e.device, model_display_name(e.model), std::to_string(e.batch),
                      pick_cell(e), images(e.fastest),
                      e.baseline_missing.empty() ? ratio_cell(e.fastest_speedup) : "no baseline",
                      e.baseline_missing.empty() ? images(e.baseline_fastest) : e.baseline_missing});
  }
  return t;
}

namespace {

std::string fallback_cell(const RunRow& r) {
  if (r.fallback_layers == 0 && r.fallback_backend.empty()) {
    if (r.backends_used.size() > 1) return "other backends ran layers: " + join(r.backends_used);
    return r.status == RowStatus::ok || r.latency_ms ? "none" : "–";
  }
  std::string text = std::to_string(r.fallback_layers) + (r.fallback_layers == 1 ? " layer" : " layers");
  if (!r.fallback_backend.empty()) text += " on " + r.fallback_backend;
  text += r.fallback_time_share ? ", " + fixed(*r.fallback_time_share * 100, 1) + "% of the time"
                                : ", share of time not recorded";
  if (!r.fallback_layer_names.empty()) {
    std::vector<std::string> names(r.fallback_layer_names.begin(),
                                   r.fallback_layer_names.begin() +
                                       std::min<std::size_t>(4, r.fallback_layer_names.size()));
    text += " (" + join(names) + (r.fallback_layer_names.size() > 4 ? ", ..." : "") + ")";
  }
  return text;
}

std::string threads_cell(const RunRow& r) {
  if (r.device == "gpu") return "GPU";
  std::string text = std::to_string(r.threads);
  if (r.threads_requested && *r.threads_requested != r.threads)
    text += " (" + std::to_string(*r.threads_requested) + " asked)";
  return text;
}

std::string threads_words(const RunRow& r) {
  if (r.device == "gpu") return "GPU";
  std::string text = thread_phrase(r.threads);
  if (r.threads_requested && *r.threads_requested != r.threads)
    text += " (" + std::to_string(*r.threads_requested) + " asked)";
  return text;
}

std::string rounds_cell(const RunRow& r) {
  if (r.rounds.empty()) return "1";
  return std::to_string(r.rounds_ok.value_or(0)) + " of " + std::to_string(r.rounds.size()) + " ok";
}

// Ranked rows first, fastest first; then the others by backend.
bool row_before(const RunRow* a, const RunRow* b) {
  if (a->rankable() != b->rankable()) return a->rankable();
  if (!a->rankable()) return a->backend < b->backend;
  return *a->ms_per_inference() < *b->ms_per_inference();
}

}  // namespace

std::vector<TitledTable> backends_tables(const std::vector<StudyResults>& studies) {
  std::vector<TitledTable> tables;
  for (const auto& s : studies) {
    std::vector<std::string> models;
    for (const auto& r : s.runs)
      if (std::find(models.begin(), models.end(), r.model) == models.end()) models.push_back(r.model);
    for (const auto& model : models) {
      std::vector<const RunRow*> rows;
      for (const auto& r : s.runs)
        if (r.model == model) rows.push_back(&r);
      std::stable_sort(rows.begin(), rows.end(), row_before);
      auto any = [&](auto test) { return std::any_of(rows.begin(), rows.end(), test); };
      // Columns that would say the same on every row are left out.
      const bool batches = any([](const RunRow* r) { return r->batch > 1; });
      const bool gpu = any([](const RunRow* r) { return r->device_time_ms.has_value(); });
      const bool energy = any([](const RunRow* r) { return r->energy.has_value(); });
      const bool fallback = any([](const RunRow* r) { return fallback_cell(*r) != "none" && fallback_cell(*r) != "–"; });
      const bool rounds = any([](const RunRow* r) { return r->rounds.size() > 1; });
      Table t;
      t.header = {"Backend", "Threads"};
      if (batches) t.header.push_back("Batch");
      t.header.push_back("ms / inference (95% interval)");
      t.header.push_back("Images / s");
      if (gpu) t.header.push_back("GPU device ms");
      if (energy) t.header.push_back("mJ / inference (95% interval)");
      if (fallback) t.header.push_back("Fallback layers");
      if (rounds) t.header.push_back("Rounds");
      t.header.push_back("Status");
      std::map<std::string, int> no_energy;  // reason -> rows
      for (const RunRow* r : rows)
        if (r->rankable() && !r->energy_figure().mj_per_inference) ++no_energy[r->energy_figure().none];
      const bool shared = no_energy.size() == 1 && no_energy.begin()->second > 1;
      for (const RunRow* r : rows) {
        const auto ms = r->ms_per_inference();
        std::vector<std::string> cells{r->backend, threads_cell(*r)};
        if (batches) cells.push_back(std::to_string(r->batch));
        cells.push_back(ms ? with_interval(*ms, r->ms_per_inference_ci()) : "–");
        cells.push_back(ms && *ms > 0 ? measure(1000 / *ms) : "–");
        if (gpu) cells.push_back(r->device_time_ms ? measure(r->device_time_ms->median / r->batch) : "–");
        if (energy) {
          const EnergyFigure e = r->energy_figure();
          cells.push_back(!r->rankable()        ? "–"
                          : e.mj_per_inference ? with_interval(*e.mj_per_inference, e.ci)
                          : shared             ? std::string("no energy figure (*)")
                                               : "no energy figure: " + e.none);
        }
        if (fallback) cells.push_back(fallback_cell(*r));
        if (rounds) cells.push_back(rounds_cell(*r));
        std::string status = status_cell(r->status, r->reason);
        if (r->rankable() && r->measured_on_busy_machine()) status += ", busy";
        cells.push_back(status);
        t.rows.push_back(std::move(cells));
      }
      tables.push_back({model_display_name(model) + " on " + s.device.label, std::move(t),
                        shared ? "(*) No energy figure: " + no_energy.begin()->first + "." : ""});
    }
  }
  return tables;
}

Table unranked_table(const std::vector<UnrankedRow>& rows) {
  Table t;
  t.header = {"Device", "Measurement", "Status", "Reason"};
  for (const auto& u : rows) t.rows.push_back({u.device, u.what, u.status, u.reason});
  return t;
}

Table busy_table(const std::vector<StudyResults>& studies) {
  Table t;
  t.header = {"Device", "Measurement", "Other work (cores busy)", "ms / inference"};
  for (const auto& s : studies) {
    for (const RunRow& r : s.runs) {
      if (!r.rankable() || !r.measured_on_busy_machine()) continue;
      t.rows.push_back({s.device.label,
                        model_display_name(r.model) + " on " + r.backend + ", " + threads_words(r),
                        r.busy_cores_at_start ? fixed(*r.busy_cores_at_start, 1) : "not recorded",
                        measure(r.ms_per_inference())});
    }
  }
  return t;
}

Table library_table(const std::vector<StudyResults>& studies) {
  Table t;
  t.header.push_back("Library");
  for (const auto& s : studies) t.header.push_back(s.device.label);
  // The study's list, else what the rows say: GEMM rows' versions, run rows' library versions.
  std::vector<std::map<std::string, std::string>> versions;
  std::set<std::string> names;
  for (const auto& s : studies) {
    std::map<std::string, std::string> v = s.libraries;
    for (const auto& g : s.gemm)
      if (!g.version.empty() && !v.count(g.provider)) v[g.provider] = g.version;
    for (const auto& r : s.runs) {
      for (const auto& [backend, version] : r.library_versions)
        if (!version.empty() && !v.count(backend)) v[backend] = version;
      if (!r.library_version.empty() && !v.count(r.backend)) v[r.backend] = r.library_version;
    }
    for (const auto& [name, version] : v) names.insert(name);
    versions.push_back(std::move(v));
  }
  // A provider and its gemm: backend run the same library: one row, named after both.
  auto same_everywhere = [&](const std::string& a, const std::string& b) {
    return std::all_of(versions.begin(), versions.end(), [&](const auto& v) {
      auto x = v.find(a), y = v.find(b);
      return (x == v.end()) == (y == v.end()) && (x == v.end() || x->second == y->second);
    });
  };
  for (const auto& name : names) {
    if (name.rfind("gemm:", 0) == 0 && names.count(name.substr(5)) && same_everywhere(name, name.substr(5)))
      continue;
    const bool paired = names.count("gemm:" + name) && same_everywhere(name, "gemm:" + name);
    std::vector<std::string> r{paired ? name + " (and backend gemm:" + name + ")" : name};
    for (const auto& v : versions) {
      auto it = v.find(name);
      r.push_back(it == v.end() ? "not recorded" : it->second);
    }
    t.rows.push_back(std::move(r));
  }
  return t;
}

Table not_swept_table(const std::vector<StudyResults>& studies) {
  Table t;
  t.header = {"Device", "Library", "Threads asked", "Threads it uses", "Reason"};
  for (const auto& s : studies) {
    if (!s.not_swept.is_array()) continue;
    for (const auto& item : s.not_swept) {
      if (!item.is_object()) continue;
      auto text = [&](const char* key) {
        auto it = item.find(key);
        if (it == item.end() || it->is_null()) return std::string();
        return it->is_string() ? it->get<std::string>() : it->dump();
      };
      std::string library = text("backend");
      if (library.empty()) library = text("provider");
      t.rows.push_back({s.device.label, library, text("threads_requested"), text("threads"),
                        text("reason")});
    }
  }
  return t;
}

Table energy_table(const std::vector<StudyResults>& studies) {
  Table t;
  t.header = {"Device", "Model", "Backend", "Threads", "Meter (sees)", "Window s", "Windows",
              "Avg W", "Idle W", "mJ / inference", "Net mJ / inference", "Rails (W)", "Ranked"};
  for (const auto& s : studies) {
    for (const auto& r : s.runs) {
      if (!r.energy) continue;
      const auto& e = *r.energy;
      std::vector<std::string> rails;
      for (const auto& rail : e.rails) rails.push_back(rail.name + " " + measure(rail.avg_power_w));
      const EnergyFigure figure = r.energy_figure();
      t.rows.push_back({s.device.label, model_display_name(r.model), r.backend, threads_cell(r),
                        e.meter + " (" + (e.covers.empty() ? "unknown" : e.covers) + ")",
                        measure(e.window_s), e.windows ? std::to_string(*e.windows) : "1",
                        measure(e.avg_power_w), measure(e.idle_power_w),
                        with_interval(e.mj_per_inference.value_or(0), e.mj_ci),
                        measure(e.net_mj_per_inference), join(rails),
                        figure.mj_per_inference ? "yes" : "no energy figure: " + figure.none});
    }
  }
  return t;
}

Table gemm_table(const std::vector<StudyResults>& studies) {
  Table t;
  t.header = {"Device", "Provider", "M x N x K", "Threads", "GFLOPS", "GFLOPS incl. transfer",
              "Validation", "Status"};
  for (const auto& s : studies)
    for (const auto& g : s.gemm) {
      std::string threads = std::to_string(g.threads);
      if (g.threads_requested && *g.threads_requested != g.threads)
        threads += " (" + std::to_string(*g.threads_requested) + " asked)";
      t.rows.push_back({s.device.label, g.provider,
                        std::to_string(g.m) + " x " + std::to_string(g.n) + " x " +
                            std::to_string(g.k),
                        threads, measure(g.gflops), measure(g.gflops_with_transfer),
                        passed(g.validation_passed), status_cell(g.status, g.reason)});
    }
  return t;
}

}  // namespace libscout::report
