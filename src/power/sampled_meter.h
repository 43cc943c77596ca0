// The base of meters that read instantaneous power: a sampling thread reads every rail at a fixed
// rate (the requested rate, or slower when the sensor updates less often), and stop() integrates
// the samples over time with the trapezoidal rule. start() and stop() each take one reading
// themselves, so the window is exactly the span between them.
#pragma once

#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "power/meter.h"

namespace libscout::power {

// Trapezoidal integral of each rail over the samples (joules per rail).
std::vector<double> integrate_trapezoid(const std::vector<PowerSample>& samples, size_t rails);

class SampledMeter : public Meter {
 public:
  ~SampledMeter() override;
  const std::vector<Rail>& rails() const override { return rails_; }
  void start() override;
  Measurement stop() override;

  // Time between two readings of the sampling thread.
  std::chrono::nanoseconds sample_period() const { return period_; }

 protected:
  // rails: what read_watts() returns, in order; sample_hz: requested rate; sensor_update: how
  // often the sensor itself updates (zero when unknown).
  SampledMeter(std::vector<Rail> rails, double sample_hz, std::chrono::nanoseconds sensor_update);

  // Reads every rail once, in watts. Called from the sampling thread and from start()/stop().
  virtual std::vector<double> read_watts() = 0;

  // Stops the sampling thread without measuring. Every final class calls it in its destructor,
  // so that the thread never calls read_watts() on a meter whose members are being destroyed.
  void halt();

 private:
  void sample_loop();
  void take_sample();

  std::vector<Rail> rails_;
  std::chrono::nanoseconds period_;
  std::chrono::steady_clock::time_point origin_;
  std::vector<PowerSample> samples_;
  std::exception_ptr failure_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool running_ = false;
};

}  // namespace libscout::power
