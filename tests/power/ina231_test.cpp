// ina231 on the ODROID XU3 tree (Hardkernel kernel 3.10): four sensors, the GPU one disabled.
#include <thread>

#include <gtest/gtest.h>

#include "core/error.h"
#include "power/meter.h"
#include "power/sampled_meter.h"
#include "power_fixture.h"

namespace libscout::power {
namespace {

using testing::read_value;
using testing::SysfsTree;
using testing::write_value;

const std::string kDriver = "bus/i2c/drivers/INA231/";

TEST(Ina231, RailsAreBigLittleGpuMemoryAndTheDisabledSensorIsEnabled) {
  SysfsTree tree("odroid-xu3");
  ASSERT_EQ(read_value(tree / (kDriver + "3-0044/enable")), "0");
  auto meter = create_meter("ina231");
  ASSERT_EQ(meter->rails().size(), 4u);
  EXPECT_EQ(meter->rails()[0].name, "a15");
  EXPECT_EQ(meter->rails()[1].name, "a7");
  EXPECT_EQ(meter->rails()[2].name, "gpu");
  EXPECT_EQ(meter->rails()[3].name, "mem");
  for (const Rail& rail : meter->rails()) EXPECT_TRUE(rail.in_total);
  EXPECT_EQ(read_value(tree / (kDriver + "3-0044/enable")), "1");
  // The sensors update every 263808 us: sampling faster would read the same value again.
  auto* sampled = dynamic_cast<SampledMeter*>(meter.get());
  ASSERT_NE(sampled, nullptr);
  EXPECT_EQ(sampled->sample_period(), std::chrono::microseconds(263808));
}

TEST(Ina231, DiscoveryOnlyLooks) {
  SysfsTree tree("odroid-xu3");
  bool listed = false;
  for (const MeterInfo& info : list_meters()) {
    if (info.name != "ina231") continue;
    listed = true;
    EXPECT_TRUE(info.available) << info.reason;
    EXPECT_EQ(info.rails.size(), 4u);
  }
  EXPECT_TRUE(listed);
  EXPECT_EQ(read_value(tree / (kDriver + "3-0044/enable")), "0");
}

TEST(Ina231, PowerPerRailAndInTotal) {
  SysfsTree tree("odroid-xu3");
  write_value(tree / (kDriver + "3-0044/enable"), "1");
  write_value(tree / (kDriver + "3-0044/sensor_W"), "0.412000");
  auto meter = create_meter("ina231");
  meter->start();
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  Measurement m = meter->stop();
  ASSERT_EQ(m.rails.size(), 4u);
  EXPECT_NEAR(m.rails[0].avg_power_w, 1.618540, 1e-9);
  EXPECT_NEAR(m.rails[1].avg_power_w, 0.145730, 1e-9);
  EXPECT_NEAR(m.rails[2].avg_power_w, 0.412000, 1e-9);
  EXPECT_NEAR(m.rails[3].avg_power_w, 0.228120, 1e-9);
  EXPECT_NEAR(m.avg_power_w, 1.61854 + 0.14573 + 0.412 + 0.22812, 1e-9);
  EXPECT_NEAR(m.energy_j, m.avg_power_w * m.duration_s, 1e-12);
  // Start, two or so readings at the sensor's period, stop.
  EXPECT_GE(m.samples.size(), 3u);
  EXPECT_LE(m.samples.size(), 5u);
}

TEST(Ina231, ADisabledSensorThatCannotBeEnabledIsUnavailable) {
  SysfsTree tree("odroid-xu3");
  fs::permissions(tree / (kDriver + "3-0044/enable"),
                  fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                      fs::perms::others_read);
  std::string reason = testing::as_unprivileged([] {
    try {
      create_meter("ina231");
      return std::string("no exception");
    } catch (const Unavailable& e) {
      return std::string(e.what());
    }
  });
  EXPECT_NE(reason.find("the INA231 sensor 3-0044 is disabled and cannot be enabled"),
            std::string::npos)
      << reason;
  EXPECT_NE(reason.find("run as root"), std::string::npos) << reason;
}

TEST(Ina231, NotAnOdroid) {
  SysfsTree tree("rapl");
  try {
    create_meter("ina231");
    FAIL() << "ina231 opened on a tree without the driver";
  } catch (const Unavailable& e) {
    EXPECT_NE(std::string(e.what()).find("not an ODROID XU3/XU4"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace libscout::power
