// hwmon on the Jetson TX2 trees: the mainline ina3221 hwmon driver and the L4T 32 ina3221x IIO
// driver. The sampling tests rewrite the sensor files while the meter samples, as the driver
// would, and compare the integral with the energy the written values imply.
#include <algorithm>
#include <cmath>
#include <thread>

#include <gtest/gtest.h>

#include "core/error.h"
#include "power/meter.h"
#include "power/sampled_meter.h"
#include "power_fixture.h"

namespace libscout::power {
namespace {

using Clock = std::chrono::steady_clock;
using testing::seconds_since;
using testing::SysfsTree;
using testing::write_value;

std::vector<std::string> names(const std::vector<Rail>& rails) {
  std::vector<std::string> out;
  for (const Rail& r : rails) out.push_back(r.name);
  return out;
}

TEST(Hwmon, MainlineIna3221RailsAreTheLabelledChannels) {
  SysfsTree tree("jetson-tx2-hwmon");
  auto meter = create_meter("hwmon");
  EXPECT_EQ(names(meter->rails()),
            (std::vector<std::string>{"VDD_SYS_GPU", "VDD_SYS_SOC", "VDD_3V8_WIFI", "VDD_IN",
                                      "VDD_SYS_CPU", "VDD_SYS_DDR"}));
  // VDD_IN feeds the module: it alone makes the total.
  for (const Rail& rail : meter->rails()) EXPECT_EQ(rail.in_total, rail.name == "VDD_IN");
  auto* sampled = dynamic_cast<SampledMeter*>(meter.get());
  ASSERT_NE(sampled, nullptr);
  EXPECT_EQ(sampled->sample_period(), std::chrono::milliseconds(10));
}

TEST(Hwmon, ConstantRailsIntegrateToPowerTimesTime) {
  SysfsTree tree("jetson-tx2-hwmon");
  MeterOptions options;
  options.sample_hz = 50;
  auto meter = create_meter("hwmon", options);
  meter->start();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  Measurement m = meter->stop();
  ASSERT_EQ(m.rails.size(), 6u);
  EXPECT_NEAR(m.rails[3].avg_power_w, 19.088 * 0.213, 1e-9);  // VDD_IN: mV x mA
  EXPECT_NEAR(m.rails[1].avg_power_w, 19.120 * 0.038, 1e-9);  // VDD_SYS_SOC
  EXPECT_NEAR(m.avg_power_w, 19.088 * 0.213, 1e-9);
  EXPECT_NEAR(m.energy_j, 19.088 * 0.213 * m.duration_s, 1e-9);
  EXPECT_GE(m.duration_s, 0.2);
  // 50 Hz over 0.2 s: about 10 samples plus the ones at start and stop.
  EXPECT_GE(m.samples.size(), 5u);
  EXPECT_LE(m.samples.size(), 14u);
}

// Power steps written while the meter samples; the truth is the energy of the written values
// between the meter's start and stop, from the times the test wrote them.
TEST(Hwmon, SampledIntegrationOfChangingPowerIsWithinTwoPercent) {
  SysfsTree tree("jetson-tx2-hwmon");
  const fs::path current = tree / "class/hwmon/hwmon2/curr1_input";  // VDD_IN, at 19088 mV
  const double volts = 19.088;
  const std::vector<std::pair<int, double>> steps = {{213, 0.5}, {520, 0.5}, {90, 0.5}};  // mA, s
  auto meter = create_meter("hwmon");
  write_value(current, std::to_string(steps[0].first));
  Clock::time_point begin = Clock::now();
  meter->start();
  double truth = 0, previous_t = 0;
  for (size_t i = 0; i < steps.size(); ++i) {
    if (i > 0) {
      write_value(current, std::to_string(steps[i].first));
      double t = seconds_since(begin);
      truth += volts * steps[i - 1].first * 1e-3 * (t - previous_t);
      previous_t = t;
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(steps[i].second));
  }
  Measurement m = meter->stop();
  truth += volts * steps.back().first * 1e-3 * (m.duration_s - previous_t);
  ASSERT_EQ(m.rails[3].name, "VDD_IN");
  // Within 2%, or, where other work delayed the sampling thread, within what a sampled meter can
  // know: the trapezoid over the samples around a power step is off by at most the step times half
  // the gap between them (the widest gap of this window).
  double widest_gap = 0;
  for (std::size_t i = 1; i < m.samples.size(); ++i) {
    widest_gap = std::max(widest_gap, m.samples[i].t_s - m.samples[i - 1].t_s);
  }
  double step_watts = 0;
  for (std::size_t i = 1; i < steps.size(); ++i) {
    step_watts += volts * std::abs(steps[i].first - steps[i - 1].first) * 1e-3;
  }
  // The sampler must have run all along (100 Hz over 1.5 s: 150 samples; 74 seen under load),
  // else the widest gap, and the bound with it, would be the whole window.
  ASSERT_GE(m.samples.size(), 20u) << "widest gap " << widest_gap << " s";
  const double bound = std::max(0.02 * truth, step_watts * widest_gap / 2);
  EXPECT_NEAR(m.rails[3].energy_j, truth, bound)
      << m.samples.size() << " samples over " << m.duration_s << " s, widest gap " << widest_gap;
  EXPECT_NEAR(m.energy_j, m.rails[3].energy_j, 1e-12);
  EXPECT_NEAR(m.rails[3].avg_power_w, truth / m.duration_s, bound / m.duration_s);
}

TEST(Hwmon, ASensorFileThatDisappearsFailsTheWindowNamingIt) {
  SysfsTree tree("jetson-tx2-hwmon");
  const fs::path current = tree / "class/hwmon/hwmon1/curr2_input";
  auto meter = create_meter("hwmon");
  meter->start();
  fs::remove(current);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  try {
    meter->stop();
    FAIL() << "a missing sensor file did not fail the window";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot read " + current.string()), std::string::npos)
        << e.what();
  }
}

TEST(Hwmon, UnreadableSensorIsUnavailableWithTheFile) {
  SysfsTree tree("jetson-tx2-hwmon");
  const fs::path current = tree / "class/hwmon/hwmon2/curr1_input";
  fs::permissions(current, fs::perms::owner_read);
  std::string reason = testing::as_unprivileged([] {
    try {
      create_meter("hwmon");
      return std::string("no exception");
    } catch (const Unavailable& e) {
      return std::string(e.what());
    }
  });
  EXPECT_NE(reason.find("cannot read " + current.string() + " (Permission denied)"),
            std::string::npos)
      << reason;
}

TEST(Hwmon, LegacyJetsonIioRailsInMilliwatts) {
  SysfsTree tree("jetson-tx2-iio");
  auto meter = create_meter("hwmon");
  EXPECT_EQ(names(meter->rails()),
            (std::vector<std::string>{"VDD_SYS_GPU", "VDD_SYS_SOC", "VDD_4V0_WIFI", "VDD_IN",
                                      "VDD_SYS_CPU", "VDD_SYS_DDR"}));
  meter->start();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  Measurement m = meter->stop();
  EXPECT_NEAR(m.avg_power_w, 4.065, 1e-9);  // VDD_IN alone
  EXPECT_NEAR(m.rails[1].avg_power_w, 0.726, 1e-9);
}

TEST(Hwmon, NoSensorSaysWhereItLooked) {
  SysfsTree tree("rapl");
  try {
    create_meter("hwmon");
    FAIL() << "hwmon opened on a tree without sensors";
  } catch (const Unavailable& e) {
    EXPECT_NE(std::string(e.what()).find("no power sensor under " +
                                         (tree / "class/hwmon").string()),
              std::string::npos)
        << e.what();
  }
}

TEST(Hwmon, EnergyCountersAreReadAtStartAndStop) {
  SysfsTree tree("");
  fs::create_directories(tree / "class/hwmon/hwmon0");
  write_value(tree / "class/hwmon/hwmon0/name", "amd_energy");
  write_value(tree / "class/hwmon/hwmon0/energy1_label", "Esocket0");
  write_value(tree / "class/hwmon/hwmon0/energy1_input", "1000000");
  auto meter = create_meter("hwmon");
  ASSERT_EQ(meter->rails().size(), 1u);
  EXPECT_EQ(meter->rails()[0].name, "Esocket0");
  meter->start();
  write_value(tree / "class/hwmon/hwmon0/energy1_input", "3500000");
  Measurement m = meter->stop();
  EXPECT_NEAR(m.energy_j, 2.5, 1e-9);
}

}  // namespace
}  // namespace libscout::power
