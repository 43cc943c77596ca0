// `libscout plan`: a per-layer placement of one model, measured on this device.
//
// For every candidate backend the planner measures each layer twice, interleaved over repeats:
//   - in context: the whole network on that backend (one segment, values in its own layout; the
//     layers it declines on the fallback), each layer timed by the profiler;
//   - alone: every layer its own segment, so each is timed with the conversions to and from NCHW
//     that a boundary around it costs.
// The difference is the layer's boundary cost on that backend, shared between its inputs and its
// output in proportion to their sizes. placement_search then finds the placement of least
// predicted time, conversions included. The prediction is only a model: the planned network, a
// variant that switches backends less, and every single backend are then validated against the
// reference and timed side by side in interleaved rounds, and the fastest is the plan, so a plan
// is never slower than the best single backend beyond the noise of those rounds.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/zoo.h"

namespace libscout::placement {

struct PlanOptions {
  std::string model;
  ModelOptions model_options;
  // Candidate backends; empty: every available CPU backend but the reference and gemm:naive.
  std::vector<std::string> backends;
  int threads = 1;
  double tolerance = 1e-4;  // validation bound (relative L2) of every engine the planner times
  int repeats = 7;          // profiled inferences per backend and layout, interleaved
  int verify_rounds = 5;    // interleaved rounds of the final comparison
  int verify_runs = 3;      // inferences per engine and round
  // A backend whose whole network takes longer than this many times the fastest one is not
  // measured layer by layer (it could not win enough to pay for its conversions).
  double too_slow = 4.0;
  std::function<void(const std::string&)> log;  // progress lines; may be empty
  // Where reference outputs are kept between processes (the study's cache); "" = computed here.
  std::string reference_cache_dir;
};

// One backend's figures for one layer.
struct Alternative {
  std::string backend;
  double in_context_ms = -1;  // < 0: not measured (declined, see `declined`)
  double alone_ms = -1;       // as its own segment, boundary conversions included
  std::string declined;       // why the backend does not run the layer
};

struct PlannedLayer {
  std::string name, op, backend;
  std::vector<Alternative> alternatives;
};

// One engine of the final comparison.
struct Contender {
  std::string name;  // "plan", "plan (fewer switches)" or a backend's name
  double median_ms = 0, ci_low_ms = 0, ci_high_ms = 0;
  int samples = 0;
  double rel_l2_error = 0;
  // The model's figure: a planned mix's cost, a single backend's sum of its layers in context.
  double predicted_ms = -1;
};

struct Plan {
  std::string model, model_sha256, input_shape;
  int batch = 1, threads = 1;
  nlohmann::json device;  // device_json() of the machine it was measured on
  std::map<std::string, std::string> library_versions;  // backend -> version it reports
  std::vector<PlannedLayer> layers;
  std::string chosen;  // "plan" (a mix) or the single backend that was fastest
  std::vector<Contender> contenders;
  std::map<std::string, std::string> not_considered;  // backend -> why
  double planning_s = 0;
};

// Throws Error for a model or option that cannot be planned, and when no candidate backend
// validates.
Plan make_plan(const PlanOptions& opts);

}  // namespace libscout::placement
