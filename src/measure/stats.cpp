#include "measure/stats.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace libscout {

namespace {

double percentile(const std::vector<double>& sorted, double q) {
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - static_cast<double>(lo));
}

}  // namespace

Summary summarize(std::vector<double> samples) {
  Summary s;
  if (samples.empty()) return s;
  std::sort(samples.begin(), samples.end());
  s.count = static_cast<int>(samples.size());
  s.min = samples.front();
  s.max = samples.back();
  s.median = percentile(samples, 0.5);
  s.p90 = percentile(samples, 0.9);
  s.p99 = percentile(samples, 0.99);
  s.mean = std::accumulate(samples.begin(), samples.end(), 0.0) / s.count;
  if (s.count > 1) {
    double sq = 0;
    for (double v : samples) sq += (v - s.mean) * (v - s.mean);
    s.stddev = std::sqrt(sq / (s.count - 1));
  }
  return s;
}

nlohmann::json latency_json(const Summary& s) {
  return {{"min", s.min},   {"median", s.median}, {"mean", s.mean},
          {"p90", s.p90},   {"p99", s.p99},       {"stddev", s.stddev}};
}

}  // namespace libscout
