// The interval of a median, and pooling a study row's rounds (src/measure/stats.h,
// src/study/pooling.h).
#include <gtest/gtest.h>

#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "measure/stats.h"
#include "study/pooling.h"

namespace libscout {
namespace {

using nlohmann::json;

std::vector<double> around(double centre, int n) {
  std::vector<double> v;
  for (int i = 0; i < n; ++i) v.push_back(centre + 0.01 * (i % 7));
  return v;
}

TEST(MedianInterval, ConstantSamplesGiveAPointAndEmptyInputIsAnError) {
  const MedianInterval ci = bootstrap_median_interval({5, 5, 5, 5});
  EXPECT_DOUBLE_EQ(ci.low, 5);
  EXPECT_DOUBLE_EQ(ci.high, 5);
  EXPECT_EQ(ci.method, "bootstrap-median");
  EXPECT_THROW(bootstrap_median_interval({}), Error);
  EXPECT_THROW(hierarchical_bootstrap_median_interval({{}, {}}), Error);
}

TEST(MedianInterval, IsReproducibleForOneSeed) {
  const std::vector<double> v = {3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5};
  const MedianInterval a = bootstrap_median_interval(v, 7), b = bootstrap_median_interval(v, 7);
  EXPECT_DOUBLE_EQ(a.low, b.low);
  EXPECT_DOUBLE_EQ(a.high, b.high);
  EXPECT_LE(a.low, 5.0);
  EXPECT_GE(a.high, 3.0);
}

// Two rounds at 100 ms and one at 400 ms: the pooled values' own bootstrap sees 60 values with
// a clear median near 100 and a tight interval there, as if the slow round had not happened;
// resampling the rounds first gives an interval that reaches both speeds.
TEST(MedianInterval, RoundsThatDisagreeWidenTheHierarchicalInterval) {
  const std::vector<std::vector<double>> rounds = {around(100, 20), around(400, 20),
                                                   around(100, 20)};
  const MedianInterval h = hierarchical_bootstrap_median_interval(rounds, 1);
  EXPECT_EQ(h.method, "hierarchical-bootstrap-median");
  EXPECT_EQ(h.clusters, 3);
  EXPECT_LE(h.low, 100.1);
  EXPECT_GE(h.high, 400.0);
  std::vector<double> pooled;
  for (const auto& r : rounds) pooled.insert(pooled.end(), r.begin(), r.end());
  const MedianInterval flat = bootstrap_median_interval(pooled, 1);
  EXPECT_LT(flat.high, 400.0) << "the test no longer tells the two methods apart";
}

json result(double median_ms, double mj, bool passed = true) {
  return {{"model", "m"},
          {"backend", "b"},
          {"threads", 1},
          {"threads_source", "library"},
          {"iterations", 3},
          {"samples_ms", {median_ms - 1, median_ms, median_ms + 1}},
          {"latency_ms", {{"median", median_ms}}},
          {"busy_cores_at_start", 0.1},
          {"validation", {{"passed", passed}, {"rel_l2_error", passed ? 1e-7 : 0.5}}},
          {"energy", {{"mj_per_inference", mj}, {"window_s", 1.0}, {"meter", "rapl"}}}};
}

TEST(Pooling, PoolsRoundsAndKeepsTheWorstStatus) {
  json row = {{"step", "run/m/b/t1"}, {"model", "m"}, {"backend", "b"}, {"threads", 1}};
  study::add_round(row, study::round_entry(1, "run/m/b/t1/r1", "ok", "", result(10, 5)),
                   result(10, 5), 1);
  study::add_round(row, study::round_entry(2, "run/m/b/t1/r2", "ok", "", result(20, 7)),
                   result(20, 7), 1);
  EXPECT_EQ(row["status"], "ok");
  EXPECT_EQ(row["rounds_ok"], 2);
  EXPECT_EQ(row["iterations"], 6);
  EXPECT_LE(row["latency_ms"]["ci_low"].get<double>(), 10.0);
  EXPECT_GE(row["latency_ms"]["ci_high"].get<double>(), 20.0);
  EXPECT_DOUBLE_EQ(row["energy"]["mj_per_inference"].get<double>(), 6.0);  // median of 5 and 7
  EXPECT_DOUBLE_EQ(row["energy"]["window_s"].get<double>(), 2.0);         // the windows' sum
  EXPECT_EQ(row["energy"]["rounds"], 2);
  EXPECT_FALSE(row.contains("samples_ms"));
  EXPECT_FALSE(row["busy"].get<bool>());

  // A third round whose output differs from the reference makes the row invalid.
  study::add_round(row, study::round_entry(3, "run/m/b/t1/r3", "invalid", "differs",
                                           result(30, 9, false)),
                   result(30, 9, false), 1);
  EXPECT_EQ(row["status"], "invalid");
  EXPECT_NE(row["reason"].get<std::string>().find("round 3"), std::string::npos);
  EXPECT_FALSE(row["validation"]["passed"].get<bool>());
  EXPECT_TRUE(row["latency_ms"].is_null());
}

TEST(Pooling, ARemeasuredRoundReplacesTheBusyOne) {
  json busy = result(50, 5);
  busy["busy_cores_at_start"] = 1.5;
  json row = {{"step", "run/m/b/t1"}};
  study::add_round(row, study::round_entry(1, "run/m/b/t1/r1", "ok", "", busy), busy, 1);
  EXPECT_TRUE(row["busy"].get<bool>());
  EXPECT_TRUE(study::round_was_busy(row["rounds"][0]));
  study::add_round(row, study::round_entry(1, "run/m/b/t1/r1#2", "ok", "", result(10, 5)),
                   result(10, 5), 1);
  ASSERT_EQ(row["rounds"].size(), 1u);
  EXPECT_TRUE(row["rounds"][0]["remeasured"].get<bool>());
  EXPECT_EQ(row["rounds"][0]["replaced"]["step"], "run/m/b/t1/r1");
  EXPECT_FALSE(row["busy"].get<bool>());
  EXPECT_DOUBLE_EQ(row["latency_ms"]["median"].get<double>(), 10.0);
}

}  // namespace
}  // namespace libscout
