// The report's fixtures and ways to vary them. Every fixture was written by libscout itself
// (tests/data/report/README.md says how): `quick_cpu/results.json` by `libscout study --quick`
// on a 2-core machine, `run_files/` by `libscout run --json` and `libscout gemm --json`. A test
// that needs other numbers (intervals that overlap, a GPU row) edits the parsed document in the
// fields the writer writes, or adds rows made by the writer's own functions.
#pragma once

#include <functional>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "measure/model_benchmark.h"
#include "power/energy.h"
#include "report/study_results.h"
#include "xml_check.h"

namespace libscout::report::testing {

inline nlohmann::json quick_study_json() {
  return nlohmann::json::parse(read_text(fixture("quick_cpu") / "results.json"));
}

// The quick study, after `edit` changed its document.
inline StudyResults quick_study(const std::function<void(nlohmann::json&)>& edit = {}) {
  nlohmann::json document = quick_study_json();
  if (edit) edit(document);
  StudyResults study;
  study.source = "quick_cpu";
  add_document(study, document, "results.json");
  return study;
}

// The document's row for a model and backend at a requested thread count.
inline nlohmann::json& row_of(nlohmann::json& document, const std::string& model,
                              const std::string& backend, int threads_requested) {
  for (auto& row : document["runs"])
    if (row["model"] == model && row["backend"] == backend &&
        row.value("threads_requested", row.value("threads", 0)) == threads_requested)
      return row;
  throw std::runtime_error("no row " + model + " " + backend + " t" + std::to_string(threads_requested));
}

// The ranked rows (status ok, validated) of a model in the document, fastest first.
inline std::vector<nlohmann::json*> ranked_rows(nlohmann::json& document, const std::string& model) {
  std::vector<nlohmann::json*> rows;
  for (auto& row : document["runs"])
    if (row["model"] == model && row["status"] == "ok" && row["latency_ms"].is_object())
      rows.push_back(&row);
  std::sort(rows.begin(), rows.end(), [](const nlohmann::json* a, const nlohmann::json* b) {
    return (*a)["latency_ms"]["median"].get<double>() < (*b)["latency_ms"]["median"].get<double>();
  });
  return rows;
}

// Sets a row's median and its interval (what the study pools over rounds).
inline void set_latency(nlohmann::json& row, double median, double low, double high) {
  row["latency_ms"]["median"] = median;
  row["latency_ms"]["ci_low"] = low;
  row["latency_ms"]["ci_high"] = high;
}

// A row's energy object as `libscout run --energy` writes it (power::to_json).
inline nlohmann::json energy_json(const std::string& meter, const std::string& covers,
                                  double mj_per_inference) {
  power::EnergyReport report;
  report.meter = meter;
  report.covers = covers;
  report.window_s = 2;
  report.runs = report.inferences = 100;
  report.mj_per_inference = mj_per_inference;
  report.energy_j = mj_per_inference * 100 * 1e-3;
  report.avg_power_w = report.energy_j / report.window_s;
  report.idle_power_w = report.avg_power_w / 2;
  report.net_mj_per_inference = mj_per_inference / 2;
  report.rails.push_back({"package-0", true, report.avg_power_w, report.energy_j,
                          report.idle_power_w, mj_per_inference, report.net_mj_per_inference});
  return power::to_json(report);
}

// A validated GPU result as `libscout run --json` writes it (result_json), for a GPU backend.
inline nlohmann::json gpu_row(const std::string& model, const std::string& backend, int batch,
                              double median_ms) {
  BenchmarkResult r;
  r.model = model;
  r.backend = backend;
  r.device = "gpu";
  r.batch = batch;
  r.warmup = 3;
  r.iterations = 50;
  r.validation.passed = true;
  r.validation.tolerance = 1e-4;
  r.latency_ms.count = 50;
  r.latency_ms.min = r.latency_ms.median = r.latency_ms.mean = r.latency_ms.p90 =
      r.latency_ms.p99 = median_ms;
  r.device_ms = r.latency_ms;
  r.latency_ci.low = median_ms * 0.98;
  r.latency_ci.high = median_ms * 1.02;
  r.latency_ci.method = "bootstrap-median";
  r.backends_used = {backend};
  r.library_version = "9.19.0";
  nlohmann::json row = result_json(r);
  row["status"] = "ok";
  row["reason"] = "";
  return row;
}

}  // namespace libscout::report::testing
