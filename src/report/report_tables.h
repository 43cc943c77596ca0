// The tables of the report, each built from the study results or from Table 2's entries. Every
// table lists each measurement once; a value a study did not record reads "not recorded", a value
// that does not exist (a failed run's time) reads "–" next to the status that says why.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "report/document.h"
#include "report/study_results.h"
#include "report/table2.h"

namespace libscout::report {

// Milliseconds, millijoules, watts: three significant digits without exponents.
std::string measure(double value);
std::string measure(const std::optional<double>& value, const char* missing = "–");
// "12.3 (11.8 to 12.9)", or "12.3" without an interval.
std::string with_interval(double value, const std::optional<Interval>& ci);

// The paper's layout: one column per device and model, one row per quantity.
Table paper_table(const std::vector<Table2Entry>& entries, const std::string& baseline);
// One row per entry (device, model, and the thread count or batch it is restricted to).
Table detail_table(const std::vector<Table2Entry>& entries, bool with_threads);
// Images per second of each entry's winner and of the baseline at the same batch.
Table throughput_table(const std::vector<Table2Entry>& entries);
// Every model row, CPU and GPU side by side: one table per device and model, fastest first,
// failed and invalid rows last with their status. Columns that would be alike on every row
// (batch, GPU time, energy, fallback, rounds) appear only where some row differs. A reason for
// "no energy figure" that several rows share is given once, in `note`.
struct TitledTable {
  std::string title;
  Table table;
  std::string note;
};
std::vector<TitledTable> backends_tables(const std::vector<StudyResults>& studies);
Table unranked_table(const std::vector<UnrankedRow>& rows);
// Rows timed while other work kept the machine busy (empty table when there are none).
Table busy_table(const std::vector<StudyResults>& studies);
// The devices and how each study measured (warm-up, timing rule, rounds, interval, energy
// protocol, governor, SMT).
Table method_table(const std::vector<StudyResults>& studies);
Table library_table(const std::vector<StudyResults>& studies);
// Thread counts the study did not measure because the library cannot use them.
Table not_swept_table(const std::vector<StudyResults>& studies);
Table energy_table(const std::vector<StudyResults>& studies);
Table gemm_table(const std::vector<StudyResults>& studies);

}  // namespace libscout::report
