// Progress of a long study on standard error: on a terminal, one redrawn bar with the current
// step and an estimate of the time left; otherwise (a log file, CI) one plain line per step.
// Written here because Debian 12 packages no C++ progress-bar library.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace libscout::study {

class Progress {
 public:
  // One estimate (seconds) per step; corrected by the durations measured as steps finish.
  explicit Progress(std::vector<double> estimates, bool terminal);
  explicit Progress(std::vector<double> estimates);  // terminal = isatty(stderr)

  void begin_step(std::size_t i, const std::string& label);
  void end_step(std::size_t i, const std::string& outcome, double seconds);
  void finish();

  // Seconds left after step i has finished (exposed for tests).
  double seconds_left(std::size_t finished_steps) const;

 private:
  void draw(std::size_t done, const std::string& label);

  std::vector<double> estimates_;
  double measured_ = 0, estimated_done_ = 0;
  bool terminal_;
  std::string label_;
};

// "1m05s", "42s".
std::string format_duration(double seconds);

}  // namespace libscout::study
