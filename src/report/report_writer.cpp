#include "report/report_writer.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>

#include "core/error.h"
#include "report/figures.h"

namespace libscout::report {

namespace {

std::string fixed(double value, int decimals) {
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

// Milliseconds, millijoules, watts: three significant digits without exponents.
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

std::string measure(const std::optional<double>& value, const char* missing = "–") {
  return value ? measure(*value) : missing;
}

std::string scientific(const std::optional<double>& value) {
  if (!value) return "–";
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, "%.2e", *value);
  return buffer;
}

std::string ratio_or(const std::optional<double>& value, const std::string& missing) {
  return value ? format_ratio(*value) : missing;
}

std::string passed(const std::optional<bool>& value) {
  return value ? (*value ? "passed" : "FAILED") : "not validated";
}

std::string join(const std::vector<std::string>& items, const std::string& separator = ", ") {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? separator : "") + items[i];
  return out;
}

std::string join_ints(const std::set<int>& values) {
  std::vector<std::string> items;
  for (int v : values) items.push_back(std::to_string(v));
  return items.empty() ? "–" : join(items);
}

// A JSON value in one short line: strings unquoted, objects as "key=value" pairs.
std::string compact(const nlohmann::json& value) {
  if (value.is_null()) return "–";
  if (value.is_string()) return value.get<std::string>();
  if (value.is_array()) {
    std::vector<std::string> items;
    for (const auto& item : value) items.push_back(compact(item));
    return value.empty() ? "–" : (value.front().is_object() ? join(items, "; ") : join(items));
  }
  if (value.is_object()) {
    std::vector<std::string> items;
    for (const auto& [key, item] : value.items())
      items.push_back(key + "=" + (item.is_array() ? "[" + compact(item) + "]" : compact(item)));
    return join(items, " ");
  }
  return value.dump();
}

std::string model_name(const std::string& model) { return model_display_name(model); }

// Each device needs a distinct label when several studies are merged.
std::vector<StudyResults> with_unique_labels(std::vector<StudyResults> studies) {
  std::map<std::string, int> seen;
  for (auto& s : studies) {
    const int count = ++seen[s.device.label];
    if (count > 1) s.device.label += " (" + std::to_string(count) + ")";
  }
  return studies;
}

std::string threads_of(const std::optional<BackendChoice>& choice) {
  return choice ? std::to_string(choice->threads) : "–";
}

// The paper's layout: one column per device and model, one row per quantity.
Table paper_table(const std::vector<Table2Entry>& entries, const std::string& baseline) {
  Table t;
  t.first_column_is_header = true;
  t.groups.push_back({"Device", 1});
  t.header.push_back("Model");
  for (std::size_t i = 0; i < entries.size();) {
    std::size_t j = i;
    while (j < entries.size() && entries[j].device == entries[i].device) {
      t.header.push_back(model_name(entries[j].model));
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
  const std::string no_baseline = "no baseline";
  auto energy_cell = [&](const Table2Entry& e, const std::optional<double>& value) {
    if (!e.energy_measured) return std::string("not measured");
    if (!e.baseline_missing.empty()) return no_baseline;
    if (!e.baseline_efficient) return std::string("baseline not measured");
    return ratio_or(value, "–");
  };
  row("Baseline " + baseline + ": ms / inference (threads)", [](const Table2Entry& e) {
    return e.baseline_fastest ? measure(e.baseline_fastest->ms_per_inference) + " (" +
                                    std::to_string(e.baseline_fastest->threads) + ")"
                              : std::string("no valid run");
  });
  row("Baseline " + baseline + ": mJ / inference (threads)", [](const Table2Entry& e) {
    if (!e.energy_measured) return std::string("not measured");
    return e.baseline_efficient ? measure(e.baseline_efficient->mj_per_inference) + " (" +
                                      std::to_string(e.baseline_efficient->threads) + ")"
                                : std::string("no valid run");
  });
  row("Fastest backend (threads)", [](const Table2Entry& e) {
    return e.fastest ? e.fastest->backend + " (" + std::to_string(e.fastest->threads) + ")"
                     : std::string("none valid");
  });
  row("Its ms / inference", [](const Table2Entry& e) {
    return e.fastest ? measure(e.fastest->ms_per_inference) : std::string("–");
  });
  row("Speed-up over " + baseline, [&](const Table2Entry& e) {
    return e.fastest && e.baseline_missing.empty() ? ratio_or(e.fastest_speedup, "–") : no_baseline;
  });
  row("Energy efficiency over " + baseline, [&](const Table2Entry& e) {
    return e.fastest ? energy_cell(e, e.fastest_energy_efficiency) : std::string("–");
  });
  row("Most energy-efficient backend (threads)", [](const Table2Entry& e) {
    if (!e.energy_measured) return std::string("not measured");
    return e.most_efficient
               ? e.most_efficient->backend + " (" + std::to_string(e.most_efficient->threads) + ")"
               : std::string("none valid");
  });
  row("Its mJ / inference", [](const Table2Entry& e) {
    return e.most_efficient ? measure(e.most_efficient->mj_per_inference)
                            : std::string(e.energy_measured ? "–" : "not measured");
  });
  row("Its energy efficiency over " + baseline, [&](const Table2Entry& e) {
    return e.most_efficient ? energy_cell(e, e.efficient_energy_efficiency)
                            : (e.energy_measured ? "–" : std::string("not measured"));
  });
  return t;
}

Table detail_table(const std::vector<Table2Entry>& entries, bool with_threads) {
  Table t;
  t.header = {"Device", "Model"};
  if (with_threads) t.header.push_back("Threads");
  for (const char* h : {"Fastest", "Threads", "ms / inference", "Speed-up", "Energy eff.",
                        "Least energy", "Threads", "mJ / inference", "Energy eff.", "Speed-up",
                        "Baseline (threads: speed, energy)"})
    t.header.push_back(h);
  for (const auto& e : entries) {
    std::vector<std::string> r{e.device, model_name(e.model)};
    if (with_threads) r.push_back(e.threads ? std::to_string(*e.threads) : "–");
    const bool base = e.baseline_missing.empty();
    const std::string no_energy = e.energy_measured ? "–" : "not measured";
    r.push_back(e.fastest ? e.fastest->backend : "none valid");
    r.push_back(threads_of(e.fastest));
    r.push_back(e.fastest ? measure(e.fastest->ms_per_inference) : "–");
    r.push_back(base ? ratio_or(e.fastest_speedup, "–") : "no baseline");
    r.push_back(e.energy_measured ? (base ? ratio_or(e.fastest_energy_efficiency, "–") : "no baseline")
                                  : no_energy);
    r.push_back(e.most_efficient ? e.most_efficient->backend : no_energy);
    r.push_back(threads_of(e.most_efficient));
    r.push_back(e.most_efficient ? measure(e.most_efficient->mj_per_inference) : no_energy);
    r.push_back(e.energy_measured
                    ? (base ? ratio_or(e.efficient_energy_efficiency, "–") : "no baseline")
                    : no_energy);
    r.push_back(e.energy_measured ? (base ? ratio_or(e.efficient_speedup, "–") : "no baseline")
                                  : no_energy);
    if (base) {
      std::string b = e.baseline + " (" + threads_of(e.baseline_fastest);
      if (e.energy_measured) b += ", " + threads_of(e.baseline_efficient);
      r.push_back(b + ")");
    } else {
      r.push_back(e.baseline_missing);
    }
    t.rows.push_back(std::move(r));
  }
  return t;
}

Table device_table(const std::vector<StudyResults>& studies) {
  Table t;
  t.first_column_is_header = true;
  t.header.push_back("");
  for (const auto& s : studies) t.header.push_back(s.device.label);
  auto row = [&](std::string name, auto cell) {
    std::vector<std::string> r{std::move(name)};
    for (const auto& s : studies) {
      std::string value = cell(s);
      r.push_back(value.empty() ? "–" : value);
    }
    t.rows.push_back(std::move(r));
  };
  auto setting = [](const StudyResults& s, const char* key, const char* unit) -> std::string {
    if (!s.settings.is_object() || !s.settings.contains(key) || s.settings[key].is_null())
      return "not recorded";
    return compact(s.settings[key]) + unit;
  };
  row("Results read from", [](const StudyResults& s) { return s.source; });
  row("CPU", [](const StudyResults& s) { return s.device.cpu_model; });
  row("Cores", [](const StudyResults& s) {
    return s.device.cores ? std::to_string(*s.device.cores) : std::string();
  });
  row("Architecture", [](const StudyResults& s) { return s.device.architecture; });
  row("Board", [](const StudyResults& s) { return s.device.board_model.value_or(""); });
  row("Clusters", [](const StudyResults& s) { return compact(s.device.clusters); });
  row("CPUs used", [](const StudyResults& s) { return compact(s.device.cpus_used); });
  row("Operating system", [](const StudyResults& s) { return s.device.os; });
  row("Compiler", [](const StudyResults& s) { return s.device.compiler; });
  row("Thread counts (models)", [](const StudyResults& s) {
    std::set<int> threads;
    for (const auto& r : s.runs) threads.insert(r.threads);
    return join_ints(threads);
  });
  row("Thread counts (SGEMM)", [](const StudyResults& s) {
    std::set<int> threads;
    for (const auto& g : s.gemm) threads.insert(g.threads);
    return join_ints(threads);
  });
  row("Batch sizes", [](const StudyResults& s) {
    std::set<int> batches;
    for (const auto& r : s.runs) batches.insert(r.batch);
    return join_ints(batches);
  });
  row("Timed iterations per run", [](const StudyResults& s) {
    long long lo = -1, hi = -1;
    for (const auto& r : s.runs) {
      if (!r.iterations) continue;
      lo = lo < 0 ? *r.iterations : std::min(lo, *r.iterations);
      hi = std::max(hi, *r.iterations);
    }
    if (lo < 0) return std::string("not recorded");
    return lo == hi ? std::to_string(lo) : std::to_string(lo) + " to " + std::to_string(hi);
  });
  row("Warm-up runs", [&](const StudyResults& s) { return setting(s, "warmup", ""); });
  row("Minimum timed duration", [&](const StudyResults& s) { return setting(s, "min_time_s", " s"); });
  row("Power meter", [](const StudyResults& s) {
    std::vector<std::string> meters;
    for (const auto& r : s.runs)
      if (r.energy && std::find(meters.begin(), meters.end(), r.energy->meter) == meters.end())
        meters.push_back(r.energy->meter);
    return meters.empty() ? std::string("none: energy not measured") : join(meters);
  });
  row("Energy window (minimum setting)",
      [&](const StudyResults& s) { return setting(s, "energy_min_time_s", " s"); });
  row("Energy windows measured", [](const StudyResults& s) {
    double lo = INFINITY, hi = 0;
    for (const auto& r : s.runs)
      if (r.energy && r.energy->window_s) {
        lo = std::min(lo, *r.energy->window_s);
        hi = std::max(hi, *r.energy->window_s);
      }
    if (hi == 0) return std::string("–");
    return lo == hi ? measure(lo) + " s" : measure(lo) + " to " + measure(hi) + " s";
  });
  row("Idle power measured for", [&](const StudyResults& s) { return setting(s, "idle_s", " s"); });
  row("Other settings", [](const StudyResults& s) {
    std::vector<std::string> items;
    static const std::set<std::string> shown = {"warmup", "min_time_s", "energy_min_time_s",
                                                "idle_s"};
    if (s.settings.is_object())
      for (const auto& [key, value] : s.settings.items())
        if (!shown.count(key)) items.push_back(key + "=" + compact(value));
    return join(items, "; ");
  });
  return t;
}

Table library_table(const std::vector<StudyResults>& studies) {
  Table t;
  t.header.push_back("Library");
  for (const auto& s : studies) t.header.push_back(s.device.label);
  std::set<std::string> names;
  for (const auto& s : studies)
    for (const auto& [name, version] : s.libraries) names.insert(name);
  for (const auto& name : names) {
    std::vector<std::string> r{name};
    for (const auto& s : studies) {
      auto it = s.libraries.find(name);
      r.push_back(it == s.libraries.end() ? "–" : it->second);
    }
    t.rows.push_back(std::move(r));
  }
  return t;
}

Table runs_table(const std::vector<StudyResults>& studies) {
  Table t;
  t.header = {"Device",    "Model",        "Backend", "Threads", "Batch",  "Iterations",
              "Median ms", "Min ms",       "p90 ms",  "p99 ms",  "Std ms", "Validation",
              "Rel. L2 error", "Status",   "Reason"};
  for (const auto& s : studies) {
    for (const auto& r : s.runs) {
      const auto& l = r.latency_ms;
      t.rows.push_back({s.device.label, model_name(r.model), r.backend, std::to_string(r.threads),
                        std::to_string(r.batch),
                        r.iterations ? std::to_string(*r.iterations) : "–",
                        l ? measure(l->median) : "–", l ? measure(l->min) : "–",
                        l ? measure(l->p90) : "–", l ? measure(l->p99) : "–",
                        l ? measure(l->stddev) : "–", passed(r.validation_passed),
                        scientific(r.rel_l2_error), to_string(r.status), r.reason});
    }
  }
  return t;
}

Table energy_table(const std::vector<StudyResults>& studies) {
  Table t;
  t.header = {"Device", "Model", "Backend", "Threads", "Meter", "Window s", "Inferences",
              "Avg W", "Idle W", "mJ / inference", "Net mJ / inference", "Rails (W)"};
  for (const auto& s : studies) {
    for (const auto& r : s.runs) {
      if (!r.energy) continue;
      const auto& e = *r.energy;
      std::vector<std::string> rails;
      for (const auto& rail : e.rails) rails.push_back(rail.name + " " + measure(rail.avg_power_w));
      t.rows.push_back({s.device.label, model_name(r.model), r.backend, std::to_string(r.threads),
                        e.meter, measure(e.window_s),
                        e.inferences ? std::to_string(*e.inferences) : "–", measure(e.avg_power_w),
                        measure(e.idle_power_w), measure(e.mj_per_inference),
                        measure(e.net_mj_per_inference), join(rails)});
    }
  }
  return t;
}

Table gemm_table(const std::vector<StudyResults>& studies) {
  Table t;
  t.header = {"Device", "Provider", "M", "N", "K", "Threads", "GFLOPS",
              "GFLOPS incl. transfer", "Validation", "Status", "Reason"};
  for (const auto& s : studies)
    for (const auto& g : s.gemm)
      t.rows.push_back({s.device.label, g.provider, std::to_string(g.m), std::to_string(g.n),
                        std::to_string(g.k), std::to_string(g.threads), measure(g.gflops),
                        measure(g.gflops_with_transfer), passed(g.validation_passed),
                        to_string(g.status), g.reason});
  return t;
}

struct NamedFigure {
  const char* file;
  const char* caption;
  svg::Figure figure;
};

std::vector<NamedFigure> all_figures(const std::vector<StudyResults>& studies) {
  return {
      {"figures/gemm_gflops.svg",
       "SGEMM throughput (GFLOPS) against the size of square matrices, per provider; the size "
       "axis is log2-scaled. Dashed lines include the copies to and from an accelerator.",
       gemm_figure(studies)},
      {"figures/latency.svg",
       "Median time per inference per backend and model, each backend at its fastest thread "
       "count. An empty slot marked failed or invalid is a run that is not ranked.",
       latency_figure(studies)},
      {"figures/energy.svg",
       "Energy per inference per backend and model, each backend at its most energy-efficient "
       "thread count.",
       energy_figure(studies)},
      {"figures/power.svg",
       "Average power while running each backend and model (the rows of the energy figure), "
       "stacked by the rails the meter reports where it reports several.",
       power_figure(studies)},
  };
}

void write_atomically(const std::filesystem::path& path, const std::string& content) {
  std::filesystem::path temporary = path;
  temporary += ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) throw Error("cannot write " + temporary.string());
    out << content;
    out.flush();
    if (!out) throw Error("cannot write " + temporary.string() + " (disk full?)");
  }
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  if (error) throw Error("cannot write " + path.string() + ": " + error.message());
}

}  // namespace

Document build_report(const std::vector<StudyResults>& input, const ReportOptions& options) {
  if (input.empty()) throw Error("no study results to report on");
  const std::vector<StudyResults> studies = with_unique_labels(input);
  const auto entries = compute_table2(studies, options.baseline);
  const auto per_threads = rank_at_equal_threads(studies, options.baseline);

  std::vector<std::string> devices;
  for (const auto& s : studies) devices.push_back(s.device.label);

  Document doc;
  doc.title = "libscout report: which library to use on " + join(devices);
  auto& b = doc.blocks;
  b.push_back(Paragraph{"Every speed-up and energy ratio below is measured against the baseline " +
                        options.baseline +
                        " (the paper's Caffe with OpenBLAS) on the same device; a ratio above "
                        "1.00x means better than the baseline."});

  b.push_back(Heading{2, "Recommendations"});
  BulletList recommendations;
  for (const auto& e : entries) recommendations.items.push_back(e.recommendation);
  b.push_back(recommendations);

  b.push_back(Heading{2, "Table 2: the best backend against " + options.baseline});
  b.push_back(paper_table(entries, options.baseline));
  b.push_back(Paragraph{
      "Only runs with status ok whose output passed validation are ranked. Each backend is "
      "represented by its best run across the thread counts measured (fastest median time per "
      "inference for speed, lowest energy per inference for energy), and so is the baseline; the "
      "thread count of each is stated. Speed-up = baseline time / backend time; energy "
      "efficiency = baseline energy / backend energy (energy per inference as measured, idle "
      "power included)."});
  b.push_back(Heading{3, "Table 2 in detail"});
  b.push_back(detail_table(entries, false));
  b.push_back(Heading{3, "At equal thread counts"});
  b.push_back(Paragraph{"The same comparison with every backend and the baseline at one thread "
                        "count at a time."});
  b.push_back(detail_table(per_threads, true));

  b.push_back(Heading{2, "Runs not ranked"});
  const auto unranked = unranked_rows(studies);
  if (unranked.empty()) {
    b.push_back(Paragraph{"Every run and every SGEMM measurement ran and passed validation."});
  } else {
    b.push_back(Paragraph{"These measurements failed or did not pass validation; they appear in "
                          "no ranking."});
    Table t;
    t.header = {"Device", "Measurement", "Status", "Reason"};
    for (const auto& u : unranked) t.rows.push_back({u.device, u.what, u.status, u.reason});
    b.push_back(t);
  }

  // Timings taken while other work kept the CPUs busy are ranked like the others, but said so.
  Table busy;
  busy.header = {"Device", "Measurement", "Other work (cores busy)", "ms / inference"};
  for (const auto& s : studies) {
    for (const RunRow& r : s.runs) {
      if (!r.rankable() || !r.measured_on_busy_machine()) continue;
      char cores[32], ms[32];
      std::snprintf(cores, sizeof cores, "%.1f", *r.busy_cores_at_start);
      std::snprintf(ms, sizeof ms, "%.3g", r.ms_per_inference().value_or(0));
      busy.rows.push_back({s.device.label, r.model + " on " + r.backend + ", " +
                                                std::to_string(r.threads) + " thread" +
                                                (r.threads == 1 ? "" : "s"),
                           cores, ms});
    }
  }
  if (!busy.rows.empty()) {
    b.push_back(Heading{3, "Measured on a busy machine"});
    b.push_back(Paragraph{"Other work kept half a core or more busy when these runs started: "
                          "their timings are slower and noisier than the device can do (thread "
                          "pools that spin suffer most), and a ranking that rests on them is "
                          "doubtful. Measure again on an idle machine."});
    b.push_back(busy);
  }

  std::vector<std::string> warnings;
  for (const auto& s : studies)
    for (const auto& w : s.warnings) warnings.push_back(s.source + ": " + w);
  if (!warnings.empty()) {
    b.push_back(Heading{3, "Results not read"});
    b.push_back(Paragraph{"These files or rows could not be read; the report leaves them out."});
    b.push_back(BulletList{warnings});
  }

  b.push_back(Heading{2, "Figures"});
  int number = 1;
  for (auto& f : all_figures(studies)) {
    const std::string caption = "Figure " + std::to_string(number++) + ". " + f.caption;
    b.push_back(FigureBlock{f.file, caption, svg::render_svg(f.figure)});
  }

  b.push_back(Heading{2, "Method"});
  b.push_back(Paragraph{
      "Time is the median of the timed iterations of each run, after the warm-up runs, divided "
      "by the batch size. Energy per inference is the meter's energy over the measuring window "
      "divided by the inferences completed in it; the net figure subtracts the idle power "
      "measured before the run. Each run's output is compared with the reference backend; the "
      "relative L2 error of every run is listed below."});
  b.push_back(Heading{3, "Devices and settings"});
  b.push_back(device_table(studies));
  b.push_back(Heading{3, "Library versions"});
  b.push_back(library_table(studies));
  b.push_back(Heading{3, "Every model run"});
  b.push_back(runs_table(studies));
  b.push_back(Heading{3, "Energy measurements"});
  bool any_energy = false;
  for (const auto& s : studies) any_energy |= s.has_energy();
  if (any_energy) {
    b.push_back(energy_table(studies));
  }
  for (const auto& s : studies)
    if (!s.has_energy())
      b.push_back(Paragraph{"Energy was not measured on " + s.device.label +
                            ": no power meter on this device."});
  b.push_back(Heading{3, "SGEMM measurements"});
  b.push_back(gemm_table(studies));
  return doc;
}

nlohmann::json report_json(const std::vector<StudyResults>& input, const ReportOptions& options) {
  using nlohmann::json;
  if (input.empty()) throw Error("no study results to report on");
  const std::vector<StudyResults> studies = with_unique_labels(input);
  auto optional = [](const std::optional<double>& value) {
    return value ? json(*value) : json(nullptr);
  };
  auto choice = [&](const std::optional<BackendChoice>& c) {
    if (!c) return json(nullptr);
    return json{{"backend", c->backend},
                {"threads", c->threads},
                {"latency_ms", c->ms_per_inference},
                {"energy_j", c->mj_per_inference ? json(*c->mj_per_inference * 1e-3) : json(nullptr)}};
  };
  json devices = json::array(), warnings = json::array();
  for (const auto& s : studies) {
    devices.push_back({{"label", s.device.label},
                       {"source", s.source},
                       {"device", s.device.raw},
                       {"files", s.files},
                       {"energy_measured", s.has_energy()}});
    for (const auto& w : s.warnings) warnings.push_back(s.source + ": " + w);
  }
  json table2 = json::array();
  for (const auto& e : compute_table2(studies, options.baseline)) {
    table2.push_back({{"device", e.device},
                      {"model", e.model},
                      {"energy_measured", e.energy_measured},
                      {"fastest", choice(e.fastest)},
                      {"most_efficient", choice(e.most_efficient)},
                      {"baseline", choice(e.baseline_fastest)},
                      {"baseline_most_efficient", choice(e.baseline_efficient)},
                      {"baseline_missing", e.baseline_missing.empty() ? json(nullptr)
                                                                      : json(e.baseline_missing)},
                      {"speedup", optional(e.fastest_speedup)},
                      {"energy_efficiency", optional(e.fastest_energy_efficiency)},
                      {"most_efficient_speedup", optional(e.efficient_speedup)},
                      {"most_efficient_energy_efficiency", optional(e.efficient_energy_efficiency)},
                      {"recommendation", e.recommendation}});
  }
  json not_ranked = json::array();
  for (const auto& u : unranked_rows(studies))
    not_ranked.push_back(
        {{"device", u.device}, {"what", u.what}, {"status", u.status}, {"reason", u.reason}});
  return {{"schema", kReportSchema}, {"baseline", options.baseline}, {"devices", devices},
          {"table2", table2},        {"not_ranked", not_ranked},      {"warnings", warnings}};
}

ReportFiles write_report(const std::vector<StudyResults>& studies,
                         const std::filesystem::path& out_dir, const ReportOptions& options) {
  if (!options.html && !options.markdown && !options.json)
    throw Error("no report format chosen (html, md or json)");
  std::error_code error;
  std::filesystem::create_directories(options.markdown ? out_dir / "figures" : out_dir, error);
  if (error) throw Error("cannot create " + out_dir.string() + ": " + error.message());

  ReportFiles files;
  if (options.html || options.markdown) {
    const Document doc = build_report(studies, options);
    if (options.markdown) {
      for (const auto& block : doc.blocks) {
        if (const auto* figure = std::get_if<FigureBlock>(&block)) {
          const auto path = out_dir / figure->file;
          write_atomically(path, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + figure->svg);
          files.figures.push_back(path);
        }
      }
      files.markdown = out_dir / "report.md";
      write_atomically(files.markdown, render_markdown(doc));
    }
    if (options.html) {
      files.html = out_dir / "report.html";
      write_atomically(files.html, render_html(doc));
    }
  }
  if (options.json) {
    files.json = out_dir / "report.json";
    write_atomically(files.json, report_json(studies, options).dump(2) + "\n");
  }
  return files;
}

}  // namespace libscout::report
