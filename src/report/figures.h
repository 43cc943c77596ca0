// The report's figures, built from study results (one panel per device, side by side):
//  - gemm_figure: SGEMM GFLOPS vs matrix size per provider (the paper's Fig. 3), log2 size axis;
//  - latency_figure: median time per inference per backend and model (Fig. 5, time);
//  - energy_figure: energy per inference per backend and model (Fig. 5, energy);
//  - power_figure: average power per backend and model, stacked by rail (Fig. 4).
// Bars show each backend's best row across thread counts (the one Table 2 ranks); a backend whose
// rows all failed or were invalid leaves its slot empty with "failed"/"invalid" written in it. A
// device without a power meter gets a panel saying so, never zero bars.
#pragma once

#include <string>
#include <vector>

#include "report/study_results.h"
#include "report/svg_plot.h"

namespace libscout::report {

inline constexpr const char* kNoMeterMessage = "no power meter on this device";

svg::Figure gemm_figure(const std::vector<StudyResults>& studies);
svg::Figure latency_figure(const std::vector<StudyResults>& studies);
svg::Figure energy_figure(const std::vector<StudyResults>& studies);
svg::Figure power_figure(const std::vector<StudyResults>& studies);

}  // namespace libscout::report
