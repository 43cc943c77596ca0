// The base of meters that read an energy counter (RAPL energy_uj, NVML total energy): the counters
// are read at start() and at stop(), and the difference is the energy. A counter that wraps at a
// known range (RAPL's max_energy_range_uj) is also read by a guard thread often enough that it
// cannot wrap twice between two readings, so windows of any length come out right.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "power/meter.h"

namespace libscout::power {

struct CounterSpec {
  double joules_per_count = 1.0;
  // The counter counts from 0 up to range and then starts again at 0; 0 when it never wraps.
  std::uint64_t range = 0;
};

// Energy counted from `before` to `after` (counts), taking one wrap at `range` into account.
// Throws libscout::Error when the counter went backwards and it has no range.
std::uint64_t counter_delta(std::uint64_t before, std::uint64_t after, std::uint64_t range);

class CounterMeter : public Meter {
 public:
  ~CounterMeter() override;
  const std::vector<Rail>& rails() const override { return rails_; }
  void start() override;
  Measurement stop() override;

 protected:
  // guard_period: how often the guard thread reads the counters while a window is open (zero:
  // no guard thread, for counters that do not wrap).
  CounterMeter(std::vector<Rail> rails, std::vector<CounterSpec> counters,
               std::chrono::nanoseconds guard_period);

  // Reads every counter once, in rails() order.
  virtual std::vector<std::uint64_t> read_counters() = 0;

  // Stops the guard thread without measuring. Every final class calls it in its destructor, so
  // that the thread never calls read_counters() on a meter whose members are being destroyed.
  void halt();

 private:
  void accumulate(const std::vector<std::uint64_t>& now);  // caller holds mutex_
  void guard_loop();

  std::vector<Rail> rails_;
  std::vector<CounterSpec> counters_;
  std::chrono::nanoseconds guard_period_;
  std::vector<std::uint64_t> last_;
  std::vector<long double> counted_;
  std::chrono::steady_clock::time_point started_;
  std::exception_ptr failure_;
  std::thread guard_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool running_ = false;
  bool open_ = false;
};

}  // namespace libscout::power
