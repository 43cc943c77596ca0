// `libscout report` as the command line parses it: inputs, --out, --format, --baseline, and the
// one-line errors for bad input.
#include <gtest/gtest.h>

#include "cli/commands.h"
#include "core/error.h"
#include "xml_check.h"

namespace libscout::cli {
namespace {

using report::testing::fixture;
using report::testing::read_text;
using report::testing::TempDir;

void run_cli(std::vector<std::string> args) {
  CLI::App app;
  app.require_subcommand(1);
  add_report_command(app);
  args.insert(args.begin(), "libscout");
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  app.parse(static_cast<int>(argv.size()), argv.data());
}

TEST(ReportCommand, MergesDevicesIntoTheOutputDirectory) {
  TempDir out;
  run_cli({"report", fixture("quick_cpu").string(), fixture("run_files").string(), "--out",
           out.path().string(), "--format", "json,md", "--baseline", "gemm:blis"});
  EXPECT_TRUE(std::filesystem::exists(out.path() / "report.md"));
  EXPECT_TRUE(std::filesystem::exists(out.path() / "figures" / "latency.svg"));
  EXPECT_FALSE(std::filesystem::exists(out.path() / "report.html"));
  const auto j = nlohmann::json::parse(read_text(out.path() / "report.json"));
  EXPECT_EQ(j["baseline"], "gemm:blis");
  EXPECT_EQ(j["devices"].size(), 2u);
}

TEST(ReportCommand, BadInputGivesAOneLineError) {
  TempDir out;
  const std::string a = fixture("quick_cpu").string(), b = fixture("run_files").string();
  EXPECT_THROW(run_cli({"report", a, "--out", out.path().string(), "--format", "pdf"}), Error);
  EXPECT_THROW(run_cli({"report", a, "--out", out.path().string(), "--format", ","}), Error);
  EXPECT_THROW(run_cli({"report", a, b}), Error);  // several inputs need --out
  EXPECT_THROW(run_cli({"report", (out.path() / "missing").string(), "--out",
                        out.path().string()}),
               Error);
  EXPECT_THROW(run_cli({"report"}), CLI::ParseError);
}

}  // namespace
}  // namespace libscout::cli
