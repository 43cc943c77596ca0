// Table 2 from a quick study's results: the fastest is the lowest validated median, never a failed
// or invalid row; ratios carry the interval from the intervals' ends; backends whose intervals
// overlap are a tie; energy from a meter that cannot see the device is not ranked; GPU rows are
// ranked beside CPU rows, a GPU backend can be the baseline, and larger batches are throughput.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "fixture_study.h"
#include "report/table2.h"

namespace libscout::report {
namespace {

using nlohmann::json;
using testing::quick_study;

const std::string kModel = "squeezenet1.1";

const Table2Entry& entry_for(const std::vector<Table2Entry>& entries, const std::string& model) {
  for (const auto& e : entries)
    if (e.model == model) return e;
  throw std::runtime_error("no Table 2 entry for " + model);
}

// Gives every ranked row of kModel a slow, distinct time, then `a` and `b` (two backends other
// than the baseline) and the baseline the times given: [median, low, high] each.
struct Times {
  double a[3], b[3], baseline[3];
};
struct Picked {
  std::string a, b;
};
Picked set_times(json& d, const Times& t) {
  auto rows = testing::ranked_rows(d, kModel);
  double slow = 200;
  for (json* row : rows) testing::set_latency(*row, slow, slow - 1, slow + 1), slow += 10;
  Picked picked;
  std::set<std::string> used{kDefaultBaseline};
  for (json* row : rows) {
    const std::string backend = (*row)["backend"];
    if (used.count(backend)) {
      if (backend == kDefaultBaseline) testing::set_latency(*row, t.baseline[0], t.baseline[1], t.baseline[2]);
      continue;
    }
    if (picked.a.empty()) {
      picked.a = backend, testing::set_latency(*row, t.a[0], t.a[1], t.a[2]);
    } else if (picked.b.empty()) {
      picked.b = backend, testing::set_latency(*row, t.b[0], t.b[1], t.b[2]);
    }
    used.insert(backend);
  }
  if (picked.b.empty()) throw std::runtime_error("the fixture has fewer than three backends");
  return picked;
}

TEST(Table2, TheFastestIsTheLowestValidatedMedian) {
  const StudyResults s = quick_study();
  for (const auto& e : compute_table2({s}, kDefaultBaseline)) {
    ASSERT_TRUE(e.fastest) << e.model;
    bool found = false;
    for (const auto& r : s.runs) {
      if (r.model != e.model || r.batch != 1 || !r.rankable()) continue;
      EXPECT_LE(e.fastest->ms_per_inference, *r.ms_per_inference()) << r.backend;
      found |= r.backend == e.fastest->backend && *r.ms_per_inference() == e.fastest->ms_per_inference;
    }
    EXPECT_TRUE(found) << "the fastest is no validated row: " << e.fastest->backend;
  }
}

TEST(Table2, OverlappingIntervalsAreATieNotARanking) {
  Picked picked;
  const StudyResults tied = quick_study([&](json& d) {
    picked = set_times(d, {{10, 9, 11}, {10.5, 9.5, 11.5}, {30, 28, 32}});
  });
  const auto e_entries = compute_table2({tied}, kDefaultBaseline);
  const auto& e = entry_for(e_entries, kModel);
  ASSERT_TRUE(e.fastest);
  EXPECT_EQ(e.fastest->backend, picked.a);
  ASSERT_EQ(e.fastest_ties.size(), 1u);
  EXPECT_EQ(e.fastest_ties[0].backend, picked.b);
  EXPECT_EQ(e.pick, picked.a + " or " + picked.b + ": within noise");
  EXPECT_NE(e.recommendation.find(picked.a + " or " + picked.b + ": within noise"), std::string::npos)
      << e.recommendation;
  // The speed-up: ratio of medians, interval from the intervals' ends.
  ASSERT_TRUE(e.fastest_speedup && e.fastest_speedup->ci);
  EXPECT_DOUBLE_EQ(e.fastest_speedup->value, 3.0);
  EXPECT_DOUBLE_EQ(e.fastest_speedup->ci->lo, 28.0 / 11);
  EXPECT_DOUBLE_EQ(e.fastest_speedup->ci->hi, 32.0 / 9);
  EXPECT_EQ(format_ratio(*e.fastest_speedup), "3.00x (2.55x to 3.56x)");

  const StudyResults apart = quick_study([&](json& d) {
    picked = set_times(d, {{10, 9, 11}, {12, 11.5, 12.5}, {30, 28, 32}});
  });
  const auto f_entries = compute_table2({apart}, kDefaultBaseline);
  const auto& f = entry_for(f_entries, kModel);
  EXPECT_TRUE(f.fastest_ties.empty());
  EXPECT_EQ(f.pick.find("within noise"), std::string::npos) << f.pick;
  EXPECT_EQ(f.pick.rfind(picked.a + " (", 0), 0u) << f.pick;
}

TEST(Table2, ABaselineWithinNoiseOfTheFastestIsKept) {
  const StudyResults s = quick_study([](json& d) { set_times(d, {{10, 9, 11}, {20, 19, 21}, {10.4, 9.8, 10.8}}); });
  const auto e_entries = compute_table2({s}, kDefaultBaseline);
  const auto& e = entry_for(e_entries, kModel);
  ASSERT_EQ(e.fastest_ties.size(), 1u);
  EXPECT_EQ(e.fastest_ties[0].backend, kDefaultBaseline);
  EXPECT_NE(e.recommendation.find("keep the baseline " + std::string(kDefaultBaseline)), std::string::npos)
      << e.recommendation;
}

TEST(Table2, WithoutIntervalsNothingIsTiedAndRatiosHaveNoInterval) {
  const StudyResults s = quick_study([](json& d) {
    set_times(d, {{10, 9, 11}, {10.5, 9.5, 11.5}, {30, 28, 32}});
    for (auto& row : d["runs"])
      if (row["latency_ms"].is_object()) row["latency_ms"].erase("ci_low"), row["latency_ms"].erase("ci_high");
  });
  const auto e_entries = compute_table2({s}, kDefaultBaseline);
  const auto& e = entry_for(e_entries, kModel);
  EXPECT_TRUE(e.fastest_ties.empty());
  ASSERT_TRUE(e.fastest_speedup);
  EXPECT_FALSE(e.fastest_speedup->ci);
}

TEST(Table2, EnergyFromAMeterThatCannotSeeTheDeviceIsNotRanked) {
  auto with_energy = [](const std::string& meter, const std::string& covers) {
    return quick_study([&](json& d) {
      double mj = 100;
      for (json* row : testing::ranked_rows(d, kModel)) {
        (*row)["energy"] = testing::energy_json(meter, covers, mj);
        (*row)["energy"]["mj_per_inference_ci_low"] = mj * 0.9;
        (*row)["energy"]["mj_per_inference_ci_high"] = mj * 1.1;
        mj += 50;
      }
    });
  };
  const auto seen_entries = compute_table2({with_energy("rapl", "cpu")}, kDefaultBaseline);
  const auto& seen = entry_for(seen_entries, kModel);
  EXPECT_TRUE(seen.energy_measured);
  ASSERT_TRUE(seen.most_efficient && seen.most_efficient->mj_per_inference);
  EXPECT_DOUBLE_EQ(*seen.most_efficient->mj_per_inference, 100);
  ASSERT_TRUE(seen.most_efficient->mj_ci);

  const auto unseen_entries = compute_table2({with_energy("nvml", "gpu")}, kDefaultBaseline);
  const auto& unseen = entry_for(unseen_entries, kModel);
  EXPECT_FALSE(unseen.energy_measured);
  EXPECT_FALSE(unseen.most_efficient);
  EXPECT_FALSE(unseen.fastest_energy_efficiency);
  EXPECT_NE(unseen.energy_none.find("sees the GPU, not the CPU"), std::string::npos) << unseen.energy_none;
  EXPECT_NE(unseen.recommendation.find("No energy figure: the nvml meter sees the GPU"), std::string::npos)
      << unseen.recommendation;
}

StudyResults with_gpu_rows() {
  return quick_study([](json& d) {
    d["runs"].push_back(testing::gpu_row(kModel, "cudnn", 1, 0.5));
    d["runs"].push_back(testing::gpu_row(kModel, "cudnn", 64, 20));
    d["runs"].push_back(testing::gpu_row(kModel, "gemm:cublas", 1, 1.0));
    d["runs"].push_back(testing::gpu_row(kModel, "gemm:cublas", 64, 40));
  });
}

TEST(Table2, GpuRowsStandBesideCpuRowsAndAGpuBackendCanBeTheBaseline) {
  const StudyResults s = with_gpu_rows();
  const auto e_entries = compute_table2({s}, "gemm:cublas");
  const auto& e = entry_for(e_entries, kModel);
  ASSERT_TRUE(e.fastest && e.baseline_fastest);
  EXPECT_EQ(e.fastest->backend, "cudnn");
  EXPECT_EQ(e.fastest->device, "gpu");
  EXPECT_EQ(e.baseline_fastest->batch, 1);
  EXPECT_DOUBLE_EQ(e.fastest_speedup->value, 2.0);
  EXPECT_NE(e.recommendation.find("cudnn (GPU)"), std::string::npos) << e.recommendation;
  // The CPU baseline is still there to compare with.
  const auto cpu_entries = compute_table2({s}, kDefaultBaseline);
  const auto& cpu = entry_for(cpu_entries, kModel);
  ASSERT_TRUE(cpu.baseline_fastest);
  EXPECT_EQ(cpu.baseline_fastest->device, "cpu");
  EXPECT_GT(cpu.fastest_speedup->value, 1.0);

  const auto throughput = compute_throughput({s}, "gemm:cublas");
  ASSERT_EQ(throughput.size(), 1u);
  EXPECT_EQ(throughput[0].batch, 64);
  EXPECT_EQ(throughput[0].fastest->backend, "cudnn");
  EXPECT_DOUBLE_EQ(throughput[0].fastest->images_per_s(), 64 * 1000.0 / 20);
  EXPECT_DOUBLE_EQ(throughput[0].fastest_speedup->value, 2.0);
  // A CPU baseline has no batch-64 row: said, not compared.
  const auto cpu_throughput = compute_throughput({s}, kDefaultBaseline);
  EXPECT_NE(cpu_throughput[0].baseline_missing.find("not measured at batch 64"), std::string::npos);
}

// A quick study on the GPU machine (CPU and GPU backends, GPU rows at batch 1 and 64, NVML).
TEST(Table2, ARealGpuStudyRanksCpuAndGpuRowsTogetherAgainstAnyBaseline) {
  const StudyResults s = load_study(testing::fixture("quick_gpu"));
  for (const std::string baseline : {"gemm:cublas", "cudnn", kDefaultBaseline}) {
    for (const auto& e : compute_table2({s}, baseline)) {
      SCOPED_TRACE(baseline + " " + e.model);
      ASSERT_TRUE(e.fastest && e.baseline_fastest);
      double best = INFINITY;
      std::set<std::string> devices;
      for (const auto& r : s.runs)
        if (r.model == e.model && r.batch == 1 && r.rankable())
          best = std::min(best, *r.ms_per_inference()), devices.insert(r.device);
      EXPECT_EQ(devices, (std::set<std::string>{"cpu", "gpu"}));  // side by side
      EXPECT_DOUBLE_EQ(e.fastest->ms_per_inference, best);
      EXPECT_EQ(e.baseline_fastest->backend, baseline);
      EXPECT_EQ(e.baseline_fastest->device, baseline == kDefaultBaseline ? "cpu" : "gpu");
      ASSERT_TRUE(e.fastest_speedup);
      EXPECT_DOUBLE_EQ(e.fastest_speedup->value,
                       e.baseline_fastest->ms_per_inference / e.fastest->ms_per_inference);
      if (e.fastest_speedup->ci) {
        EXPECT_LE(e.fastest_speedup->ci->lo, e.fastest_speedup->value);
        EXPECT_GE(e.fastest_speedup->ci->hi, e.fastest_speedup->value);
      }
      // NVML sees the GPU: GPU rows have energy figures, CPU rows none.
      EXPECT_TRUE(e.energy_measured);
      EXPECT_EQ(e.most_efficient->device, "gpu");
    }
    for (const auto& e : compute_throughput({s}, baseline)) {
      ASSERT_TRUE(e.fastest);
      EXPECT_GT(e.batch, 1);
      EXPECT_EQ(e.fastest->device, "gpu");
      EXPECT_EQ(e.baseline_missing.empty(), baseline != kDefaultBaseline) << e.baseline_missing;
    }
  }
  for (const auto& r : s.runs) {
    if (r.device != "cpu" || !r.rankable()) continue;
    EXPECT_FALSE(r.energy_figure().mj_per_inference) << r.backend;
    EXPECT_NE(r.energy_figure().none.find("CPU"), std::string::npos) << r.energy_figure().none;
  }
}

TEST(Table2, UnrankedRowsListEveryFailureOnce) {
  const StudyResults s = quick_study();
  const auto rows = unranked_rows({s});
  std::set<std::tuple<std::string, std::string, std::string>> seen;
  for (const auto& r : rows) {
    EXPECT_TRUE(seen.emplace(r.what, r.status, r.reason).second) << "listed twice: " << r.what;
    EXPECT_FALSE(r.reason.empty()) << r.what;
  }
  for (const auto& r : s.runs) {
    if (r.rankable()) continue;
    const std::string what = model_display_name(r.model) + " on " + r.backend + ",";
    EXPECT_TRUE(std::any_of(rows.begin(), rows.end(), [&](const UnrankedRow& u) {
      return u.what.rfind(what, 0) == 0 && u.status == to_string(r.status);
    })) << what;
  }
}

TEST(Table2, RatiosHaveTwoDecimalsAsInThePaper) {
  EXPECT_EQ(format_ratio(9.4321), "9.43x");
  EXPECT_EQ(format_ratio(0.574), "0.57x");
  EXPECT_EQ(format_ratio(Ratio{2, Interval{1.5, 2.5}}), "2.00x (1.50x to 2.50x)");
  EXPECT_EQ(model_display_name("mobilenet_v1"), "MobileNet v1");
  EXPECT_EQ(model_display_name("unknown_net"), "unknown_net");
}

}  // namespace
}  // namespace libscout::report
