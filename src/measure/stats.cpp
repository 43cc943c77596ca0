#include "measure/stats.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "core/error.h"

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

namespace {

double median_in_place(std::vector<double>& v) {
  const std::size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid), v.end());
  const double upper = v[mid];
  if (v.size() % 2 == 1) return upper;
  return (*std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid)) + upper) / 2;
}

void check_interval_args(int resamples, double level) {
  if (resamples < 1) throw Error("bootstrap: resamples must be >= 1");
  if (!(level > 0 && level < 1)) throw Error("bootstrap: level must be in (0, 1)");
}

}  // namespace

MedianInterval hierarchical_bootstrap_median_interval(
    const std::vector<std::vector<double>>& all_groups, std::uint64_t seed, int resamples,
    double level) {
  check_interval_args(resamples, level);
  std::vector<const std::vector<double>*> groups;
  for (const auto& g : all_groups) {
    if (!g.empty()) groups.push_back(&g);
  }
  if (groups.empty()) throw Error("bootstrap: no samples");
  MedianInterval out;
  out.method = groups.size() > 1 ? "hierarchical-bootstrap-median" : "bootstrap-median";
  out.level = level;
  out.resamples = resamples;
  out.seed = seed;
  out.clusters = static_cast<int>(groups.size());
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<std::size_t> pick_group(0, groups.size() - 1);
  std::vector<double> medians, draw;
  medians.reserve(static_cast<std::size_t>(resamples));
  for (int r = 0; r < resamples; ++r) {
    draw.clear();
    for (std::size_t g = 0; g < groups.size(); ++g) {
      const std::vector<double>& group = *groups[pick_group(rng)];
      std::uniform_int_distribution<std::size_t> pick(0, group.size() - 1);
      for (std::size_t i = 0; i < group.size(); ++i) draw.push_back(group[pick(rng)]);
    }
    medians.push_back(median_in_place(draw));
  }
  std::sort(medians.begin(), medians.end());
  const double tail = (1 - level) / 2;
  out.low = percentile(medians, tail);
  out.high = percentile(medians, 1 - tail);
  return out;
}

MedianInterval bootstrap_median_interval(const std::vector<double>& samples, std::uint64_t seed,
                                         int resamples, double level) {
  return hierarchical_bootstrap_median_interval({samples}, seed, resamples, level);
}

nlohmann::json MedianInterval::method_json() const {
  return {{"method", method}, {"level", level},  {"resamples", resamples},
          {"seed", seed},     {"clusters", clusters}};
}

nlohmann::json latency_json(const Summary& s) {
  return {{"min", s.min},   {"median", s.median}, {"mean", s.mean},
          {"p90", s.p90},   {"p99", s.p99},       {"stddev", s.stddev}};
}

}  // namespace libscout
