// `libscout report`: turns the results of one or more devices into report.html (self-contained:
// figures inlined as SVG, no scripts, no network), report.md (tables; figures as figures/*.svg)
// and report.json (schema libscout.report/1, docs/json-schemas.md). Several devices are merged side
// by side: one column group per device in Table 2 and one panel per device in each figure.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "report/document.h"
#include "report/study_results.h"
#include "report/table2.h"

namespace libscout::report {

struct ReportOptions {
  std::string baseline = kDefaultBaseline;  // the backend every speed-up is measured against
  bool html = true;
  bool markdown = true;  // report.md and the figures/*.svg it refers to
  bool json = true;
};

struct ReportFiles {
  std::filesystem::path markdown;  // empty when not written
  std::filesystem::path html;
  std::filesystem::path json;
  std::vector<std::filesystem::path> figures;
};

// The whole report as a document (Table 2, recommendations, figures, method).
Document build_report(const std::vector<StudyResults>& studies, const ReportOptions& options);

// The report as a libscout.report/1 document: the devices, Table 2, the rows never ranked and
// every warning met while reading the results.
nlohmann::json report_json(const std::vector<StudyResults>& studies, const ReportOptions& options);

// Builds the report and writes it into out_dir (created if needed). Each file is written to a
// temporary name and renamed, so a reader never sees half a report.
ReportFiles write_report(const std::vector<StudyResults>& studies,
                         const std::filesystem::path& out_dir, const ReportOptions& options);

}  // namespace libscout::report
