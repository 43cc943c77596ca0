// A small SVG plotter for the study report: line charts (GFLOPS vs matrix size: log2 x axis, a
// linear or log10 y axis) and horizontal bar charts (time, energy or power per backend: one row
// per backend, sorted, the value printed at the end of the bar, an interval drawn as a whisker,
// a missing value written as a note instead of a bar; bars may be stacked, e.g. power by rail).
// A figure is a set of small panels (one per device, model or thread count) laid out in a grid.
// Each series name has one colour in the whole figure and no two names share one. The output is
// plain, self-contained SVG: no scripts, no ids, no external fonts, so many figures can be
// inlined into one HTML page. Marks carry data-value attributes and axes their range
// (data-lo, data-hi), so tests can check that every axis covers its data.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace libscout::report::svg {

// Text escaped for XML character data and attribute values (&, <, >, ", '). Control characters
// that XML 1.0 forbids are dropped.
std::string escape_xml(std::string_view text);

// Axis ticks at "nice" steps (1, 2, 2.5 or 5 times a power of ten) covering [lo, hi]: the
// returned range starts at or below lo and ends at or above hi.
struct Ticks {
  double lo = 0;
  double hi = 1;
  double step = 1;
  std::vector<double> values;
};
Ticks nice_ticks(double lo, double hi, int target_count = 5);

// A tick label with no more decimals than the step needs ("0.25", "2", "1000").
std::string format_tick(double value, double step);

// A value in three significant digits without an exponent where one is not needed ("0.512",
// "12.3", "4560").
std::string format_value(double value);

// Maps a value of [domain_lo, domain_hi] linearly onto [range_lo, range_hi].
class LinearScale {
 public:
  LinearScale(double domain_lo, double domain_hi, double range_lo, double range_hi);
  double operator()(double value) const;

 private:
  double domain_lo_, domain_hi_, range_lo_, range_hi_;
};

// Maps log_base(value) linearly. The domain is widened to whole powers of the base; values must
// be positive (libscout::Error otherwise). Base 2: matrix sizes; base 10: times and energies.
class LogScale {
 public:
  LogScale(double base, double domain_lo, double domain_hi, double range_lo, double range_hi);
  double operator()(double value) const;
  double domain_lo() const { return domain_lo_; }
  double domain_hi() const { return domain_hi_; }
  // The powers of the base in the domain, thinned to at most max_count evenly spaced ones; for
  // base 10 over one decade also 2x and 5x the power.
  std::vector<double> ticks(int max_count = 10) const;

 private:
  double base_, domain_lo_, domain_hi_, range_lo_, range_hi_;
};

// One line of a line chart; points are (x, y), drawn in the order given.
struct LineSeries {
  std::string name;
  std::vector<std::pair<double, double>> points;
  bool dashed = false;
};

struct LineChart {
  std::string title;
  std::string x_label;
  std::string y_label;
  std::vector<LineSeries> series;
  // A log10 y axis when the values span more than this factor (a linear axis from 0 otherwise).
  double log_y_above_ratio = 30;
};

// One bar of a horizontal bar chart: segments stacked left to right (one for a plain bar), each
// coloured by its series. A row without segments shows `note` ("failed: ...") instead of a bar.
struct BarSegment {
  std::string series;
  double value = 0;
};

struct BarRow {
  std::string label;
  std::vector<BarSegment> segments;
  std::optional<std::pair<double, double>> interval;  // drawn as a whisker
  std::string note;                                   // for rows without a value
  std::string value_text;  // printed after the bar; default: the total and the unit
};

struct BarChart {
  std::string title;
  std::string x_label;
  std::string unit;  // appended to printed values ("ms")
  bool log_scale = true;
  bool legend = false;  // true where the segments' series are not named by the row labels
  std::vector<BarRow> rows;
  std::string note;  // said once under the chart (wrapped), e.g. why rows have no value
};

// A panel that says why there is nothing to plot (e.g. "no power meter on this device").
struct MessagePanel {
  std::string title;
  std::string message;
};

using Panel = std::variant<LineChart, BarChart, MessagePanel>;

struct Figure {
  std::string title;
  std::vector<Panel> panels;
  int panel_width = 460;
  int columns = 2;  // panels per row of the grid in render_svg
};

// The figure as one <svg> element (no XML declaration, so it can be inlined into HTML): its title
// over a grid of its panels.
std::string render_svg(const Figure& figure);

// The figure as a standalone .svg file: XML declaration plus render_svg().
std::string render_svg_document(const Figure& figure);

// Each panel as its own <svg> element, with the figure's colours, for a page that lays them out
// itself (side by side on a desktop, one under the other on a phone).
std::vector<std::string> render_panels(const Figure& figure);

}  // namespace libscout::report::svg
