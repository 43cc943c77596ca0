#include "power/sysfs.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "power_fixture.h"

namespace libscout::power {
namespace {

using testing::ScopedEnv;
using testing::TempDir;

TEST(Sysfs, RootsComeFromTheEnvironmentAtEachCall) {
  {
    ScopedEnv sys("LIBSCOUT_SYSFS_ROOT", "/recorded/sys");
    ScopedEnv proc("LIBSCOUT_PROCFS_ROOT", "/recorded/proc");
    EXPECT_EQ(sysfs_path("class/powercap"), fs::path("/recorded/sys/class/powercap"));
    EXPECT_EQ(procfs_path("cpuinfo"), fs::path("/recorded/proc/cpuinfo"));
  }
  ScopedEnv empty("LIBSCOUT_SYSFS_ROOT", "");
  EXPECT_EQ(sysfs_root(), fs::path("/sys"));
}

TEST(Sysfs, NumbersAreParsedWhole) {
  EXPECT_EQ(parse_int(" 262143328850\n"), 262143328850);
  EXPECT_FALSE(parse_int("12 usec"));
  EXPECT_FALSE(parse_int(""));
  EXPECT_EQ(parse_leading_int("263808 usec\n"), 263808);
  EXPECT_FALSE(parse_leading_int("usec"));
  EXPECT_DOUBLE_EQ(*parse_double("1.618540\n"), 1.61854);
  EXPECT_DOUBLE_EQ(*parse_double("+2.5"), 2.5);
  EXPECT_FALSE(parse_double("1.5W"));
}

TEST(Sysfs, ReadErrorsNameTheFileAndTheReason) {
  TempDir dir;
  fs::path file = dir.path() / "energy_uj";
  try {
    read_uint(file);
    FAIL() << "reading a missing file did not throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(file.string()), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("No such file"), std::string::npos) << e.what();
  }
  testing::write_value(file, "12x");
  try {
    read_uint(file);
    FAIL() << "reading \"12x\" as a number did not throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("\"12x\""), std::string::npos) << e.what();
  }
  EXPECT_EQ(check_readable(file), Access::readable);
  EXPECT_EQ(check_readable(dir.path() / "absent"), Access::missing);
}

TEST(Sysfs, WriteReportsFailure) {
  TempDir dir;
  std::string why;
  EXPECT_FALSE(write_text(dir.path() / "absent" / "enable", "1", &why));
  EXPECT_FALSE(why.empty());
  testing::write_value(dir.path() / "enable", "0");
  EXPECT_TRUE(write_text(dir.path() / "enable", "1"));
  EXPECT_EQ(read_text(dir.path() / "enable"), "1");
}

}  // namespace
}  // namespace libscout::power
