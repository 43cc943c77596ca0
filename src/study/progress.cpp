#include "study/progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <numeric>

namespace libscout::study {

std::string format_duration(double seconds) {
  const long s = std::lround(std::max(0.0, seconds));
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", s / 3600, s / 60 % 60);
  } else if (s >= 60) {
    std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%lds", s);
  }
  return buf;
}

Progress::Progress(std::vector<double> estimates, bool terminal)
    : estimates_(std::move(estimates)), terminal_(terminal) {}

Progress::Progress(std::vector<double> estimates)
    : Progress(std::move(estimates), isatty(STDERR_FILENO) == 1) {}

double Progress::seconds_left(std::size_t finished) const {
  double rest = 0;
  for (std::size_t i = finished; i < estimates_.size(); ++i) rest += estimates_[i];
  // Scale the plan's estimates by how the finished steps compared with theirs.
  const double scale = estimated_done_ > 0 ? measured_ / estimated_done_ : 1.0;
  return rest * scale;
}

void Progress::draw(std::size_t done, const std::string& label) {
  const std::size_t total = estimates_.size();
  constexpr int kWidth = 24;
  const int filled = total ? static_cast<int>(kWidth * done / total) : kWidth;
  std::string bar(filled, '#');
  bar.resize(kWidth, '.');
  std::string text = label;
  if (text.size() > 44) text = text.substr(0, 41) + "...";
  std::fprintf(stderr, "\r\033[K[%s] %zu/%zu  %-44s  ~%s left", bar.c_str(), done, total,
               text.c_str(), format_duration(seconds_left(done)).c_str());
  std::fflush(stderr);
}

void Progress::begin_step(std::size_t i, const std::string& label) {
  label_ = label;
  if (terminal_) {
    draw(i, label);
  } else {
    std::fprintf(stderr, "[%zu/%zu] %s ...\n", i + 1, estimates_.size(), label.c_str());
  }
}

void Progress::end_step(std::size_t i, const std::string& outcome, double seconds) {
  measured_ += seconds;
  estimated_done_ += estimates_.at(i);
  if (terminal_) {
    if (outcome != "ok") {  // keep failures on screen
      std::fprintf(stderr, "\r\033[K%s: %s\n", label_.c_str(), outcome.c_str());
    }
    draw(i + 1, label_);
  } else {
    std::fprintf(stderr, "[%zu/%zu] %s: %s (%.1f s; ~%s left)\n", i + 1, estimates_.size(),
                 label_.c_str(), outcome.c_str(), seconds,
                 format_duration(seconds_left(i + 1)).c_str());
  }
}

void Progress::finish() {
  if (terminal_) std::fprintf(stderr, "\r\033[K");
}

}  // namespace libscout::study
