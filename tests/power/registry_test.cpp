// list_meters() and create_meter(): names, "auto" preferences and reasons.
#include <gtest/gtest.h>

#include "core/error.h"
#include "power/meter.h"
#include "power_fixture.h"

namespace libscout::power {
namespace {

using testing::ScopedEnv;
using testing::SysfsTree;

// NVML is taken out of "auto" (a machine with an NVIDIA GPU would otherwise pick it).
ScopedEnv no_nvml() { return ScopedEnv("LIBSCOUT_NVML_LIBRARY", "libscout-no-such-nvml.so"); }

TEST(Registry, ListsEveryMeterWithAvailabilityOrReason) {
  SysfsTree tree("rapl");
  auto nvml = no_nvml();
  std::vector<MeterInfo> infos = list_meters();
  std::vector<std::string> names;
  for (const MeterInfo& info : infos) {
    names.push_back(info.name);
    EXPECT_EQ(info.available, info.reason.empty()) << info.name << ": " << info.reason;
  }
  EXPECT_EQ(names,
            (std::vector<std::string>{"ina231", "hwmon", "rapl", "nvml", "external", "none"}));
  EXPECT_TRUE(infos[2].available);
  EXPECT_EQ(infos[2].rails.size(), 2u);
  EXPECT_NE(infos[3].reason.find("libscout-no-such-nvml.so"), std::string::npos) << infos[3].reason;
  nlohmann::json j = to_json(infos[3]);
  EXPECT_EQ(j["available"], false);
  EXPECT_TRUE(j.contains("reason"));
  EXPECT_EQ(to_json(infos[2])["rails"][0]["name"], "package-0");
}

TEST(Registry, AutoPrefersTheBoardsOwnRails) {
  auto nvml = no_nvml();
  {
    SysfsTree tree("odroid-xu3");
    EXPECT_EQ(create_meter("auto")->name(), "ina231");
  }
  {
    SysfsTree tree("jetson-tx2-hwmon");
    EXPECT_EQ(create_meter("auto")->name(), "hwmon");
  }
  {
    SysfsTree tree("rapl");
    EXPECT_EQ(create_meter("auto")->name(), "rapl");
  }
}

TEST(Registry, AutoWithoutAnyMeterIsNoneAndSaysWhy) {
  SysfsTree tree("");
  auto nvml = no_nvml();
  auto meter = create_meter("auto");
  EXPECT_EQ(meter->name(), "none");
  EXPECT_FALSE(measures_energy(*meter));
  EXPECT_NE(meter->description().find("no power meter that sees the CPU"), std::string::npos);
  EXPECT_NE(meter->description().find("rapl: no powercap interface"), std::string::npos)
      << meter->description();
}

// A GPU run: auto takes a meter that sees the GPU (NVML, or the board's rails), never RAPL, which
// sees only the CPU package.
TEST(Registry, AutoForAGpuRunNeverPicksTheCpuPackage) {
  auto nvml = no_nvml();
  {
    SysfsTree tree("rapl");
    auto meter = create_meter("auto", {}, "gpu");
    EXPECT_EQ(meter->name(), "none");
    EXPECT_NE(meter->description().find("no power meter that sees the GPU"), std::string::npos)
        << meter->description();
    EXPECT_EQ(create_meter("auto", {}, "cpu")->name(), "rapl");
  }
  {
    SysfsTree tree("jetson-tx2-hwmon");  // the module's input rail includes the GPU
    EXPECT_EQ(create_meter("auto", {}, "gpu")->name(), "hwmon");
  }
}

TEST(Registry, CoverageDecidesWhichRunsAMeterSees) {
  EXPECT_TRUE(sees_device(Coverage::kCpu, "cpu"));
  EXPECT_FALSE(sees_device(Coverage::kCpu, "gpu"));
  EXPECT_TRUE(sees_device(Coverage::kGpu, "gpu"));
  EXPECT_FALSE(sees_device(Coverage::kGpu, "cpu"));
  EXPECT_TRUE(sees_device(Coverage::kBoard, "cpu"));
  EXPECT_TRUE(sees_device(Coverage::kBoard, "gpu"));
  SysfsTree tree("rapl");
  auto nvml = no_nvml();
  EXPECT_EQ(create_meter("rapl")->covers(), Coverage::kCpu);
}

TEST(Registry, UnknownAndUnavailableNames) {
  SysfsTree tree("");
  auto nvml = no_nvml();
  try {
    create_meter("monsoon");
    FAIL() << "an unknown meter name was accepted";
  } catch (const Unavailable&) {
    FAIL() << "an unknown name must be an Error, not Unavailable";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown meter \"monsoon\""), std::string::npos);
  }
  EXPECT_THROW(create_meter("rapl"), Unavailable);
  EXPECT_THROW(create_meter("nvml"), Unavailable);
  MeterOptions bad;
  bad.sample_hz = 0;
  EXPECT_THROW(create_meter("none", bad), Error);
}

}  // namespace
}  // namespace libscout::power
