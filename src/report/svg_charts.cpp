// The charts of the SVG plotter: colours, line charts, horizontal bar charts, message panels and
// the layout of a figure's panels.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <numbers>
#include <sstream>

#include "report/svg_plot.h"

namespace libscout::report::svg {

namespace {

constexpr int kFontSize = 12;
constexpr const char* kTextColour = "#222";
constexpr const char* kGridColour = "#e3e3e3";
constexpr const char* kAxisColour = "#666";
constexpr const char* kNoteColour = "#8a5a00";
constexpr double kPanelTitle = 26;
constexpr double kFigureTitle = 30;
constexpr double kBarRow = 22;
constexpr double kLegendRow = 18;

// Tableau 10, then darker shades of the same hues (drawn with square markers), then hues spaced
// by the golden angle: every index has its own colour.
constexpr const char* kPalette[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
                                    "#1f3f66", "#a3570f", "#8f2224", "#2f6f6a", "#2a5e22",
                                    "#8c7310", "#6a3b61", "#c44e61", "#5a3f2c", "#5f5955"};

std::string palette_colour(std::size_t index) {
  if (index < std::size(kPalette)) return kPalette[index];
  const int hue = static_cast<int>(std::fmod(137.508 * static_cast<double>(index), 360.0));
  const int lightness = 30 + static_cast<int>(index % 4) * 10;
  return "hsl(" + std::to_string(hue) + "," + std::to_string(55 + static_cast<int>(index % 3) * 10) +
         "%," + std::to_string(lightness) + "%)";
}

std::string number(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f", value);
  return buffer;
}

std::string attr(double value) {
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%.9g", value);
  return buffer;
}

// Approximate rendered width of text in a sans-serif font: enough for layout decisions.
double text_width(std::string_view text, double font_size) {
  std::size_t code_points = 0;
  for (char c : text) code_points += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return 0.6 * font_size * static_cast<double>(code_points);
}

// `text` cut to about `width` pixels, with an ellipsis when cut.
std::string fit_text(const std::string& text, double width, double font_size) {
  if (text_width(text, font_size) <= width) return text;
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const bool starts_code_point = (static_cast<unsigned char>(text[i]) & 0xC0) != 0x80;
    if (starts_code_point && text_width(out + "..", font_size) > width) break;
    out += text[i];
  }
  while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0x80) out.pop_back();
  if (!out.empty()) out.pop_back();
  return out + "\u2026";
}

// One colour (and marker) per series name over the whole figure, in order of first appearance.
class Colours {
 public:
  explicit Colours(const Figure& figure) {
    for (const auto& panel : figure.panels) {
      if (const auto* chart = std::get_if<LineChart>(&panel)) {
        for (const auto& s : chart->series) add(s.name);
      } else if (const auto* bars = std::get_if<BarChart>(&panel)) {
        for (const auto& row : bars->rows)
          for (const auto& segment : row.segments) add(segment.series);
      }
    }
  }
  const std::string& colour(const std::string& name) const { return colours_.at(index_.at(name)); }
  std::size_t index(const std::string& name) const { return index_.at(name); }

 private:
  void add(const std::string& name) {
    if (index_.count(name)) return;
    index_[name] = colours_.size();
    colours_.push_back(palette_colour(colours_.size()));
  }
  std::map<std::string, std::size_t> index_;
  std::vector<std::string> colours_;
};

class Writer {
 public:
  std::ostringstream out;

  void text(double x, double y, std::string_view content, std::string_view anchor = "start",
            int size = kFontSize, std::string_view extra = "") {
    out << "<text x=\"" << number(x) << "\" y=\"" << number(y) << "\" font-size=\"" << size
        << "\" text-anchor=\"" << anchor << "\"" << extra << ">" << escape_xml(content)
        << "</text>\n";
  }
  void line(double x1, double y1, double x2, double y2, std::string_view colour,
            double width = 1, std::string_view extra = "") {
    out << "<line x1=\"" << number(x1) << "\" y1=\"" << number(y1) << "\" x2=\"" << number(x2)
        << "\" y2=\"" << number(y2) << "\" stroke=\"" << colour << "\" stroke-width=\""
        << number(width) << "\"" << extra << "/>\n";
  }
  void rect(double x, double y, double w, double h, std::string_view fill,
            std::string_view extra = "") {
    out << "<rect x=\"" << number(x) << "\" y=\"" << number(y) << "\" width=\""
        << number(std::max(0.0, w)) << "\" height=\"" << number(std::max(0.0, h)) << "\" fill=\""
        << fill << "\"" << extra << "/>\n";
  }
};

// An axis: a linear scale from 0 (or a log scale) with its ticks, over [lo, hi] in data units
// mapped onto [px_lo, px_hi].
struct Axis {
  bool log = false;
  double lo = 0, hi = 1, px_lo = 0, px_hi = 1;
  std::vector<double> ticks;
  double step = 1;  // linear ticks' step, for their labels

  static Axis make(bool log, double base, double data_lo, double data_hi, double px_lo,
                   double px_hi, int tick_count) {
    Axis a;
    a.log = log;
    a.px_lo = px_lo;
    a.px_hi = px_hi;
    if (log) {
      const LogScale scale(base, data_lo, data_hi, px_lo, px_hi);
      a.lo = scale.domain_lo();
      a.hi = scale.domain_hi();
      a.ticks = scale.ticks(tick_count);
    } else {
      const Ticks t = nice_ticks(0, data_hi, tick_count);
      a.lo = t.lo;
      a.hi = t.hi;
      a.ticks = t.values;
      a.step = t.step;
    }
    return a;
  }
  double operator()(double value) const {
    if (log) {
      const double v = std::max(value, lo);
      return px_lo + (std::log(v) - std::log(lo)) / (std::log(hi) - std::log(lo)) * (px_hi - px_lo);
    }
    return px_lo + (value - lo) / (hi - lo) * (px_hi - px_lo);
  }
  std::string label(double tick) const {
    if (!log) return format_tick(tick, step);
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%g", tick);  // 0.01, 0.5, 10, 2000, 1e+06
    return buffer;
  }
  // The group that tests read: which axis, its scale and its range in data and pixels.
  std::string open(const char* which) const {
    return std::string("<g class=\"axis\" data-axis=\"") + which + "\" data-scale=\"" +
           (log ? "log" : "linear") + "\" data-lo=\"" + attr(lo) + "\" data-hi=\"" + attr(hi) +
           "\" data-px-lo=\"" + attr(px_lo) + "\" data-px-hi=\"" + attr(px_hi) + "\">\n";
  }
};

// Legend entries of `names` wrapped into rows of `width` pixels; returns the rows' height.
double draw_legend(Writer* w, double x0, double y0, double width,
                   const std::vector<std::pair<std::string, bool>>& names, const Colours& colours,
                   bool lines) {
  double x = x0, y = y0 + 12;
  for (const auto& [name, dashed] : names) {
    const double entry = 28 + text_width(name, 11) + 14;
    if (x > x0 && x + entry > x0 + width) {
      x = x0;
      y += kLegendRow;
    }
    if (w) {
      const std::string& colour = colours.colour(name);
      w->out << "<g class=\"legend-entry\" data-series=\"" << escape_xml(name)
             << "\" data-colour=\"" << colour << "\">\n";
      if (lines) {
        w->line(x, y - 4, x + 22, y - 4, colour, 2.5, dashed ? " stroke-dasharray=\"6 4\"" : "");
      } else {
        w->rect(x, y - 10, 22, 11, colour);
      }
      w->text(x + 27, y, name, "start", 11);
      w->out << "</g>\n";
    }
    x += entry;
  }
  return names.empty() ? 0 : y - y0 + 8;
}

std::vector<std::pair<std::string, bool>> legend_names(const LineChart& chart) {
  std::vector<std::pair<std::string, bool>> names;
  for (const auto& s : chart.series) names.emplace_back(s.name, s.dashed);
  return names;
}

std::vector<std::pair<std::string, bool>> legend_names(const BarChart& chart) {
  std::vector<std::pair<std::string, bool>> names;
  if (!chart.legend) return names;
  for (const auto& row : chart.rows)
    for (const auto& s : row.segments)
      if (std::none_of(names.begin(), names.end(), [&](const auto& n) { return n.first == s.series; }))
        names.emplace_back(s.series, false);
  return names;
}

void draw_message(Writer& w, double x, double y, double width, double height,
                  std::string_view message) {
  w.out << "<rect class=\"message\" x=\"" << number(x) << "\" y=\"" << number(y) << "\" width=\""
        << number(width) << "\" height=\"" << number(height)
        << "\" fill=\"#f6f6f6\" stroke=\"#ccc\"/>\n";
  w.text(x + width / 2, y + height / 2 + 4, fit_text(std::string(message), width - 16, 13),
         "middle", 13, " fill=\"#555\"");
}

constexpr double kLinePlotHeight = 240;
constexpr double kLineLeft = 58, kLineRight = 14, kLineBottom = 44;

double line_chart_height(const LineChart& chart, double width, const Colours& colours) {
  return kPanelTitle + draw_legend(nullptr, 0, 0, width - 16, legend_names(chart), colours, true) +
         kLinePlotHeight + kLineBottom;
}

void draw_line_chart(Writer& w, double x0, double y0, double width, const LineChart& chart,
                     const Colours& colours) {
  // The legend goes under the plot, so that panels side by side line their plots up.
  const double top = y0 + kPanelTitle, bottom = top + kLinePlotHeight;
  draw_legend(&w, x0 + 8, bottom + kLineBottom - 6, width - 16, legend_names(chart), colours, true);
  const double left = x0 + kLineLeft, right = x0 + width - kLineRight;
  double x_min = INFINITY, x_max = 0, y_min = INFINITY, y_max = 0;
  for (const auto& s : chart.series)
    for (auto [x, y] : s.points)
      if (x > 0 && y > 0 && std::isfinite(x) && std::isfinite(y)) {
        x_min = std::min(x_min, x), x_max = std::max(x_max, x);
        y_min = std::min(y_min, y), y_max = std::max(y_max, y);
      }
  if (x_max == 0) return draw_message(w, left, top, right - left, bottom - top, "no data");
  const bool log_y = y_max / y_min > chart.log_y_above_ratio;
  const Axis x = Axis::make(true, 2, x_min, x_max, left, right, 8);
  const Axis y = Axis::make(log_y, 10, y_min, y_max, bottom, top, 5);
  w.out << y.open("y");
  for (double tick : y.ticks) {
    w.line(left, y(tick), right, y(tick), kGridColour);
    w.text(left - 5, y(tick) + 4, y.label(tick), "end", 10);
  }
  w.out << "</g>\n" << x.open("x");
  for (double tick : x.ticks) {
    w.line(x(tick), top, x(tick), bottom + 4, kGridColour);
    w.text(x(tick), bottom + 16, format_tick(tick, 1), "middle", 10);
  }
  w.out << "</g>\n";
  w.line(left, top, left, bottom, kAxisColour);
  w.line(left, bottom, right, bottom, kAxisColour);
  w.text((left + right) / 2, bottom + 34, chart.x_label, "middle", 11);
  const std::string y_label = chart.y_label + (log_y ? " (log scale)" : "");
  w.text(x0 + 14, (top + bottom) / 2, y_label, "middle", 11,
         " transform=\"rotate(-90 " + number(x0 + 14) + " " + number((top + bottom) / 2) + ")\"");
  for (const auto& s : chart.series) {
    const std::string& colour = colours.colour(s.name);
    const bool square = colours.index(s.name) % 20 >= 10;
    w.out << "<g class=\"series\" data-series=\"" << escape_xml(s.name) << "\">\n<polyline fill=\"none\" stroke=\""
          << colour << "\" data-colour=\"" << colour << "\" stroke-width=\"2\""
          << (s.dashed ? " stroke-dasharray=\"6 4\"" : "") << " points=\"";
    bool first = true;
    for (auto [px, py] : s.points)
      if (px > 0 && py > 0) w.out << (first ? "" : " ") << number(x(px)) << "," << number(y(py)), first = false;
    w.out << "\"/>\n";
    for (auto [px, py] : s.points) {
      if (!(px > 0 && py > 0)) continue;
      const std::string tip = s.name + ": " + format_value(py) + " at " + format_value(px);
      w.out << (square ? "<rect class=\"point\" x=\"" + number(x(px) - 3) + "\" y=\"" + number(y(py) - 3) +
                             "\" width=\"6\" height=\"6\""
                       : "<circle class=\"point\" cx=\"" + number(x(px)) + "\" cy=\"" + number(y(py)) +
                             "\" r=\"3\"")
            << " fill=\"" << colour << "\" data-colour=\"" << colour << "\" data-series=\""
            << escape_xml(s.name) << "\" data-x=\"" << attr(px) << "\" data-y=\"" << attr(py)
            << "\"><title>" << escape_xml(tip) << "</title>" << (square ? "</rect>" : "</circle>")
            << "\n";
    }
    w.out << "</g>\n";
  }
}

constexpr double kBarAxis = 42, kBarValueRoom = 64;

// `text` in lines of at most `width` pixels, broken between words.
std::vector<std::string> wrap_text(const std::string& text, double width, double font_size) {
  std::vector<std::string> lines;
  std::string line, word;
  auto flush_word = [&] {
    if (word.empty()) return;
    if (!line.empty() && text_width(line + " " + word, font_size) > width) {
      lines.push_back(line);
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
    word.clear();
  };
  for (char c : text) {
    if (c == ' ') flush_word();
    else word += c;
  }
  flush_word();
  if (!line.empty()) lines.push_back(line);
  return lines;
}

constexpr double kNoteLine = 14;

double bar_chart_height(const BarChart& chart, double width, const Colours& colours) {
  return kPanelTitle + draw_legend(nullptr, 0, 0, width - 16, legend_names(chart), colours, false) +
         kBarRow * static_cast<double>(std::max<std::size_t>(chart.rows.size(), 1)) + kBarAxis +
         kNoteLine * static_cast<double>(wrap_text(chart.note, width - 16, 11).size());
}

double row_total(const BarRow& row) {
  double total = 0;
  for (const auto& s : row.segments) total += s.value;
  return total;
}

std::string value_text(const BarChart& chart, const BarRow& row) {
  if (!row.value_text.empty()) return row.value_text;
  return format_value(row_total(row)) + (chart.unit.empty() ? "" : " " + chart.unit);
}

void draw_bar_row(Writer& w, const BarChart& chart, const BarRow& row, const Axis& x, double y,
                  double label_left, const Colours& colours) {
  w.out << "<g class=\"bar-row\">\n";
  w.text(x.px_lo - 6, y + 15, fit_text(row.label, x.px_lo - 6 - label_left, 11), "end", 11);
  if (row.segments.empty()) {
    w.text(x.px_lo + 4, y + 15, fit_text(row.note, x.px_hi + kBarValueRoom - x.px_lo - 8, 11),
           "start", 11, std::string(" class=\"note\" font-style=\"italic\" fill=\"") + kNoteColour + "\"");
    w.out << "</g>\n";
    return;
  }
  // Segments stack on a linear axis; a log axis draws one segment per row (from the axis' start).
  double start = x.log ? x.lo : 0;
  for (const auto& s : row.segments) {
    const double end = x.log ? s.value : start + s.value;
    const double from = x(start), to = x(end);
    const std::string& colour = colours.colour(s.series);
    w.out << "<rect class=\"bar\" x=\"" << number(from) << "\" y=\"" << number(y + 4)
          << "\" width=\"" << number(std::max(1.0, to - from)) << "\" height=\""
          << number(kBarRow - 8) << "\" fill=\"" << colour << "\" data-colour=\"" << colour
          << "\" data-series=\"" << escape_xml(s.series) << "\" data-value=\"" << attr(s.value)
          << "\" data-end=\"" << attr(end) << "\"><title>"
          << escape_xml(row.label + ", " + s.series + ": " + format_value(s.value) + " " + chart.unit)
          << "</title></rect>\n";
    start = end;
  }
  if (row.interval) {
    const double a = x(row.interval->first), b = x(row.interval->second), mid = y + kBarRow / 2;
    w.out << "<g class=\"interval\" data-lo=\"" << attr(row.interval->first) << "\" data-hi=\""
          << attr(row.interval->second) << "\">\n";
    w.line(a, mid, b, mid, kTextColour, 1.2);
    w.line(a, mid - 4, a, mid + 4, kTextColour, 1.2);
    w.line(b, mid - 4, b, mid + 4, kTextColour, 1.2);
    w.out << "</g>\n";
  }
  const double end_px = std::max(x(start), row.interval ? x(row.interval->second) : 0.0);
  w.text(end_px + 5, y + 15, value_text(chart, row), "start", 11);
  w.out << "</g>\n";
}

void draw_bar_chart(Writer& w, double x0, double y0, double width, const BarChart& chart,
                    const Colours& colours) {
  const double top = y0 + kPanelTitle;
  double widest = 0, lo = INFINITY, hi = 0;
  for (const auto& row : chart.rows) {
    widest = std::max(widest, text_width(row.label, 11));
    if (row.segments.empty()) continue;
    const double total = row_total(row);
    lo = std::min(lo, total), hi = std::max(hi, total);
    if (row.interval) lo = std::min(lo, row.interval->first), hi = std::max(hi, row.interval->second);
  }
  const double label_left = x0 + 6;
  const double plot_left = label_left + std::min(widest + 10, width * 0.42);
  const double plot_right = x0 + width - kBarValueRoom;
  const double bottom = top + kBarRow * static_cast<double>(std::max<std::size_t>(chart.rows.size(), 1));
  const double legend_h =
      draw_legend(&w, x0 + 8, bottom + kBarAxis - 4, width - 16, legend_names(chart), colours, false);
  double note_y = bottom + kBarAxis + legend_h + 8;
  for (const auto& line : wrap_text(chart.note, width - 16, 11)) {
    w.text(x0 + 8, note_y, line, "start", 11,
           std::string(" class=\"note\" font-style=\"italic\" fill=\"") + kNoteColour + "\"");
    note_y += kNoteLine;
  }
  if (chart.rows.empty()) return draw_message(w, plot_left, top, plot_right - plot_left, kBarRow, "no data");
  const bool any = hi > 0;
  const Axis x = Axis::make(chart.log_scale && any && lo > 0, 10, any ? lo : 1, any ? hi : 1, plot_left,
                            plot_right, 6);
  w.out << x.open("x");
  for (double tick : x.ticks) {
    w.line(x(tick), top, x(tick), bottom + 4, kGridColour);
    w.text(x(tick), bottom + 16, x.label(tick), "middle", 10);
  }
  w.out << "</g>\n";
  w.line(plot_left, top, plot_left, bottom, kAxisColour);
  w.line(plot_left, bottom, plot_right, bottom, kAxisColour);
  w.text((plot_left + plot_right) / 2, bottom + 34,
         chart.x_label + (x.log ? " (log scale)" : ""), "middle", 11);
  for (std::size_t i = 0; i < chart.rows.size(); ++i)
    draw_bar_row(w, chart, chart.rows[i], x, top + kBarRow * static_cast<double>(i), label_left,
                 colours);
}

const std::string& panel_title(const Panel& panel) {
  return std::visit([](const auto& p) -> const std::string& { return p.title; }, panel);
}

double panel_height(const Panel& panel, double width, const Colours& colours) {
  if (const auto* chart = std::get_if<LineChart>(&panel)) return line_chart_height(*chart, width, colours);
  if (const auto* bars = std::get_if<BarChart>(&panel)) return bar_chart_height(*bars, width, colours);
  return kPanelTitle + 90;
}

void draw_panel(Writer& w, double x0, double y0, double width, const Panel& panel,
                const Colours& colours) {
  w.out << "<g class=\"panel\" data-title=\"" << escape_xml(panel_title(panel)) << "\">\n";
  w.text(x0 + width / 2, y0 + 17, fit_text(panel_title(panel), width - 12, 13), "middle", 13,
         " font-weight=\"bold\"");
  if (const auto* chart = std::get_if<LineChart>(&panel)) {
    draw_line_chart(w, x0, y0, width, *chart, colours);
  } else if (const auto* bars = std::get_if<BarChart>(&panel)) {
    draw_bar_chart(w, x0, y0, width, *bars, colours);
  } else if (const auto* message = std::get_if<MessagePanel>(&panel)) {
    draw_message(w, x0 + 12, y0 + kPanelTitle + 6, width - 24, 70, message->message);
  }
  w.out << "</g>\n";
}

void open_svg(Writer& w, double width, double height, const std::string& title) {
  w.out << "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"figure\" width=\"" << number(width)
        << "\" height=\"" << number(height) << "\" viewBox=\"0 0 " << number(width) << " "
        << number(height) << "\" font-family=\"DejaVu Sans, Arial, Helvetica, sans-serif\" fill=\""
        << kTextColour << "\" role=\"img\">\n<title>" << escape_xml(title) << "</title>\n";
  w.rect(0, 0, width, height, "#fff");
}

}  // namespace

std::string render_svg(const Figure& figure) {
  const Colours colours(figure);
  const double width = figure.panel_width;
  const std::size_t columns =
      std::max<std::size_t>(1, std::min<std::size_t>(figure.columns, figure.panels.size()));
  std::vector<double> row_heights;
  for (std::size_t i = 0; i < figure.panels.size(); ++i) {
    if (i % columns == 0) row_heights.push_back(0);
    row_heights.back() = std::max(row_heights.back(), panel_height(figure.panels[i], width, colours));
  }
  double height = kFigureTitle;
  for (double h : row_heights) height += h + 10;
  Writer w;
  open_svg(w, width * static_cast<double>(columns), height, figure.title);
  w.text(10, 20, figure.title, "start", 15, " font-weight=\"bold\"");
  double y = kFigureTitle;
  for (std::size_t i = 0; i < figure.panels.size(); ++i) {
    if (i > 0 && i % columns == 0) y += row_heights[i / columns - 1] + 10;
    draw_panel(w, width * static_cast<double>(i % columns), y, width, figure.panels[i], colours);
  }
  w.out << "</svg>\n";
  return w.out.str();
}

std::vector<std::string> render_panels(const Figure& figure) {
  const Colours colours(figure);
  const double width = figure.panel_width;
  std::vector<std::string> panels;
  for (const auto& panel : figure.panels) {
    Writer w;
    const double height = panel_height(panel, width, colours) + 6;
    open_svg(w, width, height, figure.title + ": " + panel_title(panel));
    draw_panel(w, 0, 0, width, panel, colours);
    w.out << "</svg>\n";
    panels.push_back(w.out.str());
  }
  return panels;
}

}  // namespace libscout::report::svg
