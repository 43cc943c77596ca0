// Summary statistics of repeated measurements, as quoted in every libscout result.
#pragma once

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

}  // namespace libscout
