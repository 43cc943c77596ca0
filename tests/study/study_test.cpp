// `libscout study` end to end, through the real executable: a quick study covers every available
// backend and provider; a study killed with SIGKILL and resumed holds every step exactly once; a
// backend that crashes or exhausts its memory limit is recorded failed and the rest completes.
#include <gtest/gtest.h>

#include <signal.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <vector>
#include <thread>

#include <nlohmann/json.hpp>

#include "backends/registry.h"
#include "gemm/gemm_provider.h"
#include "study/progress.h"
#include "study/study.h"
#include "study_dir_fixture.h"

namespace libscout::study {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

int count_of(const std::string& text, const std::string& what) {
  int n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

class StudyTest : public testing::StudyDirTest {
 protected:
  StudyTest() : StudyDirTest("libscout-study-test-") {}

  // Runs libscout with `args`; returns its exit status.
  static int libscout(const std::string& args, const std::string& env = "") {
    const std::string cmd = env + " " + LIBSCOUT_CLI + " " + args + " 2>/dev/null";
    const int rc = std::system(cmd.c_str());
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  }
  json results() const {
    std::ifstream f(dir_ / "results.json");
    return json::parse(f);
  }
};

// Checks on a study's own results.json: every row says what really ran, the method is recorded,
// and no row appears twice.
void expect_what_ran_is_said(const json& r) {
  for (const char* key : {"warmup", "min_time_s", "min_iterations", "rounds", "seed", "ci_method",
                          "ci_level", "bootstrap_resamples", "energy_min_time_s", "idle_s",
                          "cooldown_s", "cpu_governor", "smt_siblings_used", "physical_cores",
                          "quiet_wait_s", "busy_threshold_cores"}) {
    EXPECT_TRUE(r["method"].contains(key)) << "method." << key << " missing";
  }
  EXPECT_TRUE(r["method"]["warmup"].is_number());
  EXPECT_TRUE(r["method"]["min_time_s"].is_number());
  std::set<std::string> steps;
  for (const json& row : r["runs"]) {
    EXPECT_TRUE(steps.insert(row["step"].get<std::string>()).second) << "twice: " << row["step"];
    if (row["status"] != "ok") continue;
    for (const char* key : {"threads", "threads_requested", "threads_source", "library_versions",
                            "fallback_layers", "fallback_time_share", "ci"}) {
      EXPECT_TRUE(row.contains(key)) << key << " missing in " << row["step"];
    }
    const std::string backend = row["backend"];
    if (backend == "auto") {  // a mix: the versions of the libraries its plan runs
      EXPECT_FALSE(row["library_versions"].empty()) << row["step"];
      for (const auto& [name, version] : row["library_versions"].items()) {
        const std::string library = name.rfind("gemm:", 0) == 0 ? name.substr(5) : name;
        EXPECT_TRUE(r["libraries"].contains(library)) << library << " not in " << r["libraries"];
      }
      continue;
    }
    EXPECT_FALSE(row["library_version"].get<std::string>().empty()) << row["step"];
    const std::string library = backend.rfind("gemm:", 0) == 0 ? backend.substr(5) : backend;
    EXPECT_TRUE(r["libraries"].contains(library)) << library << " not in " << r["libraries"];
    EXPECT_LE(row["latency_ms"]["ci_low"].get<double>(), row["latency_ms"]["median"].get<double>());
    EXPECT_GE(row["latency_ms"]["ci_high"].get<double>(),
              row["latency_ms"]["median"].get<double>());
  }
  std::set<std::string> gemm_rows;
  for (const json& row : r["gemm"]) {
    EXPECT_TRUE(gemm_rows.insert(row.value("provider", "") + "/" + row.value("step", "") + "/" +
                                 std::to_string(row.value("m", 0)) + "x" +
                                 std::to_string(row.value("n", 0)) + "x" +
                                 std::to_string(row.value("k", 0))).second)
        << "twice: " << row.dump();
  }
}

TEST_F(StudyTest, QuickStudyCoversEveryAvailableBackendAndProvider) {
  ASSERT_EQ(libscout("study --quick --threads 1 --out " + dir_.string()), 0);
  const json r = results();
  EXPECT_EQ(r["schema"], "libscout.study/1");
  std::set<std::pair<std::string, std::string>> runs;
  for (const json& row : r["runs"]) {
    runs.insert({row["model"].get<std::string>(), row["backend"].get<std::string>()});
    if (row["status"] == "ok") {
      EXPECT_TRUE(row["validation"]["passed"].get<bool>()) << row.dump();
      EXPECT_GT(row["latency_ms"]["median"].get<double>(), 0.0);
    }
  }
  for (const BackendInfo& b : list_backends()) {
    if (!b.available || b.name == "reference") continue;
    for (const char* m : {"squeezenet1.1", "mobilenet_v1"}) {
      EXPECT_TRUE(runs.count({m, b.name})) << m << " on " << b.name << " has no row";
    }
  }
  std::set<std::string> providers;
  for (const json& row : r["gemm"]) providers.insert(row.value("provider", ""));
  for (const gemm::ProviderInfo& p : gemm::list_providers()) {
    if (p.available) {
      EXPECT_TRUE(providers.count(p.name)) << "provider " << p.name << " has no row";
    }
  }
  EXPECT_TRUE(fs::exists(dir_ / "results.csv"));
  expect_what_ran_is_said(r);
  // The report: Table 2 and every figure, in both formats.
  for (const char* name : {"report.html", "report.md"}) {
    std::ifstream f(dir_ / name);
    ASSERT_TRUE(f) << name << " missing";
    const std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    EXPECT_NE(text.find("Table 2"), std::string::npos) << name;
    EXPECT_GE(count_of(text, name == std::string("report.html") ? "<svg" : ".svg"), 4) << name;
  }
}

// A single-threaded library asked for 2 threads answers 1: it is measured at 1 thread only, its
// row says 1, and `not_swept` says why; a multi-threaded one is measured at both.
TEST_F(StudyTest, SingleThreadedLibrariesAreMeasuredOnceAtOneThread) {
  std::vector<std::string> single = {"naive"};
  for (const gemm::ProviderInfo& p : gemm::list_providers()) {
    if (p.available && (p.name == "atlas" || p.name == "netlib")) single.push_back(p.name);
  }
  std::string backends = "gemm:openblas", providers = "openblas";
  for (const std::string& p : single) backends += ",gemm:" + p, providers += "," + p;
  ASSERT_EQ(libscout("study --quick --threads 1,2 --models squeezenet1.1 --backends " + backends +
                     " --providers " + providers + " --quiet-wait 0 --out " + dir_.string()),
            0);
  const json r = results();
  std::map<std::string, std::set<int>> requested;
  for (const json& row : r["runs"]) {
    requested[row["backend"]].insert(row["threads_requested"].get<int>());
    EXPECT_EQ(row["status"], "ok") << row["step"] << ": " << row["reason"];
    if (row["backend"] != "gemm:openblas" && row["status"] == "ok") {
      EXPECT_EQ(row["threads"], 1) << row["step"];
      EXPECT_EQ(row["threads_source"], "library") << row["step"];
    }
  }
  for (const json& row : r["gemm"]) {
    if (row["provider"] != "openblas") {
      EXPECT_EQ(row["threads_requested"], 1) << row.dump();
    }
  }
  EXPECT_EQ(requested["gemm:openblas"], (std::set<int>{1, 2}));
  for (const std::string& p : single) {
    EXPECT_EQ(requested["gemm:" + p], std::set<int>{1}) << p;
    bool said = false;
    for (const json& n : r["not_swept"]) said = said || n.value("backend", "") == "gemm:" + p;
    EXPECT_TRUE(said) << p << " not in not_swept: " << r["not_swept"];
    EXPECT_EQ(r["provider_threads"][p]["2"], 1) << p;
  }
  expect_what_ran_is_said(r);
}

TEST_F(StudyTest, KilledStudyResumesWithEveryStepExactlyOnce) {
  const std::string args = "study --quick --no-gemm --threads 1 --models squeezenet1.1,mobilenet_v1 "
                           "--backends gemm:openblas,gemm:eigen,gemm:blis --out " + dir_.string();
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, STDERR_FILENO);
    execl("/bin/sh", "sh", "-c", (std::string("exec ") + LIBSCOUT_CLI + " " + args).c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  // Kill it once at least two steps are saved (and before it finishes).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  int saved = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    try {
      std::ifstream f(dir_ / "results.json");
      if (f) saved = static_cast<int>(json::parse(f)["steps"].size());
    } catch (const json::exception&) {
      ADD_FAILURE() << "results.json was seen half-written";
    }
    if (saved >= 2) break;
  }
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_GE(saved, 2);
  ASSERT_LT(saved, 6) << "the study finished before it could be killed";

  // Without --resume the directory is refused, so nothing is overwritten.
  EXPECT_EQ(libscout(args), 1);
  ASSERT_EQ(libscout(args + " --resume"), 0);
  const json r = results();
  // A round taken while other work kept the CPUs busy (ctest runs tests side by side) may be
  // measured again, once, under its key + "#2": that is a second step, not a repeated one.
  std::map<std::string, int> steps, rows;
  for (const json& s : r["steps"]) {
    const std::string key = s["key"];
    const bool again = key.size() > 2 && key.ends_with("#2");
    ++steps[key];
    if (again) {
      EXPECT_EQ(steps.count(key.substr(0, key.size() - 2)), 1u) << key;
    }
  }
  for (const json& row : r["runs"]) ++rows[row["step"]];
  std::size_t planned = 0;
  for (const auto& [key, n] : steps) planned += key.ends_with("#2") ? 0 : 1;
  EXPECT_EQ(planned, 6u);
  for (const auto& [key, n] : steps) EXPECT_EQ(n, 1) << key;
  EXPECT_EQ(rows.size(), 6u);
  for (const auto& [key, n] : rows) EXPECT_EQ(n, 1) << key;
}

TEST_F(StudyTest, CrashingAndMemoryHungryBackendsAreRecordedFailed) {
  ASSERT_EQ(libscout("study --quick --no-gemm --threads 1 --models squeezenet1.1 "
                     "--memory-limit 1024 --backends gemm:eigen,gemm:openblas,gemm:blis --out " +
                         dir_.string(),
                     "LIBSCOUT_INJECT_FAULT=crash:gemm:eigen,oom:gemm:blis"), 0);
  const json r = results();
  std::map<std::string, json> by_backend;
  for (const json& row : r["runs"]) by_backend[row["backend"].get<std::string>()] = row;
  ASSERT_EQ(by_backend.size(), 3u);
  EXPECT_EQ(by_backend["gemm:eigen"]["status"], "failed");
#ifdef __SANITIZE_ADDRESS__
  const std::string crash = "stopped by AddressSanitizer: SEGV";  // the sanitizer's own report
#else
  const std::string crash = "crashed: signal 11";
#endif
  EXPECT_NE(by_backend["gemm:eigen"]["reason"].get<std::string>().find(crash), std::string::npos)
      << by_backend["gemm:eigen"].dump();
  EXPECT_EQ(by_backend["gemm:blis"]["status"], "failed");
  EXPECT_NE(by_backend["gemm:blis"]["reason"].get<std::string>().find("out of memory"),
            std::string::npos) << by_backend["gemm:blis"].dump();
  EXPECT_EQ(by_backend["gemm:openblas"]["status"], "ok");
}

TEST_F(StudyTest, HangingBackendTimesOut) {
  ASSERT_EQ(libscout("study --quick --no-gemm --threads 1 --models squeezenet1.1 --timeout 3 "
                     "--backends gemm:eigen --out " + dir_.string(),
                     "LIBSCOUT_INJECT_FAULT=hang:gemm:eigen"), 0);
  const json row = results()["runs"].at(0);
  EXPECT_EQ(row["status"], "failed");
  EXPECT_NE(row["reason"].get<std::string>().find("timed out"), std::string::npos) << row.dump();
}

TEST_F(StudyTest, BadOptionsAreClearErrors) {
  EXPECT_EQ(libscout("study --quick --backends no_such_backend --out " + dir_.string()), 1);
  EXPECT_EQ(libscout("study --quick --threads x --out " + dir_.string()), 1);
  EXPECT_EQ(libscout("study --quick --energy maybe --out " + dir_.string()), 1);
}

TEST(Progress, EstimatesTimeLeftFromTheStepsDone) {
  Progress p({2, 2, 2, 2}, /*terminal=*/false);
  EXPECT_DOUBLE_EQ(p.seconds_left(0), 8);
  p.begin_step(0, "a");
  p.end_step(0, "ok", 4);  // twice as slow as estimated
  EXPECT_DOUBLE_EQ(p.seconds_left(1), 12);
  EXPECT_EQ(format_duration(65), "1m05s");
  EXPECT_EQ(format_duration(42.4), "42s");
  EXPECT_EQ(format_duration(7322), "2h02m");
}

}  // namespace
}  // namespace libscout::study
