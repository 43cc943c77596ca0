// The plan file (libscout.plan/1, docs/json-schemas.md): what `libscout plan` writes and
// `libscout run --backend auto --plan FILE` reads.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/graph.h"
#include "placement/planner.h"

namespace libscout::placement {

nlohmann::json plan_json(const Plan& plan);
// Throws Error naming the file and the field for a plan that is malformed.
Plan plan_from_json(const nlohmann::json& j, const std::string& where);

// Throws Error for a file that cannot be read, is not JSON or is not a plan.
Plan read_plan(const std::string& path);

// The backend of each layer of `g` as the plan places it. Throws Error when the plan was made for
// another model (layer names, count or content differ).
std::vector<std::string> plan_placement(const Plan& plan, const Graph& g);

// What differs between where the plan was measured and where it is used: the CPU, the thread
// count, the input shape, library versions (backend -> version of the libraries loaded now).
std::vector<std::string> plan_warnings(const Plan& plan, const Graph& g, int threads,
                                       const std::map<std::string, std::string>& versions);

}  // namespace libscout::placement
