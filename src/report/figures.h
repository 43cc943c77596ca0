// The report's figures, built from study results. Time, energy and throughput are sorted
// horizontal bars on a log axis, one panel per device and model, the value printed and the
// confidence interval drawn; a backend with no validated run is a row that says "failed: ..." or
// "invalid: ...", never a zero bar; a row whose meter cannot see the device that did the work says
// "no energy figure: ...". Bars show each backend's best row across thread counts (the one Table 2
// ranks).
//  - gemm_figure: SGEMM GFLOPS vs matrix size per provider (the paper's Fig. 3), one small panel
//    per device and thread count;
//  - latency_figure: median time per inference at batch 1 (Fig. 5, time);
//  - throughput_figure: images per second, CPU and GPU rows side by side (only when some row ran
//    at a batch above 1);
//  - energy_figure: energy per inference (Fig. 5, energy);
//  - power_figure: average power per backend, stacked by rail (Fig. 4).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "report/study_results.h"
#include "report/svg_plot.h"

namespace libscout::report {

inline constexpr const char* kNoMeterMessage = "no power meter on this device";

svg::Figure gemm_figure(const std::vector<StudyResults>& studies);
svg::Figure latency_figure(const std::vector<StudyResults>& studies);
std::optional<svg::Figure> throughput_figure(const std::vector<StudyResults>& studies);
svg::Figure energy_figure(const std::vector<StudyResults>& studies);
svg::Figure power_figure(const std::vector<StudyResults>& studies);

}  // namespace libscout::report
