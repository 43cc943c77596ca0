// A small SVG plotter for the study report: line charts with a log2 x axis (GFLOPS vs matrix
// size), grouped bar charts (latency or energy per backend and model) and stacked bar charts
// (average power split by rail). A figure is one or more panels side by side (one per device, as
// the paper puts three boards in one figure) under one shared legend, so a series keeps the same
// colour in every panel. The output is plain, self-contained SVG: no scripts, no ids, no external
// fonts, so many figures can be inlined into one HTML page.
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

// Maps a value of [domain_lo, domain_hi] linearly onto [range_lo, range_hi].
class LinearScale {
 public:
  LinearScale(double domain_lo, double domain_hi, double range_lo, double range_hi);
  double operator()(double value) const;

 private:
  double domain_lo_, domain_hi_, range_lo_, range_hi_;
};

// Maps log2(value) linearly: powers of two are evenly spaced. The domain is widened to whole
// powers of two; values must be positive (libscout::Error otherwise).
class Log2Scale {
 public:
  Log2Scale(double domain_lo, double domain_hi, double range_lo, double range_hi);
  double operator()(double value) const;
  double domain_lo() const { return domain_lo_; }
  double domain_hi() const { return domain_hi_; }
  // The powers of two in the domain, thinned to at most max_count evenly spaced ones.
  std::vector<double> ticks(int max_count = 10) const;

 private:
  double domain_lo_, domain_hi_, range_lo_, range_hi_;
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
};

// One bar per series in every group; a missing value leaves the slot empty with its note
// ("failed", "invalid") written vertically in it.
struct BarSeries {
  std::string name;
  std::vector<std::optional<double>> values;  // one per group
  std::vector<std::string> notes;             // one per group, shown where the value is missing
};

struct GroupedBarChart {
  std::string title;
  std::string y_label;
  std::vector<std::string> groups;
  std::vector<BarSeries> series;
};

// One bar per category, made of one segment per layer (a rail); missing segments count as 0.
struct StackLayer {
  std::string name;
  std::vector<double> values;  // one per category
};

struct StackedBarChart {
  std::string title;
  std::string y_label;
  std::vector<std::string> categories;
  std::vector<StackLayer> layers;
};

// A panel that says why there is nothing to plot (e.g. "no power meter on this device").
struct MessagePanel {
  std::string title;
  std::string message;
};

using Panel = std::variant<LineChart, GroupedBarChart, StackedBarChart, MessagePanel>;

struct Figure {
  std::string title;
  std::vector<Panel> panels;
  int panel_width = 440;
  int panel_height = 330;
};

// The figure as an <svg> element (no XML declaration, so it can be inlined into HTML).
std::string render_svg(const Figure& figure);

// The figure as a standalone .svg file: XML declaration plus render_svg().
std::string render_svg_document(const Figure& figure);

}  // namespace libscout::report::svg
