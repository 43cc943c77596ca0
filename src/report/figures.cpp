#include "report/figures.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "report/table2.h"

namespace libscout::report {

namespace {

template <typename T>
void add_unique(std::vector<T>& list, const T& value) {
  if (std::find(list.begin(), list.end(), value) == list.end()) list.push_back(value);
}

svg::Figure new_figure(std::string title, std::size_t panels) {
  svg::Figure figure;
  figure.title = std::move(title);
  figure.panel_width = panels <= 1 ? 640 : 460;
  figure.panel_height = 360;
  return figure;
}

// Models and backends in the order they first appear over all devices, so that every panel
// lists them alike.
std::vector<std::string> all_models(const std::vector<StudyResults>& studies) {
  std::vector<std::string> models;
  for (const auto& s : studies)
    for (const auto& run : s.runs) add_unique(models, run.model);
  return models;
}

std::vector<std::string> backends_of(const StudyResults& study) {
  std::vector<std::string> backends;
  for (const auto& run : study.runs) add_unique(backends, run.backend);
  return backends;
}

// The row a bar shows: the backend's best rankable row for the model, by `better`.
template <typename Better>
const RunRow* best_row(const StudyResults& study, const std::string& model,
                       const std::string& backend, Better better) {
  const RunRow* winner = nullptr;
  for (const auto& run : study.runs) {
    if (run.model != model || run.backend != backend || !run.rankable()) continue;
    if (!winner || better(run, *winner)) winner = &run;
  }
  return winner;
}

bool less_time(const RunRow& a, const RunRow& b) {
  return *a.ms_per_inference() < *b.ms_per_inference();
}

double energy_of(const RunRow& row) {
  return row.energy && row.energy->mj_per_inference ? *row.energy->mj_per_inference : INFINITY;
}

bool less_energy(const RunRow& a, const RunRow& b) { return energy_of(a) < energy_of(b); }

// What to write in an empty bar slot: the status of the backend's rows for this model.
std::string missing_note(const StudyResults& study, const std::string& model,
                         const std::string& backend) {
  std::string note;
  for (const auto& run : study.runs) {
    if (run.model != model || run.backend != backend) continue;
    if (run.status == RowStatus::failed || run.status == RowStatus::crashed) return "failed";
    note = run.status == RowStatus::ok ? "not validated" : to_string(run.status);
  }
  return note;
}

// A grouped bar chart of one value per backend and model on one device.
template <typename Better, typename Value>
svg::GroupedBarChart bars_per_backend(const StudyResults& study,
                                      const std::vector<std::string>& models,
                                      const std::string& y_label, Better better, Value value) {
  svg::GroupedBarChart chart;
  chart.title = study.device.label;
  chart.y_label = y_label;
  for (const auto& model : models) chart.groups.push_back(model_display_name(model));
  for (const auto& backend : backends_of(study)) {
    svg::BarSeries series;
    series.name = backend;
    for (const auto& model : models) {
      const RunRow* row = best_row(study, model, backend, better);
      std::optional<double> v = row ? value(*row) : std::nullopt;
      series.values.push_back(v);
      series.notes.push_back(v ? "" : row ? "not measured" : missing_note(study, model, backend));
    }
    chart.series.push_back(std::move(series));
  }
  return chart;
}

}  // namespace

svg::Figure gemm_figure(const std::vector<StudyResults>& studies) {
  auto figure = new_figure("SGEMM throughput vs matrix size", studies.size());
  for (const auto& s : studies) {
    // Thread counts go into the series names only where a provider ran at several on this device.
    bool several_thread_counts = false;
    std::map<std::string, std::set<int>> threads;
    for (const auto& g : s.gemm) threads[g.provider].insert(g.threads);
    for (const auto& [provider, counts] : threads) several_thread_counts |= counts.size() > 1;
    svg::LineChart chart;
    chart.title = s.device.label;
    chart.x_label = "matrix size (M = N = K; log2 scale)";
    chart.y_label = "GFLOPS";
    std::map<std::string, std::size_t> index;
    auto series = [&](const std::string& name, bool dashed) -> svg::LineSeries& {
      auto it = index.find(name);
      if (it == index.end()) {
        it = index.emplace(name, chart.series.size()).first;
        chart.series.push_back({name, {}, dashed});
      }
      return chart.series[it->second];
    };
    for (const auto& g : s.gemm) {
      if (g.status != RowStatus::ok || !g.validation_passed.value_or(false) || !g.gflops) continue;
      const double size = g.m == g.n && g.n == g.k ? g.m : std::cbrt(double(g.m) * g.n * g.k);
      std::string name = g.provider;
      if (several_thread_counts) name += ", " + std::to_string(g.threads) + " thr";
      series(name, false).points.emplace_back(size, *g.gflops);
      if (g.gflops_with_transfer)
        series(name + " incl. transfer", true).points.emplace_back(size, *g.gflops_with_transfer);
    }
    for (auto& line : chart.series) std::sort(line.points.begin(), line.points.end());
    if (chart.series.empty()) {
      figure.panels.push_back(svg::MessagePanel{s.device.label, "no SGEMM measurements"});
    } else {
      figure.panels.push_back(std::move(chart));
    }
  }
  return figure;
}

svg::Figure latency_figure(const std::vector<StudyResults>& studies) {
  auto figure = new_figure("Median time per inference", studies.size());
  const auto models = all_models(studies);
  for (const auto& s : studies) {
    figure.panels.push_back(bars_per_backend(s, models, "ms per inference (lower is better)",
                                             less_time,
                                             [](const RunRow& r) { return r.ms_per_inference(); }));
  }
  return figure;
}

svg::Figure energy_figure(const std::vector<StudyResults>& studies) {
  auto figure = new_figure("Energy per inference", studies.size());
  const auto models = all_models(studies);
  for (const auto& s : studies) {
    if (!s.has_energy()) {
      figure.panels.push_back(svg::MessagePanel{s.device.label, kNoMeterMessage});
      continue;
    }
    figure.panels.push_back(bars_per_backend(
        s, models, "mJ per inference (lower is better)", less_energy,
        [](const RunRow& r) -> std::optional<double> {
          if (!r.energy) return std::nullopt;
          return r.energy->mj_per_inference;
        }));
  }
  return figure;
}

svg::Figure power_figure(const std::vector<StudyResults>& studies) {
  auto figure = new_figure("Average power while running", studies.size());
  const auto models = all_models(studies);
  for (const auto& s : studies) {
    if (!s.has_energy()) {
      figure.panels.push_back(svg::MessagePanel{s.device.label, kNoMeterMessage});
      continue;
    }
    // A meter without rails gives one number per run: bars grouped by model, one colour per
    // backend as in the time and energy figures.
    const bool any_rails = std::any_of(s.runs.begin(), s.runs.end(), [](const RunRow& r) {
      return r.energy && !r.energy->rails.empty();
    });
    if (!any_rails) {
      figure.panels.push_back(bars_per_backend(
          s, models, "average power (W)", less_energy,
          [](const RunRow& r) -> std::optional<double> {
            if (!r.energy) return std::nullopt;
            return r.energy->avg_power_w;
          }));
      continue;
    }
    svg::StackedBarChart chart;
    chart.title = s.device.label;
    chart.y_label = "average power (W)";
    std::vector<const EnergyMeasurement*> measured;
    std::vector<std::string> rails;
    for (const auto& model : models) {
      for (const auto& backend : backends_of(s)) {
        const RunRow* row = best_row(s, model, backend, less_energy);
        if (!row || !row->energy || !row->energy->avg_power_w) continue;
        chart.categories.push_back(backend + " · " + model_display_name(model));
        measured.push_back(&*row->energy);
        for (const auto& rail : row->energy->rails)
          if (rail.avg_power_w) add_unique(rails, rail.name);
      }
    }
    // One layer per rail; power the rails do not account for is shown as its own layer, so a
    // bar's height is always the measured total.
    const std::string rest = rails.empty() ? "total (no rail split)" : "not on a listed rail";
    for (const auto& rail : rails) chart.layers.push_back({rail, {}});
    chart.layers.push_back({rest, {}});
    for (const EnergyMeasurement* e : measured) {
      double on_rails = 0;
      for (std::size_t r = 0; r < rails.size(); ++r) {
        double watts = 0;
        for (const auto& rail : e->rails)
          if (rail.name == rails[r] && rail.avg_power_w) watts = *rail.avg_power_w;
        chart.layers[r].values.push_back(watts);
        on_rails += watts;
      }
      const double remainder = *e->avg_power_w - on_rails;
      chart.layers.back().values.push_back(remainder > 0.005 * *e->avg_power_w ? remainder : 0);
    }
    // Drop the remainder layer when no bar needs it.
    const auto& last = chart.layers.back().values;
    if (std::all_of(last.begin(), last.end(), [](double v) { return v == 0; }))
      chart.layers.pop_back();
    if (chart.categories.empty()) {
      figure.panels.push_back(svg::MessagePanel{s.device.label, "no energy measurements"});
    } else {
      figure.panels.push_back(std::move(chart));
    }
  }
  return figure;
}

}  // namespace libscout::report
