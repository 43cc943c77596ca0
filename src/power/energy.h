// The energy-measurement protocol of `libscout run --energy`:
//   1. an optional cool-down (sleep), for boards that heat up between measurements;
//   2. idle power: the meter measures the device doing nothing for idle_s seconds;
//   3. the window: the meter measures while the prepared, warmed-up engine runs inferences back
//      to back until at least min_window_s seconds have passed (whole inferences only).
// The result gives energy per inference gross (everything the rails drew in the window) and net
// (minus idle power over the window's length), and average power per rail and in total.
// to_json() writes the "energy" object of a run's JSON result (docs/json-schemas.md).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "measure/model_benchmark.h"
#include "power/meter.h"

namespace libscout::power {

struct EnergyOptions {
  double min_window_s = 2.0;  // --energy-min-time: the window repeats inferences at least this long
  double idle_s = 2.0;        // --idle-time: idle power is measured this long first (0: skip)
  double cooldown_s = 0.0;    // --cooldown: sleep before the idle measurement
  int inferences_per_run = 1;  // images one run_once() call infers (the batch size)
};

struct RailEnergyReport {
  std::string name;
  bool in_total = true;
  double avg_power_w = 0;
  double energy_j = 0;
  std::optional<double> idle_power_w;
  double mj_per_inference = 0;
  std::optional<double> net_mj_per_inference;
};

struct EnergyReport {
  std::string meter;
  std::string meter_description;
  std::string covers = "board";  // which device the meter sees: cpu, gpu or board
  double window_s = 0;
  long runs = 0;        // run_once() calls in the window
  long inferences = 0;  // runs * inferences_per_run
  double energy_j = 0;  // the window's energy, over the rails that add into the total
  double avg_power_w = 0;
  std::optional<double> idle_power_w;  // absent when idle_s is 0
  double mj_per_inference = 0;
  std::optional<double> net_mj_per_inference;
  size_t samples = 0;  // power readings in the window (0 for counter meters)
  std::vector<RailEnergyReport> rails;
};

// Runs the protocol. run_once runs one inference (the engine already prepared and warmed up).
// Throws libscout::Error when the meter measures nothing (the "none" meter) or fails.
EnergyReport measure_energy(Meter& meter, const std::function<void()>& run_once,
                            const EnergyOptions& options = {});

// {"meter", "window_s", "inferences", "energy_j", "avg_power_w", "idle_power_w",
//  "mj_per_inference", "net_mj_per_inference", "samples", "rails": {"<rail>": {"avg_power_w",
//  "energy_j", "mj_per_inference", "idle_power_w", "net_mj_per_inference", "in_total"}}}; the
// idle and net figures are null when idle power was not measured.
nlohmann::json to_json(const EnergyReport& report);

// One line for the text output: "energy (rapl): 12.3 mJ/inference, net 8.1 mJ; 24.6 W avg, ...".
std::string summary_line(const EnergyReport& report);

// What energy_hook() found: a report, or why there is none (the "none" meter, a sensor failure).
struct EnergyOutcome {
  std::optional<EnergyReport> report;
  std::string error;
};

// An EngineHook for benchmark_model(): after timing, runs measure_energy() on the prepared engine
// (inferences_per_run set to the batch) and stores to_json(report) in result.extra["energy"], or
// null there and the message in result.extra["energy_error"] when the meter measures nothing or
// fails (the timing result is kept either way). outcome, when given, receives the same.
EngineHook energy_hook(Meter& meter, const EnergyOptions& options,
                       EnergyOutcome* outcome = nullptr);

}  // namespace libscout::power
