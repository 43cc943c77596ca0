// Reading results: a study manifest that names result files, a directory of result files without
// one, a manifest with rows inline, single files, and every kind of unreadable input.
#include <gtest/gtest.h>

#include "core/error.h"
#include "report/study_results.h"
#include "report/table2.h"
#include "xml_check.h"

namespace libscout::report {
namespace {

using testing::find_run;
using testing::fixture;

bool any_warning_has(const StudyResults& s, const std::string& a, const std::string& b) {
  for (const auto& w : s.warnings)
    if (w.find(a) != std::string::npos && w.find(b) != std::string::npos) return true;
  return false;
}

TEST(StudyResults, ReadsTheManifestAndTheFilesItNames) {
  const StudyResults s = load_study(fixture("device_a"));
  EXPECT_EQ(s.device.label, "rpi3-fixture");
  EXPECT_EQ(s.device.cores, 4);
  EXPECT_EQ(s.libraries.at("openblas"), "0.3.21");
  EXPECT_EQ(s.settings.value("warmup", 0), 3);
  // 8 readable run files, plus the crashed, failed and skipped entries that have no file.
  EXPECT_EQ(s.runs.size(), 11u);
  EXPECT_EQ(s.gemm.size(), 16u);
  ASSERT_EQ(s.warnings.size(), 1u) << s.warnings.front();
  EXPECT_TRUE(any_warning_has(s, "squeezenet_blis_t4.json", "not valid JSON"));

  const RunRow* base = find_run(s, "squeezenet1.1", "gemm:openblas", 4);
  ASSERT_NE(base, nullptr);
  EXPECT_EQ(base->status, RowStatus::ok);
  EXPECT_TRUE(base->rankable());
  EXPECT_DOUBLE_EQ(*base->ms_per_inference(), 300.0);
  ASSERT_TRUE(base->energy.has_value());
  EXPECT_EQ(base->energy->meter, "ina219");
  EXPECT_DOUBLE_EQ(*base->energy->mj_per_inference, 900.0);  // 0.9 J in the file
  EXPECT_DOUBLE_EQ(*base->energy->avg_power_w, 3.0);
  EXPECT_DOUBLE_EQ(*base->energy->window_s, 2.0);

  const RunRow* invalid = find_run(s, "squeezenet1.1", "onednn", 4);
  ASSERT_NE(invalid, nullptr);
  EXPECT_EQ(invalid->status, RowStatus::invalid);
  EXPECT_FALSE(invalid->rankable());

  // The file says ok (validated, 100 ms) but the step failed afterwards: the manifest wins.
  const RunRow* late = find_run(s, "mobilenet_v1", "onednn", 4);
  ASSERT_NE(late, nullptr);
  EXPECT_EQ(late->status, RowStatus::failed);
  EXPECT_EQ(late->reason, "time limit of 120 s exceeded");
  EXPECT_TRUE(late->latency_ms.has_value());
  EXPECT_FALSE(late->rankable());

  const RunRow* crashed = find_run(s, "squeezenet1.1", "clblast", 4);
  ASSERT_NE(crashed, nullptr);
  EXPECT_EQ(crashed->status, RowStatus::crashed);
  EXPECT_EQ(crashed->reason, "killed by signal 11 (SIGSEGV)");
  EXPECT_FALSE(crashed->rankable());

  const RunRow* oom = find_run(s, "mobilenet_v1", "clblast", 4);
  ASSERT_NE(oom, nullptr);
  EXPECT_EQ(oom->status, RowStatus::failed);
  EXPECT_NE(oom->reason.find("out of memory"), std::string::npos);

  const RunRow* skipped = find_run(s, "mobilenet_v1", "tvm", 4);
  ASSERT_NE(skipped, nullptr);
  EXPECT_EQ(skipped->status, RowStatus::skipped);

  // A GEMM row that failed validation is read as invalid with the error in its reason.
  int invalid_gemm = 0;
  for (const auto& g : s.gemm) {
    if (g.provider != "clblast") continue;
    ++invalid_gemm;
    EXPECT_EQ(g.status, RowStatus::invalid);
    EXPECT_NE(g.reason.find("0.3"), std::string::npos) << g.reason;
  }
  EXPECT_EQ(invalid_gemm, 1);
  EXPECT_TRUE(s.has_energy());
}

TEST(StudyResults, WithoutAManifestReadsEveryJsonFileAndWarnsAboutTheRest) {
  const StudyResults s = load_study(fixture("device_b"));
  EXPECT_EQ(s.device.label, "Intel Xeon (fixture)");
  EXPECT_EQ(s.runs.size(), 6u);
  EXPECT_EQ(s.gemm.size(), 12u);
  EXPECT_FALSE(s.has_energy());
  ASSERT_EQ(s.warnings.size(), 2u);
  EXPECT_TRUE(any_warning_has(s, "garbage.json", "not valid JSON"));
  EXPECT_TRUE(any_warning_has(s, "notes.json", "example.notes/3"));
  // The GEMM median is read from the statistics object; unknown fields are ignored.
  bool found = false;
  for (const auto& g : s.gemm) {
    if (g.provider == "openblas" && g.threads == 2 && g.m == 1024) {
      found = true;
      EXPECT_NEAR(*g.gflops, 60.0 * 2 * 1024 / (1024 + 128), 1e-3);
      EXPECT_EQ(g.status, RowStatus::ok);
    }
  }
  EXPECT_TRUE(found);
  const RunRow* naive = find_run(s, "mobilenet_v1", "gemm:naive", 2);
  ASSERT_NE(naive, nullptr);
  EXPECT_EQ(naive->status, RowStatus::invalid);
  EXPECT_NE(naive->reason.find("relative L2 error 0.5"), std::string::npos) << naive->reason;
}

TEST(StudyResults, ReadsRowsWrittenInlineInTheManifest) {
  const StudyResults s = load_study(fixture("inline"));
  EXPECT_TRUE(s.warnings.empty());
  ASSERT_EQ(s.runs.size(), 4u);
  ASSERT_EQ(s.gemm.size(), 2u);
  EXPECT_EQ(s.settings.value("quick", false), true);  // "config" stands for the settings
  const RunRow* base = find_run(s, "squeezenet1.1", "gemm:openblas", 2);
  ASSERT_NE(base, nullptr);
  EXPECT_DOUBLE_EQ(*base->ms_per_inference(), 40.0);  // batch 2
  EXPECT_FALSE(base->energy.has_value());
  EXPECT_EQ(find_run(s, "squeezenet1.1", "onednn", 2)->status, RowStatus::invalid);
  EXPECT_EQ(find_run(s, "squeezenet1.1", "clblast", 2)->status, RowStatus::failed);
  EXPECT_EQ(s.gemm[1].status, RowStatus::failed);
  EXPECT_EQ(s.gemm[1].reason, "time limit of 60 s exceeded");
  const auto unranked = unranked_rows({s});
  ASSERT_EQ(unranked.size(), 3u);  // onednn, clblast and the atlas sweep
  EXPECT_EQ(unranked[2].what, "SGEMM on atlas, 2 threads");
}

TEST(StudyResults, ReadsOneResultFile) {
  const StudyResults s = load_study(fixture("device_b") / "squeezenet_openblas.json");
  EXPECT_EQ(s.runs.size(), 2u);
  EXPECT_TRUE(s.gemm.empty());
}

TEST(StudyResults, SaysWhatIsWrongWithInputsThatHoldNoResults) {
  try {
    load_study(fixture("no_such_directory"));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("does not exist"), std::string::npos) << e.what();
  }
  testing::TempDir empty;
  try {
    load_study(empty.path());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("holds no libscout results"), std::string::npos)
        << e.what();
  }
  try {
    load_study(fixture("device_b") / "garbage.json");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not valid JSON"), std::string::npos) << e.what();
  }
}

TEST(StudyResults, ReadsBothSpellingsOfEnergyAndRails) {
  const nlohmann::json run = {
      {"schema", "libscout.run/1"},
      {"device", {{"cpu_model", "x"}}},
      {"results",
       {{{"model", "m"}, {"backend", "a"}, {"threads", 1},
         {"latency_ms", {{"median", 10.0}}}, {"validation", {{"passed", true}}},
         {"energy",
          {{"meter", "rapl"}, {"window_s", 2.0}, {"inferences", 200}, {"avg_power_w", 12.0},
           {"mj_per_inference", 120.0}, {"net_mj_per_inference", 80.0},
           {"rails", {{"package", {{"avg_power_w", 10.0}, {"mj_per_inference", 100.0}}},
                      {"dram", {{"avg_power_w", 2.0}, {"mj_per_inference", 20.0}}}}}}}},
        {{"model", "m"}, {"backend", "b"}, {"threads", 1},
         {"latency_ms", {{"median", 10.0}}}, {"validation", {{"passed", true}}},
         {"energy",
          {{"meter", "ina219"}, {"seconds", 2.0}, {"inferences", 200},
           {"joules_per_inference", 0.05}}}},
        {{"model", "m"}, {"backend", "c"}, {"threads", 1}, {"status", "exploded"},
         {"latency_ms", {{"median", 1.0}}}, {"validation", {{"passed", true}}}},
        {{"model", "m"}, {"backend", "d"}, {"threads", "one"}}}}};
  StudyResults s;
  add_document(s, run, "run.json", ".");
  ASSERT_EQ(s.runs.size(), 3u);
  ASSERT_EQ(s.warnings.size(), 1u);  // the row whose threads are not a number
  EXPECT_NE(s.warnings[0].find("threads should be an integer"), std::string::npos) << s.warnings[0];
  const auto& a = *s.runs[0].energy;
  EXPECT_DOUBLE_EQ(*a.mj_per_inference, 120.0);
  EXPECT_DOUBLE_EQ(*a.net_mj_per_inference, 80.0);
  ASSERT_EQ(a.rails.size(), 2u);
  const auto& b = *s.runs[1].energy;
  EXPECT_DOUBLE_EQ(*b.mj_per_inference, 50.0);
  EXPECT_DOUBLE_EQ(*b.window_s, 2.0);
  EXPECT_DOUBLE_EQ(*b.avg_power_w, 5.0);  // derived: 0.05 J x 200 / 2 s
  // An unknown status is never ranked, and says what it was.
  EXPECT_EQ(s.runs[2].status, RowStatus::failed);
  EXPECT_FALSE(s.runs[2].rankable());
  EXPECT_NE(s.runs[2].reason.find("exploded"), std::string::npos);
}

}  // namespace
}  // namespace libscout::report
