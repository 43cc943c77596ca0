// `auto` in the study: its plan steps come before the rounds and its rows run their plans with
// OpenMP's passive wait policy (plan_study); through the real executable, a study records the
// plan step and measures the auto row, a study killed after planning resumes without planning
// again, and a plan step that fails makes the auto rows fail with its reason.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "backends/registry.h"
#include "study/study.h"
#include "study_dir_fixture.h"

namespace libscout::study {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

bool has(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

const Step* find_step(const StudyPlan& plan, const std::string& key) {
  for (const Step& s : plan.steps) {
    if (s.key == key) return &s;
  }
  return nullptr;
}

TEST(AutoInTheStudy, PlanStepsComeFirstAndAutoRowsRunTheirPlans) {
  StudyOptions o;
  o.quick = true;
  o.skip_gemm = true;
  o.models = {"squeezenet1.1"};
  o.backends = {"gemm:openblas", "gemm:eigen", "auto"};
  o.threads = {1, 2};
  o.rounds = 2;
  const StudyPlan plan = plan_study(o);
  const Step* planned = find_step(plan, "plan/squeezenet1.1/t2");
  ASSERT_NE(planned, nullptr);
  EXPECT_EQ(planned->kind, "plan");
  EXPECT_EQ(planned->raw_file, "plans/squeezenet1.1-t2.json");
  EXPECT_TRUE(has(planned->args, "gemm:openblas,gemm:eigen")) << "the plan's candidates";
  EXPECT_TRUE(has(planned->env, "OMP_WAIT_POLICY=PASSIVE"));
  std::size_t last_plan = 0, first_run = plan.steps.size();
  for (std::size_t i = 0; i < plan.steps.size(); ++i) {
    if (plan.steps[i].kind == "plan") last_plan = i;
    if (plan.steps[i].kind == "run") first_run = std::min(first_run, i);
  }
  EXPECT_LT(last_plan, first_run) << "every plan is made before the rounds";
  for (int round : {1, 2}) {
    const Step* row = find_step(plan, "run/squeezenet1.1/auto/t2/r" + std::to_string(round));
    ASSERT_NE(row, nullptr) << "round " << round;
    EXPECT_EQ(row->plan_step, "plan/squeezenet1.1/t2");
    EXPECT_TRUE(has(row->args, "--plan") && has(row->args, "plans/squeezenet1.1-t2.json"));
    EXPECT_TRUE(has(row->env, "OMP_WAIT_POLICY=PASSIVE"));
  }
  // Other rows run in the study's own environment.
  EXPECT_TRUE(find_step(plan, "run/squeezenet1.1/gemm:eigen/t1/r1")->env.empty());
}

TEST(AutoInTheStudy, ListsIncludeAutoWhenNamedAndAllIncludesItWithTwoCpuBackends) {
  StudyOptions o;
  o.quick = true;
  o.skip_gemm = true;
  o.models = {"squeezenet1.1"};
  o.backends = {"gemm:openblas", "gemm:eigen"};
  EXPECT_EQ(find_step(plan_study(o), "plan/squeezenet1.1/t1"), nullptr);
  int cpu = 0;
  for (const BackendInfo& b : list_backends()) {
    cpu += b.available && b.device == DeviceKind::kCpu && b.name != "reference" &&
           b.name != "gemm:naive";
  }
  o.backends = {};
  EXPECT_EQ(find_step(plan_study(o), "plan/squeezenet1.1/t1") != nullptr, cpu >= 2);
  o.backends = {"gemm:eigen", "auto"};
  EXPECT_NE(find_step(plan_study(o), "plan/squeezenet1.1/t1"), nullptr) << "named: planned";
}

// --quick plans over the whole-layer libraries and the baseline; the full study over every CPU
// backend it measures.
TEST(AutoInTheStudy, QuickPlansOverTheLibrariesAndTheBaseline) {
  bool native = false;
  for (const BackendInfo& b : list_backends()) native = native || (b.name == "native" && b.available);
  if (!native) GTEST_SKIP() << "the native backend is not available here";
  StudyOptions o;
  o.skip_gemm = true;
  o.models = {"squeezenet1.1"};
  o.threads = {1};
  o.backends = {"gemm:openblas", "gemm:eigen", "native", "auto"};
  EXPECT_TRUE(has(find_step(plan_study(o), "plan/squeezenet1.1/t1")->args,
                  "gemm:openblas,gemm:eigen,native"));
  o.quick = true;
  EXPECT_TRUE(has(find_step(plan_study(o), "plan/squeezenet1.1/t1")->args, "gemm:openblas,native"));
}

class AutoStudyTest : public testing::StudyDirTest {
 protected:
  AutoStudyTest() : StudyDirTest("libscout-auto-test-") {}

  // Runs libscout with `env` (and the test plugins); returns its exit status, keeps its output.
  int libscout(const std::string& args, const std::string& env = "") {
    const fs::path log = fs::path(dir_.string() + ".log");
    const std::string cmd = "LIBSCOUT_PLUGIN_DIR=" LIBSCOUT_TEST_PLUGIN_DIR " " + env + " " +
                            LIBSCOUT_CLI + " " + args + " >" + log.string() + " 2>&1";
    const int rc = std::system(cmd.c_str());
    std::ifstream f(log);
    output_.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    fs::remove(log);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  }
  json results() const {
    std::ifstream f(dir_ / "results.json");
    return json::parse(f);
  }
  std::string output_;
};

const json* row_of(const json& r, const std::string& step) {
  for (const json& row : r["runs"]) {
    if (row["step"] == step) return &row;
  }
  return nullptr;
}

fs::file_time_type modified(const fs::path& p) {
  std::error_code ec;
  return fs::last_write_time(p, ec);
}

// Starts the study in the background, kills it as soon as its plan step is saved, resumes it:
// the plan is made once, and the auto row runs it with the passive wait policy.
TEST_F(AutoStudyTest, PlansOnceMeasuresAutoAndResumesWithoutPlanningAgain) {
  const std::string args = "study --quick --no-gemm --threads 1 --models squeezenet1.1 "
                           "--backends test-scripted,gemm:openblas,auto --quiet-wait 0 --out " +
                           dir_.string();
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, STDERR_FILENO);
    setenv("LIBSCOUT_PLUGIN_DIR", LIBSCOUT_TEST_PLUGIN_DIR, 1);
    execl("/bin/sh", "sh", "-c", (std::string("exec ") + LIBSCOUT_CLI + " " + args).c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  std::size_t saved = 0;
  while (std::chrono::steady_clock::now() < deadline && saved == 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    try {
      std::ifstream f(dir_ / "results.json");
      if (f) saved = json::parse(f)["plans"].size();
    } catch (const json::exception&) {
      ADD_FAILURE() << "results.json was seen half-written";
    }
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  ASSERT_EQ(saved, 1u) << "no plan step was saved";
  const fs::path plan_file = dir_ / "plans" / "squeezenet1.1-t1.json";
  ASSERT_TRUE(fs::exists(plan_file));
  const auto planned_at = modified(plan_file);

  ASSERT_EQ(libscout(args + " --resume"), 0) << output_;
  EXPECT_NE(output_.find("already done"), std::string::npos) << output_;
  EXPECT_EQ(modified(plan_file), planned_at) << "planned again";
  const json r = results();
  int plan_steps = 0;
  for (const json& s : r["steps"]) plan_steps += s["kind"] == "plan";
  EXPECT_EQ(plan_steps, 1);
  ASSERT_EQ(r["plans"].size(), 1u);
  const json& plan = r["plans"][0];
  EXPECT_EQ(plan["status"], "ok") << plan["reason"];
  EXPECT_EQ(plan["file"], "plans/squeezenet1.1-t1.json");
  EXPECT_FALSE(plan["chosen"].get<std::string>().empty());
  EXPECT_TRUE(plan["best_single"].is_object());
  EXPECT_GT(plan["plan"]["layers"].size(), 10u);
  const json* row = row_of(r, "run/squeezenet1.1/auto/t1");
  ASSERT_NE(row, nullptr);
  EXPECT_EQ((*row)["status"], "ok") << (*row)["reason"];
  EXPECT_EQ((*row)["backend"], "auto");
  EXPECT_EQ((*row)["settings"]["omp_wait_policy"], "PASSIVE");
  // Relative to the study folder (the child was given an absolute path), as plans[].file.
  EXPECT_EQ((*row)["settings"]["plan"], "plans/squeezenet1.1-t1.json");
  EXPECT_EQ((*row)["rounds_ok"], 1);
}

// A plan over one backend whose output is wrong cannot validate: the plan step fails, and so do
// the auto rows, naming it; the rest of the study goes on, and the report says why.
TEST_F(AutoStudyTest, AFailedPlanStepFailsTheAutoRowsWithItsReason) {
  ASSERT_EQ(libscout("study --quick --no-gemm --threads 1 --models squeezenet1.1 --backends "
                     "test-scripted,auto --quiet-wait 0 --out " + dir_.string(),
                     "LIBSCOUT_TEST_ZERO_AFTER=0"),
            0)
      << output_;
  const json r = results();
  ASSERT_EQ(r["plans"].size(), 1u);
  EXPECT_EQ(r["plans"][0]["status"], "failed");
  const std::string why = r["plans"][0]["reason"];
  EXPECT_NE(why.find("no candidate backend"), std::string::npos) << why;
  const json* row = row_of(r, "run/squeezenet1.1/auto/t1");
  ASSERT_NE(row, nullptr);
  EXPECT_EQ((*row)["status"], "failed");
  const std::string reason = (*row)["reason"];
  EXPECT_NE(reason.find("plan step plan/squeezenet1.1/t1 failed"), std::string::npos) << reason;
  EXPECT_NE(reason.find(why), std::string::npos) << reason;
  EXPECT_EQ((*row)["model"], "squeezenet1.1");
  const json* other = row_of(r, "run/squeezenet1.1/test-scripted/t1");
  ASSERT_NE(other, nullptr);
  EXPECT_EQ((*other)["status"], "invalid");
  std::ifstream md(dir_ / "report.md");
  const std::string report((std::istreambuf_iterator<char>(md)), std::istreambuf_iterator<char>());
  EXPECT_NE(report.find("The plan step failed: " + why), std::string::npos);
}

}  // namespace
}  // namespace libscout::study
