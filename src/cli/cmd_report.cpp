// `libscout report DIR... [--out DIR] [--format html,md,json] [--baseline BACKEND]`: reads the
// results of one or more devices (a study directory each, or single result files) and writes
// report.html, report.md (with figures/*.svg) and report.json. Files it cannot read are named in a
// warning and left out; the report is still written from the rest.
#include <cstdio>
#include <memory>
#include <sstream>

#include "cli/commands.h"
#include "core/error.h"
#include "report/report_writer.h"
#include "report/study_results.h"

namespace libscout::cli {

namespace {

struct ReportCommandOptions {
  std::vector<std::string> inputs;
  std::string out_dir;
  std::string formats = "html,md,json";
  std::string baseline = report::kDefaultBaseline;
};

report::ReportOptions parse_formats(const std::string& formats, const std::string& baseline) {
  report::ReportOptions options;
  options.baseline = baseline;
  options.html = options.markdown = options.json = false;
  std::stringstream list(formats);
  std::string format;
  while (std::getline(list, format, ',')) {
    if (format == "html") {
      options.html = true;
    } else if (format == "md" || format == "markdown") {
      options.markdown = true;
    } else if (format == "json") {
      options.json = true;
    } else if (!format.empty()) {
      throw Error("unknown report format '" + format + "' (expected html, md or json)");
    }
  }
  if (!options.html && !options.markdown && !options.json)
    throw Error("--format names no format (expected a list of html, md, json)");
  return options;
}

int run(const ReportCommandOptions& o) {
  const report::ReportOptions options = parse_formats(o.formats, o.baseline);
  std::vector<report::StudyResults> studies;
  for (const std::string& input : o.inputs) {
    studies.push_back(report::load_study(input));
    for (const std::string& warning : studies.back().warnings)
      std::fprintf(stderr, "libscout: warning: %s: %s\n", input.c_str(), warning.c_str());
  }
  // One input: the report goes next to its results; several: into a directory of their own.
  std::string out_dir = o.out_dir;
  if (out_dir.empty()) {
    if (o.inputs.size() > 1) throw Error("several inputs: say where the report goes with --out DIR");
    const std::filesystem::path input(o.inputs.front());
    out_dir = std::filesystem::is_directory(input) ? input.string()
                                                   : input.parent_path().string();
    if (out_dir.empty()) out_dir = ".";
  }
  const report::ReportFiles files = report::write_report(studies, out_dir, options);
  for (const auto& path : {files.html, files.markdown, files.json})
    if (!path.empty()) std::printf("wrote %s\n", path.string().c_str());
  if (!files.figures.empty())
    std::printf("wrote %zu figures in %s\n", files.figures.size(),
                (std::filesystem::path(out_dir) / "figures").string().c_str());
  return 0;
}

}  // namespace

void add_report_command(CLI::App& app) {
  auto o = std::make_shared<ReportCommandOptions>();
  CLI::App* cmd = app.add_subcommand(
      "report", "Write Table 2, the figures and the method of one or more devices' results");
  cmd->add_option("inputs", o->inputs,
                  "Study directories (one per device) or result files (libscout.study/1, "
                  "libscout.run/1, libscout.gemm/1)")
      ->required();
  cmd->add_option("--out,-o", o->out_dir,
                  "Where to write the report; default: the study directory (required with "
                  "several inputs)");
  cmd->add_option("--format", o->formats, "Comma-separated list of html, md, json")
      ->capture_default_str();
  cmd->add_option("--baseline", o->baseline, "Backend the speed-ups are measured against")
      ->capture_default_str();
  cmd->callback([o] { run(*o); });
}

}  // namespace libscout::cli
