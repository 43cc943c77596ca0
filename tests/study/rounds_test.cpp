// Through the real executable, with the test plugins of tests/study/plugins/: rounds whose speed
// differs give an interval that covers both speeds; layers a backend declines are named with
// their share of the time; an output of zeros, or one that goes wrong during timing, fails
// validation; --resume with changed options is refused; a plugin that cannot load is listed
// under its kinds and names; a quick study's results say what really ran.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include <nlohmann/json.hpp>

#include "core/plugins.h"
#include "study_dir_fixture.h"

namespace libscout {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class RoundsTest : public study::testing::StudyDirTest {
 protected:
  RoundsTest() : StudyDirTest("libscout-rounds-test-") {}
  void SetUp() override {
    StudyDirTest::SetUp();
    if (!IsSkipped()) fs::create_directories(dir_);
  }

  // Runs libscout with the test plugins and `env`; returns its exit status, keeps its output.
  int libscout(const std::string& args, const std::string& env = "") {
    const std::string cmd = "LIBSCOUT_PLUGIN_DIR=" LIBSCOUT_TEST_PLUGIN_DIR " " + env + " " +
                            LIBSCOUT_CLI + " " + args + " >" + (dir_ / "out.txt").string() +
                            " 2>&1";
    const int rc = std::system(cmd.c_str());
    std::ifstream f(dir_ / "out.txt");
    output_.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  }
  json read(const fs::path& file) const {
    std::ifstream f(file);
    return json::parse(f);
  }
  std::string study_args(const std::string& more, const std::string& quiet_wait = "0") const {
    return "study --quick --no-gemm --models squeezenet1.1 --backends test-scripted --threads 1 "
           "--quiet-wait " + quiet_wait + " --out " + (dir_ / "study").string() + " " + more;
  }

  std::string output_;
};

TEST_F(RoundsTest, ASpeedChangedBetweenRoundsIsInsideTheInterval) {
  // The first, second and third process sleep 100, 400 and 100 ms per inference on top of the inference
  // (a sanitized inference takes up to 700 ms on a busy machine: there, 4x longer sleeps).
#ifdef __SANITIZE_ADDRESS__
  const double slow_ms = 1600;
  const std::string env = "LIBSCOUT_TEST_DELAYS=400,1600 LIBSCOUT_TEST_COUNTER=" +
#else
  const double slow_ms = 400;
  const std::string env = "LIBSCOUT_TEST_DELAYS=100,400 LIBSCOUT_TEST_COUNTER=" +
#endif
                          (dir_ / "counter").string();
  ASSERT_EQ(libscout(study_args("--rounds 3"), env), 0) << output_;
  const json r = read(dir_ / "study" / "results.json");
  ASSERT_EQ(r["runs"].size(), 1u);
  const json& row = r["runs"][0];
  ASSERT_EQ(row["status"], "ok") << row.dump();
  ASSERT_EQ(row["rounds"].size(), 3u);
  double fast = 1e9, slow = 0;
  for (const json& round : row["rounds"]) {
    fast = std::min(fast, round["median_ms"].get<double>());
    slow = std::max(slow, round["median_ms"].get<double>());
  }
  ASSERT_LT(fast, slow_ms) << "no fast round: " << row["rounds"].dump();
  ASSERT_GE(slow, slow_ms) << "no slow round: " << row["rounds"].dump();
  EXPECT_LE(row["latency_ms"]["ci_low"].get<double>(), fast);
  EXPECT_GE(row["latency_ms"]["ci_high"].get<double>(), slow);
  EXPECT_EQ(row["ci"]["method"], "hierarchical-bootstrap-median");
  EXPECT_EQ(row["ci"]["clusters"], 3);
  EXPECT_DOUBLE_EQ(row["ci"]["level"].get<double>(), 0.95);
  EXPECT_EQ(r["round_order"].size(), 3u);
  EXPECT_EQ(r["method"]["rounds"], 3);
}

// A row over a second per inference is not measured in full again: skipped when it was also ten
// times slower than the fastest on a quiet machine, else timed on one inference, no warm-up.
TEST_F(RoundsTest, ASlowRowCostsLittleInLaterRounds) {
  const std::string args =
      "study --quick --no-gemm --models squeezenet1.1 --backends test-scripted,gemm:openblas "
      "--threads 1 --quiet-wait 0 --rounds 2 --out " + (dir_ / "study").string();
  ASSERT_EQ(libscout(args, "LIBSCOUT_TEST_DELAYS=1200"), 0) << output_;
  const json r = read(dir_ / "study" / "results.json");
  for (const json& row : r["runs"]) {
    ASSERT_EQ(row["status"], "ok") << row.dump();
    ASSERT_EQ(row["rounds"].size(), 2u);
    const json& first = row["rounds"][0];
    const json& second = row["rounds"][1];
    if (row["backend"] == "gemm:openblas") {
      EXPECT_EQ(second["status"], "ok");
      EXPECT_GE(second["iterations"].get<int>(), 2);
      continue;
    }
    ASSERT_GE(first["median_ms"].get<double>(), 1200.0);
    if (second["status"] == "skipped") {
      EXPECT_LT(first["busy_cores_at_start"].get<double>(), 0.5) << "skipped after a busy round";
      EXPECT_NE(second["reason"].get<std::string>().find("round 1 ranks it"), std::string::npos);
      EXPECT_EQ(row["rounds_ok"], 1);
    } else {
      EXPECT_EQ(second["status"], "ok");
      EXPECT_EQ(second["iterations"], 1) << "a light round times one inference";
    }
  }
}

// A light round that was taken on a busy machine is measured again as light: the study's own
// results, with the slow row's second round marked busy, are resumed on a quieter machine.
TEST_F(RoundsTest, ALightRoundIsMeasuredAgainAsLight) {
  const std::string env = "LIBSCOUT_TEST_DELAYS=1200";
  ASSERT_EQ(libscout(study_args("--rounds 2"), env), 0) << output_;
  const fs::path file = dir_ / "study" / "results.json";
  json r = read(file);
  ASSERT_EQ(r["runs"].size(), 1u);
  json& second = r["runs"][0]["rounds"][1];
  second["status"] = "ok";
  second["busy_cores_at_start"] = 1.5;
  second["remeasured"] = false;
  std::ofstream(file) << r.dump(1);
  ASSERT_EQ(libscout(study_args("--rounds 2 --resume", "5"), env), 0) << output_;
  const json again = read(file)["runs"][0]["rounds"][1];
  if (!again["remeasured"].get<bool>()) GTEST_SKIP() << "the machine stayed busy: " << output_;
  EXPECT_EQ(again["status"], "ok") << again.dump();
  EXPECT_EQ(again["iterations"], 1) << "measured again with the full round's arguments";
}

TEST_F(RoundsTest, DeclinedLayersAreNamedWithTheirShareOfTheTime) {
  const fs::path out = dir_ / "run.json";
  ASSERT_EQ(libscout("run squeezenet1.1 --backend test-scripted --min-time 0.1 --json " +
                         out.string(),
                     "LIBSCOUT_TEST_DECLINE=maxpool"),
            0)
      << output_;
  const json row = read(out)["results"][0];
  EXPECT_EQ(row["fallback_layers"], 3);  // SqueezeNet v1.1 has three max pools
  EXPECT_EQ(row["fallback_layer_names"].size(), 3u);
  const std::string fallback = row["fallback_backend"].get<std::string>();
  EXPECT_TRUE(fallback == "gemm:openblas" || fallback == "gemm:eigen") << fallback;
  EXPECT_GT(row["fallback_time_share"].get<double>(), 0.0);
  EXPECT_LT(row["fallback_time_share"].get<double>(), 1.0);
  EXPECT_GE(row["fallback_profile_runs"].get<int>(), 3);
  EXPECT_TRUE(row["library_versions"].contains(fallback)) << row["library_versions"].dump();
  EXPECT_EQ(row["threads_source"], "requested");  // the test backend does not say
  EXPECT_NE(output_.find("ran on the fallback"), std::string::npos) << output_;
}

TEST_F(RoundsTest, AnOutputOfZerosFailsValidationAndToleranceMustBeBelowOne) {
  const fs::path out = dir_ / "run.json";
  EXPECT_EQ(libscout("run squeezenet1.1 --backend test-scripted --json " + out.string(),
                     "LIBSCOUT_TEST_ZERO_AFTER=0"),
            1);
  const json row = read(out)["results"][0];
  EXPECT_FALSE(row["validation"]["passed"].get<bool>());
  EXPECT_DOUBLE_EQ(row["validation"]["rel_l2_error"].get<double>(), 1.0);
  EXPECT_TRUE(row["latency_ms"].is_null());
  // A bound of 1 would let the zeros pass: refused.
  EXPECT_NE(libscout("run squeezenet1.1 --backend test-scripted --tolerance 1",
                     "LIBSCOUT_TEST_ZERO_AFTER=0"),
            0);
  EXPECT_NE(output_.find("below 1"), std::string::npos) << output_;
}

TEST_F(RoundsTest, AnOutputThatGoesWrongDuringTimingIsInvalid) {
  const fs::path out = dir_ / "run.json";
  EXPECT_EQ(libscout("run squeezenet1.1 --backend test-scripted --min-time 0.1 --json " +
                         out.string(),
                     "LIBSCOUT_TEST_ZERO_AFTER=1"),
            1);
  const json row = read(out)["results"][0];
  EXPECT_FALSE(row["validation"]["passed"].get<bool>());
  EXPECT_TRUE(row["validation"]["failed_after_timing"].get<bool>());
  EXPECT_DOUBLE_EQ(row["validation"]["rel_l2_error_after_timing"].get<double>(), 1.0);
  EXPECT_TRUE(row["latency_ms"].is_null());
  // In a study, the row is invalid and says why.
  ASSERT_EQ(libscout(study_args(""), "LIBSCOUT_TEST_ZERO_AFTER=1"), 0) << output_;
  const json study_row = read(dir_ / "study" / "results.json")["runs"][0];
  EXPECT_EQ(study_row["status"], "invalid");
  EXPECT_NE(study_row["reason"].get<std::string>().find("after timing"), std::string::npos)
      << study_row["reason"];
}

TEST_F(RoundsTest, ResumeWithChangedOptionsIsRefusedNamingThem) {
  ASSERT_EQ(libscout(study_args("")), 0) << output_;
  EXPECT_EQ(libscout(study_args("--resume --rounds 2 --seed 9")), 1);
  EXPECT_NE(output_.find("rounds was 1, now 2"), std::string::npos) << output_;
  EXPECT_NE(output_.find("seed was 1, now 9"), std::string::npos) << output_;
  // The same options (a longer wait for a quiet machine may change) resume.
  EXPECT_EQ(libscout(study_args("--resume", "1")), 0) << output_;
  EXPECT_NE(output_.find("1 of 1 steps already done"), std::string::npos) << output_;
}

TEST_F(RoundsTest, APluginThatCannotLoadIsListedUnderItsKindsAndNames) {
  ASSERT_EQ(libscout("list --json-file " + (dir_ / "list.json").string()), 0) << output_;
  const json list = read(dir_ / "list.json");
  auto find = [&](const char* kind, const std::string& name) {
    for (const json& e : list[kind]) {
      if (e["name"] == name) return e;
    }
    return json();
  };
  for (const char* kind : {"backends", "gemm_providers"}) {
    const json e = find(kind, "test-missing");
    ASSERT_TRUE(e.is_object()) << kind << ": " << list[kind].dump();
    EXPECT_FALSE(e["available"].get<bool>());
    EXPECT_NE(e["reason"].get<std::string>().find("libscout_test_dependency"), std::string::npos)
        << e.dump();
  }
  EXPECT_TRUE(find("backends", "gemm:test-missing").is_object());  // its Caffe-style backend
  EXPECT_FALSE(find("backends", "needs_dependency").is_object());  // never the file's name
  EXPECT_TRUE(find("backends", "test-scripted")["available"].get<bool>());
  EXPECT_EQ(list["plugins"]["directory"], LIBSCOUT_TEST_PLUGIN_DIR);
  ASSERT_EQ(libscout("list"), 0);
  EXPECT_NE(output_.find("looked in: " LIBSCOUT_TEST_PLUGIN_DIR), std::string::npos) << output_;
}

// Each plugin of the build declares (LIBSCOUT_PLUGIN_PROVIDES) what it registers, so that when it
// cannot load, it is listed under the right kinds and names.
TEST(PluginDeclarations, MatchWhatEachPluginRegisters) {
  const LoadedPlugins& p = plugins();
  for (const auto& [stem, registered] : p.registered) {
    const auto it = std::find_if(p.declared.begin(), p.declared.end(),
                                 [&](const auto& d) { return d.first == stem; });
    ASSERT_NE(it, p.declared.end());
    // One that declares nothing is listed under its file name when it cannot load (as before
    // declarations existed); what is declared must be exact.
    if (it->second.empty()) continue;
    EXPECT_EQ(std::set<std::string>(it->second.begin(), it->second.end()),
              std::set<std::string>(registered.begin(), registered.end()))
        << "plugin " << stem;
  }
}

}  // namespace
}  // namespace libscout
