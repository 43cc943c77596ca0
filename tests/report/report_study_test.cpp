// The report of a study run here and now through the real executable (no fixture): a short quick
// study of a few backends and providers at two thread counts, then checks on its own results.json
// and report: no table lists a row twice, every figure's axes cover its data, no two series share
// a colour, the method's fields and the library versions appear wherever the study wrote them.
// One test, so that ctest (one process per test) runs the study once.
#include <gtest/gtest.h>

#include <cstdlib>

#include "report_checks.h"
#include "xml_check.h"

namespace libscout::report {
namespace {

using nlohmann::json;
using testing::read_text;

void expect_tables_and_figures_readable(const std::filesystem::path& study) {
  const std::string html = read_text(study / "report.html");
  ASSERT_EQ(testing::xml_error(html), "");
  const auto duplicates = testing::duplicate_rows(html);
  EXPECT_TRUE(duplicates.empty()) << "listed twice: " << duplicates.front();
  int figures = 0;
  for (const auto& entry : std::filesystem::directory_iterator(study / "figures")) {
    const std::string svg = read_text(entry.path());
    const auto axes = testing::axis_problems(svg);
    EXPECT_TRUE(axes.empty()) << entry.path() << ": " << axes.front();
    const auto colours = testing::colour_problems(svg);
    EXPECT_TRUE(colours.empty()) << entry.path() << ": " << colours.front();
    ++figures;
  }
  EXPECT_EQ(figures, 4);  // latency, energy, power, SGEMM
  EXPECT_GT(testing::mark_count(read_text(study / "figures" / "latency.svg")), 0u);
  EXPECT_GT(testing::mark_count(read_text(study / "figures" / "gemm_gflops.svg")), 0u);
}

void expect_method_and_versions_shown(const std::filesystem::path& study) {
  const json results = json::parse(read_text(study / "results.json"));
  const std::string md = read_text(study / "report.md");
  // The second cell of the first Markdown table row whose first cell is `name` (or starts with
  // "name (", as the library table names a provider and its gemm: backend together).
  auto row = [&](const std::string& name) {
    for (const char* end : {" | ", " ("}) {
      const auto at = md.find("\n| " + name + end);
      if (at == std::string::npos) continue;
      const auto from = md.find(" | ", at + 3) + 3;
      return md.substr(from, md.find(" |", from) - from);
    }
    return std::string("(no row)");
  };
  if (results.contains("method")) {
    const json& method = results["method"];
    if (method.contains("warmup")) EXPECT_NE(row("Warm-up inferences"), "not recorded");
    if (method.contains("min_time_s")) EXPECT_NE(row("Timing rule"), "not recorded");
    if (method.contains("idle_s")) EXPECT_NE(row("Idle power measured for"), "not recorded");
    if (method.contains("cpu_governor")) EXPECT_NE(row("CPU frequency governor"), "not recorded");
  }
  EXPECT_NE(row("Timed inferences per row"), "not recorded");
  for (const auto& g : results["gemm"]) {
    if (g.value("status", "") != "ok") continue;
    const std::string provider = g["provider"];
    const std::string version = results.contains("libraries") && results["libraries"].contains(provider)
                                    ? results["libraries"][provider].get<std::string>()
                                    : g["version"].get<std::string>();
    EXPECT_EQ(row(provider), version) << provider;
  }
}

TEST(ReportOfARealStudy, ReadsAtAGlanceAndShowsWhatTheStudyWrote) {
#ifdef LIBSCOUT_EMULATED
  GTEST_SKIP() << "the study re-executes libscout in child processes, which qemu-user cannot follow";
#endif
  testing::TempDir dir;
  const auto study = dir.path() / "study";
  const std::string command =
      std::string(LIBSCOUT_CLI) +
      " study --quick --models squeezenet1.1 --backends gemm:openblas,gemm:eigen,gemm:naive "
      "--providers openblas,eigen,naive --threads 1,2 --out '" + study.string() + "' >'" +
      (dir.path() / "log").string() + "' 2>&1";
  std::system(command.c_str());  // a step that fails is a row of the report, not an error here
  ASSERT_TRUE(std::filesystem::exists(study / "report.html")) << read_text(dir.path() / "log");
  expect_tables_and_figures_readable(study);
  expect_method_and_versions_shown(study);
}

}  // namespace
}  // namespace libscout::report
