// The paper's Table 2 for libscout's results: per device and model, the fastest and the most
// energy-efficient backend, how they compare with a baseline backend (the paper's Caffe+OpenBLAS,
// here `gemm:openblas`), and a recommendation in plain words.
//
// Method: only rows with status "ok" whose output passed validation are ever ranked. Each backend
// is represented by its best row across the thread counts measured (lowest median latency per
// inference for speed, lowest energy per inference for energy), and the thread count of that row
// is stated; the baseline is represented the same way. rank_at_equal_threads() gives the same
// comparison restricted to one thread count at a time.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "report/study_results.h"

namespace libscout::report {

inline constexpr const char* kDefaultBaseline = "gemm:openblas";

// "MobileNet v1" for "mobilenet_v1", "SqueezeNet v1.1" for "squeezenet_v1_1"; others unchanged.
std::string model_display_name(const std::string& model);

// One backend at one thread count, as measured.
struct BackendChoice {
  std::string backend;
  int threads = 0;
  double ms_per_inference = 0;
  std::optional<double> mj_per_inference;  // empty where energy was not measured
};

struct Table2Entry {
  std::string device;
  std::string model;  // the model's id in the results
  std::optional<int> threads;  // set when the comparison was restricted to one thread count
  bool energy_measured = false;  // some ranked row of this device and model has an energy value
  std::optional<BackendChoice> fastest;
  std::optional<BackendChoice> most_efficient;

  std::string baseline;
  std::optional<BackendChoice> baseline_fastest;    // the baseline's fastest row
  std::optional<BackendChoice> baseline_efficient;  // the baseline's lowest-energy row
  std::string baseline_missing;  // why there is no baseline to compare with (empty if there is)

  // Ratios over the baseline (> 1 is better): baseline time / backend time, baseline energy /
  // backend energy. Empty when either side is missing.
  std::optional<double> fastest_speedup;
  std::optional<double> fastest_energy_efficiency;
  std::optional<double> efficient_speedup;
  std::optional<double> efficient_energy_efficiency;

  // "On rpi3, for MobileNet v1, use xnnpack (4 threads): 4.10x faster and 3.20x less energy
  // than gemm:openblas (4 threads)."
  std::string recommendation;
};

// A row that is never ranked, with the reason.
struct UnrankedRow {
  std::string device;
  std::string what;  // "MobileNet v1 on clblast, 4 threads" or "SGEMM 512 on clblast, 1 thread"
  std::string status;
  std::string reason;
};

// One entry per device and model, in the order devices were given and models first appear.
std::vector<Table2Entry> compute_table2(const std::vector<StudyResults>& studies,
                                        const std::string& baseline);

// The same comparison at each thread count separately (device, model, thread count).
std::vector<Table2Entry> rank_at_equal_threads(const std::vector<StudyResults>& studies,
                                               const std::string& baseline);

std::vector<UnrankedRow> unranked_rows(const std::vector<StudyResults>& studies);

// "4.10x" (two decimals, as the paper's Table 2).
std::string format_ratio(double ratio);

}  // namespace libscout::report
