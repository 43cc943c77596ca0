// The plans of `auto` in the report: reading a study's plans[] (docs/json-schemas.md, "Plans of a
// study") and the section that shows each plan: the library of each layer, the time of each
// alternative, and what the mix gained over the fastest single backend in the planner's own
// comparison.
#pragma once

#include <vector>

#include "report/document.h"
#include "report/json_fields.h"
#include "report/study_results.h"

namespace libscout::report {

// One entry of a study's plans[]. Throws Error naming the field when a value has the wrong type.
PlanResult parse_plan(const Fields& f);

// A plan as report.json lists it (docs/json-schemas.md, "plans" of libscout.report/1): what was
// chosen, the gain over the fastest single backend with its interval, and each layer's backend
// and alternatives; `device` is the label of the study it came from.
nlohmann::json plan_report_json(const PlanResult& p, const std::string& device);

// The section "auto: a library per layer"; adds nothing when no study has a plan.
void add_plan_section(std::vector<Block>& blocks, const std::vector<StudyResults>& studies);

}  // namespace libscout::report
