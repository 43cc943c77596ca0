#include "power/sampled_meter.h"

#include <algorithm>

#include "core/error.h"

namespace libscout::power {

std::vector<double> integrate_trapezoid(const std::vector<PowerSample>& samples, size_t rails) {
  std::vector<double> joules(rails, 0.0);
  for (size_t k = 1; k < samples.size(); ++k) {
    double dt = samples[k].t_s - samples[k - 1].t_s;
    for (size_t r = 0; r < rails; ++r) {
      joules[r] += 0.5 * (samples[k].watts[r] + samples[k - 1].watts[r]) * dt;
    }
  }
  return joules;
}

SampledMeter::SampledMeter(std::vector<Rail> rails, double sample_hz,
                           std::chrono::nanoseconds sensor_update)
    : rails_(std::move(rails)) {
  if (!(sample_hz > 0)) throw Error("the sampling rate must be positive");
  auto requested = std::chrono::nanoseconds(static_cast<long long>(1e9 / sample_hz));
  period_ = std::max(requested, sensor_update);
}

SampledMeter::~SampledMeter() { halt(); }

void SampledMeter::halt() {
  {
    std::lock_guard lock(mutex_);
    running_ = false;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void SampledMeter::take_sample() {
  // The reading is stamped with the middle of the time it took.
  auto before = std::chrono::steady_clock::now();
  std::vector<double> watts = read_watts();
  auto after = std::chrono::steady_clock::now();
  if (watts.size() != rails_.size()) {
    throw Error(name() + ": read " + std::to_string(watts.size()) + " values for " +
                std::to_string(rails_.size()) + " rails");
  }
  double t = std::chrono::duration<double>((before - origin_) + (after - before) / 2).count();
  std::lock_guard lock(mutex_);
  samples_.push_back({t, std::move(watts)});
}

void SampledMeter::start() {
  if (thread_.joinable()) throw Error(name() + ": start() called twice without stop()");
  samples_.clear();
  failure_ = nullptr;
  origin_ = std::chrono::steady_clock::now();
  take_sample();
  running_ = true;
  thread_ = std::thread([this] { sample_loop(); });
}

void SampledMeter::sample_loop() {
  auto next = std::chrono::steady_clock::now() + period_;
  std::unique_lock lock(mutex_);
  while (running_) {
    if (wake_.wait_until(lock, next, [this] { return !running_; })) break;
    lock.unlock();
    try {
      take_sample();
    } catch (...) {
      lock.lock();
      failure_ = std::current_exception();
      return;
    }
    lock.lock();
    next += period_;
    // After a stall (a slow read, a descheduled thread) continue from now instead of bursting.
    auto now = std::chrono::steady_clock::now();
    if (next < now) next = now + period_;
  }
}

Measurement SampledMeter::stop() {
  if (!thread_.joinable()) throw Error(name() + ": stop() called without start()");
  {
    std::lock_guard lock(mutex_);
    running_ = false;
  }
  wake_.notify_all();
  thread_.join();
  if (failure_) std::rethrow_exception(failure_);
  take_sample();
  double duration = samples_.back().t_s - samples_.front().t_s;
  Measurement m = make_measurement(name(), rails_, integrate_trapezoid(samples_, rails_.size()),
                                   duration);
  m.samples = std::move(samples_);
  samples_.clear();
  return m;
}

}  // namespace libscout::power
