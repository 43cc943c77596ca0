// The written report for the two fixture devices: every file, Table 2 in each format, the figures,
// well-formed HTML and SVG (expat), nothing loaded from outside the page, and the page rendered
// in headless Chromium (skipped where Debian's chromium is not installed).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>

#include "report/figures.h"
#include "report/report_writer.h"
#include "xml_check.h"

namespace libscout::report {
namespace {

using testing::count;
using testing::fixture;
using testing::read_text;
using testing::TempDir;
using testing::xml_error;

class ReportWriter : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    out_ = new TempDir;
    files_ = new ReportFiles(write_report(
        {load_study(fixture("device_a")), load_study(fixture("device_b"))}, out_->path(), {}));
  }
  static void TearDownTestSuite() {
    delete files_;
    delete out_;
  }
  static TempDir* out_;
  static ReportFiles* files_;
};
TempDir* ReportWriter::out_ = nullptr;
ReportFiles* ReportWriter::files_ = nullptr;

TEST_F(ReportWriter, WritesEveryFile) {
  EXPECT_TRUE(std::filesystem::is_regular_file(files_->html));
  EXPECT_TRUE(std::filesystem::is_regular_file(files_->markdown));
  EXPECT_TRUE(std::filesystem::is_regular_file(files_->json));
  ASSERT_EQ(files_->figures.size(), 4u);
  for (const auto& figure : files_->figures) {
    EXPECT_EQ(xml_error(read_text(figure)), "") << figure;
  }
  for (const auto& entry : std::filesystem::recursive_directory_iterator(out_->path()))
    EXPECT_NE(entry.path().extension(), ".tmp") << entry.path();
}

TEST_F(ReportWriter, JsonHoldsTable2) {
  const auto j = nlohmann::json::parse(read_text(files_->json));
  EXPECT_EQ(j["schema"], "libscout.report/1");
  EXPECT_EQ(j["baseline"], "gemm:openblas");
  ASSERT_EQ(j["devices"].size(), 2u);
  EXPECT_EQ(j["devices"][0]["energy_measured"], true);
  EXPECT_EQ(j["devices"][1]["energy_measured"], false);
  ASSERT_EQ(j["table2"].size(), 4u);
  const auto& sq = j["table2"][0];
  EXPECT_EQ(sq["device"], "rpi3-fixture");
  EXPECT_EQ(sq["fastest"]["backend"], "xnnpack");
  EXPECT_DOUBLE_EQ(sq["fastest"]["latency_ms"].get<double>(), 90.0);
  EXPECT_NEAR(sq["fastest"]["energy_j"].get<double>(), 0.3, 1e-12);
  EXPECT_DOUBLE_EQ(sq["baseline"]["latency_ms"].get<double>(), 300.0);
  EXPECT_NEAR(sq["baseline"]["energy_j"].get<double>(), 0.9, 1e-12);
  EXPECT_NEAR(sq["speedup"].get<double>(), 300.0 / 90.0, 1e-12);
  EXPECT_NEAR(sq["energy_efficiency"].get<double>(), 3.0, 1e-12);
  const auto& desk = j["table2"][2];
  EXPECT_EQ(desk["fastest"]["backend"], "gemm:blis");
  EXPECT_TRUE(desk["most_efficient"].is_null());
  EXPECT_TRUE(desk["energy_efficiency"].is_null());
  EXPECT_TRUE(desk["fastest"]["energy_j"].is_null());
  EXPECT_EQ(j["not_ranked"].size(), 7u);
  ASSERT_EQ(j["warnings"].size(), 3u);  // one unreadable file on A, two on B
}

TEST_F(ReportWriter, MarkdownHasTable2AndRefersToTheFigures) {
  const std::string md = read_text(files_->markdown);
  EXPECT_NE(md.find("## Table 2"), std::string::npos);
  EXPECT_NE(md.find("| Fastest backend (threads) | xnnpack (4) | armcl:neon (4) | gemm:blis (2) | "
                    "gemm:blis (2) |"),
            std::string::npos);
  EXPECT_NE(md.find("| Speed-up over gemm:openblas | 3.33x | 4.44x | 1.20x | 1.50x |"),
            std::string::npos);
  EXPECT_NE(md.find("| Energy efficiency over gemm:openblas | 3.00x | 2.40x | not measured | "
                    "not measured |"),
            std::string::npos);
  for (const char* figure : {"figures/gemm_gflops.svg", "figures/latency.svg",
                             "figures/energy.svg", "figures/power.svg"}) {
    EXPECT_NE(md.find(std::string("](") + figure + ")"), std::string::npos) << figure;
  }
  EXPECT_NE(md.find("squeezenet_blis_t4.json"), std::string::npos);  // the warning is reported
}

TEST_F(ReportWriter, HtmlIsWellFormedSelfContainedAndComplete) {
  const std::string html = read_text(files_->html);
  EXPECT_EQ(xml_error(html), "");
  EXPECT_EQ(count(html, "<svg"), 4u);
  EXPECT_GE(count(html, "<table>"), 6u);
  EXPECT_NE(html.find("<meta name=\"viewport\""), std::string::npos);
  // Nothing is fetched: no scripts, links, images or URLs other than the SVG namespace.
  for (const char* external : {"<script", "<link", "<img", "src=", "href=", "url(", "@import"})
    EXPECT_EQ(html.find(external), std::string::npos) << external;
  EXPECT_EQ(count(html, "http"), count(html, "xmlns=\"http://www.w3.org/2000/svg\""));
  // The device without a meter says so in the energy and power figures.
  EXPECT_EQ(count(html, std::string(">") + kNoMeterMessage + "<"), 2u);
  // The failed and invalid backends appear as such, in the figure and in the list.
  EXPECT_NE(html.find(">failed</text>"), std::string::npos);
  EXPECT_NE(html.find(">invalid</text>"), std::string::npos);
  EXPECT_NE(html.find("killed by signal 11 (SIGSEGV)"), std::string::npos);
}

TEST(ReportBusyMachine, RunsTakenOnABusyMachineAreListed) {
  TempDir out;
  const auto files = write_report({load_study(fixture("inline"))}, out.path(), {});
  const std::string md = read_text(files.markdown);
  const std::size_t at = md.find("Measured on a busy machine");
  ASSERT_NE(at, std::string::npos);
  const std::string section = md.substr(at, md.find("\n#", at) - at);
  EXPECT_NE(section.find("squeezenet1.1 on gemm:eigen, 2 threads"), std::string::npos) << section;
  EXPECT_NE(section.find("1.4"), std::string::npos) << section;
  EXPECT_EQ(section.find("gemm:openblas"), std::string::npos) << section;  // was idle
}

TEST_F(ReportWriter, NoBusyMachineSectionWhenEveryRunWasIdle) {
  EXPECT_EQ(read_text(files_->markdown).find("Measured on a busy machine"), std::string::npos);
}

TEST(ReportFormats, WritesOnlyTheFormatsAsked) {
  TempDir out;
  ReportOptions options;
  options.html = options.markdown = false;
  const auto files = write_report({load_study(fixture("inline"))}, out.path(), options);
  EXPECT_TRUE(files.html.empty());
  EXPECT_TRUE(std::filesystem::exists(out.path() / "report.json"));
  EXPECT_FALSE(std::filesystem::exists(out.path() / "report.html"));
  EXPECT_FALSE(std::filesystem::exists(out.path() / "figures"));
}

TEST(ReportFigures, GemmFigureHasOneLinePerProviderAndDevice) {
  const auto figure = gemm_figure({load_study(fixture("device_a")), load_study(fixture("device_b"))});
  ASSERT_EQ(figure.panels.size(), 2u);
  const auto& a = std::get<svg::LineChart>(figure.panels[0]);
  ASSERT_EQ(a.series.size(), 3u);  // openblas, blis, naive; clblast failed validation
  EXPECT_EQ(a.series[0].name, "openblas");
  EXPECT_EQ(a.series[0].points.size(), 5u);
  const auto& b = std::get<svg::LineChart>(figure.panels[1]);
  EXPECT_EQ(b.series.size(), 4u);  // two providers at two thread counts
  EXPECT_EQ(b.series[0].name, "openblas, 1 thr");
}

// Runs a shell command; returns its exit status.
int shell(const std::string& command) {
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST_F(ReportWriter, RendersInHeadlessChromium) {
  if (shell("command -v chromium >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "chromium is not installed (apt install chromium)";
  const auto dir = out_->path();
  const std::string common = "timeout 120 chromium --headless --no-sandbox --disable-gpu "
                             "--no-first-run --user-data-dir='" + (dir / "profile").string() +
                             "' --enable-logging=stderr --v=0 ";
  const std::string url = "'file://" + std::filesystem::absolute(files_->html).string() + "'";
  ASSERT_EQ(shell(common + "--dump-dom " + url + " >'" + (dir / "dom.html").string() + "' 2>'" +
                  (dir / "dom.log").string() + "'"),
            0)
      << read_text(dir / "dom.log");
  const std::string dom = read_text(dir / "dom.html");
  EXPECT_EQ(count(dom, "<svg"), 4u);
  EXPECT_GE(count(dom, "<table"), 6u);
  EXPECT_NE(dom.find("Table 2: the best backend against gemm:openblas"), std::string::npos);
  EXPECT_EQ(read_text(dir / "dom.log").find(":CONSOLE"), std::string::npos)
      << read_text(dir / "dom.log");

  const auto png = dir / "report.png";
  ASSERT_EQ(shell(common + "--hide-scrollbars --window-size=1280,3000 --screenshot='" +
                  png.string() + "' " + url + " >/dev/null 2>'" + (dir / "shot.log").string() +
                  "'"),
            0)
      << read_text(dir / "shot.log");
  const std::string image = read_text(png);
  ASSERT_GT(image.size(), 24u);
  EXPECT_EQ(image.substr(1, 3), "PNG");
  // Width and height from the IHDR chunk; a page of tables and figures compresses far less than
  // a blank one (about 10 kB at this size).
  auto be32 = [&](std::size_t at) {
    return (static_cast<unsigned>(static_cast<unsigned char>(image[at])) << 24) |
           (static_cast<unsigned>(static_cast<unsigned char>(image[at + 1])) << 16) |
           (static_cast<unsigned>(static_cast<unsigned char>(image[at + 2])) << 8) |
           static_cast<unsigned>(static_cast<unsigned char>(image[at + 3]));
  };
  EXPECT_EQ(be32(16), 1280u);
  EXPECT_EQ(be32(20), 3000u);
  EXPECT_GT(image.size(), 100000u);
  EXPECT_EQ(read_text(dir / "shot.log").find(":CONSOLE"), std::string::npos);
}

}  // namespace
}  // namespace libscout::report
