#include "report/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <numbers>
#include <sstream>

#include "core/error.h"

namespace libscout::report::svg {

std::string escape_xml(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') break;
        out += c;
    }
  }
  return out;
}

Ticks nice_ticks(double lo, double hi, int target_count) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) throw Error("axis range is not finite");
  if (lo > hi) std::swap(lo, hi);
  if (target_count < 1) target_count = 1;
  if (hi == lo) {
    // A flat range still needs an axis: widen it around the value (or to [0, 1] at zero).
    double pad = lo == 0 ? 1 : std::abs(lo) * 0.5;
    hi = lo + pad;
    lo = lo == 0 ? 0 : lo - pad;
  }
  const double rough = (hi - lo) / target_count;
  const double magnitude = std::pow(10.0, std::floor(std::log10(rough)));
  const double residual = rough / magnitude;
  double factor = 10;
  for (double candidate : {1.0, 2.0, 2.5, 5.0}) {
    if (residual <= candidate * (1 + 1e-9)) {
      factor = candidate;
      break;
    }
  }
  Ticks ticks;
  ticks.step = factor * magnitude;
  ticks.lo = std::floor(lo / ticks.step + 1e-9) * ticks.step;
  ticks.hi = std::ceil(hi / ticks.step - 1e-9) * ticks.step;
  const int count = static_cast<int>(std::lround((ticks.hi - ticks.lo) / ticks.step));
  for (int i = 0; i <= count; ++i) {
    double value = ticks.lo + i * ticks.step;
    if (std::abs(value) < ticks.step * 1e-9) value = 0;  // no "-0" or 1e-17 at the origin
    ticks.values.push_back(value);
  }
  return ticks;
}

std::string format_tick(double value, double step) {
  int decimals = 0;
  if (step > 0 && step < 1) {
    decimals = static_cast<int>(std::ceil(-std::log10(step) - 1e-9));
    // 2.5 x 10^-n needs one more digit than its magnitude says.
    const double scaled = step * std::pow(10.0, decimals);
    if (std::abs(scaled - std::round(scaled)) > 1e-6) ++decimals;
  } else if (step >= 1 && std::abs(step - std::round(step)) > 1e-9) {
    decimals = 1;
  }
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

LinearScale::LinearScale(double domain_lo, double domain_hi, double range_lo, double range_hi)
    : domain_lo_(domain_lo), domain_hi_(domain_hi), range_lo_(range_lo), range_hi_(range_hi) {
  if (domain_hi_ == domain_lo_) throw Error("linear scale needs a domain of non-zero width");
}

double LinearScale::operator()(double value) const {
  return range_lo_ + (value - domain_lo_) / (domain_hi_ - domain_lo_) * (range_hi_ - range_lo_);
}

Log2Scale::Log2Scale(double domain_lo, double domain_hi, double range_lo, double range_hi)
    : range_lo_(range_lo), range_hi_(range_hi) {
  if (!(domain_lo > 0) || !(domain_hi > 0)) throw Error("a log2 axis needs positive values");
  if (domain_lo > domain_hi) std::swap(domain_lo, domain_hi);
  domain_lo_ = std::exp2(std::floor(std::log2(domain_lo) + 1e-9));
  domain_hi_ = std::exp2(std::ceil(std::log2(domain_hi) - 1e-9));
  if (domain_hi_ == domain_lo_) {  // a single power of two: show one octave either side
    domain_lo_ /= 2;
    domain_hi_ *= 2;
  }
}

double Log2Scale::operator()(double value) const {
  if (!(value > 0)) throw Error("a log2 axis cannot show the value " + std::to_string(value));
  const double lo = std::log2(domain_lo_);
  const double hi = std::log2(domain_hi_);
  return range_lo_ + (std::log2(value) - lo) / (hi - lo) * (range_hi_ - range_lo_);
}

std::vector<double> Log2Scale::ticks(int max_count) const {
  const int lo = static_cast<int>(std::lround(std::log2(domain_lo_)));
  const int hi = static_cast<int>(std::lround(std::log2(domain_hi_)));
  const int stride = std::max(1, (hi - lo + max_count - 1) / std::max(1, max_count - 1));
  std::vector<double> values;
  for (int e = lo; e <= hi; e += stride) values.push_back(std::exp2(e));
  return values;
}

namespace {

constexpr int kFontSize = 12;
constexpr const char* kTextColour = "#222";
constexpr const char* kGridColour = "#e3e3e3";
constexpr const char* kAxisColour = "#666";

// Colour-blind friendly, distinguishable in print (Tableau 10).
constexpr const char* kPalette[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};

std::string number(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f", value);
  return buffer;
}

std::string short_value(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.3g", value);
  return buffer;
}

// Approximate rendered width of text in a sans-serif font: enough for layout decisions.
double text_width(std::string_view text, double font_size) {
  std::size_t code_points = 0;
  for (char c : text) code_points += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return 0.6 * font_size * static_cast<double>(code_points);
}

struct LegendEntry {
  std::string name;
  std::string colour;
  enum class Kind { line, dashed_line, box } kind;
};

// One colour per series name, in order of first appearance over all panels.
class Legend {
 public:
  const std::string& colour(const std::string& name, LegendEntry::Kind kind) {
    auto it = index_.find(name);
    if (it == index_.end()) {
      std::string colour = kPalette[entries_.size() % std::size(kPalette)];
      it = index_.emplace(name, entries_.size()).first;
      entries_.push_back({name, colour, kind});
    }
    return entries_[it->second].colour;
  }
  const std::vector<LegendEntry>& entries() const { return entries_; }

 private:
  std::map<std::string, std::size_t> index_;
  std::vector<LegendEntry> entries_;
};

void collect_legend(const Panel& panel, Legend& legend) {
  if (const auto* chart = std::get_if<LineChart>(&panel)) {
    for (const auto& s : chart->series)
      legend.colour(s.name, s.dashed ? LegendEntry::Kind::dashed_line : LegendEntry::Kind::line);
  } else if (const auto* bars = std::get_if<GroupedBarChart>(&panel)) {
    for (const auto& s : bars->series) legend.colour(s.name, LegendEntry::Kind::box);
  } else if (const auto* stacks = std::get_if<StackedBarChart>(&panel)) {
    for (const auto& layer : stacks->layers) legend.colour(layer.name, LegendEntry::Kind::box);
  }
}

class Writer {
 public:
  std::ostringstream out;

  void text(double x, double y, std::string_view content, std::string_view anchor = "start",
            int size = kFontSize, std::string_view extra = "") {
    out << "<text x=\"" << number(x) << "\" y=\"" << number(y) << "\" font-size=\"" << size
        << "\" text-anchor=\"" << anchor << "\"" << extra << ">" << escape_xml(content)
        << "</text>\n";
  }
  void rotated_text(double x, double y, double angle, std::string_view content,
                    std::string_view anchor, int size = kFontSize, std::string_view fill = "") {
    std::string extra = " transform=\"rotate(" + number(angle) + " " + number(x) + " " +
                        number(y) + ")\"";
    if (!fill.empty()) extra += " fill=\"" + std::string(fill) + "\"";
    text(x, y, content, anchor, size, extra);
  }
  void line(double x1, double y1, double x2, double y2, std::string_view colour,
            double width = 1, std::string_view extra = "") {
    out << "<line x1=\"" << number(x1) << "\" y1=\"" << number(y1) << "\" x2=\"" << number(x2)
        << "\" y2=\"" << number(y2) << "\" stroke=\"" << colour << "\" stroke-width=\""
        << number(width) << "\"" << extra << "/>\n";
  }
  void rect(double x, double y, double w, double h, std::string_view fill, std::string_view cls,
            std::string_view tooltip = "") {
    out << "<rect class=\"" << cls << "\" x=\"" << number(x) << "\" y=\"" << number(y)
        << "\" width=\"" << number(std::max(0.0, w)) << "\" height=\"" << number(std::max(0.0, h))
        << "\" fill=\"" << fill << "\"";
    if (tooltip.empty()) {
      out << "/>\n";
    } else {
      out << "><title>" << escape_xml(tooltip) << "</title></rect>\n";
    }
  }
};

// The plotting area of a panel inside the figure.
struct Frame {
  double left, top, right, bottom;  // pixel edges of the plotting area
};

void draw_y_axis(Writer& w, const Frame& f, const Ticks& ticks, const LinearScale& y,
                 const std::string& label) {
  for (double value : ticks.values) {
    const double py = y(value);
    w.line(f.left, py, f.right, py, kGridColour);
    w.text(f.left - 6, py + 4, format_tick(value, ticks.step), "end", 11);
  }
  w.line(f.left, f.top, f.left, f.bottom, kAxisColour);
  w.line(f.left, f.bottom, f.right, f.bottom, kAxisColour);
  const double mid = (f.top + f.bottom) / 2;
  w.rotated_text(f.left - 44, mid, -90, label, "middle");
}

// Category labels under a bar chart; rotated when they do not fit their slot.
constexpr double kLabelAngle = 40;        // degrees, for category labels that do not fit flat
constexpr double kLabelMaxWidth = 170;     // pixels along the rotated label
constexpr double kPanelLeftMargin = 62;    // room left of a panel's plotting area

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
  if (!out.empty()) out.pop_back();  // the lead byte of a cut code point, or one more character
  return out + "\u2026";
}

// Category labels under a bar chart; rotated when they do not fit their slot, and shortened so
// that no rotated label runs out of the panel on the left (the full label is its tooltip).
void draw_category_labels(Writer& w, const Frame& f, const std::vector<std::string>& labels,
                          double slot_width) {
  double widest = 0;
  for (const auto& label : labels) widest = std::max(widest, text_width(label, 11));
  const bool rotate = widest > slot_width - 4;
  const double cosine = std::cos(kLabelAngle * std::numbers::pi / 180);
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const double cx = f.left + slot_width * (static_cast<double>(i) + 0.5);
    if (rotate) {
      const double room = (cx + 4 - (f.left - kPanelLeftMargin + 4)) / cosine;
      const std::string label = fit_text(labels[i], std::min(room, kLabelMaxWidth), 11);
      w.rotated_text(cx + 4, f.bottom + 14, -kLabelAngle, label, "end", 11);
    } else {
      w.text(cx, f.bottom + 16, labels[i], "middle", 11);
    }
  }
}

double category_label_height(const std::vector<std::string>& labels, double slot_width) {
  double widest = 0;
  for (const auto& label : labels) widest = std::max(widest, text_width(label, 11));
  if (widest <= slot_width - 4) return 24;
  return 20 + std::min(widest, kLabelMaxWidth) * std::sin(kLabelAngle * std::numbers::pi / 180);
}

double max_or(double current, double value) { return std::isfinite(value) ? std::max(current, value) : current; }

void draw_empty(Writer& w, const Frame& f, std::string_view message) {
  w.out << "<rect class=\"message\" x=\"" << number(f.left) << "\" y=\"" << number(f.top)
        << "\" width=\"" << number(f.right - f.left) << "\" height=\""
        << number(f.bottom - f.top) << "\" fill=\"#f6f6f6\" stroke=\"#ccc\"/>\n";
  w.text((f.left + f.right) / 2, (f.top + f.bottom) / 2, message, "middle", 13,
         " fill=\"#555\"");
}

void draw_line_chart(Writer& w, const Frame& f, const LineChart& chart, Legend& legend) {
  double x_min = INFINITY, x_max = 0, y_max = 0;
  for (const auto& s : chart.series) {
    for (auto [x, y] : s.points) {
      if (!(x > 0) || !std::isfinite(y)) continue;
      x_min = std::min(x_min, x);
      x_max = std::max(x_max, x);
      y_max = max_or(y_max, y);
    }
  }
  if (x_max == 0) {
    draw_empty(w, f, "no data");
    return;
  }
  const Ticks y_ticks = nice_ticks(0, y_max, 5);
  const LinearScale y(y_ticks.lo, y_ticks.hi, f.bottom, f.top);
  const Log2Scale x(x_min, x_max, f.left, f.right);
  draw_y_axis(w, f, y_ticks, y, chart.y_label);
  for (double tick : x.ticks(8)) {
    const double px = x(tick);
    w.line(px, f.top, px, f.bottom, kGridColour);
    w.line(px, f.bottom, px, f.bottom + 4, kAxisColour);
    w.text(px, f.bottom + 17, format_tick(tick, 1), "middle", 11);
  }
  w.text((f.left + f.right) / 2, f.bottom + 36, chart.x_label, "middle");
  for (const auto& s : chart.series) {
    const std::string& colour =
        legend.colour(s.name, s.dashed ? LegendEntry::Kind::dashed_line : LegendEntry::Kind::line);
    std::vector<std::pair<double, double>> points;
    for (auto [px, py] : s.points)
      if (px > 0 && std::isfinite(py)) points.emplace_back(px, py);
    w.out << "<g class=\"series\">\n<polyline fill=\"none\" stroke=\"" << colour
          << "\" stroke-width=\"2\"" << (s.dashed ? " stroke-dasharray=\"6 4\"" : "")
          << " points=\"";
    for (std::size_t i = 0; i < points.size(); ++i)
      w.out << (i ? " " : "") << number(x(points[i].first)) << "," << number(y(points[i].second));
    w.out << "\"/>\n";
    for (auto [px, py] : points) {
      w.out << "<circle cx=\"" << number(x(px)) << "\" cy=\"" << number(y(py))
            << "\" r=\"3\" fill=\"" << colour << "\"><title>" << escape_xml(s.name) << ": "
            << short_value(py) << " at " << short_value(px) << "</title></circle>\n";
    }
    w.out << "</g>\n";
  }
}

void draw_grouped_bars(Writer& w, const Frame& f, const GroupedBarChart& chart, Legend& legend) {
  double y_max = 0;
  bool any = false;
  for (const auto& s : chart.series)
    for (const auto& v : s.values)
      if (v && std::isfinite(*v)) y_max = std::max(y_max, *v), any = true;
  if (chart.groups.empty() || chart.series.empty()) {
    draw_empty(w, f, "no data");
    return;
  }
  const Ticks y_ticks = nice_ticks(0, any ? y_max : 1, 5);
  const LinearScale y(y_ticks.lo, y_ticks.hi, f.bottom, f.top);
  draw_y_axis(w, f, y_ticks, y, chart.y_label);
  const double slot = (f.right - f.left) / static_cast<double>(chart.groups.size());
  const double bar = slot * 0.8 / static_cast<double>(chart.series.size());
  for (std::size_t g = 0; g < chart.groups.size(); ++g) {
    const double group_left = f.left + slot * static_cast<double>(g) + slot * 0.1;
    for (std::size_t s = 0; s < chart.series.size(); ++s) {
      const BarSeries& series = chart.series[s];
      const std::string& colour = legend.colour(series.name, LegendEntry::Kind::box);
      const double bx = group_left + bar * static_cast<double>(s);
      const auto value = g < series.values.size() ? series.values[g] : std::nullopt;
      if (value && std::isfinite(*value)) {
        const double top = y(*value);
        w.rect(bx + 1, top, bar - 2, f.bottom - top, colour, "bar",
               series.name + ", " + chart.groups[g] + ": " + short_value(*value));
      } else if (g < series.notes.size() && !series.notes[g].empty()) {
        w.rotated_text(bx + bar / 2 + 4, f.bottom - 4, -90, series.notes[g], "start", 10, "#888");
      }
    }
  }
  draw_category_labels(w, f, chart.groups, slot);
}

void draw_stacked_bars(Writer& w, const Frame& f, const StackedBarChart& chart, Legend& legend) {
  if (chart.categories.empty() || chart.layers.empty()) {
    draw_empty(w, f, "no data");
    return;
  }
  double y_max = 0;
  for (std::size_t c = 0; c < chart.categories.size(); ++c) {
    double total = 0;
    for (const auto& layer : chart.layers)
      if (c < layer.values.size() && std::isfinite(layer.values[c])) total += layer.values[c];
    y_max = std::max(y_max, total);
  }
  const Ticks y_ticks = nice_ticks(0, y_max, 5);
  const LinearScale y(y_ticks.lo, y_ticks.hi, f.bottom, f.top);
  draw_y_axis(w, f, y_ticks, y, chart.y_label);
  const double slot = (f.right - f.left) / static_cast<double>(chart.categories.size());
  const double bar = std::min(slot * 0.7, 60.0);
  for (std::size_t c = 0; c < chart.categories.size(); ++c) {
    const double bx = f.left + slot * (static_cast<double>(c) + 0.5) - bar / 2;
    double base = 0;
    for (const auto& layer : chart.layers) {
      const std::string& colour = legend.colour(layer.name, LegendEntry::Kind::box);
      const double value = c < layer.values.size() ? layer.values[c] : 0;
      if (!(value > 0) || !std::isfinite(value)) continue;
      w.rect(bx, y(base + value), bar, y(base) - y(base + value), colour, "segment",
             chart.categories[c] + ", " + layer.name + ": " + short_value(value));
      base += value;
    }
  }
  draw_category_labels(w, f, chart.categories, slot);
}

double bottom_margin(const Panel& panel, double plot_width) {
  if (std::holds_alternative<LineChart>(panel)) return 48;
  const std::vector<std::string>* labels = nullptr;
  if (const auto* bars = std::get_if<GroupedBarChart>(&panel)) labels = &bars->groups;
  if (const auto* stacks = std::get_if<StackedBarChart>(&panel)) labels = &stacks->categories;
  if (!labels || labels->empty()) return 24;
  return category_label_height(*labels, plot_width / static_cast<double>(labels->size()));
}

const std::string& panel_title(const Panel& panel) {
  return std::visit([](const auto& p) -> const std::string& { return p.title; }, panel);
}

}  // namespace

std::string render_svg(const Figure& figure) {
  constexpr double kMarginLeft = kPanelLeftMargin, kMarginRight = 14, kPanelTitle = 28;
  const int panels = std::max<int>(1, static_cast<int>(figure.panels.size()));
  const double width = static_cast<double>(figure.panel_width) * panels;
  const double plot_width = figure.panel_width - kMarginLeft - kMarginRight;

  Legend legend;
  for (const auto& panel : figure.panels) collect_legend(panel, legend);

  // Legend rows under the title, wrapped to the figure's width.
  struct Placed {
    const LegendEntry* entry;
    double x, y;
  };
  std::vector<Placed> placed;
  double lx = 12, ly = 44;
  for (const auto& entry : legend.entries()) {
    const double entry_width = 30 + text_width(entry.name, kFontSize) + 18;
    if (lx > 12 && lx + entry_width > width - 12) {
      lx = 12;
      ly += 20;
    }
    placed.push_back({&entry, lx, ly});
    lx += entry_width;
  }
  const double panels_top = (placed.empty() ? 30 : ly + 14);

  double bottom = 0;
  for (const auto& panel : figure.panels) bottom = std::max(bottom, bottom_margin(panel, plot_width));
  const double plot_height = figure.panel_height - kPanelTitle - bottom;
  const double height = panels_top + figure.panel_height;

  Writer w;
  w.out << "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"figure\" width=\"" << number(width)
        << "\" height=\"" << number(height) << "\" viewBox=\"0 0 " << number(width) << " "
        << number(height) << "\" font-family=\"DejaVu Sans, Arial, Helvetica, sans-serif\" fill=\""
        << kTextColour << "\" role=\"img\">\n";
  w.out << "<title>" << escape_xml(figure.title) << "</title>\n";
  w.out << "<rect x=\"0\" y=\"0\" width=\"" << number(width) << "\" height=\"" << number(height)
        << "\" fill=\"#fff\"/>\n";
  w.text(12, 22, figure.title, "start", 15, " font-weight=\"bold\"");
  for (const auto& p : placed) {
    const std::string& colour = p.entry->colour;
    w.out << "<g class=\"legend-entry\">\n";
    if (p.entry->kind == LegendEntry::Kind::box) {
      w.rect(p.x, p.y - 10, 22, 12, colour, "legend-box");
    } else {
      w.line(p.x, p.y - 4, p.x + 22, p.y - 4, colour, 2.5,
             p.entry->kind == LegendEntry::Kind::dashed_line ? " stroke-dasharray=\"6 4\"" : "");
    }
    w.text(p.x + 28, p.y, p.entry->name);
    w.out << "</g>\n";
  }

  for (std::size_t i = 0; i < figure.panels.size(); ++i) {
    const Panel& panel = figure.panels[i];
    const double x0 = static_cast<double>(figure.panel_width) * static_cast<double>(i);
    const Frame frame{x0 + kMarginLeft, panels_top + kPanelTitle, x0 + kMarginLeft + plot_width,
                      panels_top + kPanelTitle + plot_height};
    w.out << "<g class=\"panel\">\n";
    w.text(x0 + kMarginLeft + plot_width / 2, panels_top + 16, panel_title(panel), "middle", 13,
           " font-weight=\"bold\"");
    if (const auto* chart = std::get_if<LineChart>(&panel)) {
      draw_line_chart(w, frame, *chart, legend);
    } else if (const auto* bars = std::get_if<GroupedBarChart>(&panel)) {
      draw_grouped_bars(w, frame, *bars, legend);
    } else if (const auto* stacks = std::get_if<StackedBarChart>(&panel)) {
      draw_stacked_bars(w, frame, *stacks, legend);
    } else if (const auto* message = std::get_if<MessagePanel>(&panel)) {
      draw_empty(w, frame, message->message);
    }
    w.out << "</g>\n";
  }
  w.out << "</svg>\n";
  return w.out.str();
}

std::string render_svg_document(const Figure& figure) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + render_svg(figure);
}

}  // namespace libscout::report::svg
