#include "placement/planner.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <random>

#include "backends/registry.h"
#include "core/engine.h"
#include "core/error.h"
#include "measure/device_info.h"
#include "measure/layer_timer.h"
#include "measure/model_benchmark.h"
#include "measure/stats.h"
#include "placement/placement_search.h"

namespace libscout::placement {
namespace {

using Clock = std::chrono::steady_clock;


double median(const std::vector<double>& v) { return summarize(v).median; }

// The planner's working state: the model, its reference outputs and the fallback backend.
struct Workbench {
  const PlanOptions& opts;
  Graph graph;
  Tensor input;
  std::vector<Tensor> reference;
  std::unique_ptr<Backend> fallback;
  ExecOptions exec;

  void say(const std::string& line) const {
    if (opts.log) opts.log(line);
  }
  // Relative L2 error of the engine's outputs on the planner's input.
  double error_of(Engine& e) const {
    e.set_input(input);
    e.run();
    double worst = 0;
    for (std::size_t i = 0; i < reference.size(); ++i) {
      const Tensor out = e.output_tensor(static_cast<int>(i));
      worst = std::max(worst, relative_l2_error(out.span(), reference[i].span()));
    }
    return worst;
  }
};

// One candidate backend and what was measured on it.
struct Candidate {
  std::string name;
  std::unique_ptr<Backend> backend;
  std::vector<Support> support;  // per layer
  std::unique_ptr<Engine> whole, alone;
  double whole_ms = 0;
  double rel_l2_error = 0;      // the whole network's validation
  LayerTimer in_context;                     // profiled inferences of `whole`
  std::vector<std::vector<double>> alone_ms;  // [layer]: its segment's times in `alone`
};

std::vector<std::string> default_candidates() {
  std::vector<std::string> names;
  for (const BackendInfo& b : list_backends()) {
    if (b.available && b.device == DeviceKind::kCpu && b.name != "reference" &&
        b.name != "gemm:naive") {
      names.push_back(b.name);
    }
  }
  return names;
}

// Creates the backend and its whole-network engine, validates it and times one inference; the
// reason it cannot be a candidate otherwise.
std::string set_up(const Workbench& wb, Candidate& c) {
  try {
    c.backend = create_backend(c.name);
  } catch (const Error& e) {
    return e.what();
  }
  if (c.backend->device() != DeviceKind::kCpu) {
    return "plans place layers on CPU backends only";
  }
  if (c.backend->settings().value("operands_on_device", false)) {
    return "its SGEMM copies every operand to an OpenCL or CUDA device and back: plans place "
           "layers on CPU libraries only";
  }
  bool any = false;
  for (const Layer& l : wb.graph.layers) {
    c.support.push_back(c.backend->supports(wb.graph, l));
    any = any || c.support.back().ok;
  }
  if (!any) return "supports no layer of this model";
  try {
    c.whole = std::make_unique<Engine>(wb.graph, *c.backend, wb.fallback.get(), wb.exec);
    const auto t0 = Clock::now();
    const double err = c.rel_l2_error = wb.error_of(*c.whole);
    c.whole_ms = ms_since(t0);  // the validation inference's, until timed again
    if (!(err <= wb.opts.tolerance)) {
      char why[96];
      std::snprintf(why, sizeof why, "failed validation (relative L2 error %.3g)", err);
      return why;
    }
  } catch (const Error& e) {
    return e.what();
  }
  return {};
}

// The fastest of three inferences: one disturbed by other work must not leave a backend out.
std::string time_whole(Candidate& c) {
  try {
    c.whole_ms = kUnsupported;
    for (int i = 0; i < 3; ++i) {
      const auto t0 = Clock::now();
      c.whole->run();
      c.whole_ms = std::min(c.whole_ms, ms_since(t0));
    }
  } catch (const Error& e) {
    return e.what();
  }
  return {};
}

// Every layer its own segment: the candidate where it runs the layer, the fallback elsewhere.
std::string set_up_alone(const Workbench& wb, Candidate& c) {
  std::vector<LayerAssignment> placement;
  for (std::size_t i = 0; i < wb.graph.layers.size(); ++i) {
    if (c.support[i].ok) {
      placement.push_back({c.backend.get(), {}, true});
    } else {
      placement.push_back({wb.fallback.get(), c.support[i].reason, true});
    }
  }
  try {
    c.alone = std::make_unique<Engine>(wb.graph, placement, wb.exec);
    const double err = wb.error_of(*c.alone);
    if (!(err <= wb.opts.tolerance)) {
      char why[112];
      std::snprintf(why, sizeof why,
                    "failed validation with one segment per layer (relative L2 error %.3g)", err);
      return why;
    }
  } catch (const Error& e) {
    return e.what();
  }
  return {};
}

// The candidates that validate and are not far slower than the fastest.
std::vector<Candidate> candidates(const Workbench& wb, Plan& plan) {
  std::vector<Candidate> out;
  const std::vector<std::string> names =
      wb.opts.backends.empty() ? default_candidates() : wb.opts.backends;
  for (const std::string& name : names) {
    Candidate c;
    c.name = name;
    wb.say("plan: setting up " + name);
    if (std::string why = set_up(wb, c); !why.empty()) {
      plan.not_considered[name] = why;
      continue;
    }
    plan.library_versions[name] = c.backend->settings().value("library_version", "");
    out.push_back(std::move(c));
  }
  if (out.empty()) throw Error("plan: no candidate backend could run and validate this model");
  // A backend whose validation inference took over kHopeless x too_slow times the fastest
  // validation inference is not timed again (at seconds per inference, three more inferences cost
  // more than the rest of the plan): other work could not slow it down that much.
  constexpr double kHopeless = 10;
  double fastest_validation = kUnsupported;
  for (const Candidate& c : out) fastest_validation = std::min(fastest_validation, c.whole_ms);
  std::vector<Candidate> timed;
  for (Candidate& c : out) {
    const double ratio = c.whole_ms / fastest_validation;
    if (ratio > kHopeless * wb.opts.too_slow) {
      char why[160];
      std::snprintf(why, sizeof why, "its validation inference took %.1fx the fastest backend's",
                    ratio);
      plan.not_considered[c.name] = why;
    } else if (std::string err = time_whole(c); !err.empty()) {
      plan.not_considered[c.name] = err;
    } else {
      timed.push_back(std::move(c));
    }
  }
  if (timed.empty()) throw Error("plan: no candidate backend could be timed");
  double fastest = timed.front().whole_ms;
  for (const Candidate& c : timed) fastest = std::min(fastest, c.whole_ms);
  std::vector<Candidate> kept;
  for (Candidate& c : timed) {
    char why[128];
    std::snprintf(why, sizeof why, "the whole network took %.1fx the fastest backend's time",
                  c.whole_ms / fastest);
    if (c.whole_ms > wb.opts.too_slow * fastest) {
      plan.not_considered[c.name] = why;
    } else if (std::string err = set_up_alone(wb, c); !err.empty()) {
      plan.not_considered[c.name] = err;
    } else {
      kept.push_back(std::move(c));
    }
  }
  return kept;
}

// Profiled inferences of every candidate in both layouts, interleaved so that drift and other
// work spread over all of them.
void measure_layers(const Workbench& wb, std::vector<Candidate>& cands) {
  const std::size_t n = wb.graph.layers.size();
  for (Candidate& c : cands) {
    c.in_context = LayerTimer(n);
    c.alone_ms.assign(n, {});
  }
  std::vector<double> segment_ms;
  for (int r = 0; r < wb.opts.repeats; ++r) {
    for (Candidate& c : cands) {
      c.whole->run(&c.in_context);
      c.alone->run_timing_segments(segment_ms);
      for (int s = 0; s < c.alone->segment_count(); ++s) {
        c.alone_ms[c.alone->segment_layers(s).first].push_back(segment_ms[s]);
      }
    }
  }
}

// The placement problem of the measured figures; `conversion_weight` scales boundary costs.
PlacementProblem problem_of(const Graph& g, const std::vector<Candidate>& cands,
                            double conversion_weight) {
  std::vector<int> producer(g.values.size(), -1);
  for (std::size_t i = 0; i < g.layers.size(); ++i) producer[g.layers[i].output] = static_cast<int>(i);
  std::vector<bool> is_output(g.values.size(), false);
  for (ValueId o : g.outputs) is_output[o] = true;
  PlacementProblem p;
  // One more backend than candidates: the engine's in-place concat, free where it is offered.
  p.backends = static_cast<int>(cands.size()) + 1;
  for (std::size_t i = 0; i < g.layers.size(); ++i) {
    const Layer& l = g.layers[i];
    LayerCosts lc;
    double bytes = static_cast<double>(g.shape(l.output).elements());
    for (ValueId v : l.inputs) {
      lc.producers.push_back(producer[v]);
      bytes += static_cast<double>(g.shape(v).elements());
    }
    lc.output_is_graph_output = is_output[l.output];
    lc.import_ms.assign(l.inputs.size(), {});
    for (const Candidate& c : cands) {
      const bool ok = c.support[i].ok;
      const double run = ok ? median(c.in_context.samples()[i]) : kUnsupported;
      const double boundary =
          ok ? conversion_weight * std::max(0.0, median(c.alone_ms[i]) - run) : 0;
      lc.run_ms.push_back(run);
      lc.export_ms.push_back(boundary * g.shape(l.output).elements() / bytes);
      for (std::size_t k = 0; k < l.inputs.size(); ++k) {
        lc.import_ms[k].push_back(boundary * g.shape(l.inputs[k]).elements() / bytes);
      }
    }
    lc.run_ms.push_back(can_concat_in_place(g, l) ? 0.0 : kUnsupported);
    lc.export_ms.push_back(0.0);
    for (auto& per_input : lc.import_ms) per_input.push_back(0.0);
    p.layers.push_back(std::move(lc));
  }
  return p;
}

// An engine of the final comparison.
struct Timed {
  Contender result;
  std::unique_ptr<Engine> own;  // planned engines; single backends use their whole engine
  Engine* engine = nullptr;
  std::vector<int> placement;  // planned contenders: candidate index per layer
  std::vector<std::vector<double>> rounds;
};

std::unique_ptr<Engine> planned_engine(const Workbench& wb, const std::vector<Candidate>& cands,
                                       const std::vector<int>& placement) {
  std::vector<LayerAssignment> a;
  for (int b : placement) {
    const bool in_place = b == static_cast<int>(cands.size());
    a.push_back({in_place ? nullptr : cands[b].backend.get(), {}, false, in_place});
  }
  return std::make_unique<Engine>(wb.graph, a, wb.exec);
}

// Runs every contender in interleaved rounds (a shuffled order per round).
void compare(const Workbench& wb, std::vector<Timed>& timed) {
  std::mt19937 rng(11);
  std::vector<std::size_t> order(timed.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  for (Timed& t : timed) t.rounds.assign(wb.opts.verify_rounds, {});
  for (int r = 0; r < wb.opts.verify_rounds; ++r) {
    std::shuffle(order.begin(), order.end(), rng);
    for (std::size_t i : order) {
      for (int k = 0; k < wb.opts.verify_runs; ++k) {
        const auto t0 = Clock::now();
        timed[i].engine->run();
        timed[i].rounds[r].push_back(ms_since(t0));
      }
    }
  }
  for (Timed& t : timed) {
    std::vector<double> all;
    for (const auto& r : t.rounds) all.insert(all.end(), r.begin(), r.end());
    const MedianInterval ci = hierarchical_bootstrap_median_interval(t.rounds);
    t.result.median_ms = median(all);
    t.result.ci_low_ms = ci.low;
    t.result.ci_high_ms = ci.high;
    t.result.samples = static_cast<int>(all.size());
  }
}

// One backend everywhere, supporting every layer: the same engine as that backend alone.
bool same_as_single_backend(const std::vector<Candidate>& cands, const std::vector<int>& placement) {
  const int first = placement.front();
  if (first >= static_cast<int>(cands.size())) return false;
  return std::all_of(placement.begin(), placement.end(), [&](int b) { return b == first; }) &&
         std::all_of(cands[first].support.begin(), cands[first].support.end(),
                     [](const Support& s) { return s.ok; });
}

// The planned placements (least predicted time, and with conversions weighted double: fewer
// switches) and every single backend, validated; engines that fail validation are left out.
std::vector<Timed> contenders(const Workbench& wb, const std::vector<Candidate>& cands,
                              Plan& plan) {
  std::vector<Timed> out;
  const char* names[] = {"plan", "plan (fewer switches)"};
  const PlacementProblem measured = problem_of(wb.graph, cands, 1.0);
  for (int v = 0; v < 2; ++v) {
    Timed t;
    t.placement = cheapest_placement(v == 0 ? measured : problem_of(wb.graph, cands, 2.0));
    if (v == 1 && !out.empty() && out.front().placement == t.placement) continue;
    if (same_as_single_backend(cands, t.placement)) continue;
    t.result.name = names[v];
    t.result.predicted_ms = placement_cost(measured, t.placement);
    t.own = planned_engine(wb, cands, t.placement);
    t.engine = t.own.get();
    t.result.rel_l2_error = wb.error_of(*t.engine);
    if (!(t.result.rel_l2_error <= wb.opts.tolerance)) {
      plan.not_considered[t.result.name] = "the planned network failed validation";
      continue;
    }
    out.push_back(std::move(t));
  }
  for (const Candidate& c : cands) {
    Timed t;
    t.result.name = c.name;
    t.result.predicted_ms = 0;  // the sum of its layers in context, the fallback's included
    for (const std::vector<double>& layer : c.in_context.samples()) t.result.predicted_ms += median(layer);
    t.engine = c.whole.get();
    t.result.rel_l2_error = c.rel_l2_error;  // validated in set_up()
    out.push_back(std::move(t));
  }
  return out;
}

void describe_layers(const Workbench& wb, const std::vector<Candidate>& cands,
                     const Engine& chosen, Plan& plan) {
  for (std::size_t i = 0; i < wb.graph.layers.size(); ++i) {
    const Layer& l = wb.graph.layers[i];
    PlannedLayer pl;
    pl.name = l.name;
    pl.op = op_name(l.op);
    pl.backend = chosen.placements()[i].backend;
    for (const Candidate& c : cands) {
      Alternative a;
      a.backend = c.name;
      if (c.support[i].ok) {
        a.in_context_ms = median(c.in_context.samples()[i]);
        a.alone_ms = median(c.alone_ms[i]);
      } else {
        a.declined = c.support[i].reason;
      }
      pl.alternatives.push_back(std::move(a));
    }
    if (can_concat_in_place(wb.graph, l)) pl.alternatives.push_back({kInPlaceConcat, 0.0, 0.0, {}});
    plan.layers.push_back(std::move(pl));
  }
}

}  // namespace

Plan make_plan(const PlanOptions& opts) {
  if (opts.threads < 1) throw Error("plan: the thread count must be at least 1");
  if (opts.repeats < 1 || opts.verify_rounds < 1 || opts.verify_runs < 1) {
    throw Error("plan: repeats and rounds must be at least 1");
  }
  const auto start = Clock::now();
  ModelOptions mo = opts.model_options;
  Workbench wb{opts, load_model(opts.model, mo), {}, {}, create_fallback_backend(), {}};
  wb.exec.threads = opts.threads;
  wb.input = make_input(wb.graph);
  wb.say("plan: computing the reference outputs");
  wb.reference = opts.reference_cache_dir.empty()
                     ? reference_outputs(wb.graph, wb.input)
                     : cached_reference_outputs(wb.graph, wb.input, opts.reference_cache_dir,
                                                reference_cache_key(wb.graph, mo));

  Plan plan;
  plan.model = opts.model;
  plan.model_sha256 = wb.graph.content_sha256;
  plan.input_shape = wb.graph.shape(wb.graph.input).str();
  plan.batch = wb.graph.shape(wb.graph.input).n;
  plan.threads = opts.threads;
  plan.device = device_json();
  std::vector<Candidate> cands = candidates(wb, plan);
  if (cands.empty()) throw Error("plan: every candidate backend was left out (see above)");
  wb.say("plan: timing every layer on " + std::to_string(cands.size()) + " backends");
  measure_layers(wb, cands);
  std::vector<Timed> timed = contenders(wb, cands, plan);
  wb.say("plan: timing the planned network against every single backend");
  compare(wb, timed);
  const auto best = std::min_element(timed.begin(), timed.end(), [](const Timed& a, const Timed& b) {
    return a.result.median_ms < b.result.median_ms;
  });
  plan.chosen = best->result.name;
  describe_layers(wb, cands, *best->engine, plan);
  for (const Timed& t : timed) plan.contenders.push_back(t.result);
  plan.planning_s = ms_since(start) / 1e3;
  return plan;
}

}  // namespace libscout::placement
