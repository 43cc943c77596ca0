// Summary statistics of repeated measurements, as quoted in every libscout result.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace libscout {

struct Summary {
  int count = 0;
  double min = 0, median = 0, mean = 0, p90 = 0, p99 = 0, max = 0;
  double stddev = 0;  // sample standard deviation (n - 1)
  double cv() const { return mean > 0 ? stddev / mean : 0; }  // coefficient of variation
};

// Percentiles by linear interpolation between closest ranks. Empty input gives all zeros.
Summary summarize(std::vector<double> samples);

// {"min", "median", "mean", "p90", "p99", "stddev"} as the run schema has them.
nlohmann::json latency_json(const Summary& s);

// A confidence interval of a median, and how it was obtained (the run schema's `ci`).
struct MedianInterval {
  double low = 0, high = 0;
  std::string method;  // "bootstrap-median" or "hierarchical-bootstrap-median"
  double level = 0.95;
  int resamples = 0;
  std::uint64_t seed = 0;
  int clusters = 1;  // groups resampled (rounds); 1 for the plain bootstrap
  nlohmann::json method_json() const;
};

constexpr int kBootstrapResamples = 2000;
constexpr double kIntervalLevel = 0.95;

// Percentile bootstrap of the median of `samples`: `resamples` draws with replacement, seeded.
// One sample gives [x, x]. Throws Error on empty input.
MedianInterval bootstrap_median_interval(const std::vector<double>& samples,
                                         std::uint64_t seed = 1,
                                         int resamples = kBootstrapResamples,
                                         double level = kIntervalLevel);

// Two-stage (hierarchical) percentile bootstrap of the median of the pooled groups: each resample
// draws as many groups as there are, with replacement, then each drawn group's values with
// replacement, and takes the median of everything drawn. Differences between groups (rounds
// measured minutes apart) widen the interval, which a bootstrap of the pooled values would hide.
// One group is the plain bootstrap. Empty groups are ignored; throws Error when all are empty.
MedianInterval hierarchical_bootstrap_median_interval(const std::vector<std::vector<double>>& groups,
                                                      std::uint64_t seed = 1,
                                                      int resamples = kBootstrapResamples,
                                                      double level = kIntervalLevel);

}  // namespace libscout
