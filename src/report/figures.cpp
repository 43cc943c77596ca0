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

// Models and backends in the order they first appear over all devices, so that every panel
// lists them alike.
std::vector<std::string> all_models(const std::vector<StudyResults>& studies) {
  std::vector<std::string> models;
  for (const auto& s : studies)
    for (const auto& run : s.runs) add_unique(models, run.model);
  return models;
}

std::vector<std::string> backends_of(const StudyResults& study, const std::string& model) {
  std::vector<std::string> backends;
  for (const auto& run : study.runs)
    if (run.model == model) add_unique(backends, run.backend);
  return backends;
}

std::string panel_title(const std::vector<StudyResults>& studies, const StudyResults& study,
                        const std::string& what) {
  return studies.size() > 1 ? study.device.label + ": " + what : what;
}

// "xnnpack · 2 thr", "cudnn · GPU · batch 64", with " · busy" for a row timed while other work
// kept the machine busy (unless the panel's title says that all were).
std::string row_label(const RunRow& row, bool mark_busy = true) {
  std::string label = row.backend + " \u00b7 " +
                      (row.device == "gpu" ? std::string("GPU")
                                           : std::to_string(row.threads) + " thr");
  if (row.batch > 1) label += " \u00b7 batch " + std::to_string(row.batch);
  if (mark_busy && row.measured_on_busy_machine()) label += " \u00b7 busy";
  return label;
}

// When every row shown was timed on a busy machine, the panel's title says so once.
bool all_busy(const std::vector<const RunRow*>& rows) {
  return !rows.empty() && std::all_of(rows.begin(), rows.end(), [](const RunRow* r) {
    return r->measured_on_busy_machine();
  });
}

void mark_all_busy(svg::BarChart& chart, const std::vector<const RunRow*>& rows) {
  if (!all_busy(rows)) return;
  chart.title += " (all timed on a busy machine)";
  for (std::size_t i = 0; i < rows.size() && i < chart.rows.size(); ++i)
    chart.rows[i].label = row_label(*rows[i], false);
}

// What a backend with no rankable row for the model shows instead of a bar.
std::string missing_note(const StudyResults& study, const std::string& model,
                         const std::string& backend) {
  std::string note = "not measured";
  for (const auto& run : study.runs) {
    if (run.model != model || run.backend != backend) continue;
    std::string status = to_string(run.status);
    if (run.status == RowStatus::ok) status = "not validated";
    note = status + (run.reason.empty() ? "" : ": " + run.reason);
    if (run.status == RowStatus::failed || run.status == RowStatus::crashed) break;
  }
  return note;
}

// Each backend's best rankable row for the model (by `better`, among rows `fits` accepts).
template <typename Fits, typename Better>
std::vector<const RunRow*> best_rows(const StudyResults& study, const std::string& model,
                                     Fits fits, Better better) {
  std::map<std::string, const RunRow*> best;
  for (const auto& run : study.runs) {
    if (run.model != model || !run.rankable() || !fits(run)) continue;
    auto& slot = best[run.backend];
    if (!slot || better(run, *slot)) slot = &run;
  }
  std::vector<const RunRow*> rows;
  for (const auto& [backend, row] : best) rows.push_back(row);
  std::sort(rows.begin(), rows.end(), [&](const RunRow* a, const RunRow* b) { return better(*a, *b); });
  return rows;
}

bool less_time(const RunRow& a, const RunRow& b) {
  return *a.ms_per_inference() < *b.ms_per_inference();
}

double energy_of(const RunRow& row) {
  return row.energy_figure().mj_per_inference.value_or(INFINITY);
}

bool less_energy(const RunRow& a, const RunRow& b) { return energy_of(a) < energy_of(b); }

svg::BarRow bar(const RunRow& row, double value, std::optional<Interval> ci) {
  svg::BarRow bar_row;
  bar_row.label = row_label(row);
  bar_row.segments.push_back({row.backend, value});
  if (ci) bar_row.interval = std::make_pair(ci->lo, ci->hi);
  return bar_row;
}

// Rows of the backends that have no bar in this panel, with why.
void add_missing(svg::BarChart& chart, const StudyResults& study, const std::string& model,
                 const std::vector<const RunRow*>& shown) {
  for (const auto& backend : backends_of(study, model)) {
    if (std::any_of(shown.begin(), shown.end(),
                    [&](const RunRow* r) { return r->backend == backend; }))
      continue;
    const bool ranked = std::any_of(study.runs.begin(), study.runs.end(), [&](const RunRow& r) {
      return r.model == model && r.backend == backend && r.rankable();
    });
    if (ranked) continue;  // shown in another batch's panel
    svg::BarRow row;
    row.label = backend;
    row.note = missing_note(study, model, backend);
    chart.rows.push_back(row);
  }
}

svg::Figure new_figure(std::string title) {
  svg::Figure figure;
  figure.title = std::move(title);
  return figure;
}

}  // namespace

svg::Figure gemm_figure(const std::vector<StudyResults>& studies) {
  auto figure = new_figure("SGEMM throughput vs matrix size, one panel per thread count");
  for (const auto& s : studies) {
    std::set<int> thread_counts;
    for (const auto& g : s.gemm) thread_counts.insert(g.asked_threads());
    for (int threads : thread_counts) {
      svg::LineChart chart;
      chart.title = panel_title(studies, s, thread_phrase(threads) + " asked");
      chart.x_label = "matrix size M = N = K (log2 scale)";
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
        if (g.asked_threads() != threads || g.status != RowStatus::ok ||
            !g.validation_passed.value_or(false) || !g.gflops)
          continue;
        const double size = g.m == g.n && g.n == g.k ? g.m : std::cbrt(double(g.m) * g.n * g.k);
        std::string name = g.provider;
        if (g.threads != threads) name += " (uses " + thread_phrase(g.threads) + ")";
        series(name, false).points.emplace_back(size, *g.gflops);
        if (g.gflops_with_transfer)
          series(name + " incl. transfer", true).points.emplace_back(size, *g.gflops_with_transfer);
      }
      for (auto& line : chart.series) std::sort(line.points.begin(), line.points.end());
      if (chart.series.empty()) {
        figure.panels.push_back(svg::MessagePanel{chart.title, "no validated SGEMM measurement"});
      } else {
        figure.panels.push_back(std::move(chart));
      }
    }
    if (thread_counts.empty())
      figure.panels.push_back(svg::MessagePanel{s.device.label, "no SGEMM measurements"});
  }
  return figure;
}

svg::Figure latency_figure(const std::vector<StudyResults>& studies) {
  auto figure = new_figure("Median time per inference at batch 1 (lower is better)");
  for (const auto& s : studies) {
    for (const auto& model : all_models(studies)) {
      if (backends_of(s, model).empty()) continue;
      svg::BarChart chart;
      chart.title = panel_title(studies, s, model_display_name(model));
      chart.x_label = "ms per inference";
      chart.unit = "ms";
      const auto rows = best_rows(s, model, [](const RunRow& r) { return r.batch == 1; }, less_time);
      for (const RunRow* r : rows) chart.rows.push_back(bar(*r, *r->ms_per_inference(), r->ms_per_inference_ci()));
      mark_all_busy(chart, rows);
      add_missing(chart, s, model, rows);
      figure.panels.push_back(std::move(chart));
    }
  }
  return figure;
}

std::optional<svg::Figure> throughput_figure(const std::vector<StudyResults>& studies) {
  const bool any_batch = std::any_of(studies.begin(), studies.end(), [](const StudyResults& s) {
    return std::any_of(s.runs.begin(), s.runs.end(), [](const RunRow& r) { return r.batch > 1; });
  });
  if (!any_batch) return std::nullopt;
  auto figure = new_figure("Throughput: images per second, CPU and GPU (higher is better)");
  for (const auto& s : studies) {
    for (const auto& model : all_models(studies)) {
      if (backends_of(s, model).empty()) continue;
      svg::BarChart chart;
      chart.title = panel_title(studies, s, model_display_name(model));
      chart.x_label = "images per second";
      chart.unit = "img/s";
      const auto rows = best_rows(s, model, [](const RunRow&) { return true; }, less_time);
      for (const RunRow* r : rows) {
        std::optional<Interval> ci;
        if (auto ms = r->ms_per_inference_ci(); ms && ms->lo > 0)
          ci = Interval{1000 / ms->hi, 1000 / ms->lo};
        chart.rows.push_back(bar(*r, 1000 / *r->ms_per_inference(), ci));
      }
      mark_all_busy(chart, rows);
      add_missing(chart, s, model, rows);
      figure.panels.push_back(std::move(chart));
    }
  }
  return figure;
}

svg::Figure energy_figure(const std::vector<StudyResults>& studies) {
  auto figure = new_figure("Energy per inference at batch 1 (lower is better)");
  for (const auto& s : studies) {
    if (!s.has_energy()) {
      figure.panels.push_back(svg::MessagePanel{s.device.label, kNoMeterMessage});
      continue;
    }
    for (const auto& model : all_models(studies)) {
      if (backends_of(s, model).empty()) continue;
      svg::BarChart chart;
      chart.title = panel_title(studies, s, model_display_name(model));
      chart.x_label = "mJ per inference";
      chart.unit = "mJ";
      auto batch1 = [](const RunRow& r) { return r.batch == 1; };
      const auto rows = best_rows(s, model, batch1, less_energy);
      std::vector<const RunRow*> shown;
      for (const RunRow* r : rows) {
        const EnergyFigure energy = r->energy_figure();
        if (energy.mj_per_inference) {
          chart.rows.push_back(bar(*r, *energy.mj_per_inference, energy.ci));
        } else {
          svg::BarRow row;
          row.label = row_label(*r);
          row.note = "no energy figure: " + energy.none;
          chart.rows.push_back(row);
        }
        shown.push_back(r);
      }
      // The same reason on several rows is said once, under the chart, in full.
      std::map<std::string, int> notes;
      for (const auto& row : chart.rows)
        if (row.segments.empty()) ++notes[row.note];
      if (notes.size() == 1 && notes.begin()->second > 1) {
        chart.note = notes.begin()->first + ".";
        for (auto& row : chart.rows)
          if (row.segments.empty()) row.note = "no energy figure (below)";
      }
      mark_all_busy(chart, shown);
      add_missing(chart, s, model, shown);
      figure.panels.push_back(std::move(chart));
    }
  }
  return figure;
}

svg::Figure power_figure(const std::vector<StudyResults>& studies) {
  auto figure = new_figure("Average power while running, by rail");
  for (const auto& s : studies) {
    svg::BarChart chart;
    chart.title = s.device.label;
    chart.x_label = "average power (W)";
    chart.unit = "W";
    chart.log_scale = false;
    chart.legend = true;
    for (const auto& model : all_models(studies)) {
      auto batch1 = [](const RunRow& r) { return r.batch == 1; };
      for (const RunRow* r : best_rows(s, model, batch1, less_energy)) {
        if (!r->energy_figure().mj_per_inference || !r->energy->avg_power_w) continue;
        svg::BarRow row;
        row.label = r->backend + " \u00b7 " + model_display_name(model);
        double on_rails = 0;
        for (const auto& rail : r->energy->rails) {
          if (!rail.in_total || !rail.avg_power_w || *rail.avg_power_w <= 0) continue;
          row.segments.push_back({rail.name, *rail.avg_power_w});
          on_rails += *rail.avg_power_w;
        }
        // Power the rails do not account for is its own segment: a bar is always the total.
        const double rest = *r->energy->avg_power_w - on_rails;
        if (rest > 0.005 * *r->energy->avg_power_w)
          row.segments.push_back({row.segments.empty() ? "total (no rail split)"
                                                       : "not on a listed rail",
                                  rest});
        row.value_text = svg::format_value(*r->energy->avg_power_w) + " W";
        chart.rows.push_back(std::move(row));
      }
    }
    if (!s.has_energy()) {
      figure.panels.push_back(svg::MessagePanel{s.device.label, kNoMeterMessage});
    } else if (chart.rows.empty()) {
      figure.panels.push_back(
          svg::MessagePanel{s.device.label, "no energy figure that the meter could see"});
    } else {
      figure.panels.push_back(std::move(chart));
    }
  }
  return figure;
}

}  // namespace libscout::report
