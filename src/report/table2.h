// The paper's Table 2 for libscout's results: per device and model, the fastest and the most
// energy-efficient backend, how they compare with a baseline backend (the paper's Caffe+OpenBLAS,
// here `gemm:openblas`; on a GPU `gemm:cublas` or `cudnn`), and a recommendation in plain words.
//
// Method: only rows with status "ok" whose output passed validation are ever ranked, and only
// energy figures from a meter that can see the device that did the work. Each backend is
// represented by its best row across the thread counts measured (lowest median time per
// inference for speed, lowest energy per inference for energy); the baseline likewise. CPU and
// GPU backends are ranked together at batch 1 (latency); rows at a larger batch are ranked among
// themselves per batch (throughput, images per second).
//
// Uncertainty: a row's median carries a confidence interval (the study's, docs/json-schemas.md).
// A ratio is the ratio of the medians; its interval runs from the ratio of the intervals' near
// ends to that of their far ends (baseline low / backend high to baseline high / backend low), a
// conservative bound. Backends whose intervals overlap the winner's are reported as tied with it
// ("onednn or xnnpack: within noise"), not ranked.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "report/study_results.h"

namespace libscout::report {

inline constexpr const char* kDefaultBaseline = "gemm:openblas";

// "MobileNet v1" for "mobilenet_v1", "SqueezeNet v1.1" for "squeezenet1.1"; others unchanged.
std::string model_display_name(const std::string& model);

// One backend's row, as measured.
struct BackendChoice {
  std::string backend;
  std::string device = "cpu";  // "cpu" or "gpu"
  int threads = 0;             // really used
  int asked_threads = 0;
  int batch = 1;
  double ms_per_inference = 0;
  std::optional<Interval> ms_ci;
  std::optional<double> mj_per_inference;  // empty where no meter could see the work
  std::optional<Interval> mj_ci;
  double images_per_s() const { return ms_per_inference > 0 ? 1000 / ms_per_inference : 0; }
};

// A ratio over the baseline (> 1 is better) with its interval where both sides have one.
struct Ratio {
  double value = 0;
  std::optional<Interval> ci;
};

struct Table2Entry {
  std::string device;
  std::string model;           // the model's id in the results
  std::optional<int> threads;  // set when the comparison was restricted to one thread count
  int batch = 1;               // the batch of every row compared
  bool energy_measured = false;  // some ranked row has an energy figure
  std::string energy_none;       // when none has: why (no meter, or a meter that cannot see it)
  std::optional<BackendChoice> fastest;
  std::vector<BackendChoice> fastest_ties;  // other backends within noise of the fastest
  std::optional<BackendChoice> most_efficient;
  std::vector<BackendChoice> efficient_ties;

  std::string baseline;
  std::optional<BackendChoice> baseline_fastest;    // the baseline's fastest row
  std::optional<BackendChoice> baseline_efficient;  // the baseline's lowest-energy row
  std::string baseline_missing;  // why there is no baseline to compare with (empty if there is)

  std::optional<Ratio> fastest_speedup;
  std::optional<Ratio> fastest_energy_efficiency;
  std::optional<Ratio> efficient_speedup;
  std::optional<Ratio> efficient_energy_efficiency;

  // "xnnpack (2 threads)", or "onednn or xnnpack: within noise" when tied.
  std::string pick;
  // "On rpi3, for MobileNet v1, use xnnpack (4 threads): 4.10x faster (3.90x to 4.30x) and 3.20x
  // less energy than gemm:openblas (4 threads)."
  std::string recommendation;
};

// A row that is never ranked, with the reason.
struct UnrankedRow {
  std::string device;
  std::string what;  // "MobileNet v1 on clblast, 4 threads" or "SGEMM 64, 128 on atlas, 1 thread"
  std::string status;
  std::string reason;
};

// One entry per device and model at batch 1, in the order devices were given and models first
// appear.
std::vector<Table2Entry> compute_table2(const std::vector<StudyResults>& studies,
                                        const std::string& baseline);

// One entry per device, model and batch above 1 (throughput rows, e.g. GPU backends at 64).
std::vector<Table2Entry> compute_throughput(const std::vector<StudyResults>& studies,
                                            const std::string& baseline);

// The batch-1 comparison at each requested thread count separately.
std::vector<Table2Entry> rank_at_equal_threads(const std::vector<StudyResults>& studies,
                                               const std::string& baseline);

// Every measurement that is not ranked, once each (SGEMM sizes of one provider and thread count
// that ended alike are one row).
std::vector<UnrankedRow> unranked_rows(const std::vector<StudyResults>& studies);

// "4.10x" (two decimals, as the paper's Table 2).
std::string format_ratio(double ratio);
// "4.10x (3.90x to 4.30x)", or "4.10x" without an interval.
std::string format_ratio(const Ratio& ratio);
// "2 threads", "1 thread (2 asked)", "GPU", "GPU, batch 64".
std::string run_phrase(const BackendChoice& choice);
std::string thread_phrase(int threads);

}  // namespace libscout::report
