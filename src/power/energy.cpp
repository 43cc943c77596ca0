#include "power/energy.h"

#include <chrono>
#include <cstdio>
#include <thread>

#include "core/error.h"

namespace libscout::power {

namespace {

void sleep_seconds(double seconds) {
  if (seconds > 0) std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
}

nlohmann::json optional_number(const std::optional<double>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

// A started meter window that is stopped (and its result dropped) if the code between start and
// stop throws, so that the meter can be started again.
class Window {
 public:
  explicit Window(Meter& meter) : meter_(meter) { meter_.start(); }
  ~Window() {
    if (open_) {
      try {
        meter_.stop();
      } catch (...) {
      }
    }
  }
  Measurement stop() {
    open_ = false;
    return meter_.stop();
  }

 private:
  Meter& meter_;
  bool open_ = true;
};

}  // namespace

EnergyReport measure_energy(Meter& meter, const std::function<void()>& run_once,
                            const EnergyOptions& options) {
  if (!measures_energy(meter)) {
    throw Error("the meter \"" + meter.name() + "\" measures no energy: " + meter.description());
  }
  if (!(options.min_window_s > 0)) throw Error("the energy window must be longer than 0 s");
  if (options.idle_s < 0 || options.cooldown_s < 0) {
    throw Error("the idle and cool-down times must not be negative");
  }
  if (options.inferences_per_run < 1) throw Error("inferences per run must be at least 1");
  sleep_seconds(options.cooldown_s);

  std::optional<Measurement> idle;
  if (options.idle_s > 0) {
    Window window(meter);
    sleep_seconds(options.idle_s);
    idle = window.stop();
  }

  long runs = 0;
  Window open(meter);
  auto begin = std::chrono::steady_clock::now();
  auto minimum = std::chrono::duration<double>(options.min_window_s);
  do {
    run_once();
    ++runs;
  } while (std::chrono::steady_clock::now() - begin < minimum);
  Measurement window = open.stop();

  EnergyReport report;
  report.meter = meter.name();
  report.meter_description = meter.description();
  report.covers = coverage_name(meter.covers());
  report.window_s = window.duration_s;
  report.runs = runs;
  report.inferences = runs * options.inferences_per_run;
  const double per = 1e3 / static_cast<double>(report.inferences);  // J in the window -> mJ each
  report.energy_j = window.energy_j;
  report.avg_power_w = window.avg_power_w;
  report.mj_per_inference = window.energy_j * per;
  report.samples = window.samples.size();
  if (idle) {
    report.idle_power_w = idle->avg_power_w;
    report.net_mj_per_inference = (window.energy_j - idle->avg_power_w * window.duration_s) * per;
  }
  for (size_t r = 0; r < window.rails.size(); ++r) {
    const RailMeasurement& rail = window.rails[r];
    RailEnergyReport out;
    out.name = rail.name;
    out.in_total = rail.in_total;
    out.avg_power_w = rail.avg_power_w;
    out.energy_j = rail.energy_j;
    out.mj_per_inference = rail.energy_j * per;
    if (idle) {
      double idle_w = idle->rails[r].avg_power_w;
      out.idle_power_w = idle_w;
      out.net_mj_per_inference = (rail.energy_j - idle_w * window.duration_s) * per;
    }
    report.rails.push_back(out);
  }
  return report;
}

nlohmann::json to_json(const EnergyReport& report) {
  nlohmann::json rails = nlohmann::json::object();
  for (const RailEnergyReport& rail : report.rails) {
    rails[rail.name] = {{"avg_power_w", rail.avg_power_w},
                        {"energy_j", rail.energy_j},
                        {"mj_per_inference", rail.mj_per_inference},
                        {"idle_power_w", optional_number(rail.idle_power_w)},
                        {"net_mj_per_inference", optional_number(rail.net_mj_per_inference)},
                        {"in_total", rail.in_total}};
  }
  return {{"meter", report.meter},
          {"covers", report.covers},
          {"window_s", report.window_s},
          {"inferences", report.inferences},
          {"energy_j", report.energy_j},
          {"avg_power_w", report.avg_power_w},
          {"idle_power_w", optional_number(report.idle_power_w)},
          {"mj_per_inference", report.mj_per_inference},
          {"net_mj_per_inference", optional_number(report.net_mj_per_inference)},
          {"samples", report.samples},
          {"rails", rails}};
}

std::string summary_line(const EnergyReport& report) {
  char buffer[256];
  std::string line;
  std::snprintf(buffer, sizeof buffer, "energy (%s): %.3f mJ/inference", report.meter.c_str(),
                report.mj_per_inference);
  line += buffer;
  if (report.net_mj_per_inference) {
    std::snprintf(buffer, sizeof buffer, ", net %.3f mJ", *report.net_mj_per_inference);
    line += buffer;
  }
  std::snprintf(buffer, sizeof buffer, "; %.2f W average", report.avg_power_w);
  line += buffer;
  if (report.idle_power_w) {
    std::snprintf(buffer, sizeof buffer, " (idle %.2f W)", *report.idle_power_w);
    line += buffer;
  }
  std::snprintf(buffer, sizeof buffer, " over %.2f s, %ld inferences", report.window_s,
                report.inferences);
  line += buffer;
  std::string rails;
  for (const RailEnergyReport& rail : report.rails) {
    std::snprintf(buffer, sizeof buffer, "%s%s %.2f W", rails.empty() ? "" : ", ",
                  rail.name.c_str(), rail.avg_power_w);
    rails += buffer;
  }
  if (!rails.empty()) line += "; rails: " + rails;
  return line;
}

EngineHook energy_hook(Meter& meter, const EnergyOptions& options, EnergyOutcome* outcome) {
  return [&meter, options, outcome](Engine& engine, BenchmarkResult& result) {
    EnergyOutcome found;
    if (measures_energy(meter) && !sees_device(meter.covers(), result.device)) {
      found.error = "meter " + meter.name() + " measures the " + coverage_name(meter.covers()) +
                    " only and this run used the " + result.device + ": no energy figure";
      result.extra["energy"] = nullptr;
      result.extra["energy_error"] = found.error;
      if (outcome != nullptr) *outcome = std::move(found);
      return;
    }
    try {
      EnergyOptions with_batch = options;
      with_batch.inferences_per_run = std::max(1, result.batch);
      found.report = measure_energy(meter, [&engine] { engine.run(); }, with_batch);
      result.extra["energy"] = to_json(*found.report);
    } catch (const Error& e) {
      found.error = e.what();
      result.extra["energy"] = nullptr;
      result.extra["energy_error"] = found.error;
    }
    if (outcome != nullptr) *outcome = std::move(found);
  };
}

}  // namespace libscout::power
