// The plans of `auto` in the report, from the quick study's own results.json (which holds the plan
// steps its writer recorded): each plan is read whole; the report shows, per plan, the library of
// every layer and each alternative's time, and what the mix gained over the fastest single
// backend with the planner's interval, or why the plan step failed; Table 2 can name auto.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "fixture_study.h"
#include "report/plan_section.h"
#include "report/report_tables.h"
#include "report/report_writer.h"
#include "report_checks.h"

namespace libscout::report {
namespace {

using nlohmann::json;
using testing::quick_study;
using testing::quick_study_json;

std::string markdown_of(const StudyResults& s) {
  return render_markdown(build_report({s}, {}));
}

std::string html_of(const StudyResults& s) { return render_html(build_report({s}, {})); }

// The first HTML table holding a row whose first cells are `cells`.
const std::vector<std::vector<std::string>>* table_with(
    const std::vector<std::vector<std::vector<std::string>>>& tables,
    const std::vector<std::string>& cells) {
  for (const auto& t : tables)
    for (const auto& row : t)
      if (row.size() >= cells.size() && std::equal(cells.begin(), cells.end(), row.begin()))
        return &t;
  return nullptr;
}

TEST(PlanSection, ReadsEveryPlanTheStudyRecorded) {
  const json document = quick_study_json();
  ASSERT_FALSE(document["plans"].empty()) << "the fixture has no plan of auto";
  const StudyResults s = quick_study();
  EXPECT_TRUE(s.warnings.empty()) << s.warnings.front();
  ASSERT_EQ(s.plans.size(), document["plans"].size());
  for (std::size_t i = 0; i < s.plans.size(); ++i) {
    const PlanResult& p = s.plans[i];
    const json& written = document["plans"][i];
    EXPECT_EQ(p.step, written["step"]);
    EXPECT_EQ(p.threads, written["threads"]);
    if (written["status"] != "ok") continue;
    EXPECT_EQ(p.status, RowStatus::ok);
    EXPECT_EQ(p.chosen, written["chosen"]);
    EXPECT_EQ(p.layers.size(), written["plan"]["layers"].size());
    EXPECT_EQ(p.contenders.size(), written["plan"]["contenders"].size());
    ASSERT_TRUE(p.best_single && p.speedup && p.speedup_ci);
    EXPECT_DOUBLE_EQ(*p.speedup, written["speedup_over_best_single"].get<double>());
    EXPECT_LE(p.speedup_ci->lo, *p.speedup);
    EXPECT_GE(p.speedup_ci->hi, *p.speedup);
  }
}

TEST(PlanSection, ReportJsonListsEveryPlanWithItsLayersAndGain) {
  const json document = quick_study_json();
  const StudyResults s = quick_study();
  const json report = report_json({s}, {});
  ASSERT_EQ(report["plans"].size(), document["plans"].size());
  for (std::size_t i = 0; i < s.plans.size(); ++i) {
    const PlanResult& p = s.plans[i];
    const json& listed = report["plans"][i];
    EXPECT_EQ(listed["device"], s.device.label);
    EXPECT_EQ(listed["model"], p.model);
    EXPECT_EQ(listed["threads"], p.threads);
    EXPECT_EQ(listed["status"], document["plans"][i]["status"]);
    if (p.status != RowStatus::ok) {
      EXPECT_EQ(listed["reason"], p.reason);
      continue;
    }
    EXPECT_TRUE(listed["reason"].is_null());
    EXPECT_EQ(listed["chosen"], document["plans"][i]["chosen"]);
    EXPECT_DOUBLE_EQ(listed["speedup_over_best_single"].get<double>(),
                     document["plans"][i]["speedup_over_best_single"].get<double>());
    ASSERT_EQ(listed["speedup_over_best_single_interval"].size(), 2u);
    EXPECT_EQ(listed["best_single"]["name"], p.best_single->name);
    ASSERT_EQ(listed["layers"].size(), document["plans"][i]["plan"]["layers"].size());
    for (std::size_t l = 0; l < p.layers.size(); ++l) {
      const json& layer = listed["layers"][l];
      EXPECT_EQ(layer["backend"], document["plans"][i]["plan"]["layers"][l]["backend"]);
      EXPECT_EQ(layer["alternatives"].size(), p.layers[l].alternatives.size());
    }
    EXPECT_EQ(listed["contenders"].size(), document["plans"][i]["plan"]["contenders"].size());
  }
}

TEST(PlanSection, ShowsTheLibraryOfEachLayerAndEveryAlternativesTime) {
  const StudyResults s = quick_study();
  const std::string html = html_of(s);
  const auto tables = testing::html_tables(html);
  ASSERT_NE(html.find("auto: a library per layer"), std::string::npos);
  for (const PlanResult& p : s.plans) {
    if (p.status != RowStatus::ok) continue;
    EXPECT_NE(html.find(model_display_name(p.model) + ", " + thread_phrase(p.threads)),
              std::string::npos);
    // A table with a row per layer (its name, op and the backend the plan runs it on) and a
    // column per backend any layer could run on.
    std::set<std::string> backends;
    for (const PlanLayer& l : p.layers)
      for (const PlanAlternative& a : l.alternatives) backends.insert(a.backend);
    bool found = false;
    for (const auto& t : tables) {
      found = found || (t.size() == p.layers.size() && t.front().size() == 3 + backends.size() &&
                        std::all_of(p.layers.begin(), p.layers.end(), [&](const PlanLayer& l) {
                          return table_with({t}, {l.name, l.op, l.backend}) != nullptr;
                        }));
    }
    EXPECT_TRUE(found) << "no layer table for " << p.step;
    for (const PlanContender& c : p.contenders)
      EXPECT_NE(table_with(tables, {c.name, with_interval(c.median_ms, c.ci)}), nullptr) << c.name;
  }
  EXPECT_TRUE(testing::duplicate_rows(html).empty());
}

// A mix that won: what it gained over the fastest single backend, with the planner's interval.
TEST(PlanSection, SaysWhatTheMixGainedOverTheBestSingleBackend) {
  const StudyResults s = quick_study([](json& d) {
    json& p = d["plans"][0];
    p["chosen"] = "plan";
    p["chosen_figures"]["name"] = "plan";
    p["speedup_over_best_single"] = 1.25;
    p["speedup_over_best_single_interval"] = {1.1, 1.4};
    p["plan"]["layers"][0]["backend"] = "in-place";
  });
  const std::string md = markdown_of(s);
  const std::string best = s.plans[0].best_single->name;
  EXPECT_NE(md.find("The plan (plan) runs "), std::string::npos) << md;
  EXPECT_NE(md.find("for the fastest single backend, " + best + ": 1.25x (1.10x to 1.40x) as fast"),
            std::string::npos);
  EXPECT_NE(md.find("1 concats in place"), std::string::npos);
}

TEST(PlanSection, AFailedPlanStepSaysWhy) {
  const StudyResults s = quick_study([](json& d) {
    json& p = d["plans"][0];
    const json keep = {{"step", p["step"]}, {"model", p["model"]}, {"threads", p["threads"]}};
    p = keep;
    p["status"] = "failed";
    p["reason"] = "timed out after 60 s";
  });
  EXPECT_TRUE(s.warnings.empty());
  EXPECT_NE(markdown_of(s).find("The plan step failed: timed out after 60 s. The auto rows of "
                                "this model and thread count failed with it."),
            std::string::npos);
}

TEST(PlanSection, APlanWithAWrongTypeIsSkippedWithAWarning) {
  const StudyResults s = quick_study([](json& d) { d["plans"][0]["plan"]["layers"] = "many"; });
  ASSERT_EQ(s.warnings.size(), 1u);
  EXPECT_NE(s.warnings[0].find("layers should be a list"), std::string::npos) << s.warnings[0];
  EXPECT_EQ(s.plans.size(), quick_study_json()["plans"].size() - 1);
}

TEST(PlanSection, TableTwoCanNameAuto) {
  const StudyResults s = quick_study([](json& d) {
    json& fastest = *testing::ranked_rows(d, "squeezenet1.1").front();
    json& row = testing::row_of(d, "squeezenet1.1", "auto", 1);
    testing::set_latency(row, fastest["latency_ms"]["median"].get<double>() / 2, 0.1, 0.2);
  });
  const auto entries = compute_table2({s}, kDefaultBaseline);
  ASSERT_FALSE(entries.empty());
  ASSERT_TRUE(entries[0].fastest);
  EXPECT_EQ(entries[0].model, "squeezenet1.1");
  EXPECT_EQ(entries[0].fastest->backend, "auto");
  EXPECT_NE(entries[0].recommendation.find("use auto"), std::string::npos)
      << entries[0].recommendation;
}

}  // namespace
}  // namespace libscout::report
