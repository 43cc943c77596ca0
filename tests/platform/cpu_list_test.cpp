// CPU lists in the kernel's notation: parsing, writing back, and one-line errors for bad input.
#include <gtest/gtest.h>

#include "core/error.h"
#include "platform/cpu_list.h"

namespace libscout::platform {
namespace {

TEST(CpuList, ParsesRangesAndSingles) {
  EXPECT_EQ(parse_cpu_list("0-3,6"), (std::vector<int>{0, 1, 2, 3, 6}));
  EXPECT_EQ(parse_cpu_list(" 5 , 1-2 ,2\n"), (std::vector<int>{1, 2, 5}));
  EXPECT_EQ(parse_cpu_list("7"), (std::vector<int>{7}));
  EXPECT_EQ(parse_cpu_list("0,3-5"), (std::vector<int>{0, 3, 4, 5}));
}

TEST(CpuList, RejectsMalformedLists) {
  for (const char* bad : {"", " ", "3-1", "-1", "a", "1,,2", "1-", "0-99999", "1.5", "2-3-4"}) {
    EXPECT_THROW(parse_cpu_list(bad), Error) << '"' << bad << '"';
  }
  try {
    parse_cpu_list("3-1");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("reversed"), std::string::npos) << e.what();
  }
}

TEST(CpuList, FormatsTheShortForm) {
  EXPECT_EQ(format_cpu_list({0, 1, 2, 3, 6}), "0-3,6");
  EXPECT_EQ(format_cpu_list({5, 3, 4, 0, 4}), "0,3-5");
  EXPECT_EQ(format_cpu_list({1, 2}), "1,2");
  EXPECT_EQ(format_cpu_list({}), "");
  EXPECT_EQ(parse_cpu_list(format_cpu_list({0, 2, 3, 4, 9})), (std::vector<int>{0, 2, 3, 4, 9}));
}

}  // namespace
}  // namespace libscout::platform
