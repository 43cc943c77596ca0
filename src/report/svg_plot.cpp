// Scales, ticks and number formats of the SVG plotter (the charts: svg_charts.cpp).
#include "report/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

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

std::string format_value(double value) {
  const double magnitude = std::abs(value);
  char buffer[48];
  if (magnitude >= 1000 || magnitude == 0) {
    std::snprintf(buffer, sizeof buffer, "%.0f", value);
  } else if (magnitude >= 0.001) {
    const int decimals = std::max(0, 2 - static_cast<int>(std::floor(std::log10(magnitude))));
    std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  } else {
    std::snprintf(buffer, sizeof buffer, "%.2e", value);
  }
  return buffer;
}

LinearScale::LinearScale(double domain_lo, double domain_hi, double range_lo, double range_hi)
    : domain_lo_(domain_lo), domain_hi_(domain_hi), range_lo_(range_lo), range_hi_(range_hi) {
  if (domain_hi_ == domain_lo_) throw Error("linear scale needs a domain of non-zero width");
}

double LinearScale::operator()(double value) const {
  return range_lo_ + (value - domain_lo_) / (domain_hi_ - domain_lo_) * (range_hi_ - range_lo_);
}

namespace {

double log_base(double base, double value) { return std::log(value) / std::log(base); }

}  // namespace

LogScale::LogScale(double base, double domain_lo, double domain_hi, double range_lo,
                   double range_hi)
    : base_(base), range_lo_(range_lo), range_hi_(range_hi) {
  if (!(base > 1)) throw Error("a log axis needs a base above 1");
  if (!(domain_lo > 0) || !(domain_hi > 0) || !std::isfinite(domain_lo) ||
      !std::isfinite(domain_hi))
    throw Error("a log axis needs positive values");
  if (domain_lo > domain_hi) std::swap(domain_lo, domain_hi);
  domain_lo_ = std::pow(base, std::floor(log_base(base, domain_lo) + 1e-9));
  domain_hi_ = std::pow(base, std::ceil(log_base(base, domain_hi) - 1e-9));
  if (domain_hi_ == domain_lo_) {  // a single power: one step either side
    domain_lo_ /= base;
    domain_hi_ *= base;
  }
}

double LogScale::operator()(double value) const {
  if (!(value > 0)) throw Error("a log axis cannot show the value " + std::to_string(value));
  const double lo = log_base(base_, domain_lo_);
  const double hi = log_base(base_, domain_hi_);
  return range_lo_ + (log_base(base_, value) - lo) / (hi - lo) * (range_hi_ - range_lo_);
}

std::vector<double> LogScale::ticks(int max_count) const {
  const int lo = static_cast<int>(std::lround(log_base(base_, domain_lo_)));
  const int hi = static_cast<int>(std::lround(log_base(base_, domain_hi_)));
  const int stride = std::max(1, (hi - lo + max_count - 1) / std::max(1, max_count - 1));
  std::vector<double> values;
  for (int e = lo; e <= hi; e += stride) {
    const double power = std::pow(base_, e);
    values.push_back(power);
    if (base_ == 10 && hi - lo <= 1 && e < hi) {
      values.push_back(2 * power);
      values.push_back(5 * power);
    }
  }
  return values;
}

std::string render_svg_document(const Figure& figure) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + render_svg(figure);
}

}  // namespace libscout::report::svg
