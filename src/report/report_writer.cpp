#include "report/report_writer.h"

#include <algorithm>
#include <fstream>
#include <map>

#include "core/error.h"
#include "report/figures.h"
#include "report/plan_section.h"
#include "report/report_tables.h"

namespace libscout::report {

namespace {

std::string join(const std::vector<std::string>& items, const std::string& separator = ", ") {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? separator : "") + items[i];
  return out;
}

// Each device needs a distinct label when several studies are merged.
std::vector<StudyResults> with_unique_labels(std::vector<StudyResults> studies) {
  std::map<std::string, int> seen;
  for (auto& s : studies) {
    const int count = ++seen[s.device.label];
    if (count > 1) s.device.label += " (" + std::to_string(count) + ")";
  }
  return studies;
}

// A card's sentence: the winner's time with its interval, how it compares with the baseline,
// and its energy (or why there is no energy figure).
std::string card_detail(const Table2Entry& e) {
  if (!e.fastest) return "No backend produced a validated result.";
  const BackendChoice& f = *e.fastest;
  std::string text;
  std::optional<Interval> ci = f.ms_ci;
  if (e.batch > 1) {
    ci = f.ms_ci && f.ms_ci->lo > 0 ? std::optional<Interval>(Interval{1000 / f.ms_ci->hi, 1000 / f.ms_ci->lo})
                                    : std::nullopt;
    text = measure(f.images_per_s()) + " images per second";
  } else {
    text = measure(f.ms_per_inference) + " ms per inference";
  }
  if (ci) text += " (95% interval " + measure(ci->lo) + " to " + measure(ci->hi) + ")";
  if (!e.fastest_ties.empty()) {
    text += " on " + f.backend + " (" + run_phrase(f) + "), within noise of the others named";
  }
  text += ".";
  const bool tied_with_baseline =
      std::any_of(e.fastest_ties.begin(), e.fastest_ties.end(),
                  [&](const BackendChoice& c) { return c.backend == e.baseline; });
  if (!e.baseline_missing.empty()) {
    text += " No speed-up: " + e.baseline_missing + ".";
  } else if (f.backend == e.baseline) {
    text += " No backend was faster than the baseline.";
  } else if (tied_with_baseline) {
    text += " Not faster than the baseline " + e.baseline + " beyond noise.";
  } else if (e.fastest_speedup) {
    text += " " + format_ratio(*e.fastest_speedup) + " " +
            (e.batch > 1 ? "the throughput of " : "as fast as ") + e.baseline + ".";
  }
  if (!e.energy_measured) return text + " No energy figure: " + e.energy_none + ".";
  if (e.most_efficient && e.most_efficient->backend != f.backend) {
    text += " Least energy: " + e.most_efficient->backend + " (" + run_phrase(*e.most_efficient) +
            "), " + with_interval(*e.most_efficient->mj_per_inference, e.most_efficient->mj_ci) +
            " mJ per inference.";
  } else if (e.fastest_energy_efficiency) {
    text += " " + format_ratio(*e.fastest_energy_efficiency) + " the energy efficiency of " +
            e.baseline + ".";
  }
  return text;
}

// The first screen: per device and model the library to use, then the throughput winners.
Summary summary(const std::vector<Table2Entry>& entries,
                const std::vector<Table2Entry>& throughput, bool several_devices) {
  Summary s;
  auto title = [&](const Table2Entry& e) {
    std::string text = model_display_name(e.model);
    if (several_devices) text += " on " + e.device;
    if (e.batch > 1) text += ", batch " + std::to_string(e.batch) + " (throughput)";
    return text;
  };
  for (const auto* list : {&entries, &throughput}) {
    for (const auto& e : *list) {
      std::string headline = "No validated result";
      if (e.fastest) {
        const bool baseline = e.fastest->backend == e.baseline && e.fastest_ties.empty();
        headline = (baseline ? "Keep " : "Use ") + e.pick;
      }
      s.cards.push_back({title(e), headline, card_detail(e)});
    }
  }
  return s;
}

struct NamedFigure {
  const char* file;
  const char* caption;
  svg::Figure figure;
};

std::vector<NamedFigure> all_figures(const std::vector<StudyResults>& studies) {
  std::vector<NamedFigure> figures = {
      {"figures/latency.svg",
       "Median time per inference at batch 1, each backend at its fastest thread count, fastest "
       "first, on a log axis; the whisker is the median's 95% interval. A backend with no "
       "validated run says why instead of a bar.",
       latency_figure(studies)},
      {"figures/energy.svg",
       "Energy per inference at batch 1, each backend at its least-energy thread count, on a log "
       "axis. A run whose meter cannot see the device that did the work has no energy figure.",
       energy_figure(studies)},
      {"figures/power.svg",
       "Average power while running each backend and model (the rows of the energy figure), "
       "split by the rails the meter reports.",
       power_figure(studies)},
      {"figures/gemm_gflops.svg",
       "SGEMM throughput (GFLOPS) against the size of square matrices, one panel per thread "
       "count asked; the size axis is log2-scaled. Dashed lines include the copies to and from "
       "an accelerator.",
       gemm_figure(studies)},
  };
  if (auto throughput = throughput_figure(studies))
    figures.insert(figures.begin() + 1,
                   {"figures/throughput.svg",
                    "Images per second of each backend's best row, CPU and GPU side by side "
                    "(GPU rows at their throughput batch), on a log axis.",
                    std::move(*throughput)});
  return figures;
}

void write_atomically(const std::filesystem::path& path, const std::string& content) {
  std::filesystem::path temporary = path;
  temporary += ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) throw Error("cannot write " + temporary.string());
    out << content;
    out.flush();
    if (!out) throw Error("cannot write " + temporary.string() + " (disk full?)");
  }
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  if (error) throw Error("cannot write " + path.string() + ": " + error.message());
}

// Beyond this many, busy rows are only counted (each is marked in the tables and figures).
constexpr std::size_t kBusyRowsListed = 12;

constexpr const char* kRankingMethod =
    "Only runs with status ok whose output passed validation are ranked, and only energy "
    "figures from a meter that can see the device that did the work (RAPL sees the CPU package, "
    "NVML the GPU, board meters both). Each backend is represented by its best run across the "
    "thread counts measured, and so is the baseline. Speed-up = baseline time / backend time and "
    "energy efficiency = baseline energy / backend energy, each the ratio of the medians; the "
    "interval in brackets runs from the ratio of the two medians' 95% intervals' near ends to "
    "that of their far ends (a conservative bound). Backends whose intervals overlap the "
    "winner's are named together as within noise rather than ranked.";

void add_results(std::vector<Block>& b, const std::vector<StudyResults>& studies,
                 const std::vector<Table2Entry>& entries,
                 const std::vector<Table2Entry>& throughput, const ReportOptions& options) {
  b.push_back(Heading{2, "Table 2: the best library against " + options.baseline});
  b.push_back(paper_table(entries, options.baseline));
  std::vector<std::string> no_energy;
  std::size_t without_energy = 0;
  for (const auto& e : entries) {
    if (e.energy_measured) continue;
    ++without_energy;
    if (std::find(no_energy.begin(), no_energy.end(), e.energy_none) == no_energy.end())
      no_energy.push_back(e.energy_none);
  }
  if (!no_energy.empty())
    b.push_back(Paragraph{"No energy figure" +
                          std::string(without_energy < entries.size() ? " for some models" : "") +
                          ": " + join(no_energy, "; ") + "."});
  b.push_back(Paragraph{kRankingMethod});
  b.push_back(Heading{2, "Every backend, CPU and GPU side by side"});
  b.push_back(Paragraph{"Fastest first; rows that failed or were invalid are last and say why. "
                        "Layers a library declines run on a fallback backend: where any did, "
                        "the Fallback column names them and their share of the row's time."});
  for (auto& t : backends_tables(studies)) {
    b.push_back(Heading{3, t.title});
    b.push_back(std::move(t.table));
    if (!t.note.empty()) b.push_back(Paragraph{t.note});
  }
  if (!throughput.empty()) {
    b.push_back(Heading{3, "Throughput at larger batches"});
    b.push_back(throughput_table(throughput));
  }
  b.push_back(Heading{3, "At equal thread counts"});
  b.push_back(Paragraph{"The same comparison with every CPU backend and the baseline at one "
                        "thread count asked at a time."});
  b.push_back(detail_table(rank_at_equal_threads(studies, options.baseline), true));
  add_plan_section(b, studies);

  b.push_back(Heading{2, "Runs not ranked"});
  const auto unranked = unranked_rows(studies);
  if (unranked.empty()) {
    b.push_back(Paragraph{"Every run and every SGEMM measurement ran and passed validation."});
  } else {
    b.push_back(Paragraph{"These measurements failed, were skipped or did not pass validation; "
                          "they appear in no ranking."});
    b.push_back(unranked_table(unranked));
  }
  if (Table busy = busy_table(studies); !busy.rows.empty()) {
    std::size_t ranked = 0;
    for (const auto& s : studies)
      ranked += static_cast<std::size_t>(std::count_if(s.runs.begin(), s.runs.end(),
                                                       [](const RunRow& r) { return r.rankable(); }));
    b.push_back(Heading{3, "Measured on a busy machine"});
    std::string text = std::to_string(busy.rows.size()) + " of " + std::to_string(ranked) +
                       " ranked rows were timed while other work kept the CPUs busy (after "
                       "re-measuring, where the study did): their timings are slower and noisier "
                       "than the device can do, and a ranking that rests on them is doubtful. "
                       "Measure again on an idle machine.";
    if (busy.rows.size() > kBusyRowsListed) {
      b.push_back(Paragraph{text + " They are marked busy in the tables above and the figures."});
    } else {
      b.push_back(Paragraph{text});
      b.push_back(std::move(busy));
    }
  }
  std::vector<std::string> warnings;
  for (const auto& s : studies)
    for (const auto& w : s.warnings) warnings.push_back(s.source + ": " + w);
  if (!warnings.empty()) {
    b.push_back(Heading{3, "Results not read"});
    b.push_back(Paragraph{"These files or rows could not be read; the report leaves them out."});
    b.push_back(BulletList{warnings});
  }
}

void add_method(std::vector<Block>& b, const std::vector<StudyResults>& studies) {
  b.push_back(Heading{2, "Method"});
  b.push_back(Paragraph{
      "Time is the median over the timed inferences of each row (pooled over the study's "
      "rounds, which run the rows in a shuffled order), after the warm-up runs, divided by the "
      "batch size; its interval is the study's confidence interval of that median. Energy per "
      "inference is the meter's energy over the measuring window divided by the inferences in "
      "it (idle power included; the net figure subtracts the idle power measured before the "
      "window). Each run's output is compared with the reference backend before and after "
      "timing."});
  b.push_back(Heading{3, "Devices and settings"});
  b.push_back(method_table(studies));
  b.push_back(Heading{3, "Library versions"});
  if (Table libraries = library_table(studies); libraries.rows.empty()) {
    b.push_back(Paragraph{"No library reported a version."});
  } else {
    b.push_back(std::move(libraries));
  }
  if (Table not_swept = not_swept_table(studies); !not_swept.rows.empty()) {
    b.push_back(Heading{3, "Thread counts not measured"});
    b.push_back(Paragraph{"A library that uses fewer threads than asked is measured only at the "
                          "thread counts it can use."});
    b.push_back(std::move(not_swept));
  }
  b.push_back(Heading{3, "Energy measurements"});
  bool any_energy = false;
  for (const auto& s : studies) any_energy |= s.has_energy();
  if (any_energy) b.push_back(energy_table(studies));
  for (const auto& s : studies)
    if (!s.has_energy())
      b.push_back(Paragraph{"Energy was not measured on " + s.device.label +
                            ": no power meter on this device."});
  b.push_back(Heading{3, "SGEMM measurements"});
  b.push_back(gemm_table(studies));
}

}  // namespace

Document build_report(const std::vector<StudyResults>& input, const ReportOptions& options) {
  if (input.empty()) throw Error("no study results to report on");
  const std::vector<StudyResults> studies = with_unique_labels(input);
  const auto entries = compute_table2(studies, options.baseline);
  const auto throughput = compute_throughput(studies, options.baseline);

  std::vector<std::string> devices;
  for (const auto& s : studies) devices.push_back(s.device.label);
  Document doc;
  doc.title = "Which library to use on " + join(devices);
  auto& b = doc.blocks;
  b.push_back(summary(entries, throughput, studies.size() > 1));
  b.push_back(Paragraph{"Speed-ups and energy ratios are measured against the baseline " +
                        options.baseline +
                        " on the same device (above 1.00x: better than the baseline), with "
                        "their 95% interval in brackets where the study measured one."});
  add_results(b, studies, entries, throughput, options);
  b.push_back(Heading{2, "Figures"});
  int number = 1;
  for (auto& f : all_figures(studies)) {
    const std::string caption = "Figure " + std::to_string(number++) + ". " + f.caption;
    b.push_back(FigureBlock{f.file, caption, svg::render_svg(f.figure), svg::render_panels(f.figure)});
  }
  add_method(b, studies);
  return doc;
}

nlohmann::json report_json(const std::vector<StudyResults>& input, const ReportOptions& options) {
  using nlohmann::json;
  if (input.empty()) throw Error("no study results to report on");
  const std::vector<StudyResults> studies = with_unique_labels(input);
  auto value = [](const std::optional<Ratio>& r) { return r ? json(r->value) : json(nullptr); };
  auto ratio_interval = [&](const std::optional<Ratio>& r) {
    return r ? interval_json(r->ci) : json(nullptr);
  };
  auto choice = [&](const std::optional<BackendChoice>& c) {
    if (!c) return json(nullptr);
    return json{{"backend", c->backend},
                {"device", c->device},
                {"threads", c->threads},
                {"threads_requested", c->asked_threads},
                {"batch", c->batch},
                {"latency_ms", c->ms_per_inference},
                {"latency_interval_ms", interval_json(c->ms_ci)},
                {"images_per_s", c->images_per_s()},
                {"energy_j", c->mj_per_inference ? json(*c->mj_per_inference * 1e-3) : json(nullptr)},
                {"energy_interval_j", interval_json(c->mj_ci, 1e-3)}};
  };
  auto names = [](const std::vector<BackendChoice>& ties) {
    json list = json::array();
    for (const auto& t : ties) list.push_back(t.backend);
    return list;
  };
  auto entry = [&](const Table2Entry& e) {
    return json{{"device", e.device},
                {"model", e.model},
                {"batch", e.batch},
                {"energy_measured", e.energy_measured},
                {"no_energy_figure", e.energy_measured ? json(nullptr) : json(e.energy_none)},
                {"fastest", choice(e.fastest)},
                {"fastest_within_noise", names(e.fastest_ties)},
                {"most_efficient", choice(e.most_efficient)},
                {"most_efficient_within_noise", names(e.efficient_ties)},
                {"baseline", choice(e.baseline_fastest)},
                {"baseline_most_efficient", choice(e.baseline_efficient)},
                {"baseline_missing", e.baseline_missing.empty() ? json(nullptr) : json(e.baseline_missing)},
                {"speedup", value(e.fastest_speedup)},
                {"speedup_interval", ratio_interval(e.fastest_speedup)},
                {"energy_efficiency", value(e.fastest_energy_efficiency)},
                {"energy_efficiency_interval", ratio_interval(e.fastest_energy_efficiency)},
                {"most_efficient_speedup", value(e.efficient_speedup)},
                {"most_efficient_speedup_interval", ratio_interval(e.efficient_speedup)},
                {"most_efficient_energy_efficiency", value(e.efficient_energy_efficiency)},
                {"most_efficient_energy_efficiency_interval",
                 ratio_interval(e.efficient_energy_efficiency)},
                {"recommendation", e.recommendation}};
  };
  json devices = json::array(), warnings = json::array(), table2 = json::array(),
       throughput = json::array(), not_ranked = json::array(), plans = json::array();
  for (const auto& s : studies) {
    devices.push_back({{"label", s.device.label}, {"source", s.source}, {"device", s.device.raw},
                       {"files", s.files}, {"energy_measured", s.has_energy()}});
    for (const auto& w : s.warnings) warnings.push_back(s.source + ": " + w);
    for (const auto& p : s.plans) plans.push_back(plan_report_json(p, s.device.label));
  }
  for (const auto& e : compute_table2(studies, options.baseline)) table2.push_back(entry(e));
  for (const auto& e : compute_throughput(studies, options.baseline)) throughput.push_back(entry(e));
  for (const auto& u : unranked_rows(studies))
    not_ranked.push_back({{"device", u.device}, {"what", u.what}, {"status", u.status}, {"reason", u.reason}});
  return {{"schema", kReportSchema}, {"baseline", options.baseline}, {"devices", devices},
          {"table2", table2},        {"throughput", throughput},     {"not_ranked", not_ranked},
          {"plans", plans},          {"warnings", warnings}};
}

ReportFiles write_report(const std::vector<StudyResults>& studies,
                         const std::filesystem::path& out_dir, const ReportOptions& options) {
  if (!options.html && !options.markdown && !options.json)
    throw Error("no report format chosen (html, md or json)");
  std::error_code error;
  std::filesystem::create_directories(options.markdown ? out_dir / "figures" : out_dir, error);
  if (error) throw Error("cannot create " + out_dir.string() + ": " + error.message());

  ReportFiles files;
  if (options.html || options.markdown) {
    const Document doc = build_report(studies, options);
    if (options.markdown) {
      for (const auto& block : doc.blocks) {
        if (const auto* figure = std::get_if<FigureBlock>(&block)) {
          const auto path = out_dir / figure->file;
          write_atomically(path, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + figure->svg);
          files.figures.push_back(path);
        }
      }
      files.markdown = out_dir / "report.md";
      write_atomically(files.markdown, render_markdown(doc));
    }
    if (options.html) {
      files.html = out_dir / "report.html";
      write_atomically(files.html, render_html(doc));
    }
  }
  if (options.json) {
    files.json = out_dir / "report.json";
    write_atomically(files.json, report_json(studies, options).dump(2) + "\n");
  }
  return files;
}

}  // namespace libscout::report
