// The measurement protocol (idle power, then a window of repeated inferences) on the TX2 hwmon
// tree, where the test plays the board: "inferences" raise the VDD_IN current.
#include "power/energy.h"

#include <thread>

#include <gtest/gtest.h>

#include "core/error.h"
#include "power_fixture.h"

namespace libscout::power {
namespace {

using testing::SysfsTree;
using testing::write_value;

constexpr double kVolts = 19.088;                     // VDD_IN bus voltage in the tree
constexpr double kIdleWatts = kVolts * 0.213;         // VDD_IN as recorded
constexpr double kBusyWatts = kVolts * 0.500;         // VDD_IN while "inferring"
const std::string kCurrent = "class/hwmon/hwmon2/curr1_input";

TEST(Energy, IdleGrossAndNetEnergyPerInference) {
  SysfsTree tree("jetson-tx2-hwmon");
  auto meter = create_meter("hwmon");
  EnergyOptions options;
  options.idle_s = 0.3;
  options.min_window_s = 0.6;
  long calls = 0;
  EnergyReport report = measure_energy(
      *meter,
      [&] {
        if (calls++ == 0) write_value(tree / kCurrent, "500");
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      },
      options);
  EXPECT_EQ(report.meter, "hwmon");
  EXPECT_EQ(report.inferences, calls);
  EXPECT_GE(report.window_s, 0.6);
  ASSERT_TRUE(report.idle_power_w);
  EXPECT_NEAR(*report.idle_power_w, kIdleWatts, 1e-9);
  EXPECT_NEAR(report.avg_power_w, kBusyWatts, 0.02 * kBusyWatts);
  const double gross_mj = kBusyWatts * report.window_s * 1e3 / calls;
  const double net_mj = (kBusyWatts - kIdleWatts) * report.window_s * 1e3 / calls;
  EXPECT_NEAR(report.mj_per_inference, gross_mj, 0.02 * gross_mj);
  ASSERT_TRUE(report.net_mj_per_inference);
  EXPECT_NEAR(*report.net_mj_per_inference, net_mj, 0.03 * net_mj);
  EXPECT_GT(report.samples, 30u);
  ASSERT_EQ(report.rails.size(), 6u);
  EXPECT_EQ(report.rails[3].name, "VDD_IN");
  EXPECT_NEAR(report.rails[3].mj_per_inference, report.mj_per_inference, 1e-9);
  // A rail that did not change has no net energy.
  EXPECT_NEAR(*report.rails[4].net_mj_per_inference, 0.0, 1e-9);

  nlohmann::json j = to_json(report);
  for (const char* key : {"meter", "window_s", "inferences", "energy_j", "avg_power_w",
                          "idle_power_w", "mj_per_inference", "net_mj_per_inference", "samples",
                          "rails"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j["rails"].size(), 6u);
  EXPECT_DOUBLE_EQ(j["rails"]["VDD_IN"]["mj_per_inference"].get<double>(),
                   report.rails[3].mj_per_inference);
  EXPECT_EQ(j["rails"]["VDD_SYS_CPU"]["in_total"], false);
  EXPECT_NE(summary_line(report).find("energy (hwmon): "), std::string::npos);
}

TEST(Energy, WithoutIdleTheNetFiguresAreNull) {
  SysfsTree tree("jetson-tx2-hwmon");
  auto meter = create_meter("hwmon");
  EnergyOptions options;
  options.idle_s = 0;
  options.min_window_s = 0.05;
  options.inferences_per_run = 4;  // a batch of 4 per call
  long calls = 0;
  EnergyReport report = measure_energy(
      *meter, [&] { ++calls; std::this_thread::sleep_for(std::chrono::milliseconds(10)); },
      options);
  EXPECT_EQ(report.runs, calls);
  EXPECT_EQ(report.inferences, 4 * calls);
  EXPECT_NEAR(report.mj_per_inference, kIdleWatts * report.window_s * 1e3 / (4 * calls), 1e-6);
  nlohmann::json j = to_json(report);
  EXPECT_TRUE(j["idle_power_w"].is_null());
  EXPECT_TRUE(j["net_mj_per_inference"].is_null());
}

TEST(Energy, TheNoneMeterGivesNoFigure) {
  auto meter = create_meter("none");
  EXPECT_FALSE(measures_energy(*meter));
  EXPECT_THROW(measure_energy(*meter, [] {}), Error);
}

TEST(Energy, AFailingRunLeavesTheMeterUsable) {
  SysfsTree tree("jetson-tx2-hwmon");
  auto meter = create_meter("hwmon");
  EnergyOptions options;
  options.idle_s = 0;
  options.min_window_s = 0.05;
  EXPECT_THROW(measure_energy(*meter, [] { throw Error("inference failed"); }, options), Error);
  EXPECT_NO_THROW(measure_energy(*meter, [] {}, options));
}

TEST(Energy, BadOptionsAreErrors) {
  SysfsTree tree("jetson-tx2-hwmon");
  auto meter = create_meter("hwmon");
  EnergyOptions options;
  options.min_window_s = 0;
  EXPECT_THROW(measure_energy(*meter, [] {}, options), Error);
  options = {};
  options.idle_s = -1;
  EXPECT_THROW(measure_energy(*meter, [] {}, options), Error);
}

// The hook the command line passes to benchmark_model: a real (small) model on a real backend.
BenchmarkOptions small_model() {
  BenchmarkOptions b;
  b.model = "mobilenet_v1";
  b.model_options.width = 0.25f;
  b.model_options.resolution = 32;
  b.model_options.batch = 2;
  b.backend = "gemm:naive";
  b.warmup = 0;
  b.iterations = 2;
  return b;
}

TEST(EnergyHook, AddsTheEnergyObjectToTheResult) {
  SysfsTree tree("jetson-tx2-hwmon");
  auto meter = create_meter("hwmon");
  EnergyOptions options;
  options.idle_s = 0.05;
  options.min_window_s = 0.1;
  EnergyOutcome outcome;
  BenchmarkResult r =
      benchmark_model(small_model(), nullptr, energy_hook(*meter, options, &outcome));
  ASSERT_TRUE(r.validation.passed);
  ASSERT_TRUE(outcome.report) << outcome.error;
  const nlohmann::json& e = r.extra["energy"];
  EXPECT_EQ(e["meter"], "hwmon");
  EXPECT_EQ(e["inferences"].get<long>(), 2 * outcome.report->runs);  // batch 2
  EXPECT_NEAR(e["avg_power_w"].get<double>(), kIdleWatts, 1e-9);
  EXPECT_NEAR(e["idle_power_w"].get<double>(), kIdleWatts, 1e-9);
  EXPECT_FALSE(r.extra.contains("energy_error"));
}

TEST(EnergyHook, NoMeterMeansANullEnergyAndTheReason) {
  auto meter = create_meter("none");
  BenchmarkResult r = benchmark_model(small_model(), nullptr, energy_hook(*meter, {}));
  ASSERT_TRUE(r.extra.contains("energy"));
  EXPECT_TRUE(r.extra["energy"].is_null());
  EXPECT_NE(r.extra["energy_error"].get<std::string>().find("measures no energy"),
            std::string::npos);
}

}  // namespace
}  // namespace libscout::power
