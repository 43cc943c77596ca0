#include "power/counter_meter.h"

#include "core/error.h"

namespace libscout::power {

std::uint64_t counter_delta(std::uint64_t before, std::uint64_t after, std::uint64_t range) {
  if (after >= before) return after - before;
  if (range == 0 || before > range) {
    throw Error("an energy counter went backwards (" + std::to_string(before) + " -> " +
                std::to_string(after) + ") and has no known wrap-around range");
  }
  return (range - before) + after;
}

CounterMeter::CounterMeter(std::vector<Rail> rails, std::vector<CounterSpec> counters,
                           std::chrono::nanoseconds guard_period)
    : rails_(std::move(rails)), counters_(std::move(counters)), guard_period_(guard_period) {
  if (rails_.size() != counters_.size()) throw Error("a counter meter needs one counter per rail");
}

CounterMeter::~CounterMeter() { halt(); }

void CounterMeter::halt() {
  {
    std::lock_guard lock(mutex_);
    running_ = false;
  }
  wake_.notify_all();
  if (guard_.joinable()) guard_.join();
}

void CounterMeter::accumulate(const std::vector<std::uint64_t>& now) {
  if (now.size() != counters_.size()) {
    throw Error(name() + ": read " + std::to_string(now.size()) + " counters for " +
                std::to_string(counters_.size()) + " rails");
  }
  for (size_t i = 0; i < now.size(); ++i) {
    counted_[i] += counter_delta(last_[i], now[i], counters_[i].range);
  }
  last_ = now;
}

void CounterMeter::start() {
  if (open_) throw Error(name() + ": start() called twice without stop()");
  failure_ = nullptr;
  counted_.assign(counters_.size(), 0.0L);
  last_ = read_counters();
  if (last_.size() != counters_.size()) {
    throw Error(name() + ": read " + std::to_string(last_.size()) + " counters for " +
                std::to_string(counters_.size()) + " rails");
  }
  started_ = std::chrono::steady_clock::now();
  open_ = true;
  if (guard_period_.count() > 0) {
    running_ = true;
    guard_ = std::thread([this] { guard_loop(); });
  }
}

void CounterMeter::guard_loop() {
  std::unique_lock lock(mutex_);
  while (running_) {
    if (wake_.wait_for(lock, guard_period_, [this] { return !running_; })) break;
    try {
      accumulate(read_counters());
    } catch (...) {
      failure_ = std::current_exception();
      return;
    }
  }
}

Measurement CounterMeter::stop() {
  if (!open_) throw Error(name() + ": stop() called without start()");
  open_ = false;
  {
    std::lock_guard lock(mutex_);
    running_ = false;
  }
  wake_.notify_all();
  if (guard_.joinable()) guard_.join();
  if (failure_) std::rethrow_exception(failure_);
  std::vector<std::uint64_t> now = read_counters();
  auto stopped = std::chrono::steady_clock::now();
  accumulate(now);
  std::vector<double> joules(counters_.size());
  for (size_t i = 0; i < joules.size(); ++i) {
    joules[i] = static_cast<double>(counted_[i] * counters_[i].joules_per_count);
  }
  return make_measurement(name(), rails_, joules,
                          std::chrono::duration<double>(stopped - started_).count());
}

}  // namespace libscout::power
