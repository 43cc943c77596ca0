// RAPL on the recorded powercap tree: package-0 (near its wrap-around) and its dram subzone.
#include <sys/stat.h>

#include <gtest/gtest.h>

#include "core/error.h"
#include "power/counter_meter.h"
#include "power/meter.h"
#include "power/probes.h"
#include "power_fixture.h"

namespace libscout::power {
namespace {

using testing::SysfsTree;
using testing::write_value;

const std::string kPackage = "class/powercap/intel-rapl:0/energy_uj";
const std::string kDram = "class/powercap/intel-rapl:0:0/energy_uj";

TEST(CounterDelta, CountsForwardAndAcrossOneWrap) {
  EXPECT_EQ(counter_delta(100, 250, 1000), 150u);
  EXPECT_EQ(counter_delta(900, 50, 1000), 150u);  // 900 -> 1000 -> 0 -> 50
  EXPECT_EQ(counter_delta(7, 7, 0), 0u);
  EXPECT_THROW(counter_delta(900, 50, 0), Error);     // backwards, no known range
  EXPECT_THROW(counter_delta(2000, 50, 1000), Error);  // before beyond the range
}

TEST(Rapl, FindsThePackageAndDramZones) {
  SysfsTree tree("rapl");
  auto meter = create_meter("rapl");
  ASSERT_EQ(meter->rails().size(), 2u);
  EXPECT_EQ(meter->rails()[0].name, "package-0");
  EXPECT_TRUE(meter->rails()[0].in_total);
  EXPECT_EQ(meter->rails()[1].name, "dram-0");
  EXPECT_TRUE(meter->rails()[1].in_total);
  EXPECT_NE(meter->description().find("intel-rapl:0:0"), std::string::npos);
}

TEST(Rapl, EnergyAcrossACounterWrap) {
  SysfsTree tree("rapl");
  auto meter = create_meter("rapl");
  meter->start();
  // package-0: 262143000000 -> wraps at 262143328850 -> 1500000: 328850 + 1500000 uJ.
  write_value(tree / kPackage, "1500000");
  // dram: 48209373012 -> 48209873012: 500000 uJ.
  write_value(tree / kDram, "48209873012");
  Measurement m = meter->stop();
  ASSERT_EQ(m.rails.size(), 2u);
  EXPECT_NEAR(m.rails[0].energy_j, 1.828850, 1e-9);
  EXPECT_NEAR(m.rails[1].energy_j, 0.5, 1e-9);
  EXPECT_NEAR(m.energy_j, 2.328850, 1e-9);
  EXPECT_GT(m.duration_s, 0);
  EXPECT_NEAR(m.avg_power_w, m.energy_j / m.duration_s, 1e-9);
  EXPECT_TRUE(m.samples.empty());
  // A second window starts from the counters as they are now.
  meter->start();
  write_value(tree / kPackage, "2500000");
  m = meter->stop();
  EXPECT_NEAR(m.rails[0].energy_j, 1.0, 1e-9);
  EXPECT_NEAR(m.rails[1].energy_j, 0.0, 1e-9);
}

TEST(Rapl, UnreadableCounterIsUnavailableWithHowToGrantAccess) {
  SysfsTree tree("rapl");
  fs::permissions(tree / kPackage, fs::perms::owner_read);  // 0400 root, as since Linux 5.10
  std::string reason = testing::as_unprivileged([] {
    for (const MeterInfo& info : list_meters()) {
      if (info.name == "rapl") return (info.available ? "available: " : "") + info.reason;
    }
    return std::string("rapl not listed");
  });
  EXPECT_NE(reason.find("cannot read the RAPL energy counters"), std::string::npos) << reason;
  EXPECT_NE(reason.find((tree / kPackage).string()), std::string::npos) << reason;
  EXPECT_NE(reason.find("Permission denied"), std::string::npos) << reason;
  EXPECT_NE(reason.find("chmod a+r"), std::string::npos) << reason;
  std::string thrown = testing::as_unprivileged([] {
    try {
      create_meter("rapl");
      return std::string("no exception");
    } catch (const Unavailable& e) {
      return std::string("Unavailable: ") + e.what();
    }
  });
  EXPECT_EQ(thrown.rfind("Unavailable: meter rapl is not available: cannot read", 0), 0u) << thrown;
}

TEST(Rapl, ACounterThatStopsReadingFailsTheWindowNamingTheFile) {
  SysfsTree tree("rapl");
  auto meter = create_meter("rapl");
  meter->start();
  write_value(tree / kDram, "garbage");
  try {
    meter->stop();
    FAIL() << "a garbage counter did not fail the window";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find((tree / kDram).string()), std::string::npos) << e.what();
  }
  // The meter can be used again once the counter reads again.
  write_value(tree / kDram, "48209373012");
  meter->start();
  EXPECT_NO_THROW(meter->stop());
}

TEST(Rapl, NoPowercapSaysSo) {
  SysfsTree tree("");
  testing::ScopedEnv proc("LIBSCOUT_PROCFS_ROOT", tree.root().string());
  Probe probe = probe_rapl({});
  EXPECT_EQ(probe.meter, nullptr);
  EXPECT_NE(probe.reason.find("no powercap interface at " + (tree / "class/powercap").string()),
            std::string::npos)
      << probe.reason;
}

}  // namespace
}  // namespace libscout::power
