// Table 2 from the fixtures: the numbers worked out by hand from the result files, the choice of
// the best backend (never a failed, crashed, skipped or invalid one) and the recommendations.
#include <gtest/gtest.h>

#include "report/table2.h"
#include "xml_check.h"

namespace libscout::report {
namespace {

using testing::fixture;

std::vector<StudyResults> both_devices() {
  return {load_study(fixture("device_a")), load_study(fixture("device_b"))};
}

const Table2Entry& entry(const std::vector<Table2Entry>& entries, const std::string& device,
                         const std::string& model) {
  for (const auto& e : entries)
    if (e.device == device && e.model == model) return e;
  throw std::runtime_error("no Table 2 entry for " + device + " / " + model);
}

TEST(Table2, OneEntryPerDeviceAndModelInTheOrderGiven) {
  const auto entries = compute_table2(both_devices(), kDefaultBaseline);
  ASSERT_EQ(entries.size(), 4u);
  EXPECT_EQ(entries[0].device, "rpi3-fixture");
  EXPECT_EQ(entries[0].model, "squeezenet1.1");
  EXPECT_EQ(entries[1].model, "mobilenet_v1");
  EXPECT_EQ(entries[2].device, "Intel Xeon (fixture)");
}

TEST(Table2, FastestAndMostEfficientAgainstTheBaselineWithEnergy) {
  const auto entries = compute_table2(both_devices(), kDefaultBaseline);
  // SqueezeNet on device A: onednn (50 ms) failed validation and clblast crashed, so xnnpack
  // (90 ms, 0.3 J) wins over the baseline's best thread count (4 threads: 300 ms, 0.9 J; its 1
  // thread run took 1000 ms and 1.5 J).
  const auto& sq = entry(entries, "rpi3-fixture", "squeezenet1.1");
  ASSERT_TRUE(sq.fastest && sq.most_efficient && sq.baseline_fastest && sq.baseline_efficient);
  EXPECT_EQ(sq.fastest->backend, "xnnpack");
  EXPECT_EQ(sq.fastest->threads, 4);
  EXPECT_EQ(sq.baseline_fastest->threads, 4);
  EXPECT_DOUBLE_EQ(sq.baseline_fastest->ms_per_inference, 300.0);
  EXPECT_DOUBLE_EQ(*sq.baseline_efficient->mj_per_inference, 900.0);
  EXPECT_NEAR(*sq.fastest_speedup, 300.0 / 90.0, 1e-12);
  EXPECT_NEAR(*sq.fastest_energy_efficiency, 0.9 / 0.3, 1e-12);
  EXPECT_EQ(sq.most_efficient->backend, "xnnpack");
  EXPECT_EQ(format_ratio(*sq.fastest_speedup), "3.33x");
  EXPECT_NE(sq.recommendation.find("use xnnpack (4 threads): 3.33x faster and 3.00x less energy "
                                   "than gemm:openblas"),
            std::string::npos)
      << sq.recommendation;

  // MobileNet on device A: armcl:neon is fastest (180 ms, 1.0 J), xnnpack uses least energy
  // (200 ms, 0.8 J); the baseline took 800 ms and 2.4 J. onednn's result (100 ms, 0.2 J) is not
  // ranked: its step failed after writing it.
  const auto& mo = entry(entries, "rpi3-fixture", "mobilenet_v1");
  ASSERT_TRUE(mo.fastest && mo.most_efficient);
  EXPECT_EQ(mo.fastest->backend, "armcl:neon");
  EXPECT_NEAR(*mo.fastest_speedup, 800.0 / 180.0, 1e-12);
  EXPECT_NEAR(*mo.fastest_energy_efficiency, 2.4 / 1.0, 1e-12);
  EXPECT_EQ(mo.most_efficient->backend, "xnnpack");
  EXPECT_NEAR(*mo.efficient_energy_efficiency, 2.4 / 0.8, 1e-12);
  EXPECT_NEAR(*mo.efficient_speedup, 800.0 / 200.0, 1e-12);
  EXPECT_NE(mo.recommendation.find("use armcl:neon (4 threads) for speed: 4.44x faster and "
                                   "2.40x less energy"),
            std::string::npos)
      << mo.recommendation;
  EXPECT_NE(mo.recommendation.find("use xnnpack (4 threads) for the least energy: 3.00x less "
                                   "energy and 4.00x faster"),
            std::string::npos)
      << mo.recommendation;
}

TEST(Table2, WithoutAMeterOnlySpeedIsCompared) {
  const auto entries = compute_table2(both_devices(), kDefaultBaseline);
  const auto& sq = entry(entries, "Intel Xeon (fixture)", "squeezenet1.1");
  EXPECT_FALSE(sq.energy_measured);
  EXPECT_FALSE(sq.most_efficient.has_value());
  EXPECT_FALSE(sq.fastest_energy_efficiency.has_value());
  ASSERT_TRUE(sq.fastest.has_value());
  EXPECT_EQ(sq.fastest->backend, "gemm:blis");
  EXPECT_NEAR(*sq.fastest_speedup, 60.0 / 50.0, 1e-12);  // baseline at 2 threads: 60 ms
  EXPECT_NE(sq.recommendation.find("no power meter"), std::string::npos) << sq.recommendation;

  // gemm:naive took 40 ms but its output failed validation: blis (100 ms) is the best.
  const auto& mo = entry(entries, "Intel Xeon (fixture)", "mobilenet_v1");
  EXPECT_EQ(mo.fastest->backend, "gemm:blis");
  EXPECT_NEAR(*mo.fastest_speedup, 1.5, 1e-12);
}

TEST(Table2, FailedBackendsAreNeverRanked) {
  for (const auto& e : rank_at_equal_threads(both_devices(), kDefaultBaseline)) {
    for (const auto* choice : {&e.fastest, &e.most_efficient}) {
      if (!*choice) continue;
      EXPECT_NE((*choice)->backend, "onednn") << e.device << " " << e.model;
      EXPECT_NE((*choice)->backend, "clblast") << e.device << " " << e.model;
      EXPECT_NE((*choice)->backend, "tvm") << e.device << " " << e.model;
      EXPECT_NE((*choice)->backend, "gemm:naive") << e.device << " " << e.model;
    }
  }
}

TEST(Table2, AMissingOrFailedBaselineIsSaidAndGivesNoRatio) {
  const auto studies = both_devices();
  const auto missing = compute_table2(studies, "gemm:eigen");
  const auto& b = entry(missing, "Intel Xeon (fixture)", "squeezenet1.1");
  EXPECT_FALSE(b.fastest_speedup.has_value());
  EXPECT_NE(b.baseline_missing.find("was not measured"), std::string::npos) << b.baseline_missing;
  EXPECT_EQ(b.fastest->backend, "gemm:blis");  // the fastest is still named

  const auto crashed = compute_table2(studies, "clblast");
  const auto& a = entry(crashed, "rpi3-fixture", "squeezenet1.1");
  EXPECT_FALSE(a.fastest_speedup.has_value());
  EXPECT_NE(a.baseline_missing.find("crashed (killed by signal 11 (SIGSEGV))"), std::string::npos)
      << a.baseline_missing;
  EXPECT_NE(a.recommendation.find("No speed-up is given"), std::string::npos) << a.recommendation;
}

TEST(Table2, EqualThreadCountsCompareOnlyLikeWithLike) {
  const auto entries = rank_at_equal_threads(both_devices(), kDefaultBaseline);
  int found = 0;
  for (const auto& e : entries) {
    if (e.device != "Intel Xeon (fixture)" || e.model != "squeezenet1.1") continue;
    ++found;
    ASSERT_TRUE(e.threads.has_value());
    if (*e.threads == 1) {  // only the baseline ran at 1 thread
      EXPECT_EQ(e.fastest->backend, "gemm:openblas");
      EXPECT_NEAR(*e.fastest_speedup, 1.0, 1e-12);
    } else {
      EXPECT_EQ(*e.threads, 2);
      EXPECT_EQ(e.fastest->backend, "gemm:blis");
    }
  }
  EXPECT_EQ(found, 2);
}

TEST(Table2, UnrankedRowsListEveryFailureWithItsReason) {
  const auto rows = unranked_rows(both_devices());
  auto has = [&](const std::string& what, const std::string& status, const std::string& reason) {
    for (const auto& r : rows)
      if (r.what.find(what) != std::string::npos && r.status == status &&
          r.reason.find(reason) != std::string::npos)
        return true;
    return false;
  };
  EXPECT_TRUE(has("SqueezeNet v1.1 on onednn", "invalid", "differs from the reference"));
  EXPECT_TRUE(has("SqueezeNet v1.1 on clblast", "crashed", "SIGSEGV"));
  EXPECT_TRUE(has("MobileNet v1 on clblast", "failed", "out of memory"));
  EXPECT_TRUE(has("MobileNet v1 on tvm", "skipped", "not built"));
  EXPECT_TRUE(has("MobileNet v1 on gemm:naive", "invalid", "relative L2 error 0.5"));
  EXPECT_TRUE(has("SGEMM 256 on clblast", "invalid", "differs from the reference"));
  EXPECT_TRUE(has("MobileNet v1 on onednn", "failed", "time limit"));
  EXPECT_EQ(rows.size(), 7u);
  for (const auto& r : rows) EXPECT_EQ(r.what.find("xnnpack"), std::string::npos) << r.what;
}

TEST(Table2, RatiosHaveTwoDecimalsAsInThePaper) {
  EXPECT_EQ(format_ratio(9.4321), "9.43x");
  EXPECT_EQ(format_ratio(0.574), "0.57x");
  EXPECT_EQ(model_display_name("mobilenet_v1"), "MobileNet v1");
  EXPECT_EQ(model_display_name("resnet18"), "resnet18");
}

}  // namespace
}  // namespace libscout::report
