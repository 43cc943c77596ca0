// Inside the power module: the CSV layout of external power logs (src/power/README.md),
// separated from the meter so that tests can check the parsing and the window integration directly.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "power/meter.h"

namespace libscout::power {

struct ExternalLogFormat {
  struct Column {
    std::string rail;
    int index = -1;          // the power (or voltage) column
    int current_index = -1;  // the current column when power is volts x amperes
    double scale = 1.0;      // to watts
  };
  char delimiter = ',';
  bool has_header = true;
  int time_column = -1;
  double time_divisor = 1.0;  // time column / time_divisor = seconds since the Unix epoch
  std::vector<Column> columns;

  // From the first line of the log; throws libscout::Error when a time or power column is missing.
  static ExternalLogFormat from_header(std::string_view first_line);
  std::vector<Rail> rails() const;
  // One data row (t_s in Unix seconds); nullopt when the row is not complete numbers.
  std::optional<PowerSample> parse_row(std::string_view line) const;
};

std::optional<double> parse_iso8601(std::string_view text);

// Joules per rail between t0 and t1 (same time scale as the samples), trapezoidal with linear
// interpolation at the edges. Throws libscout::Error when the samples do not cover [t0, t1].
std::vector<double> integrate_window(const std::vector<PowerSample>& samples, double t0, double t1,
                                     size_t rails);

}  // namespace libscout::power
