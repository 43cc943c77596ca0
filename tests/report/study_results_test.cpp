// Reading results as libscout writes them: a quick study's results.json (rows inline), a folder
// of `libscout run --json` and `libscout gemm --json` files, single files, unreadable inputs, and
// which energy figures may be ranked.
#include <gtest/gtest.h>

#include <fstream>

#include "core/error.h"
#include "fixture_study.h"
#include "report/study_results.h"
#include "report/table2.h"
#include "xml_check.h"

namespace libscout::report {
namespace {

using nlohmann::json;
using testing::fixture;
using testing::quick_study;
using testing::quick_study_json;

TEST(StudyResults, ReadsEveryRowOfAQuickStudyAsWritten) {
  const json document = quick_study_json();
  const StudyResults s = load_study(fixture("quick_cpu"));
  EXPECT_TRUE(s.warnings.empty()) << s.warnings.front();
  ASSERT_EQ(s.runs.size(), document["runs"].size());
  ASSERT_EQ(s.gemm.size(), document["gemm"].size());
  EXPECT_EQ(s.device.cpu_model, document["device"]["cpu_model"]);
  for (std::size_t i = 0; i < s.runs.size(); ++i) {
    const json& row = document["runs"][i];
    const RunRow& r = s.runs[i];
    SCOPED_TRACE(row["step"].get<std::string>());
    EXPECT_EQ(r.model, row["model"]);
    EXPECT_EQ(r.backend, row["backend"]);
    EXPECT_EQ(to_string(r.status), row["status"]);
    EXPECT_EQ(r.rankable(), row["status"] == "ok");
    if (row.contains("threads_requested")) {
      EXPECT_EQ(r.threads_requested, row["threads_requested"].get<int>());
    }
    if (!r.rankable()) continue;
    EXPECT_EQ(r.threads, row["threads"]);
    EXPECT_DOUBLE_EQ(*r.ms_per_inference(), row["latency_ms"]["median"].get<double>());
    if (row["latency_ms"].contains("ci_low")) {
      ASSERT_TRUE(r.ms_per_inference_ci());
      EXPECT_DOUBLE_EQ(r.ms_per_inference_ci()->lo, row["latency_ms"]["ci_low"].get<double>());
      EXPECT_LE(r.ms_per_inference_ci()->lo, *r.ms_per_inference());
      EXPECT_GE(r.ms_per_inference_ci()->hi, *r.ms_per_inference());
    }
    if (row.contains("library_version")) {
      EXPECT_EQ(r.library_version, row["library_version"].get<std::string>());
    }
    EXPECT_EQ(r.fallback_layers, row.value("fallback_layers", 0));
  }
  if (document.contains("method")) {
    EXPECT_EQ(s.method, document["method"]);
  }
  if (document.contains("libraries")) {
    EXPECT_EQ(s.libraries.size(), document["libraries"].size());
  }
}

TEST(StudyResults, AFolderOfRunAndGemmFilesTakesEachDocumentsMethod) {
  const StudyResults s = load_study(fixture("run_files"));
  EXPECT_TRUE(s.warnings.empty()) << s.warnings.front();
  ASSERT_FALSE(s.runs.empty());
  ASSERT_FALSE(s.gemm.empty());
  for (const auto& r : s.runs) {
    EXPECT_TRUE(r.warmup.has_value()) << r.backend;
    EXPECT_TRUE(r.min_time_s.has_value()) << r.backend;
    EXPECT_TRUE(r.rankable()) << r.backend << ": " << r.reason;
  }
  for (const auto& g : s.gemm) EXPECT_FALSE(g.version.empty()) << g.provider;
  EXPECT_TRUE(s.method.is_object());
}

TEST(StudyResults, ReadsOneResultFile) {
  std::string first;
  for (const auto& entry : std::filesystem::directory_iterator(fixture("run_files")))
    if (entry.path().filename().string().rfind("run_", 0) == 0) first = entry.path().string();
  ASSERT_FALSE(first.empty());
  const StudyResults s = load_study(first);
  EXPECT_EQ(s.runs.size(), 1u);
  EXPECT_TRUE(s.gemm.empty());
}

TEST(StudyResults, UnreadableFilesAreWarningsAndTheRestIsRead) {
  testing::TempDir dir;
  for (const auto& entry : std::filesystem::directory_iterator(fixture("run_files")))
    std::filesystem::copy(entry.path(), dir.path() / entry.path().filename());
  std::ofstream(dir.path() / "garbage.json") << "{ not json";
  std::ofstream(dir.path() / "other.json") << R"({"schema": "example.notes/3"})";
  const StudyResults s = load_study(dir.path());
  EXPECT_EQ(s.runs.size(), load_study(fixture("run_files")).runs.size());
  ASSERT_EQ(s.warnings.size(), 2u);
  EXPECT_NE(s.warnings[0].find("garbage.json is not valid JSON"), std::string::npos) << s.warnings[0];
  EXPECT_NE(s.warnings[1].find("example.notes/3"), std::string::npos) << s.warnings[1];
}

TEST(StudyResults, SaysWhatIsWrongWithInputsThatHoldNoResults) {
  EXPECT_THROW(load_study(fixture("no_such_directory")), Error);
  testing::TempDir empty;
  try {
    load_study(empty.path());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("holds no libscout results"), std::string::npos) << e.what();
  }
}

TEST(StudyResults, ARowWithAWrongTypeIsSkippedWithAWarning) {
  const StudyResults s = quick_study([](json& d) { d["runs"][0]["threads"] = "two"; });
  ASSERT_EQ(s.warnings.size(), 1u);
  EXPECT_NE(s.warnings[0].find("threads should be an integer"), std::string::npos) << s.warnings[0];
  EXPECT_EQ(s.runs.size(), quick_study_json()["runs"].size() - 1);
}

TEST(StudyResults, AnUnknownStatusIsNeverRanked) {
  const StudyResults s = quick_study([](json& d) {
    (*testing::ranked_rows(d, "squeezenet1.1").front())["status"] = "exploded";
  });
  std::size_t failed = 0;
  for (const auto& r : s.runs)
    if (r.reason.find("exploded") != std::string::npos) {
      ++failed;
      EXPECT_FALSE(r.rankable());
    }
  EXPECT_EQ(failed, 1u);
}

// Energy is ranked only where the meter sees the device that did the work.
TEST(StudyResults, EnergyFromAMeterThatCannotSeeTheDeviceIsNotAFigure) {
  auto first_ranked = [](const StudyResults& s) -> const RunRow& {
    for (const auto& r : s.runs)
      if (r.rankable()) return r;
    throw std::runtime_error("no ranked row");
  };
  auto with_energy = [](json energy) {
    return quick_study([&](json& d) {
      for (auto& row : d["runs"]) row["energy"] = energy;
    });
  };
  // A GPU rail (NVML) for a CPU run.
  const EnergyFigure gpu_rail = first_ranked(with_energy(testing::energy_json("nvml", "gpu", 50))).energy_figure();
  EXPECT_FALSE(gpu_rail.mj_per_inference);
  EXPECT_NE(gpu_rail.none.find("sees the GPU, not the CPU"), std::string::npos) << gpu_rail.none;
  // The CPU package (RAPL) for a CPU run, and a board meter: figures.
  EXPECT_DOUBLE_EQ(*first_ranked(with_energy(testing::energy_json("rapl", "cpu", 50))).energy_figure().mj_per_inference, 50);
  EXPECT_TRUE(first_ranked(with_energy(testing::energy_json("hwmon", "board", 50))).energy_figure().mj_per_inference);
  // Results written before meters said what they cover: decided by the meter's kind.
  json old = testing::energy_json("nvml", "gpu", 50);
  old.erase("covers");
  EXPECT_FALSE(first_ranked(with_energy(old)).energy_figure().mj_per_inference);
  old["meter"] = "ina231";
  EXPECT_TRUE(first_ranked(with_energy(old)).energy_figure().mj_per_inference);
  // A CPU package for a GPU run.
  StudyResults gpu;
  json row = testing::gpu_row("squeezenet1.1", "cudnn", 1, 0.4);
  row["energy"] = testing::energy_json("rapl", "cpu", 5);
  add_document(gpu, json{{"schema", kRunSchema}, {"results", json::array({row})}}, "gpu.json");
  ASSERT_EQ(gpu.runs.size(), 1u);
  EXPECT_NE(gpu.runs[0].energy_figure().none.find("sees the CPU, not the GPU"), std::string::npos);
}

}  // namespace
}  // namespace libscout::report
