// The study's settings, shared by its planning (plan.cpp), its run (study.cpp) and its results
// (results_file.cpp, pooling.cpp). Internal to src/study/.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "study/study.h"

namespace libscout::study {

// Stands for the study's reference cache folder in a step's arguments (made absolute at run time).
inline constexpr const char* kReferenceDirArg = "@reference-cache@";
// The per-layer plan's backend name (libscout run --backend auto).
inline constexpr const char* kAutoBackend = "auto";
// The environment of plan steps and `auto` rows: an idle OpenMP runtime sleeps (libgomp reads it
// when it loads, so it is set for the child, not by it).
inline constexpr const char* kPassiveWaitPolicy = "OMP_WAIT_POLICY=PASSIVE";
// Other work keeping this many cores busy makes a measurement "busy" (as `libscout run` warns).
inline constexpr double kBusyThresholdCores = 0.5;
// A row slower than both of these in round 1 is not measured again (one round ranks it).
inline constexpr double kSlowRowMs = 1000;
inline constexpr double kSlowRowFactor = 10;

// Measurement settings of every child, per round.
struct Timing {
  int rounds = 1;
  double min_time_s = 0.4;
  int min_iterations = 3;
  int warmup = 1;
  double energy_window_s = 1, idle_s = 1, cooldown_s = 1;
  std::string gemm_sizes;
  double gemm_min_time_s = 0.3, gemm_max_call_s = 1;
  double run_timeout_s = 300, gemm_timeout_s = 600;
  double quiet_wait_s = 5;  // the longest wait for a quiet machine before one step
  int plan_repeats = 5, plan_rounds = 3;  // libscout plan --repeats, --rounds
};

Timing timing_for(const StudyOptions& o);
std::vector<int> thread_counts(const StudyOptions& o);
// The study's `config` and `method` objects (docs/json-schemas.md).
nlohmann::json config_json(const StudyOptions& o);
nlohmann::json method_json(const StudyOptions& o);

}  // namespace libscout::study
