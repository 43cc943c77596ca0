#include "report/plan_section.h"

#include <algorithm>
#include <map>

#include "report/report_tables.h"
#include "report/table2.h"

namespace libscout::report {

using nlohmann::json;

namespace {

std::optional<Interval> interval_of(std::optional<double> lo, std::optional<double> hi) {
  if (!lo || !hi) return std::nullopt;
  return Interval{std::min(*lo, *hi), std::max(*lo, *hi)};
}

PlanContender parse_contender(const Fields& f) {
  PlanContender c;
  c.name = f.text("name").value_or("?");
  c.median_ms = f.number("median_ms").value_or(0);
  c.ci = interval_of(f.number("ci_low_ms"), f.number("ci_high_ms"));
  c.predicted_ms = f.number("predicted_ms");
  return c;
}

PlanLayer parse_layer(const Fields& f) {
  PlanLayer layer;
  layer.name = f.text("name").value_or("?");
  layer.op = f.text("op").value_or("");
  layer.backend = f.text("backend").value_or("?");
  const json* list = f.find("alternatives");
  if (list == nullptr) return layer;
  if (!list->is_array()) throw Error(f.where() + ".alternatives should be a list");
  for (std::size_t i = 0; i < list->size(); ++i) {
    const Fields a((*list)[i], f.where() + ".alternatives[" + std::to_string(i) + "]");
    layer.alternatives.push_back({a.text("backend").value_or("?"), a.number("in_context_ms"),
                                  a.number("alone_ms"), a.text("declined").value_or("")});
  }
  return layer;
}

// Each object of the list f[key], parsed.
template <typename Item, typename Parse>
std::vector<Item> parse_list(const Fields& f, const char* key, Parse parse) {
  std::vector<Item> out;
  const json* list = f.find(key);
  if (list == nullptr) return out;
  if (!list->is_array()) throw Error(f.where() + "." + key + " should be a list");
  for (std::size_t i = 0; i < list->size(); ++i) {
    out.push_back(parse(Fields((*list)[i], f.where() + "." + key + "[" + std::to_string(i) + "]")));
  }
  return out;
}

}  // namespace

PlanResult parse_plan(const Fields& f) {
  PlanResult p;
  p.model = f.text("model").value_or("?");
  p.threads = f.integer_or("threads", 0);
  p.step = f.text("step").value_or("");
  p.reason = f.text("reason").value_or("");
  p.status = f.text("status").value_or("") == "ok" ? RowStatus::ok : RowStatus::failed;
  p.wall_s = f.number("wall_s");
  p.file = f.text("file").value_or("");
  p.backends = f.texts("backends");
  p.chosen = f.text("chosen").value_or("");
  if (auto c = f.object("chosen_figures")) p.chosen_figures = parse_contender(*c);
  if (auto c = f.object("best_single")) p.best_single = parse_contender(*c);
  p.speedup = f.number("speedup_over_best_single");
  if (const json* ci = f.find("speedup_over_best_single_interval")) {
    if (!ci->is_array() || ci->size() != 2 || !(*ci)[0].is_number() || !(*ci)[1].is_number())
      throw Error(f.where() + ".speedup_over_best_single_interval should be [low, high]");
    p.speedup_ci = interval_of((*ci)[0].get<double>(), (*ci)[1].get<double>());
  }
  if (auto plan = f.object("plan")) {
    p.contenders = parse_list<PlanContender>(*plan, "contenders", parse_contender);
    p.layers = parse_list<PlanLayer>(*plan, "layers", parse_layer);
    p.not_considered = plan->text_map("not_considered");
    p.planning_s = plan->number("planning_s");
  }
  if (p.status == RowStatus::ok && p.layers.empty())
    throw Error(f.where() + ": a plan that ended ok has no layers");
  return p;
}

namespace {

constexpr const char* kPlanMethod =
    "auto runs each layer on the library a plan chose for it. The plan of each model and thread "
    "count is a step of the study, before its rounds (libscout plan over the CPU backends the "
    "study measures): every layer timed on every backend inside the whole network and as its "
    "own segment (so that the layout conversions a switch of library costs are known), the "
    "placement of least predicted time found by dynamic programming, then the plan, a variant "
    "with fewer switches and every single backend validated and timed side by side in "
    "interleaved rounds; the fastest is the plan. The figures below are that comparison's; the "
    "auto rows of the tables above are the study's own measurements of the same plan. Plans and "
    "auto rows run with OMP_WAIT_POLICY=PASSIVE, so that an idle OpenMP runtime sleeps while "
    "another library's segment runs; the other rows run with the policy the method names. The "
    "planner's comparison runs every contender under the same policy; where other work kept the "
    "cores busy, runtimes that spin collapse at more than one thread, and an auto row's lead "
    "over them says more about the wait policy than about the placement.";

// "4.54 ms (95% interval 4.23 to 8.37)".
std::string with_ms_interval(const PlanContender& c) {
  std::string text = measure(c.median_ms) + " ms";
  if (c.ci) text += " (95% interval " + measure(c.ci->lo) + " to " + measure(c.ci->hi) + ")";
  return text;
}

// A layer's time: a concat XNNPACK or the engine does in place takes microseconds at most.
std::string layer_ms(const std::optional<double>& ms) {
  if (ms && *ms < 0.001) return "< 0.001";
  return measure(ms);
}

// "onednn on 30 layers, xnnpack on 12 and 8 concats in place".
std::string placement_words(const PlanResult& p) {
  std::map<std::string, int> count;
  std::vector<std::string> order;
  for (const PlanLayer& l : p.layers) {
    if (count[l.backend]++ == 0) order.push_back(l.backend);
  }
  std::string text;
  for (std::size_t i = 0; i < order.size(); ++i) {
    const std::string& b = order[i];
    const std::string part = b == "in-place"
                                 ? std::to_string(count[b]) + " concats in place"
                                 : b + " on " + std::to_string(count[b]) + " layer" +
                                       (count[b] == 1 ? "" : "s");
    text += (i == 0 ? "" : i + 1 == order.size() ? " and " : ", ") + part;
  }
  return text;
}

std::string summary_of(const PlanResult& p) {
  std::string text;
  const bool mix = p.chosen.rfind("plan", 0) == 0;
  if (mix && p.chosen_figures && p.best_single) {
    text = "The plan (" + p.chosen + ") runs " + placement_words(p) + ": " +
           with_ms_interval(*p.chosen_figures) + " per inference against " +
           with_ms_interval(*p.best_single) + " for the fastest single backend, " +
           p.best_single->name;
    if (p.speedup) text += ": " + format_ratio(Ratio{*p.speedup, p.speedup_ci}) + " as fast";
    text += ".";
  } else if (p.chosen_figures) {
    text = "No mix beat " + p.chosen + " alone, " + with_ms_interval(*p.chosen_figures) +
           ": the plan runs it on every layer it supports (" + placement_words(p) + ").";
  } else {
    text = "The plan runs " + placement_words(p) + ".";
  }
  if (p.planning_s) text += " Planning took " + measure(*p.planning_s) + " s.";
  return text;
}

Table contenders_table(const PlanResult& p) {
  Table t;
  t.header = {"Contender", "Median ms (95% interval)", "Predicted ms", ""};
  for (const PlanContender& c : p.contenders) {
    t.rows.push_back({c.name, with_interval(c.median_ms, c.ci), measure(c.predicted_ms),
                      c.name == p.chosen ? "chosen" : ""});
  }
  return t;
}

// One row per layer: the backend it runs on, then its time inside the whole network on each
// alternative ("declined" where a backend does not run it).
Table layers_table(const PlanResult& p) {
  std::vector<std::string> backends;
  for (const PlanLayer& l : p.layers)
    for (const PlanAlternative& a : l.alternatives)
      if (std::find(backends.begin(), backends.end(), a.backend) == backends.end())
        backends.push_back(a.backend);
  Table t;
  t.header = {"Layer", "Op", "Runs on"};
  for (const std::string& b : backends) t.header.push_back(b + " ms");
  for (const PlanLayer& l : p.layers) {
    std::vector<std::string> row = {l.name, l.op, l.backend};
    for (const std::string& b : backends) {
      const auto a = std::find_if(l.alternatives.begin(), l.alternatives.end(),
                                  [&](const PlanAlternative& x) { return x.backend == b; });
      if (a == l.alternatives.end()) {
        row.push_back("–");
      } else if (!a->declined.empty()) {
        row.push_back("declined");
      } else {
        row.push_back(layer_ms(a->in_context_ms));
      }
    }
    t.rows.push_back(std::move(row));
  }
  return t;
}

void add_plan(std::vector<Block>& b, const PlanResult& p, const std::string& title) {
  b.push_back(Heading{3, title});
  if (p.status != RowStatus::ok) {
    b.push_back(Paragraph{"The plan step failed: " + p.reason +
                          ". The auto rows of this model and thread count failed with it."});
    return;
  }
  b.push_back(Paragraph{summary_of(p)});
  b.push_back(contenders_table(p));
  b.push_back(Paragraph{"Each layer, the library the plan runs it on and its median time inside "
                        "the whole network on each backend (the planner's profiled inferences; "
                        "a layer alone, with its conversions, is in the plan file " +
                        (p.file.empty() ? std::string("") : p.file + " ") + "as alone_ms)."});
  b.push_back(layers_table(p));
  if (!p.not_considered.empty()) {
    std::vector<std::string> items;
    for (const auto& [backend, why] : p.not_considered) items.push_back(backend + ": " + why);
    b.push_back(Paragraph{"Left out of the plan:"});
    b.push_back(BulletList{items});
  }
}

}  // namespace

nlohmann::json plan_report_json(const PlanResult& p, const std::string& device) {
  using nlohmann::json;
  auto contender = [&](const std::optional<PlanContender>& c) {
    if (!c) return json(nullptr);
    return json{{"name", c->name},
                {"median_ms", c->median_ms},
                {"interval_ms", interval_json(c->ci)},
                {"predicted_ms", number_or_null(c->predicted_ms)}};
  };
  json layers = json::array();
  for (const PlanLayer& l : p.layers) {
    json alternatives = json::array();
    for (const PlanAlternative& a : l.alternatives) {
      alternatives.push_back({{"backend", a.backend},
                              {"in_context_ms", number_or_null(a.in_context_ms)},
                              {"alone_ms", number_or_null(a.alone_ms)},
                              {"declined", a.declined.empty() ? json(nullptr) : json(a.declined)}});
    }
    layers.push_back({{"name", l.name}, {"op", l.op}, {"backend", l.backend},
                      {"alternatives", alternatives}});
  }
  json contenders = json::array();
  for (const PlanContender& c : p.contenders) contenders.push_back(contender(c));
  return {{"device", device},
          {"model", p.model},
          {"threads", p.threads},
          {"step", p.step},
          {"status", to_string(p.status)},
          {"reason", p.status == RowStatus::ok ? json(nullptr) : json(p.reason)},
          {"file", p.file},
          {"candidates", p.backends},
          {"chosen", p.chosen},
          {"chosen_figures", contender(p.chosen_figures)},
          {"best_single", contender(p.best_single)},
          {"speedup_over_best_single", number_or_null(p.speedup)},
          {"speedup_over_best_single_interval", interval_json(p.speedup_ci)},
          {"contenders", contenders},
          {"layers", layers},
          {"not_considered", p.not_considered},
          {"planning_s", number_or_null(p.planning_s)},
          {"wall_s", number_or_null(p.wall_s)}};
}

void add_plan_section(std::vector<Block>& b, const std::vector<StudyResults>& studies) {
  const bool any = std::any_of(studies.begin(), studies.end(),
                               [](const StudyResults& s) { return !s.plans.empty(); });
  if (!any) return;
  b.push_back(Heading{2, "auto: a library per layer"});
  b.push_back(Paragraph{kPlanMethod});
  for (const StudyResults& s : studies) {
    for (const PlanResult& p : s.plans) {
      std::string title = model_display_name(p.model) + ", " + thread_phrase(p.threads);
      if (studies.size() > 1) title += ", on " + s.device.label;
      add_plan(b, p, title);
    }
  }
}

}  // namespace libscout::report
