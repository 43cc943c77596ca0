// The written report of a quick study: every file; no table lists a row twice; every figure's
// axes cover its data and no two series share a colour; failed and invalid runs shown as such; the
// first screen names the library to use per model; the method's fields and the library versions
// shown wherever the study wrote them; energy from a meter that cannot see the device not ranked;
// GPU rows beside CPU rows; the page rendered in headless Chromium at desktop and phone widths
// (skipped where Debian's chromium is not installed).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <set>

#include "fixture_study.h"
#include "report/figures.h"
#include "report/report_writer.h"
#include "report_checks.h"
#include "xml_check.h"

namespace libscout::report {
namespace {

using nlohmann::json;
using testing::count;
using testing::read_text;
using testing::TempDir;
using testing::xml_error;

class ReportWriter : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    out_ = new TempDir;
    files_ = new ReportFiles(write_report({load_study(testing::fixture("quick_cpu"))}, out_->path(), {}));
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

// The value of a row of the HTML table whose first cell is `name`, in the first table that has one.
std::string table_value(const std::string& html, const std::string& name) {
  for (const auto& table : testing::html_tables(html))
    for (const auto& row : table)
      if (row.size() > 1 && (row[0] == name || row[0].rfind(name + " (", 0) == 0)) return row[1];
  return "(no row " + name + ")";
}

void expect_tables_without_duplicates(const std::string& html) {
  ASSERT_FALSE(testing::html_tables(html).empty());
  const auto duplicates = testing::duplicate_rows(html);
  EXPECT_TRUE(duplicates.empty()) << "listed twice: " << duplicates.front();
}

void expect_figures_readable(const std::vector<std::string>& svgs) {
  for (const auto& svg : svgs) {
    EXPECT_EQ(xml_error(svg), "");
    const auto axes = testing::axis_problems(svg);
    EXPECT_TRUE(axes.empty()) << axes.front();
    const auto colours = testing::colour_problems(svg);
    EXPECT_TRUE(colours.empty()) << colours.front();
  }
}

TEST_F(ReportWriter, WritesEveryFile) {
  EXPECT_TRUE(std::filesystem::is_regular_file(files_->html));
  EXPECT_TRUE(std::filesystem::is_regular_file(files_->markdown));
  EXPECT_TRUE(std::filesystem::is_regular_file(files_->json));
  EXPECT_EQ(files_->figures.size(), 4u);  // latency, energy, power, SGEMM: no batch above 1
  for (const auto& entry : std::filesystem::recursive_directory_iterator(out_->path()))
    EXPECT_NE(entry.path().extension(), ".tmp") << entry.path();
  const auto j = json::parse(read_text(files_->json));
  EXPECT_EQ(j["schema"], "libscout.report/1");
  EXPECT_EQ(j["table2"].size(), testing::quick_study_json()["config"]["models"].size());
}

TEST_F(ReportWriter, NoTableListsARowTwice) { expect_tables_without_duplicates(read_text(files_->html)); }

TEST_F(ReportWriter, EveryFigureCoversItsDataAndGivesEachSeriesItsColour) {
  std::vector<std::string> svgs;
  for (const auto& figure : files_->figures) svgs.push_back(read_text(figure));
  expect_figures_readable(svgs);
  // The SGEMM figure has one panel per thread count asked.
  std::set<int> thread_counts;
  const json document = testing::quick_study_json();
  for (const auto& row : document["gemm"])
    thread_counts.insert(row.value("threads_requested", row["threads"].get<int>()));
  const std::string gemm = read_text(out_->path() / "figures" / "gemm_gflops.svg");
  EXPECT_EQ(count(gemm, "class=\"panel\""), thread_counts.size());
  // The latency figure draws on a log axis.
  EXPECT_NE(read_text(out_->path() / "figures" / "latency.svg").find("data-scale=\"log\""), std::string::npos);
}

TEST_F(ReportWriter, FailedAndInvalidRunsAreShownAsSuchNeverAsZero) {
  const std::string latency = read_text(out_->path() / "figures" / "latency.svg");
  const StudyResults s = load_study(testing::fixture("quick_cpu"));
  std::set<std::string> ranked;
  for (const auto& r : s.runs)
    if (r.rankable()) ranked.insert(r.model + "/" + r.backend);
  for (const auto& r : s.runs) {
    if (ranked.count(r.model + "/" + r.backend)) continue;
    EXPECT_NE(latency.find(">" + to_string(r.status) + ": "), std::string::npos) << r.backend;
  }
  EXPECT_EQ(latency.find("data-value=\"0\""), std::string::npos);
}

TEST_F(ReportWriter, TheFirstScreenNamesTheLibraryPerModelWithItsInterval) {
  const std::string html = read_text(files_->html);
  const auto summary = html.find("<section class=\"summary\">");
  ASSERT_NE(summary, std::string::npos);
  EXPECT_LT(summary, html.find("<table"));
  const std::string cards = html.substr(summary, html.find("</section>", summary) - summary);
  const json document = testing::quick_study_json();
  for (const auto& model : document["config"]["models"]) {
    EXPECT_NE(cards.find(model_display_name(model)), std::string::npos) << model;
  }
  EXPECT_EQ(count(cards, "class=\"card\""), testing::quick_study_json()["config"]["models"].size());
  EXPECT_NE(cards.find(" to "), std::string::npos) << cards;  // an interval
}

TEST_F(ReportWriter, MethodFieldsAndVersionsAreShownWhereTheStudyWroteThem) {
  const std::string html = read_text(files_->html);
  const json document = testing::quick_study_json();
  const std::pair<const char*, const char*> fields[] = {
      {"warmup", "Warm-up inferences"},
      {"min_time_s", "Timing rule"},
      {"rounds", "Rounds per row"},
      {"ci_method", "Confidence interval of each median"},
      {"cpu_governor", "CPU frequency governor"},
      {"smt_siblings_used", "SMT siblings used"},
      {"idle_s", "Idle power measured for"},
      {"cooldown_s", "Cool-down before the idle measurement"},
      {"energy_min_time_s", "Energy window (minimum)"},
  };
  for (const auto& [key, name] : fields) {
    const std::string value = table_value(html, name);
    EXPECT_EQ(value.find("(no row"), std::string::npos) << value;
    if (document["method"].contains(key)) {
      EXPECT_NE(value, "not recorded") << name;
    }
  }
  EXPECT_NE(table_value(html, "Timed inferences per row"), "not recorded");
  // Every library the study lists, with its version; else every SGEMM provider's version.
  json versions = document.value("libraries", json::object());
  if (versions.empty())
    for (const auto& g : document["gemm"])
      if (g.contains("version") && !g["version"].get<std::string>().empty())
        versions[g["provider"].get<std::string>()] = g["version"];
  ASSERT_FALSE(versions.empty());
  const auto tables = testing::html_tables(html);
  for (const auto& [library, version] : versions.items()) {
    bool found = false;
    for (const auto& table : tables)
      for (const auto& row : table)
        found |= row.size() > 1 && (row[0] == library || row[0].rfind(library + " (", 0) == 0) &&
                 row[1] == version.get<std::string>();
    EXPECT_TRUE(found) << library << " " << version;
  }
}

TEST(ReportEnergy, AMeterThatCannotSeeTheDeviceGivesNoEnergyFigure) {
  TempDir out;
  const StudyResults s = testing::quick_study([](json& d) {
    for (auto& row : d["runs"]) row["energy"] = testing::energy_json("nvml", "gpu", 80);
  });
  const auto files = write_report({s}, out.path(), {});
  const std::string md = read_text(files.markdown);
  EXPECT_NE(md.find("o energy figure: the nvml meter sees the GPU, not the CPU"), std::string::npos);
  const auto j = json::parse(read_text(files.json));
  for (const auto& e : j["table2"]) {
    EXPECT_EQ(e["energy_measured"], false);
    EXPECT_TRUE(e["energy_efficiency"].is_null());
    EXPECT_TRUE(e["most_efficient"].is_null());
  }
  const std::string energy = read_text(out.path() / "figures" / "energy.svg");
  EXPECT_EQ(testing::mark_count(energy), 0u);
  EXPECT_NE(energy.find("no energy figure: the nvml meter sees the GPU, not the CPU"), std::string::npos);
}

TEST(ReportEnergy, EnergyAndPowerFiguresOfAMeterThatSeesTheDevice) {
  TempDir out;
  const StudyResults s = testing::quick_study([](json& d) {
    double mj = 40;
    for (auto& row : d["runs"]) row["energy"] = testing::energy_json("rapl", "cpu", mj *= 1.3);
  });
  const auto files = write_report({s}, out.path(), {});
  ASSERT_EQ(files.figures.size(), 4u);
  std::vector<std::string> svgs;
  for (const auto& figure : files.figures) svgs.push_back(read_text(figure));
  expect_figures_readable(svgs);
  EXPECT_GT(testing::mark_count(read_text(out.path() / "figures" / "energy.svg")), 0u);
  EXPECT_GT(testing::mark_count(read_text(out.path() / "figures" / "power.svg")), 0u);
  const auto j = json::parse(read_text(files.json));
  for (const auto& e : j["table2"]) EXPECT_EQ(e["energy_measured"], true);
}

TEST(ReportGpu, GpuRowsStandBesideCpuRowsWithImagesPerSecond) {
  TempDir out;
  const StudyResults s = testing::quick_study([](json& d) {
    d["runs"].push_back(testing::gpu_row("squeezenet1.1", "cudnn", 1, 0.5));
    d["runs"].push_back(testing::gpu_row("squeezenet1.1", "cudnn", 64, 20));
  });
  ReportOptions options;
  options.baseline = "cudnn";
  const auto files = write_report({s}, out.path(), options);
  ASSERT_EQ(files.figures.size(), 5u);  // latency, throughput, energy, power, SGEMM
  const std::string throughput = read_text(out.path() / "figures" / "throughput.svg");
  EXPECT_NE(throughput.find(">3200 img/s<"), std::string::npos);
  const std::string html = read_text(files.html);
  expect_tables_without_duplicates(html);
  EXPECT_NE(html.find("Throughput at larger batches"), std::string::npos);
  const auto j = json::parse(read_text(files.json));
  ASSERT_EQ(j["throughput"].size(), 1u);
  EXPECT_EQ(j["throughput"][0]["fastest"]["device"], "gpu");
  EXPECT_DOUBLE_EQ(j["throughput"][0]["fastest"]["images_per_s"].get<double>(), 3200);
}

TEST(ReportGpu, ARealGpuStudyAgainstAGpuBaseline) {
  TempDir out;
  ReportOptions options;
  options.baseline = "gemm:cublas";
  const auto files = write_report({load_study(testing::fixture("quick_gpu"))}, out.path(), options);
  ASSERT_EQ(files.figures.size(), 5u);  // latency, throughput, energy, power, SGEMM
  std::vector<std::string> svgs;
  for (const auto& figure : files.figures) svgs.push_back(read_text(figure));
  expect_figures_readable(svgs);
  const std::string html = read_text(files.html);
  expect_tables_without_duplicates(html);
  const auto j = json::parse(read_text(files.json));
  EXPECT_EQ(j["baseline"], "gemm:cublas");
  for (const auto& e : j["table2"]) {
    EXPECT_TRUE(e["baseline_missing"].is_null());
    EXPECT_EQ(e["baseline"]["device"], "gpu");
    EXPECT_TRUE(e["speedup"].is_number());
  }
  EXPECT_FALSE(j["throughput"].empty());
  for (const auto& e : j["throughput"]) EXPECT_GT(e["fastest"]["images_per_s"].get<double>(), 0);
  // CPU rows, which no meter here could see, show as such in the energy figure.
  EXPECT_NE(read_text(out.path() / "figures" / "energy.svg").find("no power meter that sees the CPU"),
            std::string::npos);
}

// A library's row that includes layers run on the fallback says so, with their share of the time.
TEST(ReportFallback, FallbackLayersAndTheirShareStandNextToTheRow) {
  TempDir out;
  std::string backend;
  const StudyResults s = testing::quick_study([&](json& d) {
    json& row = *testing::ranked_rows(d, "squeezenet1.1").front();
    row["fallback_backend"] = "gemm:openblas";
    row["fallback_layer_names"] = {"conv1", "fire2/squeeze1x1"};
    row["fallback_layers"] = 2;
    row["fallback_time_share"] = 0.125;
    backend = row["backend"];
  });
  const std::string html = read_text(write_report({s}, out.path(), {}).html);
  bool found = false;
  for (const auto& table : testing::html_tables(html))
    for (const auto& row : table)
      for (const auto& cell : row)
        found |= cell == "2 layers on gemm:openblas, 12.5% of the time (conv1, fire2/squeeze1x1)" &&
                 row[0] == backend;
  EXPECT_TRUE(found) << backend;
}

TEST(ReportBusyMachine, RowsTheStudyMarkedBusyAreListed) {
  TempDir out;
  std::string backend;
  const StudyResults s = testing::quick_study([&](json& d) {
    for (auto& row : d["runs"]) row["busy"] = false;
    json& row = *testing::ranked_rows(d, "squeezenet1.1").front();
    row["busy"] = true;
    row["busy_cores_at_start"] = 1.4;
    backend = row["backend"];
  });
  const std::string md = read_text(write_report({s}, out.path(), {}).markdown);
  const std::size_t at = md.find("Measured on a busy machine");
  ASSERT_NE(at, std::string::npos);
  const std::string section = md.substr(at, md.find("\n#", at) - at);
  EXPECT_NE(section.find("SqueezeNet v1.1 on " + backend), std::string::npos) << section;
  EXPECT_NE(section.find("1.4"), std::string::npos) << section;
  EXPECT_EQ(count(section, "\n| "), 2u) << section;  // the header and one row
}

TEST(ReportFormats, WritesOnlyTheFormatsAsked) {
  TempDir out;
  ReportOptions options;
  options.html = options.markdown = false;
  const auto files = write_report({load_study(testing::fixture("run_files"))}, out.path(), options);
  EXPECT_TRUE(files.html.empty());
  EXPECT_TRUE(std::filesystem::exists(out.path() / "report.json"));
  EXPECT_FALSE(std::filesystem::exists(out.path() / "report.html"));
  EXPECT_FALSE(std::filesystem::exists(out.path() / "figures"));
}

// Runs a shell command; returns its exit status.
int shell(const std::string& command) {
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Width and height from a PNG's IHDR chunk.
std::pair<unsigned, unsigned> png_size(const std::string& image) {
  auto be32 = [&](std::size_t at) {
    unsigned v = 0;
    for (std::size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(image[at + i]);
    return v;
  };
  return {be32(16), be32(20)};
}

TEST_F(ReportWriter, RendersInHeadlessChromiumAtDesktopAndPhoneWidths) {
  if (shell("command -v chromium >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "chromium is not installed (apt install chromium)";
  const auto dir = out_->path();
  const std::string common = "timeout 120 chromium --headless --no-sandbox --disable-gpu "
                             "--no-first-run --disable-background-networking --user-data-dir='" +
                             (dir / "profile").string() + "' --enable-logging=stderr --v=0 ";
  const std::string url = "'file://" + std::filesystem::absolute(files_->html).string() + "'";
  ASSERT_EQ(shell(common + "--dump-dom " + url + " >'" + (dir / "dom.html").string() + "' 2>'" +
                  (dir / "dom.log").string() + "'"),
            0)
      << read_text(dir / "dom.log");
  const std::string dom = read_text(dir / "dom.html");
  EXPECT_NE(dom.find("class=\"summary\""), std::string::npos);
  EXPECT_EQ(read_text(dir / "dom.log").find(":CONSOLE"), std::string::npos);
  for (unsigned width : {1280u, 390u}) {
    const auto png = dir / ("report-" + std::to_string(width) + ".png");
    ASSERT_EQ(shell(common + "--hide-scrollbars --window-size=" + std::to_string(width) +
                    ",2000 --screenshot='" + png.string() + "' " + url + " >/dev/null 2>&1"),
              0);
    const std::string image = read_text(png);
    ASSERT_GT(image.size(), 24u);
    EXPECT_EQ(image.substr(1, 3), "PNG");
    EXPECT_EQ(png_size(image), std::make_pair(width, 2000u));
    EXPECT_GT(image.size(), 30000u);  // tables and cards, not a blank page
  }
}

}  // namespace
}  // namespace libscout::report
